"""``avatar-contract verify``: run the contract suite and print the clause report.

Exit codes (a run that verified nothing never exits 0):

* 0: no clause failed, none is incomplete or errored, and at least one passed.
  Clauses skipped by choice (no --allow-create, no second key) and "not
  observed" (no 429 within --burst) do not prevent it; the table shows them.
* 1: some clause failed.
* 2: usage error, or a target that cannot be tested (unreachable, key refused).
* 3: no failure, but some clause is incomplete or errored (creates capped,
  target stopped answering, a throttled key, Ctrl-C, SIGTERM or --deadline),
  or nothing passed at all.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .clauses.clause import CLAUSE_NAMES
from .clauses.finding import ClauseResult, Verdict
from .reports.files import check_report_dir, write_run
from .reports.progress import Progress, paint, use_colour
from .reports.report import SuiteReport, from_results, render_text
from .reports.repro import SCRIPT_DIR
from .reports.run_info import RunInfo, tool_version
from .stopping import Stopped, signals_stop_the_run
from .targets.assets import ASSET_ENV, load_assets
from .targets.session import RunStopped, clear_stop, stop_reason
from .targets.suite_spec import use_spec
from .targets.target import (
    DEFAULT_BURST,
    DEFAULT_MAX_CREATES,
    DEFAULT_TIMEOUT,
    PROFILES,
    Target,
    check_base_url,
    check_keys,
    from_environment,
    parse_header,
    seed_from_environment,
)

# The default bound on a whole run, by profile.  A run sends at most about 1,350
# (quick), 1,500 (default) and 2,300 (thorough) requests (measured in-process: 1,132,
# 1,274 and 2,069, plus up to 200 more burst requests against a live limiter); at a
# pessimistic 1 s each, one after another, that is 23, 25 and 38 minutes, rounded up
# to the next half hour.  Only a stalled or pathologically slow target reaches it.
DEFAULT_DEADLINES: dict[str, float] = {"quick": 30 * 60, "default": 30 * 60, "thorough": 60 * 60}
HELP = "run the contract suite against an implementation (default: the in-process emulator)"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _header(text: str) -> tuple[str, str]:
    try:
        return parse_header(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "clauses (for --clause):\n" + "".join(f"  {name}\n" for name in CLAUSE_NAMES)
        + "\nexit: 0 conforms, 1 a clause failed, 2 usage error or untestable target,\n"
          "      3 no fail but incomplete or errored clauses (capped creates, a stopped target, a throttled\n"
          "        key, Ctrl-C, SIGTERM or --deadline), or nothing passed\n"
          "env: AVATAR_API_BASE_URL, AVATAR_API_KEY, AVATAR_API_KEY_2, AVATAR_CONTRACT_SPEC, "
          "AVATAR_CONTRACT_SEED, NO_COLOR"
    )
    parser.add_argument("-V", "--version", action="version", version=f"avatar-contract {tool_version()}")
    parser.add_argument("--base-url", help="target base URL (default: in-process emulator); env AVATAR_API_BASE_URL")
    parser.add_argument("--api-key", help="API key for the target; env AVATAR_API_KEY")
    parser.add_argument("--second-api-key", help="a second tenant's key; env AVATAR_API_KEY_2")
    parser.add_argument("--allow-create", action="store_true",
                        help="allow billable creates on a non-emulator target")
    parser.add_argument("--max-creates", type=int, default=DEFAULT_MAX_CREATES,
                        help=f"cap on creates with --allow-create (default {DEFAULT_MAX_CREATES})")
    parser.add_argument("--unexpected-creates", type=int, default=0, metavar="N",
                        help="keep judging after up to N creates where a correct server refuses (each still "
                             "counted, reported and within --max-creates); default 0: the breaker opens at the "
                             "first. Only for a target you know is free")
    parser.add_argument("--burst", type=int, default=DEFAULT_BURST,
                        help=f"cheap requests spent provoking a 429 (default {DEFAULT_BURST})")
    parser.add_argument("--profile", choices=PROFILES, default="default", help="how many generated cases")
    parser.add_argument("--seed", type=int, help="generation seed (printed; reuse it to reproduce); "
                                                 "env AVATAR_CONTRACT_SEED")
    parser.add_argument("--clause", action="append", choices=CLAUSE_NAMES, metavar="NAME",
                        help="run only this clause (repeatable; names below)")
    parser.add_argument("--asset", metavar="FILE",
                        help="TOML or JSON fixture of real asset ids, https URLs and optionally a group id, "
                             "used by creates on a real target (see README); env AVATAR_CONTRACT_ASSET")
    parser.add_argument("--spec", metavar="PATH", help="hold the target to this spec instead of the vendored one; "
                                                       "env AVATAR_CONTRACT_SPEC")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="S",
                        help=f"bound on each request, body included (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--deadline", type=_seconds, metavar="S",
                        help="bound on the whole run: then reports for what finished, the rest incomplete "
                             "(default by profile: " + ", ".join(f"{p} {s / 60:g} min" for p, s in
                                                                  DEFAULT_DEADLINES.items()) + ")")
    parser.add_argument("--header", action="append", type=_header, default=[], metavar="'NAME: VALUE'",
                        help="send this header with every request (repeatable), e.g. for a gateway; "
                             "values of credential-like names are redacted like keys")
    parser.add_argument("--report-dir", default="reports", metavar="DIR",
                        help="each run writes report.json, report.md, report.html and junit.xml into a new "
                             "timestamped directory here, linked as DIR/latest (default: reports)")
    parser.add_argument("--emulator-fault", action="append", default=[], metavar="FAULT",
                        help="in-process emulator only: switch on an emulator fault (repeatable), "
                             "to see what a failing report looks like")
    parser.add_argument("--no-mutation", action="store_true",
                        help="skip the mutation score (in-process emulator only)")
    parser.add_argument("--plan", action="store_true",
                        help="print the create plan for these options (each create and the facts it proves) "
                             "and send nothing")


def _target(args: argparse.Namespace) -> Target:
    for flag, value in (("--max-creates", args.max_creates), ("--burst", args.burst),
                        ("--unexpected-creates", args.unexpected_creates)):
        if value < 0:
            raise ValueError(f"{flag} must be >= 0, got {value}")
    target = from_environment(
        base_url=args.base_url, api_key=args.api_key, second_api_key=args.second_api_key,
        allow_create=args.allow_create, max_creates=args.max_creates, burst=args.burst,
        unexpected_creates=args.unexpected_creates,
        profile=args.profile, seed=seed_from_environment(args.seed),
        timeout=args.timeout, headers=tuple(args.header),
    )
    try:
        check_base_url(target.base_url)
    except ValueError as exc:
        raise ValueError(f"{'--base-url' if args.base_url else 'AVATAR_API_BASE_URL'}: {exc}") from None
    check_keys(target, ("--api-key" if args.api_key else None, "--second-api-key" if args.second_api_key else None))
    asset_file = args.asset or os.environ.get(ASSET_ENV) or None
    if asset_file:
        target = replace(target, assets=load_assets(asset_file))  # AssetError: one line, exit 2
    if args.emulator_fault:
        if not target.embedded:
            raise ValueError("--emulator-fault only applies to the in-process emulator (no --base-url)")
        from avatar_contract.emulator import FAULTS

        unknown = sorted(set(args.emulator_fault) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown emulator fault(s) {', '.join(unknown)}; "
                             "see avatar-contract emulator --list-faults")
        target = replace(target, faults=frozenset(args.emulator_fault))
    return target


def _err(message: str) -> None:
    print(f"avatar-contract verify: {message}", file=sys.stderr, flush=True)


def exit_code(report: SuiteReport) -> int:
    """0 only when nothing failed, nothing is incomplete or errored, and something passed."""
    if report.failed:
        return EXIT_FAIL
    passed = any(r.verdict is Verdict.PASS for r in report.results)
    return EXIT_INCOMPLETE if report.incomplete or not passed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    # Signals stop the run from start-up on: a stop before the first clause (during the
    # preflight against a slow server, say) still writes a report saying where it stopped.
    with signals_stop_the_run():
        try:
            return _run(args)
        finally:
            clear_stop()


def _run(args: argparse.Namespace) -> int:
    began, started_at = time.monotonic(), datetime.now(UTC)
    use_spec(args.spec)  # a SpecError becomes a one-line exit 2 in the CLI
    try:
        target = _target(args)
        seeded = target.seed is not None
        from .runner import RunState, TargetUnusable, choose_seed, plan_for, preflight, run_suite

        target = choose_seed(target)
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.plan:
        plan = plan_for(target, args.clause)
        print(f"avatar-contract verify --plan: {target.description}; nothing is sent")
        print(plan.render())
        return EXIT_OK
    report_dir = Path(args.report_dir)
    try:
        check_report_dir(report_dir)
    except OSError as exc:
        _err(f"cannot write reports to {report_dir}: {exc.strerror or exc}; pass a writable --report-dir")
        return EXIT_USAGE
    limit = args.deadline if args.deadline is not None else DEFAULT_DEADLINES[target.profile]
    deadline = began + limit
    print(f"avatar-contract verify: {target.description}, profile {target.profile}, seed {target.seed}"
          f"{'' if seeded else ' (random; rerun with --seed ' + str(target.seed) + ')'}"
          f", deadline {_minutes(limit)}", flush=True)
    names = list(args.clause or CLAUSE_NAMES)
    state = RunState(target, args.clause)  # the run's ledger: the preflight's request counts too
    progress = Progress(sys.stderr, len(names), ends_at=deadline)
    finish = _Finish(args, target, state, progress, names, began, started_at, report_dir)
    stage = "start-up"
    if stop_reason() is not None:
        return finish.early(stage)

    def probing(number: int, total: int, label: str, waiting: bool) -> None:
        nonlocal stage
        stage = f"the preflight (probe {number} of {total}: {label})"
        progress.probe(number, total, label, waiting)

    try:
        preflight(replace(target, timeout=min(target.timeout, limit)), state=state, on_probe=probing)
    except TargetUnusable as exc:
        if stop_reason() is not None:  # the stop cut the probe short: not the target's fault
            return finish.early(stage)
        progress.close()
        _err(str(exc))
        return EXIT_USAGE
    except (RunStopped, asyncio.CancelledError):
        if stop_reason() is None:  # a cancellation that is not ours
            raise
        return finish.early(stage)
    progress.preflight_done()
    if stop_reason() is not None:
        return finish.early("the preflight")
    if target.embedded:
        # The emulator warns on every replay with a different body (as HeyGen logs
        # it); the suite does that on purpose, so keep the report readable.
        logging.getLogger("avatar_contract.emulator").addHandler(logging.NullHandler())
    results = finish.results
    stopped = ""

    def starting(name: str) -> None:
        why = stop_reason()
        if why is not None:
            raise Stopped(why)
        progress.start(name)

    try:
        run_suite(target, names, finish.finished, state, on_start=starting, on_exchange=progress.exchange,
                  deadline=deadline)
        stopped = stop_reason() or ""  # a signal after the last clause finished
    except (Stopped, RunStopped, asyncio.CancelledError):
        stopped = stop_reason() or ""
        if not stopped:  # a cancellation that is not ours
            raise
        _stop(progress, results, names, stopped)
    finally:
        progress.close()
    if not stopped and any(r.verdict is Verdict.INCOMPLETE and "deadline" in r.reason for r in results):
        given = f"--deadline {args.deadline:g}" if args.deadline is not None else f"default {_minutes(limit)}"
        stopped = f"the run's deadline ({given}) passed"
    mutation = None
    if target.embedded and not target.faults and not args.no_mutation and not args.clause and not stopped:
        # Proves the suite has teeth: every emulator fault must fail its clause.
        from .mutation import mutation_score

        try:
            mutation = mutation_score(Target(profile="quick", seed=target.seed))
        except (RunStopped, asyncio.CancelledError):
            if stop_reason() is None:
                raise
            stopped = f"{stop_reason()} during the mutation score"
    return finish.write(stopped, mutation)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class _Finish:
    """The end of every run that got as far as a target: the reports, written once."""

    def __init__(self, args: argparse.Namespace, target: Target, state: Any, progress: Progress,
                 names: list[str], began: float, started_at: datetime, report_dir: Path) -> None:
        self.args, self.target, self.state, self.progress = args, target, state, progress
        self.names, self.began, self.started_at, self.report_dir = names, began, started_at, report_dir
        self.results: list[ClauseResult] = []

    def finished(self, result: ClauseResult) -> None:
        self.results.append(result)
        self.progress.finished(result)

    def early(self, stage: str) -> int:
        """A stop before the first clause: every clause not run, the report says where."""
        self.progress.close()
        why = stop_reason() or "stopped"
        _err(f"{why} during {stage}: writing the reports")
        self.results[:] = [ClauseResult(n, Verdict.INCOMPLETE, reason=f"not run: {why} during {stage}")
                           for n in self.names]
        return self.write(f"{why} during {stage}, before the first clause", None)

    def write(self, stopped: str, mutation: Any) -> int:
        target = self.target
        secrets = [k for k in (target.api_key, target.second_api_key, os.environ.get("AVATAR_API_KEY"),
                               os.environ.get("AVATAR_API_KEY_2"), *target.header_secrets) if k]
        report = from_results(target, self.results, secrets, time.monotonic() - self.began, mutation,
                              self.state.summary())
        # Relative to the run's directory (a fresh one per run, named once written).
        report.repro_dir = Path(SCRIPT_DIR)
        report.info = RunInfo.collect(self.started_at)
        report.stopped = stopped
        report.statuses = {name: dict(counts) for name, counts in self.progress.statuses.items()}
        print(_coloured(render_text(report), use_colour(sys.stdout)))
        try:
            run_dir, written, latest = write_run(report, self.report_dir, self.started_at)
        except OSError as exc:
            _err(f"cannot write reports to {self.report_dir}: {exc}")
            return EXIT_USAGE
        scripts = sorted((run_dir / SCRIPT_DIR).glob("*.sh"))
        print(f"reports: {run_dir}/ ({', '.join(p.name for p in written)}); latest: {latest}"
              + (f"; reproducers: {len(scripts)} in {run_dir / SCRIPT_DIR}/" if scripts else ""))
        return exit_code(report)


def _stop(progress: Progress, results: list[ClauseResult], names: list[str], why: str) -> None:
    """After Ctrl-C or SIGTERM: the running clause and the ones not started are incomplete."""
    _err(f"{why}: writing the reports for what finished")
    running = progress.unfinished(why)
    if running is not None:
        results.append(running)
    done = {r.name for r in results}
    for name in names:
        if name not in done:
            result = ClauseResult(name, Verdict.INCOMPLETE, reason=f"not run: {why}")
            results.append(result)
            progress.finished(result)


def _coloured(text: str, colour: bool) -> str:
    """The final table with its verdict words coloured (a terminal only)."""
    if not colour:
        return text
    lines = []
    names: set[str] = set(CLAUSE_NAMES)
    for line in text.splitlines():
        head, _, rest = line.partition(" ")
        if head in names:
            stripped = rest.lstrip(" ")
            for verdict in sorted(Verdict, key=lambda v: -len(v.value)):
                if stripped.startswith(verdict.value + " ") or stripped == verdict.value:
                    pad = rest[: len(rest) - len(stripped)]
                    line = f"{head} {pad}{paint(verdict, verdict.value, True)}{stripped[len(verdict.value):]}"
                    break
        elif line.startswith("FAIL "):
            line = paint(Verdict.FAIL, "FAIL", True) + line[4:]
        lines.append(line)
    return "\n".join(lines)
