"""The well-behaved reference client passes every check in every scenario, through the command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clients import CHECK_IDS
from avatar_contract.emulator._schedule import SCENARIOS
from avatar_contract.validators._cli import main

from .conftest import CLIENT

pytestmark = [pytest.mark.http, pytest.mark.slow]  # a served emulator, the client as a process


def test_the_reference_client_passes_every_check_in_every_scenario(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    code = main(["grade-client", "--report-dir", str(tmp_path), "--", sys.executable, CLIENT])
    seconds = time.monotonic() - began
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "Traceback" not in out + err
    assert "retry-safety score: 100/100 (14 of 14 checks pass)" in out
    run_dir = (tmp_path / "latest").resolve()
    report = json.loads((run_dir / "report.json").read_text())
    assert {c["clause"]: c["verdict"] for c in report["clauses"]} == dict.fromkeys(CHECK_IDS, "pass")
    assert report["outcome"] == "conforms"
    for name in ("report.md", "report.html", "junit.xml"):
        assert "Client retry-safety report" in (run_dir / name).read_text() or name == "junit.xml"
    for scenario in SCENARIOS:  # every scenario played, its journal kept
        assert (run_dir / f"journal-{scenario}.ndjson").stat().st_size > 0
    # The wall time is printed, never asserted (no test depends on machine speed).
    print(f"reference client graded in {seconds:.1f} s", file=sys.stderr)


def test_no_api_key_is_written_to_the_journal_or_the_reports(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade-client", "--scenario", "ambiguous-5xx", "--report-dir", str(tmp_path), "--",
                 sys.executable, "-c", "import os; print(os.environ['AVATAR_API_KEY'])"])
    out, _ = capsys.readouterr()
    assert code == 3  # it created nothing: every check incomplete
    run_dir = (tmp_path / "latest").resolve()
    printed = (run_dir / "client-ambiguous-5xx-0.log").read_text().strip()
    assert printed.startswith("gc-")  # the key it was given ...
    for path in run_dir.iterdir():
        if not path.name.startswith("client-"):
            assert printed not in path.read_text(), path  # ... is in no report and no journal
    assert printed not in out


def test_report_json_carries_the_score_and_each_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["grade-client", "--scenario", "clean", "--scenario", "invalid", "--format", "json",
                 "--report-dir", str(tmp_path), "--", sys.executable, CLIENT])
    printed = json.loads(capsys.readouterr().out)
    assert code == 3  # nothing fails; what clean and invalid cannot show is incomplete
    assert printed["target"] == {"graded": f"client: {sys.executable} {CLIENT}"}
    ledger = printed["ledger"]
    assert ledger["retry_safety_score"] == round(100 * printed["summary"]["pass"] / 14, 1)
    assert [s["scenario"] for s in ledger["scenarios"]] == ["clean", "invalid"]
    assert [s["exit_codes"] for s in ledger["scenarios"]] == [[0], [1]]
    assert ledger["scenarios"][0]["journal"] == "journal-clean.ndjson"
