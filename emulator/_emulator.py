"""The emulator's state and its request handlers.

Order of work for ``POST /v3/avatars`` (cheap refusals first, so a flood of
bad requests costs little): authenticate -> rate limit -> Idempotency-Key
format -> read the body (bounded) -> claim the key -> validate -> create.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from avatar_contract.spec import load_spec
from avatar_contract.validators import Linter

from . import _idempotency as idem
from ._auth import Authenticator
from ._avatars import create_body, new_records
from ._config import EmulatorConfig
from ._errors import INVALID_PARAMETER, RATE_LIMIT_EXCEEDED, REQUEST_IN_PROGRESS, Responder
from ._json import dumps
from ._memory_store import MemoryStore
from ._namespace_settings import FaultSets, Settings
from ._namespaces import Namespaces, name_problem, namespaced, shared_owner
from ._rate_limit import BucketStore, RateLimiter, SharedRateLimiter
from ._records import Completion, Fresh, Group, InFlight, Look, Replay, Store, StoredResponse, StoreError
from ._references import GROUP_FIELD, References
from ._schedule import HOLD
from ._sqlite_store import SqliteStore
from ._training import FAILED, PROCESSING, render_group, render_look, status_at
from ._validation import Accepted, BodyChecker, Rejected

log = logging.getLogger("avatar_contract.emulator")
T = TypeVar("T")
CREATE_ROUTE = "/v3/avatars"
CONTENT_TYPE = "Content-Type"


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(spec: str, max_records: int | None = None) -> Store:
    if spec.startswith("sqlite:"):
        return SqliteStore(spec[len("sqlite:"):], max_records)
    if spec.startswith(POSTGRES_SCHEMES):
        try:
            from ._postgres_store import PostgresStore
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: "
                             "pip install 'avatar-contract[postgres]'") from None
        return PostgresStore(spec, max_records)
    return MemoryStore(max_records)


@dataclass(frozen=True, slots=True)
class _Outcome:
    response: Response
    stored: StoredResponse | None  # what a retry with the same key replays; None: not kept


class Emulator:
    """One emulated service: configuration, store and handlers.  Tests inspect it as
    ``app.state.emulator`` (``created_count()``, ``avatars``, ``store``)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.spec = load_spec(config.spec)
        self.linter = Linter(self.spec, strict=True)
        # What judges request bodies and keys: the spec, unless a test gives another.
        self.request_linter = self.linter if config.validation_spec is None else \
            Linter(load_spec(config.validation_spec), strict=True)
        self.fault_sets = FaultSets(config, self.request_linter)  # the global faults, and each namespace's
        self.store: Store = open_store(config.store, config.idempotency_max_records)
        self.limiter: RateLimiter | SharedRateLimiter | None = None
        if config.rate_limit and isinstance(self.store, BucketStore):
            self.limiter = SharedRateLimiter(*config.rate_limit, clock=config.clock, store=self.store)
        elif config.rate_limit:
            self.limiter = RateLimiter(*config.rate_limit, clock=config.clock)
        self.namespaces = Namespaces(self.store, config.namespace_idle_seconds, config.clock, self.limiter)
        self.references = References(self.spec)
        self.openapi_body = dumps(self.spec.document)
        self.media_types = frozenset(m.split(";", 1)[0].strip().lower()
                                     for m in self.linter.contract.request.media_types)

    # -- what the faults in force (the request's namespace's, else the global ones) shape --
    @property
    def responder(self) -> Responder:
        return self.fault_sets.current.responder

    @property
    def auth(self) -> Authenticator:
        return self.fault_sets.current.auth

    @property
    def checker(self) -> BodyChecker:
        return self.fault_sets.current.checker

    def has(self, fault: str) -> bool:
        return self.fault_sets.current.has(fault)

    # -- inspection ---------------------------------------------------------
    def created_count(self) -> int:
        """How many avatar looks have been created (across tenants)."""
        return self.store.created_count()

    @property
    def avatars(self) -> list[Look]:
        return self.store.looks()

    def close(self) -> None:
        self.store.close()

    # -- plumbing -----------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.store.blocking:
            # SQLite may wait on another worker's lock; keep the event loop free.
            return await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(fn, *args))
        return fn(*args)

    async def _gate(self, request: Request, *, admin: bool = False) -> str | Response:
        """Check the namespace, authenticate and rate-limit: the tenant, or the refusal to send.

        In a namespace the tenant is ``name:tenant``, which keys everything it owns.  An
        ``admin`` request (dropping a namespace) neither counts as its use nor is rate-limited."""
        space = request.path_params.get("ns")
        if space is not None and (problem := name_problem(space)):
            return self.bad_namespace(problem)
        tenant = self.auth.tenant(request.headers)
        if tenant is None:
            return self.responder.unauthorized()
        if (now := self.namespaces.sweep_due()) is not None:
            await self.call(self.namespaces.sweep, now)
        if space is not None and not admin:
            if (now := self.namespaces.touch_due(space)) is not None:
                await self.call(self.store.touch_namespace, space, now)
            tenant = namespaced(space, tenant)
        if admin:
            return tenant
        if self.limiter is not None:
            wait = (await self.call(self.limiter.acquire, tenant) if self.limiter.blocking
                    else self.limiter.acquire(tenant))
            if wait:
                return self._too_many(wait)
        return tenant

    def _media_type_problem(self, content_type: str | None) -> str | None:
        """Why a declared Content-Type is refused, or None.

        The spec documents only these media types for the body, so a real server
        may refuse others; the emulator does, rather than guess at a form or
        multipart body.  A missing Content-Type is read as JSON (some raw HTTP
        clients send none), since the body itself is still validated.
        """
        if content_type is None or not self.media_types:
            return None
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type in self.media_types:
            return None
        allowed = ", ".join(sorted(self.media_types))
        return (f"{CONTENT_TYPE} {media_type or '(empty)'!r} is not supported; send the body as {allowed}")

    def _too_many(self, wait: int) -> Response:
        headers: dict[str, str] = {}
        if self.has("retry_after_http_date"):
            # The bug: an HTTP-date, which RFC 9110 allows but the spec's integer header does not.
            headers["Retry-After"] = formatdate(self.config.clock() + wait, usegmt=True)
        elif not self.has("retry_after_missing"):
            headers["Retry-After"] = str(wait)
        return self.responder.error(
            429, RATE_LIMIT_EXCEEDED,
            "Too many requests. Retry after the duration specified in the Retry-After header.",
            headers=headers)

    async def read_body(self, request: Request) -> bytes | None:
        """The body, or None when it is larger than allowed (never read past the limit).

        Raises TimeoutError when it does not arrive in full within ``body_timeout``:
        a client dripping its body (or declaring more than it sends) must not
        hold a connection and its buffers for ever.
        """
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and len(declared) < 20 \
                and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self.config.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
        return b"".join(chunks)

    # -- POST /v3/avatars -----------------------------------------------------
    async def create(self, request: Request) -> Response:
        tenant = await self._gate(request)
        if isinstance(tenant, Response):
            return tenant
        key = request.headers.get(idem.KEY_HEADER)
        if key is not None:
            problem = idem.key_problem(self.request_linter, key,
                                       pattern_enforced=not self.has("key_pattern_unenforced"))
            if problem:
                return self.responder.error(400, INVALID_PARAMETER, problem, idem.KEY_HEADER)
        refused = self._media_type_problem(request.headers.get("content-type"))
        if refused:
            return self.responder.error(400, INVALID_PARAMETER, refused, CONTENT_TYPE)
        try:
            body = await self.read_body(request)
        except ClientDisconnect:
            return self.responder.error(400, INVALID_PARAMETER, "the request body was cut short")
        except TimeoutError:
            return self.responder.error(
                400, INVALID_PARAMETER,
                f"the request body did not arrive in full within {self.config.body_timeout:g} s",
                headers={"Connection": "close"})
        if body is None:
            # 413 would be the usual answer, but the spec documents only 400 for a
            # bad body, and every response we send must be a documented one.
            return self.responder.error(
                400, INVALID_PARAMETER,
                f"the request body is larger than {self.config.max_body_bytes} bytes")
        if key is None or self.has("idempotency_ignored"):
            return (await self._process(tenant, body)).response
        return await self._idempotent(tenant, key, body)

    async def _idempotent(self, tenant: str, key: str, body: bytes) -> Response:
        config = self.config
        owner = shared_owner(tenant) if self.has("not_tenant_scoped") else tenant
        where = idem.scope(key, owner, "POST", CREATE_ROUTE, {})
        digest = idem.fingerprint(body)
        if self.has("no_in_flight_guard"):
            # The bug: look, then act, with nothing held in between.
            seen = await self.call(self.store.peek, where, digest, config.clock())
            if seen is not None:
                return self._replay(seen, tenant, key)
            outcome = await self._process(tenant, body)
            if outcome.stored is not None:
                await self.call(self.store.complete, where, None, digest, outcome.stored,
                                 config.clock(), config.idempotency_ttl)
            return outcome.response
        claim = await self.call(self.store.claim, where, digest, config.clock(),
                                 config.idempotency_ttl, config.in_flight_lease)
        if isinstance(claim, InFlight):
            return self._in_progress()
        if isinstance(claim, Replay):
            return self._replay(claim, tenant, key)
        return await self._own(claim, where, digest, tenant, body)

    async def _own(self, claim: Fresh, where: str, digest: str, tenant: str, body: bytes) -> Response:
        try:
            # The create completes the key's record in the same transaction.
            outcome = await self._process(tenant, body, Completion(where, claim.token))
        except BaseException:
            # A crash must not leave the key blocked until its lease runs out.
            await self.call(self.store.release, where, claim.token)
            raise
        if outcome.stored is None:
            # Refusals are not kept, so a corrected retry with the same key is processed.
            await self.call(self.store.release, where, claim.token)
        return outcome.response

    def _replay(self, replay: Replay, tenant: str, key: str) -> Response:
        if not replay.same_body:
            if self.has("replay_mismatch_rejected"):
                return self.responder.error(
                    400, INVALID_PARAMETER,
                    f"{idem.KEY_HEADER} was already used with a different request body",
                    idem.KEY_HEADER)
            log.warning("Idempotency-Key %r reused with a different body by tenant %s; "
                        "replaying the original response", key, tenant)
        stored = replay.response
        return self.responder.raw(stored.status, stored.body, {idem.REPLAYED_HEADER: "true"},
                                  content_type=stored.content_type)

    async def _process(self, tenant: str, raw: bytes, completion: Completion | None = None) -> _Outcome:
        config = self.config
        verdict = await self._check(raw)
        if not isinstance(verdict, Accepted):
            if self.has("status_422_for_invalid"):
                status, code = 422, INVALID_PARAMETER
            elif self.has("status_500_for_invalid"):
                return _Outcome(self.responder.error(500, "internal_error", "Internal server error"),
                                None)
            else:
                status, code = 400, INVALID_PARAMETER
            return _Outcome(self.responder.error(status, code, verdict.message, verdict.param), None)
        body = verdict.body
        if self.has("digital_twin_rejected") and body.get("type") == "digital_twin":
            return _Outcome(self.responder.error(
                400, INVALID_PARAMETER, "type: digital_twin avatars are not supported", "type"), None)
        referenced = self.references.avatar_id(body)
        if referenced is not None:  # June 2026 spec: avatar_id names an existing avatar
            reference = await self.call(self.store.look, tenant, referenced)
            failed = reference is not None and status_at(
                reference.created_at, reference.fails, reference.needs_consent, config.clock(),
                config.training_seconds) == FAILED
            judged = self.references.judge(body, reference, failed)
            if isinstance(judged, Rejected):
                return _Outcome(self.responder.error(400, INVALID_PARAMETER, judged.message, judged.param),
                                None)
            if judged is not None:
                body = {**body, GROUP_FIELD: judged}
        # A create takes time on a real service; this is the window in which
        # concurrent retries with the same key really overlap.  A scenario may
        # hold a create longer (in-flight: its key stays claimed meanwhile).
        if config.processing_delay:
            await asyncio.sleep(config.processing_delay)
        hold = HOLD.get()
        if hold is not None:
            await hold.wait()
        now = config.clock()
        # render may run on a store thread, outside this request's context: take what it needs now.
        faults, content_type = self.fault_sets.current.faults, self.responder.content_type
        look, candidate = new_records(body, tenant, now, config, faults)
        status = 201 if self.has("undocumented_status") else 200

        def render(group: Group, count: int) -> StoredResponse:
            # A group founded by this request is as new as its look; a reused one is shown as it is.
            group_status = PROCESSING if group.created_at >= now else status_at(
                group.created_at, group.fails, group.needs_consent, now, config.training_seconds)
            payload = dumps(create_body(look, group, count, group_status, faults))
            return StoredResponse.compact(status, payload, content_type)

        stored = await self.call(self.store.create, look, candidate, render, completion)
        if stored is None:
            # Our lease ran out and a retry took the key over; it creates the avatar, we don't.
            return _Outcome(self._in_progress(), None)
        log.debug("tenant %s created look %s in group %s", tenant, look.id, look.group_id)
        return _Outcome(self.responder.raw(stored.status, stored.body), stored)

    async def _check(self, raw: bytes) -> Accepted | Rejected:
        if len(raw) < self.config.offload_bytes:
            return self.checker.check(raw)
        # A large body takes long to validate (15 MB: seconds); on a worker thread
        # the event loop keeps serving everyone else meanwhile (the GIL is
        # released between bytecodes, every sys.getswitchinterval()).
        return await run_in_threadpool(self.checker.check, raw)

    def _in_progress(self) -> Response:
        return self.responder.error(
            409, REQUEST_IN_PROGRESS,
            "A request with this Idempotency-Key is already in progress. Retry shortly.")

    # -- GET /v3/avatars/{group_id}, GET /v3/avatars/looks/{look_id} -----------
    async def get_group(self, request: Request) -> Response:
        tenant = await self._gate(request)
        if isinstance(tenant, Response):
            return tenant
        group_id = request.path_params["group_id"]
        found = await self.call(self.store.group, tenant, group_id)
        if found is None:
            return self.responder.error(404, "not_found", f"no avatar group {group_id!r}", "group_id")
        group, count = found
        status = status_at(group.created_at, group.fails, group.needs_consent, self.config.clock(),
                           self.config.training_seconds)
        return self.responder.json(200, {"data": render_group(group, count, status)})

    async def get_look(self, request: Request) -> Response:
        tenant = await self._gate(request)
        if isinstance(tenant, Response):
            return tenant
        look_id = request.path_params["look_id"]
        look = await self.call(self.store.look, tenant, look_id)
        if look is None:
            return self.responder.error(404, "not_found", f"no avatar look {look_id!r}", "look_id")
        status = status_at(look.created_at, look.fails, look.needs_consent, self.config.clock(),
                           self.config.training_seconds)
        return self.responder.json(200, {"data": render_look(look, status)})

    # -- namespaces (PUT, GET and DELETE /ns/{ns} are in _namespace_settings) ------------
    def bad_namespace(self, problem: str) -> Response:
        return self.responder.error(400, INVALID_PARAMETER, problem, "namespace")

    async def admitted(self, request: Request) -> Response | None:
        """The refusal for an admin request on ``/ns/{ns}`` (a bad name, no valid key), or None."""
        tenant = await self._gate(request, admin=True)
        return tenant if isinstance(tenant, Response) else None

    async def namespace_settings(self, space: str) -> Settings | None:
        """Namespace ``space``'s settings, from the store; None for a bad name (its handler refuses it)."""
        if name_problem(space):
            return None
        return Settings.from_store(await self.call(self.store.namespace_settings, space))

    async def openapi(self, request: Request) -> Response:
        return Response(self.openapi_body, media_type="application/json")
