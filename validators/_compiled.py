"""Compile the spec's components into fast validators, once per spec.

Two validators exist for every schema, with different jobs:

* the *verdict* validator is the schema exactly as published (jsonschema-rs,
  Draft 2020-12, formats on).  Only it decides ``valid``, so verdicts match any
  compliant JSON Schema implementation by construction;
* the *diagnostic* tree splits the schema at each ``discriminator``: every
  branch is compiled with its nested unions blanked out, and unions dispatch on
  the discriminator value.  It runs only for invalid payloads, to report each
  bad field at its own path instead of one root-level "oneOf failed".
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from avatar_contract.spec import SPEC_URI, Spec, SpecError, from_pointer

Location = tuple[str, ...]  # instance path template; "*" is every array item

_UNION_KEYS = ("oneOf", "anyOf")


@dataclass(frozen=True)
class Branch:
    """One concrete object schema (a union variant, or the body itself)."""

    value: str
    pointer: str
    validator: Any
    properties: frozenset[str]
    required: tuple[str, ...]
    closed: bool
    unions: tuple[tuple[Location, Union], ...] = ()
    schema: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # What ``validator`` was compiled from (unions blanked, refs absolute):
    # the schema its error locations point into.
    compiled: Any = field(default=None, repr=False)


@dataclass(frozen=True)
class Union:
    """A discriminated ``oneOf``: ``property`` selects one of ``branches``."""

    property: str
    pointer: str
    branches: Mapping[str, Branch]

    @builtins.property  # the plain name is shadowed by the `property` field above
    def values(self) -> tuple[str, ...]:
        return tuple(sorted(self.branches))


def make_validator(spec: Spec, schema: Any) -> Any:
    try:
        return jsonschema_rs.validator_for(
            schema,
            registry=_registry(spec),
            validate_formats=True,
        )
    except (jsonschema_rs.ReferencingError, ValueError) as exc:
        # jsonschema-rs explains over several lines; the CLI promises one.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{spec.source}: schema does not compile: {reason}") from exc


_REGISTRIES: dict[int, tuple[Spec, Any]] = {}


def _registry(spec: Spec) -> Any:
    held = _REGISTRIES.get(id(spec))
    if held is None or held[0] is not spec:
        registry = jsonschema_rs.Registry([(SPEC_URI, spec.document)], draft=jsonschema_rs.Draft202012)
        held = _REGISTRIES[id(spec)] = (spec, registry)
    return held[1]


def ref_validator(spec: Spec, pointer: str) -> Any:
    """A verdict validator for the schema at ``pointer`` in the normalised document.

    The node is compiled inline rather than as ``{"$ref": pointer}``: a pointer
    through non-schema OpenAPI objects (``requestBody`` has a boolean
    ``required``) is not a valid schema location for a JSON Schema resolver.
    """
    return make_validator(spec, _absolutise(lookup(spec, pointer)))


def lookup(spec: Spec, pointer: str) -> Any:
    node: Any = spec.document
    try:
        for token in from_pointer(pointer):
            node = node[int(token)] if isinstance(node, list) else node[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise SpecError(f"{spec.source}: nothing at #{pointer} (an unresolvable $ref?)") from None
    return node


def _target_pointer(ref: str) -> str:
    if ref.startswith(SPEC_URI + "#"):
        return ref[len(SPEC_URI) + 1 :]
    if ref.startswith("#"):
        return ref[1:]
    if "/" not in ref and "#" not in ref:  # OAS allows a bare schema name in a mapping
        return f"/components/schemas/{ref}"
    raise SpecError(f"external $ref {ref!r} is not supported; bundle the spec first")


def is_union(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("discriminator"), dict)
        and any(isinstance(node.get(k), list) for k in _UNION_KEYS)
    )


def _absolutise(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _absolutise(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = SPEC_URI + ref
        return out
    if isinstance(node, list):
        return [_absolutise(v) for v in node]
    return node


def contains_union(spec: Spec, node: Any, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a union sits anywhere in ``node``, its ``$ref``s followed (each once per path)."""
    if is_union(node):
        return True
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = _target_pointer(ref)
            if target in seen:
                return False
            if contains_union(spec, lookup(spec, target), seen | {target}):
                return True
        return any(contains_union(spec, v, seen) for k, v in node.items() if k != "$ref")
    if isinstance(node, list):
        return any(contains_union(spec, v, seen) for v in node)
    return False


class _Splitter:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._branches: dict[str, Branch] = {}

    def blank(self, node: Any, pointer: str, loc: Location, found: list[tuple[Location, Union]]) -> Any:
        if not isinstance(node, dict):
            return node
        if is_union(node):
            found.append((loc, self.union(node, pointer)))
            return {k: v for k, v in node.items() if k not in ("discriminator", *_UNION_KEYS)}
        ref = node.get("$ref")
        if isinstance(ref, str) and contains_union(self.spec, node):
            target = _target_pointer(ref)
            inlined = self.blank(copy.deepcopy(lookup(self.spec, target)), target, loc, found)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return {**inlined, **siblings} if siblings else inlined
        out = dict(node)
        props = node.get("properties")
        if isinstance(props, dict):
            out["properties"] = {
                name: self.blank(sub, f"{pointer}/properties/{name}", (*loc, name), found)
                for name, sub in props.items()
            }
        if isinstance(node.get("items"), dict):
            out["items"] = self.blank(node["items"], f"{pointer}/items", (*loc, "*"), found)
        for key in ("anyOf", "oneOf", "allOf"):
            subs = node.get(key)
            if isinstance(subs, list):
                out[key] = [
                    self.blank(sub, f"{pointer}/{key}/{i}", loc, found) for i, sub in enumerate(subs)
                ]
        return out

    def branch(self, pointer: str, value: str) -> Branch:
        cached = self._branches.get(pointer)
        if cached is not None and cached.value == value:
            return cached
        node = self.spec.resolve(lookup(self.spec, pointer))
        found: list[tuple[Location, Union]] = []
        blanked = self.blank(copy.deepcopy(node), pointer, (), found)
        props = node.get("properties") if isinstance(node, dict) else None
        required = node.get("required") if isinstance(node, dict) else None
        compiled = _absolutise(blanked)
        result = Branch(
            value=value,
            pointer=pointer,
            validator=make_validator(self.spec, compiled),
            properties=frozenset(props) if isinstance(props, dict) else frozenset(),
            required=tuple(required) if isinstance(required, list) else (),
            closed=isinstance(node, dict) and node.get("additionalProperties") is False,
            unions=tuple(found),
            schema=node if isinstance(node, dict) else {},
            compiled=compiled,
        )
        self._branches[pointer] = result
        return result

    def union(self, node: dict[str, Any], pointer: str) -> Union:
        disc = node["discriminator"]
        prop = str(disc["propertyName"])
        targets: dict[str, str] = {}
        for value, ref in (disc.get("mapping") or {}).items():
            if isinstance(ref, str):
                targets[str(value)] = _target_pointer(ref)
        mapped = set(targets.values())
        for key in _UNION_KEYS:
            for sub in node.get(key) or []:
                ref = sub.get("$ref") if isinstance(sub, dict) else None
                if not isinstance(ref, str) or _target_pointer(ref) in mapped:
                    continue
                target = _target_pointer(ref)
                value = _implicit_value(lookup(self.spec, target), prop, target)
                targets.setdefault(value, target)
        return Union(
            property=prop,
            pointer=pointer,
            branches={value: self.branch(target, value) for value, target in targets.items()},
        )


def _implicit_value(node: Any, prop: str, target: str) -> str:
    # OAS names an unmapped branch by its schema name; a `const` on the
    # discriminator property is the value servers actually check, so prefer it.
    sub = (node.get("properties") or {}).get(prop) if isinstance(node, dict) else None
    if isinstance(sub, dict) and isinstance(sub.get("const"), str):
        return str(sub["const"])
    return target.rsplit("/", 1)[-1]


def split(spec: Spec, pointer: str) -> Branch:
    """The diagnostic tree for the schema at ``pointer``."""
    return _Splitter(spec).branch(pointer, "")


def instances_at(
    value: Any, loc: Location, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value in ``value`` at the location template ``loc``, with its path."""
    if not loc:
        yield path, value
        return
    head, rest = loc[0], loc[1:]
    if head == "*":
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from instances_at(item, rest, (*path, index))
    elif isinstance(value, dict) and head in value:
        yield from instances_at(value[head], rest, (*path, head))
