"""A token bucket per credential.

With the memory and SQLite stores, buckets live in the process, so with
several uvicorn workers each worker enforces the limit on its own (the
effective limit is N times higher).  That is the usual trade-off for a local
emulator; the contract clause only needs a 429 to be reachable, and one worker
is the default.  A store that shares state between processes (PostgreSQL)
keeps the buckets itself (:class:`SharedRateLimiter`): one limit however many
replicas answer.
"""

from __future__ import annotations

import math
import threading
from typing import Protocol, runtime_checkable

from ._clock import Clock

_EPSILON = 1e-9


@runtime_checkable
class BucketStore(Protocol):
    """A store that keeps rate-limit buckets where every replica sees them."""

    def take_token(self, tenant: str, bucket: str, capacity: int, rate: float, now: float) -> int: ...


class RateLimiter:
    """``capacity`` requests, refilled evenly over ``per_seconds``, per tenant."""

    blocking = False

    def __init__(self, capacity: int, per_seconds: float, clock: Clock) -> None:
        self.capacity = capacity
        self.rate = capacity / per_seconds  # tokens per second
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, stamp)
        self._lock = threading.Lock()

    def forget(self, prefix: str) -> None:
        """Drop the buckets of tenants starting with ``prefix`` (a dropped namespace)."""
        with self._lock:
            for tenant in [t for t in self._buckets if t.startswith(prefix)]:
                del self._buckets[tenant]

    def acquire(self, tenant: str) -> int:
        """Take one token: 0 if granted, else whole seconds until one is available (>= 1)."""
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(tenant, (float(self.capacity), now))
            # max(): a clock that steps backwards must not mint negative refills.
            tokens = min(float(self.capacity), tokens + max(0.0, now - stamp) * self.rate)
            # The tolerance keeps float noise (0.9999999999) from refusing a client
            # that waited exactly as long as it was told to.
            if tokens >= 1.0 - _EPSILON:
                self._buckets[tenant] = (tokens - 1.0, now)
                return 0
        # A refusal changes nothing, so the bucket is not touched.
        # Round up: a client that waits exactly Retry-After seconds must find a token.
        return max(1, math.ceil((1.0 - tokens) / self.rate - _EPSILON))


class SharedRateLimiter:
    """The same bucket, kept by the store (one row per tenant and bucket)."""

    blocking = True
    BUCKET = "requests"

    def __init__(self, capacity: int, per_seconds: float, clock: Clock, store: BucketStore) -> None:
        self.capacity = capacity
        self.rate = capacity / per_seconds
        self._clock = clock
        self._store = store

    def forget(self, prefix: str) -> None:
        pass  # the store drops a namespace's buckets with the rest of its rows

    def acquire(self, tenant: str) -> int:
        return self._store.take_token(tenant, self.BUCKET, self.capacity, self.rate, self._clock())
