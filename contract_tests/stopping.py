"""Ctrl-C and SIGTERM during ``verify``: the run stops at a safe point and still
writes its reports, from start-up on (a stop during the preflight included)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from .targets.session import clear_stop, request_stop, stop_reason


class Stopped(KeyboardInterrupt):
    """The run was stopped (Ctrl-C or SIGTERM), seen at a safe point between clauses."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@contextmanager
def signals_stop_the_run() -> Iterator[None]:
    """While the suite runs, Ctrl-C and SIGTERM stop it the same way, so the reports
    still get written: the first signal marks the run as stopping (no session sends
    another request, see session.request_stop) and cancels what is running; nothing
    is raised inside asyncio's own machinery.  A second signal exits at once."""
    reasons = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "stopped by SIGTERM"}

    def stop(signum: int, _frame: FrameType | None) -> None:
        if stop_reason() is not None:
            raise KeyboardInterrupt  # the second signal: the user insists
        request_stop(reasons.get(signal.Signals(signum), "stopped"))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # between clauses: the next clause start is the safe point
        # What asyncio.run does on Ctrl-C, for every task: a task that loses the
        # cancellation still cannot send (RunStopped at its next request).
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.call_soon_threadsafe(lambda: None)  # wake a select() with a long timeout

    clear_stop()
    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in reasons:
            previous[sig] = signal.signal(sig, stop)
    except ValueError:  # not the main thread (an embedding): leave signals alone
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
