"""Whether the native core may dispatch a union on its discriminator: the checks, apart from the compiler.

The core looks up one branch by the discriminator's value; the spec says
``oneOf``/``anyOf``.  These checks decline (``Decline``) every union where the
two could disagree, so the contract keeps the Python path; kept apart because
they read the spec, never the program the compiler builds.
"""

from __future__ import annotations

from typing import Any

from ._compiled import Union, _target_pointer, contains_union, is_union, lookup
from ._contract import Contract
from ._diagnoser import ANNOTATIONS
from ._error_sites import Decline


def schema_keys(schema: dict[str, Any]) -> set[str]:
    """The keywords of ``schema`` that can reject a value (annotations and ``x-`` extensions left out)."""
    return {k for k in schema if k not in ANNOTATIONS and not (isinstance(k, str) and k.startswith("x-"))}


def check_dispatch(contract: Contract, union: Union) -> None:
    """Decline unless dispatching on the discriminator is the same test as the spec's union.

    That holds when the union lists exactly its branches by ``$ref``, and each
    branch is an object that requires the property and pins it with a
    ``const`` of its own value: a non-object fails every branch, and a value
    can pass only the branch it names.  Nor may a union hide inside another
    ``anyOf``/``oneOf``/``allOf`` of its branch, unless in the one member that
    admits its JSON type.
    """
    spec = contract.spec
    node = spec.resolve(lookup(spec, union.pointer))
    if not is_union(node) or sum(isinstance(node.get(k), list) for k in ("oneOf", "anyOf")) != 1:
        raise Decline
    listed = node.get("oneOf") or node.get("anyOf")
    targets = set()
    for sub in listed:
        if not isinstance(sub, dict) or schema_keys(sub) != {"$ref"} or not isinstance(sub["$ref"], str):
            raise Decline
        targets.add(_target_pointer(sub["$ref"]))
    if targets != {b.pointer for b in union.branches.values()} or len(targets) != len(listed):
        raise Decline
    prop = union.property
    for value, branch in union.branches.items():
        schema = branch.schema
        pinned = (schema.get("properties") or {}).get(prop)
        if (schema.get("type") != "object" or prop not in (schema.get("required") or [])
                or not isinstance(pinned, dict) or schema_keys(pinned) - {"type", "const"}
                or pinned.get("const") != value or type(pinned.get("const")) is not str
                or pinned.get("type", "string") != "string"):
            raise Decline
        _no_nested_union(spec, schema)


def _no_nested_union(spec: Any, schema: Any) -> None:
    """Decline if a union sits inside an anyOf/oneOf/allOf (the split tree dispatches it anyway)."""
    def kind(node: Any) -> Any:
        node = spec.resolve(node)
        return node.get("type") if isinstance(node, dict) else None

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("anyOf", "oneOf", "allOf") and isinstance(value, list) and not is_union(node):
                    for index, sub in enumerate(value):
                        if not contains_union(spec, sub):
                            continue
                        # Fine only in the one branch that can hold its type
                        # (reference_images: an array, or null): the union's
                        # location exists only in values of that type.
                        own = kind(sub)
                        others = [kind(v) for i, v in enumerate(value) if i != index]
                        if key == "allOf" or not isinstance(own, str) or not all(
                                isinstance(k, str) and k != own for k in others):
                            raise Decline
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")})
