"""What one recorded exchange shows: request lint, the response checks, auth, the key's format.

Each finding goes to the clause that owns it, through the suite's own owners:
the response checks are ``checks.check_exchange`` (the schemathesis checks over
the validators, strict profile, with the request for consistency); the request
is judged by ``Linter.lint_request`` (body and Idempotency-Key).  What an
answer cannot show is left alone: a 401 says nothing about the body, a rate
limiter's answer nothing about the request (attribution.rate_limited).
"""

from __future__ import annotations

from typing import Any

from avatar_contract.validators import Finding

from ..clauses.attribution import rate_limited
from ..clauses.checks import BODY_CHECKS, RESPONSE_CHECKS, linter
from ..clauses.finding import ClauseFailure
from ..clauses.idempotency import _names_the_key
from ..targets.exchange import ABSENT, Exchange
from .tally import Tallies


def _is_key_finding(finding: Finding) -> bool:
    return finding.rule.startswith(("idempotency_key.", "headers."))


class _Answer:
    """The part of a schemathesis ``Response`` the response checks read (building a real one costs
    more than judging it: it prepares a ``requests`` request)."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = exchange.status
        self.content = exchange.body
        self.headers = {k: [v] for k, v in exchange.headers.items()}


class _Case:
    __slots__ = ("body",)

    def __init__(self, body: Any) -> None:
        self.body = body


def _checked(exchange: Exchange, names: list[str]) -> list[ClauseFailure]:
    """``checks.check_exchange``'s verdicts, from the same schemathesis check functions."""
    answer, case = _Answer(exchange), _Case(request_value(exchange))
    failures = []
    for name in names:
        try:
            RESPONSE_CHECKS[name](None, answer, case)  # type: ignore[arg-type]
        except ClauseFailure as failure:
            failure.exchange = exchange
            failures.append(failure)
    return failures


def responses(tallies: Tallies, exchange: Exchange, where: str) -> None:
    """response.schema, response.status, response.content_type and errors.envelope on one answer."""
    status = exchange.status
    applies = {
        "response.status": True,
        "response.content_type": bool(exchange.content),
        "response.schema": linter().contract.response_for(status) is not None and exchange.judgeable,
        "errors.envelope": status >= 400 and exchange.judgeable,
    }
    if not exchange.judgeable:
        tallies["response.schema"].note("a body not kept whole (over 1 MiB, or cut by the recorder): only its "
                                        "status and headers were judged")
    names = [n for n in RESPONSE_CHECKS if applies[n] and (exchange.judgeable or n not in BODY_CHECKS)]
    failed = set()
    for failure in _checked(exchange, names):
        tallies[failure.clause].adopt(failure, where)
        failed.add(failure.clause)
    for name in names:
        if name not in failed:
            tallies[name].cases += 1
    if status == 429:
        tally = tallies["rate_limit.retry_after"]
        report = linter().check_retry_after(exchange.headers.get("retry-after"))
        if report.errors:
            tally.fail(f"Retry-After: {report.errors[0].message} ({where})", exchange, kind="Retry-After")
        else:
            tally.cases += 1


def request(tallies: Tallies, exchange: Exchange, tenant: str | None, scheme: str | None, where: str,
            retry: bool) -> dict[str, Any] | None:
    """Auth, request lint and the key's format; returns the body when it is a valid create's
    (``retry``: the idempotency clauses judge this answer, so request.variants leaves it alone)."""
    status = exchange.status
    if scheme is None or (tenant is None and scheme in ("x-api-key", "bearer")):
        _without_credentials(tallies, exchange, where)
        return None
    if scheme == "other":
        _other_scheme(tallies, exchange, where)
        return None
    if status == 401 or rate_limited(exchange) or status == 0:
        return None
    content = exchange.request.content
    headers = {"idempotency-key": key} if (key := exchange.request.idempotency_key) is not None else None
    report = linter().lint_request(content if content is not None else b"", headers=headers)
    body_errors = [f for f in report.errors if not _is_key_finding(f)]
    key_errors = [f for f in report.errors if _is_key_finding(f)]
    if content is None:
        return None  # a request body the recorder cut: not judged
    if key_errors:
        _malformed_key(tallies, exchange, key_errors, body_ok=not body_errors, where=where)
    if body_errors:
        _invalid_body(tallies, exchange, body_errors, where)
        return None
    if key_errors or retry or status == 409:
        return None
    value = exchange.request.value
    tally = tallies["request.variants"]
    if 200 <= status < 300:
        tally.cases += 1
        return value if isinstance(value, dict) else None
    if status == 400 and key is not None and _names_the_key(exchange):
        tallies["idempotency.key_format"].fail(
            f"a well-formed Idempotency-Key was refused: {exchange.summary(120)} ({where})", exchange,
            kind="well-formed key refused")
        return None
    tally.fail(f"a valid body was refused: {exchange.summary(120)} ({where})", exchange, kind=f"refused {status}")
    return None


def _without_credentials(tallies: Tallies, exchange: Exchange, where: str) -> None:
    tally = tallies["auth.missing"]
    if exchange.status == 401:
        tally.cases += 1
    elif 200 <= exchange.status < 300:
        tally.fail(f"a request without credentials was answered {exchange.summary(100)} ({where})", exchange,
                   kind=f"status {exchange.status}")
    elif exchange.status == 400:
        tally.note("a request without credentials got 400: the target checks the body before credentials "
                   "(allowed), so it shows nothing about auth")


def _other_scheme(tallies: Tallies, exchange: Exchange, where: str) -> None:
    """An Authorization scheme the spec does not declare (not Bearer): never a credential."""
    tally = tallies["auth.invalid"]
    if exchange.status == 401:
        tally.cases += 1
    elif 200 <= exchange.status < 300:
        tally.fail(f"a credential under an undeclared Authorization scheme was accepted: {exchange.summary(100)} "
                   f"({where})", exchange, kind=f"status {exchange.status}")


def _malformed_key(tallies: Tallies, exchange: Exchange, findings: list[Finding], *, body_ok: bool,
                   where: str) -> None:
    tally = tallies["idempotency.key_format"]
    status = exchange.status
    if 200 <= status < 300:
        tally.fail(f"a malformed Idempotency-Key was accepted ({findings[0].message}): {exchange.summary(100)} "
                   f"({where})", exchange, kind=f"status {status}")
    elif status == 400 and (body_ok or _names_the_key(exchange)):
        tally.cases += 1  # on an invalid body, a 400 that does not name the key may be the body's
    elif status != 400 and body_ok:
        tally.fail(f"a malformed Idempotency-Key got {exchange.summary(100)}; expected 400 ({where})", exchange,
                   kind=f"status {status}")


def _invalid_body(tallies: Tallies, exchange: Exchange, findings: list[Finding], where: str) -> None:
    tally = tallies["request.rejects_invalid"]
    status = exchange.status
    shown = f"{findings[0].path or '(root)'}: {findings[0].message}"
    if status == 400:
        tally.cases += 1
    elif status == 409:
        tally.note("an invalid body got 409 (its key was in flight): not judged")
    else:
        tally.fail(f"an invalid body ({shown}) got {exchange.summary(100)}; expected 400 ({where})", exchange,
                   kind=f"status {status}")


def request_value(exchange: Exchange) -> Any:
    value = exchange.request.value
    return None if value is ABSENT else value
