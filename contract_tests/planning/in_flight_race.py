"""The in-flight race the pool sends for idempotency.in_flight, and its rate-limiter control.

Kept apart from the pool because what goes out here is judged differently from
every other create: the race is sent unretried (attribution.race_unretried), so a
429 inside it may be the server's answer to a concurrent retry, and the control
burst that follows decides whether a limiter rather than the race explains it
(attribution.race_limiter_control).  The pool records what these return.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..clauses.attribution import rate_limited
from ..targets.exchange import Exchange
from ..targets.session import Session, requested_wait
from .race import StartLine


async def waited_out(session: Session, answers: list[Exchange]) -> bool:
    """A race a limiter answered throughout (429s: nothing created, every slot back) may go once
    more: wait what its answers asked, within the run's waiting budget.  False: not waited."""
    wait = max(requested_wait(a, session.retry) for a in answers)
    if wait > session.retry.max_wait or not session.ledger.add_wait(wait):
        return False
    await asyncio.sleep(wait)
    return True


async def race(session: Session, body: dict[str, Any], key: str | None, size: int) -> list[Exchange]:
    """``size`` creates of one body under one key, prepaid, their bodies leaving together."""
    await session.ledger.reserve(size, planned=True)
    start = StartLine(size)  # the bodies leave together: the race really overlaps
    # Unretried (attribution.race_unretried): a 429 here may be the answer to a concurrent retry.
    return list(await asyncio.gather(*(session.post(body, key=key, creates=True, prepaid=True,
                                                    start=start, retry_429=False)
                                       for _ in range(size))))


async def limiter_control(session: Session, answers: list[Exchange]) -> list[Exchange]:
    """The race's limiter control (one per race): when some of its answers are a rate limiter's and
    others are not, as many invalid bodies (nothing to create, no key in flight) go out at once,
    unretried, right after it.  429s there too: a limiter is throttling anything, and the race's
    429s are not judged; none: they answered the concurrent retries, and fail in_flight."""
    limited = [a for a in answers if rate_limited(a)]
    if not limited or len(limited) == len(answers):
        return []
    sent = await asyncio.gather(*(session.post({}, retry_429=False) for _ in range(len(answers))),
                                return_exceptions=True)
    for failure in sent:
        if isinstance(failure, BaseException) and not isinstance(failure, Exception):
            raise failure  # a run stop or a cancellation is not the control's to swallow
    # What the budget or a stop kept from going out is simply absent: in_flight says it could not tell.
    return [a for a in sent if isinstance(a, Exchange)]
