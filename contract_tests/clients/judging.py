"""The checks' registry and what every check judges: the scenario runs, as intents.

A check is a function registered under its stable id (the issue's table):
it returns pass, fail (each failure with the exchanges that show it), or
incomplete when the client never reached the situation the check is about.
One owner per defect: where one mistake shows in several properties, the
check that owns it fails and the others leave it out (their notes say so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from ..clauses.finding import ClauseFailure, ClauseResult, Verdict
from .attempts import Attempt, Intent, in_flight_with, link_renamed, named_intents, same_key
from .running import ScenarioRun

DEFAULT_MAX_ATTEMPTS = 6

CHECK_IDS: tuple[str, ...] = (
    "client.key_present",
    "client.key_format",
    "client.same_key_on_retry",
    "client.new_key_per_intent",
    "client.no_keyless_retry",
    "client.one_resource_per_intent",
    "client.retry_after",
    "client.long_retry_after",
    "client.bounded_retries",
    "client.backoff",
    "client.in_flight",
    "client.no_retry_on_invalid",
    "client.no_retry_on_auth",
    "client.no_parallel_same_key",
)


@dataclass
class Grading:
    """What the checks judge: every scenario run, and the grading's options."""

    runs: Sequence[ScenarioRun]
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @cached_property
    def _linked(self) -> tuple[list[Intent], int]:
        found: list[Intent] = []
        moved = 0
        for run in self.runs:
            linked, n = link_renamed(named_intents(run.scenario, run.records, run.started))
            found += linked
            moved += n
        return found, moved

    @property
    def intents(self) -> list[Intent]:
        return self._linked[0]

    @cached_property
    def overlapping(self) -> set[tuple[str, int]]:
        """(scenario, journal id) of every request sent while another with its key was in flight,
        and of those it overlapped: client.no_parallel_same_key's alone."""
        out: set[tuple[str, int]] = set()
        for run in self.runs:
            for group in same_key(self.in_scenario(run.scenario)):
                for attempt, busy in in_flight_with(group):
                    if busy:
                        out.update((a.scenario, a.record.id) for a in (attempt, *busy))
        return out

    @property
    def renamed(self) -> int:
        """Creates counted as retries of an earlier intent although they asked for another name."""
        return self._linked[1]

    def run(self, scenario: str) -> ScenarioRun | None:
        return next((r for r in self.runs if r.scenario == scenario), None)

    def in_scenario(self, *names: str) -> list[Intent]:
        return [i for i in self.intents if i.scenario in names]

    @property
    def attempts(self) -> list[Attempt]:
        return [a for i in self.intents for a in i.attempts]


@dataclass
class Findings:
    """A check's failures, one per kind (what went wrong), each with its first example;
    the other cases of a kind are counted and the first 50 listed (report.md shows them)."""

    check: str
    failures: list[ClauseFailure] = field(default_factory=list)
    judged: int = 0  # situations the check saw
    notes: list[str] = field(default_factory=list)

    def fail(self, kind: str, example: str, count: int = 1) -> None:
        """``count`` cases of ``kind``, ``example`` showing them (several pairs of one request, say)."""
        for failure in self.failures:
            if failure.kind == kind:
                failure.count += count
                if len(failure.others) < 50:
                    failure.others.append(example)
                return
        failure = ClauseFailure(self.check, f"{kind}: {example}")
        failure.kind = kind
        failure.count = count
        self.failures.append(failure)

    def result(self, requests: int, *, incomplete: str = "", passed: str = "") -> ClauseResult:
        """Fail with failures; else incomplete with its reason when nothing was judged; else pass."""
        if self.failures:
            shown = sum(f.count for f in self.failures)
            verdict, reason = Verdict.FAIL, f"{shown} case(s): {self.failures[0].kind}"
        elif self.judged == 0 or incomplete:
            verdict, reason = Verdict.INCOMPLETE, incomplete or "the client never reached the situation"
        else:
            verdict, reason = Verdict.PASS, passed
        return ClauseResult(self.check, verdict, reason=reason, failures=self.failures, requests=requests,
                            cases=self.judged, notes=self.notes)


Check = Callable[[Grading], ClauseResult]
CHECKS: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    if name not in CHECK_IDS:
        raise ValueError(f"{name} is not a check id")

    def register(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn
    return register


def judge(grading: Grading, names: Sequence[str] = CHECK_IDS) -> list[ClauseResult]:
    """Every check's result, in the table's order."""
    from . import checks_keys, checks_timing  # noqa: F401 - they register the checks

    return [CHECKS[name](grading) for name in names]
