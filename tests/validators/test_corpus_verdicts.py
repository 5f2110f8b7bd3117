"""The linter's verdict equals Python jsonschema's on every body of the benchmark corpus.

The corpus (``bench/corpus.py``) is what the speed figures are measured on, so
this is the proof that the fast path is fast *and* right.  No timing here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from avatar_contract.validators import lint_request

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    # bench/ is a directory of scripts, not an installed package: load by path,
    # under a private name, registered before running (dataclasses look their
    # module up in sys.modules).
    qualified = f"_avatar_bench_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus_cases() -> list[Any]:
    cases: list[Any] = _load("corpus").cases()
    return cases


@pytest.fixture(scope="module")
def reference() -> Any:
    return _load("reference").jsonschema_validator()


def _disagreements(cases: list[Any], reference: Any) -> Iterator[str]:
    for case in cases:
        expected = reference.is_valid(json.loads(case.body))
        report = lint_request(case.body)
        if report.valid != expected:
            yield f"{case.label}: linter {report.valid}, jsonschema {expected}: {case.body[:120]!r}"


def test_corpus_is_big_and_balanced(corpus_cases: list[Any]) -> None:
    assert len(corpus_cases) >= 2000
    valid = sum(1 for c in corpus_cases if c.valid)
    assert valid == len(corpus_cases) - valid
    assert all(isinstance(c.body, bytes) for c in corpus_cases)


def test_corpus_is_deterministic(corpus_cases: list[Any]) -> None:
    again = _load("corpus").cases()
    assert [c.body for c in again] == [c.body for c in corpus_cases]


def test_generator_builds_what_it_says(corpus_cases: list[Any], reference: Any) -> None:
    # Each body was built to be valid or to break one constraint; jsonschema agrees.
    wrong = [c.label for c in corpus_cases if reference.is_valid(json.loads(c.body)) != c.valid]
    assert wrong == []


def test_linter_verdict_equals_jsonschema_on_whole_corpus(
    corpus_cases: list[Any], reference: Any
) -> None:
    assert list(_disagreements(corpus_cases, reference)) == []


def test_invalid_bodies_report_errors_and_valid_ones_only_warnings(corpus_cases: list[Any]) -> None:
    for case in corpus_cases:
        severities = {f.severity for f in lint_request(case.body).findings}
        if case.valid:
            assert "error" not in severities, case.label
        else:
            assert "error" in severities, case.label


def test_corpus_covers_every_variant_source_and_constraint(corpus_cases: list[Any]) -> None:
    from avatar_contract.validators import contract_for

    variants = contract_for().request.variants
    assert variants is not None
    labels = {c.label for c in corpus_cases}
    for variant, branch in variants.branches.items():
        assert any(label.startswith(f"valid/{variant}") for label in labels)
        assert any(label.startswith(f"invalid/{variant}/unknown_discriminator") for label in labels)
        for name in branch.required:
            if name != variants.property:
                assert f"invalid/{variant}/missing:{name}" in labels
        for _loc, union in branch.unions:
            for source in union.branches:
                assert any(source in label for label in labels if label.startswith("valid/"))
    families = {label.split("/")[2].split(":")[0] for label in labels if label.startswith("invalid/")}
    assert {"max_length", "max_items", "missing_discriminator", "discriminator_not_string",
            "body_not_object", "wrong_type"} <= families
