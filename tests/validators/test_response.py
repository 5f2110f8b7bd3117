"""Responses per documented status, strict profile, headers and consistency."""

from __future__ import annotations

from typing import Any

import pytest

from avatar_contract.validators import ContractViolation, Linter, check_retry_after, lint_response, validate_response

JSON = {"content-type": "application/json"}


def look(**extra: Any) -> dict[str, Any]:
    return {"id": "lk_1", "name": "Anna", "avatar_type": "photo_avatar", "group_id": "ag_1",
            "status": "processing", **extra}


def group(**extra: Any) -> dict[str, Any]:
    return {"id": "ag_1", "name": "Anna", "created_at": 1711929600, "looks_count": 1, **extra}


def ok(**data: Any) -> dict[str, Any]:
    return {"data": {"avatar_item": look(), "avatar_group": group(), **data}}


def envelope(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": "m", "param": None, "doc_url": None}}


def rules(report: Any) -> set[tuple[str, str]]:
    return {(f.path, f.rule) for f in report.errors}


def test_a_documented_200_is_valid_strictly() -> None:
    assert lint_response(200, ok(), headers=JSON, strict=True).findings == ()


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "invalid_parameter"), (401, "authentication_failed"), (409, "request_in_progress")],
)
def test_documented_error_envelopes_are_valid(status: int, code: str) -> None:
    assert lint_response(status, envelope(code), headers=JSON, strict=True).findings == ()


def test_a_code_only_an_example_shows_is_a_warning_even_strictly() -> None:
    # The vendored spec's 400 code is only in an example: examples are not requirements.
    report = lint_response(400, envelope("invalid_parameter_value"), headers=JSON, strict=True)
    assert report.errors == ()
    [warning] = [f for f in report.findings if f.rule == "errors.code"]
    assert warning.severity == "warning" and "example, not a requirement" in warning.message


def test_a_code_the_prose_states_is_an_error_strictly() -> None:
    # request_in_progress is named in the Idempotency-Key description, not only in the 409 example.
    report = lint_response(409, envelope("conflict"), headers=JSON, strict=True)
    assert ("/error/code", "errors.code") in rules(report)


def test_undocumented_status_is_an_error() -> None:
    report = lint_response(201, ok())
    assert rules(report) == {("", "response.status_undocumented")}
    assert "200" in report.errors[0].message


@pytest.mark.parametrize(
    ("body", "path", "rule"),
    [
        (ok(avatar_item=look(id=None)), "/data/avatar_item/id", "schema.type"),
        (ok(avatar_item={k: v for k, v in look().items() if k != "id"}), "/data/avatar_item/id", "schema.required"),
        (ok(avatar_item=look(status="done")), "/data/avatar_item/status", "schema.enum"),
        (ok(avatar_group=group(created_at="2024-01-01")), "/data/avatar_group/created_at", "schema.type"),
        (ok(avatar_item=look(avatar_type="video_avatar")), "/data/avatar_item/avatar_type", "schema.enum"),
    ],
)
def test_schema_errors_in_200_bodies_point_at_the_field(body: Any, path: str, rule: str) -> None:
    assert (path, rule) in rules(lint_response(200, body))


def test_legacy_avatar_type_gets_a_hint() -> None:
    report = lint_response(200, ok(avatar_item=look(avatar_type="video_avatar")))
    assert "digital_twin" in (report.errors[0].hint or "")


def test_strict_profile_requires_the_data_wrapper_and_an_item() -> None:
    assert lint_response(200, {}).valid  # the published schema alone lets this through
    assert ("/data", "response.data_missing") in rules(lint_response(200, {}, strict=True))
    unwrapped = {"avatar_item": look(), "avatar_group": group()}
    assert ("/data", "response.data_missing") in rules(lint_response(200, unwrapped, strict=True))
    empty = {"data": {"avatar_item": None, "avatar_group": None}}
    assert ("/data", "response.data_empty") in rules(lint_response(200, empty, strict=True))


def test_strict_profile_requires_the_error_envelope_and_documented_code() -> None:
    assert ("/error", "errors.envelope") in rules(lint_response(400, {"message": "bad"}, strict=True))
    wrong = lint_response(409, envelope("bad_request"), strict=True)  # a code the spec states
    assert ("/error/code", "errors.code") in rules(wrong)
    relaxed = lint_response(409, envelope("bad_request"))
    assert relaxed.valid and [f.rule for f in relaxed.warnings] == ["errors.code"]


def test_error_envelope_needs_code_and_message() -> None:
    body = {"error": {"message": "m"}}
    assert ("/error/code", "schema.required") in rules(lint_response(401, body))
    assert ("/error/param", "schema.type") in rules(
        lint_response(401, {"error": {"code": "authentication_failed", "message": "m", "param": 3}})
    )


@pytest.mark.parametrize(
    ("value", "valid"),
    [("30", True), ("0", True), (" 7", True), (None, False), ("Wed, 21 Oct 2015 07:28:00 GMT", False),
     ("1.5", False), ("-1", False), ("soon", False), ("", False)],
)
def test_retry_after_must_be_delay_seconds(value: str | None, valid: bool) -> None:
    assert check_retry_after(value).valid is valid
    headers = {**JSON, **({"Retry-After": value} if value is not None else {})}
    report = lint_response(429, envelope("rate_limit_exceeded"), headers=headers)
    assert report.valid is valid


def test_http_date_is_named_as_such() -> None:
    message = check_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").errors[0].message
    assert "HTTP-date" in message


def test_content_type_is_checked_when_headers_are_given() -> None:
    report = lint_response(200, ok(), headers={"Content-Type": "text/html; charset=utf-8"})
    assert ("", "response.content_type") in rules(report)
    assert lint_response(200, ok(), headers={"Content-Type": "application/json; charset=utf-8"}).valid
    assert ("", "response.content_type") in rules(lint_response(200, ok(), headers={}))


def test_avatar_type_must_follow_the_request_variant() -> None:
    photo_req = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://x"}}
    twin_req = {**photo_req, "type": "digital_twin"}
    assert lint_response(200, ok(), request=photo_req).valid
    mismatch = lint_response(200, ok(), request=twin_req)
    assert ("/data/avatar_item/avatar_type", "consistency.avatar_type") in rules(mismatch)
    twin_ok = ok(avatar_item=look(avatar_type="digital_twin"))
    assert lint_response(200, twin_ok, request=twin_req).valid
    assert not lint_response(200, twin_ok, request=photo_req).valid


def test_sent_group_id_must_be_echoed() -> None:
    request = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://x"},
               "avatar_group_id": "ag_1"}
    assert lint_response(200, ok(), request=request).valid
    other = ok(avatar_item=look(group_id="ag_2"), avatar_group=group(id="ag_2"))
    assert ("/data", "consistency.group_id") in rules(lint_response(200, other, request=request))
    dropped = ok(avatar_item=look(group_id=None), avatar_group=None)
    assert ("/data", "consistency.group_id") in rules(lint_response(200, dropped, request=request))


def test_raw_bodies_and_bad_json() -> None:
    assert lint_response(200, b'{"data": {"avatar_item": null}}').valid
    report = lint_response(200, b"<html>")
    assert [f.rule for f in report.errors] == ["json.invalid"]


def test_validate_response_raises_with_the_report() -> None:
    with pytest.raises(ContractViolation) as info:
        validate_response(418, {})
    assert info.value.findings[0].rule == "response.status_undocumented"


def test_linter_strict_default_can_be_overridden_per_call() -> None:
    linter = Linter(strict=True)
    assert not linter.lint_response(200, {}).valid
    assert linter.lint_response(200, {}, strict=False).valid
