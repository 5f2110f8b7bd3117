"""Where the suite sends requests, and what it may spend there."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Profile = Literal["quick", "default", "thorough"]
PROFILES: tuple[Profile, ...] = ("quick", "default", "thorough")
DEFAULT_MAX_CREATES = 5
DEFAULT_BURST = 300


@dataclass(frozen=True)
class Target:
    """A system under test.  ``base_url=None`` is the in-process emulator."""

    base_url: str | None = None
    api_key: str | None = None
    second_api_key: str | None = None
    allow_create: bool = False
    max_creates: int = DEFAULT_MAX_CREATES
    burst: int = DEFAULT_BURST
    profile: Profile = "default"

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def may_create(self) -> bool:
        # Creates on a real server are billable; the embedded emulator is free.
        return self.embedded or self.allow_create

    def __repr__(self) -> str:
        # Keys never reach logs, reports or pytest's assertion rewriting.
        return (
            f"Target(base_url={self.base_url!r}, api_key={'***' if self.api_key else None}, "
            f"second_api_key={'***' if self.second_api_key else None}, "
            f"allow_create={self.allow_create}, max_creates={self.max_creates}, "
            f"burst={self.burst}, profile={self.profile!r})"
        )

    __str__ = __repr__


def from_environment(
    base_url: str | None = None,
    api_key: str | None = None,
    second_api_key: str | None = None,
    **options: object,
) -> Target:
    """Command-line values first, then ``AVATAR_API_*`` environment variables."""
    return Target(
        base_url=(base_url or os.environ.get("AVATAR_API_BASE_URL") or None),
        api_key=api_key or os.environ.get("AVATAR_API_KEY") or None,
        second_api_key=second_api_key or os.environ.get("AVATAR_API_KEY_2") or None,
        **options,  # type: ignore[arg-type]
    )
