"""``/ns/{name}/v3/avatars``: the same API in a separate world, on every store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, EmulatorConfig, ManualClock

from ._postgres import STORES, store_spec
from ._support import Harness, error_of, harness, photo

pytestmark = pytest.mark.anyio
HEADERS = {"x-api-key": DEFAULT_API_KEY, "content-type": "application/json"}


async def _create(h: Harness, space: str | None, key: str | None = None, **extra: Any) -> httpx.Response:
    prefix = "" if space is None else f"/ns/{space}"
    headers = {**HEADERS, **({"idempotency-key": key} if key else {})}
    return await h.client.post(f"{prefix}/v3/avatars", json=photo(**extra), headers=headers)


def _look_path(space: str | None, response: httpx.Response) -> str:
    prefix = "" if space is None else f"/ns/{space}"
    return f"{prefix}/v3/avatars/looks/{response.json()['data']['avatar_item']['id']}"


@pytest.fixture(params=STORES)
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    spec = store_spec(request.param, tmp_path)
    made: list[Harness] = []

    def build(**options: Any) -> Harness:
        options.setdefault("clock", ManualClock())
        h = harness(EmulatorConfig(store=spec, **options))
        made.append(h)
        return h
    yield build
    for h in made:
        h.emulator.close()


async def test_namespaces_keep_their_own_avatars_and_keys(make: Any) -> None:
    h = make(rate_limit=None)
    made = {space: await _create(h, space, key="same-key") for space in (None, "job-1", "job-2")}
    assert all(r.status_code == 200 and "idempotent-replayed" not in r.headers for r in made.values())
    assert len({r.json()["data"]["avatar_item"]["id"] for r in made.values()}) == 3  # one avatar each
    for space, response in made.items():
        assert (await h.get(_look_path(space, response))).status_code == 200
        for other in {None, "job-1", "job-2"} - {space}:  # the same look id, seen from elsewhere
            assert (await h.get(_look_path(other, response))).status_code == 404, (space, other)
    replay = await _create(h, "job-1", key="same-key")
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == made["job-1"].content


async def test_each_namespace_has_its_own_rate_limit_buckets(make: Any) -> None:
    h = make(rate_limit=(2, 1000.0))
    assert [(await _create(h, "busy")).status_code for _ in range(3)] == [200, 200, 429]
    assert (await _create(h, "quiet")).status_code == 200
    assert (await _create(h, None)).status_code == 200


async def test_delete_drops_a_namespace_and_nothing_else(make: Any) -> None:
    h = make(rate_limit=None)
    gone, kept, default = (await _create(h, "gone", key="k"), await _create(h, "kept", key="k"),
                           await _create(h, None, key="k"))
    refused = await h.client.delete("/ns/gone")  # no API key
    assert refused.status_code == 401 and (await h.get(_look_path("gone", gone))).status_code == 200
    dropped = await h.client.delete("/ns/gone", headers=HEADERS)
    assert dropped.status_code == 204 and dropped.content == b""
    assert (await h.get(_look_path("gone", gone))).status_code == 404
    again = await _create(h, "gone", key="k")  # the key is free again: a new avatar
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers
    assert again.json()["data"]["avatar_item"]["id"] != gone.json()["data"]["avatar_item"]["id"]
    assert (await h.get(_look_path("kept", kept))).status_code == 200
    assert (await h.get(_look_path(None, default))).status_code == 200
    assert (await h.client.delete("/ns/never-used", headers=HEADERS)).status_code == 404
    assert h.emulator.created_count() == 3  # four made, one dropped with its namespace


@pytest.mark.parametrize("name", ["bad name", "-lead", ".hidden", "a" * 64, "semi;colon", "dollar$", "é"])
@pytest.mark.parametrize("route", ["POST /v3/avatars", "GET /v3/avatars/ag_x", "GET /v3/avatars/looks/lk_x",
                                   "DELETE ", "GET /v3/other", "PUT /v3/avatars"])
async def test_bad_names_get_a_400_and_nothing_is_created(name: str, route: str) -> None:
    h = harness(rate_limit=None)
    method, path = route.split(" ", 1)
    response = await h.client.request(method, f"/ns/{name}{path}", json=photo(), headers=HEADERS)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == "invalid_parameter" and error["param"] == "namespace"
    assert h.emulator.created_count() == 0
    assert h.emulator.store.idle_namespaces(float("inf")) == []


async def test_idle_namespaces_expire_and_used_ones_stay(make: Any) -> None:
    h = make(rate_limit=None, namespace_idle_seconds=100.0)
    clock = h.clock
    idle, busy = await _create(h, "idle", key="k"), await _create(h, "busy", key="k")
    for _ in range(8):  # 240 s: "busy" is used every 30 s, "idle" never again
        clock.advance(30)
        assert (await h.get(_look_path("busy", busy))).status_code == 200
    assert (await h.get(_look_path("idle", idle))).status_code == 404
    assert (await _create(h, "idle", key="k")).headers.get("idempotent-replayed") is None
    assert (await h.get(_look_path("busy", busy))).status_code == 200
    assert h.emulator.store.idle_namespaces(clock() - 100) == []
