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

from avatar_contract.spec import from_pointer

from ._advice import AdvicePlan, Advisor, token, walker
from ._compiled import Branch, Union, is_union
from ._contract import Contract
from ._evaluated import converter
from ._finding import CLEAN, Finding, Report
from ._hints import LEGACY_FIELDS, value_hint
from ._payload import NotJSON, parse
from ._schema_errors import findings as schema_findings
from ._schema_errors import json_type, show

# A diagnoser appends the errors for one value found at JSON Pointer ``at``
# (built as we descend).
Diagnoser = Callable[[Any, str, list[Finding]], None]

# Keywords that never reject an instance: a union node with only these besides
# its oneOf/discriminator has nothing to report beyond the union itself.
_ANNOTATIONS = frozenset({
    "title", "description", "$comment", "examples", "example", "default", "deprecated",
    "readOnly", "writeOnly", "externalDocs", "xml", "discriminator", "oneOf", "anyOf",
})


def _accepts_anything(branch: Branch) -> bool:
    """Whether the blanked schema of ``branch`` (its union keywords removed) is empty."""
    schema = branch.schema
    return bool(schema) and is_union(schema) and all(
        key in _ANNOTATIONS or key.startswith("x-") for key in schema
    )


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
        validator = branch.validator
        # No need to ask jsonschema-rs about a schema that cannot fail (the
        # root body schema, once its oneOf is split off, is only annotations).
        is_valid: Callable[[Any], bool] = (
            _always if _accepts_anything(branch) else validator.is_valid
        )
        pointer = branch.pointer
        lookup = self.lookup
        fast = converter(validator, branch.compiled, pointer, lookup)
        # A union at a plain field (the common shape) is called directly;
        # other locations go through a walker.
        fields: list[tuple[str, str, Diagnoser]] = []
        walkers: list[Diagnoser] = []
        for loc, union in branch.unions:
            if len(loc) == 1 and loc[0] != "*":
                fields.append((loc[0], "/" + token(loc[0]), self.union(union)))
            else:
                walkers.append(walker(loc, self.union(union)))

        def diagnose(instance: Any, at: str, out: list[Finding]) -> None:
            if not is_valid(instance) and (fast is None or not fast(instance, at, out)):
                # iter_errors paths are relative to ``instance``; its own path
                # is read back from ``at`` (to_pointer gives ``at`` again).
                out.extend(schema_findings(validator, instance, tuple(from_pointer(at)), pointer,
                                           lookup))
            if fields and isinstance(instance, dict):
                for field, step, union in fields:
                    if field in instance:
                        union(instance[field], at + step, out)
            for walk in walkers:
                walk(instance, at, out)
        return diagnose

    def root(self, branch: Branch) -> Diagnoser:
        """The body's diagnoser: its union's directly, when the body is nothing but that union."""
        if _accepts_anything(branch) and len(branch.unions) == 1 and branch.unions[0][0] == ():
            return self.union(branch.unions[0][1])
        return self.branch(branch)

    def union(self, union: Union) -> Diagnoser:
        prop = union.property
        values = union.values
        allowed = ", ".join(repr(v) for v in values)
        table = {value: self.branch(b) for value, b in union.branches.items()}
        pick = table.get
        step = "/" + token(prop)
        disc_pointer = f"{union.pointer}/discriminator"
        not_object = f"must be an object with {prop!r} one of {allowed}, not "
        missing = f"{prop!r} is required and must be one of {allowed}"

        def diagnose(instance: Any, at: str, out: list[Finding]) -> None:
            if not isinstance(instance, dict):
                out.append(Finding("error", at, "schema.type", not_object + json_type(instance),
                                   None, "type", union.pointer))
                return
            if prop not in instance:
                out.append(Finding("error", at + step, "discriminator.missing", missing,
                                   None, "discriminator", disc_pointer))
                return
            value = instance[prop]
            found = pick(value) if isinstance(value, str) else None
            if found is not None:
                found(instance, at, out)
                return
            if isinstance(value, str):
                rule = "discriminator.unknown"
                message = f"unknown {prop} {show(value)}; must be one of {allowed}"
            else:
                rule = "discriminator.invalid"
                message = (f"{prop} must be a string, one of {allowed}; "
                           f"got {json_type(value)} {show(value)}")
            out.append(Finding("error", at + step, rule, message,
                               value_hint(values, value), "discriminator", disc_pointer))
        return diagnose


def _always(instance: Any) -> bool:
    return True


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
                        f"{name!r} was renamed {LEGACY_FIELDS[name]!r}", f.keyword, f.schema_path)
        out.append(f)
    return out


_RAW = (bytes, bytearray, memoryview, str)
_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError


class RequestPlan:
    """Everything :func:`lint_body` needs for one contract, resolved ahead of time."""

    def __init__(self, contract: Contract) -> None:
        request = contract.request
        self.contract = contract
        self.is_valid: Callable[[Any], bool] = request.verdict.is_valid
        advice = AdvicePlan(request.root, contract.spec)
        self.advise_root: Advisor = advice.root
        variants = request.variants
        # The valid path skips the dispatch through the root union: it goes
        # straight to the advisor of the variant the body names.
        self.property = variants.property if variants is not None else None
        self.variants: dict[str, Advisor] = (
            {value: advice.branch(b, b.value) for value, b in variants.branches.items()}
            if variants is not None else {}
        )
        self.diagnose_root: Diagnoser = _Diagnosis(contract).root(request.root)
        self.lint: Callable[[Any], Report] = self._hot_path()

    def _hot_path(self) -> Callable[[Any], Report]:
        """``lint(payload)``: parse, verdict, then advice or diagnosis.

        A closure over everything it needs, so the per-payload work is local
        variable reads: this is the function a service calls per request.
        """
        is_valid = self.is_valid
        prop = self.property
        pick = self.variants.get
        advise = self.advise
        advise_root = self.advise_root
        diagnose = self.diagnose

        def lint(payload: Any) -> Report:
            kind = type(payload)
            if kind is bytes or kind is str or isinstance(payload, _RAW):
                try:
                    value = _loads(payload)
                except _JSONDecodeError:
                    # orjson refuses some legal JSON (huge integers, lone
                    # surrogates); parse() retries with the stdlib, or
                    # explains the syntax error.
                    try:
                        value = parse(payload)
                    except NotJSON as exc:
                        return Report([exc.finding])
            else:
                value = payload
            try:
                if is_valid(value):
                    if prop is None or type(value) is not dict:
                        return advise(value)
                    # Valid, so the discriminator names a variant: go straight
                    # to its advisor, skipping the dispatch through the root.
                    variant = value.get(prop)
                    advisor = pick(variant) if type(variant) is str else None
                    if advisor is None:
                        return CLEAN
                    out: list[Finding] = []
                    advisor(value, "", out)
                    return Report(out) if out else CLEAN
                errors = diagnose(value)
                advise_root(value, "", errors)
                return Report(errors)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                return _unsupported(exc)
        return lint

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
        self.diagnose_root(value, "", found)
        if len(found) > 1:
            found = _dedupe(found)
        for f in found:
            if f.rule == "schema.additionalProperties":
                found = _legacy_hints(found)
                break
        if not found:
            # The split tree is a diagnostic aid; if it ever disagrees with the
            # verdict, fall back to the verdict validator's own errors.
            request = self.contract.request
            found = schema_findings(request.verdict, value, (), request.pointer,
                                    self.contract.lookup)
        if not found:
            found = [Finding("error", "", "schema.invalid", "payload does not match the request schema")]
        return found


class _NoPlan:
    contract = None


_MAX_PLANS = 16
_PLANS: dict[int, RequestPlan] = {}
_last_plan: Any = _NoPlan()  # a RequestPlan once one is built


def plan_for(contract: Contract) -> RequestPlan:
    global _last_plan
    plan = _PLANS.get(id(contract))
    if plan is None or plan.contract is not contract:
        if len(_PLANS) >= _MAX_PLANS:
            # Plans keep their contract alive; a process that lints against
            # many specs (tests, --spec per file) must not keep them all.
            _PLANS.clear()
        plan = _PLANS[id(contract)] = RequestPlan(contract)
    # Most processes lint against one spec: remember the last plan so the
    # next call finds it with one identity test.
    _last_plan = plan
    return plan


def diagnose(contract: Contract, value: Any) -> list[Finding]:
    """Errors for a payload the verdict validator rejected, each at its own path."""
    return plan_for(contract).diagnose(value)


def _unsupported(exc: BaseException) -> Report:
    if isinstance(exc, RecursionError) or "recursion" in str(exc).lower():
        return Report([Finding("error", "", "json.too_deep", "payload is nested too deeply to check")])
    return Report([Finding("error", "", "json.unsupported", f"payload is not a JSON value: {exc}")])


def lint_body(contract: Contract, payload: Any) -> Report:
    """The report for one request body: raw ``bytes``/``str`` or an already parsed value."""
    plan: RequestPlan = _last_plan
    if plan.contract is not contract:
        plan = plan_for(contract)
    return plan.lint(payload)
