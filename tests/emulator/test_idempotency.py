"""Idempotency-Key: format, replay, body differences, in-flight, scope, expiry."""

from __future__ import annotations

import asyncio
import logging

import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, ManualClock
from avatar_contract.emulator._idempotency import scope

from ._postgres import STORES, store_spec
from ._support import INVALID, KEY_B, error_of, harness, photo, twin

pytestmark = pytest.mark.anyio

ALLOWED = "ABCxyz019_-:."


@pytest.mark.parametrize("key", ["a", "k" * 255, ALLOWED, "550e8400-e29b-41d4-a716-446655440000",
                                 "-", ":", ".", "_"])
async def test_keys_matching_the_pattern_are_accepted(key: str) -> None:
    h = harness()
    assert (await h.create(idem=key)).status_code == 200


@pytest.mark.parametrize("key", [
    "", "k" * 256, "has space", "a/b", "a=b", "quote\"d", "single'q", "tab\tkey", "key\n",
    "caf\u00e9", "plus+", "star*", "semi;colon",
])
async def test_keys_outside_the_pattern_get_400_naming_the_header(key: str) -> None:
    h = harness()
    # As bytes: a client can send any octets, and non-ASCII arrives as UTF-8.
    response = await h.create(headers={"idempotency-key": key.encode("utf-8")})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_parameter" and error["param"] == "Idempotency-Key"
    assert h.emulator.created_count() == 0


async def test_a_retry_replays_the_original_status_and_body() -> None:
    clock = ManualClock()
    h = harness(clock=clock)
    first = await h.create(twin(), idem="retry-1")
    clock.advance(3600)
    second = await h.create(twin(), idem="retry-1")
    assert second.status_code == first.status_code == 200
    assert second.content == first.content  # byte for byte, stale status included
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert h.emulator.created_count() == 1


async def test_a_retry_with_a_different_body_replays_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    h = harness()
    first = await h.create(photo(), idem="same-key")
    with caplog.at_level(logging.WARNING, logger="avatar_contract.emulator"):
        second = await h.create(twin(name="Other"), idem="same-key")
        invalid = await h.create(INVALID, idem="same-key")
    assert second.content == first.content and invalid.content == first.content
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "same-key" in warnings[0].getMessage()
    assert h.emulator.created_count() == 1


async def test_an_identical_retry_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    h = harness()
    with caplog.at_level(logging.WARNING, logger="avatar_contract.emulator"):
        await h.create(idem="quiet")
        await h.create(idem="quiet")
    assert not caplog.records


async def test_validation_failures_are_not_stored() -> None:
    h = harness()
    rejected = await h.create(INVALID, idem="fix-me")
    assert rejected.status_code == 400
    corrected = await h.create(photo(), idem="fix-me")
    assert corrected.status_code == 200 and "idempotent-replayed" not in corrected.headers
    assert h.emulator.created_count() == 1


async def test_authentication_failures_are_not_stored() -> None:
    h = harness()
    assert (await h.create(key="wrong", idem="auth-later")).status_code == 401
    assert (await h.create(idem="auth-later")).status_code == 200
    assert h.emulator.created_count() == 1


async def test_scope_is_per_tenant() -> None:
    h = harness(api_keys=(DEFAULT_API_KEY, KEY_B))
    a = await h.create(photo(), idem="shared-key")
    b = await h.create(photo(), key=KEY_B, idem="shared-key")
    assert a.status_code == b.status_code == 200
    assert "idempotent-replayed" not in b.headers
    assert a.json()["data"]["avatar_item"]["id"] != b.json()["data"]["avatar_item"]["id"]
    assert h.emulator.created_count() == 2
    # Bearer and x-api-key with the same key are the same tenant.
    again = await h.create(photo(), key=KEY_B, bearer=True, idem="shared-key")
    assert again.content == b.content


def test_scope_includes_tenant_method_route_and_path_parameters() -> None:
    base = scope("k", "t1", "POST", "/v3/avatars", {})
    variants = [
        scope("k2", "t1", "POST", "/v3/avatars", {}),
        scope("k", "t2", "POST", "/v3/avatars", {}),
        scope("k", "t1", "PUT", "/v3/avatars", {}),
        scope("k", "t1", "POST", "/v3/avatars/{group_id}", {"group_id": "a"}),
    ]
    assert len({base, *variants}) == 5
    assert scope("k", "t1", "post", "/r/{id}", {"id": "a"}) != scope("k", "t1", "post", "/r/{id}", {"id": "b"})
    assert scope("k", "t1", "post", "/r", {}) == scope("k", "t1", "POST", "/r", {})


async def test_records_expire_after_the_ttl_on_the_injected_clock() -> None:
    clock = ManualClock()
    h = harness(clock=clock, idempotency_ttl=86_400.0)
    first = await h.create(idem="day-old")
    clock.advance(86_399)
    assert (await h.create(idem="day-old")).content == first.content
    clock.advance(1)
    fresh = await h.create(idem="day-old")
    assert fresh.status_code == 200 and fresh.content != first.content
    assert h.emulator.created_count() == 2


async def test_a_retry_during_the_original_gets_409() -> None:
    h = harness(processing_delay=0.2)
    original = asyncio.create_task(h.create(idem="slow"))
    await asyncio.sleep(0.01)  # the original is now inside its processing delay
    during = await h.create(idem="slow")
    assert during.status_code == 409
    error = error_of(during)
    assert error["code"] == "request_in_progress" and error["param"] is None
    done = await original
    assert done.status_code == 200
    after = await h.create(idem="slow")
    assert after.content == done.content
    assert h.emulator.created_count() == 1


@pytest.mark.parametrize("store", STORES)
async def test_200_concurrent_same_key_requests_create_exactly_one_avatar(
        store: str, tmp_path: object) -> None:
    spec = store_spec(store, tmp_path)
    h = harness(store=spec, rate_limit=None, processing_delay=0.05)
    responses = await asyncio.gather(*(h.create(twin(), idem="race") for _ in range(200)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}
    ok = [r for r in responses if r.status_code == 200]
    assert ok and statuses.count(409) > 0  # they really overlapped
    assert len({r.content for r in ok}) == 1  # every 200 is the one original
    assert all(error_of(r)["code"] == "request_in_progress" for r in responses if r.status_code == 409)
    assert h.emulator.created_count() == 1
    h.emulator.close()


async def test_an_abandoned_in_flight_marker_is_taken_over_after_its_lease() -> None:
    clock = ManualClock()
    h = harness(clock=clock, in_flight_lease=30.0)
    store = h.emulator.store
    where = scope("stuck", h.emulator.auth.tenant({"x-api-key": DEFAULT_API_KEY}), "POST",
                  "/v3/avatars", {})
    store.claim(where, "fp", clock(), 86_400.0, 30.0)  # a worker that crashed mid-request
    assert (await h.create(idem="stuck")).status_code == 409
    clock.advance(30)
    assert (await h.create(idem="stuck")).status_code == 200


async def test_a_crash_while_processing_releases_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness()
    emulator = h.emulator

    def boom(*args: object) -> object:
        raise RuntimeError("disk full")

    monkeypatch.setattr(emulator.store, "create", boom)
    crashed = await h.create(idem="crash")
    assert crashed.status_code == 500 and error_of(crashed)["code"] == "internal_error"
    monkeypatch.undo()
    assert (await h.create(idem="crash")).status_code == 200
