"""Spec coverage: every element of the spec is probed or waived, and what is neither is listed.

The vendored and the June 2026 spec are held to the same rule: an element no
probe, clause or rule checks and no waiver explains fails here.  ``AWAITING``
lists, exactly, the elements that today have neither because the probes that
would check them do not exist yet: none, for either spec (the June spec's
``avatar_id`` sentences are probed by ``avatar_references``), so any element
nothing checks fails here.  An entry added would have to be listed as unprobed,
never waived, and this test fails both when a new element joins them and when
a probe lands (then the entry is removed here).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.contract_tests.spec_coverage import mapping as cov
from avatar_contract.contract_tests.spec_coverage.output import write_coverage
from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import _spec_command
from avatar_contract.validators._cli import main

PROMPT = "/components/schemas/CreatePromptAvatarRequest/properties"
AWAITING: dict[str, set[str]] = {"vendored": set(), "june": set()}


@pytest.fixture(params=["vendored", "june"])
def spec_case(request: pytest.FixtureRequest, june_spec: Path) -> tuple[str, str]:
    return request.param, str(vendored_spec_path() if request.param == "vendored" else june_spec)


def test_every_element_is_probed_or_waived_but_the_listed_gaps(spec_case: tuple[str, str]) -> None:
    name, path = spec_case
    report = cov.coverage_report(path)
    unprobed = {e.element.id for e in report.of_state(cov.UNPROBED)}
    assert unprobed - AWAITING[name] == set(), "elements with neither a probe nor a waiver"
    assert AWAITING[name] - unprobed == set(), "now probed: remove them from AWAITING"


def test_the_gaps_are_listed_as_unprobed_never_waived(spec_case: tuple[str, str]) -> None:
    name, path = spec_case
    out = io.StringIO()
    assert write_coverage(path, "json", out) == (1 if AWAITING[name] else 0)
    data = json.loads(out.getvalue())
    states = {e["id"]: e for e in data["elements"]}
    for element_id in AWAITING[name]:
        assert states[element_id]["state"] == "unprobed"
        assert states[element_id]["waiver"] is None and states[element_id]["covered_by"] == []
    assert data["totals"]["unprobed"] == len(AWAITING[name]) and data["complete"] is (not AWAITING[name])


def test_what_covers_an_element_is_what_really_probes_it() -> None:
    report = {e.element.id: e for e in cov.coverage_report(str(vendored_spec_path())).entries}
    max_length = report[f"{PROMPT}/prompt/maxLength"].covered_by
    assert any("prompt of 1001" in name for name in max_length)  # refused one over
    assert any(name.startswith("create #") for name in max_length)  # accepted exactly at it
    assert any("without" in n and "'url'" in n for n in report["/components/schemas/AssetUrl/required/1"].covered_by)
    created_at = "/components/schemas/AvatarGroupItem/properties/created_at/description#0"
    assert report[created_at].covered_by == ("rule sentence.unix_seconds (clause response.schema)",)
    ttl = report["/components/parameters/IdempotencyKey/description#1"]
    assert "idempotency.replay" in " ".join(ttl.covered_by) and "24-hour" in (ttl.waiver or "")
    assert report["/components/schemas/AvatarGroupItem/properties/name/description#0"].state == cov.WAIVED


def test_the_june_avatar_id_sentences_name_the_clauses_that_probe_them(june_spec: Path) -> None:
    report = {e.element.id: e for e in cov.coverage_report(str(june_spec)).entries}
    joins, exists = report[f"{PROMPT}/avatar_id/description#1"], report[f"{PROMPT}/avatar_id/description#2"]
    assert set(joins.covered_by) >= {"clause request.variants", "clause request.rejects_invalid"}
    assert "clause request.rejects_invalid" in exists.covered_by and "usable image" in (exists.waiver or "")
    assert report[f"{PROMPT}/avatar_group_id/description#2"].covered_by == ("clause request.rejects_invalid",)


def _edited(tmp_path: Path, edit: Any) -> str:
    doc = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    edit(doc["components"]["schemas"])
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_new_sentence_or_keyword_nothing_checks_shows_up_unprobed(tmp_path: Path) -> None:
    def edit(schemas: dict[str, Any]) -> None:
        name = schemas["CreatePhotoAvatarRequest"]["properties"]["name"]
        name["description"] += " Names are unique per account."
        schemas["CreatePhotoAvatarRequest"]["dependentRequired"] = {"avatar_group_id": ["name"]}
    path = _edited(tmp_path, edit)
    unprobed = {e.element.id for e in cov.coverage_report(path).of_state(cov.UNPROBED)}
    where = "/components/schemas/CreatePhotoAvatarRequest"
    assert {f"{where}/properties/name/description#1", f"{where}/dependentRequired"} <= unprobed


def test_a_registered_source_covers_what_it_names() -> None:
    gap = "/components/parameters/IdempotencyKey/required"
    cov.register_source("test probes", lambda given: {gap: ["probe a create without a key"]})
    try:
        report = {e.element.id: e for e in cov.coverage_report().entries}
        assert "probe a create without a key" in report[gap].covered_by
    finally:
        cov.SOURCES[:] = [(n, s) for n, s in cov.SOURCES if n != "test probes"]


def test_cli_formats_and_exit_codes(capsys: pytest.CaptureFixture[str], june_spec: Path) -> None:
    assert main(["spec", "coverage", "--format", "markdown"]) == 0  # the vendored spec: nothing unprobed
    out = capsys.readouterr().out
    assert out.startswith("# Spec coverage") and "| `keyword.maxLength` | 2 | 2 | 0 | 0 |" in out
    assert main(["spec", "coverage", "--spec", str(june_spec)]) == 0  # its avatar_id sentences are probed
    text = capsys.readouterr().out
    assert "unprobed:\n" not in text and text.rstrip().endswith(", 0 unprobed")
    assert main(["spec", "coverage", "--spec", "/no/such/spec.yaml"]) == 2
    assert capsys.readouterr().err.strip() == "avatar-contract: spec: /no/such/spec.yaml: no such file"


def test_without_the_suite_the_command_says_which_extra(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_spec_command, "COVERAGE_GROUP", "avatar_contract.no_such_group")
    monkeypatch.setattr(_spec_command, "COVERAGE_FALLBACK", "avatar_contract_no_such_suite.coverage")
    assert main(["spec", "coverage"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'avatar-contract[suite]'" in err and "Traceback" not in err
