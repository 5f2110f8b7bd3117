"""What traffic showed each clause: failures folded by kind (first example kept), cases judged, notes.

The folding is the suite's (``ClauseContext.fail``): one kind keeps its first
example and an exact count, so a flood of one defect never hides another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..clauses.clause import MAX_KINDS, MAX_OTHERS
from ..clauses.finding import ClauseFailure, Step
from ..reports.excerpt import excerpt
from ..targets.exchange import Exchange


@dataclass
class Tally:
    name: str
    failures: list[ClauseFailure] = field(default_factory=list)
    cases: int = 0
    notes: list[str] = field(default_factory=list)
    hidden_kinds: int = 0

    def fail(self, message: str, exchange: Exchange | None, kind: str, *, sequence: Sequence[Step] = (),
             compare: str = "", pointer: str | None = None) -> None:
        self.cases += 1
        for earlier in self.failures:
            if earlier.kind == kind:
                earlier.count += 1
                if len(earlier.others) < MAX_OTHERS and message != earlier.message:
                    earlier.others.append(message)
                return
        if len(self.failures) >= MAX_KINDS:
            self.hidden_kinds += 1
            return
        failure = ClauseFailure(self.name, message, exchange, sequence=sequence, compare=compare)
        failure.kind = kind
        if pointer is not None and exchange is not None and exchange.judgeable:
            failure.pointer, failure.excerpt = pointer, excerpt(exchange.body, pointer)
        self.failures.append(failure)

    def adopt(self, failure: ClauseFailure, where: str) -> None:
        """A failure a shared check raised (checks.check_exchange), with the exchange's address appended."""
        self.fail(f"{failure.message} ({where})", failure.exchange, failure.kind, pointer=failure.pointer)

    def note(self, text: str) -> None:
        if text not in self.notes and len(self.notes) < 20:
            self.notes.append(text)


class Tallies(dict[str, Tally]):
    """One tally per clause name, made on first use."""

    def __missing__(self, name: str) -> Tally:
        tally = self[name] = Tally(name)
        return tally
