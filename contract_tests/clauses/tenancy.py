"""What in a create body belongs to the first tenant's account: the second tenant never sends it.

``idempotency.tenant_scope`` sends tenant A's key and body under tenant B's
credentials.  Nothing in the spec lets one account use another's group or
uploaded assets, and a correct multi-tenant server rightly refuses them, so
that request must carry no resource of A: the planner hosts the follow-up only
on a create that names none (:func:`draft_is_shareable`), and the pool checks
the body it is about to send (:func:`first_tenant_resources`).

Everything the asset fixture (``--asset``) names belongs to the first key's
account: its ``avatar_group_id`` and any id source (``asset_id``).  The
fixture has no entries for the second key; its URLs and files are content,
not resources, so any account may send them.

Which values name a resource is a heuristic on the spec's names, documented as
such: the variant's group property (``avatar_group_id``), an asset source
whose own required fields include ``id`` or a name ending in ``_id`` (the
``asset_id`` source; ``url`` and ``base64`` carry their content), and any
other top-level string property whose name ends in ``_id`` (the June 2026
spec's ``avatar_id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..probes.bodies import BodyFactory, Site


def _names_an_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def names_resource(site: Site, source: str) -> bool:
    """Whether an asset of ``source`` at ``site`` points at an account's stored asset (by id)."""
    branch = site.union.branches[source]
    return any(_names_an_id(name) for name in branch.required if name != site.union.property)


def draft_is_shareable(f: BodyFactory, variant: str, group: str,
                       sources: Iterable[tuple[str, tuple[str, ...]]]) -> bool:
    """A planned body the second tenant may send as is: no group set, no id source."""
    if group == "set" and f.group_property(variant):
        return False
    sites = {site.field: site for site in f.sites(variant)}
    return not any(names_resource(sites[name], source) for name, picks in sources for source in picks
                   if name in sites)


def shareable_sources(f: BodyFactory, variant: str, site: Site) -> tuple[str, ...]:
    """The sources usable at ``site`` here, those that name no resource first (the spec's order kept)."""
    usable = f.available(variant, site)
    return tuple(sorted(usable, key=lambda s: names_resource(site, s)))


def first_tenant_resources(f: BodyFactory, body: Any) -> list[str]:
    """JSON Pointers of the values in ``body`` that name a resource of the sending account."""
    variant = body.get(f.union.property) if isinstance(body, dict) else None
    if not isinstance(variant, str) or variant not in f.variants:
        return []
    out: list[str] = []
    sites = {site.field: site for site in f.sites(variant)}
    for name, value in body.items():
        site = sites.get(name)
        if site is not None:
            assets = value if isinstance(value, list) else [value]
            for index, asset in enumerate(assets):
                source = asset.get(site.union.property) if isinstance(asset, dict) else None
                if isinstance(source, str) and source in site.union.branches and names_resource(site, source):
                    out.append(f"/{name}/{index}" if isinstance(value, list) else f"/{name}")
        elif _names_an_id(name) and isinstance(value, str) and value:
            out.append(f"/{name}")
    return out
