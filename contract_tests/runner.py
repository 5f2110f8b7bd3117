"""Runs clauses against a target: the one engine behind pytest and ``avatar-contract verify``.

Against the in-process emulator every clause gets a fresh app (its own store
and rate-limit buckets), which is what makes clauses independent, so pytest-xdist
can spread them over workers and reach the same verdicts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import httpx

from . import clauses_auth, clauses_idempotency, clauses_request, clauses_responses
from .bodies import factory
from .budget import BudgetExhausted, CreateBudget, CreateNeed, plan
from .checks import check_exchange, linter
from .clause import CLAUSE_NAMES, REGISTRY, Clause, ClauseContext
from .exchange import Exchange
from .finding import ClauseFailure, ClauseResult, NotObserved, Skipped, Verdict
from .redact import Scrubber
from .session import EVIDENCE_BYTES, Credentials, RateLimited, Session, UnsendableRequest
from .suite_spec import spec_path, suite_spec
from .target import Target, check_keys

_REGISTERED = (clauses_auth, clauses_idempotency, clauses_request, clauses_responses)
# The order creates are handed out on a live target: the most telling per dollar first.
CREATE_PRIORITY = (
    "auth.bearer",
    "idempotency.replay",
    "idempotency.replay_body_differs",
    "idempotency.in_flight",
    "idempotency.tenant_scope",
    "request.variants",
    "idempotency.key_format",
    "request.rejects_invalid",
    "response.schema",
    "errors.envelope",
    "response.status",
    "response.content_type",
)
EMBEDDED_BASE = "http://emulator.invalid"
OnStart = Callable[[str], None]
OnExchange = Callable[[Exchange, bool], None]


class TargetUnusable(Exception):
    """The target cannot be tested at all (unreachable, or the key is refused): exit 2."""


def clauses() -> dict[str, Clause]:
    return {name: REGISTRY[name] for name in CLAUSE_NAMES}


def credentials(target: Target) -> Credentials:
    return Credentials(target.primary_key, target.secondary_key, target.header_secrets)


def _timeout(target: Target) -> httpx.Timeout:
    # httpx bounds each read; Session bounds the whole request with target.timeout.
    return httpx.Timeout(target.timeout, connect=min(10.0, target.timeout))


def create_plan(target: Target) -> dict[str, int | None]:
    has_second = target.secondary_key is not None
    needs = [
        CreateNeed(name, *REGISTRY[name].creates)
        for name in CREATE_PRIORITY
        if has_second or not REGISTRY[name].needs_second_key
    ]
    shares = plan(target, needs)
    return {name: shares.get(name, None if target.embedded else 0) for name in CLAUSE_NAMES}


def choose_seed(target: Target) -> Target:
    return target if target.seed is not None else target.with_seed(random.randrange(2**31))


def _embedded_app(target: Target, burst: bool) -> object:
    from avatar_contract.emulator import DEFAULT_RATE_LIMIT, EmulatorConfig, ManualClock, create_app

    config = EmulatorConfig(
        api_keys=tuple(k for k in (target.primary_key, target.secondary_key) if k),
        faults=target.faults,
        # Ordinary clauses get no limiter (fast, no waits); the burst gets the
        # emulator's default, which a bounded burst must be able to reach.
        rate_limit=DEFAULT_RATE_LIMIT if burst else None,
        spec=spec_path(),
        # The burst's app stands still in time, so its bucket never refills and
        # request capacity+1 is a 429 however slowly a loaded machine sends.
        **({"clock": ManualClock()} if burst else {}),
    )
    return create_app(config)


@asynccontextmanager
async def open_client(target: Target, burst: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    if target.embedded:
        transport = httpx.ASGITransport(app=_embedded_app(target, burst), raise_app_exceptions=False)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE, timeout=_timeout(target),
                                     headers=list(target.headers)) as client:
            yield client
    elif target.asgi_app is not None:
        app_transport = httpx.ASGITransport(app=target.asgi_app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=app_transport, base_url=str(target.base_url),
                                     timeout=_timeout(target), headers=list(target.headers)) as client:
            yield client
    else:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=str(target.base_url), timeout=_timeout(target), limits=limits,
                                     headers=list(target.headers)) as client:
            yield client


async def _run(clause: Clause, target: Target, allowance: int | None,
               on_exchange: OnExchange | None = None, deadline: float | None = None) -> ClauseResult:
    started = time.perf_counter()
    seed = int(target.seed or 0)
    path = suite_spec().path
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(open_client(target))
        budget = CreateBudget(allowance)
        creds = credentials(target)  # one for every session: it records the secrets sent
        session = Session(client, creds, budget, path, timeout=target.timeout, on_exchange=on_exchange)

        async def open_burst() -> Session:
            # In-process, a burst gets its own app with the emulator's default limiter.
            burst_client = client if not target.embedded else \
                await stack.enter_async_context(open_client(target, burst=True))
            burst = Session(burst_client, creds, budget, path, timeout=target.timeout, on_exchange=on_exchange)
            ctx.extra_sessions.append(burst)
            return burst

        ctx = ClauseContext(clause.name, target, session, factory(), seed, open_burst)

        def rate_limited(exchange: Exchange) -> None:
            # Validated like any response, then retried by the session.  A bad 429
            # belongs to other clauses, so here it is a note, not this clause's failure.
            ctx.rate_limited += 1
            problems = [f.message for f in check_exchange(exchange)]
            problems += [f"Retry-After: {f.message}" for f in
                         linter().check_retry_after(exchange.headers.get("retry-after")).errors]
            if problems:
                ctx.note(f"a 429 met during this clause does not conform: {problems[0]} "
                         "(see errors.envelope / rate_limit.retry_after)")

        session.on_rate_limited = rate_limited
        verdict, reason = Verdict.PASS, ""
        try:
            if clause.needs_second_key and session.credentials.has(2) is False:
                raise Skipped("needs a second tenant's key (--second-api-key / AVATAR_API_KEY_2)")
            if clause.needs_create and allowance == 0:
                raise Skipped("needs creates, which are billable: pass --allow-create (capped by --max-creates)"
                              if not target.allow_create else "no creates left in --max-creates for this clause")
            # The run's --deadline (time.monotonic()) bounds the clause too.
            loop = asyncio.get_running_loop()
            async with asyncio.timeout_at(None if deadline is None else
                                          loop.time() + deadline - time.monotonic()):
                await clause.run(ctx)
        except TimeoutError:
            verdict, reason = Verdict.INCOMPLETE, "stopped by the run's deadline (--deadline) before it finished"
        except NotObserved as exc:
            verdict, reason = Verdict.NOT_OBSERVED, str(exc)
        except Skipped as exc:
            verdict, reason = Verdict.SKIPPED, str(exc)
        except BudgetExhausted:
            ctx.note("stopped early: no creates left (--allow-create / --max-creates)")
            if ctx.cases == 0:
                verdict, reason = Verdict.SKIPPED, "needs creates: none left for this clause"
        except RateLimited as exc:
            verdict, reason = Verdict.SKIPPED, f"rate-limited beyond the retry budget: {exc}"
        if ctx.rate_limited:
            ctx.note(f"{ctx.rate_limited} response(s) were 429 and retried after Retry-After")
        if ctx.failures:
            verdict = Verdict.FAIL
            reason = f"{len(ctx.failures)} failure(s); first: {ctx.failures[0].message}"
        # Scrubbed here, not in a front end: pytest, verify and the report files
        # all get text in which no key (nor a near-miss of one) a server echoed survives.
        scrub = Scrubber([*creds.real_secrets(), target.api_key, target.second_api_key], creds.near_misses())
        return ClauseResult(
            name=clause.name, verdict=verdict, reason=scrub.text(reason),
            failures=[_scrubbed(f, scrub) for f in ctx.failures],
            requests=ctx.requests, creates=budget.made, cases=ctx.cases,
            notes=[scrub.text(n) for n in ctx.notes], seconds=time.perf_counter() - started,
        )


def _scrubbed(failure: ClauseFailure, scrub: Scrubber) -> ClauseFailure:
    exchange = scrub.exchange(failure.exchange) if failure.exchange is not None else None
    if exchange is not None and len(exchange.content) > EVIDENCE_BYTES:
        exchange = replace(exchange, content=exchange.content[:EVIDENCE_BYTES], truncated=True, _parsed=[])
    clean = ClauseFailure(failure.clause, scrub.text(failure.message), exchange)
    clean.count = failure.count
    return clean


def run_clause(name: str, target: Target) -> ClauseResult:
    """One clause, synchronously (a fresh event loop), with its planned create share."""
    target = choose_seed(target)
    return asyncio.run(_run(REGISTRY[name], target, create_plan(target)[name]))


def run_suite(
    target: Target,
    names: Iterable[str] | None = None,
    on_result: Callable[[ClauseResult], None] | None = None,
    *,
    on_start: OnStart | None = None,
    on_exchange: OnExchange | None = None,
    deadline: float | None = None,
) -> list[ClauseResult]:
    """Run the clauses in order.  ``deadline`` is a ``time.monotonic()`` instant:
    the clause running then stops, and later ones are not started (both ``incomplete``)."""
    target = choose_seed(target)
    shares = create_plan(target)
    results = []
    for name in names or CLAUSE_NAMES:
        if deadline is not None and time.monotonic() >= deadline:
            result = ClauseResult(name, Verdict.INCOMPLETE, reason="not run: the run's deadline (--deadline) passed")
        else:
            if on_start is not None:
                on_start(name)
            result = asyncio.run(_run(REGISTRY[name], target, shares[name], on_exchange, deadline))
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


async def _preflight(target: Target) -> None:
    if not target.embedded and not target.api_key:
        raise TargetUnusable("no API key: pass --api-key or set AVATAR_API_KEY")
    try:
        check_keys(target)
    except ValueError as exc:
        raise TargetUnusable(str(exc)) from None
    async with open_client(target) as client:
        session = Session(client, credentials(target), CreateBudget(0), suite_spec().path,
                          timeout=target.timeout)
        try:
            exchange = await session.post({}, retry_429=False)
        except UnsendableRequest as exc:
            raise TargetUnusable(str(exc)) from None
    if exchange.status == 0:
        raise TargetUnusable(f"cannot reach {target.display_url}: {exchange.headers.get('x-contract-error')}")
    if exchange.status == 401:
        raise TargetUnusable(f"{target.display_url} refused the API key (401); check --api-key")


def preflight(target: Target) -> None:
    """Raise :class:`TargetUnusable` unless the target answers and accepts the key."""
    asyncio.run(_preflight(target))
