"""What a clause concluded: failures with their evidence, and the verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..reports.excerpt import Excerpt
from ..targets.exchange import Exchange
from ..targets.response_body import kept_name


class Verdict(StrEnum):
    """A clause's verdict.  ``pass`` is earned only with the evidence the clause needs.

    ``incomplete``: some planned cases did not run (no creates left, the target
    stopped answering, a rate limit that never cleared, the run's deadline).
    ``error``: the clause saw nothing it could judge (no response at all).
    Neither is a pass, and either keeps ``verify`` from exiting 0.
    """

    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"
    ERROR = "error"
    NOT_OBSERVED = "not observed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    """One step of the exchanges that show a failure: one request, or several sent at once.

    ``repeat`` > 1 (with ``until``): the first exchange stands for a burst of up
    to ``repeat`` such requests, stopped at the first answer with status ``until``.
    """

    exchanges: tuple[Exchange, ...]
    concurrent: bool = False
    repeat: int = 1
    until: int | None = None


def steps(*parts: Exchange | Sequence[Exchange]) -> tuple[Step, ...]:
    """A sequence from exchanges (one step each) and lists of exchanges (sent concurrently)."""
    return tuple(Step((p,)) if isinstance(p, Exchange) else Step(tuple(p), concurrent=len(p) > 1) for p in parts)


class ClauseFailure(AssertionError):
    """A clause's assertion that did not hold, with the exchange that shows it.

    An ``AssertionError`` so that schemathesis (which collects those from
    ``@schemathesis.check`` functions) and pytest both treat it as a failure.
    ``sequence``: when one request cannot show it (a race, a second tenant, a
    replay, a rate limit), every exchange that does, in order; ``compare`` says
    what a reader of the reproducer should compare.
    """

    def __init__(self, clause: str, message: str, exchange: Exchange | None = None, *,
                 sequence: Sequence[Step] = (), compare: str = "") -> None:
        super().__init__(f"{clause}: {message}")
        self.clause = clause
        self.message = message
        self.exchange = exchange
        self.sequence = tuple(sequence)
        self.compare = compare
        self.count = 1  # failures of the same kind are folded into the first one
        self.kind = message  # what groups them: a rule or a status, never a case label
        self.others: list[str] = []  # the first messages of the rest of the kind (the count is exact)
        self.pointer: str | None = None  # the failing JSON Pointer in the response, when there is one
        self.excerpt: Excerpt | None = None  # the response around it (see excerpt.py)


class Incomplete(Exception):
    """Some of the clause's planned cases could not run; the reason says which and why."""


class NotObserved(Exception):
    """The behaviour the clause is about never showed up; nothing to judge."""


class Skipped(Exception):
    """The clause cannot run against this target (creation not allowed, no second key...)."""


@dataclass
class ClauseResult:
    name: str
    verdict: Verdict
    reason: str = ""
    failures: list[ClauseFailure] = field(default_factory=list)
    requests: int = 0
    creates: int = 0
    cases: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    planned: int = 0  # cases (facts and probes) the clause meant to judge
    ran: int = 0  # of those, how many it did
    needs_creates: int = 0  # more creates that full coverage of this clause would take

    def to_dict(self, curl: Any = None) -> dict[str, Any]:
        """The report's JSON shape; ``curl`` renders an exchange as a curl line."""
        return {
            "clause": self.name,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "requests": self.requests,
            "creates": self.creates,
            "cases": self.cases,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "planned": self.planned, "ran": self.ran, "needs_creates": self.needs_creates,
            "failures": [
                {
                    "kind": f.kind,
                    "message": f.message,
                    "count": f.count,
                    "others": list(f.others),
                    "status": f.exchange.status if f.exchange else None,
                    "response": f.exchange.summary() if f.exchange else None,
                    "pointer": f.pointer,
                    # A large body: the whole of it beside the report (the response above is its start).
                    "body": {"size": f.exchange.size, "sha256": f.exchange.sha256,
                             "file": kept_name(f.exchange.sha256)} if f.exchange and f.exchange.spill else None,
                    "excerpt": f.excerpt.line() if f.excerpt else None,
                    "curl": curl(f.exchange) if (curl and f.exchange) else None,
                }
                for f in self.failures
            ],
        }

    def summary_dict(self) -> dict[str, Any]:
        """The verdict without evidence: what crosses from an xdist worker to the controller."""
        return {
            "clause": self.name, "verdict": self.verdict.value, "reason": self.reason,
            "requests": self.requests, "creates": self.creates, "cases": self.cases,
            "notes": list(self.notes), "seconds": round(self.seconds, 3),
            "planned": self.planned, "ran": self.ran, "needs_creates": self.needs_creates,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClauseResult:
        return cls(
            name=str(data["clause"]), verdict=Verdict(data["verdict"]), reason=str(data.get("reason", "")),
            requests=int(data.get("requests", 0)), creates=int(data.get("creates", 0)),
            cases=int(data.get("cases", 0)), notes=list(data.get("notes", [])),
            seconds=float(data.get("seconds", 0.0)), planned=int(data.get("planned", 0)),
            ran=int(data.get("ran", 0)), needs_creates=int(data.get("needs_creates", 0)),
        )
