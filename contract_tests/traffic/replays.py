"""The idempotency clauses across exchanges: replays, in-flight 409s, tenants.

Exchanges are grouped by (tenant hash, Idempotency-Key).  The first 2xx of a
group is its original; a later request that starts after the original ended and
within the TTL is a retry and must repeat the original's status and body
(``idempotency.replay`` with the same request body, ``replay_body_differs``
with another); one whose interval overlaps the original's is concurrent and
must get the same answer or 409 (``in_flight``: the overlap is proven by the
recorded timestamps).  Another tenant's 2xx under the same key must not be the
first tenant's answer, nor may it get a 409 for the first tenant's request
(``tenant_scope``).  Bodies are compared as JSON when both are kept whole
(the suite's rule), else byte for byte by their SHA-256.  A key whose first use was
refused (a 4xx other than 401/409/429) keeps that answer too: a later request that
gets it again is that error replayed (not asserted), so its body is not judged.  A
replayed answer (``replayed_from``) is checked against the request that created it.

Memory: one small entry per key within the TTL; entries leave once the newest
start time seen is more than the TTL past their first (traffic is judged in
recorded order).  A 409 met before its original (a journal written as answers
complete) waits, bounded per key, for the original to be read.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field

import orjson

from avatar_contract.validators import parse_json
from avatar_contract.validators.journal import Body, ExchangeRecord, dumps_line, loads_line

from ..clauses.attribution import rate_limited
from ..clauses.checks import linter
from ..clauses.finding import steps
from ..targets.exchange import Exchange
from .evidence import as_exchange
from .per_exchange import key_report
from .records import REDACTED_TENANT
from .tally import Tallies

MAX_PENDING = 64  # 409s waiting for their original, per key
REPLAY = "the retry must repeat the original's status and body: the same data.avatar_item.id, no new avatar"
IN_FLIGHT = "concurrent requests with one key: each answer is the original 200 (one id) or 409 request_in_progress"
TENANT = "the same Idempotency-Key under another credential must be that tenant's own answer, never a replay"


@dataclass(slots=True)
class Digest:
    """A body as compared: canonical JSON's hash when kept whole and JSON, and the bytes' SHA-256."""

    canonical: str | None
    raw: str

    def same(self, other: Digest) -> bool:
        if self.canonical is not None and other.canonical is not None:
            return self.canonical == other.canonical
        return self.raw == other.raw


def digest(body: Body) -> tuple[Digest, object]:
    """The body's digest and its JSON value (None when not JSON or not whole)."""
    value: object = None
    canonical = None
    if not body.truncated and body.size:
        try:
            value = parse_json(body.prefix())  # exact: orjson alone rounds integers beyond 64 bits
        except ValueError:
            value = None
        else:
            try:
                sorted_form = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
            except TypeError:  # an integer beyond 64 bits: the stdlib writes it exactly
                sorted_form = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            canonical = hashlib.sha256(sorted_form).hexdigest()
    return Digest(canonical, body.sha256), value


def _item_id(value: object) -> str | None:
    data = value.get("data") if isinstance(value, dict) else None
    item = data.get("avatar_item") if isinstance(data, dict) else None
    ident = item.get("id") if isinstance(item, dict) else None
    return ident if isinstance(ident, str) else None


class Seen:
    """One answered exchange of a key, as much of it as later judgments need.

    Its digests (``body``, ``request``) and avatar id (``item``) are worked out on first use: most
    keys are never reused, so parsing and hashing every body up front cost more than the judging.
    Once kept (``keep``), only the record's NDJSON line stays, to show it as evidence or to read
    those facts from if a later exchange is compared with it.
    """

    __slots__ = ("_facts", "_line", "_record", "crossed", "ended", "started", "status", "tenant", "where")

    def __init__(self, record: ExchangeRecord, tenant: str, started: float, ended: float, status: int,
                 where: str, line: bytes | None = None) -> None:
        self.tenant, self.started, self.ended, self.status, self.where = tenant, started, ended, status, where
        self._record: ExchangeRecord | None = record
        self._line = line or b""
        self._facts: tuple[Digest, Digest, str | None] | None = None
        self.crossed: Seen | None = None  # a 409 that overlapped another tenant's original (tenant_scope)

    def keep(self) -> Seen:
        """Held past this exchange: the record shrinks to its line."""
        if self._record is not None:
            self._line, self._record = self._line or dumps_line(self._record), None
        return self

    def _read(self) -> ExchangeRecord:
        return self._record if self._record is not None else loads_line(self._line)

    def _facts_of(self) -> tuple[Digest, Digest, str | None]:
        if self._facts is None:
            record = self._read()
            body, value = digest(record.response.body) if record.response else (Digest(None, ""), None)
            self._facts = (body, digest(record.request.body)[0], _item_id(value))
        return self._facts

    @property
    def body(self) -> Digest:
        return self._facts_of()[0]

    @property
    def request(self) -> Digest:
        return self._facts_of()[1]

    @property
    def item(self) -> str | None:
        return self._facts_of()[2]

    def overlaps(self, other: Seen) -> bool:
        return self.started < other.ended and other.started < self.ended

    def evidence(self) -> Exchange:
        return as_exchange(self._read())


@dataclass(slots=True)
class KeyState:
    first: float
    originals: dict[str, Seen] = field(default_factory=dict)
    # A tenant's first refused use of the key (a 4xx other than 401/409/429), while it has no original:
    # a later answer equal to it may be that answer replayed (whether errors are replayed is not asserted).
    refused: dict[str, Seen] = field(default_factory=dict)
    pending: list[Seen] = field(default_factory=list)


class Replays:
    def __init__(self, tallies: Tallies, ttl: float) -> None:
        self.tallies = tallies
        self.ttl = ttl
        self.keys: OrderedDict[str, KeyState] = OrderedDict()
        self.latest = float("-inf")
        self.proven = 0  # in-flight overlaps proven by timestamps
        self.unproven = 0  # 409s with no same-key request recorded around them
        self.redacted = 0  # keyed requests whose credential the recorder hid
        self.peak = 0
        # The original whose answer the last exchange added repeated (a replay): its answer is judged
        # against that original's request, and says nothing of the retry's own body.
        self.replayed_from: Seen | None = None
        self.same_request = False  # the replay's request body is the original's (nothing to check again)

    def add(self, record: ExchangeRecord, exchange: Exchange, where: str, line: bytes | None = None) -> bool:
        """Judge ``exchange`` against its key's history; True when the idempotency clauses own its answer
        (``line``: the record's NDJSON line, kept as it is instead of encoding the record again)."""
        key, tenant, status = exchange.request.idempotency_key, record.tenant, exchange.status
        self.replayed_from, self.same_request = None, False
        if key is None or tenant is None or status in (0, 401) or rate_limited(exchange):
            return False
        if tenant == REDACTED_TENANT:
            self.redacted += 1
            return False
        if not key_report(key).valid:
            return False
        started = record.started
        ended = record.ended if record.ended is not None else started
        self._evict(started)
        state = self.keys.get(key)
        if state is not None:
            for other in [t for t, o in state.originals.items() if o.started + self.ttl <= started]:
                del state.originals[other]  # expired: the key is free again for that tenant
        seen = Seen(record, tenant, started, ended, status, where, line)
        mine = state.originals.get(tenant) if state is not None else None
        if mine is None:
            refused = state.refused.get(tenant) if state is not None else None
            if state is not None and refused is not None and refused.started + self.ttl <= started:
                del state.refused[tenant]  # expired, as an original would
                refused = None
            if 200 <= status < 300:
                state = state or self._new(key, started)
                state.refused.pop(tenant, None)  # errors were not stored: this is the key's original
                state.originals[tenant] = seen.keep()
                self._other_tenants(state, seen, exchange)
                self._resolve(state, seen)
                self.replayed_from = None  # set by a waiting 409 judged as a retry, not by this original
                return False  # an original: request.variants judges it
            if status == 409:
                state = state or self._new(key, started)
                for original in state.originals.values():
                    if original.overlaps(seen):
                        seen.crossed = original
                if len(state.pending) < MAX_PENDING:
                    state.pending.append(seen.keep())
                return True
            if refused is None:
                state = state or self._new(key, started)
                state.refused[tenant] = seen.keep()
                return False  # the first answer to the key: judged as any request
            return self._refused_again(refused, seen)
        if seen.overlaps(mine):
            self._concurrent(mine, seen, exchange)
            return True
        if started >= mine.ended and ended <= mine.started + self.ttl:
            self._retry(mine, seen, exchange)
            return True
        return False

    def _refused_again(self, refused: Seen, seen: Seen) -> bool:
        """A later request with a key first refused: the same answer after the refusal ended is that
        answer replayed (the spec: the original response, "even if the request body differs"), so it says
        nothing of this request's body; another answer is the target's verdict on this one."""
        if seen.started < refused.ended or seen.status != refused.status or not seen.body.same(refused.body):
            return False
        same_body = seen.request.same(refused.request)
        self.tallies["idempotency.replay" if same_body else "idempotency.replay_body_differs"].note(
            f"a key first refused {refused.status} got that answer again for a later request ({refused.where}, "
            f"{seen.where}): a replayed error, which the spec does not assert, so the later body was not judged")
        self.replayed_from = refused
        return True

    def _new(self, key: str, started: float) -> KeyState:
        state = self.keys[key] = KeyState(started)
        self.peak = max(self.peak, len(self.keys))
        return state

    def _evict(self, started: float) -> None:
        if started > self.latest:
            self.latest = started
        horizon = self.latest - self.ttl
        keys = self.keys
        while keys:
            key = next(iter(keys))
            state = keys[key]
            if state.first >= horizon:
                break
            del keys[key]
            self._settle(state)

    def _settle(self, state: KeyState) -> None:
        """A key leaves: its 409s that never met their tenant's original are judged now."""
        for waiting in state.pending:
            if waiting.crossed is not None:
                self.tallies["idempotency.tenant_scope"].fail(
                    f"a 409 for a request the other tenant had in flight under the same key ({waiting.where})",
                    waiting.evidence(), kind="409 across tenants",
                    sequence=steps([waiting.crossed.evidence(), waiting.evidence()]), compare=TENANT)
            else:
                self.unproven += 1
        state.pending.clear()

    def finish(self) -> None:
        while self.keys:
            _, state = self.keys.popitem(last=False)
            self._settle(state)

    def _resolve(self, state: KeyState, original: Seen) -> None:
        """409s read before this original: in flight (overlap), or a retry answered 409 after it completed."""
        waiting = []
        for p in state.pending:
            if p.tenant == original.tenant and p.overlaps(original):
                self._proven()
            elif p.tenant == original.tenant and p.started >= original.ended:
                self._retry(original, p, p.evidence())
            else:
                if p.tenant != original.tenant and p.overlaps(original):
                    p.crossed = p.crossed or original
                waiting.append(p)
        state.pending = waiting

    def _proven(self) -> None:
        self.proven += 1
        self.tallies["idempotency.in_flight"].cases += 1

    def _concurrent(self, original: Seen, seen: Seen, exchange: Exchange) -> None:
        tally = self.tallies["idempotency.in_flight"]
        if seen.status == 409:
            self._proven()
        elif 200 <= seen.status < 300 and not seen.body.same(original.body):
            ids = f" ({original.item} and {seen.item})" if original.item and seen.item else ""
            tally.fail(f"two overlapping requests with one key got different 2xx answers{ids}: two avatars "
                       f"({original.where}, {seen.where})", exchange, kind="several avatars",
                       sequence=steps([original.evidence(), exchange]), compare=IN_FLIGHT)
        elif 200 <= seen.status < 300:
            self.replayed_from, self.same_request = original, seen.request.same(original.request)
            self._proven()
        else:
            tally.fail(f"a request overlapping its key's original got {exchange.summary(100)}; expected the "
                       f"original's answer or 409 ({seen.where})", exchange, kind=f"status {seen.status}",
                       sequence=steps([original.evidence(), exchange]), compare=IN_FLIGHT)

    def _retry(self, original: Seen, seen: Seen, exchange: Exchange) -> None:
        # The evidence (the original read back from its line) is built only for a failure.
        same_body = seen.request.same(original.request)
        tally = self.tallies["idempotency.replay" if same_body else "idempotency.replay_body_differs"]
        label = "a retry with the same key and body" if same_body else "the same key with a different body"
        if not same_body and seen.status == 400 and 200 <= original.status < 300 and _invalid(exchange):
            # The spec replays a body that "differs slightly"; one the schema refuses may be refused
            # before the key is looked up (that order is the server's to choose).
            tally.note(f"the same key with a schema-invalid body got 400 ({seen.where}): a server may validate "
                       "before the key's replay, so not judged")
            return
        if seen.status != original.status:
            tally.fail(f"{label}: the original was {original.status} ({original.where}), the retry got "
                       f"{exchange.summary(100)} ({seen.where})", exchange, kind=f"status {seen.status}",
                       sequence=steps(original.evidence(), exchange), compare=REPLAY)
        elif not seen.body.same(original.body):
            detail = (f"a new avatar was created ({original.item} then {seen.item})"
                      if original.item and seen.item and original.item != seen.item else "the body differs")
            tally.fail(f"{label}: {detail} ({original.where}, {seen.where})", exchange, kind="body differs",
                       sequence=steps(original.evidence(), exchange), compare=REPLAY)
        else:
            self.replayed_from, self.same_request = original, same_body
            tally.cases += 1

    def _other_tenants(self, state: KeyState, seen: Seen, exchange: Exchange) -> None:
        tally = self.tallies["idempotency.tenant_scope"]
        for tenant, original in state.originals.items():
            if tenant == seen.tenant:
                continue
            if seen.body.same(original.body) or (seen.item is not None and seen.item == original.item):
                tally.fail(f"the second tenant got the first tenant's answer replayed (avatar {original.item}; "
                           f"{original.where}, {seen.where})", exchange, kind="replayed across tenants",
                           sequence=steps(original.evidence(), exchange), compare=TENANT)
            else:
                tally.cases += 1


def _invalid(exchange: Exchange) -> bool:
    """Whether the request's body is one the spec's schema refuses (its content, as sent)."""
    content = exchange.request.content
    return content is not None and not linter().lint_request(content).valid
