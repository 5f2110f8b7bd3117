"""Runs clauses against a target: the one engine behind pytest and ``avatar-contract verify``.

Against the in-process emulator every clause gets a fresh app (its own store
and rate-limit buckets), which is what makes clauses independent, so pytest-xdist
can spread them over workers and reach the same verdicts (the clients: :mod:`.target_client`).
"""

from __future__ import annotations

import asyncio
import pickle
import random
import time
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

from .clauses import auth as clauses_auth
from .clauses import idempotency as clauses_idempotency
from .clauses import request as clauses_request
from .clauses import responses as clauses_responses
from .clauses.checks import check_exchange, linter
from .clauses.clause import CLAUSE_NAMES, REGISTRY, Clause, ClauseContext
from .clauses.finding import ClauseFailure, ClauseResult, Incomplete, NotObserved, Skipped, Verdict
from .clauses.refusal_owner import refusal_reason
from .planning.budget import BudgetExhausted, CircuitOpen, Ledger, TargetStopped, ValidBodyRefused
from .planning.planner import CreatePlan, plan_creates
from .planning.pool import run_pool
from .planning.pool_result import PoolResult, portable, shared_pool, unrun_reason
from .probes.bodies import AssetsMissing
from .reports.curl import as_curl
from .reports.redact import Scrubber
from .targets.assets import bodies_for
from .targets.client import open_client
from .targets.credentials import Credentials
from .targets.exchange import Exchange
from .targets.preflight import OnProbe, PreflightResult, Probe, check_target, probe
from .targets.preflight import TargetUnusable as TargetUnusable  # re-exported: verify and pytest catch it here
from .targets.session import EVIDENCE_BYTES, RateLimited, Session
from .targets.suite_spec import suite_spec
from .targets.target import Target

_REGISTERED = (clauses_auth, clauses_idempotency, clauses_request, clauses_responses)
PREFLIGHT_FILE = "preflight.pickle"
OnStart = Callable[[str], None]
OnExchange = Callable[[Exchange, bool], None]


def clauses() -> dict[str, Clause]:
    return {name: REGISTRY[name] for name in CLAUSE_NAMES}


def credentials(target: Target) -> Credentials:
    return Credentials(target.primary_key, target.secondary_key, target.header_secrets)


def plan_for(target: Target, names: Iterable[str] | None = None) -> CreatePlan:
    """The create plan: a pure function of the spec, the target's options and the clauses run."""
    cap = None if target.embedded else (target.max_creates if target.allow_create else 0)
    return plan_creates(bodies_for(target), cap=cap, has_second_key=target.secondary_key is not None,
                        embedded=target.embedded, clauses=names)


class RunState:
    """What the clauses of one run share: the create ledger, the plan and its pool.

    ``shared_dir`` (pytest-xdist) puts the ledger and the pool's answers in files
    every worker uses, so the cap holds for the run, not per worker.
    """

    def __init__(self, target: Target, names: Iterable[str] | None = None,
                 shared_dir: Path | None = None) -> None:
        self.target = target
        self.shared_dir = shared_dir
        limit = None if target.embedded else max(target.max_creates if target.allow_create else 0, 1)
        self.ledger = Ledger(limit, path=str(shared_dir / "ledger.sqlite") if shared_dir else None,
                             breaker=not target.embedded, allow_valid_bodies=target.may_create,
                             tolerate=target.unexpected_creates)
        self.plan = plan_for(target, list(names) if names is not None else None)
        self.full_plan = plan_for(replace(target, max_creates=10**6, allow_create=True),
                                  list(names) if names is not None else None)
        self._pool: PoolResult | None = None
        self._refusals: list[tuple[Probe, Exchange]] | None = None
        self.stopped_at: Exchange | None = None
        self.on_exchange: OnExchange | None = None
        self.limited: list[Exchange] = []  # the first 429s met by any clause or the pool (rate-limit evidence)

    def keep_limited(self, exchange: Exchange) -> None:
        """attribution.rate_limit_evidence: a 429 met anywhere, for rate_limit.retry_after to judge."""
        if exchange.status == 429 and len(self.limited) < 3:
            self.limited.append(exchange)

    async def pool(self) -> PoolResult:
        if self._pool is None:
            self._pool = await shared_pool(self.shared_dir, self._run_pool)
        return self._pool

    async def _run_pool(self) -> PoolResult:
        async with open_client(self.target) as client:
            session = Session(client, credentials(self.target), self.ledger, suite_spec().path,
                              is_valid=_is_valid, timeout=self.target.timeout, on_exchange=self.on_exchange,
                              on_rate_limited=self.keep_limited)
            result = await run_pool(self.plan, bodies_for(self.target), session, self.target.embedded)
            if session.stopped_at is not None and self.stopped_at is None:
                self.stopped_at = session.stopped_at
            return result

    def keep_preflight(self, result: PreflightResult) -> None:
        """Probes a correct server refuses that were answered 2xx: the owning clause fails on them
        (the breaker they tripped keeps every clause from sending such a request again)."""
        self._refusals = [(probe_, portable(e)) for probe_, e in result.refusals()]
        if self.shared_dir is not None:  # for every xdist worker (the controller ran the preflight)
            (self.shared_dir / PREFLIGHT_FILE).write_bytes(pickle.dumps(self._refusals))

    def preflight_refusals(self, clause: str) -> list[tuple[Probe, Exchange]]:
        if self._refusals is None:
            kept = self.shared_dir / PREFLIGHT_FILE if self.shared_dir is not None else None
            # Our own file, written by keep_preflight in this run's directory.
            self._refusals = pickle.loads(kept.read_bytes()) if kept is not None and kept.exists() else []
        return [(p, e) for p, e in self._refusals if p.owner == clause]

    def summary(self) -> dict[str, object]:
        """The run-level facts for the report: creates made against the cap, breaker, stops."""
        state = self.ledger.state()
        out: dict[str, object] = {
            "made": state.made, "unplanned": state.unplanned, "unread": state.unread, "requests": state.requests,
            "cap": None if self.target.embedded else (self.target.max_creates if self.target.allow_create else 0),
            "needed": self.full_plan.needed, "planned": self.plan.cost,
            "tripped": state.tripped, "stopped": state.stopped, "throttled": state.throttled,
            "unexpected": list(state.unexpected), "tolerated": self.target.unexpected_creates,
            "pool": {"requests": len(p.exchanges), "made": len(p.creates)} if (p := self._pool) else None,
        }
        if self.stopped_at is not None:
            out["stopped_request"] = as_curl(self.stopped_at, self.target.display_url)
        return out

    def needs_creates(self, clause: str) -> int:
        """How many more 2xx answers would cover the facts of ``clause`` this run's plan leaves out.

        Per create of the full plan that holds one: the create itself unless this run sent it
        (its body facts are covered), plus what each of this clause's missing follow-ups draws
        (a race: every request but the first).  Other clauses' riders are not this clause's cost.
        """
        have = self.plan.covered()
        missing = {f.key for f in self.full_plan.facts_of(clause)} - have
        total = 0
        for c in self.full_plan.creates:
            mine = [f for f in c.facts if f.key in missing]
            if not mine:
                continue
            sent = any(f.key in have for f in c.facts if not f.key.startswith("follow:"))
            riders = [f for f in mine if f.key.startswith("follow:")]
            total += (0 if sent else 1) + sum(self.full_plan.race - 1 if f.key == "follow:in_flight" else 1
                                              for f in riders)
        return total


def _is_valid(body: object) -> bool:
    return bool(linter().lint_request(body).valid)


def choose_seed(target: Target) -> Target:
    return target if target.seed is not None else target.with_seed(random.randrange(2**31))


def _tripped_here(ctx: ClauseContext, state: RunState) -> None:
    """The probe that opened the breaker fails the clause that owns it, whichever clause sent it."""
    trip = state.ledger.tripped_by
    if trip is None or trip[1] != ctx.name:
        return
    exchange, _ = trip
    if any(f.exchange is not None and f.exchange.request_number == exchange.request_number for f in ctx.failures):
        return  # the owner sent it itself and has judged it
    ctx.cases += 1
    why = refusal_reason(exchange.request, ctx.name)
    ctx.fail(f"request #{exchange.request_number}, which a correct server refuses ({why}), was answered "
             f"{exchange.summary()} (it opened the circuit breaker)", exchange, kind=f"status {exchange.status}")


def _verdict(ctx: ClauseContext, state: RunState, verdict: Verdict, reason: str) -> tuple[Verdict, str]:
    """Pass only with evidence: failures fail; unrun planned cases make it incomplete; nothing seen is error."""
    if ctx.failures:
        shown = f"{len(ctx.failures)} kind(s) of failure"
        total = sum(f.count for f in ctx.failures)
        return Verdict.FAIL, f"{shown} ({total} case(s)); first: {ctx.failures[0].message}"
    if verdict in (Verdict.SKIPPED, Verdict.NOT_OBSERVED, Verdict.INCOMPLETE):
        return verdict, reason
    if ctx.unanswered:
        return Verdict.INCOMPLETE, f"{ctx.unanswered} request(s) got no answer (see notes)"
    if ctx.limited:
        return Verdict.INCOMPLETE, f"{ctx.limited} answer(s) came from a rate limiter, not judged (see notes)"
    if ctx.not_runnable:
        # Cases needing an input the target cannot be given (a real asset): no pass on what was not seen.
        add = f"add {', '.join(ctx.missing_inputs)} to the asset fixture (--asset)" if ctx.missing_inputs \
            else ctx.not_runnable[0]
        also = f"; {len(ctx.unrun)} more not run under the cap" if ctx.unrun else ""
        return Verdict.INCOMPLETE, (f"ran {ctx.ran or ctx.cases} of {ctx.planned or ctx.cases} planned case(s); "
                                    f"{len(ctx.not_runnable)} not runnable on this target: {add}{also}")
    if ctx.unrun:
        needs = state.needs_creates(ctx.name)
        more = f"; {needs} more create(s) would cover this clause (every clause: --max-creates " \
               f"{state.full_plan.needed})" \
            if needs else f": {unrun_reason(ctx.unrun[0].detail)}"
        return Verdict.INCOMPLETE, f"ran {ctx.ran} of {ctx.planned} planned creation case(s){more}"
    responses = [e for s in (ctx.session, *ctx.extra_sessions) for e in s.exchanges if e.status != 0]
    if not responses and ctx.cases == 0:
        return Verdict.ERROR, "saw no response at all"
    if ctx.cases == 0:
        return Verdict.ERROR, "judged nothing"
    return Verdict.PASS, reason


async def _run(clause: Clause, target: Target, state: RunState,
               on_exchange: OnExchange | None = None, deadline: float | None = None) -> ClauseResult:
    started = time.perf_counter()
    seed = int(target.seed or 0)
    path = suite_spec().path
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(open_client(target))
        creds = credentials(target)  # one for every session: it records the secrets sent
        session = Session(client, creds, state.ledger, path, is_valid=_is_valid, timeout=target.timeout,
                          on_exchange=on_exchange)

        async def open_burst() -> Session:
            # In-process, a burst gets its own app with the emulator's default limiter.
            burst_client = client if not target.embedded else \
                await stack.enter_async_context(open_client(target, burst=True))
            burst = Session(burst_client, creds, state.ledger, path, is_valid=_is_valid, timeout=target.timeout,
                            on_exchange=on_exchange)
            ctx.extra_sessions.append(burst)
            return burst

        ctx = ClauseContext(clause.name, target, session, bodies_for(target), seed, open_burst, state.pool)

        def rate_limited(exchange: Exchange) -> None:
            # Validated like any response, then retried by the session (unless this clause judges it).
            # A bad 429 belongs to other clauses, so here it is a note, not this clause's failure.
            ctx.rate_limited += 1
            state.keep_limited(exchange)
            if exchange.status != 429:
                return  # a limiter's 503: counted, not judged as a 429
            problems = [f.message for f in check_exchange(exchange)]
            problems += [f"Retry-After: {f.message}" for f in
                         linter().check_retry_after(exchange.headers.get("retry-after")).errors]
            if problems:
                ctx.note(f"a 429 met during this clause does not conform: {problems[0]} "
                         "(see errors.envelope / rate_limit.retry_after)")

        session.on_rate_limited = rate_limited
        ctx.met_limited = state.limited
        verdict, reason = Verdict.PASS, ""
        try:
            if clause.needs_second_key and session.credentials.has(2) is False:
                raise Skipped("needs a second tenant's key (--second-api-key / AVATAR_API_KEY_2)")
            if clause.needs_create and not target.may_create:
                raise Skipped("needs creates, which are billable: pass --allow-create (capped by --max-creates)")
            # The run's --deadline (time.monotonic()) bounds the clause too.
            loop = asyncio.get_running_loop()
            for probe_, exchange in state.preflight_refusals(clause.name):
                ctx.expect_error(exchange, probe_.expected, probe_.label)
            async with asyncio.timeout_at(None if deadline is None else
                                          loop.time() + deadline - time.monotonic()):
                await clause.run(ctx)
        except TimeoutError:
            verdict, reason = Verdict.INCOMPLETE, "stopped by the run's deadline (--deadline) before it finished"
        except NotObserved as exc:
            verdict, reason = Verdict.NOT_OBSERVED, str(exc)
        except AssetsMissing as exc:
            # No body this target could be sent: not runnable until the fixture has the asset.
            ctx.cannot_run("every valid body", str(exc))
            verdict, reason = Verdict.INCOMPLETE, f"ran {ctx.cases} case(s); stopped: {exc}"
        except Skipped as exc:
            verdict, reason = Verdict.SKIPPED, str(exc)
        except Incomplete as exc:
            verdict, reason = Verdict.INCOMPLETE, str(exc)
        except CircuitOpen as exc:
            verdict, reason = Verdict.INCOMPLETE, (f"stopped by the {exc}; after it nothing goes out that this "
                                                   "server could take as a create (it took a request a correct "
                                                   "server refuses, so an invalid body could create too)")
        except ValidBodyRefused as exc:
            verdict, reason = Verdict.INCOMPLETE, f"{exc}; pass --allow-create for full coverage"
        except BudgetExhausted as exc:
            verdict, reason = Verdict.INCOMPLETE, f"ran {ctx.cases} case(s), then: {exc}"
        except TargetStopped as exc:
            verdict, reason = Verdict.INCOMPLETE, str(exc)
        except RateLimited as exc:
            verdict, reason = Verdict.INCOMPLETE, f"rate-limited: {exc}"
        for s in (session, *ctx.extra_sessions):
            if s.stopped_at is not None and state.stopped_at is None:
                state.stopped_at = s.stopped_at
        if ctx.rate_limited:
            ctx.note(f"{ctx.rate_limited} response(s) came from a rate limiter (429, or a 503 with Retry-After); "
                     "those no clause judges were retried after Retry-After")
        for text in ctx.not_runnable:
            ctx.note(f"not runnable: {text}")
        if ctx.hidden_kinds:
            ctx.note(f"{ctx.hidden_kinds} more failure(s) of further kinds not kept")
        _tripped_here(ctx, state)
        verdict, reason = _verdict(ctx, state, verdict, reason)
        # Scrubbed here, not in a front end: pytest, verify and the report files
        # all get text in which no key (nor a near-miss of one) a server echoed survives.
        scrub = Scrubber([*creds.real_secrets(), target.api_key, target.second_api_key], creds.near_misses())
        return ClauseResult(
            name=clause.name, verdict=verdict, reason=scrub.text(reason),
            failures=[_scrubbed(f, scrub) for f in ctx.failures],
            requests=ctx.requests, creates=ctx.creates, cases=ctx.cases,
            notes=[scrub.text(n) for n in ctx.notes], seconds=time.perf_counter() - started,
            planned=ctx.planned or ctx.cases, ran=ctx.ran or ctx.cases,
            needs_creates=state.needs_creates(clause.name),
        )


def _evidence(exchange: Exchange, scrub: Scrubber) -> Exchange:
    """The exchange scrubbed and cut to EVIDENCE_BYTES; only what is kept is scrubbed
    (with room for a key that straddles the cut), so a huge body costs no more."""
    if len(exchange.content) > EVIDENCE_BYTES + 4096:
        exchange = replace(exchange, content=exchange.content[:EVIDENCE_BYTES + 4096], truncated=True, _parsed=[])
    exchange = scrub.exchange(exchange)
    if len(exchange.content) > EVIDENCE_BYTES:
        return replace(exchange, content=exchange.content[:EVIDENCE_BYTES], truncated=True, _parsed=[])
    return exchange


def _scrubbed(failure: ClauseFailure, scrub: Scrubber) -> ClauseFailure:
    exchange = _evidence(failure.exchange, scrub) if failure.exchange is not None else None
    sequence = [replace(step, exchanges=tuple(_evidence(e, scrub) for e in step.exchanges))
                for step in failure.sequence]
    clean = ClauseFailure(failure.clause, scrub.text(failure.message), exchange,
                          sequence=sequence, compare=scrub.text(failure.compare))
    clean.count = failure.count
    clean.kind = scrub.text(failure.kind)
    clean.others = [scrub.text(m) for m in failure.others]
    clean.pointer = failure.pointer
    if failure.excerpt is not None:
        text = scrub.text(failure.excerpt.text)  # a key the server echoed may sit beside the value
        shown = failure.excerpt
        clean.excerpt = shown if text == shown.text else replace(
            shown, text=text, start=min(shown.start, len(text)), end=min(shown.end, len(text)))
    return clean


def run_clause(name: str, target: Target, state: RunState | None = None) -> ClauseResult:
    """One clause, synchronously (a fresh event loop).  Without ``state``, a run of its own."""
    target = choose_seed(target)
    return asyncio.run(_run(REGISTRY[name], target, state or RunState(target, [name])))


def run_suite(
    target: Target,
    names: Iterable[str] | None = None,
    on_result: Callable[[ClauseResult], None] | None = None,
    state: RunState | None = None,
    *,
    on_start: OnStart | None = None,
    on_exchange: OnExchange | None = None,
    deadline: float | None = None,
) -> list[ClauseResult]:
    """Run the clauses in order.  ``deadline`` is a ``time.monotonic()`` instant:
    the clause running then stops, and later ones are not started (both ``incomplete``)."""
    target = choose_seed(target)
    chosen = list(names or CLAUSE_NAMES)
    state = state or RunState(target, chosen if names else None)
    results = []
    state.on_exchange = on_exchange  # the pool's requests count in the live progress too
    for name in chosen:
        if deadline is not None and time.monotonic() >= deadline:
            result = ClauseResult(name, Verdict.INCOMPLETE, reason="not run: the run's deadline (--deadline) passed")
        else:
            if on_start is not None:
                on_start(name)
            result = asyncio.run(_run(REGISTRY[name], target, state, on_exchange, deadline))
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def preflight(target: Target, ledger: Ledger | None = None, state: RunState | None = None,
              on_probe: OnProbe | None = None) -> PreflightResult:
    """Raise :class:`TargetUnusable` unless this is the right target, reachable, with usable keys.

    Nothing it sends can create on a correct server (see :mod:`.preflight`); on a
    broken one each probe is counted by ``ledger`` (the run's), like any request, and
    with ``state`` a probe answered 2xx is kept as evidence for the clause that owns it.
    """

    async def go() -> PreflightResult:
        check_target(target)  # before opening anything: a wrong URL sends nothing
        async with open_client(target) as client:
            return await probe(target, client, state.ledger if state is not None else ledger, on_probe)

    result = asyncio.run(go())
    if state is not None:
        state.keep_preflight(result)
    return result
