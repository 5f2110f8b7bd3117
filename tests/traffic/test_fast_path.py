"""check-traffic's fast path gives the verdicts of the slow one: the response verdicts it reuses
(``per_exchange.Verdicts``) and the JSON reading it does with msgspec change nothing a report says."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from _recorded import PHOTO, TWIN, record_traffic

from avatar_contract.contract_tests.clauses.finding import ClauseResult
from avatar_contract.contract_tests.targets.exchange import ABSENT, parse_json
from avatar_contract.contract_tests.traffic.evidence import Where
from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.validators.journal import ExchangeRecord, RecordedRequest, RecordedResponse, body_of


def _judged(records: list[ExchangeRecord], *, cache: bool) -> tuple[list[ClauseResult], TrafficJudge]:
    judge = TrafficJudge(cache=cache)
    for record in records:
        judge.add(record, Where("journal.ndjson", record.id))
    return judge.results(), judge


def _shown(results: list[ClauseResult]) -> list[Any]:
    """Everything a report prints of the results (the evidence by what it shows, not by identity)."""
    return [(r.name, r.verdict, r.reason, r.requests, r.cases, r.notes,
             [(f.message, f.kind, f.count, f.others, f.pointer, f.compare,
               f.exchange.summary() if f.exchange else None,
               [[(e.request.path, e.request.content, e.summary()) for e in s.exchanges] for s in f.sequence])
              for f in r.failures])
            for r in results]


def _same_both_ways(records: list[ExchangeRecord]) -> tuple[list[ClauseResult], TrafficJudge]:
    fast, judge = _judged(records, cache=True)
    slow, _ = _judged(records, cache=False)
    assert _shown(fast) == _shown(slow)
    return fast, judge


def test_recorded_clean_traffic_is_judged_the_same_with_the_cache(clean_records: list[ExchangeRecord]) -> None:
    _, judge = _same_both_ways(clean_records)
    assert judge.verdicts.hits > 0  # the 429 burst repeats one answer: the cache was used


@pytest.mark.parametrize("fault", ["response_missing_id", "error_code_wrong", "wrong_content_type",
                                   "avatar_type_mismatch", "idempotency_ignored", "retry_after_missing"])
def test_recorded_faulty_traffic_is_judged_the_same_with_the_cache(fault: str) -> None:
    with contextlib.redirect_stderr(io.StringIO()):  # the emulator's own warnings
        records = record_traffic([fault])
    results, _ = _same_both_ways(records)
    assert any(r.failures for r in results)


def _record(n: int, body: Any, status: int, answer: bytes, content_type: str = "application/json",
            created: float = 1_790_000_000.0) -> ExchangeRecord:
    sent = json.dumps(body).encode()
    return ExchangeRecord(
        id=n, source="test", started=created + n, ended=created + n + 0.1, connection=None,
        tenant="t_" + "1" * 16,
        request=RecordedRequest("POST", "/v3/avatars", "", (("content-type", "application/json"),),
                                body_of(sent), "x-api-key"),
        outcome="answered", response=RecordedResponse(status, (("content-type", content_type),), body_of(answer)))


def _created(avatar_type: str, created_at: int = 1_790_000_000) -> bytes:
    item = {"id": "lk_1", "name": "Look", "avatar_type": avatar_type, "group_id": "ag_1", "status": "processing"}
    group = {"id": "ag_1", "name": "Look", "created_at": created_at, "looks_count": 1, "status": "processing"}
    return json.dumps({"data": {"avatar_item": item, "avatar_group": group}}).encode()


def test_one_answer_to_two_different_requests_is_judged_for_each() -> None:
    """A 2xx's verdict depends on the request (consistency.avatar_type): the same photo answer is right
    for a photo request and wrong for a digital twin, though the answer's bytes are the same."""
    answer = _created("photo_avatar")
    records = [_record(0, PHOTO, 200, answer), _record(1, TWIN, 200, answer), _record(2, PHOTO, 200, answer),
               _record(3, PHOTO, 200, answer, content_type="text/plain")]
    results, judge = _same_both_ways(records)
    by_name = {r.name: r for r in results}
    assert [f.kind for f in by_name["response.schema"].failures] == ["consistency.avatar_type at /data/avatar_item"
                                                                      "/avatar_type"]
    assert by_name["response.content_type"].failures[0].count == 1  # the text/plain one only
    assert judge.verdicts.hits == 1  # the third (the first's request and answer again)


def test_a_verdict_that_depends_on_the_clock_is_never_reused() -> None:
    ahead = _created("photo_avatar", created_at=4_000_000_000_000)  # milliseconds: years past the clock
    records = [_record(n, PHOTO, 200, ahead) for n in range(3)]
    results, judge = _same_both_ways(records)
    failure = next(r for r in results if r.name == "response.schema").failures[0]
    assert "sentence.unix_seconds" in failure.kind and failure.count == 3
    assert judge.verdicts.hits == 0 and not judge.verdicts.kept


def test_the_cache_is_bounded() -> None:
    judge = TrafficJudge()
    judge.verdicts.size = 8
    for n in range(40):
        judge.add(_record(n, {}, 400, json.dumps({"error": {"code": "invalid_parameter", "message": f"m{n}"}})
                          .encode()), Where("j", n))
    assert len(judge.verdicts.kept) == 8


@pytest.mark.parametrize("text", [
    b'{"a": 1, "a": {"b": 2}, "c": [1.5, -0.0, 1e-400]}', b"123456789012345678901234567890",
    b"-9223372036854775809", b"1" * 4301, b"1e400", b'"\\ud800"', b"NaN", b"\xef\xbb\xbf{}", b'"\xff"',
    b"[" * 3000 + b"]" * 3000, b" \x0c{}", b"{} x", b'"\\u0000"', b"0.30000000000000004",
])
def test_parse_json_reads_as_the_stdlib_does(text: bytes) -> None:
    try:
        expected: Any = json.loads(text.decode("utf-8"), parse_constant=lambda name: int("x"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        expected = ABSENT
    got = parse_json(text)
    assert repr(got) == repr(expected) and type(got) is type(expected)


def test_records_kept_as_their_journal_lines_give_the_same_results(tmp_path: Path) -> None:
    """check_files keeps an NDJSON record as the line it read (no encoding again): the evidence a later
    replay failure shows is the same as from a record judged on its own."""
    from _recorded import write_journal

    from avatar_contract.contract_tests.traffic.checking import check_files

    with contextlib.redirect_stderr(io.StringIO()):
        records = record_traffic(["idempotency_ignored"])
    report, _ = check_files([write_journal(records, tmp_path / "journal.ndjson")])
    alone, _ = _judged(records, cache=True)
    assert _shown(report.results) == _shown(alone)
    assert any(f.sequence for r in report.results for f in r.failures)  # evidence read back from a line
