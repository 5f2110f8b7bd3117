"""Responses per documented status, with the strict profile and request consistency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._contract import Contract, ResponseContract
from ._finding import Finding, Report
from ._headers import check_retry_after, header_fields, status_code
from ._hints import LEGACY_RESPONSE_VALUES
from ._payload import NotJSON, Raw, parse, plain_json
from ._schema_errors import findings as schema_findings
from ._schema_errors import show
from ._sentence_rules import sentence_findings

# What each request variant must come back as.  The spec does not say what a
# prompt avatar's look type is, so no expectation is asserted for it.
AVATAR_TYPE_FOR_VARIANT: Mapping[str, str] = {"photo": "photo_avatar", "digital_twin": "digital_twin"}


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _header_findings(rc: ResponseContract, contract: Contract, status: int, headers: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    content_type = headers.get("content-type")
    if rc.media_types:
        allowed = {_media_type(m) for m in rc.media_types}
        if content_type is None or _media_type(content_type) not in allowed:
            out.append(Finding(
                "error", "", "response.content_type",
                f"Content-Type is {show(content_type)}; status {status} documents {', '.join(sorted(allowed))}",
            ))
    for key, header in rc.headers.items():
        value = headers.get(key)
        if key == "retry-after":
            out.extend(
                Finding(f.severity, f.path, f.rule, f.message, f.hint)
                for f in check_retry_after(contract, value, status)
            )
        elif value is None and header.required:
            out.append(Finding("error", "", "response.header_missing", f"required header {header.name} is missing"))
    return out


def _strict_findings(rc: ResponseContract, status: int, body: Any) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(body, dict):
        return out
    if status // 100 == 2:
        data = body.get("data")
        # Only the items the spec declares count: {"data": {"id": "x"}} carries no avatar.
        items = rc.data_items
        if "data" not in body:
            out.append(Finding("error", "/data", "response.data_missing",
                               "successful responses wrap the result in 'data'",
                               hint="the schema alone would accept {} or an unwrapped body"))
        elif isinstance(data, dict) and not any(data.get(name) is not None for name in (items or data)):
            named = " or ".join(f"'{name}'" for name in items) or "item"
            out.append(Finding("error", "/data", "response.data_empty",
                               f"'data' has no non-null {named}; a create returns the avatar it made"))
    elif (rc.error_code is not None or status >= 400) and not isinstance(body.get("error"), dict):
        out.append(Finding("error", "/error", "errors.envelope",
                           "error responses are {\"error\": {\"code\", \"message\", ...}}"))
    return out


def _code_findings(rc: ResponseContract, body: Any, strict: bool) -> list[Finding]:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if rc.error_code is None or not isinstance(code, str) or code == rc.error_code:
        return []
    if rc.error_code_stated:
        return [Finding("error" if strict else "warning", "/error/code", "errors.code",
                        f"status {rc.status} documents code {rc.error_code!r}, got {show(code)}")]
    # Only an example shows the code: examples are not normative, so a different code is never an error.
    return [Finding("warning", "/error/code", "errors.code",
                    f"status {rc.status} answered code {show(code)}; the spec's example shows "
                    f"{rc.error_code!r} (an example, not a requirement)")]


def _consistency(body: Any, request: Any) -> list[Finding]:
    if not isinstance(body, dict) or not isinstance(request, dict):
        return []
    data = body.get("data")
    if not isinstance(data, dict):
        return []
    out: list[Finding] = []
    item = data.get("avatar_item")
    group = data.get("avatar_group")
    expected = AVATAR_TYPE_FOR_VARIANT.get(str(request.get("type")))
    if expected and isinstance(item, dict) and "avatar_type" in item and item["avatar_type"] != expected:
        out.append(Finding("error", "/data/avatar_item/avatar_type", "consistency.avatar_type",
                           f"a {request.get('type')} request must create a {expected!r} look, "
                           f"got {show(item['avatar_type'])}"))
    sent = request.get("avatar_group_id")
    if isinstance(sent, str):
        echoed = [v for v in (
            item.get("group_id") if isinstance(item, dict) else None,
            group.get("id") if isinstance(group, dict) else None,
        ) if v is not None]
        if not echoed or any(v != sent for v in echoed):
            out.append(Finding("error", "/data", "consistency.group_id",
                               f"avatar_group_id {show(sent)} was sent but the response names "
                               f"{', '.join(show(v) for v in echoed) or 'no group'}"))
    return out


def _legacy(findings: list[Finding], body: Any) -> list[Finding]:
    out = []
    for f in findings:
        if f.rule == "schema.enum" and f.path.endswith("/avatar_type"):
            for old, new in LEGACY_RESPONSE_VALUES.items():
                if repr(old) in f.message:
                    f = Finding(f.severity, f.path, f.rule, f.message,
                                hint=f"{old!r} is the old name of {new!r}",
                                keyword=f.keyword, schema_path=f.schema_path)
        out.append(f)
    return out


def _is_valid(verdict: Any, body: Any) -> bool:
    try:
        return bool(verdict.is_valid(body))
    except (ValueError, TypeError, OverflowError):
        return False


def lint_response_body(
    contract: Contract,
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None,
    request: Any,
    strict: bool,
    now: float | None = None,
) -> Report:
    code = status_code(status)
    if code is None:
        return Report([Finding("error", "", "response.status",
                               f"status {show(status)} is not an HTTP status (an integer 100-599)")])
    status = code
    rc = contract.response_for(status)
    if rc is None:
        documented = ", ".join(contract.documented_statuses)
        return Report([Finding("error", "", "response.status_undocumented",
                               f"status {status} is not documented for this operation "
                               f"(documented: {documented})")])
    out: list[Finding] = []
    if headers is not None:
        lowered, unreadable = header_fields(headers)
        out.extend(unreadable)
        out.extend(_header_findings(rc, contract, status, lowered))
    if isinstance(body, Raw):
        try:
            body = parse(body)
        except NotJSON as exc:
            return Report([*out, exc.finding])
    if isinstance(request, Raw):
        try:
            request = parse(request)
        except NotJSON:
            request = None
    try:
        if rc.verdict is not None and not _is_valid(rc.verdict, body):
            # The validator refuses a str or int subclass (an enum member): judge the
            # base types (only on this slow path, so a plain body pays nothing).
            body = plain_json(body)
            if not rc.verdict.is_valid(body):
                out.extend(_legacy(schema_findings(rc.verdict, body, (), rc.pointer or "", contract.lookup), body))
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        return Report([*out, Finding("error", "", "json.unsupported", f"body is not a JSON value: {exc}")])
    if strict:
        out.extend(_strict_findings(rc, status, body))
        out.extend(sentence_findings(rc.sentence_sites, body, now))
    out.extend(_code_findings(rc, body, strict))
    if request is not None and status // 100 == 2:
        out.extend(_consistency(body, request))
    return Report(out)

