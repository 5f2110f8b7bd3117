"""What traffic cannot show is no failure: hand-written HAR files of a correct server's choices
(body checked before auth, ids that name nothing, replayed errors and replays to a changed body,
a Content-Type other than JSON), each beside the traffic that does show a defect."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseResult, Verdict
from avatar_contract.contract_tests.traffic.checking import check_files
from avatar_contract.validators.journal import ExchangeRecord

URL = "https://api.example.test/v3/avatars"
JSON = {"Content-Type": "application/json"}
UNAUTHORIZED = {"error": {"code": "authentication_failed", "message": "Invalid or expired API key."}}
EMPTY_BODY = {"error": {"code": "invalid_parameter", "message": "type is required", "param": "type"}}


def _error(message: str, param: str | None) -> dict[str, Any]:
    return {"error": {"code": "invalid_parameter", "message": message, "param": param}}


@pytest.fixture(scope="module")
def made(clean_records: list[ExchangeRecord]) -> dict[str, tuple[dict[str, Any], str]]:
    """Real creates of the emulator by the name their request gave: (request body, 200 body)."""
    out = {}
    for r in clean_records:
        if r.response and r.response.status == 200 and r.request.credential == "x-api-key":
            body = json.loads(r.request.body.prefix())
            out.setdefault(body["name"], (body, r.response.body.text))
    return out


def _entry(second: int, headers: dict[str, str], body: Any, status: int,
           answer: str | dict[str, Any]) -> dict[str, Any]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    sent = body if isinstance(body, str) else json.dumps(body)
    return {
        "startedDateTime": f"2026-12-01T10:00:{second:02d}.000Z", "time": 100.0,
        "request": {"method": "POST", "url": URL, "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in headers.items()],
                    "postData": {"mimeType": headers.get("Content-Type", ""), "text": sent},
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1},
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"size": len(text), "mimeType": "application/json",
                                 "text": base64.b64encode(text.encode()).decode(), "encoding": "base64"},
                     "cookies": [], "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 100, "receive": 0},
    }


def _judge(tmp_path: Path, entries: list[dict[str, Any]]) -> dict[str, ClauseResult]:
    path = tmp_path / "traffic.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
                                        "entries": entries}}))
    report, _ = check_files([path])
    return {r.name: r for r in report.results}


def _key(value: str, idem: str | None = None, *, bearer: bool = False) -> dict[str, str]:
    auth = {"Authorization": f"Bearer {value}"} if bearer else {"X-Api-Key": value}
    return {**auth, **JSON, **({"Idempotency-Key": idem} if idem else {})}


def test_a_400_to_a_body_checked_before_auth_is_no_acceptance_of_the_key(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    photo, _ = made["Photo look"]
    unissued = [  # the body is checked first: {} gets 400 under both schemes, the valid body 401 under both
        _entry(1, _key("never-issued"), {}, 400, EMPTY_BODY),
        _entry(2, _key("never-issued", bearer=True), {}, 400, EMPTY_BODY),
        _entry(3, _key("never-issued"), photo, 401, UNAUTHORIZED),
        _entry(4, _key("never-issued", bearer=True), photo, 401, UNAUTHORIZED),
    ]
    bearer = _judge(tmp_path, unissued)["auth.bearer"]
    assert bearer.verdict is Verdict.INCOMPLETE, bearer.failures
    assert any("never seen accepted" in n for n in bearer.notes)
    # A key that got a 2xx as x-api-key and a 401 as Bearer: that is a refusal of the scheme.
    issued = [_entry(5, _key("issued"), photo, 200, made["Photo look"][1]),
              _entry(6, _key("issued", bearer=True), photo, 401, UNAUTHORIZED)]
    assert _judge(tmp_path, unissued + issued)["auth.bearer"].verdict is Verdict.FAIL


def test_a_refused_id_is_unknown_existence_unless_the_tenant_had_it_accepted(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    by_asset, answer = made["Photo asset_id"]
    missing = {**by_asset, "file": {"type": "asset_id", "asset_id": "does_not_exist"}}
    refused = _entry(1, _key("k1"), missing, 400, _error("asset not found", "file.asset_id"))
    group = _entry(2, _key("k1"), {**made["Photo look"][0], "avatar_group_id": "ag_unknown"}, 400,
                   _error("avatar group not found", None))
    seen = _judge(tmp_path, [refused, group])["request.variants"]
    assert seen.verdict is not Verdict.FAIL, seen.failures
    assert any("cannot show whether an id names an existing resource" in n for n in seen.notes)
    # The same id accepted for this tenant (before or after) shows it exists: the refusal is a finding.
    accepted = by_asset["file"]["asset_id"]
    again = _entry(3, _key("k1"), by_asset, 400, _error("asset not found", "file.asset_id"))
    for order in ([_entry(4, _key("k1"), by_asset, 200, answer), again],
                  [again, _entry(4, _key("k1"), by_asset, 200, answer)]):
        result = _judge(tmp_path, order)["request.variants"]
        assert result.verdict is Verdict.FAIL and accepted in result.failures[0].message
    # Accepted under another tenant: that tenant's asset, unknown for this one.
    other = _judge(tmp_path, [_entry(4, _key("k2"), by_asset, 200, answer), again])["request.variants"]
    assert other.verdict is not Verdict.FAIL
    # An error naming a field that is no id is the target's verdict on the body.
    named = _entry(5, _key("k1"), by_asset, 400, _error("name is too long", "name"))
    assert _judge(tmp_path, [named])["request.variants"].verdict is Verdict.FAIL


def test_a_stored_400_replayed_to_a_corrected_retry_is_no_verdict_on_its_body(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    photo, _ = made["Photo look"]
    no_url = {**photo, "file": {"type": "url"}}
    stored = _error("url is required", "file.url")
    seen = _judge(tmp_path, [_entry(1, _key("k1", "k2"), no_url, 400, stored),
                             _entry(3, _key("k1", "k2"), photo, 400, stored)])
    assert seen["request.variants"].verdict is not Verdict.FAIL, seen["request.variants"].failures
    assert any("replayed error" in n for n in seen["idempotency.replay_body_differs"].notes)
    # Another 400 than the stored one is the target judging this body: a valid body refused.
    fresh = _judge(tmp_path, [_entry(1, _key("k1", "k2"), no_url, 400, stored),
                              _entry(3, _key("k1", "k2"), photo, 400, _error("name is taken", "name"))])
    assert fresh["request.variants"].verdict is Verdict.FAIL


def test_a_replay_is_judged_against_the_request_that_created_it(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    photo, answer = made["Photo look"]
    with_group = {**photo, "name": "B", "avatar_group_id": "ag_fixture_0001"}
    as_twin = {**photo, "type": "digital_twin", "file": {"type": "url", "url": "https://example.com/a.mp4"}}
    seen = _judge(tmp_path, [_entry(1, _key("k1", "k3"), photo, 200, answer),
                             _entry(3, _key("k1", "k3"), with_group, 200, answer),
                             _entry(5, _key("k1", "k3"), as_twin, 200, answer)])
    assert seen["response.schema"].verdict is Verdict.PASS, seen["response.schema"].failures
    assert seen["idempotency.replay_body_differs"].verdict is Verdict.PASS
    # Without a key the same pair is a new create, judged against its own request.
    fresh = _judge(tmp_path, [_entry(1, _key("k1"), with_group, 200, answer)])
    assert fresh["response.schema"].verdict is Verdict.FAIL


@pytest.mark.parametrize("status", [400, 415])
def test_a_request_not_sent_as_json_may_be_refused(tmp_path: Path, status: int,
                                                   made: dict[str, tuple[dict[str, Any], str]]) -> None:
    photo, _ = made["Photo look"]
    answer = _error("Content-Type must be application/json", "Content-Type")
    plain = {**_key("k1"), "Content-Type": "text/plain"}
    seen = _judge(tmp_path, [_entry(1, plain, photo, status, answer)])
    assert seen["request.variants"].verdict is not Verdict.FAIL, seen["request.variants"].failures
    assert seen["response.status"].verdict is Verdict.PASS, seen["response.status"].failures
    # Sent as JSON (with a charset), the same refusal is a valid body refused, and 415 undocumented.
    json_sent = _judge(tmp_path, [_entry(1, {**_key("k1"), "Content-Type": "application/json; charset=utf-8"},
                                         photo, status, answer)])
    assert json_sent["request.variants"].verdict is Verdict.FAIL
    assert json_sent["response.status"].verdict is (Verdict.FAIL if status == 415 else Verdict.PASS)


def test_auth_invalid_says_traffic_cannot_show_it_and_what_does(tmp_path: Path,
                                                                 made: dict[str, tuple[dict[str, Any], str]]) -> None:
    result = _judge(tmp_path, [_entry(1, _key("k1"), made["Photo look"][0], 200, made["Photo look"][1])])
    invalid = result["auth.invalid"]
    assert invalid.verdict is Verdict.INCOMPLETE
    assert invalid.reason.startswith("no traffic shows it") and "verify" in invalid.reason


def test_a_refused_body_the_spec_s_prose_advises_against_is_not_judged(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    """The schema takes any string as the asset URL, but the spec says "Publicly accessible HTTPS
    URL": a server refusing an http:// one is within the spec (the linter's url.not_https advice)."""
    photo, _ = made["Photo look"]
    plain_http = {**photo, "file": {"type": "url", "url": "http://cdn.example.test/a.jpg"}}
    refused = _entry(1, _key("k1"), plain_http, 400, _error("url must be a publicly accessible HTTPS URL", "file.url"))
    seen = _judge(tmp_path, [refused])["request.variants"]
    assert seen.verdict is not Verdict.FAIL, seen.failures
    assert any("advises against (url.not_https)" in n for n in seen.notes)
    # An undeclared property is no such case: the schema admits it, so refusing it is a finding.
    extra = _entry(2, _key("k1"), {**photo, "x_extension": 1}, 400, _error("unknown field", "x_extension"))
    assert _judge(tmp_path, [extra])["request.variants"].verdict is Verdict.FAIL


def test_a_key_reused_with_an_invalid_body_may_be_validated_before_its_replay(
        tmp_path: Path, made: dict[str, tuple[dict[str, Any], str]]) -> None:
    photo, answer = made["Photo look"]
    original = _entry(1, _key("k1", "idem-1"), photo, 200, answer)
    no_url = {**photo, "file": {"type": "url"}}
    invalid = _entry(3, _key("k1", "idem-1"), no_url, 400, _error("url is required", "file.url"))
    seen = _judge(tmp_path, [original, invalid])["idempotency.replay_body_differs"]
    assert seen.verdict is not Verdict.FAIL, seen.failures
    assert any("validate before the key's replay" in n for n in seen.notes)
    # A valid, slightly different body must still get the original answer.
    renamed = _entry(3, _key("k1", "idem-1"), {**photo, "name": "Other"}, 400, _error("name is taken", "name"))
    assert _judge(tmp_path, [original, renamed])["idempotency.replay_body_differs"].verdict is Verdict.FAIL
