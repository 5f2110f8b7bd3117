"""Clauses: named checks of the contract, and the context each one runs in.

A clause is an ``async`` function registered under its dotted name.  The name
is the same in the pytest ids, the report and the README.  Clauses record
failures instead of raising on the first one, so a report shows everything a
run found, each with the exchange that proves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from avatar_contract.validators import Finding

from .bodies import BodyFactory
from .budget import CreateBudget
from .checks import linter
from .exchange import Exchange
from .finding import ClauseFailure, NotObserved, Skipped
from .profiles import examples_for
from .session import Credentials, Session
from .target import Target

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

MAX_FAILURES = 20  # per clause; more would bury the report, not inform it


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
    ) -> None:
        self.name = name
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

    # -- scale ------------------------------------------------------------------
    def examples(self, scale: float = 1.0) -> int:
        return max(1, round(examples_for(self.target.profile) * scale))

    @property
    def credentials(self) -> Credentials:
        return self.session.credentials

    # -- verdicts ---------------------------------------------------------------
    def fail(self, message: str, exchange: Exchange | None = None) -> None:
        for earlier in self.failures:
            if earlier.message == message:
                earlier.count += 1
                return
        if len(self.failures) < MAX_FAILURES:
            self.failures.append(ClauseFailure(self.name, message, exchange))

    def check(self, condition: bool, message: str, exchange: Exchange | None = None) -> bool:
        if not condition:
            self.fail(message, exchange)
        return condition

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def not_observed(self, reason: str) -> NoReturn:
        raise NotObserved(reason)

    def skip(self, reason: str) -> NoReturn:
        raise Skipped(reason)

    # -- shared expectations ------------------------------------------------------
    def expect_created(self, exchange: Exchange, request: Any, label: str) -> bool:
        """200 and a body that is strict-valid and consistent with the request."""
        self.cases += 1
        if exchange.status != 200:
            self.fail(f"{label}: expected 200, got {exchange.summary()}", exchange)
            return False
        if self._unjudgeable(exchange):
            return True
        report = linter().lint_response(200, exchange.content, request=request)
        return self._findings(label, report.errors, exchange)

    def expect_error(self, exchange: Exchange, status: int, label: str) -> bool:
        """``status`` with the error envelope and the code the spec documents for it."""
        self.cases += 1
        if exchange.status != status:
            self.fail(f"{label}: expected {status}, got {exchange.summary()}", exchange)
            return False
        if self._unjudgeable(exchange):
            return True
        report = linter().lint_response(status, exchange.content)
        return self._findings(label, report.errors, exchange)

    def _unjudgeable(self, exchange: Exchange) -> bool:
        """A body cut at the session's cap: its status was judged, its body cannot be."""
        if exchange.truncated:
            self.note("a response body over 1 MiB was not read in full: only its status was judged")
        return exchange.truncated

    def _findings(self, label: str, findings: Iterable[Finding], exchange: Exchange) -> bool:
        shown = [f"{f.path or '(root)'}: {f.message}" for f in findings]
        if shown:
            self.fail(f"{label}: {'; '.join(shown[:4])}", exchange)
            return False
        return True

    @property
    def requests(self) -> int:
        return self.session.requests + sum(s.requests for s in self.extra_sessions)

    @property
    def budget(self) -> CreateBudget:
        return self.session.budget


ClauseRun = Callable[[ClauseContext], Awaitable[None]]


@dataclass(frozen=True)
class Clause:
    """A named contract clause.  ``creates`` is (minimum, wanted) on a live target."""

    name: str
    summary: str
    how: str
    run: ClauseRun
    creates: tuple[int, int] = (0, 0)
    needs_create: bool = False
    needs_second_key: bool = False


REGISTRY: dict[str, Clause] = {}


def clause(
    name: str,
    summary: str,
    how: str,
    *,
    creates: tuple[int, int] = (0, 0),
    needs_create: bool = False,
    needs_second_key: bool = False,
) -> Callable[[ClauseRun], ClauseRun]:
    if name not in CLAUSE_NAMES:
        raise ValueError(f"unknown clause name {name!r}")

    def register(run: ClauseRun) -> ClauseRun:
        REGISTRY[name] = Clause(name, summary, how, run, creates, needs_create, needs_second_key)
        return run

    return register
