"""Schema errors for the diagnostic tree from jsonschema-rs ``evaluate()``.

``evaluate(instance).errors()`` hands back each failing keyword as a small dict
whose locations are already JSON Pointers, and builds no nested context for
a failed ``anyOf`` (where it is about twice as fast as ``iter_errors``).  With
the schema location as a cache key, the Python work per error is one dict
lookup and one message.  The findings it produces are exactly those of :mod:`._schema_errors` (same paths,
messages, keywords, schema paths and order): everything a message needs is
read from the schema node at ``schemaLocation`` (looked up once per location)
and from the instance, never from jsonschema-rs's message, which embeds the
whole instance (``required`` is the exception: its message is only the
JSON-encoded property name).

``evaluate()`` lists what ``iter_errors`` nests: a failed ``anyOf`` shows up as
the leaf errors of each branch, which are grouped back here (per union and
per instance) and resolved by JSON type exactly as ``_branch_for_type`` does.
It also reports the root's ``additionalProperties`` before the errors under
``properties``; that one error is moved back to where ``iter_errors`` has it.

Where the two could disagree in ways not mapped here, the converter declines
(returns ``False``, or ``converter`` returns ``None``) and the caller uses
:func:`._schema_errors.findings`: ``additionalProperties: false`` below the
root, keywords whose details cannot be read back exactly from the schema node
(``pattern``, ``format``, numeric bounds, multi-type ``type`` ...), paths
through ``$ref``, and unions whose branches do not all report an error.
Every mapping was checked against the ``iter_errors`` findings on a broad corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ._finding import Finding
from ._schema_errors import SchemaLookup, json_type, parent_properties, show

# Errors for one value, appended to ``out``; ``False`` means "use iter_errors".
Converter = Callable[[Any, str, list[Finding]], bool]
# An enclosing union of a schema location: its location (the grouping key),
# instance steps to it, the branch taken, its branch count, keyword, and the
# pointer findings give.
# ``rejects`` is the type a direct ``type`` error of the branch names (one at
# the union's own instance, not inside a deeper union), else None; ``here``
# says the error is at the union's own instance.
Level = tuple[str, int, int, int, str, str, "str | None", bool]
# The finding for one evaluate() error of a known rule, appended to ``out``.
Writer = Callable[[Mapping[str, Any], Any, str, list[Finding]], bool]

_LEAVES = frozenset({
    "type", "required", "additionalProperties", "maxLength", "minLength", "maxItems",
    "minItems", "const", "enum",
})
_REQUIRED_TAIL = " is a required property"
_UNSEEN = object()


class _Rule:
    """What one ``schemaLocation`` means: its keyword, enclosing unions and finding maker."""

    __slots__ = ("keyword", "levels", "write")

    def __init__(self, keyword: str, levels: tuple[Level, ...], write: Writer) -> None:
        self.keyword = keyword
        # One per enclosing anyOf/oneOf, outermost first.
        self.levels = levels
        self.write = write


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~") if "~" in token else token


def _walk(tokens: list[str]) -> tuple[int, list[int]] | None:
    """Instance steps taken along a schema path and the indexes of its anyOf/oneOf tokens.

    None for a keyword we do not follow (``not``, ``$defs`` ...), where steps
    cannot be told from the path.
    """
    steps = 0
    unions: list[int] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in ("properties", "prefixItems"):
            steps += 1
            i += 2
        elif t in ("items", "additionalProperties"):
            steps += 1
            i += 1
        elif t in ("anyOf", "oneOf", "allOf") and i + 1 < len(tokens) and tokens[i + 1].isdigit():
            if t != "allOf":
                unions.append(i)
            i += 2
        else:
            return None
    return steps, unions


def _writer(keyword: str, node: Mapping[str, Any], pointer: str) -> Writer:
    """The finding maker for one schema location, with its constant parts made once."""
    rule = "schema." + keyword
    if keyword == "required":
        cut = -len(_REQUIRED_TAIL)

        def required(error: Mapping[str, Any], instance: Any, at: str, out: list[Finding]) -> bool:
            # The property is all that message says, JSON-encoded; the
            # instance never appears in it.
            message: str = error["error"]
            if not message.endswith(_REQUIRED_TAIL):
                return False
            prop = str(orjson.loads(message[:cut]))
            out.append(Finding("error", f"{at}{error['instanceLocation']}/{_escape(prop)}", rule,
                               f"{prop!r} is required", None, keyword, pointer))
            return True
        return required
    limit = node[keyword]
    if keyword == "type":
        head = f"must be {limit}, not "

        def type_(error: Mapping[str, Any], instance: Any, at: str, out: list[Finding]) -> bool:
            location: str = error["instanceLocation"]
            value = _resolve(instance, location)
            if value is _ODD:
                return False
            out.append(Finding("error", at + location, rule, head + json_type(value), None,
                               keyword, pointer))
            return True
        return type_
    if keyword == "const":
        def message(value: Any) -> str:
            return f"must be {show(limit)}, not {show(value)}"
    elif keyword == "enum":
        options = ", ".join(show(o) for o in limit)

        def message(value: Any) -> str:
            return f"must be one of {options}; got {show(value)}"
    elif keyword in ("maxLength", "minLength"):
        tail = f" characters long; {'at most' if keyword == 'maxLength' else 'at least'} {limit} allowed"

        def message(value: Any) -> str:
            return f"is {len(value) if isinstance(value, str) else '?'}{tail}"
    else:
        tail = f" items; {'at most' if keyword == 'maxItems' else 'at least'} {limit} allowed"

        def message(value: Any) -> str:
            return f"has {len(value) if isinstance(value, list) else '?'}{tail}"

    def write(error: Mapping[str, Any], instance: Any, at: str, out: list[Finding]) -> bool:
        location: str = error["instanceLocation"]
        value = _resolve(instance, location)
        if value is _ODD:
            return False
        out.append(Finding("error", at + location, rule, message(value), None, keyword, pointer))
        return True
    return write


def _unexpected(node: Mapping[str, Any], pointer: str, hint: str | None) -> Writer:
    names = node.get("properties") or {}

    def write(error: Mapping[str, Any], instance: Any, at: str, out: list[Finding]) -> bool:
        if type(instance) is not dict or error["instanceLocation"]:
            return False
        for prop in instance:
            if prop not in names:
                out.append(Finding("error", f"{at}/{_escape(prop)}", "schema.additionalProperties",
                                   f"unexpected field {prop!r}", hint, "additionalProperties",
                                   pointer))
        return True
    return write


def _leaf_ok(keyword: str, node: Mapping[str, Any]) -> bool:
    """Whether the message for ``keyword`` can be written from ``node`` alone, exactly."""
    value = node.get(keyword)
    if keyword == "type":
        return type(value) is str
    if keyword in ("maxLength", "minLength", "maxItems", "minItems"):
        return type(value) is int
    if keyword == "enum":
        return type(value) is list
    if keyword == "additionalProperties":
        return value is False and "patternProperties" not in node
    return keyword in node


def _closed_below_root(schema: Any, root: bool = True) -> bool:
    if isinstance(schema, dict):
        if not root and (schema.get("additionalProperties") is False
                         or "unevaluatedProperties" in schema):
            return True
        return any(_closed_below_root(v, False) for v in schema.values())
    if isinstance(schema, list):
        return any(_closed_below_root(v, False) for v in schema)
    return False


_PLAIN = frozenset({dict, list, str, int, bool, type(None)})
_ODD = object()


def _resolve(instance: Any, location: str) -> Any:
    """The value at ``location``, if every step is a plain JSON value, else ``_ODD``.

    Messages describe the value as jsonschema-rs saw it, which for Python
    input is its JSON conversion: a tuple is an array, NaN is null, a dict
    subclass is an object.  Rather than repeat that conversion, anything but
    plain JSON values sends the payload to the iter_errors path, whose
    ``error.instance`` is the converted value.
    """
    if location:
        for token in location[1:].split("/"):
            kind = type(instance)
            if kind is list:
                instance = instance[int(token)]
            elif kind is dict:
                instance = instance[_unescape(token)]
            else:
                return _ODD
    kind = type(instance)
    if kind in _PLAIN or (kind is float and instance - instance == 0):
        return instance
    return _ODD


def converter(validator: Any, schema: Any, schema_base: str, lookup: SchemaLookup) -> Converter | None:
    """A converter for the errors of ``validator`` (compiled from ``schema``), or None."""
    if not isinstance(schema, dict) or _closed_below_root(schema) or (
        "patternProperties" in schema or "unevaluatedProperties" in schema
    ):
        return None
    rules: dict[str, Any] = {}
    evaluate = validator.evaluate

    def rule(location: str) -> _Rule | None:
        tokens = [_unescape(t) for t in location[1:].split("/")] if location else []
        if not tokens or tokens[-1] not in _LEAVES:
            return None
        node: Any = schema
        for t in tokens[:-1]:
            if isinstance(node, list) and t.isdigit() and int(t) < len(node):
                node = node[int(t)]
            elif isinstance(node, dict) and t in node:
                node = node[t]
            else:
                return None
        keyword = tokens[-1]
        if keyword == "additionalProperties" and len(tokens) > 1:
            return None  # only the root's is put back in iter_errors order
        walked = _walk(tokens[:-1])
        if walked is None or not isinstance(node, dict) or not _leaf_ok(keyword, node):
            return None
        pointer = schema_base + location
        levels = []
        for u in walked[1]:
            head = tokens[:u + 1]
            steps = _walk(head[:-1])
            union = _at(schema, head)
            if steps is None or not isinstance(union, list):
                return None
            here = steps[0] == walked[0]
            rejects = (str(node["type"]) if keyword == "type" and here and u == walked[1][-1]
                       else None)
            levels.append((_pointer(head), steps[0], int(tokens[u + 1]), len(union), tokens[u],
                           schema_base + _pointer(head), rejects, here))
        if keyword == "additionalProperties":
            allowed = parent_properties(lookup, pointer)
            write = _unexpected(node, pointer, f"allowed fields: {', '.join(allowed)}" if allowed else None)
        else:
            write = _writer(keyword, node, pointer)
        return _Rule(keyword, tuple(levels), write)

    def emit(entries: list[tuple[_Rule, Mapping[str, Any]]], level: int, instance: Any,
             at: str, out: list[Finding]) -> bool:
        """Findings for ``entries``, all inside ``level`` unions; False to decline."""
        done: set[int] = set()
        for n, (r, error) in enumerate(entries):
            if n in done:
                continue
            if level >= len(r.levels):
                if not r.write(error, instance, at, out):
                    return False
                continue
            # The first error inside a union stands for the whole union, as the
            # single AnyOf error does in iter_errors: gather its siblings (the
            # same union, at the same instance: items each have their own).
            key, steps, _, count, keyword, pointer, _, here = r.levels[level]
            location: str = error["instanceLocation"]
            where = location if here else _prefix(location, steps)
            branches: list[list[tuple[_Rule, Mapping[str, Any]]]] = [[] for _ in range(count)]
            rejected: list[str | None] = [None] * count
            for m in range(n, len(entries)):
                other = entries[m]
                levels = other[0].levels
                if level >= len(levels) or m in done:
                    continue
                at_level = levels[level]
                if at_level[0] != key:
                    continue
                other_location: str = other[1]["instanceLocation"]
                if (other_location if at_level[7] else _prefix(other_location, steps)) != where:
                    continue
                done.add(m)
                index = at_level[2]
                branches[index].append(other)
                if at_level[6] is not None and rejected[index] is None:
                    rejected[index] = at_level[6]
            if not all(branches):
                return False  # a branch passed, or failed without saying why
            # A branch rejects the value's type when it has a direct `type`
            # error at the union's own instance (not one in a deeper union).
            open_ = [b for b, rejects in zip(branches, rejected, strict=True) if rejects is None]
            if len(open_) == 1:
                if not emit(open_[0], level + 1, instance, at, out):
                    return False
                continue
            allowed = " or ".join(dict.fromkeys(
                t for branch in branches for e in branch
                if (t := e[0].levels[level][6]) is not None))
            value = _resolve(instance, where)
            if value is _ODD:
                return False
            message = (f"must be {allowed}, not {json_type(value)}" if allowed
                       else f"{show(value)} matches none of the allowed forms")
            out.append(Finding("error", at + where, "schema." + keyword, message, None, keyword,
                               pointer))
        return True

    def convert(instance: Any, at: str, out: list[Finding]) -> bool:
        mark = len(out)
        entries: list[tuple[_Rule, Mapping[str, Any]]] = []
        # evaluate() reports the root's additionalProperties before the errors
        # under its properties, iter_errors after them: hold it back until
        # the first error outside /properties/.
        held: tuple[_Rule, Mapping[str, Any]] | None = None
        for error in evaluate(instance).errors():
            location: str = error["schemaLocation"]
            found = rules.get(location, _UNSEEN)
            if found is _UNSEEN:
                found = rules[location] = rule(location)
            if found is None or error["absoluteKeywordLocation"] is not None:
                del out[mark:]
                return False
            if found.keyword == "additionalProperties":
                held = (found, error)
                continue
            if held is not None and not location.startswith("/properties/"):
                if not place(held, entries, instance, at, out):
                    del out[mark:]
                    return False
                held = None
            # place(), inlined for the common case of one plain error.
            if entries or found.levels:
                entries.append((found, error))
            elif not found.write(error, instance, at, out):
                del out[mark:]
                return False
        if held is not None and not place(held, entries, instance, at, out):
            del out[mark:]
            return False
        if not entries or emit(entries, 0, instance, at, out):
            return True
        del out[mark:]
        return False

    def place(entry: tuple[_Rule, Mapping[str, Any]], entries: list[tuple[_Rule, Mapping[str, Any]]],
              instance: Any, at: str, out: list[Finding]) -> bool:
        # Errors outside unions are written as they come, until the first
        # union error: from there on, order follows the grouping in emit().
        if entries or entry[0].levels:
            entries.append(entry)
            return True
        return entry[0].write(entry[1], instance, at, out)

    return convert


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1") if "~" in token or "/" in token else token


def _pointer(tokens: list[str]) -> str:
    return "".join("/" + _escape(t) for t in tokens)


def _at(node: Any, tokens: list[str]) -> Any:
    for t in tokens:
        node = node[int(t)] if isinstance(node, list) else node[t]
    return node


def _prefix(location: str, steps: int) -> str:
    """The first ``steps`` tokens of a JSON Pointer."""
    if not steps:
        return ""
    parts = location.split("/", steps + 1)
    return "/".join(parts[: steps + 1])
