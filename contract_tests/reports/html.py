"""report.html: the clause report as one self-contained page a person reads.

No external assets (styles inline, no scripts, no links the target chose), so
it opens anywhere, offline, and can be attached to a ticket.  Everything is
escaped, and what the target sent is scrubbed of every form of a key (the
suite's own requests only of long forms: a body it sent may hold any short
string): a server's ``<script>`` is shown as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import Any

from ..clauses.finding import ClauseFailure, ClauseResult, Verdict
from ..targets.exchange import ABSENT, Exchange, parse_json
from ..targets.target import header_variable, secret_header
from .report import SuiteReport, column_values, counts_legend, creates_line, summary_line, unexpected_creates
from .repro import SCRIPT_DIR, script_names

# Background per verdict: green pass, red fail, amber for "we could not tell".
_VERDICT_STYLE = {
    Verdict.PASS: "#d9f2dd", Verdict.FAIL: "#f8d0d0", Verdict.INCOMPLETE: "#fbe7b5",
    Verdict.ERROR: "#f3c6ee", Verdict.NOT_OBSERVED: "#fbe7b5", Verdict.SKIPPED: "#e6e6e6",
}
_OUTCOME_STYLE = {"conforms": "#1e7b34", "fails": "#b3261e", "incomplete": "#9a6700"}
# What a failure may carry besides its exchange (reproducer scripts, when the
# suite attaches them); rendered as given, after the curl line.
_REPRODUCER_ATTRIBUTES = ("reproducer", "repro", "script")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
h3{font-size:15px;margin:20px 0 6px}
.outcome{display:inline-block;color:#fff;font-weight:600;border-radius:4px;padding:2px 10px;margin-right:8px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}
dl.meta dt{color:#59636e}dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.detail{overflow-wrap:anywhere;max-width:420px}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:8px;white-space:pre-wrap;
overflow-wrap:anywhere;max-height:480px;overflow:auto;margin:4px 0}
.warning{background:#fff1c2;border:1px solid #d4a72c;padding:8px;border-radius:4px;font-weight:600}
.failure{border-left:4px solid #b3261e;padding:2px 0 2px 12px;margin:12px 0}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.muted{color:#59636e}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _meta(report: SuiteReport) -> str:
    t, info = report.target, report.info
    rows: list[tuple[str, str]] = [("target", t.description if t.embedded else str(t.base_url))]
    if info is not None:
        rows += [("spec", f"{info.spec_version} · sha256 {info.spec_sha256}"),
                 ("spec file", info.spec_source),
                 ("tool", f"avatar-contract {info.tool_version}"),
                 ("started", info.started_at)]
    rows += [("duration", f"{report.seconds:.1f} s")]
    if report.subject:  # another front end (grade-client): no seed, profile or create cap of verify's
        rows[0] = ("graded", report.subject)
    else:
        rows += [("seed", f"{t.seed} (rerun with --seed {t.seed})"), ("profile", t.profile),
                 ("creates", creates_line(report))]
    rows.append(("requests", str(report.requests)))
    if report.stopped:
        rows.append(("stopped early", report.stopped))
    return '<dl class="meta">' + "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(report.scrub(v))}</dd>" for k, v in rows) + "</dl>"


def _statuses(counts: Mapping[int, int] | None) -> str:
    """The cell's HTML (escaped here, not by the caller: the dash is our own markup)."""
    if not counts:
        return '<span class="muted">—</span>'
    return _e(", ".join(f"{'no answer' if s == 0 else s}×{n}" for s, n in sorted(counts.items())))


def _clause_table(report: SuiteReport) -> str:
    rows = []
    for r in report.results:
        detail = r.reason or "; ".join(r.notes)
        anchor = f' <a href="#fail-{_e(r.name)}">details</a>' if r.failures else ""
        rows.append(
            f'<tr style="background:{_VERDICT_STYLE[r.verdict]}"><td><code>{_e(r.name)}</code></td>'
            f"<td><strong>{_e(r.verdict.value)}</strong>{anchor}</td>"
            + "".join(f'<td class="num">{value}</td>' for value in column_values(report, r)) +
            f'<td class="num">{r.seconds:.1f}</td><td>{_statuses(report.statuses.get(r.name))}</td>'
            f'<td class="detail">{_e(report.scrub(detail))}</td></tr>')
    head = ("<tr><th>clause</th><th>verdict</th>" + "".join(f"<th>{_e(c)}</th>" for c in report.columns)
            + "<th>seconds</th><th>statuses seen</th><th>detail</th></tr>")
    legend = f'<p class="muted">{_e(report.scrub(counts_legend(report)))}</p>'
    return f"<table>{head}{''.join(rows)}</table>{legend}"


def _body(scrub: Callable[[str], str], content: bytes | None, truncated: bool = False) -> str:
    """A body for reading: JSON pretty-printed, anything else as (scrubbed) text."""
    if content is None:
        return '<span class="muted">(no body)</span>'
    if not content:
        return '<span class="muted">(empty body)</span>'
    value = parse_json(content)
    if value is not ABSENT:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    else:
        text = content.decode("utf-8", "replace")
    note = '<div class="muted">body truncated (only the first part was kept)</div>' if truncated else ""
    return f"<pre>{_e(scrub(text))}</pre>{note}"


def _headers(scrub: Callable[[str], str], pairs: Iterable[tuple[str, str]]) -> str:
    lines = "\n".join(f"{name}: {value}" for name, value in pairs)
    return f"<pre>{_e(scrub(lines))}</pre>" if lines else ""


def _exchange(report: SuiteReport, exchange: Exchange) -> str:
    request = exchange.request
    sent = [(name, value.decode("utf-8", "replace")) for name, value in request.headers]
    if request.credential is not None:
        sent.insert(0, (request.credential.header, request.credential.shell))  # never the key itself
    sent = [*((name, header_variable(name) if secret_header(name) else value)
              for name, value in report.target.headers), *sent]
    status = "no answer" if exchange.status == 0 else str(exchange.status)
    return (
        '<div class="pair"><div><h4>request</h4>'
        f"<pre>{_e(request.method)} {_e(request.path)}</pre>{_headers(report.scrub, sent)}"
        f"{_body(report.scrub, request.content)}</div>"
        f"<div><h4>response: {_e(status)} <span class=\"muted\">({exchange.elapsed:.2f}s)</span></h4>"
        f"{_headers(report.scrub_content, exchange.headers.items())}"
        f"{_body(report.scrub_content, exchange.content, exchange.truncated)}</div></div>")


def _reproducers(failure: ClauseFailure) -> list[str]:
    found = []
    for name in _REPRODUCER_ATTRIBUTES:
        value: Any = getattr(failure, name, None)
        if isinstance(value, str) and value.strip():
            found.append(value)
    return found


def _highlighted(report: SuiteReport, failure: ClauseFailure) -> str:
    """The excerpt around the failing pointer, its value marked."""
    shown = failure.excerpt
    if shown is None:
        return ""
    where = shown.pointer or "(root)"
    also = "" if shown.found == shown.pointer else f" (absent; shown in {_e(shown.found or '(root)')})"
    text = shown.text
    marked = (f"{_e(report.scrub(text[:shown.start]))}<mark>{_e(report.scrub(text[shown.start:shown.end]))}</mark>"
              f"{_e(report.scrub(text[shown.end:]))}")
    return f"<h4>at <code>{_e(where)}</code>{also}</h4><pre class=\"excerpt\">{marked}</pre>"


def _failure(report: SuiteReport, failure: ClauseFailure, script: str | None = None) -> str:
    times = f" <span class=\"muted\">(×{failure.count})</span>" if failure.count > 1 else ""
    parts = [f'<div class="failure"><p>{_e(report.scrub(failure.message))}{times}</p>']
    parts.append(_highlighted(report, failure))
    if script is not None:
        parts.append(f'<p>reproducer: <a href="{_e(script)}"><code>{_e(script)}</code></a></p>')
    if failure.others:  # what the count folds: the reader can find each case
        items = "".join(f"<li>{_e(report.scrub(m))}</li>" for m in failure.others)
        parts.append(f"<h4>also of this kind</h4><ul>{items}</ul>")
    if failure.exchange is not None:
        parts.append(f"<h4>reproduce</h4><pre>{_e(report.curl(failure.exchange))}</pre>")
    for script in _reproducers(failure):
        parts.append(f"<pre>{_e(report.scrub(script))}</pre>")
    if failure.exchange is not None:
        parts.append(_exchange(report, failure.exchange))
    parts.append("</div>")
    return "".join(parts)


def _failures(report: SuiteReport) -> str:
    failing: list[ClauseResult] = [r for r in report.results if r.failures]
    if not failing:
        return ""
    out = ["<h2>Failures</h2>"]
    for r in failing:
        out.append(f'<h3 id="fail-{_e(r.name)}"><code>{_e(r.name)}</code> — {len(r.failures)} finding(s)</h3>')
        scripts = script_names(r)
        out.extend(_failure(report, f, f"{SCRIPT_DIR}/{scripts[id(f)]}" if id(f) in scripts else None)
                   for f in r.failures)
    return "".join(out)


def _notes(report: SuiteReport) -> str:
    noted = [r for r in report.results if r.notes]
    if not noted:
        return ""
    items = "".join(f"<li><code>{_e(r.name)}</code>: {_e(report.scrub('; '.join(r.notes)))}</li>" for r in noted)
    return f"<h2>Notes</h2><ul>{items}</ul>"


def _mutation(report: SuiteReport) -> str:
    score = report.mutation
    if score is None:
        return ""
    rows = "".join(
        f'<tr style="background:{_VERDICT_STYLE[Verdict.PASS if o.caught else Verdict.FAIL]}">'
        f"<td><code>{_e(o.fault)}</code></td><td><code>{_e(o.clause)}</code></td>"
        f"<td>{'yes' if o.caught else 'NO'}</td></tr>" for o in score.outcomes)
    return (f"<h2>Mutation score</h2><p>{_e(score.line())}</p>"
            f"<table><tr><th>emulator fault</th><th>clause</th><th>caught</th></tr>{rows}</table>")


def to_html(report: SuiteReport) -> str:
    outcome = report.outcome
    warning = unexpected_creates(report)
    title = f"{report.title}: {outcome}"
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(report.title)}</h1>",
        f'<p><span class="outcome" style="background:{_OUTCOME_STYLE[outcome]}">{_e(outcome.upper())}</span>',
        f"{_e(report.scrub(summary_line(report)))}</p>",
        f'<p class="warning">{_e(report.scrub(warning))}</p>' if warning else "",
        "".join(f"<p>{_e(report.scrub(line))}</p>" for line in report.headline),
        _meta(report),
        "<h2>Clauses</h2>", _clause_table(report),
        _failures(report), _notes(report), _mutation(report),
        "</main></body></html>\n",
    ])
