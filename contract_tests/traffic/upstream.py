"""The proxy's way to the upstream: a lean HTTP/1.1 client on asyncio protocols and httptools' parser.

    >>> upstream = Upstream("http://127.0.0.1:8080", timeout=30.0)           # doctest: +SKIP
    >>> answer = await upstream.send(b"POST", b"/v3/avatars", headers, body)  # doctest: +SKIP
    >>> async for chunk, more in answer.chunks(): ...                         # doctest: +SKIP

Why not httpx: its client, pool and anyio streams cost ~0.95 ms of CPU per
forwarded request on the 2-core bench machine (the pool polls every connection's
socket on each request); this costs ~40 µs (bench/proxy_overhead.py).  What it
does is what the proxy needs and no more: keep-alive connections (LIFO, idle ones
dropped after ``KEEPALIVE_EXPIRY`` or when the upstream closes them), at most
``MAX_CONNECTIONS`` at once, bodies by Content-Length, chunked or until close
(de-chunked, never decompressed: httpx's ``aiter_raw``), 1xx answers skipped,
``timeout`` on connecting and on each wait for bytes.  Nothing is retried.

``TransportUpstream`` gives the same interface over an httpx transport, so tests
can put an in-process ASGI app upstream.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from typing import Protocol, cast
from urllib.parse import urlsplit

import httptools
import httpx

Headers = list[tuple[bytes, bytes]]
MAX_CONNECTIONS = 256
MAX_IDLE = 64
# Idle connections are dropped before uvicorn's 5 s keep-alive ends them: a request sent as the upstream
# closes its end is lost (502), and nothing is retried.
KEEPALIVE_EXPIRY = 4.0
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})
HIGH_WATER = 256 * 1024  # body bytes read ahead of a slow client before reading from the upstream pauses


class UpstreamError(Exception):
    """What went wrong, as the proxy reports it: ``kind`` is unreachable, garbage, timed out or cut off."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _named(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


class Answer(Protocol):
    status: int
    headers: Headers

    def chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        """(raw body bytes, more to come); raises ``UpstreamError`` (cut off, timed out) mid-body."""
        ...

    async def aclose(self) -> None: ...


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time.  Parser callbacks fill the fields the waiting
    coroutine reads; ``_wake`` resolves its future."""

    def __init__(self, pool: Upstream) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.status = 0
        self.headers: Headers = []
        self.body: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.head = self.done = self.closed = self.paused = self.head_only = self.keep_alive = False
        self.error: UpstreamError | None = None
        self.idle_since = 0.0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("garbage", "the upstream switched protocols")
        except httptools.HttpParserError as exc:
            self._fail("garbage", f"RemoteProtocolError: {exc}")
        if self.timer is not None:  # bytes arrived: the wait for the next ones starts now
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.done and self.error is None:
            if self.head and self._until_close():
                self.done = True  # a body delimited by the end of the connection (RFC 9112 §6.3)
            else:
                self.error = UpstreamError("cut off" if self.head else "garbage", _named(exc) if exc else
                                           "RemoteProtocolError: the upstream closed the connection"
                                           + (" mid-body" if self.head else " without answering"))
        self._wake()

    def pause_writing(self) -> None:  # bodies are small; the transport buffers the rest
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.headers = []  # an interim answer (100 Continue, 103): the final one follows
            return
        self.status, self.head = status, True
        if self.head_only:  # the answer to HEAD: no body whatever its framing says; the parser would wait for one
            self.done = True
            self._disarm()
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
            self._disarm()  # the wait is for our client now, not for the upstream
        self._wake()

    def on_message_complete(self) -> None:
        if self.head:
            self.done = True
            self.keep_alive = self.parser.should_keep_alive()  # only true inside the callback: then it resets
            self._disarm()
            self._wake()

    # -- the exchange
    def _until_close(self) -> bool:
        """The answer's body runs to the end of the connection: no Content-Length, not chunked."""
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _fail(self, kind: str, detail: str) -> None:
        self.error = UpstreamError(kind, detail)
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        assert self.loop is not None
        self.timer = self.loop.call_later(self.pool.timeout, self._fail, "timed out",
                                          f"ReadTimeout: no bytes from the upstream within {self.pool.timeout:g} s")

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    async def _wait(self) -> None:
        if self.error is not None:
            raise self.error
        assert self.loop is not None
        self.waiter = self.loop.create_future()
        await self.waiter
        self.waiter = None
        if self.error is not None:
            raise self.error

    async def exchange(self, data: bytes, head_only: bool) -> None:
        self.status, self.headers, self.head, self.done, self.head_only = 0, [], False, False, head_only
        self.keep_alive = False
        assert self.transport is not None
        self.transport.write(data)
        self._arm()
        while not self.head:
            await self._wait()

    async def chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        body = self.body
        while True:
            while body:
                chunk = body.popleft()
                self.buffered -= len(chunk)
                if self.paused and self.buffered < HIGH_WATER // 2 and self.transport is not None:
                    self.paused = False
                    self.transport.resume_reading()
                    self._arm()
                more = bool(body) or not self.done
                yield chunk, more
                if not more:
                    return
            if self.done:
                yield b"", False
                return
            await self._wait()

    async def aclose(self) -> None:
        """Back to the pool when the answer was read to its end on a connection that stays open."""
        self._disarm()
        if self.done and self.keep_alive and not self.closed and not self.body and self.error is None:
            self.pool.release(self)
        else:
            self.pool.discard(self)


class Upstream:
    """A pool of connections to one origin (the ``--upstream`` URL's scheme, host and port; its path is a
    prefix of every request's)."""

    def __init__(self, base: str, timeout: float) -> None:
        parts = urlsplit(base)
        self.prefix = parts.path.rstrip("/").encode("ascii")
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        netloc = parts.netloc.rpartition("@")[2]
        self.host_header = netloc.encode("ascii") if netloc.isascii() else netloc.encode("idna")
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.timeout = timeout
        self.idle: list[_Connection] = []
        self.busy = 0
        self.waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, met on the first request

    async def send(self, method: bytes, target: bytes, headers: Headers, body: bytes) -> Answer:
        """The answer's status and headers (the body to be read from ``chunks()``, then ``aclose()``)."""
        head = [method, b" ", self.prefix, target, b" HTTP/1.1\r\nhost: ", self.host_header, b"\r\n"]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        if body or method in _BODY_METHODS:  # as httpx frames it: no Content-Length on an empty GET
            head += (b"content-length: ", str(len(body)).encode("ascii"), b"\r\n")
        head += (b"\r\n", body)
        connection = await self._acquire()
        try:
            await connection.exchange(b"".join(head), method == b"HEAD")
        except BaseException:
            await connection.aclose()
            raise
        return connection

    async def _acquire(self) -> _Connection:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        while True:
            now = self.loop.time()
            while self.idle:
                connection = self.idle.pop()
                if not connection.closed and now - connection.idle_since < KEEPALIVE_EXPIRY:
                    self.busy += 1
                    return connection
                self._close(connection)
            if self.busy < MAX_CONNECTIONS:
                break
            await self._slot()  # then look again: the freed connection is idle now, or another took it
        self.busy += 1
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await self.loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None)
        except TimeoutError:
            self._freed()
            raise UpstreamError("timed out", f"ConnectTimeout: no connection within {self.timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            self._freed()
            raise UpstreamError("unreachable", _named(exc)) from None
        return connection

    async def _slot(self) -> None:
        assert self.loop is not None
        waiter = self.loop.create_future()
        self.waiting.append(waiter)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except TimeoutError:
            raise UpstreamError("timed out", f"PoolTimeout: no free connection within {self.timeout:g} s") from None
        finally:
            if waiter in self.waiting:
                self.waiting.remove(waiter)

    def release(self, connection: _Connection) -> None:
        assert self.loop is not None
        self._freed()
        if len(self.idle) >= MAX_IDLE:
            self._close(connection)
            return
        connection.idle_since = self.loop.time()
        self.idle.append(connection)

    def discard(self, connection: _Connection) -> None:
        self._freed()
        self._close(connection)

    def _freed(self) -> None:
        self.busy -= 1
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    @staticmethod
    def _close(connection: _Connection) -> None:
        connection.closed = True
        if connection.transport is not None:
            connection.transport.close()

    async def aclose(self) -> None:
        while self.idle:
            self._close(self.idle.pop())


class _TransportAnswer:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.headers: Headers = list(response.headers.raw)

    async def chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        stream = self.response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        try:
            async for chunk in stream:
                if chunk:
                    yield chunk, True
        except (httpx.HTTPError, OSError) as exc:
            raise UpstreamError("cut off", _named(exc)) from None
        yield b"", False

    async def aclose(self) -> None:
        await self.response.aclose()


class TransportUpstream:
    """``Upstream``'s interface over an httpx transport (tests: an in-process ASGI app upstream)."""

    def __init__(self, base: str, timeout: float, transport: httpx.AsyncBaseTransport) -> None:
        self.base, self.transport = base.rstrip("/"), transport
        self.timeout = httpx.Timeout(timeout)

    async def send(self, method: bytes, target: bytes, headers: Headers, body: bytes) -> Answer:
        try:
            request = httpx.Request(method.decode("ascii"), self.base + target.decode("latin-1"), headers=headers,
                                    content=body,
                                    extensions={"timeout": self.timeout.as_dict()})
            return _TransportAnswer(await self.transport.handle_async_request(request))
        except httpx.TimeoutException as exc:
            raise UpstreamError("timed out", _named(exc)) from None
        except (httpx.RemoteProtocolError, httpx.DecodingError, httpx.ReadError) as exc:
            raise UpstreamError("garbage", _named(exc)) from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise UpstreamError("unreachable", _named(exc)) from None

    async def aclose(self) -> None:
        await self.transport.aclose()
