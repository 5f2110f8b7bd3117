"""The public entry points: a Linter per spec, and module-level functions on the vendored one."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from avatar_contract.spec import Spec

from ._contract import Contract, contract_for
from ._finding import Finding, Report
from ._headers import check_idempotency_key as _check_key
from ._headers import check_retry_after as _check_retry_after
from ._headers import header_fields
from ._request import lint_body, plan_for
from ._response import lint_response_body

SpecSource = Spec | str | os.PathLike[str] | None


def _internal_error(exc: Exception) -> Report:
    # The last line of "never raises": the checks below are built not to throw
    # on any input, and the fuzz bench counts this rule as a failure.  A caller
    # on a hot path still gets a report (an error, so nothing passes unchecked).
    return Report([Finding("error", "", INTERNAL_ERROR,
                           f"the linter could not check this input ({type(exc).__name__})",
                           hint="please report this input as a bug in avatar-contract")])


INTERNAL_ERROR = "linter.internal_error"


class Linter:
    """Validators compiled from one spec; build once, call from any thread.

    ``strict`` turns on the profile the contract suite uses: 200s must carry the
    ``data`` wrapper with a non-null item, errors the ``error`` envelope, and
    error codes must be the documented ones, and the response sentence rules
    (:mod:`._sentence_rules`) apply.  ``clock`` (seconds, e.g. ``time.time``) is
    the run's clock the time-based sentence rules compare with; without one they
    stay quiet.
    """

    def __init__(self, spec: SpecSource = None, *, strict: bool = False,
                 clock: Callable[[], float] | None = None) -> None:
        source = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
        self.contract: Contract = contract_for(source)
        self.strict = strict
        self.clock = clock

    @property
    def spec(self) -> Spec:
        return self.contract.spec

    def lint_request(self, payload: Any, *, headers: Mapping[str, str] | None = None) -> Report:
        """Findings for a create-avatar body (parsed value, or raw ``bytes``/``str``)."""
        try:
            return self._lint_request(payload, headers)
        except Exception as exc:
            return _internal_error(exc)

    def _lint_request(self, payload: Any, headers: Any) -> Report:
        report = lint_body(self.contract, payload)
        if headers is None:
            return report
        fields, unreadable = header_fields(headers)
        header = self.contract.idempotency_key
        key = fields.get(header.name.lower()) if header is not None else None
        if key is None and not unreadable:
            return report
        checked = _check_key(self.contract, key).findings if key is not None else ()
        return Report([*report.findings, *unreadable, *checked])

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
        try:
            return lint_response_body(
                self.contract, status, body, headers=headers, request=request,
                strict=self.strict if strict is None else strict,
                now=self.clock() if self.clock is not None else None,
            )
        except Exception as exc:
            return _internal_error(exc)

    def check_idempotency_key(self, value: Any) -> Report:
        try:
            return _check_key(self.contract, value)
        except Exception as exc:
            return _internal_error(exc)

    def check_retry_after(self, value: Any, status: int = 429) -> Report:
        try:
            return _check_retry_after(self.contract, value, status)
        except Exception as exc:
            return _internal_error(exc)

    def validate_request(self, payload: Any, *, headers: Mapping[str, str] | None = None) -> None:
        self.lint_request(payload, headers=headers).raise_for_errors()

    def validate_response(self, status: int, body: Any, **kwargs: Any) -> None:
        self.lint_response(status, body, **kwargs).raise_for_errors()

    def validate_idempotency_key(self, value: Any) -> None:
        self.check_idempotency_key(value).raise_for_errors()


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
        try:
            return lint(payload)
        except Exception as exc:
            return _internal_error(exc)
    return default_linter().lint_request(payload, headers=headers)


_default_lint: Callable[[Any], Report] | None = None


def _default_request_plan() -> Callable[[Any], Report]:
    global _default_lint
    # The default linter never changes once made, so neither does its plan;
    # holding it here also keeps it out of reach of plan_for's eviction.
    _default_lint = plan_for(default_linter().contract).lint
    return _default_lint


def lint_backend() -> str:
    """Which core lints request bodies: ``"native"`` (the C extension) or ``"python"``.

    ``"python"`` when the extension was not built (no compiler at install
    time), when ``AVATAR_CONTRACT_PURE_PYTHON=1`` was set before the first
    lint, or when the spec has a union the core cannot dispatch exactly.
    Either gives the same findings.
    """
    return plan_for(default_linter().contract).backend


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



