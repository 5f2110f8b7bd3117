"""Payloads per second for the linter and its reference points, on the same bytes, in one run.

    python bench/lint_bench.py [--size 2000] [--rounds 15] [--slow-rounds 3]

Every subject starts from the raw request bytes of the corpus (see
``corpus.py``).  Rounds are interleaved across subjects so a noisy neighbour
hurts them all alike; each figure is the best round (the least disturbed
one), with the median alongside.  The ratios the issue asks for are linter ÷
``json.loads`` on the mixed and on the valid-only corpus.

This is a benchmark, not a test: nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from corpus import DEFAULT_SEED, DEFAULT_SIZE, cases
from reference import jsonschema_validator, openapi_request_validator

import avatar_contract.validators as validators
GOAL_MIXED = 1.0
GOAL_VALID = 1.5


@dataclass
class Subject:
    name: str
    corpus: str
    run: Callable[[Sequence[bytes]], object]
    bodies: Sequence[bytes]
    slow: bool = False
    rates: list[float] | None = None

    @property
    def best(self) -> float:
        return max(self.rates or [0.0])

    @property
    def median(self) -> float:
        return statistics.median(self.rates or [0.0])


def _loop(one: Callable[[bytes], Any]) -> Callable[[Sequence[bytes]], object]:
    # The same loop shape for every subject, so loop overhead cancels in ratios.
    def run(bodies: Sequence[bytes]) -> object:
        last = None
        for body in bodies:
            last = one(body)
        return last
    return run


def _linter() -> Callable[[bytes], Any]:
    lint = validators.lint_request
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
    start = time.perf_counter()
    subject.run(subject.bodies)
    elapsed = time.perf_counter() - start
    return len(subject.bodies) / elapsed


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="corpus size")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rounds", type=int, default=21, help="rounds for fast subjects")
    parser.add_argument("--slow-rounds", type=int, default=3,
                        help="rounds for jsonschema and openapi-core")
    parser.add_argument("--no-slow", action="store_true", help="skip jsonschema and openapi-core")
    args = parser.parse_args(argv)

    built = cases(args.size, args.seed)
    mixed = [c.body for c in built]
    valid = [c.body for c in built if c.valid]
    invalid = [c.body for c in built if not c.valid]
    lint = _loop(_linter())
    loads = _loop(json.loads)
    subjects = [
        Subject("linter (bytes → full findings)", "mixed", lint, mixed),
        Subject("linter (bytes → full findings)", "valid", lint, valid),
        Subject("linter (bytes → full findings)", "invalid", lint, invalid),
        Subject("json.loads", "mixed", loads, mixed),
        Subject("json.loads", "valid", loads, valid),
        Subject("json.loads", "invalid", loads, invalid),
    ]
    if not args.no_slow:
        subjects += [
            Subject("jsonschema iter_errors (+ json.loads)", "mixed", _loop(_jsonschema()), mixed,
                    slow=True),
            Subject("openapi-core request validation", "mixed", _loop(openapi_request_validator()),
                    mixed, slow=True),
        ]
    for subject in subjects:
        subject.rates = []
        subject.run(subject.bodies[:50])  # warm caches and lazy imports
    # Speed is only worth reporting for right answers (outside the timing).
    reference = jsonschema_validator()
    agree = sum(
        validators.lint_request(c.body).valid == reference.is_valid(json.loads(c.body)) for c in built
    )

    for round_no in range(args.rounds):
        for subject in subjects:
            if subject.slow and round_no >= args.slow_rounds:
                continue
            assert subject.rates is not None
            subject.rates.append(_time(subject))

    size = sum(len(b) for b in mixed)
    print(f"corpus: {len(mixed)} bodies ({len(valid)} valid, {len(invalid)} invalid), "
          f"{size / 1e6:.2f} MB, seed {args.seed}")
    print(f"python {platform.python_version()}, orjson {_version('orjson')}, "
          f"jsonschema-rs {_version('jsonschema-rs')}, jsonschema {_version('jsonschema')}, "
          f"openapi-core {_version('openapi-core')}")
    print(f"best of {args.rounds} rounds ({args.slow_rounds} for the slow subjects); "
          "median in brackets")
    print(f"verdicts: linter agrees with jsonschema on {agree}/{len(built)} bodies")
    print()
    print(f"{'subject':<40} {'corpus':<8} {'payloads/s':>12} {'(median)':>12}")
    for s in subjects:
        print(f"{s.name:<40} {s.corpus:<8} {s.best:>12,.0f} {f'({s.median:,.0f})':>12}")

    def ratio(corpus: str) -> tuple[float, float]:
        ours = next(s for s in subjects if s.name.startswith("linter") and s.corpus == corpus)
        base = next(s for s in subjects if s.name == "json.loads" and s.corpus == corpus)
        return ours.best / base.best, ours.median / base.median

    print()
    ours = next(s for s in subjects if s.name.startswith("linter") and s.corpus == "mixed")
    for other in (s for s in subjects if s.slow):
        print(f"linter ÷ {other.name.split(' ')[0]}, mixed {ours.best / other.best:7.1f}×")
    for corpus, goal in (("mixed", GOAL_MIXED), ("valid", GOAL_VALID)):
        best, median = ratio(corpus)
        mark = "meets" if best >= goal else "misses"
        print(f"linter ÷ json.loads, {corpus + '-only' if corpus == 'valid' else corpus:<10} "
              f"{best:5.2f}×  (median {median:.2f}×)  goal ≥ {goal:.1f}×: {mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
