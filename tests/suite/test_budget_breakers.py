"""Targets that break the budget: the cap holds on each (counted by the server itself),
and no clause passes on evidence it never saw."""

from __future__ import annotations

import pytest

from avatar_contract.contract_tests._verify_command import EXIT_INCOMPLETE, exit_code
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.reports.report import from_results
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets import session as session_module
from avatar_contract.contract_tests.targets.target import DEFAULT_MAX_CREATES, Target

from ._breaking import BREAKERS, OnlyThrottles, dying_server
from ._support import KEY_1, KEY_2, REMOTE


def _target(app: object, **options: object) -> Target:
    return Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, profile="quick",
                  seed=17, **options)  # type: ignore[arg-type]


def _run(target: Target) -> tuple[list, RunState]:  # type: ignore[type-arg]
    state = RunState(target)
    return run_suite(target, state=state), state


@pytest.mark.parametrize("cap", [None, 5, DEFAULT_MAX_CREATES])
@pytest.mark.parametrize("name", list(BREAKERS))
def test_the_cap_holds_on_a_server_that_breaks_the_budget(name: str, cap: int | None) -> None:
    app = BREAKERS[name]()
    options = {} if cap is None else {"allow_create": True, "max_creates": cap}
    results, state = _run(_target(app, **options))
    limit = max(cap or 0, 1)
    assert app.created <= limit, (name, cap, app.created)
    # The report never undercounts what the server made: every 2xx counts, not distinct ids
    # (a correct replay is counted too: on a broken server it is a new avatar).
    assert app.created <= state.ledger.state().made <= limit
    # No clause passes on evidence it never saw.
    assert not [r.name for r in results if r.verdict is Verdict.PASS and r.cases == 0]
    if cap is None:
        assert app.created <= 1
        return  # without creates a server that repeats ids looks like any other
    # A broken server never gets a clean bill of health from a run that may create.
    assert any(r.verdict is Verdict.FAIL for r in results), [(r.name, r.verdict) for r in results]


def test_a_2xx_to_a_refusal_trips_the_breaker_and_stops_every_create() -> None:
    app = BREAKERS["answers 2xx to everything"]()
    results, state = _run(_target(app, allow_create=True, max_creates=DEFAULT_MAX_CREATES))
    summary = state.summary()
    assert summary["tripped"] and "where a correct server refuses" in str(summary["tripped"])
    assert app.created == 1  # the probe that tripped it; nothing after
    stopped = [r for r in results if r.verdict is Verdict.INCOMPLETE and "circuit breaker" in r.reason]
    assert stopped, [(r.name, r.verdict, r.reason) for r in results]
    # Why even invalid bodies stop: this server takes requests a correct one refuses.
    cut = [r for r in stopped if r.reason.startswith("stopped by the circuit breaker")]
    assert cut and all("an invalid body could create too" in r.reason for r in cut), [r.reason for r in stopped]
    assert not any(r.verdict is Verdict.PASS and r.cases == 0 for r in results)


def test_a_target_that_dies_is_named_once_and_nothing_passes_after_it() -> None:
    with dying_server(40) as (base, server):
        target = Target(base_url=base, api_key=KEY_1, second_api_key=KEY_2, allow_create=True,
                        max_creates=10, profile="quick", seed=17)
        results, state = _run(target)
    assert server.created <= 10
    stopped = str(state.summary()["stopped"])
    # The 41st POST kills it.  Numbered as sent: if it died inside the in-flight race, the race's
    # other requests (sent at once) may hold the numbers just before the one that went unanswered.
    answered = int(stopped.removeprefix("target stopped answering after request #").split(":")[0])
    assert 40 <= answered < 40 + state.plan.race, stopped
    assert "connection" in stopped
    assert state.summary().get("stopped_request", "").startswith("curl ")
    verdicts = {r.name: r for r in results}
    # The request that killed it is no evidence against any clause: the one that sent it,
    # and every one that still had to send, is incomplete, never pass, never fail.
    killed_by = next(r for r in results if r.verdict is Verdict.INCOMPLETE and "stopped answering" in r.reason)
    for r in results[results.index(killed_by):]:
        if r.verdict is Verdict.PASS or r.verdict is Verdict.NOT_OBSERVED:
            assert r.cases > 0 and r.name.startswith("idempotency."), (r.name, r.reason)  # judged the pool
    assert verdicts["rate_limit.retry_after"].verdict is Verdict.INCOMPLETE
    assert all(not f.message.endswith("no answer") for r in results for f in r.failures)
    # Requests stop with the target: a handful past the death, not a burst of 300.
    assert state.ledger.state().requests <= 45
    report = from_results(target, results, run=state.summary())
    assert exit_code(report) != 0


def test_a_throttled_key_is_incomplete_and_never_waits_out_a_huge_retry_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(session_module.asyncio, "sleep", no_sleep)
    app = OnlyThrottles()
    target = _target(app, allow_create=True)
    results, state = _run(target)
    assert sum(slept) == 0  # Retry-After 999999 is beyond what a run waits: not waited at all
    verdicts = {r.name: r.verdict for r in results}
    assert Verdict.PASS not in {v for n, v in verdicts.items() if n != "rate_limit.retry_after"}, verdicts
    assert list(verdicts.values()).count(Verdict.INCOMPLETE) >= 10, verdicts
    assert "999999" in str(state.summary()["throttled"])
    assert app.requests < 100
    assert exit_code(from_results(target, results, run=state.summary())) == EXIT_INCOMPLETE


class ThrottlesBriefly(OnlyThrottles):
    """429 with ``Retry-After: 2`` to everything: each wait is short, but they add up."""

    retry_after = b"2"


def test_a_spent_waiting_budget_says_how_long_the_run_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the run's Retry-After waiting is used up, the reason names the run's total, not the
    0 s this one request waited (a reader took "after waiting 0s" for a run that never waited)."""
    from avatar_contract.contract_tests.planning import budget

    async def no_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr(session_module.asyncio, "sleep", no_sleep)
    monkeypatch.setattr(budget, "RUN_WAIT", 10.0)
    results, state = _run(_target(ThrottlesBriefly(), allow_create=True))
    throttled = str(state.summary()["throttled"])
    assert "the run's waiting budget is spent (10 s waited for Retry-After in all)" in throttled, throttled
    assert not any(r.verdict is Verdict.PASS and r.cases == 0 for r in results)


@pytest.mark.parametrize("options", [[], ["--allow-create", "--max-creates", "5"]])
def test_verify_with_its_preflight_stays_within_the_cap(options: list[str], tmp_path: object,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """The preflight's request counts too: a server that creates on anything gets max(cap, 1)."""
    from avatar_contract.validators._cli import main

    with dying_server(10**6, answer_all=True) as (base, server):
        code = main(["verify", "--base-url", base, "--api-key", KEY_1, "--profile", "quick", "--seed", "1",
                     "--report-dir", str(tmp_path), *options])
    out = capsys.readouterr().out
    assert server.created == 1, out
    assert code != 0 and "CIRCUIT BREAKER" in out
    # The probe that tripped it is evidence, not just a stop: its owner fails on it (exit 1, not 3).
    assert code == 1, out
    assert "FAIL request.rejects_invalid: the preflight's empty JSON object {} (with the key): expected 400, " \
           "got 200" in out, out


def test_repeated_ids_fail_idempotency_replay_only() -> None:
    """One defect, one owner: a target that gives every create the same avatar id fails
    idempotency.replay; tenant_scope, whose two answers differ (another group), is not a replay."""
    from avatar_contract.contract_tests.targets.assets import load_assets

    from ._support import ASSETS

    app = BREAKERS["repeats ids"]()
    results, state = _run(_target(app, allow_create=True, assets=load_assets(ASSETS)))
    assert app.created <= state.ledger.state().made <= DEFAULT_MAX_CREATES
    failing = {r.name for r in results if r.verdict is Verdict.FAIL}
    assert failing == {"idempotency.replay"}, {r.name: r.reason for r in results if r.name in failing}
    scope = next(r for r in results if r.name == "idempotency.tenant_scope")
    assert scope.verdict is Verdict.PASS and any("see idempotency.replay" in n for n in scope.notes)


def test_a_refusal_probe_answered_2xx_fails_its_owner_wherever_the_breaker_opens() -> None:
    # At --max-creates 10 the malformed-key probe that trips the breaker is sent by an earlier clause
    # (the error-status tour), not by idempotency.key_format: the owner still fails, on that request.
    from avatar_contract.contract_tests.probes.keys import is_valid_key
    from avatar_contract.contract_tests.targets.assets import load_assets

    from ._support import ASSETS, emulator

    target = _target(emulator(faults=frozenset({"key_pattern_unenforced"})), allow_create=True, max_creates=10,
                     assets=load_assets(ASSETS))
    results, state = _run(target)
    assert "idempotency.key_format" in str(state.summary()["tripped"])
    verdicts = {r.name: r for r in results}
    owner = verdicts["idempotency.key_format"]
    assert owner.verdict is Verdict.FAIL, (owner.verdict, owner.reason)
    evidence = owner.failures[0].exchange
    assert evidence is not None and 200 <= evidence.status < 300
    key = evidence.request.idempotency_key
    assert key is not None and not is_valid_key(key)
    assert f"request #{evidence.request_number}" in owner.failures[0].message
    # What made it refusable is said, not left to the curl line to show.
    assert f"its Idempotency-Key ({len(key)} characters) breaks the spec's key format" in owner.failures[0].message \
        or (not key and "its Idempotency-Key is empty" in owner.failures[0].message), owner.failures[0].message
    assert "of idempotency.key_format: its Idempotency-Key" in str(state.summary()["tripped"])
    # Only the owner fails on it; the others stopped by the breaker stay incomplete.
    assert [r.name for r in results if r.verdict is Verdict.FAIL] == ["idempotency.key_format"]
