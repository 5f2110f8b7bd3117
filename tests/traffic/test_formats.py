"""HAR, VCR cassettes and WireMock journals, written by hand here, read and judged like the journal."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.traffic.checking import check_files
from avatar_contract.contract_tests.traffic.sources import TrafficError, detect
from avatar_contract.validators.journal import ExchangeRecord

URL = "https://api.example.test/v3/avatars"
PHOTO = {"type": "photo", "name": "Look", "file": {"type": "url", "url": "https://example.com/face.jpg"}}
UNAUTHORIZED = {"error": {"code": "unauthorized", "message": "Invalid or missing API key."}}
INVALID = {"error": {"code": "invalid_parameter", "message": "name is required", "param": "name"}}


@pytest.fixture(scope="module")
def created(clean_records: list[ExchangeRecord]) -> tuple[str, str]:
    """Two 200 bodies for two different creates (real answers of the emulator, so schema-valid)."""
    bodies = [r.response.body.text for r in clean_records
              if r.response and r.response.status == 200 and r.request.credential == "x-api-key"]
    return bodies[0], bodies[1]


def _har_entry(when: str, headers: dict[str, str], body: Any, status: int, answer: str | dict[str, Any],
               url: str = URL, method: str = "POST") -> dict[str, Any]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return {
        "startedDateTime": when, "time": 120.5,
        "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in headers.items()],
                    "postData": None if body is None else {"mimeType": "application/json", "text": json.dumps(body)},
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1},
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"size": len(text), "mimeType": "application/json",
                                 "text": base64.b64encode(text.encode()).decode(), "encoding": "base64"},
                     "cookies": [], "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 120, "receive": 0.5},
    }


def test_a_har_file_is_judged_with_its_entries_as_evidence(tmp_path: Path, created: tuple[str, str]) -> None:
    key = {"X-Api-Key": "har-key-1", "Idempotency-Key": "retry-1"}
    entries = [
        _har_entry("2026-12-01T10:00:00.000Z", {}, PHOTO, 401, UNAUTHORIZED),
        _har_entry("2026-12-01T10:00:01.000Z", key, PHOTO, 200, created[0]),
        # The retry creates another avatar: a replay that is not one.
        _har_entry("2026-12-01T10:00:05.000Z", key, PHOTO, 200, created[1]),
        _har_entry("2026-12-01T10:00:06.000Z", {"X-Api-Key": "har-key-1"}, None, 200, "[]",
                   url="https://api.example.test/v3/avatars?limit=1", method="GET"),
        _har_entry("2026-12-01T10:00:07.000Z", {"X-Api-Key": "har-key-1"}, {"type": "photo"}, 400, INVALID),
    ]
    path = tmp_path / "browser.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "hand", "version": "1"},
                                        "entries": entries}}))
    assert detect(path) == "har"
    report, judge = check_files([path])
    verdicts = {r.name: r for r in report.results}
    assert verdicts["auth.missing"].verdict is Verdict.PASS
    assert verdicts["request.rejects_invalid"].verdict is Verdict.PASS
    replay = verdicts["idempotency.replay"]
    assert replay.verdict is Verdict.FAIL
    assert "a new avatar was created" in replay.failures[0].message
    assert "browser.har entry 1" in replay.failures[0].message and "browser.har entry 2" in replay.failures[0].message
    assert judge.other_routes == 1 and judge.exchanges == 4


VCR = """\
command: 'st run http://127.0.0.1:8080/openapi.json'
recorded_with: 'Schemathesis 4.3.0'
seed: 42
http_interactions:
- id: 'a1'
  status: 'SUCCESS'
  metadata: null
  recorded_at: '2026-12-01T10:00:00.300000+00:00'
  checks: []
  request:
    uri: 'http://127.0.0.1:8080/v3/avatars'
    method: 'POST'
    headers:
      "X-Api-Key":
      - "[Filtered]"
      "Idempotency-Key":
      - "key/with/slashes"
    body:
      encoding: 'utf-8'
      string: "{\\"type\\": \\"photo\\", \\"name\\": \\"Look\\", \\"file\\": {\\"type\\": \\"url\\", \\"url\\": \\"https://example.com/face.jpg\\"}}"
  response:
    status:
      code: '200'
      message: "OK"
    elapsed: '0.25'
    headers:
      "Content-Type":
      - "application/json"
    body:
      encoding: 'utf-8'
      string: BODY
    http_version: '1.1'
- id: 'a2'
  status: 'ERROR'
  metadata: null
  recorded_at: '2026-12-01T10:00:01.000000+00:00'
  checks: []
  request:
    uri: 'http://127.0.0.1:8080/v3/avatars'
    method: 'POST'
    headers:
      "X-Api-Key":
      - "[Filtered]"
  response: null
"""


def test_a_vcr_cassette_is_read_as_schemathesis_writes_it(tmp_path: Path, created: tuple[str, str]) -> None:
    path = tmp_path / "cassette.yaml"
    path.write_text(VCR.replace("BODY", json.dumps(created[0])))
    assert detect(path) == "vcr"
    report, judge = check_files([path])
    verdicts = {r.name: r for r in report.results}
    key_format = verdicts["idempotency.key_format"]
    assert key_format.verdict is Verdict.FAIL  # a '/' in the key, and the create went through
    assert "cassette.yaml entry 0" in key_format.failures[0].message
    assert judge.unanswered == 1
    # The key was filtered: the tenant is someone, never compared with anyone.
    assert verdicts["idempotency.tenant_scope"].verdict is Verdict.INCOMPLETE


def test_a_wiremock_journal_is_judged_oldest_first(tmp_path: Path, created: tuple[str, str]) -> None:
    def logged(when_ms: int, body: dict[str, Any], status: int, answer: str) -> dict[str, Any]:
        return {"id": f"r{when_ms}", "request": {
                    "url": "/v3/avatars", "absoluteUrl": "http://localhost:8080/v3/avatars", "method": "POST",
                    "headers": {"x-api-key": "wm-key", "Idempotency-Key": "wm-1",
                                "Content-Type": "application/json"},
                    "body": json.dumps(body), "loggedDate": when_ms,
                    "loggedDateString": "2026-12-01T10:00:00Z"},
                "responseDefinition": {"status": status},
                "response": {"status": status, "headers": {"Content-Type": "application/json"}, "body": answer},
                "wasMatched": True, "timing": {"totalTime": 40}}

    # Newest first, as GET /__admin/requests lists them: a 400 to the retry with another body.
    journal = {"requests": [
        logged(1_796_000_005_000, {**PHOTO, "name": "Other"}, 400, json.dumps(INVALID)),
        logged(1_796_000_000_000, PHOTO, 200, created[0]),
    ], "meta": {"total": 2}, "requestJournalDisabled": False}
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(journal))
    assert detect(path) == "wiremock"
    report, _ = check_files([path])
    differs = next(r for r in report.results if r.name == "idempotency.replay_body_differs")
    assert differs.verdict is Verdict.FAIL
    assert "the original was 200 (requests.json entry 1)" in differs.failures[0].message


@pytest.mark.parametrize(("name", "text", "said"), [
    ("bad.har", json.dumps({"log": {"entries": [{"request": {"method": "POST", "url": URL},
                                                  "startedDateTime": "2026-12-01T10:00:00Z"},
                                                 {"request": {"method": "POST"}}]}}),
     "bad.har: entry 1: request.method or request.url is missing"),
    ("bad.ndjson", '{"id": 0, "nope": 1}\n', "bad.ndjson: entry 0: (line 1) not a journal record"),
    ("bad.yaml", "http_interactions:\n- request: {uri: /v3/avatars, method: POST}\n  recorded_at: never\n",
     "bad.yaml: entry 0: recorded_at 'never' is not an ISO 8601 date"),
    ("empty.json", "", "empty.json: the file is empty"),
])
def test_a_malformed_file_names_the_file_and_entry(tmp_path: Path, name: str, text: str, said: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(TrafficError) as caught:
        check_files([path])
    assert str(caught.value).replace(str(tmp_path) + "/", "").startswith(said)
