"""Random valid bodies as a hypothesis strategy, built by the body factory.

Apart from the factory because only the generated cases and the property tests
draw random bodies; the plan, the pool and the probes build theirs
deterministically and need no hypothesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from .bodies import BodyFactory

NAME_ALPHABET = st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd"))


def valid_bodies(f: BodyFactory, groups: dict[str, str]) -> st.SearchStrategy[dict[str, Any]]:
    """Random valid bodies: any variant, any sources, 0..maxItems items, random names.

    Where the spec says references only work with a group (the advice rule
    table's ``reference_images.without_group``, while its sentence is in the
    spec), bodies with references get the variant's group (``groups``), and a
    variant without a known group is sent without references.
    """

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        variant = draw(st.sampled_from(f.variants))
        group = groups.get(variant)
        sources: dict[str, str | Sequence[str]] = {}
        grouped = False  # some chosen asset needs the group
        for site in f.sites(variant):
            usable = f.available(variant, site)
            if not usable:
                continue  # the body keeps its default (which says what is missing)
            if site.many:
                needs = f.needs_group(variant, site)
                top = (site.max_items or 3) if (group or not needs) else 0
                sources[site.field] = picked = draw(st.lists(st.sampled_from(usable), max_size=top))
                grouped = grouped or (needs and bool(picked))
            else:
                sources[site.field] = draw(st.sampled_from(usable))
        name = draw(st.text(NAME_ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() != ""))
        use_group = draw(st.booleans()) if group else False
        return f.body(variant, sources=sources, name=name, group=group if (use_group or grouped) else None)

    return build()
