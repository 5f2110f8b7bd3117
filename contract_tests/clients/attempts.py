"""A journal seen from the client's side: creates grouped into intents, and what each attempt got.

An intent is one avatar the client meant to create: its tenant (each copy of
the client has its own key) and the name it asks for (``intent_of``); a create
that reuses an attempt's key with the same body but another ``name``, sent once
that attempt's outcome was ambiguous, is a renamed retry of that intent, not a
new one (``link_renamed``).  Its attempts are its creates in the order they
started.  An attempt's *follow-up* is the next attempt that started once the
client was done with it (``client_end``): what the client did once it knew the
outcome.  Two requests with one key overlap when the second started before
the client was done with the first (``overlaps``); they are never follow-ups of
each other (``client.no_parallel_same_key`` owns them).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

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
    def client_end(self) -> float:
        """When the client was done with this request, on the server's clock.

        An answer's end is stamped before its last byte is written, so a request
        that started earlier was sent before the client had the answer: proof
        that both were in flight.  A request the client gave up on ends when the
        server saw the connection go, which may be a little after the client let
        go of it: ``TOLERANCE`` earlier.
        """
        return self.ended - TOLERANCE if self.record.outcome == "client_closed" else self.ended

    @property
    def in_progress(self) -> bool:
        """Answered 409 ``request_in_progress``: the server had another request with this key in flight."""
        if self.status != 409 or self.record.response is None:
            return False
        return _error_code(self.record.response.body.prefix()) == "request_in_progress"

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
        """The first attempt that started once the client was done with attempt ``index``."""
        done = self.attempts[index].client_end
        return next((a for a in self.attempts[index + 1:] if a.started >= done), None)

    @property
    def created(self) -> list[Attempt]:
        return [a for a in self.attempts if a.record.created]


def overlaps(first: Attempt, second: Attempt) -> bool:
    """``second`` (started no earlier) was sent before the client was done with ``first``."""
    return first.started <= second.started < first.client_end


def same_key(intents: Iterable[Intent]) -> list[list[Attempt]]:
    """Each tenant's keyed attempts grouped by key (across intents), each group in order of start."""
    groups: dict[tuple[str, str], list[Attempt]] = defaultdict(list)
    for intent in intents:
        for attempt in intent.attempts:
            if attempt.key is not None:
                groups[intent.tenant, attempt.key].append(attempt)
    return [sorted(g, key=lambda a: (a.started, a.record.id)) for g in groups.values()]


def in_flight_with(group: list[Attempt]) -> Iterator[tuple[Attempt, list[Attempt]]]:
    """Each attempt of a same-key group (in order of start) with those it ``overlaps``."""
    busy: list[tuple[float, int, Attempt]] = []  # not over yet, by when the client was done
    for n, attempt in enumerate(group):
        while busy and busy[0][0] <= attempt.started:
            heapq.heappop(busy)
        yield attempt, [b[2] for b in sorted(busy)]
        heapq.heappush(busy, (attempt.client_end, n, attempt))


def _error_code(body: bytes) -> str | None:
    try:
        value: Any = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    error = value.get("error") if isinstance(value, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def is_create(record: ExchangeRecord) -> bool:
    return record.request.method == "POST" and record.request.path == CREATE_ROUTE


def _intent_name(record: ExchangeRecord) -> str:
    body = record.request.body
    if body.truncated:  # the same value intent_of gives the whole body's bytes
        return "sha256:" + body.sha256[:16]
    return intent_of(body.prefix())


def _but_name(attempt: Attempt) -> dict[str, Any] | None:
    """The body's fields other than ``name``, or None when it is not a whole JSON object."""
    body = attempt.record.request.body
    if body.truncated:
        return None
    try:
        value: Any = msgspec.json.decode(body.prefix())
    except (msgspec.DecodeError, RecursionError):
        return None
    return {k: v for k, v in value.items() if k != "name"} if isinstance(value, dict) else None


def _renamed_retry_of(earlier: Intent, first: Attempt) -> bool:
    """``first`` (another intent's first attempt) retries ``earlier`` under a new name: it reuses the
    key of ``earlier``'s last attempt before it, whose outcome left a retry due (5xx, reset, timeout,
    409, 429), with the rest of the body unchanged; nothing of ``earlier`` had succeeded."""
    before = [a for a in earlier.attempts if a.started <= first.started]
    if not before or first.key is None or any(a.status is not None and 200 <= a.status < 300 for a in before):
        return False
    last = before[-1]
    if last.key != first.key or not last.retryable or first.started < last.client_end:
        return False
    fields = _but_name(first)
    return fields is not None and fields == _but_name(last)


def link_renamed(found: list[Intent]) -> tuple[list[Intent], int]:
    """Intents with each renamed retry moved into the intent it retries; and how many were moved.

    Names tell intents apart; a client that renames the avatar on a retry would
    otherwise be counted as making a new intent each time and escape every
    per-intent check.  A rename that also changes the key or another field
    cannot be told from a new intent (README: a documented limit)."""
    kept: list[Intent] = []
    moved = 0
    for intent in found:  # in order of their first attempt
        target = next((k for k in reversed(kept) if k.tenant == intent.tenant
                       and _renamed_retry_of(k, intent.attempts[0])), None)
        if target is None:
            kept.append(intent)
            continue
        moved += 1
        target.attempts = sorted(target.attempts + intent.attempts, key=lambda a: (a.started, a.record.id))
    return kept, moved


def intents(scenario: str, records: Iterable[ExchangeRecord], t0: float) -> list[Intent]:
    """The scenario's creates as intents, each with its attempts in order of start."""
    return link_renamed(named_intents(scenario, records, t0))[0]


def named_intents(scenario: str, records: Iterable[ExchangeRecord], t0: float) -> list[Intent]:
    """The scenario's creates grouped by tenant and name alone (renamed retries not linked)."""
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
