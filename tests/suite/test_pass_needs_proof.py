"""Clauses pass only on evidence the run saw (issue 16 §1, the audit beyond in_flight)."""

from __future__ import annotations

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause
from avatar_contract.contract_tests.targets.target import Target

from ._support import KEY_1, KEY_2, REMOTE, RewritesBodies, emulator


class VagueErrors(RewritesBodies):
    """The emulator, but every 400 says only "bad request": no error names what was wrong."""

    def __init__(self) -> None:
        super().__init__(400, lambda _: {"error": {"code": "invalid_parameter", "message": "bad request",
                                                   "param": None}})


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
