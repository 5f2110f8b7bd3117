"""The create planner: which creation facts a correct server must show, packed into the fewest creates.

A *fact* is something only a real create can prove (a variant accepted, an
asset source accepted at one place, a group id honoured, a value exactly at a
limit, Bearer auth, a well-formed Idempotency-Key edge, a replay...).  Each
fact has one owning clause.  A *planned create* is one request that proves
several facts at once; its follow-ups (a replay, a race, the second tenant)
ride on its Idempotency-Key.

The plan is a pure function of the spec and the options: variants, sites,
asset sources, limits and key edges come from :mod:`bodies` and :mod:`keys`,
so a newer spec changes the plan with no code change.  Packing is greedy set
cover: each step takes the create (or follow-up) that covers the most
uncovered facts, and under a cap, the one that reaches a clause with no
evidence yet first, so a small budget still gives every clause something.

On a real target only the asset sources it can be given are used
(``BodyFactory.available``: the ``--asset`` fixture's and the packaged base64
samples); a fact that needs another source is *not runnable* there, and the
plan says what to add to the fixture.  With the fixture's existing group, a
create that sets ``avatar_group_id`` joins it and needs no earlier create.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..clauses.tenancy import draft_is_shareable, shareable_sources
from ..probes.bodies import BodyFactory, Site
from ..probes.keys import NO_KEY
from ..probes.schema_values import EMPTY_SITE, REFERENCE, accept_values
from .facts import GROUP_MODES, Fact, Unrunnable, body_facts, global_facts, slot, unrunnable_facts
from .selection import FLOATING, Item, select
from .selection import source_place as source_place  # re-exported: the pool and its verdicts use it

__all__ = ["CreatePlan", "Fact", "PlannedCreate", "Unrunnable", "body_facts", "plan_creates", "source_place"]

# Live, an in-flight race of this many same-key requests: each may be a billed
# create on a server that ignores the key, so each is counted against the cap.
LIVE_RACE = 3
EMBEDDED_RACE = 8
SHAREABLE_HINT = ("the second tenant may only repeat a body naming none of the first account's resources "
                  "(no group, no asset id): add a url source to the asset fixture (--asset)")


@dataclass(frozen=True)
class PlannedCreate:
    """One create: the body's shape, how it is sent, and the facts it proves."""

    index: int
    variant: str
    sources: tuple[tuple[str, tuple[str, ...]], ...]  # (site field, sources; one per item for lists)
    group: str  # "null", "absent" or "set"
    founder: int | None  # the create whose group a "set" create joins
    at_limit: tuple[str, ...]  # string properties sent at exactly maxLength (astral code points)
    bearer: bool = False
    key_label: str | None = None  # a well-formed key edge from keys.valid_keys(); None: a fresh key
    values: tuple[str, ...] = ()  # schema_values.Accept keys: must-accept values this body carries
    follow_ups: tuple[str, ...] = ()  # "in_flight", "replay", "replay_body_differs", "tenant_scope"
    facts: tuple[Fact, ...] = ()
    cost: int = 1  # 2xx answers it may draw: the create and each follow-up; a race counts every request

    def describe(self) -> str:
        parts = [self.variant]
        valued = {v.split(":", 3)[2] for v in self.values}
        for site, picks in self.sources:
            if site in valued:
                continue  # the value below says what the list is
            parts.append(f"{site}=[{', '.join(picks)}]" if len(picks) != 1 else f"{site}={picks[0]}")
        joined = "the --asset group" if self.founder is None else f"group of create #{self.founder + 1}"
        parts.append("avatar_group_id " + {"set": f"set ({joined})",
                                           "null": "null", "absent": "absent"}[self.group])
        parts += [f"{p} at maxLength" for p in self.at_limit]
        parts += [" ".join(v.split(":", 3)[2:]) for v in self.values]
        parts.append("Authorization: Bearer" if self.bearer else "x-api-key")
        parts.append(NO_KEY if self.key_label == NO_KEY else f"Idempotency-Key: {self.key_label}"
                     if self.key_label else "fresh Idempotency-Key")
        parts += [f"+ {f.replace('_', ' ')}" for f in self.follow_ups]
        return ", ".join(parts)


@dataclass(frozen=True)
class CreatePlan:
    creates: tuple[PlannedCreate, ...]
    facts: tuple[Fact, ...]
    uncovered: tuple[Fact, ...]  # runnable, but left out under the cap
    full_cost: int  # 2xx answers the full plan may draw
    cap: int | None  # None: unlimited (in-process)
    race: int
    unrunnable: tuple[Unrunnable, ...] = ()

    @property
    def needed(self) -> int:
        """--max-creates for full coverage: the plan plus one slot kept for refusal probes."""
        return self.full_cost + 1

    @property
    def cost(self) -> int:
        return sum(c.cost for c in self.creates)

    def facts_of(self, clause: str) -> list[Fact]:
        return [f for f in self.facts if f.clause == clause]

    def covered(self) -> set[str]:
        return {fact.key for c in self.creates for fact in c.facts}

    def render(self) -> str:
        runnable = len(self.facts) - len(self.unrunnable)
        scope = f"the {runnable} facts runnable here (of {len(self.facts)})" if self.unrunnable \
            else f"{len(self.facts)} facts"
        lines = [f"full coverage needs {self.needed} creates ({self.full_cost} 2xx answers for "
                 f"{scope}, plus 1 slot kept for refusal probes)"]
        cap = "unlimited (in-process)" if self.cap is None else str(self.cap)
        budget = "creation not allowed (no --allow-create)" if self.cap == 0 else f"--max-creates {cap}"
        lines.append(f"{budget}: {len(self.creates)} planned create(s), {self.cost} 2xx answer(s), "
                     f"{runnable - len(self.uncovered)} of {len(self.facts)} facts covered")
        for c in self.creates:
            lines.append(f"  #{c.index + 1} ({c.cost}) {c.describe()}")
            lines.append("      proves: " + "; ".join(f.text for f in c.facts))
        if self.uncovered:
            fix = f"pass --allow-create --max-creates {self.needed}" if self.cap == 0 else \
                f"raise --max-creates to {self.needed}"
            lines.append(f"not covered ({len(self.uncovered)}; {fix}):")
            lines += [f"  - {f.text} [{f.clause}]" for f in self.uncovered]
        if self.unrunnable:
            entries = sorted({u.entry for u in self.unrunnable})
            lines.append(f"not runnable on this target ({len(self.unrunnable)}; add {', '.join(entries)} "
                         "to the asset fixture, --asset):")
            lines += [f"  - {u.fact.text} [{u.fact.clause}]" for u in self.unrunnable]
        return "\n".join(lines)


@dataclass
class _Draft:
    variant: str
    sources: dict[str, tuple[str, ...]]
    group: str
    founder: int | None
    at_limit: tuple[str, ...]
    facts: list[Fact] = field(default_factory=list)
    values: tuple[str, ...] = ()
    after_first: bool = False  # it references a resource an earlier create made


def _candidate(f: BodyFactory, variant: str, mode: str, founder: int | None, open_: set[str],
               used: Counter[str] | None = None, first: bool = False) -> _Draft:
    """The best create of ``variant`` with group ``mode``: each dimension picks an uncovered value.

    Among uncovered sources, the one earlier creates used least (``used``, by site and
    source): the creates a small cap keeps then show every source early, and a list's
    positions take different sources (three references from three sources in one create).
    """
    seen: Counter[str] = Counter(used or ())

    def pick(fresh: list[str], field_: str) -> str:
        choice = min(fresh, key=lambda s: seen[f"{field_}:{s}"])  # min keeps the spec's order on ties
        seen[f"{field_}:{choice}"] += 1
        return choice

    sources: dict[str, tuple[str, ...]] = {}
    for site in f.sites(variant):
        values = f.available(variant, site)
        if site.many:
            # Where the spec says references only work with a group (the advice rule
            # table), a create without one keeps the list empty.
            count = (site.max_items or len(site.union.values)) \
                if values and (mode == "set" or not f.needs_group(variant, site)) else 0
            if count and not _items_open(f, variant, site, values, open_) and any(
                    a.key in open_ for a in accept_values(f, variant) if a.prop == site.field):
                count = 0  # every item fact is shown: this create shows the list's empty modes
            picks = []
            for position in range(count):
                place = slot(site.field, True, position)
                fresh = [s for s in values if f"source:{variant}:{place}:{s}" in open_]
                picks.append(pick(fresh, site.field) if fresh else values[position % len(values)])
            sources[site.field] = tuple(picks)
        elif values:  # (an optional site with no usable source is left out)
            fresh = [s for s in values if f"source:{variant}:{site.field}:{s}" in open_]
            sources[site.field] = (pick(fresh, site.field) if fresh else values[0],)
    at_limit = tuple(p for p, _ in f.string_limits(variant) if f"limit:{variant}:{p}:maxLength" in open_)
    draft = _Draft(variant, sources, mode if f.group_property(variant) else "null", founder, at_limit)
    _pick_values(f, draft, open_, first)
    covered = {f"variant:{variant}", f"response:{variant}", f"group:{variant}:{draft.group}"}
    for site in f.sites(variant):
        chosen = sources.get(site.field, ())
        covered |= {f"source:{variant}:{slot(site.field, site.many, i)}:{s}" for i, s in enumerate(chosen)}
        if site.many and site.max_items and len(chosen) == site.max_items:
            covered.add(f"limit:{variant}:{site.field}:maxItems")
    covered |= {f"limit:{variant}:{p}:maxLength" for p in at_limit} | set(draft.values)
    draft.facts = [fact for fact in body_facts(f, variant) if fact.key in covered and fact.key in open_]
    return draft


def _items_open(f: BodyFactory, variant: str, site: Site, values: tuple[str, ...], open_: set[str]) -> bool:
    places = [slot(site.field, True, i) for i in range(site.max_items or len(site.union.values))]
    return f"limit:{variant}:{site.field}:maxItems" in open_ or \
        any(f"source:{variant}:{p}:{s}" in open_ for p in places for s in values)


def _pick_values(f: BodyFactory, draft: _Draft, open_: set[str], first: bool) -> None:
    """One uncovered must-accept value per property the draft leaves free: a list's modes only
    where it carries no item, a reference (an existing resource) never on the run's first
    create nor beside a group the referenced one may not belong to."""
    taken = set(draft.at_limit)
    chosen: list[str] = []
    for a in accept_values(f, draft.variant):
        if a.key not in open_ or a.prop in taken:
            continue
        if a.needs == EMPTY_SITE and draft.sources.get(a.prop):
            continue
        if a.needs == REFERENCE and (first or draft.group == "set"):
            continue
        taken.add(a.prop)
        chosen.append(a.key)
        draft.after_first = draft.after_first or a.needs == REFERENCE
    draft.values = tuple(chosen)


def _pack_bodies(f: BodyFactory, variants: Sequence[str], unrunnable: set[str]) -> list[_Draft]:
    """Greedy set cover of the body facts; a "set" create joins the first create of its variant
    (or, given one, the fixture's existing group)."""
    open_ = {fact.key for v in variants for fact in body_facts(f, v)} - unrunnable
    drafts: list[_Draft] = []
    founders: dict[str, int] = {}
    existing = f.existing_group is not None
    used: Counter[str] = Counter()  # (site, source) uses by the drafts so far
    while True:
        best: _Draft | None = None
        for variant in variants:
            if f"variant:{variant}" in unrunnable:
                continue  # no valid body of it can be sent here
            for mode in GROUP_MODES:
                if mode == "set" and variant not in founders and not existing:
                    continue
                founder = founders.get(variant) if mode == "set" and not existing else None
                draft = _candidate(f, variant, mode, founder, open_, used, first=not drafts)
                if best is None or len(draft.facts) > len(best.facts):
                    best = draft
        if best is None or not best.facts:
            return drafts
        founders.setdefault(best.variant, len(drafts))
        drafts.append(best)
        used.update(f"{name}:{source}" for name, picks in best.sources.items() for source in picks)
        open_ -= {fact.key for fact in best.facts}


def plan_creates(
    f: BodyFactory,
    *,
    cap: int | None,
    has_second_key: bool,
    embedded: bool = False,
    clauses: Iterable[str] | None = None,
) -> CreatePlan:
    """The plan for ``cap`` 2xx answers (``None``: unlimited), restricted to facts of ``clauses``."""
    race = EMBEDDED_RACE if embedded else LIVE_RACE
    wanted = set(clauses) if clauses is not None else None
    unrunnable = unrunnable_facts(f)
    drafts = _pack_bodies(f, f.variants, set(unrunnable))
    specials = global_facts(has_second_key)
    keyed = [fact for fact in specials if fact.key.startswith("key:")]
    follow = [fact for fact in specials if fact.key.startswith("follow:")]
    # Facts that ride on a create's headers: Bearer and each key edge on a create of its own
    # (a refusal can then be split from the body); follow-ups float onto chosen creates.
    for fact in specials:
        if fact.key.startswith("response:") and drafts:
            drafts[0].facts.append(fact)
    plain = next((v for v in f.variants if f"variant:{v}" not in unrunnable), None)
    if plain is None:  # not one valid body can be sent here: nothing that needs a create can run
        first = next(iter(unrunnable.values()))
        unrunnable |= {x.key: Unrunnable(x, first.hint, first.entry) for x in specials}
    while plain is not None and len(drafts) < len(keyed) + 1:
        drafts.append(_plain_draft(f, plain))
    shareable = frozenset(i for i, d in enumerate(drafts) if _shareable(f, d))
    if plain is not None and not shareable and _shareable(f, extra := _plain_draft(f, plain)):
        shareable = frozenset({len(drafts)})  # a create the second tenant may repeat as is
        drafts.append(extra)
    scope = next((x for x in follow if x.key == "follow:tenant_scope"), None)
    if scope is not None and plain is not None and not shareable:
        unrunnable[scope.key] = Unrunnable(scope, SHAREABLE_HINT, "[image] url")
        follow.remove(scope)
    items: list[Item] = []
    for index, draft in enumerate(drafts):
        if index == 0:
            draft.facts.append(next(x for x in specials if x.key == "auth:bearer"))
        elif index <= len(keyed):
            draft.facts.append(keyed[index - 1])
        needs = draft.founder if draft.founder is not None else (0 if draft.after_first and index else None)
        items.append(Item("create", 1, draft.facts, index, needs))
    for fact in follow:
        name = fact.key.split(":", 1)[1]
        # The race's first request is the create itself; each other one may be a billed avatar.
        # The second tenant repeats a body naming none of the first tenant's resources.
        items.append(Item(name, race - 1 if name == "in_flight" else 1, [fact], FLOATING,
                          hosts=shareable if name == "tenant_scope" else None))
    if wanted is not None:
        for item in items:
            item.facts = [x for x in item.facts if x.clause in wanted]
        unrunnable = {k: u for k, u in unrunnable.items() if u.fact.clause in wanted}
    chosen = select(items, cap)
    creates = _assemble(drafts, items, chosen)
    everything = select(items, None)
    all_facts = tuple(x for item in items for x in item.facts)
    packed = {x.key for x in all_facts}
    # A body fact no create could carry is listed as not covered, never dropped silently.
    all_facts += tuple(x for v in f.variants for x in body_facts(f, v)
                       if x.key not in packed and x.key not in unrunnable and (wanted is None or x.clause in wanted))
    covered = {x.key for c in creates for x in c.facts}
    return CreatePlan(tuple(creates), all_facts + tuple(u.fact for u in unrunnable.values()),
                      tuple(x for x in all_facts if x.key not in covered),
                      sum(items[i].cost for i in everything), cap, race, tuple(unrunnable.values()))


def _plain_draft(f: BodyFactory, variant: str) -> _Draft:
    """A create of ``variant`` with no group, no list items and, where it can, no id source."""
    base = _Draft(variant, {}, "null", None, ())
    base.sources = {s.field: (() if s.many else shareable_sources(f, variant, s)[:1]) for s in f.sites(variant)}
    return base


def _shareable(f: BodyFactory, draft: _Draft) -> bool:
    return not draft.after_first and draft_is_shareable(f, draft.variant, draft.group, draft.sources.items())


def _assemble(drafts: list[_Draft], items: list[Item], chosen: list[int]) -> list[PlannedCreate]:
    hosts = sorted(items[i].host for i in chosen if items[i].name == "create")
    renumber = {host: n for n, host in enumerate(hosts)}
    creates = {host: next(it for it in items if it.name == "create" and it.host == host) for host in hosts}
    # Follow-ups ride on plain x-api-key creates where there are some, the race on one, the
    # replays and the second tenant on another, so one refusal does not cost them all.
    # (A create that references a resource of the first tenant never hosts the second tenant's.)
    by_plainness = sorted(hosts, key=lambda h: (bool(drafts[h].after_first),
                                                any(x.key == "auth:bearer" for x in creates[h].facts),
                                                sum(x.key.startswith("key:") + (x.key == f"key:{NO_KEY}")
                                                    for x in creates[h].facts), -h))
    riders: dict[int, list[Item]] = {host: [] for host in hosts}
    for i in chosen:
        if items[i].name != "create":
            spread = by_plainness if items[i].name == "in_flight" else by_plainness[1:] + by_plainness[:1]
            riders[next(h for h in spread if items[i].may_ride_on(h))].append(items[i])
    out = []
    for host in hosts:
        draft, create_item = drafts[host], creates[host]
        key_label = next((x.key.split(":", 1)[1] for x in create_item.facts if x.key.startswith("key:")), None)
        out.append(PlannedCreate(
            index=renumber[host], variant=draft.variant,
            sources=tuple(sorted(draft.sources.items())), group=draft.group,
            founder=renumber.get(draft.founder) if draft.founder is not None else None,
            at_limit=draft.at_limit, values=draft.values,
            bearer=any(x.key == "auth:bearer" for x in create_item.facts),
            key_label=key_label, follow_ups=tuple(item.name for item in riders[host]),
            facts=tuple(create_item.facts) + tuple(x for item in riders[host] for x in item.facts),
            cost=create_item.cost + sum(item.cost for item in riders[host])))
    return out
