"""The idempotency judgments across exchanges: the replay window, and memory bounded by the keys in it."""

from __future__ import annotations

import json

import msgspec
from _recorded import KEY_1, PHOTO

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.traffic.evidence import Where
from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.validators.journal import (
    ExchangeRecord,
    RecordedRequest,
    RecordedResponse,
    body_of,
    tenant_hash,
)


def _created(clean: list[ExchangeRecord]) -> bytes:
    return next(r.response.body.prefix() for r in clean if r.response and r.response.status == 200)


def _exchange(n: int, when: float, key: str, answer: bytes, status: int = 200) -> ExchangeRecord:
    return ExchangeRecord(
        id=n, source="test", started=when, ended=when + 0.1, connection=None, tenant=tenant_hash(KEY_1),
        request=RecordedRequest("POST", "/v3/avatars", "", (("idempotency-key", key),),
                                body_of(json.dumps(PHOTO).encode()), "x-api-key"),
        outcome="answered", response=RecordedResponse(status, (("content-type", "application/json"),),
                                                      body_of(answer)))


def _other_id(answer: bytes) -> bytes:
    value = json.loads(answer)
    value["data"]["avatar_item"]["id"] = "lk_" + "f" * 24
    return json.dumps(value).encode()


def test_memory_follows_the_keys_in_the_window_not_the_traffic(clean_records: list[ExchangeRecord]) -> None:
    answer = _created(clean_records)
    judge = TrafficJudge(ttl=100.0)
    for n in range(2000):  # one fresh key a second: the window holds about 100 of them
        judge.add(_exchange(n, 1_000.0 + n, f"key-{n}", answer), Where("t", n))
    assert 95 <= judge.replays.peak <= 102
    assert judge.exchanges == 2000


def test_a_retry_inside_the_window_is_judged_and_one_after_it_is_a_new_create(
        clean_records: list[ExchangeRecord]) -> None:
    answer = _created(clean_records)
    judge = TrafficJudge(ttl=100.0)
    judge.add(_exchange(0, 1_000.0, "k", answer), Where("t", 0))
    judge.add(_exchange(1, 1_050.0, "k", _other_id(answer)), Where("t", 1))  # within 100 s: a new avatar
    judge.add(_exchange(2, 1_200.0, "k", _other_id(answer)), Where("t", 2))  # after: the key is free again
    replay = next(r for r in judge.results() if r.name == "idempotency.replay")
    assert replay.verdict is Verdict.FAIL and replay.failures[0].count == 1
    assert "t entry 0" in replay.failures[0].message and "t entry 1" in replay.failures[0].message


def test_a_409_read_before_its_original_is_judged_once_the_original_comes(
        clean_records: list[ExchangeRecord]) -> None:
    """A journal written as answers complete holds the 409 first; the overlap is in the timestamps."""
    answer = _created(clean_records)
    conflict = b'{"error":{"code":"request_in_progress","message":"in flight"}}'
    judge = TrafficJudge()
    judge.add(_exchange(0, 1_000.2, "k", conflict, status=409), Where("t", 0))
    original = _exchange(1, 1_000.0, "k", answer)
    judge.add(msgspec.structs.replace(original, ended=1_000.5), Where("t", 1))
    in_flight = next(r for r in judge.results() if r.name == "idempotency.in_flight")
    assert in_flight.verdict is Verdict.PASS and judge.replays.proven == 1
