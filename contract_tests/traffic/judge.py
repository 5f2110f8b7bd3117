"""Judge recorded traffic: every exchange of the create route, one at a time, then the verdicts.

    >>> judge = TrafficJudge()                                   # doctest: +SKIP
    >>> for index, record in sources.read(Path("traffic.har")):  # doctest: +SKIP
    ...     judge.add(record, Where("traffic.har", index))
    >>> results = judge.results()                                # one ClauseResult per clause

A clause passes only on what the traffic showed it; one the traffic cannot
show is incomplete, with what traffic would show it (``SHOWN_BY``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from avatar_contract.validators.journal import ExchangeRecord

from ..clauses.attribution import rate_limited
from ..clauses.checks import linter
from ..clauses.clause import CLAUSE_NAMES
from ..clauses.finding import ClauseResult, Verdict
from ..targets.exchange import Exchange
from . import per_exchange
from .evidence import Where, as_exchange
from .existence import Existence
from .records import REDACTED_TENANT
from .replays import Replays
from .shapes import every_shape, shapes_of
from .tally import Tallies

DEFAULT_TTL = 24 * 3600.0
_WITHIN = re.compile(r"within\s+(\d+(?:\.\d+)?)\s*(second|minute|hour|day)s?", re.IGNORECASE)
_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# What traffic would have to hold for each clause to be judged (the incomplete verdict's reason).
SHOWN_BY: dict[str, str] = {
    "auth.missing": "no request without credentials (no x-api-key, no Authorization) was recorded",
    "auth.invalid": "no traffic shows it: verify does (it sends a made-up key); a recording keeps a hash of each "
                    "key, not whether it was issued, so a wrong key's answer cannot be told from a right one's",
    "auth.bearer": "no request under Authorization: Bearer from a tenant also seen with x-api-key",
    "request.variants": "no accepted create (each variant with each asset source would show it)",
    "request.rejects_invalid": "no schema-invalid body sent with credentials",
    "response.schema": "no answer with a documented status and a whole body",
    "response.status": "no answered exchange",
    "response.content_type": "no answer with a body",
    "errors.envelope": "no error answer (4xx/5xx) with a whole body",
    "idempotency.key_format": "no request with a malformed Idempotency-Key (e.g. 256 characters, a space, a '/')",
    "idempotency.replay": "no retry of a key with the same body (after its original completed, within the TTL)",
    "idempotency.replay_body_differs": "no key reused with a different body after its original completed",
    "idempotency.in_flight": "no request overlapping another with its key (a 409, or two overlapping answers)",
    "idempotency.tenant_scope": "no Idempotency-Key used under two credentials (tenants)",
    "rate_limit.retry_after": "no 429 was recorded",
}


def ttl_from_spec() -> float:
    """The replay window the spec states ("within 24 hours" in the Idempotency-Key's description; a
    heuristic read of the sentence), else 24 hours."""
    contract = linter().contract
    header = contract.idempotency_key
    node: Any = contract.spec.document
    if header is None:
        return DEFAULT_TTL
    for part in header.pointer.strip("/").split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
    text = node.get("description", "") if isinstance(node, dict) else ""
    found = _WITHIN.search(text) if isinstance(text, str) else None
    return float(found.group(1)) * _UNIT[found.group(2).lower()] if found else DEFAULT_TTL


class TrafficJudge:
    """Feed it records in recorded order (``add``), then read ``results()``."""

    def __init__(self, ttl: float | None = None, *, cache: bool = True) -> None:
        """``cache=False`` judges every answer afresh (``per_exchange.Verdicts``): the same verdicts, slower."""
        self.tallies = Tallies()
        self.verdicts = per_exchange.Verdicts(enabled=cache)
        self.ttl = ttl if ttl is not None else ttl_from_spec()
        self.replays = Replays(self.tallies, self.ttl)
        self.existence = Existence(self.tallies)
        spec = linter().spec
        self.route, self.method = spec.path, spec.method.upper()
        self.exchanges = 0  # of the route
        self.other_routes = 0
        self.proxy_answers = 0
        self.unanswered = 0
        self.statuses: Counter[int] = Counter()
        self.shapes: set[str] = set()  # request shapes accepted (shapes.py): request.variants' coverage
        self.key_accepted: set[str] = set()  # tenants whose x-api-key got a 2xx
        self.bearer_refused: dict[str, tuple[Exchange, str]] = {}  # tenant -> its first Bearer 401
        self.began = time.monotonic()

    def ours_route(self, method: str, path: str) -> bool:
        path = path.rstrip("/") or "/"
        return method.upper() == self.method and (path == self.route or path.endswith(self.route))

    def add(self, record: ExchangeRecord, where: Where, line: bytes | None = None) -> None:
        """Judge one exchange; ``line``: the record's NDJSON line when it was read from one."""
        if record.fault is not None and record.fault.startswith("proxy:"):
            self.proxy_answers += 1  # the proxy's own answer (upstream down, --enforce): not the target's
            return
        if not self.ours_route(record.request.method, record.request.path):
            self.other_routes += 1
            return
        self.exchanges += 1
        exchange = as_exchange(record, self.exchanges)
        if record.response is None:
            self.unanswered += 1
            return
        self.statuses[exchange.status] += 1
        shown = str(where)
        retry = self.replays.add(record, exchange, shown, line)
        original = self.replays.replayed_from
        value = per_exchange.request(self.tallies, exchange, record.tenant, record.request.credential, shown, retry,
                                     replayed=original is not None, existence=self.existence)
        if value is not None:
            self.existence.accepted_create(record.tenant, value)
            union = linter().contract.request.variants
            if union is not None:
                self.shapes |= shapes_of(value, union)
        if original is not None and not self.replays.same_request and 200 <= exchange.status < 300:
            # A replayed answer is the original's: its consistency is with the request that created it
            # (read back only when the retry's body differs: the same body gives the same verdict).
            exchange = replace(exchange, request=original.evidence().request)
        per_exchange.responses(self.tallies, exchange, shown, self.verdicts)
        self._bearer(record, exchange, shown)

    def _bearer(self, record: ExchangeRecord, exchange: Exchange, where: str) -> None:
        """auth.bearer: a tenant's key refused as Bearer while it is accepted as x-api-key (memory: per tenant)."""
        tenant, scheme = record.tenant, record.request.credential
        if tenant is None or tenant == REDACTED_TENANT or rate_limited(exchange):
            return
        # Only a 2xx shows a key accepted: a target may check the body first (allowed), so a 400 to an
        # invalid body says nothing of the credential, and an unissued key's 401 is no Bearer refusal.
        accepted = 200 <= exchange.status < 300
        if scheme == "x-api-key" and accepted:
            self.key_accepted.add(tenant)
        elif scheme == "bearer" and accepted:
            self.tallies["auth.bearer"].cases += 1
        elif scheme == "bearer" and exchange.status == 401:
            self.bearer_refused.setdefault(tenant, (exchange, where))

    def _bearer_verdicts(self) -> None:
        tally = self.tallies["auth.bearer"]
        for tenant, (exchange, where) in list(self.bearer_refused.items()):
            if tenant in self.key_accepted:
                del self.bearer_refused[tenant]  # judged once (a rolling report asks again)
                tally.fail(f"a key accepted as x-api-key was refused as Authorization: Bearer: "
                           f"{exchange.summary(100)} ({where})", exchange, kind="Bearer refused")
            else:
                tally.note(f"a Bearer request got 401 ({where}) under a key never seen accepted: not judged")

    def results(self, final: bool = True) -> list[ClauseResult]:
        """Every clause's verdict.  ``final``: no more traffic comes, so 409s still waiting for their
        original are settled; a rolling report (the proxy's) asks with ``final=False`` and can ask again."""
        if final:
            self.replays.finish()
        self.existence.settle()
        self._bearer_verdicts()
        return [self._result(name) for name in CLAUSE_NAMES]

    def _result(self, name: str) -> ClauseResult:
        tally = self.tallies[name]
        notes = list(tally.notes)
        reason = ""
        if tally.failures:
            verdict = Verdict.FAIL
            reason = f"{sum(f.count for f in tally.failures)} exchange(s): {tally.failures[0].kind}"
        elif name == "rate_limit.retry_after" and not tally.cases:
            verdict, reason = Verdict.NOT_OBSERVED, SHOWN_BY[name]
        elif not tally.cases or name == "auth.invalid":
            verdict, reason = Verdict.INCOMPLETE, SHOWN_BY[name]
            if tally.cases:
                notes.append(f"{tally.cases} request(s) under an undeclared scheme were refused")
        else:
            verdict, reason = self._coverage(name, tally.cases)
        if name == "idempotency.in_flight" and self.replays.unproven:
            notes.append(f"{self.replays.unproven} 409(s) with no same-key request recorded around them: "
                         "overlap unproven, not judged")
        if name.startswith("idempotency.") and self.replays.redacted:
            notes.append(f"{self.replays.redacted} keyed request(s) had a redacted credential: their tenant "
                         "is unknown, so they were not compared")
        if name.startswith("response.") and self.statuses:
            notes.insert(0, "statuses seen: " + ", ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items())))
        return ClauseResult(name, verdict, reason=reason, failures=tally.failures, requests=tally.cases,
                            cases=tally.cases, notes=notes, planned=tally.cases, ran=tally.cases)

    def _coverage(self, name: str, cases: int) -> tuple[Verdict, str]:
        if name == "request.variants":
            union = linter().contract.request.variants
            missing = sorted(every_shape(union) - self.shapes) if union is not None else []
            if missing:
                shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
                return Verdict.INCOMPLETE, f"no accepted create of {shown} ({cases} accepted create(s) judged)"
        return Verdict.PASS, f"{cases} exchange(s) judged"

    def counts_line(self) -> str:
        return (f"{self.exchanges} exchange(s) of {self.method} {self.route} judged"
                f"{f' ({self.unanswered} unanswered)' if self.unanswered else ''}; "
                f"{self.other_routes} of other routes skipped; replay window {self.ttl / 3600:g} h; "
                f"at most {self.replays.peak} key(s) held at once")
