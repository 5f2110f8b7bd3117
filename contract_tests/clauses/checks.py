"""The response-level clauses, as schemathesis checks.

Each is a ``@schemathesis.check`` (``(ctx, response, case)``), so it also runs
inside any schemathesis run that imports this module.  The suite calls them on
every exchange of its response tour through :func:`check_exchange`.  The oracle
is ``validators`` (strict profile); nothing here restates a schema fact.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
import schemathesis
from schemathesis import Case, CheckContext, Response

from avatar_contract.spec import Spec
from avatar_contract.validators import Finding, Linter

from ..probes.generation import operation, schema
from ..targets.exchange import ABSENT, Exchange, parse_json
from ..targets.suite_spec import suite_spec
from .finding import ClauseFailure

# Which clause owns each validators rule.  Anything unlisted is a schema matter.
_RULE_OWNER = {
    "response.content_type": "response.content_type",
    "response.status": "response.status",
    "response.status_undocumented": "response.status",
    "errors.code": "errors.envelope",
    "response.header_missing": "rate_limit.retry_after",
}


def owner(rule: str) -> str:
    if rule.startswith("retry_after."):
        return "rate_limit.retry_after"
    return _RULE_OWNER.get(rule, "response.schema")


def linter() -> Linter:
    return _linter_for(suite_spec())


@functools.cache
def _linter_for(spec: Spec) -> Linter:
    # The run's clock: the time-based sentence rules (created_at in Unix seconds) compare with it.
    return Linter(spec, strict=True, clock=time.time)


def _fail(clause: str, findings: Iterable[Finding]) -> None:
    found = list(findings)
    listed = [f"{f.path or '(root)'}: {f.message}" for f in found]
    if listed:
        failure = ClauseFailure(clause, "; ".join(listed[:5]) + (" …" if len(listed) > 5 else ""))
        failure.kind = " ".join(sorted({f"{f.rule} at {f.path or '(root)'}" for f in found}))
        failure.pointer = found[0].path
        raise failure


def _request_value(case: Case[Any]) -> Any:
    body = case.body
    return body if isinstance(body, dict) else None


def _documented(status: int) -> bool:
    return linter().contract.response_for(status) is not None


def _media(value: str | None) -> str | None:
    return value.split(";", 1)[0].strip().lower() if value else None


def _kinded(failure: ClauseFailure, kind: str) -> ClauseFailure:
    failure.kind = kind
    return failure


@schemathesis.check
def response_schema(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """response.schema: the body validates for its status (strict profile, consistency)."""
    if not _documented(response.status_code):
        return None  # response.status owns undocumented statuses
    report = linter().lint_response(response.status_code, response.content, request=_request_value(case))
    error = response.status_code >= 400  # an error body's envelope is errors.envelope's
    _fail("response.schema", (f for f in report.errors if owner(f.rule) == "response.schema"
                              and not (error and _envelope_matter(f, True))))
    return None


@schemathesis.check
def response_status(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """response.status: only statuses the operation documents."""
    status = response.status_code
    if status == 0:
        raise ClauseFailure("response.status", "no HTTP response at all")
    if not _documented(status):
        documented = ", ".join(linter().contract.documented_statuses)
        raise _kinded(ClauseFailure("response.status", f"status {status} is not documented (documented: {documented})"),
                      f"status {status}")
    return None


@schemathesis.check
def response_content_type(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """response.content_type: a JSON body is sent as one of the documented JSON media types."""
    if not response.content:
        return None
    contract = linter().contract
    documented = contract.response_for(response.status_code)
    allowed = {_media(m) for m in documented.media_types} if documented else set()
    if not allowed:
        # Undocumented statuses still carry JSON as JSON.
        allowed = {_media(m) for rc in contract.responses.values() for m in rc.media_types}
    values = response.headers.get("content-type") or []
    sent = _media(values[0]) if values else None
    if sent not in allowed:
        shown = values[0] if values else "missing"
        raise _kinded(ClauseFailure(
            "response.content_type",
            f"status {response.status_code}: Content-Type is {shown}; "
            f"expected {', '.join(sorted(a for a in allowed if a))}",
        ), f"Content-Type {shown}")
    return None


def _any_error_status() -> int:
    for status, rc in linter().contract.responses.items():
        if status.isdigit() and int(status) >= 400 and rc.verdict is not None:
            return int(status)
    raise LookupError("the spec documents no error response")


def _envelope_matter(finding: Finding, documented: bool) -> bool:
    if finding.rule == "errors.code":
        return documented  # an undocumented status has no documented code to compare
    return finding.rule == "errors.envelope" or finding.path in ("", "/error") or \
        finding.path.startswith("/error/")


@schemathesis.check
def errors_envelope(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """errors.envelope: every error is {error: {code, message, ...}} with the status's documented code."""
    status = response.status_code
    if status < 400:
        return None
    documented = _documented(status)
    # An undocumented error status is still judged against the documented envelope.
    as_status = status if documented else _any_error_status()
    body = parse_json(response.content)
    if body is ABSENT:
        raise ClauseFailure("errors.envelope", f"status {status}: the error body is not JSON")
    report = linter().lint_response(as_status, body)
    _fail("errors.envelope", (f for f in report.errors if _envelope_matter(f, documented)))
    return None


RESPONSE_CHECKS: dict[str, Callable[[CheckContext, Response, Case[Any]], bool | None]] = {
    "response.schema": response_schema,
    "response.status": response_status,
    "response.content_type": response_content_type,
    "errors.envelope": errors_envelope,
}


@functools.cache
def _context() -> CheckContext:
    return CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=schema().config.checks_config_for(),
        transport_kwargs=None,
        response_checks=None,
    )


def as_schemathesis(exchange: Exchange, base_url: str = "http://target") -> tuple[Response, Case[Any]]:
    """The exchange as the (response, case) pair a schemathesis check expects."""
    sent = exchange.request
    prepared = requests.Request(
        sent.method, base_url + sent.path,
        headers={k: v.decode("latin-1") for k, v in sent.headers},
        data=sent.content,
    ).prepare()
    response = Response(
        status_code=exchange.status,
        headers={k: [v] for k, v in exchange.headers.items()},
        content=exchange.body,
        request=prepared,
        elapsed=exchange.elapsed,
        verify=True,
    )
    body: Any = sent.value if sent.value is not ABSENT else (sent.content or b"")
    case = operation().Case(body=body, media_type="application/json")
    return response, case


# Checks that judge the body: a body cut at the session's cap cannot be judged
# (it would read as invalid JSON), only its status and headers can.
BODY_CHECKS = frozenset({"response.schema", "errors.envelope"})


def check_exchange(exchange: Exchange, clauses: Iterable[str] | None = None) -> list[ClauseFailure]:
    """Run the named response-level checks (all by default) on one exchange."""
    response, case = as_schemathesis(exchange)
    failures = []
    for name in clauses or RESPONSE_CHECKS:
        if exchange.truncated and name in BODY_CHECKS:
            continue
        try:
            RESPONSE_CHECKS[name](_context(), response, case)
        except ClauseFailure as failure:
            failure.exchange = exchange
            failures.append(failure)
    return failures
