"""``store="sqlite:PATH"``: restarts keep everything, and workers share in-flight markers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from avatar_contract.emulator import EmulatorConfig, ManualClock
from avatar_contract.emulator._records import Replay, StoredResponse
from avatar_contract.emulator._sqlite_store import SqliteStore

from ._support import harness, photo, prompt, twin

pytestmark = pytest.mark.anyio


async def test_a_restart_keeps_avatars_and_replays_keys(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'emulator.db'}"
    clock = ManualClock()
    first = harness(EmulatorConfig(store=store, clock=clock, training_seconds=10.0))
    # The name carries a lone surrogate (legal JSON, not UTF-8-encodable): it must survive too.
    raw = b'{"type":"digital_twin","name":"Zo\\ud800e","file":{"type":"asset_id","asset_id":"a"}}'
    created = await first.create(content=raw, idem="survives")
    assert created.status_code == 200
    data = created.json()["data"]
    first.emulator.close()  # a clean shutdown

    second = harness(EmulatorConfig(store=store, clock=clock, training_seconds=10.0))
    replay = await second.create(twin(), idem="survives")
    assert replay.content == created.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert second.emulator.created_count() == 1
    clock.advance(10)
    look = (await second.get(f"/v3/avatars/looks/{data['avatar_item']['id']}")).json()["data"]
    assert look["status"] == "completed" and look["name"] == "Zo\ud800e"
    joined = await second.create(prompt(avatar_group_id=data["avatar_group"]["id"]))
    assert joined.json()["data"]["avatar_group"]["looks_count"] == 2
    second.emulator.close()


async def test_the_database_is_in_wal_mode_and_holds_no_keys(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    secret = "sk-do-not-store-me"
    h = harness(EmulatorConfig(store=f"sqlite:{path}", api_keys=(secret,), clock=ManualClock()))
    await h.create(key=secret, idem="k")
    h.emulator.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    dump = "\n".join(db.iterdump())
    db.close()
    assert secret not in dump and "avatar_looks" in dump


async def test_two_workers_on_one_database_create_one_avatar_per_key(tmp_path: Path) -> None:
    # Two emulators with separate connections stand in for two uvicorn worker processes.
    store = f"sqlite:{tmp_path / 'shared.db'}"
    workers = [harness(EmulatorConfig(store=store, rate_limit=None, processing_delay=0.2))
               for _ in range(2)]
    responses = await asyncio.gather(*(workers[i % 2].create(photo(), idem="shared")
                                       for i in range(60)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409} and 409 in statuses
    assert len({r.content for r in responses if r.status_code == 200}) == 1
    assert workers[0].emulator.created_count() == workers[1].emulator.created_count() == 1
    # The other worker sees avatars made by the first.
    look_id = next(r for r in responses if r.status_code == 200).json()["data"]["avatar_item"]["id"]
    for w in workers:
        assert (await w.get(f"/v3/avatars/looks/{look_id}")).status_code == 200
    for w in workers:
        w.emulator.close()


def test_claims_are_atomic_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "claims.db"
    a, b = SqliteStore(path), SqliteStore(path)
    first = a.claim("scope", "fp", 100.0, 86_400.0, 60.0)
    assert type(first).__name__ == "Fresh"
    assert type(b.claim("scope", "fp", 101.0, 86_400.0, 60.0)).__name__ == "InFlight"
    b.release("scope", "not-the-token")  # only the owner can release
    assert type(b.claim("scope", "fp", 101.0, 86_400.0, 60.0)).__name__ == "InFlight"
    a.release("scope", first.token)  # type: ignore[union-attr]
    assert type(b.claim("scope", "fp", 102.0, 86_400.0, 60.0)).__name__ == "Fresh"
    a.close()
    b.close()


def test_a_replay_is_a_plain_read_that_never_waits_for_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "replay.db"
    store = SqliteStore(path)
    store.complete("done", None, "fp", StoredResponse(200, b"{}", "application/json"), 0.0, 1e9)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another worker holds the write lock
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(store.claim("done", "fp", 1.0, 1e9, 60.0)))
    worker.start()
    worker.join(timeout=20)  # a claim that took the write lock would wait here (busy_timeout: 30 s)
    blocked = worker.is_alive()
    writer.execute("ROLLBACK")
    worker.join()
    writer.close()
    store.close()
    assert not blocked and isinstance(seen[0], Replay)
