"""A referenced avatar (``avatar_id``), handled as the loaded spec describes it.

The June 2026 spec lets a prompt avatar name an existing avatar as its visual
reference.  What that means is prose, so the emulator follows the server rows
of the advice rule table (``avatar_id.joins_group``, ``.must_exist``,
``.usable_image``, ``.in_group``) and only while the loaded spec still says them: under the
vendored spec ``avatar_id`` is an unknown field and is ignored.
"""

from __future__ import annotations

from typing import Any

from avatar_contract.spec import Spec
from avatar_contract.validators import contract_for
from avatar_contract.validators._advice_audit import active_rules
from avatar_contract.validators._advice_rules import AdviceRule

from ._records import Look
from ._validation import Rejected

GROUP_FIELD = "avatar_group_id"


class References:
    def __init__(self, spec: Spec) -> None:
        contract = contract_for(spec)
        variants = contract.request.variants
        self._rules: dict[str, dict[str, AdviceRule]] = {}
        for value, branch in (variants.branches.items() if variants is not None else ()):
            rows = {rule.id: rule for rule in active_rules(contract, branch) if rule.check == "server"}
            if rows:
                self._rules[value] = rows

    def avatar_id(self, body: dict[str, Any]) -> str | None:
        """The referenced avatar's id, when the body's variant gives ``avatar_id`` a meaning."""
        rows = self._rules.get(str(body.get("type")))
        if not rows:
            return None
        field = next(iter(rows.values())).field
        value = body.get(field)
        return value if isinstance(value, str) else None

    def judge(self, body: dict[str, Any], look: Look | None, failed: bool = False) -> Rejected | str | None:
        """A refusal, the group the new avatar joins, or None (nothing to change).

        ``failed``: the referenced look's training failed, so it has no image to use.
        """
        rows = self._rules.get(str(body.get("type")), {})
        group = body.get(GROUP_FIELD)
        if look is None:
            rule = rows.get("avatar_id.must_exist")
            if rule is None:
                return None
            return Rejected(rule.message.format(value=repr(body.get(rule.field))), rule.field)
        usable = rows.get("avatar_id.usable_image")
        if failed and usable is not None:
            return Rejected(usable.message.format(value=repr(look.id)), usable.field)
        if isinstance(group, str):
            rule = rows.get("avatar_id.in_group")
            if rule is not None and look.group_id != group:
                return Rejected(rule.message.format(value=repr(look.id)), rule.field)
            return None
        return look.group_id if "avatar_id.joins_group" in rows else None
