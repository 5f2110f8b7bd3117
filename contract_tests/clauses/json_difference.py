"""Where two JSON values first differ, as an RFC 6901 pointer: what a replay finding shows.

A replay that is not the original is usually one field apart (a status rendered again, a
timestamp, an added flag); two whole-body excerpts that look alike hide it.  Numbers compare
by value (``1`` and ``1.0`` are one JSON number) but never with booleans, which Python's
``True == 1`` would let through.
"""

from __future__ import annotations

import json
from typing import Any

ABSENT = object()  # a member one side does not have


def first_difference(a: Any, b: Any, at: str = "") -> tuple[str, Any, Any] | None:
    """``(pointer, value in a, value in b)`` of the first difference, members in ``a``'s order
    then ``b``'s new ones; ``None`` when the values are the same JSON."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in [*a, *(n for n in b if n not in a)]:
            here = f"{at}/{str(name).replace('~', '~0').replace('/', '~1')}"
            if name not in a or name not in b:
                return here, a.get(name, ABSENT), b.get(name, ABSENT)
            found = first_difference(a[name], b[name], here)
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            if index >= len(a) or index >= len(b):
                return f"{at}/{index}", a[index] if index < len(a) else ABSENT, b[index] if index < len(b) else ABSENT
            found = first_difference(a[index], b[index], f"{at}/{index}")
            if found is not None:
                return found
        return None
    if _kind(a) != _kind(b) or a != b:
        return at, a, b
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def shown(value: Any) -> str:
    """A value as a finding quotes it (absent members say so)."""
    if value is ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"
