"""Load benchmark for the emulator: req/s, p50 and p99 for a mix of creates, 400s and replays.

    python bench/load.py                      # 10 s with wrk if installed, else a Python client
    python bench/load.py --client python      # force the asyncio client
    python bench/load.py --prism "$(command -v prism)"   # also measure Prism on the same mix

It starts ``avatar-contract emulator`` (uvicorn, one worker, 127.0.0.1 only,
rate limit off: one key at thousands of req/s would otherwise be all 429s),
seeds the Idempotency-Keys that the replays reuse, and runs a bounded load:

* 50% valid creates (photo, digital twin, prompt), 30% of all requests with a
  fresh Idempotency-Key and 20% with none;
* 30% schema-invalid bodies (400s);
* 20% replays of one of 16 seeded keys, with the original body.

wrk (``apt-get install wrk``) is the default client because it is C: on a
2-core machine a Python client would spend the second core generating load
and measure itself.  Both client and server run here, so the figures are a
floor for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

KEY = "bench-key"
REPLAY_KEYS = 16
Body = dict[str, object]
VALID: list[Body] = [
    {"type": "photo", "name": "Anna", "file": {"type": "url", "url": "https://example.com/a.jpg"}},
    {"type": "digital_twin", "name": "Ben", "file": {"type": "asset_id", "asset_id": "asset_1"}},
    {"type": "prompt", "name": "Cleo", "prompt": "a friendly presenter in a blue suit",
     "reference_images": [{"type": "url", "url": "https://example.com/r.jpg"}],
     "avatar_group_id": "ag_bench"},
]
INVALID: list[Body] = [
    {"type": "photo", "name": "Anna", "file": {"type": "url"}},
    {"type": "prompt", "name": "Cleo", "prompt": "x" * 1001},
    {"type": "video", "name": "Dan", "file": {"type": "url", "url": "https://example.com/v.mp4"}},
]
REPLAY_BODY = VALID[0]
MAX_SECONDS, MAX_CONNECTIONS = 60.0, 256


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _lua_strings(values: list[Body]) -> str:
    return ", ".join(json.dumps(_compact(v)) for v in values)  # a JSON string is a Lua string here


LUA = """
-- Request mix for bench/load.py (generated; see the module docstring).
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
local valid = {%(valid)s}
local invalid = {%(invalid)s}
local replay_body = %(replay)s
local counter = 0
statuses = {}
function request()
  counter = counter + 1
  local slot = counter %% 10
  local headers = {["x-api-key"] = "%(key)s", ["content-type"] = "application/json"}
  if slot < 5 then
    if slot < 3 then headers["idempotency-key"] = "bench-" .. tid .. "-" .. counter end
    return wrk.format("POST", "/v3/avatars", headers, valid[(counter %% #valid) + 1])
  elseif slot < 8 then
    return wrk.format("POST", "/v3/avatars", headers, invalid[(counter %% #invalid) + 1])
  end
  headers["idempotency-key"] = "replay-" .. (counter %% %(replays)d)
  return wrk.format("POST", "/v3/avatars", headers, replay_body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      parts[code] = (parts[code] or 0) + n
    end
  end
  local out = {}
  for code, n in pairs(parts) do table.insert(out, string.format('"%%d":%%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"errors":%%d,"statuses":{%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(out, ",")))
end
"""


@dataclass
class Result:
    target: str
    client: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        mix = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (f"{self.target:<9} {self.client:<6} {self.rps:>9,.0f} req/s  p50 {self.p50_ms:6.2f} ms  "
                f"p99 {self.p99_ms:6.2f} ms  n={self.requests} errors={self.errors}  [{mix}]")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"load: server exited with {proc.returncode}")
        try:
            httpx.post(url, json={}, headers={"x-api-key": KEY}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"load: {url} did not come up within {seconds:.0f} s")


@contextmanager
def _process(argv: list[str], ready_url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_ready(ready_url, proc)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # our own session: the server and its children only
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def emulator(loop: str, http: str, pids: list[int] | None = None) -> Iterator[str]:
    """The emulator's base URL (its process id appended to ``pids``, for CPU accounting)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "avatar_contract.emulator", "--host", "127.0.0.1", "--port", str(port),
            "--api-key", KEY, "--rate-limit", "off", "--no-access-log", "--log-level", "warning",
            "--loop", loop, "--http", http]
    with _process(argv, f"{base}/v3/avatars") as proc:
        if pids is not None:
            pids.append(proc.pid)
        yield base


@contextmanager
def prism(binary: str, spec: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with _process([binary, "mock", str(spec), "-h", "127.0.0.1", "-p", str(port)],
                  f"{base}/v3/avatars"):
        yield base


def seed(base: str) -> None:
    """Create the records the replays hit, so every replay really is one."""
    with httpx.Client(base_url=base, headers={"x-api-key": KEY}) as client:
        for i in range(REPLAY_KEYS):
            client.post("/v3/avatars", json=REPLAY_BODY, headers={"idempotency-key": f"replay-{i}"})


def run_wrk(base: str, target: str, seconds: float, connections: int, threads: int) -> Result:
    script = LUA % {"valid": _lua_strings(VALID), "invalid": _lua_strings(INVALID),
                    "replay": json.dumps(_compact(REPLAY_BODY)), "key": KEY, "replays": REPLAY_KEYS}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
             "-s", handle.name, base],
            capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(handle.name)
    line = next((ln for ln in out.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"load: wrk printed no result:\n{out}")
    data = json.loads(line[len("RESULT "):])
    return Result(target, "wrk", data["requests"], data["duration_us"] / 1e6,
                  data["p50_us"] / 1000, data["p99_us"] / 1000, data["errors"],
                  {str(k): v for k, v in data["statuses"].items()})


def _requests(host: str) -> list[bytes]:
    """The same 10-slot mix as the Lua script; fresh keys are filled in per request."""
    def raw(body: Body, key: str | None) -> bytes:
        payload = _compact(body).encode()
        head = (f"POST /v3/avatars HTTP/1.1\r\nhost: {host}\r\nx-api-key: {KEY}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n")
        if key is not None:
            head += f"idempotency-key: {key}\r\n"
        return head.encode() + b"\r\n" + payload

    slots = []
    for slot in range(10):
        if slot < 5:
            slots.append(raw(VALID[slot % len(VALID)], "{fresh}" if slot < 3 else None))
        elif slot < 8:
            slots.append(raw(INVALID[slot % len(INVALID)], None))
        else:
            slots.append(raw(REPLAY_BODY, "{replay}"))
    return slots


async def _connection(host: str, port: int, slots: list[bytes], stop: float, worker: int,
                      latencies: list[float], statuses: Counter[str]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors, n = 0, 0
    try:
        while time.perf_counter() < stop:
            n += 1
            request = slots[n % 10].replace(b"{fresh}", f"py-{worker}-{n}".encode()).replace(
                b"{replay}", f"replay-{n % REPLAY_KEYS}".encode())
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for header in head.split(b"\r\n"):
                if header[:15].lower() == b"content-length:":
                    length = int(header[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[head[9:12].decode()] += 1
    except (OSError, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
    return errors


async def _python_load(base: str, seconds: float, connections: int) -> tuple[list[float], Counter[str], int, float]:
    url = httpx.URL(base)
    host, port = url.host, url.port or 80
    slots = _requests(f"{host}:{port}")
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    errors = await asyncio.gather(*(
        _connection(host, port, slots, started + seconds, i, latencies, statuses)
        for i in range(connections)))
    return latencies, statuses, sum(errors), time.perf_counter() - started


def run_python(base: str, target: str, seconds: float, connections: int) -> Result:
    latencies, statuses, errors, elapsed = asyncio.run(_python_load(base, seconds, connections))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return Result(target, "python", len(latencies), elapsed, pct(0.50), pct(0.99), errors,
                  dict(statuses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help=f"per target (max {MAX_SECONDS:g})")
    parser.add_argument("--connections", type=int, default=32, help=f"(max {MAX_CONNECTIONS})")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: 2 cores)")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto")
    parser.add_argument("--prism", metavar="PATH", default=shutil.which("prism"),
                        help="Prism binary to measure on the same mix (default: 'prism' on PATH)")
    parser.add_argument("--json", action="store_true", help="print results as JSON too")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    connections = min(max(args.connections, 1), MAX_CONNECTIONS)
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), or use --client python")

    def measure(base: str, target: str) -> Result:
        if client == "wrk":
            return run_wrk(base, target, seconds, connections, args.threads)
        return run_python(base, target, seconds, connections)

    results: list[Result] = []
    with emulator(args.loop, args.http) as base:
        seed(base)
        results.append(measure(base, "emulator"))
        spec = httpx.get(f"{base}/openapi.json").content
    print(f"load: {seconds:g} s per target, {connections} connections, client {client}, "
          f"server loop={args.loop} http={args.http}, one uvicorn worker")
    print(results[0].line())
    if args.prism:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "openapi.json"
            path.write_bytes(spec)  # the normalised spec: Prism rejects the published mapping form
            with prism(args.prism, path) as prism_base:
                results.append(measure(prism_base, "prism"))
        print(results[1].line())
        print(f"emulator/prism throughput ratio: {results[0].rps / max(results[1].rps, 1e-9):.1f}x")
    else:
        print("prism: not measured (no --prism PATH and no 'prism' on PATH)")
    if args.json:
        print(json.dumps([{**r.__dict__, "rps": round(r.rps, 1)} for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
