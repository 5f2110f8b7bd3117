"""Token bucket per credential: 429 with integer Retry-After, before any other work."""

from __future__ import annotations

import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, EmulatorConfig, ManualClock
from avatar_contract.emulator._rate_limit import RateLimiter
from avatar_contract.validators import check_retry_after

from ._support import INVALID, KEY_B, error_of, harness, photo

pytestmark = pytest.mark.anyio


async def test_the_default_limit_is_reached_by_a_bounded_burst() -> None:
    h = harness(EmulatorConfig())  # default settings, real clock
    statuses = []
    for _ in range(300):
        response = await h.create(INVALID)  # cheap: nothing is created
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429, "no 429 within 300 requests"
    assert set(statuses[:-1]) == {400}
    error = error_of(response)
    assert error == {"code": "rate_limit_exceeded", "message": error["message"], "param": None,
                     "doc_url": None}
    assert response.headers["retry-after"].isdigit()
    assert check_retry_after(response.headers["retry-after"]).valid


async def test_retry_after_is_whole_seconds_until_a_token_returns() -> None:
    clock = ManualClock()
    h = harness(clock=clock, rate_limit=(2, 30.0))  # one token per 15 s
    assert [(await h.create(INVALID)).status_code for _ in range(2)] == [400, 400]
    limited = await h.create(INVALID)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "15"
    clock.advance(10)
    assert (await h.create(INVALID)).headers["retry-after"] == "5"
    clock.advance(4.5)
    assert (await h.create(INVALID)).headers["retry-after"] == "1"  # rounded up, never 0
    clock.advance(0.5)
    assert (await h.create(INVALID)).status_code == 400  # waiting Retry-After was enough


async def test_the_limit_is_checked_before_validation_and_idempotency() -> None:
    clock = ManualClock()
    h = harness(clock=clock, rate_limit=(2, 60.0))
    original = await h.create(photo(), idem="k")
    assert original.status_code == 200
    assert (await h.create(INVALID)).status_code == 400
    # An empty bucket refuses a replay, a bad key and a bad body alike: no work is done.
    assert (await h.create(photo(), idem="k")).status_code == 429
    assert (await h.create(photo(), idem="bad key")).status_code == 429
    assert (await h.create(content=b"{")).status_code == 429
    assert (await h.get("/v3/avatars/ag_x")).status_code == 429
    assert h.emulator.created_count() == 1


async def test_buckets_are_per_credential_and_unauthenticated_requests_spend_none() -> None:
    h = harness(api_keys=(DEFAULT_API_KEY, KEY_B), rate_limit=(1, 60.0))
    for _ in range(5):
        assert (await h.create(key="wrong")).status_code == 401
    assert (await h.create()).status_code == 200
    assert (await h.create()).status_code == 429
    assert (await h.create(key=KEY_B)).status_code == 200
    # Bearer and x-api-key share a bucket: it is the key that is limited.
    assert (await h.create(key=KEY_B, bearer=True)).status_code == 429


async def test_the_limiter_can_be_switched_off() -> None:
    h = harness(rate_limit=None)
    statuses = {(await h.create(INVALID)).status_code for _ in range(150)}
    assert statuses == {400}


def test_bucket_refills_evenly_and_caps_at_capacity() -> None:
    clock = ManualClock()
    limiter = RateLimiter(4, 4.0, clock)
    assert [limiter.acquire("t") for _ in range(5)] == [0, 0, 0, 0, 1]
    clock.advance(1000)  # a long idle spell refills to capacity, not beyond
    assert [limiter.acquire("t") for _ in range(5)] == [0, 0, 0, 0, 1]


def test_a_clock_stepping_backwards_mints_no_tokens() -> None:
    clock = ManualClock(1000.0)
    limiter = RateLimiter(1, 10.0, clock)
    assert limiter.acquire("t") == 0
    clock._now = 500.0  # NTP step back
    assert limiter.acquire("t") > 0
