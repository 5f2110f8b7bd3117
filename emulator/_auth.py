"""Credentials: x-api-key or Bearer, compared in constant time, never logged.

A tenant is named by a short SHA-256 digest of its key.  That digest is what
idempotency scopes, stored avatars and log lines carry, so neither the store
nor a log file ever holds a key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from ._config import EmulatorConfig, key_digest


def tenant_id(key: str) -> str:
    """A stable, non-reversible name for the tenant that owns ``key``."""
    return tenant_of_digest(key_digest(key))


def tenant_of_digest(digest: str) -> str:
    return "t_" + digest[:16]


@dataclass(frozen=True, slots=True)
class Presented:
    """What the client sent: the key (if any) and the header that carried it."""

    key: str | None
    scheme: str | None  # "x-api-key" | "bearer" | None


def presented(headers: Mapping[str, str]) -> Presented:
    """The credential a request carries; x-api-key wins when both headers are sent."""
    key = headers.get("x-api-key")
    if key is not None:
        return Presented(key.strip(), "x-api-key")
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        # RFC 9110: the auth scheme is case-insensitive.
        if scheme.lower() == "bearer":
            return Presented(token.strip(), "bearer")
        return Presented(None, "other")
    return Presented(None, None)


class Authenticator:
    """Maps a request's headers to a tenant id, or None for a 401."""

    def __init__(self, config: EmulatorConfig, faults: frozenset[str] | None = None) -> None:
        # Only digests: worker processes are never given the keys themselves.
        self._digests = tuple(bytes.fromhex(d) for d in config.api_key_digests)
        self._tenants = tuple(tenant_of_digest(d) for d in config.api_key_digests)
        faults = config.faults if faults is None else faults  # a namespace's, or the global ones
        self._skip_missing = "auth_skipped" in faults
        self._any_key = "wrong_key_accepted" in faults
        self._no_bearer = "bearer_rejected" in faults

    def tenant(self, headers: Mapping[str, str]) -> str | None:
        cred = presented(headers)
        if cred.key is None or cred.key == "":
            if self._skip_missing and cred.scheme is None:
                return self._tenants[0]
            return None
        if self._no_bearer and cred.scheme == "bearer":
            return None
        if self._any_key:
            return tenant_id(cred.key)
        return self._match(cred.key)

    def _match(self, key: str) -> str | None:
        try:
            given = hashlib.sha256(key.encode("utf-8")).digest()
        except UnicodeEncodeError:
            return None
        found: str | None = None
        # Compare against every key's digest, without stopping early, so the time
        # taken does not say which key (or how many) came close.
        for candidate, tenant in zip(self._digests, self._tenants, strict=True):
            if hmac.compare_digest(given, candidate):
                found = tenant
        return found
