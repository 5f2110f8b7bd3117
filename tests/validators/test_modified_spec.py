"""A different spec changes verdicts with no code change: nothing is hard-coded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Linter, audit_spec
from avatar_contract.validators._cli import main

from .payloads import URL, prompt


@pytest.fixture()
def modified_spec(tmp_path: Path) -> Path:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    refs = schemas["CreatePromptAvatarRequest"]["properties"]["reference_images"]
    refs["anyOf"][0]["maxItems"] = 5
    schemas["CreatePromptAvatarRequest"]["properties"]["style"] = {"type": "string", "enum": ["cartoon", "real"]}
    schemas["AssetUrl"]["properties"]["url"]["maxLength"] = 40
    # A newer spec that fixed the mapping defect must load without complaint.
    for variant, target in schemas["CreateAvatarRequestBody"]["discriminator"]["mapping"].items():
        schemas["CreateAvatarRequestBody"]["discriminator"]["mapping"][variant] = target["$ref"]
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_max_items_follows_the_spec(modified_spec: Path) -> None:
    body = prompt(reference_images=[URL] * 5, avatar_group_id="g")
    assert not Linter().lint_request(body).valid
    assert Linter(modified_spec).lint_request(body).valid
    six = prompt(reference_images=[URL] * 6, avatar_group_id="g")
    assert "schema.maxItems" in Linter(modified_spec).lint_request(six).rules()


def test_new_optional_field_is_known_and_validated(modified_spec: Path) -> None:
    styled = prompt(style="cartoon")
    assert Linter().lint_request(styled).rules() == {"field.unknown"}
    assert Linter(modified_spec).lint_request(styled).findings == ()
    wrong = Linter(modified_spec).lint_request(prompt(style="oil"))
    assert [(f.path, f.rule) for f in wrong.errors] == [("/style", "schema.enum")]


def test_nested_asset_constraints_follow_the_spec(modified_spec: Path) -> None:
    body = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://example.com/" + "a" * 40}}
    assert Linter().lint_request(body).valid
    report = Linter(modified_spec).lint_request(body)
    assert [(f.path, f.rule) for f in report.errors] == [("/file/url", "schema.maxLength")]


def test_fixed_defects_are_no_longer_reported(modified_spec: Path) -> None:
    vendored = {f.path for f in audit_spec().findings if f.rule == "spec.discriminator.mapping_value"}
    newer = {f.path for f in audit_spec(str(modified_spec)).findings if f.rule == "spec.discriminator.mapping_value"}
    assert "/components/schemas/CreateAvatarRequestBody/discriminator/mapping/photo" in vendored
    assert not any(p.startswith("/components/schemas/CreateAvatarRequestBody/") for p in newer)
    assert len(newer) == len(vendored) - 3


def test_cli_spec_flag(modified_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = tmp_path / "five.json"
    import json

    payload.write_text(json.dumps(prompt(reference_images=[URL] * 5, avatar_group_id="g")))
    assert main(["lint", str(payload)]) == 1
    assert main(["lint", "--spec", str(modified_spec), str(payload)]) == 0
    capsys.readouterr()
