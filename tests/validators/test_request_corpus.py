"""Every variant, file source and boundary, with the exact path of each error."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.validators import ContractViolation, lint_request, validate_request

from .payloads import ASSET_ID, B64_IMAGE, B64_VIDEO, SOURCES, URL, photo, prompt, twin

ASTRAL = "\U0001f600"  # one code point, two UTF-16 units: lengths count code points


VALID: list[tuple[str, dict[str, Any]]] = [
    *[(f"photo/{name}", photo(file=src)) for name, src in SOURCES.items()],
    *[(f"twin/{name}", twin(file=B64_VIDEO if name == "base64" else src)) for name, src in SOURCES.items()],
    *[
        (f"prompt/{n}-refs/{name}", prompt(reference_images=[src] * n, avatar_group_id="ag_1"))
        for n in range(4) for name, src in SOURCES.items()
    ],
    ("prompt/null-refs", prompt(reference_images=None)),
    ("photo/group-null", photo(avatar_group_id=None)),
    ("photo/group-string", photo(avatar_group_id="ag_1")),
    ("prompt/1000-code-points", prompt(prompt="x" * 1000)),
    ("prompt/1000-astral", prompt(prompt=ASTRAL * 1000)),
    ("prompt/mixed-refs", prompt(reference_images=[URL, ASSET_ID, B64_IMAGE], avatar_group_id="g")),
]


@pytest.mark.parametrize(("label", "body"), VALID, ids=[v[0] for v in VALID])
def test_valid_bodies_have_no_errors(label: str, body: dict[str, Any]) -> None:
    report = lint_request(body)
    assert report.valid, report
    assert report.errors == ()
    validate_request(body)  # the raising variant agrees


INVALID: list[tuple[str, Any, str, str]] = [
    # label, body, expected path, expected rule
    ("missing type", {"name": "A", "file": URL}, "/type", "discriminator.missing"),
    ("type video (legacy)", {**photo(), "type": "video"}, "/type", "discriminator.unknown"),
    ("type Photo", {**photo(), "type": "Photo"}, "/type", "discriminator.unknown"),
    ("type 3", {**photo(), "type": 3}, "/type", "discriminator.invalid"),
    ("type list", {**photo(), "type": ["photo"]}, "/type", "discriminator.invalid"),
    ("type object", {**photo(), "type": {}}, "/type", "discriminator.invalid"),
    ("type null", {**photo(), "type": None}, "/type", "discriminator.invalid"),
    ("photo missing name", {"type": "photo", "file": URL}, "/name", "schema.required"),
    ("photo missing file", {"type": "photo", "name": "A"}, "/file", "schema.required"),
    ("twin missing file", {"type": "digital_twin", "name": "A"}, "/file", "schema.required"),
    ("prompt missing prompt", {"type": "prompt", "name": "A"}, "/prompt", "schema.required"),
    ("name not string", photo(name=7), "/name", "schema.type"),
    ("file url missing", photo(file={"type": "url"}), "/file/url", "schema.required"),
    ("file type unknown", photo(file={"type": "link", "url": "https://x"}), "/file/type", "discriminator.unknown"),
    ("file type missing", photo(file={"url": "https://x"}), "/file/type", "discriminator.missing"),
    ("file type int", photo(file={"type": 1}), "/file/type", "discriminator.invalid"),
    ("file not object", photo(file="https://x"), "/file", "schema.type"),
    ("asset extra field", photo(file={**URL, "size": 3}), "/file/size", "schema.additionalProperties"),
    ("asset_id missing", photo(file={"type": "asset_id"}), "/file/asset_id", "schema.required"),
    ("asset_id not string", photo(file={"type": "asset_id", "asset_id": 5}), "/file/asset_id", "schema.type"),
    ("base64 missing media_type", photo(file={"type": "base64", "data": "aGk="}),
     "/file/media_type", "schema.required"),
    ("legacy content_type", photo(file={"type": "base64", "content_type": "image/png", "data": "aGk="}),
     "/file/content_type", "schema.additionalProperties"),
    ("prompt 1001 code points", prompt(prompt="x" * 1001), "/prompt", "schema.maxLength"),
    ("prompt 1001 astral", prompt(prompt=ASTRAL * 1001), "/prompt", "schema.maxLength"),
    ("prompt not string", prompt(prompt=["x"]), "/prompt", "schema.type"),
    ("4 reference images", prompt(reference_images=[URL] * 4, avatar_group_id="g"),
     "/reference_images", "schema.maxItems"),
    ("reference_images string", prompt(reference_images="x"), "/reference_images", "schema.anyOf"),
    ("reference image bad type", prompt(reference_images=[URL, {"type": "file"}], avatar_group_id="g"),
     "/reference_images/1/type", "discriminator.unknown"),
    ("reference image not object", prompt(reference_images=[URL, 3], avatar_group_id="g"),
     "/reference_images/1", "schema.type"),
    ("reference image extra", prompt(reference_images=[{**ASSET_ID, "x": 1}], avatar_group_id="g"),
     "/reference_images/0/x", "schema.additionalProperties"),
    ("group id int", photo(avatar_group_id=5), "/avatar_group_id", "schema.anyOf"),
    ("body array", [photo()], "", "schema.type"),
    ("body string", "photo", "", "schema.type"),
    ("body null", None, "", "schema.type"),
]


@pytest.mark.parametrize(("label", "body", "path", "rule"), INVALID, ids=[c[0] for c in INVALID])
def test_each_invalid_body_is_reported_at_its_own_path(label: str, body: Any, path: str, rule: str) -> None:
    # A str body would be parsed as raw JSON text, so pass non-dict values pre-encoded.
    payload = body if not isinstance(body, str) else b'"photo"'
    report = lint_request(payload)
    assert not report.valid
    assert (path, rule) in {(f.path, f.rule) for f in report.errors}, report
    assert all(f.path != "" or f.rule != "schema.oneOf" for f in report.errors)
    with pytest.raises(ContractViolation) as info:
        validate_request(payload)
    assert info.value.report == report


@pytest.mark.parametrize("bad", ["video", "Photo", 3, ["photo"], {}, None])
def test_unknown_discriminators_list_the_allowed_values(bad: Any) -> None:
    report = lint_request({**photo(), "type": bad})
    (finding,) = report.errors
    assert finding.path == "/type"
    for allowed in ("photo", "digital_twin", "prompt"):
        assert allowed in finding.message


def test_the_issue_example_points_at_the_file_not_the_root() -> None:
    report = lint_request(b'{"type":"photo","name":"A","file":{"type":"url"}}')
    assert [(f.path, f.rule) for f in report.errors] == [("/file/url", "schema.required")]


def test_legacy_forms_carry_hints() -> None:
    video = lint_request({**twin(), "type": "video"}).errors[0]
    assert "digital_twin" in (video.hint or "")
    legacy = lint_request(photo(file={"type": "base64", "content_type": "image/png", "data": "aGk="}))
    hints = {f.path: f.hint for f in legacy.findings}
    assert "media_type" in (hints["/file/content_type"] or "")


def test_several_errors_are_all_reported() -> None:
    report = lint_request({"type": "prompt", "name": 1, "prompt": "x" * 1001,
                           "reference_images": [URL] * 4})
    paths = {f.path for f in report.errors}
    assert {"/name", "/prompt", "/reference_images"} <= paths


def test_messages_never_embed_huge_values() -> None:
    report = lint_request(prompt(prompt="y" * 5_000_000))
    assert all(len(f.message) < 300 for f in report.findings)
