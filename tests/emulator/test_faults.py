"""Each fault's observable effect, seen by an honest black-box client.

Every probe sends what any client of the documented API may send and answers
"is the defect visible?".  Each runs against the emulator with its fault under
the default configuration (one exception, below) and against the clean
emulator: the fault must show, and the clean emulator must not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, FAULTS, EmulatorConfig
from avatar_contract.spec import load_spec
from avatar_contract.validators import Linter, check_retry_after

from ._support import INVALID, KEY_B, URL, Harness, harness, photo, prompt, twin

pytestmark = pytest.mark.anyio
Probe = Callable[[Harness], Awaitable[bool]]
LINTER = Linter(strict=True)
STATUSES = load_spec().document["components"]["schemas"]["AvatarStatus"]["enum"]
PROBES: dict[str, Probe] = {}


def probe(fault: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        PROBES[fault] = fn
        return fn
    return register


async def _burst_until_429(h: Harness, budget: int = 300) -> dict[str, str] | None:
    for _ in range(budget):
        response = await h.create(INVALID)
        if response.status_code == 429:
            return dict(response.headers)
    return None


def _rules(status: int, body: object, headers: dict[str, str], request: object = None) -> set[str]:
    return LINTER.lint_response(status, body, headers=headers, request=request).rules()


@probe("auth_skipped")
async def _(h: Harness) -> bool:
    return (await h.create(key=None)).status_code != 401


@probe("wrong_key_accepted")
async def _(h: Harness) -> bool:
    return (await h.create(key="not-a-real-key")).status_code != 401


@probe("bearer_rejected")
async def _(h: Harness) -> bool:
    return (await h.create(key=DEFAULT_API_KEY, bearer=True)).status_code == 401


@probe("error_envelope_missing")
async def _(h: Harness) -> bool:
    r = await h.create(key=None)
    return "errors.envelope" in _rules(r.status_code, r.json(), dict(r.headers))


@probe("error_code_wrong")
async def _(h: Harness) -> bool:
    # Concurrent retries under one key: the ones met while the original is in flight are 409s.
    responses = await asyncio.gather(*(h.create(photo(), idem="in-flight-code") for _ in range(8)))
    conflicts = [r for r in responses if r.status_code == 409]
    return bool(conflicts) and all("errors.code" in _rules(409, r.json(), dict(r.headers)) for r in conflicts)


@probe("status_422_for_invalid")
async def _(h: Harness) -> bool:
    return (await h.create(INVALID)).status_code == 422


@probe("status_500_for_invalid")
async def _(h: Harness) -> bool:
    return (await h.create(INVALID)).status_code >= 500


@probe("max_items_unenforced")
async def _(h: Harness) -> bool:
    body = prompt(reference_images=[{"type": "url", "url": URL}] * 4, avatar_group_id="ag_1")
    return (await h.create(body)).status_code == 200


@probe("max_length_unenforced")
async def _(h: Harness) -> bool:
    return (await h.create(prompt(prompt="é" * 1001))).status_code == 200


@probe("asset_extra_fields_allowed")
async def _(h: Harness) -> bool:
    body = photo(file={"type": "url", "url": URL, "content_type": "image/png"})
    return (await h.create(body)).status_code == 200


@probe("required_field_unenforced")
async def _(h: Harness) -> bool:
    body = photo()
    del body["name"]
    return (await h.create(body)).status_code == 200


@probe("digital_twin_rejected")
async def _(h: Harness) -> bool:
    return (await h.create(twin())).status_code != 200


async def _create_findings(h: Harness, body: dict[str, object]) -> set[str]:
    r = await h.create(body)
    return _rules(r.status_code, r.json(), dict(r.headers), request=body)


@probe("response_missing_id")
async def _(h: Harness) -> bool:
    r = await h.create(photo())
    item = r.json().get("data", {}).get("avatar_item", {})
    return "id" not in item and "schema.required" in _rules(200, r.json(), dict(r.headers))


@probe("response_enum_out_of_range")
async def _(h: Harness) -> bool:
    r = await h.create(photo())
    return (r.json()["data"]["avatar_item"]["status"] not in STATUSES
            and bool(_rules(200, r.json(), dict(r.headers))))


@probe("response_wrong_type")
async def _(h: Harness) -> bool:
    return "schema.type" in await _create_findings(h, photo())


@probe("response_no_data_wrapper")
async def _(h: Harness) -> bool:
    return "response.data_missing" in await _create_findings(h, photo())


@probe("avatar_type_mismatch")
async def _(h: Harness) -> bool:
    return "consistency.avatar_type" in await _create_findings(h, twin())


@probe("undocumented_status")
async def _(h: Harness) -> bool:
    r = await h.create(photo())
    return "response.status_undocumented" in _rules(r.status_code, r.json(), dict(r.headers))


@probe("wrong_content_type")
async def _(h: Harness) -> bool:
    r = await h.create(photo())
    return "response.content_type" in _rules(r.status_code, r.json(), dict(r.headers))


@probe("key_pattern_unenforced")
async def _(h: Harness) -> bool:
    return (await h.create(headers={"idempotency-key": "not a valid key"})).status_code != 400


@probe("idempotency_ignored")
async def _(h: Harness) -> bool:
    first = await h.create(photo(), idem="replay-me")
    second = await h.create(photo(), idem="replay-me")
    return first.content != second.content


@probe("replay_mismatch_rejected")
async def _(h: Harness) -> bool:
    first = await h.create(photo(), idem="differs")
    second = await h.create(photo(name="Changed"), idem="differs")
    return (second.status_code, second.content) != (first.status_code, first.content)


@probe("no_in_flight_guard")
async def _(h: Harness) -> bool:
    responses = await asyncio.gather(*(h.create(photo(), idem="concurrent") for _ in range(8)))
    ids = {r.json()["data"]["avatar_item"]["id"] for r in responses if r.status_code == 200}
    return len(ids) > 1


@probe("not_tenant_scoped")
async def _(h: Harness) -> bool:
    a = await h.create(photo(), key=DEFAULT_API_KEY, idem="tenant-key")
    b = await h.create(photo(), key=KEY_B, idem="tenant-key")
    return b.content == a.content


@probe("retry_after_missing")
async def _(h: Harness) -> bool:
    headers = await _burst_until_429(h)
    return headers is not None and "retry-after" not in headers


@probe("retry_after_http_date")
async def _(h: Harness) -> bool:
    headers = await _burst_until_429(h)
    value = (headers or {}).get("retry-after")
    return value is not None and not value.isdigit() and not check_retry_after(value).valid


def _config(fault: str | None) -> EmulatorConfig:
    faults = frozenset({fault}) if fault else frozenset()
    if fault == "not_tenant_scoped" or fault is None:
        # A tenant boundary is only visible with two tenants.
        return EmulatorConfig(faults=faults, api_keys=(DEFAULT_API_KEY, KEY_B))
    return EmulatorConfig(faults=faults)  # the defaults, as a user would run it


def test_every_fault_has_a_probe() -> None:
    assert set(PROBES) == set(FAULTS)


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_is_observable_and_absent_without_it(fault: str) -> None:
    faulty, clean = harness(_config(fault)), harness(_config(None))
    assert await PROBES[fault](faulty), f"{fault}: defect not visible"
    assert not await PROBES[fault](clean), f"{fault}: the clean emulator shows it too"


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_leaves_an_ordinary_create_alone_unless_it_is_about_creates(fault: str) -> None:
    # Faults are narrow: outside their clause, a faulty emulator behaves like the clean one.
    h = harness(_config(fault))
    response = await h.create(photo(), idem="ordinary")
    if FAULTS[fault].clause in {"response.schema", "response.status", "response.content_type"}:
        return
    assert response.status_code == 200
    report = LINTER.lint_response(200, response.json(), headers=dict(response.headers),
                                  request=photo())
    assert report.valid, report
