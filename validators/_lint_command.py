"""``avatar-contract lint``: payload files (or the spec itself) in, findings out."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from avatar_contract.spec import load_spec

from ._advice_audit import render_audit, rule_activity
from ._cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, _version
from ._contract import contract_for
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
    parser.add_argument("--strict", action="store_true", help="strict response profile")
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
        shown = spec or "spec/create-avatar.openapi.yaml"
        positions = {}
        if report.findings:
            source = Path(spec) if spec else Path(load_spec(None).source)
            text = _read(str(source)).decode("utf-8", errors="replace")
            positions = locate_yaml(text, (f.path for f in report.findings))
        audited.append(Result(shown, report, 1, shown, positions))
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
                unreadable = True
                print(f"avatar-contract lint: {source}: {bad[0].message}", file=sys.stderr)
            # Positions cost a second pass over the text: only for documents with findings.
            positions = locate(body, (f.path for f in report.findings)) if report.findings else {}
            for finding in bad:  # not JSON: point at where the reader gave up, not at 1:1
                at = _READER_POSITION.search(finding.message)
                if at:
                    positions[finding.path] = Position(int(at[1]), int(at[2]))
            results.append(Result(source, report, line, file, positions))
        if not seen:
            raise UsageError(f"avatar-contract lint: nothing to check, the input is empty; "
                             f"give at least one JSON payload{' line' if args.ndjson else ''}: {file}")
    # Only SARIF names the tool version; looking it up costs start-up time.
    render(results, args.format, sys.stdout, _version() if args.format == "sarif" else "")
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(r.report.valid for r in results) else EXIT_FINDINGS
