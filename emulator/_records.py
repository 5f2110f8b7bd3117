"""What the store keeps: avatars, and idempotency outcomes."""

from __future__ import annotations

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


class Store(Protocol):
    """Persistence for the emulator.  Methods are synchronous and atomic.

    ``claim`` is the idempotency primitive: in one step it replays a finished
    record, reports one in flight, or marks the key as taken by the caller.
    Implementations that block (SQLite) set ``blocking`` so the app calls them
    off the event loop.
    """

    blocking: bool

    def claim(self, scope: str, fingerprint: str, now: float, ttl: float, lease: float) -> Claim: ...

    def peek(self, scope: str, fingerprint: str, now: float) -> Replay | None: ...

    def complete(self, scope: str, token: str | None, fingerprint: str,
                 response: StoredResponse, now: float, ttl: float) -> None: ...

    def release(self, scope: str, token: str) -> None: ...

    def create(self, look: Look, group: Group) -> tuple[Group, int]:
        """Store ``look``; its group is reused if ``(tenant, group.id)`` exists, else ``group``
        is stored.  Returns the group as stored and its number of looks."""
        ...

    def group(self, tenant: str, group_id: str) -> tuple[Group, int] | None: ...

    def look(self, tenant: str, look_id: str) -> Look | None: ...

    def looks(self) -> list[Look]: ...

    def created_count(self) -> int: ...

    def close(self) -> None: ...
