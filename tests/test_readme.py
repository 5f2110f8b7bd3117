"""The README's lint example prints exactly what the README says it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from avatar_contract.validators._cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_install_and_test_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith("avatar-contract verify")
    ci_test = (Path(__file__).resolve().parents[1] / ".ci" / "test").read_text(encoding="utf-8")
    assert commands[1].split("&& ")[-1] in ci_test


def test_lint_example_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    block = README.split("$ avatar-contract lint bad.json legacy.json\n", 1)[1].split("$ echo $?", 1)[0]
    for name in ("bad.json", "legacy.json"):
        body = re.search(rf"`{re.escape(name)}` = `([^`]+)`", README)
        assert body, name
        (tmp_path / name).write_text(body.group(1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["lint", "bad.json", "legacy.json"])
    assert capsys.readouterr().out == block
    assert code == 1


def test_spec_diff_example_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], june_spec: Path
) -> None:
    import shutil

    from avatar_contract.spec import vendored_spec_path

    command = "$ avatar-contract spec diff spec/create-avatar.openapi.yaml june.yaml --corpus corpus\n"
    block = README.split(command, 1)[1].split("$ echo $?", 1)[0]
    body = re.search(r"`corpus/june-body.json` =\n`([^`]+)`", README)
    assert body
    (tmp_path / "spec").mkdir()
    shutil.copy(vendored_spec_path(), tmp_path / "spec" / "create-avatar.openapi.yaml")
    shutil.copy(june_spec, tmp_path / "june.yaml")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "june-body.json").write_text(body.group(1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["spec", "diff", "spec/create-avatar.openapi.yaml", "june.yaml", "--corpus", "corpus"])
    assert capsys.readouterr().out == block
    assert code == 1
