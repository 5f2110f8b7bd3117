"""The README documents every clause in one table (enforced once the table exists)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST_CELL = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def _tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_readme_clause_table_lists_every_clause_once() -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    for table in _tables(text):
        names = [m.group(1) for m in map(FIRST_CELL.match, table) if m]
        if "auth.missing" in names:
            assert sorted(names) == sorted(CLAUSE_NAMES), "the clause table must list each clause exactly once"
            return
    pytest.skip("the README has no clause table yet")
