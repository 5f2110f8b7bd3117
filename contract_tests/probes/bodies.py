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
from importlib import resources
from typing import TYPE_CHECKING, Any

from avatar_contract.spec import Spec
from avatar_contract.validators import Contract, Linter, contract_for
from avatar_contract.validators._advice_audit import active_rules

from ..clauses.finding import Skipped
from ..targets.suite_spec import suite_spec

if TYPE_CHECKING:  # the compiled tree's types, reached through Contract
    from avatar_contract.validators._compiled import Branch, Union

    from ..targets.assets import AssetFixture


def _sample(name: str) -> bytes:
    return resources.files("avatar_contract.contract_tests").joinpath("samples", name).read_bytes()


# One small, real file per media kind, because servers may decode base64.  Package
# data, made once: the PNG with zlib/struct (32×32 RGB gradient, filter 0 rows), the
# MP4 with `ffmpeg -f lavfi -i color=c=0x3366cc:s=64x64:r=10:d=1 -c:v libx264
# -pix_fmt yuv420p -movflags +faststart -an` (10 frames); tests/suite/test_assets.py
# decodes both (stdlib, and ffprobe where installed).
_SAMPLES: dict[str, tuple[str, str, bytes]] = {
    "image": ("image/png", "png", _sample("sample.png")),
    "video": ("video/mp4", "mp4", _sample("sample.mp4")),
}
MEDIA_KINDS: tuple[str, ...] = tuple(_SAMPLES)
MEDIA_TYPE_FIELDS = ("media_type", "content_type", "mime_type")


class AssetsMissing(Skipped):
    """A valid create needs an asset source that the --asset fixture does not supply."""


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
    covers: tuple[str, ...] = ()  # element ids of the spec it probes (schema_walk)


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
    """Builds bodies for any variant and asset source the contract defines.

    ``invented`` (the in-process emulator): asset ids and URLs are made up, every
    source is available.  Otherwise (a real target) only what can really be
    fetched is used: the sources the ``fixture`` (``--asset``) supplies, and
    base64 sources, filled with the packaged sample files.
    """

    def __init__(self, contract: Contract | None = None, *, fixture: AssetFixture | None = None,
                 invented: bool = True) -> None:
        self.contract = contract or contract_for(suite_spec())
        self.linter = Linter(self.contract.spec, strict=True)
        union = self.contract.request.variants
        if union is None:
            raise LookupError("the request body is not a discriminated union of variants")
        self.union: Union = union
        self.fixture = fixture
        self.invented = invented
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

    # -- which assets can be used ---------------------------------------------
    @staticmethod
    def is_file_source(site: Site, source: str) -> bool:
        """A source that carries the file itself (base64 ``data``): the packaged samples fill it."""
        branch = site.union.branches[source]
        free = set(branch.required) - {site.union.property, "data", *MEDIA_TYPE_FIELDS}
        return "data" in branch.required and not free

    def available(self, variant: str, site: Site) -> tuple[str, ...]:
        """The sources usable at ``site`` against this target, in the spec's order.

        What the planner and verdicts ask: a case that needs a source not listed
        here cannot run, and :meth:`missing_hint` says what to add to the fixture.
        """
        if self.invented:
            return site.union.values
        kind = self.media_kind(variant, site)
        return tuple(s for s in site.union.values if self.is_file_source(site, s)
                     or (self.fixture is not None and self.fixture.fields(kind, s) is not None))

    def unavailable(self, variant: str) -> list[tuple[Site, str, str]]:
        """(site, source, hint) for every source of the variant that cannot be used here."""
        out = []
        for site in self.sites(variant):
            usable = self.available(variant, site)
            out += [(site, s, self.missing_hint(variant, site, s)) for s in site.union.values if s not in usable]
        return out

    def missing_hint(self, variant: str, site: Site, source: str) -> str:
        kind = self.media_kind(variant, site)
        branch = site.union.branches[source]
        fields = " and ".join(name for name in branch.required if name != site.union.property) or source
        return f'add {source} = "…" under [{kind}] in the asset fixture (--asset): a real {kind}\'s {fields}'

    def default_source(self, variant: str, site: Site) -> str:
        usable = self.available(variant, site)
        if not usable:
            hints = "; ".join(self.missing_hint(variant, site, s) for s in site.union.values)
            raise AssetsMissing(f"a valid {variant} body needs a real asset at {site.field}: {hints}")
        return usable[0]

    @property
    def existing_group(self) -> str | None:
        """An existing group id from the fixture (``avatar_group_id``), if given."""
        return self.fixture.group_id if self.fixture is not None else None
    def needs_group(self, variant: str, site: Site) -> bool:
        """Whether the spec says this site's assets only work with a group (an active "needs" rule)."""
        return any(rule.check == "needs" and rule.field == site.field
                   for rule in active_rules(self.contract, self.branch(variant)))

    # -- values ---------------------------------------------------------------
    def media_kind(self, variant: str, site: Site) -> str:
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

    def _base64_source(self, site: Site) -> str:
        for value in site.union.values:
            if self.is_file_source(site, value):
                return value
        for value, branch in site.union.branches.items():
            if "data" in branch.properties:
                return value
        return site.union.values[0]

    def _leaf(self, name: str, schema: dict[str, Any], kind: str, index: int) -> Any:
        if "const" in schema:
            return schema["const"]
        mime, ext, sample = _SAMPLES[kind]
        if name in MEDIA_TYPE_FIELDS:
            return mime
        if name == "url":
            return f"https://example.com/avatar-contract/{kind}-{index}.{ext}"
        if name == "data":
            return base64.b64encode(sample).decode("ascii")
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
        kind = _kind or self.media_kind(variant, site)
        real = self.fixture.fields(kind, source) if self.fixture is not None and _kind is None else None
        if real is not None:
            return {site.union.property: source, **real}
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
                chosen = sources[prop] if prop in sources else \
                    (self._base64_source(site) if _kind else self.default_source(variant, site))
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

    def realise(self, body: Any) -> Any:
        """``body`` with every asset it carries replaced by one this target can fetch.

        For bodies generated elsewhere (schemathesis' positive cases): on a real
        target, an invented URL or asset id would be refused for reasons that
        have nothing to do with the contract.  The source is kept when usable.
        """
        variant = body.get(self.union.property) if isinstance(body, dict) else None
        if self.invented or not isinstance(variant, str) or variant not in self.variants:
            return body
        out = dict(body)
        for site in self.sites(variant):
            value = out.get(site.field)
            usable = self.available(variant, site)
            if value is None or not usable:
                continue

            def pick(asset: Any, site: Site = site, usable: tuple[str, ...] = usable) -> str:
                source = asset.get(site.union.property) if isinstance(asset, dict) else None
                return source if source in usable else usable[0]

            if site.many and isinstance(value, list):
                out[site.field] = [self.asset(variant, site, pick(a), i) for i, a in enumerate(value)]
            elif not site.many:
                out[site.field] = self.asset(variant, site, pick(value))
        return out

    def free_text(self, body: dict[str, Any]) -> list[str]:
        """The body's required free-text string properties (``name``, ``prompt``), in the spec's order."""
        variant = str(body.get(self.union.property))
        branch = self.branch(variant)
        sites = {site.field for site in self.sites(variant)}
        out = []
        for prop in branch.required:
            schema = self.property_schema(branch, prop)
            if prop not in sites and prop != self.union.property and schema.get("type") == "string" \
                    and "const" not in schema and "enum" not in schema and isinstance(body.get(prop), str):
                out.append(prop)
        return out

    def vary(self, body: dict[str, Any], suffix: str = " (changed)") -> dict[str, Any]:
        """The same request with one free-text field changed (a body that "differs slightly")."""
        variant = str(body.get(self.union.property))
        for prop in self.free_text(body):
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


def factory(fixture: AssetFixture | None = None, *, invented: bool = True) -> BodyFactory:
    """The body factory for the active spec; ``invented=False`` for a real target."""
    return _factory_for(suite_spec(), fixture, invented)


@functools.cache
def _factory_for(spec: Spec, fixture: AssetFixture | None, invented: bool) -> BodyFactory:
    return BodyFactory(contract_for(spec), fixture=fixture, invented=invented)
