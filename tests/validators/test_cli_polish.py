"""``avatar-contract lint`` as editors, CI and code scanning read it: BOMs, order, NDJSON, exit policy, SARIF."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from avatar_contract import lint_request, lint_response
from avatar_contract.validators._cli import main

BAD = {"type": "photo", "name": "A", "file": {"type": "url"}}
WARN_ONLY = {"type": "photo", "name": "", "file": {"type": "url", "url": "https://cdn.example.com/a.png"}}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_utf8_bom_is_ignored_and_positions_count_from_after_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = b'{"type": "photo", "name": "Anna",\n "file": {"type": "url"}}'
    plain, marked = tmp_path / "plain.json", tmp_path / "marked.json"
    plain.write_bytes(body)
    marked.write_bytes(b"\xef\xbb\xbf" + body)
    code_plain, out_plain, _ = run(["lint", str(plain)], capsys)
    code_marked, out_marked, err = run(["lint", str(marked)], capsys)
    assert (code_plain, code_marked) == (1, 1) and err == ""
    assert out_marked == out_plain.replace("plain.json", "marked.json")
    assert f"{marked}:2:10: error /file/url" in out_marked
    valid = b'\xef\xbb\xbf{"type": "prompt", "name": "Anna", "prompt": "a portrait"}'
    assert lint_request(valid).valid and lint_request(valid.decode()).valid


def test_findings_are_listed_in_file_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An unknown field first, an empty name last: the linter finds them in another order.
    path = tmp_path / "order.json"
    path.write_text('{"zz": 1, "type": "photo", "file": {"type": "url"},\n "name": ""}')
    _, out, _ = run(["lint", "--format", "sarif", str(path)], capsys)
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in json.loads(out)["runs"][0]["results"]]
    assert len(regions) >= 3
    assert regions == sorted(regions, key=lambda r: (r["startLine"], r["startColumn"]))
    _, text, _ = run(["lint", str(path)], capsys)
    lines = [line for line in text.splitlines() if line.startswith(str(path) + ":") and line.endswith("]")]
    assert [line.split(": ", 1)[1].split()[1].rstrip(":") for line in lines] == ["/zz", "/file/url", "/name"]


def test_a_bad_ndjson_line_is_a_finding_whose_message_names_the_file_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.ndjson"
    path.write_text(json.dumps(WARN_ONLY) + "\n\n" + '{"type": "photo",\n')
    code, out, err = run(["lint", "--ndjson", str(path)], capsys)
    assert code == 1 and err == ""
    (line,) = [x for x in out.splitlines() if "[json.invalid]" in x]
    assert line.startswith(f"{path}:3:18: error") and "at line 3, column 18" in line
    code, out, _ = run(["lint", "--ndjson", "--format", "json", str(path)], capsys)
    (finding,) = [f for r in json.loads(out)["results"] for f in r["findings"] if f["rule"] == "json.invalid"]
    assert "at line 3," in finding["message"]


def test_a_whole_file_that_is_not_json_stays_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'{"type": "photo",\n  "name": }')
    code, _, err = run(["lint", str(path)], capsys)
    assert code == 2 and "line 2" in err


@pytest.mark.parametrize(("flags", "expected"), [
    ([], 0),
    (["--fail-on", "error"], 0),
    (["--fail-on", "warning"], 1),
    (["--strict"], 1),
    (["--strict", "--fail-on", "error"], 0),
])
def test_fail_on_decides_which_findings_fail_the_run(
        flags: list[str], expected: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "warn.json"
    path.write_text(json.dumps(WARN_ONLY))
    code, out, _ = run(["lint", *flags, str(path)], capsys)
    assert code == expected and "[name.empty]" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(BAD))
    assert run(["lint", *flags, str(bad)], capsys)[0] == 1


def test_the_strict_profile_wants_a_declared_item_in_data() -> None:
    headers = {"content-type": "application/json"}
    for data in ({"id": "x"}, {}, {"avatar_item": None}):
        rules = [f.rule for f in lint_response(200, {"data": data}, headers=headers, strict=True).findings]
        assert rules == ["response.data_empty"], data
    group = {"id": "g", "name": "n", "created_at": 1_700_000_000, "looks_count": 1}
    assert lint_response(200, {"data": {"avatar_group": group}}, headers=headers, strict=True).valid


def test_sarif_rules_are_described_indexed_and_located_against_a_base(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("fixtures").mkdir()
    Path("fixtures/bad.json").write_text(json.dumps({**BAD, "zz": 1}))
    _, out, _ = run(["lint", "--format", "sarif", "fixtures/bad.json"], capsys)
    run_ = json.loads(out)["runs"][0]
    driver = run_["tool"]["driver"]
    assert "informationUri" not in driver
    rules = driver["rules"]
    for result in run_["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["shortDescription"]["text"] not in (rule["id"], "")
        assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
            "uri": "fixtures/bad.json", "uriBaseId": "%SRCROOT%"}


def test_the_spec_audit_locates_the_vendored_spec_by_its_own_base(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["lint", "--spec-audit", "--format", "sarif"], capsys)
    run_ = json.loads(out)["runs"][0]
    base = run_["originalUriBaseIds"]["AVATAR_CONTRACT_SPEC"]["uri"]
    location = run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uriBaseId"] == "AVATAR_CONTRACT_SPEC"
    assert os.path.exists(Path(base.removeprefix("file://")) / location["uri"])
