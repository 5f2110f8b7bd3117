"""Which derived probes and planner facts cover which spec element (for ``spec coverage``).

:func:`element_probes` maps each element id (:mod:`schema_walk`) to the names of
the probes and facts that declare it: the must-refuse bodies
(``BodyCase.covers``), the must-accept values (``Accept.covers``), the
planner's other body facts (each variant, asset source, group mode and limit at
the keyword it rests on), the auth near misses at the security schemes they
exercise, and the Idempotency-Key's case follow-up at the header's pattern.
The coverage report registers the facts, auth and key part as a source (the
refusal bodies it reads itself).
"""

from __future__ import annotations

from collections.abc import Iterable

from avatar_contract.spec import to_pointer

from ..planning.facts import body_facts, global_facts
from ..probes.bodies import BodyFactory
from ..probes.invalid_bodies import invalid_cases
from ..probes.keys import NO_KEY
from ..probes.schema_values import accept_values
from ..probes.schema_walk import Node, child, deref, lookup, sub_of_type
from .mapping import CoverageInput, source

Found = dict[str, list[str]]


def _add(out: Found, ids: Iterable[str], name: str) -> None:
    for element_id in ids:
        names = out.setdefault(element_id, [])
        if name not in names:
            names.append(name)


def _type_id(node: Node | None, kind: str) -> list[str]:
    if node is None:
        return []
    declared = node.get("type")
    return [node.at("type", declared.index(kind))] if isinstance(declared, list) else [node.at("type")]


def fact_elements(f: BodyFactory, key: str) -> list[str]:
    """The element ids a body fact of the planner rests on (its key says which)."""
    spec = f.contract.spec
    kind, variant, *rest = key.split(":")
    if variant not in f.variants:
        return []
    pointer = f.branch(variant).pointer
    root = deref(spec, pointer, lookup(spec, pointer))
    if kind == "variant":
        union = deref(spec, f.union.pointer, lookup(spec, f.union.pointer))
        return [union.at("discriminator", "mapping", variant)]
    if kind == "source" and len(rest) == 2:
        field = rest[0].split("[", 1)[0]
        site = next((s for s in f.sites(variant) if s.field == field), None)
        return [f"{site.union.pointer}/discriminator/mapping/{rest[1]}"] if site is not None else []
    if kind == "group" and rest:
        prop = f.group_property(variant)
        if prop is None:
            return []
        node = child(spec, root, "properties", prop)
        kinds = {"null": "null", "set": "string"}
        return _type_id(sub_of_type(spec, node, kinds[rest[0]]), kinds[rest[0]]) if rest[0] in kinds \
            else [node.pointer]
    if kind == "limit" and len(rest) == 2:
        node = child(spec, root, "properties", rest[0])
        holder = sub_of_type(spec, node, "array" if rest[1] == "maxItems" else "string")
        return [holder.at(rest[1])] if holder is not None and rest[1] in holder.schema else []
    return []


def _security(f: BodyFactory) -> Found:
    """Each declared scheme, by the probes that exercise it (auth near misses run on both headers)."""
    out: Found = {}
    spec = f.contract.spec
    schemes = (spec.document.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in schemes.items():
        at = to_pointer(["components", "securitySchemes", name])
        if scheme.get("type") == "apiKey":
            _add(out, [at], "probe auth.invalid: the key's near misses (case, whitespace, prefix, suffix, "
                            f"truncation) in {scheme.get('name')}")
        elif scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            _add(out, [at], "fact auth:bearer [auth.bearer]")
            _add(out, [at], "probe auth.invalid: an upper-cased Bearer token, the key under no or the Basic scheme")
            _add(out, [at], "probe request.rejects_invalid: one case per keyword class under Bearer")
    return out


def _key_facts(f: BodyFactory) -> Found:
    """The Idempotency-Key's case follow-up (at its pattern) and the keyless create (at ``required``)."""
    header = f.contract.idempotency_key
    if header is None:
        return {}
    out: Found = {}
    for fact in global_facts(False):
        if fact.key == "follow:key_case" and "pattern" in (header.schema or {}):
            _add(out, [f"{header.pointer}/schema/pattern"], f"fact {fact.key} [{fact.clause}]")
        elif fact.key == f"key:{NO_KEY}":
            _add(out, [f"{header.pointer}/required"], f"fact {fact.key} [{fact.clause}]")
    return out


def fact_probes(f: BodyFactory) -> Found:
    """The planner's facts, auth near misses and the key's case follow-up, by element id."""
    out: Found = {}
    for variant in f.variants:
        for accept in accept_values(f, variant):
            _add(out, accept.covers, f"fact {accept.key} [{accept.clause}]")
        for fact in body_facts(f, variant):
            if not fact.key.startswith("value:"):
                _add(out, fact_elements(f, fact.key), f"fact {fact.key} [{fact.clause}]")
    for element_id, names in [*_security(f).items(), *_key_facts(f).items()]:
        for name in names:
            _add(out, [element_id], name)
    return out


def element_probes(f: BodyFactory) -> Found:
    """Element id -> the names of every derived probe and planner fact that covers it."""
    out = fact_probes(f)
    for case in invalid_cases(f):
        _add(out, case.covers, f"probe request.rejects_invalid: {case.label}")
    return out


@source("derived facts")
def _derived_facts(given: CoverageInput) -> Found:
    return fact_probes(given.bodies)
