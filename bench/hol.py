"""Small-request latency while the emulator validates a 15 MB body (head-of-line blocking).

    python bench/hol.py               # offloaded (current) vs on the event loop (the old behaviour)

The emulator is served by uvicorn (1 worker) on 127.0.0.1.  One client sends a
legal-size body (about 15 MB, about 1.3 M fields); meanwhile another sends
small creates back to back and records each one's latency.  Run once with
large bodies validated on a worker thread (the default) and once with
everything on the event loop (``offload_bytes`` set past the body size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

import httpx

KEY = "hol-bench-key"


def big_body(fields: int, valid: bool = True) -> bytes:
    extra = ",".join(f'"x{i:x}":{i % 10}' for i in range(fields))
    # Invalid (file.url missing) is the expensive case: the 400 names the problem,
    # so the linter builds its findings, a warning per unknown field included.
    asset = '{"type":"url","url":"https://example.com/a.jpg"}' if valid else '{"type":"url"}'
    head = '{"type":"photo","name":"Big","file":' + asset + ","
    return (head + extra + "}").encode()


def serve(port: int, offload: int) -> None:
    from avatar_contract.emulator import EmulatorConfig
    from avatar_contract.emulator._serve import serve as run

    run(EmulatorConfig(api_keys=(KEY,), rate_limit=None, offload_bytes=offload), host="127.0.0.1", port=port,
        log_level="warning", access_log=False)


async def measure(base: str, body: bytes) -> tuple[float, list[float], list[float]]:
    small = json.dumps({"type": "photo", "name": "S", "file": {"type": "url", "url": "https://e.com/a.jpg"}})
    headers = {"x-api-key": KEY, "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        idle = []
        for _ in range(50):
            started = time.perf_counter()
            await client.post("/v3/avatars", content=small, headers=headers)
            idle.append(time.perf_counter() - started)
        async with httpx.AsyncClient(base_url=base, timeout=120) as big_client:
            started_big = time.perf_counter()
            big = asyncio.create_task(big_client.post("/v3/avatars", content=body, headers=headers))
            during: list[float] = []
            await asyncio.sleep(0.05)
            while not big.done():
                started = time.perf_counter()
                await client.post("/v3/avatars", content=small, headers=headers)
                if not big.done():
                    during.append(time.perf_counter() - started)
            response = await big
            assert response.status_code in (200, 400), response.text[:200]
            return time.perf_counter() - started_big, idle, during


def run_mode(body: bytes, offload: int) -> tuple[float, list[float], list[float]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--offload", str(offload)],
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return asyncio.run(measure(base, body))
    finally:
        proc.terminate()
        proc.wait()


def ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fields", type=int, default=1_300_000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--offload", type=int, default=256 * 1024, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.offload)
        return 0
    print(f"{'big body':<9} {'validation':<18} {'big (s)':>8} {'idle p50':>9} {'during: n':>10} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for kind in ("valid", "invalid"):
        body = big_body(args.fields, kind == "valid")
        for label, offload in (("worker thread", 256 * 1024), ("event loop (old)", len(body) + 1)):
            total, idle, during = run_mode(body, offload)
            print(f"{kind:<9} {label:<18} {total:>8.2f} {ms(idle, 0.5):>9} {len(during):>10} {ms(during, 0.5):>7} "
                  f"{ms(during, 0.99):>7} {(max(during) * 1000 if during else 0):>7.1f}")
    print(f"big bodies: {len(big_body(args.fields)) / 1e6:.1f} MB, {args.fields:,} fields; "
          "'during: n' = small creates answered while the big one was in progress")
    return 0


if __name__ == "__main__":
    sys.exit(main())
