"""Valid create bodies, derived from the compiled contract and checked by the linter.

Nothing here names a variant, an asset type or a limit: the variants come
from the request's discriminated union, the asset sources from each nested
union, limits from the schema nodes.  The only knowledge of our own is how a
*realistic* value looks for a field name (an https URL for ``url``, real
base64 for ``data``), and every body is confirmed by the linter to be valid
with no warnings, so a correct server has no reason to refuse it.
"""

from __future__ import annotations

import base64
import copy
import functools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from avatar_contract.spec import Spec
from avatar_contract.validators import Contract, Linter, contract_for
from avatar_contract.validators._advice_audit import active_rules

from .suite_spec import suite_spec

if TYPE_CHECKING:  # the compiled tree's types, reached through Contract
    from avatar_contract.validators._compiled import Branch, Union

# One small, real file per media kind: linters and servers may decode base64.
_SAMPLES: dict[str, tuple[str, str, bytes]] = {
    "image": ("image/png", "png", base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")),
    "video": ("video/mp4", "mp4", bytes.fromhex("0000001866747970697336d00000000069736f6d6d703432")),
}
NAME_ALPHABET = st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd"))


@dataclass(frozen=True)
class Site:
    """Where a variant carries assets: ``("file",)`` or ``("reference_images", "*")``."""

    loc: tuple[str, ...]
    union: Union
    max_items: int | None

    @property
    def field(self) -> str:
        return self.loc[0]

    @property
    def many(self) -> bool:
        return self.loc[-1] == "*"


@dataclass(frozen=True)
class BodyCase:
    """A labelled request body: a JSON value, or raw bytes when ``raw`` is set."""

    label: str
    body: Any
    raw: bytes | None = None


def _array_schema(node: Any, spec_resolve: Any) -> dict[str, Any] | None:
    node = spec_resolve(node)
    if not isinstance(node, dict):
        return None
    if node.get("type") == "array":
        return node
    for key in ("anyOf", "oneOf"):
        for sub in node.get(key) or []:
            found = _array_schema(sub, spec_resolve)
            if found is not None:
                return found
    return None


class BodyFactory:
    """Builds bodies for any variant and asset source the contract defines."""

    def __init__(self, contract: Contract | None = None) -> None:
        self.contract = contract or contract_for(suite_spec())
        self.linter = Linter(self.contract.spec, strict=True)
        union = self.contract.request.variants
        if union is None:
            raise LookupError("the request body is not a discriminated union of variants")
        self.union: Union = union
        self._media: dict[tuple[str, str], str] = {}

    # -- structure ------------------------------------------------------------
    @property
    def variants(self) -> tuple[str, ...]:
        return self.union.values

    def branch(self, variant: str) -> Branch:
        return self.union.branches[variant]

    def property_schema(self, branch: Branch, name: str) -> dict[str, Any]:
        node = self.contract.spec.resolve((branch.schema.get("properties") or {}).get(name) or {})
        return node if isinstance(node, dict) else {}

    @functools.cache  # noqa: B019 - one factory per process; the cache lives as long
    def sites(self, variant: str) -> tuple[Site, ...]:
        branch = self.branch(variant)
        found = []
        for loc, union in branch.unions:
            max_items = None
            if loc[-1:] == ("*",):
                array = _array_schema(self.property_schema(branch, loc[0]), self.contract.spec.resolve)
                limit = array.get("maxItems") if array else None
                max_items = limit if isinstance(limit, int) else None
            found.append(Site(loc, union, max_items))
        return tuple(found)

    def string_limits(self, variant: str) -> Iterator[tuple[str, int]]:
        """(property, maxLength) for the variant's length-limited string properties."""
        branch = self.branch(variant)
        for name in sorted(branch.properties):
            limit = self.property_schema(branch, name).get("maxLength")
            if isinstance(limit, int):
                yield name, limit

    def group_property(self, variant: str) -> str | None:
        """The optional string property naming an existing group (``avatar_group_id``)."""
        branch = self.branch(variant)
        for name in sorted(branch.properties - set(branch.required)):
            schema = self.property_schema(branch, name)
            types = {self.contract.spec.resolve(s).get("type") for s in schema.get("anyOf") or []}
            if types == {"string", "null"} and name.endswith("group_id"):
                return name
        return None

    def needs_group(self, variant: str, site: Site) -> bool:
        """Whether the spec says this site's assets only work with a group (an active "needs" rule)."""
        return any(rule.check == "needs" and rule.field == site.field
                   for rule in active_rules(self.contract, self.branch(variant)))

    # -- values ---------------------------------------------------------------
    def _media_kind(self, variant: str, site: Site) -> str:
        """The media kind the linter expects for this variant's assets (no mismatch warning)."""
        cached = self._media.get((variant, site.field))
        if cached is not None:
            return cached
        for kind in _SAMPLES:
            body = self.body(variant, sources={site.field: self._base64_source(site)}, _kind=kind)
            if not self.linter.lint_request(body).findings:
                self._media[(variant, site.field)] = kind
                return kind
        self._media[(variant, site.field)] = "image"
        return "image"

    @staticmethod
    def _base64_source(site: Site) -> str:
        for value, branch in site.union.branches.items():
            if "data" in branch.properties:
                return value
        return site.union.values[0]

    def _leaf(self, name: str, schema: dict[str, Any], kind: str, index: int) -> Any:
        if "const" in schema:
            return schema["const"]
        mime, ext, sample = _SAMPLES[kind]
        if name == "url":
            return f"https://example.com/avatar-contract/{kind}-{index}.{ext}"
        if name == "data":
            return base64.b64encode(sample).decode("ascii")
        if name in ("media_type", "content_type", "mime_type"):
            return mime
        if name.endswith("_id"):
            return f"contract-{name}-{uuid.uuid4().hex[:12]}"
        kinds = schema.get("type")
        if kinds == "integer":
            return 1
        if kinds == "boolean":
            return True
        if kinds == "number":
            return 1.0
        return "A friendly presenter in a bright studio" if name == "prompt" else "contract suite"

    def asset(self, variant: str, site: Site, source: str, index: int = 0, _kind: str | None = None) -> dict[str, Any]:
        branch = site.union.branches[source]
        kind = _kind or self._media_kind(variant, site)
        out: dict[str, Any] = {}
        for name in branch.required:
            if name == site.union.property:
                out[name] = source
            else:
                out[name] = self._leaf(name, self.property_schema(branch, name), kind, index)
        return out

    def body(
        self,
        variant: str,
        *,
        sources: dict[str, str | Sequence[str]] | None = None,
        group: str | None = None,
        name: str | None = None,
        _kind: str | None = None,
    ) -> dict[str, Any]:
        """A valid body; ``sources`` picks the asset source per site (a list for many-sites)."""
        branch = self.branch(variant)
        sources = sources or {}
        out: dict[str, Any] = {}
        sites = {site.field: site for site in self.sites(variant)}
        for prop in branch.required:
            if prop == self.union.property:
                out[prop] = variant
            elif prop in sites:
                site = sites[prop]
                chosen = sources.get(prop, site.union.values[0])
                out[prop] = self._site_value(variant, site, chosen, _kind)
            elif prop == "name":
                out[prop] = name if name is not None else f"Contract {variant} avatar"
            else:
                out[prop] = self._leaf(prop, self.property_schema(branch, prop), _kind or "image", 0)
        for prop, chosen in sources.items():
            if prop not in out and prop in sites:
                out[prop] = self._site_value(variant, sites[prop], chosen, _kind)
        group_prop = self.group_property(variant)
        if group_prop is not None:
            out[group_prop] = group
        return out

    def _site_value(self, variant: str, site: Site, chosen: str | Sequence[str], kind: str | None) -> Any:
        if site.many:
            picks = [chosen] if isinstance(chosen, str) else list(chosen)
            return [self.asset(variant, site, s, i, kind) for i, s in enumerate(picks)]
        pick = chosen if isinstance(chosen, str) else chosen[0]
        return self.asset(variant, site, pick, 0, kind)

    def vary(self, body: dict[str, Any], suffix: str = " (changed)") -> dict[str, Any]:
        """The same request with one free-text field changed (a body that "differs slightly")."""
        variant = str(body.get(self.union.property))
        branch = self.branch(variant)
        sites = {site.field for site in self.sites(variant)}
        for prop in branch.required:
            schema = self.property_schema(branch, prop)
            if prop not in sites and prop != self.union.property and schema.get("type") == "string" \
                    and "const" not in schema and "enum" not in schema and isinstance(body.get(prop), str):
                changed = {**body, prop: body[prop] + suffix}
                if self.linter.lint_request(changed).valid:
                    return changed
        raise LookupError(f"no free-text field to vary in a {variant} body")

    def check_valid(self, body: Any, *, warnings: bool = False) -> None:
        """Raise if the oracle disagrees that ``body`` is valid (a bug in this module)."""
        report = self.linter.lint_request(body)
        bad = report.errors if warnings else report.findings
        if bad:
            raise AssertionError(f"generated body is not clean: {[(f.path, f.rule) for f in bad]}")

    def copy(self, body: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(body)


def factory() -> BodyFactory:
    return _factory_for(suite_spec())


@functools.cache
def _factory_for(spec: Spec) -> BodyFactory:
    return BodyFactory(contract_for(spec))


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
            if site.many:
                needs = f.needs_group(variant, site)
                top = (site.max_items or 3) if (group or not needs) else 0
                sources[site.field] = picked = draw(st.lists(st.sampled_from(site.union.values), max_size=top))
                grouped = grouped or (needs and bool(picked))
            else:
                sources[site.field] = draw(st.sampled_from(site.union.values))
        name = draw(st.text(NAME_ALPHABET, min_size=1, max_size=40).filter(lambda s: s.strip() != ""))
        use_group = draw(st.booleans()) if group else False
        return f.body(variant, sources=sources, name=name, group=group if (use_group or grouped) else None)

    return build()
