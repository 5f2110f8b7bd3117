"""The request body of a planned create, built from the plan's entry by the body factory.

Apart from the pool because the coverage report and the tests build the very
bodies the pool sends without running it; one builder keeps them identical.
"""

from __future__ import annotations

from typing import Any

from ..probes.bodies import BodyFactory
from ..probes.schema_values import accept_by_key, apply
from .planner import PlannedCreate
from .retry_bodies import at_limit


def planned_body(f: BodyFactory, c: PlannedCreate, groups: dict[int, str],
                 made: list[str] | None = None) -> dict[str, Any] | None:
    """The body of planned create ``c``; ``None`` if it joins a group that was never made, or
    references an avatar (``made``: ids of the avatars the run made) that does not exist."""
    group = None
    if c.group == "set":
        # A group an earlier create founded, or (founder None) the --asset fixture's existing one.
        group = groups.get(c.founder) if c.founder is not None else f.existing_group
        if group is None:
            return None
    body = f.body(c.variant, sources={k: list(v) for k, v in c.sources}, group=group,
                  name=f"Contract plan #{c.index + 1}")
    prop = f.group_property(c.variant)
    if c.group == "absent" and prop:
        body.pop(prop, None)
    limits = dict(f.string_limits(c.variant))
    for name in c.at_limit:
        body[name] = at_limit(limits[name])  # astral: one code point, two UTF-16 units
    for key in c.values:
        accept = accept_by_key(f, key)
        changed = apply(f, body, accept, made or []) if accept is not None else None
        if changed is None:
            return None
        body = changed
    return body
