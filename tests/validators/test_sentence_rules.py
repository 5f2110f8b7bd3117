"""Response sentence rules: each fires on the claim its sentence makes, only while the spec says it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.spec import load_spec, spec_elements, vendored_spec_path
from avatar_contract.validators import Linter, contract_for
from avatar_contract.validators._sentence_rules import RULES

NOW = 1_796_680_000.0


def _body(**group: Any) -> dict[str, Any]:
    item = {"id": "lk_1", "name": "n", "avatar_type": "photo_avatar", "group_id": "ag_1",
            "status": "processing", "error": None}
    return {"data": {"avatar_item": item, "avatar_group": {
        "id": "ag_1", "name": "n", "created_at": int(NOW), "looks_count": 1, **group}}}


def _rules(body: Any, spec: Any = None, clock: Any = lambda: NOW) -> list[tuple[str, str]]:
    report = Linter(spec, strict=True, clock=clock).lint_response(200, body)
    return [(f.rule, f.path) for f in report.findings if f.rule.startswith("sentence.")]


def test_a_valid_body_breaks_no_sentence_rule() -> None:
    assert _rules(_body()) == []


def test_created_at_in_milliseconds_fails_unix_seconds() -> None:
    assert _rules(_body(created_at=int(NOW) * 1000)) == [("sentence.unix_seconds", "/data/avatar_group/created_at")]
    assert _rules(_body(created_at=-5)) == [("sentence.unix_seconds", "/data/avatar_group/created_at")]


def test_without_a_clock_the_time_rule_is_quiet() -> None:
    assert _rules(_body(created_at=int(NOW) * 1000), clock=None) == []


@given(st.integers(min_value=0, max_value=int(NOW) + 86_400))
def test_any_past_second_up_to_a_day_ahead_is_plausible(value: int) -> None:
    assert _rules(_body(created_at=value)) == []


@given(st.integers(min_value=int(NOW) + 86_401, max_value=10**16))
def test_anything_later_than_a_day_ahead_is_not(value: int) -> None:
    assert _rules(_body(created_at=value)) == [("sentence.unix_seconds", "/data/avatar_group/created_at")]


@pytest.mark.parametrize("where", ["avatar_item", "avatar_group"])
def test_error_only_when_status_is_failed(where: str) -> None:
    body = _body()
    body["data"][where]["error"] = {"code": "training_failed", "message": "m"}
    assert _rules(body) == [("sentence.present_only_when", f"/data/{where}/error")]
    body["data"][where]["status"] = "failed"
    assert _rules(body) == []


def test_the_looks_group_is_the_group_returned_and_counts_are_not_negative() -> None:
    body = _body(looks_count=-1)
    body["data"]["avatar_item"]["group_id"] = "ag_other"
    assert sorted(_rules(body)) == [("sentence.count_non_negative", "/data/avatar_group/looks_count"),
                                    ("sentence.look_group", "/data/avatar_item/group_id")]


def _edited(tmp_path: Path, edit: Any) -> Path:
    doc = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    edit(doc["components"]["schemas"])
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_a_rule_goes_quiet_when_its_sentence_is_gone(tmp_path: Path) -> None:
    def reword(schemas: dict[str, Any]) -> None:
        schemas["AvatarGroupItem"]["properties"]["created_at"]["description"] = "When the avatar was created."
        schemas["AvatarGroupItem"]["properties"]["error"]["description"] = "Error details."
    spec = _edited(tmp_path, reword)
    body = _body(created_at=int(NOW) * 1000, error={"code": "c", "message": "m"})
    assert _rules(body, spec) == []


def test_a_rule_follows_its_words_onto_a_new_field(tmp_path: Path) -> None:
    def add(schemas: dict[str, Any]) -> None:
        schemas["AvatarGroupItem"]["properties"]["updated_at"] = {
            "type": "integer", "description": "Unix timestamp (seconds) of the last change."}
    spec = _edited(tmp_path, add)
    assert _rules(_body(updated_at=int(NOW) * 1000), spec) == [
        ("sentence.unix_seconds", "/data/avatar_group/updated_at")]


def test_every_site_names_a_sentence_element_of_the_spec() -> None:
    spec = load_spec()
    sentences = {e.id: e.text for e in spec_elements(spec) if e.kind == "sentence"}
    found = [site for rc in contract_for(spec).responses.values() for site in rc.sentence_sites]
    assert {site.rule.id for site in found} == {rule.id for rule in RULES}
    for site in found:
        assert sentences[site.sentence] == site.text
