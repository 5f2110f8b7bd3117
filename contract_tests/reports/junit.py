"""junit.xml: one testcase per clause, for CI systems that read JUnit XML.

A writer of its own over the same :class:`~.report.SuiteReport` as the others.
Incomplete and error are JUnit errors (never a pass, and not the target's
failure); skipped and not observed are skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..clauses.finding import Verdict
from .report import SuiteReport, render_failures, unexpected_creates


def to_junit(report: SuiteReport) -> str:
    counts = report.counts()
    suite = ET.Element("testsuite", {
        "name": "avatar-contract", "tests": str(len(report.results)),
        "failures": str(counts[Verdict.FAIL.value]),
        "skipped": str(counts[Verdict.SKIPPED.value] + counts[Verdict.NOT_OBSERVED.value]),
        # Incomplete and error are JUnit errors: never a pass, and not a failure of the target.
        "errors": str(counts[Verdict.INCOMPLETE.value] + counts[Verdict.ERROR.value]),
        "time": f"{report.seconds:.3f}",
    })
    for r in report.results:
        case = ET.SubElement(suite, "testcase", {
            "classname": "avatar_contract", "name": r.name, "time": f"{r.seconds:.3f}"})
        if r.verdict is Verdict.FAIL:
            failure = ET.SubElement(case, "failure", {"message": report.scrub(r.reason)})
            failure.text = render_failures(SuiteReport(report.target, [r], secrets=report.secrets))
        elif r.verdict in (Verdict.INCOMPLETE, Verdict.ERROR):
            # Never a pass: CI must see that this clause was not judged in full.
            ET.SubElement(case, "error", {"message": report.scrub(f"{r.verdict.value}: {r.reason}")})
        elif r.verdict in (Verdict.SKIPPED, Verdict.NOT_OBSERVED):
            ET.SubElement(case, "skipped", {"message": report.scrub(f"{r.verdict.value}: {r.reason}")})
        if r.notes:
            out = ET.SubElement(case, "system-out")
            out.text = report.scrub("\n".join(r.notes))
    warning = unexpected_creates(report)
    if warning:
        ET.SubElement(suite, "system-err").text = report.scrub(warning)
    text: str = ET.tostring(suite, encoding="unicode", xml_declaration=True)
    return text
