"""Generated diagnosers: one branch's schema error, found by Python source made from the schema.

jsonschema-rs ``evaluate()``/``iter_errors`` cost several microseconds per
invalid body, much of it describing errors (and copying the offending value
into messages) that are then rewritten.  The branches of the diagnostic tree
are small, closed schemas, so each is compiled here into a Python function
that walks the body and writes the finding itself: a type test, a ``len``, a
``in`` per keyword.

The generated code must give exactly the finding the jsonschema-rs path
(:mod:`._evaluated` / :mod:`._schema_errors`) gives, so it is deliberately
narrow:

* it is built only for schemas made of keywords whose failures it can
  describe exactly: single ``type`` (object, array, string, boolean, null),
  ``properties``/``required``/``additionalProperties: false``, ``items``,
  ``minItems``/``maxItems``, ``minLength``/``maxLength``, string ``const`` and
  ``enum``, and ``anyOf`` (resolved by JSON type as ``_branch_for_type``
  does).  Anything else (``$ref``, ``pattern``, ``format``, numbers ...)
  declines the branch at build time: :func:`generated_diagnoser` returns None;
* at run time it answers only when the branch has no error or exactly one.
  The order of several errors is jsonschema-rs's internal keyword order
  (which is not the schema's, and changes with the keywords present), so
  those rare values are declined (``False``) and take the jsonschema-rs path;
  so are values that are not plain JSON (a tuple, NaN).

It only explains: the verdict (``Report.valid``) is still decided for the
whole body by the Structs or by jsonschema-rs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _error_sites as sites
from ._error_sites import Decline as _Decline
from ._error_sites import escape as _escape
from ._error_sites import plain_json_type as _json_type
from ._finding import Finding
from ._schema_errors import SchemaLookup, parent_properties, show

# Appends the finding for ``value`` at pointer ``at`` (none if the branch
# accepts it) and returns True, or returns False (appending nothing) to leave
# the value to jsonschema-rs.
GeneratedDiagnoser = Callable[[Any, str, list[Finding]], bool]

# Keywords that never reject an instance (the native plan skips the same ones).
ANNOTATIONS = frozenset({
    "title", "description", "$comment", "examples", "example", "default", "deprecated",
    "readOnly", "writeOnly", "externalDocs", "xml",
})
_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "minLength", "maxLength", "const", "enum", "anyOf",
})
_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


# Plain JSON values needing no further look (floats do: NaN and infinities
# are not JSON, and jsonschema-rs would see them as something else).
_PLAIN = frozenset({dict, list, str, bool, int, type(None)})


def _check_plain(value: Any) -> None:
    _json_type(value)


class _Source:
    def __init__(self, lookup: SchemaLookup) -> None:
        self.lookup = lookup
        self.lines: list[str] = []
        self.names: dict[str, Any] = {
            "F": Finding, "jt": _json_type, "plain": _check_plain, "show": show, "PLAIN": _PLAIN,
            "Decline": _Decline, "dict": dict, "list": list, "str": str, "len": len,
            "type": type, "enumerate": enumerate,
        }
        self._count = 0

    def const(self, value: Any) -> str:
        name = f"c{len(self.names)}"
        self.names[name] = value
        return name

    def var(self, stem: str) -> str:
        self._count += 1
        return f"{stem}{self._count}"

    def add(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def finding(self, depth: int, out: str, site: sites.ErrorSite, at: str, value: str,
                extra: str = "") -> None:
        """``out.append(site.make(at, value[, extra]))``: the site writes the message."""
        tail = f", {extra}" if extra else ""
        self.add(depth, f"{out}.append({self.const(site)}.make({at}, {value}{tail}))")

    # -- one schema node ------------------------------------------------------

    def node(self, schema: Any, value: str, at: str, pointer: str, out: str, depth: int,
             flag: str | None = None) -> None:
        """Code appending the findings for ``schema`` on the variable ``value`` to list ``out``.

        ``at`` is an expression for the value's JSON Pointer, evaluated only
        when a finding is made.  ``flag`` (inside an ``anyOf``) is set when the
        node's own ``type`` rejects the value: the branch then "rejects the
        type", as ``_schema_errors._rejects_type`` puts it.
        """
        if schema is True or schema == {}:
            return
        if not isinstance(schema, dict):
            raise _Decline  # the `false` schema
        keys = {k for k in schema if k not in ANNOTATIONS and not k.startswith("x-")}
        if not keys <= _KEYWORDS:
            raise _Decline
        if not keys:
            return
        kind = schema.get("type")
        if "type" in keys and (not isinstance(kind, str) or kind not in _TYPES):
            raise _Decline  # integer/number (1.0 is an integer), type lists
        if "type" not in keys:
            # Without a type test, a dict subclass or a tuple would slip past
            # the `type(...) is` guards below, which jsonschema-rs would see
            # as an object or an array.
            self.add(depth, f"if type({value}) not in PLAIN:")
            self.add(depth + 1, f"plain({value})")
        if "const" in keys or "enum" in keys:
            self._const_enum(schema, keys, value, at, pointer, out, depth)
        if "anyOf" in keys:
            self._any_of(schema["anyOf"], value, at, pointer + "/anyOf", out, depth)
        if "type" in keys:
            self.add(depth, f"if type({value}) is not {self.const(_TYPES[str(kind)])}:")
            if flag is not None:
                self.add(depth + 1, f"{flag} = True")
            self.finding(depth + 1, out, sites.type_site(str(kind), pointer + "/type"), at, value)
        self._strings(schema, keys, value, at, pointer, out, depth)
        self._arrays(schema, keys, value, at, pointer, out, depth)
        self._objects(schema, keys, value, at, pointer, out, depth)

    def _const_enum(self, schema: dict[str, Any], keys: set[str], value: str, at: str, pointer: str,
                    out: str, depth: int) -> None:
        if "const" in keys:
            expected = schema["const"]
            if type(expected) is not str:
                raise _Decline  # JSON equality of numbers/bools is not Python's
            self.add(depth, f"if {value} != {self.const(expected)} or type({value}) is not str:")
            self.finding(depth + 1, out, sites.const_site(expected, pointer + "/const"), at, value)
        if "enum" in keys:
            options = schema["enum"]
            if not isinstance(options, list) or not all(type(o) is str for o in options):
                raise _Decline
            self.add(depth, f"if type({value}) is not str or {value} not in {self.const(frozenset(options))}:")
            self.finding(depth + 1, out, sites.enum_site(options, pointer + "/enum"), at, value)

    def _any_of(self, branches: Any, value: str, at: str, pointer: str, out: str, depth: int) -> None:
        if not isinstance(branches, list) or not branches:
            raise _Decline
        lists: list[str] = []
        flags: list[str] = []
        types: list[str | None] = []
        # Branch i+1 is tried only when branches 0..i all failed: a value that
        # passes the first (the usual case) costs one branch.
        inner = depth
        for index, sub in enumerate(branches):
            if index:
                self.add(inner, f"if {lists[-1]}:")
                inner += 1
            found, flag = self.var("b"), self.var("t")
            self.add(inner, f"{found} = []")
            self.add(inner, f"{flag} = False")
            self.node(sub, value, at, f"{pointer}/{index}", found, inner, flag)
            lists.append(found)
            flags.append(flag)
            kind = sub.get("type") if isinstance(sub, dict) else None
            types.append(kind if isinstance(kind, str) else None)
        # As _schema_errors.convert: no branch passed, so if exactly one does
        # not reject the value's type, its errors stand; else one anyOf error
        # naming the types the branches wanted.
        self.add(inner, f"if {lists[-1]}:")
        depth = inner
        pairs = ", ".join(f"({b}, {t})" for b, t in zip(lists, flags, strict=True))
        open_ = self.var("open")
        self.add(depth + 1, f"{open_} = [b for b, t in ({pairs},) if not t]")
        self.add(depth + 1, f"if len({open_}) == 1:")
        self.add(depth + 2, f"{out}.extend({open_}[0])")
        self.add(depth + 1, "else:")
        self.finding(depth + 2, out, sites.any_of_site(types, pointer), at, value, f"({', '.join(flags)},)")

    def _strings(self, schema: dict[str, Any], keys: set[str], value: str, at: str, pointer: str,
                 out: str, depth: int) -> None:
        checks = [(k, schema[k]) for k in ("minLength", "maxLength") if k in keys]
        if not checks:
            return
        self.add(depth, f"if type({value}) is str:")
        for keyword, limit in checks:
            if type(limit) is not int:
                raise _Decline
            bad = f"len({value}) > {limit}" if keyword == "maxLength" else f"len({value}) < {limit}"
            self.add(depth + 1, f"if {bad}:")
            self.finding(depth + 2, out, sites.length_site(keyword, limit, f"{pointer}/{keyword}"), at, value)

    def _arrays(self, schema: dict[str, Any], keys: set[str], value: str, at: str, pointer: str,
                out: str, depth: int) -> None:
        checks = [(k, schema[k]) for k in ("minItems", "maxItems") if k in keys]
        items = schema.get("items")
        if not checks and "items" not in keys:
            return
        self.add(depth, f"if type({value}) is list:")
        for keyword, limit in checks:
            if type(limit) is not int:
                raise _Decline
            bad = f"len({value}) > {limit}" if keyword == "maxItems" else f"len({value}) < {limit}"
            self.add(depth + 1, f"if {bad}:")
            self.finding(depth + 2, out, sites.items_site(keyword, limit, f"{pointer}/{keyword}"), at, value)
        if "items" in keys and items != {} and items is not True:
            index, item = self.var("i"), self.var("item")
            self.add(depth + 1, f"for {index}, {item} in enumerate({value}):")
            self.node(items, item, f"({at} + '/' + str({index}))", f"{pointer}/items", out, depth + 2)
            self.add(depth + 2, "pass")

    def _objects(self, schema: dict[str, Any], keys: set[str], value: str, at: str, pointer: str,
                 out: str, depth: int) -> None:
        props = schema.get("properties", {})
        required = schema.get("required", [])
        closed = schema.get("additionalProperties", True)
        if not isinstance(props, dict) or not isinstance(required, list) or closed not in (True, False):
            raise _Decline
        if not (props or required or closed is False):
            return
        self.add(depth, f"if type({value}) is dict:")
        for name in required:
            if not isinstance(name, str):
                raise _Decline
            self.add(depth + 1, f"if {self.const(name)} not in {value}:")
            self.finding(depth + 2, out, sites.required_site(name, f"{pointer}/required"), at, value)
        for name, sub in props.items():
            mark = len(self.lines)
            item = self.var("v")
            self.add(depth + 1, f"if {self.const(name)} in {value}:")
            self.add(depth + 2, f"{item} = {value}[{self.const(name)}]")
            self.node(sub, item, f"({at} + {self.const('/' + _escape(name))})",
                      f"{pointer}/properties/{_escape(name)}", out, depth + 2)
            if len(self.lines) == mark + 2:
                del self.lines[mark:]  # a schema that accepts anything
        if closed is False:
            where = f"{pointer}/additionalProperties"
            allowed = parent_properties(self.lookup, where)
            hint = f"allowed fields: {', '.join(allowed)}" if allowed else None
            extra = self.var("extra")
            self.add(depth + 1, f"for {extra} in {value}:")
            self.add(depth + 2, f"if {extra} not in {self.const(frozenset(props))}:")
            self.finding(depth + 3, out, sites.unexpected_site(where, hint), at, extra)


def generated_diagnoser(schema: Any, pointer: str, lookup: SchemaLookup) -> GeneratedDiagnoser | None:
    """The generated diagnoser for a branch compiled from ``schema`` (at ``pointer``), or None."""
    src = _Source(lookup)
    try:
        src.node(schema, "value", "at", pointer, "found", 1)
    except (_Decline, TypeError, ValueError, KeyError, RecursionError):
        # An odd schema (a type list, a non-string key ...) just gets no generated code.
        return None
    text = "\n".join([
        "def diagnose(value, at, out):",
        "    found = []",
        "    try:",
        *("    " + line for line in src.lines),
        # Anything unexpected (a non-str key in a Python dict ...) is left to jsonschema-rs.
        "    except (Decline, TypeError, AttributeError, ValueError):",
        "        return False",
        # Several errors come in jsonschema-rs's keyword order: not ours to guess.
        "    if len(found) > 1:",
        "        return False",
        "    out.extend(found)",
        "    return True",
    ])
    exec(compile(text, f"<diagnoser {pointer}>", "exec"), src.names)
    diagnose: GeneratedDiagnoser = src.names["diagnose"]
    diagnose.__doc__ = text  # the source, for inspection
    return diagnose
