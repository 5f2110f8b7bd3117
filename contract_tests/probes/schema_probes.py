"""Must-refuse probes derived from every keyword of the request schema.

For each variant, the walk starts at its branch in the normalised spec and
visits every node a body can reach (each asset source of each nested union,
each list's items), breaking one keyword at a time in an otherwise valid body:

* ``required``: each field missing;
* ``type``: each JSON type the node does not allow (``null`` included), integers
  against numbers;
* ``const``/``enum``: case variants and surrounding whitespace of each value;
* ``maxLength``/``minLength``: one code point over (under) the limit, spelt so a
  length counted in bytes, UTF-16 units, graphemes, after NFC or after trimming
  lets it through;
* ``maxItems``/``minItems``: one item over (under);
* ``additionalProperties: false``: an unknown property at that object;
* ``maximum``/``minimum``: one past the bound.

Each case names the element ids it covers (:mod:`schema_walk`) and is kept only
when the oracle (the strict linter) rejects it, so nothing the spec allows is
asserted.  Must-accept values live in :mod:`schema_values`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..targets.exchange import ABSENT, encode_json
from .bodies import BodyCase, BodyFactory, Site
from .schema_walk import (
    JSON_TYPES,
    Loc,
    Node,
    allowed_types,
    alternatives,
    child,
    deref,
    drop,
    lookup,
    put,
    sub_of_type,
    union_branches,
)

SAMPLES: dict[str, Any] = {"null": None, "boolean": True, "integer": 12345, "number": 1.5, "string": "x",
                           "array": ["x"], "object": {"x": 1}}
ASTRAL = "\U0001f600"  # one code point: two UTF-16 units, four UTF-8 bytes
COMBINING = "e\u0301"  # two code points, one grapheme, one code point after NFC
UNKNOWN_FIELD = "unexpected_field"
NESTING = 200  # deep, yet within what the oracle and any JSON parser should read


def _over_strings(limit: int) -> list[tuple[str, str]]:
    """(how, value) of ``limit + 1`` code points that a wrong count would let through."""
    pairs = -(-(limit + 1) // 2)
    combining = (COMBINING * pairs)[: limit + 1]
    return [(f"{limit + 1} ASCII characters", "a" * (limit + 1)),
            (f"{limit + 1} astral code points (UTF-16/bytes counted)", ASTRAL * (limit + 1)),
            (f"{limit + 1} code points of base letters and combining marks (graphemes or NFC counted)", combining),
            (f"{limit} characters and a trailing space (trimmed first)", "a" * limit + " "),
            (f"a leading space and {limit} characters (trimmed first)", " " + "a" * limit)]


def _case_variants(value: str) -> list[tuple[str, str]]:
    out = [(label, v) for label, v in (("upper case", value.upper()), ("title case", value.title()),
                                       ("swapped case", value.swapcase())) if v != value]
    out += [("a leading space", " " + value), ("a trailing space", value + " "), ("a trailing tab", value + "\t")]
    seen: set[str] = set()
    return [(label, v) for label, v in out if not (v in seen or seen.add(v))]  # type: ignore[func-returns-value]


class _Walk:
    def __init__(self, f: BodyFactory) -> None:
        self.f = f
        self.spec = f.contract.spec

    def value_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        """Cases for the value at ``loc`` of ``base``, described by ``node``."""
        types, type_ids = allowed_types(self.spec, node)
        union_ids = [node.at(k, i) for k in ("anyOf", "oneOf") if isinstance(node.get(k), list)
                     for i in range(len(node.get(k)))]
        for kind in JSON_TYPES:
            if kind in types or (kind == "integer" and "number" in types):
                continue
            value = SAMPLES[kind]
            yield BodyCase(f"{where} = {encode_json(value).decode()} ({kind})", put(base, loc, value),
                           covers=(*type_ids, *union_ids))
        for alt in alternatives(self.spec, node):
            yield from self.keyword_cases(where, alt, loc, base)

    def keyword_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        if "const" in node.schema and isinstance(node.get("const"), str):
            for how, value in _case_variants(node.get("const")):
                yield BodyCase(f"{where} = {value!r} ({how} of the const)", put(base, loc, value),
                               covers=(node.at("const"),))
        enum = node.get("enum")
        if isinstance(enum, list):
            for i, item in enumerate(enum):
                if isinstance(item, str):
                    for how, value in _case_variants(item):
                        if value not in enum:
                            yield BodyCase(f"{where} = {value!r} ({how} of enum value {item!r})",
                                           put(base, loc, value), covers=(node.at("enum", i),))
        yield from self.string_cases(where, node, loc, base)
        yield from self.number_cases(where, node, loc, base)
        if isinstance(node.get("discriminator"), dict):
            yield from self.union_cases(where, node, loc, base)
        elif isinstance(node.get("properties"), dict) or node.get("type") == "object":
            yield from self.object_cases(where, node, loc, base)
        if node.get("type") == "array" or (isinstance(node.get("type"), list) and "array" in node.get("type")):
            yield from self.array_cases(where, node, loc, base)

    def string_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        high, low = node.get("maxLength"), node.get("minLength")
        if isinstance(high, int):
            for how, value in _over_strings(high):
                yield BodyCase(f"{where} of {how} (maxLength {high})", put(base, loc, value),
                               covers=(node.at("maxLength"),))
        if isinstance(low, int) and low > 0:
            yield BodyCase(f"{where} of {low - 1} characters (minLength {low})", put(base, loc, "a" * (low - 1)),
                           covers=(node.at("minLength"),))
            if low > 1:
                yield BodyCase(f"{where} of {low - 1} astral code points (minLength {low}, bytes counted)",
                               put(base, loc, ASTRAL * (low - 1)), covers=(node.at("minLength"),))

    def number_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        step = 1 if node.get("type") == "integer" else 0.5
        for keyword, sign in (("maximum", 1), ("minimum", -1), ("exclusiveMaximum", 0), ("exclusiveMinimum", 0)):
            bound = node.get(keyword)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool):
                value = bound + sign * step
                yield BodyCase(f"{where} = {value} ({keyword} {bound})", put(base, loc, value),
                               covers=(node.at(keyword),))

    def object_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        target = lookup_value(base, loc)
        if not isinstance(target, dict):
            return
        for i, name in enumerate(node.get("required") or []):
            if name in target:
                yield BodyCase(f"{where} without required {name!r}", drop(base, (*loc, name)) if loc
                               else {k: v for k, v in base.items() if k != name}, covers=(node.at("required", i),))
        if node.get("additionalProperties") is False:
            yield BodyCase(f"{where} with an unknown property {UNKNOWN_FIELD!r}", put(base, (*loc, UNKNOWN_FIELD), "x"),
                           covers=(node.at("additionalProperties"),))
        for name in sorted(node.get("properties") or {}):
            if name == self._discriminator_of(loc):
                continue  # the union's own cases cover it
            sub = child(self.spec, node, "properties", name)
            value_loc = (*loc, name)
            here = base if name in target else self.with_member(base, loc, name, sub)
            if here is None:
                continue
            yield from self.value_cases(_join(where, name), sub, value_loc, here)

    def array_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        items = lookup_value(base, loc)
        if not isinstance(items, list) or not items:
            return
        high, low = node.get("maxItems"), node.get("minItems")
        if isinstance(high, int):
            more = [items[i % len(items)] for i in range(high + 1)]
            yield BodyCase(f"{where} with {high + 1} items (maxItems {high})", put(base, loc, more),
                           covers=(node.at("maxItems"),))
        if isinstance(low, int) and low > 0:
            yield BodyCase(f"{where} with {low - 1} items (minItems {low})", put(base, loc, items[: low - 1]),
                           covers=(node.at("minItems"),))
        if isinstance(node.get("items"), dict):
            yield from self.value_cases(f"{where}[0]", child(self.spec, node, "items"), (*loc, 0),
                                        put(base, loc, items[:1]))

    def union_cases(self, where: str, node: Node, loc: Loc, base: Any) -> Iterator[BodyCase]:
        prop = node.get("discriminator", {}).get("propertyName")
        site = self._site(loc)
        for value, branch in union_branches(self.spec, node):
            if site is None:
                continue
            asset = self.f.asset(self.variant, site, value)
            here = put(base, loc, asset)
            yield from self.object_cases(f"{where} ({value})", branch, loc, here)
            if isinstance(prop, str):
                disc = child(self.spec, branch, "properties", prop)
                yield from self.value_cases(f"{_join(where, prop)} ({value})", disc, (*loc, prop), here)
        if isinstance(prop, str) and site is not None:
            asset = self.f.asset(self.variant, site, site.union.values[0])
            unknown = put(base, loc, {**asset, prop: "unknown_source"})
            yield BodyCase(f"{_join(where, prop)} = an unknown source", unknown,
                           covers=(node.at("discriminator", "propertyName"),))

    # -- where the walk is ---------------------------------------------------------
    variant = ""

    def _site(self, loc: Loc) -> Site | None:
        fields = [str(k) for k in loc if not isinstance(k, int)]
        for site in self.f.sites(self.variant):
            if fields == [site.field]:
                return site
        return None

    def _discriminator_of(self, loc: Loc) -> str | None:
        if not loc:
            return self.f.union.property
        site = self._site(loc[:-1]) if loc and isinstance(loc[-1], int) else self._site(loc)
        return site.union.property if site is not None and loc else None

    def with_member(self, base: Any, loc: Loc, name: str, sub: Node) -> Any:
        """``base`` with an optional member set to a valid value, so its own keywords can be broken."""
        if not loc:
            site = next((s for s in self.f.sites(self.variant) if s.field == name), None)
            if site is not None:
                source = site.union.values[0]
                value: Any = [self.f.asset(self.variant, site, source)] if site.many else \
                    self.f.asset(self.variant, site, source)
                return {**base, name: value}
        for kind in ("string", "integer", "number", "boolean"):
            alt = sub_of_type(self.spec, sub, kind)
            if alt is None:
                continue
            enum = alt.get("enum")
            low = alt.get("minimum")
            value = enum[0] if isinstance(enum, list) and enum else \
                {"string": "contract suite", "boolean": True}.get(kind, low if isinstance(low, (int, float)) else 1)
            if kind == "string" and isinstance(alt.get("minLength"), int):
                value = "a" * max(alt.get("minLength"), len("contract suite"))
            candidate = put(base, (*loc, name), value)
            return candidate if self.f.linter.lint_request(candidate).valid else None
        return None


def _join(where: str, name: str) -> str:
    return f"{where} {name}" if where.endswith(":") else f"{where}.{name}"


def lookup_value(body: Any, loc: Loc) -> Any:
    for key in loc:
        try:
            body = body[key]
        except (KeyError, IndexError, TypeError):
            return None
    return body


def keyword_cases(f: BodyFactory) -> list[BodyCase]:
    """Every derived must-refuse body of every variant (not yet checked by the oracle)."""
    walk = _Walk(f)
    out: list[BodyCase] = []
    for variant in f.variants:
        walk.variant = variant
        branch = f.branch(variant)
        node = deref(f.contract.spec, branch.pointer, lookup(f.contract.spec, branch.pointer))
        base = f.body(variant)
        disc = child(f.contract.spec, node, "properties", f.union.property)
        out += walk.value_cases(f"{variant}: {f.union.property}", disc, (f.union.property,), base)
        out += walk.object_cases(f"{variant}:", node, (), base)
    return out


# -- raw bodies --------------------------------------------------------------------
def raw_cases(f: BodyFactory, media: str) -> list[BodyCase]:
    """Bytes a correct JSON reader refuses, built around a valid body (RFC 8259).

    Not sent, because the spec lets a server go either way: a UTF-8 byte order
    mark (RFC 8259 §8.1 lets a parser ignore it) and duplicate keys whose every
    reading is valid (§4: names SHOULD be unique; behaviour is unpredictable).
    Duplicate keys are sent only where every reading of them is invalid.
    """
    variant = f.variants[0]
    body = f.body(variant)
    text = encode_json(body)
    name = next(iter(f.free_text(body)), None)
    covers = (media,)
    out = [BodyCase(f"{variant}: a valid body followed by 'x'", ABSENT, text + b"x", covers),
           BodyCase(f"{variant}: a valid body followed by a second JSON value", ABSENT, text + b"{}", covers),
           BodyCase(f"{variant}: a valid body followed by a NUL byte", ABSENT, text + b"\x00", covers)]
    if name is None:
        return out
    holder = {**body, name: "\x00PLACEHOLDER\x00"}
    raw = encode_json(holder)
    marker = json.dumps("\x00PLACEHOLDER\x00", ensure_ascii=False).encode()

    def with_literal(literal: bytes) -> bytes:
        return raw.replace(marker, literal)

    name_type = (f"{f.branch(variant).pointer}/properties/{name}/type",)
    nested = b"[" * NESTING + b"]" * NESTING
    out += [BodyCase(f"{variant}: {name} is an array nested {NESTING} deep", ABSENT, with_literal(nested),
                     (*covers, *name_type)),
            BodyCase(f"{variant}: {name} holds bytes that are not UTF-8", ABSENT, with_literal(b'"caf\xe9"'), covers)]
    for literal in (b"1e400", b"-0", b"123456789012345678901234567890", b"1.0e-400"):
        out.append(BodyCase(f"{variant}: {name} is the number {literal.decode()}", ABSENT, with_literal(literal),
                            (*covers, *name_type)))
    dup = raw.replace(marker, b"1," + json.dumps(name).encode() + b":2", 1)
    out.append(BodyCase(f"{variant}: {name} given twice, both numbers (every reading invalid)", ABSENT, dup,
                        (*covers, *name_type)))
    return out


def media_element(f: BodyFactory) -> str:
    """The element id of the request body's media type (what a raw body breaks)."""
    spec = f.contract.spec
    content = spec.operation.get("requestBody", {}).get("content", {})
    media = next(iter(content), "application/json")
    path = spec.path.replace("~", "~0").replace("/", "~1")
    return f"/paths/{path}/{spec.method}/requestBody/content/{media.replace('~', '~0').replace('/', '~1')}"


def derived_refusals(f: BodyFactory) -> list[BodyCase]:
    """Keyword and raw-body cases the oracle rejects, without duplicates (the first label wins)."""
    seen: set[bytes] = set()
    out: list[BodyCase] = []
    for case in [*keyword_cases(f), *raw_cases(f, media_element(f))]:
        content = case.raw if case.raw is not None else encode_json(case.body)
        if content in seen:
            continue
        if f.linter.lint_request(content).valid:
            continue  # the spec allows it: nothing to assert
        seen.add(content)
        out.append(case)
    return out


def keyword_class(case: BodyCase) -> str:
    """The schema keyword a derived case breaks ("maxLength", "required", ...; "raw body" for bytes)."""
    if case.raw is not None:
        return "raw body"
    for element in case.covers:
        tokens = [t for t in element.split("/") if t and not t.isdigit()]
        if tokens:
            return tokens[-1]
    return "other"
