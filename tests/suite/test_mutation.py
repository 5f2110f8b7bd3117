"""The suite has teeth: each emulator fault fails (at least) the clause it declares,
and the clean emulator passes every clause.  Only the needed clause runs per fault."""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.finding import Verdict
from avatar_contract.contract_tests.mutation import mutation_score, run_fault
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.target import Target
from avatar_contract.emulator import FAULTS

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
