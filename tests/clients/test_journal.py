"""The exchange journal: its NDJSON round trip, no credential in it, its bound, and the recorder's timings."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.emulator._journal import Journal
from avatar_contract.emulator._schedule import Schedule, decide
from avatar_contract.validators.journal import (
    ExchangeRecord,
    RecordedRequest,
    body_of,
    dumps_line,
    intent_of,
    loads_line,
    tenant_hash,
)

ROOT = Path(__file__).resolve().parents[2]
BODY = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://example.com/a.png"}}


@given(st.binary(max_size=6000))
def test_a_body_keeps_its_hash_and_size_and_a_bounded_prefix(content: bytes) -> None:
    body = body_of(content)
    assert body.size == len(content)
    assert body.prefix() == content[:4096]
    assert body.truncated == (len(content) > 4096)
    record = ExchangeRecord(id=1, source="t", started=1.5, ended=None, connection=None, tenant=None,
                            request=RecordedRequest("POST", "/v3/avatars", body=body), outcome="reset")
    assert loads_line(dumps_line(record)) == record


def test_an_intent_is_the_name_a_create_asks_for() -> None:
    assert intent_of(b'{"name": "A", "type": "photo"}') == intent_of(b'{"type":"photo","name":"A"}')
    assert intent_of(b"not json") != intent_of(b"other")


def _serve(scenario: str, journal: Journal) -> list[httpx.Response]:
    app = create_app(EmulatorConfig(api_keys=("key-1",), rate_limit=None, journal=journal,
                                    schedule=Schedule(scenario)))

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://e") as client:
            headers = {"x-api-key": "key-1", "Idempotency-Key": "key-a"}
            return [await client.post("/v3/avatars", json=BODY, headers=headers) for _ in range(2)]
    return asyncio.run(go())


def test_ambiguous_5xx_commits_the_first_attempt_and_the_retry_replays_it() -> None:
    journal = Journal()
    first, retry = _serve("ambiguous-5xx", journal)
    assert (first.status_code, retry.status_code) == (503, 200)
    records = journal.records()
    assert [r.fault for r in records] == ["commit-then-503", None]
    assert records[0].created == retry.json()["data"]["avatar_item"]["id"]  # the replay names it
    assert records[1].created is None and records[1].response is not None
    assert all(r.tenant == tenant_hash("key-1") for r in records)
    assert "key-1" not in "".join(dumps_line(r).decode() for r in records)  # the credential is never kept
    assert all(r.request.credential == "x-api-key" for r in records)


def test_the_journal_stops_at_its_limit() -> None:
    journal = Journal(limit=1)
    assert [r.status_code for r in _serve("clean", journal)] == [200, 200]
    assert len(journal.records()) == 1 and journal.full.is_set()


def test_schedules_act_on_the_attempts_the_scenarios_name() -> None:
    assert decide("throttled", 0, 1, 0.0).headers == (("Retry-After", "2"),)
    assert decide("throttled", 1, 1, 0.0).headers == (("Retry-After", "2"),)  # the spec allows no HTTP-date
    assert decide("throttled", 1, 1, 0.0, accepts=lambda v: True).headers[0][1].endswith("GMT")  # one that does
    assert decide("throttled", 0, 2, 0.0).kind == "pass"
    assert decide("persistent-503", 2, 9, 0.0).status == 503
    assert decide("in-flight", 0, 1, 0.0).hold == 5.0 and decide("in-flight", 1, 1, 0.0).kind == "pass"
    assert decide("throttled-long", 0, 3, 0.0).headers == (("Retry-After", "86400"),)


def test_the_emulator_never_imports_the_suite() -> None:
    offenders = []
    for path in sorted((ROOT / "emulator").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if "contract_tests" in n]
    assert not offenders


def test_the_readme_lists_every_check_once() -> None:
    from avatar_contract.contract_tests.clients import CHECK_IDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = [line.split("`")[1] for line in readme.splitlines() if line.startswith("| `client.")]
    assert sorted(listed) == sorted(CHECK_IDS)


def test_retry_after_is_read_in_both_forms() -> None:
    from email.utils import formatdate

    from avatar_contract.contract_tests.clients.checks_timing import advertised_wait

    assert advertised_wait("2", 100.0) == 2.0 and advertised_wait(" 0.5 ", 100.0) == 0.5
    assert advertised_wait(formatdate(1_000_003, usegmt=True), 1_000_000.5) == 2.5
    assert advertised_wait(formatdate(1_000_000, usegmt=True), 1_000_009.0) == 0.0  # a date in the past
    assert advertised_wait("soon", 0.0) is None and advertised_wait(None, 0.0) is None


def _attempt(n: int, started: float, ended: float, status: int | None, key: str | None = "k") -> ExchangeRecord:
    from avatar_contract.validators.journal import RecordedResponse

    headers = (("idempotency-key", key),) if key is not None else ()
    return ExchangeRecord(id=n, source="t", started=started, ended=ended, connection=None, tenant="t_1",
                          request=RecordedRequest("POST", "/v3/avatars", headers=headers,
                                                  body=body_of(b'{"name": "A"}')),
                          outcome="answered" if status else "reset",
                          response=RecordedResponse(status) if status else None)


def test_a_follow_up_is_what_the_client_sent_once_it_had_its_answer() -> None:
    from avatar_contract.contract_tests.clients.attempts import intents

    # 0 is answered at 1.0; 1 was sent at 0.5, alongside it (not a follow-up); 2 came after.
    (intent,) = intents("s", [_attempt(0, 0.0, 1.0, 503), _attempt(1, 0.5, 0.6, 409), _attempt(2, 1.4, 1.5, 200)],
                        0.0)
    assert intent.follow_up(0) is intent.attempts[2]
    assert intent.follow_up(1) is intent.attempts[2]
    assert intent.follow_up(2) is None
