"""``avatar-contract lint``: payload files (or the spec itself) in, findings out."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import msgspec

from avatar_contract.spec import load_spec

from ._advice_audit import render_audit, rule_activity
from ._cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, _version
from ._contract import contract_for
from ._finding import Finding, Report
from ._linter import Linter
from ._output import Result, render
from ._positions import Position, locate, locate_yaml
from ._spec_audit import audit_spec

HELP = "lint create-avatar request or response payloads (or audit the spec)"
UNREADABLE = frozenset({"json.invalid", "json.encoding"})
_MAX_INPUT = 256 * 1024 * 1024
# The JSON reader's findings say where it stopped ("... at line 3, column 7: ...").
_READER_POSITION = re.compile(r"\bat line (\d+), column (\d+)\b")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="JSON files; '-' reads stdin")
    parser.add_argument("--kind", choices=("request", "response"), default="request")
    parser.add_argument("--status", type=int, help="HTTP status of a response payload (--kind response)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--spec", metavar="PATH", help="use this spec instead of the vendored one")
    parser.add_argument("--ndjson", action="store_true", help="each input line is one payload")
    parser.add_argument("--strict", action="store_true",
                        help="strict response profile, and warnings fail the run (implies --fail-on warning)")
    parser.add_argument("--fail-on", choices=("error", "warning"), default=None,
                        help="the least severe finding that makes the exit status 1 (default: error)")
    parser.add_argument("--spec-audit", action="store_true",
                        help="report the spec's own defects: each FILE is a spec (default: the vendored one)")


def _read(name: str) -> bytes:
    try:
        if name == "-":
            data = sys.stdin.buffer.read(_MAX_INPUT + 1)
        else:
            path = Path(name)
            if path.is_dir():
                raise UsageError(f"avatar-contract lint: {name}: is a directory")
            with path.open("rb") as handle:
                data = handle.read(_MAX_INPUT + 1)
    except OSError as exc:
        raise UsageError(f"avatar-contract lint: cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > _MAX_INPUT:
        raise UsageError(f"avatar-contract lint: {name}: larger than {_MAX_INPUT} bytes")
    return data


def _documents(name: str, ndjson: bool) -> Iterator[tuple[str, int, bytes]]:
    # Undecodable bytes in a file name (surrogates from the OS) are shown as \xNN,
    # so every output format stays valid UTF-8.
    source = "<stdin>" if name == "-" else os.fsencode(name).decode("utf-8", "backslashreplace")
    data = _read(name)
    if not ndjson:
        if data.strip():  # an empty input checks nothing: the caller makes that a usage error
            yield source, 1, data
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield f"{source}:{number}", number, line


def _audit(args: argparse.Namespace) -> int:
    if args.spec and args.files:
        raise UsageError("avatar-contract lint: --spec-audit takes the spec to audit either as FILE or as "
                         f"--spec, not both; drop --spec {args.spec}")
    if "-" in args.files:
        raise UsageError("avatar-contract lint: --spec-audit reads a spec from a file, not stdin; "
                         "give its path instead of '-'")
    audited = []
    for spec in args.files or [args.spec]:
        report = audit_spec(spec)
        source = Path(spec) if spec else Path(load_spec(None).source)
        shown = spec or f"spec/{source.name}"
        positions = {}
        if report.findings:
            text = _read(str(source)).decode("utf-8", errors="replace")
            positions = locate_yaml(text, (f.path for f in report.findings))
        # The vendored spec lives in the installed package, not in the user's checkout.
        base = None if spec else ("AVATAR_CONTRACT_SPEC", source.parent.as_uri() + "/")
        audited.append(Result(shown, report, 1, shown, positions, base))
    # The advice rule listing describes the first audited spec (usually the only one).
    activity = rule_activity(contract_for((args.files or [args.spec])[0]))
    render_audit(audited, activity, args.format, sys.stdout, _version() if args.format == "sarif" else "")
    return EXIT_OK if all(r.report.valid for r in audited) else EXIT_FINDINGS


def run(args: argparse.Namespace) -> int:
    if args.spec_audit:
        return _audit(args)
    if not args.files:
        raise UsageError("avatar-contract lint: give at least one FILE, or '-' for stdin")
    if args.kind == "response" and args.status is None:
        raise UsageError("avatar-contract lint: --kind response needs --status N")
    if args.kind == "request" and args.status is not None:
        raise UsageError("avatar-contract lint: --status only applies with --kind response")
    linter = Linter(args.spec, strict=args.strict)
    results: list[Result] = []
    unreadable = False
    for name in args.files:
        # Shown like the source: undecodable bytes as \xNN, so JSON/SARIF stay valid UTF-8.
        file = "<stdin>" if name == "-" else os.fsencode(name).decode("utf-8", "backslashreplace")
        seen = 0
        for source, line, body in _documents(name, args.ndjson):
            seen += 1
            report = (
                linter.lint_request(body) if args.kind == "request" else linter.lint_response(args.status, body)
            )
            bad = [f for f in report.findings if f.rule in UNREADABLE]
            if bad:
                # A whole file that is not JSON is unusable input (exit 2); one bad line of
                # an NDJSON file is a finding about that line, like any other (exit 1).
                report = Report(_on_file_line(f, line) for f in report.findings)
                bad = [f for f in report.findings if f.rule in UNREADABLE]
                if not args.ndjson:
                    unreadable = True
                    print(f"avatar-contract lint: {source}: {bad[0].message}", file=sys.stderr)
            # Positions cost a second pass over the text: only for documents with findings.
            positions = locate(body, (f.path for f in report.findings)) if report.findings else {}
            for finding in bad:  # not JSON: point at where the reader gave up, not at 1:1
                at = _READER_POSITION.search(finding.message)
                if at:
                    positions[finding.path] = Position(int(at[1]) - line + 1, int(at[2]))
            results.append(_by_position(Result(source, report, line, file, positions)))
        if not seen:
            raise UsageError(f"avatar-contract lint: nothing to check, the input is empty; "
                             f"give at least one JSON payload{' line' if args.ndjson else ''}: {file}")
    # Only SARIF names the tool version; looking it up costs start-up time.
    render(results, args.format, sys.stdout, _version() if args.format == "sarif" else "")
    if unreadable:
        return EXIT_USAGE
    fail_on = args.fail_on or ("warning" if args.strict else "error")
    failing = {"error"} if fail_on == "error" else {"error", "warning"}
    found = any(f.severity in failing for r in results for f in r.report.findings)
    return EXIT_FINDINGS if found else EXIT_OK


def _on_file_line(finding: Finding, line: int) -> Finding:
    """The reader's "at line L" counted in the file, so the message agrees with the location."""
    at = _READER_POSITION.search(finding.message)
    if at is None or line == 1:
        return finding
    message = (f"{finding.message[:at.start()]}at line {int(at[1]) + line - 1}, column {at[2]}"
               f"{finding.message[at.end():]}")
    return msgspec.structs.replace(finding, message=message)


def _by_position(result: Result) -> Result:
    """Findings in the order of their values in the file, as an editor lists them (stable)."""
    ordered = sorted(result.report.findings, key=lambda f: (result.where(f).line, result.where(f).column))
    if ordered == list(result.report.findings):
        return result
    return replace(result, report=Report(ordered))
