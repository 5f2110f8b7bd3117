"""Bodies that carry one creation fact alone, for re-trying the facts of a refused packed create.

A packed create that is refused blames every body fact it carried.  To find
the guilty one, each fact is re-tried on a body the target already accepted,
changed in the one place the fact is about: a group set, one asset source at
one list position, a list at maxItems, a string at maxLength.  Everything else
in the body is what the target accepted before, so a refusal of the retry is
that fact's own.  A body that cannot be built that way (no accepted body of
the variant, no accepted list item to put before position ``i``, no group
where the spec says references need one) is ``None``: the fact keeps the
verdict of its packed create rather than being judged on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ..probes.bodies import BodyFactory, Site
from ..probes.schema_values import REFERENCE, accept_by_key, apply
from .planner import Fact

ASTRAL = "\U0001f600"  # one code point, two UTF-16 units: a limit counted in code units shows
_PLACE = re.compile(r"(?P<field>[^\[\]]+)(?:\[(?P<index>\d+)\])?")

Body = dict[str, Any]


def at_limit(limit: int) -> str:
    """A string of exactly ``limit`` code points (the planner's at-limit value)."""
    return ASTRAL * limit


class RetryBodies:
    """Builds the retry body of a fact from the bodies the target accepted.

    ``accepted``: bodies of creates the target answered 2xx, in the order sent.
    ``groups``: group ids a create may join, best first (the fixture's existing
    group, then groups the target issued to creates of the same variant, then
    any other it issued), as ``(variant, group id)``; variant ``None`` for the
    fixture's, which any variant may join.
    """

    def __init__(self, f: BodyFactory, accepted: Sequence[Body],
                 groups: Sequence[tuple[str | None, str]]) -> None:
        self.f, self.accepted, self.groups = f, list(accepted), list(groups)

    def build(self, fact: Fact) -> Body | None:
        kind, variant, *rest = fact.key.split(":")
        if variant not in self.f.variants:
            return None
        body: Body | None = None
        if kind == "group" and rest:
            body = self._group(variant, rest[0])
        elif kind == "source" and len(rest) == 2:
            body = self._source(variant, rest[0], rest[1])
        elif kind == "limit" and len(rest) == 2 and rest[1] == "maxItems":
            body = self._max_items(variant, rest[0])
        elif kind == "limit" and len(rest) == 2 and rest[1] == "maxLength":
            body = self._max_length(variant, rest[0])
        elif kind == "value":
            body = self._value(fact.key)
        # The linter is the oracle of "valid, no warnings": a body it would flag is no fair retry,
        # but for the warning a fact carries on purpose (an undeclared property it sets).
        if body is None:
            return None
        meant = ("field.unknown", f"/{rest[0]}") if kind == "value" and rest else None
        if any((f.rule, f.path) != meant for f in self.f.linter.lint_request(body).findings):
            return None
        return body

    # -- what to start from --------------------------------------------------------
    def _base(self, variant: str, suits: Callable[[Body], bool] = lambda body: True) -> Body | None:
        declared = self.f.branch(variant).properties
        for body in self.accepted:
            if body.get(self.f.union.property) == variant and suits(body):
                # Without the undeclared property a planned create may carry: a retry shows one fact.
                return {k: v for k, v in self.f.copy(body).items() if k in declared}
        return None

    def _group_for(self, variant: str) -> str | None:
        mine = [g for v, g in self.groups if v is None or v == variant]
        return mine[0] if mine else (self.groups[0][1] if self.groups else None)

    def _site(self, variant: str, field: str) -> Site | None:
        return next((s for s in self.f.sites(variant) if s.field == field), None)

    def _listed(self, site: Site) -> Callable[[Body], bool]:
        return lambda body: isinstance(body.get(site.field), list) and bool(body[site.field])

    # -- one body per kind of fact ---------------------------------------------------
    def _group(self, variant: str, mode: str) -> Body | None:
        prop = self.f.group_property(variant)
        if prop is None:
            return None
        if mode == "set":
            group = self._group_for(variant)
            body = self._base(variant)
            if group is None or body is None:
                return None
            body[prop] = group  # its reference list, if any, is the one the target accepted
            return body
        if mode not in ("absent", "null"):
            return None

        def no_grouped_references(body: Body) -> bool:
            return not any(site.many and body.get(site.field) and self.f.needs_group(variant, site)
                           for site in self.f.sites(variant))

        body = self._base(variant, no_grouped_references)  # references that need a group would warn
        if body is None:
            return None
        body.pop(prop, None)
        if mode == "null":
            body[prop] = None
        return body

    def _source(self, variant: str, place: str, source: str) -> Body | None:
        match = _PLACE.fullmatch(place)
        site = self._site(variant, match["field"]) if match else None
        if match is None or site is None or source not in site.union.values:
            return None
        if not site.many:
            body = self._base(variant)
            if body is not None:
                body[site.field] = self.f.asset(variant, site, source)
            return body
        index = int(match["index"] or 0)
        listed = self._base(variant, self._listed(site))
        if listed is None and index > 0:
            return None  # no item the target accepted to stand before position ``index``
        body = listed if listed is not None else self._base(variant)
        if body is None:
            return None
        before = list(body.get(site.field) or [])
        items = [self.f.copy(before[j] if j < len(before) else before[0]) for j in range(index)]
        body[site.field] = [*items, self.f.asset(variant, site, source, index)]
        return self._grouped(variant, site, body)

    def _grouped(self, variant: str, site: Site, body: Body) -> Body | None:
        """``body`` with a group where the spec says the site's references need one."""
        prop = self.f.group_property(variant)
        if not self.f.needs_group(variant, site) or prop is None or body.get(prop):
            return body
        group = self._group_for(variant)
        if group is None:
            return None
        body[prop] = group
        return body

    def _max_items(self, variant: str, field: str) -> Body | None:
        site = self._site(variant, field)
        if site is None or not site.many or not site.max_items:
            return None
        body = self._base(variant, self._listed(site))
        if body is None:
            return None
        first = body[site.field][0]
        body[site.field] = [self.f.copy(first) for _ in range(site.max_items)]
        return body

    def _value(self, key: str) -> Body | None:
        """A must-accept value on an accepted body (a reference needs the run's avatars: not here)."""
        accept = accept_by_key(self.f, key)
        base = self._base(accept.variant) if accept is not None and accept.needs != REFERENCE else None
        if accept is None or base is None:
            return None
        return apply(self.f, base, accept, [])

    def _max_length(self, variant: str, prop: str) -> Body | None:
        limit = dict(self.f.string_limits(variant)).get(prop)
        body = self._base(variant)
        if limit is None or body is None:
            return None
        body[prop] = at_limit(limit)
        return body
