"""What forwarding one request costs the proxy's client: httpx's AsyncClient, httpcore's pool, and the
proxy's own (contract_tests/traffic/upstream.py), each 16 at once against the emulator under uvicorn.

    python bench/proxy_clients.py                  # 3,000 creates each, on uvloop like the proxy
    python bench/proxy_clients.py --requests 5000

The figure that matters is CPU per request of this process (``time.process_time``):
req/s also depends on the emulator and on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpcore
import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import KEY, VALID, emulator, seed

from avatar_contract.contract_tests.traffic.upstream import Upstream

BODY = json.dumps(VALID[0]).encode()
HEADERS = [(b"x-api-key", KEY.encode()), (b"content-type", b"application/json")]
Call = Callable[[], Awaitable[None]]


def httpx_client(base: str) -> Call:
    client = httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    async def call() -> None:
        answer = await client.send(client.build_request("POST", "/v3/avatars", headers=HEADERS, content=BODY),
                                   stream=True)
        async for _ in answer.aiter_raw():
            pass
        await answer.aclose()
    return call


def httpcore_pool(base: str) -> Call:
    pool = httpcore.AsyncConnectionPool(max_connections=256, max_keepalive_connections=64)
    parts = httpx.URL(base)
    url = httpcore.URL(scheme=b"http", host=parts.host.encode(), port=parts.port, target=b"/v3/avatars")
    headers = [*HEADERS, (b"host", parts.netloc), (b"content-length", str(len(BODY)).encode())]

    async def call() -> None:
        answer = await pool.handle_async_request(httpcore.Request(b"POST", url, headers=headers, content=BODY))
        async for _ in answer.stream:  # type: ignore[union-attr]
            pass
        await answer.aclose()
    return call


def proxy_upstream(base: str) -> Call:
    upstream = Upstream(base, timeout=30.0)

    async def call() -> None:
        answer = await upstream.send(b"POST", b"/v3/avatars", HEADERS, BODY)
        async for _ in answer.chunks():
            pass
        await answer.aclose()
    return call


async def measure(call: Call, requests: int) -> tuple[float, float]:
    """(req/s, CPU µs per request) with 16 at once, after a warm-up."""
    for _ in range(50):
        await call()
    left = iter(range(requests))

    async def worker() -> None:
        for _ in left:
            await call()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(16)))
    return requests / (time.perf_counter() - wall), (time.process_time() - cpu) / requests * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    with emulator("auto", "auto") as base:
        seed(base)

        async def run() -> None:
            for name, make in (("httpx.AsyncClient", httpx_client), ("httpcore pool", httpcore_pool),
                               ("proxy's Upstream", proxy_upstream)):
                rate, cpu = await measure(make(base), args.requests)
                print(f"{name:<18} {rate:7,.0f} req/s  {cpu:6.0f} µs CPU per request (this process)", flush=True)

        uvloop.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
