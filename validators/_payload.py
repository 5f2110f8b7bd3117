"""Turn raw request/response bytes into a JSON value, or a finding saying why not."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ._finding import Finding

Raw = bytes | bytearray | memoryview | str


class NotJSON(Exception):
    """Carries the finding for a body that is not a JSON document."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def parse(raw: Raw) -> Any:
    """Parse with orjson; fall back to the stdlib only for what orjson refuses but RFC 8259 allows.

    orjson rejects integers beyond 64 bits and escaped lone surrogates, both of
    which are legal JSON, so those bodies get a second, slower reading.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as fast_error:
        fast = fast_error
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJSON(
            Finding("error", "", "json.encoding", f"body is not UTF-8: byte {exc.start} is invalid")
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
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
