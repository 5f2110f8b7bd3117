"""ASGI middleware: journal every exchange, and apply the schedule to authenticated creates.

The body is read here first (bounded like the app's own read) so that the
schedule can see which intent a create belongs to; the app then gets it replayed.
Once the body is in, the client's side of the connection is watched, so the
record says when a client went away before its answer (``client_closed``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import Response

from avatar_contract.validators.journal import (
    ExchangeRecord,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    body_of,
    header_list,
    tenant_hash,
)

from ._auth import presented
from ._connection import CONNECTION_EXTENSION, ConnectionHandle
from ._emulator import CREATE_ROUTE, Emulator
from ._errors import envelope
from ._journal import Journal
from ._namespace_settings import SETTINGS_SCOPE_KEY, NamespaceSchedules
from ._namespaces import name_problem
from ._records import StoreUnavailable
from ._schedule import HOLD, PASS, Accepts, Action, Hold, Schedule

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_MESSAGES = {503: "The service is temporarily unavailable. Retry later.",
             429: "Too many requests. Retry after the duration specified in the Retry-After header.",
             400: "The request was refused (scenario invalid: the first attempt of each intent is refused).",
             401: "Invalid or missing API key."}


class _Exchange:
    """What the middleware learns about one exchange while it is served."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.complete = False
        self.ended: float | None = None
        self.closed_by_client: float | None = None
        self.gone = asyncio.Event()


class Recorder:
    def __init__(self, app: ASGIApp, emulator: Emulator, journal: Journal | None,
                 schedule: Schedule | None) -> None:
        self.app = app
        self.emulator = emulator
        self.journal = journal
        self.schedule = schedule
        self.spaces = NamespaceSchedules(schedule.scale if schedule is not None else 1.0)
        self.clock = emulator.config.clock
        self.accepts = retry_after_forms(emulator)
        # The creates held now, by (tenant, Idempotency-Key): a 409 to a retry of one ends its hold.
        self._holds: dict[tuple[str, str], Hold] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        schedule = await self._schedule_for(scope)
        if schedule is None and self.journal is None:
            await self.app(scope, receive, send)  # nothing to play, nothing to record
            return
        generation = self.journal.opened() if self.journal is not None else 0
        try:
            await self._exchange(scope, receive, send, started, generation, schedule)
        finally:
            if self.journal is not None:
                self.journal.closed()

    async def _schedule_for(self, scope: Scope) -> Schedule | None:
        """The schedule a create plays: the emulator's on ``/v3/avatars``, its namespace's on
        ``/ns/{name}/v3/avatars`` (whose settings are kept in the scope for the handler)."""
        path: str = scope["path"]
        if scope["method"] != "POST":
            return None
        if path == CREATE_ROUTE:
            return self.schedule
        space = path[len("/ns/"):-len(CREATE_ROUTE)]
        if not (path.startswith("/ns/") and path.endswith(CREATE_ROUTE)) or name_problem(space):
            return None
        try:
            settings = await self.emulator.namespace_settings(space)
        except StoreUnavailable:
            return None  # the handler meets the outage too, and answers it (503)
        if settings is None:
            return None
        scope[SETTINGS_SCOPE_KEY] = settings
        return self.spaces.schedule(space, settings)

    async def _exchange(self, scope: Scope, receive: Receive, send: Send, started: float, generation: int,
                        schedule: Schedule | None) -> None:
        messages, whole = await self._read(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        state = _Exchange()
        watcher = asyncio.ensure_future(self._watch(receive, state)) if whole else None
        replay = self._replay(messages, receive, state, whole)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        action = PASS
        held: tuple[str, str] | None = None
        if schedule is not None:
            tenant = self.emulator.auth.tenant(headers)
            if tenant is not None:  # a refused credential gets the emulator's own 401
                action = schedule.action(tenant, body, self.clock(), self.accepts)
                held = (tenant, headers.get("idempotency-key", ""))
        handle: ConnectionHandle | None = scope.get("extensions", {}).get(CONNECTION_EXTENSION)
        outcome: Outcome = "answered"
        created: str | None = None
        try:
            outcome, created = await self._serve(scope, replay, send, action, state, handle, held)
        finally:
            if held is not None and state.status == 409 and held in self._holds:
                self._holds[held].release()  # the retry met the claim: the in-flight check can judge it
            if watcher is not None:
                if not watcher.done():
                    await asyncio.sleep(0)  # let a disconnect already queued be seen
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher
        if outcome == "answered" and (not state.complete or state.closed_by_client is not None):
            outcome = "client_closed"  # whatever the app sent after went nowhere
        if self.journal is not None:
            self._record(scope, headers, body, started, state, outcome, action, created, handle, generation)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, action: Action, state: _Exchange,
                     handle: ConnectionHandle | None, held: tuple[str, str] | None) -> tuple[Outcome, str | None]:
        async def forward(message: Message) -> None:
            self._capture(message, state)
            await send(message)

        async def hide(message: Message) -> None:
            self._capture(message, state, ended=False)

        if action.kind == "respond":
            await self._respond(action, scope, receive, forward)
            return "answered", None
        if action.kind == "hold":
            hold = Hold(action.hold)
            if held is not None and held[1]:
                self._holds[held] = hold
            token = HOLD.set(hold)
            try:
                await self.app(scope, receive, forward)
            finally:
                HOLD.reset(token)
                if held is not None and self._holds.get(held) is hold:
                    del self._holds[held]
            return "answered", _created(state)
        if action.kind in ("commit-then-503", "commit-then-reset"):
            await self.app(scope, receive, hide)
            created = _created(state)
            if created is None:  # nothing was committed: the app's own answer goes out
                await self._send_captured(state, forward)
                return "answered", None
            if action.kind == "commit-then-reset" and handle is not None:
                handle.reset()
                state.ended = self.clock()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await state.gone.wait()  # uvicorn must see the loss before the app returns
                return "reset", created
            state.status, state.headers, state.body = None, [], bytearray()
            await self._respond(Action("respond", 503, "service_unavailable"), scope, receive, forward)
            return "answered", created
        await self.app(scope, receive, forward)
        return "answered", _created(state)

    async def _respond(self, action: Action, scope: Scope, receive: Receive, send: Send) -> None:
        if action.status == 401:
            response: Response = self.emulator.responder.unauthorized()
        else:
            response = self.emulator.responder.json(
                action.status, envelope(action.code, _MESSAGES.get(action.status, "refused")),
                dict(action.headers))
        await response(scope, receive, send)

    async def _send_captured(self, state: _Exchange, send: Send) -> None:
        status, headers, body = state.status or 500, state.headers, bytes(state.body)
        state.status, state.headers, state.body = None, [], bytearray()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _capture(self, message: Message, state: _Exchange, *, ended: bool = True) -> None:
        if message["type"] == "http.response.start":
            state.status = int(message["status"])
            state.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if len(state.body) < 1 << 20:
                state.body += message.get("body", b"")
            if not message.get("more_body", False) and ended:
                state.complete = True
                state.ended = self.clock()

    async def _read(self, receive: Receive) -> tuple[list[Message], bool]:
        """The request's body messages, and whether they hold the whole body.

        Bounded by the app's own limits: past ``max_body_bytes`` or
        ``body_timeout`` the app gets what was read and then the rest of the
        stream, and refuses the request itself.
        """
        config = self.emulator.config
        messages: list[Message] = []
        size = 0
        try:
            async with asyncio.timeout(config.body_timeout):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request":
                        return messages, False
                    size += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return messages, True
                    if size > config.max_body_bytes:
                        return messages, False
        except TimeoutError:
            return messages, False

    def _replay(self, messages: list[Message], receive: Receive, state: _Exchange, whole: bool) -> Receive:
        queue = list(messages)

        async def replayed() -> Message:
            if queue:
                return queue.pop(0)
            if not whole:
                return await receive()
            await state.gone.wait()  # the watcher owns the real receive now
            return {"type": "http.disconnect"}
        return replayed

    async def _watch(self, receive: Receive, state: _Exchange) -> None:
        """Wait for the end of the connection's interest in this exchange (uvicorn
        answers ``http.disconnect`` when the client goes, or once the response is sent)."""
        try:
            message = await receive()
            if message.get("type") == "http.disconnect" and not state.complete:
                state.closed_by_client = self.clock()
        finally:
            state.gone.set()

    def _record(self, scope: Scope, headers: dict[str, str], body: bytes, started: float, state: _Exchange,
                outcome: Outcome, action: Action, created: str | None, handle: ConnectionHandle | None,
                generation: int) -> None:
        assert self.journal is not None
        credential = presented(headers)
        client = scope.get("client")
        connection = handle.id if handle is not None else (f"{client[0]}:{client[1]}" if client else None)
        response = None
        if outcome == "answered" and state.status is not None:
            response = RecordedResponse(state.status, header_list(state.headers), body_of(bytes(state.body)))
        ended = state.ended if outcome != "client_closed" else (state.closed_by_client or self.clock())
        query = scope.get("query_string", b"")
        self.journal.add(ExchangeRecord(
            id=0, source="emulator", started=started, ended=ended, connection=connection,
            tenant=tenant_hash(credential.key) if credential.key else None,
            request=RecordedRequest(scope["method"], scope["path"], query.decode("latin-1"),
                                    header_list(scope.get("headers", [])), body_of(body), credential.scheme),
            outcome=outcome, response=response, fault=action.fault, created=created), generation)


def retry_after_forms(emulator: Emulator) -> Accepts:
    """What the spec's 429 Retry-After header schema accepts, as a value on the wire: the
    schedules say a wait only in a form the spec allows (read here, never assumed)."""
    response = emulator.linter.contract.response_for(429)
    header = response.headers.get("retry-after") if response is not None else None
    validator = header.validator if header is not None else None
    if validator is None:
        return lambda value: True  # no schema: RFC 9110's two forms

    def accepts(value: str) -> bool:
        # A header's schema describes its value parsed: "2" is the integer 2 under type: integer.
        parsed: list[object] = [value] + ([int(value)] if value.isascii() and value.isdigit() else [])
        return any(validator.is_valid(candidate) for candidate in parsed)
    return accepts


def _created(state: _Exchange) -> str | None:
    """The id of the look a 2xx create made (a replay made none)."""
    if state.status is None or not 200 <= state.status < 300:
        return None
    if any(k.lower() == b"idempotent-replayed" for k, _ in state.headers):
        return None
    import orjson

    try:
        value = orjson.loads(bytes(state.body))
    except orjson.JSONDecodeError:
        return None
    data = value.get("data") if isinstance(value, dict) else None
    item = data.get("avatar_item") if isinstance(data, dict) else None
    ident = item.get("id") if isinstance(item, dict) else None
    return ident if isinstance(ident, str) else None
