"""Checks on when the client sent: Retry-After, backoff, the in-flight wait, bounded tries.

Each compares the client's own gaps (from the end of an exchange to the start
of its follow-up) against a threshold, with ``TOLERANCE``: never the speed
of the machine.  Thresholds are far from what a sensible client does.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from email.utils import parsedate_to_datetime

from avatar_contract.emulator._schedule import IN_FLIGHT_HOLD

from ..clauses.finding import ClauseResult
from .attempts import TOLERANCE
from .judging import Findings, Grading, check

IN_FLIGHT_WAIT = 0.25  # seconds a client waits after a 409 before retrying
GROWTH = 1.5  # later gaps (mean) at least this many times the first ones
SPREAD_CV = 0.1  # coefficient of variation of the gaps of one attempt number
SPREAD_MIN_GAP = 0.3  # seconds: shorter gaps are too close to timing noise to show a spread


def advertised_wait(value: str | None, ended: float) -> float | None:
    """The wait a Retry-After value advertises from ``ended`` (seconds or an HTTP-date), or None."""
    if value is None:
        return None
    text = value.strip()
    # Judged on the value the client got: the emulator sends whole seconds; a decimal from
    # another source of traffic is read as it says.
    if re.fullmatch(r"\d{1,9}(\.\d{1,6})?", text):
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - ended)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@check("client.retry_after")
def retry_after(grading: Grading) -> ClauseResult:
    found = Findings("client.retry_after")
    for intent in grading.intents:
        for n, attempt in enumerate(intent.attempts):
            if attempt.status != 429:
                continue
            wait = advertised_wait(attempt.header("retry-after"), attempt.ended)
            follow = intent.follow_up(n)
            if wait is None or follow is None:
                continue
            found.judged += 1
            gap = follow.started - attempt.ended
            if gap < wait - TOLERANCE:
                found.fail("a retry sooner than Retry-After", f"{gap:.3f} s after a 429 that said Retry-After "
                           f"{attempt.header('retry-after')!r} ({wait:.3f} s): {attempt.show()}; then {follow.show()}")
    return found.result(len(grading.attempts), passed=f"{found.judged} retr(ies) after a 429, none early")


@check("client.long_retry_after")
def long_retry_after(grading: Grading) -> ClauseResult:
    found = Findings("client.long_retry_after")
    run = grading.run("throttled-long")
    if run is None:
        return found.result(0, incomplete="the throttled-long scenario was not run")
    told = [a for i in grading.in_scenario("throttled-long") for a in i.attempts if a.status == 429]
    if not told:
        return found.result(len(told), incomplete="the client never got the 429 of throttled-long")
    found.judged = 1
    if run.timed_out or run.journal_full:
        found.fail("told to come back in 86400 s, the client did not stop", run.stopped)
    elif any(code == 0 for code in run.exit_codes):
        found.fail("told to come back in 86400 s, the client exited 0", "as though its avatars were created")
    elif any(code is None for code in run.exit_codes):
        return found.result(len(told), incomplete="the client's exit status is unknown (finish() was not called)")
    found.notes.append("a retry sooner than Retry-After is client.retry_after's")
    codes = ", ".join(str(c) for c in run.exit_codes)
    return found.result(len(told), passed=f"the client stopped by itself with exit status {codes}")


@check("client.bounded_retries")
def bounded_retries(grading: Grading) -> ClauseResult:
    found = Findings("client.bounded_retries")
    most = 0
    for intent in grading.in_scenario("persistent-503"):
        if not any(a.status == 503 for a in intent.attempts):
            continue
        found.judged += 1
        most = max(most, len(intent.attempts))
        if len(intent.attempts) > grading.max_attempts:
            found.fail(f"more than {grading.max_attempts} attempts for one intent under persistent-503",
                       f"{len(intent.attempts)} attempts: {intent.attempts[0].show()} … {intent.attempts[-1].show()}")
    return found.result(len(grading.attempts), passed=f"{found.judged} intent(s), at most {most} attempt(s) seen "
                                                      f"(limit {grading.max_attempts}, --max-attempts)")


def _series(grading: Grading) -> list[tuple[str, list[float]]]:
    """Per intent, its scenario and the gaps between consecutive retries after ambiguous outcomes
    (5xx, reset, timeout)."""
    out = []
    for intent in grading.intents:
        gaps: list[float] = []
        n = 0
        while n < len(intent.attempts):
            attempt = intent.attempts[n]
            follow = intent.follow_up(n)
            if not attempt.ambiguous or follow is None:
                break
            gaps.append(max(0.0, follow.started - attempt.ended))
            n = intent.attempts.index(follow)
        if gaps:
            out.append((intent.scenario, gaps))
    return out


@check("client.backoff")
def backoff(grading: Grading) -> ClauseResult:
    found = Findings("client.backoff")
    series_of = [(scenario, s) for scenario, s in _series(grading) if len(s) >= 2]
    series = [s for _, s in series_of]
    if not series:
        return found.result(len(grading.attempts), incomplete="no intent was retried twice after a 5xx, a "
                                                              "reset or a timeout (persistent-503 shows it)")
    found.judged = len(series)
    first = statistics.fmean(s[0] for s in series)
    later = statistics.fmean(g for s in series for g in s[1:])
    by_number: dict[int, list[float]] = defaultdict(list)
    for s in series:
        for n, gap in enumerate(s):
            by_number[n].append(gap)
    found.notes.append(f"{len(series)} retry series; first gaps {first:.3f} s on average, later ones {later:.3f} s")
    if later < first * GROWTH or later - first < TOLERANCE:
        found.fail("the gaps between attempts do not grow", f"{first:.3f} s first, {later:.3f} s later on average "
                   f"(needs ×{GROWTH:g}); e.g. {', '.join(f'{g:.3f}' for g in series[0])} s")
    spread = [statistics.pstdev(gaps) / statistics.fmean(gaps) for gaps in by_number.values()
              if len(gaps) >= 2 and statistics.fmean(gaps) >= SPREAD_MIN_GAP]
    if not spread:
        if not found.failures:
            # Only series of two gaps or more count: growth needs two, and the spread is read on
            # the same series; a single retry after ambiguous-5xx or reset-after-commit shows neither.
            where = ", ".join(sorted({scenario for scenario, _ in series_of}))
            return found.result(len(grading.attempts), incomplete=(
                f"the gaps grow, but in the {len(series)} retry series counted (intents retried twice or more "
                f"after a 5xx, a reset or a timeout: {where}) no attempt number had two gaps averaging "
                f"{SPREAD_MIN_GAP:g} s or more to show jitter (more intents, or --parallel 8)"))
    else:
        cv = statistics.fmean(spread)
        found.notes.append(f"coefficient of variation of same-numbered gaps: {cv:.2f}")
        if cv <= SPREAD_CV:
            found.fail("the gaps of the same attempt number are not spread (no jitter)", f"coefficient of "
                       f"variation {cv:.2f}, needs > {SPREAD_CV:g}")
    return found.result(len(grading.attempts), passed=f"gaps grow ({first:.3f} s → {later:.3f} s) and are spread")


@check("client.in_flight")
def in_flight(grading: Grading) -> ClauseResult:
    """Follow-ups sent once a 409 had arrived; one that overlaps another request with its key
    is client.no_parallel_same_key's alone (a concurrent copy is not a retry)."""
    found = Findings("client.in_flight")
    last = parallel = 0
    for intent in grading.intents:
        for n, attempt in enumerate(intent.attempts):
            if attempt.status != 409:
                continue
            follow = intent.follow_up(n)
            if follow is None:
                last += 1
                continue
            if (follow.scenario, follow.record.id) in grading.overlapping:
                parallel += 1
                continue
            found.judged += 1
            gap = follow.started - attempt.ended
            if gap < IN_FLIGHT_WAIT - TOLERANCE:
                found.fail(f"a retry sooner than {IN_FLIGHT_WAIT:g} s after a 409", f"{gap:.3f} s: "
                           f"{attempt.show()}; then {follow.show()}")
    found.notes.append("a retry after a 409 with another key is client.same_key_on_retry's")
    if last:
        found.notes.append(f"{last} 409(s) were the intent's last attempt")
    if parallel:
        found.notes.append(f"{parallel} follow-up(s) of a 409 overlapped another request with their key: "
                           "client.no_parallel_same_key's")
    why = (f"no 409 was followed by a retry (in-flight's hold meets only a same-key retry sent within "
           f"{IN_FLIGHT_HOLD:g} s)")
    return found.result(len(grading.attempts), passed=f"{found.judged} 409(s), each followed by a patient "
                                                      "retry with the same key",
                        incomplete="" if found.judged else why)
