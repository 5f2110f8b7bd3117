"""Idempotency-Key and Retry-After, checked against the spec's header schemas.

Headers come from many HTTP libraries, so what callers pass varies: a dict,
a list of ``(name, value)`` pairs, ``bytes`` names and values, repeated names.
:func:`header_fields` turns any of those into one lowercase ``str -> str``
mapping, and whatever cannot be read becomes a finding instead of an exception.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ._contract import Contract, HeaderContract
from ._finding import CLEAN, Finding, Report
from ._payload import SURROGATE, safe_text
from ._schema_errors import show

_HTTP_DATE = re.compile(r"^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$")
_DELAY_SECONDS = re.compile(r"^[0-9]+$")  # RFC 9110 delay-seconds: 1*DIGIT, nothing else
# Python refuses int() of more than 4,300 digits; longer values are converted in
# chunks, up to a bound that keeps the work small (a header is never that long).
_INT_CHUNK = 4000
MAX_DELAY_DIGITS = 100_000


def _field_text(value: Any) -> str | None:
    """A header name or value as text: bytes are ISO-8859-1 (what HTTP/1.1 carries)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(value)
    return None


def _int_text(value: int) -> str | None:
    try:
        return str(value)
    except ValueError:  # past Python's 4,300-digit str() limit
        return None


def _pairs(headers: Any) -> Iterable[Any] | None:
    # multi_items() (starlette, httpx) keeps repeated fields that .items() folds away.
    multi = getattr(headers, "multi_items", None)
    if callable(multi):
        return multi()  # type: ignore[no-any-return]
    if isinstance(headers, Mapping):
        return headers.items()
    if isinstance(headers, str | bytes | bytearray | memoryview) or not isinstance(headers, Iterable):
        return None
    return headers


def header_fields(headers: Any) -> tuple[dict[str, str], list[Finding]]:
    """Headers as ``{lowercase name: value}``, plus findings for entries that cannot be read.

    Repeated names are joined with ``", "`` (RFC 9110 section 5.3), so a
    single-valued field sent twice fails its own check instead of being hidden.
    """
    fields: dict[str, str] = {}
    problems: list[Finding] = []
    try:
        pairs = _pairs(headers)
        if pairs is None:
            return fields, [Finding("error", "", "headers.type",
                                    f"headers must be a mapping or (name, value) pairs, not {type(headers).__name__}",
                                    hint="pass a dict, or the response's headers object")]
        for index, pair in enumerate(pairs):
            try:
                name, value = pair
            except (TypeError, ValueError):
                problems.append(Finding("error", "", "headers.entry",
                                        f"header entry {index} is not a (name, value) pair: {show(pair)}"))
                continue
            name_text, value_text = _field_text(name), _field_text(value)
            if name_text is None or value_text is None:
                bad = name if name_text is None else value
                what = "name" if name_text is None else f"value of {show(name_text)}"
                problems.append(Finding("error", "", "headers.entry",
                                        f"header {what} is {type(bad).__name__}, not str or bytes",
                                        hint="header names and values are text (or bytes)"))
                continue
            key = name_text.strip().lower()
            fields[key] = f"{fields[key]}, {value_text}" if key in fields else value_text
    except Exception as exc:  # a mapping whose items() or iteration itself fails
        problems.append(Finding("error", "", "headers.type",
                                f"headers could not be read: {type(exc).__name__}"))
    return fields, problems


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_idempotency_key(contract: Contract, value: Any) -> Report:
    header = contract.idempotency_key
    if header is None or header.validator is None:
        return CLEAN
    name = header.name
    if isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value).decode("latin-1")  # what the header's bytes say on the wire
    if not isinstance(value, str):
        return Report([Finding("error", "", "idempotency_key.type",
                               f"{name} must be a string, not {type(value).__name__}")])
    length = len(value)
    # Work bounded by the key's length limit, however long the value (an 8 M-character
    # header must not hold a server's event loop): past the limit only the length is
    # judged, the pattern and the hint look at the first limit + 1 characters.
    bound = header.schema.get("maxLength")
    bound = bound if isinstance(bound, int) and not isinstance(bound, bool) and bound >= 0 else _HINT_BOUND
    value = value[:bound + 1]
    out = []
    if _has_surrogate(value):
        # No HTTP client can send this (it has no bytes); check the rest on a copy
        # with U+FFFD in place of each surrogate, which keeps the length in code points.
        position = SURROGATE.search(value).start()  # type: ignore[union-attr]
        out.append(Finding("error", "", "idempotency_key.encoding",
                           f"{name} has a lone surrogate at position {position}; it cannot be sent",
                           hint="generate keys as ASCII, e.g. a UUID"))
        value = safe_text(value)
    if header.validator.is_valid(value):
        return Report(out) if out else CLEAN
    for error in header.validator.iter_errors(value):
        keyword = str(error.schema_path[-1]) if error.schema_path else "invalid"
        limit = error.kind.as_dict().get("limit")
        if keyword == "minLength":
            message = f"{name} is empty; at least {limit} character(s) required"
        elif keyword == "maxLength":
            message = f"{name} is {length} characters long; at most {limit} allowed"
        elif keyword == "pattern":
            message = f"{name} {show(value, 40)} does not match {header.schema.get('pattern')!r}"
        else:
            message = f"{name} {show(value, 40)} violates {keyword}"
        out.append(Finding("error", "", f"idempotency_key.{keyword}", message,
                           hint=_key_hint(header, value) if keyword == "pattern" else None,
                           keyword=keyword, schema_path=f"{header.pointer}/schema/{keyword}"))
    return Report(out)


# How far the hint and the pattern look when the spec sets no maxLength for the key.
_HINT_BOUND = 4096


def _key_hint(header: HeaderContract, value: str) -> str | None:
    if value.endswith("\n") and header.validator.is_valid(value.rstrip("\n") or "x"):
        return "a trailing newline is not allowed ('$' is end of input, ECMA-262 semantics)"
    for index, char in enumerate(value):
        if not header.validator.is_valid(char):
            return f"character {char!r} at position {index} is not allowed; a UUID is a safe choice"
    return None


def status_code(value: Any) -> int | None:
    """An HTTP status (100-599) from what a caller may pass: int, integral float, digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None  # is_integer() is False for NaN and inf
    elif isinstance(value, str | bytes | bytearray):
        text = value.strip()
        value = int(text) if len(text) == 3 and text.isdigit() and text.isascii() else None
    else:
        try:
            value = operator.index(value)  # int and int-likes (numpy integers, IntEnum)
        except TypeError:
            return None
    return value if value is not None and 100 <= value <= 599 else None


def _delay_seconds(text: str) -> int | None:
    """``text`` (all ASCII digits) as an int, or None past MAX_DELAY_DIGITS."""
    digits = text.lstrip("0") or "0"
    if len(digits) <= _INT_CHUNK:
        return int(digits)
    if len(digits) > MAX_DELAY_DIGITS:
        return None
    value = 0
    for start in range(0, len(digits), _INT_CHUNK):
        chunk = digits[start:start + _INT_CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def check_retry_after(contract: Contract, value: Any, status: Any = 429) -> Report:
    """Retry-After must be delay-seconds, as the spec's ``type: integer`` header says."""
    code = status_code(status)
    response = contract.response_for(code) if code is not None else None
    header = response.headers.get("retry-after") if response else None
    if value is None:
        return Report([Finding("error", "", "retry_after.missing",
                               f"a {show(code if code is not None else status)} response needs a "
                               f"Retry-After header (seconds to wait)")])
    if isinstance(value, int) and not isinstance(value, bool):
        seconds: int | None = value if value >= 0 else None
        text = None
    else:
        text = _field_text(value) if not isinstance(value, int) else None
        text = text.strip() if text is not None else None
        seconds = None
        if text is not None and text.isascii() and _DELAY_SECONDS.match(text):
            seconds = _delay_seconds(text)
            if seconds is None:
                return Report([Finding("error", "", "retry_after.format",
                                       f"Retry-After has {len(text)} digits; at most {MAX_DELAY_DIGITS} are checked",
                                       hint="send delay-seconds, e.g. 'Retry-After: 30'")])
    if seconds is None:
        form = "an HTTP-date" if text and _HTTP_DATE.match(text) else show(value)
        return Report([Finding("error", "", "retry_after.format",
                               f"Retry-After is {form}; the spec requires integer seconds",
                               hint="send delay-seconds, e.g. 'Retry-After: 30'")])
    if header is not None and header.validator is not None and not header.validator.is_valid(seconds):
        return Report([Finding("error", "", "retry_after.schema",
                               f"Retry-After {show(seconds)} violates the header schema")])
    return CLEAN
