"""A target whose Retry-After has more digits than Python's int() takes must not crash the suite (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.reports.report import from_results, render_text, write
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.target import Target

from ._support import KEY_1, REMOTE, Throttler, emulator

HUGE_ZERO = "0" * 4_401  # delay-seconds 0, written with 4,401 digits: valid, and past int()'s limit


@pytest.mark.slow
def test_a_4401_digit_retry_after_is_judged_not_raised(tmp_path: Path) -> None:
    app = Throttler(emulator(), every=2, retry_after=HUGE_ZERO)
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, profile="quick", seed=5)
    results = run_suite(target, ["rate_limit.retry_after", "errors.envelope"])
    assert app.throttled > 0, "no 429 was sent: nothing was tested"
    assert {r.name: r.verdict for r in results} == {"rate_limit.retry_after": Verdict.PASS,
                                                    "errors.envelope": Verdict.PASS}
    report = from_results(target, results)
    render_text(report)
    files = {p.name: p for p in write(report, tmp_path)}
    json.loads(files["report.json"].read_text())
