"""Live safety: what the suite may send to a target that is not the in-process emulator.

The targets here are emulator apps served in-process through ``asgi_app``, which
the runner treats exactly like a remote base URL, so the emulator's own counter
shows what a billable server would have created.
"""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES, REGISTRY
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import RunState, run_clause, run_suite
from avatar_contract.contract_tests.targets import session as session_module
from avatar_contract.contract_tests.targets.session import RetryPolicy
from avatar_contract.contract_tests.targets.target import Target

from ._support import KEY_1, KEY_2, REMOTE, MethodRecorder, Throttler, emulator


def remote(app: object, **options: object) -> Target:
    return Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, profile="quick", seed=11, **options)  # type: ignore[arg-type]


def test_without_allow_create_nothing_is_created_and_create_clauses_are_skipped() -> None:
    app = emulator()
    results = {r.name: r for r in run_suite(remote(app, second_api_key=KEY_2))}
    assert app.state.emulator.created_count() == 0
    assert sum(r.creates for r in results.values()) == 0
    for name in CLAUSE_NAMES:
        verdict, reason = results[name].verdict, results[name].reason
        assert verdict is not Verdict.FAIL, (name, results[name].failures)
        if REGISTRY[name].needs_create:
            assert verdict is Verdict.SKIPPED and "--allow-create" in reason, (name, verdict, reason)
    # Clauses that only need refusals still judge something.
    for name in ("auth.missing", "auth.invalid", "request.rejects_invalid", "errors.envelope"):
        assert results[name].verdict is Verdict.PASS and results[name].cases > 0, name
    # The emulator's limiter is off here: no 429 within the burst is "not observed", never "pass".
    assert results["rate_limit.retry_after"].verdict is Verdict.NOT_OBSERVED


def test_creates_are_capped_and_counted() -> None:
    app = emulator()
    target = remote(app, allow_create=True, max_creates=7, second_api_key=KEY_2)
    state = RunState(target)
    results = run_suite(target, state=state)
    made = app.state.emulator.created_count()
    assert 0 < made <= 7
    # Every 2xx counts (a correct replay too: on a broken server it is a new avatar).
    assert made <= state.ledger.state().made <= 7
    assert all(r.verdict is not Verdict.FAIL for r in results), [(r.name, r.reason) for r in results]


def test_tenant_scope_needs_a_second_key_on_a_remote_target() -> None:
    result = run_clause("idempotency.tenant_scope", remote(emulator(), allow_create=True))
    assert result.verdict is Verdict.SKIPPED and "--second-api-key" in result.reason


def test_undocumented_methods_are_only_probed_in_process() -> None:
    recorder = MethodRecorder(emulator())
    result = run_clause("response.status", remote(recorder, allow_create=True))
    assert result.verdict is Verdict.PASS
    assert set(recorder.methods) == {"POST"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["auth.missing", "request.rejects_invalid", "idempotency.replay",
                                  "idempotency.in_flight", "errors.envelope", "response.schema"])
def test_a_429_on_an_ordinary_request_is_retried_not_failed(name: str) -> None:
    throttler = Throttler(emulator(), every=2)
    result = run_clause(name, remote(throttler, allow_create=True, second_api_key=KEY_2))
    assert throttler.throttled > 0
    if name == "idempotency.in_flight":
        # The race is sent unretried: its 429s are shown to be the limiter's (key-less invalid bodies sent
        # right after are throttled too: attribution.race_limiter_control), so never a fail.
        assert result.verdict is Verdict.INCOMPLETE, (result.reason, [f.message for f in result.failures])
        assert "answered by a rate limiter" in result.reason or "no overlap proven" in result.reason, result.reason
        return
    assert result.verdict is Verdict.PASS, (result.reason, [f.message for f in result.failures])


def test_endless_429s_end_in_a_bounded_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = RetryPolicy(attempts=3, default_wait=0.01, total_wait=1.0)
    monkeypatch.setattr(session_module, "RetryPolicy", lambda: fast)
    throttler = Throttler(emulator(), every=1, retry_after=None)
    result = run_clause("auth.missing", remote(throttler))
    assert result.verdict is Verdict.INCOMPLETE and "rate-limited" in result.reason
