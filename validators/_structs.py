"""The validity fast path: msgspec Structs generated from the request schema.

``msgspec.json.decode`` into a typed Struct both parses and checks a body in
one C pass, a few times faster than parsing with orjson and asking
jsonschema-rs ``is_valid``.  The Structs are generated at run time from the
normalised schema tree; nothing here names a field, a variant or a limit, so a
newer spec changes the Structs, not this code.

The one rule is *exactness*: a body msgspec accepts must be one the published
schema accepts.  (The converse need not hold: whatever msgspec refuses goes to
the exact path, which decides with jsonschema-rs.)  So only what maps exactly
is mapped, and a schema with anything else gets no fast path at all
(:func:`fast_decoder` returns ``None``):

* ``type: string`` with ``minLength``/``maxLength`` (msgspec counts code points,
  as JSON Schema does); ``const``/single-type ``enum`` of strings as
  ``Literal``.  No ``pattern`` or ``format`` (regex dialects, format checks).
* ``type: null`` / ``boolean``; ``type: array`` with ``items`` and item counts.
  Never ``integer`` (msgspec ``int`` rejects ``1.0``, which is a JSON Schema
  integer) nor ``number``.
* ``type: object`` with ``properties``/``required``: a Struct whose optional
  fields default to ``UNSET``, so absent stays absent.  Every Struct forbids
  unknown fields, even where the schema allows them: a body with an unknown
  field is valid but earns a warning the advisors must see, and the Struct
  would drop the field.  Such bodies simply take the exact path.
* ``anyOf`` whose branches msgspec can tell apart by JSON type (msgspec refuses
  any other union when the decoder is built, which declines it here), and a
  discriminated ``oneOf`` whose every branch pins the discriminator with a
  ``const`` equal to its mapping value: a msgspec tagged union.

msgspec also refuses NaN/Infinity literals, lone surrogates and a BOM, and it
type-checks every occurrence of a duplicate key (then keeps the last, as
orjson and the stdlib do), so such bodies are at worst sent to the exact path.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

from avatar_contract.spec import Spec, SpecError

from ._compiled import _target_pointer, lookup

# Keywords that never reject an instance.
_ANNOTATIONS = frozenset({
    "title", "description", "$comment", "examples", "example", "default", "deprecated",
    "readOnly", "writeOnly", "externalDocs", "xml",
})
_STRING_KEYS = frozenset({"type", "minLength", "maxLength", "const", "enum"})
_ARRAY_KEYS = frozenset({"type", "items", "minItems", "maxItems"})
_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties"})


class _Decline(Exception):
    """This schema node has no exact msgspec type."""


def _keys(node: dict[str, Any]) -> set[str]:
    return {k for k in node if k not in _ANNOTATIONS and not k.startswith("x-")}


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


class _Generator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._names = itertools.count()
        self._resolving: set[str] = set()

    def type_for(self, node: Any, tag: tuple[str, str] | None = None) -> Any:
        if not isinstance(node, dict):
            raise _Decline  # `true`/`false` schemas
        keys = _keys(node)
        if "$ref" in keys:
            if keys != {"$ref"} or not isinstance(node["$ref"], str):
                raise _Decline  # siblings of $ref apply too; not mapped
            target = _target_pointer(node["$ref"])
            if target in self._resolving:
                raise _Decline  # recursive schema
            self._resolving.add(target)
            try:
                return self.type_for(lookup(self.spec, target), tag)
            finally:
                self._resolving.discard(target)
        if tag is not None:
            return self._object(node, keys, tag)
        if "oneOf" in keys or "discriminator" in keys:
            return self._tagged_union(node, keys)
        if "anyOf" in keys:
            if keys != {"anyOf"} or not isinstance(node["anyOf"], list) or not node["anyOf"]:
                raise _Decline
            members = tuple(self.type_for(sub) for sub in node["anyOf"])
            return members[0] if len(members) == 1 else _union(members)
        kind = node.get("type")
        if kind == "string" or ("type" not in keys and keys and keys <= {"const", "enum"}):
            return self._string(node, keys)
        if kind == "null" and keys == {"type"}:
            return None
        if kind == "boolean" and keys == {"type"}:
            return bool
        if kind == "array":
            return self._array(node, keys)
        if kind == "object":
            return self._object(node, keys, None)
        raise _Decline

    def _string(self, node: dict[str, Any], keys: set[str]) -> Any:
        if not keys <= _STRING_KEYS:
            raise _Decline
        options: list[Any] | None = None
        if "const" in keys:
            options = [node["const"]]
        if "enum" in keys:
            enum = node["enum"]
            if not isinstance(enum, list) or not enum:
                raise _Decline
            options = enum if options is None else [o for o in options if o in enum]
        if options is not None:
            # Strings only: JSON Schema equality on numbers (1 == 1.0) and
            # bools is not msgspec's.  Without `type`, only strings may be
            # allowed at all, or a non-string option would be lost.
            if not options or not all(type(o) is str for o in options):
                raise _Decline
            if {"minLength", "maxLength"} & keys:
                raise _Decline  # rare; Literal takes no Meta
            return Literal[tuple(dict.fromkeys(options))]
        meta = {}
        if "minLength" in keys:
            if not _is_count(node["minLength"]):
                raise _Decline
            meta["min_length"] = node["minLength"]
        if "maxLength" in keys:
            if not _is_count(node["maxLength"]):
                raise _Decline
            meta["max_length"] = node["maxLength"]
        return Annotated[str, msgspec.Meta(**meta)] if meta else str

    def _array(self, node: dict[str, Any], keys: set[str]) -> Any:
        if not keys <= _ARRAY_KEYS or "items" not in keys:
            raise _Decline  # items absent: anything goes, and msgspec `Any` would allow NaN-free only
        item = self.type_for(node["items"])
        meta = {}
        for key, name in (("minItems", "min_length"), ("maxItems", "max_length")):
            if key in keys:
                if not _is_count(node[key]):
                    raise _Decline
                meta[name] = node[key]
        return Annotated[list[item], msgspec.Meta(**meta)] if meta else list[item]  # type: ignore[valid-type]

    def _object(self, node: dict[str, Any], keys: set[str], tag: tuple[str, str] | None) -> Any:
        if not keys <= _OBJECT_KEYS or node.get("type") != "object":
            raise _Decline
        props = node.get("properties", {})
        required = node.get("required", [])
        extra = node.get("additionalProperties", True)
        if (not isinstance(props, dict) or not isinstance(required, list)
                or not all(isinstance(r, str) and r in props for r in required)
                or extra not in (True, False)):
            raise _Decline
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for index, (name, sub) in enumerate(props.items()):
            if tag is not None and name == tag[0]:
                continue  # the tag field: checked by msgspec's tagged-union dispatch
            attr = f"f{index}"  # any JSON name, even one no identifier can spell
            rename[attr] = name
            kind = self.type_for(sub)
            if name in required:
                fields.append((attr, kind))
            else:
                fields.append((attr, kind | msgspec.UnsetType, msgspec.UNSET))
        # Required fields first: a Struct cannot have a required field after a default.
        fields.sort(key=lambda f: len(f) == 3)
        options: dict[str, Any] = {"forbid_unknown_fields": True, "rename": rename,
                                   "frozen": True}
        if tag is not None:
            options["tag_field"], options["tag"] = tag
        return msgspec.defstruct(f"Body{next(self._names)}", fields, **options)

    def _tagged_union(self, node: dict[str, Any], keys: set[str]) -> Any:
        disc = node.get("discriminator")
        subs = node.get("oneOf")
        if keys != {"oneOf", "discriminator"} or not isinstance(disc, dict) or not isinstance(subs, list):
            raise _Decline
        prop = disc.get("propertyName")
        if not isinstance(prop, str) or not subs:
            raise _Decline
        members = []
        for sub in subs:
            target = self._branch_target(sub)
            branch = lookup(self.spec, target)
            value = self._pinned(branch, prop)
            # The discriminator is an annotation: oneOf decides.  A tag
            # dispatch is the same test only if each branch requires the
            # property and pins it with a const of its own value (so at most
            # one branch can match).  The mapping, if any, must agree.
            mapped = [v for v, ref in (disc.get("mapping") or {}).items()
                      if isinstance(ref, str) and _target_pointer(ref) == target]
            if mapped and mapped != [value]:
                raise _Decline
            members.append(self.type_for(sub, (prop, value)))
        values = [m.__struct_config__.tag for m in members]
        if len(set(values)) != len(values):
            raise _Decline
        return members[0] if len(members) == 1 else _union(tuple(members))

    def _branch_target(self, sub: Any) -> str:
        if not isinstance(sub, dict) or _keys(sub) != {"$ref"} or not isinstance(sub["$ref"], str):
            raise _Decline
        return _target_pointer(sub["$ref"])

    def _pinned(self, branch: Any, prop: str) -> str:
        if not isinstance(branch, dict):
            raise _Decline
        sub = (branch.get("properties") or {}).get(prop)
        required = branch.get("required") or []
        if not isinstance(sub, dict) or prop not in required:
            raise _Decline
        # {type: string, const: v} and nothing else that could reject.
        if _keys(sub) not in ({"type", "const"}, {"const"}) or type(sub.get("const")) is not str:
            raise _Decline
        if sub.get("type", "string") != "string":
            raise _Decline
        return str(sub["const"])


def _union(members: tuple[Any, ...]) -> Any:
    out = members[0]
    for member in members[1:]:
        out = out | member
    return out


class FastDecoder:
    """``decoder(raw)``: the body as plain JSON values, if the Structs accept it.

    Raises ``msgspec.ValidationError``/``msgspec.DecodeError`` (or
    ``ValueError`` for a ``str`` that is not UTF-8-encodable) otherwise.
    ``decode`` alone gives the Structs themselves (the hot path converts them
    inline, one call fewer).
    """

    __slots__ = ("decode",)

    def __init__(self, decode: Callable[[Any], Any]) -> None:
        self.decode = decode

    def __call__(self, raw: Any) -> Any:
        return msgspec.to_builtins(self.decode(raw))


def fast_decoder(spec: Spec, pointer: str) -> FastDecoder | None:
    """The Struct decoder for the schema at ``pointer``, or None if it does not map exactly."""
    try:
        body = _Generator(spec).type_for(lookup(spec, pointer))
        decoder = msgspec.json.Decoder(body)
    except (_Decline, TypeError, ValueError, KeyError, RecursionError, SpecError):
        # TypeError: a union msgspec cannot dispatch by JSON type; the rest:
        # an odd schema, which just gets no fast path.
        return None
    return FastDecoder(decoder.decode)
