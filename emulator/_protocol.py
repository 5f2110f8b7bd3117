"""uvicorn's HTTP protocols with a deadline for the request head.

uvicorn (0.30-0.5x) times out idle keep-alive connections, but only once a
response has been sent, and any byte received cancels that timer: a client
that connects and sends nothing, or drips a header a byte at a time, holds
its connection (and a file descriptor) for ever.  These subclasses close a
connection whose request head is not complete within ``header_timeout``
seconds of the connection opening or of the previous response ending.  The
body has its own deadline in the app (``EmulatorConfig.body_timeout``).
They also hand each request its connection's handle (``_connection``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import socket
import struct
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from ._command import DEFAULT_HEADER_TIMEOUT
from ._connection import CONNECTION_EXTENSION, ConnectionHandle

_CONNECTION_IDS = itertools.count(1)


class _HeadDeadline:
    """Mixin for a uvicorn HTTP protocol; must come first in the bases."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any
    app: Any

    def __init__(self, *args: Any, header_timeout: float = DEFAULT_HEADER_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        self._waiting_after: Any = None  # the cycle that was current when the wait began

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._head_timer = self.loop.call_later(self._header_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()
        self._with_handle()

    def _with_handle(self) -> None:
        """Each request's scope gets this connection's handle (see ``_connection``)."""
        handle = ConnectionHandle(f"c{next(_CONNECTION_IDS)}", self._reset)
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            extensions = {**(scope.get("extensions") or {}), CONNECTION_EXTENSION: handle}
            await inner({**scope, "extensions": extensions}, receive, send)
        self.app = app

    def _reset(self) -> None:
        """Drop the connection at once: SO_LINGER 0 makes the close a TCP RST."""
        sock = self.transport.get_extra_info("socket")
        with contextlib.suppress(AttributeError, OSError):  # else a plain close: still no answer
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        # A new request cycle exists once its head has been parsed.
        if self._head_timer is not None and self.cycle is not self._waiting_after:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        # The next request's head is on the clock too -- unless a pipelined request
        # already parsed is being served (its own response will arm the timer).
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedH11Protocol(_HeadDeadline, H11Protocol):
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency, but uvicorn runs without it
    GuardedHttpToolsProtocol: type | None = None
else:
    class GuardedHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):  # type: ignore[no-redef]
        pass


def guarded_protocol(http: str, header_timeout: float) -> functools.partial[Any]:
    """What to pass uvicorn as ``http=``: the parser asked for ("auto" prefers httptools)."""
    chosen: type = GuardedH11Protocol
    if http in ("auto", "httptools") and GuardedHttpToolsProtocol is not None:
        chosen = GuardedHttpToolsProtocol
    return functools.partial(chosen, header_timeout=header_timeout)
