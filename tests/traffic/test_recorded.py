"""Traffic recorded from the emulator: clean traffic fails nothing; each fault fails the clause that owns it."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from _recorded import record_traffic, write_journal

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.traffic.evidence import Where
from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.emulator import FAULTS
from avatar_contract.validators.journal import ExchangeRecord

# The one fault traffic cannot show: it keeps a hash of each key, never whether it was issued.
UNSHOWABLE = {"wrong_key_accepted"}
# One defect that shows in more than one property (each clause judges its own): a server that
# ignores keys creates again on every retry, whether the body changed or the retry overlapped.
ALSO = {
    "idempotency_ignored": {"idempotency.replay_body_differs", "idempotency.in_flight"},
    "status_422_for_invalid": {"response.status"},  # 422 and 500 are undocumented statuses too
    "status_500_for_invalid": {"response.status"},
}
FAST = ["auth_skipped", "bearer_rejected", "response_missing_id", "not_tenant_scoped", "no_in_flight_guard",
        "replay_mismatch_rejected", "retry_after_http_date", "key_pattern_unenforced"]


def verdicts(records: list[ExchangeRecord]) -> dict[str, Verdict]:
    judge = TrafficJudge()
    for record in records:
        judge.add(record, Where("journal.ndjson", record.id))
    return {r.name: r.verdict for r in judge.results()}


def test_clean_traffic_fails_nothing_and_passes_what_it_shows(clean_records: list[ExchangeRecord]) -> None:
    seen = verdicts(clean_records)
    assert [n for n, v in seen.items() if v is Verdict.FAIL] == []
    assert seen["auth.invalid"] is Verdict.INCOMPLETE  # never a pass on traffic
    passed = {n for n, v in seen.items() if v is Verdict.PASS}
    assert passed == set(seen) - {"auth.invalid"}


def _judged_under(fault: str) -> dict[str, Verdict]:
    with contextlib.redirect_stderr(io.StringIO()):  # the emulator's own warnings
        return verdicts(record_traffic([fault]))


def _expect(fault: str, seen: dict[str, Verdict]) -> None:
    failed = {n for n, v in seen.items() if v is Verdict.FAIL}
    if fault in UNSHOWABLE:
        assert failed == set()
        assert seen[FAULTS[fault].clause] is Verdict.INCOMPLETE
        return
    assert failed == {FAULTS[fault].clause} | ALSO.get(fault, set())


@pytest.mark.parametrize("fault", FAST)
def test_a_fault_fails_the_clause_that_owns_it(fault: str) -> None:
    _expect(fault, _judged_under(fault))


@pytest.mark.slow
@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in FAST])
def test_every_other_fault_too(fault: str) -> None:
    _expect(fault, _judged_under(fault))


def test_the_journal_file_gives_the_same_verdicts(clean_records: list[ExchangeRecord], tmp_path: Path) -> None:
    from avatar_contract.contract_tests.traffic.checking import check_files

    report, judge = check_files([write_journal(clean_records, tmp_path / "j.ndjson")])
    assert {r.name: r.verdict for r in report.results} == verdicts(clean_records)
    assert judge.other_routes == 1  # the GET is counted and skipped
