"""``avatar-contract check-traffic FILE...``: judge recorded exchanges of the create route.

Exit codes are verify's: 0 no clause failed or is incomplete and one passed;
1 a clause failed; 2 usage error or a malformed file (one line naming the
file and the entry); 3 no failure, but some clause is incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from .._verify_command import EXIT_USAGE, exit_code
from ..reports.files import check_report_dir, write_run
from ..reports.html import to_html
from ..reports.junit import to_junit
from ..reports.markdown import to_markdown
from ..reports.report import SuiteReport, render_text, to_json
from .checking import check_files
from .sources import FORMATS, TrafficError

HELP = "judge recorded traffic (HAR, VCR cassette, WireMock journal, NDJSON journal) against the contract"
OUTPUTS = ("text", "json", "markdown", "junit", "html")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("formats are recognised by content: HAR 1.2, schemathesis VCR cassettes (YAML), WireMock\n"
                     "request journals (GET /__admin/requests) and avatar-contract NDJSON journals\n"
                     "exit: 0 conforms, 1 a clause failed, 2 usage error or a malformed file,\n"
                     "      3 no fail but some clause is incomplete (the traffic cannot show it)")
    parser.add_argument("files", nargs="+", metavar="FILE", help="traffic files, judged in the order given")
    parser.add_argument("--format", choices=FORMATS, help="read every FILE as this format (default: by content)")
    parser.add_argument("--output", choices=OUTPUTS, default="text", help="what to print (default text)")
    parser.add_argument("--ttl", type=float, metavar="S",
                        help="the replay window in seconds (default: the spec's, 'within 24 hours')")
    parser.add_argument("--base-url", metavar="URL", help="where reproducers send the recorded requests")
    parser.add_argument("--report-dir", default="reports", metavar="DIR",
                        help="write report.json, report.md, report.html and junit.xml into a new timestamped "
                             "directory here (default: reports); '' writes none")


def _err(message: str) -> None:
    print(f"avatar-contract check-traffic: {message}", file=sys.stderr, flush=True)


def unwritable(root: Path) -> str:
    """Why reports cannot go under ``root`` (one line), or "" when they can."""
    try:
        check_report_dir(root)
    except OSError as exc:
        return f"cannot write reports to {root}: {exc.strerror or exc}; pass a writable --report-dir"
    return ""


def render(report: SuiteReport, output: str) -> str:
    if output == "json":
        return json.dumps(to_json(report), indent=2, ensure_ascii=False)
    if output == "markdown":
        return to_markdown(report)
    if output == "junit":
        return to_junit(report)
    if output == "html":
        return to_html(report)
    return render_text(report)


def run(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    if args.ttl is not None and not args.ttl > 0:
        _err(f"--ttl must be a positive number of seconds, not {args.ttl:g}")
        return EXIT_USAGE
    paths = [Path(f) for f in args.files]
    for path in paths:
        if not path.is_file():
            _err(f"{path}: no such file")
            return EXIT_USAGE
    root = Path(args.report_dir) if args.report_dir else None
    if root is not None and (problem := unwritable(root)):
        _err(problem)
        return EXIT_USAGE
    try:
        report, _ = check_files(paths, args.format, ttl=args.ttl, base_url=args.base_url)
    except TrafficError as exc:
        _err(str(exc))
        return EXIT_USAGE
    print(render(report, args.output))
    if root is not None:
        try:
            run_dir, written, latest = write_run(report, root, started)
        except OSError as exc:
            _err(f"cannot write reports to {root}: {exc}")
            return EXIT_USAGE
        print(f"reports: {run_dir}/ ({', '.join(p.name for p in written)}); latest: {latest}",
              file=sys.stdout if args.output == "text" else sys.stderr)
    return exit_code(report)
