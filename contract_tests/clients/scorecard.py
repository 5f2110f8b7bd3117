"""A grading as a ``SuiteReport``: the same writers as ``verify`` (text, JSON, Markdown, JUnit, HTML)."""

from __future__ import annotations

from ..reports.report import SuiteReport
from ..targets.target import Target
from .grading import GradeResult

TITLE = "Client retry-safety report"


def scenario_line(run_scenario: str, seconds: float, codes: list[int | None], exchanges: int, stopped: str) -> str:
    shown = ", ".join("stopped" if c is None else str(c) for c in codes)
    return (f"scenario {run_scenario}: {exchanges} exchange(s), exit {shown}, {seconds:.1f} s"
            + (f" ({stopped})" if stopped else ""))


def as_suite_report(result: GradeResult, command: str) -> SuiteReport:
    """The grading for the report writers; the score and each scenario's facts head every format."""
    headline = [result.score_line()]
    headline += [scenario_line(r.scenario, r.seconds, r.exit_codes, len(r.records), r.stopped) for r in result.runs]
    run = {"requests": sum(len(r.records) for r in result.runs),
           "made": sum(1 for r in result.runs for x in r.records if x.created),
           "retry_safety_score": round(result.score, 1),
           "scenarios": [{"scenario": r.scenario, "exchanges": len(r.records), "exit_codes": r.exit_codes,
                          "seconds": round(r.seconds, 2), "stopped": r.stopped or None,
                          "journal": r.journal.name if r.journal else None} for r in result.runs]}
    return SuiteReport(Target(), result.results, result.seconds, secrets=result.secrets, run=run,
                       title=TITLE, subject=f"client: {command}", headline=headline)
