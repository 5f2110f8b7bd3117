"""Which request shapes an accepted create shows: its variant, and the branch of each union inside it.

``request.variants`` passes on traffic only when every shape the spec's
discriminators allow was accepted at least once (a variant with each asset
source of its file, each source of a reference image...), as the suite's plan
covers them; the shapes come from the compiled request tree, never from names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from avatar_contract.validators._compiled import Union


def every_shape(union: Union) -> set[str]:
    """Every variant, and every variant × nested union branch, as ``photo``, ``photo file=url``."""
    out = set()
    for variant, branch in union.branches.items():
        out.add(variant)
        for loc, inner in branch.unions:
            out.update(f"{variant} {'.'.join(loc)}={value}" for value in inner.branches)
    return out


def _at(value: Any, loc: tuple[str, ...]) -> Iterator[Any]:
    if not loc:
        yield value
        return
    head, rest = loc[0], loc[1:]
    if head == "*":
        for item in value if isinstance(value, list) else ():
            yield from _at(item, rest)
    elif isinstance(value, dict) and head in value:
        yield from _at(value[head], rest)


def shapes_of(body: dict[str, Any], union: Union) -> set[str]:
    """The shapes one (valid) body shows."""
    variant = body.get(union.property)
    branch = union.branches.get(variant) if isinstance(variant, str) else None
    if branch is None:
        return set()
    out = {str(variant)}
    for loc, inner in branch.unions:
        for found in _at(body, loc):
            tag = found.get(inner.property) if isinstance(found, dict) else None
            if isinstance(tag, str) and tag in inner.branches:
                out.add(f"{variant} {'.'.join(loc)}={tag}")
    return out
