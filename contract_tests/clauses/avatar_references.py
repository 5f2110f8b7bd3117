"""A referenced avatar (the June 2026 spec's ``avatar_id``): its refusals and the group it saves to.

What a reference means is prose, so these checks follow the server rows of
the advice table (``avatar_id.must_exist``, ``.in_group``, ``.joins_group`` in
``validators/_advice_rules.py``), each only while the loaded spec still says
it (:func:`~avatar_contract.validators._advice_audit.active_rules`), as the
emulator does.  Under the vendored spec there is none and nothing is sent.

* must exist: an id naming no avatar, and (with a second key) an avatar of
  the second tenant's, sent by the first, get 400 and never 2xx
  (``request.rejects_invalid``).  The second tenant's avatar is the one
  ``idempotency.tenant_scope`` made under its key; nothing of the first tenant
  is ever sent under the second key.
* in group: a run's own avatar sent with another group the run made gets 400
  (``request.rejects_invalid``).
* joins group: a create that references an avatar of this run is saved to that
  avatar's group, or to the group it sent (``request.variants``).

The "usable image" half of must-exist is not probed: a run cannot make an
avatar whose image is unusable (its coverage row says so).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from avatar_contract.validators._advice_audit import active_rules

from ..planning.pool_result import PoolResult
from ..probes.bodies import BodyFactory
from ..targets.exchange import Exchange
from .clause import ClauseContext
from .tenancy import first_tenant_resources

MUST_EXIST, IN_GROUP, JOINS_GROUP = "avatar_id.must_exist", "avatar_id.in_group", "avatar_id.joins_group"


@dataclass(frozen=True)
class Reference:
    variant: str
    field: str  # the property naming the avatar (avatar_id)
    rules: frozenset[str]  # the server rows the loaded spec states for it


def references(f: BodyFactory) -> list[Reference]:
    out: list[Reference] = []
    for variant in f.variants:
        by_field: dict[str, set[str]] = {}
        for rule in active_rules(f.contract, f.branch(variant)):
            if rule.check == "server" and rule.field != "*":
                by_field.setdefault(rule.field, set()).add(rule.id)
        out += [Reference(variant, name, frozenset(ids)) for name, ids in sorted(by_field.items())]
    return out


def _second(ctx: ClauseContext) -> set[str]:
    """How a request under the second key shows its credential (the shell form, kept on disk too)."""
    creds = ctx.credentials
    return {creds.api_key(2).shell, creds.bearer(2).shell} if creds.has(2) else set()


Made = list[tuple[dict[str, Any], str, str, Exchange]]


def avatars(ctx: ClauseContext, pool: PoolResult) -> tuple[Made, list[str]]:
    """The 2xx creates of the first tenant as (body, avatar id, group id, answer), and the second
    tenant's avatar ids."""
    second = _second(ctx)
    first: Made = []
    others: list[str] = []
    for body, exchange in pool.creates:
        item, group = exchange.item_id(), exchange.group_id()
        credential = exchange.request.credential
        if credential is not None and credential.shell in second:
            others += [item] if item else []
        elif item and group:
            first.append((body, item, group, exchange))
    mine = {item for _, item, _, _ in first}
    return first, [item for item in others if item not in mine]  # a replay across tenants is not foreign


async def _made_here(ctx: ClauseContext, variant: str) -> tuple[Made, list[str]]:
    """In-process (free): two avatars of the first tenant, each founding its group, and one of the second's."""
    f = ctx.bodies
    first: Made = []
    others: list[str] = []
    for tenant in (1, 1, 2):
        body = f.body(variant, name=f"Reference probe (tenant {tenant})")
        if tenant == 2 and first_tenant_resources(f, body):
            continue  # (never the first tenant's resources under the second key)
        exchange = await ctx.session.post(body, creates=True, credential=ctx.credentials.api_key(tenant))
        item, group = exchange.item_id(), exchange.group_id()
        if item and group and 200 <= exchange.status < 300:
            if tenant == 1:
                first.append((body, item, group, exchange))
            else:
                others.append(item)
    return first, others


def _base(f: BodyFactory, ref: Reference, first: Made) -> dict[str, Any]:
    """A body of the variant the target accepted (else the plain one), with no group and no reference."""
    tag = f.union.property
    accepted = next((b for b, _, _, _ in first if b.get(tag) == ref.variant), None)
    body = dict(accepted) if accepted is not None else f.body(ref.variant)
    body.pop(ref.field, None)
    body.pop(f.group_property(ref.variant) or "", None)
    return body


async def refusals(ctx: ClauseContext, pool: PoolResult) -> None:
    """request.rejects_invalid: each reference the spec says must be refused gets 400, never 2xx."""
    f = ctx.bodies
    refs = references(f)
    if not refs:
        return
    # In-process each clause has its own emulator, so the pool's avatars are not this one's: make them here.
    first, foreign = await _made_here(ctx, refs[0].variant) if ctx.target.embedded else avatars(ctx, pool)
    for ref in refs:
        group_prop = f.group_property(ref.variant)
        base = _base(f, ref, first)
        cases: list[tuple[str, dict[str, Any]]] = []
        if MUST_EXIST in ref.rules:
            cases.append((f"{ref.variant} with {ref.field} naming no avatar (must exist)",
                          {**base, ref.field: f"no-such-avatar-{uuid.uuid4().hex}"}))
            if foreign:
                cases.append((f"{ref.variant} with {ref.field} naming the second tenant's avatar (must exist "
                              "in this account)", {**base, ref.field: foreign[0]}))
            else:
                ctx.note(f"{ref.field} of another account not probed: no avatar of the second key's "
                         "(idempotency.tenant_scope makes one; it needs a second key)")
        if IN_GROUP in ref.rules and group_prop:
            pair = next(((item, other) for _, item, group, _ in first for _, _, other, _ in first if other != group),
                        None)
            if pair is not None:
                cases.append((f"{ref.variant} with {ref.field} of this run's avatar and another of its groups "
                              "(must belong to that group)", {**base, ref.field: pair[0], group_prop: pair[1]}))
            else:
                ctx.note(f"{ref.field} outside the {group_prop} sent not probed: the run made no two groups")
        for label, body in cases:
            exchange = await ctx.session.post(body)
            ctx.expect_error(exchange, 400, label)


async def saved_groups(ctx: ClauseContext, pool: PoolResult) -> None:
    """request.variants: a create naming an avatar of this run is saved to that avatar's group, or
    (with a group sent) to the group sent."""
    f = ctx.bodies
    first, _ = avatars(ctx, pool)
    group_of = {item: group for _, item, group, _ in first}
    for ref in references(f):
        if JOINS_GROUP not in ref.rules:
            continue
        group_prop = f.group_property(ref.variant) or ""
        judged = 0
        for body, _, got, exchange in first:
            named = body.get(ref.field)
            if body.get(f.union.property) != ref.variant or not isinstance(named, str) or named not in group_of:
                continue
            sent = body.get(group_prop)
            expected = sent if isinstance(sent, str) and sent else group_of[named]
            judged += 1
            ctx.cases += 1
            if got != expected:
                whose = "the group sent" if expected == sent else f"the referenced avatar {named}'s group"
                ctx.fail(f"{ref.variant} with {ref.field} {named}: saved to group {got}, not {whose} "
                         f"{expected}", exchange, kind=f"{ref.field} group")
        if not judged:
            ctx.note(f"the group a {ref.field} create is saved to not judged: no create referenced an avatar "
                     "this run made (on a live target the fixture's avatar has no known group)")
