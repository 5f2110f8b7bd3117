"""Create-avatar request bodies: verdict, precise errors and advice.

The verdict comes from the full schema: from msgspec Structs generated from it
(raw bodies, when the schema maps exactly) or from the jsonschema-rs
validator.  What happens around it is compiled once per contract into a
:class:`RequestPlan`:

* raw valid bodies (the hot path): one msgspec decode into the generated
  Structs (:mod:`._structs`), then the variant's precompiled advisor, which
  for a clean body is a few dict lookups and returns the shared empty report;
* anything the Structs refuse, and parsed values (the exact path): orjson,
  one ``is_valid`` call, then advice or diagnosis;
* invalid bodies: dispatch down the discriminator tree to report each error at
  its own path, with messages, hints and pointers precomputed per union; each
  branch's error is written by its generated diagnoser (:mod:`._diagnoser`),
  or by jsonschema-rs for what that declines (:mod:`._request_diagnosis`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from ._advice import AdvicePlan, Advisor
from ._contract import Contract
from ._finding import CLEAN, Finding, Report
from ._hints import LEGACY_FIELDS
from ._native_plan import NativeCore, native_core
from ._payload import NotJSON, parse, plain_json, without_surrogates
from ._request_diagnosis import Diagnoser, Diagnosis
from ._schema_errors import findings as schema_findings
from ._structs import FastDecoder, fast_decoder


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
# What the Struct decoder raises for a body it will not vouch for (invalid,
# not JSON, or merely unusual): all of them just mean "take the exact path".
_DECLINED = (msgspec.MsgspecError, ValueError, TypeError, RecursionError)
# Credit for the Struct attempt (see RequestPlan._hot_path): +1 per valid body,
# -_MISS_COST per refused one (measured: a refusal costs about what four
# successes save), kept within bounds so either way it adapts in ~64 bodies.
_MISS_COST = 4
_CREDIT_FLOOR = -64
_CREDIT_CEILING = 64


class RequestPlan:
    """Everything :func:`lint_body` needs for one contract, resolved ahead of time."""

    def __init__(self, contract: Contract, fast: bool = True, native: bool = True) -> None:
        """``fast=False`` builds the exact path alone: no Structs, no generated
        diagnosers (the reference the fast path is tested against).
        ``native=False`` keeps the Python path even where the native core
        could run (the reference it is tested against)."""
        request = contract.request
        self.contract = contract
        self.is_valid: Callable[[Any], bool] = request.verdict.is_valid
        advice = self.advice = AdvicePlan(request.root, contract.spec)
        self.advise_root: Advisor = advice.root
        variants = request.variants
        # The valid path skips the dispatch through the root union: it goes
        # straight to the advisor of the variant the body names.
        self.property = variants.property if variants is not None else None
        self.variants: dict[str, Advisor] = (
            {value: advice.branch(b, b.value) for value, b in variants.branches.items()}
            if variants is not None else {}
        )
        diagnosis = Diagnosis(contract, generated=fast)
        self.diagnose_root: Diagnoser = diagnosis.root(request.root)
        # None when the schema has something msgspec cannot check exactly.
        self.fast: FastDecoder | None = fast_decoder(contract.spec, request.pointer) if fast else None
        self.exact: Callable[[Any], Report] = self._exact_path()
        self.native: NativeCore | None = native_core(self, diagnosis.union_site) if fast and native else None
        # Which core `lint` runs on: see avatar_contract.lint_backend().
        self.backend = "python" if self.native is None else "native"
        self.lint: Callable[[Any], Report] = (self._hot_path(governed=True) if self.native is None
                                              else self.native.lint)
        # Structs first on every body, whatever the traffic: what the tests
        # and the benchmark use to exercise that path on its own.
        self.structs_first: Callable[[Any], Report] = self._hot_path(governed=False)

    def _hot_path(self, governed: bool) -> Callable[[Any], Report]:
        """``lint(payload)``: the Struct decoder first, then the exact path.

        A body the generated Structs accept is valid (they map only what maps
        exactly), and the dict they give back is the one orjson would: only
        the warnings remain.  Anything they refuse, invalid or just unusual,
        gets :meth:`_exact_path`, whose verdict comes from jsonschema-rs.

        A refused attempt is not free (about four valid bodies' saving), so a
        credit follows the recent traffic: mostly valid bodies keep the
        Structs first; a run of invalid ones (a misbehaving client, a fuzzer)
        goes straight to the exact path until valid bodies earn the Structs
        back.  Either way the report is the same, only the cost differs.
        """
        fast = self.fast
        exact = self.exact
        if fast is None:
            return exact
        decode = fast.decode
        to_builtins = msgspec.to_builtins
        prop = self.property
        pick = self.variants.get
        advise = self.advise
        # Ungoverned: a credit that never runs out.
        credit = 0 if governed else _CREDIT_CEILING * 2

        def lint(payload: Any) -> Report:
            nonlocal credit
            kind = type(payload)
            if not (kind is bytes or kind is str or isinstance(payload, _RAW)):
                return exact(payload)
            if credit < 0:
                report = exact(payload)
                # Would the Structs have paid off?  Learn from the verdict.
                credit += 1 if report is CLEAN or report.valid else -_MISS_COST
                if credit < _CREDIT_FLOOR:
                    credit = _CREDIT_FLOOR
                return report
            try:
                value = to_builtins(decode(payload))
            except _DECLINED:
                if governed:
                    credit -= _MISS_COST
                return exact(payload)
            if governed and credit < _CREDIT_CEILING:
                credit += 1
            if prop is None or type(value) is not dict:
                return advise(value)
            variant = value.get(prop)
            advisor = pick(variant) if type(variant) is str else None
            if advisor is None:
                return CLEAN
            out: list[Finding] = []
            advisor(value, "", out)
            return Report(out) if out else CLEAN
        return lint

    def _exact_path(self) -> Callable[[Any], Report]:
        """``exact(payload)``: parse, verdict, then advice or diagnosis.

        A closure over everything it needs, so the per-payload work is local
        variable reads: the hot path falls back to it for every body the
        Structs refuse, and calls it for parsed values.
        """
        is_valid = self.is_valid
        prop = self.property
        pick = self.variants.get
        advise = self.advise
        advise_root = self.advise_root
        diagnose = self.diagnose

        def lint(payload: Any, cleaned: bool = False) -> Report:
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
            except UnicodeEncodeError as exc:
                # A lone surrogate from a JSON escape, which the Rust validator cannot take: judged
                # and explained on a copy with U+FFFD in its place (same code points otherwise).
                return _unsupported(exc) if cleaned else lint(without_surrogates(value), True)
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                # A str or int subclass (an enum member, say) is judged as its base type.
                if cleaned or isinstance(exc, RecursionError):
                    return _unsupported(exc)
                try:
                    plain = plain_json(value)
                except RecursionError as deep:
                    return _unsupported(deep)
                return lint(plain, True)
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

    @staticmethod
    def finish(found: list[Finding]) -> list[Finding]:
        """The diagnosers' findings as reported: duplicates dropped, legacy renames hinted."""
        if len(found) > 1:
            found = _dedupe(found)
        for f in found:
            if f.rule == "schema.additionalProperties":
                return _legacy_hints(found)
        return found

    def diagnose(self, value: Any) -> list[Finding]:
        """Errors for a body the verdict validator rejected, each at its own path."""
        found: list[Finding] = []
        self.diagnose_root(value, "", found)
        found = self.finish(found)
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
