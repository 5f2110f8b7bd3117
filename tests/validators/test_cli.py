"""``avatar-contract lint``: exit codes, formats, and no tracebacks for bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avatar_contract.validators._cli import main

from .payloads import photo

BAD = {"type": "photo", "name": "A", "file": {"type": "url"}}


def write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = write(tmp_path, "good.json", photo()), write(tmp_path, "bad.json", BAD)
    assert run(["lint", str(good)], capsys)[0] == 0
    assert run(["lint", str(good), str(bad)], capsys)[0] == 1
    assert run(["lint", str(tmp_path / "missing.json")], capsys)[0] == 2
    assert run(["lint"], capsys)[0] == 2
    assert run(["lint", "--format", "yaml", str(good)], capsys)[0] == 2
    assert run(["lint", "--kind", "response", str(good)], capsys)[0] == 2


def test_warnings_alone_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "warn.json", photo(name=""))
    code, out, _ = run(["lint", str(path)], capsys)
    assert code == 0 and "name.empty" in out


def test_bad_json_is_one_line_naming_file_and_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "broken.json", b'{"type": "photo",\n  "name": }')
    code, _, err = run(["lint", str(path)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "broken.json" in lines[0] and "line 2" in lines[0] and "column" in lines[0]
    assert "Traceback" not in err


def test_text_output_has_path_message_and_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "legacy.json", {**photo(), "type": "video"})
    _, out, _ = run(["lint", str(path)], capsys)
    assert "/type" in out and "discriminator.unknown" in out and "hint:" in out
    assert "\033[" not in out  # not a TTY: no colour


def test_json_format_is_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.json", BAD)
    code, out, _ = run(["lint", "--format", "json", str(path)], capsys)
    document = json.loads(out)
    assert code == 1
    (result,) = document["results"]
    assert result["source"] == str(path) and result["valid"] is False
    assert result["findings"] == [{"severity": "error", "path": "/file/url", "rule": "schema.required",
                                   "message": "'url' is required", "hint": None}]


def test_sarif_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.json", BAD)
    _, out, _ = run(["lint", "--format", "sarif", str(path)], capsys)
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    assert run_["tool"]["driver"]["name"] == "avatar-contract"
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == ["schema.required"]
    (result,) = run_["results"]
    assert result["level"] == "error" and result["ruleId"] == "schema.required"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": path.as_uri()}


def test_ndjson_reports_each_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = b"\n".join([json.dumps(photo()).encode(), b"", json.dumps(BAD).encode()])
    path = write(tmp_path, "many.ndjson", lines)
    code, out, _ = run(["lint", "--ndjson", "--format", "json", str(path)], capsys)
    results = json.loads(out)["results"]
    assert code == 1
    assert [(r["source"].rsplit(":", 1)[1], r["valid"]) for r in results] == [("1", True), ("3", False)]


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(BAD).encode())))
    code, out, _ = run(["lint", "-"], capsys)
    assert code == 1 and "<stdin>" in out


def test_response_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = write(tmp_path, "r.json", {"error": {"code": "authentication_failed", "message": "no"}})
    assert run(["lint", "--kind", "response", "--status", "401", str(body)], capsys)[0] == 0
    assert run(["lint", "--kind", "response", "--status", "404", str(body)], capsys)[0] == 1


def test_spec_audit_reports_the_known_defects(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["lint", "--spec-audit", "--format", "json"], capsys)
    findings = json.loads(out)["results"][0]["findings"]
    assert code == 1
    rules = {(f["rule"], f["path"].rsplit("/", 1)[-1]) for f in findings}
    assert ("spec.discriminator.mapping_value", "photo") in rules
    assert ("spec.example_unknown_field", "param") in rules
    messages = " ".join(f["message"] for f in findings)
    assert "'files'" in messages and "consent_video" in messages


def test_unreadable_spec_is_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.yaml", b"openapi: [")
    code, _, err = run(["lint", "--spec", str(bad), "--spec-audit"], capsys)
    assert code == 2 and "Traceback" not in err and "bad.yaml" in err


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: bytes) -> None:
    path = write(tmp_path, "fuzz.bin", raw)
    code, _, err = run(["lint", str(path)], capsys)
    assert code in (0, 1, 2)
    assert "Traceback" not in err


def test_console_script_and_module_entry_points(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", BAD)
    module = subprocess.run([sys.executable, "-m", "avatar_contract.validators", str(path)],
                            capture_output=True, text=True)
    assert module.returncode == 1 and "/file/url" in module.stdout


def test_pre_commit_hook_runs_the_linter() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "avatar-contract-lint"]
    assert hook["entry"].split()[:2] == ["avatar-contract", "lint"]
    assert hook["language"] == "python"


def test_spec_with_a_dangling_ref_is_one_line_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "dangling.yaml"
    spec.write_text(
        "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /v3/avatars:\n    post:\n"
        "      parameters: [{$ref: '#/components/parameters/X'}]\n"
        "      requestBody: {content: {application/json: {schema: {type: object}}}}\n"
        "      responses: {'200': {description: ok}}\n",
        encoding="utf-8",
    )
    body = write(tmp_path, "ok.json", photo())
    code, _, err = run(["lint", "--spec", str(spec), str(body)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "#/components/parameters/X" in err


def test_status_without_response_kind_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = write(tmp_path, "ok.json", photo())
    assert run(["lint", "--status", "200", str(body)], capsys)[0] == 2


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_the_version_at_the_top_level(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    with pytest.raises(SystemExit) as done:
        main([flag])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip().endswith(metadata.version("avatar-contract"))
