"""Advice rules rest on the spec's own words: the rule table, rule activity and the June 2026 spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Linter, contract_for
from avatar_contract.validators._advice import AdvicePlan
from avatar_contract.validators._advice_audit import rule_activity
from avatar_contract.validators._advice_rules import RULES, loose, sentence_with
from avatar_contract.validators._cli import main

from .payloads import B64_IMAGE, B64_VIDEO, URL, photo, prompt, twin

# The body from issue 10: legal under the June 2026 spec.
JUNE_BODY = {"type": "prompt", "name": "P", "prompt": "a calm anchor", "avatar_id": "av_123",
             "reference_images": [{"type": "url", "url": "https://cdn.example.com/a.png"}]}


def _rules(report: Any) -> set[tuple[str, str]]:
    return {(f.path, f.rule) for f in report.findings}


def _edited(tmp_path: Path, edit: Any) -> Path:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    edit(doc["components"]["schemas"])
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# Parsed and raw: raw bodies take the linter's fast path first.
FORMS = [pytest.param(lambda body: body, id="parsed"), pytest.param(lambda body: json.dumps(body).encode(), id="raw")]


@pytest.mark.parametrize("form", FORMS)
def test_june_body_is_clean_under_the_june_spec(june_spec: Path, form: Any) -> None:
    linter = Linter(june_spec)
    for _ in range(3):  # the fast path may change its order after a few bodies
        report = linter.lint_request(form(JUNE_BODY))
        assert report.valid
        assert report.findings == ()


@pytest.mark.parametrize("form", FORMS)
def test_june_body_under_the_vendored_spec_gets_unknown_field_and_without_group(form: Any) -> None:
    linter = Linter()
    for _ in range(3):
        report = linter.lint_request(form(JUNE_BODY))
        assert report.valid
        assert _rules(report) == {("/avatar_id", "field.unknown"),
                                  ("/reference_images", "reference_images.without_group")}


@pytest.mark.parametrize("form", FORMS)
def test_references_alone_warn_only_under_the_vendored_spec(june_spec: Path, form: Any) -> None:
    body = prompt(reference_images=[URL])
    assert _rules(Linter().lint_request(form(body))) == {("/reference_images", "reference_images.without_group")}
    assert Linter(june_spec).lint_request(form(body)).findings == ()


def test_avatar_id_with_a_group_is_legal_and_gets_no_offline_warning(june_spec: Path) -> None:
    # Membership is for the server to check: offline, say nothing false.
    body = {**JUNE_BODY, "avatar_group_id": "ag_somewhere_else"}
    assert Linter(june_spec).lint_request(body).findings == ()
    assert Linter(june_spec).lint_request({**JUNE_BODY, "avatar_id": None}).findings == ()
    wrong = Linter(june_spec).lint_request({**JUNE_BODY, "avatar_id": 7})
    assert not wrong.valid
    assert {f.path for f in wrong.errors} == {"/avatar_id"}


def test_every_other_rule_still_fires_under_the_june_spec(june_spec: Path) -> None:
    linter = Linter(june_spec)
    assert ("/file/url", "url.not_https") in _rules(linter.lint_request(photo(file={"type": "url", "url": "http://x"})))
    assert ("/file/media_type", "media_type.mismatch") in _rules(linter.lint_request(twin(file=B64_IMAGE)))
    assert ("/reference_images/0/media_type", "media_type.mismatch") in _rules(
        linter.lint_request(prompt(reference_images=[B64_VIDEO])))


def test_matching_is_loose_about_case_and_whitespace(tmp_path: Path) -> None:
    def shout(schemas: dict[str, Any]) -> None:
        refs = schemas["CreatePromptAvatarRequest"]["properties"]["reference_images"]
        refs["description"] = refs["description"].replace("Will only work with an avatar_group_id",
                                                          "WILL ONLY\n   work  with an AVATAR_GROUP_ID")
    report = Linter(_edited(tmp_path, shout)).lint_request(prompt(reference_images=[URL]))
    assert _rules(report) == {("/reference_images", "reference_images.without_group")}
    assert loose("  A\tb \n C ") == "a b c"
    assert sentence_with("First one. Then it is HTTPS  only. Last.", "https only") == "Then it is HTTPS only."
    assert sentence_with("Nothing here.", "https") is None


def test_https_rule_follows_its_sentence(tmp_path: Path) -> None:
    def drop(schemas: dict[str, Any]) -> None:
        schemas["AssetUrl"]["properties"]["url"]["description"] = "URL for the asset"
    body = photo(file={"type": "url", "url": "http://cdn.example.com/a.jpg"})
    assert "url.not_https" in Linter().lint_request(body).rules()
    assert Linter(_edited(tmp_path, drop)).lint_request(body).findings == ()


def test_media_expectation_comes_from_the_file_description(tmp_path: Path) -> None:
    # Swap the words: the photo variant now says "Footage", the twin "Photo asset".
    def swap(schemas: dict[str, Any]) -> None:
        photo_file = schemas["CreatePhotoAvatarRequest"]["properties"]["file"]
        twin_file = schemas["CreateDigitalTwinRequest"]["properties"]["file"]
        photo_file["description"], twin_file["description"] = twin_file["description"], photo_file["description"]
    swapped = Linter(_edited(tmp_path, swap))
    assert swapped.lint_request(photo(file=B64_VIDEO)).findings == ()
    assert "media_type.mismatch" in swapped.lint_request(photo(file=B64_IMAGE)).rules()
    assert swapped.lint_request(twin(file=B64_IMAGE)).findings == ()


def test_no_media_words_no_media_rule(tmp_path: Path) -> None:
    def neutral(schemas: dict[str, Any]) -> None:
        schemas["CreatePhotoAvatarRequest"]["properties"]["file"]["description"] = "The file."
    assert Linter(_edited(tmp_path, neutral)).lint_request(photo(file=B64_VIDEO)).findings == ()


def _prompt_advisor(spec: str | None) -> str:
    contract = contract_for(spec)
    plan = AdvicePlan(contract.request.root, contract.spec)
    return next(text for (pointer, _), text in plan.sources.items() if pointer.endswith("/CreatePromptAvatarRequest"))


def test_generated_advisors_hold_only_active_rules(june_spec: Path) -> None:
    old, new = _prompt_advisor(None), _prompt_advisor(str(june_spec))
    # One check fewer (the without-group test), and no test of it at run time.
    assert old.count("out.append(") == new.count("out.append(") + 1
    assert "isinstance(v2, list) and v2 and not obj.get(" in old
    assert "and not obj.get(" not in new


def test_activity_lists_every_row_with_the_sentence(june_spec: Path) -> None:
    old = {row.rule.label: row for row in rule_activity(contract_for(None))}
    new = {row.rule.label: row for row in rule_activity(contract_for(str(june_spec)))}
    assert len(old) == len(RULES)
    without = "reference_images.without_group ('Will only work with an avatar_group_id')"
    assert old[without].found == (("/components/schemas/CreatePromptAvatarRequest/properties/reference_images",
                                   "Will only work with an avatar_group_id."),)
    assert not new[without].active
    footage = "media_type.mismatch ('Footage')"
    assert [p for p, _ in old[footage].found] == ["/components/schemas/CreateDigitalTwinRequest/properties/file"]


def test_spec_audit_lists_rules(june_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["lint", "--spec-audit"])
    out = capsys.readouterr().out
    assert "advice rules" in out
    assert "  active    reference_images.without_group\n" in out
    assert "'Will only work with an avatar_group_id.'" in out
    main(["lint", "--spec-audit", "--spec", str(june_spec)])
    assert "  inactive  reference_images.without_group: 'Will only work with an avatar_group_id'" \
        in capsys.readouterr().out
    main(["lint", "--spec-audit", "--format", "json", "--spec", str(june_spec)])
    document = json.loads(capsys.readouterr().out)
    rows = {(r["rule"], r["text"]): r for r in document["advice_rules"]}
    assert rows[("reference_images.without_group", "Will only work with an avatar_group_id")]["active"] is False
    assert rows[("url.not_https", "publicly accessible HTTPS URL")]["found"][0]["sentence"] == \
        "Publicly accessible HTTPS URL for the asset"
    assert "results" in document
    main(["lint", "--spec-audit", "--format", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    assert len(sarif["runs"][0]["properties"]["adviceRules"]) == len(RULES)


def test_every_warning_comes_from_a_row_of_the_table() -> None:
    bodies = [photo(name="", file={"type": "url", "url": "http://x"}, extra=1), twin(file=B64_IMAGE),
              photo(file={**B64_IMAGE, "data": "!!"}), prompt(reference_images=[URL, B64_VIDEO], avatar_grup_id="g"),
              {"type": "photo", "file": {"type": "url", "url": "ftp://x"}}]
    seen = {f.rule for body in bodies for f in Linter().lint_request(body).warnings}
    assert seen == {"name.empty", "url.not_https", "field.unknown", "media_type.mismatch", "base64.undecodable",
                    "reference_images.without_group"}
    assert seen <= {rule.id for rule in RULES}
    # The advice compiler names no rule itself: ids, texts and messages live in the table.
    source = (Path(__file__).resolve().parents[2] / "validators" / "_advice.py").read_text(encoding="utf-8")
    for rule in RULES:
        assert f'"{rule.id}"' not in source and (rule.text is None or rule.text not in source), rule.id
