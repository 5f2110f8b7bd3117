"""Same-key races that really overlap, and the timing that shows they did.

A race's requests start together: each sends its headers, then holds its body
at a start line until every request of the race is that far (or ``WAIT``
seconds passed), so the bodies leave within microseconds of each other,
whatever each connection cost to open.  A server cannot act on a request
before its body is complete, so this is when the race begins.

Each exchange records when its body was fully sent and when its answer's
headers arrived (``Exchange.sent_at`` / ``answered_at``, monotonic seconds).
``overlap`` is the clause's proof that a request arrived while another was in
flight: some request was fully sent at least ``MARGIN`` before the first answer
of the race began (a heuristic: no client can see inside the server).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from ..targets.exchange import Exchange

WAIT = 2.0  # seconds the start line waits for the slowest connection before letting everyone go
# A heuristic: how long before the first answer began another request must have been fully sent.
# A server that handles requests one at a time answers a fast first create while the others wait
# in its socket buffers; then every later answer is a plain replay, which says nothing about a
# guard (the emulator without one does exactly this at --processing-delay 0: about 1 ms).  A
# first answer that took this long while the others were already sent means they waited on it.
MARGIN = 0.2


class StartLine:
    """Holds each request's body until all ``size`` requests have sent their headers."""

    def __init__(self, size: int, wait: float = WAIT) -> None:
        self.size = size
        self.wait = wait
        self.arrived = 0
        self._go = asyncio.Event()

    async def body(self, content: bytes, sent: list[float]) -> AsyncIterator[bytes]:
        """``content`` as one chunk, once everyone is at the line; appends to ``sent`` the time the
        chunk was written (the transport asks for the next chunk only after writing this one)."""
        self.arrived += 1
        if self.arrived >= self.size:
            self._go.set()
        try:
            await asyncio.wait_for(self._go.wait(), self.wait)
        except TimeoutError:
            self._go.set()  # a connection that never opened must not hold the others for ever
        yield content
        sent.append(time.monotonic())


def overlap(answers: Sequence[Exchange], margin: float = MARGIN) -> str | None:
    """Why the race's requests overlapped, or None when its timing does not show it.

    Proof is a request fully sent ``margin`` seconds or more before the first answer of the race
    began: it was on the wire while the first one was in flight.  Without both times, nothing is.
    """
    timed = [a for a in answers if a.sent_at is not None and a.answered_at is not None and a.status]
    if len(timed) < 2:
        return None
    first = min(timed, key=lambda a: a.answered_at or 0.0)
    early = [a for a in timed if a is not first and (a.sent_at or 0.0) + margin <= (first.answered_at or 0.0)]
    if not early:
        return None
    ahead = (first.answered_at or 0.0) - min(a.sent_at or 0.0 for a in early)
    return (f"{len(early)} of the other {len(timed) - 1} request(s) were fully sent before the first answer "
            f"(request #{first.request_number}) began, up to {ahead * 1000:.1f} ms ahead of it")
