"""The part of a response a failure is about: an excerpt centred on the failing JSON Pointer.

A response-schema failure names a path (``/data/avatar_group/created_at``); the
reader needs the value there, not the first 200 characters of the body.  The
excerpt is found in the raw text (so it reads as the server sent it), with the
value's span inside it for a report to highlight.
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar_contract.validators._positions import value_span

WIDTH = 120  # characters kept each side of the value's start
VALUE = 240  # characters of the value itself at most


@dataclass(frozen=True)
class Excerpt:
    pointer: str  # the failing path
    found: str  # where the excerpt is centred: the pointer, or its nearest present ancestor
    text: str  # the excerpt, newlines shown as spaces
    start: int  # the value's span within ``text``
    end: int

    def line(self) -> str:
        """``at /data/x: …"x":"bad"…`` (an absent member is shown in the object it is missing from)."""
        where = self.pointer or "(root)"
        also = "" if self.found == self.pointer else f" (absent; shown in {self.found or '(root)'})"
        return f"at {where}{also}: {self.text}"


def excerpt(body: bytes, pointer: str) -> Excerpt | None:
    """The excerpt of ``body`` around ``pointer``'s value, or None when the body is not JSON text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
    span = value_span(text, pointer)
    if span is None:
        return None
    found, start, end = span
    end = min(end, start + VALUE)
    left, right = max(0, start - WIDTH), min(len(text), end + WIDTH)
    before = "…" if left else ""
    after = "…" if right < len(text) else ""
    shown = (before + text[left:right] + after).replace("\r", " ").replace("\n", " ")
    offset = len(before) + start - left
    return Excerpt(pointer, found, shown, offset, offset + end - start)
