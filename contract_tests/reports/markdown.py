"""report.md: the clause report as Markdown, for a pull request or a wiki page.

A writer of its own over the same :class:`~.report.SuiteReport` as the others
(a new format is a new writer, not a new runner).  Text a server sent is
escaped, since Markdown renders raw HTML, and code fences grow past any
backticks in what they quote.
"""

from __future__ import annotations

from .report import SuiteReport, column_values, counts_legend, summary_line, target_line, times, unexpected_creates
from .repro import SCRIPT_DIR, describe, script_names


def _md_text(text: str) -> str:
    """Text for Markdown: HTML a server sent stays text (Markdown renders raw HTML)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _md_header(report: SuiteReport) -> list[str]:
    lines = [f"**{report.outcome.upper()}** · {_md_text(summary_line(report))}", ""]
    info = report.info
    if info is not None:
        lines += [f"avatar-contract {info.tool_version} · spec {_md_text(info.spec_version)} "
                  f"(sha256 `{info.spec_sha256[:16]}…`) · started {info.started_at} · "
                  f"took {report.seconds:.1f}s", ""]
    return lines


def to_markdown(report: SuiteReport) -> str:
    lines = [f"# {report.title}", "", *_md_header(report), _md_text(target_line(report)), "",
             *[f"{_md_text(line)}  " for line in report.headline], *([""] if report.headline else []),
             *([f"**{unexpected_creates(report)}**", ""] if unexpected_creates(report) else []),
             f"| clause | verdict | {' | '.join(report.columns)} | detail |",
             f"|---|---|{'---:|' * len(report.columns)}---|"]
    for r in report.results:
        detail = r.reason or "; ".join(r.notes)
        lines.append(f"| `{r.name}` | {r.verdict.value} | {' | '.join(column_values(report, r))} | "
                     f"{_md_cell(detail)} |")
    lines += ["", _md_text(counts_legend(report))]
    failing = [r for r in report.results if r.failures]
    if failing:
        lines += ["", "## Failures"]
        for r in failing:
            lines += ["", f"### `{r.name}`"]
            scripts = script_names(r)
            for failure in r.failures:
                lines += ["", f"- {_md_cell(failure.message)}{times(failure.count)}"]
                if failure.excerpt is not None:
                    shown = failure.excerpt.line()
                    fence = "`" * max(3, _longest_backticks(shown) + 1)
                    lines += ["", f"  {fence}", f"  {shown}", f"  {fence}"]
                if failure.others:
                    more = failure.count - 1 - len(failure.others)
                    lines += ["", "  Also of this kind:", *[f"  - {_md_cell(m)}" for m in failure.others]]
                    lines += [f"  - … and {more} more"] if more > 0 else []
                if id(failure) in scripts:
                    lines += ["", f"  Reproducer: [`{SCRIPT_DIR}/{scripts[id(failure)]}`]"
                                  f"({SCRIPT_DIR}/{scripts[id(failure)]}) ({describe(failure)})"]
                if failure.exchange is not None and not failure.sequence:
                    curl = report.curl(failure.exchange)
                    fence = "`" * max(3, _longest_backticks(curl) + 1)
                    lines += ["", f"  {fence}sh", f"  {curl}", f"  {fence}"]
    if report.mutation is not None:
        lines += ["", "## Mutation score", "", report.mutation.line(), "",
                  "| fault | clause | caught |", "|---|---|---|"]
        for o in report.mutation.outcomes:
            lines.append(f"| `{o.fault}` | `{o.clause}` | {'yes' if o.caught else 'NO'} |")
    return report.scrub("\n".join(lines) + "\n")


def _longest_backticks(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest
