"""Writers for the coverage report (text, json, markdown): one report, one writer per format.

:func:`write_coverage` is what ``avatar-contract spec coverage`` calls (through
the ``avatar_contract.coverage`` entry point): exit 0 when nothing is unprobed,
1 when something is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

from .mapping import PROBED, UNPROBED, WAIVED, CoverageReport, ElementCoverage, coverage_report

SHOWN = 3  # covering names listed per element in text and markdown (json has them all)


def _names(entry: ElementCoverage) -> str:
    names = list(entry.covered_by)
    more = f" (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return "; ".join(names[:SHOWN]) + more


def _detail(entry: ElementCoverage) -> str:
    if entry.state == PROBED:
        waived = f" [waived in part: {entry.waiver}]" if entry.waiver else ""
        return f"{_names(entry)}{waived}"
    if entry.state == WAIVED:
        return f"waived: {entry.waiver}"
    return "nothing checks it: add a probe, or a waiver with its reason (contract_tests/spec_coverage/sentences.py)"


def _totals(report: CoverageReport) -> tuple[int, int, int]:
    return len(report.of_state(PROBED)), len(report.of_state(WAIVED)), len(report.of_state(UNPROBED))


def text(report: CoverageReport, out: TextIO) -> None:
    out.write(f"spec coverage {report.spec} (version {report.version})\n")
    for entry in report.entries:
        element = entry.element
        out.write(f"{entry.state:8}  {element.kind}  {element.text}\n          {element.pointer}\n"
                  f"          {_detail(entry)}\n")
    out.write("\nsummary per kind (elements: probed / waived / unprobed):\n")
    for kind, row in report.summary().items():
        out.write(f"  {kind:30} {row['elements']:4}: {row[PROBED]:4} / {row[WAIVED]:3} / {row[UNPROBED]:3}\n")
    probed, waived, unprobed = _totals(report)
    out.write(f"{len(report.entries)} elements: {probed} probed, {waived} waived, {unprobed} unprobed\n")
    if unprobed:
        out.write("unprobed:\n")
        for entry in report.of_state(UNPROBED):
            out.write(f"  {entry.element.pointer}  ({entry.element.kind}: {entry.element.text})\n")


def as_json(report: CoverageReport, out: TextIO) -> None:
    probed, waived, unprobed = _totals(report)
    data: dict[str, Any] = {
        "spec": report.spec,
        "version": report.version,
        "sources": list(report.sources),
        "complete": report.complete,
        "totals": {"elements": len(report.entries), PROBED: probed, WAIVED: waived, UNPROBED: unprobed},
        "summary": report.summary(),
        "elements": [
            {"id": e.element.id, "kind": e.element.kind, "text": e.element.text, "uses": list(e.element.uses),
             "state": e.state, "covered_by": list(e.covered_by), "waiver": e.waiver}
            for e in report.entries
        ],
    }
    json.dump(data, out, indent=2, ensure_ascii=False)
    out.write("\n")


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(report: CoverageReport, out: TextIO) -> None:
    probed, waived, unprobed = _totals(report)
    out.write(f"# Spec coverage\n\n`{report.spec}` (version {report.version}): {len(report.entries)} elements, "
              f"{probed} probed, {waived} waived, {unprobed} unprobed.\n\n")
    out.write("| kind | elements | probed | waived | unprobed |\n|---|---:|---:|---:|---:|\n")
    for kind, row in report.summary().items():
        out.write(f"| `{kind}` | {row['elements']} | {row[PROBED]} | {row[WAIVED]} | {row[UNPROBED]} |\n")
    out.write("\n| state | kind | element | text | covered by / waiver |\n|---|---|---|---|---|\n")
    for entry in report.entries:
        e = entry.element
        out.write(f"| {entry.state} | `{e.kind}` | `{_cell(e.pointer)}` | {_cell(e.text)} | "
                  f"{_cell(_detail(entry))} |\n")


WRITERS: dict[str, Callable[[CoverageReport, TextIO], None]] = {"text": text, "json": as_json, "markdown": markdown}


def write_coverage(spec: str | None, fmt: str, out: TextIO) -> int:
    """Write the coverage of ``spec`` (None: the suite's) in ``fmt``; 0 if nothing is unprobed, else 1."""
    report = coverage_report(spec)
    WRITERS[fmt](report, out)
    return 0 if report.complete else 1
