"""check-traffic's peak memory on large HAR files and VCR cassettes, against their size.

    python bench/traffic_streaming.py                          # 20,000 and 100,000 entries each
    python bench/traffic_streaming.py --entries 5000 50000 --python OLD/.venv/bin/python

The exchanges are bench/check_traffic.py's (the emulator's answers: creates,
replays, invalid bodies, 401s, 429s; each create its own ids and name), written
as a HAR 1.2 file (pretty-printed, as browsers export it) and as a schemathesis
VCR cassette.  Each file is judged by ``check_files`` in a child process; its
peak RSS (ru_maxrss) is what the file cost.  Read whole, memory grows with the
file; streamed, it stays at the judge's own (the keys within the replay window).
The child's peak is its VmHWM (Linux keeps ru_maxrss across exec: a child would
report this script's peak, which holds every record while it writes the files).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_traffic import generate

from avatar_contract.validators.journal import ExchangeRecord, read_journal

KEY = "bench-streaming-key"
CHILD = r'''
import json, re, resource, sys, time
from pathlib import Path
from avatar_contract.contract_tests.traffic.checking import check_files
began = time.process_time()
report, judge = check_files([Path(sys.argv[1])])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's
# peak (this script holds every record while it writes the files).
status = Path("/proc/self/status")
found = re.search(r"VmHWM:\s+(\d+) kB", status.read_text()) if status.exists() else None
peak = int(found.group(1)) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"exchanges": judge.exchanges, "cpu": time.process_time() - began, "outcome": report.outcome,
                  "rss_mb": peak / 1024}))
'''


def _headers(record: ExchangeRecord) -> list[tuple[str, str]]:
    pairs = list(record.request.headers)
    return [*pairs, ("x-api-key", KEY)] if record.request.credential else pairs


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")


def har_entry(record: ExchangeRecord) -> dict[str, Any]:
    answer = record.response
    assert answer is not None
    return {"startedDateTime": _iso(record.started), "time": ((record.ended or record.started) - record.started) * 1000,
            "request": {"method": record.request.method, "url": f"http://bench{record.request.path}",
                        "httpVersion": "HTTP/1.1", "headers": [{"name": k, "value": v} for k, v in _headers(record)],
                        "postData": {"mimeType": "application/json", "text": record.request.body.text}},
            "response": {"status": answer.status, "statusText": "", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": k, "value": v} for k, v in answer.headers],
                         "content": {"size": answer.body.size, "mimeType": "application/json",
                                     "text": answer.body.text}}}


def vcr_interaction(record: ExchangeRecord) -> dict[str, Any]:
    answer = record.response
    assert answer is not None
    elapsed = (record.ended or record.started) - record.started

    def headers(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in pairs:
            out.setdefault(k, []).append(v)
        return out

    return {"id": str(record.id), "status": "SUCCESS", "recorded_at": _iso(record.started + elapsed),
            "request": {"uri": f"http://bench{record.request.path}", "method": record.request.method,
                        "headers": headers(_headers(record)),
                        "body": {"encoding": "utf-8", "string": record.request.body.text}},
            "response": {"status": {"code": str(answer.status), "message": ""}, "elapsed": f"{elapsed:.3f}",
                         "headers": headers(list(answer.headers)),
                         "body": {"encoding": "utf-8", "string": answer.body.text}, "http_version": "1.1"}}


def write_har(records: list[ExchangeRecord], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n  "log": {\n    "version": "1.2",\n    "creator": {"name": "bench", "version": "1"},\n'
                  '    "entries": [\n')
        for n, record in enumerate(records):
            out.write((",\n" if n else "") + json.dumps(har_entry(record), indent=2))
        out.write("\n    ]\n  }\n}\n")


def write_vcr(records: list[ExchangeRecord], path: Path) -> None:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as out:
        out.write("command: st run bench\nrecorded_with: Schemathesis\nhttp_interactions:\n")
        for record in records:
            out.write(yaml.dump([vcr_interaction(record)], Dumper=dumper, sort_keys=False, allow_unicode=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--python", default=sys.executable, help="the interpreter (and so the checkout) that judges")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        for entries in args.entries:
            journal = Path(tmp) / "journal.ndjson"
            generate(journal, entries, max(1.0, entries / 25_000))
            with journal.open("rb") as stream:
                records = list(read_journal(stream))
            journal.unlink()
            for name, write in (("har", write_har), ("vcr", write_vcr)):
                path = Path(tmp) / f"traffic.{name}"
                began = time.perf_counter()
                write(records, path)
                wrote = time.perf_counter() - began
                done = subprocess.run([args.python, "-c", CHILD, str(path)], capture_output=True, text=True,
                                      check=False)
                if done.returncode != 0:
                    print(done.stderr, file=sys.stderr)
                    return 1
                result = json.loads(done.stdout)
                print(f"{name}: {entries:,} entries, {path.stat().st_size / 1e6:,.0f} MB (written in {wrote:.0f} s): "
                      f"peak RSS {result['rss_mb']:.0f} MB; {result['exchanges']:,} exchanges judged in "
                      f"{result['cpu']:.1f} CPU s ({result['exchanges'] / result['cpu']:,.0f}/s); {result['outcome']}",
                      flush=True)
                path.unlink()
            del records
    print(f"(judged by {args.python}; peak RSS of the whole child, the interpreter and the spec included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
