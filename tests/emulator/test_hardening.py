"""Emulator hardening (issue 9): content types, bounded records, no head-of-line blocking, no keys in workers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path

import httpx
import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, EmulatorConfig, ManualClock
from avatar_contract.emulator._records import StoredResponse
from avatar_contract.emulator._serve import CONFIG_ENV

from ._postgres import STORES, store_spec
from ._served import served
from ._support import error_of, harness, photo

pytestmark = pytest.mark.anyio


# -- §8 content types ---------------------------------------------------------------
@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "application/json-patch+json", "",
])
async def test_non_json_content_types_are_refused_naming_the_header(content_type: str) -> None:
    h = harness()
    response = await h.create(headers={"content-type": content_type}, idem="ct")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_parameter" and error["param"] == "Content-Type"
    assert "application/json" in error["message"]
    assert h.emulator.created_count() == 0
    # A refusal is not stored against the key: the corrected retry is processed.
    assert (await h.create(idem="ct")).status_code == 200


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8", None])
async def test_json_or_no_content_type_is_accepted(content_type: str | None) -> None:
    h = harness()
    sent = {"x-api-key": DEFAULT_API_KEY}
    if content_type is not None:
        sent["content-type"] = content_type
    response = await h.client.post("/v3/avatars", content=json.dumps(photo()).encode(), headers=sent)
    assert response.status_code == 200


# -- §5 bounded memory ----------------------------------------------------------------
def test_replay_records_hold_exactly_their_bytes() -> None:
    import orjson

    payload = orjson.dumps({"data": {"x": "y" * 600}})
    record = StoredResponse.compact(200, payload, "application/json")
    assert record.body == payload and record.body is not payload
    assert sys.getsizeof(record.body) - len(record.body) < 64  # no over-allocated buffer kept


@pytest.mark.parametrize("store", STORES)
async def test_the_record_cap_evicts_the_oldest_completed_records(store: str, tmp_path: Path) -> None:
    where = store_spec(store, tmp_path)
    cap = 5 if store == "memory" else 64  # SQLite and PostgreSQL check their cap every 64 claims
    h = harness(EmulatorConfig(store=where, idempotency_max_records=cap, rate_limit=None,
                               processing_delay=0.0, clock=ManualClock()))
    first = await h.create(idem="key-0")
    for i in range(1, cap * 2 + 1):
        assert (await h.create(idem=f"key-{i}")).status_code == 200
    slack = 1 if store == "memory" else 64  # one claim past the cap; the databases, up to 64
    assert h.emulator.store.idempotency_records() <= cap + slack
    newest = await h.create(idem=f"key-{cap * 2}")
    assert newest.headers.get("idempotent-replayed") == "true"  # recent keys still replay
    evicted = await h.create(idem="key-0")  # the oldest was evicted: a new avatar
    assert evicted.headers.get("idempotent-replayed") is None
    assert evicted.json()["data"]["avatar_item"]["id"] != first.json()["data"]["avatar_item"]["id"]
    h.emulator.close()


async def test_in_flight_records_are_never_evicted() -> None:
    h = harness(EmulatorConfig(idempotency_max_records=2, rate_limit=None, processing_delay=0.3))
    slow = asyncio.create_task(h.create(idem="in-flight"))
    await asyncio.sleep(0.05)
    for i in range(5):  # completed records pile up past the cap while "in-flight" is pending
        h.emulator.store.complete(f"other-{i}", None, "fp",
                                  StoredResponse(200, b"{}", "application/json"), 0.0, 1e12)
    during = await h.create(idem="in-flight")
    assert during.status_code == 409  # still guarded
    assert (await slow).status_code == 200
    assert h.emulator.created_count() == 1


# -- §6 no head-of-line blocking ---------------------------------------------------------
async def test_a_small_request_completes_while_a_large_body_is_validated() -> None:
    h = harness(EmulatorConfig(rate_limit=None, offload_bytes=64 * 1024))
    checker = h.emulator.checker
    real = checker.check
    big_started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def check(raw: bytes) -> object:
        if len(raw) >= 64 * 1024:
            big_started.set()
            # Held until the small request is answered.  On the event loop this
            # would block it, so the small request could only finish afterwards.
            release.wait(timeout=20)
            order.append("big validated")
        return real(raw)

    checker.check = check  # type: ignore[method-assign]
    big_body = {**photo(), "name": "n" * 100, "padding": ["x" * 100] * 1000}
    big = asyncio.create_task(h.create(big_body, idem="big"))
    while not big_started.is_set():
        await asyncio.sleep(0.01)
    small = await h.create(photo(), idem="small")
    order.append("small answered")
    release.set()
    assert small.status_code == 200 and (await big).status_code == 200
    assert order == ["small answered", "big validated"]


# -- §7 no keys in the workers' environment -------------------------------------------------
def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.http
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_worker_processes_never_hold_a_key_in_their_environment(tmp_path: Path) -> None:
    secret = "sk-worker-env-secret-9"
    with served("--workers", "2", "--store", f"sqlite:{tmp_path / 'w.db'}", "--api-key", secret) as server:
        created = httpx.post(f"{server.base}/v3/avatars", json=photo(), headers={"x-api-key": secret}, timeout=30)
        assert created.status_code == 200  # the workers do recognise the key
        assert server.proc is not None
        processes = [server.proc.pid, *_children(server.proc.pid)]
        processes += [grandchild for child in processes[1:] for grandchild in _children(child)]
        environments = {pid: Path(f"/proc/{pid}/environ").read_bytes() for pid in processes}
    workers = [pid for pid, env in environments.items() if CONFIG_ENV.encode() in env]
    assert len(workers) >= 2, "found no worker carrying the configuration: nothing was checked"
    for pid, environ in environments.items():
        assert secret.encode() not in environ, f"the key is in /proc/{pid}/environ"


# -- §3 a request whose lease was taken over creates nothing ----------------------------
@pytest.mark.parametrize("store", STORES)
async def test_a_request_whose_lease_was_taken_over_rolls_back(store: str, tmp_path: Path) -> None:
    clock = ManualClock()
    where = store_spec(store, tmp_path)
    h = harness(EmulatorConfig(store=where, clock=clock, in_flight_lease=1.0, processing_delay=0.3,
                               rate_limit=None))
    original = asyncio.create_task(h.create(idem="slow-key"))
    await asyncio.sleep(0.1)  # the original holds the key and is processing
    clock.advance(2)  # its lease runs out: a retry may take the key over
    retry = asyncio.create_task(h.create(idem="slow-key"))
    first, second = await original, await retry
    assert first.status_code == 409 and error_of(first)["code"] == "request_in_progress"
    assert second.status_code == 200
    assert h.emulator.created_count() == 1  # the original's avatar was rolled back with its claim
    replay = await h.create(idem="slow-key")
    assert replay.content == second.content
    h.emulator.close()
