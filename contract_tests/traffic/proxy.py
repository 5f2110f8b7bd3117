"""A validating reverse proxy: forwards every request unchanged, streams every answer back unchanged,
and judges each exchange of the create route as ``check-traffic`` does.

    >>> app = create_app(ProxyConfig(upstream="http://127.0.0.1:8080"))   # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8081)                     # doctest: +SKIP

Hop-by-hop fields (RFC 9110 §7.6.1: ``Connection`` and the fields it names,
``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Transfer-Encoding``,
``Upgrade``, ``Proxy-Authorization``, ``Proxy-Authenticate``) are not
forwarded in either direction; ``Host`` becomes the upstream's and
``Content-Length`` is recomputed (the same bytes), everything else passes as
sent.  The answer's bytes go back as they arrive (de-chunked, never decoded: a
compressed body stays compressed; it is decompressed only to be judged).

The hot path is this plain ASGI app and ``upstream.Upstream`` (a lean HTTP/1.1
client); recording and judging happen after the answer has gone back, in slices
of the event loop's time (``backlog.py``), so they never hold up forwarding.

The proxy alters nothing unless ``enforce``: then a create whose request fails
the request lint gets the documented 400 envelope and is never forwarded.  An
upstream that refuses the connection or answers garbage gets the client a 502,
one that does not answer within ``timeout`` a 504, both in the documented error
envelope; the rolling report says what happened.  Its own answers are recorded
with ``fault`` ``proxy:...`` and never judged as the upstream's.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import IO, Any

import httpx
from starlette.responses import JSONResponse

from ..clauses.checks import linter
from .backlog import Backlog, Finished
from .judge import TrafficJudge
from .records import WHOLE_BODY
from .upstream import TransportUpstream, Upstream, UpstreamError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "trailer"})
_HOP = frozenset(name.encode() for name in HOP_BY_HOP)
_NOT_FORWARDED = _HOP | {b"host", b"content-length"}
MAX_REQUEST_BODY = 16 * 1024 * 1024  # what the emulator accepts; larger is refused with 413
DEFAULT_TIMEOUT = 30.0


@dataclass
class ProxyConfig:
    upstream: str
    timeout: float = DEFAULT_TIMEOUT
    enforce: bool = False
    record: IO[bytes] | None = None  # the journal (NDJSON), when recording
    on_hangup: Callable[[], None] | None = None  # SIGHUP, in the server's loop: write the rolling report
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process upstream


class ProxyState:
    """What the proxy has seen: the judge (every exchange of the route) and the upstream's failures."""

    def __init__(self, judge: TrafficJudge) -> None:
        self.backlog = Backlog(judge)
        self.forwarded = 0
        self.enforced = 0
        self.problems: Counter[str] = Counter()
        self.first_problem: dict[str, str] = {}

    @property
    def judge(self) -> TrafficJudge:
        """The judge with every exchange so far judged (those still waiting in the backlog are judged now)."""
        self.backlog.drain()
        return self.backlog.judge

    @property
    def secrets(self) -> set[str]:
        self.backlog.drain()
        return self.backlog.secrets

    def problem(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        self.first_problem.setdefault(kind, detail)

    def lines(self) -> list[str]:
        self.backlog.drain()
        out = [f"proxy: {self.forwarded} request(s) forwarded"
               + (f", {self.enforced} refused with 400 without forwarding (--enforce)" if self.enforced else "")]
        out += [f"upstream {kind}: {n} request(s) answered {_STATUS[kind]} by the proxy "
                f"(first: {self.first_problem[kind]})" for kind, n in sorted(self.problems.items())]
        return out + self.backlog.lines()


_STATUS = {"unreachable": 502, "garbage": 502, "timed out": 504, "cut off": "(connection closed mid-body)"}
_CODES = {502: ("bad_gateway", "The upstream server could not be reached or sent an invalid answer."),
          504: ("gateway_timeout", "The upstream server did not answer in time.")}


def _envelope(status: int, code: str, message: str, param: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    return JSONResponse({"error": error}, status_code=status)


def _dropped(headers: list[tuple[bytes, bytes]], always: frozenset[bytes]) -> frozenset[bytes]:
    """``always`` and the fields a Connection header names (a new set only when there is one)."""
    named = [value for name, value in headers if name.lower() == b"connection"]
    if not named:
        return always
    return always | {v.strip().lower() for value in named for v in value.split(b",")}


class Proxy:
    def __init__(self, config: ProxyConfig, state: ProxyState) -> None:
        self.config = config
        self.state = state
        state.backlog.record = config.record
        self.judge = state.backlog.judge  # not state.judge: the hot path must not drain the backlog
        self.keep_all = config.record is not None
        self.upstream: Upstream | TransportUpstream = (
            Upstream(config.upstream, config.timeout) if config.transport is None
            else TransportUpstream(config.upstream, config.timeout, config.transport))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.time()
        body = await self._body(receive)
        if body is None:
            await _envelope(413, "payload_too_large", "The request body is too large.")(scope, receive, send)
            return
        headers = scope["headers"]
        if self.config.enforce and (refusal := self._lint(scope["method"], scope["path"], headers, body)) is not None:
            self.state.enforced += 1
            await refusal(scope, receive, send)
            self._finished(scope, body, started, refusal.status_code, bytes(refusal.body), None, "proxy:enforced")
            return
        await self._forward(scope, receive, send, headers, body, started)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.config.on_hangup is not None and hasattr(signal, "SIGHUP"):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.config.on_hangup)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.upstream.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _body(receive: Receive) -> bytes | None:
        message = await receive()
        if not message.get("more_body", False):  # the usual case: the whole body in one message
            body: bytes = message.get("body", b"") if message["type"] == "http.request" else b""
            return body if len(body) <= MAX_REQUEST_BODY else None
        chunks, size = [], 0
        while message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_REQUEST_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
            message = await receive()
        return b"".join(chunks)

    def _lint(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> JSONResponse | None:
        """--enforce: the documented 400 for a create that fails the request lint."""
        if not self.judge.ours_route(method, path):
            return None
        fields = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}
        key = fields.get("idempotency-key")
        report = linter().lint_request(body, headers={"idempotency-key": key} if key is not None else None)
        if report.valid:
            return None
        first = report.errors[0]
        documented = linter().contract.response_for(400)
        code = documented.error_code if documented is not None and documented.error_code else "invalid_parameter"
        param = first.path.lstrip("/").replace("/", ".") or ("Idempotency-Key" if "idempotency" in first.rule else None)
        return _envelope(400, code, f"{first.path or '(root)'}: {first.message}", param)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]],
                       body: bytes, started: float) -> None:
        dropped = _dropped(headers, _NOT_FORWARDED)
        outgoing = [(k, v) for k, v in headers if k.lower() not in dropped]
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if query := scope.get("query_string"):
            target += b"?" + query
        method = scope["method"]
        try:
            answer = await self.upstream.send(method.encode("ascii"), target, outgoing, body)
        except UpstreamError as exc:
            await self._failed(scope, receive, send, body, started, 504 if exc.kind == "timed out" else 502, exc)
            return
        self.state.forwarded += 1
        raw = answer.headers
        back = _dropped(raw, _HOP)
        await send({"type": "http.response.start", "status": answer.status,
                    "headers": [(k, v) for k, v in raw if k.lower() not in back]})
        kept: list[bytes] = []
        size = 0
        keep = self.keep_all or self.judge.ours_route(method, scope["path"])
        complete = False
        try:
            async for chunk, more in answer.chunks():
                if keep and size <= WHOLE_BODY:
                    kept.append(chunk)
                    size += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
            complete = True
        except (UpstreamError, OSError) as exc:
            # The status line went out already: the client sees the connection close mid-body.
            self.state.problem("cut off", str(exc) if isinstance(exc, UpstreamError)
                               else f"{type(exc).__name__}: {exc}".rstrip(": "))
        finally:
            await answer.aclose()
        self._finished(scope, body, started, answer.status if complete else None, b"".join(kept), raw, None)

    async def _failed(self, scope: Scope, receive: Receive, send: Send, body: bytes, started: float, status: int,
                      exc: UpstreamError) -> None:
        self.state.problem(exc.kind, str(exc) or exc.kind)
        code, message = _CODES[status]
        answer = _envelope(status, code, message)
        await answer(scope, receive, send)
        self._finished(scope, body, started, status, bytes(answer.body), None, f"proxy:upstream {exc.kind}")

    def _finished(self, scope: Scope, body: bytes, started: float, status: int | None, answer: bytes,
                  answer_headers: list[tuple[bytes, bytes]] | None, fault: str | None) -> None:
        """Hand the exchange over to be recorded and judged once this request is done with (backlog.py)."""
        self.state.backlog.add(Finished(
            scope["method"], scope["path"], scope.get("query_string", b""), scope["headers"], body, started,
            time.time(), status, answer, answer_headers, scope.get("client"), fault))


def create_app(config: ProxyConfig, state: ProxyState | None = None) -> Proxy:
    """The proxy as an ASGI app; ``state`` (made here when not given) holds the judge and the counts."""
    return Proxy(config, state or ProxyState(TrafficJudge()))
