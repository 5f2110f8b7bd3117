"""The clause report: a terminal table and report.json; ``write`` adds report.md, JUnit XML and HTML.

The runner hands over scrubbed results; every rendered text passes through
``SuiteReport.scrub`` as well, a safety net that removes any long form of a
key without touching the tool's own words.  Each other format is its own writer
(:mod:`.report_markdown`, :mod:`.report_junit`, :mod:`.report_html`) over the same :class:`SuiteReport`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clauses.clause import CLAUSE_NAMES
from ..clauses.finding import ClauseFailure, ClauseResult, Verdict
from ..mutation import MutationScore
from ..targets.exchange import Exchange
from ..targets.response_body import keep_bodies
from ..targets.target import Target
from .curl import as_curl
from .progress import clip
from .redact import Scrubber
from .repro import BATCH, SCRIPT_DIR, KeyVariables, describe, script_names, write_scripts
from .run_info import RunInfo
from .see_also import unpointed

# Characters of a curl line shown on stdout when the full one is in the report files
# (a 1000-emoji prompt or a base64 image would make one failure line several KB).
STDOUT_CURL = 600
DETAIL_WIDTH = 100  # the detail column of the terminal table

@dataclass
class SuiteReport:
    target: Target
    results: list[ClauseResult]
    seconds: float = 0.0
    mutation: MutationScore | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    # Where the reproducers go (``<report dir>/repro``); failures point to them when set.
    repro_dir: Path | None = None
    # The run's create ledger and plan: made, unplanned, cap, needed, breaker, stopped, throttled.
    run: dict[str, Any] = field(default_factory=dict)
    info: RunInfo | None = None
    stopped: str = ""  # why the run ended early (Ctrl-C, SIGTERM, --deadline), else ""
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)  # per clause: status -> count
    # Another front end over the same writers (grade-client): its title, what replaces
    # the target line, and lines every format shows under it (a score, per-run facts).
    title: str = "Create Avatar contract report"
    subject: str = ""
    headline: list[str] = field(default_factory=list)
    # The per-clause counts each table shows (ClauseResult attributes); grade-client shows "cases".
    columns: tuple[str, ...] = ("requests", "creates")

    @property
    def incomplete(self) -> bool:
        return any(r.verdict in (Verdict.INCOMPLETE, Verdict.ERROR) for r in self.results)

    @property
    def outcome(self) -> str:
        """One word for the whole run: fails, incomplete or conforms."""
        return "fails" if self.failed else ("incomplete" if self.incomplete else "conforms")

    @property
    def failed(self) -> bool:
        return any(r.verdict is Verdict.FAIL for r in self.results)

    @property
    def unfinished(self) -> bool:
        """Some clause could not earn a verdict (incomplete or error)."""
        return any(r.verdict in (Verdict.INCOMPLETE, Verdict.ERROR) for r in self.results)

    def score(self) -> str:
        """E.g. "13 pass · 1 fail · 1 incomplete of 15": what could not run stays in the denominator."""
        counts = self.counts()
        parts = [f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value]]
        return f"{' · '.join(parts)} of {len(self.results)}"

    def run_lines(self) -> list[str]:
        """The run-level facts a reader must see once: breaker, target stopped, throttled key."""
        lines = []
        if self.run.get("tripped"):
            lines.append(f"CIRCUIT BREAKER: {self.run['tripped']}; nothing that could create was sent after it")
        if self.run.get("stopped"):
            lines.append(str(self.run["stopped"]).upper()[:1] + str(self.run["stopped"])[1:] +
                         "; the clauses that still had to send are incomplete")
            if self.run.get("stopped_request"):
                lines.append(f"  the unanswered request: {self.run['stopped_request']}")
        if self.run.get("throttled"):
            lines.append(f"rate-limited: {self.run['throttled']}; the clauses it blocked are incomplete")
        return lines

    @property
    def requests(self) -> int:
        if "requests" in self.run:
            return int(self.run["requests"])  # the create pool's requests included
        return sum(r.requests for r in self.results)

    @property
    def creates(self) -> int:
        if "made" in self.run:
            return int(self.run["made"])  # every 2xx to the create route, the pool's included
        return sum(r.creates for r in self.results)

    def scrub(self, text: str) -> str:
        """A safety net over rendered text: every long form of a key.  Short keys
        were scrubbed field by field by the runner, where it knows what is the
        target's text and what is ours (see redact)."""
        return Scrubber(self.secrets).long_forms(text)

    def scrub_content(self, text: str) -> str:
        """Text the target sent (bodies, headers): every form of a key, anywhere."""
        return Scrubber(self.secrets).content(text)

    def curl(self, exchange: Exchange, keys: KeyVariables | None = None) -> str:
        """The exchange as one curl line; with ``keys``, its Idempotency-Key is one of their variables."""
        word = keys.word(exchange.request.header("idempotency-key")) if keys is not None else None
        return self.scrub(as_curl(exchange, self.target.display_url, self.target.headers, key_word=word))

    def pool_counts(self) -> tuple[int, int] | None:
        """(requests, creates) of the run's create pool, when the run recorded them."""
        if "pool" not in self.run:
            return None  # not recorded (pytest's table reads only the shared ledger)
        pool = self.run["pool"]  # None: no clause of the run needed the pool
        return (int(pool["requests"]), int(pool["made"])) if pool else (0, 0)

    def counts(self) -> Counter[str]:
        return Counter(r.verdict.value for r in self.results)


def unexpected_count(report: SuiteReport) -> int:
    """Avatars created where a correct server refuses: every create without --allow-create, else
    the 2xx answers to refusal probes that --unexpected-creates let the run judge past."""
    if report.target.embedded:
        return 0
    if not report.target.allow_create:
        return report.creates
    return int(report.run.get("unplanned", 0)) if report.target.unexpected_creates else 0


def unexpected_creates(report: SuiteReport) -> str:
    """A warning when avatars were created where a correct server refuses, else ""."""
    t = report.target
    if t.embedded or report.creates == 0 or unexpected_count(report) == 0:
        return ""
    if t.allow_create:
        listed = [str(x) for x in report.run.get("unexpected") or []]
        return (f"WARNING: {unexpected_count(report)} UNEXPECTED create(s), each a 2xx where a correct server "
                f"refuses; judging went on (--unexpected-creates {t.unexpected_creates}) within "
                f"--max-creates {t.max_creates}: {'; '.join(listed[:5])}" + (" …" if len(listed) > 5 else ""))
    clauses = ", ".join(f"{r.name} ({r.creates})" for r in report.results if r.creates)
    return (f"WARNING: {report.creates} avatar(s) were CREATED without --allow-create (possibly billable): "
            f"the target answered 2xx where a correct server refuses, in {clauses}")


def _unread(report: SuiteReport) -> str:
    """Creates counted at their 2xx status line whose body never arrived (stalled, reset, timed out)."""
    unread = int(report.run.get("unread", 0))
    return f", {unread} of them 2xx, body not received" if unread else ""


def target_line(report: SuiteReport) -> str:
    if report.subject:
        return report.subject
    t = report.target
    creates = "unlimited (in-process)" if t.embedded else (
        f"cap {t.max_creates}" if t.allow_create else "not allowed (no --allow-create)")
    unplanned = int(report.run.get("unplanned", 0))
    extra = (f", {unplanned} unplanned" if unplanned else "") + _unread(report)
    needed = _coverage(report) if not t.embedded else ""
    return (f"target: {t.description} · profile {t.profile} · seed {t.seed} · "
            f"creates: {report.creates} made, {creates}{_held(report)}{extra}{needed}")


def _coverage(report: SuiteReport) -> str:
    """Whether the cap let the whole plan run: a reader of "16 made" should not have to compare."""
    needed, cap = report.run.get("needed"), report.target.max_creates
    if not isinstance(needed, int) or not needed:
        return ""
    if report.target.allow_create and cap is not None and cap >= needed:
        return f"; the cap covers the full plan ({needed} needed)"
    return f"; full coverage needs {needed}"


def _held(report: SuiteReport) -> str:
    """Why a capped run made fewer creates than its cap: the plan holds a slot for every answer
    that could be 2xx (each request of the race, each replay), and one for refusal probes."""
    t, planned = report.target, report.run.get("planned")
    if t.embedded or not t.allow_create or not isinstance(planned, int) or not t.max_creates:
        return ""
    if report.creates >= t.max_creates:
        return ""
    return f" ({planned} held by the plan for answers that could be 2xx, 1 for refusal probes)"


def counts_legend(report: SuiteReport) -> str:
    """What the per-clause requests/creates columns count: without it every clause reads
    "creates 0" beside a total of 14, the pool's creates being shared, not any one clause's."""
    if report.subject:  # grade-client, check-traffic: their own legend, or grade-client's
        return str(report.run.get("legend") or
                   "requests: the client's creates each check judged; creates: avatars they made (totals only)")
    pool = report.pool_counts()
    if pool == (0, 0):
        return "requests/creates: each clause's own (no create pool in this run)"
    if pool is not None:
        return (f"requests/creates: each clause's own; the create pool's {pool[0]} request(s) and "
                f"{pool[1]} create(s) are shared by the clauses that judge them (counted in the totals)")
    if "requests" in report.run or "made" in report.run:
        return ("requests/creates: each clause's own; the create pool's, shared by the clauses that "
                "judge them, are counted in the totals only")
    return "requests/creates: each clause's own"  # no run ledger: the totals are their sums


def column_values(report: SuiteReport, result: ClauseResult) -> list[str]:
    """The clause's counts for the report's ``columns``."""
    return [str(getattr(result, name)) for name in report.columns]


def render_table(report: SuiteReport) -> str:
    rows = [("clause", "verdict", *report.columns, "detail")]
    for r in report.results:
        detail = r.reason or (r.notes[0] if r.notes else "")
        rows.append((r.name, r.verdict.value, *column_values(report, r), detail))
    counted = range(2, 2 + len(report.columns))
    widths = [max(len(row[i]) for row in rows) for i in range(2 + len(report.columns))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                 *(row[i].rjust(widths[i]) for i in counted), clip(row[-1], DETAIL_WIDTH)]
        lines.append("  ".join(cells).rstrip())
    lines.append(counts_legend(report))
    lines.append("")
    lines.append(summary_line(report))
    lines += report.run_lines()
    warning = unexpected_creates(report)
    if warning:
        lines.append(warning)
    return report.scrub("\n".join(lines))


def summary_line(report: SuiteReport) -> str:
    """``13 pass · 1 fail · 1 incomplete of 15 · 933 requests · 17 creates · 12.3s`` (plus why it stopped early)."""
    summary = report.score() if report.results else "no clauses"
    line = f"{summary} · {report.requests} requests · {report.creates} creates · {report.seconds:.1f}s"
    return f"{line} · stopped early: {report.stopped}" if report.stopped else line


def creates_line(report: SuiteReport) -> str:
    t = report.target
    if t.embedded:
        return f"{report.creates} made (in-process emulator: no cap){_unread(report)}"
    if not t.allow_create:
        return f"{report.creates} made; not allowed (no --allow-create){_unread(report)}"
    unplanned = int(report.run.get("unplanned", 0))
    extra = (f", {unplanned} unplanned" if unplanned else "") + _unread(report)
    needed = _coverage(report)
    return f"{report.creates} made of a cap of {t.max_creates} (--max-creates){_held(report)}{extra}{needed}"


def times(count: int) -> str:
    return f" (×{count})" if count > 1 else ""


def render_failures(report: SuiteReport, per_clause: int | None = None) -> str:
    """Each failure with its curl line; ``per_clause`` caps them (the files have all).

    With a report directory (``repro_dir``), a very long curl line is shortened:
    the full one is in report.md and the failure's script.
    """
    out = []
    for r in report.results:
        shown = r.failures if per_clause is None else r.failures[:per_clause]
        scripts = script_names(r)
        for failure in shown:
            out.append(f"FAIL {r.name}: {failure.message}{times(failure.count)}")
            if failure.excerpt is not None:
                out.append(f"  {failure.excerpt.line()}")
            if failure.exchange is not None and not failure.sequence:
                curl = _shown_curl(report, report.curl(failure.exchange), scripts.get(id(failure)))
                out.append(f"  reproduce: {curl}")
            if report.repro_dir is not None and id(failure) in scripts:
                out.append(f"  script: {report.repro_dir / scripts[id(failure)]} ({describe(failure)})")
            elif failure.sequence:
                out += _sequence_lines(report, failure)
        if len(r.failures) > len(shown):
            out.append(f"  … {len(r.failures) - len(shown)} more {r.name} failure(s) in report.md")
    return report.scrub("\n".join(out))


def _shown_curl(report: SuiteReport, curl: str, script: str | None) -> str:
    """The curl line for stdout: in full unless it is long and the report files hold it."""
    if report.repro_dir is None or len(curl) <= STDOUT_CURL:
        return curl  # pytest: no report files, so this line is the only copy
    where = "report.md" + (f" / {report.repro_dir / script}" if script else "")
    return f"{clip(curl, STDOUT_CURL)} (shortened; full command in {where})"


def _sequence_lines(report: SuiteReport, failure: ClauseFailure) -> list[str]:
    """Without a report directory (pytest): every step's curl, in order (verify writes a script).

    The lines run as pasted into bash: the Idempotency-Keys are variables assigned
    first (fresh tails, and one variable wherever the run reused a key, else a
    replay or a tenant-scope failure no longer reproduces), concurrent requests
    go with ``&`` and ``wait``.
    """
    keys = KeyVariables(inline=True)
    sends: list[str] = []
    for step in failure.sequence:
        lines = [report.curl(e, keys) for e in step.exchanges]
        if step.repeat > 1:
            sends += [f"# up to {step.repeat}× (at most {BATCH} at a time), until the first {step.until or 429}:",
                      lines[0]]
        elif step.concurrent:
            counted = Counter(lines)  # in first-seen order
            parts = [f"for _ in $(seq {n}); do {line} & done;" if n > 1 else f"{line} &"
                     for line, n in counted.items()]
            sends.append(f"{' '.join(parts)} wait  # {len(lines)} at once")
        else:
            sends += lines
    return [f"  reproduce, in order ({describe(failure)}):", *(f"    {line}" for line in [*keys.lines, *sends])]


def render_text(report: SuiteReport) -> str:
    parts = [target_line(report), *report.headline, "", render_table(report)]
    failures = render_failures(report, per_clause=3)
    if failures:
        parts += ["", failures]
    if report.mutation is not None:
        parts += ["", report.mutation.line()]
        for outcome in report.mutation.uncaught:
            parts.append(f"  not caught: {outcome.fault} ({outcome.clause}): {outcome.detail}")
    return report.scrub("\n".join(parts))


def to_json(report: SuiteReport) -> dict[str, Any]:
    t = report.target
    data = {
        "target": {"graded": report.subject} if report.subject else {
            "base_url": t.base_url, "embedded": t.embedded, "profile": t.profile, "seed": t.seed,
            "allow_create": t.allow_create, "max_creates": t.max_creates, "burst": t.burst,
            "faults": sorted(t.faults),
            "assets": t.assets.describe() if t.assets else None,  # --asset: which real inputs were given
        },
        "conforms": report.outcome == "conforms",
        "outcome": report.outcome,
        "summary": dict(report.counts()),
        "score": report.score(),
        "ledger": dict(report.run),  # creates made against the cap, breaker, target stopped, throttled
        "requests": report.requests,
        "creates": report.creates,
        "unexpected_creates": unexpected_count(report),
        "warnings": [w for w in (unexpected_creates(report),) if w],
        "seconds": round(report.seconds, 2),
        "stopped": report.stopped or None,
        "run": report.info.to_dict() if report.info else None,
        "statuses": {name: {str(k): v for k, v in sorted(c.items())} for name, c in report.statuses.items()},
        "clauses": [_with_scripts(r, r.to_dict(report.curl)) for r in report.results],
        "mutation": report.mutation.to_dict() if report.mutation else None,
        **({"headline": list(report.headline)} if report.headline else {}),
    }
    return json.loads(report.scrub(json.dumps(data)))  # type: ignore[no-any-return]


def _with_scripts(result: ClauseResult, data: dict[str, Any]) -> dict[str, Any]:
    """Each failure's reproducer, relative to the report directory (null without evidence)."""
    scripts = script_names(result)
    for failure, shown in zip(result.failures, data["failures"], strict=True):
        name = scripts.get(id(failure))
        shown["script"] = f"{SCRIPT_DIR}/{name}" if name else None
    return data


def write(report: SuiteReport, directory: Path) -> list[Path]:
    """Every report file into ``directory`` (verify uses a fresh one per run: report_files).

    Returns the report files; each failure's reproducer is written to ``directory/repro/``.
    """
    from .html import to_html
    from .junit import to_junit
    from .markdown import to_markdown

    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n",
        "report.md": to_markdown(report),
        "junit.xml": to_junit(report) + "\n",
        "report.html": to_html(report),
    }
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    scripts = directory / SCRIPT_DIR
    for old in scripts.glob("*.sh") if scripts.is_dir() else ():
        if old.name.rsplit("-", 1)[0] in CLAUSE_NAMES:  # only our own, from an earlier run
            old.unlink()
    keep_bodies([f.exchange for r in report.results for f in r.failures], directory, report.scrub_content)
    # The reproducers go beside them, in repro/ (not listed: one per failure, possibly many).
    write_scripts(report.results, scripts, report.target.display_url, report.scrub, report.target.headers)
    return written


def from_results(target: Target, results: Iterable[ClauseResult], secrets: Sequence[str] = (),
                 seconds: float = 0.0, mutation: MutationScore | None = None,
                 run: dict[str, Any] | None = None) -> SuiteReport:
    return SuiteReport(target, unpointed(list(results)), seconds, mutation, tuple(s for s in secrets if s),
                       run=run or {})

