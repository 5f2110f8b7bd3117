"""Regression tests for reviewed defects: secrets, live safety, the create cap and odd inputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract_tests.exchange import Exchange, SentRequest
from contract_tests.session import RetryPolicy, retry_after_seconds
from validators._cli import main

ROOT = Path(__file__).resolve().parents[2]


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
