"""Turn raw request/response bytes into a JSON value, or a finding saying why not."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import orjson

from ._finding import Finding

Raw = bytes | bytearray | memoryview | str
_BOM = b"\xef\xbb\xbf"


class NotJSON(ValueError):
    """The body is not a JSON document; ``finding`` says where and why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# Python refuses str->int beyond 4,300 digits (a quadratic-time DoS guard), but
# RFC 8259 sets no limit.  Longer literals are converted in chunks, up to a cap
# that keeps the work bounded; beyond it the body gets a finding, not a crash.
_CHUNK = 4000
MAX_INTEGER_DIGITS = 100_000


class _NumberTooLong(ValueError):
    pass


def _parse_int(literal: str) -> int:
    if len(literal) <= _CHUNK:
        return int(literal)
    digits = literal.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS:
        raise _NumberTooLong(f"an integer literal has {len(digits)} digits; at most {MAX_INTEGER_DIGITS} are checked")
    value = 0
    for start in range(0, len(digits), _CHUNK):
        chunk = digits[start : start + _CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return -value if literal.startswith("-") else value


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


_DIGIT_RUN = re.compile(rb"[0-9]{19,}")  # 19 digits reach past 2**63
_EXACT = msgspec.json.Decoder()  # reads integers of any width exactly


def _exact_reading(raw: Raw, value: Any) -> Any:
    """``value`` as orjson read it, or, where the body holds a run of 19+ digits (an integer
    beyond 64 bits, which orjson 3.13 reads as a float; or only digits inside a string), msgspec's
    exact reading of it.  ``_NO_READING`` when msgspec refuses what orjson took (the stdlib decides)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if not isinstance(data, bytes | bytearray | memoryview) or _DIGIT_RUN.search(data) is None:
        return value
    try:
        return _EXACT.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError, TypeError):
        return _NO_READING


_NO_READING = object()


def parse(raw: Raw) -> Any:
    """Parse with orjson; fall back to the stdlib only for what orjson refuses but RFC 8259 allows.

    orjson rejects integers beyond 64 bits and escaped lone surrogates, both of
    which are legal JSON, so those bodies get a second, slower reading.  Raises
    :class:`NotJSON` (a ``ValueError``) whose ``finding`` says where and why.
    """
    try:
        value = _exact_reading(raw, orjson.loads(raw))
    except orjson.JSONDecodeError as fast_error:
        fast = fast_error
    else:
        if value is not _NO_READING:
            return value
        fast = orjson.JSONDecodeError("an integer beyond 64 bits", "", 0)
    # RFC 8259 lets a parser ignore a leading UTF-8 byte order mark, and editors on
    # Windows write one: the body after it is what gets judged.
    if isinstance(raw, bytes | bytearray | memoryview) and bytes(raw[:3]) == _BOM:
        return parse(bytes(raw[3:]))
    if isinstance(raw, str) and raw.startswith("\ufeff"):
        return parse(raw[1:])
    if not isinstance(raw, str | bytes | bytearray | memoryview):
        # Only reached after orjson refused it, so the fast path pays nothing for this.
        raise NotJSON(Finding("error", "", "json.unsupported",
                              f"a raw body is bytes or str, not {type(raw).__name__}")) from None
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJSON(
            Finding("error", "", "json.encoding", f"body is not UTF-8: byte {exc.start} is invalid")
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except _NumberTooLong as exc:
        raise NotJSON(Finding("error", "", "json.number_too_long", str(exc))) from None
    except RecursionError:
        raise NotJSON(
            Finding("error", "", "json.too_deep", "body is nested too deeply to check")
        ) from None
    except (json.JSONDecodeError, ValueError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            line, column, reason = exc.lineno, exc.colno, exc.msg
        else:
            line, column = _position(text, min(fast.pos, len(text)))
            reason = str(exc)
        if "recursion" in str(fast).lower():
            raise NotJSON(
                Finding("error", "", "json.too_deep", "body is nested too deeply to check")
            ) from None
        raise NotJSON(
            Finding(
                "error",
                "",
                "json.invalid",
                f"invalid JSON at line {line}, column {column}: {reason}",
            )
        ) from None


SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD, so a UTF-8 validator can take it
    (the length in code points is kept, so maxLength judges it the same)."""
    return SURROGATE.sub("\ufffd", value)


def without_surrogates(value: Any) -> Any:
    """A copy of a parsed JSON value with :func:`safe_text` applied to every key and string.

    JSON's escapes allow lone surrogates (``"\\ud800"``), which Python keeps but the
    Rust validator cannot take; explaining a body on this copy keeps every finding's path
    and rule, with U+FFFD shown where the surrogate was.
    """
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(k) if isinstance(k, str) else k: without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    return value


def plain_json(value: Any, depth: int = 0) -> Any:
    """``value`` with every ``str``, ``int``, ``float``, ``dict`` and ``list`` subclass
    (a ``StrEnum``, an ``IntEnum``, an ``OrderedDict``...) made its base type, read
    through the base type's own slots, so an override cannot change what is judged.
    ``bool`` stays ``bool`` (it is JSON ``true``/``false``).  Only called after the
    validator refused a value, so plain payloads pay nothing for it."""
    if depth > 10_000:
        raise RecursionError("nested too deeply")
    kind = type(value)
    if kind is bool or value is None:
        return value
    if isinstance(value, str):
        return value if kind is str else str.__str__(value)
    if isinstance(value, int):
        return value if kind is int else int.__int__(value)
    if isinstance(value, float):
        return value if kind is float else float.__float__(value)
    if isinstance(value, dict):
        return {plain_json(k, depth + 1): plain_json(v, depth + 1) for k, v in dict.items(value)}
    if isinstance(value, list):
        return [plain_json(v, depth + 1) for v in list.__iter__(value)]
    return value

