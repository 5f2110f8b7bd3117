"""--unexpected-creates N (issue 15 §4): on a free target, one validation bug no longer hides the rest.

Default 0 is the breaker as before: the first create where a correct server
refuses opens it.  With N > 0 the run keeps judging after up to N of them,
each still counted, listed in every report format and held within --max-creates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.planning.budget import Ledger
from avatar_contract.contract_tests.reports.html import to_html
from avatar_contract.contract_tests.reports.junit import to_junit
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.report import from_results, render_text, to_json
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.validators._cli import main

from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE

CLAUSES = [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"]  # (the burst: nothing to create)


class LongPrompts(Independent):
    """Correct but for one request-validation bug: a prompt over maxLength is cut and accepted, not refused."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        if isinstance(body, dict) and isinstance(body.get("prompt"), str) and len(body["prompt"]) > 1000:
            raw = json.dumps({**body, "prompt": body["prompt"][:1000]}).encode()
        return await super().process(raw)


def _run(tolerate: int, cap: int) -> tuple[LongPrompts, Target, RunState, dict[str, Any]]:
    app = LongPrompts((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=cap, unexpected_creates=tolerate, profile="quick", seed=5, assets=load_assets(ASSETS))
    state = RunState(target)
    results = {r.name: r for r in run_suite(target, CLAUSES, state=state)}
    return app, target, state, results


def test_by_default_the_first_unexpected_create_opens_the_breaker_as_before() -> None:
    app, _, state, results = _run(0, 20)
    summary = state.summary()
    assert summary["tripped"] and summary["unplanned"] == 1 and app.created <= 20
    assert results["request.rejects_invalid"].verdict is Verdict.FAIL
    stopped = [n for n, r in results.items() if r.verdict is Verdict.INCOMPLETE and "circuit breaker" in r.reason]
    assert stopped  # what the bug hid


def test_with_20_every_clause_judges_and_each_unexpected_create_is_counted_reported_and_capped() -> None:
    cap = 40
    app, target, state, results = _run(20, cap)
    summary = state.summary()
    assert not summary["tripped"]
    unexpected = int(summary["unplanned"])  # type: ignore[call-overload]
    assert 1 < unexpected <= 20 and len(summary["unexpected"]) == unexpected  # type: ignore[arg-type]
    assert app.created <= int(summary["made"]) <= cap  # type: ignore[call-overload]
    verdicts = {n: r.verdict for n, r in results.items()}
    assert verdicts == {**dict.fromkeys(CLAUSES, Verdict.PASS), "request.rejects_invalid": Verdict.FAIL}, \
        {n: r.reason for n, r in results.items() if r.verdict is not Verdict.PASS}
    # Reported as such in every format (the one result stream).
    report = from_results(target, results.values(), run=summary)
    assert to_json(report)["unexpected_creates"] == unexpected
    for text in (render_text(report), to_markdown(report), to_html(report), to_junit(report),
                 json.dumps(to_json(report))):
        assert f"{unexpected} UNEXPECTED create(s)" in text and "--unexpected-creates 20" in text


def test_at_the_cap_the_cap_wins_not_the_tolerance() -> None:
    app, _, state, results = _run(20, 20)
    assert app.created <= 20 and not state.summary()["tripped"]
    assert not [r for r in results.values() if "circuit breaker" in r.reason]


def test_the_ledger_opens_the_breaker_at_the_first_create_over_the_tolerance() -> None:
    ledger = Ledger(10, tolerate=2)
    for number in (1, 2, 3):
        ledger.settle(200, planned=False, must_refuse=True, evidence=f"request #{number} (a refusal probe)")
        assert bool(ledger.state().tripped) is (number == 3)
    state = ledger.state()
    assert state.unplanned == 3 and len(state.unexpected) == 3 and state.unexpected[0].startswith("request #1 ")
    assert "over --unexpected-creates 2" in state.tripped


def test_verify_refuses_a_negative_tolerance_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--unexpected-creates", "-1", "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--unexpected-creates must be >= 0, got -1" in err and "Traceback" not in err
