"""What the store keeps: avatars, and idempotency outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Look:
    """One created avatar look.  Its training status is derived from the clock on read."""

    id: str
    tenant: str
    group_id: str
    name: str
    variant: str  # the request's ``type``
    avatar_type: str
    created_at: float
    fails: bool  # decided at creation, so every read tells the same story
    needs_consent: bool


@dataclass(frozen=True, slots=True)
class Group:
    """An avatar group (identity).  Its status follows the look that founded it."""

    id: str
    tenant: str
    name: str
    created_at: float
    variant: str
    fails: bool
    needs_consent: bool


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str

    @classmethod
    def compact(cls, status: int, body: bytes, content_type: str) -> StoredResponse:
        """A record that holds exactly its bytes.

        orjson returns its output in an over-allocated buffer (about 8 KB for a
        600-byte body); kept for 24 h per key, that was 8 KB of RSS per record.
        ``tobytes()`` copies into an object of the exact size.
        """
        return cls(status, memoryview(body).tobytes(), content_type)


Render = Callable[[Group, int], StoredResponse]
"""Builds a create's response from the group as stored and its number of looks."""


@dataclass(frozen=True, slots=True)
class Completion:
    """The idempotency record a create completes, in the same transaction as the create."""

    scope: str
    token: str


@dataclass(frozen=True, slots=True)
class Fresh:
    """The caller now owns the key; ``token`` proves it when completing or releasing."""

    token: str


@dataclass(frozen=True, slots=True)
class Replay:
    response: StoredResponse
    same_body: bool


@dataclass(frozen=True, slots=True)
class InFlight:
    """Another request with this key has not finished yet."""


Claim = Fresh | Replay | InFlight


class StoreError(Exception):
    """The store cannot be used (a database it cannot open, a schema newer than this code)."""


class StoreUnavailable(StoreError):
    """The store's database cannot be reached just now; the request may be retried."""


class Store(Protocol):
    """Persistence for the emulator.  Methods are synchronous and atomic.

    ``claim`` is the idempotency primitive: in one step it replays a finished
    record, reports one in flight, or marks the key as taken by the caller.
    ``create`` with a ``Completion`` stores the avatar and completes that
    record atomically, so no crash can leave an avatar behind a key that still
    looks unfinished (a later retry would create a second one).
    ``max_records`` caps live idempotency records: past it, the oldest completed
    records are evicted (in-flight ones never are).
    Implementations that block (SQLite) set ``blocking`` so the app calls them
    off the event loop.
    """

    blocking: bool

    def claim(self, scope: str, fingerprint: str, now: float, ttl: float, lease: float) -> Claim: ...

    def peek(self, scope: str, fingerprint: str, now: float) -> Replay | None: ...

    def complete(self, scope: str, token: str | None, fingerprint: str,
                 response: StoredResponse, now: float, ttl: float) -> None: ...

    def release(self, scope: str, token: str) -> None: ...

    def create(self, look: Look, group: Group, render: Render,
               completion: Completion | None = None) -> StoredResponse | None:
        """Store ``look``; its group is reused if ``(tenant, group.id)`` exists, else ``group``
        is stored.  Returns ``render(stored group, its number of looks)``, which is also
        what ``completion``'s record replays from now on; None, with nothing stored, when
        that record is no longer held by its token (the lease ran out and another request
        took the key over)."""
        ...

    def idempotency_records(self) -> int: ...

    def group(self, tenant: str, group_id: str) -> tuple[Group, int] | None: ...

    def look(self, tenant: str, look_id: str) -> Look | None: ...

    def looks(self) -> list[Look]: ...

    def created_count(self) -> int: ...

    def touch_namespace(self, name: str, now: float) -> None:
        """Record that namespace ``name`` was used at ``now``."""
        ...

    def idle_namespaces(self, before: float) -> list[str]:
        """Namespaces last used before ``before``."""
        ...

    def drop_namespace(self, name: str) -> bool:
        """Delete every row of namespace ``name`` (its settings too); whether it held anything."""
        ...

    def namespace_settings(self, name: str) -> str | None:
        """Namespace ``name``'s settings as ``set_namespace_settings`` stored them, or None."""
        ...

    def set_namespace_settings(self, name: str, settings: str, now: float) -> None:
        """Replace namespace ``name``'s settings (JSON text) and record its use at ``now``."""
        ...

    def close(self) -> None: ...
