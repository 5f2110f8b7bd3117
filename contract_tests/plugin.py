"""pytest plugin: the suite's command-line options, profiles, seed and clause summary.

Registered through the ``pytest11`` entry point (and named in the root
conftest), so ``pytest --pyargs avatar_contract.contract_tests --base-url ...``
works from any project that installed avatar-contract.

It is loaded by *every* pytest run in such an environment, so it has to be a
good neighbour:

- its options live in our namespace (``--contract-*``); generic spellings are
  only added as aliases once every other plugin has registered its options,
  and only when nobody else has taken them (``--profile`` is pytest-profiling's);
- ``--base-url`` is shared: if pytest-base-url (or anyone) defines it, we read
  theirs instead of defining a second one;
- it does nothing at all (no header line, no spec load, no imports of the
  suite's dependencies) unless the run collects the suite itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from .targets.target import (
    DEFAULT_BURST,
    DEFAULT_MAX_CREATES,
    PROFILES,
    Target,
    check_base_url,
    check_keys,
    from_environment,
    seed_from_environment,
)

if TYPE_CHECKING:
    from .targets.assets import AssetFixture

SEED = pytest.StashKey[int]()
ACTIVE = pytest.StashKey[bool]()
SHARED = pytest.StashKey[Path]()
ASSETS: pytest.StashKey[AssetFixture | None] = pytest.StashKey()
WORKER_SHARED = "avatar_contract_shared_dir"
WORKER_SEED = "avatar_contract_seed"
WORKER_CHECKED = "avatar_contract_preflight_done"
CLAUSE_PROPERTY = "avatar_contract_clause"
SUITE_DIR = Path(__file__).resolve().parent
SUITE_MODULE = "avatar_contract.contract_tests"
GROUP = ("avatar-contract", "Create Avatar contract suite (only used when the suite is collected)")
BASE_URL_DEST = "base_url"  # pytest-base-url's dest: sharing it is what lets one --base-url serve both


@dataclass(frozen=True)
class _Alias:
    """A generic spelling of one of our options, added only if no other plugin took it."""

    name: str
    dest: str
    flag: bool = False
    type: Callable[[str], Any] = str
    metavar: str = "VALUE"


# The spellings earlier releases used; added once every plugin has registered its
# options, and only where free.  --profile is not among them: pytest-profiling owns it.
_ALIASES = (
    _Alias("--api-key", "contract_api_key", metavar="KEY"),
    _Alias("--second-api-key", "contract_second_api_key", metavar="KEY"),
    _Alias("--allow-create", "contract_allow_create", flag=True),
    _Alias("--max-creates", "contract_max_creates", type=int, metavar="N"),
    _Alias("--burst", "contract_burst", type=int, metavar="N"),
)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup(*GROUP)
    group.addoption("--contract-api-key", dest="contract_api_key", default=None, metavar="KEY",
                    help="API key for the target; env AVATAR_API_KEY")
    group.addoption("--contract-second-api-key", dest="contract_second_api_key", default=None, metavar="KEY",
                    help="a second tenant's key; env AVATAR_API_KEY_2")
    group.addoption("--contract-allow-create", dest="contract_allow_create", action="store_true", default=False,
                    help="allow billable creates on a non-emulator target")
    group.addoption("--contract-max-creates", dest="contract_max_creates", type=int, default=DEFAULT_MAX_CREATES,
                    metavar="N", help=f"cap on creates with --contract-allow-create (default {DEFAULT_MAX_CREATES})")
    group.addoption("--contract-unexpected-creates", dest="contract_unexpected_creates", type=int, default=0,
                    metavar="N", help="keep judging after up to N creates where a correct server refuses "
                                      "(default 0: the breaker opens at the first); only for a free target")
    group.addoption("--contract-burst", dest="contract_burst", type=int, default=DEFAULT_BURST, metavar="N",
                    help=f"cheap requests spent provoking a 429 (default {DEFAULT_BURST})")
    group.addoption("--contract-profile", dest="contract_profile", choices=PROFILES, default=None,
                    help="generated cases per clause: quick, default, thorough")
    group.addoption("--contract-spec", dest="contract_spec", default=None, metavar="PATH",
                    help="hold the target to this spec instead of the vendored one; env AVATAR_CONTRACT_SPEC")
    group.addoption("--contract-asset", dest="contract_asset", default=None, metavar="FILE",
                    help="TOML or JSON fixture of real asset ids, https URLs and optionally a group id for "
                         "creates on a real target; env AVATAR_CONTRACT_ASSET")
    group.addoption("--contract-seed", dest="contract_seed", type=int, default=None, metavar="N",
                    help="generation seed (default: random, printed); env AVATAR_CONTRACT_SEED")
    if _registered_by_a_conftest(pluginmanager):
        # Plugin autoload is off and a conftest named us: every plugin that can
        # still define options has done so, so add the shared ones now.
        _add_shared_options(parser)


def _registered_by_a_conftest(pluginmanager: pytest.PytestPluginManager) -> bool:
    return any(isinstance(p, ModuleType) and Path(getattr(p, "__file__", None) or "").name == "conftest.py"
               for p in pluginmanager.get_plugins())


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Any:
    # Once this hook is done every entry-point, -p and conftest plugin has added
    # its options and the command line is not parsed yet: the one moment at
    # which "is --base-url still free?" has a final answer.  Adding it earlier
    # would make pytest-base-url, loaded after us, die on a duplicate option.
    result = yield
    _add_shared_options(parser)
    return result


def _add_shared_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(*GROUP)
    # Someone else's --base-url (pytest-base-url, dest "base_url") is reused as is.
    _add_if_free(group, "--base-url", dest=BASE_URL_DEST, default=None, metavar="URL",
                 help="target base URL (default: in-process emulator); env AVATAR_API_BASE_URL")
    for alias in _ALIASES:
        # SUPPRESS: an absent alias must not overwrite its primary's value.
        _add_if_free(group, alias.name, dest=alias.dest, default=argparse.SUPPRESS,
                     action="store_true" if alias.flag else "store", help=f"same as --contract-{alias.name[2:]}",
                     **({} if alias.flag else {"type": alias.type, "metavar": alias.metavar}))


def _add_if_free(group: pytest.OptionGroup, name: str, **attrs: Any) -> None:
    # Defined by another plugin (or already by us): never a second definition.
    with contextlib.suppress(ValueError, argparse.ArgumentError):
        group.addoption(name, **attrs)


def suite_selected(config: pytest.Config) -> bool:
    """Does this run collect the contract suite?  Judged from the arguments, so that
    the xdist controller (which collects nothing itself) answers like its workers."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKER_SEED in workerinput:
        return True
    if config.option.pyargs:
        for arg in config.args:
            name = arg.split("::", 1)[0]
            if name == "avatar_contract" or name == SUITE_MODULE or name.startswith(SUITE_MODULE + "."):
                return True
    prefix = Path(os.path.realpath(sys.prefix))
    installed = _inside(SUITE_DIR, prefix)
    for arg in config.args:
        path = Path(os.path.realpath(config.invocation_params.dir / arg.split("::", 1)[0]))
        if _inside(path, SUITE_DIR):
            return True
        # A directory above the suite collects it, unless the suite sits in an
        # environment's site-packages, which pytest does not recurse into.
        if _inside(SUITE_DIR, path) and (not installed or _inside(path, prefix)):
            return True
    return False


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _seed(config: pytest.Config) -> int:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKER_SEED in workerinput:
        # xdist workers take the controller's seed, so every worker generates the same cases.
        return int(workerinput[WORKER_SEED])
    try:  # --contract-seed, else AVATAR_CONTRACT_SEED (validated, shared with verify)
        given = seed_from_environment(config.getoption("contract_seed"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    return int(given) if given is not None else random.randrange(2**31)


def pytest_configure(config: pytest.Config) -> None:
    if suite_selected(config):
        _activate(config)
    # Otherwise an unrelated run: no spec load, no header, no summary, no imports.


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The arguments did not name the suite, yet it was collected (a path through
    # a symlink, say): set up now, before any clause runs.
    if not config.stash.get(ACTIVE, False) and any(
            _inside(Path(os.path.realpath(item.path)), SUITE_DIR) for item in items):
        _activate(config)


def _activate(config: pytest.Config) -> None:
    try:
        from avatar_contract.spec import SpecError

        from .profiles import register_profiles
        from .targets.assets import ASSET_ENV, AssetError, load_assets
        from .targets.suite_spec import use_spec
    except ImportError as exc:
        raise pytest.UsageError(f"avatar-contract: the contract suite needs {exc.name!r}; "
                                "install it with: pip install 'avatar-contract[suite]'") from None
    register_profiles()
    try:
        use_spec(config.getoption("contract_spec"))
    except SpecError as exc:
        raise pytest.UsageError(f"--contract-spec: {exc}") from None
    config.stash[SEED] = _seed(config)
    asset_file = config.getoption("contract_asset") or os.environ.get(ASSET_ENV) or None
    try:
        config.stash[ASSETS] = load_assets(asset_file) if asset_file else None
    except AssetError as exc:
        raise pytest.UsageError(f"--contract-asset: {exc}") from None
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKER_SHARED in workerinput:
        config.stash[SHARED] = Path(workerinput[WORKER_SHARED])
    else:
        # One directory per run, shared by every xdist worker: the create ledger and
        # the pool's answers live there, so --max-creates holds for the run, not per worker.
        config.stash[SHARED] = Path(tempfile.mkdtemp(prefix="avatar-contract-run-"))
    target = target_from_config(config)
    # verify refuses these too; each message names where the value came from.
    for flag, value in (("--contract-max-creates", target.max_creates), ("--contract-burst", target.burst),
                        ("--contract-unexpected-creates", target.unexpected_creates)):
        if value < 0:
            raise pytest.UsageError(f"{flag} must be >= 0, got {value}")
    try:
        check_base_url(target.base_url)
    except ValueError as exc:
        given = config.getoption(BASE_URL_DEST, default=None)
        raise pytest.UsageError(f"{'--base-url' if given else 'AVATAR_API_BASE_URL'}: {exc}") from None
    try:
        check_keys(target, ("--contract-api-key" if config.getoption("contract_api_key") else None,
                            "--contract-second-api-key" if config.getoption("contract_second_api_key") else None))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not (workerinput and workerinput.get(WORKER_CHECKED)) and not config.option.collectonly:
        _preflight_or_usage_error(target, config.stash[SHARED])
    config.stash[ACTIVE] = True
    config.pluginmanager.register(ClauseSummary(config), "avatar-contract-clause-summary")


def _preflight_or_usage_error(target: Target, shared: Path) -> None:
    # Once, before any test: an unreachable target or a refused key is one
    # usage error (pytest exit 4), not the same ERROR repeated for every clause.
    # Its request is counted in the run's ledger (the directory every worker shares).
    from .runner import RunState, TargetUnusable, choose_seed, preflight

    try:
        preflight(target, state=RunState(choose_seed(target), shared_dir=shared))
    except TargetUnusable as exc:
        raise pytest.UsageError(f"avatar-contract: {exc}") from None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's seed (and its preflight) to each worker."""
    if node.config.stash.get(ACTIVE, False):
        node.workerinput[WORKER_SEED] = node.config.stash[SEED]
        node.workerinput[WORKER_CHECKED] = True
        node.workerinput[WORKER_SHARED] = str(node.config.stash[SHARED])


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and SHARED in config.stash:
        shutil.rmtree(config.stash[SHARED], ignore_errors=True)


def shared_dir(config: pytest.Config) -> Path:
    return config.stash[SHARED]


def suite_ready(config: pytest.Config) -> bool:
    """Whether the plugin set the suite up (so the target was already shown usable)."""
    return bool(config.stash.get(ACTIVE, False))


def target_from_config(config: pytest.Config) -> Target:
    if SEED not in config.stash:
        config.stash[SEED] = _seed(config)
    return from_environment(
        base_url=config.getoption(BASE_URL_DEST, default=None),
        api_key=config.getoption("contract_api_key"),
        second_api_key=config.getoption("contract_second_api_key"),
        allow_create=bool(config.getoption("contract_allow_create")),
        max_creates=int(config.getoption("contract_max_creates")),
        unexpected_creates=int(config.getoption("contract_unexpected_creates")),
        burst=int(config.getoption("contract_burst")),
        profile=config.getoption("contract_profile") or "default",
        seed=config.stash[SEED],
        assets=config.stash.get(ASSETS, None),
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    if not config.stash.get(ACTIVE, False):
        return None
    target = target_from_config(config)
    return (f"avatar-contract: {target.description}, profile {target.profile}, "
            f"seed {target.seed} (reproduce with --contract-seed {target.seed})")


@pytest.fixture(scope="session")
def contract_target(pytestconfig: pytest.Config) -> Target:
    """The system under test, as configured on the command line or environment."""
    return target_from_config(pytestconfig)


@pytest.fixture
def graded_emulator() -> Iterator[Any]:
    """grade-client from a client library's own tests: ``play(scenario)``, run the client,
    ``finish(status)``, ``grade()`` (see ``clients/played.py``; imported only when used)."""
    from .clients.played import GradedEmulator

    with GradedEmulator() as emulator:
        yield emulator


class ClauseSummary:
    """Collects each clause's verdict (from user_properties, so it works on the
    xdist controller too) and prints the clause table at the end of the run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == CLAUSE_PROPERTY:
                self.results.append(json.loads(str(value)))

    def _run(self) -> dict[str, Any]:
        """The run's ledger as every worker left it: creates made (the pool's too), breaker, stops."""
        from .planning.budget import Ledger

        path = self.config.stash[SHARED] / "ledger.sqlite"
        if not path.exists():
            return {}
        ledger = Ledger(None, path=str(path))
        try:
            state = ledger.state()
        finally:
            ledger.close()
        return {"made": state.made, "unplanned": state.unplanned, "requests": state.requests,
                "tripped": state.tripped, "stopped": state.stopped, "throttled": state.throttled,
                "unexpected": list(state.unexpected)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        from .clauses.clause import CLAUSE_NAMES
        from .clauses.finding import ClauseResult
        from .reports.report import from_results, render_table

        target = target_from_config(self.config)
        order = {name: index for index, name in enumerate(CLAUSE_NAMES)}
        clauses = sorted((ClauseResult.from_dict(r) for r in self.results), key=lambda r: order.get(r.name, 99))
        secrets = [k for k in (target.api_key, target.second_api_key) if k]
        terminalreporter.section("avatar-contract clauses")
        seconds = sum(r.seconds for r in clauses)
        terminalreporter.write_line(render_table(from_results(target, clauses, secrets, seconds, run=self._run())))
        terminalreporter.write_line(f"seed {target.seed}: rerun with --contract-seed {target.seed}")
