"""Regression tests for reviewed defects: secrets, live safety, the create cap and odd inputs."""

from __future__ import annotations

from contract_tests.exchange import Exchange, SentRequest
from contract_tests.session import RetryPolicy, retry_after_seconds


def _answer(headers: dict[str, str]) -> Exchange:
    return Exchange(SentRequest("POST", "/v3/avatars", (), None, None), 429, headers, b"")


def test_retry_after_with_a_unicode_digit_falls_back_to_the_default_wait() -> None:
    policy = RetryPolicy()
    # "²".isdigit() is True, but float("²") raises: only ASCII digits are delay-seconds.
    for odd in ("²", "١٢", " ³ "):
        assert retry_after_seconds(_answer({"retry-after": odd}), policy) == policy.default_wait
    assert retry_after_seconds(_answer({"retry-after": " 3 "}), policy) == 3.0
