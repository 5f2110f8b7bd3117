"""Targets that break the create budget: each counts the avatars it really made.

ASGI apps (served in-process through ``Target.asgi_app``, treated exactly like a
remote target) and one stdlib HTTP server on 127.0.0.1 that dies after K
requests, since a dead server is a transport error, which ASGI cannot show.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from avatar_contract.validators import Linter

from ._support import KEY_1, KEY_2, App, Receive, RewritesBodies, Scope, Send, emulator

_LINTER = Linter()
CREATED = {"data": {
    "avatar_item": {"id": "look-same", "name": "x", "avatar_type": "photo_avatar", "group_id": "grp-same",
                    "status": "processing"},
    "avatar_group": {"id": "grp-same", "name": "x", "created_at": 1, "looks_count": 1, "status": "processing"},
}}


async def _body(receive: Receive) -> bytes:
    out = b""
    while True:
        message = await receive()
        out += message.get("body", b"")
        if not message.get("more_body"):
            return out


async def _answer(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), *(headers or [])]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _same_look(body: Any) -> Any:
    body["data"]["avatar_item"]["id"] = "look-same"
    return body


class RepeatsIds(RewritesBodies):
    """The emulator, but every create answers the same look and group id (each is a real avatar)."""

    def __init__(self) -> None:
        super().__init__(200, _same_look)

    @property
    def created(self) -> int:
        return int(self.app.state.emulator.created_count())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await super().__call__(scope, receive, send)


class IgnoresAuth:
    """The emulator behind a gateway that drops auth: every request is served as tenant 1."""

    def __init__(self) -> None:
        self.app = emulator()

    @property
    def created(self) -> int:
        return int(self.app.state.emulator.created_count())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"x-api-key", b"authorization")]
            scope = {**scope, "headers": [*headers, (b"x-api-key", KEY_1.encode())]}
        await self.app(scope, receive, send)


class AnswersEverything:
    """200 and a created avatar for every request, whatever it is (each 200 a billed avatar)."""

    def __init__(self) -> None:
        self.created = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await _body(receive)
        self.created += 1
        await _answer(send, 200, CREATED)


class OnlyThrottles:
    """An exhausted quota: 429 with ``Retry-After: 999999`` (``retry_after``) to everything."""

    retry_after = b"999999"

    def __init__(self) -> None:
        self.requests = 0
        self.created = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await _body(receive)
        self.requests += 1
        await _answer(send, 429, {"error": {"code": "rate_limit_exceeded", "message": "quota exhausted"}},
                      [(b"retry-after", self.retry_after)])


class _Dying(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, limit: int, answer_all: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.limit = limit
        self.answer_all = answer_all  # 200 and an avatar for every request
        self.seen = 0
        self.created = 0
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Dying

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # http.server's naming
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        with self.server.lock:
            self.server.seen += 1
            dead = self.server.seen > self.server.limit
        if dead:
            # The request that kills it: no answer, the connection reset, then nothing listens.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            threading.Thread(target=_kill, args=(self.server,), daemon=True).start()
            return
        auth = self.headers.get("authorization") or ""
        key = self.headers.get("x-api-key") or (auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None)
        if self.server.answer_all:
            with self.server.lock:
                self.server.created += 1
            status, body = 200, CREATED
        elif key not in (KEY_1, KEY_2):
            status, body = 401, {"error": {"code": "authentication_failed", "message": "no"}}
        elif not _LINTER.lint_request(raw).valid:
            status, body = 400, {"error": {"code": "invalid_parameter", "message": "bad", "param": None}}
        else:
            with self.server.lock:
                self.server.created += 1
            status, body = 200, CREATED
        out = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def _kill(server: _Dying) -> None:
    server.shutdown()
    server.server_close()  # nothing listens any more: the next connection is refused


@contextmanager
def dying_server(limit: int, answer_all: bool = False) -> Iterator[tuple[str, _Dying]]:
    """A server on 127.0.0.1 that answers ``limit`` requests, then dies."""
    server = _Dying(limit, answer_all)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


BREAKERS: dict[str, type[Any]] = {
    "repeats ids": RepeatsIds, "ignores auth": IgnoresAuth, "answers 2xx to everything": AnswersEverything,
}
__all__ = ["BREAKERS", "App", "OnlyThrottles", "dying_server"]
