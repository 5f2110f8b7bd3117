"""Properties: every public check answers with a Report, whatever it is handed (issue 9, §1)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from avatar_contract.validators import (
    check_idempotency_key,
    check_retry_after,
    lint_request,
    lint_response,
)

from .hostile import bodies, headers, keys, report_is_sound, statuses, values

RELAXED = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)


@RELAXED
@given(statuses, bodies, headers, bodies | values)
def test_lint_response_never_raises(status: Any, body: Any, hdrs: Any, request: Any) -> None:
    report_is_sound(lint_response(status, body, headers=hdrs, request=request))
    report_is_sound(lint_response(status, body, headers=hdrs, request=request, strict=True))


@RELAXED
@given(keys)
def test_check_idempotency_key_never_raises(key: Any) -> None:
    report = check_idempotency_key(key)
    report_is_sound(report)
    if not isinstance(key, str | bytes):
        assert report.rules() == {"idempotency_key.type"}


@RELAXED
@given(keys | headers, statuses)
def test_check_retry_after_never_raises(value: Any, status: Any) -> None:
    report_is_sound(check_retry_after(value, status))


@RELAXED
@given(bodies, headers)
def test_lint_request_with_headers_never_raises(body: Any, hdrs: Any) -> None:
    report_is_sound(lint_request(body, headers=hdrs))


@RELAXED
@given(keys)
def test_lint_request_checks_any_key_in_headers(key: Any) -> None:
    with_key = lint_request(b"{}", headers={"Idempotency-Key": key})
    report_is_sound(with_key)
    alone = check_idempotency_key(key)
    # Whatever the key, the header check says exactly what check_idempotency_key says
    # (keys that are not text or bytes are refused as header entries instead).
    key_rules = {f.rule for f in with_key.findings if f.rule.startswith(("idempotency_key.", "headers."))}
    if isinstance(key, str | bytes | bytearray) or (isinstance(key, int) and not isinstance(key, bool)):
        expected = {f.rule for f in alone.findings} if not isinstance(key, int) else key_rules
        assert key_rules == expected
    else:
        assert key_rules == {"headers.entry"}
