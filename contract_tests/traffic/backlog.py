"""The proxy's judging, off the forwarding path: finished exchanges wait here to be recorded and judged.

    >>> backlog = Backlog(TrafficJudge())        # doctest: +SKIP
    >>> backlog.add(finished)                    # the proxy, once the answer has gone back
    >>> backlog.drain(); backlog.judge.results() # a report: everything waiting is judged first

Building a record and judging it costs ~0.15 ms per exchange, about as much as
forwarding it.  Done inline it would stall every other request of the event
loop, so the proxy hands the exchange over here and judging runs in slices: at
most ``BUDGET`` seconds every ``INTERVAL`` (a fifth of the loop's time), in
recorded order.  At 500 req/s that keeps up with room to spare; past what it can
judge, the backlog grows to ``MAX_PENDING`` exchanges (or ``MAX_PENDING_BYTES``
of bodies) and then exchanges are forwarded but not judged (``skipped``; the
report's headline says how many), so judging can never slow forwarding by more
than its slice nor hold memory without bound.  The journal (``--record``) is
written as each exchange is handed over (~30 µs, after its answer has gone back),
so it holds every exchange, judged or not.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from dataclasses import dataclass
from typing import IO, Any

from avatar_contract.validators.journal import ExchangeRecord, dumps_line

from .evidence import Where
from .judge import TrafficJudge
from .records import build

INTERVAL = 0.005
BUDGET = 0.001
MAX_PENDING = 10_000
MAX_PENDING_BYTES = 64 << 20
MAX_SECRETS = 256
Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Finished:
    """One exchange as the proxy saw it, in raw form (turned into an ``ExchangeRecord`` off the hot path)."""

    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes
    started: float
    ended: float
    status: int | None  # None: the upstream cut the answer off
    answer: bytes
    answer_headers: Headers | None  # None: the proxy's own answer (a JSON envelope)
    client: Any
    fault: str | None = None


def _decoded(body: bytes, headers: Headers) -> bytes:
    """The body as judged: gzip or deflate undone (a body that does not decompress is judged as sent)."""
    encoding = next((v.strip().lower() for k, v in headers if k.lower() == b"content-encoding"), None)
    if encoding in (b"gzip", b"x-gzip", b"deflate"):
        try:
            return zlib.decompress(body, 47 if encoding != b"deflate" else zlib.MAX_WBITS)
        except zlib.error:
            return body
    return body


class Backlog:
    def __init__(self, judge: TrafficJudge, record: IO[bytes] | None = None) -> None:
        self.judge = judge
        self.record = record  # the journal (NDJSON), when recording
        self.pending: deque[tuple[int, Finished, ExchangeRecord | None]] = deque()
        self.pending_bytes = 0
        self.count = 0  # exchanges handed over, skipped ones included: entry N is the N-th through the proxy
        self.judged = 0
        self.skipped = 0
        self.first_skipped: int | None = None
        self.peak = 0
        # The keys that passed through, so the report scrubs them wherever a body echoes one (the records
        # never hold them); bounded: past MAX_SECRETS distinct keys only the first are kept.
        self.secrets: set[str] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, finished: Finished) -> None:
        index, self.count = self.count, self.count + 1
        record = None
        if self.record is not None:
            record = _record(index, finished)
            self.record.write(dumps_line(record))
        size = len(finished.body) + len(finished.answer)
        if len(self.pending) >= MAX_PENDING or self.pending_bytes + size > MAX_PENDING_BYTES:
            self.skipped += 1
            if self.first_skipped is None:
                self.first_skipped = index
            return
        self.pending.append((index, finished, record))
        self.pending_bytes += size
        self.peak = max(self.peak, len(self.pending))
        loop = asyncio.get_running_loop()
        if self._handle is None or self._loop is not loop:  # a handle of a finished loop never fires
            self._loop, self._handle = loop, loop.call_later(INTERVAL, self._slice)

    def _slice(self) -> None:
        self._handle = None
        if not self.pending:  # a report drained it meanwhile
            return
        deadline = time.perf_counter() + BUDGET
        self._one()  # at least one, however late the slice starts
        while self.pending and time.perf_counter() < deadline:
            self._one()
        if self.pending and self._loop is not None:
            self._handle = self._loop.call_later(INTERVAL, self._slice)

    def drain(self) -> None:
        """Judge everything waiting (a report is about to be written)."""
        while self.pending:
            self._one()

    def _one(self) -> None:
        index, done, record = self.pending.popleft()
        self.pending_bytes -= len(done.body) + len(done.answer)
        if len(self.secrets) < MAX_SECRETS:
            self._keep_secrets(done.headers)
        if record is None:
            record = _record(index, done)
        self.judge.add(record, Where("proxy", record.id))
        self.judged += 1

    def _keep_secrets(self, headers: Headers) -> None:
        for name, value in headers:
            lowered = name.lower()
            if lowered in (b"x-api-key", b"authorization") and value.strip():
                token = value.decode("latin-1").strip()
                self.secrets.add(token.split(" ", 1)[1].strip() if lowered == b"authorization"
                                 and " " in token else token)

    def lines(self) -> list[str]:
        if not self.skipped:
            return [f"judging kept up: every exchange judged, at most {self.peak:,} waiting at once"]
        return [f"judging fell behind: {self.skipped} exchange(s) forwarded but not judged (first: proxy entry "
                f"{self.first_skipped}; {MAX_PENDING:,} waiting or {MAX_PENDING_BYTES >> 20} MiB of bodies)"
                f"{'; all recorded' if self.record is not None else ''}; {self.judged} judged"]


def _record(index: int, done: Finished) -> ExchangeRecord:
    query = done.query.decode("latin-1")
    client, answer_headers = done.client, done.answer_headers
    record = build(
        index=index, source="proxy", method=done.method, url=done.path + (f"?{query}" if query else ""),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in done.headers], body=done.body,
        started=done.started, ended=done.ended, status=done.status,
        response_headers=[("content-type", "application/json")] if answer_headers is None
        else [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer_headers],
        response_body=done.answer if answer_headers is None else _decoded(done.answer, answer_headers),
        connection=f"{client[0]}:{client[1]}" if client else None,
        outcome="answered" if done.status is not None else "reset")
    if done.fault is not None:
        record = ExchangeRecord(**{**_fields(record), "fault": done.fault})
    return record


def _fields(record: ExchangeRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__struct_fields__}
