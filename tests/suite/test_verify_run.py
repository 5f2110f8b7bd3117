"""verify while it runs: progress, stops that keep the evidence, bounds, headers, environment."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.planning.budget import Ledger
from avatar_contract.contract_tests.targets.credentials import Credentials
from avatar_contract.contract_tests.targets.preflight import PROBE_COUNT
from avatar_contract.contract_tests.targets.session import EVIDENCE_BYTES, MAX_BODY, Session
from avatar_contract.validators._cli import main

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE = json.dumps({"error": {"code": "invalid_parameter", "message": "bad body", "param": None}}).encode()
MAX_HANG = 30.0  # a stuck handler gives up after this long, so no test can leave one behind


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode = "answer"  # answer | hang | trickle | stall-preflight
    stop = threading.Event()
    arrived = threading.Event()  # stall-preflight: the second probe is here (and will get no answer)
    seen: list[dict[str, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        first = len(self.server.seen) <= PROBE_COUNT
        if self.server.mode == "hang" and not first:  # the preflight is answered, then nothing
            self.server.stop.wait(MAX_HANG)
            return
        if self.server.mode == "stall-preflight" and len(self.server.seen) == 2:
            self.server.arrived.set()  # tell the test: the run is inside its preflight now
            self.server.stop.wait(MAX_HANG)
            return
        self.send_response(400)
        self.send_header("content-type", "application/json")
        if self.server.mode == "trickle":  # a body that never finishes in time
            self.send_header("content-length", "100000")
            self.end_headers()
            deadline = time.monotonic() + MAX_HANG
            while not self.server.stop.is_set() and time.monotonic() < deadline:
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
                self.server.stop.wait(0.1)
            return
        self.send_header("content-length", str(len(ENVELOPE)))
        self.end_headers()
        self.wfile.write(ENVELOPE)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.stop = threading.Event()
    srv.arrived = threading.Event()
    srv.seen = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def _url(srv: _Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AVATAR_") or name == "NO_COLOR":
            monkeypatch.delenv(name)


def _latest(report_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((report_dir / "latest" / "report.json").read_text())
    return data


def test_each_clause_gets_a_line_as_it_starts_and_finishes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--profile", "quick", "--seed", "4", "--clause", "auth.missing", "--clause",
                 "auth.invalid", "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.splitlines()
    assert lines[:4] == [
        "[1/2] auth.missing …", lines[1], "[2/2] auth.invalid …", lines[3]]
    assert lines[1].startswith("[1/2] auth.missing: pass · 6 requests · 0 creates · ")  # invalid, then valid bodies
    assert lines[3].startswith("[2/2] auth.invalid: pass · ")
    assert "\033[" not in err  # not a terminal: no colour, no live line


@contextmanager
def _verify_process(server: _Server, report_dir: Path, timeout: str) -> Iterator[subprocess.Popen[str]]:
    """``verify`` against ``server`` in a child process (no AVATAR_* variables), its stdout and stderr
    piped as text; killed if it still runs when the block ends."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_contract", "verify", "--base-url", _url(server), "--api-key", "k-sig",
         "--timeout", timeout, "--report-dir", str(report_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """verify with stdout and stderr on a pseudo-terminal; bounded in time."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "avatar_contract", *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.parametrize("no_color", [False, True])
def test_colour_on_a_terminal_and_never_under_no_color(no_color: bool, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_") and k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    code, out = _run_in_pty(["verify", "--profile", "quick", "--seed", "1", "--clause", "auth.missing",
                             "--report-dir", str(tmp_path)], env)
    assert code == 0, out
    assert ("\033[32mpass\033[0m" in out) is not no_color, out
    assert "auth.missing" in out


@pytest.mark.http
def test_the_deadline_keeps_what_finished_and_marks_the_rest_incomplete(
        server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.mode = "hang"
    started = time.monotonic()
    code = main(["verify", "--base-url", _url(server), "--api-key", "k-deadline", "--timeout", "60",
                 "--deadline", "3", "--report-dir", str(tmp_path)])
    assert time.monotonic() - started < 30  # the 60 s request timeout did not have to run out
    out, err = capsys.readouterr()
    assert code == 3, out + err
    data = _latest(tmp_path)
    verdicts = {c["clause"]: (c["verdict"], c["reason"]) for c in data["clauses"]}
    assert list(verdicts) == list(CLAUSE_NAMES)
    assert verdicts["auth.missing"] == ("incomplete", "stopped by the run's deadline (--deadline) before it finished")
    assert all(v == "incomplete" for v, _ in verdicts.values())
    assert "deadline" in data["stopped"]


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "why"), [(signal.SIGTERM, "stopped by SIGTERM"),
                                          (signal.SIGINT, "interrupted (Ctrl-C)")])
def test_sigterm_and_ctrl_c_write_the_reports_for_what_finished(
        sig: signal.Signals, why: str, server: _Server, tmp_path: Path) -> None:
    server.mode = "hang"
    # --timeout 20: even a request whose cancellation got lost ends well within communicate()'s bound.
    with _verify_process(server, tmp_path, "20") as proc:
        assert proc.stderr is not None
        line = "-"
        while "auth.missing …" not in line:  # blocks until the first clause has started
            line = proc.stderr.readline()
            assert line, "verify ended before the first clause started"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3, out + err
    assert f"{why}: writing the reports" in err and "Traceback" not in err
    data = _latest(tmp_path)
    assert data["stopped"] == why
    first = data["clauses"][0]
    assert (first["clause"], first["verdict"]) == ("auth.missing", "incomplete")
    assert first["reason"] == f"{why} while it ran"
    assert {c["verdict"] for c in data["clauses"]} == {"incomplete"}
    assert (tmp_path / "latest" / "report.html").exists()


@pytest.mark.http
def test_without_deadline_the_profiles_default_bounds_the_run(
        server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_contract.contract_tests import _verify_command

    server.mode = "hang"
    monkeypatch.setitem(_verify_command.DEFAULT_DEADLINES, "quick", 3.0)  # 30 min in real life
    code = main(["verify", "--base-url", _url(server), "--api-key", "k-deadline", "--timeout", "60",
                 "--profile", "quick", "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 3, out + err
    assert ", deadline 3 s" in out.splitlines()[0]
    data = _latest(tmp_path)
    assert data["stopped"] == "the run's deadline (default 3 s) passed"
    assert {c["verdict"] for c in data["clauses"]} == {"incomplete"}


def test_the_default_deadlines_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "(default by profile: quick 30 min, default 30 min, thorough 60 min)" in " ".join(
        capsys.readouterr().out.split())


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "why"), [(signal.SIGTERM, "stopped by SIGTERM"),
                                          (signal.SIGINT, "interrupted (Ctrl-C)")])
def test_a_stop_during_the_preflight_writes_a_report_saying_where(
        sig: signal.Signals, why: str, server: _Server, tmp_path: Path) -> None:
    server.mode = "stall-preflight"
    with _verify_process(server, tmp_path, "60") as proc:
        # The server says when the second probe is in (and unanswered): no sleeps, no guessing.
        assert server.arrived.wait(MAX_HANG), "the preflight's second probe never arrived"
        assert proc.stderr is not None
        waiting = proc.stderr.readline()  # a probe unanswered for a second gets a line
        assert waiting.startswith("preflight 2/4: waiting for the answer to "), waiting
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=90)
    assert proc.returncode == 3, out + err
    assert "Traceback" not in err and "preflight 1/4" not in err, err  # a fast probe gets no line
    where = "the preflight (probe 2 of 4: the preflight's {} without credentials)"
    assert f"{why} during {where}: writing the reports" in err, err
    data = _latest(tmp_path)
    assert data["stopped"] == f"{why} during {where}, before the first clause"
    assert [c["clause"] for c in data["clauses"]] == list(CLAUSE_NAMES)
    assert {(c["verdict"], c["reason"]) for c in data["clauses"]} == {("incomplete", f"not run: {why} during {where}")}
    assert (tmp_path / "latest" / "report.html").exists()


@pytest.mark.http
def test_timeout_bounds_a_trickled_body(server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.mode = "trickle"
    started = time.monotonic()
    code = main(["verify", "--base-url", _url(server), "--api-key", "k-slow", "--timeout", "1",
                 "--report-dir", str(tmp_path)])
    assert time.monotonic() - started < MAX_HANG  # it did not wait for the body to finish
    err = capsys.readouterr().err
    assert code == 2
    # One error line (a probe waited on for a second also gets its progress line).
    errors = [line for line in err.strip().splitlines() if not line.startswith("preflight ")]
    assert len(errors) == 1 and "no complete answer within 1s" in errors[0], err


def test_a_body_is_capped_and_marked_truncated() -> None:
    async def huge(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]})
        for _ in range(3):
            await send({"type": "http.response.body", "body": b"x" * MAX_BODY, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def one() -> Any:
        transport = httpx.ASGITransport(app=huge)
        async with httpx.AsyncClient(transport=transport, base_url="http://sut.test") as client:
            return await Session(client, Credentials("k", None), Ledger(1, breaker=False), "/v3/avatars").post({})

    exchange = asyncio.run(one())
    # Read up to the cap, then only the evidence a report shows is kept.
    assert exchange.truncated and len(exchange.content) == EVIDENCE_BYTES
    assert "[body truncated]" not in exchange.summary() and exchange.summary().endswith("…")


def test_a_truncated_body_is_not_judged_as_invalid_json() -> None:
    from avatar_contract.contract_tests.clauses.checks import check_exchange
    from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest

    body = json.dumps({"error": {"code": "invalid_parameter", "message": "x" * MAX_BODY}}).encode()
    request = SentRequest("POST", "/v3/avatars", (), None, b"{}", {})
    cut = Exchange(request, 400, {"content-type": "application/json"}, body[:EVIDENCE_BYTES], truncated=True)
    assert check_exchange(cut, ["errors.envelope", "response.schema", "response.status"]) == []
    whole_but_cut = Exchange(request, 400, {"content-type": "application/json"}, body[:EVIDENCE_BYTES])
    assert check_exchange(whole_but_cut, ["errors.envelope"])  # the same bytes, not marked: invalid JSON


def test_headers_are_sent_validated_and_their_secrets_redacted(
        server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token = "gw-secret-token-31337"
    code = main(["verify", "--base-url", _url(server), "--api-key", "k-header", "--clause", "auth.missing",
                 "--header", f"X-Gateway-Token: {token}", "--header", "X-Team:  blue ",
                 "--allow-create", "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    # auth.missing fails: the server answers 400 to everything, valid bodies without credentials too.
    assert code == 1, out + err
    assert server.seen and all(h.get("x-gateway-token") == token and h.get("x-team") == "blue"
                               for h in server.seen)
    # Every file of the run, the reproducers in repro/ included.
    texts = [out, err, *(p.read_text() for p in (tmp_path / "latest").rglob("*") if p.is_file())]
    assert not [t for t in texts if token in t]
    assert '"X-Gateway-Token: ${AVATAR_HEADER_X_GATEWAY_TOKEN}"' in out and "'X-Team: blue'" in out


@pytest.mark.parametrize("header", ["NoColon", "Bad Name: v", "x-api-key: other", "Authorization: Basic abc",
                                    "X-Token: bad\x01value", ": value"])
def test_a_bad_header_is_a_one_line_usage_error(header: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--header", header, "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--header" in err, err
    assert "other" not in err and "abc" not in err and "bad\x01" not in err


def test_version_and_clause_names_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["verify", "-V"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("avatar-contract ")
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = capsys.readouterr().out
    assert all(f"  {name}\n" in text for name in CLAUSE_NAMES)
    assert "--timeout" in text and "--deadline" in text and "--header" in text


def test_an_unwritable_report_dir_is_refused_before_any_request(
        server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(["verify", "--base-url", _url(server), "--api-key", "k", "--report-dir", str(blocker / "reports")])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and not server.seen
    assert len(err.strip().splitlines()) == 1 and "--report-dir" in err, err


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "99999999999"])
def test_an_invalid_seed_in_the_environment_is_a_usage_error(
        value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AVATAR_CONTRACT_SEED", value)
    assert main(["verify", "--clause", "auth.missing", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "AVATAR_CONTRACT_SEED" in err, err


def test_the_environment_seed_and_spec_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_contract.spec import vendored_spec_path

    copy = tmp_path / "copy.yaml"
    copy.write_bytes(vendored_spec_path().read_bytes())
    monkeypatch.setenv("AVATAR_CONTRACT_SEED", "1234")
    monkeypatch.setenv("AVATAR_CONTRACT_SPEC", str(copy))
    try:
        code = main(["verify", "--clause", "auth.missing", "--report-dir", str(tmp_path / "r")])
    finally:
        from avatar_contract.contract_tests.targets.suite_spec import use_spec

        monkeypatch.delenv("AVATAR_CONTRACT_SPEC")
        use_spec(None)
    assert code == 0, capsys.readouterr()
    assert "seed 1234" in capsys.readouterr().out
    data = _latest(tmp_path / "r")
    # Outside the working directory: the file's name, never the machine's absolute path.
    assert data["target"]["seed"] == 1234 and data["run"]["spec_source"] == "copy.yaml"
    assert data["run"]["spec_sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()


def test_an_unusable_spec_in_the_environment_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AVATAR_CONTRACT_SPEC", str(tmp_path / "absent.yaml"))
    assert main(["verify", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "AVATAR_CONTRACT_SPEC" in err, err


@pytest.mark.slow
def test_pytest_honours_the_environment_spec_and_seed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    for name, value in (("AVATAR_CONTRACT_SPEC", str(tmp_path / "absent.yaml")), ("AVATAR_CONTRACT_SEED", "x1")):
        done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider",
                               "-k", "auth.missing", "-q"], cwd=ROOT, env={**env, name: value},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
        assert name in done.stderr and "Traceback" not in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider",
                           "-k", "auth.missing", "-q"], cwd=ROOT, env={**env, "AVATAR_CONTRACT_SEED": "31"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "seed 31: rerun with --contract-seed 31" in done.stdout, done.stdout


def test_once_the_run_is_stopping_no_session_sends_another_request() -> None:
    from avatar_contract.contract_tests.targets.session import RunStopped, clear_stop, request_stop

    sent: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sent.append(scope["method"])
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": ENVELOPE})

    async def two() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sut.test") as client:
            session = Session(client, Credentials("k", None), Ledger(1, breaker=False), "/v3/avatars")
            await session.post({})
            request_stop("stopped by SIGTERM")
            await session.post({})

    try:
        with pytest.raises(RunStopped, match="SIGTERM"):
            asyncio.run(two())
    finally:
        clear_stop()
    assert sent == ["POST"]
