"""Regression tests for reviewed defects: secrets, live safety, the create cap and odd inputs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract_tests.budget import CreateBudget
from contract_tests.exchange import Exchange, SentRequest
from contract_tests.session import Credentials, RetryPolicy, Session, UnsendableRequest, retry_after_seconds
from validators._cli import main

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SECRETKEY123"


def _answer(headers: dict[str, str]) -> Exchange:
    return Exchange(SentRequest("POST", "/v3/avatars", (), None, None), 429, headers, b"")


def test_retry_after_with_a_unicode_digit_falls_back_to_the_default_wait() -> None:
    policy = RetryPolicy()
    # "²".isdigit() is True, but float("²") raises: only ASCII digits are delay-seconds.
    for odd in ("²", "١٢", " ³ "):
        assert retry_after_seconds(_answer({"retry-after": odd}), policy) == policy.default_wait
    assert retry_after_seconds(_answer({"retry-after": " 3 "}), policy) == 3.0


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AVATAR_API_BASE_URL", "AVATAR_API_KEY", "AVATAR_API_KEY_2"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.test", "http://", "http://host.test:99999"])
def test_a_malformed_base_url_is_a_one_line_usage_error(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _clean_env(monkeypatch)
    assert main(["verify", "--base-url", url, "--api-key", "k", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_pytest_rejects_a_malformed_base_url_as_a_usage_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q",
                           "--base-url", "http://[::1", "--api-key", "k"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage-error exit
    assert "Traceback" not in done.stdout + done.stderr
    assert "--base-url" in done.stderr


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that accepts connections (into the backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.parametrize("key", [SECRET + " ", SECRET + "\n", " " + SECRET, SECRET + "\x00", SECRET + "é"])
def test_an_unsendable_key_is_a_usage_error_that_never_shows_it(
        key: str, listening_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _clean_env(monkeypatch)
    code = main(["verify", "--base-url", f"http://127.0.0.1:{listening_port}", "--api-key", key,
                 "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert SECRET not in out + err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_pytest_rejects_an_unsendable_key_without_showing_it(listening_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    env["AVATAR_API_KEY"] = SECRET + " "
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q",
                           "--base-url", f"http://127.0.0.1:{listening_port}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def test_an_unsendable_header_raises_without_its_value(listening_port: int) -> None:
    async def send() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listening_port}", timeout=5) as client:
            session = Session(client, Credentials("k", None), CreateBudget(0), "/v3/avatars")
            await session.post({}, credential=Credentials.literal("x-api-key", SECRET + "\n"))

    with pytest.raises(UnsendableRequest) as raised:
        asyncio.run(send())
    assert SECRET not in str(raised.value) and "x-api-key" in str(raised.value)
    assert raised.value.__suppress_context__
