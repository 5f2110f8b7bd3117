"""Fuzz every public function of avatar_contract.validators with hostile inputs (issue 9, §1).

    python bench/fuzz.py                 # 20,000 cases per function, seed 9
    python bench/fuzz.py --cases 2000 --seed 1

Prints one line per function: cases, raised, internal errors (the linter's
last-resort ``linter.internal_error`` finding counts as a failure too) and the
documented refusals (``NotJSON`` from parse_json, ``ContractViolation`` from
validate_*).  Exits 1 if anything raised.  The hypothesis properties in
tests/validators/test_never_raises.py search the same space in CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from avatar_contract.validators import (
    ContractViolation,
    NotJSON,
    check_idempotency_key,
    check_retry_after,
    lint_request,
    lint_response,
    parse_json,
    validate_idempotency_key,
    validate_request,
    validate_response,
)

SURROGATES = [chr(c) for c in (0xD800, 0xDBFF, 0xDC00, 0xDFFF)]
ALPHABET = [*list("aZ09_-:. /=\"'\n\t\r\x00\x7f"), "é", "€", "😀", "\u202e", "\ufeff", *SURROGATES]
HEADER_NAMES = ["Retry-After", "retry-after", "RETRY-AFTER", "Content-Type", "content-type",
                "Idempotency-Key", "idempotency-key", "X-Other"]


class Hostile:
    """Seeded generators of the inputs a careless or malicious caller passes."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def text(self, n: int = 12) -> str:
        return "".join(self.r.choice(ALPHABET) for _ in range(self.r.randrange(n + 1)))

    def number(self) -> Any:
        return self.r.choice([
            lambda: self.r.randrange(-10**6, 10**6), lambda: self.r.choice([0, 1, 200, 429, 599, 600, -1]),
            lambda: 10 ** self.r.randrange(4_290, 4_500), lambda: -(10 ** self.r.randrange(4_301, 4_400)),
            lambda: float("inf"), lambda: float("-inf"), lambda: float("nan"), lambda: 1e308,
            lambda: self.r.uniform(-1e6, 1e6), lambda: 429.0, lambda: True, lambda: False,
        ])()

    def digits(self) -> str:
        return "9" * self.r.choice([1, 3, 4_300, 4_301, 5_000, 120_000])

    def scalar(self) -> Any:
        return self.r.choice([
            lambda: None, self.number, self.text, self.digits, lambda: self.text().encode("utf-8", "surrogatepass"),
            lambda: bytes(self.r.randrange(256) for _ in range(self.r.randrange(12))), lambda: object(),
        ])()

    def value(self, depth: int = 0) -> Any:
        roll = self.r.random()
        if depth > 3 or roll < 0.5:
            return self.scalar()
        if roll < 0.75:
            return [self.value(depth + 1) for _ in range(self.r.randrange(4))]
        return {self.r.choice([self.text(), self.text(), "type", "name", "data", "error"]): self.value(depth + 1)
                for _ in range(self.r.randrange(4))}

    def body(self) -> Any:
        return self.r.choice([
            self.value, lambda: self.text(40), lambda: bytes(self.r.randrange(256) for _ in range(30)),
            lambda: b"[" * self.r.choice([10, 1_000, 5_000]), lambda: b'{"n": ' + self.digits().encode() + b"}",
            lambda: {"type": self.r.choice(["photo", "prompt", "digital_twin", self.text()]), "name": self.text(),
                     "file": {"type": "url", "url": self.text()}, "avatar_group_id": self.scalar()},
            lambda: {"data": {"avatar_item": self.value(), "avatar_group": self.value()}},
            lambda: {"error": {"code": self.scalar(), "message": self.scalar()}},
            lambda: self.nested(self.r.choice([100, 2_000, 50_000])),
        ])()

    def nested(self, depth: int) -> Any:
        value: Any = []
        for _ in range(depth):
            value = [value]
        return value

    def status(self) -> Any:
        return self.r.choice([self.number, self.scalar, lambda: self.r.choice(["429", " 200", "4XX", b"400", "२००"]),
                              lambda: self.r.choice([200, 400, 401, 409, 429])])()

    def header_value(self) -> Any:
        return self.r.choice([self.scalar, self.digits, lambda: self.r.choice(
            ["1", " 30 ", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "application/json", ""])])()

    def headers(self) -> Any:
        pairs = [(self.r.choice([*HEADER_NAMES, self.scalar()]), self.header_value())
                 for _ in range(self.r.randrange(5))]
        return self.r.choice([
            lambda: pairs, lambda: dict(pairs) if all(_hashable(k) for k, _ in pairs) else pairs,
            lambda: {b"Retry-After": self.header_value()}, lambda: [*pairs, (1, 2, 3), "x", None],
            self.scalar, lambda: None,
        ])()

    def key(self) -> Any:
        return self.r.choice([self.text, lambda: self.text(300), self.scalar, self.digits,
                              lambda: "k" * self.r.choice([1, 255, 256]), lambda: self.text() + "\n"])()


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _internal(report: Any) -> bool:
    findings = getattr(report, "findings", ())  # parse_json returns the value, validate_* None
    return any(f.rule == "linter.internal_error" for f in findings)


def targets(h: Hostile) -> dict[str, Callable[[], Any]]:
    return {
        "lint_request": lambda: lint_request(h.body()),
        "lint_request(headers=)": lambda: lint_request(h.body(), headers=h.headers()),
        "lint_response": lambda: lint_response(h.status(), h.body(), headers=h.headers(), request=h.body(),
                                               strict=h.r.random() < 0.5),
        "check_idempotency_key": lambda: check_idempotency_key(h.key()),
        "check_retry_after": lambda: check_retry_after(h.header_value(), h.status()),
        "parse_json": lambda: parse_json(h.r.choice([h.text(40), h.text(40).encode("utf-8", "surrogatepass"),
                                                     b'{"a": ' + h.digits().encode() + b"}", h.body()])),
        "validate_request": lambda: validate_request(h.body(), headers=h.headers()),
        "validate_response": lambda: validate_response(h.status(), h.body(), headers=h.headers()),
        "validate_idempotency_key": lambda: validate_idempotency_key(h.key()),
    }


REFUSALS: dict[str, tuple[type[BaseException], ...]] = {
    "parse_json": (NotJSON,), "validate_request": (ContractViolation,),
    "validate_response": (ContractViolation,), "validate_idempotency_key": (ContractViolation,),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="cases per function (default 20,000)")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args(argv)
    total_raised = 0
    print(f"{'function':<26} {'cases':>7} {'raised':>7} {'internal':>9} {'refused':>8}  seconds")
    for name, call in targets(Hostile(args.seed)).items():
        raised = internal = refused = 0
        first: str | None = None
        started = time.perf_counter()
        for _ in range(args.cases):
            try:
                result = call()
            except REFUSALS.get(name, ()):
                refused += 1
                continue
            except Exception as exc:
                raised += 1
                first = first or f"{type(exc).__name__}: {str(exc)[:100]}"
                continue
            if result is not None and _internal(result):
                internal += 1
        elapsed = time.perf_counter() - started
        total_raised += raised + internal
        print(f"{name:<26} {args.cases:>7,} {raised:>7,} {internal:>9,} {refused:>8,}  {elapsed:7.1f}"
              + (f"   first: {first}" if first else ""))
    print("0 raised" if total_raised == 0 else f"{total_raised:,} raised or internal errors")
    return 0 if total_raised == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
