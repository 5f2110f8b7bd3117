"""Which emulator faults check-traffic catches from the suite's own traffic, and which it reports incomplete.

    python bench/traffic_faults.py                 # every fault, quick profile
    python bench/traffic_faults.py --fault auth_skipped --fault idempotency_ignored

For each fault, verify's clauses run against the in-process emulator (served to
the suite as an ASGI app, so the suite treats it as any remote target, with
--allow-create and a second key) while the emulator journals every exchange
(validators.journal); the journal is then judged by check-traffic's judge.  The
table gives, for the fault's own clause, the suite's verdict and the traffic's.
rate_limit.retry_after is left out: its burst needs a limiter the other clauses
must not meet.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.contract_tests.traffic.evidence import Where
from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.emulator import FAULTS, EmulatorConfig, create_app
from avatar_contract.emulator._journal import Journal

KEYS = ("faults-bench-key-1", "faults-bench-key-2")


def judge_fault(fault: str | None, seed: int) -> tuple[dict[str, str], dict[str, str], int]:
    journal = Journal(limit=1_000_000)
    journal.begin(None)
    app = create_app(EmulatorConfig(api_keys=KEYS, rate_limit=None, processing_delay=0.05, journal=journal,
                                    faults=frozenset({fault} if fault else ())))
    names = [n for n in CLAUSE_NAMES if n != "rate_limit.retry_after"]
    target = Target(base_url="http://emulator.test", asgi_app=app, api_key=KEYS[0], second_api_key=KEYS[1],
                    allow_create=True, max_creates=400, unexpected_creates=400, profile="quick", seed=seed)
    with contextlib.redirect_stderr(io.StringIO()):
        suite = {r.name: r.verdict.value for r in run_suite(target, names)}
    judge = TrafficJudge()
    records = journal.records()
    for record in records:
        judge.add(record, Where("journal", record.id))
    traffic = {r.name: r.verdict.value for r in judge.results() if r.name in suite}
    return suite, traffic, len(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fault", action="append", choices=list(FAULTS))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    began = time.perf_counter()
    suite, traffic, count = judge_fault(None, args.seed)
    wrong = sorted(n for n, v in traffic.items() if v == "fail")
    print(f"clean: {count} exchanges; traffic fails {', '.join(wrong) or 'nothing'}; incomplete: "
          f"{', '.join(n for n, v in traffic.items() if v == 'incomplete')}")
    caught = []
    for fault in args.fault or [f for f in FAULTS if FAULTS[f].clause != "rate_limit.retry_after"]:
        clause = FAULTS[fault].clause
        suite, traffic, count = judge_fault(fault, args.seed)
        others = sorted(n for n, v in traffic.items() if v == "fail" and n != clause)
        caught.append(traffic[clause] == "fail")
        print(f"{fault:28} {clause:32} suite {suite[clause]:10} traffic {traffic[clause]:10} "
              f"({count} exchanges){'; also fails ' + ', '.join(others) if others else ''}", flush=True)
    print(f"check-traffic caught {sum(caught)} of {len(caught)} faults from the suite's own traffic "
          f"({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
