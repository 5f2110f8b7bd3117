"""pytest plugin: the ``graded_emulator`` fixture (see ``played``); imports nothing until used."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .played import GradedEmulator


@pytest.fixture
def graded_emulator() -> Iterator[GradedEmulator]:
    """A served emulator: ``play(scenario)``, run the client, ``finish(status)``, ``grade()``."""
    from .played import GradedEmulator

    with GradedEmulator() as emulator:
        yield emulator
