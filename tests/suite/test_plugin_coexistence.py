"""The pytest plugin coexists: pytest-base-url, pytest-profiling and pytest-playwright in the
same environment, in either load order; inert in unrelated runs; one usage error for a bad target.

Stand-ins register exactly the options the real plugins register (pytest-base-url 2.1,
pytest-profiling 1.8, pytest-playwright 0.10), so every order can be forced with ``-p``;
the real plugins are used too where they are installed (the ``test`` extra has the first two).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pytest in child processes, one project per test

PLUGIN = "avatar_contract.contract_tests.plugin"

STANDIN_BASE_URL = '''
import os
import pytest

def pytest_addoption(parser):
    parser.addini("base_url", help="base url for the application under test.")
    parser.addoption("--base-url", metavar="url", default=os.getenv("PYTEST_BASE_URL", None),
                     help="base url for the application under test.")
    parser.addoption("--verify-base-url", action="store_true",
                     default=not os.getenv("VERIFY_BASE_URL", "false").lower() == "false",
                     help="verify the base url.")

@pytest.fixture(scope="session")
def base_url(request):
    return request.config.getoption("base_url") or request.config.getini("base_url")
'''

STANDIN_PROFILING = '''
def pytest_addoption(parser):
    group = parser.getgroup("Profiling")
    group.addoption("--profile", action="store_true", help="generate profiling information")
    group.addoption("--profile-svg", action="store_true", help="generate profiling graph")
    group.addoption("--pstats-dir", nargs=1, help="configure the dump directory of profile data files")
'''

STANDIN_PLAYWRIGHT = '''
def pytest_addoption(parser):
    group = parser.getgroup("playwright", "Playwright")
    group.addoption("--browser", action="append", default=[], help="Browser engine which should be used")
    group.addoption("--headed", action="store_true", default=False, help="Run tests in headed mode.")
    group.addoption("--browser-channel", action="store", default=None)
    group.addoption("--slowmo", default=0, type=int)
    group.addoption("--device", default=None, action="store")
    group.addoption("--output", default="test-results")
    group.addoption("--tracing", default="off", choices=["on", "off", "retain-on-failure"])
'''

# What the suite's extras provide, made unimportable: a slim (linter-only) install.
BLOCK_SUITE_DEPS = '''
import importlib.abc
import sys

BLOCKED = ("hypothesis", "schemathesis", "starlette", "uvicorn", "httpx")

class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocker())
'''

UNRELATED_TEST = '''
import sys

def test_app(base_url, pytestconfig):
    assert base_url == "http://app.test"
    assert pytestconfig.getoption("profile") is True
    assert pytestconfig.getoption("browser") == ["chromium"]
    ours = sorted(m for m in sys.modules if m.startswith("avatar_contract"))
    assert ours == ["avatar_contract", "avatar_contract.contract_tests",
                    "avatar_contract.contract_tests.plugin", "avatar_contract.contract_tests.targets",
                    "avatar_contract.contract_tests.targets.target"], ours
'''

# Options of the user's own run: the other plugins' flags, ours untouched.
UNRELATED_ARGS = ("--base-url", "http://app.test", "--profile", "--browser", "chromium")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: their own test, and the stand-in plugins importable from it."""
    for name, text in (("standin_base_url", STANDIN_BASE_URL), ("standin_profiling", STANDIN_PROFILING),
                       ("standin_playwright", STANDIN_PLAYWRIGHT), ("block_suite_deps", BLOCK_SUITE_DEPS)):
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    (tmp_path / "test_app.py").write_text(UNRELATED_TEST, encoding="utf-8")
    return tmp_path


def _pytest(project: Path, *args: str, autoload: bool = False,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("AVATAR_", "PYTEST_")) and k != "VERIFY_BASE_URL"}
    clean["PYTHONPATH"] = str(project)
    if not autoload:
        clean["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=project, env=clean, capture_output=True, text=True, timeout=300)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STANDINS = ("standin_base_url", "standin_profiling", "standin_playwright")


def _load(*plugins: str) -> list[str]:
    return [arg for plugin in plugins for arg in ("-p", plugin)]


@pytest.mark.parametrize("order", ["others first", "ours first"])
def test_an_unrelated_run_with_the_other_plugins_is_unchanged(project: Path, order: str) -> None:
    plugins = (*STANDINS, PLUGIN) if order == "others first" else (PLUGIN, *STANDINS)
    done = _pytest(project, *_load(*plugins), "test_app.py", *UNRELATED_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "avatar-contract:" not in done.stdout and "clauses" not in done.stdout  # no header, no table


def test_plugins_loaded_after_ours_from_the_environment(project: Path) -> None:
    # PYTEST_PLUGINS are registered after entry points: the order that used to crash.
    done = _pytest(project, "-p", PLUGIN, "test_app.py", *UNRELATED_ARGS,
                   env={"PYTEST_PLUGINS": ",".join(STANDINS)})
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_conftest_naming_our_plugin(project: Path) -> None:
    (project / "conftest.py").write_text(f"pytest_plugins = [{PLUGIN!r}]\n", encoding="utf-8")
    done = _pytest(project, *_load(*STANDINS), "test_app.py", *UNRELATED_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("order", ["others first", "ours first"])
def test_the_suite_reads_the_shared_base_url(project: Path, order: str) -> None:
    plugins = (*STANDINS, PLUGIN) if order == "others first" else (PLUGIN, *STANDINS)
    port = _closed_port()
    done = _pytest(project, *_load(*plugins), "--pyargs", "avatar_contract.contract_tests",
                   "--base-url", f"http://127.0.0.1:{port}", "--contract-api-key", "k")
    # The target came from the other plugin's --base-url: unreachable, one usage error.
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"cannot reach http://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_without_another_base_url_plugin_ours_is_defined(project: Path) -> None:
    port = _closed_port()
    done = _pytest(project, "-p", PLUGIN, "-p", "standin_profiling", "--pyargs", "avatar_contract.contract_tests",
                   "--base-url", f"http://127.0.0.1:{port}", "--api-key", "k")
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"cannot reach http://127.0.0.1:{port}" in done.stderr


def test_generic_aliases_give_way_to_another_plugins_options(project: Path) -> None:
    (project / "standin_api_key.py").write_text(
        'def pytest_addoption(parser):\n    parser.addoption("--api-key", help="their key")\n', encoding="utf-8")
    (project / "test_key.py").write_text(
        'def test_key(pytestconfig):\n    assert pytestconfig.getoption("api_key") == "theirs"\n'
        '    assert pytestconfig.getoption("contract_api_key") is None\n', encoding="utf-8")
    done = _pytest(project, "-p", PLUGIN, "test_key.py", "--api-key", "theirs",
                   env={"PYTEST_PLUGINS": "standin_api_key"})
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("xdist", [False, True])
def test_a_missing_key_is_one_usage_error(project: Path, xdist: bool) -> None:
    args = ["-p", "xdist", "-n", "2"] if xdist else []
    done = _pytest(project, "-p", PLUGIN, *args, "--pyargs", "avatar_contract.contract_tests",
                   "--base-url", f"http://127.0.0.1:{_closed_port()}")
    assert done.returncode == 4, done.stdout + done.stderr
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        "ERROR: avatar-contract: no API key: pass --api-key or set AVATAR_API_KEY"]
    assert "ERROR" not in done.stdout and "Traceback" not in done.stdout + done.stderr


def test_an_unreachable_target_under_xdist_is_one_usage_error(project: Path) -> None:
    done = _pytest(project, "-p", PLUGIN, "-p", "xdist", "-n", "2", "--pyargs", "avatar_contract.contract_tests",
                   "--base-url", f"http://127.0.0.1:{_closed_port()}", "--contract-api-key", "k")
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.count("ERROR:") == 1 and "cannot reach" in done.stderr
    assert "passed" not in done.stdout and "failed" not in done.stdout


def test_without_the_suites_dependencies_the_plugin_stays_inert(project: Path) -> None:
    (project / "test_plain.py").write_text("def test_plain():\n    assert True\n", encoding="utf-8")
    done = _pytest(project, "-p", "block_suite_deps", "-p", PLUGIN, "test_plain.py")
    assert done.returncode == 0, done.stdout + done.stderr
    suite = _pytest(project, "-p", "block_suite_deps", "-p", PLUGIN, "--pyargs", "avatar_contract.contract_tests")
    assert suite.returncode == 4, suite.stdout + suite.stderr
    assert "pip install 'avatar-contract[suite]'" in suite.stderr
    assert "Traceback" not in suite.stdout + suite.stderr


REAL = ("pytest_base_url", "pytest_profiling", "pytest_playwright")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(not all(_installed(m) for m in REAL[:2]),
                    reason="pytest-base-url / pytest-profiling not installed (pip install -e '.[test]')")
def test_with_the_real_plugins_installed(project: Path) -> None:
    real = [m for m in REAL if _installed(m)]
    (project / "test_app.py").write_text(UNRELATED_TEST.replace(
        '    assert pytestconfig.getoption("browser") == ["chromium"]\n',
        '    assert pytestconfig.getoption("browser") == ["chromium"]\n' if "pytest_playwright" in real else ""),
        encoding="utf-8")
    args = UNRELATED_ARGS if "pytest_playwright" in real else UNRELATED_ARGS[:3]
    done = _pytest(project, "test_app.py", *args, autoload=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "avatar-contract:" not in done.stdout
    port = _closed_port()
    suite = _pytest(project, "--pyargs", "avatar_contract.contract_tests", "--base-url", f"http://127.0.0.1:{port}",
                    "--contract-api-key", "k", autoload=True)
    assert suite.returncode == 4, suite.stdout + suite.stderr
    assert f"cannot reach http://127.0.0.1:{port}" in suite.stderr


def test_a_suite_collected_through_a_symlink_is_still_set_up_first(project: Path) -> None:
    # The arguments do not name the suite, so the plugin only learns of it from the
    # collected items; it must still check the target before any clause runs.
    (project / "vendored").symlink_to(Path(__file__).resolve().parents[2] / "contract_tests")
    done = _pytest(project, "-p", PLUGIN, "vendored", "--base-url", f"http://127.0.0.1:{_closed_port()}")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "ERROR: avatar-contract: no API key" in done.stderr
    assert "ERROR " not in done.stdout and "Traceback" not in done.stdout + done.stderr
