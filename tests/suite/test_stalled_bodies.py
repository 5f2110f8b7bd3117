"""A 2xx status line is a create, even when its body never arrives (issue 16 §2).

The servers here send ``200`` headers and then stall the body until the client gives up.
The suite must count what the server committed to: its count equals the server's own count
of 2xx status lines, the cap holds, and the report says "2xx, body not received".
"""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests.reports.report import creates_line, from_results
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets.target import Target

from ._stalling import StallsBodies, served
from ._support import KEY_1, KEY_2

pytestmark = pytest.mark.http  # servers on a real socket that stall until the client's timeout

# Long enough that an unstalled answer on a loaded machine arrives; a stalled one never does.
TIMEOUT = 4.0


def _run(url: str, cap: int) -> tuple[list, RunState]:  # type: ignore[type-arg]
    target = Target(base_url=url, api_key=KEY_1, second_api_key=KEY_2, allow_create=True, max_creates=cap,
                    profile="quick", seed=5, timeout=TIMEOUT)
    state = RunState(target)
    return run_suite(target, state=state), state


def test_every_create_stalled_after_its_headers_is_still_counted() -> None:
    app = StallsBodies(every=1)
    with served(app) as url:
        results, state = _run(url, cap=20)
    ledger = state.ledger.state()
    assert app.status_lines >= 1
    # The server's own count of 2xx status lines, no more, no less (it used to be 0).
    assert ledger.made == app.status_lines
    assert ledger.unread == app.stalled == app.status_lines
    report = from_results(state.target, results, run=state.summary())
    line = creates_line(report)
    assert f"{app.status_lines} made" in line and "2xx, body not received" in line, line


@pytest.mark.parametrize("cap", [4, 7])
def test_a_server_stalling_every_other_body_never_exceeds_the_cap(cap: int) -> None:
    app = StallsBodies(every=2)
    with served(app) as url:
        _, state = _run(url, cap=cap)
    ledger = state.ledger.state()
    assert app.stalled >= 1, "the run must have met a stalled body"
    assert ledger.made == app.status_lines <= cap
    assert ledger.unread == app.stalled
