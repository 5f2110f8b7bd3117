"""The target's API keys as auth headers, and every secret value handed out from them.

Apart from the session because the keys outlive any one connection: the clauses
derive near-miss keys from them, and the redaction of reports and logs needs
every value handed out (near misses included) long after the requests are sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from .exchange import Credential


class Credentials:
    """The target's keys as auth headers, each with its redacted curl form."""

    VARIABLES = ("AVATAR_API_KEY", "AVATAR_API_KEY_2")

    def __init__(self, primary: str, secondary: str | None, extra_secrets: Sequence[str] = ()) -> None:
        self._keys = (primary, secondary)
        # The real secrets (keys, secret --header values), and the near-miss keys
        # derived from them (the key minus or plus a character), kept apart: a
        # near-miss like "key" (of "key1") is an ordinary word in our own text.
        self._real: frozenset[str] = frozenset(k for k in (*self._keys, *extra_secrets) if k)
        self._near: set[str] = set()

    def secrets(self) -> frozenset[str]:
        """Every secret value handed out, near-misses included."""
        return self._real | frozenset(self._near)

    def real_secrets(self) -> frozenset[str]:
        return self._real

    def near_misses(self) -> frozenset[str]:
        return frozenset(self._near - self._real)

    def _secret(self, value: str) -> str:
        if value:
            self._near.add(value)
        return value

    def key(self, tenant: int = 1) -> str:
        value = self._keys[tenant - 1]
        if value is None:
            raise LookupError(f"no API key for tenant {tenant}")
        return value

    def has(self, tenant: int) -> bool:
        return self._keys[tenant - 1] is not None

    def _var(self, tenant: int) -> str:
        return "${" + self.VARIABLES[tenant - 1] + "}"

    def api_key(self, tenant: int = 1) -> Credential:
        return Credential("x-api-key", self.key(tenant), self._var(tenant))

    def bearer(self, tenant: int = 1) -> Credential:
        return Credential("Authorization", f"Bearer {self.key(tenant)}", f"Bearer {self._var(tenant)}")

    def truncated(self, tenant: int = 1) -> Credential:
        """The key without its last character (catches prefix matching)."""
        name = self.VARIABLES[tenant - 1]
        return Credential("x-api-key", self._secret(self.key(tenant)[:-1]), "${" + name + "%?}")

    def extended(self, tenant: int = 1, suffix: str = "x") -> Credential:
        """The key plus a character (catches prefix matching the other way)."""
        return Credential("x-api-key", self._secret(self.key(tenant) + suffix), self._var(tenant) + suffix)

    def near_miss(self, header: str, value: str, shown: str) -> Credential:
        """A credential derived from a real key (redacted like one; ``shown`` is its curl form)."""
        return Credential(header, self._secret(value), shown)

    @staticmethod
    def literal(header: str, value: str) -> Credential:
        """A made-up, non-secret credential, shown as it is."""
        return Credential(header, value, value)
