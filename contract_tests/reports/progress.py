"""What ``verify`` shows while it runs: a line as each clause starts and finishes,
and on a terminal a live count of requests and creates.

Fed by the runner's callbacks (``on_start``, ``on_exchange``, ``on_result``), so
it never changes what runs.  It also remembers what the clause in progress had
done when a run is stopped (Ctrl-C, SIGTERM, --deadline), because creates made
by an unfinished clause still count, and which statuses each clause saw.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from ..clauses.finding import ClauseResult, Verdict
from ..targets.exchange import Exchange

_COLOURS = {
    Verdict.PASS: "32", Verdict.FAIL: "31;1", Verdict.INCOMPLETE: "33", Verdict.ERROR: "35;1",
    Verdict.NOT_OBSERVED: "33", Verdict.SKIPPED: "2",
}
LIVE_INTERVAL = 0.1  # seconds between redraws of the live line (a terminal, not a log)


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never under NO_COLOR (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at a word boundary when one is near
    the end, and always marked with "…", so a reader knows there is more (in the reports)."""
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= width * 0.6:  # a nearer boundary would drop too much of a long word-free text
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"


def paint(verdict: Verdict, text: str, colour: bool) -> str:
    return f"\033[{_COLOURS[verdict]}m{text}\033[0m" if colour else text


class Progress:
    """One run's progress display and live counts."""

    def __init__(self, stream: TextIO, total: int, *, live: bool | None = None, colour: bool | None = None,
                 ends_at: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.total = total
        self.deadline = ends_at  # a clock() instant: the run's deadline, shown beside the ETA
        self.clock = clock
        self.began = clock()
        self.probes_shown = False
        tty = use_colour(stream) if colour is None else colour
        self.colour = tty
        self.live = (bool(getattr(stream, "isatty", lambda: False)()) if live is None else live)
        self.index = 0
        self.current: str | None = None
        self.current_started = 0.0
        self.current_requests = 0
        self.current_creates = 0
        self.requests = 0  # whole run
        self.creates = 0
        self.statuses: dict[str, Counter[int]] = {}
        self._drawn = 0.0
        self._live_shown = False

    # -- the preflight ------------------------------------------------------------
    def probe(self, number: int, total: int, label: str, waiting: bool) -> None:
        """A preflight probe went out (``waiting``: and is still unanswered a second
        later).  Only a slow probe gets a line, so a slow server is seen being waited
        for and a fast preflight stays silent (a refused target is still one line)."""
        if waiting:
            self.probes_shown = True
            self._line(f"preflight {number}/{total}: waiting for the answer to {label} …")

    def preflight_done(self) -> None:
        if self.probes_shown:
            self._line(f"preflight: done after {self.clock() - self.began:.1f}s")

    # -- runner callbacks ----------------------------------------------------------
    def start(self, name: str) -> None:
        self.index += 1
        self.current, self.current_started = name, self.clock()
        self.current_requests = self.current_creates = 0
        self.statuses.setdefault(name, Counter())
        self._line(f"{self._counter()} {name} …")

    def exchange(self, exchange: Exchange, created: bool) -> None:
        self.requests += 1
        self.current_requests += 1
        if created:
            self.creates += 1
            self.current_creates += 1
        if self.current is not None:
            self.statuses[self.current][exchange.status] += 1
        if self.live:
            now = self.clock()
            if now - self._drawn >= LIVE_INTERVAL:
                self._drawn = now
                self._draw_live(now)

    def finished(self, result: ClauseResult) -> None:
        if result.name != self.current:  # never started (deadline passed): still one line
            self.index += 1
        self.current = None  # before drawing: no live line after a clause's last line
        verdict = paint(result.verdict, result.verdict.value, self.colour)
        detail = f" — {result.reason}" if result.reason and result.verdict is not Verdict.PASS else ""
        self._line(f"{self._counter()} {result.name}: {verdict} · {result.requests} requests · "
                   f"{result.creates} creates · {result.seconds:.1f}s{clip(detail, 160)}")

    # -- after a stop --------------------------------------------------------------
    def unfinished(self, why: str) -> ClauseResult | None:
        """The clause that was running when the run stopped, as an incomplete result."""
        if self.current is None:
            return None
        result = ClauseResult(self.current, Verdict.INCOMPLETE, reason=f"{why} while it ran",
                              requests=self.current_requests, creates=self.current_creates,
                              seconds=self.clock() - self.current_started)
        self.finished(result)
        return result

    def close(self) -> None:
        self._clear_live()

    # -- drawing -------------------------------------------------------------------
    def _counter(self) -> str:
        width = len(str(self.total))
        return f"[{self.index:>{width}}/{self.total}]"

    def _line(self, text: str) -> None:
        self._clear_live()
        print(text, file=self.stream, flush=True)
        if self.live and self.current is not None:
            self._draw_live(self.clock())

    def eta(self, now: float) -> str:
        """The expected total and what is left, from the clauses done so far (a
        heuristic: clauses differ in length), and the deadline that bounds both."""
        elapsed = now - self.began
        done = self.index - (1 if self.current is not None else 0)
        bound = f" (deadline {_clock(self.deadline - self.began)})" if self.deadline is not None else ""
        if done <= 0:
            return f"{_clock(elapsed)} elapsed, ETA after the first clause{bound}"
        running = now - self.current_started if self.current is not None else 0.0
        left = max(0.0, (elapsed - running) / done * (self.total - done) - running)
        if self.deadline is not None:
            left = min(left, max(0.0, self.deadline - now))
        return f"{_clock(elapsed)} elapsed, ETA {_clock(left)}, expected total ~{_clock(elapsed + left)}{bound}"

    def _draw_live(self, now: float) -> None:
        text = (f"  {self.current}: {self.current_requests} requests, {self.current_creates} creates, "
                f"{now - self.current_started:.0f}s · run: {self.requests} requests, {self.creates} creates"
                f" · {self.eta(now)}")
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._live_shown = True

    def _clear_live(self) -> None:
        if self._live_shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._live_shown = False


def _clock(seconds: float) -> str:
    seconds = int(max(0.0, seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
