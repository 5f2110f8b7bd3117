"""response.*, errors.envelope and rate_limit.retry_after: every response the target sends.

The four response-level clauses each run the same *tour*: refusals meant to
draw every documented error status (400, 401, and 429 in-process) plus
schemathesis negative cases, and the run's create pool (200s, the race's 409s),
and judge every response with their own ``@schemathesis.check`` only: one
defect, one owning clause.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from ..planning import in_flight_race
from ..planning.planner import EMBEDDED_RACE
from ..probes.generation import schemathesis_requests
from ..probes.invalid_bodies import invalid_cases
from ..probes.keys import invalid_keys, is_valid_key
from ..targets.credentials import Credentials
from ..targets.exchange import ABSENT, Exchange
from ..targets.session import Session
from .attribution import rate_limited
from .checks import check_exchange, linter
from .clause import ClauseContext, clause
from .finding import Step

BURST_CONCURRENCY = 16  # live, the ledger's free slots bound it further
UNDOCUMENTED_METHODS = ("GET", "PUT", "PATCH", "DELETE")


async def provoke_429(session: Session, budget: int) -> Exchange | None:
    """Spend at most ``budget`` cheap requests (an invalid body: nothing is created) to draw a 429.

    The first answer that is a rate limiter's is kept, whatever its status: a 429, a 503 with
    Retry-After or a rate-limit code (attribution.rate_limited), or any answer carrying Retry-After.
    A limiter answering 418 or 503 is a defect the clause must see, not "no 429 observed"."""
    sent = 0
    found: list[Exchange] = []

    async def worker() -> None:
        nonlocal sent
        while not found and sent < budget:
            sent += 1
            exchange = await session.post({}, retry_429=False)
            if (rate_limited(exchange) or "retry-after" in exchange.headers) and not found:
                found.append(exchange)

    await asyncio.gather(*(worker() for _ in range(BURST_CONCURRENCY)))
    return found[0] if found else None


async def tour(ctx: ClauseContext) -> list[Exchange]:
    """Send the tour's refusals; return them and the pool's answers, every exchange to judge."""
    f = ctx.bodies
    session = ctx.session
    creds = ctx.credentials
    # A valid body only where the ledger allows it (it could create on a server that skips auth).
    body = f.body(f.variants[0]) if ctx.target.may_create else {}
    await session.post(body, credential=None)
    await session.post(body, credential=Credentials.literal("x-api-key", "avatar-contract-wrong-key"))
    cases = invalid_cases(f)
    for case in cases[:: max(1, len(cases) // 20)]:
        await session.post(case.body, raw=case.raw)
    # A valid body with a malformed key creates on a server that ignores the key
    # format: it holds a create slot, and rides on an invalid body without --allow-create.
    for _, raw in invalid_keys()[:3]:
        await session.post(body, key=raw)
    dropped = 0
    for generated in schemathesis_requests("negative", ctx.examples(1.0), ctx.seed):
        raw_key = generated.key
        body_ok = generated.raw is None and generated.body is not ABSENT and \
            f.linter.lint_request(generated.body).valid
        if body_ok and (raw_key is None or is_valid_key(raw_key)):
            continue  # not negative after all; it would be a create
        bad_key = raw_key if (raw_key is not None and not is_valid_key(raw_key)) else None
        if body_ok and not ctx.target.may_create:
            dropped += 1  # only the header is wrong: a possible create, and none may be spent
            continue
        sent = f.realise(generated.body) if body_ok else generated.body  # real assets on a real target
        await session.post(sent, raw=generated.raw, key=bad_key)
    if dropped:
        ctx.note(f"{dropped} negative case(s) with a valid body and only a bad key not sent: "
                 "creation not allowed")
    judged = list(session.exchanges)
    if ctx.target.may_create:
        await ctx.judge_facts()
        judged += (await ctx.pool()).exchanges  # every planned create's answer, judged here too
    else:
        ctx.note("no 200 judged: creation not allowed (--allow-create)")
    if ctx.target.embedded:
        # A 429 to judge.  Only in-process: on a real server one burst per run is enough, and
        # rate_limit.retry_after judges that 429 as a response (attribution.rate_limit_response).
        limited = await provoke_429(await ctx.open_burst(), ctx.target.burst)
        if limited is not None:
            judged.append(limited)
        if not any(e.status == 409 for e in judged):
            # A 409 to judge: its code is stated in the spec's prose (errors.code is an error there), and
            # the pool races only when idempotency.in_flight runs.  In-process only: live, every request
            # of a race may be billed, and the pool's race is judged here when it runs.
            judged += await in_flight_race.race(session, body, "avatar-contract-tour-in-flight", EMBEDDED_RACE)
    if ctx.target.probes_methods:
        for method in UNDOCUMENTED_METHODS:
            judged.append(await session.send(method, session.path, (), creds.api_key(), None))
    return judged


def _observed(ctx: ClauseContext, judged: list[Exchange]) -> None:
    counts = Counter(e.status for e in judged if e.request.method == "POST")
    # First: what a reader of the table wants to see for a response clause.
    ctx.notes.insert(0, "statuses seen: " + ", ".join(f"{s}×{n}" for s, n in sorted(counts.items())))
    missing = [s for s in linter().contract.documented_statuses if s.isdigit() and int(s) not in counts]
    if missing:
        ctx.note(f"documented statuses never drawn: {', '.join(missing)}")


async def _judge(ctx: ClauseContext, extra: Callable[[Exchange], None] | None = None) -> list[Exchange]:
    judged = [e for e in await tour(ctx) if e.status != 0]  # no answer is not a response to judge
    _observed(ctx, judged)
    for exchange in judged:
        if exchange.request.method != "POST":
            if extra is not None:
                extra(exchange)
            continue
        ctx.cases += 1
        for failure in check_exchange(exchange, [ctx.name]):
            ctx.fail(f"{exchange.request.method} → {exchange.status}: {failure.message}", exchange,
                     kind=f"{exchange.status}: {failure.kind}", pointer=failure.pointer)
    return judged


@clause(
    "response.schema",
    "Every response validates for its status under the strict profile, including `avatar_type` "
    "consistency with the request variant and the response sentence rules (`sentence.*`). Look ids "
    "repeated across creates are idempotency.replay's (\"Unique look identifier\").",
    "The tour: auth failures, invalid bodies and keys, schemathesis negative cases, every answer of the "
    "create pool (the planned creates, their replays, the race's 409s) and, in-process, a burst (429); each "
    "response is checked by the `response_schema` schemathesis check (validators, strict, with the request, "
    "the run's clock); "
    "an error body's envelope is errors.envelope's.",
)
async def response_schema(ctx: ClauseContext) -> None:
    await _judge(ctx)


@clause(
    "response.status",
    "Only documented statuses.",
    "The tour, checked by `response_status`; in-process, other methods on the route must not "
    "succeed and a 405 must carry an `Allow` header listing POST.",
)
async def response_status(ctx: ClauseContext) -> None:
    def other_method(exchange: Exchange) -> None:
        ctx.cases += 1
        label = f"{exchange.request.method} {exchange.request.path}"
        if 200 <= exchange.status < 300:
            ctx.fail(f"{label} is not documented but answered {exchange.status}", exchange)
        elif exchange.status == 405:
            allow = exchange.headers.get("allow", "")
            ctx.check("POST" in [m.strip().upper() for m in allow.split(",")],
                      f"{label}: 405 without an Allow header listing POST (RFC 9110)", exchange)

    await _judge(ctx, other_method)


@clause(
    "response.content_type",
    "JSON bodies are `application/json`.",
    "The tour, checked by `response_content_type` against each status's documented media types.",
)
async def response_content_type(ctx: ClauseContext) -> None:
    await _judge(ctx)


@clause(
    "errors.envelope",
    "Every error body is `{error:{code,message,param?,doc_url?}}`, with the code the spec states for the status "
    "(a `const`, or named in its prose: 409 `request_in_progress`); a code only an example shows is noted, "
    "not asserted.",
    "The tour's 4xx/5xx responses (401, 400, 409, 429 and anything else; in-process, a same-key race "
    "draws a 409 when the pool drew none), checked by `errors_envelope`.",
)
async def errors_envelope(ctx: ClauseContext) -> None:
    judged = await _judge(ctx)
    # A code only the spec's example shows is not asserted; the reader still sees the difference, once per status.
    noted: set[int] = set()
    for exchange in judged:
        if exchange.request.method != "POST" or exchange.status < 400 or exchange.status in noted:
            continue
        rc = linter().contract.responses.get(str(exchange.status))
        body = exchange.json
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if rc is None or rc.error_code is None or rc.error_code_stated or not isinstance(code, str) \
                or code == rc.error_code:
            continue
        noted.add(exchange.status)
        ctx.note(f"status {exchange.status} answered code {code!r}; the spec's example shows "
                 f"{rc.error_code!r} (an example, not asserted)")


@clause(
    "rate_limit.retry_after",
    "A bounded burst (default ≤ 300 cheap, non-creating requests) provokes a 429, whose envelope "
    "and `Retry-After` (delay-seconds) are checked; with none there, the first 429 met elsewhere in the run is "
    "judged; no 429 at all is \"not observed\".",
    "Concurrent invalid-body requests with the real key until the first 429 or `--burst` requests; any 429 "
    "the run met (attribution.rate_limit_evidence).",
)
async def rate_limit_retry_after(ctx: ClauseContext) -> None:
    burst = await ctx.open_burst()
    limited = await provoke_429(burst, ctx.target.burst)
    if limited is not None:
        # One request cannot show a rate limit: the reproducer bursts until its first 429, up to --burst
        # as the clause did (not only as many as this run happened to need: a fresh bucket needs more).
        shown = [Step((limited,), concurrent=True, repeat=max(ctx.target.burst, burst.requests, 1), until=429)]
    elif ctx.met_limited:  # attribution.rate_limit_evidence: a 429 met elsewhere in the run is judged
        limited = ctx.met_limited[0]
        shown = [Step((limited,))]
        ctx.note(f"no 429 within {ctx.target.burst} requests (--burst); judged the first 429 met elsewhere in "
                 f"the run (request #{limited.request_number})")
    else:
        ctx.not_observed(f"no 429 within {ctx.target.burst} requests (--burst)")
    compare = "the first 429's body must be the error envelope and Retry-After must be delay-seconds (digits)"
    if ctx.target.embedded:
        # The tour drew a 429 of its own: its envelope, code and schema are errors.envelope's and response.*'s.
        ctx.expect_error(limited, 429, "the first 429 of the burst", sequence=shown, compare=compare)
    else:
        # attribution.rate_limit_response: on any other target no other clause meets a 429 (the tour draws
        # one in-process only), so the 429 is judged as a response here, by the same checks.
        ctx.cases += 1
        if limited.status != 429:
            ctx.fail(f"the first rate-limited answer: expected 429, got {limited.summary()}", limited,
                     kind=f"status {limited.status}", sequence=shown, compare=compare)
        for failure in check_exchange(limited):
            ctx.fail(f"the first 429: {failure.message}", limited, kind=f"429: {failure.kind}",
                     pointer=failure.pointer, sequence=shown, compare=compare)
    ctx.cases += 1
    report = linter().check_retry_after(limited.headers.get("retry-after"))
    for finding in report.errors:
        ctx.fail(f"Retry-After: {finding.message}", limited, sequence=shown, compare=compare)
