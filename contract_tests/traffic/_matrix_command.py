"""``avatar-contract matrix TARGETS.toml``: verify several implementations, one conformance matrix.

Exit codes: 0 every implementation conforms; 1 some clause failed somewhere;
2 usage error (TARGETS.toml unusable, a key variable unset); 3 no failure,
but some cell is not a pass.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._verify_command import EXIT_FAIL, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE
from .matrix import MatrixError, as_json, load_plan, run_target
from .matrix_output import write_matrix

HELP = "run verify against several implementations and write a conformance matrix (html, md, json)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("TARGETS.toml: [[target]] tables with name and base_url (or emulator = true, faults = [...]),\n"
                     "  api_key_env, second_api_key_env, allow_create, max_creates, asset, start; top level: seed,\n"
                     "  profile, clauses (see README)\n"
                     "exit: 0 all conform, 1 a clause failed somewhere, 2 usage error, 3 otherwise not all pass")
    parser.add_argument("targets", metavar="TARGETS.toml")
    parser.add_argument("--out", default="matrix", metavar="DIR",
                        help="where matrix.html/.md/.json and each target's reports go (default: matrix)")
    parser.add_argument("--seed", type=int, help="overrides the file's seed (default 1)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        plan = load_plan(Path(args.targets), args.seed)
        columns = []
        for target in plan.targets:
            print(f"matrix: verifying {target.name} ...", file=sys.stderr, flush=True)
            columns.append(run_target(target, plan, out))
    except MatrixError as exc:
        print(f"avatar-contract matrix: {exc}", file=sys.stderr)
        return EXIT_USAGE
    matrix = as_json(plan, columns)
    written = write_matrix(matrix, out)
    for column in columns:
        problem = f"; {column.problem}" if column.problem else ""
        print(f"{column.target.name}: score {column.score(len(plan.clauses)):g} "
              f"({column.passed} of {len(plan.clauses)} clauses pass){problem}")
    print(f"matrix: {', '.join(str(p) for p in written)}")
    verdicts = {c["verdict"] for col in columns for c in col.cells.values()}
    if "fail" in verdicts:
        return EXIT_FAIL
    return EXIT_OK if verdicts == {"pass"} else EXIT_INCOMPLETE
