"""pytest plugin: the suite's command-line options and the target fixture.

Registered through the ``pytest11`` entry point (and named in the root
conftest), so ``pytest --pyargs contract_tests --base-url ...`` works from any
project that installed avatar-contract.
"""

from __future__ import annotations

import pytest

from .target import DEFAULT_BURST, DEFAULT_MAX_CREATES, PROFILES, Target, from_environment


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("avatar-contract", "Create Avatar contract suite")
    group.addoption("--base-url", default=None, help="target base URL (default: in-process emulator); env AVATAR_API_BASE_URL")
    group.addoption("--api-key", default=None, help="API key for the target; env AVATAR_API_KEY")
    group.addoption("--second-api-key", default=None, help="a second tenant's key; env AVATAR_API_KEY_2")
    group.addoption("--allow-create", action="store_true", default=False, help="allow billable creates on a non-emulator target")
    group.addoption("--max-creates", type=int, default=DEFAULT_MAX_CREATES, help="cap on creates when --allow-create")
    group.addoption("--burst", type=int, default=DEFAULT_BURST, help="cheap requests spent provoking a 429")
    group.addoption("--profile", choices=PROFILES, default=None, help="hypothesis profile: quick, default, thorough")


def target_from_config(config: pytest.Config) -> Target:
    return from_environment(
        base_url=config.getoption("--base-url"),
        api_key=config.getoption("--api-key"),
        second_api_key=config.getoption("--second-api-key"),
        allow_create=bool(config.getoption("--allow-create")),
        max_creates=int(config.getoption("--max-creates")),
        burst=int(config.getoption("--burst")),
        profile=config.getoption("--profile") or "default",
    )


@pytest.fixture(scope="session")
def contract_target(pytestconfig: pytest.Config) -> Target:
    """The system under test, as configured on the command line or environment."""
    return target_from_config(pytestconfig)
