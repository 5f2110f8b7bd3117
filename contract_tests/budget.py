"""How many avatars each clause may create, so a live run never exceeds --max-creates.

The plan is a pure function of the target and the clause list, so every
pytest-xdist worker computes the same one and the workers' shares add up to at
most the cap without talking to each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .exchange import Exchange
from .target import Target


class BudgetExhausted(Exception):
    """A request that would create an avatar, with no create left in the clause's share."""


@dataclass(frozen=True)
class CreateNeed:
    """A clause's appetite: ``minimum`` to say anything at all, ``wanted`` for full coverage."""

    clause: str
    minimum: int
    wanted: int


@dataclass
class CreateBudget:
    """One clause's share.  ``allowance=None`` is unlimited (the in-process emulator)."""

    allowance: int | None
    made: int = 0
    refused: int = 0
    _ids: set[str] = field(default_factory=set)

    def can(self, count: int = 1) -> bool:
        return self.allowance is None or self.made + count <= self.allowance

    def require(self, count: int = 1) -> None:
        if not self.can(count):
            self.refused += 1
            raise BudgetExhausted(f"no create left for {count} more (allowance {self.allowance})")

    def observe(self, exchange: Exchange) -> None:
        """Count what a 2xx really created: a replay of a known id is not a new avatar."""
        if not 200 <= exchange.status < 300:
            return
        ident = exchange.item_id()
        if ident is None or ident not in self._ids:
            self.made += 1
            if ident is not None:
                self._ids.add(ident)


def plan(target: Target, needs: Iterable[CreateNeed]) -> dict[str, int | None]:
    """Each clause's share of ``target.max_creates``; ``None`` (unlimited) when embedded.

    Two passes in priority order: first every clause's minimum, then top-ups to
    what each wants, so a small cap still covers the most clauses.
    """
    ordered = list(needs)
    if target.embedded:
        return {need.clause: None for need in ordered}
    if not target.allow_create:
        return {need.clause: 0 for need in ordered}
    left = max(0, target.max_creates)
    shares = {need.clause: 0 for need in ordered}
    for need in ordered:
        # A share below the minimum would only half-run the clause; skip it instead.
        if need.minimum <= left:
            shares[need.clause] = need.minimum
            left -= need.minimum
    for need in ordered:
        if shares[need.clause] == 0 and need.minimum > 0:
            continue
        give = min(need.wanted - shares[need.clause], left)
        if give > 0:
            shares[need.clause] += give
            left -= give
    # A generous cap (a local server) lets clauses go past their estimate:
    # the rest is shared out evenly among the clauses that create.
    takers = [need.clause for need in ordered if shares[need.clause] > 0]
    for clause in takers:
        shares[clause] += left // len(takers)
    return dict(shares)
