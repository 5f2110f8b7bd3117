"""The request schema as the probes see it: each node with the pointer where it is written.

An *element id* is the RFC 6901 pointer, into the normalised spec, of a keyword
where the spec writes it (after following ``$ref``), list entries indexed:
``/components/schemas/CreatePromptAvatarRequest/properties/prompt/maxLength``,
``.../required/1``.  The probes (:mod:`schema_probes`) and the planner's facts
declare the element ids they cover; the coverage report reads them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from avatar_contract.spec import Spec, from_pointer, to_pointer
from avatar_contract.validators._schema_errors import json_type

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


@dataclass(frozen=True)
class Node:
    """A schema object and the pointer where it is written (``$ref`` followed)."""

    pointer: str
    schema: dict[str, Any]

    def at(self, *keys: str | int) -> str:
        """The element id of a keyword (or list entry) of this node."""
        return self.pointer + to_pointer(keys)

    def get(self, key: str, default: Any = None) -> Any:
        return self.schema.get(key, default)


def lookup(spec: Spec, pointer: str) -> Any:
    node: Any = spec.document
    for token in from_pointer(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def deref(spec: Spec, pointer: str, node: Any) -> Node:
    """Follow local ``$ref`` chains; the pointer ends where the schema is written."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        ref = node["$ref"][1:]
        if ref in seen:
            break
        seen.add(ref)
        pointer, node = ref, lookup(spec, ref)
    return Node(pointer, node if isinstance(node, dict) else {})


def child(spec: Spec, parent: Node, *keys: str | int) -> Node:
    node: Any = parent.schema
    for key in keys:
        node = node[key]
    return deref(spec, parent.at(*keys), node)


def alternatives(spec: Spec, node: Node) -> list[Node]:
    """The subschemas of an undiscriminated ``anyOf``/``oneOf`` (a nullable wrapper), or [node]."""
    if isinstance(node.get("discriminator"), dict):
        return [node]
    for key in ("anyOf", "oneOf"):
        subs = node.get(key)
        if isinstance(subs, list):
            return [alt for i in range(len(subs)) for alt in alternatives(spec, child(spec, node, key, i))]
    return [node]


def allowed_types(spec: Spec, node: Node) -> tuple[set[str], list[str]]:
    """(JSON types the node allows, element ids of the ``type`` keywords that say so)."""
    types: set[str] = set()
    where: list[str] = []
    for alt in alternatives(spec, node):
        kind = alt.get("type")
        if isinstance(kind, str):
            types.add(kind)
            where.append(alt.at("type"))
        elif isinstance(kind, list):  # one element per entry: ".../type/1"
            types |= {k for k in kind if isinstance(k, str)}
            where += [alt.at("type", i) for i in range(len(kind))]
        elif isinstance(alt.get("discriminator"), dict) or isinstance(alt.get("properties"), dict):
            types.add("object")
        elif "const" in alt.schema:
            types.add(json_type(alt.get("const")))
        else:
            return set(JSON_TYPES), where  # unconstrained: anything goes
    if "number" in types:
        types.add("integer")
    return types, where


def sub_of_type(spec: Spec, node: Node, kind: str) -> Node | None:
    """The alternative that describes values of JSON type ``kind``, if one does."""
    for alt in alternatives(spec, node):
        declared = alt.get("type")
        if declared == kind or (isinstance(declared, list) and kind in declared):
            return alt
    return None


def union_branches(spec: Spec, node: Node) -> Iterator[tuple[str, Node]]:
    """(discriminator value, branch) of a discriminated union node."""
    disc = node.get("discriminator")
    mapping = disc.get("mapping") if isinstance(disc, dict) else None
    if not isinstance(mapping, dict):
        return
    for value, ref in sorted(mapping.items()):
        if isinstance(ref, str) and ref.startswith("#"):
            yield value, deref(spec, ref[1:], lookup(spec, ref[1:]))


Loc = tuple[str | int, ...]


def put(body: Any, loc: Loc, value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``loc`` (``ABSENT``-like removal via :func:`drop`)."""
    if not loc:
        return value
    head, rest = loc[0], loc[1:]
    if isinstance(body, list):
        out = list(body)
        out[int(head)] = put(out[int(head)], rest, value)
        return out
    return {**body, str(head): put(body[head], rest, value) if rest else value}


def drop(body: Any, loc: Loc) -> Any:
    """A copy of ``body`` without the member at ``loc``."""
    head, rest = loc[0], loc[1:]
    if not rest:
        return {k: v for k, v in body.items() if k != head}
    if isinstance(body, list):
        out = list(body)
        out[int(head)] = drop(out[int(head)], rest)
        return out
    return {**body, str(head): drop(body[head], rest)}


def get(body: Any, loc: Loc) -> Any:
    for key in loc:
        body = body[key]
    return body
