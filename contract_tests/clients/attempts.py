"""A journal seen from the client's side: creates grouped into intents, and what each attempt got.

An intent is one avatar the client meant to create: its tenant (each copy of
the client has its own key) and the name it asks for (``intent_of``).  Its
attempts are its creates in the order they started.  An attempt's *follow-up*
is the next attempt that started after it ended (with ``TOLERANCE``): what the
client did once it knew the outcome.  Attempts that overlap are not
follow-ups of each other (``client.no_parallel_same_key`` judges those).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from avatar_contract.validators.journal import ExchangeRecord, intent_of

CREATE_ROUTE = "/v3/avatars"
TOLERANCE = 0.05  # seconds: timestamps are taken server-side, a few ms from the client's own


@dataclass(frozen=True)
class Attempt:
    scenario: str
    record: ExchangeRecord
    t0: float  # the scenario's start (Unix seconds): times are shown relative to it

    @property
    def key(self) -> str | None:
        return self.record.request.header("idempotency-key")

    @property
    def body(self) -> str:
        """What identifies the body's bytes: their SHA-256."""
        return self.record.request.body.sha256

    @property
    def status(self) -> int | None:
        """The answer the client got; None when it got none (reset, or it went away first)."""
        response = self.record.response
        return response.status if response is not None and self.record.outcome == "answered" else None

    @property
    def started(self) -> float:
        return self.record.started

    @property
    def ended(self) -> float:
        return self.record.ended if self.record.ended is not None else self.record.started

    @property
    def ambiguous(self) -> bool:
        """The client cannot know whether this create was committed: a 5xx, a reset or its own timeout."""
        return self.status is None or self.status >= 500

    @property
    def retryable(self) -> bool:
        """An outcome after which a retry of the same request is expected: ambiguous, 409 or 429."""
        return self.ambiguous or self.status in (409, 429)

    def header(self, name: str) -> str | None:
        response = self.record.response
        return response.header(name) if response is not None else None

    def show(self) -> str:
        """``#12 +1.234s key=abc… -> 503`` for a failure message (the journal's index, never a credential)."""
        key = self.key
        shown = "no key" if key is None else f"key={key[:40]!r}" + ("…" if len(key) > 40 else "")
        got = {"reset": "reset", "client_closed": "client went away"}.get(self.record.outcome) or str(self.status)
        return f"{self.scenario} #{self.record.id} +{self.started - self.t0:.3f}s {shown} -> {got}"


@dataclass
class Intent:
    scenario: str
    tenant: str
    name: str
    attempts: list[Attempt]

    def follow_up(self, index: int) -> Attempt | None:
        """The first attempt that started once attempt ``index`` had ended."""
        ended = self.attempts[index].ended
        return next((a for a in self.attempts[index + 1:] if a.started >= ended - TOLERANCE), None)

    @property
    def created(self) -> list[Attempt]:
        return [a for a in self.attempts if a.record.created]


def is_create(record: ExchangeRecord) -> bool:
    return record.request.method == "POST" and record.request.path == CREATE_ROUTE


def _intent_name(record: ExchangeRecord) -> str:
    body = record.request.body
    if body.truncated:  # the same value intent_of gives the whole body's bytes
        return "sha256:" + body.sha256[:16]
    return intent_of(body.prefix())


def intents(scenario: str, records: Iterable[ExchangeRecord], t0: float) -> list[Intent]:
    """The scenario's creates as intents, each with its attempts in order of start."""
    grouped: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
    for record in records:
        if is_create(record):
            grouped[record.tenant or "(no credential)", _intent_name(record)].append(Attempt(scenario, record, t0))
    out = []
    for (tenant, name), attempts in grouped.items():
        attempts.sort(key=lambda a: (a.started, a.record.id))
        out.append(Intent(scenario, tenant, name, attempts))
    out.sort(key=lambda i: i.attempts[0].started)
    return out
