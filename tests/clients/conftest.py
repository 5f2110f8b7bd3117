"""grade-client's tests: the client under grading is tests/clients/retrying_client.py, run as a process."""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT = str(Path(__file__).resolve().parent / "retrying_client.py")


def client_command(*args: str) -> list[str]:
    return [sys.executable, CLIENT, *args]
