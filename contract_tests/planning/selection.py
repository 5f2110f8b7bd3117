"""Which of the planner's items fit under a cap: greedy, clauses with no evidence first.

An *item* is a planned create or a follow-up (a replay, the race, the second
tenant) that rides on one.  A follow-up floats onto any chosen create unless
it names the creates it may ride on (``hosts``): the second tenant's request
may only repeat a body that carries none of the first tenant's resources
(:mod:`.tenancy`), so a cap that leaves no such create chosen pays for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .planner import Fact

FLOATING = -1  # a follow-up's host: whichever chosen create suits it


@dataclass
class Item:
    """A selectable unit: a create, or a follow-up riding on one (``host``)."""

    name: str
    cost: int
    facts: list[Fact]
    host: int  # the draft it belongs to (FLOATING: any chosen create)
    needs: int | None = None  # a draft that must be selected first (a "set" create's founder)
    hosts: frozenset[int] | None = None  # a floating item: the drafts it may ride on (None: any)

    def may_ride_on(self, draft: int) -> bool:
        return self.hosts is None or draft in self.hosts


def deps(items: list[Item], index: int) -> list[int]:
    """The items that must run before ``index``: its host's create and that create's founder."""
    create_of = {it.host: i for i, it in enumerate(items) if it.name == "create"}
    out: list[int] = []
    needs = items[index].needs
    while needs is not None:
        dep = create_of[needs]
        if dep == index or dep in out:
            break
        out.append(dep)
        needs = items[dep].needs
    return out


def _with_host(items: list[Item], index: int, chosen: set[int]) -> list[int] | None:
    """A floating item with what it needs to ride on: nothing more if a chosen create suits it,
    else the first create that does (with that create's own dependencies); None if none can."""
    item = items[index]
    creates = [i for i, it in enumerate(items) if it.name == "create" and item.may_ride_on(it.host)]
    if any(i in chosen for i in creates):
        return [index]
    if not creates:
        return None
    host = creates[0]
    return [d for d in deps(items, host) if d not in chosen] + [host, index]


def select(items: list[Item], cap: int | None) -> list[int]:
    """Items to run within ``cap`` 2xx answers (one kept free for refusal probes).

    Greedy: the item (with what it depends on) that reaches the most clauses with no
    evidence yet, then the most variants, then the most (site, source) pairs not shown
    yet (a server that refuses a source is caught by any create that uses it there), then
    the most uncovered facts, per 2xx answer it may cost.
    """
    budget = None if cap is None else max(0, cap - 1)
    chosen: set[int] = set()
    clauses: set[str] = set()
    shown: set[str] = set()
    spent = 0
    while True:
        best, best_score, best_group = None, 0.0, []
        for index in range(len(items)):
            if index in chosen:
                continue
            if items[index].host == FLOATING:
                found = _with_host(items, index, chosen)
                if found is None:
                    continue
                group = found
            else:
                group = [d for d in deps(items, index) if d not in chosen] + [index]
            cost = sum(items[i].cost for i in group)
            if budget is not None and spent + cost > budget:
                continue
            facts = [x for i in group for x in items[i].facts]
            variants = {x.key for x in facts if x.key.startswith("variant:")} - shown
            score = (1000 * len({x.clause for x in facts} - clauses) + 300 * len(variants)
                     + 100 * len(sources_shown(facts) - shown) + len(facts)) / cost
            if score > best_score:
                best, best_score, best_group = index, score, group
        if best is None:
            return sorted(chosen)
        for i in best_group:
            chosen.add(i)
            spent += items[i].cost
            clauses |= {x.clause for x in items[i].facts}
            shown |= sources_shown(items[i].facts) | {x.key for x in items[i].facts if x.key.startswith("variant:")}


def source_place(key: str) -> str | None:
    """"reference_images:asset_id" for an asset-source fact key (any variant, any position), else None."""
    if not key.startswith("source:"):
        return None
    _, _, place, source = key.split(":", 3)
    return f"{place.split('[', 1)[0]}:{source}"


def sources_shown(facts: Iterable[Fact]) -> set[str]:
    """The (site, source) pairs some of ``facts`` show, whatever the variant or list position."""
    return {place for fact in facts if (place := source_place(fact.key)) is not None}
