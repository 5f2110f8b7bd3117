"""avatar_id (June 2026 spec): the emulator does what the spec's words say, and only while it says them."""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_contract.emulator import ManualClock

from ._support import harness, photo, prompt

pytestmark = pytest.mark.anyio


async def _look(h: object, **extra: object) -> dict[str, str]:
    response = await h.create(photo(**extra))  # type: ignore[attr-defined]
    assert response.status_code == 200
    item: dict[str, str] = response.json()["data"]["avatar_item"]
    return item


async def test_avatar_id_joins_the_referenced_avatars_group(june_spec: Path) -> None:
    h = harness(spec=str(june_spec))
    first = await _look(h)
    response = await h.create(prompt(avatar_id=first["id"]))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["avatar_item"]["group_id"] == first["group_id"]


async def test_avatar_id_with_its_own_group_is_accepted(june_spec: Path) -> None:
    h = harness(spec=str(june_spec))
    first = await _look(h)
    response = await h.create(prompt(avatar_id=first["id"], avatar_group_id=first["group_id"]))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["avatar_group"]["id"] == first["group_id"]


async def test_avatar_id_in_another_group_is_rejected(june_spec: Path) -> None:
    h = harness(spec=str(june_spec))
    first = await _look(h)
    other = await _look(h)
    response = await h.create(prompt(avatar_id=first["id"], avatar_group_id=other["group_id"]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["param"] == "avatar_id"
    assert h.emulator.created_count() == 2


async def test_an_unknown_avatar_id_is_rejected(june_spec: Path) -> None:
    h = harness(spec=str(june_spec))
    response = await h.create(prompt(avatar_id="lk_never_created"))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "avatar_id"
    assert h.emulator.created_count() == 0


async def test_another_tenants_avatar_is_unknown(june_spec: Path) -> None:
    h = harness(spec=str(june_spec), api_keys=("key-a", "key-b"))
    response = await h.create(photo(), key="key-a")
    look = response.json()["data"]["avatar_item"]
    assert (await h.create(prompt(avatar_id=look["id"]), key="key-b")).status_code == 400


async def test_under_the_vendored_spec_avatar_id_is_an_ignored_unknown_field() -> None:
    h = harness()
    first = await _look(h)
    response = await h.create(prompt(avatar_id="lk_never_created"))
    assert response.status_code == 200
    assert response.json()["data"]["avatar_item"]["group_id"] != first["group_id"]


async def test_an_avatar_whose_training_failed_has_no_usable_image(june_spec: Path) -> None:
    clock = ManualClock()
    h = harness(spec=str(june_spec), clock=clock, failure_rate=1.0, training_seconds=10)
    first = await _look(h)
    # Still training: its image is there, so the reference is usable.
    assert (await h.create(prompt(avatar_id=first["id"]))).status_code == 200
    clock.advance(11)
    response = await h.create(prompt(avatar_id=first["id"]))
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "avatar_id"
    assert "no usable image" in response.json()["error"]["message"]
