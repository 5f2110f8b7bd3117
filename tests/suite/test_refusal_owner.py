"""Which clause a refusal probe answered 2xx belongs to: the first reason a correct server has to refuse."""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests.clauses.refusal_owner import refusal_owner, refusal_reason
from avatar_contract.contract_tests.targets.exchange import ABSENT, Credential, SentRequest
from avatar_contract.validators import Linter

KEY = "sk_live_refusal_owner_key_1"
VALID = {"type": "prompt", "name": "Anna", "prompt": "a portrait"}


def _request(credential: Credential | None, key: bytes | None = b"ok-key", value: object = VALID) -> SentRequest:
    headers = ((("Idempotency-Key", key),) if key is not None else ())
    return SentRequest("POST", "/v3/avatars", headers, credential, b"{}", value)


def _owner(request: SentRequest) -> str | None:
    return refusal_owner(request, {KEY}, Linter().contract.request.verdict.is_valid)


@pytest.mark.parametrize(("credential", "owner"), [
    (None, "auth.missing"),
    (Credential("x-api-key", "", ""), "auth.missing"),
    (Credential("x-api-key", "  ", ""), "auth.missing"),
    (Credential("Authorization", "Bearer", ""), "auth.missing"),       # a scheme with no token
    (Credential("Authorization", "Bearer ", ""), "auth.missing"),
    (Credential("x-api-key", "wrong", ""), "auth.invalid"),
    (Credential("Authorization", "Bearer wrong", ""), "auth.invalid"),
    # the real key in the wrong form: the header is compared with its form, not the value alone
    (Credential("Authorization", KEY, ""), "auth.invalid"),
    (Credential("x-api-key", f"Bearer {KEY}", ""), "auth.invalid"),
    (Credential("Authorization", f"Basic {KEY}", ""), "auth.invalid"),
    (Credential("X-Other-Key", KEY, ""), "auth.invalid"),
])
def test_credentials_decide_first(credential: Credential | None, owner: str) -> None:
    assert _owner(_request(credential)) == owner


@pytest.mark.parametrize("credential", [
    Credential("x-api-key", KEY, ""), Credential("X-API-KEY", KEY, ""),
    Credential("Authorization", f"Bearer {KEY}", ""), Credential("authorization", f"bearer {KEY}", ""),
])
def test_either_documented_form_with_a_real_key_is_real(credential: Credential) -> None:
    """Header names and the auth scheme are case-insensitive (RFC 9110): no auth owner."""
    assert _owner(_request(credential)) is None


def test_then_the_key_then_the_body() -> None:
    real = Credential("x-api-key", KEY, "")
    assert _owner(_request(real, key=b"has space")) == "idempotency.key_format"
    assert _owner(_request(real, value={"type": "prompt"})) == "request.rejects_invalid"
    assert _owner(_request(real, value=ABSENT)) == "request.rejects_invalid"
    assert _owner(_request(real)) is None  # nothing refusable: a create, not a probe


@pytest.mark.parametrize(("credential", "key", "value", "reason"), [
    (None, b"ok", VALID, "it carries no credential"),
    (Credential("x-api-key", "", ""), b"ok", VALID, "its x-api-key is empty"),
    (Credential("Authorization", "Bearer nope", ""), b"ok", VALID, "its Authorization holds no key of this run"),
    (Credential("x-api-key", KEY, ""), b"", VALID, "its Idempotency-Key is empty"),
    (Credential("x-api-key", KEY, ""), b"k" * 256, VALID, "its Idempotency-Key (256 characters) breaks"),
    (Credential("x-api-key", KEY, ""), b"ok", {"type": "prompt"}, "its body is not a valid request"),
])
def test_the_reason_names_what_made_the_request_refusable(credential: Credential | None, key: bytes,
                                                          value: object, reason: str) -> None:
    request = _request(credential, key=key, value=value)
    owner = _owner(request)
    assert owner is not None and refusal_reason(request, owner).startswith(reason)
