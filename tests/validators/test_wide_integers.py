"""Integers beyond 64 bits are read exactly: orjson alone turns 2**64 into a float (3.13), which
the schema would then judge rounded, and two bodies differing only there would compare equal."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.validators import parse_json

WIDE = st.integers(min_value=-(10**60), max_value=10**60)


@given(WIDE)
def test_any_integer_is_read_exactly(n: int) -> None:
    for raw in (str(n).encode(), json.dumps({"a": [n]}).encode(), json.dumps({"a": n})):
        value = parse_json(raw)
        assert value == json.loads(raw) and type(json.dumps(value)) is str
        assert "." not in json.dumps(value) and "e" not in json.dumps(value)  # never a float


def test_a_string_of_digits_stays_a_string_and_floats_stay_floats() -> None:
    assert parse_json(b'{"s": "12345678901234567890123", "f": 1e21}') == {"s": "12345678901234567890123", "f": 1e21}


def test_two_replays_differing_only_in_a_wide_integer_are_told_apart() -> None:
    """check-traffic compares a replay with its original by a digest of the parsed body."""
    import hashlib

    from avatar_contract.contract_tests.traffic.replays import digest
    from avatar_contract.validators.journal import Body

    def body(n: int) -> Body:
        text = json.dumps({"data": {"avatar_item": {"id": "a", "looks": n}}})
        return Body(size=len(text), sha256=hashlib.sha256(text.encode()).hexdigest(), text=text)

    first, second = digest(body(2**64)), digest(body(2**64 + 1))
    assert first[0] != second[0]
    assert first[1] == {"data": {"avatar_item": {"id": "a", "looks": 2**64}}}
