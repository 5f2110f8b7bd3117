"""No false alarms: an independent, correct implementation passes every clause."""

from __future__ import annotations

from contract_tests.finding import Verdict
from contract_tests.runner import run_suite
from contract_tests.target import Target

from ._independent import Independent
from ._support import KEY_1, KEY_2, REMOTE


def test_an_independent_correct_implementation_passes_every_clause() -> None:
    app = Independent((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app,
                    allow_create=True, max_creates=100_000, profile="quick", seed=5)
    results = run_suite(target)
    assert {r.name: r.verdict for r in results} == {r.name: Verdict.PASS for r in results}, \
        [(r.name, r.reason, [f.message for f in r.failures[:2]]) for r in results if r.verdict is not Verdict.PASS]
    assert app.created > 0
