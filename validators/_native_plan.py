"""The optional native core: a program compiled from the contract, run by the C extension.

The C extension (``_native.c``, built by ``pip install`` when a compiler is
present) knows nothing about the spec.  When a request plan is built, this
module compiles the contract's discriminator-split tree, the one the Python
diagnoser walks, into flat tuples: schema nodes (type, string const/enum,
lengths in code points, array bounds, items, properties, required,
additionalProperties, anyOf), branches (their node, their nested unions'
locations, the advice checks active on them) and unions (dispatch on the
discriminator).  ``Program.run`` executes it on one orjson parse.

Exactness, not speed, decides what it may answer:

* a branch's errors are described natively only where the generated Python
  diagnoser describes them too, and only when there is one (several come in
  jsonschema-rs's order, which only jsonschema-rs knows): otherwise the whole
  body takes the Python path;
* a node it cannot check (``pattern``, ``format``, numbers, ``$ref`` ...) is
  checked by jsonschema-rs for that node alone; if it fails, the body takes
  the Python path;
* a union is dispatched natively only where that is the same test as the
  spec's ``oneOf``/``anyOf`` (every branch an object requiring the property
  and pinning it with a ``const``); otherwise the contract gets no program;
* findings are made from the core's records by the same sites
  (:mod:`._error_sites`) the Python diagnoser uses, only when read;
* the core says only whether advice *may* fire; if so, the Python advisor
  writes the warnings.

``AVATAR_CONTRACT_PURE_PYTHON=1`` (read when a plan is built) turns it off.  Whether a union may be dispatched
natively is decided in :mod:`._native_dispatch`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import orjson

from ._advice import AdvicePlan, item_limit, token, unknown_field, warning_builder
from ._advice_rules import AdviceRule
from ._compiled import Branch, Union, is_union, make_validator
from ._contract import Contract
from ._diagnoser import generated_diagnoser
from ._error_sites import (
    Decline,
    ErrorSite,
    UnionSite,
    any_of_site,
    const_site,
    enum_site,
    escape,
    items_site,
    length_site,
    required_site,
    type_site,
    unexpected_site,
)
from ._finding import CLEAN, Finding, LazyReport, Report
from ._native_dispatch import check_dispatch, schema_keys
from ._schema_errors import parent_properties

try:
    from . import _native
except ImportError:  # built without a compiler: the Python path alone
    _native = None  # type: ignore[assignment]

_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "minLength", "maxLength", "const", "enum", "anyOf",
})
_TYPES = {"object": 1, "array": 2, "string": 3, "boolean": 4, "null": 5}
_CHECKS = {"blank": 1, "https": 2, "base64": 3, "needs": 4}


def available() -> bool:
    """Whether the C extension is importable (it is optional)."""
    return _native is not None


def forced_off() -> bool:
    return os.environ.get("AVATAR_CONTRACT_PURE_PYTHON", "") not in ("", "0")


def _key(name: str) -> str:
    """``name`` as the very object orjson gives for that key (it caches keys), so that the
    core's dict lookups find it by identity, without comparing characters."""
    try:
        parsed: dict[str, Any] = orjson.loads(orjson.dumps({name: 0}))
    except (TypeError, orjson.JSONEncodeError, orjson.JSONDecodeError):
        return name
    found = next(iter(parsed))
    return found if found == name else name


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise Decline
    return value


class _Compiler:
    """Builds the tuples ``_native.Program`` takes, for one contract."""

    def __init__(self, contract: Contract, advice: AdvicePlan, union_site: Callable[[Union], UnionSite]):
        self.contract = contract
        self.advice = advice
        self.union_site = union_site
        self.nodes: list[tuple[Any, ...]] = []
        self.branches: list[tuple[Any, ...]] = []
        self.unions: list[tuple[Any, ...]] = []
        self._branch_ids: dict[tuple[str, AdviceRule | None, str], int] = {}
        self._union_ids: dict[tuple[str, AdviceRule | None, str], int] = {}

    # -- schema nodes ---------------------------------------------------------------------

    def node(self, schema: Any, pointer: str, strict: bool, depth: int = 0) -> int:
        """The index of the node checking ``schema`` (-1: accepts anything).

        ``strict``: decline exactly what the generated diagnoser declines;
        otherwise a node that cannot be checked natively is checked by jsonschema-rs.
        """
        if depth > _native.MAX_DEPTH // 2:
            raise Decline
        if schema is True or schema == {}:
            return -1
        try:
            if not isinstance(schema, dict):
                raise Decline  # the `false` schema
            keys = schema_keys(schema)
            if not keys:
                return -1
            return self._native_node(schema, keys, pointer, strict, depth)
        except Decline:
            if strict:
                raise
            return self._add(_python_node(make_validator(self.contract.spec, schema).is_valid))

    def _add(self, node: tuple[Any, ...]) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _native_node(self, schema: dict[str, Any], keys: set[str], pointer: str, strict: bool,
                     depth: int) -> int:
        if not keys <= _KEYWORDS:
            raise Decline
        kind = schema.get("type")
        if "type" in keys and (not isinstance(kind, str) or kind not in _TYPES):
            raise Decline
        const = enum = None
        if "const" in keys:
            const = schema["const"]
            if type(const) is not str:
                raise Decline
        if "enum" in keys:
            options = schema["enum"]
            if not isinstance(options, list) or not all(type(o) is str for o in options):
                raise Decline
            enum = frozenset(options)
        bounds: dict[str, tuple[int, ErrorSite | None]] = {}
        for keyword in ("minLength", "maxLength", "minItems", "maxItems"):
            if keyword in keys:
                limit = _count(schema[keyword])
                make = length_site if keyword.endswith("Length") else items_site
                bounds[keyword] = (limit, make(keyword, limit, f"{pointer}/{keyword}"))
        any_of: tuple[int, ...] = ()
        any_site = None
        if "anyOf" in keys:
            subs = schema["anyOf"]
            if not isinstance(subs, list) or not subs or len(subs) > _native.MAX_ANY:
                raise Decline
            where = pointer + "/anyOf"
            any_of = tuple(self.node(sub, f"{where}/{i}", strict, depth + 1) for i, sub in enumerate(subs))
            kinds = [sub.get("type") if isinstance(sub, dict) else None for sub in subs]
            any_site = any_of_site([k if isinstance(k, str) else None for k in kinds], where)
        items = -1
        if "items" in keys:
            items = self.node(schema["items"], f"{pointer}/items", strict, depth + 1)
        props = schema.get("properties", {})
        required = schema.get("required", [])
        closed = schema.get("additionalProperties", True)
        if not isinstance(props, dict) or not isinstance(required, list) or closed not in (True, False):
            raise Decline
        if not all(isinstance(name, str) for name in [*props, *required]):
            raise Decline
        # Every declared property, even one that accepts anything: the core
        # counts those present to tell whether there are others.
        entries = [(_key(name), "/" + escape(name), self.node(sub, f"{pointer}/properties/{escape(name)}",
                                                              strict, depth + 1))
                   for name, sub in props.items()]
        position = {name: i for i, name in enumerate(props)}
        ap_site = None
        if closed is False:
            where = f"{pointer}/additionalProperties"
            allowed = parent_properties(self.contract.lookup, where)
            ap_site = unexpected_site(where, f"allowed fields: {', '.join(allowed)}" if allowed else None)

        def bound(keyword: str) -> tuple[int, ErrorSite | None]:
            return bounds.get(keyword, (-1, None))

        return self._add((
            _TYPES.get(str(kind), 0) if "type" in keys else 0,
            type_site(str(kind), pointer + "/type") if "type" in keys else None,
            const, const_site(const, pointer + "/const") if const is not None else None,
            enum, enum_site(schema["enum"], pointer + "/enum") if enum is not None else None,
            *bound("minLength"), *bound("maxLength"), *bound("minItems"), *bound("maxItems"),
            items, tuple(entries),
            tuple((_key(name), required_site(name, f"{pointer}/required"), position.get(name, -1))
                  for name in required),
            closed is False, ap_site, frozenset(_key(name) for name in props) if closed is False else None,
            any_of, any_site, None,
        ))

    # -- the tree -------------------------------------------------------------------------

    def branch(self, branch: Branch, media: AdviceRule | None, variant: str, depth: int) -> int:
        """``variant`` and ``media`` are what the Python advisor of this site is built with."""
        key = (branch.pointer, media, variant)
        found = self._branch_ids.get(key)
        if found is not None:
            return found
        if depth > 8:
            raise Decline  # unions nested deeper than any spec we know: not worth a bound here
        lookup_ = self.contract.lookup
        diag = generated_diagnoser(branch.compiled, branch.pointer, lookup_) is not None
        try:
            node = self.node(branch.compiled, branch.pointer, strict=diag)
        except Decline:
            diag = False
            node = self.node(branch.compiled, branch.pointer, strict=False)
        sites, unknown, checks = self._advice(branch, variant)
        props = branch.properties
        prefix = (media.media if media is not None and media.media
                  and ("url" in props or "data" in props or "media_type" in props) else None)
        # The Python diagnoser visits plain-field unions first, then the others.
        ordered = ([u for u in branch.unions if len(u[0]) == 1 and u[0][0] != "*"]
                   + [u for u in branch.unions if not (len(u[0]) == 1 and u[0][0] != "*")])
        locs = []
        for loc, union in ordered:
            inner = sites.get(loc[0], media) if loc and loc[0] != "*" else media
            limit = (item_limit(branch, loc[0], self.contract.spec.resolve)
                     if len(loc) == 2 and loc[0] != "*" and loc[1] == "*" else None)
            locs.append((
                tuple(None if step == "*" else _key(step) for step in loc),
                tuple(None if step == "*" else "/" + token(step) for step in loc),
                -1 if limit is None else limit,
                self.union(union, inner, variant, depth + 1),
            ))
        declared = branch.compiled.get("properties") if isinstance(branch.compiled, dict) else None
        by_count = (node >= 0 and self.nodes[node][-1] is None and isinstance(declared, dict)
                    and frozenset(declared) == branch.properties)
        # Warning records keep the advisor's order only if both visit the unions alike.
        records_ok = ordered == list(branch.unions)
        self.branches.append((
            node, diag, tuple(locs), unknown, tuple(checks), prefix, by_count, records_ok,
            functools.partial(unknown_field, branch),
            warning_builder(media, "/media_type", variant) if prefix is not None and media is not None else None,
        ))
        index = self._branch_ids[key] = len(self.branches) - 1
        return index

    def _advice(self, branch: Branch, variant: str) -> tuple[
            dict[str, AdviceRule], frozenset[str] | None, list[tuple[str, int, str | None, Any]]]:
        """What the Python advisor checks on ``branch`` (see AdvicePlan._emit)."""
        sites: dict[str, AdviceRule] = {}
        unknown = None
        checks = []
        for rule in self.advice.active(branch):
            if rule.check == "media":
                sites.setdefault(rule.field, rule)
            elif rule.check == "unknown_fields":
                if not branch.closed and branch.properties:
                    unknown = frozenset(_key(name) for name in branch.properties)
            elif rule.check in _CHECKS:
                checks.append((_key(rule.field), _CHECKS[rule.check],
                               _key(rule.needs) if rule.needs is not None else None,
                               warning_builder(rule, "/" + token(rule.field), variant)))
            else:
                raise Decline  # a check the core does not know: Python advises everything
        return sites, unknown, checks

    def union(self, union: Union, media: AdviceRule | None, variant: str, depth: int) -> int:
        key = (union.pointer, media, variant)
        found = self._union_ids.get(key)
        if found is not None:
            return found
        check_dispatch(self.contract, union)
        table = {value: self.branch(b, media, variant or b.value, depth) for value, b in union.branches.items()}
        self.unions.append((_key(union.property), self.union_site(union), table))
        index = self._union_ids[key] = len(self.unions) - 1
        return index


def _python_node(check: Callable[[Any], bool]) -> tuple[Any, ...]:
    return (0, None, None, None, None, None, -1, None, -1, None, -1, None, -1, None, -1, (), (),
            False, None, None, (), None, check)


class NativeCore:
    """The native core of one request plan: ``lint(payload)``, and ``run(value)`` (the program's verdict)."""

    __slots__ = ("lint", "run")

    def __init__(self, lint: Callable[[Any], Report], run: Callable[[Any], Any]) -> None:
        self.lint = lint
        self.run = run


def native_core(plan: Any, union_site: Callable[[Union], UnionSite]) -> NativeCore | None:
    """The native core for ``plan`` (a RequestPlan), or None if it cannot run on this contract."""
    if _native is None or forced_off():
        return None
    contract: Contract = plan.contract
    compiler = _Compiler(contract, plan.advice, union_site)
    root = contract.request.root
    try:
        if (root.schema and is_union(root.schema) and not schema_keys(
                {k: v for k, v in root.schema.items() if k not in ("oneOf", "anyOf", "discriminator")})
                and len(root.unions) == 1 and root.unions[0][0] == ()):
            root_union, index = True, compiler.union(root.unions[0][1], None, "", 0)
        else:
            root_union, index = False, compiler.branch(root, None, "", 0)
        program = _native.Program(tuple(compiler.nodes), tuple(compiler.branches), tuple(compiler.unions),
                                  root_union, index)
    except Exception:
        # Decline, or a schema shape nothing here foresaw: the core is an
        # accelerator, so a spec it cannot take simply keeps the Python path.
        return None
    return NativeCore(_bind(plan, program), program.run)


# (site or builder, JSON Pointer, value, extra): what the core hands back per finding.
Record = tuple[Any, str, Any, Any]


def _bind(plan: Any, program: Any) -> Callable[[Any], Report]:
    """``program.lint``, bound to the plan's Python path for what the core leaves to it."""
    advise_root = plan.advise_root
    finish = plan.finish

    def make(verdict: tuple[list[Record], bool | list[Record]], value: Any) -> tuple[Finding, ...]:
        records, advice = verdict
        found = [site.make(at, item, extra) for site, at, item, extra in records]
        if len(found) > 1 or found[0].rule == "schema.additionalProperties":
            found = finish(found)  # one finding has no duplicate; only that rule gets hints
        if advice is True:
            advise_root(value, "", found)
        elif advice:
            found.extend([build(item, at) for build, at, item, _ in advice])
        return tuple(found)

    def warned(advice: list[Record]) -> Report:
        return Report([build(item, at) for build, at, item, _ in advice])

    program.bind(orjson.loads, orjson.JSONDecodeError, CLEAN, plan.exact, plan.advise, warned, make, LazyReport,
                 LazyReport.__dict__["_pending"])
    lint: Callable[[Any], Report] = program.lint
    return lint
