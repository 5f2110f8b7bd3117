"""Clients that misbehave as processes: each scenario still ends within --timeout, with no traceback."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clients import grade_command
from avatar_contract.validators._cli import main

pytestmark = [pytest.mark.http, pytest.mark.slow]  # a served emulator, the client as a process

HANGS = "import time; time.sleep(120)"
EXITS = "pass"
# Connects and sends bytes that are not HTTP, then an unparseable body, then hangs up.
GARBAGE = """
import os, socket
host, port = os.environ['AVATAR_API_BASE_URL'].rsplit('/', 1)[-1].split(':')
for junk in (b'\\x00\\xff garbage \\r\\n\\r\\n', b'POST /v3/avatars HTTP/1.1\\r\\nHost: x\\r\\nx-api-key: '
             + os.environ['AVATAR_API_KEY'].encode() + b'\\r\\ncontent-length: 5\\r\\n\\r\\n{{{{{'):
    s = socket.create_connection((host, int(port)))
    s.sendall(junk)
    s.settimeout(2)
    try:
        s.recv(1000)
    except OSError:
        pass
    s.close()
"""
# Thousands of creates, as fast as it can, forever.
FLOOD = """
import os, httpx

url = os.environ['AVATAR_API_BASE_URL'] + '/v3/avatars'
with httpx.Client() as c:
    n = 0
    while True:
        n += 1
        c.post(url, json={'type': 'photo', 'name': f'n{n}', 'file': {'type': 'url', 'url': 'https://e.com/a.png'}},
               headers={'x-api-key': os.environ['AVATAR_API_KEY'], 'Idempotency-Key': f'k-{n}'})
"""


@pytest.mark.parametrize(("name", "code"), [("hangs", HANGS), ("exits at once", EXITS), ("garbage", GARBAGE)])
def test_a_misbehaving_client_ends_its_scenario_without_a_traceback(
        name: str, code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    exit_code = main(["grade-client", "--scenario", "clean", "--timeout", "3", "--report-dir", str(tmp_path),
                      "--", sys.executable, "-c", code])
    out, err = capsys.readouterr()
    assert exit_code in (1, 3), out + err
    assert "Traceback" not in out + err
    assert time.monotonic() - began < 60  # a generous bound: the scenario's own is 3 s
    if name == "hangs":
        assert "was still running after --timeout 3 s and was stopped" in out


def test_a_flood_stops_at_the_journal_limit(tmp_path: Path) -> None:
    result = grade_command([sys.executable, "-c", FLOOD], workdir=tmp_path, scenarios=["clean"], timeout=60,
                           journal_limit=300)
    (run,) = result.runs
    assert run.journal_full and len(run.records) == 300
    assert "the journal reached its limit (300 exchanges)" in run.stopped
    assert run.exit_codes == [None]  # stopped by the grader
    notes = [n for r in result.results for n in r.notes]
    assert any("journal reached its limit" in n for n in notes)


def test_a_command_that_cannot_start_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade-client", "--scenario", "clean", "--report-dir", str(tmp_path), "--",
                 str(tmp_path / "no-such-client")])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("avatar-contract grade-client: cannot start") and "Traceback" not in err


def test_no_command_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade-client", "--report-dir", str(tmp_path)]) == 2
    assert "no command to grade" in capsys.readouterr().err


def test_what_a_client_leaves_running_is_stopped_with_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    leaves = ("import subprocess; p = subprocess.Popen(['sleep', '100']); "
              f"open({str(pid_file)!r}, 'w').write(str(p.pid))")
    grade_command([sys.executable, "-c", leaves], workdir=tmp_path / "w", scenarios=["clean"], timeout=10)
    stat = Path(f"/proc/{int(pid_file.read_text())}/stat")
    try:
        state = stat.read_text(encoding="ascii").split(") ", 1)[1][0]
    except (FileNotFoundError, ProcessLookupError):
        state = "gone"
    assert state in ("Z", "gone")  # killed (a zombie until its new parent reaps it), never still sleeping


def test_a_client_that_prints_without_end_keeps_a_bounded_log(tmp_path: Path) -> None:
    result = grade_command([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"],
                           workdir=tmp_path, scenarios=["clean"], timeout=2)
    (run,) = result.runs
    assert run.timed_out and run.logs[0].endswith("[cut]") and len(run.logs[0]) < 70_000
