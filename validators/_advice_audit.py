"""Which advice rules the loaded spec still supports, with the sentence each one rests on.

``lint --spec-audit`` lists this after the spec's defects, and ``spec diff``
compares it between two specs to report rules turning active or inactive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ._advice_rules import RULES, AdviceRule, evidence
from ._compiled import Branch
from ._contract import Contract
from ._output import Result, render_text, to_json, to_sarif


@dataclass(frozen=True)
class RuleActivity:
    """One table row under one spec: where its text was found (nowhere: inactive)."""

    rule: AdviceRule
    found: tuple[tuple[str, str], ...]  # (pointer of the field in the spec, the sentence found)

    @property
    def active(self) -> bool:
        return bool(self.found)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "field": self.rule.field,
            "text": self.rule.text,
            "check": self.rule.check,
            "emits": self.rule.emits,
            "active": self.active,
            "found": [{"pointer": pointer, "sentence": sentence} for pointer, sentence in self.found],
        }


def branches(root: Branch) -> Iterator[Branch]:
    """Every object schema of the request tree once: the body, variants, assets."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        branch = todo.pop(0)
        if branch.pointer in seen:
            continue
        seen.add(branch.pointer)
        yield branch
        for _, union in branch.unions:
            todo.extend(union.branches.values())


def rule_activity(contract: Contract) -> list[RuleActivity]:
    """Every row of the table, in table order, with where the loaded spec supports it."""
    tree = list(branches(contract.request.root))
    out = []
    for rule in RULES:
        found: list[tuple[str, str]] = []
        for branch in tree:
            props = branch.schema.get("properties")
            if not isinstance(props, dict) or (rule.text is None and branch.closed):
                continue
            sentence = evidence(rule, props, contract.spec.resolve)
            if sentence is not None:
                where = branch.pointer if rule.field == "*" else f"{branch.pointer}/properties/{rule.field}"
                found.append((where, sentence))
        out.append(RuleActivity(rule, tuple(found)))
    return out


def listing_lines(activity: Sequence[RuleActivity]) -> Iterator[str]:
    """The text listing: one line per row, then one per place its text was found."""
    for row in activity:
        rule = row.rule
        server = "  (server-side: the linter says nothing)" if not rule.emits else ""
        if not row.active:
            where = "any declared field" if rule.field == "*" else f"any {rule.field} description"
            yield f"  inactive  {rule.id}: {rule.text!r} is not in {where}{server}"
            continue
        media = f" ({rule.text!r}: {rule.media}*)" if rule.media else ""
        yield f"  active    {rule.id}{media}{server}"
        for pointer, sentence in row.found:
            yield f"              {pointer}: {sentence!r}" if rule.text else f"              {pointer}"


def render_audit(results: Sequence[Result], activity: Sequence[RuleActivity], fmt: str,
                 stream: TextIO, version: str) -> None:
    """``--spec-audit`` output: the spec's defects, then the advice rule listing."""
    if fmt == "text":
        render_text(results, stream)
        stream.write("advice rules (validators/_advice_rules.py):\n")
        for line in listing_lines(activity):
            stream.write(line + "\n")
        return
    rows = [row.to_dict() for row in activity]
    if fmt == "json":
        document = to_json(results)
        document["advice_rules"] = rows
    else:
        document = to_sarif(results, version)
        document["runs"][0].setdefault("properties", {})["adviceRules"] = rows
    json.dump(document, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def active_rules(contract: Contract, branch: Branch) -> tuple[AdviceRule, ...]:
    """The rows (server rows included) whose text ``branch``'s property descriptions contain.

    What the emulator and the contract suite consult where they rely on advice,
    so they never behave by a sentence the loaded spec no longer states.
    """
    props = branch.schema.get("properties")
    if not isinstance(props, dict):
        return ()
    return tuple(rule for rule in RULES
                 if (rule.field == "*" or rule.field in props)
                 and evidence(rule, props, contract.spec.resolve) is not None)
