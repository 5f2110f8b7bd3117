"""Bad input is one line naming where the value came from, and a usage exit code (issue 16 §4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from avatar_contract.validators._cli import main

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk live spaced"  # sendable as a header, refused by the in-process emulator


@pytest.mark.parametrize(("argv", "env", "named"), [
    (["--api-key", KEY], {}, "--api-key"),
    ([], {"AVATAR_API_KEY": KEY}, "AVATAR_API_KEY"),
    (["--second-api-key", KEY], {}, "--second-api-key"),
    (["--max-creates", "-1"], {}, "--max-creates"),
    (["--burst", "-5"], {}, "--burst"),
    ([], {"AVATAR_API_BASE_URL": "ftp://example.test"}, "AVATAR_API_BASE_URL"),
])
def test_verify_refuses_in_one_line_naming_the_source(
        argv: list[str], env: dict[str, str], named: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AVATAR_API_KEY", "AVATAR_API_KEY_2", "AVATAR_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["verify", *argv, "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert len(err.strip().splitlines()) == 1 and named in err, err
    assert KEY not in out + err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # refused before anything was run or written


@pytest.mark.slow
@pytest.mark.parametrize(("option", "value"), [("--contract-max-creates", "-1"), ("--contract-burst", "-2"),
                                              ("--contract-unexpected-creates", "-3")])
def test_pytest_refuses_a_negative_cap_as_verify_does(option: str, value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q",
                           option, value], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"{option} must be >= 0, got {value}" in done.stderr, done.stderr
