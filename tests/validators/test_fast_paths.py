"""The linter's shortcuts give exactly the answers of the stdlib code they stand in for.

``decodes`` replaces a strict base64 decode, ``similarity`` difflib's ratio and
``Vocabulary.closest`` ``difflib.get_close_matches``; a hint or a warning must
not change because the fast path was taken.
"""

from __future__ import annotations

import binascii
import difflib
import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from avatar_contract.validators._advice import Vocabulary, decodes, similarity

WORDS = ("avatar_group_id", "name", "type", "file", "prompt", "reference_images",
         "digital_twin", "photo", "asset_id", "base64", "url", "media_type", "data", "")
# Few distinct characters, so that similar strings (the interesting case) are common.
NEAR = st.text(alphabet="avatr_gouidnmepAN-😀", max_size=20)


def _strict_b64(data: str) -> bool:
    try:
        binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def test_decodes_matches_binascii_on_every_short_string() -> None:
    alphabet = ("A", "b", "+", "/", "=", "\n", " ", "-", "é")
    for size in range(6):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            assert decodes(text) == _strict_b64(text), text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.text(alphabet="=\n -_é", max_size=3), st.integers(0, 70))
def test_decodes_matches_binascii_on_damaged_base64(raw: bytes, damage: str, at: int) -> None:
    text = binascii.b2a_base64(raw, newline=False).decode("ascii")
    for candidate in (text, text[:at] + damage + text[at:], text.rstrip("=")):
        assert decodes(candidate) == _strict_b64(candidate), candidate


@settings(max_examples=500, deadline=None)
@given(NEAR, NEAR)
@example("avatar_group_id", "avatar_groupid")
@example("", "")
def test_similarity_is_difflibs_ratio(a: str, b: str) -> None:
    assert similarity(a, b) == difflib.SequenceMatcher(None, a, b).ratio()


def test_similarity_is_difflibs_ratio_for_schema_names_and_typos() -> None:
    typos = {w[:i] + w[i + 1:] for w in WORDS for i in range(len(w))}
    typos |= {w[:i] + "_" + w[i:] for w in WORDS for i in range(len(w))}
    for a in WORDS:
        for b in sorted(typos):
            assert similarity(a, b) == difflib.SequenceMatcher(None, a, b).ratio(), (a, b)


@settings(max_examples=300, deadline=None)
@given(NEAR, st.sampled_from([0.6, 0.75]))
@example("Name", 0.75)
@example("digital-twin", 0.6)
def test_closest_is_get_close_matches(word: str, cutoff: float) -> None:
    for words in (("digital_twin", "photo", "prompt"), ("asset_id", "base64", "url"),
                  tuple(sorted(("avatar_group_id", "file", "name", "type"))), ("", "a")):
        expected = difflib.get_close_matches(word, words, n=1, cutoff=cutoff)
        assert Vocabulary(words).closest(word, cutoff) == (expected[0] if expected else None)
