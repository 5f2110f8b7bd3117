"""What one recorded exchange shows: request lint, the response checks, auth, the key's format.

Each finding goes to the clause that owns it, through the suite's own owners:
the response checks are ``checks.check_exchange`` (the schemathesis checks over
the validators, strict profile, with the request for consistency); the request
is judged by ``Linter.lint_request`` (body and Idempotency-Key).  What an
answer cannot show is left alone: a 401 says nothing about the body, a rate
limiter's answer nothing about the request (attribution.rate_limited).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from avatar_contract.validators import Finding, Report

from ..clauses.attribution import rate_limited
from ..clauses.checks import BODY_CHECKS, RESPONSE_CHECKS, linter
from ..clauses.finding import ClauseFailure
from ..clauses.idempotency import _names_the_key
from ..targets.exchange import ABSENT, Exchange
from .existence import Existence
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


# A verdict as kept: the clauses checked, and each failure's (clause, message, kind, pointer).
Verdict = tuple[tuple[str, ...], tuple[tuple[str, str, str, str | None], ...]]
# The one clock-dependent rule (created_at not a day past the run's clock): its verdict is never
# reused, so a cached answer is judged exactly as a fresh one would be.
_CLOCK_RULES = ("sentence.unix_seconds",)
_SMALL = 8192


class Verdicts:
    """The response checks' verdicts by everything they read, so an answer seen before is not judged
    again (recorded traffic repeats its 400s, 401s, 429s and every replay).

    They read the status, the body (whole or not), the Content-Type and, on a 2xx only, the request
    body (``consistency.*``); the key is those, the bodies as the bytes judged (a long one by their
    SHA-256, never the recorder's hash, which a journal could get wrong).  ``size`` verdicts are kept,
    least recently used first out, so memory does not grow with the file.  ``enabled=False`` judges every answer afresh.
    """

    def __init__(self, size: int = 1024, *, enabled: bool = True) -> None:
        self.size, self.enabled = size, enabled
        self.kept: OrderedDict[tuple[Any, ...], Verdict] = OrderedDict()
        self.hits = 0

    def judge(self, exchange: Exchange, names: list[str]) -> Verdict:
        if not self.enabled:
            return _fresh(exchange, names)
        status = exchange.status
        request = exchange.request.content if 200 <= status < 300 else None
        key = (status, exchange.headers.get("content-type"), exchange.judgeable, tuple(names),
               _held(exchange.content), None if request is None else _held(request))
        found = self.kept.get(key)
        if found is not None:
            self.kept.move_to_end(key)
            self.hits += 1
            return found
        verdict = _fresh(exchange, names)
        if not any(rule in kind for _, _, kind, _ in verdict[1] for rule in _CLOCK_RULES):
            self.kept[key] = verdict
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return verdict


def _held(body: bytes) -> bytes:
    """A body as part of a key: itself when small (hashed by the dict, no digest to compute), else its
    SHA-256, so the cache holds at most ``size`` × 2 × ``_SMALL`` bytes of bodies."""
    return body if len(body) <= _SMALL else b"sha256:" + hashlib.sha256(body).digest()


def _fresh(exchange: Exchange, names: list[str]) -> Verdict:
    return tuple(names), tuple((f.clause, f.message, f.kind, f.pointer) for f in _checked(exchange, names))


def responses(tallies: Tallies, exchange: Exchange, where: str, verdicts: Verdicts | None = None) -> None:
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
    if status == 415 and other_media_type(exchange) is not None:
        # RFC 9110 §15.5.16's answer to a media type the operation does not take: the spec need not list it.
        applies["response.status"] = False
        tallies["response.status"].cases += 1
        tallies["response.status"].note("415 answered a request not sent as the spec's media type (RFC 9110 "
                                        "§15.5.16): not an undocumented status")
    names = [n for n in RESPONSE_CHECKS if applies[n] and (exchange.judgeable or n not in BODY_CHECKS)]
    checked, failures = (verdicts or _UNCACHED).judge(exchange, names)
    failed = set()
    for clause, message, kind, pointer in failures:
        tallies[clause].fail(f"{message} ({where})", exchange, kind, pointer=pointer)  # Tally.adopt's
        failed.add(clause)
    for name in checked:
        if name not in failed:
            tallies[name].cases += 1
    if status == 429:
        tally = tallies["rate_limit.retry_after"]
        report = linter().check_retry_after(exchange.headers.get("retry-after"))
        if report.errors:
            tally.fail(f"Retry-After: {report.errors[0].message} ({where})", exchange, kind="Retry-After")
        else:
            tally.cases += 1


_UNCACHED = Verdicts(enabled=False)


def other_media_type(exchange: Exchange) -> str | None:
    """The request's declared Content-Type when it is none of the spec's request media types (None when
    it is one, or none was declared): such a request is no valid request of this operation, so the
    target may refuse it (400, or 415 as RFC 9110 §15.5.16 has it) and the suite asserts neither."""
    raw = exchange.request.header("content-type")
    if raw is None or raw == b"application/json":
        return None
    declared = raw.decode("latin-1").split(";", 1)[0].strip().lower()
    accepted = linter().contract.request.media_types
    return None if any(declared == m.lower() for m in accepted) else declared or "(empty)"


def request(tallies: Tallies, exchange: Exchange, tenant: str | None, scheme: str | None, where: str,
            retry: bool, *, replayed: bool = False, existence: Existence | None = None) -> dict[str, Any] | None:
    """Auth, request lint and the key's format; returns the body when it is a valid create's
    (``retry``: the idempotency clauses judge this answer, so request.variants leaves it alone;
    ``replayed``: the answer is an earlier request's, repeated, so it says nothing of this body)."""
    status = exchange.status
    if scheme is None or (tenant is None and scheme in ("x-api-key", "bearer")):
        _without_credentials(tallies, exchange, where)
        return None
    if scheme == "other":
        _other_scheme(tallies, exchange, where)
        return None
    if status == 401 or rate_limited(exchange) or status == 0:
        return None
    media = other_media_type(exchange)
    if media is not None and not 200 <= status < 300:
        tallies["request.variants"].note(
            f"a request sent as {media}, not as the spec's media type, was refused {status}: no valid request of "
            "this operation, so not judged")
        return None
    if replayed:
        return None
    content = exchange.request.content
    key = exchange.request.idempotency_key
    # ``lint_request`` with the key as a header is the body's report plus the key's; the key's comes
    # from ``key_report``, which the replay judgment of this exchange already asked for.
    report = linter().lint_request(content if content is not None else b"")
    body_errors = [f for f in report.errors if not _is_key_finding(f)]
    key_errors = [f for f in key_report(key).errors if _is_key_finding(f)] if key is not None else []
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
    if existence is not None and existence.unknowable(tenant, value, exchange, where):
        return None
    # The schema lets it through, but a sentence of the spec advises against it (an http:// URL
    # where it says "HTTPS", a media type the data is not): a server may refuse it.  An undeclared
    # property is no such case: the schema admits it, and verify holds servers to accepting one.
    advised = [f for f in report.warnings if f.rule != "field.unknown"]
    if advised:
        tally.note(f"a body the spec's prose advises against ({advised[0].rule}) was refused {status}: allowed, "
                   "so not judged")
        return None
    tally.fail(f"a valid body was refused: {exchange.summary(120)} ({where})", exchange, kind=f"refused {status}")
    return None


def key_report(key: str) -> Report:
    """``Linter.check_idempotency_key(key)``, asked once per exchange: the last answer is kept (for
    the linter it came from, as a run may pin another spec)."""
    checker = linter()
    last_checker, last_key, last_report = _LAST_KEY[0]  # one read: another thread may replace it
    if last_checker is checker and last_key == key:
        return last_report  # type: ignore[no-any-return]
    report = checker.check_idempotency_key(key)
    _LAST_KEY[0] = (checker, key, report)
    return report


_LAST_KEY: list[tuple[Any, Any, Any]] = [(None, None, None)]


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
