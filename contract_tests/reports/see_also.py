"""Pointers to other clauses ("see errors.envelope") that hold in the run they are read in.

A note names another clause as the owner of a defect met on the way.  In a
partial run that clause may not have run, or stopped before judging it: then
the pointer says so instead of sending the reader to nothing, and the defect
itself is named beside it (the notes that point name it, with the request).
"""

from __future__ import annotations

import re

from ..clauses.finding import ClauseResult, Verdict

_SEE = re.compile(r"\bsee ((?:auth|request|response|errors|idempotency|rate_limit)\.[a-z_]+)")


def unpointed(results: list[ClauseResult]) -> list[ClauseResult]:
    """No note or reason sends the reader to a clause that did not judge the defect in this run
    (not run, interrupted, incomplete, passed): the pointer says so, the defect is named beside it."""
    failed = {r.name for r in results if r.verdict is Verdict.FAIL}
    ran = {r.name: r.verdict.value for r in results}

    def fix(text: str) -> str:
        def where(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in failed:
                return match.group(0)
            state = f"{ran[name]} in this run" if name in ran else "not run here"
            return f"{name} owns it ({state})"
        return _SEE.sub(where, text)

    for r in results:
        r.notes = [fix(n) for n in r.notes]
        r.reason = fix(r.reason)
    return results
