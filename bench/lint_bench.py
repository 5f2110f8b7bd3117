"""µs per body for the linter and its reference points, on the same bytes, in one run.

    python bench/lint_bench.py [--size 2000] [--rounds 9] [--slow-rounds 3] [--no-slow]

"Before" figures for other code come from the same harness: put that code's
``avatar_contract`` first on ``PYTHONPATH`` (subjects it lacks are skipped).

Every subject starts from the raw request bytes of the corpus (see
``corpus.py``).  Times are CPU time (``time.process_time``), so a neighbour
that takes the core away costs wall time, not figures.  Rounds are interleaved
across subjects so cache and frequency effects hurt them all alike; each
figure is the median over rounds.  The ratios the issue asks for are
``json.loads`` µs ÷ linter µs (above 1 means faster than ``json.loads``) on the
mixed, valid-only and invalid-only bodies.  Besides ``lint_request`` (the hot
path a service calls), the Structs-first path and the exact path (orjson +
jsonschema-rs + today's diagnoser, no generated code) are timed, so each
step's share shows.  Last comes the start-up time of ``avatar-contract lint`` on
one small file (wall time of a subprocess, median of ``--startup-runs``).

This is a benchmark, not a test: nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from corpus import DEFAULT_SEED, DEFAULT_SIZE, cases
from peers import jsonschema_rs_errors, pydantic_errors
from reference import jsonschema_validator, openapi_request_validator

import avatar_contract.validators as validators
from avatar_contract.validators._request import RequestPlan, plan_for

GOAL_MIXED = 1.0
GOAL_VALID = 1.5
CORPORA = ("mixed", "valid", "invalid")


@dataclass
class Subject:
    name: str
    corpus: str
    run: Callable[[Sequence[bytes]], object]
    bodies: Sequence[bytes]
    slow: bool = False
    times: list[float] = field(default_factory=list)  # µs per body, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def _loop(one: Callable[[bytes], Any]) -> Callable[[Sequence[bytes]], object]:
    # The same loop shape for every subject, so loop overhead cancels in ratios.
    def run(bodies: Sequence[bytes]) -> object:
        last = None
        for body in bodies:
            last = one(body)
        return last
    return run


def _findings(lint: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    lint(b"{}")  # compile the contract outside the timed region

    def one(body: bytes) -> Any:
        # `.findings` is built eagerly; touching it keeps the work honest.
        return lint(body).findings
    return one


def _jsonschema() -> Callable[[bytes], Any]:
    validator = jsonschema_validator()
    loads = json.loads

    def one(body: bytes) -> Any:
        return list(validator.iter_errors(loads(body)))
    return one


def _time(subject: Subject) -> float:
    gc.collect()
    start = time.process_time()
    subject.run(subject.bodies)
    elapsed = time.process_time() - start
    return elapsed / len(subject.bodies) * 1e6


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _startup(runs: int) -> tuple[float, float] | None:
    """Median wall and CPU time (ms) of `avatar-contract lint` on one small file, in a fresh process."""
    body = json.dumps({"type": "photo", "name": "Anna",
                       "file": {"type": "url", "url": "https://cdn.example.com/anna.jpg"}})
    cli = Path(sys.executable).with_name("avatar-contract")
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "avatar_contract.validators"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "body.json"
        path.write_text(body, encoding="utf-8")
        wall, cpu = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run([*command, "lint", str(path)], capture_output=True, check=False,
                                  env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
            wall.append((time.perf_counter() - start) * 1e3)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1e3)
            if done.returncode != 0:
                print(f"start-up: {' '.join(command)} lint exited {done.returncode}: "
                      f"{done.stdout.decode(errors='replace').strip()[:200]}")
                return None
    return statistics.median(wall), statistics.median(cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="corpus size")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=9, help="rounds for fast subjects (>= 5)")
    parser.add_argument("--slow-rounds", type=int, default=3,
                        help="rounds for jsonschema and openapi-core")
    parser.add_argument("--no-slow", action="store_true", help="skip jsonschema and openapi-core")
    parser.add_argument("--startup-runs", type=int, default=5)
    args = parser.parse_args(argv)
    args.rounds = max(args.rounds, 5)

    built = cases(args.size, args.seed)
    bodies = {
        "mixed": [c.body for c in built],
        "valid": [c.body for c in built if c.valid],
        "invalid": [c.body for c in built if not c.valid],
    }
    contract = validators.contract_for()
    plan = plan_for(contract)
    backend = getattr(plan, "backend", "python")
    paths = {f"lint_request ({backend})": _loop(_findings(validators.lint_request))}
    try:
        exact_plan = RequestPlan(contract, fast=False)  # type: ignore[call-arg, unused-ignore]
    except TypeError:
        # Older code (no fast path), e.g. a checkout of the baseline put first
        # on PYTHONPATH to measure "before" with this same harness.
        exact_plan = None
    else:
        if backend == "native":
            python_plan = RequestPlan(contract, native=False)  # type: ignore[call-arg, unused-ignore]
            paths["  Python path (native=False)"] = _loop(_findings(python_plan.lint))
        paths["  Structs first, always"] = _loop(_findings(plan.structs_first))
        paths["  exact path (no Structs, no generated code)"] = _loop(_findings(exact_plan.lint))
    pydantic = pydantic_errors()
    if pydantic is not None:
        paths["pydantic validate_json + errors()"] = _loop(pydantic)
    paths["jsonschema-rs iter_errors (+ orjson)"] = _loop(jsonschema_rs_errors())
    paths["json.loads"] = _loop(json.loads)
    subjects = [Subject(name, corpus, run, bodies[corpus])
                for name, run in paths.items() for corpus in CORPORA]
    if not args.no_slow:
        subjects += [
            Subject("jsonschema iter_errors (+ json.loads)", "mixed", _loop(_jsonschema()),
                    bodies["mixed"], slow=True),
            Subject("openapi-core request validation", "mixed", _loop(openapi_request_validator()),
                    bodies["mixed"], slow=True),
        ]
    for subject in subjects:
        subject.run(subject.bodies[:50])  # warm caches and lazy imports
    # Speed is only worth reporting for right answers (outside the timing).
    reference = jsonschema_validator()
    agree = sum(validators.lint_request(c.body).valid == reference.is_valid(json.loads(c.body))
                for c in built)
    same = (sum(plan.structs_first(c.body) == exact_plan.lint(c.body) == plan.lint(c.body) for c in built)
            if exact_plan is not None else None)
    peer = (sum((pydantic(c.body) == ()) == c.valid for c in built) if pydantic is not None else None)

    for round_no in range(args.rounds):
        for subject in subjects:
            if subject.slow and round_no >= args.slow_rounds:
                continue
            subject.times.append(_time(subject))
    startup = _startup(args.startup_runs) if args.startup_runs > 0 else None

    size = sum(len(b) for b in bodies["mixed"])
    print(f"corpus: {len(built)} bodies ({len(bodies['valid'])} valid, {len(bodies['invalid'])} invalid), "
          f"{size / 1e6:.2f} MB, seed {args.seed}")
    print(f"python {platform.python_version()}, orjson {_version('orjson')}, msgspec {_version('msgspec')}, "
          f"jsonschema-rs {_version('jsonschema-rs')}, jsonschema {_version('jsonschema')}, "
          f"openapi-core {_version('openapi-core')}")
    print(f"CPU time, median of {args.rounds} interleaved rounds ({args.slow_rounds} for the slow subjects)")
    print(f"code: {Path(validators.__file__).parent}")
    print(f"verdicts: linter agrees with jsonschema on {agree}/{len(built)} bodies"
          + (f"; lint_request's and the Structs' findings equal the exact path's on {same}/{len(built)}"
             if same is not None else "")
          + (f"; pydantic's verdict agrees on {peer}/{len(built)}" if peer is not None else ""))
    print()

    def base(corpus: str) -> float:
        return next(s.median for s in subjects if s.name == "json.loads" and s.corpus == corpus)

    print(f"{'µs per body (× json.loads)':<42}" + "".join(f"{c:>18}" for c in CORPORA))
    for name in paths:
        row = [s for s in subjects if s.name == name]
        print(f"{name:<42}" + "".join(
            f"{f'{s.median:.2f} ({base(s.corpus) / s.median:.2f}×)':>18}" for s in row))
    for s in (s for s in subjects if s.slow):
        print(f"{s.name:<42}{f'{s.median:.1f} ({base(s.corpus) / s.median:.3f}×)':>18}")
    print()
    ours = {s.corpus: s.median for s in subjects if s.name.startswith("lint_request")}
    for corpus, goal in (("mixed", GOAL_MIXED), ("valid", GOAL_VALID)):
        ratio = base(corpus) / ours[corpus]
        mark = "meets" if ratio >= goal else "misses"
        print(f"lint_request ÷ json.loads, {corpus + '-only' if corpus == 'valid' else corpus:<10} "
              f"{ratio:5.2f}×  goal ≥ {goal:.1f}×: {mark}")
    if pydantic is not None:
        theirs = {s.corpus: s.median for s in subjects if s.name.startswith("pydantic")}
        print("lint_request vs pydantic validate_json + errors(): " + ", ".join(
            f"{c} {theirs[c] / ours[c]:.2f}× ({'ahead' if ours[c] < theirs[c] else 'behind'})" for c in CORPORA))
    if startup is not None:
        print(f"start-up: `avatar-contract lint` on one small file, {startup[0]:.0f} ms wall, "
              f"{startup[1]:.0f} ms CPU (median of {args.startup_runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
