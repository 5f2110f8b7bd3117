"""The built wheel installs one import package, ``avatar_contract``, and coexists with PyPI's
``validators`` (a same-named stand-in built here, so no registry is needed).

The wheel is built offline from a copy of the checkout (``--no-build-isolation``,
with the setuptools the ``test`` extra installs) and installed with ``--no-deps``
into fresh venvs; a ``.pth`` file lends them this environment's site-packages
for the dependencies.  Everything then runs from an unrelated directory, so
nothing can come from the checkout by accident.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "avatar_contract", "spec", "validators", "emulator",
           "contract_tests")
BAD = '{"type": "photo", "name": "Anna", "file": {"type": "url"}}'

STANDIN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "validators"
version = "0.99.0"

[tool.setuptools]
packages = ["validators"]
"""
# The one function of PyPI's validators the test calls, with its calling convention.
STANDIN_MODULE = '''\
"""Stand-in for PyPI's validators: a top-level package of that name."""


def email(value):
    return "@" in value and "." in value.rsplit("@", 1)[-1]
'''


def _run(*args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AVATAR_", "PYTEST_", "PYTHON"))}
    clean.update(env or {})
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean, capture_output=True, text=True,
                          timeout=600)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _build_wheel(source: Path, out: Path) -> Path:
    _ok(_run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
             "-w", out, source, cwd=out))
    (wheel,) = out.glob("*.whl")
    return wheel


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``build`` filled, once per test run: under pytest-xdist the first worker to ask
    builds (under a lock, in the run's folder every worker shares) and the others wait and reuse it.
    A wheel build is seconds of CPU, and each worker running one of these tests built its own."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    where, done = shared / f"built-{name}", shared / f"built-{name}.done"
    with (shared / f"built-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
            build(where)
            done.touch()  # only after a build that raised nothing: a failed one is tried again
    return where


def copy_checkout(where: Path) -> Path:
    """The project's files as a fresh clone has them: no caches, no egg-info, no built extension."""
    where.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, where / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"))
        else:
            shutil.copy2(source, where / name)
    return where


def _build_wheels(base: Path) -> None:
    """Ours, built from a copy of the checkout (with the native core where there is a compiler),
    and the stand-in for PyPI's validators."""
    checkout = copy_checkout(base / "avatar-contract")
    ours_dir, theirs_dir = base / "ours", base / "theirs"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    standin = base / "standin"
    (standin / "validators").mkdir(parents=True)
    (standin / "pyproject.toml").write_text(STANDIN_PYPROJECT, encoding="utf-8")
    (standin / "validators" / "__init__.py").write_text(STANDIN_MODULE, encoding="utf-8")
    _build_wheel(checkout, ours_dir)
    _build_wheel(standin, theirs_dir)


def shared_wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Our wheel and the stand-in's, built once per run (test_native_install uses ours too)."""
    base = built_once(tmp_path_factory, "wheels", _build_wheels)
    return {name: next((base / name).glob("*.whl")) for name in ("ours", "theirs")}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return shared_wheels(tmp_path_factory)


def _venv(where: Path) -> Path:
    _ok(_run(sys.executable, "-m", "venv", "--without-pip", where, cwd=where.parent))
    python = where / "bin" / "python"
    site = Path(_ok(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                         cwd=where)).strip())
    # Dependencies come from this environment; .pth files in it are not run, so
    # the checkout's editable install stays invisible to the fresh venv.
    (site / "lent-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    return python


def _install(python: Path, wheel: Path) -> None:
    _ok(_run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel,
             cwd=wheel.parent))


def test_the_wheel_installs_exactly_one_top_level_package(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels["ours"]) as archive:
        record_name = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.StringIO(archive.read(record_name).decode("utf-8"))))
        top_level = [n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt")]
        declared = archive.read(top_level[0]).decode().split() if top_level else ["avatar_contract"]
    installed = {row[0].split("/", 1)[0] for row in rows if row and not row[0].split("/", 1)[0].endswith(
        (".dist-info", ".data"))}
    assert installed == {"avatar_contract"}
    assert declared == ["avatar_contract"]
    paths = {row[0] for row in rows}
    for sub in ("spec", "validators", "emulator", "contract_tests"):
        assert f"avatar_contract/{sub}/__init__.py" in paths
    assert "avatar_contract/spec/create-avatar.openapi.yaml" in paths
    assert "avatar_contract/contract_tests/test_contract.py" in paths  # --pyargs needs the suite's tests
    # The base64 cases of a live run send these (package data, read with importlib.resources).
    assert {"avatar_contract/contract_tests/samples/sample.png", "avatar_contract/contract_tests/samples/sample.mp4"} \
        <= paths


BOTH_WORK = f"""
import validators
assert validators.email("anna@example.com") and not validators.email("anna"), "the stand-in is broken"
assert validators.__file__.endswith("validators/__init__.py") and "avatar_contract" not in validators.__file__
from avatar_contract import lint_request
report = lint_request({BAD!r}.encode())
assert [(f.path, f.rule) for f in report.findings] == [("/file/url", "schema.required")], report.findings
import avatar_contract
print(avatar_contract.__file__)
"""


@pytest.mark.parametrize("order", [("ours", "theirs"), ("theirs", "ours")])
def test_installs_beside_a_package_named_validators(wheels: dict[str, Path], tmp_path: Path,
                                                    order: tuple[str, str]) -> None:
    python = _venv(tmp_path / "venv")
    for name in order:
        _install(python, wheels[name])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _ok(_run(python, "-c", BOTH_WORK, cwd=elsewhere)).strip()
    assert where.startswith(str(tmp_path / "venv")), where  # the installed copy, not the checkout


def test_a_non_editable_install_works_from_any_directory(wheels: dict[str, Path], tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv")
    _install(python, wheels["ours"])
    bin_dir = python.parent
    work = tmp_path / "work"
    work.mkdir()
    (work / "bad.json").write_text(BAD, encoding="utf-8")
    # Neither PATH nor the cwd leads back to the checkout.
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    assert "--spec-audit" in _ok(_run(python, "-m", "avatar_contract", "lint", "--help", cwd=work, env=env))
    done = _run(bin_dir / "avatar-contract", "lint", "bad.json", cwd=work, env=env)
    assert done.returncode == 1 and "bad.json:1:43: error /file/url" in done.stdout, done.stdout + done.stderr
    assert "--base-url" in _ok(_run(bin_dir / "avatar-contract", "verify", "--help", cwd=work, env=env))
    probe = ("from avatar_contract.emulator import EmulatorConfig, create_app\n"
             "import avatar_contract.emulator as e\n"
             "app = create_app(EmulatorConfig(api_keys=('k',)))\n"
             "print(e.__file__, type(app).__name__)\n")
    where, kind = _ok(_run(python, "-c", probe, cwd=work, env=env)).split()
    assert where.startswith(str(tmp_path / "venv")) and kind == "Starlette"
    collected = _ok(_run(python, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "avatar_contract.contract_tests",
                         "--collect-only", "-q", cwd=work, env=env))
    assert "15 tests collected" in collected, collected
