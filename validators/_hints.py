"""Did-you-mean hints: what a wrong value or unknown field was probably meant to be.

Split from :mod:`._advice` (which compiles the advisors); both the advisors'
``field.unknown`` warnings and the diagnosis of unknown discriminators use
these.  The similarity search gives exactly difflib's answers, faster.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from ._compiled import Union

# Values and fields the API used to accept, with what replaced them.
LEGACY_DISCRIMINATORS: Mapping[str, str] = {"video": "digital_twin", "video_avatar": "digital_twin"}
LEGACY_FIELDS: Mapping[str, str] = {"content_type": "media_type"}
LEGACY_RESPONSE_VALUES: Mapping[str, str] = {"video_avatar": "digital_twin"}


# -- did-you-mean ---------------------------------------------------------------


def similarity(a: str, b: str) -> float:
    """``difflib.SequenceMatcher(None, a, b).ratio()``, for the short words hints compare.

    Same algorithm as difflib (repeatedly take the longest common block,
    earliest in ``a`` then in ``b``, and recurse on both sides), but each
    longest-block search is a few ``str.find`` calls instead of difflib's
    per-character dynamic programming in Python.  Without junk (none is
    given, and difflib's automatic junk needs ``len(b) >= 200``) the blocks,
    and so the ratio, are the same.  Long inputs go to difflib itself.
    """
    if len(b) >= 200 or len(a) * len(b) > 4096:
        return difflib.SequenceMatcher(None, a, b).ratio()
    matches = 0
    todo = [(0, len(a), 0, len(b))]
    while todo:
        alo, ahi, blo, bhi = todo.pop()
        i, j, k = _longest_block(a, b, alo, ahi, blo, bhi)
        if k:
            matches += k
            if alo < i and blo < j:
                todo.append((alo, i, blo, j))
            if i + k < ahi and j + k < bhi:
                todo.append((i + k, ahi, j + k, bhi))
    total = len(a) + len(b)
    return 2.0 * matches / total if total else 1.0


def _longest_block(a: str, b: str, alo: int, ahi: int, blo: int, bhi: int) -> tuple[int, int, int]:
    """The longest common block of ``a[alo:ahi]`` and ``b[blo:bhi]``, earliest in ``a``, then ``b``."""
    for size in range(min(ahi - alo, bhi - blo), 0, -1):
        for i in range(alo, ahi - size + 1):
            j = b.find(a[i:i + size], blo, bhi)
            if j >= 0:
                return i, j, size
    return alo, blo, 0


class Vocabulary:
    """Words a value may have been meant as, prepared for repeated did-you-mean queries."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(words)
        self.folded = {w.lower(): w for w in self.words}
        self._screens = tuple(
            (w, len(w), tuple((ch, w.count(ch)) for ch in dict.fromkeys(w))) for w in self.words
        )

    def closest(self, word: str, cutoff: float) -> str | None:
        """``difflib.get_close_matches(word, words, n=1, cutoff=cutoff)``: same answer, cheaper.

        difflib screens each candidate with two upper bounds on the similarity
        ratio (lengths, then characters in common) before the costly exact
        ratio.  The bounds are computed here from counts prepared once, so the
        usual case (a value like nothing allowed) never builds a
        SequenceMatcher; survivors get difflib's own exact ratio.
        """
        best: tuple[float, str] | None = None
        size = len(word)
        for candidate, length, counts in self._screens:
            total = size + length
            if not total:
                score = 1.0
            else:
                # real_quick_ratio: as if every character of the shorter matched.
                if 2.0 * (size if size < length else length) / total < cutoff:
                    continue
                # quick_ratio: characters in common, as multisets.
                shared = 0
                for ch, have in counts:
                    seen = word.count(ch)
                    shared += seen if seen < have else have
                if 2.0 * shared / total < cutoff:
                    continue
                score = similarity(candidate, word)
            if score >= cutoff and (best is None or (score, candidate) > best):
                best = (score, candidate)  # difflib keeps the largest (score, word) pair
        return best[1] if best else None


@functools.lru_cache(maxsize=64)
def vocabulary(words: tuple[str, ...] | frozenset[str]) -> Vocabulary:
    """The prepared vocabulary for a set of schema names (allowed values, known fields)."""
    return Vocabulary(sorted(words) if isinstance(words, frozenset) else words)


def discriminator_hint(union: Union, value: Any) -> str | None:
    """Why an unknown discriminator value was probably sent, and what to send."""
    return value_hint(union.values, value)


def value_hint(allowed: tuple[str, ...], value: Any) -> str | None:
    """:func:`discriminator_hint` for the sorted allowed values of a union."""
    if isinstance(value, str):
        if value in LEGACY_DISCRIMINATORS and LEGACY_DISCRIMINATORS[value] in allowed:
            return f"{value!r} was renamed {LEGACY_DISCRIMINATORS[value]!r}"
        words = vocabulary(allowed)
        folded = value.strip().lower()
        if folded in words.folded:
            return f"values are case-sensitive: use {words.folded[folded]!r}"
        close = words.closest(value, 0.6)
        if close:
            return f"did you mean {close!r}?"
    elif isinstance(value, list) and len(value) == 1 and value[0] in allowed:
        return f"send the string {value[0]!r}, not an array"
    return None


# -- cache (issue 11: the linter fast path) -------------------------------------
# A client that sends an unknown field sends it on every request, and the
# did-you-mean search costs several microseconds.  Only short names are cached,
# so the cache's memory stays bounded whatever field names a body carries.
_CACHED_NAME_MAX = 64


def field_hint(name: str, known: frozenset[str]) -> str | None:
    """Why an unknown field was probably sent (a legacy name, a typo), or None."""
    if type(name) is str and len(name) <= _CACHED_NAME_MAX:
        return _cached_field_hint(name, known)
    return _field_hint(name, known)


@functools.lru_cache(maxsize=1024)
def _cached_field_hint(name: str, known: frozenset[str]) -> str | None:
    return _field_hint(name, known)


def _field_hint(name: str, known: frozenset[str]) -> str | None:
    if name in LEGACY_FIELDS and LEGACY_FIELDS[name] in known:
        return f"{name!r} was renamed {LEGACY_FIELDS[name]!r}"
    close = vocabulary(known).closest(name, 0.75)
    return f"did you mean {close!r}?" if close else None
