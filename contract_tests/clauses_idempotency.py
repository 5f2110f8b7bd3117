"""idempotency.*: the Idempotency-Key rules exactly as the spec's parameter describes them.

Only what the spec states is asserted: a retry with the key replays the
original response (even with a different body), a retry during the original
gets 409 ``request_in_progress``, keys follow the documented format, and the
scope excludes other credentials.  Whether a 400 is replayed is unstated, so
no clause depends on it; every key the suite sends is fresh unless reused on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .clause import ClauseContext, clause
from .exchange import Exchange
from .finding import steps
from .keys import fresh_key, invalid_keys, valid_keys

LIVE_CONCURRENCY = 4  # same-key requests in one in-flight race on a live target
TENANT_SCOPE = ("the same Idempotency-Key under the second key (AVATAR_API_KEY_2) must be a 200 "
                "creating that tenant's own avatar: the data.avatar_item.id values differ, and no 409")
IN_FLIGHT = ("the concurrent requests share one key: each answer must be the same 200 (one "
             "data.avatar_item.id for all) or 409 request_in_progress; two different ids are two avatars")


REPLAY = "the retry must repeat the original's status and body: the same data.avatar_item.id, no new avatar"


def _same_response(ctx: ClauseContext, original: Exchange, again: Exchange, label: str,
                   before: Sequence[Exchange | Sequence[Exchange]] = ()) -> bool:
    """``again`` replays ``original``: same status, same JSON body (so the same ids).

    ``before``: what was sent ahead of ``original`` that the reproducer must repeat too (a race).
    """
    ctx.cases += 1
    shown = steps(*before, original, again) if not before else steps(*before, again)
    if again.status != original.status:
        ctx.fail(f"{label}: the original was {original.status}, the retry got {again.summary()}", again,
                 sequence=shown, compare=REPLAY)
        return False
    if again.json != original.json:
        first, second = original.item_id(), again.item_id()
        detail = (f"a new avatar was created ({first} then {second})" if first and second and first != second
                  else f"the body differs: original {original.summary(160)} / retry {again.summary(160)}")
        ctx.fail(f"{label}: {detail}", again, sequence=shown, compare=REPLAY)
        return False
    return True


async def _original(ctx: ClauseContext, body: dict[str, Any], key: str, tenant: int = 1) -> Exchange:
    """The first create under ``key``; without a 200 there is nothing to replay."""
    exchange = await ctx.session.post(body, key=key, credential=ctx.credentials.api_key(tenant), creates=True)
    if exchange.status != 200:
        ctx.not_observed(f"the first create with a fresh key was answered {exchange.summary(120)}; "
                         "replay needs a successful create (see request.variants)")
    return exchange


@clause(
    "idempotency.key_format",
    "Keys of length 1 and 255 and of every allowed character class are accepted; empty, 256 "
    "characters, spaces, `/`, `=`, non-ASCII and quotes get 400.",
    "Lengths and alphabet come from the header schema. Malformed keys ride on a valid body when a "
    "create can be afforded (in-process always), so a server that skips the check creates (and fails); "
    "without creates they ride on an invalid body (never a create). Well-formed keys must give 200 "
    "(creation-gated).",
    creates=(2, 9),
)
async def key_format(ctx: ClauseContext) -> None:
    f = ctx.bodies
    body = f.body(f.variants[0], name="Idempotency-Key format check")
    on_invalid = 0
    for label, raw in invalid_keys():
        if ctx.budget.can(1):
            # A server that ignores the format (an empty key taken as absent, say)
            # creates here: reserved, so even that stays within --max-creates.
            exchange = await ctx.session.post(body, key=raw, creates=True)
            ctx.expect_error(exchange, 400, f"{label} (valid body)")
        else:
            # No create to spend: a valid body would be billable on such a server.
            on_invalid += 1
            exchange = await ctx.session.post({}, key=raw)
            ctx.expect_error(exchange, 400, f"{label} (invalid body: no creates allowed)")
    if on_invalid:
        ctx.note(f"{on_invalid} malformed key(s) rode on an invalid body (no creates left or allowed): "
                 "a server that ignores the key format is not caught that way; pass --allow-create")
    for label, key in valid_keys():
        if not ctx.budget.can(1):
            ctx.note("well-formed keys not (all) sent: no creates left (--allow-create / --max-creates)")
            return
        exchange = await ctx.session.post(body, key=key, creates=True)
        ctx.expect_created(exchange, body, f"{label} must be accepted")


@clause(
    "idempotency.replay",
    "The same key and body return an identical status and body, and create no new resource.",
    "One create with a fresh key, two retries that must be identical (same ids); a control create "
    "with another key must make a different avatar. Creation-gated; each retry is budgeted as a create.",
    creates=(2, 4),
    needs_create=True,
)
async def replay(ctx: ClauseContext) -> None:
    f = ctx.bodies
    body = f.body(f.variants[0], name="Replay check")
    key = fresh_key()
    original = await _original(ctx, body, key)
    for attempt in (1, 2):
        if attempt > 1 and not ctx.budget.can(1):
            ctx.note("second retry not sent: no create left to cover a server that ignores the key")
            break
        # creates=True: on a server that ignores the key a retry is a new avatar.
        again = await ctx.session.post(body, key=key, creates=True)
        _same_response(ctx, original, again, f"retry {attempt} with the same key and body")
    if not ctx.budget.can(1):
        ctx.note("control create with another key not sent: no creates left (--max-creates)")
    else:
        other = await ctx.session.post(body, key=fresh_key(), creates=True)
        ctx.cases += 1
        if other.status == 200 and other.item_id() and other.item_id() == original.item_id():
            ctx.fail("a different key returned the same avatar id: replies look canned, not created", other,
                     sequence=steps(original, other),
                     compare="two different keys must create two avatars: the data.avatar_item.id values differ")


@clause(
    "idempotency.replay_body_differs",
    "The same key with a different body replays the original (HeyGen's documented rule; not 422).",
    "A create, then the same key with one text field changed: the answer must be the original status and body. "
    "Creation-gated; the retry is budgeted as a create.",
    creates=(2, 2),
    needs_create=True,
)
async def replay_body_differs(ctx: ClauseContext) -> None:
    f = ctx.bodies
    body = f.body(f.variants[0], name="Replay original")
    key = fresh_key()
    original = await _original(ctx, body, key)
    changed = f.vary(body)
    again = await ctx.session.post(changed, key=key, creates=True)  # a create if the key is ignored
    _same_response(ctx, original, again, "the same key with a different body")


@clause(
    "idempotency.in_flight",
    "N concurrent same-key requests: every answer is the one original 200 (same ids) or 409 "
    "`request_in_progress` with the envelope, and at most one resource is created.",
    "N concurrent identical requests (8 in-process, 4 live), then a final retry that must replay the "
    "single avatar. Creation-gated; every request of the race, and the retry, is budgeted as a create.",
    creates=(LIVE_CONCURRENCY + 1, LIVE_CONCURRENCY + 1),
    needs_create=True,
)
async def in_flight(ctx: ClauseContext) -> None:
    f = ctx.bodies
    concurrency = 8 if ctx.target.embedded else LIVE_CONCURRENCY
    for round_ in (1, 2):
        body = f.body(f.variants[0], name=f"In-flight check {round_}")
        key = fresh_key()
        # One avatar on a correct server, but one per request on a server that
        # ignores the key: the whole race must fit in the budget.
        ctx.budget.require(concurrency)
        answers = await asyncio.gather(*(ctx.session.post(body, key=key) for _ in range(concurrency)))
        created = [a for a in answers if a.status == 200]
        race = steps(list(answers))
        for answer in answers:
            if answer.status == 409:
                ctx.expect_error(answer, 409, "a concurrent retry")
            elif answer.status != 200:
                ctx.cases += 1
                ctx.fail(f"a concurrent retry got {answer.summary()}; expected 200 or 409", answer,
                         sequence=race, compare=IN_FLIGHT)
        ids = {a.item_id() for a in created}
        ctx.cases += 1
        if len(ids) > 1 or any(a.json != created[0].json for a in created[1:]):
            ctx.fail(f"{len(created)} concurrent requests with one key returned {len(ids)} different "
                     f"avatars ({', '.join(sorted(str(i) for i in ids))})", created[-1],
                     sequence=race, compare=IN_FLIGHT)
            return
        if not created:
            ctx.fail("no concurrent request with the key got 200; the original must succeed", answers[0],
                     sequence=race, compare=IN_FLIGHT)
            return
        final = await ctx.session.post(body, key=key, creates=True)
        _same_response(ctx, created[0], final, "a retry after the concurrent burst", before=[list(answers)])
        if not ctx.target.embedded:
            return  # one round is enough evidence for a billable target


@clause(
    "idempotency.tenant_scope",
    "With a second key, the same Idempotency-Key under the other credential is independent and "
    "never replays the first tenant's response.",
    "Tenant A creates with key K; tenant B sends the same key and body and must get its own 200 "
    "(another avatar), not A's replay and not 409. Needs --second-api-key (in-process: built in).",
    creates=(2, 2),
    needs_create=True,
    needs_second_key=True,
)
async def tenant_scope(ctx: ClauseContext) -> None:
    f = ctx.bodies
    body = f.body(f.variants[0], name="Tenant scope check")
    key = fresh_key()
    first = await _original(ctx, body, key, tenant=1)
    other = await ctx.session.post(body, key=key, credential=ctx.credentials.api_key(2), creates=True)
    shown = steps(first, other)
    if not ctx.expect_created(other, body, "the same key under the second API key", sequence=shown,
                              compare=TENANT_SCOPE):
        return
    ctx.cases += 1
    if other.json == first.json or (other.item_id() and other.item_id() == first.item_id()):
        ctx.fail("the second tenant got the first tenant's response replayed "
                 f"(avatar {first.item_id()})", other, sequence=shown, compare=TENANT_SCOPE)
