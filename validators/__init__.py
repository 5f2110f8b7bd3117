"""Create Avatar payload validators, compiled from the OpenAPI spec.

    >>> from avatar_contract.validators import lint_request
    >>> report = lint_request(b'{"type": "photo", "name": "A", "file": {"type": "url"}}')
    >>> report.valid, [(f.path, f.rule) for f in report.findings]
    (False, [('/file/url', 'schema.required')])
"""

from ._contract import Contract, contract_for
from ._finding import ContractViolation, Finding, Report, Severity
from ._linter import (
    Linter,
    check_idempotency_key,
    check_retry_after,
    default_linter,
    lint_backend,
    lint_request,
    lint_response,
    validate_idempotency_key,
    validate_request,
    validate_response,
)
from ._payload import NotJSON
from ._payload import parse as parse_json
from ._spec_audit import audit_spec

__all__ = [
    "Contract",
    "ContractViolation",
    "Finding",
    "Linter",
    "NotJSON",
    "Report",
    "Severity",
    "audit_spec",
    "check_idempotency_key",
    "check_retry_after",
    "contract_for",
    "default_linter",
    "lint_backend",
    "lint_request",
    "lint_response",
    "parse_json",
    "validate_idempotency_key",
    "validate_request",
    "validate_response",
]
