"""Generated cases are what they claim (checked by the linter), and follow the spec, not code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from avatar_contract.contract_tests.probes import keys
from avatar_contract.contract_tests.probes.bodies import BodyFactory, factory
from avatar_contract.contract_tests.probes.body_strategies import valid_bodies
from avatar_contract.contract_tests.probes.generation import schemathesis_requests
from avatar_contract.contract_tests.probes.invalid_bodies import boundary_cases, invalid_cases
from avatar_contract.validators import Linter, contract_for

from ._support import vendored_doc, with_gcs_source


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(valid_bodies(factory(), {"prompt": "ag_1", "photo": "ag_2"}))
def test_generated_valid_bodies_are_clean(body: dict[str, Any]) -> None:
    factory().check_valid(body)


def test_targeted_invalid_cases_are_invalid_and_cover_every_constraint() -> None:
    f = factory()
    cases = invalid_cases(f)
    labels = [c.label for c in cases]
    for case in cases:
        if case.raw is None:
            assert not f.linter.lint_request(case.body).valid, case.label
    for variant in f.variants:
        for prop in f.branch(variant).required:
            assert f"{variant}: without required {prop!r}" in labels
    assert any("maxItems" in label for label in labels)
    assert any("astral code points" in label for label in labels)
    assert sum("unknown field" in label for label in labels) >= 3
    for case in boundary_cases(f, {"prompt": "ag_1"}):
        assert f.linter.lint_request(case.body).valid, case.label


def test_idempotency_keys_follow_the_header_schema() -> None:
    for label, key in keys.valid_keys():
        assert keys.is_valid_key(key), label
    low, high = keys.limits()
    lengths = {len(k) for _, k in keys.valid_keys()}
    assert {low, high} <= lengths
    for label, raw in keys.invalid_keys():
        assert not keys.is_valid_key(raw.decode("utf-8")), label
    labels = " ".join(label for label, _ in keys.invalid_keys())
    for expected in ("empty", f"{high + 1} characters", "a space", "'/'", "'='", "'é'", "'\"'", '"\'"'):
        assert expected in labels, expected
    assert keys.fresh_key() != keys.fresh_key()


def test_schemathesis_cases_depend_only_on_the_seed() -> None:
    first = schemathesis_requests.__wrapped__("negative", 15, 99)
    assert first == schemathesis_requests.__wrapped__("negative", 15, 99)
    assert first != schemathesis_requests.__wrapped__("negative", 15, 100)


@pytest.fixture(scope="module")
def newer_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = with_gcs_source(vendored_doc())
    prompt = doc["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]
    prompt["reference_images"]["anyOf"][0]["maxItems"] = 5
    prompt["prompt"]["maxLength"] = 200
    path = tmp_path_factory.mktemp("spec") / "newer.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_newer_spec_changes_the_cases_without_code_changes(newer_spec: Path) -> None:
    f = BodyFactory(contract_for(str(newer_spec)))
    linter = Linter(str(newer_spec))
    labels = [c.label for c in invalid_cases(f)]
    assert "prompt: reference_images with 6 items (maxItems 5)" in labels
    assert "prompt: prompt of 201 ASCII characters (maxLength 200)" in labels
    assert "prompt: prompt of 201 astral code points (UTF-16/bytes counted) (maxLength 200)" in labels
    assert "photo: file (gcs) without required 'uri'" in labels
    assert "prompt: reference_images[0] (gcs) with an unknown property 'unexpected_field'" in labels
    for case in boundary_cases(f, {"prompt": "ag_1"}):
        assert linter.lint_request(case.body).valid, case.label


def test_generation_ignores_which_project_modules_are_loaded(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis mines constants from loaded local modules; the suite's cases must not change."""
    import importlib
    import sys

    from avatar_contract.contract_tests.probes.generation import collect
    from avatar_contract.contract_tests.probes.invalid_bodies import mutated_bodies

    f = factory()

    def labels() -> list[str]:
        return [c.label for c in collect(mutated_bodies(f, valid_bodies(f, {})), 40, 4242, lambda c: c)]

    before = labels()
    (tmp_path / "contract_extra_constants.py").write_text(
        "".join(f"C{i} = {i * 7919}\nS{i} = 'k{i}'\n" for i in range(300)), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("contract_extra_constants")
    try:
        assert labels() == before
    finally:
        sys.modules.pop("contract_extra_constants", None)
