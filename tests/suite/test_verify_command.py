"""``avatar-contract verify``: exit codes, output and report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatar_contract.emulator import FAULTS
from avatar_contract.validators._cli import main


def test_conforming_target_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--profile", "quick", "--seed", "5", "--clause", "auth.missing",
                 "--clause", "idempotency.replay", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "seed 5" in out and "auth.missing" in out and "2 pass" in out
    data = json.loads((tmp_path / "latest" / "report.json").read_text())
    assert [c["clause"] for c in data["clauses"]] == ["auth.missing", "idempotency.replay"]


def test_a_failing_clause_exits_1_with_a_curl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--profile", "quick", "--clause", "auth.missing",
                 "--emulator-fault", "auth_skipped", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL auth.missing" in out and "reproduce: curl" in out


@pytest.mark.slow
def test_full_run_prints_the_mutation_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--profile", "quick", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "15 pass" in out
    total = len(FAULTS)
    assert f"mutation score: {total}/{total} faults caught" in out
    assert json.loads((tmp_path / "latest" / "report.json").read_text())["mutation"]["caught"] == total


@pytest.mark.parametrize("argv", [
    ["--base-url", "http://127.0.0.1:9", "--api-key", "k"],      # nothing listens on port 9
    ["--base-url", "http://127.0.0.1:9"],                        # no key for a remote target
    ["--emulator-fault", "no_such_fault"],
    ["--max-creates", "-1"],
])
def test_unusable_targets_and_bad_usage_exit_2(argv: list[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AVATAR_API_BASE_URL", "AVATAR_API_KEY", "AVATAR_API_KEY_2"):
        monkeypatch.delenv(name, raising=False)
    assert main(["verify", *argv, "--report-dir", str(tmp_path)]) == 2
