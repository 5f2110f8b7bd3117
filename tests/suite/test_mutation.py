"""The suite has teeth: each emulator fault fails (at least) the clause it declares,
and the clean emulator passes every clause.  Only the needed clause runs per fault."""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.mutation import mutation_score, run_fault
from avatar_contract.contract_tests.runner import RunState, run_clause, run_suite
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator import DEFAULT_RATE_LIMIT, FAULTS

from ._support import KEY_1, KEY_2, REMOTE, emulator

SEEDS = (0, 20240601)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_fails_its_declared_clause(fault: str, seed: int) -> None:
    outcome, result = run_fault(fault, Target(profile="quick", seed=seed))
    assert outcome.caught, f"{fault} ({outcome.clause}) not caught: {result.verdict.value} {result.reason}"
    assert result.failures and result.failures[0].exchange is not None, "a failure must carry its evidence"


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_emulator_passes_every_clause(seed: int) -> None:
    results = run_suite(Target(profile="quick", seed=seed))
    verdicts = {r.name: (r.verdict, r.reason) for r in results}
    assert [r.name for r in results] == list(CLAUSE_NAMES)
    assert all(v is Verdict.PASS for v, _ in verdicts.values()), verdicts
    assert all(r.cases > 0 for r in results), {r.name: r.cases for r in results}


def test_every_clause_has_a_fault_and_every_fault_a_clause() -> None:
    declared = {fault.clause for fault in FAULTS.values()}
    assert declared <= set(CLAUSE_NAMES)
    assert declared == set(CLAUSE_NAMES), set(CLAUSE_NAMES) - declared


def test_mutation_score_reports_each_fault() -> None:
    names = ["auth_skipped", "retry_after_http_date"]
    score = mutation_score(Target(profile="quick", seed=3), faults=names)
    assert (score.caught, score.total) == (2, 2)
    assert "2/2 faults caught" in score.line()
    assert [o["fault"] for o in score.to_dict()["faults"]] == names


# Faults that genuinely break a second clause's own property, and why.  Everything
# else a fault touches must stay pass (or incomplete), never fail: one owner per defect.
ALSO_BREAKS = {
    # 422/500 for invalid bodies: the wrong refusal (request.rejects_invalid) and an
    # undocumented status (response.status) are two properties of the contract.
    "status_422_for_invalid": {"response.status"},
    "status_500_for_invalid": {"response.status"},
    # A server that stores no key replays nothing: the different-body retry and the
    # concurrent retries each make a new avatar, which those clauses forbid.
    "idempotency_ignored": {"idempotency.replay_body_differs", "idempotency.in_flight"},
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_fails_its_own_clause_and_no_other(fault: str) -> None:
    results = run_suite(Target(profile="quick", seed=0, faults=frozenset({fault})))
    failing = {r.name for r in results if r.verdict is Verdict.FAIL}
    assert FAULTS[fault].clause in failing
    assert failing - {FAULTS[fault].clause} <= ALSO_BREAKS.get(fault, set()), \
        {r.name: [f.message for f in r.failures[:1]] for r in results if r.name in failing}
    others = [r for r in results if r.name not in failing]
    assert all(r.verdict in (Verdict.PASS, Verdict.INCOMPLETE) for r in others), \
        [(r.name, r.verdict, r.reason) for r in others if r.verdict not in (Verdict.PASS, Verdict.INCOMPLETE)]


@pytest.mark.parametrize("cap", [17, 10])  # 17: full coverage on the vendored spec (tests/suite/test_planner.py)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_is_still_killed_under_a_cap(fault: str, cap: int) -> None:
    """A remote target (the emulator with the fault, served in-process like any URL) and the
    full run's plan under --max-creates ``cap``: the fault's clause still fails."""
    rate = DEFAULT_RATE_LIMIT if FAULTS[fault].clause == "rate_limit.retry_after" else None
    app = emulator(faults=frozenset({fault}), rate_limit=rate)
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=cap, profile="quick", seed=0)
    state = RunState(target)  # the whole suite's plan, not one clause's
    result = run_clause(FAULTS[fault].clause, target, state)
    assert result.verdict is Verdict.FAIL, (fault, result.verdict, result.reason)
    assert state.ledger.state().made <= cap
