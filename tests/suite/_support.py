"""Helpers for the suite's own tests: ASGI wrappers that change how a target behaves."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from avatar_contract.emulator import EmulatorConfig, create_app

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

KEY_1 = "suite-test-key-1"
KEY_2 = "suite-test-key-2"
REMOTE = "http://sut.test"  # an in-process app treated exactly like a remote target
ASSETS = Path(__file__).with_name("assets.toml")  # a real-asset fixture (--asset), as a user writes one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served_emulator(*args: str, keys: Sequence[str] = (KEY_1, KEY_2)) -> Iterator[str]:
    """``avatar-contract emulator ARGS`` under uvicorn on a free loopback port (a real socket)
    with ``keys``; yields its URL, and stops it on exit."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("avatar-contract")), "emulator", "--port", str(port),
         *[arg for key in keys for arg in ("--api-key", key)], "--no-access-log", "--log-level", "error", *args],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/openapi.json", timeout=1).read()
                break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = server.stderr.read() if server.stderr else ""
                    raise RuntimeError(f"emulator did not start: {log}") from exc
                time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def emulator(**options: Any) -> Any:
    options.setdefault("api_keys", (KEY_1, KEY_2))
    options.setdefault("rate_limit", None)
    return create_app(EmulatorConfig(**options))


class RewritesBodies:
    """The emulator, with the JSON body of every answer of ``status`` passed through ``change``
    (its Content-Length dropped: the new body has another size)."""

    def __init__(self, status: int, change: Callable[[Any], Any]) -> None:
        self.app = emulator()
        self.status, self.change = status, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started: dict[str, Any] = {}

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            if started.get("status") == self.status:
                body = self.change(json.loads(message.get("body", b"{}")))
                message = {**message, "body": json.dumps(body).encode()}
                started["headers"] = [(k, v) for k, v in started["headers"] if k.lower() != b"content-length"]
            await send(started)
            await send(message)

        await self.app(scope, receive, rewrite)


class MethodRecorder:
    """Remembers every method the suite sent."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.methods: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.methods.append(scope["method"])
        await self.app(scope, receive, send)


class Throttler:
    """Answers every ``every``-th POST with a well-formed 429 before the app sees it."""

    def __init__(self, app: App, every: int = 4, retry_after: str | None = "0") -> None:
        self.app = app
        self.every = every
        self.retry_after = retry_after
        self.seen = 0
        self.throttled = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.seen += 1
            if self.seen % self.every == 0:
                self.throttled += 1
                body = json.dumps({"error": {"code": "rate_limit_exceeded", "message": "slow down",
                                             "param": None, "doc_url": None}}).encode()
                headers = [(b"content-type", b"application/json")]
                if self.retry_after is not None:
                    headers.append((b"retry-after", self.retry_after.encode()))
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def vendored_doc() -> dict[str, Any]:
    """A fresh, editable copy of the vendored spec document."""
    import yaml

    from avatar_contract.spec import vendored_spec_path

    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    return doc


def with_gcs_source(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` whose asset unions (photo and twin ``file``, prompt references) gain a fourth
    source, ``gcs`` with one field ``uri``: what a newer vendor spec might add."""
    schemas = doc["components"]["schemas"]
    schemas["AssetGcs"] = {
        "type": "object", "additionalProperties": False, "required": ["type", "uri"],
        "properties": {"type": {"type": "string", "const": "gcs"}, "uri": {"type": "string"}},
    }
    prompt = schemas["CreatePromptAvatarRequest"]["properties"]
    unions = [schemas[name]["properties"]["file"] for name in ("CreatePhotoAvatarRequest", "CreateDigitalTwinRequest")]
    for union in [*unions, prompt["reference_images"]["anyOf"][0]["items"]]:
        union["oneOf"].append({"$ref": "#/components/schemas/AssetGcs"})
        union["discriminator"]["mapping"]["gcs"] = {"$ref": "#/components/schemas/AssetGcs"}
    return doc
