"""errors.envelope asserts only the codes the spec states: a code only an example shows is noted, not failed."""

from __future__ import annotations

from typing import Any

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause, run_suite
from avatar_contract.contract_tests.targets.target import Target

from ._support import KEY_1, KEY_2, REMOTE, RewritesBodies


def _recoded(code: str) -> Any:
    def change(body: Any) -> Any:
        body["error"]["code"] = code
        return body
    return change


def test_a_code_other_than_the_400_example_passes_with_a_note() -> None:
    app = RewritesBodies(400, _recoded("invalid_parameter_value"))
    result = run_clause("errors.envelope", Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, allow_create=True,
                                                  profile="quick", seed=0))
    assert result.verdict is Verdict.PASS, (result.reason, [f.message for f in result.failures])
    notes = [n for n in result.notes if "an example, not asserted" in n]
    # Once per status, not once per 400 response.
    assert notes == ["status 400 answered code 'invalid_parameter_value'; the spec's example shows "
                     "'invalid_parameter' (an example, not asserted)"]


def test_a_409_with_another_code_than_the_stated_one_fails() -> None:
    app = RewritesBodies(409, _recoded("conflict"))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    profile="quick", seed=0)
    results = {r.name: r for r in run_suite(target, ["errors.envelope", "idempotency.in_flight"])}
    envelope = results["errors.envelope"]
    assert envelope.verdict is Verdict.FAIL
    assert any("documents code 'request_in_progress', got 'conflict'" in f.message for f in envelope.failures)
