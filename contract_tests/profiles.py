"""Hypothesis profiles for the suite: how many cases each clause generates.

Kept apart from the generators so the pytest plugin can register the profiles
without importing schemathesis into every pytest run.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

from .targets.target import PROFILE_EXAMPLES


def register_profiles() -> None:
    """Hypothesis profiles ``contract-quick``, ``contract-default``, ``contract-thorough``.

    Namespaced: registering "default" would replace Hypothesis's own default
    profile for every other test in the session.  A project may re-register one
    (say, a bigger ``contract-thorough``) and every clause scales from it.
    """
    for name, examples in PROFILE_EXAMPLES.items():
        try:
            settings.get_profile(f"contract-{name}")
        except InvalidArgument:
            settings.register_profile(
                f"contract-{name}", max_examples=examples, deadline=None, database=None,
                suppress_health_check=list(HealthCheck),
            )


def examples_for(profile: str) -> int:
    register_profiles()
    return int(settings.get_profile(f"contract-{profile}").max_examples)
