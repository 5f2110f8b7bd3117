"""Where a schema keyword can fail, and the one finding it makes there.

An :class:`ErrorSite` is built once per keyword occurrence when a contract is
compiled.  Both diagnosers write their findings through it: the generated
Python diagnoser (:mod:`._diagnoser`) calls ``site.make(at, value)`` inline,
and the native core (:mod:`._native_plan`) hands back records
``(site, at, value, extra)`` that are turned into findings by the same call.
So a message, hint or schema pointer cannot differ between the two paths: it
is the same code on the same inputs.

:class:`UnionSite` does the same for a discriminated union's own findings
(not an object, discriminator missing, unknown or not a string).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._finding import Finding
from ._hints import value_hint
from ._schema_errors import json_type, show

_JSON_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


class Decline(Exception):
    """Raised for what a diagnoser does not describe exactly (the caller takes another path)."""


def plain_json_type(value: Any) -> str:
    """The JSON type jsonschema-rs names for a plain value; declines anything else."""
    name = _JSON_NAMES.get(type(value))
    if name is None or (name == "number" and not math.isfinite(value)):
        raise Decline
    return name


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1") if "~" in token or "/" in token else token


Where = Callable[[str, Any], str]
Text = Callable[[Any, Any], str]


def _here(at: str, value: Any) -> str:
    return at


class ErrorSite:
    """One keyword at one schema location: ``make(at, value, extra)`` is its finding."""

    __slots__ = ("hint", "keyword", "pointer", "rule", "text", "where")

    def __init__(self, keyword: str, pointer: str, text: Text, where: Where = _here,
                 hint: str | None = None) -> None:
        self.keyword = keyword
        self.rule = "schema." + keyword
        self.pointer = pointer
        self.text = text
        self.where = where
        self.hint = hint

    def make(self, at: str, value: Any, extra: Any = None) -> Finding:
        """The finding for ``value`` at JSON Pointer ``at`` (``extra``: anyOf's type flags)."""
        return Finding("error", self.where(at, value), self.rule, self.text(value, extra), self.hint,
                       self.keyword, self.pointer)

    def __repr__(self) -> str:
        return f"ErrorSite({self.keyword!r}, {self.pointer!r})"


def type_site(kind: str, pointer: str) -> ErrorSite:
    head = f"must be {kind}, not "
    return ErrorSite("type", pointer, lambda value, extra: head + plain_json_type(value))


def const_site(expected: Any, pointer: str) -> ErrorSite:
    head = f"must be {show(expected)}, not "
    return ErrorSite("const", pointer, lambda value, extra: head + show(value))


def enum_site(options: Sequence[Any], pointer: str) -> ErrorSite:
    head = f"must be one of {', '.join(show(o) for o in options)}; got "
    return ErrorSite("enum", pointer, lambda value, extra: head + show(value))


def length_site(keyword: str, limit: int, pointer: str) -> ErrorSite:
    tail = f" characters long; {'at most' if keyword == 'maxLength' else 'at least'} {limit} allowed"
    return ErrorSite(keyword, pointer, lambda value, extra: "is " + str(len(value)) + tail)


def items_site(keyword: str, limit: int, pointer: str) -> ErrorSite:
    tail = f" items; {'at most' if keyword == 'maxItems' else 'at least'} {limit} allowed"
    return ErrorSite(keyword, pointer, lambda value, extra: "has " + str(len(value)) + tail)


def required_site(name: str, pointer: str) -> ErrorSite:
    """``at`` is the object's pointer; the finding points at the missing field."""
    step = "/" + escape(name)
    message = f"{name!r} is required"
    return ErrorSite("required", pointer, lambda value, extra: message, lambda at, value: at + step)


def unexpected_site(pointer: str, hint: str | None) -> ErrorSite:
    """``value`` is the unexpected key; ``at`` is the object's pointer."""
    return ErrorSite("additionalProperties", pointer, lambda key, extra: "unexpected field " + repr(key),
                     lambda at, key: at + "/" + escape(key), hint)


def any_of_site(types: Sequence[str | None], pointer: str) -> ErrorSite:
    """``extra`` holds, per branch, whether the branch's own ``type`` rejected the value."""
    kinds = tuple(types)

    def text(value: Any, flags: Sequence[bool]) -> str:
        wanted = " or ".join(dict.fromkeys(k for k, t in zip(kinds, flags, strict=True) if t and k))
        if wanted:
            return "must be " + wanted + ", not " + plain_json_type(value)
        return show(value) + " matches none of the allowed forms"
    return ErrorSite("anyOf", pointer, text)


# -- unions ---------------------------------------------------------------------------

NOT_OBJECT, MISSING, BAD_VALUE = 0, 1, 2
_HINT_CACHE_SIZE = 1024
_HINT_KEY_MAX = 64


class UnionSite:
    """A discriminated union's own findings: ``make(at, value, kind)``."""

    __slots__ = ("_allowed", "_cache", "_disc_pointer", "_missing", "_not_object", "_step", "pointer",
                 "prop", "values")

    def __init__(self, prop: str, values: Sequence[str], pointer: str) -> None:
        self.prop = prop
        self.values = tuple(values)
        self.pointer = pointer
        self._allowed = ", ".join(repr(v) for v in self.values)
        self._step = "/" + escape(prop)
        self._disc_pointer = f"{pointer}/discriminator"
        self._not_object = f"must be an object with {prop!r} one of {self._allowed}, not "
        self._missing = f"{prop!r} is required and must be one of {self._allowed}"
        # The did-you-mean search is the slow part of an unknown value, and
        # clients that send a wrong value send the same one again and again.
        self._cache: dict[str, str | None] = {}

    def make(self, at: str, value: Any, kind: int) -> Finding:
        """``kind`` NOT_OBJECT: ``value`` is the instance; BAD_VALUE: the discriminator's value."""
        if kind == NOT_OBJECT:
            return Finding("error", at, "schema.type", self._not_object + json_type(value), None, "type",
                           self.pointer)
        if kind == MISSING:
            return Finding("error", at + self._step, "discriminator.missing", self._missing, None,
                           "discriminator", self._disc_pointer)
        if isinstance(value, str):
            rule = "discriminator.unknown"
            message = f"unknown {self.prop} {show(value)}; must be one of {self._allowed}"
        else:
            rule = "discriminator.invalid"
            message = (f"{self.prop} must be a string, one of {self._allowed}; "
                       f"got {json_type(value)} {show(value)}")
        return Finding("error", at + self._step, rule, message, self._hint(value), "discriminator",
                       self._disc_pointer)

    def _hint(self, value: Any) -> str | None:
        if type(value) is not str or len(value) > _HINT_KEY_MAX:
            return value_hint(self.values, value)
        cache = self._cache
        try:
            return cache[value]
        except KeyError:
            if len(cache) >= _HINT_CACHE_SIZE:
                cache.clear()  # bounded: a flood of distinct values cannot grow it
            found = cache[value] = value_hint(self.values, value)
            return found
