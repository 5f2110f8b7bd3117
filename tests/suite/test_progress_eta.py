"""The live line's expected total and ETA (issue 16 §4), on a clock the test moves."""

from __future__ import annotations

import io

from avatar_contract.contract_tests.clauses.finding import ClauseResult, Verdict
from avatar_contract.contract_tests.reports.progress import Progress
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _exchange() -> Exchange:
    return Exchange(SentRequest("POST", "/v3/avatars", (), None, b"{}"), 400, {}, b"{}")


def _live(stream: io.StringIO) -> str:
    return stream.getvalue().rsplit("\r\033[K", 1)[-1]


def test_the_live_line_shows_elapsed_eta_and_expected_total() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, 3, live=True, colour=False, clock=clock, ends_at=clock.now + 600)
    progress.start("auth.missing")
    clock.now += 1
    progress.exchange(_exchange(), False)
    assert "ETA after the first clause (deadline 10m00s)" in _live(stream)
    clock.now += 9
    progress.finished(ClauseResult("auth.missing", Verdict.PASS, requests=1))
    progress.start("auth.invalid")
    clock.now += 5
    progress.exchange(_exchange(), False)
    # One clause took 10 s; two are left, the running one 5 s in: 15 s to go, 30 s in all.
    assert _live(stream).endswith("15s elapsed, ETA 15s, expected total ~30s (deadline 10m00s)"), _live(stream)


def test_the_eta_never_runs_past_the_deadline() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, 10, live=True, colour=False, clock=clock, ends_at=clock.now + 120)
    progress.start("a")
    clock.now += 60
    progress.finished(ClauseResult("a", Verdict.PASS))
    progress.start("b")
    clock.now += 30
    progress.exchange(_exchange(), False)
    assert "ETA 30s, expected total ~2m00s (deadline 2m00s)" in _live(stream), _live(stream)


def test_only_a_slow_probe_gets_a_preflight_line() -> None:
    clock, stream = Clock(), io.StringIO()
    progress = Progress(stream, 1, live=False, colour=False, clock=clock)
    progress.probe(1, 4, "the first probe", False)
    progress.preflight_done()
    assert stream.getvalue() == ""
    progress.probe(2, 4, "the second probe", True)
    clock.now += 2
    progress.preflight_done()
    assert stream.getvalue() == ("preflight 2/4: waiting for the answer to the second probe …\n"
                                 "preflight: done after 2.0s\n")
