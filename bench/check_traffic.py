"""check-traffic's speed and memory on a generated journal of 1,000,000 exchanges.

    python bench/check_traffic.py                     # 1,000,000 exchanges over 40 days
    python bench/check_traffic.py --exchanges 100000 --days 4
    python bench/check_traffic.py --journal j.ndjson --keep            # generate once, keep it
    python bench/check_traffic.py --journal j.ndjson --python OLD/.venv/bin/python  # another checkout's judge

The journal is generated here (never committed) from answers the in-process
emulator gave: per 100 exchanges, 60 creates under fresh keys, 10 retries of one
of them (replays), 15 invalid bodies (400), 5 without credentials (401), 5 with
a malformed key (400) and 5 rate-limited (429), spread evenly over ``--days``,
so the replay window (24 h) holds about 1/days of the keys.  Every create gets
its own ids, name and key, so nothing is judged from a cache.  The judge runs
in a child process (one core: it is single-threaded); its peak RSS is the
child's VmHWM (its ru_maxrss where there is no /proc).  The rate is given per CPU second of the child (user +
system: what one core does, however busy the machine is) and per wall second.
``--cache off`` judges every answer afresh (``TrafficJudge(cache=False)``);
``--python`` runs the judge of another checkout on the same journal, so two
versions are compared under the same conditions.  Targets (issue 17): ≥ 20,000
exchanges/s, memory bounded by the keys within the TTL, not by the file's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.validators.journal import ExchangeRecord, RecordedRequest, RecordedResponse, body_of, dumps_line

KEY = "bench-traffic-key"
TENANT = "t_" + "0" * 16
PHOTO = {"type": "photo", "name": "Look", "file": {"type": "url", "url": "https://example.com/face.jpg"}}


async def _answers() -> dict[str, tuple[int, list[tuple[str, str]], bytes]]:
    config = EmulatorConfig(api_keys=(KEY,), rate_limit=(1, 3600.0), processing_delay=0)
    transport = httpx.ASGITransport(app=create_app(config))
    out = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for name, headers, body in (("create", {"x-api-key": KEY}, PHOTO), ("limited", {"x-api-key": KEY}, {}),
                                    ("unauthorized", {}, PHOTO)):
            answer = await client.post("/v3/avatars", json=body, headers=headers)
            out[name] = (answer.status_code, list(answer.headers.items()), answer.content)
    config = EmulatorConfig(api_keys=(KEY,), rate_limit=None, processing_delay=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(config)), base_url="http://b") as client:
        answer = await client.post("/v3/avatars", json={}, headers={"x-api-key": KEY})
        out["invalid"] = (answer.status_code, list(answer.headers.items()), answer.content)
    return out


def generate(path: Path, exchanges: int, days: float) -> None:
    answers = asyncio.run(_answers())
    status, headers, template = answers["create"]
    created = json.loads(template)
    item_id, group_id = created["data"]["avatar_item"]["id"], created["data"]["avatar_group"]["id"]
    step = days * 86400 / exchanges
    start = 1_790_000_000.0
    recent: list[tuple[str, bytes, bytes]] = []
    with path.open("wb") as out:
        for n in range(exchanges):
            when = start + n * step
            slot = n % 100
            tenant: str | None = TENANT
            scheme: str | None = "x-api-key"
            key: str | None = f"k-{n:09d}"
            if slot < 60 or (slot < 70 and not recent):
                name = f"Look {n}"
                body = json.dumps({**PHOTO, "name": name}).encode()
                answer = (template.replace(item_id.encode(), f"lk_{n:024x}".encode())
                          .replace(group_id.encode(), f"ag_{n:024x}".encode()).replace(b'"Look"', f'"{name}"'.encode()))
                recent = [*recent[-99:], (key, body, answer)]
                code, kept = status, headers
            elif slot < 70:
                key, body, answer = recent[n % len(recent)]
                code, kept = status, headers
            elif slot < 85:
                body, (code, kept, answer) = b"{}", answers["invalid"]
            elif slot < 90:
                body, (code, kept, answer) = json.dumps(PHOTO).encode(), answers["unauthorized"]
                tenant, scheme, key = None, None, None
            elif slot < 95:
                key, body, (code, kept, answer) = "bad key", json.dumps(PHOTO).encode(), answers["invalid"]
            else:
                body, (code, kept, answer) = b"{}", answers["limited"]
            request_headers = (("content-type", "application/json"),) + ((("idempotency-key", key),) if key else ())
            out.write(dumps_line(ExchangeRecord(
                id=n, source="bench", started=when, ended=when + 0.05, connection=None, tenant=tenant,
                request=RecordedRequest("POST", "/v3/avatars", "", request_headers, body_of(body), scheme),
                outcome="answered", response=RecordedResponse(code, tuple(kept), body_of(answer)))))


CHILD = r'''
import json, re, sys, time
from pathlib import Path
from avatar_contract.contract_tests.traffic import checking
if sys.argv[2] == "off":  # every answer judged afresh
    judge_class = checking.TrafficJudge
    checking.TrafficJudge = lambda ttl=None: judge_class(ttl, cache=False)
began, cpu = time.perf_counter(), time.process_time()
report, judge = checking.check_files([Path(sys.argv[1])])
took, used = time.perf_counter() - began, time.process_time() - cpu
status = Path("/proc/self/status")  # VmHWM: Linux keeps ru_maxrss across exec (the parent's peak would count)
found = re.search(r"VmHWM:\s+(\d+) kB", status.read_text()) if status.exists() else None
print(json.dumps({"seconds": took, "cpu": used, "exchanges": judge.exchanges, "peak_keys": judge.replays.peak,
                  "rss_kb": int(found.group(1)) if found else None,
                  "outcome": report.outcome,
                  "verdicts": {r.name: r.verdict.value for r in report.results}}))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchanges", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=40.0)
    parser.add_argument("--journal", type=Path, help="judge this journal (generated here first unless it exists)")
    parser.add_argument("--keep", action="store_true", help="keep the generated --journal (default: removed)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter (and so the checkout) that judges")
    parser.add_argument("--cache", choices=("on", "off"), default="on", help="the response-verdict cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-traffic-") as tmp:
        path = args.journal or Path(tmp) / "journal.ndjson"
        made = not path.exists()
        if made:
            began = time.perf_counter()
            generate(path, args.exchanges, args.days)
            print(f"generated {args.exchanges:,} exchanges over {args.days:g} days: "
                  f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - began:.0f} s", flush=True)
        try:
            done = subprocess.run([args.python, "-c", CHILD, str(path), args.cache], capture_output=True, text=True,
                                  check=False)
        finally:
            if made and args.journal and not args.keep:
                path.unlink()
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout)
        peak = (result["rss_kb"] or resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        n = result["exchanges"]
        print(f"check-traffic ({args.python}, cache {args.cache}): {n:,} exchanges of "
              f"{path.stat().st_size / 1e6:.0f} MB in {result['cpu']:.1f} CPU s = {n / result['cpu']:,.0f} "
              f"exchanges/s on one core ({result['seconds']:.1f} s wall = {n / result['seconds']:,.0f}/s); "
              f"peak RSS {peak:.0f} MB; at most {result['peak_keys']:,} keys held (target: >= 20,000/s)")
        failed = [n for n, v in result["verdicts"].items() if v == "fail"]
        print(f"verdicts: {result['outcome']}; failed: {', '.join(failed) or 'none'}; "
              f"{json.dumps(result['verdicts'], sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
