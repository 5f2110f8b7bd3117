"""RSS of the emulator's process after N keyed creates: replay records before and after compaction.

    python bench/memory.py                  # 50,000 keyed creates, both modes, one process each
    python bench/memory.py --creates 20000

"before" reproduces the old storage: the replay record keeps orjson's output
object itself (an over-allocated buffer) and nothing caps the records.
"after" is the current code: an exact-size copy, and the default
``--idempotency-max-records`` cap.  Requests go straight into the ASGI app
(no sockets), so only the emulator's own memory is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
from typing import Any

STEP = 10_000


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def drive(creates: int, before: bool) -> list[tuple[int, float]]:
    from avatar_contract.emulator import DEFAULT_API_KEY, EmulatorConfig, _records, create_app

    if before:
        _records.StoredResponse.compact = classmethod(  # type: ignore[method-assign]
            lambda cls, status, body, content_type: cls(status, body, content_type))
    config = EmulatorConfig(rate_limit=None, processing_delay=0.0,
                            **({"idempotency_max_records": None} if before else {}))
    app = create_app(config)
    body = json.dumps({"type": "photo", "name": "Anna",
                       "file": {"type": "url", "url": "https://example.com/anna.jpg"}}).encode()

    async def create(key: str) -> int:
        scope: dict[str, Any] = {
            "type": "http", "http_version": "1.1", "method": "POST", "path": "/v3/avatars",
            "raw_path": b"/v3/avatars", "query_string": b"", "scheme": "http", "root_path": "",
            "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5000),
            "headers": [(b"x-api-key", DEFAULT_API_KEY.encode()), (b"idempotency-key", key.encode()),
                        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    gc.collect()
    points = [(0, rss_mb())]
    for i in range(creates):
        assert await create(f"mem-{i:08d}") == 200
        if (i + 1) % STEP == 0:
            gc.collect()
            points.append((i + 1, rss_mb()))
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=50_000)
    parser.add_argument("--mode", choices=("before", "after"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode:
        print(json.dumps(asyncio.run(drive(args.creates, args.mode == "before"))))
        return 0
    results = {}
    for mode in ("before", "after"):
        out = subprocess.run([sys.executable, __file__, "--creates", str(args.creates), "--mode", mode],
                             capture_output=True, text=True, check=True).stdout
        results[mode] = json.loads(out)
    print(f"{'keyed creates':>14}  {'RSS before (MB)':>16}  {'RSS after (MB)':>15}")
    for (n, before), (_, after) in zip(results["before"], results["after"], strict=True):
        print(f"{n:>14,}  {before:>16.1f}  {after:>15.1f}")
    for mode in ("before", "after"):
        points = results[mode]
        per_step = (points[-1][1] - points[0][1]) / max(1, (points[-1][0] // STEP))
        print(f"{mode}: {per_step:.1f} MB per {STEP:,} keyed creates "
              f"({per_step * 1024 * 1024 / STEP / 1024:.2f} KB per create, avatar + record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
