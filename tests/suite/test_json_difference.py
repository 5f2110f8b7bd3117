"""Where two JSON values first differ: the pointer a replay finding names."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.contract_tests.clauses.json_difference import ABSENT, first_difference, shown

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                max_size=3), max_leaves=12)


def _resolve(value: Any, pointer: str) -> Any:
    for token in [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]:
        if isinstance(value, list):
            index = int(token)
            if index >= len(value):
                return ABSENT
            value = value[index]
        elif token not in value:
            return ABSENT
        else:
            value = value[token]
    return value


@given(JSON)
def test_a_value_does_not_differ_from_its_json_round_trip(value: Any) -> None:
    assert first_difference(value, json.loads(json.dumps(value))) is None


@given(JSON, JSON)
def test_the_pointer_leads_to_the_two_values_it_reports(a: Any, b: Any) -> None:
    found = first_difference(a, b)
    if found is None:
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or a == b
        return
    pointer, left, right = found
    assert _resolve(a, pointer) == left or left is ABSENT
    assert _resolve(b, pointer) == right or right is ABSENT


def test_booleans_are_not_numbers_and_members_name_their_side() -> None:
    assert first_difference({"n": True}, {"n": 1}) == ("/n", True, 1)
    assert first_difference({"n": 1}, {"n": 1.0}) is None
    assert first_difference({"a/b": {"x": 1}}, {"a/b": {}}) == ("/a~1b/x", 1, ABSENT)
    assert first_difference([1], [1, 2]) == ("/1", ABSENT, 2)
    assert shown(ABSENT) == "absent" and shown("é") == '"é"'
