"""A validating reverse proxy: forwards every request unchanged, streams every answer back unchanged,
and judges each exchange of the create route as ``check-traffic`` does.

    >>> app = create_app(ProxyConfig(upstream="http://127.0.0.1:8080"))   # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8081)                     # doctest: +SKIP

Hop-by-hop fields (RFC 9110 §7.6.1: ``Connection`` and the fields it names,
``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Transfer-Encoding``,
``Upgrade``, ``Proxy-Authorization``, ``Proxy-Authenticate``) are not
forwarded in either direction; ``Host`` becomes the upstream's and
``Content-Length`` is recomputed (the same bytes), everything else passes as
sent.  The answer's bytes go back as they arrive (``aiter_raw``: a compressed
body stays compressed; it is decompressed only to be judged).

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
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
from starlette.responses import JSONResponse

from avatar_contract.validators.journal import ExchangeRecord, dumps_line

from ..clauses.checks import linter
from .evidence import Where
from .judge import TrafficJudge
from .records import WHOLE_BODY, build

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
                        "proxy-authorization", "proxy-authenticate", "trailer"})
MAX_SECRETS = 256
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


@dataclass
class ProxyState:
    """What the proxy has seen: the judge (every exchange of the route) and the upstream's failures."""

    judge: TrafficJudge
    forwarded: int = 0
    enforced: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    first_problem: dict[str, str] = field(default_factory=dict)
    count: int = 0
    # The keys that passed through, so the report scrubs them wherever a body echoes one (the records
    # never hold them); bounded: past MAX_SECRETS distinct keys only the first are kept.
    secrets: set[str] = field(default_factory=set)

    def problem(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        self.first_problem.setdefault(kind, detail)

    def lines(self) -> list[str]:
        out = [f"proxy: {self.forwarded} request(s) forwarded"
               + (f", {self.enforced} refused with 400 without forwarding (--enforce)" if self.enforced else "")]
        out += [f"upstream {kind}: {n} request(s) answered {_STATUS[kind]} by the proxy "
                f"(first: {self.first_problem[kind]})" for kind, n in sorted(self.problems.items())]
        return out


_STATUS = {"unreachable": 502, "garbage": 502, "timed out": 504, "cut off": "(connection closed mid-body)"}
_CODES = {502: ("bad_gateway", "The upstream server could not be reached or sent an invalid answer."),
          504: ("gateway_timeout", "The upstream server did not answer in time.")}


def _envelope(status: int, code: str, message: str, param: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    return JSONResponse({"error": error}, status_code=status)


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    named = {v.strip().lower() for k, value in headers if k.lower() == b"connection" for v in value.split(b",")}
    return {n.encode() for n in HOP_BY_HOP} | named


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """The body as judged: gzip or deflate undone (a body that does not decompress is judged as sent)."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, 47 if encoding != "deflate" else zlib.MAX_WBITS)
        except zlib.error:
            return body
    return body


class Proxy:
    def __init__(self, config: ProxyConfig, state: ProxyState) -> None:
        self.config = config
        self.state = state
        self.client = httpx.AsyncClient(
            base_url=config.upstream, timeout=httpx.Timeout(config.timeout), follow_redirects=False,
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64), transport=config.transport)
        self.client.headers.clear()  # httpx's defaults (User-Agent, Accept...) would be added to what clients sent

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
        headers = list(scope.get("headers", []))
        path, query = scope["path"], scope.get("query_string", b"")
        if self.config.enforce and (refusal := self._lint(scope["method"], path, headers, body)) is not None:
            self.state.enforced += 1
            await refusal(scope, receive, send)
            self._record(scope, headers, body, started, refusal.status_code, bytes(refusal.body), "proxy:enforced")
            return
        await self._forward(scope, receive, send, headers, body, started, path, query)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.config.on_hangup is not None and hasattr(signal, "SIGHUP"):
                    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.config.on_hangup)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_REQUEST_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _lint(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> JSONResponse | None:
        """--enforce: the documented 400 for a create that fails the request lint."""
        if not self.state.judge.ours_route(method, path):
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
                       body: bytes, started: float, path: str, query: bytes) -> None:
        dropped = _hop_by_hop(headers) | {b"host", b"content-length"}
        outgoing = [(k, v) for k, v in headers if k.lower() not in dropped]
        url = httpx.URL(path=path, query=query)
        request = self.client.build_request(scope["method"], url, headers=outgoing, content=body)
        try:
            upstream = await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            await self._failed(scope, receive, send, headers, body, started, 504, "timed out", exc)
            return
        except (httpx.RemoteProtocolError, httpx.DecodingError, httpx.ReadError) as exc:
            await self._failed(scope, receive, send, headers, body, started, 502, "garbage", exc)
            return
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            await self._failed(scope, receive, send, headers, body, started, 502, "unreachable", exc)
            return
        self.state.forwarded += 1
        raw = list(upstream.headers.raw)
        back = _hop_by_hop(raw)
        await send({"type": "http.response.start", "status": upstream.status_code,
                    "headers": [(k, v) for k, v in raw if k.lower() not in back]})
        kept = bytearray()
        judged = self.state.judge.ours_route(scope["method"], path) or self.config.record is not None
        complete = False
        try:
            async for chunk in upstream.aiter_raw():
                if judged and len(kept) <= WHOLE_BODY:
                    kept += chunk
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            complete = True
        except (httpx.HTTPError, OSError) as exc:
            # The status line went out already: the client sees the connection close mid-body.
            self.state.problem("cut off", f"{type(exc).__name__}: {exc}".rstrip(": "))
        finally:
            await upstream.aclose()
        decoded = _decoded(bytes(kept), upstream.headers.get("content-encoding"))
        self._record(scope, headers, body, started, upstream.status_code if complete else None, decoded, None,
                     [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw])

    async def _failed(self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]],
                      body: bytes, started: float, status: int, kind: str, exc: Exception) -> None:
        self.state.problem(kind, f"{type(exc).__name__}: {exc}".rstrip(": ") or type(exc).__name__)
        code, message = _CODES[status]
        answer = _envelope(status, code, message)
        await answer(scope, receive, send)
        self._record(scope, headers, body, started, status, bytes(answer.body), f"proxy:upstream {kind}")

    def _record(self, scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes, started: float,
                status: int | None, answer: bytes, fault: str | None,
                answer_headers: list[tuple[str, str]] | None = None) -> None:
        client = scope.get("client")
        query = scope.get("query_string", b"").decode("latin-1")
        if len(self.state.secrets) < MAX_SECRETS:
            for name, value in headers:
                if name.lower() in (b"x-api-key", b"authorization") and value.strip():
                    token = value.decode("latin-1").strip()
                    self.state.secrets.add(token.split(" ", 1)[1].strip() if name.lower() == b"authorization"
                                           and " " in token else token)
        record = build(
            index=self.state.count, source="proxy", method=scope["method"],
            url=scope["path"] + (f"?{query}" if query else ""),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers], body=body,
            started=started, ended=time.time(), status=status,
            response_headers=answer_headers if answer_headers is not None else [("content-type", "application/json")],
            response_body=answer, connection=f"{client[0]}:{client[1]}" if client else None,
            outcome="answered" if status is not None else "reset")
        if fault is not None:
            record = ExchangeRecord(**{**_fields(record), "fault": fault})
        self.state.count += 1
        if self.config.record is not None:
            self.config.record.write(dumps_line(record))
        self.state.judge.add(record, Where("proxy", record.id))


def _fields(record: ExchangeRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__struct_fields__}


def create_app(config: ProxyConfig, state: ProxyState | None = None) -> Proxy:
    """The proxy as an ASGI app; ``state`` (made here when not given) holds the judge and the counts."""
    return Proxy(config, state or ProxyState(TrafficJudge()))
