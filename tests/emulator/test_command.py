"""``avatar-contract emulator``: flags, the fault list, and real HTTP serving with uvicorn."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from avatar_contract.emulator import DEFAULT_API_KEY, FAULTS
from avatar_contract.emulator._sqlite_store import SqliteStore
from avatar_contract.validators._cli import main

from ._support import photo


def test_list_faults_prints_one_line_per_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", "--list-faults"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(FAULTS)
    for line, fault in zip(lines, FAULTS.values(), strict=True):
        name, clause, description = line.split(maxsplit=2)
        assert (name, clause, description) == (fault.name, fault.clause, fault.description)


@pytest.mark.parametrize(("argv", "needle"), [
    (["--fault", "nope"], "unknown fault 'nope'"),
    (["--rate-limit", "fast"], "--rate-limit"),
    (["--port", "99999"], "--port"),
    (["--training-seconds", "-1"], "--training-seconds"),
    (["--failure-rate", "2"], "--failure-rate"),
    (["--store", "redis://x"], "sqlite:PATH"),
    (["--workers", "2"], "--store sqlite:PATH"),
    (["--api-key", "has space"], "visible ASCII"),
    (["--bogus"], "unrecognized arguments"),
    (["--spec", "/nonexistent.yaml"], "no such file"),
])
def test_bad_flags_exit_2_with_one_line(argv: list[str], needle: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulator", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert needle in captured.err and "Traceback" not in captured.err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_contract.emulator", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"emulator did not start: {proc.communicate()[0]}")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.http
def test_serves_over_http_with_the_printed_development_key() -> None:
    with served("--max-body-bytes", "4096") as (base, proc):
        headers = {"x-api-key": DEFAULT_API_KEY, "idempotency-key": "http-1"}
        created = httpx.post(f"{base}/v3/avatars", json=photo(), headers=headers)
        assert created.status_code == 200
        assert created.json()["data"]["avatar_item"]["avatar_type"] == "photo_avatar"
        replay = httpx.post(f"{base}/v3/avatars", json=photo(), headers=headers)
        assert replay.content == created.content
        assert httpx.get(f"{base}/v3/avatars", headers=headers).status_code == 405
        with httpx.Client() as client:  # one connection: the oversized-body 400 must not wedge it
            big = client.post(f"{base}/v3/avatars", content=b"x" * 100_000,
                              headers={"x-api-key": DEFAULT_API_KEY})
            assert big.status_code == 400 and "larger than" in big.json()["error"]["message"]
            after = client.post(f"{base}/v3/avatars", json=photo(),
                                headers={"x-api-key": DEFAULT_API_KEY})
            assert after.status_code == 200
    output = proc.stdout.read() if proc.stdout else ""
    assert f"development key {DEFAULT_API_KEY}" in output
    assert "Traceback" not in output


@pytest.mark.http
def test_a_given_key_is_never_printed() -> None:
    secret = "sk-printed-nowhere-42"
    with served("--api-key", secret, "--api-key", "second") as (base, proc):
        assert httpx.post(f"{base}/v3/avatars", json=photo(),
                          headers={"authorization": f"Bearer {secret}"}).status_code == 200
    output = proc.stdout.read() if proc.stdout else ""
    assert secret not in output and "keys=2" in output


@pytest.mark.http
def test_several_workers_share_one_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "workers.db"
    with served("--workers", "2", "--store", f"sqlite:{db}", "--rate-limit", "off",
                "--processing-delay", "0.2") as (base, _):
        async def burst() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=40)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                return await asyncio.gather(*(
                    client.post("/v3/avatars", json=photo(),
                                headers={"x-api-key": DEFAULT_API_KEY, "idempotency-key": "w"})
                    for _ in range(40)))

        responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, statuses
    assert len({r.content for r in responses if r.status_code == 200}) == 1
    store = SqliteStore(db)  # after a clean shutdown, everything is on disk
    try:
        assert store.created_count() == 1
    finally:
        store.close()


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port), "--api-key", "k"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"127.0.0.1:{port}" in err and "k\n" not in err
