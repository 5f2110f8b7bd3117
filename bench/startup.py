"""Start-up time of ``avatar-contract lint`` on one small file (goal: <= 0.3 s).

    python bench/startup.py                       # this environment, 21 runs
    python bench/startup.py --python OTHER/bin/python --runs 41

Each run is a fresh interpreter (``python -m avatar_contract lint FILE``), so
the figure is what a pre-commit hook or an editor pays per call: interpreter
start, imports, spec load and compile, one lint.  The median is the figure;
the spread shows how loaded the machine was.  ``--imports`` also lists the
slowest imports (``-X importtime``) of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BODY = b'{"type": "photo", "name": "Anna", "file": {"type": "url"}}'
HEAVY = ("schemathesis", "hypothesis", "starlette", "uvicorn", "httpx", "avatar_contract.emulator",
         "avatar_contract.contract_tests")
GOAL_SECONDS = 0.3


def _once(python: str, payload: Path) -> float:
    started = time.perf_counter()
    # cwd: the payload's directory, so a checkout's folders never shadow the installed package.
    done = subprocess.run([python, "-m", "avatar_contract", "lint", payload.name],
                          capture_output=True, check=False, cwd=payload.parent)
    elapsed = time.perf_counter() - started
    if done.returncode != 1 or b"[schema.required]" not in done.stdout:  # anything else is a broken run
        raise SystemExit(f"startup: lint exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def _imports(python: str, payload: Path, top: int) -> list[str]:
    done = subprocess.run([python, "-X", "importtime", "-m", "avatar_contract", "lint", payload.name],
                          capture_output=True, text=True, check=False, cwd=payload.parent)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        rows.append((int(cumulative), name))
    heavy = sorted({h for _, name in rows for h in HEAVY if name.strip() == h or name.strip().startswith(h + ".")})
    lines = [f"  {us / 1000:7.1f} ms  {name}" for us, name in sorted(rows, reverse=True)[:top]]
    lines.append(f"  heavy modules imported: {', '.join(heavy) if heavy else 'none'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter whose avatar-contract to time")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--imports", type=int, default=0, metavar="N", help="also show the N slowest imports")
    args = parser.parse_args(argv)
    # Absolute but not resolved: a venv's python is a symlink that must stay one.
    args.python = os.path.abspath(args.python) if os.sep in args.python else shutil.which(args.python) or args.python
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp) / "bad.json"
        payload.write_bytes(BODY)
        _once(args.python, payload)  # warm the OS file cache and the .pyc files
        times = sorted(_once(args.python, payload) for _ in range(args.runs))
        median = statistics.median(times)
        verdict = "meets" if median <= GOAL_SECONDS else "misses"
        print(f"avatar-contract lint start-up ({args.python}, {args.runs} runs): "
              f"median {median:.3f} s, min {times[0]:.3f} s, max {times[-1]:.3f} s; "
              f"goal <= {GOAL_SECONDS} s: {verdict}")
        if args.imports:
            print("\n".join(_imports(args.python, payload, args.imports)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
