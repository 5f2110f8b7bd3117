"""The base install is the linter alone: without the extras' packages the linter and the spec
audit work, and ``emulator``/``verify`` say which extra to install (one line, exit 2)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


# Import names of everything outside the base dependencies (what a slim install lacks).
EXTRAS_ONLY = ("starlette", "uvicorn", "uvloop", "httptools", "httpx", "schemathesis", "hypothesis", "pytest",
               "_pytest", "jsonschema", "openapi_core")

BLOCKER = f"""
import importlib.abc, sys
BLOCKED = {EXTRAS_ONLY!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Blocker())
from avatar_contract.validators._cli import main
sys.exit(main(sys.argv[1:]))
"""


def _slim(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    return subprocess.run([sys.executable, "-c", BLOCKER, *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_base_dependencies_are_the_linters() -> None:
    assert _names(PYPROJECT["project"]["dependencies"]) == {"pyyaml", "orjson", "msgspec", "referencing",
                                                            "jsonschema-rs"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"starlette", "uvicorn"} <= _names(extras["emulator"])
    assert {"schemathesis", "hypothesis", "httpx", "pytest", "avatar-contract"} <= _names(extras["suite"])
    assert "avatar-contract[emulator]" in extras["suite"]  # the suite runs the emulator in-process
    assert "avatar-contract[all]" in extras["test"]


def test_lint_and_the_spec_audit_need_only_the_base_install(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"type": "photo", "name": "Anna", "file": {"type": "url"}}')
    done = _slim("lint", "bad.json", cwd=tmp_path)
    assert done.returncode == 1 and "bad.json:1:43: error /file/url" in done.stdout, done.stdout + done.stderr
    audit = _slim("lint", "--spec-audit", "--format", "sarif", cwd=tmp_path)
    assert audit.returncode == 1 and '"startLine"' in audit.stdout, audit.stderr


@pytest.mark.parametrize(("command", "extra"), [("emulator", "emulator"), ("verify", "suite")])
def test_a_command_without_its_extra_names_the_extra(command: str, extra: str, tmp_path: Path) -> None:
    done = _slim(command, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"avatar-contract {command}: needs the optional dependency ")
    assert line.endswith(f"install it with: pip install 'avatar-contract[{extra}]'")


def test_help_lists_every_command_and_what_a_missing_one_needs(tmp_path: Path) -> None:
    done = _slim("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "pip install 'avatar-contract[emulator]'" in done.stdout
    assert "pip install 'avatar-contract[suite]'" in done.stdout
    assert re.search(r"^\s+lint\s+lint create-avatar", done.stdout, re.MULTILINE)
