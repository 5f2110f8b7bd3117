"""Authentication: x-api-key or Bearer, 401 envelopes, tenants, and keys kept out of logs."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, EmulatorConfig, ManualClock

from ._support import KEY_B, error_of, harness, photo

pytestmark = pytest.mark.anyio

EXPECTED_401 = {"code": "authentication_failed", "param": None, "doc_url": None}


async def test_x_api_key_and_bearer_are_both_accepted() -> None:
    h = harness()
    assert (await h.create(key=DEFAULT_API_KEY)).status_code == 200
    assert (await h.create(key=DEFAULT_API_KEY, bearer=True)).status_code == 200
    lower = await h.create(key=None, headers={"authorization": f"bearer {DEFAULT_API_KEY}"})
    assert lower.status_code == 200  # the auth scheme is case-insensitive
    assert h.emulator.created_count() == 3


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": ""},
    {"x-api-key": "wrong-key"},
    {"x-api-key": DEFAULT_API_KEY + "x"},
    {"x-api-key": DEFAULT_API_KEY[:-1]},
    {"authorization": "Bearer wrong-key"},
    {"authorization": "Bearer"},
    {"authorization": f"Basic {DEFAULT_API_KEY}"},
    {"authorization": DEFAULT_API_KEY},
])
async def test_missing_or_wrong_credentials_get_the_401_envelope(headers: dict[str, str]) -> None:
    h = harness()
    response = await h.create(key=None, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    error = error_of(response)
    assert {k: error[k] for k in EXPECTED_401} == EXPECTED_401
    assert isinstance(error["message"], str) and error["message"]
    assert h.emulator.created_count() == 0


async def test_x_api_key_wins_when_both_headers_are_sent() -> None:
    h = harness()
    good_bearer = await h.create(key=None, headers={"x-api-key": "wrong",
                                                    "authorization": f"Bearer {DEFAULT_API_KEY}"})
    assert good_bearer.status_code == 401


async def test_every_configured_key_is_a_separate_tenant() -> None:
    h = harness(api_keys=("key-a", KEY_B))
    created = (await h.create(key="key-a")).json()["data"]
    look_id, group_id = created["avatar_item"]["id"], created["avatar_group"]["id"]
    assert (await h.get(f"/v3/avatars/looks/{look_id}", key="key-a")).status_code == 200
    # Tenant B cannot see tenant A's avatars.
    assert (await h.get(f"/v3/avatars/looks/{look_id}", key=KEY_B)).status_code == 404
    assert (await h.get(f"/v3/avatars/{group_id}", key=KEY_B)).status_code == 404
    assert (await h.get(f"/v3/avatars/{group_id}", key="wrong")).status_code == 401


async def test_keys_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    h = harness(api_keys=("key-a", KEY_B))
    assert (await h.create(key="key-a")).status_code == 200
    # Every configured key is compared (as its SHA-256 digest), even after a match:
    # timing reveals nothing.
    digests = sorted(hashlib.sha256(k).digest() for k in (b"key-a", KEY_B.encode()))
    assert sorted(b for _, b in compared) == digests


async def test_keys_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-live-do-not-log-0123456789"
    h = harness(api_keys=(secret,))
    await h.create(key=secret, idem="k-1")
    await h.create(photo(name="Other"), key=secret, idem="k-1")  # warns: body differs
    await h.create(key=secret + "x")
    await h.create(key=secret, bearer=True)
    assert any("different body" in r.getMessage() for r in caplog.records)
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text


async def test_unauthenticated_requests_do_not_read_the_body() -> None:
    # A 401 is decided from headers alone: even a body over the limit gets 401, not the oversized-body 400.
    h = harness(EmulatorConfig(max_body_bytes=10, clock=ManualClock()))
    response = await h.create(key=None, content=b"x" * 100)
    assert response.status_code == 401
