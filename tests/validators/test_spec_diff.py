"""``avatar-contract spec diff OLD NEW``: contract changes between two specs, for CI to gate on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators._cli import main

VENDORED = str(vendored_spec_path())
JUNE_BODY = {"type": "prompt", "name": "P", "prompt": "a calm anchor", "avatar_id": "av_123",
             "reference_images": [{"type": "url", "url": "https://cdn.example.com/a.png"}]}
PHOTO = {"type": "photo", "name": "Anna", "file": {"type": "url", "url": "https://cdn.example.com/a.jpg"}}


def _diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["spec", "diff", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _changes(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(c["section"], c["where"], c["kind"]) for c in document["changes"]}


def _edited(tmp_path: Path, edit: Any, name: str = "edited.yaml") -> str:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_same_spec_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _diff(capsys, VENDORED, VENDORED)
    assert code == 0
    assert document["changes"] == [] and document["changed"] is False


def test_june_changes(june_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = _diff(capsys, VENDORED, str(june_spec))
    assert code == 1
    changes = _changes(document)
    assert ("fields", "prompt.avatar_id", "added") in changes
    assert ("advice_rules", "reference_images.without_group", "deactivated") in changes
    assert ("fields", "prompt.avatar_group_id", "changed") in changes  # its description
    assert ("advice_rules", "avatar_id.joins_group", "activated") in changes
    # Nothing else moved: variants, limits, statuses and the key are the same.
    assert {section for section, _, _ in changes} == {"fields", "advice_rules"}
    added = next(c for c in document["changes"] if c["where"] == "prompt.avatar_id")
    assert added["new"]["required"] is False and added["new"]["type"] == "null|string"


def test_and_back_again(june_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, document = _diff(capsys, str(june_spec), VENDORED)
    changes = _changes(document)
    assert ("fields", "prompt.avatar_id", "removed") in changes
    assert ("advice_rules", "reference_images.without_group", "activated") in changes


def test_structural_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def edit(doc: dict[str, Any]) -> None:
        schemas = doc["components"]["schemas"]
        schemas["CreatePromptAvatarRequest"]["properties"]["reference_images"]["anyOf"][0]["maxItems"] = 5
        schemas["CreatePromptAvatarRequest"]["properties"]["prompt"]["maxLength"] = 2000
        schemas["CreatePhotoAvatarRequest"]["required"].remove("name")
        schemas["AssetUrl"]["properties"]["url"]["pattern"] = "^https://"
        for variant in ("CreatePhotoAvatarRequest", "CreateDigitalTwinRequest"):
            file = schemas[variant]["properties"]["file"]
            del file["discriminator"]["mapping"]["base64"]
            file["oneOf"] = [ref for ref in file["oneOf"] if not ref["$ref"].endswith("AssetBase64")]
        body = schemas["CreateAvatarRequestBody"]
        del body["discriminator"]["mapping"]["digital_twin"]
        body["oneOf"] = [ref for ref in body["oneOf"] if not ref["$ref"].endswith("DigitalTwinRequest")]
        op = doc["paths"]["/v3/avatars"]["post"]
        op["responses"]["422"] = {"description": "Unprocessable", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"const": "unprocessable"}}}}}}}}
        del op["responses"]["429"]
        doc["components"]["parameters"]["IdempotencyKey"]["schema"]["maxLength"] = 64
    code, document = _diff(capsys, VENDORED, _edited(tmp_path, edit))
    assert code == 1
    changes = _changes(document)
    assert ("variants", "type", "removed") in changes
    assert ("sources", "photo.file", "removed") in changes
    assert ("constraints", "prompt.reference_images", "changed") in changes
    assert ("constraints", "prompt.prompt", "changed") in changes
    assert ("constraints", "prompt.reference_images[](url).url", "added") in changes  # the pattern
    assert ("required", "photo.name", "changed") in changes
    assert ("responses", "422", "added") in changes
    assert ("responses", "429", "removed") in changes
    assert ("idempotency_key", "Idempotency-Key", "changed") in changes
    details = {c["where"]: c["detail"] for c in document["changes"] if c["section"] == "constraints"}
    assert details["prompt.prompt"] == "maxLength: 1000 -> 2000"
    added = next(c for c in document["changes"] if c["where"] == "422")
    assert added["new"]["error_code"] == "unprocessable"
    # Dropping digital_twin takes the "Footage" media rule with it.
    assert ("advice_rules", "media_type.mismatch ('Footage')", "deactivated") in changes


def test_corpus_lists_payloads_that_lint_differently(june_spec: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "june.json").write_text(json.dumps(JUNE_BODY), encoding="utf-8")
    (corpus / "photo.json").write_text(json.dumps(PHOTO), encoding="utf-8")
    (corpus / "more.ndjson").write_text(json.dumps(PHOTO) + "\n\n" + json.dumps(
        {"type": "prompt", "name": "P", "prompt": "x", "reference_images": [{"type": "asset_id", "asset_id": "a"}]}
    ) + "\n", encoding="utf-8")
    (corpus / "notes.txt").write_text("not a payload", encoding="utf-8")
    code, document = _diff(capsys, VENDORED, str(june_spec), "--corpus", str(corpus))
    assert code == 1
    assert document["corpus"]["payloads"] == 4
    changed = {c["source"]: c for c in document["corpus"]["changed"]}
    assert set(changed) == {str(corpus / "june.json"), f"{corpus / 'more.ndjson'}:3"}
    june = changed[str(corpus / "june.json")]
    assert {(f["path"], f["rule"]) for f in june["old"]["findings"]} == {
        ("/avatar_id", "field.unknown"), ("/reference_images", "reference_images.without_group")}
    assert june["new"] == {"valid": True, "findings": []}
    # One .ndjson file works too, and the same spec on both sides changes nothing.
    code, document = _diff(capsys, VENDORED, VENDORED, "--corpus", str(corpus / "more.ndjson"))
    assert code == 0 and document["corpus"] == {"path": str(corpus / "more.ndjson"), "payloads": 2, "changed": []}


def test_a_verdict_change_is_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def tighten(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]["prompt"]["maxLength"] = 3
    corpus = tmp_path / "c.ndjson"
    corpus.write_text(json.dumps({"type": "prompt", "name": "P", "prompt": "long enough"}) + "\n", encoding="utf-8")
    code = main(["spec", "diff", VENDORED, _edited(tmp_path, tighten), "--corpus", str(corpus)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"  {corpus}:1\n      valid -> invalid\n      + error /prompt schema.maxLength\n" in out


def test_text_and_markdown(june_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "diff", VENDORED, str(june_spec)]) == 1
    text = capsys.readouterr().out
    assert "  + prompt.avatar_id: field added (optional, null|string)\n" in text
    assert "  - reference_images.without_group: turned inactive" in text
    assert text.endswith("contract change(s)\n")
    assert main(["spec", "diff", VENDORED, str(june_spec), "--format", "markdown"]) == 1
    markdown = capsys.readouterr().out
    assert markdown.startswith("# Contract changes")
    assert "| + | `prompt.avatar_id` | field added (optional, null\\|string) |" in markdown
    assert "## Advice rules" in markdown


@pytest.mark.parametrize("args", [
    ["spec", "diff", VENDORED],
    ["spec", "diff", VENDORED, "/nonexistent/spec.yaml"],
    ["spec", "diff", VENDORED, VENDORED, "--corpus", "/nonexistent/corpus"],
    ["spec", "diff", VENDORED, VENDORED, "--format", "html"],
    ["spec"],
])
def test_bad_input_is_one_line_and_exit_two(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert "Traceback" not in captured.err


def test_a_corpus_directory_without_payloads_is_a_usage_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "diff", VENDORED, VENDORED, "--corpus", str(tmp_path)]) == 2
    assert "no *.json or *.ndjson files" in capsys.readouterr().err


def test_a_broken_new_spec_is_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: [unclosed", encoding="utf-8")
    assert main(["spec", "diff", VENDORED, str(broken)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_april_changes_as_seen_from_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before April 2026: the twin variant was ``video`` and looks had no ``status``/``error``."""
    def march(doc: dict[str, Any]) -> None:
        schemas = doc["components"]["schemas"]
        look = schemas["AvatarLookItem"]["properties"]
        del look["status"], look["error"]
        union = schemas["CreateAvatarRequestBody"]["discriminator"]["mapping"]
        union["video"] = union.pop("digital_twin")
        schemas["CreateDigitalTwinRequest"]["properties"]["type"]["const"] = "video"
    code, document = _diff(capsys, _edited(tmp_path, march), VENDORED)
    assert code == 1
    changes = _changes(document)
    assert ("variants", "type", "added") in changes and ("variants", "type", "removed") in changes
    renamed = {(c["kind"], c["old"] or c["new"]) for c in document["changes"] if c["section"] == "variants"}
    assert renamed == {("added", "digital_twin"), ("removed", "video")}
    assert ("fields", "response 200.data.avatar_item.status", "added") in changes
    assert ("fields", "response 200.data.avatar_item.error", "added") in changes
    assert ("fields", "response 200.data.avatar_item.error.code", "added") in changes
