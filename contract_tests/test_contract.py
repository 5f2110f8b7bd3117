"""The contract suite as pytest tests: one test per clause, against the configured target.

``pytest contract_tests`` runs against the in-process emulator;
``pytest contract_tests --base-url URL --api-key KEY`` against anything else.
A clause that fails fails its test (with a reproducing curl line); one that is
skipped or not observed is reported as a skip with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from avatar_contract.contract_tests.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.finding import Verdict
from avatar_contract.contract_tests.plugin import CLAUSE_PROPERTY, suite_ready
from avatar_contract.contract_tests.report import from_results, render_failures
from avatar_contract.contract_tests.runner import TargetUnusable, preflight, run_clause
from avatar_contract.contract_tests.target import Target


@pytest.fixture(scope="session")
def usable_target(contract_target: Target, pytestconfig: pytest.Config) -> Target:
    """The target, once shown to answer and to accept the key.

    The plugin checks that before the first test (a usage error, exit 4); this
    only asks again if the plugin did not set the suite up (it was disabled).
    """
    if suite_ready(pytestconfig):
        return contract_target
    try:
        preflight(contract_target)
    except TargetUnusable as exc:
        pytest.fail(f"avatar-contract: {exc}", pytrace=False)
    return contract_target


@pytest.mark.parametrize("clause_name", CLAUSE_NAMES)
def test_clause(clause_name: str, usable_target: Target,
                record_property: Callable[[str, object], None]) -> None:
    result = run_clause(clause_name, usable_target)
    record_property(CLAUSE_PROPERTY, json.dumps(result.summary_dict()))
    if result.verdict is Verdict.FAIL:
        secrets = [k for k in (usable_target.api_key, usable_target.second_api_key) if k]
        report = from_results(usable_target, [result], secrets)
        pytest.fail(f"{clause_name}: {result.reason}\n{render_failures(report)}", pytrace=False)
    if result.verdict is Verdict.SKIPPED:
        pytest.skip(f"{clause_name}: {result.reason}")
    if result.verdict is Verdict.NOT_OBSERVED:
        pytest.skip(f"{clause_name}: not observed: {result.reason}")
