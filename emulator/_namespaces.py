"""Namespaces: ``/ns/{name}/v3/avatars`` is the same API in a separate world.

A namespace is a prefix on the tenant (``name:tenant``): avatars, groups,
idempotency scopes and rate-limit buckets are all keyed by the tenant, so a
namespace has its own of each with no change to the stores' keys, and no
request in one namespace can read or change another's state.  Tenants outside
any namespace are hex digests (no ``:``), so the default world never collides.

``DELETE /ns/{name}`` drops everything under the prefix.  A namespace unused
for ``namespace_idle_seconds`` expires: each process records use at most every
``_touch_every`` seconds per namespace (a write per request would be wasteful)
and sweeps idle ones at most as often, so a namespace in use is never swept.
"""

from __future__ import annotations

import re
import threading
from typing import Protocol

from ._clock import Clock

SEPARATOR = ":"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
NAME_RULE = "1-63 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a namespace, or None."""
    if _NAME.fullmatch(name):
        return None
    shown = name if len(name) <= 80 else name[:80] + "..."
    return f"namespace {shown!r} is not a valid name ({NAME_RULE})"


def namespaced(name: str, tenant: str) -> str:
    return f"{name}{SEPARATOR}{tenant}"


def shared_owner(tenant: str) -> str | None:
    """The idempotency owner when keys are (wrongly) not tenant-scoped: still per namespace."""
    name, sep, _ = tenant.rpartition(SEPARATOR)
    return f"{name}{SEPARATOR}*" if sep else None


class NamespaceStore(Protocol):
    def touch_namespace(self, name: str, now: float) -> None: ...

    def drop_namespace(self, name: str) -> bool: ...

    def idle_namespaces(self, before: float) -> list[str]: ...

    def namespace_settings(self, name: str) -> str | None: ...

    def set_namespace_settings(self, name: str, settings: str, now: float) -> None: ...


class Forgetful(Protocol):
    def forget(self, prefix: str) -> None: ...


class Namespaces:
    """When to record a namespace's use and when to sweep idle ones; the caller does the store calls
    (off the event loop for a blocking store)."""

    def __init__(self, store: NamespaceStore, idle_seconds: float, clock: Clock,
                 limiter: Forgetful | None = None) -> None:
        self._store = store
        self._idle = idle_seconds
        self._clock = clock
        self._limiter = limiter
        self._every = min(60.0, idle_seconds / 10)
        self._touched: dict[str, float] = {}
        self._swept = clock()
        self._lock = threading.Lock()

    def touch_due(self, name: str) -> float | None:
        """The time to record as ``name``'s last use, or None when it was recorded recently."""
        now = self._clock()
        with self._lock:
            if now - self._touched.get(name, -float("inf")) < self._every:
                return None
            self._touched[name] = now
            return now

    def sweep_due(self) -> float | None:
        now = self._clock()
        with self._lock:
            if now - self._swept < self._every:
                return None
            self._swept = now
            return now

    def sweep(self, now: float) -> list[str]:
        """Drop the namespaces idle at ``now``; their names."""
        idle = self._store.idle_namespaces(now - self._idle)
        for name in idle:
            self.drop(name)
        return idle

    def drop(self, name: str) -> bool:
        with self._lock:
            self._touched.pop(name, None)
        if self._limiter is not None:
            self._limiter.forget(f"{name}{SEPARATOR}")
        return self._store.drop_namespace(name)
