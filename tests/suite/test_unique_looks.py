"""'Unique look identifier.': creates under different Idempotency-Keys must not share a look id."""

from __future__ import annotations

from typing import Any

from avatar_contract.contract_tests.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause
from avatar_contract.contract_tests.target import Target
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
    return run_clause("response.schema", target)


def test_a_server_reusing_one_look_id_fails_response_schema() -> None:
    result = _run(_same_look)
    assert result.verdict is Verdict.FAIL
    assert [f.kind for f in result.failures] == ["look id reused"]
    assert "Unique look identifier" in result.failures[0].message


def test_replays_and_races_of_one_key_may_share_it() -> None:
    result = _run(None)  # the correct emulator: replays and the race answer one look per key
    assert result.verdict is Verdict.PASS, [f.message for f in result.failures]
