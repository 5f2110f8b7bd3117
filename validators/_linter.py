"""The public entry points: a Linter per spec, and module-level functions on the vendored one."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from avatar_contract.spec import Spec

from ._contract import Contract, contract_for
from ._finding import Report
from ._headers import check_idempotency_key as _check_key
from ._headers import check_retry_after as _check_retry_after
from ._request import lint_body, plan_for
from ._response import lint_response_body

SpecSource = Spec | str | os.PathLike[str] | None


class Linter:
    """Validators compiled from one spec; build once, call from any thread.

    ``strict`` turns on the profile the contract suite uses: 200s must carry the
    ``data`` wrapper with a non-null item, errors the ``error`` envelope, and
    error codes must be the documented ones.
    """

    def __init__(self, spec: SpecSource = None, *, strict: bool = False) -> None:
        source = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
        self.contract: Contract = contract_for(source)
        self.strict = strict

    @property
    def spec(self) -> Spec:
        return self.contract.spec

    def lint_request(self, payload: Any, *, headers: Mapping[str, str] | None = None) -> Report:
        """Findings for a create-avatar body (parsed value, or raw ``bytes``/``str``)."""
        report = lint_body(self.contract, payload)
        if headers is None:
            return report
        key = _header(headers, self.contract.idempotency_key.name if self.contract.idempotency_key else None)
        if key is None:
            return report
        return Report([*report.findings, *_check_key(self.contract, key).findings])

    def lint_response(
        self,
        status: int,
        body: Any,
        *,
        headers: Mapping[str, str] | None = None,
        request: Any = None,
        strict: bool | None = None,
    ) -> Report:
        """Findings for a response; ``request=`` adds request/response consistency checks."""
        return lint_response_body(
            self.contract, status, body, headers=headers, request=request,
            strict=self.strict if strict is None else strict,
        )

    def check_idempotency_key(self, value: Any) -> Report:
        return _check_key(self.contract, value)

    def check_retry_after(self, value: Any, status: int = 429) -> Report:
        return _check_retry_after(self.contract, value, status)

    def validate_request(self, payload: Any, *, headers: Mapping[str, str] | None = None) -> None:
        self.lint_request(payload, headers=headers).raise_for_errors()

    def validate_response(self, status: int, body: Any, **kwargs: Any) -> None:
        self.lint_response(status, body, **kwargs).raise_for_errors()

    def validate_idempotency_key(self, value: Any) -> None:
        self.check_idempotency_key(value).raise_for_errors()


def _header(headers: Mapping[str, str], name: str | None) -> str | None:
    if name is None:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value
    return None


_DEFAULT: Linter | None = None


def default_linter() -> Linter:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Linter()
    return _DEFAULT


def lint_request(payload: Any, *, headers: Mapping[str, str] | None = None) -> Report:
    # A service's per-request entry point: without headers, call the default
    # contract's request plan directly (three Python frames fewer than going
    # through the Linter and lint_body).
    if headers is None:
        lint = _default_lint
        if lint is None:
            lint = _default_request_plan()
        return lint(payload)
    return default_linter().lint_request(payload, headers=headers)


_default_lint: Callable[[Any], Report] | None = None


def _default_request_plan() -> Callable[[Any], Report]:
    global _default_lint
    # The default linter never changes once made, so neither does its plan;
    # holding it here also keeps it out of reach of plan_for's eviction.
    _default_lint = plan_for(default_linter().contract).lint
    return _default_lint


def lint_response(
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    request: Any = None,
    strict: bool = False,
) -> Report:
    return default_linter().lint_response(status, body, headers=headers, request=request, strict=strict)


def check_idempotency_key(value: Any) -> Report:
    return default_linter().check_idempotency_key(value)


def check_retry_after(value: Any, status: int = 429) -> Report:
    return default_linter().check_retry_after(value, status)


def validate_request(payload: Any, *, headers: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ContractViolation` unless the body is schema-valid."""
    default_linter().validate_request(payload, headers=headers)


def validate_response(status: int, body: Any, **kwargs: Any) -> None:
    default_linter().validate_response(status, body, **kwargs)


def validate_idempotency_key(value: Any) -> None:
    default_linter().validate_idempotency_key(value)



