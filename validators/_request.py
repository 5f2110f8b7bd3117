"""Create-avatar request bodies: verdict, precise errors and advice."""

from __future__ import annotations

from typing import Any

from spec import to_pointer

from ._advice import advise_branch, discriminator_hint
from ._compiled import Branch, Union, instances_at
from ._contract import Contract
from ._finding import CLEAN, Finding, Report
from ._payload import NotJSON, Raw, parse
from ._schema_errors import findings as schema_findings
from ._schema_errors import json_type, show

Path = tuple[str | int, ...]


def _branch_errors(contract: Contract, branch: Branch, instance: Any, path: Path) -> list[Finding]:
    out: list[Finding] = []
    if not branch.validator.is_valid(instance):
        out.extend(schema_findings(branch.validator, instance, path, branch.pointer, contract.lookup))
    for loc, union in branch.unions:
        for sub_path, sub in instances_at(instance, loc, path):
            out.extend(_union_errors(contract, union, sub, sub_path))
    return out


def _union_errors(contract: Contract, union: Union, instance: Any, path: Path) -> list[Finding]:
    prop = union.property
    allowed = ", ".join(repr(v) for v in union.values)
    if not isinstance(instance, dict):
        return [
            Finding(
                "error", to_pointer(path), "schema.type",
                f"must be an object with {prop!r} one of {allowed}, not {json_type(instance)}",
                keyword="type", schema_path=union.pointer,
            )
        ]
    if prop not in instance:
        return [
            Finding(
                "error", to_pointer((*path, prop)), "discriminator.missing",
                f"{prop!r} is required and must be one of {allowed}",
                keyword="discriminator", schema_path=f"{union.pointer}/discriminator",
            )
        ]
    value = instance[prop]
    branch = union.branches.get(value) if isinstance(value, str) else None
    if branch is None:
        if isinstance(value, str):
            rule, message = "discriminator.unknown", f"unknown {prop} {show(value)}; must be one of {allowed}"
        else:
            rule = "discriminator.invalid"
            message = f"{prop} must be a string, one of {allowed}; got {json_type(value)} {show(value)}"
        return [
            Finding(
                "error", to_pointer((*path, prop)), rule, message,
                hint=discriminator_hint(union, value),
                keyword="discriminator", schema_path=f"{union.pointer}/discriminator",
            )
        ]
    return _branch_errors(contract, branch, instance, path)


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
    from ._advice import LEGACY_FIELDS

    out = []
    for f in findings:
        name = f.path.rsplit("/", 1)[-1]
        if f.rule == "schema.additionalProperties" and name in LEGACY_FIELDS:
            f = Finding(f.severity, f.path, f.rule, f.message,
                        hint=f"{name!r} was renamed {LEGACY_FIELDS[name]!r}",
                        keyword=f.keyword, schema_path=f.schema_path)
        out.append(f)
    return out


def diagnose(contract: Contract, value: Any) -> list[Finding]:
    """Errors for a payload the verdict validator rejected, each at its own path."""
    request = contract.request
    out = _legacy_hints(_dedupe(_branch_errors(contract, request.root, value, ())))
    if not out:
        # The split tree is a diagnostic aid; if it ever disagrees with the
        # verdict, fall back to the verdict validator's own errors.
        out = schema_findings(request.verdict, value, (), request.pointer, contract.lookup)
    if not out:
        out = [Finding("error", "", "schema.invalid", "payload does not match the request schema")]
    return out


def _unsupported(exc: BaseException) -> Report:
    if isinstance(exc, RecursionError) or "recursion" in str(exc).lower():
        return Report([Finding("error", "", "json.too_deep", "payload is nested too deeply to check")])
    return Report([Finding("error", "", "json.unsupported", f"payload is not a JSON value: {exc}")])


def lint_body(contract: Contract, payload: Any) -> Report:
    if isinstance(payload, Raw):
        try:
            value = parse(payload)
        except NotJSON as exc:
            return Report([exc.finding])
    else:
        value = payload
    request = contract.request
    try:
        ok = request.verdict.is_valid(value)
        if ok:
            variants = request.variants
            if variants is not None and type(value) is dict:
                branch = variants.branches.get(value.get(variants.property))
                if branch is None:
                    return CLEAN
                advice = advise_branch(branch, value, (), branch.value)
            else:
                advice = advise_branch(request.root, value, (), "")
            return Report(advice) if advice else CLEAN
        errors = diagnose(contract, value)
        return Report([*errors, *advise_branch(request.root, value, (), "")])
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return _unsupported(exc)
