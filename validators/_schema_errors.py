"""Turn jsonschema-rs errors into findings a person can act on.

jsonschema-rs messages embed the whole failing instance (a 50 MB prompt would
become a 50 MB message), so messages are written here from the error *kind*,
with instances shown truncated.  ``anyOf`` failures are resolved by JSON type:
when exactly one branch accepts the value's type (``reference_images`` is an
array, not null), that branch's own errors are reported at their own paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from avatar_contract.spec import SPEC_URI, SpecError, to_pointer

from ._finding import Finding

Path = tuple[str | int, ...]
SchemaLookup = Callable[[str], Any]

_JSON_TYPES: Mapping[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def show(value: Any, limit: int = 60) -> str:
    """A short, safe rendering of a JSON value for messages."""
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + "…"
        return repr(text)
    if isinstance(value, dict):
        return f"an object with {len(value)} field(s)"
    if isinstance(value, list):
        return f"an array of {len(value)} item(s)"
    if type(value) is int and value.bit_length() > 10_000:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"  # repr() would refuse it
    text = "null" if value is None else repr(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _kind_name(error: Any) -> str:
    return type(error.kind).__name__


def _schema_pointer(error: Any, schema_base: str) -> str:
    location = error.absolute_keyword_location
    if isinstance(location, str) and location.startswith(SPEC_URI + "#"):
        return location[len(SPEC_URI) + 1 :]
    return schema_base + to_pointer(error.schema_path)


def _keyword(error: Any) -> str | None:
    path = error.schema_path
    return str(path[-1]) if path else None


def parent_properties(lookup: SchemaLookup, schema_pointer: str) -> list[str]:
    parent = schema_pointer.rsplit("/", 1)[0]
    try:
        node = lookup(parent)
    except (KeyError, IndexError, TypeError, ValueError, SpecError):
        return []
    props = node.get("properties") if isinstance(node, dict) else None
    return sorted(props) if isinstance(props, dict) else []


def _error_message(name: str, details: Mapping[str, Any], instance: Any) -> str:
    if name == "Type":
        types = details.get("types") or []
        want = " or ".join(str(t) for t in types) or "another type"
        return f"must be {want}, not {json_type(instance)}"
    if name == "Constant":
        return f"must be {show(details.get('expected_value'))}, not {show(instance)}"
    if name == "Enum":
        options = ", ".join(show(o) for o in details.get("options", []))
        return f"must be one of {options}; got {show(instance)}"
    if name in ("MaxLength", "MinLength"):
        limit = details.get("limit")
        size = len(instance) if isinstance(instance, str) else "?"
        bound = "at most" if name == "MaxLength" else "at least"
        return f"is {size} characters long; {bound} {limit} allowed"
    if name in ("MaxItems", "MinItems"):
        limit = details.get("limit")
        size = len(instance) if isinstance(instance, list) else "?"
        bound = "at most" if name == "MaxItems" else "at least"
        return f"has {size} items; {bound} {limit} allowed"
    if name == "Pattern":
        return f"{show(instance)} does not match pattern {details.get('pattern')!r}"
    if name in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        return f"{show(instance)} is out of range ({name[0].lower() + name[1:]} {details.get('limit')})"
    if name == "Format":
        return f"{show(instance)} is not a valid {details.get('format')}"
    if name == "FalseSchema":
        return "no value is allowed here"
    return f"{show(instance)} violates {name[0].lower() + name[1:]}"


def convert(error: Any, base: Path, schema_base: str, lookup: SchemaLookup) -> Iterator[Finding]:
    """Findings for one jsonschema-rs error found at ``base`` in the payload."""
    name = _kind_name(error)
    path = (*base, *error.instance_path)
    pointer = _schema_pointer(error, schema_base)
    keyword = _keyword(error)
    details: Mapping[str, Any] = error.kind.as_dict()
    if name == "Required":
        prop = str(details.get("property"))
        yield Finding(
            "error", to_pointer((*path, prop)), "schema.required",
            f"{prop!r} is required", keyword="required", schema_path=pointer,
        )
        return
    if name == "AdditionalProperties":
        allowed = parent_properties(lookup, pointer)
        hint = f"allowed fields: {', '.join(allowed)}" if allowed else None
        for prop in details.get("unexpected", []):
            yield Finding(
                "error", to_pointer((*path, prop)), "schema.additionalProperties",
                f"unexpected field {prop!r}", hint=hint, keyword="additionalProperties",
                schema_path=pointer,
            )
        return
    if name in ("AnyOf", "OneOfNotValid"):
        branch = _branch_for_type(details.get("context") or [], len(error.instance_path))
        if branch is not None:
            for sub in branch:
                yield from convert(sub, base, schema_base, lookup)
            return
        types = _allowed_types(details.get("context") or [], len(error.instance_path))
        message = (
            f"must be {types}, not {json_type(error.instance)}" if types
            else f"{show(error.instance)} matches none of the allowed forms"
        )
        yield Finding(
            "error", to_pointer(path), f"schema.{keyword or 'anyOf'}", message,
            keyword=keyword, schema_path=pointer,
        )
        return
    yield Finding(
        "error", to_pointer(path), f"schema.{keyword}" if keyword else "schema.invalid",
        _error_message(name, details, error.instance), keyword=keyword, schema_path=pointer,
    )


def _rejects_type(branch: Iterable[Any], depth: int) -> bool:
    return any(
        _kind_name(e) == "Type" and len(e.instance_path) == depth for e in branch
    )


def _branch_for_type(context: list[list[Any]], depth: int) -> list[Any] | None:
    candidates = [branch for branch in context if not _rejects_type(branch, depth)]
    return candidates[0] if len(candidates) == 1 and candidates[0] else None


def _allowed_types(context: list[list[Any]], depth: int) -> str:
    types: list[str] = []
    for branch in context:
        for e in branch:
            if _kind_name(e) == "Type" and len(e.instance_path) == depth:
                types.extend(str(t) for t in e.kind.as_dict().get("types", []))
    return " or ".join(dict.fromkeys(types))


def findings(
    validator: Any, instance: Any, base: Path, schema_base: str, lookup: SchemaLookup
) -> list[Finding]:
    out: list[Finding] = []
    for error in validator.iter_errors(instance):
        out.extend(convert(error, base, schema_base, lookup))
    return out
