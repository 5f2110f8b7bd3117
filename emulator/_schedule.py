"""Scenarios: fault schedules the emulator applies to one client's creates (``grade-client``).

A schedule decides, for each authenticated ``POST /v3/avatars``, what the
emulator does with it, from the intent the create belongs to (the ``name`` it
asks for: ``validators.journal.intent_of``) and which attempt of that intent it
is.  Everything else is the emulator's own machinery: a committed create goes
through auth, the idempotency store and validation as usual; a hold keeps the
Idempotency-Key claimed (``HOLD``); a reset drops the connection (``_protocol``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import formatdate
from types import MappingProxyType
from typing import Literal

from avatar_contract.validators.journal import intent_of

HOLD: ContextVar[float] = ContextVar("avatar_contract_emulator_hold", default=0.0)
"""Extra seconds the create in this context takes, inside its Idempotency-Key claim."""

Kind = Literal["pass", "respond", "commit-then-503", "commit-then-reset", "hold"]


@dataclass(frozen=True, slots=True)
class Action:
    """What to do with one create.  ``respond``: answer ``status`` without processing it."""

    kind: Kind
    status: int = 0
    code: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    hold: float = 0.0

    @property
    def fault(self) -> str | None:
        """The name a journal record gives this action (None: nothing was done on purpose)."""
        if self.kind == "pass":
            return None
        if self.kind == "respond":
            return f"respond-{self.status}"
        return f"hold-{self.hold:g}s" if self.kind == "hold" else self.kind


PASS = Action("pass")
RETRY_AFTER = 2  # seconds advertised by `throttled` (the HTTP-date form: one second more, then truncated)
LONG_RETRY_AFTER = 86_400
IN_FLIGHT_HOLD = 5.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str


_SCENARIOS = (
    Scenario("clean", "no faults"),
    Scenario("ambiguous-5xx", "the first attempt of each intent is committed, then answered 503"),
    Scenario("reset-after-commit", "the first attempt of each intent is committed, then its connection is reset "
                                   "before any answer"),
    Scenario("throttled", f"the first attempt of each intent gets 429, with Retry-After: {RETRY_AFTER} on the "
                          "1st, 3rd... intent and an HTTP-date on the 2nd, 4th...; then success"),
    Scenario("throttled-long", f"every create gets 429 with Retry-After: {LONG_RETRY_AFTER}"),
    Scenario("persistent-503", "every create is answered 503"),
    Scenario("in-flight", f"the first attempt of the first intent is held for {IN_FLIGHT_HOLD:g} s (its key "
                          "claimed), so a retry meanwhile gets 409 request_in_progress"),
    Scenario("invalid", "the first attempt of each intent gets 400 invalid_parameter"),
    Scenario("unauthorized", "every create gets 401"),
)
SCENARIOS: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in _SCENARIOS})
"""Every scenario by name, in the order ``grade-client`` runs them."""


def _throttle(intent_number: int, now: float, scale: float) -> Action:
    wait = RETRY_AFTER * scale
    if intent_number % 2:
        # The HTTP-date form has whole seconds: one more, so the truncated date is
        # still about RETRY_AFTER away (never sooner than wait).
        value = formatdate(now + wait + 1, usegmt=True)
    else:
        value = f"{wait:g}" if scale != 1 else str(RETRY_AFTER)
    return Action("respond", 429, "rate_limit_exceeded", (("Retry-After", value),))


def decide(scenario: str, intent_number: int, attempt: int, now: float, scale: float = 1.0) -> Action:
    """What ``scenario`` does with ``attempt`` (1-based) of the intent first seen ``intent_number``-th (0-based)."""
    first = attempt == 1
    if scenario == "ambiguous-5xx" and first:
        return Action("commit-then-503", 503, "service_unavailable")
    if scenario == "reset-after-commit" and first:
        return Action("commit-then-reset")
    if scenario == "throttled" and first:
        return _throttle(intent_number, now, scale)
    if scenario == "throttled-long":
        return Action("respond", 429, "rate_limit_exceeded", (("Retry-After", str(LONG_RETRY_AFTER)),))
    if scenario == "persistent-503":
        return Action("respond", 503, "service_unavailable")
    if scenario == "in-flight" and first and intent_number == 0:
        return Action("hold", hold=IN_FLIGHT_HOLD * scale)
    if scenario == "invalid" and first:
        return Action("respond", 400, "invalid_parameter")
    if scenario == "unauthorized":
        return Action("respond", 401, "authentication_failed")
    return PASS


class Schedule:
    """The scenario being played and the intents seen so far (one client run at a time).

    ``scale`` shortens the advertised waits and the hold (``grade-client
    --time-scale``); 1 plays them as the scenarios state them.  Thread-safe:
    the grader switches scenarios from another thread than the server's.
    """

    def __init__(self, scenario: str = "clean", scale: float = 1.0) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")
        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], not {scale!r}")
        self.scale = scale
        self._lock = threading.Lock()
        self._scenario = scenario
        # Per tenant (each copy of a client has its own key): intent -> attempts seen,
        # and intent -> its number in order of first attempt.
        self._intents: dict[tuple[str, str], int] = {}
        self._order: dict[str, dict[str, int]] = {}

    @property
    def scenario(self) -> str:
        return self._scenario

    def play(self, scenario: str) -> None:
        """Start ``scenario`` afresh: every intent seen from now on is new."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}")
        with self._lock:
            self._scenario = scenario
            self._intents.clear()
            self._order.clear()

    def action(self, tenant: str, body: bytes, now: float) -> Action:
        """The action for ``tenant``'s authenticated create with this body, counting it as an attempt."""
        intent = intent_of(body)
        with self._lock:
            attempt = self._intents.get((tenant, intent), 0) + 1
            self._intents[tenant, intent] = attempt
            order = self._order.setdefault(tenant, {})
            number = order.setdefault(intent, len(order))
            scenario = self._scenario
        return decide(scenario, number, attempt, now, self.scale)
