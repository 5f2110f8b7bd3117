"""Successful creates, the polling endpoints, routing, and the served spec."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.emulator import ManualClock
from avatar_contract.spec import load_spec
from avatar_contract.validators import Linter

from ._support import URL, harness, photo, prompt, schema_errors, twin

pytestmark = pytest.mark.anyio
LINTER = Linter(strict=True)


@pytest.mark.parametrize(("body", "avatar_type"), [
    (photo(), "photo_avatar"),
    (photo(file={"type": "asset_id", "asset_id": "a1"}), "photo_avatar"),
    (photo(file={"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}), "photo_avatar"),
    (twin(), "digital_twin"),
    (twin(file={"type": "url", "url": "https://example.com/f.mp4"}), "digital_twin"),
    (prompt(), "photo_avatar"),
    (prompt(reference_images=[{"type": "url", "url": URL}, {"type": "asset_id", "asset_id": "a"},
                              {"type": "base64", "media_type": "image/jpeg", "data": "AA=="}],
            avatar_group_id="ag_existing"), "photo_avatar"),
])
async def test_create_returns_the_new_look_and_group(body: dict[str, Any], avatar_type: str) -> None:
    clock = ManualClock(1_711_929_600.75)
    h = harness(clock=clock)
    response = await h.create(body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # The run's clock is the emulator's: the sentence rules (Unix seconds) judge with it too.
    report = Linter(strict=True, clock=clock).lint_response(200, response.json(), headers=dict(response.headers),
                                                            request=body)
    assert report.valid, report
    data = response.json()["data"]
    item, group = data["avatar_item"], data["avatar_group"]
    assert item["avatar_type"] == avatar_type
    assert item["name"] == body["name"] and group["name"] == body["name"]
    assert item["status"] == "processing" and group["status"] == "processing"
    assert group["created_at"] == 1_711_929_600  # unix seconds, an integer
    assert item["group_id"] == group["id"]
    assert group["looks_count"] == 1
    if body.get("avatar_group_id"):
        assert group["id"] == body["avatar_group_id"]
    assert item["id"].startswith("lk_") and item["id"] != group["id"]
    assert h.emulator.created_count() == 1
    [stored] = h.emulator.avatars
    assert stored.id == item["id"] and stored.variant == body["type"]


async def test_every_create_without_a_group_makes_a_new_group() -> None:
    h = harness()
    first = (await h.create()).json()["data"]
    second = (await h.create()).json()["data"]
    assert first["avatar_group"]["id"] != second["avatar_group"]["id"]
    assert first["avatar_item"]["id"] != second["avatar_item"]["id"]


async def test_a_given_group_is_reused_and_counts_its_looks() -> None:
    clock = ManualClock()
    h = harness(clock=clock, training_seconds=30.0)
    founder = (await h.create(twin())).json()["data"]
    group_id = founder["avatar_group"]["id"]
    clock.advance(60)  # the group has finished training by now
    joined = await h.create(prompt(avatar_group_id=group_id))
    data = joined.json()["data"]
    assert data["avatar_group"]["id"] == group_id == data["avatar_item"]["group_id"]
    assert data["avatar_group"]["looks_count"] == 2
    assert data["avatar_group"]["name"] == "Ben"  # the group keeps its founder's name
    assert data["avatar_group"]["created_at"] == founder["avatar_group"]["created_at"]
    assert data["avatar_group"]["status"] == "completed"
    assert data["avatar_item"]["status"] == "processing"
    polled = (await h.get(f"/v3/avatars/{group_id}")).json()["data"]
    assert polled["looks_count"] == 2


async def test_group_ids_are_per_tenant() -> None:
    h = harness(api_keys=("key-a", "key-b"))
    a = (await h.create(photo(avatar_group_id="shared"), key="key-a")).json()["data"]
    b = (await h.create(photo(avatar_group_id="shared", name="B"), key="key-b")).json()["data"]
    assert a["avatar_group"]["looks_count"] == b["avatar_group"]["looks_count"] == 1
    assert b["avatar_group"]["name"] == "B"


async def test_polling_endpoints_return_schema_valid_items() -> None:
    h = harness()
    data = (await h.create(twin())).json()["data"]
    look = await h.get(f"/v3/avatars/looks/{data['avatar_item']['id']}")
    group = await h.get(f"/v3/avatars/{data['avatar_group']['id']}")
    assert look.status_code == group.status_code == 200
    assert look.json()["data"] == data["avatar_item"]
    assert group.json()["data"] == data["avatar_group"]
    assert schema_errors("AvatarLookItem", look.json()["data"]) == []
    assert schema_errors("AvatarGroupItem", group.json()["data"]) == []


async def test_unknown_ids_get_404_envelopes() -> None:
    h = harness()
    for path, param in (("/v3/avatars/looks/lk_nope", "look_id"), ("/v3/avatars/ag_nope", "group_id")):
        response = await h.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/v3/avatars", "POST"),
    ("PUT", "/v3/avatars", "POST"),
    ("DELETE", "/v3/avatars", "POST"),
    ("PATCH", "/v3/avatars/ag_1", "GET, HEAD"),
    ("POST", "/v3/avatars/looks/lk_1", "GET, HEAD"),
    ("DELETE", "/openapi.json", "GET, HEAD"),
])
async def test_other_methods_on_known_paths_get_405_with_allow(method: str, path: str, allow: str) -> None:
    h = harness()
    response = await h.client.request(method, path, headers={"x-api-key": "avatar-contract-dev-key"})
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_unknown_paths_get_404_and_no_slash_redirects() -> None:
    h = harness()
    for path in ("/v3/avatar", "/v3/avatars/", "/"):
        response = await h.client.post(path, json=photo(), headers={"x-api-key": "avatar-contract-dev-key"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert h.emulator.created_count() == 0


async def test_openapi_json_is_the_normalised_spec() -> None:
    h = harness()
    response = await h.client.get("/openapi.json")  # no key needed to read the contract
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document == load_spec().document
    mapping = document["components"]["schemas"]["CreateAvatarRequestBody"]["discriminator"]["mapping"]
    assert all(isinstance(v, str) for v in mapping.values())  # normalised, not as published
