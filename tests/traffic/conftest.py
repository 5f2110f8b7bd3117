"""check-traffic's tests: traffic recorded from the in-process emulator (``_recorded``), and files written here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _recorded import record_traffic

from avatar_contract.validators.journal import ExchangeRecord


@pytest.fixture(scope="session")
def clean_records() -> list[ExchangeRecord]:
    """One clean recording, shared (each takes about a second: the race and the creates are held 0.2 s)."""
    return record_traffic()
