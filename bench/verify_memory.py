"""Peak RSS of `avatar-contract verify` against servers whose every answer is large.

    python bench/verify_memory.py                    # 1 MB and 200 KB answers, quick profile
    python bench/verify_memory.py --sizes 1000000 --profile default

Each server (uvicorn, in its own process, so only verify's memory is measured)
answers like a plain target: 401 without a key, 400 to an invalid body, 200
and an avatar to a valid create; every body is padded with one JSON string to
``size`` bytes.  verify runs in a child process with --allow-create; its peak
RSS is the child's ru_maxrss.  Target: ≤ 200 MB on any profile (issue 16).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("bench-key-1", "bench-key-2")

SERVER = r'''
import json, sys, uvicorn
from avatar_contract.validators import Linter
size, port = int(sys.argv[1]), int(sys.argv[2])
keys = {"bench-key-1": "t1", "bench-key-2": "t2"}
linter = Linter()
made = {}

def padded(doc):
    raw = json.dumps(doc)
    return json.dumps({**doc, "padding": "x" * max(0, size - len(raw) - 20)}).encode()

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    raw = b""
    while True:
        m = await receive()
        raw += m.get("body", b"")
        if not m.get("more_body"):
            break
    h = dict(scope["headers"])
    key = h.get(b"x-api-key", b"").decode() or h.get(b"authorization", b"").decode().removeprefix("Bearer ")
    if scope["path"] == "/openapi.json":
        status, body = 200, b"{}"
    elif key not in keys:
        status, body = 401, padded({"error": {"code": "authentication_failed", "message": "no"}})
    elif scope["method"] != "POST" or not linter.lint_request(raw).valid:
        status, body = 400, padded({"error": {"code": "invalid_parameter", "message": "bad", "param": None}})
    else:
        idem = (keys[key], h.get(b"idempotency-key", b"").decode())
        if idem[1] and idem in made:
            status, body = 200, made[idem]
        else:
            n = len(made) + 1
            doc = json.loads(raw)
            item = {"id": f"look-{n}-{idem[0]}", "name": doc.get("name", "x"), "avatar_type": {"photo": "photo_avatar",
                    "digital_twin": "digital_twin", "prompt": "photo_avatar"}.get(doc.get("type"), "photo_avatar"),
                    "group_id": doc.get("avatar_group_id") or f"grp-{n}", "status": "processing"}
            group = {"id": item["group_id"], "name": item["name"], "created_at": 1, "looks_count": 1,
                     "status": "processing"}
            status, body = 200, padded({"data": {"avatar_item": item, "avatar_group": group}})
            if idem[1]:
                made[idem] = body
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})

uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(size: int, profile: str) -> tuple[float, int, float]:
    """(peak RSS in MB, verify's exit code, seconds) against a server of ``size``-byte answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(size), str(port)], cwd=tempfile.gettempdir())
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the bench server did not start") from None
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as reports:
            script = ("import resource, sys\nfrom avatar_contract.validators._cli import main\n"
                      "code = main(sys.argv[1:])\n"
                      "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                      "sys.exit(code)\n")
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-c", script, "verify", "--base-url", f"http://127.0.0.1:{port}",
                 "--api-key", KEYS[0], "--second-api-key", KEYS[1], "--allow-create", "--profile", profile,
                 "--asset", str(ROOT / "tests" / "suite" / "assets.toml"), "--seed", "1",
                 "--report-dir", reports, "--burst", "60"],
                capture_output=True, text=True, cwd=tempfile.gettempdir(),
                env={k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")})
            seconds = time.monotonic() - started
        peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
        if not peak:
            raise RuntimeError(f"verify did not finish: {done.stderr[-2000:]}")
        return int(peak[-1].split()[1]) / 1024, done.returncode, seconds
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 200_000])
    parser.add_argument("--profile", default="quick", choices=["quick", "default", "thorough"])
    args = parser.parse_args()
    for size in args.sizes:
        peak, code, seconds = measure(size, args.profile)
        print(json.dumps({"answer_bytes": size, "profile": args.profile, "peak_rss_mb": round(peak, 1),
                          "exit": code, "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
