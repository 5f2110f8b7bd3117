"""``avatar-contract verify`` never prints a traceback on an ASCII terminal (issue 9, §2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_verify_under_an_ascii_terminal_escapes_its_table(tmp_path: Path) -> None:
    # The clause table uses "×" and "·"; the whole console script shares the tolerant streams.
    done = subprocess.run([sys.executable, "-m", "avatar_contract", "verify", "--clause", "response.status",
                           "--no-mutation", "--report-dir", str(tmp_path / "reports")],
                          cwd=tmp_path, capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    assert done.returncode == 0
    assert b"\\xd7" in done.stdout  # "×", escaped
