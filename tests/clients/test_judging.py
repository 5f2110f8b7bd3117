"""The checks on journals written by hand: each defect owned by one check, counted in full, said plainly.

The journals model what the independent blind clients did (two parallel copies of every attempt,
a renamed retry, a credential in the wrong header), without running them.
"""

from __future__ import annotations

import json

from avatar_contract.contract_tests.clients.grading import grade_runs
from avatar_contract.contract_tests.clients.running import ScenarioRun
from avatar_contract.contract_tests.clients.scorecard import refused_line, scenario_line
from avatar_contract.validators.journal import ExchangeRecord, RecordedRequest, RecordedResponse, body_of

CODES = {409: "request_in_progress", 503: "service_unavailable", 429: "rate_limit_exceeded", 401: "unauthorized"}


def _record(n: int, started: float, ended: float, status: int | None, *, key: str | None = "k-0", name: str = "A",
            url: str = "https://example.com/a.png", closed: bool = False, tenant: str | None = "t_1",
            credential: str | None = "x-api-key", retry_after: str | None = None) -> ExchangeRecord:
    headers = (("idempotency-key", key),) if key is not None else ()
    body = json.dumps({"type": "photo", "name": name, "file": {"type": "url", "url": url}}).encode()
    response = None
    if status is not None and not closed:
        answer = {"error": {"code": CODES.get(status, "x"), "message": "m"}} if status >= 400 else {"data": {}}
        extra = (("retry-after", retry_after),) if retry_after else ()
        response = RecordedResponse(status, extra, body_of(json.dumps(answer).encode()))
    return ExchangeRecord(id=n, source="t", started=started, ended=ended, connection=None, tenant=tenant,
                          request=RecordedRequest("POST", "/v3/avatars", headers=headers, body=body_of(body),
                                                  credential=credential),
                          outcome="client_closed" if closed else ("answered" if status else "reset"),
                          response=response)


def _grade(scenario: str, records: list[ExchangeRecord], codes: list[int | None] | None = None) -> dict[str, object]:
    results = grade_runs([ScenarioRun(scenario, records, codes or [0])])
    return {r.name: r for r in results}


def _parallel_copies() -> list[ExchangeRecord]:
    """Blind client f12: every attempt sent twice at once.  The server answers one copy
    (503, fast) while the other is still in flight, or answers the other 409."""
    out = []
    t = 0.0
    for attempt in range(4):
        key = f"k-{attempt // 2}"  # two intents, two attempts each
        out.append(_record(len(out), t, t + 0.004, 503, key=key, name=f"n{attempt // 2}"))
        out.append(_record(len(out), t + 0.001, t + 0.003, 409, key=key, name=f"n{attempt // 2}"))
        t += 1.0
    return out


def test_every_overlapping_same_key_pair_is_counted_and_owned_by_no_parallel_same_key() -> None:
    results = _grade("ambiguous-5xx", _parallel_copies())
    parallel = results["client.no_parallel_same_key"]
    assert parallel.verdict.value == "fail"
    assert parallel.reason.startswith("4 case(s): two requests with one key in flight at once"), parallel.reason
    # A concurrent copy answered 409 is not a follow-up: in_flight has nothing to judge, and fails nothing.
    assert results["client.in_flight"].verdict.value != "fail", results["client.in_flight"].failures


def test_a_409_in_progress_is_itself_proof_of_overlap() -> None:
    # The copies' timestamps do not show it (the first ended first, by the server's clock), but the
    # server answered the second 409 request_in_progress: it had the first in flight.
    records = [_record(0, 0.0, 0.0100, 503), _record(1, 0.0101, 0.0102, 409)]
    parallel = _grade("ambiguous-5xx", records)["client.no_parallel_same_key"]
    assert parallel.verdict.value == "fail" and "request_in_progress" in parallel.failures[0].message


def test_a_409_after_a_request_the_client_gave_up_on_is_no_overlap() -> None:
    # The reference client: its first attempt timed out (it went away), its retry met the claim.
    records = [_record(0, 0.0, 2.0, None, closed=True), _record(1, 2.1, 2.11, 409), _record(2, 3.2, 3.21, 200)]
    results = _grade("in-flight", records)
    assert results["client.no_parallel_same_key"].verdict.value == "pass"
    assert results["client.in_flight"].verdict.value == "pass"
    assert results["client.no_parallel_same_key"].reason == "1 key(s) sent more than once, never two at once"


def test_in_flight_judges_only_follow_ups_sent_after_the_409_arrived() -> None:
    # #2 started 1 ms before the 409 ended (a negative gap): a concurrent copy, not a follow-up.
    records = [_record(0, 0.0, 2.0, None, closed=True), _record(1, 2.1, 2.2, 409), _record(2, 2.199, 2.3, 200)]
    results = _grade("in-flight", records)
    assert results["client.in_flight"].verdict.value == "incomplete"
    assert results["client.no_parallel_same_key"].verdict.value == "fail"
    impatient = [_record(0, 0.0, 2.0, None, closed=True), _record(1, 2.1, 2.2, 409), _record(2, 2.22, 2.3, 200)]
    assert _grade("in-flight", impatient)["client.in_flight"].verdict.value == "fail"  # 20 ms after: too soon


def test_a_retry_that_renames_the_avatar_stays_with_its_intent() -> None:
    # Blind extra probe: the same key and body, " (retry N)" added to the name on each retry.
    records = [_record(n, n * 1.0, n * 1.0 + 0.01, 503, name="A" if n == 0 else f"A (retry {n + 1})")
               for n in range(9)]
    results = _grade("persistent-503", records, [1])
    bounded = results["client.bounded_retries"]
    assert bounded.verdict.value == "fail" and "9 attempts" in bounded.failures[0].message
    same = results["client.same_key_on_retry"]
    assert same.verdict.value == "fail" and "not byte-identical" in same.reason
    assert any("new name" in note for note in same.notes)
    assert results["client.new_key_per_intent"].verdict.value != "fail"


def test_one_key_for_two_avatars_is_still_two_intents() -> None:
    # Blind f04: one key for every avatar: other photos, so not renamed retries of one intent.
    records = [_record(0, 0.0, 0.01, 200, name="A", url="https://e.com/a.png"),
               _record(1, 1.0, 1.01, 200, name="B", url="https://e.com/b.png")]
    assert _grade("clean", records)["client.new_key_per_intent"].verdict.value == "fail"
    # After a success a renamed create is a new intent, whatever its other fields.
    after_success = [_record(0, 0.0, 0.01, 200, name="A"), _record(1, 1.0, 1.01, 200, name="B")]
    assert _grade("clean", after_success)["client.new_key_per_intent"].verdict.value == "fail"


def test_every_create_refused_401_is_said_in_one_line() -> None:
    records = [_record(n, n, n + 0.01, 401, tenant=None, credential="other", name=f"n{n}") for n in range(3)]
    line = refused_line([ScenarioRun("clean", records, [1]), ScenarioRun("unauthorized", records[:1], [1])])
    assert line.startswith("every create (3) was answered 401")
    assert "without the Bearer scheme" in line and "x-api-key: KEY, or Authorization: Bearer KEY" in line
    answered = [*records, _record(9, 9, 9.01, 200)]
    assert refused_line([ScenarioRun("clean", answered, [0])]) == ""


def test_the_wording_of_the_blind_testers_confusing_lines() -> None:
    long_key = "a" * 256
    results = _grade("clean", [_record(0, 0.0, 0.01, 400, key=long_key), _record(1, 1.0, 1.01, 400, key=long_key,
                                                                                   name="B")])
    assert results["client.key_format"].failures[0].kind == "Idempotency-Key is 256 characters long; at most 255 " \
                                                            "allowed"
    assert "two intents with valid keys" in results["client.new_key_per_intent"].reason
    growing = [_record(n, t, t + 0.01, 503, name="A") for n, t in enumerate((0.0, 0.05, 0.2))]
    backoff = _grade("persistent-503", growing, [1])["client.backoff"]
    assert backoff.verdict.value == "incomplete" and "retry series counted" in backoff.reason
    assert "persistent-503" in backoff.reason
    bounded = _grade("persistent-503", growing, [1])["client.bounded_retries"]
    assert bounded.reason == "1 intent(s), at most 3 attempt(s) seen (limit 6, --max-attempts)"
    assert scenario_line("clean", 0.4, [0, 0, 0, 0], 12, "") == \
        "scenario clean: 12 exchange(s) in 0.4 s; exit statuses 0, 0, 0, 0"
    assert scenario_line("clean", 0.4, [1], 3, "") == "scenario clean: 3 exchange(s) in 0.4 s; exit status 1"
