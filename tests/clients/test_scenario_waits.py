"""What the scenarios say about waiting: Retry-After only in a form the spec's header schema allows
(whole seconds under the vendored ``type: integer``, whatever --time-scale), and an in-flight hold
that lasts until a retry has met it (never scaled below a client's request timeout)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.emulator._journal import Journal
from avatar_contract.emulator._schedule import IN_FLIGHT_HOLD, Hold, Schedule, decide, retry_after_value
from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Linter

KEY = "key-1"


def _body(name: str) -> dict[str, Any]:
    return {"type": "photo", "name": name, "file": {"type": "url", "url": f"https://example.com/{name}.png"}}


def _first_attempts(scenario: str, scale: float, spec: Path | None = None, intents: int = 4) -> list[httpx.Response]:
    """The first attempt of ``intents`` intents, in-process (no socket)."""
    app = create_app(EmulatorConfig(api_keys=(KEY,), rate_limit=None, journal=Journal(), spec=spec,
                                    schedule=Schedule(scenario, scale)))

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://e") as client:
            return [await client.post("/v3/avatars", json=_body(f"a{n}"),
                                      headers={"x-api-key": KEY, "Idempotency-Key": f"k-{n}"})
                    for n in range(intents)]
    return asyncio.run(go())


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.3, 0.25, 0.01])
@pytest.mark.parametrize("scenario", ["throttled", "throttled-long"])
def test_every_retry_after_the_emulator_sends_satisfies_the_specs_header_schema(scenario: str, scale: float) -> None:
    linter = Linter(strict=True)
    for response in _first_attempts(scenario, scale):
        assert response.status_code == 429
        value = response.headers["retry-after"]
        assert value.isdigit() and int(value) >= 1, value  # whole seconds, never 0.5
        assert linter.check_retry_after(value).valid, (value, linter.check_retry_after(value).errors)


def test_time_scale_rounds_the_advertised_wait_up_to_whole_seconds() -> None:
    assert [retry_after_value(w, 0.0) for w in (2.0, 1.0, 0.5, 0.01, 1.2, 86_400)] == \
        ["2", "1", "1", "1", "2", "86400"]
    assert decide("throttled", 0, 1, 0.0, scale=0.25).headers == (("Retry-After", "1"),)
    # The 2nd intent's HTTP-date is said only where the spec allows it (the vendored spec does not).
    assert decide("throttled", 1, 1, 0.0, scale=0.25).headers == (("Retry-After", "1"),)
    dated = decide("throttled", 1, 1, 1_000_000.0, accepts=lambda value: True).headers[0][1]
    assert dated.endswith("GMT")


def _spec_allowing(tmp_path: Path, schema: dict[str, Any]) -> Path:
    doc = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    headers = doc["paths"]["/v3/avatars"]["post"]["responses"]["429"]["headers"]
    headers["Retry-After"]["schema"] = schema
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_a_spec_that_allows_both_forms_keeps_the_http_date(tmp_path: Path) -> None:
    either = _spec_allowing(tmp_path, {"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "GMT$"}]})
    values = [r.headers["retry-after"] for r in _first_attempts("throttled", 1.0, either)]
    assert values[0] == values[2] == "2"
    assert values[1].endswith("GMT") and values[3].endswith("GMT")


def test_a_date_only_spec_gets_dates_even_where_seconds_come_first(tmp_path: Path) -> None:
    dates = _spec_allowing(tmp_path, {"type": "string", "pattern": "GMT$"})
    assert all(r.headers["retry-after"].endswith("GMT") for r in _first_attempts("throttled", 0.25, dates))


def test_the_in_flight_hold_is_not_scaled_and_ends_when_a_retry_has_met_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert decide("in-flight", 0, 1, 0.0, scale=0.25).hold == IN_FLIGHT_HOLD == 5.0  # was 1.25 s
    # A hold of ten minutes: only its release by the 409 lets the held create end within the
    # generous bound below (no assertion on the machine's speed).
    monkeypatch.setattr("avatar_contract.emulator._schedule.IN_FLIGHT_HOLD", 600.0)
    journal = Journal()
    app = create_app(EmulatorConfig(api_keys=(KEY,), rate_limit=None, journal=journal,
                                    schedule=Schedule("in-flight", 0.25)))
    headers = {"x-api-key": KEY, "Idempotency-Key": "held"}

    holding: list[Hold] = []
    wait = Hold.wait

    async def noted(hold: Hold) -> None:
        holding.append(hold)
        await wait(hold)
    monkeypatch.setattr(Hold, "wait", noted)

    async def go() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://e") as client:
            held = asyncio.ensure_future(client.post("/v3/avatars", json=_body("a0"), headers=headers))
            while not holding:
                await asyncio.sleep(0.01)  # until the first attempt is in its hold, its key claimed
            retry = await client.post("/v3/avatars", json=_body("a0"), headers=headers)
            first = await asyncio.wait_for(held, timeout=120)
            return [retry.status_code, first.status_code]
    assert asyncio.run(go()) == [409, 200]
    assert [r.fault for r in journal.records()] == [None, "hold-600s"]
