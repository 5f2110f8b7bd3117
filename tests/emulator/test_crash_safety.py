"""kill -9 under concurrent keyed load never makes two avatars for one Idempotency-Key (issue 9, §3).

The served emulator (uvicorn, ``--store sqlite``) is killed with SIGKILL
several times while keyed creates are in flight, restarted, and every key is
retried until it succeeds.  Each key carries its own avatar name, so the
SQLite file says how many avatars each key made: exactly one.  Before the
avatar insert and the record's completion shared a transaction, a kill
between the two left the key "in flight" behind a committed avatar, and the
retry after the lease made a second one.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections import Counter
from pathlib import Path

import httpx
import pytest

from avatar_contract.emulator import DEFAULT_API_KEY

from ._served import Served

pytestmark = pytest.mark.soak  # kill -9 of a served emulator under load

KILLS = 6
KEYS_PER_ROUND = 160
LEASE = 0.5  # short, so keys a kill left in flight are free again quickly
MAX_REQUESTS_PER_WORKER = 5_000  # a bound on the load, never reached: the kill ends it
HEADERS = {"x-api-key": DEFAULT_API_KEY, "content-type": "application/json"}


def body(key: str) -> bytes:
    return json.dumps({"type": "photo", "name": key,
                       "file": {"type": "url", "url": "https://example.com/a.jpg"}}).encode()


async def load_until_gone(base: str, fresh: list[str], earlier: list[str], sent: list[str],
                          concurrency: int = 64) -> dict[str, int]:
    """Keyed creates, ``concurrency`` at a time, until the server dies: each fresh key
    once (appended to ``sent`` as it goes out), then the round's and ``earlier`` keys
    again and again (replays, takeovers).  The load never ends on its own, so the kill
    always lands while keyed requests are in flight, however slow the machine.
    What each key last got (0: the connection died)."""
    got: dict[str, int] = {}
    queue = list(reversed(fresh))
    again = list(earlier)
    gone = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, timeout=10,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker(n: int) -> None:
            for turn in range(MAX_REQUESTS_PER_WORKER):
                if gone.is_set():
                    return
                if queue:
                    key = queue.pop()
                    sent.append(key)
                    again.append(key)
                else:
                    key = again[(n + turn * concurrency) % len(again)]
                try:
                    response = await client.post("/v3/avatars", content=body(key),
                                                 headers={**HEADERS, "idempotency-key": key})
                    got[key] = response.status_code
                except httpx.TransportError:
                    got[key] = 0
                    gone.set()
            raise AssertionError(f"the server was not killed within {MAX_REQUESTS_PER_WORKER} requests per worker")
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return got


async def settle(base: str, keys: list[str]) -> dict[str, str]:
    """Retry every key until it answers 200 (409s wait out the lease); the look id per key."""
    looks: dict[str, str] = {}
    pending = list(keys)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for _ in range(200):  # bounded: each round waits at most one lease
            retry = []
            for key in pending:
                response = await client.post("/v3/avatars", content=body(key),
                                             headers={**HEADERS, "idempotency-key": key})
                if response.status_code == 200:
                    looks[key] = response.json()["data"]["avatar_item"]["id"]
                else:
                    assert response.status_code == 409, (key, response.status_code, response.text)
                    retry.append(key)
            pending = retry
            if not pending:
                return looks
            await asyncio.sleep(LEASE)
    raise AssertionError(f"{len(pending)} key(s) never recovered: {pending[:5]}")


def names_in(db: Path) -> Counter[str]:
    connection = sqlite3.connect(db)
    try:
        return Counter(json.loads(name) for (name,) in connection.execute("SELECT name FROM avatar_looks"))
    finally:
        connection.close()


def test_kill_9_under_keyed_load_leaves_exactly_one_avatar_per_key(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    server = Served("--store", f"sqlite:{db}", "--rate-limit", "off", "--in-flight-lease", str(LEASE),
                    "--processing-delay", "0")
    rng = random.Random(9)
    sent: list[str] = []
    try:
        for round_ in range(KILLS):
            server.start()
            keys = [f"crash-{round_}-{i}" for i in range(KEYS_PER_ROUND)]
            before = len(sent)

            async def load_then_kill(keys: list[str], earlier: list[str], wanted: int) -> dict[str, int]:
                # Earlier rounds' keys are retried alongside: a kill may land on a takeover too.
                load = asyncio.create_task(load_until_gone(server.base, keys, earlier, sent))
                # The server's own record says when creates are being committed: kill once
                # a quarter of this round's keys have made their avatar.  The load is still
                # running then (it stops only when the server is gone).
                while len(names_in(db)) < wanted:
                    await asyncio.sleep(0.02)
                    assert not load.done(), load.exception()
                server.kill()
                return await load

            earlier = rng.sample(sent, min(40, len(sent)))
            outcomes = asyncio.run(load_then_kill(keys, earlier, before + KEYS_PER_ROUND // 4))
            assert 0 in outcomes.values()  # true by construction: the load ran until the kill
        server.start()
        looks = asyncio.run(settle(server.base, sent))
        again = asyncio.run(settle(server.base, sent))  # replays: the same avatar, no new one
    finally:
        server.stop()
    assert again == looks
    per_key = names_in(db)
    duplicated = {key: n for key, n in per_key.items() if n != 1}
    assert not duplicated, f"keys with more than one avatar: {duplicated}"
    assert set(per_key) == set(sent) and len(set(looks.values())) == len(sent)
    print(f"crash test: {KILLS} kills (SIGKILL) under 64-way keyed load, {len(sent)} keys, "
          f"{sum(per_key.values())} avatars, {len(duplicated)} keys duplicated")
