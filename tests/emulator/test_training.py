"""Asynchronous training, driven by the injectable clock (no sleeping)."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.emulator import EmulatorConfig, ManualClock

from ._support import Harness, harness, photo, prompt, schema_errors, twin

pytestmark = pytest.mark.anyio


async def _poll(h: Harness, look_id: str, group_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    look = (await h.get(f"/v3/avatars/looks/{look_id}")).json()["data"]
    group = (await h.get(f"/v3/avatars/{group_id}")).json()["data"]
    assert schema_errors("AvatarLookItem", look) == []
    assert schema_errors("AvatarGroupItem", group) == []
    return look, group


async def test_processing_until_training_seconds_then_completed() -> None:
    clock = ManualClock()
    h = harness(clock=clock, training_seconds=120.0)
    data = (await h.create(twin())).json()["data"]
    ids = data["avatar_item"]["id"], data["avatar_group"]["id"]
    clock.advance(119.9)
    look, group = await _poll(h, *ids)
    assert look["status"] == group["status"] == "processing"
    assert look["preview_image_url"] is None and look["error"] is None
    clock.advance(0.1)
    look, group = await _poll(h, *ids)
    assert look["status"] == group["status"] == "completed"
    assert look["preview_image_url"].startswith("https://")
    assert look["preview_video_url"].startswith("https://")  # a digital twin has footage
    assert look["error"] is None and group["error"] is None
    assert group["consent_status"] is None  # consent not required by default


async def test_a_failure_rate_of_one_fails_every_training_with_an_avatar_error() -> None:
    clock = ManualClock()
    h = harness(clock=clock, training_seconds=5.0, failure_rate=1.0)
    data = (await h.create(photo())).json()["data"]
    assert data["avatar_item"]["status"] == "processing"  # failure is not known at create time
    clock.advance(5)
    look, group = await _poll(h, data["avatar_item"]["id"], data["avatar_group"]["id"])
    assert look["status"] == group["status"] == "failed"
    assert set(look["error"]) == {"code", "message"} and look["error"]["code"] == "training_failed"
    assert group["error"] == look["error"]
    assert look["preview_image_url"] is None


async def test_the_failure_share_is_roughly_the_configured_rate_and_stable() -> None:
    clock = ManualClock()
    h = harness(clock=clock, training_seconds=1.0, failure_rate=0.5, rate_limit=None,
                processing_delay=0.0)
    ids = [(await h.create(prompt())).json()["data"]["avatar_item"]["id"] for _ in range(200)]
    clock.advance(1)
    first = [(await h.get(f"/v3/avatars/looks/{i}")).json()["data"]["status"] for i in ids]
    failed = first.count("failed")
    assert first.count("completed") + failed == 200
    assert 60 <= failed <= 140  # P(outside) for a fair draw is below 1e-8
    again = [(await h.get(f"/v3/avatars/looks/{i}")).json()["data"]["status"] for i in ids]
    assert again == first  # every poll tells the same story


async def test_digital_twins_pass_through_pending_consent_when_configured() -> None:
    clock = ManualClock()
    h = harness(clock=clock, training_seconds=10.0, consent_required=True)
    data = (await h.create(twin())).json()["data"]
    assert data["avatar_group"]["consent_status"] == "pending"
    ids = data["avatar_item"]["id"], data["avatar_group"]["id"]
    clock.advance(10)
    look, group = await _poll(h, *ids)
    assert look["status"] == group["status"] == "pending_consent"
    assert group["consent_status"] == "pending"
    clock.advance(10)
    look, group = await _poll(h, *ids)
    assert look["status"] == group["status"] == "completed"
    assert group["consent_status"] == "approved"
    # Photo avatars never need consent.
    other = (await h.create(photo())).json()["data"]
    clock.advance(10)
    look, group = await _poll(h, other["avatar_item"]["id"], other["avatar_group"]["id"])
    assert look["status"] == "completed" and group["consent_status"] is None


async def test_training_state_is_read_from_the_injected_clock_only() -> None:
    clock = ManualClock()
    h = harness(EmulatorConfig(clock=clock, training_seconds=3600.0))
    data = (await h.create()).json()["data"]
    look_id = data["avatar_item"]["id"]
    # Real time passing does nothing; only the clock counts.
    assert (await h.get(f"/v3/avatars/looks/{look_id}")).json()["data"]["status"] == "processing"
    clock.advance(3600)
    assert (await h.get(f"/v3/avatars/looks/{look_id}")).json()["data"]["status"] == "completed"
