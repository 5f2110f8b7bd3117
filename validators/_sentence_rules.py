"""Response sentence rules: what a response description's sentence claims, checked.

Like the advice table (:mod:`._advice_rules`), each row is bound to the words it
rests on and is *active* only where the loaded spec says them: a rule applies to
a property of a response schema whose ``description`` has a sentence matching
the row's ``pattern`` (a regular expression, case-insensitive, on the sentence
with whitespace collapsed).  ``field="*"`` lets the words decide on any
property; otherwise the property must have that name.  When the vendor rewrites
the sentence away the rule goes quiet; when a new field carries the same words,
the rule follows it there.  Rules run in the strict profile and are owned by
``response.schema`` (their ids are ``sentence.*``).

``check`` names what is tested on the value ``v`` found at each place the
property occurs in a response of that status:

* ``unix_seconds``  an integer ``v`` is plausible Unix *seconds*: not before
                    0 and not more than a day after the run's clock (a
                    milliseconds value is ~1,000 times too large).  Active only
                    when the linter is given a clock (``Linter(clock=...)``).
* ``only_when``     a non-null ``v`` only while the sibling named by the
                    pattern's ``field`` group equals its ``value`` group.
* ``non_negative``  a number ``v`` (a count) is not below zero.
* ``same_as``       a non-null ``v`` equals the non-null value at the body
                    pointer ``other`` (the look's group is the group returned).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from avatar_contract.spec import split_sentences, to_pointer

from ._finding import Finding
from ._schema_errors import show

Check = Literal["unix_seconds", "only_when", "non_negative", "same_as"]
DAY = 86_400


@dataclass(frozen=True)
class SentenceRule:
    id: str
    field: str  # the property whose description carries the words; "*" = any property
    pattern: str  # regular expression on one sentence (case-insensitive, whitespace collapsed)
    check: Check
    message: str
    other: str = ""  # ``same_as``: a JSON Pointer into the response body


RULES: tuple[SentenceRule, ...] = (
    SentenceRule(
        "sentence.unix_seconds", "*", r"\bunix timestamp \(seconds\)", "unix_seconds",
        "{value} is not plausible Unix seconds: it is {days} day(s) after the run's clock "
        "(milliseconds?)",
    ),
    SentenceRule(
        "sentence.present_only_when", "*", r"\bonly present when (?P<field>\w+) is '(?P<value>[^']*)'",
        "only_when", "{name} is present while {field} is {actual}; the spec: only when {field} is {wanted!r}",
    ),
    SentenceRule(
        "sentence.count_non_negative", "*", r"^number of\b", "non_negative",
        "{name} is {value}; a number of things is never negative",
    ),
    SentenceRule(
        "sentence.look_group", "group_id", r"\bid of the avatar group this look belongs to\b", "same_as",
        "the look's group_id is {value} but the group returned is {other_value}",
        other="/data/avatar_group/id",
    ),
)


@dataclass(frozen=True)
class Site:
    """One place a rule is active: the property, where it sits in a body, and its evidence."""

    rule: SentenceRule
    status: str
    location: tuple[str, ...]  # the object holding the property; "*" = each list item
    name: str  # the property
    sentence: str  # the element id of the sentence, ``<description pointer>#<index>``
    text: str
    groups: Mapping[str, str]


def _matches(rule: SentenceRule, name: str, description: str) -> Iterator[tuple[int, str, dict[str, str]]]:
    if rule.field not in ("*", name):
        return
    for index, sentence in enumerate(split_sentences(description)):
        found = re.search(rule.pattern, sentence, re.IGNORECASE)
        if found:
            yield index, sentence, {k: v for k, v in found.groupdict().items() if v is not None}


def sites(spec: Any, status: str, schema: Any, pointer: str) -> list[Site]:
    """Every active rule site in the response schema at ``pointer`` (for ``status``)."""
    out: list[Site] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()

    def walk(node: Any, at: str, location: tuple[str, ...], depth: int) -> None:
        if not isinstance(node, dict) or depth > 32:
            return
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            walk(spec.resolve(node), node["$ref"][1:], location, depth + 1)
        if (at, location) in seen:
            return
        seen.add((at, location))
        for key in ("anyOf", "oneOf", "allOf"):
            for index, branch in enumerate(node.get(key) or []):
                walk(branch, f"{at}/{key}/{index}", location, depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{at}/items", (*location, "*"), depth + 1)
        for name, prop in (node.get("properties") or {}).items():
            here = f"{at}/properties/{to_pointer([name])[1:]}"
            described, where = prop, here
            if isinstance(prop, dict) and "description" not in prop and isinstance(prop.get("$ref"), str):
                described, where = spec.resolve(prop), prop["$ref"][1:]
            text = described.get("description") if isinstance(described, dict) else None
            if isinstance(text, str):
                for rule in RULES:
                    for index, sentence, groups in _matches(rule, name, text):
                        out.append(Site(rule, status, location, name, f"{where}/description#{index}",
                                        sentence, groups))
            walk(prop, here, (*location, name), depth + 1)

    walk(schema, pointer, (), 0)
    return out


def _objects(value: Any, location: tuple[str, ...]) -> list[tuple[dict[str, Any], tuple[str | int, ...]]]:
    """The objects at ``location`` in ``value`` (in document order), each with its place as tokens:
    made a JSON Pointer only for a finding (building one per object of every response cost more
    than the checks)."""
    if "*" not in location:  # one place at most (the common case): no lists to build
        node = value
        for head in location:
            if not isinstance(node, dict) or head not in node:
                return []
            node = node[head]
        return [(node, location)] if isinstance(node, dict) else []
    found: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    for head in location:
        # One level at a time, parents in order and each one's children in order: document order.
        deeper: list[tuple[Any, tuple[str | int, ...]]] = []
        for node, at in found:
            if head == "*":
                if isinstance(node, list):
                    deeper.extend((item, (*at, index)) for index, item in enumerate(node))
            elif isinstance(node, dict) and head in node:
                deeper.append((node[head], (*at, head)))
        if not deeper:
            return []
        found = deeper
    return [(node, at) for node, at in found if isinstance(node, dict)]


def _at(body: Any, pointer: str) -> Any:
    node = body
    for token in _tokens(pointer):
        node = node.get(token) if isinstance(node, dict) else None
    return node


@functools.cache
def _tokens(pointer: str) -> tuple[str, ...]:
    return tuple(pointer.strip("/").split("/"))  # a rule's own pointer: few, and asked on every answer


def _check(site: Site, obj: dict[str, Any], body: Any, now: float | None) -> str | None:
    rule, name = site.rule, site.name
    value = obj.get(name)
    if rule.check == "unix_seconds":
        if now is None or type(value) is not int:
            return None
        if value < 0 or value > now + DAY:
            return rule.message.format(value=value, days=round((value - now) / DAY))
    elif rule.check == "only_when":
        field, wanted = site.groups.get("field", ""), site.groups.get("value", "")
        if value is not None and obj.get(field) != wanted:
            return rule.message.format(name=name, field=field, wanted=wanted, actual=show(obj.get(field)))
    elif rule.check == "non_negative":
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            return rule.message.format(name=name, value=value)
    elif rule.check == "same_as":
        other = _at(body, rule.other)
        if value is not None and other is not None and value != other:
            return rule.message.format(value=show(value), other_value=show(other))
    return None


def sentence_findings(found: Iterable[Site], body: Any, now: float | None) -> list[Finding]:
    """The findings of the ``found`` sites on one response body (``now``: the run's clock)."""
    out: list[Finding] = []
    places: dict[tuple[str, ...], list[tuple[dict[str, Any], tuple[str | int, ...]]]] = {}
    for site in found:
        objects = places.get(site.location)
        if objects is None:  # sites share their objects (every rule on avatar_item's fields)
            objects = places[site.location] = _objects(body, site.location)
        for obj, at in objects:
            if site.name in obj:
                problem = _check(site, obj, body, now)
                if problem is not None:
                    out.append(Finding("error", to_pointer((*at, site.name)), site.rule.id,
                                       problem, hint=f"the spec: {site.text!r}"))
    return out
