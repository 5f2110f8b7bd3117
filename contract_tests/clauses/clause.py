"""Clauses: named checks of the contract, and the context each one runs in.

A clause is an ``async`` function registered under its dotted name.  The name
is the same in the pytest ids, the report and the README.  Clauses record
failures instead of raising on the first one, so a report shows everything a
run found, each with the exchange that proves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from avatar_contract.validators import Finding

from ..planning.budget import Ledger
from ..planning.pool_result import NEEDS_INPUT
from ..probes.bodies import BodyFactory
from ..profiles import examples_for
from ..reports.excerpt import excerpt
from ..targets.credentials import Credentials
from ..targets.exchange import Exchange
from ..targets.session import Session
from ..targets.target import Target
from ..targets.transport import ERROR_HEADER
from .attribution import rate_limited
from .checks import linter
from .finding import ClauseFailure, Incomplete, NotObserved, Skipped, Step

if TYPE_CHECKING:
    from ..planning.pool_result import FactOutcome, PoolResult

# The clause names, in report order.  Everything (tests, report, README) uses these.
CLAUSE_NAMES: tuple[str, ...] = (
    "auth.missing",
    "auth.invalid",
    "auth.bearer",
    "request.variants",
    "request.rejects_invalid",
    "response.schema",
    "response.status",
    "response.content_type",
    "errors.envelope",
    "idempotency.key_format",
    "idempotency.replay",
    "idempotency.replay_body_differs",
    "idempotency.in_flight",
    "idempotency.tenant_scope",
    "rate_limit.retry_after",
)

MAX_KINDS = 50  # failure kinds kept per clause (each with its first example); the rest are counted
MAX_OTHERS = 50  # further messages of one kind kept for the report files (the count stays exact)


class ClauseContext:
    """What a running clause can use: the target, sessions, bodies and the verdict so far."""

    def __init__(
        self,
        name: str,
        target: Target,
        session: Session,
        bodies: BodyFactory,
        seed: int,
        open_burst: Callable[[], Awaitable[Session]],
        pool: Callable[[], Awaitable[PoolResult]] | None = None,
    ) -> None:
        self.name = name
        self._pool = pool
        self.target = target
        self.session = session
        self.bodies = bodies
        self.seed = seed
        self.open_burst = open_burst
        self.failures: list[ClauseFailure] = []
        self.notes: list[str] = []
        self.cases = 0
        self.rate_limited = 0
        self.extra_sessions: list[Session] = []
        self.hidden_kinds = 0
        self.planned = 0  # facts and probes planned; ``ran`` counts those judged
        self.ran = 0
        self.unrun: list[FactOutcome] = []
        self.unanswered = 0  # requests that got no answer at all (timeouts)
        self.limited = 0  # answers from a rate limiter where a clause expected a verdict
        self.met_limited: list[Exchange] = []  # 429s met anywhere in the run (attribution.rate_limit_evidence)
        self.not_runnable: list[str] = []  # planned cases this target cannot be given the inputs for
        self.missing_inputs: list[str] = []  # what would make them runnable, e.g. "[video] url"
        self._owners_noted: set[str] = set()  # other clauses' defects already noted here (once each)

    # -- scale ------------------------------------------------------------------
    def examples(self, scale: float = 1.0) -> int:
        return max(1, round(examples_for(self.target.profile) * scale))

    @property
    def credentials(self) -> Credentials:
        return self.session.credentials

    # -- verdicts ---------------------------------------------------------------
    def fail(self, message: str, exchange: Exchange | None = None, kind: str | None = None, *,
             sequence: Sequence[Step] = (), compare: str = "", pointer: str | None = None) -> None:
        """Record a failure.  Failures of one ``kind`` (a rule or a status) keep the first example
        and an exact count, so a flood of one defect never hides another.  ``sequence`` holds
        every exchange that shows it when one is not enough (a race, a replay, a second tenant)."""
        kind = kind or message
        for earlier in self.failures:
            if earlier.kind == kind:
                earlier.count += 1
                if len(earlier.others) < MAX_OTHERS and message != earlier.message:
                    earlier.others.append(message)  # what the count hides, for the report files
                return
        if len(self.failures) < MAX_KINDS:
            failure = ClauseFailure(self.name, message, exchange, sequence=sequence, compare=compare)
            failure.kind = kind
            if pointer is not None and exchange is not None:
                # The response around the failing value, read from the whole body (not the kept start).
                failure.pointer, failure.excerpt = pointer, excerpt(exchange.body, pointer)
            self.failures.append(failure)
        else:
            self.hidden_kinds += 1

    def check(self, condition: bool, message: str, exchange: Exchange | None = None) -> bool:
        if not condition:
            self.fail(message, exchange)
        return condition

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def cannot_run(self, label: str, hint: str, missing: str | None = None) -> None:
        """A planned case that needs an input this target lacks (a real asset): never a pass."""
        text = f"{label}: {hint}"
        if text not in self.not_runnable:
            self.not_runnable.append(text)
        if missing is not None and missing not in self.missing_inputs:
            self.missing_inputs.append(missing)

    def not_observed(self, reason: str) -> NoReturn:
        raise NotObserved(reason)

    def skip(self, reason: str) -> NoReturn:
        raise Skipped(reason)

    def incomplete(self, reason: str) -> NoReturn:
        raise Incomplete(reason)

    async def pool(self) -> PoolResult:
        if self._pool is None:
            raise Incomplete("no create pool in this run")
        return await self._pool()

    async def judge_facts(self) -> list[FactOutcome]:
        """This clause's creation facts from the pool: proven ones pass, refused ones fail here
        (the pool already split packed creates so the refusal is this clause's), unrun ones are counted."""
        result = await self.pool()
        outcomes = result.of(self.name)
        if outcomes:
            ran = sum(1 for o in outcomes if o.state != "unrun")
            self.note(f"{ran} of {len(outcomes)} planned creation case(s) judged from the run's create pool")
        # Isolated verdicts first, so each failure kind's first example is the clearest evidence.
        for outcome in sorted(outcomes, key=lambda o: not o.retried):
            self.planned += 1
            if outcome.state == "unrun" and outcome.detail.startswith(NEEDS_INPUT):
                self.cannot_run(outcome.fact.text, outcome.detail.removeprefix(NEEDS_INPUT), outcome.entry)
                continue
            if outcome.state == "unrun":
                self.unrun.append(outcome)
                continue
            self.ran += 1
            self.cases += 1
            if outcome.state == "failed":
                status = outcome.exchange.status if outcome.exchange else 0
                self.fail(f"{outcome.fact.text}: {outcome.detail}", outcome.exchange, kind=f"refused {status}")
        return outcomes

    # -- shared expectations ------------------------------------------------------
    def expect_created(self, exchange: Exchange, request: Any, label: str, *,
                       sequence: Sequence[Step] = (), compare: str = "") -> bool:
        """Accepted (2xx).  The body's schema and status belong to response.schema / response.status."""
        if exchange.status == 0:
            return self._unanswered(label, exchange)
        if rate_limited(exchange):
            return self._limited(label, exchange)
        self.cases += 1
        if not 200 <= exchange.status < 300:
            self.fail(f"{label}: expected 200, got {exchange.summary()}", exchange, kind=f"status {exchange.status}",
                      sequence=sequence, compare=compare)
            return False
        if not self._unjudgeable(exchange):
            self.owned_elsewhere(exchange, request)
        return True

    def expect_error(self, exchange: Exchange, status: int, label: str, *,
                     sequence: Sequence[Step] = (), compare: str = "") -> bool:
        """``status``.  The envelope and its code belong to errors.envelope (noted here, not failed)."""
        if exchange.status == 0:
            return self._unanswered(label, exchange)
        if status != 429 and rate_limited(exchange):
            return self._limited(label, exchange)
        self.cases += 1
        if exchange.status != status:
            self.fail(f"{label}: expected {status}, got {exchange.summary()}", exchange,
                      kind=f"status {exchange.status}", sequence=sequence, compare=compare)
            return False
        if not self._unjudgeable(exchange):
            self.owned_elsewhere(exchange, None)
        return True

    def _unanswered(self, label: str, exchange: Exchange) -> bool:
        """No answer is no evidence either way: counted, and the clause cannot pass on it."""
        self.unanswered += 1
        self.planned += 1
        self.note(f"{label}: no answer ({exchange.headers.get(ERROR_HEADER, 'transport error')})")
        return False

    def _limited(self, label: str, exchange: Exchange) -> bool:
        """attribution.rate_limited: a rate limiter's answer is no verdict on the request (and the
        evidence rate_limit.retry_after judges)."""
        self.limited += 1
        self.planned += 1
        self.note(f"{label}: answered {exchange.status} by a rate limiter, not judged (attribution.rate_limited)")
        return False

    def owned_elsewhere(self, exchange: Exchange, request: Any) -> None:
        """Another clause's defect met on this exchange: a note pointing there, never a failure here."""
        report = linter().lint_response(exchange.status, exchange.body, request=request)
        for owner in sorted({_owner(f) for f in report.errors} - {self.name} - self._owners_noted):
            # The defect named where it was seen (the owner may not run, or be cut short, in this run).
            self._owners_noted.add(owner)
            first = next(f for f in report.errors if _owner(f) == owner)
            self.note(f"responses here also break {owner}: {first.path or '(root)'}: {first.message} "
                      f"(request #{exchange.request_number}); see {owner}")

    def _unjudgeable(self, exchange: Exchange) -> bool:
        """A body cut at the session's cap: its status was judged, its body cannot be."""
        if exchange.truncated:
            self.note("a response body over 1 MiB was not read in full: only its status was judged")
        return exchange.truncated

    def _findings(self, label: str, findings: Iterable[Finding], exchange: Exchange,
                  sequence: Sequence[Step] = (), compare: str = "") -> bool:
        found = list(findings)
        shown = [f"{f.path or '(root)'}: {f.message}" for f in found]
        if shown:
            self.fail(f"{label}: {'; '.join(shown[:4])}", exchange,
                      kind=" ".join(sorted({f.rule for f in found})), sequence=sequence, compare=compare,
                      pointer=found[0].path)
            return False
        return True

    @property
    def requests(self) -> int:
        return self.session.requests + sum(s.requests for s in self.extra_sessions)

    @property
    def ledger(self) -> Ledger:
        return self.session.ledger

    @property
    def creates(self) -> int:
        return self.session.creates + sum(s.creates for s in self.extra_sessions)


def _owner(finding: Finding) -> str:
    from .checks import owner

    rule = finding.rule
    if rule.startswith("errors.") or finding.path.startswith("/error"):
        return "errors.envelope"
    return owner(rule)


ClauseRun = Callable[[ClauseContext], Awaitable[None]]


@dataclass(frozen=True)
class Clause:
    """A named contract clause.  What it creates is the planner's business, not the clause's."""

    name: str
    summary: str
    how: str
    run: ClauseRun
    needs_create: bool = False
    needs_second_key: bool = False


REGISTRY: dict[str, Clause] = {}


def clause(
    name: str,
    summary: str,
    how: str,
    *,
    needs_create: bool = False,
    needs_second_key: bool = False,
) -> Callable[[ClauseRun], ClauseRun]:
    if name not in CLAUSE_NAMES:
        raise ValueError(f"unknown clause name {name!r}")

    def register(run: ClauseRun) -> ClauseRun:
        REGISTRY[name] = Clause(name, summary, how, run, needs_create, needs_second_key)
        return run

    return register
