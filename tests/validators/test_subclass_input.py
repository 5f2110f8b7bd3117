"""str, int, float, dict and list subclasses are judged as their base types (issue 16 §4),
and an Idempotency-Key's check is bounded by its length limit, however long the value."""

from __future__ import annotations

import enum
from collections import OrderedDict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.validators import check_idempotency_key, lint_request, lint_response

from .test_properties import json_values, valid_bodies


class Text(str):
    def __str__(self) -> str:  # an override must not change what is judged
        return "overridden"


class Number(int):
    def __int__(self) -> int:
        return -1


class Real(float):
    pass


class Colour(enum.StrEnum):
    PHOTO = "photo"


def disguised(value: Any, pick: st.DataObject) -> Any:
    """``value`` with a random share of its parts made subclass instances."""
    wrap = pick.draw(st.booleans())
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return Text(value) if wrap else value
    if isinstance(value, int):
        return Number(value) if wrap else value
    if isinstance(value, float):
        return Real(value) if wrap else value
    if isinstance(value, dict):
        items = [(disguised(k, pick), disguised(v, pick)) for k, v in value.items()]
        return OrderedDict(items) if wrap else dict(items)
    if isinstance(value, list):
        return [disguised(v, pick) for v in value]
    return value


def rules(report: Any) -> list[tuple[str, str, str]]:
    return [(f.rule, f.path, f.message) for f in report.findings]


@given(body=valid_bodies | json_values, pick=st.data())
def test_subclassed_input_gets_the_findings_of_its_plain_twin(body: Any, pick: st.DataObject) -> None:
    assert rules(lint_request(disguised(body, pick))) == rules(lint_request(body))


def test_enum_members_and_subclassed_numbers_are_not_unsupported() -> None:
    body = {"type": Colour.PHOTO, "name": Text("n"), "file": {"type": Text("url"), "url": "https://example.com/a.jpg"}}
    assert lint_request(body).valid, rules(lint_request(body))
    bad = {**body, "name": Number(3)}
    assert [r for r, _, _ in rules(lint_request(bad))] == ["schema.type"]
    response = {"data": {"avatar_item": {"id": Text("x")}}}
    assert "json.unsupported" not in {r for r, _, _ in rules(lint_response(200, response))}
    assert rules(lint_response(200, response)) == rules(lint_response(200, {"data": {"avatar_item": {"id": "x"}}}))


def test_a_long_key_is_judged_on_its_length_without_reading_it_all() -> None:
    huge = "a" * 10_000_000
    found = {f.rule: f for f in check_idempotency_key(huge + " ").findings}
    assert found["idempotency_key.maxLength"].message == \
        "Idempotency-Key is 10000001 characters long; at most 255 allowed"
    # Within the limit every character is still explained.
    hint = check_idempotency_key("ok-" + " " + "a" * 200).findings[0].hint
    assert hint is not None and "position 3" in hint
    # A str subclass of ten million characters: the same findings as the plain string.
    assert rules(check_idempotency_key(Text(huge))) == rules(check_idempotency_key(huge))
