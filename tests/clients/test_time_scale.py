"""A correct client read from the spec alone passes everything at --time-scale 0.25 (exit 0).

The client is modelled on an independent tester's: urllib, a UUID key per intent, full-jitter
backoff (base 0.4 s, cap 4 s, 5 attempts), a 2 s request timeout, 1-1.5 s after a 409, and a
Retry-After read as the spec's header schema says (``type: integer``): whole seconds only.  At
--time-scale 0.25 the emulator used to say ``Retry-After: 0.5`` (so this client backed off too
early) and held the in-flight create 1.25 s, under its timeout (so no 409 could ever be judged).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from avatar_contract.validators._cli import main

pytestmark = [pytest.mark.http, pytest.mark.slow]  # a served emulator, the client as a process

SPEC_LITERAL = '''
import json, os, random, socket, sys, time, urllib.error, urllib.request, uuid

def send(url, headers, data):
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=2.0) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}
    except (urllib.error.URLError, OSError):
        return None, {}

def create(base, api_key, name, n, auth):
    body = json.dumps({"type": "photo", "name": name,
                       "file": {"type": "url", "url": f"https://example.com/faces/{n}.jpg"}}).encode()
    key, attempts, waits = str(uuid.uuid4()), 0, 0
    while True:
        attempts += 1
        headers = {"content-type": "application/json", "Idempotency-Key": key, **auth}
        status, answer = send(base + "/v3/avatars", headers, body)
        if status is not None and 200 <= status < 300:
            return True
        if status == 409:
            waits, attempts = waits + 1, attempts - 1
            if waits > 8:
                return False
            time.sleep(1.0 + random.uniform(0, 0.5))
            continue
        backoff = random.uniform(0, min(4.0, 0.4 * 2 ** (attempts - 1)))
        if status == 429:
            value = (answer.get("retry-after") or "").strip()
            wait = float(value) if value.isdigit() else backoff  # the spec: integer seconds, nothing else
            if wait > 60 or attempts >= 5:
                return False
            time.sleep(wait + 0.1)
            continue
        if status is None or status >= 500:
            if attempts >= 5:
                return False
            time.sleep(backoff)
            continue
        return False

base, api_key = os.environ["AVATAR_API_BASE_URL"].rstrip("/"), os.environ["AVATAR_API_KEY"]
auth = {"Authorization": api_key} if "--no-bearer" in sys.argv else {"x-api-key": api_key}
tag = uuid.uuid4().hex[:6]
made = [create(base, api_key, f"spec-literal-{tag}-{n}", n, auth)
        for n in range(int(os.environ.get("AVATAR_CLIENT_INTENTS", "3")))]
sys.exit(0 if all(made) else 1)
'''


def _client(tmp_path: Path) -> str:
    path = tmp_path / "spec_literal_client.py"
    path.write_text(SPEC_LITERAL, encoding="utf-8")
    return str(path)


def test_a_spec_literal_client_passes_every_check_at_a_quarter_of_the_waits(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade-client", "--time-scale", "0.25", "--report-dir", str(tmp_path / "reports"), "--",
                 sys.executable, _client(tmp_path)])
    out, err = capsys.readouterr()
    assert "retry-safety score: 100/100 (14 of 14 checks pass)" in out, out
    assert code == 0
    # Progress to stderr, the report to stdout: each scenario line once, on stderr.
    assert "scenario in-flight: " in err and "scenario " not in out
    assert out.splitlines()[2].split() == ["clause", "verdict", "cases", "detail"]


def test_a_credential_in_the_wrong_header_is_said_plainly(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade-client", "--scenario", "clean", "--scenario", "ambiguous-5xx", "--report-dir",
                 str(tmp_path / "reports"), "--", sys.executable, _client(tmp_path), "--no-bearer"])
    out, _ = capsys.readouterr()
    assert code == 3
    refused = [line for line in out.splitlines() if line.startswith("every create")]
    assert refused == ["every create (6) was answered 401: the emulator never accepted the client's credential "
                       "(it sent an Authorization header without the Bearer scheme); check the API key the client "
                       "sends (AVATAR_API_KEY) and the header it goes in (x-api-key: KEY, or Authorization: Bearer "
                       "KEY)"]
