"""Scenarios: fault schedules the emulator applies to one client's creates (``grade-client``).

A schedule decides, for each authenticated ``POST /v3/avatars``, what the
emulator does with it, from the intent the create belongs to (the ``name`` it
asks for: ``validators.journal.intent_of``) and which attempt of that intent it
is.  Everything else is the emulator's own machinery: a committed create goes
through auth, the idempotency store and validation as usual; a hold keeps the
Idempotency-Key claimed (``HOLD``); a reset drops the connection (``_protocol``).

A ``Retry-After`` is said only in a form the spec's 429 header schema accepts
(``retry_after_value``): the vendored spec says ``type: integer``, so whole
seconds, rounded up, whatever ``--time-scale`` asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import formatdate
from types import MappingProxyType
from typing import Literal

from avatar_contract.validators.journal import intent_of


class Hold:
    """A create held inside its Idempotency-Key claim until a retry with that key has been
    answered 409 (``release``), at most ``seconds``.  It lasts as long as the client takes
    to retry, so the in-flight check is decidable for any request timeout under ``seconds``
    at any ``--time-scale``, and no longer than that (scaling it would end it before a
    typical timeout)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.seconds):
                await self._released.wait()


HOLD: ContextVar[Hold | None] = ContextVar("avatar_contract_emulator_hold", default=None)
"""The hold of the create in this context (inside its Idempotency-Key claim), if any."""

Kind = Literal["pass", "respond", "commit-then-503", "commit-then-reset", "hold"]


@dataclass(frozen=True, slots=True)
class Action:
    """What to do with one create.  ``respond``: answer ``status`` without processing it."""

    kind: Kind
    status: int = 0
    code: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    hold: float = 0.0  # at most this long (``Hold``)

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
IN_FLIGHT_HOLD = 5.0  # never scaled: it ends at the first 409 anyway (Hold)

Accepts = Callable[[str], bool]
"""Whether the spec's Retry-After header schema accepts a value as sent on the wire."""


def integer_seconds(value: str) -> bool:
    """The vendored spec's Retry-After (``type: integer``): delay-seconds only."""
    return value.isascii() and value.isdigit()


def retry_after_value(wait: float, now: float, accepts: Accepts = integer_seconds, *,
                      prefer_date: bool = False) -> str:
    """``wait`` seconds said as a Retry-After the spec allows: whole seconds rounded up (at
    least 1), or an HTTP-date when asked for and allowed.  A schema that accepts neither
    gets whole seconds (RFC 9110's delay-seconds), the form the judge reads best."""
    seconds = max(1, math.ceil(wait - 1e-9))
    # The HTTP-date form has whole seconds: one more, so the truncated date is never sooner than wait.
    date = formatdate(now + seconds + 1, usegmt=True)
    forms = (date, str(seconds)) if prefer_date else (str(seconds), date)
    return next((value for value in forms if accepts(value)), str(seconds))


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str


_SCENARIOS = (
    Scenario("clean", "no faults"),
    Scenario("ambiguous-5xx", "the first attempt of each intent is committed, then answered 503"),
    Scenario("reset-after-commit", "the first attempt of each intent is committed, then its connection is reset "
                                   "before any answer"),
    Scenario("throttled", f"the first attempt of each intent gets 429 with Retry-After: {RETRY_AFTER} (an "
                          "HTTP-date on the 2nd, 4th... intent when the spec's header schema allows one); "
                          "then success"),
    Scenario("throttled-long", f"every create gets 429 with Retry-After: {LONG_RETRY_AFTER}"),
    Scenario("persistent-503", "every create is answered 503"),
    Scenario("in-flight", "the first attempt of the first intent is held (its key claimed) until a retry "
                          f"has got 409 request_in_progress, at most {IN_FLIGHT_HOLD:g} s"),
    Scenario("invalid", "the first attempt of each intent gets 400 invalid_parameter"),
    Scenario("unauthorized", "every create gets 401"),
)
SCENARIOS: Mapping[str, Scenario] = MappingProxyType({s.name: s for s in _SCENARIOS})
"""Every scenario by name, in the order ``grade-client`` runs them."""


def _throttle(intent_number: int, now: float, scale: float, accepts: Accepts) -> Action:
    value = retry_after_value(RETRY_AFTER * scale, now, accepts, prefer_date=bool(intent_number % 2))
    return Action("respond", 429, "rate_limit_exceeded", (("Retry-After", value),))


def decide(scenario: str, intent_number: int, attempt: int, now: float, scale: float = 1.0,
           accepts: Accepts = integer_seconds) -> Action:
    """What ``scenario`` does with ``attempt`` (1-based) of the intent first seen ``intent_number``-th (0-based).

    ``accepts``: what the spec's Retry-After header schema allows (whole seconds by default).
    """
    first = attempt == 1
    if scenario == "ambiguous-5xx" and first:
        return Action("commit-then-503", 503, "service_unavailable")
    if scenario == "reset-after-commit" and first:
        return Action("commit-then-reset")
    if scenario == "throttled" and first:
        return _throttle(intent_number, now, scale, accepts)
    if scenario == "throttled-long":
        return Action("respond", 429, "rate_limit_exceeded",
                      (("Retry-After", retry_after_value(LONG_RETRY_AFTER, now, accepts)),))
    if scenario == "persistent-503":
        return Action("respond", 503, "service_unavailable")
    if scenario == "in-flight" and first and intent_number == 0:
        return Action("hold", hold=IN_FLIGHT_HOLD)
    if scenario == "invalid" and first:
        return Action("respond", 400, "invalid_parameter")
    if scenario == "unauthorized":
        return Action("respond", 401, "authentication_failed")
    return PASS


class Schedule:
    """The scenario being played and the intents seen so far (one client run at a time).

    ``scale`` shortens the advertised waits (``grade-client --time-scale``),
    never below one whole second; 1 plays them as the scenarios state them.  Thread-safe:
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

    def action(self, tenant: str, body: bytes, now: float, accepts: Accepts = integer_seconds) -> Action:
        """The action for ``tenant``'s authenticated create with this body, counting it as an attempt.

        ``accepts``: the forms of Retry-After the emulator's spec allows.
        """
        intent = intent_of(body)
        with self._lock:
            attempt = self._intents.get((tenant, intent), 0) + 1
            self._intents[tenant, intent] = attempt
            order = self._order.setdefault(tenant, {})
            number = order.setdefault(intent, len(order))
            scenario = self._scenario
        return decide(scenario, number, attempt, now, self.scale, accepts)
