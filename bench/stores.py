"""The emulator's stores side by side, in one run, on ``bench/load.py``'s request mix.

    python bench/stores.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    AVATAR_CONTRACT_TEST_POSTGRES=... python bench/stores.py --seconds 8 --rounds 2

Targets: the memory store; SQLite with 1 and 2 uvicorn workers; PostgreSQL with
1 and 2 replicas (separate ``avatar-contract emulator`` processes on separate
ports, the client's connections split between them).  Each PostgreSQL target
gets a fresh schema.  The client is load.py's asyncio client (raw HTTP/1.1,
keep-alive), on the same machine: figures are a floor, and only ratios from
one run mean anything on a shared machine.  ``--rounds N`` measures every
target N times, interleaved, and reports each target's median round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from load import KEY, Result, _connection, _process, _requests, free_port, seed

POSTGRES_ENV = "AVATAR_CONTRACT_TEST_POSTGRES"


@dataclass(frozen=True)
class Target:
    name: str
    store: str  # "memory", "sqlite", "postgres"
    processes: int  # sqlite: uvicorn workers of one server; postgres: replicas


@contextmanager
def serve(target: Target, postgres: str | None, scratch: str) -> Iterator[list[str]]:
    """Start the target's server(s); the base URLs."""
    if target.store == "memory":
        store = "memory"
    elif target.store == "sqlite":
        store = f"sqlite:{scratch}/{target.name}-{secrets.token_hex(4)}.db"
    else:
        assert postgres is not None
        import psycopg

        schema = f"bench_{secrets.token_hex(4)}"
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        store = f"{postgres}{'&' if '?' in postgres else '?'}options={quote(f'-csearch_path={schema}')}"
    servers = target.processes if target.store == "postgres" else 1
    workers = target.processes if target.store == "sqlite" else 1
    with ExitStack() as stack:
        bases = []
        for _ in range(servers):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            argv = [sys.executable, "-m", "avatar_contract.emulator", "--host", "127.0.0.1", "--port", str(port),
                    "--api-key", KEY, "--rate-limit", "off", "--no-access-log", "--log-level", "warning",
                    "--store", store, "--workers", str(workers)]
            stack.enter_context(_process(argv, f"{base}/v3/avatars"))
            bases.append(base)
        yield bases


async def _load(bases: list[str], seconds: float, connections: int) -> tuple[list[float], Counter[str], int, float]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    jobs = []
    for i in range(connections):
        url = httpx.URL(bases[i % len(bases)])
        host, port = url.host, url.port or 80
        jobs.append(_connection(host, port, _requests(f"{host}:{port}"), started + seconds, i,
                                latencies, statuses))
    errors = await asyncio.gather(*jobs)
    return latencies, statuses, sum(errors), time.perf_counter() - started


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.0


def _descendants(pid: int) -> list[int]:
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for c in children for d in _descendants(c)]


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@dataclass
class Measured:
    result: Result
    server_us: float  # CPU per request in the emulator process(es)
    postgres_us: float  # CPU per request in every postgres process on the machine


def measure(target: Target, bases: list[str], seconds: float, connections: int) -> Measured:
    for base in bases[:1]:
        seed(base)  # the replays' keys (shared by every replica of the target)
    servers, databases = _descendants(os.getpid()), _postgres_pids()
    before = _cpu_seconds(servers), _cpu_seconds(databases)
    latencies, statuses, errors, elapsed = asyncio.run(_load(bases, seconds, connections))
    after = _cpu_seconds(servers), _cpu_seconds(databases)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    n = max(len(latencies), 1)
    return Measured(Result(target.name, "python", len(latencies), elapsed, pct(0.50), pct(0.99), errors,
                           dict(statuses)),
                    1e6 * (after[0] - before[0]) / n, 1e6 * (after[1] - before[1]) / n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per target and round (max 60)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="measure every target this many times (max 5)")
    parser.add_argument("--postgres", default=os.environ.get(POSTGRES_ENV),
                        help=f"a PostgreSQL DSN (default ${POSTGRES_ENV}); without one, PostgreSQL is skipped")
    parser.add_argument("--only", action="append", metavar="NAME", help="measure only these targets")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), 60.0)
    rounds = min(max(args.rounds, 1), 5)
    targets = [Target("memory", "memory", 1), Target("sqlite-1w", "sqlite", 1), Target("sqlite-2w", "sqlite", 2)]
    if args.postgres:
        targets += [Target("pg-1r", "postgres", 1), Target("pg-2r", "postgres", 2)]
    if args.only:
        targets = [t for t in targets if t.name in args.only]
    results: dict[str, list[Measured]] = {t.name: [] for t in targets}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(rounds):
            for target in targets:
                with serve(target, args.postgres, scratch) as bases:
                    results[target.name].append(measure(target, bases, seconds, args.connections))
    print(f"stores: {seconds:g} s per target, {args.connections} connections, {rounds} round(s), "
          f"client python (same machine); rate limit off")
    print(f"{'target':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x memory':>9} {'p99 x mem':>10} "
          f"{'cpu us/req':>10} {'pg us/req':>9}  statuses")
    chosen = {name: sorted(runs, key=lambda m: m.result.rps)[len(runs) // 2] for name, runs in results.items()}
    memory = chosen["memory"].result if "memory" in chosen else None
    for name, measured in chosen.items():
        result = measured.result
        ratio = f"{result.rps / memory.rps:.2f}" if memory else "-"
        p99 = f"{result.p99_ms / memory.p99_ms:.2f}" if memory and memory.p99_ms else "-"
        mix = " ".join(f"{k}:{v}" for k, v in sorted(result.statuses.items()))
        print(f"{name:<10} {result.rps:>8,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {ratio:>9} {p99:>10} "
              f"{measured.server_us:>10.0f} {measured.postgres_us:>9.0f}  {mix} errors={result.errors}")
    if "pg-1r" in chosen and "pg-2r" in chosen:
        print(f"pg 2 replicas / 1 replica: {chosen['pg-2r'].result.rps / chosen['pg-1r'].result.rps:.2f}x")
    if rounds > 1:
        spread = {name: statistics.pstdev([m.result.rps for m in runs]) for name, runs in results.items()}
        print("round-to-round spread (req/s, stdev): " + ", ".join(f"{k} {v:,.0f}" for k, v in spread.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
