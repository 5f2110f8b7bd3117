"""Invalid bodies: one targeted mutation of a valid body per case, for every constraint.

Each case breaks exactly one thing in an otherwise valid body, so a server
that ignores that one constraint answers 2xx and is caught.  The linter is the
oracle twice over: the base body must be valid, the mutant must not be (a
mutation the current spec happens to allow is dropped, not asserted).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

from ..targets.exchange import ABSENT, encode_json
from .bodies import BodyCase, BodyFactory, Site, factory
from .schema_probes import derived_refusals

# Values of every JSON type; for each field the first the oracle rejects is used.
WRONG_VALUES: tuple[Any, ...] = (12345, True, ["x"], {"x": 1}, None, "x")
# A character outside the Basic Multilingual Plane: one code point, two UTF-16
# units, four UTF-8 bytes, so length limits counted any other way show up.
ASTRAL = "\U0001f600"
UNKNOWN_FIELD = "unexpected_field"


def _raw_cases() -> list[BodyCase]:
    return [
        BodyCase("no body at all", ABSENT, b""),
        BodyCase("truncated JSON", ABSENT, b'{"type": '),
        BodyCase("not JSON", ABSENT, b"this is not json"),
        BodyCase("a NUL byte", ABSENT, b"\x00"),
        BodyCase("JSON array instead of an object", []),
        BodyCase("JSON string instead of an object", "photo"),
        BodyCase("JSON number instead of an object", 1),
        BodyCase("JSON null instead of an object", None),
        BodyCase("empty object", {}),
    ]


def _with_site(f: BodyFactory, body: dict[str, Any], site: Site, value: Any, as_list: bool = True) -> dict[str, Any]:
    out = f.copy(body)
    out[site.field] = [value] if (site.many and as_list) else value
    return out


def _setter(body: dict[str, Any], key: str) -> Callable[[Any], dict[str, Any]]:
    def put(value: Any) -> dict[str, Any]:
        return {**body, key: value}

    return put


def _site_setter(
    f: BodyFactory, base: dict[str, Any], site: Site, inner: Callable[[Any], Any]
) -> Callable[[Any], dict[str, Any]]:
    def put(value: Any) -> dict[str, Any]:
        return _with_site(f, base, site, inner(value))

    return put


def _wrong_values(label: str, make: Callable[[Any], Any]) -> Iterator[BodyCase]:
    for value in WRONG_VALUES:
        yield BodyCase(f"{label} = {encode_json(value).decode()}", make(value))


def _variant_cases(f: BodyFactory, variant: str) -> Iterator[BodyCase]:
    branch = f.branch(variant)
    disc = f.union.property
    base = f.body(variant)
    for prop in branch.required:
        yield BodyCase(f"{variant}: without required {prop!r}", {k: v for k, v in base.items() if k != prop})
    for value in (f"{variant}_unknown", variant.upper(), [variant]):
        yield BodyCase(f"{variant}: {disc} = {encode_json(value).decode()}", {**base, disc: value})
    for prop in sorted(branch.properties - {disc}):
        yield from _first_invalid(f, _wrong_values(f"{variant}: {prop}", _setter(base, prop)))
    for prop, limit in f.string_limits(variant):
        yield BodyCase(f"{variant}: {prop} of {limit + 1} ASCII characters", {**base, prop: "a" * (limit + 1)})
        yield BodyCase(f"{variant}: {prop} of {limit + 1} astral code points", {**base, prop: ASTRAL * (limit + 1)})
    for site in f.sites(variant):
        yield from _site_cases(f, variant, base, site)


def _site_cases(f: BodyFactory, variant: str, base: dict[str, Any], site: Site) -> Iterator[BodyCase]:
    where = f"{variant}: {site.field}{'[0]' if site.many else ''}"
    prop = site.union.property
    for source, branch in sorted(site.union.branches.items()):
        asset = f.asset(variant, site, source)
        for field in branch.required:
            trimmed = {k: v for k, v in asset.items() if k != field}
            yield BodyCase(f"{where} ({source}) without {field!r}", _with_site(f, base, site, trimmed))
        yield BodyCase(f"{where} {prop} = {source}_unknown",
                       _with_site(f, base, site, {**asset, prop: f"{source}_unknown"}))
        if branch.closed:
            yield BodyCase(f"{where} ({source}) with an unknown field {UNKNOWN_FIELD!r}",
                           _with_site(f, base, site, {**asset, UNKNOWN_FIELD: "x"}))
        for field in sorted(branch.properties - {prop}):
            yield from _first_invalid(f, _wrong_values(
                f"{where} ({source}) {field}", _site_setter(f, base, site, _setter(asset, field))))
    yield BodyCase(f"{where} is a bare URL string", _with_site(f, base, site, "https://example.com/a.png"))
    if site.many:
        yield from _first_invalid(f, _wrong_values(
            f"{variant}: {site.field}", lambda v: _with_site(f, base, site, v, as_list=False)))
        if site.max_items is not None:
            sources = site.union.values
            picks = [sources[i % len(sources)] for i in range(site.max_items + 1)]
            yield BodyCase(f"{variant}: {site.field} with {site.max_items + 1} items (maxItems {site.max_items})",
                           {**base, site.field: [f.asset(variant, site, s, i) for i, s in enumerate(picks)]})


def _first_invalid(f: BodyFactory, cases: Iterator[BodyCase]) -> Iterator[BodyCase]:
    for case in cases:
        if not f.linter.lint_request(case.body).valid:
            yield case
            return


@functools.cache
def invalid_cases(f: BodyFactory | None = None) -> tuple[BodyCase, ...]:
    """Every targeted invalid body, each confirmed invalid by the linter, without duplicates."""
    f = f or factory()
    seen: set[bytes] = set()
    out: list[BodyCase] = []
    # The keyword walk first: where a hand-listed case below is the same body, the derived
    # one (which names the spec elements it covers) is kept.
    candidates = [*derived_refusals(f), *_raw_cases()]
    for variant in f.variants:
        candidates.extend(_variant_cases(f, variant))
    for case in candidates:
        content = case.raw if case.raw is not None else encode_json(case.body)
        if content in seen:
            continue
        if case.raw is None and f.linter.lint_request(case.body).valid:
            continue  # the spec allows this one; nothing to assert
        seen.add(content)
        out.append(case)
    return tuple(out)


def boundary_cases(
    f: BodyFactory, groups: dict[str, str], *, strings: bool = True, lists: bool = True
) -> list[BodyCase]:
    """Valid bodies exactly at each limit; a server counting wrongly refuses them.

    String limits come first (astral first: the likeliest to be miscounted);
    list limits get the variant's group from ``groups`` when there is one (the
    spec may say references need one) and can be left out.
    """
    out: list[BodyCase] = []
    for variant in f.variants if strings else ():
        group = groups.get(variant)
        for prop, limit in f.string_limits(variant):
            out.append(BodyCase(f"{variant}: {prop} of exactly {limit} astral code points",
                                {**f.body(variant, group=group), prop: ASTRAL * limit}))
            out.append(BodyCase(f"{variant}: {prop} of exactly {limit} ASCII characters",
                                {**f.body(variant, group=group), prop: "a" * limit}))
    for variant in f.variants if lists else ():
        group = groups.get(variant)
        for site in f.sites(variant):
            if site.many and site.max_items:
                sources = f.available(variant, site)  # real assets only, on a real target
                if not sources:
                    continue
                picks = [sources[i % len(sources)] for i in range(site.max_items)]
                out.append(BodyCase(f"{variant}: {site.field} with exactly {site.max_items} items",
                                    f.body(variant, sources={site.field: picks}, group=group)))
    for case in out:
        f.check_valid(case.body, warnings=True)
    return out


def _paths(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    out: list[tuple[str | int, ...]] = []
    for key, value in body.items():
        out.append((key,))
        if isinstance(value, dict):
            out.extend((key, sub) for sub in value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    out.extend((key, index, sub) for sub in item)
    return out


def _replace(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(body, dict):
        return {**body, str(head): _replace(body[head], rest, value)}
    copied = list(body)
    copied[int(head)] = _replace(copied[int(head)], rest, value)
    return copied


JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def mutated_bodies(f: BodyFactory, valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[BodyCase]:
    """A valid body with one field replaced by an arbitrary JSON value, kept only if invalid."""

    @st.composite
    def build(draw: st.DrawFn) -> BodyCase:
        body = draw(valid)
        path = draw(st.sampled_from(_paths(body)))
        value = draw(JSON_VALUES)
        mutant = _replace(body, path, value)
        label = f"{'/'.join(map(str, path))} = {encode_json(value).decode()[:60]}"
        return BodyCase(f"{body.get(f.union.property)}: {label}", mutant)

    return build().filter(lambda case: not f.linter.lint_request(case.body).valid)
