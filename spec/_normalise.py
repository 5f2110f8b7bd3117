"""Repairs for defects that stop standard tools from reading the spec.

Each pass is generic over the document: it finds a *kind* of defect wherever
it occurs, so a newer vendor spec with the same (or no) defects needs no code
change.  The vendored file is never edited; we repair a deep copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from ._defect import SpecDefect
from ._pointer import to_pointer

Path = tuple[str | int, ...]
Pass = Callable[[dict[str, Any], Path], Iterator[SpecDefect]]


# Values under these keys are data, not schema objects: a property or an example
# that happens to be called "nullable" must be left alone.
_DATA_KEYS = frozenset({"example", "examples", "default", "const", "enum", "properties"})


def _walk(node: Any, path: Path = ()) -> Iterator[tuple[Any, Path]]:
    # Inside a `properties` map the keys are field names, so a field called
    # "default" or "enum" is a schema like any other and must be walked.
    names_map = bool(path) and path[-1] == "properties"
    if not names_map:
        yield node, path
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in _DATA_KEYS and key != "properties" and not names_map:
                continue
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _discriminator_mapping(node: dict[str, Any], path: Path) -> Iterator[SpecDefect]:
    disc = node.get("discriminator")
    if not isinstance(disc, dict):
        return
    here = (*path, "discriminator")
    if not isinstance(disc.get("propertyName"), str):
        del node["discriminator"]
        yield SpecDefect(
            "discriminator.property_name",
            to_pointer(here),
            "discriminator has no string propertyName; OAS 3.1 requires one "
            "(dropped from the normalised copy)",
            normalised=True,
        )
        return
    mapping = disc.get("mapping")
    if mapping is None:
        return
    if not isinstance(mapping, dict):
        del disc["mapping"]
        yield SpecDefect(
            "discriminator.mapping_type",
            to_pointer((*here, "mapping")),
            "discriminator.mapping must be an object of strings (dropped)",
            normalised=True,
        )
        return
    for key, value in list(mapping.items()):
        pointer = to_pointer((*here, "mapping", key))
        if isinstance(value, str):
            continue
        if isinstance(value, dict) and isinstance(value.get("$ref"), str) and len(value) == 1:
            mapping[key] = value["$ref"]
            yield SpecDefect(
                "discriminator.mapping_value",
                pointer,
                f"mapping value for {key!r} is a {{$ref: ...}} object; OAS 3.1 requires a "
                f"string (normalised to {value['$ref']!r})",
                normalised=True,
            )
        else:
            del mapping[key]
            yield SpecDefect(
                "discriminator.mapping_value",
                pointer,
                f"mapping value for {key!r} is {type(value).__name__}, not a string "
                "schema name or reference (dropped)",
                normalised=True,
            )


def _nullable(node: dict[str, Any], path: Path) -> Iterator[SpecDefect]:
    # OAS 3.0's `nullable` means nothing to a 3.1 (JSON Schema 2020-12) tool, so
    # null would be silently rejected; translate it the way 3.1 spells it.
    if "nullable" not in node:
        return
    flag = node.pop("nullable")
    if flag is True:
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            node["type"] = [*kind, "null"]
    yield SpecDefect(
        "schema.nullable",
        to_pointer((*path, "nullable")),
        "`nullable` is OAS 3.0; in 3.1 write type: [T, 'null'] (translated)",
        normalised=True,
    )


def _exclusive_bounds(node: dict[str, Any], path: Path) -> Iterator[SpecDefect]:
    for keyword, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = node.get(keyword)
        if isinstance(flag, bool):
            del node[keyword]
            if flag and bound in node:
                node[keyword] = node.pop(bound)
            yield SpecDefect(
                "schema.exclusive_bound",
                to_pointer((*path, keyword)),
                f"boolean {keyword} is OAS 3.0; 3.1 wants the bound itself (translated)",
                normalised=True,
            )


PASSES: tuple[Pass, ...] = (_discriminator_mapping, _nullable, _exclusive_bounds)


def normalise(document: dict[str, Any]) -> tuple[dict[str, Any], tuple[SpecDefect, ...]]:
    """Return a repaired deep copy of ``document`` and the defects repaired."""
    fixed = copy.deepcopy(document)
    defects: list[SpecDefect] = []
    for node, path in list(_walk(fixed)):
        if not isinstance(node, dict):
            continue
        for repair in PASSES:
            defects.extend(repair(node, path))
    return fixed, tuple(defects)
