"""``avatar-contract verify``: run the contract suite and print the clause report.

Exit codes (a run that verified nothing never exits 0):

* 0: no clause failed, none is incomplete or errored, and at least one passed.
  Clauses skipped by choice (no --allow-create, no second key) and "not
  observed" (no 429 within --burst) do not prevent it; the table shows them.
* 1: some clause failed.
* 2: usage error, or a target that cannot be tested (unreachable, key refused).
* 3: no failure, but some clause is incomplete or errored (creates capped,
  target stopped answering, a throttled key), or nothing passed at all.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from .clause import CLAUSE_NAMES
from .mutation import mutation_score
from .finding import Verdict
from .report import SuiteReport, from_results, render_text, write
from .runner import RunState, TargetUnusable, choose_seed, plan_for, preflight, run_suite
from .suite_spec import use_spec
from .target import DEFAULT_BURST, DEFAULT_MAX_CREATES, PROFILES, Target, check_base_url, check_keys, from_environment

HELP = "run the contract suite against an implementation (default: the in-process emulator)"
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="target base URL (default: in-process emulator); env AVATAR_API_BASE_URL")
    parser.add_argument("--api-key", help="API key for the target; env AVATAR_API_KEY")
    parser.add_argument("--second-api-key", help="a second tenant's key; env AVATAR_API_KEY_2")
    parser.add_argument("--allow-create", action="store_true",
                        help="allow billable creates on a non-emulator target")
    parser.add_argument("--max-creates", type=int, default=DEFAULT_MAX_CREATES,
                        help=f"cap on creates with --allow-create (default {DEFAULT_MAX_CREATES})")
    parser.add_argument("--burst", type=int, default=DEFAULT_BURST,
                        help=f"cheap requests spent provoking a 429 (default {DEFAULT_BURST})")
    parser.add_argument("--profile", choices=PROFILES, default="default", help="how many generated cases")
    parser.add_argument("--seed", type=int, help="generation seed (printed; reuse it to reproduce)")
    parser.add_argument("--clause", action="append", choices=CLAUSE_NAMES, metavar="NAME",
                        help="run only this clause (repeatable)")
    parser.add_argument("--spec", metavar="PATH", help="hold the target to this spec instead of the vendored one")
    parser.add_argument("--report-dir", default="reports",
                        help="where report.json, report.md and junit.xml go (default: reports)")
    parser.add_argument("--emulator-fault", action="append", default=[], metavar="FAULT",
                        help="in-process emulator only: switch on an emulator fault (repeatable), "
                             "to see what a failing report looks like")
    parser.add_argument("--no-mutation", action="store_true",
                        help="skip the mutation score (in-process emulator only)")
    parser.add_argument("--plan", action="store_true",
                        help="print the create plan for these options (each create and the facts it proves) "
                             "and send nothing")


def _target(args: argparse.Namespace) -> Target:
    if args.max_creates < 0 or args.burst < 0:
        raise ValueError("--max-creates and --burst must be >= 0")
    target = from_environment(
        base_url=args.base_url, api_key=args.api_key, second_api_key=args.second_api_key,
        allow_create=args.allow_create, max_creates=args.max_creates, burst=args.burst,
        profile=args.profile, seed=args.seed,
    )
    check_base_url(target.base_url)
    check_keys(target)
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


def run(args: argparse.Namespace) -> int:
    use_spec(args.spec)  # a SpecError becomes a one-line exit 2 in the CLI
    try:
        target = choose_seed(_target(args))
    except ValueError as exc:
        print(f"avatar-contract verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.plan:
        plan = plan_for(target, args.clause)
        print(f"avatar-contract verify --plan: {target.description}; nothing is sent")
        print(plan.render())
        return EXIT_OK
    state = RunState(target, args.clause)
    try:
        preflight(target, state.ledger)
    except TargetUnusable as exc:
        print(f"avatar-contract verify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if target.embedded:
        # The emulator warns on every replay with a different body (as HeyGen logs
        # it); the suite does that on purpose, so keep the report readable.
        logging.getLogger("avatar_contract.emulator").addHandler(logging.NullHandler())
    print(f"avatar-contract verify: {target.description}, profile {target.profile}, seed {target.seed}",
          flush=True)
    started = time.perf_counter()
    results = run_suite(target, args.clause, state=state)
    elapsed = time.perf_counter() - started
    mutation = None
    if target.embedded and not target.faults and not args.no_mutation and not args.clause:
        # Proves the suite has teeth: every emulator fault must fail its clause.
        mutation = mutation_score(Target(profile="quick", seed=target.seed))
    secrets = [k for k in (target.api_key, target.second_api_key, os.environ.get("AVATAR_API_KEY"),
                           os.environ.get("AVATAR_API_KEY_2")) if k]
    report = from_results(target, results, secrets, elapsed, mutation, state.summary())
    print(render_text(report))
    try:
        written = write(report, Path(args.report_dir))
    except OSError as exc:
        print(f"avatar-contract verify: cannot write reports to {args.report_dir}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"reports: {', '.join(str(p) for p in written)}")
    return exit_code(report)


def exit_code(report: SuiteReport) -> int:
    if report.failed:
        return EXIT_FAIL
    passed = any(r.verdict is Verdict.PASS for r in report.results)
    return EXIT_INCOMPLETE if report.unfinished or not passed else EXIT_OK
