"""Kill rate of the mechanical mutants (tests/suite/_mutants.py), per element class.

    python bench/mutants.py [--spec PATH] [--group TEXT] [--element TEXT] [--limit N] [--json OUT]

Writes one mutant per (element, operator) from the spec's element list, runs
the suite against each (in-process, quick profile, default cap, with the
asset fixture as a live run has it) and prints, per class, how many were
killed (some clause failed), then every survivor with a first reason.
A full run of the vendored spec is about 300 suite runs: minutes, not seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

from avatar_contract.contract_tests.spec_coverage.mapping import coverage_report
from avatar_contract.contract_tests.targets.suite_spec import use_spec

ROOT = Path(__file__).resolve().parents[1]


def _harness() -> ModuleType:
    found = importlib.util.spec_from_file_location("_mutants", ROOT / "tests" / "suite" / "_mutants.py")
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules["_mutants"] = module
    found.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", help="the spec (default: the vendored one)")
    parser.add_argument("--group", default="", help="only classes containing this text")
    parser.add_argument("--limit", type=int, default=0, help="at most N mutants per class (0: all)")
    parser.add_argument("--element", default="", help="only elements whose id contains this text")
    parser.add_argument("--json", metavar="OUT", help="also write the outcomes as JSON")
    args = parser.parse_args(argv)
    use_spec(args.spec)  # this process holds targets to it throughout (reasons are judged under it too)
    m = _harness()
    made, skipped = m.spec_mutants(args.spec)
    states = {e.element.id: e.state for e in coverage_report(args.spec).entries}
    chosen: list[object] = []
    per: dict[str, int] = defaultdict(int)
    for mutant in made:
        if args.group in mutant.group and args.element in mutant.element.id and \
                (not args.limit or per[mutant.group] < args.limit):
            per[mutant.group] += 1
            chosen.append(mutant)
    started = time.monotonic()
    if any(r.verdict.value == "fail" for r in m.run_mutant(None, args.spec)):
        print("the unmutated emulator fails a clause: kill rates would mean nothing", file=sys.stderr)
        return 1
    outcomes = []
    for index, mutant in enumerate(chosen, 1):
        outcome = m.run_mutant(mutant, args.spec)
        outcomes.append(outcome)
        mark = "killed" if outcome.killed else "SURVIVED"
        print(f"[{index}/{len(chosen)}] {mark:8} {mutant.group}: {mutant.element.pointer} ({mutant.how})",
              file=sys.stderr, flush=True)
    reasons = {id(o): o.why_survived(states.get(o.mutant.element.id, "?")) for o in outcomes if not o.killed}
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for outcome in outcomes:
        row = table[outcome.mutant.group]
        row[0] += 1
        row[1] += outcome.killed
        # Equivalent and unobservable mutants cannot be killed by any suite: counted apart.
        row[2] += not outcome.killed and reasons[id(outcome)].startswith(("equivalent", "unobservable"))
    print(f"{'element class':40} {'mutants':>7} {'killed':>6} {'rate':>6} {'moot':>5} {'rate of the rest':>16}")
    for group, (count, killed, moot) in sorted(table.items()):
        rest = f"{killed / (count - moot):.0%}" if count > moot else "-"
        print(f"{group:40} {count:7} {killed:6} {killed / count:6.0%} {moot:5} {rest:>16}")
    total, killed, moot = (sum(row[i] for row in table.values()) for i in range(3))
    print(f"{'all':40} {total:7} {killed:6} {killed / max(total, 1):6.0%} {moot:5} "
          f"{killed / max(total - moot, 1):16.0%}")
    print(f"({len(skipped)} elements have no mechanical operator; {time.monotonic() - started:.0f} s; "
          "moot = equivalent for the suite's probes, or a value the emulator never sends)")
    survivors = [o for o in outcomes if not o.killed]
    if survivors:
        print("survivors:")
    for outcome in survivors:
        e = outcome.mutant.element
        print(f"  {e.pointer}  {outcome.mutant.how}\n      {reasons[id(outcome)]}")
    if args.json:
        Path(args.json).write_text(json.dumps([
            {"group": o.mutant.group, "element": o.mutant.element.id, "how": o.mutant.how, "killed": o.killed,
             "failed": list(o.failed), "incomplete": list(o.incomplete),
             "reason": reasons.get(id(o))}
            for o in outcomes], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
