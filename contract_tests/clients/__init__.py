"""Grade the other side: a client's retry safety, judged from the emulator's journal.

``avatar-contract grade-client -- CMD`` is the front end; from a test suite,
the ``graded_emulator`` pytest fixture (the suite's plugin, over ``played``)
serves the emulator with a scenario and grades what a client library did
against it, without a subprocess.  The names below load lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "CHECK_IDS": "avatar_contract.contract_tests.clients.judging",
    "DEFAULT_MAX_ATTEMPTS": "avatar_contract.contract_tests.clients.judging",
    "GradeResult": "avatar_contract.contract_tests.clients.grading",
    "GradedEmulator": "avatar_contract.contract_tests.clients.played",
    "ScenarioRun": "avatar_contract.contract_tests.clients.running",
    "grade_command": "avatar_contract.contract_tests.clients.grading",
    "grade_runs": "avatar_contract.contract_tests.clients.grading",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'contract_tests.clients' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
