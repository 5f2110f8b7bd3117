"""Shared by every test package: Hypothesis without deadlines, and the June 2026 spec fixture."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import settings

# No test may depend on how fast the machine is: Hypothesis' per-example deadline
# (200 ms by default) is a timing assertion, and a loaded 2-core CI machine misses it.
settings.register_profile("avatar-contract-tests", deadline=None)
settings.load_profile("avatar-contract-tests")

# The spec cache (spec/_cache.py) of this test process and every CLI it starts lives in a
# throwaway folder: tests write hundreds of edited specs, which belong in no user's ~/.cache.
os.environ.setdefault("AVATAR_CONTRACT_CACHE_DIR", tempfile.mkdtemp(prefix="avatar-contract-cache-"))


def _june_module() -> ModuleType:
    found = importlib.util.spec_from_file_location("june_2026", Path(__file__).with_name("june_2026.py"))
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def june_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the vendored spec with the June 11 2026 changes (``avatar_id`` on prompt)."""
    path: Path = _june_module().write_june_spec(tmp_path_factory.mktemp("june") / "june.yaml")
    return path
