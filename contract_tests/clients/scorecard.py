"""A grading as a ``SuiteReport``: the same writers as ``verify`` (text, JSON, Markdown, JUnit, HTML)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..reports.report import SuiteReport
from ..targets.target import Target
from .attempts import is_create
from .grading import GradeResult
from .running import ScenarioRun

TITLE = "Client retry-safety report"
LEGEND = "cases: the situations each check judged (its detail says which); totals: every exchange, avatars made"
_SENT = {"x-api-key": "an x-api-key header", "bearer": "Authorization: Bearer",
         "other": "an Authorization header without the Bearer scheme", "none": "no credential"}


def scenario_line(run_scenario: str, seconds: float, codes: list[int | None], exchanges: int, stopped: str) -> str:
    """``scenario clean: 12 exchange(s) in 0.4 s; exit statuses 0, 0, 0, 0``."""
    shown = ", ".join("stopped" if c is None else str(c) for c in codes)
    return (f"scenario {run_scenario}: {exchanges} exchange(s) in {seconds:.1f} s; "
            f"exit status{'es' if len(codes) > 1 else ''} {shown}" + (f" ({stopped})" if stopped else ""))


def refused_line(runs: Sequence[ScenarioRun]) -> str:
    """One plain line when every create outside ``unauthorized`` was answered 401, else "":
    the client's credential never worked, so every other check is incomplete for that reason."""
    creates = [r for run in runs if run.scenario != "unauthorized" for r in run.records if is_create(r)]
    if not creates or any(r.response is None or r.response.status != 401 for r in creates):
        return ""
    sent = Counter(_SENT.get(r.request.credential or "none", str(r.request.credential)) for r in creates)
    how = " or ".join(sent)
    return (f"every create ({len(creates)}) was answered 401: the emulator never accepted the client's credential "
            f"(it sent {how}); check the API key the client sends (AVATAR_API_KEY) and the header it goes in "
            "(x-api-key: KEY, or Authorization: Bearer KEY)")


def as_suite_report(result: GradeResult, command: str) -> SuiteReport:
    """The grading for the report writers; the score and each scenario's facts head every format."""
    headline = [result.score_line()]
    refused = refused_line(result.runs)
    headline += [refused] if refused else []
    headline += [scenario_line(r.scenario, r.seconds, r.exit_codes, len(r.records), r.stopped) for r in result.runs]
    run = {"requests": sum(len(r.records) for r in result.runs),
           "made": sum(1 for r in result.runs for x in r.records if x.created),
           "retry_safety_score": round(result.score, 1), "legend": LEGEND,
           "scenarios": [{"scenario": r.scenario, "exchanges": len(r.records), "exit_codes": r.exit_codes,
                          "seconds": round(r.seconds, 2), "stopped": r.stopped or None,
                          "journal": r.journal.name if r.journal else None} for r in result.runs]}
    return SuiteReport(Target(), result.results, result.seconds, secrets=result.secrets, run=run,
                       title=TITLE, subject=f"client: {command}", headline=headline, columns=("cases",))
