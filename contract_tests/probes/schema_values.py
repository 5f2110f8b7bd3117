"""Must-accept values derived from the request schema: the planner's value facts.

Every top-level property of a variant yields the values a correct server must
accept, each a creation fact the planner packs (:mod:`planner`):

* an optional property: absent; ``null`` where its schema allows null; for a
  list, the empty list unless ``minItems`` forbids it (a list's items are the
  asset-source facts; its length at ``maxItems`` is the limit fact);
* an optional id that names an existing resource (``*_id``, not the group):
  set, to a real one: the asset fixture's (``--asset``), or in-process the
  avatar an earlier create of the run made;
* a length-limited string: exactly ``maxLength`` code points spelt with
  precomposed letters (an NFD count refuses them) and with whitespace at both
  ends (a count after trimming is not the problem, refusing them is), and one
  code point under the limit; ``minLength`` exactly; each ``enum`` value.

A variant whose object schema is open (no ``additionalProperties: false``, no
``unevaluatedProperties: false``, no ``patternProperties`` or ``propertyNames``)
also yields one undeclared property, which a correct server must accept: JSON
Schema admits any property such an object does not declare, and a spec that
closes its asset objects but not its request bodies says so on purpose.

The value at ``maxLength`` in astral code points stays the planner's
``limit:...:maxLength`` fact.  Each value names the element ids it covers.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from ..targets.exchange import ABSENT
from .bodies import BodyFactory
from .schema_walk import Node, allowed_types, alternatives, child, deref, lookup, sub_of_type

VARIANTS = "request.variants"
LIMITS = "request.rejects_invalid"  # owns the limits, at them as past them
PRECOMPOSED = "\u00e9"  # one code point; two after NFD
ASTRAL = "\U0001f600"
EMPTY_SITE = "empty-site"  # only on a create whose list carries no item
REFERENCE = "reference"  # set to an existing resource's id


@dataclass(frozen=True)
class Accept:
    variant: str
    prop: str
    label: str  # no ":" (fact keys are split on it)
    value: Any  # ABSENT: the property left out; None with needs == REFERENCE: filled in when sent
    covers: tuple[str, ...]
    clause: str
    needs: str = ""

    @property
    def key(self) -> str:
        return f"value:{self.variant}:{self.prop}:{self.label}"

    @property
    def text(self) -> str:
        return f"{self.variant} with {self.prop} {self.label}"


def _node(f: BodyFactory, variant: str) -> Node:
    spec = f.contract.spec
    pointer = f.branch(variant).pointer
    return deref(spec, pointer, lookup(spec, pointer))


def _type_ids(f: BodyFactory, node: Node, kind: str) -> tuple[str, ...]:
    sub = sub_of_type(f.contract.spec, node, kind)
    if sub is None:
        return ()
    declared = sub.get("type")
    return (sub.at("type", declared.index(kind)),) if isinstance(declared, list) else (sub.at("type"),)


def is_reference(f: BodyFactory, variant: str, prop: str) -> bool:
    """An optional string id naming an existing resource (the group property has its own facts)."""
    branch = f.branch(variant)
    node = child(f.contract.spec, _node(f, variant), "properties", prop)
    return prop.endswith("_id") and prop not in branch.required and prop != f.group_property(variant) \
        and sub_of_type(f.contract.spec, node, "string") is not None


@functools.cache
def _accepts(f: BodyFactory, variant: str) -> tuple[Accept, ...]:
    spec = f.contract.spec
    branch = f.branch(variant)
    root = _node(f, variant)
    sites = {s.field: s for s in f.sites(variant)}
    out: list[Accept] = []
    for prop in sorted(branch.properties - {f.union.property, f.group_property(variant) or ""}):
        node = child(spec, root, "properties", prop)
        types, _ = allowed_types(spec, node)
        optional = prop not in branch.required
        site = sites.get(prop)
        if optional:
            out.append(Accept(variant, prop, "absent", ABSENT, (node.pointer,), VARIANTS,
                              EMPTY_SITE if site is not None else ""))
            if "null" in types:
                out.append(Accept(variant, prop, "null", None, _type_ids(f, node, "null"), VARIANTS,
                                  EMPTY_SITE if site is not None else ""))
        if site is not None and site.many:
            array = sub_of_type(spec, node, "array")
            low = array.get("minItems") if array is not None else None
            if array is not None and not low:
                out.append(Accept(variant, prop, "an empty list", [], _type_ids(f, node, "array"), VARIANTS,
                                  EMPTY_SITE))
            continue
        if site is not None:
            continue
        if optional and is_reference(f, variant, prop):
            out.append(Accept(variant, prop, "set to an existing one", None, _type_ids(f, node, "string"),
                              VARIANTS, REFERENCE))
        for alt in alternatives(spec, node):
            out += _string_values(variant, prop, alt)
    if _admits_any_property(root):
        covers = (root.at("type"),) if "type" in root.schema else (root.pointer,)
        out.append(Accept(variant, undeclared_property(f), "set though undeclared (the object is open)",
                          "avatar-contract", covers, VARIANTS))
    return tuple(out)


def _admits_any_property(node: Node) -> bool:
    """An object schema that lets any undeclared property through with a string value."""
    extra, unevaluated = node.get("additionalProperties", True), node.get("unevaluatedProperties", True)
    return node.get("type") in ("object", None) and extra in (True, {}) and unevaluated in (True, {}) \
        and not node.get("patternProperties") and not node.get("propertyNames")


def undeclared_property(f: BodyFactory) -> str:
    """A property name no variant declares (so it is undeclared in every branch of the union)."""
    declared = {p for v in f.variants for p in f.branch(v).properties}
    name = "x_avatar_contract_extension"
    while name in declared:
        name += "_"
    return name


def _string_values(variant: str, prop: str, node: Node) -> list[Accept]:
    out: list[Accept] = []
    high, low, enum = node.get("maxLength"), node.get("minLength"), node.get("enum")
    if isinstance(high, int) and high >= 2:
        at = (node.at("maxLength"),)
        out += [Accept(variant, prop, f"of exactly {high} precomposed letters (maxLength)", PRECOMPOSED * high,
                       at, LIMITS),
                Accept(variant, prop, f"of exactly {high} characters with a space at each end (maxLength)",
                       " " + "a" * (high - 2) + " ", at, LIMITS),
                Accept(variant, prop, f"of {high - 1} astral code points (under maxLength)", ASTRAL * (high - 1),
                       at, LIMITS)]
    if isinstance(low, int) and low > 0:
        out.append(Accept(variant, prop, f"of exactly {low} astral code points (minLength)", ASTRAL * low,
                          (node.at("minLength"),), LIMITS))
    if isinstance(enum, list):
        out += [Accept(variant, prop, f"= enum value {i}", value, (node.at("enum", i),), VARIANTS)
                for i, value in enumerate(enum) if isinstance(value, (str, int, float, bool))]
    return out


def accept_values(f: BodyFactory, variant: str) -> tuple[Accept, ...]:
    return _accepts(f, variant)


def accept_by_key(f: BodyFactory, key: str) -> Accept | None:
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "value" or parts[1] not in f.variants:
        return None
    return next((a for a in accept_values(f, parts[1]) if a.key == key), None)


def reference_value(f: BodyFactory, accept: Accept, made: list[str]) -> str | None:
    """The existing resource a REFERENCE value names: the fixture's, else (in-process only) the
    first avatar this run made; None where neither exists (the fact cannot be sent)."""
    given = f.fixture.reference(accept.prop) if f.fixture is not None else None
    if given is not None:
        return given
    return made[0] if f.invented and made else None


def apply(f: BodyFactory, body: dict[str, Any], accept: Accept, made: list[str]) -> dict[str, Any] | None:
    """``body`` with the value set (or the property left out); None if a reference has no value."""
    out = dict(body)
    if accept.value is ABSENT:
        out.pop(accept.prop, None)
        return out
    value: Any = accept.value
    if accept.needs == REFERENCE:
        value = reference_value(f, accept, made)
        if value is None:
            return None
    out[accept.prop] = copy.deepcopy(value)
    return out
