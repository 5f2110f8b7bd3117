"""The native linter core is optional: with no C compiler, the wheel still builds and installs,
and the linter runs its Python path (``lint_backend() == "python"``) with the same findings.

With a compiler, the same build carries the extension and the installed linter runs it (the
wheel ``test_install.py`` builds once per run from a fresh copy of the checkout).
Builds wheels offline (``--no-build-isolation``) like ``test_install.py``, so it is ``slow``.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from .test_install import BAD, _install, _ok, _run, _venv, copy_checkout, shared_wheels

pytestmark = pytest.mark.slow

PROBE = f"""
import avatar_contract
report = avatar_contract.lint_request({BAD!r}.encode())
assert [(f.path, f.rule) for f in report.findings] == [("/file/url", "schema.required")], report.findings
print(avatar_contract.lint_backend())
"""


def _wheel(checkout: Path, out: Path, env: dict[str, str] | None = None) -> Path:
    out.mkdir()
    _ok(_run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out,
             checkout, cwd=out, env=env))
    (wheel,) = out.glob("*.whl")
    return wheel


def _native_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return [n for n in archive.namelist() if "/_native." in n and not n.endswith((".c", ".pyi"))]


def _backend(wheel: Path, tmp_path: Path) -> str:
    python = _venv(tmp_path / "venv")
    _install(python, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return _ok(_run(python, "-c", PROBE, cwd=elsewhere)).strip()


def test_without_a_compiler_the_install_succeeds_on_the_python_path(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout")
    # No compiler anywhere: PATH holds only this interpreter's folder, and CC names nothing.
    hidden = {"PATH": str(Path(sys.executable).parent), "CC": str(tmp_path / "no-such-cc"),
              "LDSHARED": str(tmp_path / "no-such-cc")}
    assert shutil.which("gcc", path=hidden["PATH"]) is None and shutil.which("cc", path=hidden["PATH"]) is None
    wheel = _wheel(checkout, tmp_path / "wheel", hidden)
    assert _native_files(wheel) == []
    assert _backend(wheel, tmp_path) == "python"


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler here")
def test_with_a_compiler_the_install_carries_the_native_core(tmp_path: Path,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    wheel = shared_wheels(tmp_path_factory)["ours"]  # test_install's: the same build of a fresh copy, compiler on PATH
    assert _native_files(wheel), "the extension was not built"
    assert _backend(wheel, tmp_path) == "native"
