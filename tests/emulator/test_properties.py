"""Property: every response the emulator sends validates under the strict profile.

Hypothesis drives sequences of requests (valid, invalid and garbage bodies;
good, wrong and missing credentials; valid, reused and malformed
Idempotency-Keys; concurrent bursts; clock jumps; polling) at emulators with
varied settings, and every answer is checked by ``validators``' strict linter
(POST) or by an independent JSON Schema validator (GET).
"""

from __future__ import annotations

import asyncio
import string
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_contract.emulator import EmulatorConfig, ManualClock

from ._support import Harness, harness, run, schema_errors

LINTER_STATUSES = {200, 400, 401, 409, 429}
KEYS = ("key-a", "key-b")

short_text = st.text(max_size=12)
header_text = st.text(alphabet=string.printable.strip("\n\r\x0b\x0c") + " ", max_size=12)
asset = st.one_of(
    st.fixed_dictionaries({"type": st.just("url"), "url": short_text}),
    st.fixed_dictionaries({"type": st.just("asset_id"), "asset_id": short_text}),
    st.fixed_dictionaries({"type": st.just("base64"), "media_type": short_text, "data": short_text}),
)
group_id = st.one_of(st.none(), st.sampled_from(["ag_shared", "ag_other"]), short_text)
with_file = st.fixed_dictionaries(
    {"type": st.sampled_from(["photo", "digital_twin"]), "name": short_text, "file": asset},
    optional={"avatar_group_id": group_id},
)
with_prompt = st.fixed_dictionaries(
    {"type": st.just("prompt"), "name": short_text,
     "prompt": st.one_of(short_text, st.just("é" * 1000))},
    optional={"reference_images": st.one_of(st.none(), st.lists(asset, max_size=3)),
              "avatar_group_id": group_id},
)
valid_body = st.one_of(with_file, with_prompt)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | short_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_text, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def invalid_body(draw: st.DrawFn) -> Any:
    body = dict(draw(valid_body))
    how = draw(st.sampled_from(["drop", "retype", "asset_extra", "too_many", "too_long", "variant"]))
    if how == "drop":
        body.pop(draw(st.sampled_from(sorted(body))))
    elif how == "retype":
        body[draw(st.sampled_from(sorted(body)))] = draw(st.sampled_from([1, 2.5, True, [], {}]))
    elif how == "asset_extra" and isinstance(body.get("file"), dict):
        body["file"] = {**body["file"], draw(st.sampled_from(["extra", "content_type"])): "x"}
    elif how == "too_many":
        body = {**body, "type": "prompt", "prompt": "p",
                "reference_images": draw(st.lists(asset, min_size=4, max_size=5))}
    elif how == "too_long":
        body = {**body, "type": "prompt", "prompt": "x" * 1001}
    else:
        body["type"] = draw(st.sampled_from(["video", "Photo", "", "avatar"]))
    return body


# Weighted towards what exercises state: valid creates, good keys, reused Idempotency-Keys.
body = st.one_of(
    valid_body.map(lambda b: ("json", b)),
    valid_body.map(lambda b: ("json", b)),
    valid_body.map(lambda b: ("json", b)),
    invalid_body().map(lambda b: ("json", b)),
    json_value.map(lambda b: ("json", b)),
    st.binary(max_size=16).map(lambda b: ("raw", b)),
)
auth = st.sampled_from([
    {"x-api-key": "key-a"}, {"x-api-key": "key-a"}, {"x-api-key": "key-a"},
    {"authorization": "Bearer key-b"}, {"x-api-key": "key-b"},
    {"x-api-key": "wrong"}, {}, {"authorization": "Basic key-a"},
])
idem_key = st.one_of(st.none(), st.sampled_from(["k1", "k2"]), st.sampled_from(["k1", "k2"]),
                     header_text)
step = st.one_of(
    st.fixed_dictionaries({
        "kind": st.just("create"), "auth": auth, "idem": idem_key, "body": body,
        "copies": st.sampled_from([1, 1, 3]),
        "advance": st.sampled_from([0.0, 0.0, 0.0, 7.5, 100_000.0]),
    }),
    st.fixed_dictionaries({"kind": st.sampled_from(["look", "group"]), "auth": auth}),
)
config = st.fixed_dictionaries({
    "training_seconds": st.sampled_from([0.0, 10.0]),
    "failure_rate": st.sampled_from([0.0, 0.5, 1.0]),
    "consent_required": st.booleans(),
    "rate_limit": st.sampled_from([(6, 60.0), (100, 10.0)]),
    "processing_delay": st.sampled_from([0.0, 0.002, 0.002]),
})


def _check_post(response: httpx.Response, request: Any) -> None:
    assert response.status_code in LINTER_STATUSES, response.status_code
    report = LINTER.lint_response(response.status_code, response.json(),
                                  headers=dict(response.headers), request=request)
    assert report.valid, (response.status_code, response.text, report)


def _check_get(response: httpx.Response, schema: str) -> None:
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    if response.status_code == 200:
        assert schema_errors(schema, payload["data"]) == []
    else:
        assert response.status_code in {401, 404, 429}
        assert schema_errors("StandardAPIError", payload["error"]) == []


async def _drive(options: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    clock = ManualClock()
    h: Harness = harness(EmulatorConfig(api_keys=KEYS, clock=clock, **options))
    origin: dict[str, Any] = {}  # look id -> the request that created it
    looks: list[str] = []
    groups: list[str] = []
    for s in steps:
        if s["kind"] != "create":
            ids, path, schema = (looks, "/v3/avatars/looks/", "AvatarLookItem") if s["kind"] == "look" \
                else (groups, "/v3/avatars/", "AvatarGroupItem")
            target = quote(ids[-1], safe="") if ids else "missing"
            _check_get(await h.client.get(path + target, headers=s["auth"]), schema)
            continue
        clock.advance(s["advance"])
        headers = dict(s["auth"])
        if s["idem"] is not None:
            headers["idempotency-key"] = s["idem"]
        kind, payload = s["body"]
        send = {"json": payload} if kind == "json" else {"content": payload}
        responses = await asyncio.gather(*(
            h.client.post("/v3/avatars", headers=headers, **send) for _ in range(s["copies"])))
        for response in responses:
            request = payload if kind == "json" else None
            if response.status_code == 200:
                item = response.json()["data"]["avatar_item"]
                if "idempotent-replayed" in response.headers:
                    request = origin[item["id"]]  # a replay answers the original request
                else:
                    origin[item["id"]] = payload
                    looks.append(item["id"])
                    groups.append(item["group_id"])
            _check_post(response, request)


from avatar_contract.validators import Linter  # noqa: E402  (after the strategies, which do not need it)

LINTER = Linter(strict=True)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(options=config, steps=st.lists(step, min_size=1, max_size=16))
def test_every_response_validates_under_the_strict_profile(
        options: dict[str, Any], steps: list[dict[str, Any]]) -> None:
    run(lambda: _drive(options, steps))
