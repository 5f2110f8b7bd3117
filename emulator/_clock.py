"""Time, injectable: training, idempotency expiry and the rate limiter all read one clock.

Tests drive a :class:`ManualClock` instead of sleeping, so "24 hours later"
and "training finished" cost nothing and are deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds since the Unix epoch, like :func:`time.time`."""


class ManualClock:
    """A clock that only moves when told to; safe to share between threads."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
