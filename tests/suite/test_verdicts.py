"""Verdicts are earned: exit codes, the score line, failure kinds, and no pass on no evidence."""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests._verify_command import EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK, exit_code
from avatar_contract.contract_tests.clauses.clause import MAX_KINDS, ClauseContext
from avatar_contract.contract_tests.clauses.finding import ClauseResult, Verdict
from avatar_contract.contract_tests.probes.bodies import factory
from avatar_contract.contract_tests.reports.report import from_results
from avatar_contract.contract_tests.targets.target import Target

V = Verdict


def _report(*verdicts: Verdict) -> object:
    return from_results(Target(), [ClauseResult(f"c{i}", v) for i, v in enumerate(verdicts)])


@pytest.mark.parametrize(("verdicts", "code"), [
    ((V.PASS, V.PASS), EXIT_OK),
    ((V.PASS, V.SKIPPED, V.NOT_OBSERVED), EXIT_OK),  # skipped by choice, not observed: documented as allowed
    ((V.PASS, V.INCOMPLETE), EXIT_INCOMPLETE),
    ((V.PASS, V.ERROR), EXIT_INCOMPLETE),
    ((V.SKIPPED, V.NOT_OBSERVED), EXIT_INCOMPLETE),  # verified nothing: never 0
    ((V.FAIL, V.INCOMPLETE, V.PASS), EXIT_FAIL),
    ((), EXIT_INCOMPLETE),
])
def test_exit_codes(verdicts: tuple[Verdict, ...], code: int) -> None:
    assert exit_code(_report(*verdicts)) == code  # type: ignore[arg-type]


def test_the_score_keeps_what_could_not_run_in_the_denominator() -> None:
    report = _report(*([V.PASS] * 13), V.FAIL, V.INCOMPLETE)
    assert report.score() == "13 pass · 1 fail · 1 incomplete of 15"  # type: ignore[attr-defined]


def _ctx() -> ClauseContext:
    async def never() -> object:
        raise AssertionError

    return ClauseContext("request.rejects_invalid", Target(), None, factory(), 0, never)  # type: ignore[arg-type]


def test_failures_are_grouped_by_kind_with_exact_counts_and_no_kind_is_hidden() -> None:
    ctx = _ctx()
    for i in range(500):  # one flood of a single defect...
        ctx.fail(f"case #{i}: expected 400, got 500", kind="status 500")
    ctx.fail("case #501: expected 400, got 422", kind="status 422")  # ...must not hide another one
    assert [(f.kind, f.count) for f in ctx.failures] == [("status 500", 500), ("status 422", 1)]
    assert ctx.failures[0].message.startswith("case #0")  # the first example is kept
    for i in range(MAX_KINDS + 3):
        ctx.fail(f"kind {i}", kind=f"k{i}")
    assert len(ctx.failures) == MAX_KINDS and ctx.hidden_kinds == 5


def _run_stand_in(body: object) -> ClauseResult:
    """A clause whose run is ``body``, through the engine every real clause goes through."""
    import asyncio

    from avatar_contract.contract_tests.clauses.clause import Clause
    from avatar_contract.contract_tests.runner import RunState, _run

    target = Target(profile="quick", seed=1)
    stand_in = Clause("response.schema", "stand-in", "stand-in", body)  # type: ignore[arg-type]
    return asyncio.run(_run(stand_in, target, RunState(target, ["response.schema"])))


def test_a_clause_that_saw_no_response_is_error_never_pass() -> None:
    async def sends_nothing(ctx: ClauseContext) -> None:
        return None  # e.g. a filter that dropped every case

    result = _run_stand_in(sends_nothing)
    assert result.verdict is V.ERROR and result.reason == "saw no response at all"
    assert exit_code(from_results(Target(), [result, ClauseResult("c", V.PASS)])) == EXIT_INCOMPLETE


def test_a_clause_that_got_answers_but_judged_none_is_error() -> None:
    async def ignores_answers(ctx: ClauseContext) -> None:
        await ctx.session.post({})  # answered (400), but nothing is asserted about it

    result = _run_stand_in(ignores_answers)
    assert result.verdict is V.ERROR and result.reason == "judged nothing" and result.requests == 1


def test_a_clause_that_judged_its_answers_passes() -> None:
    async def judges(ctx: ClauseContext) -> None:
        ctx.expect_error(await ctx.session.post({}), 400, "an empty body")

    result = _run_stand_in(judges)
    assert result.verdict is V.PASS and result.cases == 1


def test_a_folded_kind_keeps_its_cases_for_the_report_files() -> None:
    from avatar_contract.contract_tests.reports.html import to_html
    from avatar_contract.contract_tests.reports.markdown import to_markdown
    from avatar_contract.contract_tests.reports.report import to_json

    ctx = _ctx()
    for i in range(5):
        ctx.fail(f"case #{i}: refused 400", kind="refused 400")
    ctx.fail("case #0: refused 400", kind="refused 400")  # the same message again: counted, not repeated
    [failure] = ctx.failures
    assert failure.count == 6 and failure.others == [f"case #{i}: refused 400" for i in range(1, 5)]
    result = ClauseResult("request.rejects_invalid", V.FAIL, failures=ctx.failures)
    report = from_results(Target(), [result])
    assert to_json(report)["clauses"][0]["failures"][0]["others"] == failure.others
    markdown = to_markdown(report)
    assert "Also of this kind:" in markdown and "case #4: refused 400" in markdown and "… and 1 more" in markdown
    assert "<li>case #3: refused 400</li>" in to_html(report)
