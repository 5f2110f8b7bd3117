"""JSON in and out, fast, without losing what RFC 8259 allows.

orjson refuses integers beyond 64 bits and lone surrogate escapes, both legal
JSON; such bodies get a second, stdlib reading so the client hears "schema
invalid" (or success) instead of "not JSON".  Output falls back the same way,
because a name with a lone surrogate has to be echoed back.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class NotJSON(ValueError):
    """The body is not a JSON document; the message says where and why."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJSON(f"body is not UTF-8: byte {exc.start} is invalid") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise NotJSON(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise NotJSON("body is nested too deeply to read") from None
    except ValueError as exc:
        raise NotJSON(f"invalid JSON: {exc}") from None


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # ensure_ascii writes a lone surrogate as a \\udXXX escape: valid JSON.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
