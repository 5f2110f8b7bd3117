"""Cases from schemathesis 4, generated from the normalised spec with a fixed seed.

Examples are collected up front (no shrinking) and then sent: the target is
stateful (rate limits, idempotency records), so hypothesis replaying and
shrinking against it would report flakiness instead of findings.  The seed
makes the collected list, and so the verdicts, the same in every process.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NOT_SET

from avatar_contract.spec import Spec

from ..targets.exchange import ABSENT
from ..targets.suite_spec import suite_spec


@dataclass(frozen=True)
class GeneratedRequest:
    """What a generated case sends: a JSON body or raw bytes, and maybe an Idempotency-Key."""

    body: Any  # a JSON value, ABSENT (no body) ...
    raw: bytes | None  # ... or bytes that need not be JSON
    key: str | None
    mode: str


def schema() -> Any:
    return _schema_for(suite_spec())


@functools.cache
def _schema_for(spec: Spec) -> Any:
    # The raw document crashes schemathesis ("unhashable type: 'dict'"); the
    # normalised one is what every tool in this project reads.
    return schemathesis.openapi.from_dict(spec.document)


def operation() -> Any:
    return _operation_for(suite_spec())


@functools.cache
def _operation_for(spec: Spec) -> Any:
    for result in _schema_for(spec).get_all_operations():
        op = result.ok()
        if op.method.lower() == spec.method and op.path == spec.path:
            return op
    raise LookupError(f"schemathesis found no {spec.method.upper()} {spec.path}")


@contextlib.contextmanager
def _seed_only() -> Iterator[None]:
    """Generation that depends on the seed alone.

    Hypothesis also draws "local constants" harvested from whichever project
    modules happen to be imported, so the same seed gave different cases under
    ``verify``, under ``pytest contract_tests`` and in a worker that had run
    other tests first.  For the span of a collection the local pool is empty
    (the built-in constants stay).  Hypothesis-internal, hence defensive: if
    the hook is not there, generation simply keeps that dependence.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the module
        yield
        return
    original = getattr(providers, "_get_local_constants", None)
    cache: Any = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    empty = getattr(providers, "Constants", None)
    if original is None or empty is None or cache is None or not hasattr(cache, "clear"):
        yield
        return
    pool = empty()
    cache.clear()  # cached pools were computed with the local constants
    providers._get_local_constants = lambda: pool
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()  # and ours must not leak into anyone else's tests


def collect(
    strategy: st.SearchStrategy[Any], count: int, seed: int, convert: Callable[[Any], Any]
) -> list[Any]:
    """Up to ``count`` examples of ``strategy``, the same ones for the same seed."""
    found: list[Any] = []

    @hypothesis.seed(seed)
    @hypothesis.settings(
        max_examples=max(1, count),
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(strategy)
    def gather(example: Any) -> None:
        found.append(convert(example))

    with _seed_only():
        gather()
    return found


def _from_case(mode: str) -> Callable[[Any], GeneratedRequest]:
    def convert(case: Any) -> GeneratedRequest:
        key = case.headers.get("Idempotency-Key") if case.headers else None
        body = case.body
        if body is NOT_SET:
            # Sent as an empty JSON body: with no Content-Type at all a correct
            # server may fairly answer 415, which says nothing about the contract.
            return GeneratedRequest(ABSENT, b"", key, mode)
        if isinstance(body, bytes | bytearray):
            return GeneratedRequest(ABSENT, bytes(body), key, mode)
        return GeneratedRequest(body, None, key, mode)

    return convert


@functools.lru_cache(maxsize=16)
def schemathesis_requests(mode: str, count: int, seed: int) -> tuple[GeneratedRequest, ...]:
    """Positive or negative requests for the create operation (cached per process)."""
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    strategy = operation().as_strategy(generation_mode=generation)
    return tuple(collect(strategy, count, seed, _from_case(mode)))
