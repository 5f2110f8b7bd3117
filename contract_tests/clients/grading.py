"""Grade a client's retry safety: serve the emulator, run the client per scenario, judge the journals.

    >>> result = grade_command(["python", "my_harness.py"], workdir=Path("reports/grade"))  # doctest: +SKIP
    >>> result.score_line(), result.exit_code

The retry-safety score is the share of checks that pass: an incomplete check
counts as not passed, so a client cannot score higher by reaching less.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from avatar_contract.emulator._config import DEFAULT_JOURNAL_LIMIT
from avatar_contract.emulator._schedule import SCENARIOS

from ..clauses.finding import ClauseResult, Verdict
from .judging import CHECK_IDS, DEFAULT_MAX_ATTEMPTS, Grading, judge
from .running import DEFAULT_INTENTS, DEFAULT_TIMEOUT, ScenarioRun, run_scenario
from .serving import ServedEmulator, scenario_keys

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


@dataclass
class GradeResult:
    """Every check's result, the scenario runs they were judged on, and the score."""

    results: list[ClauseResult]
    runs: list[ScenarioRun] = field(default_factory=list)
    seconds: float = 0.0
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def verdict(self, check: str) -> str:
        return next(r.verdict.value for r in self.results if r.name == check)

    def verdicts(self) -> dict[str, str]:
        return {r.name: r.verdict.value for r in self.results}

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if r.verdict is Verdict.FAIL]

    @property
    def passed(self) -> int:
        return sum(r.verdict is Verdict.PASS for r in self.results)

    @property
    def score(self) -> float:
        """Retry-safety score, 0-100: checks passed / checks graded (incomplete is not passed)."""
        return 100.0 * self.passed / len(self.results) if self.results else 0.0

    def score_line(self) -> str:
        return f"retry-safety score: {self.score:.0f}/100 ({self.passed} of {len(self.results)} checks pass)"

    @property
    def exit_code(self) -> int:
        """0 every check passes; 1 some check fails; 3 none fails but some is incomplete."""
        if self.failed:
            return EXIT_FAIL
        return EXIT_OK if self.results and self.passed == len(self.results) else EXIT_INCOMPLETE


def check_scenarios(names: Sequence[str] | None) -> list[str]:
    """The scenarios to play, in the catalogue's order; ValueError naming the valid ones."""
    if not names:
        return list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; valid: {', '.join(SCENARIOS)}")
    return [n for n in SCENARIOS if n in names]


def grade_runs(runs: Sequence[ScenarioRun], *, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
               checks: Sequence[str] = CHECK_IDS) -> list[ClauseResult]:
    """Judge scenario runs already made (the pytest fixture's and grade_command's)."""
    results = judge(Grading(runs, max_attempts), checks)
    notes = [f"{run.scenario}: {run.stopped}" for run in runs if run.stopped]
    for result in results:
        if result.verdict is not Verdict.PASS:
            result.notes += notes
    return results


def grade_command(command: Sequence[str], *, workdir: Path, scenarios: Sequence[str] | None = None,
                  parallel: int = 1, timeout: float = DEFAULT_TIMEOUT, intents: int = DEFAULT_INTENTS,
                  max_attempts: int = DEFAULT_MAX_ATTEMPTS, time_scale: float = 1.0,
                  journal_limit: int = DEFAULT_JOURNAL_LIMIT, on_scenario: object = None) -> GradeResult:
    """Run ``command`` once per scenario (``parallel`` copies at once) and grade it.

    ``workdir`` receives each scenario's journal (``journal-NAME.ndjson``) and the
    client's output (``client-NAME-N.log``).  Raises ``CommandError`` when the
    command cannot start, ``ValueError`` for bad options.
    """
    if not command:
        raise ValueError("no command to grade: give it after --")
    if not 1 <= parallel <= 64:
        raise ValueError(f"--parallel must be 1-64, not {parallel}")
    if intents < 1 or max_attempts < 1 or timeout <= 0:
        raise ValueError("--intents, --max-attempts and --timeout must be positive")
    names = check_scenarios(scenarios)
    keys = scenario_keys(names, parallel)
    workdir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    runs = []
    with ServedEmulator(keys, time_scale=time_scale, journal_limit=journal_limit) as served:
        for name in names:
            run = run_scenario(served, command, name, workdir=workdir, intents=intents, timeout=timeout)
            runs.append(run)
            if callable(on_scenario):
                on_scenario(run)
    results = grade_runs(runs, max_attempts=max_attempts)
    return GradeResult(results, runs, time.monotonic() - began, tuple(k for ks in keys.values() for k in ks))
