"""'Unique look identifier.': creates under different Idempotency-Keys must not share a look id.

One owner: idempotency.replay judges repeated ids; response.schema judges each response alone."""

from __future__ import annotations

from typing import Any

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator import EmulatorConfig, create_app

KEY = "unique-looks-key"


def _same_look(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
    if status == 200 and isinstance(body, dict):
        body["data"]["avatar_item"]["id"] = "lk_always_the_same"
    return status, headers, body


def _run(transform: Any) -> Any:
    app = create_app(EmulatorConfig(api_keys=(KEY,), rate_limit=None, response_transform=transform))
    target = Target(base_url="http://looks.test", api_key=KEY, asgi_app=app, allow_create=True,
                    max_creates=100, profile="quick", seed=3)
    # One run for both: the pool's creates under several keys are what idempotency.replay compares.
    replay, schema = run_suite(target, ["idempotency.replay", "response.schema"])
    return replay, schema


def test_a_server_reusing_one_look_id_fails_idempotency_replay_only() -> None:
    replay, schema = _run(_same_look)
    assert replay.verdict is Verdict.FAIL
    assert any("same avatar id lk_always_the_same" in f.message for f in replay.failures)
    assert schema.verdict is Verdict.PASS, [f.message for f in schema.failures]


def test_replays_and_races_of_one_key_may_share_it() -> None:
    for result in _run(None):  # the correct emulator: replays and the race answer one look per key
        assert result.verdict is Verdict.PASS, [f.message for f in result.failures]
