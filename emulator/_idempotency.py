"""Idempotency-Key, with the spec's semantics.

* a key outside the spec's pattern (ECMA-262 semantics, checked by
  ``validators``) is a 400 naming ``Idempotency-Key``;
* a retry within the TTL replays the original status and body, even when the
  body differs (which is logged as a warning);
* a retry while the original is in flight is a 409 ``request_in_progress``;
* scope is tenant + method + route + path parameters;
* only successful outcomes are stored: a 400 or 401 leaves the key free, so a
  corrected retry with the same key is processed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from avatar_contract.validators import Linter

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # Stripe's name; tells a client it got a replay


def key_problem(linter: Linter, key: str, *, pattern_enforced: bool = True) -> str | None:
    """Why ``key`` is not a valid Idempotency-Key, or None."""
    if not pattern_enforced:
        # The bug: a length check only, as if the pattern were documentation.
        if 1 <= len(key) <= 255:
            return None
        return f"{KEY_HEADER} must be 1-255 characters long"
    report = linter.check_idempotency_key(key)
    if report.valid:
        return None
    first = report.errors[0]
    return f"{first.message} ({first.hint})" if first.hint else first.message


def scope(key: str, tenant: str | None, method: str, route: str, params: Mapping[str, str]) -> str:
    """Where a key's record lives; ``tenant=None`` is the not-tenant-scoped fault."""
    parts = [tenant or "*", method.upper(), route]
    parts.extend(f"{name}={value}" for name, value in sorted(params.items()))
    parts.append(key)
    return "\x1f".join(parts)


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
