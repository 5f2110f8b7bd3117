"""A served emulator whose 2xx answers stall after their headers: the status line is sent, the
body never is (until the client hangs up).  It counts the 2xx status lines it sent, the number
a billing system would charge for, so a test can hold the suite's count to it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from ._support import Receive, Scope, Send, emulator, free_port


class StallsBodies:
    """The emulator; every ``every``-th 2xx to the create route (1: all of them) stalls after its headers."""

    def __init__(self, every: int = 1) -> None:
        self.app = emulator()
        self.every = every
        self.status_lines = 0  # 2xx status lines sent to the create route
        self.stalled = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        stall = [False]

        async def relay(message: Any) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.status_lines += 1
                stall[0] = self.status_lines % self.every == 0
                self.stalled += stall[0]
            if message["type"] == "http.response.body" and stall[0]:
                # Headers are out; the body never comes.  Bounded: the client gives up first.
                await asyncio.wait_for(receive(), 120)  # returns at http.disconnect
                return
            await send(message)

        await self.app(scope, receive, relay)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; stopped on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the stalling server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True
        thread.join(timeout=10)
