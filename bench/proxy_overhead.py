"""The validating proxy's overhead: the emulator served directly and through `avatar-contract proxy`, side by side.

    python bench/proxy_overhead.py                 # 10 s at 500 req/s each way, then 10 s closed-loop each way
    python bench/proxy_overhead.py --seconds 5 --rate 500 --connections 16

Both servers are uvicorn processes on 127.0.0.1 (the emulator: one worker, rate
limit off; the proxy in front of it); the load is bench/load.py's mix (creates,
invalid bodies, replays) from raw asyncio connections in this process.

* **Latency at a fixed rate** (open loop): request i is due at start + i/rate;
  its latency runs from when it was due (so a stall is counted, not hidden) to
  its last byte.  Added latency = proxy minus direct, at p50 and p99.
* **Throughput** (closed loop, ``--connections`` at once, as fast as answers come).

Targets (issue 17): added p50 <= 2 ms and p99 <= 10 ms at 500 req/s; throughput
through the proxy >= 0.5x the emulator's.  The machine has 2 cores shared by the
load, the emulator and the proxy, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import REPLAY_KEYS, _process, _requests, emulator, free_port, run_python, seed


@contextmanager
def proxy(upstream: str, reports: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "avatar_contract", "proxy", "--upstream", upstream, "--port", str(port),
            "--report-dir", reports]
    with _process(argv, f"{base}/v3/avatars"):
        yield base


async def _open_loop(base: str, seconds: float, rate: float, connections: int, phase: str) -> list[float]:
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    slots = _requests(f"{host}:{port}")
    total = int(seconds * rate)
    due = itertools.count()
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def worker(number: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (i := next(due)) < total:
                at = start + i / rate
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                request = slots[i % 10].replace(b"{fresh}", f"{phase}-{number}-{i}".encode()).replace(
                    b"{replay}", f"replay-{i % REPLAY_KEYS}".encode())
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(h[15:]) for h in head.split(b"\r\n") if h[:15].lower() == b"content-length:"), 0)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - at)
        finally:
            writer.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return sorted(latencies)


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as reports, emulator("auto", "auto") as direct:
        seed(direct)
        with proxy(direct, reports) as proxied:
            fixed = {}
            for name, base in (("direct", direct), ("proxy", proxied)):
                # Fresh keys per phase: the same key twice would be a (fast) replay of the other phase's create.
                fixed[name] = asyncio.run(_open_loop(base, args.seconds, args.rate, args.connections, name))
                print(f"{name:<6} at {args.rate:g} req/s: p50 {_pct(fixed[name], 0.5):6.2f} ms  "
                      f"p99 {_pct(fixed[name], 0.99):7.2f} ms  n={len(fixed[name])}", flush=True)
            print(f"added by the proxy: p50 {_pct(fixed['proxy'], 0.5) - _pct(fixed['direct'], 0.5):+.2f} ms, "
                  f"p99 {_pct(fixed['proxy'], 0.99) - _pct(fixed['direct'], 0.99):+.2f} ms "
                  "(targets: <= 2 ms, <= 10 ms)", flush=True)
            flat = {name: run_python(base, name, args.seconds, args.connections)
                    for name, base in (("direct", direct), ("proxy", proxied))}
            for result in flat.values():
                print(result.line(), flush=True)
            print(f"throughput through the proxy: {flat['proxy'].rps / flat['direct'].rps:.2f}x the emulator's "
                  "(target: >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
