"""Idempotency-Key and Retry-After, checked against the spec's header schemas."""

from __future__ import annotations

import re
from typing import Any

from ._contract import Contract, HeaderContract
from ._finding import CLEAN, Finding, Report
from ._schema_errors import show

_HTTP_DATE = re.compile(r"^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$")
_DELAY_SECONDS = re.compile(r"^[0-9]+$")  # RFC 9110 delay-seconds: 1*DIGIT, nothing else


def check_idempotency_key(contract: Contract, value: Any) -> Report:
    header = contract.idempotency_key
    if header is None or header.validator is None:
        return CLEAN
    name = header.name
    if not isinstance(value, str):
        return Report([Finding("error", "", "idempotency_key.type",
                               f"{name} must be a string, not {type(value).__name__}")])
    if header.validator.is_valid(value):
        return CLEAN
    out = []
    for error in header.validator.iter_errors(value):
        keyword = str(error.schema_path[-1]) if error.schema_path else "invalid"
        limit = error.kind.as_dict().get("limit")
        if keyword == "minLength":
            message = f"{name} is empty; at least {limit} character(s) required"
        elif keyword == "maxLength":
            message = f"{name} is {len(value)} characters long; at most {limit} allowed"
        elif keyword == "pattern":
            message = f"{name} {show(value, 40)} does not match {header.schema.get('pattern')!r}"
        else:
            message = f"{name} {show(value, 40)} violates {keyword}"
        out.append(Finding("error", "", f"idempotency_key.{keyword}", message,
                           hint=_key_hint(header, value) if keyword == "pattern" else None,
                           keyword=keyword, schema_path=f"{header.pointer}/schema/{keyword}"))
    return Report(out)


def _key_hint(header: HeaderContract, value: str) -> str | None:
    if value.endswith("\n") and header.validator.is_valid(value.rstrip("\n") or "x"):
        return "a trailing newline is not allowed ('$' is end of input, ECMA-262 semantics)"
    for index, char in enumerate(value):
        if not header.validator.is_valid(char):
            return f"character {char!r} at position {index} is not allowed; a UUID is a safe choice"
    return None


def check_retry_after(contract: Contract, value: Any, status: int | str = 429) -> Report:
    """Retry-After must be delay-seconds, as the spec's ``type: integer`` header says."""
    response = contract.response_for(status)
    header = response.headers.get("retry-after") if response else None
    if value is None:
        return Report([Finding("error", "", "retry_after.missing",
                               f"a {status} response needs a Retry-After header (seconds to wait)")])
    text = str(value).strip() if isinstance(value, str | int) else None
    if text is None or not _DELAY_SECONDS.match(text):
        form = "an HTTP-date" if text and _HTTP_DATE.match(text) else show(value)
        return Report([Finding("error", "", "retry_after.format",
                               f"Retry-After is {form}; the spec requires integer seconds",
                               hint="send delay-seconds, e.g. 'Retry-After: 30'")])
    seconds = int(text)
    if header is not None and header.validator is not None and not header.validator.is_valid(seconds):
        return Report([Finding("error", "", "retry_after.schema",
                               f"Retry-After {seconds} violates the header schema")])
    return CLEAN
