"""Idempotency-Key: the spec's pattern with ECMA-262 semantics, and its length bounds."""

from __future__ import annotations

import string

import jsonschema
import pytest

from avatar_contract.validators import (
    ContractViolation,
    check_idempotency_key,
    contract_for,
    lint_request,
    validate_idempotency_key,
)

ALLOWED = string.ascii_letters + string.digits + "_-:."


@pytest.mark.parametrize("value", ["a", "k" * 255, ALLOWED, "550e8400-e29b-41d4-a716-446655440000", "a:b.c_d-e"])
def test_allowed_keys(value: str) -> None:
    assert check_idempotency_key(value).findings == ()
    validate_idempotency_key(value)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "idempotency_key.minLength"),
        ("k" * 256, "idempotency_key.maxLength"),
        ("abc\n", "idempotency_key.pattern"),
        ("a b", "idempotency_key.pattern"),
        ("a/b", "idempotency_key.pattern"),
        ("a=b", "idempotency_key.pattern"),
        ("clé", "idempotency_key.pattern"),
        ('"a"', "idempotency_key.pattern"),
        ("\nabc", "idempotency_key.pattern"),
    ],
)
def test_rejected_keys(value: str, rule: str) -> None:
    report = check_idempotency_key(value)
    assert rule in report.rules()
    with pytest.raises(ContractViolation):
        validate_idempotency_key(value)


def test_trailing_newline_is_invalid_although_python_re_semantics_accept_it() -> None:
    # Python's re.search lets `$` match before a final newline; ECMA-262 does not.
    schema = dict(contract_for().idempotency_key.schema)  # type: ignore[union-attr]
    assert jsonschema.Draft202012Validator(schema).is_valid("abc\n")
    report = check_idempotency_key("abc\n")
    assert not report.valid
    assert "newline" in (report.errors[0].hint or "")


def test_the_offending_character_is_named() -> None:
    hint = check_idempotency_key("order/42").errors[0].hint or ""
    assert "'/'" in hint and "position 5" in hint


def test_non_string_is_an_error_not_an_exception() -> None:
    assert check_idempotency_key(None).rules() == {"idempotency_key.type"}
    assert check_idempotency_key(12).rules() == {"idempotency_key.type"}


def test_lint_request_checks_the_header_case_insensitively() -> None:
    body = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://x"}}
    assert lint_request(body, headers={"idempotency-key": "ok-1"}).valid
    report = lint_request(body, headers={"IDEMPOTENCY-KEY": "bad key"})
    assert report.rules() == {"idempotency_key.pattern"}
