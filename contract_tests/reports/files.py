"""Where a verify run's reports go: a fresh timestamped directory per run, and ``latest``.

Reports are owner-only (files 0600, scripts and directories 0700): they hold
the target's answers.  Reports are never overwritten: each run writes ``DIR/20261201T193000Z/`` (a
suffix if two runs start in the same second) and points ``DIR/latest`` at it,
a relative symlink, or where symlinks fail (Windows without the privilege,
some network shares) a ``LATEST`` text file naming the directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .report import SuiteReport, write

LATEST = "latest"
LATEST_FILE = "LATEST"


def check_report_dir(directory: Path) -> None:
    """Raise ``OSError`` unless reports can be written under ``directory`` (made if absent).

    Run before the first request, so a long (and possibly billable) run never
    ends with nowhere to put its evidence.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory, prefix=".avatar-contract-check-"):
        pass


def _fresh_directory(root: Path, started: datetime) -> Path:
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1, 1000):
        candidate = root / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True, mode=0o700)
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{root}: too many report directories for {stamp}")


def _point_latest(root: Path, run_dir: Path) -> Path:
    link = root / LATEST
    staging = root / f".{LATEST}-{os.getpid()}"
    try:
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        staging.symlink_to(run_dir.name, target_is_directory=True)
        if link.exists() and not link.is_symlink():
            raise OSError(f"{link} exists and is not a link")  # never replace a user's directory
        os.replace(staging, link)  # atomic: a reader sees the old run or the new one
        return link
    except OSError:
        with contextlib.suppress(OSError):
            staging.unlink()
        marker = root / LATEST_FILE
        marker.write_text(run_dir.name + "\n", encoding="utf-8")
        return marker


def write_run(report: SuiteReport, root: Path, started: datetime) -> tuple[Path, list[Path], Path]:
    """Write every report file into a new run directory under ``root``; point latest at it.

    Returns the run directory, the files written and the ``latest`` link (or LATEST file).
    """
    root.mkdir(parents=True, exist_ok=True)
    run_dir = _fresh_directory(root, started)
    files = write(report, run_dir)
    _owner_only(run_dir)
    return run_dir, files, _point_latest(root, run_dir)


def _owner_only(run_dir: Path) -> None:
    """Reports hold the target's answers: files 0600, scripts and directories 0700.
    (The run directory is made 0700 first, so nothing is readable by others meanwhile.)"""
    run_dir.chmod(0o700)
    for path in run_dir.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if path.is_dir() or path.suffix == ".sh" else 0o600)
