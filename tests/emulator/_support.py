"""Shared helpers for the emulator tests: an in-process client and request bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import jsonschema
from starlette.applications import Starlette

from avatar_contract.emulator import DEFAULT_API_KEY, Emulator, EmulatorConfig, ManualClock, create_app
from avatar_contract.spec import SPEC_URI, load_spec

T = TypeVar("T")
URL = "https://example.com/anna.jpg"
KEY_B = "tenant-b-key"


def photo(**extra: Any) -> dict[str, Any]:
    return {"type": "photo", "name": "Anna", "file": {"type": "url", "url": URL}, **extra}


def twin(**extra: Any) -> dict[str, Any]:
    return {"type": "digital_twin", "name": "Ben",
            "file": {"type": "asset_id", "asset_id": "asset_123"}, **extra}


def prompt(**extra: Any) -> dict[str, Any]:
    return {"type": "prompt", "name": "Cleo", "prompt": "a friendly presenter", **extra}


INVALID = {"type": "photo", "name": "Anna", "file": {"type": "url"}}  # file.url missing


@dataclass
class Harness:
    """An emulator app with an in-process httpx client and convenience calls."""

    app: Starlette
    clock: ManualClock | None = None
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                        base_url="http://emulator.test")

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.app.state.emulator
        return emulator

    async def create(self, body: Any = None, *, key: str | None = DEFAULT_API_KEY,
                     idem: str | None = None, bearer: bool = False,
                     headers: Mapping[str, str | bytes] | None = None,
                     content: bytes | None = None) -> httpx.Response:
        sent: dict[str, str | bytes] = {"content-type": "application/json"}
        if key is not None:
            if bearer:
                sent["authorization"] = f"Bearer {key}"
            else:
                sent["x-api-key"] = key
        if idem is not None:
            sent["idempotency-key"] = idem
        sent.update(headers or {})
        if content is None:
            return await self.client.post("/v3/avatars", json=photo() if body is None else body,
                                          headers=sent)
        return await self.client.post("/v3/avatars", content=content, headers=sent)

    async def get(self, path: str, *, key: str | None = DEFAULT_API_KEY) -> httpx.Response:
        return await self.client.get(path, headers={"x-api-key": key} if key else {})


def harness(config: EmulatorConfig | None = None, **options: Any) -> Harness:
    """A harness on a manual clock (unless a clock is given) so time only moves when told."""
    if config is None:
        options.setdefault("clock", ManualClock())
        config = EmulatorConfig(**options)
    clock = config.clock if isinstance(config.clock, ManualClock) else None
    return Harness(create_app(config), clock)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one async scenario to completion from synchronous code (hypothesis tests)."""
    async def main() -> T:
        return await factory()
    return asyncio.run(main())


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    error: dict[str, Any] = body["error"]
    return error


def schema_errors(name: str, instance: Any) -> list[str]:
    """Errors for ``instance`` against a component schema, by an independent validator."""
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=load_spec().registry)
    return [e.message for e in validator.iter_errors(instance)]
