"""idempotency.*: the Idempotency-Key rules exactly as the spec's parameter describes them.

Only what the spec states is asserted: a retry with the key replays the
original response (even with a different body), a retry during the original
gets 409 ``request_in_progress``, keys follow the documented format, and the
scope excludes other credentials.  Whether a 400 is replayed is unstated, so
no clause depends on it; every key the suite sends is fresh unless reused on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..planning.budget import ValidBodyRefused
from ..planning.pool_result import PoolResult, unrun_reason
from ..planning.race import MARGIN, overlap
from ..probes.keys import invalid_keys
from ..targets.exchange import Exchange
from .attribution import rate_limited
from .clause import ClauseContext, clause
from .finding import steps
from .json_difference import ABSENT as ABSENT_MEMBER
from .json_difference import first_difference
from .json_difference import shown as quoted

# What a reader of a reproducer compares (repro/<clause>-<n>.sh prints it).
REPLAY = "the retry must repeat the original's status and body: the same data.avatar_item.id, no new avatar"
TENANT_SCOPE = ("the same Idempotency-Key under the second key (AVATAR_API_KEY_2) must be a 200 "
                "creating that tenant's own avatar: the data.avatar_item.id values differ, and no 409")
IN_FLIGHT = ("the concurrent requests share one key: each answer must be the same 200 (one "
             "data.avatar_item.id for all) or 409 request_in_progress; two different ids are two avatars")
CANNED = "two different keys must create two avatars: the data.avatar_item.id values differ"


def _same_response(ctx: ClauseContext, original: Exchange, again: Exchange, label: str,
                   before: Sequence[Exchange | Sequence[Exchange]] = ()) -> bool:
    """``again`` replays ``original``: same status, same JSON body (so the same ids).

    ``before``: what was sent ahead of ``again`` that a reproducer must repeat too
    (a race, whose first answer is ``original``); otherwise ``original`` itself.
    """
    shown = steps(*before, again) if before else steps(original, again)
    if not (original.judgeable and again.judgeable):
        ctx.note(f"{label}: a body was not received in full, so the replay could not be compared "
                 f"(request #{again.request_number})")
        return False
    ctx.cases += 1
    if again.status != original.status:
        ctx.fail(f"{label}: the original was {original.status}, the retry got {again.summary()}", again,
                 kind=f"status {again.status}", sequence=shown, compare=REPLAY)
        return False
    differs = first_difference(original.json, again.json)
    if differs is not None:
        first, second = original.item_id(), again.item_id()
        at, before, after = differs
        detail = (f"a new avatar was created ({first} then {second})" if first and second and first != second
                  else f"the body differs at {at or '(root)'}: original {quoted(before)}, retry {quoted(after)}")
        ctx.fail(f"{label}: {detail}", again, kind="body differs", sequence=shown, compare=REPLAY,
                 pointer=at if after is not ABSENT_MEMBER else _parent(at))
        return False
    return True


def _parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0]


async def _pairs(ctx: ClauseContext, name: str) -> list[list[Exchange]]:
    """The pool's (original, retry) pairs for this clause; none ran: incomplete, with the reason."""
    await ctx.judge_facts()
    pool = await ctx.pool()
    pairs = pool.follow.get(name, [])
    if not pairs:
        reason = unrun_reason(ctx.unrun[0].detail) if ctx.unrun else "nothing planned for it"
        ctx.incomplete(f"not run: {reason}")
    return pairs


@clause(
    "idempotency.key_format",
    "Keys of length 1 and 255 and of every allowed character class are accepted; empty, 256 "
    "characters, spaces, `/`, `=`, non-ASCII and quotes get 400.",
    "Lengths and alphabet come from the header schema. Malformed keys ride on a valid body when creates "
    "are allowed (each holds a create slot; a server that skips the check creates, fails and trips the "
    "breaker); without, on an invalid body. Well-formed keys are the planner's creates and must be accepted "
    "(a refusal is split from the body).",
)
async def key_format(ctx: ClauseContext) -> None:
    f = ctx.bodies
    body = f.body(f.variants[0], name="Idempotency-Key format check")
    on_invalid = named = 0
    cases = invalid_keys()
    for label, raw in cases:
        try:
            exchange = await ctx.session.post(body, key=raw)
            ctx.expect_error(exchange, 400, f"{label} (valid body)")
        except ValidBodyRefused:
            on_invalid += 1  # a valid body would be billable on a server that ignores the format
            exchange = await ctx.session.post({}, key=raw)
            if ctx.expect_error(exchange, 400, f"{label} (invalid body: no creates allowed)"):
                named += _names_the_key(exchange)
    if cases and not on_invalid:
        await _under_bearer(ctx, body, *cases[0])
    if on_invalid:
        ctx.note(f"{on_invalid} malformed key(s) rode on an invalid body (creation not allowed): "
                 "a server that ignores the key format is not caught that way; pass --allow-create")
    if on_invalid == len(cases) and not named and not ctx.failures:
        # Each 400 may be the body's: nothing shows the key format is checked (a heuristic: an error
        # that names the Idempotency-Key is taken as the key's).
        ctx.incomplete("every malformed key rode on an invalid body and no 400 named the Idempotency-Key: "
                       "the refusals may all be the body's; pass --allow-create")
    if ctx.target.may_create:
        await ctx.judge_facts()
        await _case_distinct(ctx)
    else:
        ctx.note("well-formed keys not sent: creation not allowed (--allow-create)")


async def _under_bearer(ctx: ClauseContext, body: dict[str, object], label: str, raw: bytes) -> None:
    """Every scheme the spec declares: the key's format is checked under Bearer too (a 401 there is
    auth.bearer's finding, noted)."""
    try:
        exchange = await ctx.session.post(body, key=raw, credential=ctx.credentials.bearer())
    except ValidBodyRefused:
        return
    if exchange.status == 401:
        ctx.note("a malformed key under Authorization: Bearer got 401: see auth.bearer")
    else:
        ctx.expect_error(exchange, 400, f"{label} (valid body, under Authorization: Bearer)")


async def _case_distinct(ctx: ClauseContext) -> None:
    """The key's pattern tells cases apart, so a key with its letters' case swapped is another key:
    the same body under it is a new create, never the first one's replay (nor a 409)."""
    pool = await ctx.pool()
    canned = _canned_ids(pool)  # the same id under unrelated keys too: idempotency.replay's finding
    for original, again in pool.follow.get("key_case", []):
        label = "the same body under the key with its letters' case swapped"
        same = again.item_id() is not None and again.item_id() == original.item_id()
        if same and again.item_id() in canned:
            ctx.note(f"{label} got the same avatar id, which the target also gave other keys (see idempotency.replay)")
        elif again.status == 409 or same:
            ctx.cases += 1
            ctx.fail(f"{label} was answered as the same key ({again.summary(100)}): keys differing only "
                     "in case are different keys", again, kind="key case folded",
                     sequence=steps(original, again))
        elif 200 <= again.status < 300:
            ctx.cases += 1
        else:
            ctx.note(f"{label} was refused ({again.summary(80)}): case equivalence not judged")


def _names_the_key(exchange: Exchange) -> bool:
    """The 400's error names the Idempotency-Key (its ``param`` or message): the key was checked."""
    body = exchange.json
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return False
    return any(isinstance(v, str) and "idempotency" in v.lower() for v in (error.get("param"), error.get("message")))


def _canned_ids(pool: PoolResult) -> set[str]:
    """Avatar ids the target returned to creates under different Idempotency-Keys (replies look canned)."""
    keys: dict[str, set[str]] = {}
    for _, exchange in pool.creates:
        ident = exchange.item_id()
        if ident is not None:
            # Keys differing only in case: idempotency.key_format's to judge (one owner per defect).
            keys.setdefault(str(ident), set()).add((exchange.request.idempotency_key or "").lower())
    return {ident for ident, seen in keys.items() if len(seen) > 1}


@clause(
    "idempotency.replay",
    "The same key and body return an identical status and body, and create no new resource.",
    "A planned create, then a retry with its key and body that must be identical (same ids; a difference is "
    "named by its pointer); on a real target the retry is sent at this clause's turn, long after the original, "
    "so a replay rendered from the avatar's current state (training moved on) instead of the stored answer "
    "differs. Creates under different keys must be different avatars. Creation-gated; the retry is counted "
    "as a create.",
    needs_create=True,
)
async def replay(ctx: ClauseContext) -> None:
    await ctx.judge_facts()
    pool = await ctx.pool()
    same = [_same_response(ctx, original, again, "a retry with the same key and body")
            for original, again in pool.follow.get("replay", [])]
    for (original,) in pool.follow.get("replay_later", []):
        again = await _resend(ctx, original)
        gap = f", sent {again_gap:.0f} s after the original" if (again_gap := _gap(original, again)) else ""
        same.append(_same_response(ctx, original, again, f"a retry with the same key and body{gap}"))
    if not same:
        reason = unrun_reason(ctx.unrun[0].detail) if ctx.unrun else "nothing planned for it"
        ctx.incomplete(f"not run: {reason}")
    # Another tenant's same key replaying is idempotency.tenant_scope's defect, so keys, not credentials.
    seen: dict[str, tuple[str, Exchange]] = {}
    for _, exchange in pool.creates:
        # Keys differing only in case: idempotency.key_format's to judge (one owner per defect).
        ident, who = exchange.item_id(), (exchange.request.idempotency_key or "").lower()
        if ident is None:
            continue
        ctx.cases += 1
        if ident in seen and seen[ident][0] != who:
            ctx.fail(f"creates under different keys returned the same avatar id {ident}: replies look canned",
                     exchange, kind="canned id", sequence=steps(seen[ident][1], exchange), compare=CANNED)
        seen.setdefault(ident, (who, exchange))
    _replays_proven(ctx, same)


async def _resend(ctx: ClauseContext, original: Exchange) -> Exchange:
    """``original``'s request again: its body and key, its credential rebuilt in the same form from
    the run's keys (a pool shared by pytest-xdist workers keeps no key value)."""
    sent = original.request
    bearer = sent.credential is not None and sent.credential.header.lower() == "authorization"
    credential = ctx.credentials.bearer() if bearer else ctx.credentials.api_key()
    return await ctx.session.post(sent.value, key=sent.idempotency_key, credential=credential, creates=True)


def _gap(original: Exchange, again: Exchange) -> float | None:
    """Seconds between the original's answer and the retry's (monotonic, system-wide on Linux)."""
    if original.answered_at is None or again.answered_at is None:
        return None
    return max(0.0, again.answered_at - original.answered_at)


def _replays_proven(ctx: ClauseContext, same: list[bool]) -> None:
    """A replay clause with no retry compared at all (bodies not received) saw nothing: incomplete."""
    if not ctx.failures and same and not any(same):
        ctx.incomplete("no retry could be compared with its original (bodies not received)")


@clause(
    "idempotency.replay_body_differs",
    "The same key with a different body replays the original (HeyGen's documented rule; not 422).",
    "A planned create, then its key with one text field changed: the answer must be the original status "
    "and body. Creation-gated; the retry is counted as a create.",
    needs_create=True,
)
async def replay_body_differs(ctx: ClauseContext) -> None:
    pairs = await _pairs(ctx, "replay_body_differs")
    same = [_same_response(ctx, original, again, "the same key with a different body") for original, again in pairs]
    _replays_proven(ctx, same)


@clause(
    "idempotency.in_flight",
    "N concurrent same-key requests: every answer is the one original 200 (same ids) or 409 "
    "`request_in_progress`, and at most one resource is created.",
    "The planner's race: N concurrent identical requests (8 in-process, twice, then a retry that must "
    "replay the single avatar; 3 live), their bodies sent together once every request's headers are out. "
    "Passes only on proof of overlap: a 409, or a request fully sent 200 ms or more before the first answer "
    "began (a heuristic); same answers without it are incomplete, different avatars fail. Creation-gated; "
    "every request of the race is counted as a create.",
    needs_create=True,
)
async def in_flight(ctx: ClauseContext) -> None:
    races = await _pairs(ctx, "in_flight")
    controls = (await ctx.pool()).follow.get("in_flight_limiter", [])
    proven: list[str] = []  # why each race counts as evidence: a 409, or timing that shows the overlap
    for index, answers in enumerate(races):
        statuses = {a.status for a in answers}
        if all(rate_limited(a) for a in answers):  # attribution.race_unretried
            ctx.incomplete(f"the race was answered {answers[0].status} throughout (a rate limiter): not judged")
        control = controls[index] if index < len(controls) else []
        mixed = any(rate_limited(a) for a in answers)
        if mixed and not control:  # attribution.race_limiter_control, which the budget left unsent
            ctx.incomplete("some of the race's requests were answered 429 and the limiter control (invalid bodies "
                           "sent right after) could not go out (create budget): the race cannot be judged")
        if any(rate_limited(a) for a in control):  # attribution.race_limiter_control
            throttled = sum(rate_limited(a) for a in answers)
            ctx.incomplete(f"{throttled} of the race's {len(answers)} requests were answered by a rate limiter, "
                           f"which also answered {sum(rate_limited(a) for a in control)} of {len(control)} "
                           f"key-less invalid bodies sent right after (request #{control[0].request_number}): "
                           "the race cannot be judged")
        if not any(200 <= s < 300 or s == 409 for s in statuses):
            ctx.incomplete(f"the race's body was refused ({answers[0].summary(100)}): "
                           f"request #{answers[0].request_number}")
        created = [a for a in answers if 200 <= a.status < 300]
        race = steps(list(answers))
        for answer in answers:
            if answer.status == 409:
                ctx.expect_error(answer, 409, "a concurrent retry")
            elif answer.status == 0:
                ctx.expect_created(answer, answer.request.value, "a concurrent request")  # counted, not judged
            elif not 200 <= answer.status < 300:
                ctx.cases += 1
                ctx.fail(f"a concurrent retry got {answer.summary()}; expected 200 or 409", answer,
                         kind=f"status {answer.status}", sequence=race, compare=IN_FLIGHT)
        read = [a for a in created if a.judgeable]
        ids = {a.item_id() for a in read}
        ctx.cases += 1
        if len(ids) > 1 or any(a.json != read[0].json for a in read[1:]):
            # Two avatars are their own proof that the requests overlapped.
            ctx.fail(f"{len(created)} concurrent requests with one key returned {len(ids)} different "
                     f"avatars ({', '.join(sorted(str(i) for i in ids))})", read[-1], kind="several avatars",
                     sequence=race, compare=IN_FLIGHT)
        elif not created:
            ctx.fail("no concurrent request with the key got 200; the original must succeed", answers[0],
                     kind="no original", sequence=race, compare=IN_FLIGHT)
        elif len(read) < len(created):
            ctx.note(f"{len(created) - len(read)} 2xx answer(s) of a race had no body to compare (body not received)")
        elif 409 in statuses:
            proven.append("the target answered 409 to a request while another with its key was in flight")
        elif (why := overlap(answers)) is not None:
            proven.append(why)
    for first, final in (await ctx.pool()).follow.get("in_flight_retry", []):
        # The reproducer repeats the race the retry follows (the one that used its key).
        key = final.request.idempotency_key
        before = [r for r in races if r and r[0].request.idempotency_key == key][:1]
        _same_response(ctx, first, final, "a retry after the concurrent burst", before=before)
    if ctx.failures:
        return
    if not proven:
        # Same answers to requests that never overlapped say nothing about an in-flight guard.
        ctx.incomplete(f"no overlap proven in {len(races)} race(s): no answer was 409, and the first answer began "
                       f"less than {MARGIN * 1000:.0f} ms after the others were fully sent, so the same answers may be "
                       "plain replays of a finished create; no evidence that a request arrived while another was in "
                       "flight")
    ctx.note(f"overlap proven in {len(proven)} of {len(races)} race(s): {proven[0]}")


@clause(
    "idempotency.tenant_scope",
    "With a second key, the same Idempotency-Key under the other credential is independent and "
    "never replays the first tenant's response.",
    "A planned create by tenant A with key K; tenant B sends the same key and body and must get its own 200 "
    "(another avatar), not A's replay and not 409. Needs --second-api-key (in-process: built in).",
    needs_create=True,
    needs_second_key=True,
)
async def tenant_scope(ctx: ClauseContext) -> None:
    pairs = await _pairs(ctx, "tenant_scope")
    canned = _canned_ids(await ctx.pool())
    for first, other in pairs:
        shown = steps(first, other)
        if other.status in (401, 403):
            # The second key itself was refused: nothing is learnt about scoping, and it is no server defect
            # we can name (the key may be wrong).  Never a pass either.
            ctx.incomplete(f"the second API key was refused ({other.summary(100)}, request #{other.request_number}):"
                           " tenant scope cannot be judged; check AVATAR_API_KEY_2")
        if not ctx.expect_created(other, other.request.value, "the same key under the second API key",
                                  sequence=shown, compare=TENANT_SCOPE):
            continue
        ctx.cases += 1
        same_id = bool(other.item_id()) and other.item_id() == first.item_id()
        if other.json == first.json or (same_id and other.item_id() not in canned):
            ctx.fail("the second tenant got the first tenant's response replayed "
                     f"(avatar {first.item_id()})", other, kind="replayed across tenants",
                     sequence=shown, compare=TENANT_SCOPE)
        elif same_id:
            # The target gives this id to every create, whatever the key: an id says nothing here,
            # and the answers differ, so no replay; the repeated ids are idempotency.replay's defect.
            ctx.note(f"the target repeats avatar id {other.item_id()} across keys, so tenants were told apart "
                     "by the whole answer: see idempotency.replay")
