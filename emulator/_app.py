"""The ASGI application: routes, and errors that still look like the API's errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._config import EmulatorConfig
from ._emulator import CREATE_ROUTE, Emulator
from ._namespace_settings import NamespaceAdmin
from ._namespaces import name_problem
from ._recorder import Recorder
from ._records import StoreUnavailable

log = logging.getLogger("avatar_contract.emulator")

Endpoint = Callable[[Request], Awaitable[Response]]
_CODES = {404: "not_found", 405: "method_not_allowed"}
SERVICE_UNAVAILABLE = "service_unavailable"
STORE_RETRY_AFTER = 1  # seconds; a replica reconnects as soon as the database is back


NAMESPACE_PREFIX = "/ns/{ns}"


def namespace_of(path: str) -> str | None:
    """The namespace segment of a ``/ns/...`` path (possibly empty), else None."""
    if not path.startswith("/ns/"):
        return None
    return path[len("/ns/"):].split("/", 1)[0]


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """A Starlette app emulating Create Avatar; ``app.state.emulator`` is its state."""
    emulator = Emulator(config or EmulatorConfig())
    admin = NamespaceAdmin(emulator)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Unknown paths and methods get the API's envelope too (405 keeps its Allow header).
        assert isinstance(exc, HTTPException)
        code = _CODES.get(exc.status_code, "http_error")
        message = (f"{request.method} is not allowed on {request.url.path}"
                   if exc.status_code == 405 else f"no route {request.url.path}"
                   if exc.status_code == 404 else str(exc.detail))
        space = namespace_of(request.url.path)
        if space is not None and (problem := name_problem(space)):
            return emulator.bad_namespace(problem)  # a bad name is the answer, whatever follows it
        headers = dict(exc.headers or {})
        if "Allow" in headers:  # starlette keeps methods in a set; give clients a stable order
            headers["Allow"] = ", ".join(sorted(m.strip() for m in headers["Allow"].split(",")))
        return emulator.responder.error(exc.status_code, code, message, headers=headers)

    def guarded(endpoint: Endpoint) -> Endpoint:
        # Catch here rather than in starlette's ServerErrorMiddleware, which
        # re-raises after answering: an in-process client would see the crash.
        async def call(request: Request) -> Response:
            try:
                return await endpoint(request)
            except StoreUnavailable as exc:
                # The database went away: a retryable refusal, one log line, no traceback.
                log.warning("store unavailable on %s %s: %s", request.method, request.url.path, exc)
                return emulator.responder.error(
                    503, SERVICE_UNAVAILABLE, "The service is temporarily unavailable. Retry after "
                    "the duration specified in the Retry-After header.",
                    headers={"Retry-After": str(STORE_RETRY_AFTER)})
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return emulator.responder.error(500, "internal_error", "Internal server error")
        return call

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            emulator.close()

    # The recorder journals exchanges and plays scenarios (grade-client's, and each namespace's).
    recorder = [Middleware(Recorder, emulator=emulator, journal=emulator.config.journal,
                           schedule=emulator.config.schedule)]
    app = Starlette(
        middleware=recorder,
        routes=[
            Route(CREATE_ROUTE, guarded(emulator.create), methods=["POST"]),
            Route("/v3/avatars/looks/{look_id}", guarded(emulator.get_look), methods=["GET"]),
            Route("/v3/avatars/{group_id}", guarded(emulator.get_group), methods=["GET"]),
            Route("/openapi.json", emulator.openapi, methods=["GET"]),
            # The same API in namespace {ns}: its own avatars, keys, rate-limit buckets and faults.
            Route(NAMESPACE_PREFIX + CREATE_ROUTE, guarded(admin.routed(emulator.create)), methods=["POST"]),
            Route(NAMESPACE_PREFIX + "/v3/avatars/looks/{look_id}", guarded(admin.routed(emulator.get_look)),
                  methods=["GET"]),
            Route(NAMESPACE_PREFIX + "/v3/avatars/{group_id}", guarded(admin.routed(emulator.get_group)),
                  methods=["GET"]),
            Route(NAMESPACE_PREFIX + "/openapi.json", emulator.openapi, methods=["GET"]),
            # Admin: the namespace's settings (faults), and dropping it (_namespace_settings).
            Route(NAMESPACE_PREFIX, guarded(admin.put), methods=["PUT"]),
            Route(NAMESPACE_PREFIX, guarded(admin.get), methods=["GET"]),
            Route(NAMESPACE_PREFIX, guarded(admin.delete), methods=["DELETE"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    # "/v3/avatars/" is not "/v3/avatars"; a redirect would turn a POST into a surprise.
    app.router.redirect_slashes = False
    app.state.emulator = emulator
    return app
