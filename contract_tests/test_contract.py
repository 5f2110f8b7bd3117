"""The contract suite as pytest tests: one test per clause, against the configured target.

``pytest contract_tests`` runs against the in-process emulator;
``pytest contract_tests --base-url URL --api-key KEY`` against anything else.
A clause that fails fails its test (with a reproducing curl line).  One that is
incomplete (cases that could not run) or errored (saw no response) also fails
its test, with the reason: it did not earn a pass, and CI must not go green on
it.  One that is skipped by choice or not observed is a skip with the reason.
All clauses of a session (and every xdist worker) share one create ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.plugin import CLAUSE_PROPERTY, shared_dir, suite_ready
from avatar_contract.contract_tests.reports.report import from_results, render_failures
from avatar_contract.contract_tests.runner import RunState, TargetUnusable, choose_seed, preflight, run_clause
from avatar_contract.contract_tests.targets.target import Target


@pytest.fixture(scope="session")
def run_state(contract_target: Target, pytestconfig: pytest.Config) -> RunState:
    """The run's create ledger and pool, shared through a directory by every xdist worker."""
    return RunState(choose_seed(contract_target), shared_dir=shared_dir(pytestconfig))


@pytest.fixture(scope="session")
def usable_target(contract_target: Target, run_state: RunState, pytestconfig: pytest.Config) -> Target:
    """The target, once shown to answer and to accept the key.

    The plugin checks that before the first test (a usage error, exit 4, its
    request counted in the run's ledger); this only asks again if the plugin did
    not set the suite up.
    """
    if suite_ready(pytestconfig):
        return contract_target
    try:
        preflight(contract_target, state=run_state)
    except TargetUnusable as exc:
        pytest.fail(f"avatar-contract: {exc}", pytrace=False)
    return contract_target


@pytest.mark.parametrize("clause_name", CLAUSE_NAMES)
def test_clause(clause_name: str, usable_target: Target, run_state: RunState,
                record_property: Callable[[str, object], None]) -> None:
    result = run_clause(clause_name, usable_target, run_state)
    record_property(CLAUSE_PROPERTY, json.dumps(result.summary_dict()))
    if result.verdict is Verdict.FAIL:
        secrets = [k for k in (usable_target.api_key, usable_target.second_api_key) if k]
        report = from_results(usable_target, [result], secrets)
        pytest.fail(f"{clause_name}: {result.reason}\n{render_failures(report)}", pytrace=False)
    if result.verdict in (Verdict.INCOMPLETE, Verdict.ERROR):
        # Not a pass: the clause did not see the evidence it needs (e.g. no real asset for a case).
        pytest.fail(f"{clause_name}: {result.verdict.value}: {result.reason}", pytrace=False)
    if result.verdict is Verdict.SKIPPED:
        pytest.skip(f"{clause_name}: {result.reason}")
    if result.verdict is Verdict.NOT_OBSERVED:
        pytest.skip(f"{clause_name}: not observed: {result.reason}")
