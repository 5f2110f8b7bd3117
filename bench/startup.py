"""Start-up cost of ``avatar-contract lint`` on one small file (goals: <= 0.3 s wall, <= 0.15 s CPU over bare).

    python bench/startup.py                       # this environment, 21 runs
    python bench/startup.py --python OTHER/bin/python --runs 41

Each run is a fresh interpreter (``python -m avatar_contract lint FILE``), so
the figure is what a pre-commit hook or an editor pays per call: interpreter
start, imports, spec load and compile, one lint.  The median is the figure;
the spread shows how loaded the machine was.  CPU time (user + system of the
child) is also given over a bare ``python -c pass``, which is what the tool itself
adds and moves far less with the machine's load than wall time.  The runs use a
fresh spec cache (``spec/_cache.py``): the first run fills it, the timed ones read
it, as every call after a user's first does.  ``--imports`` also lists the slowest
imports (``-X importtime``) of one run.
"""

from __future__ import annotations

import argparse
import os
import resource
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
GOAL_CPU_OVER_BARE = 0.15


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _once(python: str, payload: Path, argv: tuple[str, ...] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process (``argv`` None: the lint call)."""
    started, cpu = time.perf_counter(), _children_cpu()
    # cwd: the payload's directory, so a checkout's folders never shadow the installed package.
    done = subprocess.run([python, *(argv or ("-m", "avatar_contract", "lint", payload.name))],
                          capture_output=True, check=False, cwd=payload.parent)
    elapsed, spent = time.perf_counter() - started, _children_cpu() - cpu
    if argv is None and (done.returncode != 1 or b"[schema.required]" not in done.stdout):
        raise SystemExit(f"startup: lint exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    return elapsed, spent


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
        os.environ["AVATAR_CONTRACT_CACHE_DIR"] = str(Path(tmp) / "cache")
        payload = Path(tmp) / "bad.json"
        payload.write_bytes(BODY)
        first = _once(args.python, payload)  # fills the spec cache; warms the OS file cache and .pyc files
        runs = [_once(args.python, payload) for _ in range(args.runs)]
        bare = statistics.median(_once(args.python, payload, ("-c", "pass"))[1] for _ in range(args.runs))
        times = sorted(wall for wall, _ in runs)
        median = statistics.median(times)
        over = statistics.median(cpu for _, cpu in runs) - bare
        verdict = "meets" if median <= GOAL_SECONDS else "misses"
        print(f"avatar-contract lint start-up ({args.python}, {args.runs} runs): "
              f"median {median:.3f} s, min {times[0]:.3f} s, max {times[-1]:.3f} s; "
              f"goal <= {GOAL_SECONDS} s: {verdict}")
        print(f"CPU over a bare interpreter: median {over:.3f} s (bare {bare:.3f} s; first call, filling "
              f"the spec cache: {first[1] - bare:.3f} s); goal <= {GOAL_CPU_OVER_BARE} s: "
              f"{'meets' if over <= GOAL_CPU_OVER_BARE else 'misses'}")
        if args.imports:
            print("\n".join(_imports(args.python, payload, args.imports)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
