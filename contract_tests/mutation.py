"""Mutation score: does the suite catch every fault the emulator can inject?

For each fault, only the clause it declares is run (in-process, fresh app), so
the whole catalogue takes seconds.  A fault is *caught* when that clause fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .clauses.finding import ClauseResult, Verdict
from .runner import run_clause
from .targets.target import Target


@dataclass(frozen=True)
class FaultOutcome:
    fault: str
    clause: str
    caught: bool
    verdict: str
    detail: str


@dataclass
class MutationScore:
    outcomes: list[FaultOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def caught(self) -> int:
        return sum(1 for o in self.outcomes if o.caught)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def uncaught(self) -> list[FaultOutcome]:
        return [o for o in self.outcomes if not o.caught]

    def line(self) -> str:
        percent = 100.0 * self.caught / self.total if self.total else 0.0
        return f"mutation score: {self.caught}/{self.total} faults caught ({percent:.0f}%) in {self.seconds:.1f}s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "caught": self.caught,
            "total": self.total,
            "seconds": round(self.seconds, 2),
            "faults": [o.__dict__ for o in self.outcomes],
        }


def _faults() -> Any:
    from avatar_contract.emulator import FAULTS

    return FAULTS


def run_fault(name: str, base: Target) -> tuple[FaultOutcome, ClauseResult]:
    fault = _faults()[name]
    target = replace(base, base_url=None, faults=frozenset({name}))
    result = run_clause(fault.clause, target)
    caught = result.verdict is Verdict.FAIL
    detail = result.failures[0].message if result.failures else (result.reason or result.verdict.value)
    return FaultOutcome(name, fault.clause, caught, result.verdict.value, detail), result


def mutation_score(
    base: Target | None = None,
    faults: Iterable[str] | None = None,
    on_outcome: Callable[[FaultOutcome], None] | None = None,
) -> MutationScore:
    """Run each fault's declared clause against the emulator with that fault switched on."""
    base = base or Target(profile="quick", seed=0)
    started = time.perf_counter()
    score = MutationScore()
    for name in faults or list(_faults()):
        outcome, _ = run_fault(name, base)
        score.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    score.seconds = time.perf_counter() - started
    return score
