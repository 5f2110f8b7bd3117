"""No test may depend on machine speed (a loaded 2-core CI machine must pass)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import settings

TESTS = Path(__file__).resolve().parent


def test_hypothesis_runs_without_a_per_example_deadline() -> None:
    assert settings().deadline is None  # tests/conftest.py loads the profile


def test_no_test_sets_a_deadline_of_its_own() -> None:
    timed = [f"{path.relative_to(TESTS)}:{n}" for path in TESTS.rglob("*.py") if path.name != Path(__file__).name
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bdeadline=(?!None)", line)]  # a keyword argument: settings(deadline=...)
    assert not timed, timed
