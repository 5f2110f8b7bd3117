"""``avatar-contract lint``: payload files (or the spec itself) in, findings out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from ._advice_audit import render_audit, rule_activity
from ._cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, _version
from ._contract import contract_for
from ._linter import Linter
from ._output import Result, render
from ._spec_audit import audit_spec

HELP = "lint create-avatar request or response payloads (or audit the spec)"
UNREADABLE = frozenset({"json.invalid", "json.encoding"})
_MAX_INPUT = 256 * 1024 * 1024


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE", help="JSON files; '-' reads stdin")
    parser.add_argument("--kind", choices=("request", "response"), default="request")
    parser.add_argument("--status", type=int, help="HTTP status of a response payload (--kind response)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--spec", metavar="PATH", help="use this spec instead of the vendored one")
    parser.add_argument("--ndjson", action="store_true", help="each input line is one payload")
    parser.add_argument("--strict", action="store_true", help="strict response profile")
    parser.add_argument("--spec-audit", action="store_true", help="report the spec's own defects")


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
    source = "<stdin>" if name == "-" else name
    data = _read(name)
    if not ndjson:
        yield source, 1, data
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            yield f"{source}:{number}", number, line


def run(args: argparse.Namespace) -> int:
    if args.spec_audit:
        report = audit_spec(args.spec)
        audited = [Result(args.spec or "spec/create-avatar.openapi.yaml", report)]
        render_audit(audited, rule_activity(contract_for(args.spec)), args.format, sys.stdout, _version())
        return EXIT_OK if report.valid else EXIT_FINDINGS
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
        for source, line, body in _documents(name, args.ndjson):
            report = (
                linter.lint_request(body) if args.kind == "request" else linter.lint_response(args.status, body)
            )
            bad = [f for f in report.findings if f.rule in UNREADABLE]
            if bad:
                unreadable = True
                print(f"avatar-contract lint: {source}: {bad[0].message}", file=sys.stderr)
            results.append(Result(source, report, line))
    render(results, args.format, sys.stdout, _version())
    if unreadable:
        return EXIT_USAGE
    return EXIT_OK if all(r.report.valid for r in results) else EXIT_FINDINGS
