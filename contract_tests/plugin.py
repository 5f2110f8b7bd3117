"""pytest plugin: the suite's command-line options, profiles, seed and clause summary.

Registered through the ``pytest11`` entry point (and named in the root
conftest), so ``pytest --pyargs contract_tests --base-url ...`` works from any
project that installed avatar-contract.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from avatar_contract.spec import SpecError

from .suite_spec import use_spec
from .target import (
    DEFAULT_BURST,
    DEFAULT_MAX_CREATES,
    PROFILES,
    Target,
    check_base_url,
    check_keys,
    from_environment,
    seed_from_environment,
)

SEED = pytest.StashKey[int]()
SHARED = pytest.StashKey[Path]()
WORKER_SEED = "avatar_contract_seed"
WORKER_SHARED = "avatar_contract_shared_dir"
CLAUSE_PROPERTY = "avatar_contract_clause"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("avatar-contract", "Create Avatar contract suite")
    group.addoption("--base-url", default=None,
                    help="target base URL (default: in-process emulator); env AVATAR_API_BASE_URL")
    group.addoption("--api-key", default=None, help="API key for the target; env AVATAR_API_KEY")
    group.addoption("--second-api-key", default=None, help="a second tenant's key; env AVATAR_API_KEY_2")
    group.addoption("--allow-create", action="store_true", default=False,
                    help="allow billable creates on a non-emulator target")
    group.addoption("--max-creates", type=int, default=DEFAULT_MAX_CREATES, help="cap on creates when --allow-create")
    group.addoption("--burst", type=int, default=DEFAULT_BURST, help="cheap requests spent provoking a 429")
    group.addoption("--profile", choices=PROFILES, default=None, help="hypothesis profile: quick, default, thorough")
    group.addoption("--contract-spec", default=None, metavar="PATH",
                    help="hold the target to this spec instead of the vendored one; env AVATAR_CONTRACT_SPEC")
    group.addoption("--contract-seed", type=int, default=None,
                    help="generation seed (default: random, printed); env AVATAR_CONTRACT_SEED")


def _seed(config: pytest.Config) -> int:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKER_SEED in workerinput:
        # xdist workers take the controller's seed, so every worker generates the same cases.
        return int(workerinput[WORKER_SEED])
    try:  # --contract-seed, else AVATAR_CONTRACT_SEED (validated, shared with verify)
        given = seed_from_environment(config.getoption("--contract-seed"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    return int(given) if given is not None else random.randrange(2**31)


def pytest_configure(config: pytest.Config) -> None:
    from .profiles import register_profiles

    register_profiles()
    try:
        use_spec(config.getoption("--contract-spec"))
    except SpecError as exc:
        raise pytest.UsageError(f"--contract-spec: {exc}") from None
    config.stash[SEED] = _seed(config)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and WORKER_SHARED in workerinput:
        config.stash[SHARED] = Path(workerinput[WORKER_SHARED])
    else:
        # One directory per run, shared by every xdist worker: the create ledger and
        # the pool's answers live there, so --max-creates holds for the run, not per worker.
        config.stash[SHARED] = Path(tempfile.mkdtemp(prefix="avatar-contract-run-"))
    target = target_from_config(config)
    try:
        check_base_url(target.base_url)
    except ValueError as exc:
        raise pytest.UsageError(f"--base-url: {exc}") from None
    try:
        check_keys(target)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(ClauseSummary(config), "avatar-contract-clause-summary")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: hand the controller's seed and run directory to each worker."""
    node.workerinput[WORKER_SEED] = node.config.stash[SEED]
    node.workerinput[WORKER_SHARED] = str(node.config.stash[SHARED])


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None and SHARED in config.stash:
        shutil.rmtree(config.stash[SHARED], ignore_errors=True)


def shared_dir(config: pytest.Config) -> Path:
    return config.stash[SHARED]


def target_from_config(config: pytest.Config) -> Target:
    return from_environment(
        base_url=config.getoption("--base-url"),
        api_key=config.getoption("--api-key"),
        second_api_key=config.getoption("--second-api-key"),
        allow_create=bool(config.getoption("--allow-create")),
        max_creates=int(config.getoption("--max-creates")),
        burst=int(config.getoption("--burst")),
        profile=config.getoption("--profile") or "default",
        seed=config.stash[SEED],
    )


def pytest_report_header(config: pytest.Config) -> str:
    target = target_from_config(config)
    return (f"avatar-contract: {target.description}, profile {target.profile}, "
            f"seed {target.seed} (reproduce with --contract-seed {target.seed})")


@pytest.fixture(scope="session")
def contract_target(pytestconfig: pytest.Config) -> Target:
    """The system under test, as configured on the command line or environment."""
    return target_from_config(pytestconfig)


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
        from .budget import Ledger

        path = self.config.stash[SHARED] / "ledger.sqlite"
        if not path.exists():
            return {}
        ledger = Ledger(None, path=str(path))
        try:
            state = ledger.state()
        finally:
            ledger.close()
        return {"made": state.made, "unplanned": state.unplanned, "requests": state.requests,
                "tripped": state.tripped, "stopped": state.stopped, "throttled": state.throttled}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        from .clause import CLAUSE_NAMES
        from .finding import ClauseResult
        from .report import from_results, render_table

        target = target_from_config(self.config)
        order = {name: index for index, name in enumerate(CLAUSE_NAMES)}
        clauses = sorted((ClauseResult.from_dict(r) for r in self.results), key=lambda r: order.get(r.name, 99))
        secrets = [k for k in (target.api_key, target.second_api_key) if k]
        terminalreporter.section("avatar-contract clauses")
        seconds = sum(r.seconds for r in clauses)
        terminalreporter.write_line(render_table(from_results(target, clauses, secrets, seconds, run=self._run())))
        terminalreporter.write_line(f"seed {target.seed}: rerun with --contract-seed {target.seed}")
