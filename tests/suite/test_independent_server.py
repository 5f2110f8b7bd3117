"""No false alarms: an independent, correct implementation passes every clause."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause, run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import DEFAULT_MAX_CREATES, Profile, Target

from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE


@pytest.mark.parametrize(("profile", "seed"), [("quick", 5), pytest.param("default", 1, marks=pytest.mark.slow)])
def test_an_independent_correct_implementation_passes_every_clause(profile: Profile, seed: int) -> None:
    app = Independent((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app,
                    allow_create=True, profile=profile, seed=seed,  # the default --max-creates
                    assets=load_assets(ASSETS))  # real inputs, as a live run has them (--asset)
    results = run_suite(target, [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"])
    # The burst meets the same implementation with a window that does not roll over
    # during the test (150 per hour): its 151st request is a 429 at any client speed.
    # (150 per second needed 150 req/s, which a loaded 2-core machine may not reach.)
    burst = Independent((KEY_1, KEY_2), window=(150, 3600.0))
    results += run_suite(replace(target, asgi_app=burst), ["rate_limit.retry_after"])
    assert [r.name for r in results] == list(CLAUSE_NAMES)
    assert {r.name: r.verdict for r in results} == {r.name: Verdict.PASS for r in results}, \
        [(r.name, r.reason, [f.message for f in r.failures[:2]]) for r in results if r.verdict is not Verdict.PASS]
    assert app.created > 0


@pytest.mark.slow
def test_without_real_assets_the_cases_that_need_them_are_incomplete_not_passed() -> None:
    app = Independent((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app,
                    allow_create=True, max_creates=100_000, profile="quick", seed=5)
    # The burst is left out: it needs no assets, and its own test above avoids a throughput-bound window.
    results = {r.name: r for r in run_suite(target, [n for n in CLAUSE_NAMES if n != "rate_limit.retry_after"])}
    variants = results.pop("request.variants")
    assert variants.verdict is Verdict.INCOMPLETE
    # What to add, for each kind of media the spec's variants take.
    notes = " ".join([*variants.notes, variants.reason])
    assert "[video]" in variants.reason and "asset fixture" in variants.reason
    assert "[image]" in notes and "url" in notes and "asset_id" in notes
    # The base64 sources (the packaged samples) still ran, and nothing else is held back.
    assert variants.cases > 0 and not variants.failures
    assert {r.verdict for r in results.values()} == {Verdict.PASS}, \
        [(r.name, r.reason) for r in results.values() if r.verdict is not Verdict.PASS]


def test_a_bug_outside_the_fault_catalogue_is_caught() -> None:
    """A server that counts maxLength in UTF-16 units refuses a prompt of 1000 emoji."""
    app = Independent((KEY_1,), utf16_lengths=True)
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, allow_create=True, max_creates=100,
                    profile="quick", seed=5)
    result = run_clause("request.rejects_invalid", target)
    assert result.verdict is Verdict.FAIL
    assert any("exactly 1000 astral code points" in f.message for f in result.failures)


class RefusesBase64Files(Independent):
    """Right about everything except refusing a valid base64 `file` with 400 (seen in the wild)."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        file = body.get("file") if isinstance(body, dict) else None
        if isinstance(file, dict) and file.get("type") == "base64" and self.validator.is_valid(body):
            return 400, self.error("invalid_parameter", "unsupported file", "/file")
        return await super().process(raw)


class IgnoresGroupId(Independent):
    """Right about everything except making a new group when a valid avatar_group_id is sent."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        if isinstance(body, dict) and isinstance(body.get("avatar_group_id"), str) and self.validator.is_valid(body):
            raw = json.dumps({**body, "avatar_group_id": None}).encode()
        return await super().process(raw)


@pytest.mark.slow
@pytest.mark.parametrize("cap", [DEFAULT_MAX_CREATES, 10])
@pytest.mark.parametrize(("server", "clause"), [(RefusesBase64Files, "request.variants"),
                                                (IgnoresGroupId, "response.schema")])
def test_the_bugs_a_small_budget_used_to_miss_are_caught_at_the_default_cap_and_at_10(
        server: type, clause: str, cap: int) -> None:
    app = server((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=cap, profile="quick", seed=5, assets=load_assets(ASSETS))
    results = {r.name: r for r in run_suite(target)}
    assert results[clause].verdict is Verdict.FAIL, (results[clause].verdict, results[clause].reason)
    others = {n: r.verdict for n, r in results.items() if n != clause and r.verdict is Verdict.FAIL}
    assert not others, others  # one owner per defect
    assert app.created <= cap


class ChecksTheBodyFirst(Independent):
    """Correct, but validates the body before the credentials (the spec does not fix the order)."""

    def __init__(self, keys: tuple[str, ...], *, bearer_refused: bool = False) -> None:
        super().__init__(keys)
        self.bearer_refused = bearer_refused

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        body = json_or_none(raw)
        if not (isinstance(body, dict) and self.validator.is_valid(body)):
            return (*await self.process(raw), [])  # the body's 400, whoever asks
        if self.bearer_refused and headers.get("authorization", "").startswith("Bearer "):
            return 401, self.error("authentication_failed", "Bearer is not supported"), []
        return await super().create(headers, raw)


AUTH = ["auth.missing", "auth.invalid", "auth.bearer"]


def test_a_server_that_checks_the_body_first_passes_auth_with_creates() -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=ChecksTheBodyFirst((KEY_1, KEY_2)),
                    allow_create=True, profile="quick", seed=5, assets=load_assets(ASSETS))
    results = {r.name: r for r in run_suite(target, AUTH)}
    assert {n: r.verdict for n, r in results.items()} == dict.fromkeys(AUTH, Verdict.PASS), \
        {n: r.reason for n, r in results.items()}


def test_without_creates_the_body_first_order_leaves_auth_unjudged_not_passed_or_failed() -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=ChecksTheBodyFirst((KEY_1, KEY_2)),
                    profile="quick", seed=5)
    results = {r.name: r for r in run_suite(target, AUTH)}
    assert {n: r.verdict for n, r in results.items()} == dict.fromkeys(AUTH, Verdict.INCOMPLETE), \
        {n: r.reason for n, r in results.items()}
    assert "--allow-create" in results["auth.bearer"].reason


@pytest.mark.parametrize("allow_create", [False, True])
def test_bearer_refused_is_caught_where_the_order_allows_it(allow_create: bool) -> None:
    app = ChecksTheBodyFirst((KEY_1, KEY_2), bearer_refused=True)
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=allow_create,
                    profile="quick", seed=5, assets=load_assets(ASSETS))
    [result] = run_suite(target, ["auth.bearer"])
    # Without creates an invalid body cannot show it (never a pass); with them, the Bearer create fails.
    assert result.verdict is (Verdict.FAIL if allow_create else Verdict.INCOMPLETE), result.reason


def test_a_capped_run_says_what_each_clause_lacks_and_why_slots_went_unused() -> None:
    """Under --max-creates 10 a reader sees, per incomplete clause, what would cover *that* clause
    and the flag that covers every one; and, when fewer creates were made than the cap, that the
    plan held a slot for every answer that could have been 2xx (the race's, the replays')."""
    from avatar_contract.contract_tests.reports.report import from_results, target_line
    from avatar_contract.contract_tests.runner import RunState

    app = Independent((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=10, profile="quick", seed=5, assets=load_assets(ASSETS))
    state = RunState(target)
    results = run_suite(target, ["request.variants", "idempotency.key_format", "idempotency.in_flight"],
                        state=state)
    incomplete = [r for r in results if r.verdict is Verdict.INCOMPLETE]
    assert incomplete and all(f"would cover this clause (every clause: --max-creates {state.full_plan.needed})"
                              in r.reason for r in incomplete), [r.reason for r in incomplete]
    report = from_results(target, results, run=state.summary())
    line = target_line(report)
    assert report.creates < 10 and f"({state.plan.cost} held by the plan for answers that could be 2xx" in line, line
    assert line.endswith(f"; full coverage needs {state.full_plan.needed}"), line
    roomy = from_results(replace(target, max_creates=state.full_plan.needed), results, run=state.summary())
    assert target_line(roomy).endswith(f"; the cap covers the full plan ({state.full_plan.needed} needed)")


class RendersReplaysLive(Independent):
    """Stores which avatar a key made, not the answer: a replay is rendered from the avatar's
    current state, and training completes once 50 more requests have reached the server (a
    request count, not a clock, so no machine is too slow or too fast for it)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        super().__init__(keys)
        self.seen = 0
        self.made_at: dict[bytes, int] = {}

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        self.seen += 1
        status, out, extra = await super().create(headers, raw)
        if status != 200:
            return status, out, extra
        made = self.made_at.setdefault(out, self.seen)
        if self.seen - made >= 50:  # "replayed" from the look's current state
            out = out.replace(b'"status": "processing"', b'"status": "completed"')
        return status, out, extra


def test_a_replay_rendered_from_the_current_state_is_caught_by_the_late_replay() -> None:
    """idempotency.replay resends at its own turn, long after the original (hundreds of requests
    later on a real target), so a replay rebuilt from the avatar's state instead of the stored
    answer differs once training has moved on; the finding names the field that differs."""
    app = RendersReplaysLive((KEY_1, KEY_2))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    profile="quick", seed=5, assets=load_assets(ASSETS))
    # In verify's order: the pool (first needed by auth.bearer), then hundreds of probes, then the replay.
    names = ["auth.bearer", "request.rejects_invalid", "idempotency.replay"]
    results = {r.name: r for r in run_suite(target, names)}
    replay = results["idempotency.replay"]
    assert replay.verdict is Verdict.FAIL, (replay.verdict, replay.reason)
    failure = replay.failures[0]
    assert "differs at /data/avatar_item/status" in failure.message and '"completed"' in failure.message
    assert failure.pointer == "/data/avatar_item/status"
