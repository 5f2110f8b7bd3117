"""Defects in the spec itself, reported as findings whose paths point into the spec."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from avatar_contract.spec import Spec

from ._compiled import Branch, Union, lookup
from ._contract import Contract, contract_for
from ._finding import Finding, Report
from ._schema_errors import findings as schema_findings

# An identifier-like token in prose: snake_case names are field names, not English.
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def _walk_branches(branch: Branch, seen: set[str]) -> Iterator[Branch]:
    if branch.pointer in seen:
        return
    seen.add(branch.pointer)
    yield branch
    for _, union in branch.unions:
        for sub in union.branches.values():
            yield from _walk_branches(sub, seen)


def _unions(branch: Branch, seen: set[str]) -> Iterator[Union]:
    for b in _walk_branches(branch, seen):
        for _, union in b.unions:
            yield union


def _field_names(contract: Contract) -> set[str]:
    names: set[str] = set()

    def collect(node: Any, depth: int = 0) -> None:
        node = contract.spec.resolve(node)
        if depth > 32 or not isinstance(node, dict):
            return
        for name, sub in (node.get("properties") or {}).items():
            names.add(name)
            collect(sub, depth + 1)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                collect(node[key], depth + 1)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in node.get(key) or []:
                collect(sub, depth + 1)

    collect(lookup(contract.spec, contract.request.pointer))
    if contract.idempotency_key is not None:
        names.add(contract.idempotency_key.name)
    return names


def _values(contract: Contract) -> set[str]:
    found: set[str] = set()
    for union in _unions(contract.request.root, set()):
        found.update(union.values)
    return found


def _example_findings(contract: Contract) -> Iterator[Finding]:
    fields = _field_names(contract)
    vocabulary = fields | _values(contract)
    for rc in contract.responses.values():
        for pointer, example in rc.examples:
            if rc.verdict is not None and not rc.verdict.is_valid(example):
                for f in schema_findings(rc.verdict, example, (), rc.pointer or "", contract.lookup):
                    yield Finding("error", pointer + f.path, "spec.example_invalid",
                                  f"{rc.status} example does not match its schema: {f.message}")
            error = example.get("error") if isinstance(example, dict) else None
            if not isinstance(error, dict):
                continue
            param = error.get("param")
            if isinstance(param, str):
                root = re.split(r"[.\[]", param, maxsplit=1)[0]
                if root not in fields:
                    yield Finding("warning", f"{pointer}/error/param", "spec.example_unknown_field",
                                  f"{rc.status} example names param {param!r}, which is not a field "
                                  f"of this operation's request",
                                  hint=f"request fields: {', '.join(sorted(fields))}")
            message = error.get("message")
            if isinstance(message, str):
                for token in sorted(set(_IDENTIFIER.findall(message)) - vocabulary):
                    yield Finding("warning", f"{pointer}/error/message", "spec.example_unknown_field",
                                  f"{rc.status} example message mentions {token!r}, which is not a "
                                  f"field or value of this operation's request")


def _union_findings(contract: Contract) -> Iterator[Finding]:
    for union in _unions(contract.request.root, set()):
        node = lookup(contract.spec, union.pointer)
        for value, branch in union.branches.items():
            prop = (branch.schema.get("properties") or {}).get(union.property)
            const = prop.get("const") if isinstance(prop, dict) else None
            if isinstance(const, str) and const != value:
                yield Finding("error", f"{union.pointer}/discriminator/mapping", "spec.discriminator_mismatch",
                              f"mapping {value!r} points at {branch.pointer}, whose "
                              f"{union.property} const is {const!r}")
            if union.property not in branch.required:
                yield Finding("warning", branch.pointer, "spec.discriminator_optional",
                              f"{branch.pointer} does not require its discriminator {union.property!r}")
        if "anyOf" in node and "oneOf" not in node:
            yield Finding("warning", union.pointer, "spec.discriminator_anyof",
                          "discriminator on anyOf: branches may overlap")


def _envelope_findings(contract: Contract) -> Iterator[Finding]:
    for rc in contract.responses.values():
        if rc.pointer is None:
            continue
        schema = contract.spec.resolve(lookup(contract.spec, rc.pointer))
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict) and len(props) == 1 and not schema.get("required"):
            wrapper = next(iter(props))
            yield Finding("warning", rc.pointer, "spec.wrapper_optional",
                          f"{rc.status} schema does not require {wrapper!r}, so {{}} validates",
                          hint="the strict profile requires it")
        for key, header in rc.headers.items():
            if key == "retry-after" and not header.required:
                yield Finding("warning", header.pointer, "spec.header_optional",
                              f"{rc.status} declares {header.name} but not as required")


def audit_spec(spec: Spec | str | None = None) -> Report:
    """Defects in a spec: what the loader had to normalise, then what it cannot fix."""
    contract = contract_for(spec)
    loaded = contract.spec
    findings = [
        Finding(d.severity, d.pointer, f"spec.{d.rule}",
                d.message, hint="normalised at load time" if d.normalised else None)
        for d in loaded.defects
    ]
    findings.extend(_union_findings(contract))
    findings.extend(_example_findings(contract))
    findings.extend(_envelope_findings(contract))
    return Report(findings)
