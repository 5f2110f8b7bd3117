"""Traffic recorded from the emulator: a scripted client (every situation the traffic clauses judge)
sends through httpx to the in-process emulator, whose journal (validators.journal) records it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.emulator._journal import Journal
from avatar_contract.validators.journal import ExchangeRecord, dumps_line

KEY_1, KEY_2, KEY_3 = "traffic-key-one-0001", "traffic-key-two-0002", "traffic-key-burst-0003"
PHOTO = {"type": "photo", "name": "Photo look", "file": {"type": "url", "url": "https://example.com/face.jpg"}}
TWIN = {"type": "digital_twin", "name": "Twin look", "file": {"type": "url", "url": "https://example.com/me.mp4"}}
PROMPT = {"type": "prompt", "name": "Prompt look", "prompt": "a friendly presenter in a blue jacket"}
_DATA = "iVBORw0KGgoAAAAAAAAAAAAAAAAAAAA="
SOURCES = [{"type": "asset_id", "asset_id": "asset_0001"}, {"type": "base64", "media_type": "image/png", "data": _DATA}]
# Every variant with every asset source (request.variants passes on traffic only with all of them).
SHAPES: list[Any] = [
    *({**PHOTO, "name": f"Photo {s['type']}", "file": s} for s in SOURCES),
    *({**TWIN, "name": f"Twin {s['type']}", "file": {**s, "media_type": "video/mp4"} if "data" in s else s}
      for s in SOURCES),
    {**PROMPT, "name": "Prompt with references",
     "reference_images": [*SOURCES, {"type": "url", "url": "https://example.com/ref.jpg"}]},
]
INVALID: list[Any] = [
    {},
    {"type": "photo", "file": {"type": "url", "url": "https://example.com/face.jpg"}},  # no name
    {**PROMPT, "prompt": "x" * 1001},
    {**PROMPT, "reference_images": [{"type": "url", "url": f"https://example.com/{i}.jpg"} for i in range(4)]},
    {**PHOTO, "file": {"type": "url", "url": "https://example.com/face.jpg", "extra": 1}},
]
BURST = 40  # the rate limit allows BURST - 10 (each key has its own bucket)


def _key() -> str:
    return str(uuid.uuid4())


async def _script(client: httpx.AsyncClient) -> None:
    key1, key2 = {"x-api-key": KEY_1}, {"x-api-key": KEY_2}

    async def post(body: Any, headers: dict[str, str], key: str | None = None, raw: bytes | None = None) -> None:
        sent = {**headers, **({"idempotency-key": key} if key is not None else {})}
        if raw is not None:
            await client.post("/v3/avatars", content=raw, headers={**sent, "content-type": "application/json"})
        else:
            await client.post("/v3/avatars", json=body, headers=sent)

    await post(PHOTO, {})  # auth.missing
    await post(PHOTO, {"authorization": f"Basic {KEY_1}"})  # an undeclared scheme
    await post(PHOTO, {"authorization": f"Bearer {KEY_1}"}, _key())  # auth.bearer
    for body in (PHOTO, TWIN, PROMPT, *SHAPES):
        await post(body, key1, _key())
    for body in INVALID:
        await post(body, key1, _key())
    await post(None, key1, _key(), raw=b"{not json")
    await post(PHOTO, key1, "bad key")  # malformed Idempotency-Key on a valid body
    await post(PHOTO, key1, "k" * 256)
    shared = _key()
    await post(PHOTO, key1, shared)
    await post(PHOTO, key1, shared)  # replay
    await post({**PHOTO, "name": "Photo look, renamed"}, key1, shared)  # replay, body differs
    await post(PHOTO, key2, shared)  # tenant scope
    raced = _key()
    await asyncio.gather(*(post(PROMPT, key1, raced) for _ in range(3)))  # in flight
    await client.get("/v3/avatars/unknown", headers=key1)  # another route
    for _ in range(BURST):
        await post({}, {"x-api-key": KEY_3})  # until a 429


async def _record(faults: Iterable[str]) -> list[ExchangeRecord]:
    journal = Journal(limit=10_000)
    journal.begin(None)
    config = EmulatorConfig(api_keys=(KEY_1, KEY_2, KEY_3), faults=frozenset(faults), rate_limit=(BURST - 10, 3600.0),
                            processing_delay=0.2, journal=journal)
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator.test", timeout=30) as client:
        await _script(client)
    journal.end()
    return journal.records()


def record_traffic(faults: Iterable[str] = ()) -> list[ExchangeRecord]:
    return asyncio.run(_record(faults))


def write_journal(records: Iterable[ExchangeRecord], path: Path) -> Path:
    path.write_bytes(b"".join(dumps_line(r) for r in records))
    return path
