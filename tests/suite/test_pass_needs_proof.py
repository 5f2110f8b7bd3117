"""Clauses pass only on evidence the run saw (issue 16 §1, the audit beyond in_flight)."""

from __future__ import annotations

import json
from typing import Any

from avatar_contract.contract_tests.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause
from avatar_contract.contract_tests.target import Target

from ._support import KEY_1, KEY_2, REMOTE, Receive, Scope, Send, emulator


class VagueErrors:
    """The emulator, but every 400 says only "bad request": no error names what was wrong."""

    def __init__(self) -> None:
        self.app = emulator()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started: dict[str, Any] = {}

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            if started.get("status") == 400:
                body = {"error": {"code": "invalid_parameter", "message": "bad request", "param": None}}
                message = {**message, "body": json.dumps(body).encode()}
                started["headers"] = [(k, v) for k, v in started["headers"] if k.lower() != b"content-length"]
            await send(started)
            await send(message)

        await self.app(scope, receive, rewrite)


def test_malformed_keys_only_on_invalid_bodies_prove_nothing_unless_the_error_names_the_key() -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=VagueErrors(), profile="quick", seed=11)
    result = run_clause("idempotency.key_format", target)
    assert result.verdict is Verdict.INCOMPLETE, (result.verdict, result.reason)
    assert "may all be the body's" in result.reason
    # The emulator's 400s name the Idempotency-Key: that is evidence, and the clause passes.
    named = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=emulator(), profile="quick", seed=11)
    assert run_clause("idempotency.key_format", named).verdict is Verdict.PASS


def test_a_refused_second_key_makes_tenant_scope_incomplete_not_a_failure() -> None:
    # The second key is not one the server knows: its 401 says nothing about tenant scoping.
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2 + "-unknown",
                    asgi_app=emulator(api_keys=(KEY_1,)), allow_create=True, profile="quick", seed=11)
    result = run_clause("idempotency.tenant_scope", target)
    assert result.verdict is not Verdict.FAIL, [f.message for f in result.failures]
    assert result.verdict is Verdict.INCOMPLETE and "second API key was refused" in result.reason, result.reason
