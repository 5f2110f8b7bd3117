"""What the create pool found, fact by fact, and how one run's pool is shared by pytest-xdist workers.

The first worker to need the pool runs it and leaves the result (credentials
removed) in the run's shared directory; the others read it instead of creating again.
"""

from __future__ import annotations

import asyncio
import fcntl
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..targets.exchange import Exchange
from .planner import CreatePlan, Fact

PROVEN, FAILED, UNRUN = "proven", "failed", "unrun"
RESCUE = "[retry elsewhere] "  # an unrun fact whose create was refused for another fact's reason
PACKED = "[retry alone] "  # another clause's fact in a refused create: judged only when re-tried alone
NEEDS_INPUT = "[needs input] "  # an unrun fact this target cannot be given the inputs for (--asset)


@dataclass
class FactOutcome:
    fact: Fact
    state: str  # proven, failed or unrun
    exchange: Exchange | None = None
    detail: str = ""
    entry: str = ""  # NEEDS_INPUT: the fixture entry that would make it runnable, e.g. "[video] url"
    retried: bool = False  # refused again when sent alone (pool.exonerate): its own verdict


@dataclass
class PoolResult:
    plan: CreatePlan
    outcomes: dict[str, FactOutcome] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)
    # in_flight: one list of answers per race; the others: [original, retry]
    follow: dict[str, list[list[Exchange]]] = field(default_factory=dict)
    creates: list[tuple[dict[str, Any], Exchange]] = field(default_factory=list)  # (body, answer)
    halted: str = ""

    def of(self, clause: str) -> list[FactOutcome]:
        return [o for o in self.outcomes.values() if o.fact.clause == clause]


def unrun_reason(detail: str) -> str:
    """An unrun fact's reason as a reader sees it (without the pool's own markers)."""
    for marker in (RESCUE, PACKED, NEEDS_INPUT):
        detail = detail.removeprefix(marker)
    return detail


def portable(exchange: Exchange) -> Exchange:
    """The exchange without the secret value of its credential (what goes to disk)."""
    sent = exchange.request
    if sent.credential is None:
        return exchange
    return replace(exchange, request=replace(sent, credential=replace(sent.credential, value="")),
                   _parsed=[])


def _portable_result(result: PoolResult) -> PoolResult:
    memo: dict[int, Exchange] = {}

    def p(e: Exchange | None) -> Exchange | None:
        if e is None:
            return None
        if id(e) not in memo:
            memo[id(e)] = portable(e)
        return memo[id(e)]

    return PoolResult(
        result.plan,
        {k: replace(o, exchange=p(o.exchange)) for k, o in result.outcomes.items()},
        [p(e) for e in result.exchanges],  # type: ignore[misc]
        {k: [[p(e) for e in run] for run in v] for k, v in result.follow.items()},  # type: ignore[misc]
        [(b, p(e)) for b, e in result.creates],  # type: ignore[misc]
        result.halted,
    )


async def shared_pool(directory: Path | None, run: Callable[[], Awaitable[PoolResult]]) -> PoolResult:
    """Run the pool once for every process sharing ``directory`` (pytest-xdist workers)."""
    if directory is None:
        return await run()
    done = directory / "pool.pickle"
    with open(directory / "pool.lock", "a+b") as lock:
        # Blocking here is right: the other worker is spending the creates we would spend.
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            if done.exists():
                return pickle.loads(done.read_bytes())  # type: ignore[no-any-return]  # our own file
            result = await run()
            done.write_bytes(pickle.dumps(_portable_result(result)))
            return result
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
