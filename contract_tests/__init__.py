"""The Create Avatar contract suite: named clauses, run against any implementation.

    >>> from avatar_contract.contract_tests import Target, run_suite
    >>> results = run_suite(Target(profile="quick"))          # the in-process emulator
    >>> {r.name: r.verdict.value for r in results}["auth.missing"]
    'pass'

The names below load lazily: this package is also a pytest plugin (loaded by
every pytest run of a project that installs it), so importing it must stay cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "CLAUSE_NAMES": "avatar_contract.contract_tests.clauses.clause",
    "ClauseResult": "avatar_contract.contract_tests.clauses.finding",
    "Verdict": "avatar_contract.contract_tests.clauses.finding",
    "Target": "avatar_contract.contract_tests.targets.target",
    "run_clause": "avatar_contract.contract_tests.runner",
    "run_suite": "avatar_contract.contract_tests.runner",
    "mutation_score": "avatar_contract.contract_tests.mutation",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'contract_tests' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
