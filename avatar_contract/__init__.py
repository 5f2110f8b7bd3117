"""avatar-contract: check implementations of HeyGen's Create Avatar (POST /v3/avatars).

    >>> from avatar_contract import lint_request
    >>> lint_request(b'{"type": "photo", "name": "A", "file": {"type": "url"}}').valid
    False

The one top-level import package of the distribution. Its subpackages live at
the repository root (``spec/``, ``validators/``, ``emulator/``,
``contract_tests/``) and are mapped here by the build backend. The linter's
public names are re-exported lazily: the pytest plugin and the CLI import this
package first, and neither should pay for compiling validators it may not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .validators import (
        Contract,
        ContractViolation,
        Finding,
        Linter,
        NotJSON,
        Report,
        Severity,
        audit_spec,
        check_idempotency_key,
        check_retry_after,
        contract_for,
        default_linter,
        lint_backend,
        lint_request,
        lint_response,
        parse_json,
        validate_idempotency_key,
        validate_request,
        validate_response,
    )

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


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(".validators", __name__), name)
    raise AttributeError(f"module 'avatar_contract' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
