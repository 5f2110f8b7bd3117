"""Every emulator fault is killed over a real socket, under the cap a live run would use.

The emulator with one fault runs under uvicorn on loopback (as `avatar-contract
emulator --fault F` would for a user), the target is a plain base URL with real-asset
inputs (`--asset`), and the whole suite's plan runs under `--max-creates` N (full
coverage of the vendored spec) and 10.  The fault's own clause must fail, and the
ledger must stay within the cap.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import RunState, run_clause
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator import FAULTS

from ._support import ASSETS, KEY_1, KEY_2, served_emulator

pytestmark = pytest.mark.http  # every fault against the emulator under uvicorn

FULL_COVERAGE = 17  # --max-creates for the whole plan on the vendored spec (tests/suite/test_planner.py)
# The burst's clause needs a bucket the burst can empty at any client speed; the others none to speak of.
PROVOKABLE, ORDINARY = "20/3600", "1000/1"


@pytest.fixture(scope="module", params=list(FAULTS))
def faulty(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    fault = str(request.param)
    rate = PROVOKABLE if FAULTS[fault].clause == "rate_limit.retry_after" else ORDINARY
    # A race shows a missing in-flight guard only if its requests overlap: each create then takes
    # a second, far longer than a loaded machine needs to send the race's few requests.
    slow = ["--processing-delay", "1"] if FAULTS[fault].clause == "idempotency.in_flight" else []
    with served_emulator("--rate-limit", rate, "--fault", fault, *slow) as base:
        yield fault, base


@pytest.mark.parametrize("cap", [FULL_COVERAGE, 10])
def test_every_fault_is_killed_over_http_under_the_cap(faulty: tuple[str, str], cap: int) -> None:
    fault, base = faulty
    target = Target(base_url=base, api_key=KEY_1, second_api_key=KEY_2, allow_create=True, max_creates=cap,
                    profile="quick", seed=0, assets=load_assets(ASSETS))
    state = RunState(target)  # the whole suite's plan, as `verify` makes it
    result = run_clause(FAULTS[fault].clause, target, state)
    assert result.verdict is Verdict.FAIL, (fault, cap, result.verdict, result.reason)
    assert result.failures[0].exchange is not None or result.failures[0].sequence
    assert state.ledger.state().made <= cap
