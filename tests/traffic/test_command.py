"""``avatar-contract check-traffic``: verify's exit codes and writers, one line for a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _recorded import write_journal

from avatar_contract.validators._cli import main
from avatar_contract.validators.journal import ExchangeRecord


def test_clean_traffic_exits_3_and_writes_every_report(clean_records: list[ExchangeRecord], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    journal = write_journal(clean_records, tmp_path / "clean.ndjson")
    code = main(["check-traffic", str(journal), "--report-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 3  # auth.invalid cannot be shown by traffic: incomplete, never a pass
    assert "auth.invalid" in out and "incomplete" in out and "traffic:" in out
    written = sorted(p.name for p in (tmp_path / "reports" / "latest").iterdir() if p.is_file())
    assert written == ["junit.xml", "report.html", "report.json", "report.md"]


def test_a_failing_exchange_exits_1_with_its_entry_as_evidence(clean_records: list[ExchangeRecord], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import msgspec

    from avatar_contract.validators.journal import body_of

    # The first create's answer, as a server that drops the avatar's id would send it.
    index = next(i for i, r in enumerate(clean_records) if r.response and r.response.status == 200)
    record = clean_records[index]
    assert record.response is not None
    value = json.loads(record.response.body.text)
    del value["data"]["avatar_item"]["id"]
    broken = msgspec.structs.replace(record, response=msgspec.structs.replace(
        record.response, body=body_of(json.dumps(value).encode())))
    journal = write_journal([*clean_records[:index], broken, *clean_records[index + 1:]], tmp_path / "j.ndjson")
    code = main(["check-traffic", str(journal), "--output", "json", "--report-dir", ""])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    schema = next(c for c in report["clauses"] if c["clause"] == "response.schema")
    assert schema["verdict"] == "fail"
    assert f"j.ndjson entry {index}" in schema["failures"][0]["message"]
    assert "/data/avatar_item" in schema["failures"][0]["message"]


def test_a_malformed_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.ndjson"
    path.write_text('{"id": 0, "source": "x"}\n')
    assert main(["check-traffic", str(path), "--report-dir", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.ndjson: entry 0:" in err and "Traceback" not in err
    assert main(["check-traffic", str(tmp_path / "absent.har"), "--report-dir", ""]) == 2
    assert "absent.har: no such file" in capsys.readouterr().err
