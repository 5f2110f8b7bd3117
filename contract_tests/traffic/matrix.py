"""``matrix``: run ``verify`` against several implementations and compare them clause by clause.

Each target of ``TARGETS.toml`` is one ``avatar-contract verify`` run in a child
process (its own report directory, evidence and reproducers, as verify writes
them); the matrix reads each run's ``report.json``.  Clauses are rows,
implementations columns; each cell links to that run's report and to the
reproducer of each failure.

Conformance score of an implementation = 100 × (clauses it passes) / (clauses
in the matrix).  Every other verdict (fail, incomplete, error, skipped, not
observed, not run) stays in the denominator: a target cannot score higher by
answering less.  ``matrix.json`` holds no time, path or id the server made, so
the same seed gives the same bytes (a clause whose verdict depends on timing,
``idempotency.in_flight``'s proven overlap, can still differ between runs).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clauses.clause import CLAUSE_NAMES

NOT_RUN = "not run"


class MatrixError(ValueError):
    """A TARGETS.toml that cannot be used (one line, naming the target and key)."""


@dataclass(frozen=True)
class MatrixTarget:
    name: str
    base_url: str | None = None  # None: the in-process emulator
    faults: tuple[str, ...] = ()
    api_key_env: str | None = None
    second_api_key_env: str | None = None
    allow_create: bool = False
    max_creates: int | None = None
    asset: str | None = None
    start: str | None = None  # a command that starts the implementation; stopped afterwards
    ready_seconds: float = 30.0


@dataclass(frozen=True)
class MatrixPlan:
    targets: tuple[MatrixTarget, ...]
    seed: int
    profile: str = "quick"
    clauses: tuple[str, ...] = CLAUSE_NAMES


_KEYS = {"name", "base_url", "emulator", "faults", "api_key_env", "second_api_key_env", "allow_create",
         "max_creates", "asset", "start", "ready_seconds"}


def load_plan(path: Path, seed: int | None = None) -> MatrixPlan:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError(f"{path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MatrixError(f"{path}: not TOML: {exc}") from None
    raw = data.get("target")
    if not isinstance(raw, list) or not raw:
        raise MatrixError(f"{path}: no [[target]] tables")
    targets = []
    for number, entry in enumerate(raw, start=1):
        targets.append(_target(path, number, entry))
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise MatrixError(f"{path}: target names must be unique, got {', '.join(names)}")
    clauses = tuple(data.get("clauses", CLAUSE_NAMES))
    unknown = sorted(set(clauses) - set(CLAUSE_NAMES))
    if unknown:
        raise MatrixError(f"{path}: unknown clause(s) {', '.join(unknown)}")
    chosen = seed if seed is not None else data.get("seed", 1)
    if isinstance(chosen, bool) or not isinstance(chosen, int):
        raise MatrixError(f"{path}: seed must be an integer")
    return MatrixPlan(tuple(targets), chosen, str(data.get("profile", "quick")),
                      tuple(c for c in CLAUSE_NAMES if c in clauses))


def _target(path: Path, number: int, entry: Any) -> MatrixTarget:
    where = f"{path}: target {number}"
    if not isinstance(entry, dict):
        raise MatrixError(f"{where}: not a table")
    extra = sorted(set(entry) - _KEYS)
    if extra:
        raise MatrixError(f"{where}: unknown key(s) {', '.join(extra)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise MatrixError(f"{where}: 'name' must be a plain name (it names the target's report directory)")
    emulator = bool(entry.get("emulator", False))
    base_url = entry.get("base_url")
    if emulator == (base_url is not None):
        raise MatrixError(f"{where} ({name}): give exactly one of base_url and emulator = true")
    faults = entry.get("faults", [])
    if faults and not emulator:
        raise MatrixError(f"{where} ({name}): faults apply to the in-process emulator only")
    return MatrixTarget(
        name=name, base_url=base_url, faults=tuple(faults), api_key_env=entry.get("api_key_env"),
        second_api_key_env=entry.get("second_api_key_env"), allow_create=bool(entry.get("allow_create", False)),
        max_creates=entry.get("max_creates"), asset=entry.get("asset"), start=entry.get("start"),
        ready_seconds=float(entry.get("ready_seconds", 30.0)))


def verify_argv(target: MatrixTarget, plan: MatrixPlan, report_dir: Path) -> list[str]:
    argv = [sys.executable, "-m", "avatar_contract", "verify", "--seed", str(plan.seed), "--profile", plan.profile,
            "--report-dir", str(report_dir), "--no-mutation"]
    if target.base_url is not None:
        argv += ["--base-url", target.base_url]
    for fault in target.faults:
        argv += ["--emulator-fault", fault]
    if target.allow_create:
        argv.append("--allow-create")
    if target.max_creates is not None:
        argv += ["--max-creates", str(target.max_creates)]
    if target.asset:
        argv += ["--asset", target.asset]
    if tuple(plan.clauses) != CLAUSE_NAMES:
        for clause in plan.clauses:
            argv += ["--clause", clause]
    return argv


def _environment(target: MatrixTarget) -> dict[str, str]:
    """The child's environment: the target's keys from the variables it names, nothing of another target's."""
    env = {k: v for k, v in os.environ.items() if k not in ("AVATAR_API_KEY", "AVATAR_API_KEY_2",
                                                            "AVATAR_API_BASE_URL", "AVATAR_CONTRACT_ASSET")}
    for variable, name in (("AVATAR_API_KEY", target.api_key_env), ("AVATAR_API_KEY_2", target.second_api_key_env)):
        if name:
            value = os.environ.get(name)
            if not value:
                raise MatrixError(f"target {target.name}: environment variable {name} is not set")
            env[variable] = value
    return env


@contextmanager
def started(target: MatrixTarget) -> Iterator[None]:
    """The target's start command running (its own process group, stopped afterwards), if it has one."""
    if not target.start:
        yield
        return
    proc = subprocess.Popen(shlex.split(target.start), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        time.sleep(min(target.ready_seconds, 1.0))  # verify's preflight waits for the rest (it is the judge of ready)
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@dataclass
class Column:
    """One implementation's run: its verdict per clause and where its evidence is."""

    target: MatrixTarget
    exit_code: int
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)
    problem: str = ""

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cells.values() if c["verdict"] == "pass")

    def score(self, total: int) -> float:
        return round(100.0 * self.passed / total, 1) if total else 0.0


def run_target(target: MatrixTarget, plan: MatrixPlan, out: Path) -> Column:
    report_dir = out / target.name
    with started(target):
        done = subprocess.run(verify_argv(target, plan, report_dir), env=_environment(target), capture_output=True,
                              text=True, check=False)
    column = Column(target, done.returncode)
    report = report_dir / "latest" / "report.json"
    if not report.is_file():
        last = (done.stderr.strip().splitlines() or ["verify wrote no report"])[-1]
        column.problem = last
        column.cells = {c: {"verdict": "error", "reason": last} for c in plan.clauses}
        return column
    data = json.loads(report.read_text(encoding="utf-8"))
    found = {c["clause"]: c for c in data.get("clauses", [])}
    for clause in plan.clauses:
        entry = found.get(clause)
        if entry is None:
            column.cells[clause] = {"verdict": NOT_RUN}
            continue
        failures = entry.get("failures", [])
        column.cells[clause] = {
            "verdict": entry["verdict"],
            "kinds": sorted({str(f.get("kind")) for f in failures}),
            "report": f"{target.name}/latest/report.md",
            "reproducers": sorted(f"{target.name}/latest/{f['script']}" for f in failures if f.get("script")),
        }
    return column


def as_json(plan: MatrixPlan, columns: Sequence[Column]) -> dict[str, Any]:
    total = len(plan.clauses)
    return {
        "seed": plan.seed, "profile": plan.profile,
        "score": "100 * clauses passed / clauses in the matrix (fail, incomplete, error, skipped, not observed "
                 "and not run all count as not passed)",
        "implementations": [{"name": c.target.name, "score": c.score(total), "passed": c.passed, "clauses": total,
                             "exit_code": c.exit_code, "problem": c.problem or None,
                             "faults": list(c.target.faults)} for c in columns],
        "clauses": [{"clause": clause, "cells": {c.target.name: c.cells[clause] for c in columns}}
                    for clause in plan.clauses],
    }


__all__ = ["Column", "MatrixError", "MatrixPlan", "MatrixTarget", "as_json", "load_plan", "run_target"]
