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

from avatar_contract.validators import NotJSON as ValidatorNotJSON
from avatar_contract.validators import parse_json


class NotJSON(ValueError):
    """The body is not a JSON document; the message says where and why."""


def loads(raw: bytes) -> Any:
    # One JSON reader for the linter and the emulator, so both accept exactly
    # the same bodies (big integers and lone surrogates included).
    try:
        return parse_json(raw)
    except ValidatorNotJSON as exc:
        raise NotJSON(exc.finding.message) from None


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        # ensure_ascii writes a lone surrogate as a \\udXXX escape: valid JSON.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
