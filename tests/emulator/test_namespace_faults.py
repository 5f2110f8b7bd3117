"""``PUT /ns/{name}``: faults and scenarios per namespace, kept in the store, dropped with the namespace."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator import DEFAULT_API_KEY, FAULTS, EmulatorConfig, create_app

from ._postgres import STORES, fresh_schema, store_spec
from ._served import Served
from ._support import Harness, error_of, harness, photo

HEADERS = {"x-api-key": DEFAULT_API_KEY, "content-type": "application/json"}
KEY_1, KEY_2 = "ns-key-1", "ns-key-2"
REMOTE = "http://sut.test"  # the in-process app, treated as a remote target
ASSETS = Path(__file__).parents[1] / "suite" / "assets.toml"
WRONG_TYPE = "response_wrong_type"  # response.schema: avatar_group.created_at becomes a string


def _created_at(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]["avatar_group"]["created_at"]


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    made = harness(EmulatorConfig(store=store_spec(request.param, tmp_path), rate_limit=None))
    yield made
    made.emulator.close()


async def _post(h: Harness, space: str) -> httpx.Response:
    return await h.client.post(f"/ns/{space}/v3/avatars", json=photo(), headers=HEADERS)


async def _settings(h: Harness, space: str) -> Any:
    response = await h.client.get(f"/ns/{space}", headers=HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.anyio
async def test_a_namespaces_faults_apply_there_only_and_go_with_it(h: Harness) -> None:
    put = await h.client.put("/ns/broken", json={"faults": [WRONG_TYPE]}, headers=HEADERS)
    assert put.status_code == 200, put.text
    assert put.json()["data"] == {"namespace": "broken", "faults": [WRONG_TYPE], "effective_faults": [WRONG_TYPE],
                                  "scenario": None}
    assert await _settings(h, "broken") == put.json()["data"]
    assert isinstance(_created_at(await _post(h, "broken")), str)  # the fault, in its namespace
    assert isinstance(_created_at(await _post(h, "clean")), int)
    assert isinstance(_created_at(await h.create()), int)  # outside namespaces: unchanged
    assert (await _settings(h, "clean"))["faults"] == []
    assert (await h.client.put("/ns/broken", json={}, headers=HEADERS)).status_code == 200  # PUT replaces
    assert isinstance(_created_at(await _post(h, "broken")), int)
    assert (await h.client.put("/ns/broken", json={"faults": [WRONG_TYPE]}, headers=HEADERS)).status_code == 200
    assert (await h.client.delete("/ns/broken", headers=HEADERS)).status_code == 204
    assert (await _settings(h, "broken"))["faults"] == []  # dropped with the namespace
    assert isinstance(_created_at(await _post(h, "broken")), int)


@pytest.mark.anyio
async def test_a_namespaces_scenario_plays_there_only_and_afresh_when_set_again(h: Harness) -> None:
    assert (await h.client.put("/ns/down", json={"scenario": "persistent-503"}, headers=HEADERS)).status_code == 200
    assert (await _settings(h, "down"))["scenario"] == "persistent-503"
    down = await _post(h, "down")
    assert down.status_code == 503 and error_of(down)["code"] == "service_unavailable"
    assert (await _post(h, "up")).status_code == 200
    assert (await h.create()).status_code == 200  # outside namespaces: unchanged
    assert (await h.client.put("/ns/picky", json={"scenario": "invalid"}, headers=HEADERS)).status_code == 200
    assert [(await _post(h, "picky")).status_code for _ in range(2)] == [400, 200]  # first attempt refused
    assert (await h.client.put("/ns/picky", json={"scenario": "invalid"}, headers=HEADERS)).status_code == 200
    assert (await _post(h, "picky")).status_code == 400  # counted afresh
    assert (await h.client.put("/ns/down", json={}, headers=HEADERS)).status_code == 200
    assert (await _post(h, "down")).status_code == 200 and (await _settings(h, "down"))["scenario"] is None


@pytest.mark.anyio
@pytest.mark.parametrize(("body", "param"), [
    ({"faults": ["no_such_fault"]}, "faults"),
    ({"faults": [WRONG_TYPE, "idempotency_ignored ", "x"]}, "faults"),
    ({"faults": WRONG_TYPE}, "faults"),
    ({"faults": [1]}, "faults"),
    ({"faults": [], "speed": 2}, "speed"),
    ({"scenario": "no-such-scenario"}, "scenario"),
    ({"scenario": 3}, "scenario"),
    ([WRONG_TYPE], None),
    (b"{not json", None),
])
async def test_bad_settings_get_a_400_and_change_nothing(h: Harness, body: Any, param: str | None) -> None:
    kept = await h.client.put("/ns/kept", json={"faults": ["idempotency_ignored"]}, headers=HEADERS)
    assert kept.status_code == 200
    sent = {"content": body} if isinstance(body, bytes) else {"json": body}
    refused = await h.client.put("/ns/kept", headers=HEADERS, **sent)
    assert refused.status_code == 400, refused.text
    error = error_of(refused)
    assert error["code"] == "invalid_parameter" and error["param"] == param, error
    if param == "faults" and isinstance(body["faults"], list) and all(isinstance(f, str) for f in body["faults"]):
        assert "valid faults: " + ", ".join(FAULTS) in error["message"]  # the hint names the fix
    assert (await _settings(h, "kept"))["faults"] == ["idempotency_ignored"]


@pytest.mark.anyio
async def test_settings_need_an_api_key_and_a_valid_name(h: Harness) -> None:
    anonymous = {"content-type": "application/json"}
    assert (await h.client.put("/ns/ok", json={"faults": [WRONG_TYPE]}, headers=anonymous)).status_code == 401
    assert (await h.client.get("/ns/ok", headers=anonymous)).status_code == 401
    assert (await _settings(h, "ok"))["faults"] == []
    bad = await h.client.put("/ns/bad name", json={"faults": [WRONG_TYPE]}, headers=HEADERS)
    assert bad.status_code == 400 and error_of(bad)["param"] == "namespace"


def test_verify_fails_the_faults_owner_in_its_namespace_and_passes_everything_next_door() -> None:
    app = create_app(EmulatorConfig(api_keys=(KEY_1, KEY_2), rate_limit=None))
    fault = FAULTS[WRONG_TYPE]

    async def put() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=REMOTE) as client:
            answer = await client.put("/ns/broken", json={"faults": [fault.name]}, headers={"x-api-key": KEY_1})
            return answer.status_code
    assert asyncio.run(put()) == 200
    clauses = [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"]  # no limiter: no burst

    def verdicts(space: str) -> dict[str, Verdict]:
        target = Target(base_url=f"{REMOTE}/ns/{space}", api_key=KEY_1, second_api_key=KEY_2, asgi_app=app,
                        allow_create=True, profile="quick", seed=5, assets=load_assets(ASSETS))
        return {r.name: r.verdict for r in run_suite(target, clauses)}
    broken, clean = verdicts("broken"), verdicts("clean")
    assert {n for n, v in broken.items() if v is Verdict.FAIL} == {fault.clause}, broken
    assert all(v is Verdict.PASS for v in clean.values()), clean


@pytest.mark.http
def test_the_settings_hold_across_two_replicas_on_postgresql(tmp_path: Path) -> None:
    dsn = fresh_schema("nsf")
    group = [Served("--store", dsn, "--api-key", KEY_1, "--api-key", KEY_2, "--rate-limit", "off") for _ in range(2)]
    try:
        for server in group:
            server.start()
        one, two = (server.base for server in group)
        headers = {"x-api-key": KEY_1}
        assert httpx.put(f"{one}/ns/broken", json={"faults": [WRONG_TYPE]}, headers=headers).status_code == 200
        assert httpx.get(f"{two}/ns/broken", headers=headers).json()["data"]["faults"] == [WRONG_TYPE]
        assert httpx.put(f"{two}/ns/down", json={"scenario": "persistent-503"}, headers=headers).status_code == 200
        assert httpx.post(f"{one}/ns/down/v3/avatars", json=photo(), headers=headers).status_code == 503
        made = httpx.post(f"{two}/ns/broken/v3/avatars", json=photo(), headers=headers, timeout=30)
        assert isinstance(_created_at(made), str)  # set on one replica, in force on the other
        assert isinstance(_created_at(httpx.post(f"{one}/ns/clean/v3/avatars", json=photo(), headers=headers)), int)
        codes = {space: _verify(f"{two}/ns/{space}", tmp_path / space) for space in ("broken", "clean")}
        assert codes == {"broken": 1, "clean": 0}, codes
        assert httpx.delete(f"{two}/ns/broken", headers=headers).status_code == 204
        assert httpx.get(f"{one}/ns/broken", headers=headers).json()["data"]["faults"] == []
        assert isinstance(_created_at(httpx.post(f"{one}/ns/broken/v3/avatars", json=photo(), headers=headers)), int)
    finally:
        for server in group:
            server.stop()


def _verify(base: str, reports: Path) -> int:
    """``verify --base-url`` on the namespace, the fault's owning clause only; its exit code."""
    run = subprocess.run(
        [sys.executable, "-m", "avatar_contract", "verify", "--base-url", base, "--api-key", KEY_1,
         "--second-api-key", KEY_2, "--allow-create", "--max-creates", "20", "--asset", str(ASSETS),
         "--profile", "quick", "--report-dir", str(reports), "--clause", FAULTS[WRONG_TYPE].clause],
        capture_output=True, text=True, timeout=600)
    return run.returncode


@pytest.mark.anyio
async def test_a_settings_body_over_the_size_limit_is_refused_and_changes_nothing() -> None:
    small = harness(EmulatorConfig(rate_limit=None, max_body_bytes=64))
    padded = {"faults": [WRONG_TYPE], "x": "y" * 100}
    refused = await small.client.put("/ns/big", json=padded, headers=HEADERS)
    assert refused.status_code == 400 and "larger than 64 bytes" in error_of(refused)["message"]
    assert (await _settings(small, "big"))["faults"] == []
