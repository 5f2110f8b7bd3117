"""The graded_emulator fixture: a client library's own test grades it without a subprocess."""

from __future__ import annotations

import uuid

import httpx
import pytest

from avatar_contract.contract_tests.clients import GradedEmulator

pytestmark = pytest.mark.http  # the fixture serves the emulator on a loopback socket

BODY = {"type": "photo", "file": {"type": "url", "url": "https://example.com/a.png"}}


def _create(base_url: str, api_key: str, name: str, *, fresh_key_on_retry: bool) -> int:
    key = str(uuid.uuid4())
    with httpx.Client(base_url=base_url, timeout=5) as client:
        for _ in range(3):
            response = client.post("/v3/avatars", json={**BODY, "name": name},
                                   headers={"x-api-key": api_key, "Idempotency-Key": key})
            if response.status_code < 500:
                return response.status_code
            key = str(uuid.uuid4()) if fresh_key_on_retry else key
    return 0


def test_the_fixture_grades_a_correct_retry(graded_emulator: GradedEmulator) -> None:
    played = graded_emulator.play("ambiguous-5xx")
    assert [_create(played.base_url, played.api_key, f"a{n}", fresh_key_on_retry=False) for n in range(2)] == [200] * 2
    assert len(graded_emulator.journal) == 4
    graded_emulator.finish(0)
    result = graded_emulator.grade()
    assert result.verdict("client.same_key_on_retry") == "pass"
    assert result.verdict("client.one_resource_per_intent") == "pass"
    assert result.verdict("client.in_flight") == "incomplete"  # in-flight was not played


def test_the_fixture_catches_a_fresh_key_per_retry(graded_emulator: GradedEmulator) -> None:
    played = graded_emulator.play("ambiguous-5xx")
    _create(played.base_url, played.api_key, "b", fresh_key_on_retry=True)
    result = graded_emulator.grade()
    assert result.failed == ["client.same_key_on_retry"]
