"""``store="postgresql://..."``: one state for every replica, kept by the database.

Two emulators on one schema stand in for two replicas (each has its own pool).
The database going away is a TCP forwarder cut between an emulator and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import psycopg
import pytest

from avatar_contract.emulator import EmulatorConfig, ManualClock
from avatar_contract.emulator._postgres_schema import MIGRATIONS, VERSION, migrate
from avatar_contract.emulator._postgres_store import PostgresStore
from avatar_contract.emulator._records import (
    Completion,
    Fresh,
    Group,
    InFlight,
    Look,
    Replay,
    StoredResponse,
    StoreError,
)

from ._postgres import fresh_schema, postgres_dsn, via_port
from ._served import free_port
from ._support import error_of, harness, photo, prompt, twin
from ._tcp_proxy import TcpProxy

pytestmark = pytest.mark.anyio


async def test_two_replicas_share_avatars_keys_and_training_state() -> None:
    dsn = fresh_schema()
    clock = ManualClock()
    a, b = (harness(EmulatorConfig(store=dsn, clock=clock, rate_limit=None, processing_delay=0.1))
            for _ in range(2))
    responses = await asyncio.gather(*((a, b)[i % 2].create(twin(), idem="shared") for i in range(40)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409} and 409 in statuses
    assert len({r.content for r in responses if r.status_code == 200}) == 1
    assert a.emulator.created_count() == b.emulator.created_count() == 1
    data = next(r for r in responses if r.status_code == 200).json()["data"]
    look_path = f"/v3/avatars/looks/{data['avatar_item']['id']}"
    assert (await b.get(look_path)).json()["data"]["status"] == "processing"
    clock.advance(10)  # training advances from the stored creation time, on either replica
    assert (await b.get(look_path)).json()["data"]["status"] == "completed"
    assert (await a.get(look_path)).json()["data"]["status"] == "completed"
    joined = await b.create(prompt(avatar_group_id=data["avatar_group"]["id"]))
    assert joined.json()["data"]["avatar_group"]["looks_count"] == 2
    for h in (a, b):
        h.emulator.close()


async def test_a_restart_keeps_avatars_and_replays_keys() -> None:
    dsn = fresh_schema()
    clock = ManualClock()
    raw = b'{"type":"digital_twin","name":"Zo\\ud800e\\u0000","file":{"type":"asset_id","asset_id":"a"}}'
    first = harness(EmulatorConfig(store=dsn, clock=clock))
    created = await first.create(content=raw, idem="survives")
    assert created.status_code == 200
    first.emulator.close()
    second = harness(EmulatorConfig(store=dsn, clock=clock))
    replay = await second.create(twin(), idem="survives")
    assert replay.content == created.content and replay.headers["idempotent-replayed"] == "true"
    look = second.emulator.avatars[0]
    assert look.name == "Zo\ud800e\x00" and second.emulator.created_count() == 1
    second.emulator.close()


def test_claims_are_atomic_across_pools_and_leases_are_stored() -> None:
    dsn = fresh_schema()
    a, b = PostgresStore(dsn), PostgresStore(dsn)
    try:
        first = a.claim("scope", "fp", 100.0, 86_400.0, 60.0)
        assert isinstance(first, Fresh)
        assert isinstance(b.claim("scope", "fp", 101.0, 86_400.0, 60.0), InFlight)
        b.release("scope", "not-the-token")  # only the owner releases
        assert isinstance(b.claim("scope", "fp", 101.0, 86_400.0, 60.0), InFlight)
        # a's replica dies without releasing: after the lease, b takes the key over.
        taken = b.claim("scope", "fp", 160.0, 86_400.0, 60.0)
        assert isinstance(taken, Fresh) and taken.token != first.token
        a.complete("scope", first.token, "fp", StoredResponse(200, b"late", "application/json"), 161.0, 1.0)
        assert isinstance(b.claim("scope", "fp", 162.0, 86_400.0, 60.0), InFlight)  # the late one lost
    finally:
        a.close()
        b.close()


def test_a_replay_takes_no_row_lock() -> None:
    dsn = fresh_schema()
    store = PostgresStore(dsn)
    store.complete("done", None, "fp", StoredResponse(200, b"{}", "application/json"), 0.0, 1e9)
    seen: list[object] = []
    with psycopg.connect(dsn) as holder:  # a transaction holding the record's row lock
        holder.execute("SELECT * FROM idempotency WHERE scope = 'done' FOR UPDATE")
        worker = threading.Thread(target=lambda: seen.append(store.claim("done", "fp", 1.0, 1e9, 60.0)))
        worker.start()
        worker.join(timeout=30)  # a claim that wrote would wait for the lock until the rollback
        blocked = worker.is_alive()
        holder.rollback()
    worker.join()
    store.close()
    assert not blocked and isinstance(seen[0], Replay)


def test_expired_records_are_purged_in_bounded_batches() -> None:
    store = PostgresStore(fresh_schema())
    response = StoredResponse(200, b"{}", "application/json")
    for i in range(25):
        store.complete(f"old-{i}", None, "fp", response, 0.0, 10.0)
    store.complete("live", None, "fp", response, 0.0, 1e9)
    assert store.purge(100.0, batch=10) == 10
    assert store.purge(100.0, batch=10) == 10
    assert store.purge(100.0, batch=10) == 5
    assert store.idempotency_records() == 1
    store.close()


def test_an_older_schema_is_migrated_and_keeps_its_data() -> None:
    dsn = fresh_schema()
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert migrate(conn, upto=1) == 0
        conn.execute("INSERT INTO idempotency (scope, fingerprint, expires_at, status, body, content_type) "
                     "VALUES ('old', 'fp', 1e12, 200, 'x', 'application/json')")
    store = PostgresStore(dsn)
    try:
        assert isinstance(store.claim("old", "fp", 0.0, 60.0, 60.0), Replay)
        assert store.take_token("tenant", "requests", 2, 1.0, 0.0) == 0  # a table from version 2
        store.set_namespace_settings("ns", '{"faults": []}', 0.0)  # a table from version 4
        assert store.namespace_settings("ns") == '{"faults": []}'
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT version FROM emulator_schema_version").fetchone()
            assert row is not None and row[0] == VERSION == len(MIGRATIONS)
            conn.execute("UPDATE emulator_schema_version SET version = version + 1")
            conn.commit()
        with pytest.raises(StoreError, match="newer than this emulator"):
            PostgresStore(dsn)
    finally:
        store.close()


async def test_the_rate_limit_is_one_bucket_across_replicas() -> None:
    dsn = fresh_schema()
    clock = ManualClock()
    replicas = [harness(EmulatorConfig(store=dsn, clock=clock, rate_limit=(5, 100.0))) for _ in range(3)]
    answers = [await replicas[i % 3].get("/v3/avatars/none") for i in range(12)]
    assert sum(r.status_code != 429 for r in answers) == 5
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["retry-after"] == "20" and error_of(refused)["code"] == "rate_limit_exceeded"
    clock.advance(20)  # one token back, for whichever replica asks first
    assert (await replicas[2].get("/v3/avatars/none")).status_code == 404
    assert (await replicas[0].get("/v3/avatars/none")).status_code == 429
    for h in replicas:
        h.emulator.close()


async def test_a_lost_database_is_a_503_then_serving_resumes(caplog: pytest.LogCaptureFixture) -> None:
    dsn = fresh_schema()
    proxy = TcpProxy([(urlsplit(dsn).hostname or "127.0.0.1", urlsplit(dsn).port or 5432)])
    h = harness(EmulatorConfig(store=via_port(dsn, proxy.port), rate_limit=None))
    try:
        assert (await h.create(photo(), idem="before")).status_code == 200
        proxy.cut()
        with caplog.at_level(logging.WARNING, logger="avatar_contract.emulator"):
            down = await h.create(photo(), idem="during")
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert error_of(down)["code"] == "service_unavailable"
        assert not any(r.exc_info for r in caplog.records)  # one line, no traceback
        proxy.restore()
        for _ in range(100):  # bounded: the pool replaces its broken connections
            again = await h.create(photo(), idem="during")
            if again.status_code != 503:
                break
            await asyncio.sleep(0.2)
        assert again.status_code == 200
        assert (await h.create(photo(), idem="during")).headers["idempotent-replayed"] == "true"
        assert h.emulator.created_count() == 2  # "before" and "during", once each
    finally:
        h.emulator.close()
        proxy.close()


def test_an_unreachable_database_at_start_is_one_line_and_exit_2() -> None:
    postgres_dsn()  # the skip/fail rule applies to this test too
    dsn = f"postgresql://u:hunter2@127.0.0.1:{free_port()}/db"  # nothing listens there
    done = subprocess.run([sys.executable, "-m", "avatar_contract", "emulator", "--store", dsn,
                           "--port", str(free_port())], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "", done
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "cannot reach PostgreSQL at postgresql://u@127.0.0.1" in done.stderr
    assert "Connection refused" in done.stderr and "hunter2" not in done.stderr


def test_keyed_creates_found_or_join_a_group_and_one_taken_over_stores_nothing() -> None:
    store = PostgresStore(fresh_schema())

    def look(id_: str, group_id: str) -> Look:
        return Look(id_, "t", group_id, "Anna", "photo", "photo_avatar", 5.0, False, False)

    def group(id_: str) -> Group:
        return Group(id_, "t", "Anna", 5.0, "photo", False, False)

    def render(stored: Group, count: int) -> StoredResponse:
        return StoredResponse(200, f"{stored.id}:{count}".encode(), "application/json")

    def claimed(scope: str) -> Completion:
        claim = store.claim(scope, "fp", 10.0, 1e9, 60.0)
        assert isinstance(claim, Fresh)
        return Completion(scope, claim.token)

    try:
        assert store.create(look("lk1", "g1"), group("g1"), render, claimed("k1")) == render(group("g1"), 1)
        joined = store.create(look("lk2", "g1"), group("g1"), render, claimed("k2"))  # the group exists
        assert joined is not None and joined.body == b"g1:2"
        replay = store.claim("k2", "fp", 11.0, 1e9, 60.0)
        assert isinstance(replay, Replay) and replay.response.body == b"g1:2"
        claimed("k3")
        lost = Completion("k3", "not-the-token")  # the lease ran out and another request took the key
        assert store.create(look("lk3", "g2"), group("g2"), render, lost) is None  # would found g2
        assert store.create(look("lk4", "g1"), group("g1"), render, lost) is None  # would join g1
        assert store.group("t", "g2") is None and store.look("t", "lk3") is None and store.look("t", "lk4") is None
        found = store.group("t", "g1")
        assert found is not None and found[1] == 2 and store.created_count() == 2
    finally:
        store.close()
