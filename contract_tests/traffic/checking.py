"""``check_files``: judge traffic files into the suite's report model (``SuiteReport``).

One result model, so every writer of ``verify`` (text, JSON, Markdown, JUnit,
HTML, the reproducers) renders it unchanged; the subject line and headline say
what was judged.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from ..reports.report import SuiteReport
from ..targets.suite_spec import pinned_spec
from ..targets.target import Target
from .evidence import Where
from .judge import TrafficJudge
from .sources import entries

TITLE = "Recorded traffic report"
KEY_VARIABLES = ("AVATAR_API_KEY", "AVATAR_API_KEY_2")


def check_files(paths: Sequence[Path], fmt: str | None = None, *, ttl: float | None = None,
                base_url: str | None = None) -> tuple[SuiteReport, TrafficJudge]:
    """Every file's exchanges judged in order (``TrafficError`` on a malformed one)."""
    began = time.monotonic()
    with pinned_spec():
        judge = TrafficJudge(ttl)
        for path in paths:
            name = path.name
            for index, record, line in entries(path, fmt):
                judge.add(record, Where(name, index), line)
    return as_report(judge, [str(p) for p in paths], time.monotonic() - began, base_url), judge


def as_report(judge: TrafficJudge, files: Sequence[str], seconds: float, base_url: str | None = None, *,
              final: bool = True, subject: str = "", headline: Sequence[str] = (),
              secrets: Sequence[str] = ()) -> SuiteReport:
    """The judge's verdicts as the suite's report (``final=False``: a rolling report, asked again later)."""
    results = judge.results(final)
    # Recorded traffic holds no key (only hashes); keys in the environment are scrubbed anyway,
    # in case a body echoes one.
    secrets = (*(v for v in (os.environ.get(k) for k in KEY_VARIABLES) if v), *secrets)
    run = {"requests": judge.exchanges, "made": 0, "other_routes": judge.other_routes,
           "unanswered": judge.unanswered, "files": list(files), "ttl_seconds": judge.ttl,
           "keys_held_peak": judge.replays.peak,
           "legend": "requests: the exchanges each clause judged; creates: not counted (judged from traffic)"}
    return SuiteReport(Target(base_url=base_url), results, seconds, secrets=secrets, run=run, title=TITLE,
                       subject=subject or f"traffic: {', '.join(files)}", headline=[judge.counts_line(), *headline])
