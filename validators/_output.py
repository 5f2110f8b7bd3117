"""Render lint results as text for people, JSON for tools, SARIF for code scanning."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ._finding import Finding, Report
from ._positions import Position

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


@dataclass(frozen=True)
class Result:
    """The report for one input (a file, a stdin document, or one NDJSON line).

    ``file`` is what a location names (``source`` without an NDJSON line
    suffix), ``line`` the line the document starts on, and ``positions`` the
    position of each finding's value within the document (``_positions.locate``).
    ``base`` is a SARIF base id and the folder URI it stands for, when ``file`` is
    relative to a folder other than the working directory (the vendored spec's).
    """

    source: str
    report: Report
    line: int = 1
    file: str | None = None
    positions: Mapping[str, Position] = field(default_factory=dict)
    base: tuple[str, str] | None = None

    def where(self, finding: Finding) -> Position:
        """Line and column of the finding's value in ``file`` (the document's start if unknown)."""
        inner = self.positions.get(finding.path)
        if inner is None:
            return Position(self.line, 1)
        return Position(self.line + inner.line - 1, inner.column)

    @property
    def location(self) -> str:
        return self.file if self.file is not None else self.source


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def render_text(results: Sequence[Result], stream: TextIO) -> None:
    paint = _colour(stream)

    def c(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if paint else text

    for result in results:
        errors, warnings = len(result.report.errors), len(result.report.warnings)
        if not result.report.findings:
            stream.write(f"{result.source}: {c('32', 'ok')}\n")
            continue
        stream.write(f"{result.source}: {errors} error(s), {warnings} warning(s)\n")
        for f in result.report.findings:
            # file:line:column: first, as compilers print it, so editors and CI
            # problem matchers jump to the value.
            at = result.where(f)
            level = c("31", "error") if f.severity == "error" else c("33", "warning")
            stream.write(f"{result.location}:{at.line}:{at.column}: {level} {f.path or '(root)'}: "
                         f"{f.message} [{f.rule}]\n")
            if f.hint:
                stream.write(f"  hint: {f.hint}\n")


def to_json(results: Sequence[Result]) -> dict[str, Any]:
    return {
        "results": [
            {"source": r.source, "valid": r.report.valid,
             "findings": [f.to_dict() for f in r.report.findings]}
            for r in results
        ]
    }


def _artifact(result: Result) -> dict[str, Any]:
    """Where a result's file is, as SARIF wants it: a relative path against a base id.

    A relative path is relative to the checkout the linter ran in (``%SRCROOT%``, the
    base code-scanning services resolve); an absolute one becomes a ``file:`` URI; a
    file with a known base folder (the vendored spec) names it in ``originalUriBaseIds``.
    """
    if result.base is not None:
        return {"uri": Path(result.location).name, "uriBaseId": result.base[0]}
    path = Path(result.location)
    if result.location.startswith("<") or not result.location:
        return {"uri": result.location}
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": path.as_posix(), "uriBaseId": SRCROOT}


def to_sarif(results: Sequence[Result], version: str) -> dict[str, Any]:
    # A rule's shortDescription is a sentence a reader can act on: the first message seen for it.
    described: dict[str, str] = {}
    for r in results:
        for f in r.report.findings:
            described.setdefault(f.rule, f.message)
    rule_ids = sorted(described)
    index = {rule: n for n, rule in enumerate(rule_ids)}
    sarif_results = []
    bases: dict[str, dict[str, str]] = {}
    for r in results:
        artifact = _artifact(r)
        if r.base is not None:
            bases[r.base[0]] = {"uri": r.base[1]}
        for f in r.report.findings:
            message = f.message + (f" (hint: {f.hint})" if f.hint else "")
            sarif_results.append({
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": "error" if f.severity == "error" else "warning",
                "message": {"text": f"{f.path or '(root)'}: {message}"},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {"startLine": r.where(f).line, "startColumn": r.where(f).column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.path or "/", "kind": "member"}],
                }],
            })
    run: dict[str, Any] = {
        # No informationUri: the project publishes no home page that SARIF viewers could link.
        "tool": {"driver": {
            "name": "avatar-contract",
            "version": version,
            "rules": [{"id": rule, "shortDescription": {"text": described[rule]}} for rule in rule_ids],
        }},
        "columnKind": "unicodeCodePoints",
        "results": sarif_results,
    }
    if bases:
        run["originalUriBaseIds"] = bases
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(results: Sequence[Result], fmt: str, stream: TextIO, version: str) -> None:
    if fmt == "text":
        render_text(results, stream)
        return
    document = to_json(results) if fmt == "json" else to_sarif(results, version)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        # A lone surrogate (from a payload's escapes), or a stream that is not
        # UTF-8 (PYTHONIOENCODING=ascii): \uXXXX escapes keep the document valid
        # JSON in any ASCII-compatible encoding, where the stream's own error
        # handler would write escapes JSON does not have.
        text = json.dumps(document, indent=2, ensure_ascii=True)
    stream.write(text)
    stream.write("\n")
