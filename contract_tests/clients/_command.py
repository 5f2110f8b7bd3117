"""``avatar-contract grade-client [options] -- CMD [ARGS...]``: grade a client's retry safety.

Exit codes: 0 every check passes; 1 some check fails; 3 none fails but some
is incomplete (the client never reached its situation); 2 usage error, or the
command cannot start.
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from avatar_contract.emulator._schedule import SCENARIOS

from ..reports.files import check_report_dir, write_run
from ..reports.html import to_html
from ..reports.junit import to_junit
from ..reports.markdown import to_markdown
from ..reports.report import render_failures, render_table, to_json
from .grading import EXIT_USAGE, GradeResult, grade_command
from .judging import CHECK_IDS, DEFAULT_MAX_ATTEMPTS
from .running import DEFAULT_INTENTS, DEFAULT_TIMEOUT, CommandError, ScenarioRun
from .scorecard import as_suite_report, scenario_line

HELP = "grade an API client's retry safety against the emulator's fault scenarios"
FORMATS = ("text", "json", "markdown", "junit", "html")


def _positive(kind: type[int] | type[float], what: str) -> Callable[[str], int | float]:
    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be {what} > 0")
        return value
    return convert


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.usage = "avatar-contract grade-client [options] -- CMD [ARGS...]"
    parser.epilog = (
        "scenarios (for --scenario):\n" + "".join(f"  {s.name}: {s.description}\n" for s in SCENARIOS.values())
        + "\nchecks:\n" + "".join(f"  {name}\n" for name in CHECK_IDS)
        + "\nthe command gets AVATAR_API_BASE_URL, AVATAR_API_KEY, AVATAR_CLIENT_INTENTS, AVATAR_CLIENT_SCENARIO\n"
          "exit: 0 every check passes, 1 a check fails, 3 none fails but some are incomplete,\n"
          "      2 usage error or the command cannot start")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), metavar="NAME",
                        help="play only this scenario (repeatable; default: all)")
    parser.add_argument("--parallel", type=_positive(int, "a whole number"), default=1, metavar="N",
                        help="run N copies of the command at once, each with its own key (for the jitter check)")
    parser.add_argument("--timeout", type=_positive(float, "a number of seconds"), default=DEFAULT_TIMEOUT,
                        metavar="S", help=f"bound on each scenario (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--intents", type=_positive(int, "a whole number"), default=DEFAULT_INTENTS, metavar="N",
                        help=f"AVATAR_CLIENT_INTENTS: avatars the client creates (default {DEFAULT_INTENTS})")
    parser.add_argument("--max-attempts", type=_positive(int, "a whole number"), default=DEFAULT_MAX_ATTEMPTS,
                        metavar="N", help=f"attempts per intent allowed under persistent-503 "
                                          f"(default {DEFAULT_MAX_ATTEMPTS})")
    parser.add_argument("--time-scale", type=_positive(float, "a number"), default=1.0, metavar="F",
                        help="scale the advertised Retry-After (not 86400) by F in (0, 1], rounded up to whole "
                             "seconds (at least 1, as the spec's header schema requires); the in-flight hold is "
                             "not scaled (default 1: as the scenarios state them)")
    parser.add_argument("--report-dir", default="reports", metavar="DIR",
                        help="write report.json, report.md, report.html, junit.xml, the journals and the client's "
                             "output into a new timestamped directory here (default: reports)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="what to print (default text)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the client's command, after --")


def _err(message: str) -> None:
    print(f"avatar-contract grade-client: {message}", file=sys.stderr, flush=True)


def _progress(run: ScenarioRun) -> None:
    print(scenario_line(run.scenario, run.seconds, run.exit_codes, len(run.records), run.stopped),
          file=sys.stderr, flush=True)


def render(result: GradeResult, command: str, fmt: str) -> str:
    report = as_suite_report(result, command)
    if fmt == "json":
        import json

        return json.dumps(to_json(report), indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return to_markdown(report)
    if fmt == "junit":
        return to_junit(report)
    if fmt == "html":
        return to_html(report)
    lines = [report.subject, "", render_table(report)]
    failures = render_failures(report, per_clause=3)
    if failures:
        lines += ["", failures]
    # The scenario lines went to stderr as each scenario ended (progress); the report says the rest,
    # and why the grader had to stop a client (a fact of the grading, not progress).
    lines += ["", *(line for line in report.headline if not line.startswith("scenario ")),
              *(f"scenario {run.scenario}: {run.stopped}" for run in result.runs if run.stopped)]
    return report.scrub("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        _err("no command to grade; usage: avatar-contract grade-client [options] -- CMD [ARGS...]")
        return EXIT_USAGE
    if args.time_scale > 1:
        _err(f"--time-scale must be in (0, 1], not {args.time_scale:g}")
        return EXIT_USAGE
    root = Path(args.report_dir)
    try:
        check_report_dir(root)
    except OSError as exc:
        _err(f"cannot write reports to {root}: {exc.strerror or exc}; pass a writable --report-dir")
        return EXIT_USAGE
    started = datetime.now(UTC)
    shown = shlex.join(command)
    with tempfile.TemporaryDirectory(prefix="avatar-contract-grade-") as tmp:
        try:
            result = grade_command(command, workdir=Path(tmp), scenarios=args.scenario, parallel=args.parallel,
                                   timeout=args.timeout, intents=args.intents, max_attempts=args.max_attempts,
                                   time_scale=args.time_scale, on_scenario=_progress)
        except (CommandError, ValueError) as exc:
            _err(str(exc))
            return EXIT_USAGE
        except OSError as exc:
            _err(f"cannot serve the emulator: {exc}")
            return EXIT_USAGE
        print(render(result, shown, args.format))
        try:
            run_dir, written, latest = write_run(as_suite_report(result, shown), root, started)
            for path in sorted(Path(tmp).iterdir()):
                shutil.move(str(path), run_dir / path.name)
        except OSError as exc:
            _err(f"cannot write reports to {root}: {exc}")
            return EXIT_USAGE
    print(f"reports: {run_dir}/ ({', '.join(p.name for p in written)}, journals, client logs); latest: {latest}",
          file=sys.stderr if args.format != "text" else sys.stdout)
    return result.exit_code
