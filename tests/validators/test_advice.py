"""Warnings: the payload is schema-valid but will not work as intended."""

from __future__ import annotations

from avatar_contract.validators import lint_request

from .payloads import B64_IMAGE, B64_VIDEO, URL, photo, prompt, twin


def rules_at(body: object) -> set[tuple[str, str, str]]:
    return {(f.severity, f.path, f.rule) for f in lint_request(body).findings}


def test_clean_payload_has_no_findings_at_all() -> None:
    assert lint_request(photo()).findings == ()


def test_http_url_is_a_warning_not_an_error() -> None:
    report = lint_request(photo(file={"type": "url", "url": "http://cdn.example.com/a.jpg"}))
    assert report.valid
    assert ("warning", "/file/url", "url.not_https") in rules_at(photo(file={"type": "url", "url": "http://x"}))


def test_https_in_any_case_is_fine() -> None:
    assert lint_request(photo(file={"type": "url", "url": "HTTPS://cdn.example.com/a.jpg"})).findings == ()


def test_undecodable_base64_is_flagged() -> None:
    body = photo(file={**B64_IMAGE, "data": "not base64!!"})
    assert ("warning", "/file/data", "base64.undecodable") in rules_at(body)
    assert lint_request(photo(file=B64_IMAGE)).findings == ()


def test_media_type_must_fit_the_variant() -> None:
    assert ("warning", "/file/media_type", "media_type.mismatch") in rules_at(photo(file=B64_VIDEO))
    assert ("warning", "/file/media_type", "media_type.mismatch") in rules_at(twin(file=B64_IMAGE))
    assert lint_request(twin(file=B64_VIDEO)).findings == ()
    refs = prompt(reference_images=[B64_VIDEO], avatar_group_id="g")
    assert ("warning", "/reference_images/0/media_type", "media_type.mismatch") in rules_at(refs)


def test_reference_images_need_a_group() -> None:
    assert ("warning", "/reference_images", "reference_images.without_group") in rules_at(
        prompt(reference_images=[URL])
    )
    assert lint_request(prompt(reference_images=[URL], avatar_group_id="ag_1")).findings == ()
    assert lint_request(prompt(reference_images=[])).findings == ()


def test_empty_name_is_a_warning() -> None:
    assert ("warning", "/name", "name.empty") in rules_at(photo(name=""))
    assert ("warning", "/name", "name.empty") in rules_at(photo(name="   "))


def test_unknown_top_level_field_suggests_the_right_one() -> None:
    report = lint_request(photo(avatar_groupid="ag_1"))
    assert report.valid
    (finding,) = report.findings
    assert (finding.severity, finding.path, finding.rule) == ("warning", "/avatar_groupid", "field.unknown")
    assert "avatar_group_id" in (finding.hint or "")


def test_warnings_also_come_with_errors() -> None:
    report = lint_request({"type": "photo", "file": {"type": "url", "url": "http://x"}})
    assert ("/name", "schema.required") in {(f.path, f.rule) for f in report.errors}
    assert ("/file/url", "url.not_https") in {(f.path, f.rule) for f in report.warnings}
