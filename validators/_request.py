"""Create-avatar request bodies: verdict, precise errors and advice.

The verdict always comes from the full-schema jsonschema-rs validator.  What
happens around it is compiled once per contract into a :class:`RequestPlan`:

* valid bodies (the hot path): parse with orjson, one ``is_valid`` call, then
  the variant's precompiled advisor, which for a clean body is a few dict
  lookups and returns the shared empty report;
* invalid bodies: dispatch down the discriminator tree to report each error at
  its own path, with messages, hints and pointers precomputed per union.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from spec import to_pointer

from ._advice import LEGACY_FIELDS, AdvicePlan, Advisor, discriminator_hint
from ._compiled import Branch, Location, Union
from ._contract import Contract
from ._finding import CLEAN, Finding, Report
from ._payload import NotJSON, parse
from ._schema_errors import findings as schema_findings
from ._schema_errors import json_type, show

Path = tuple[str | int, ...]
# A diagnoser appends the errors for one value found at ``path``.
Diagnoser = Callable[[Any, Path, list[Finding]], None]


def _walker(loc: Location, leaf: Diagnoser) -> Diagnoser:
    """Apply ``leaf`` to every value at the location template ``loc`` ("*" = each item)."""
    if not loc:
        return leaf
    head = loc[0]
    inner = _walker(loc[1:], leaf)
    if head == "*":
        def each(value: Any, path: Path, out: list[Finding]) -> None:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    inner(item, (*path, index), out)
        return each

    def field(value: Any, path: Path, out: list[Finding]) -> None:
        if isinstance(value, dict) and head in value:
            inner(value[head], (*path, head), out)
    return field


class _Diagnosis:
    """Per-branch and per-union error finders for one contract's diagnostic tree."""

    def __init__(self, contract: Contract) -> None:
        self.lookup = contract.lookup
        self._branches: dict[str, Diagnoser] = {}

    def branch(self, branch: Branch) -> Diagnoser:
        found = self._branches.get(branch.pointer)
        if found is None:
            found = self._branches[branch.pointer] = self._compile_branch(branch)
        return found

    def _compile_branch(self, branch: Branch) -> Diagnoser:
        is_valid = branch.validator.is_valid
        validator = branch.validator
        pointer = branch.pointer
        lookup = self.lookup
        nested = tuple(_walker(loc, self.union(union)) for loc, union in branch.unions)

        def diagnose(instance: Any, path: Path, out: list[Finding]) -> None:
            if not is_valid(instance):
                out.extend(schema_findings(validator, instance, path, pointer, lookup))
            for walk in nested:
                walk(instance, path, out)
        return diagnose

    def union(self, union: Union) -> Diagnoser:
        prop = union.property
        allowed = ", ".join(repr(v) for v in union.values)
        table = {value: self.branch(b) for value, b in union.branches.items()}
        disc_pointer = f"{union.pointer}/discriminator"
        not_object = f"must be an object with {prop!r} one of {allowed}, not "
        missing = f"{prop!r} is required and must be one of {allowed}"

        def diagnose(instance: Any, path: Path, out: list[Finding]) -> None:
            if not isinstance(instance, dict):
                out.append(Finding(
                    "error", to_pointer(path), "schema.type", not_object + json_type(instance),
                    keyword="type", schema_path=union.pointer,
                ))
                return
            if prop not in instance:
                out.append(Finding(
                    "error", to_pointer((*path, prop)), "discriminator.missing", missing,
                    keyword="discriminator", schema_path=disc_pointer,
                ))
                return
            value = instance[prop]
            found = table.get(value) if isinstance(value, str) else None
            if found is not None:
                found(instance, path, out)
                return
            if isinstance(value, str):
                rule = "discriminator.unknown"
                message = f"unknown {prop} {show(value)}; must be one of {allowed}"
            else:
                rule = "discriminator.invalid"
                message = (f"{prop} must be a string, one of {allowed}; "
                           f"got {json_type(value)} {show(value)}")
            out.append(Finding(
                "error", to_pointer((*path, prop)), rule, message,
                hint=discriminator_hint(union, value),
                keyword="discriminator", schema_path=disc_pointer,
            ))
        return diagnose


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in findings:
        key = (f.path, f.rule, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _legacy_hints(findings: list[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        name = f.path.rsplit("/", 1)[-1]
        if f.rule == "schema.additionalProperties" and name in LEGACY_FIELDS:
            f = Finding(f.severity, f.path, f.rule, f.message,
                        hint=f"{name!r} was renamed {LEGACY_FIELDS[name]!r}",
                        keyword=f.keyword, schema_path=f.schema_path)
        out.append(f)
    return out


class RequestPlan:
    """Everything :func:`lint_body` needs for one contract, resolved ahead of time."""

    def __init__(self, contract: Contract) -> None:
        request = contract.request
        self.contract = contract
        self.is_valid: Callable[[Any], bool] = request.verdict.is_valid
        advice = AdvicePlan(request.root)
        self.advise_root: Advisor = advice.root
        variants = request.variants
        # The valid path skips the dispatch through the root union: it goes
        # straight to the advisor of the variant the body names.
        self.property = variants.property if variants is not None else None
        self.variants: dict[str, Advisor] = (
            {value: advice.branch(b, b.value) for value, b in variants.branches.items()}
            if variants is not None else {}
        )
        self.diagnose_root: Diagnoser = _Diagnosis(contract).branch(request.root)

    def advise(self, value: Any) -> Report:
        """Warnings for a body the verdict validator accepted."""
        out: list[Finding] = []
        prop = self.property
        if prop is not None and type(value) is dict:
            kind = value.get(prop)
            advisor = self.variants.get(kind) if type(kind) is str else None
            if advisor is None:
                return CLEAN
            advisor(value, "", out)
        else:
            self.advise_root(value, "", out)
        return Report(out) if out else CLEAN

    def diagnose(self, value: Any) -> list[Finding]:
        """Errors for a body the verdict validator rejected, each at its own path."""
        found: list[Finding] = []
        self.diagnose_root(value, (), found)
        if len(found) > 1:
            found = _dedupe(found)
        if any(f.rule == "schema.additionalProperties" for f in found):
            found = _legacy_hints(found)
        if not found:
            # The split tree is a diagnostic aid; if it ever disagrees with the
            # verdict, fall back to the verdict validator's own errors.
            request = self.contract.request
            found = schema_findings(request.verdict, value, (), request.pointer,
                                    self.contract.lookup)
        if not found:
            found = [Finding("error", "", "schema.invalid", "payload does not match the request schema")]
        return found


_PLANS: dict[int, RequestPlan] = {}


def plan_for(contract: Contract) -> RequestPlan:
    plan = _PLANS.get(id(contract))
    if plan is None or plan.contract is not contract:
        plan = _PLANS[id(contract)] = RequestPlan(contract)
    return plan


def diagnose(contract: Contract, value: Any) -> list[Finding]:
    """Errors for a payload the verdict validator rejected, each at its own path."""
    return plan_for(contract).diagnose(value)


def _unsupported(exc: BaseException) -> Report:
    if isinstance(exc, RecursionError) or "recursion" in str(exc).lower():
        return Report([Finding("error", "", "json.too_deep", "payload is nested too deeply to check")])
    return Report([Finding("error", "", "json.unsupported", f"payload is not a JSON value: {exc}")])


_RAW = (bytes, bytearray, memoryview, str)
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


def lint_body(contract: Contract, payload: Any) -> Report:
    plan = _PLANS.get(id(contract))
    if plan is None or plan.contract is not contract:
        plan = plan_for(contract)
    kind = type(payload)
    if kind is bytes or kind is str or isinstance(payload, _RAW):
        try:
            value = _loads(payload)
        except _JSONDecodeError:
            # orjson refuses some legal JSON (huge integers, lone surrogates);
            # parse() retries with the stdlib, or explains the syntax error.
            try:
                value = parse(payload)
            except NotJSON as exc:
                return Report([exc.finding])
    else:
        value = payload
    try:
        if not plan.is_valid(value):
            errors = plan.diagnose(value)
            plan.advise_root(value, "", errors)
            return Report(errors)
        # The hot path: a valid body goes straight to its variant's advisor.
        if plan.property is None or type(value) is not dict:
            return plan.advise(value)
        variant = value.get(plan.property)
        advisor = plan.variants.get(variant) if type(variant) is str else None
        if advisor is None:
            return CLEAN
        out: list[Finding] = []
        advisor(value, "", out)
        return Report(out) if out else CLEAN
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return _unsupported(exc)
