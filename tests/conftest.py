"""Fixtures shared by every test package: the June 2026 spec, built from the vendored one."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


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
