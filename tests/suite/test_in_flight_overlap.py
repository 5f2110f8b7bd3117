"""idempotency.in_flight passes only with proof that the race overlapped (issue 16 §1).

Proof is a 409 from the target, or timing: another request fully sent at least race.MARGIN
before the first answer began.  Same answers without proof are incomplete; different avatars
fail.  The servers here make the race deterministic by signalling (each holds its first answer
until every request of the race has arrived), never by a sleep the verdict depends on.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.planning.planner import LIVE_RACE
from avatar_contract.contract_tests.planning.race import MARGIN, overlap
from avatar_contract.contract_tests.runner import RunState, run_clause
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.validators import Linter

from ._breaking import CREATED, _answer
from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE, Receive, Scope, Send, served_emulator

CLAUSE = "idempotency.in_flight"
_LINTER = Linter()


def _exchange(sent: float | None, answered: float | None, number: int) -> Exchange:
    request = SentRequest("POST", "/v3/avatars", (), None, b"{}")
    return Exchange(request, 200, {}, b"{}", request_number=number, sent_at=sent, answered_at=answered)


def test_overlap_needs_a_request_sent_well_before_the_first_answer() -> None:
    first = _exchange(10.0, 10.0 + MARGIN + 0.05, 1)
    assert overlap([first, _exchange(10.001, 11.0, 2)]) is not None
    # Sent after the first answer began, or too close to it: a replay of a finished create, perhaps.
    assert overlap([first, _exchange(10.0 + MARGIN + 0.06, 11.0, 2)]) is None
    assert overlap([first, _exchange(10.0 + 0.1, 11.0, 2)]) is None
    # No timing, no proof; one answer alone proves nothing either.
    assert overlap([first, _exchange(None, 11.0, 2)]) is None
    assert overlap([first]) is None


class _Race:
    """Answers keyed creates after every request of the race has arrived (``size`` with one key).

    ``mode``: "no guard" creates an avatar per request; "409" answers the first and 409s the
    others; "blocks" answers the first ``hold`` seconds after all arrived and replays it to the
    others once it is done (a correct server that makes retries wait).
    """

    def __init__(self, mode: str, size: int = LIVE_RACE, hold: float = 0.0) -> None:
        self.mode, self.size, self.hold = mode, size, hold
        self.arrived: dict[str, int] = {}
        self.started: dict[str, int] = {}
        self.all_in: dict[str, asyncio.Event] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.made = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        # A race's requests all start before any body is released (the suite's start line), so a
        # key seen more than once by the time this body is in is a race; other creates go through.
        key = dict(scope["headers"]).get(b"idempotency-key", b"").decode()
        self.started[key] = self.started.get(key, 0) + 1
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break  # the whole body is in: from here on this request is in flight
        headers = dict(scope["headers"])
        if headers.get(b"x-api-key", b"").decode() not in (KEY_1, KEY_2):
            await _answer(send, 401, {"error": {"code": "authentication_failed", "message": "no"}})
            return
        if not _LINTER.lint_request(raw).valid:
            await _answer(send, 400, {"error": {"code": "invalid_parameter", "message": "bad", "param": None}})
            return
        racing = bool(key) and self.started[key] > 1
        order = self.arrived[key] = self.arrived.get(key, 0) + 1
        everyone = self.all_in.setdefault(key, asyncio.Event())
        finished = self.done.setdefault(key, asyncio.Event())
        if order >= self.size:
            everyone.set()
        if order == 1 and racing:
            await asyncio.wait_for(everyone.wait(), 30)  # the signal: the whole race is here
            await asyncio.sleep(self.hold)  # only widens the proven overlap
        status, body = 200, json.loads(json.dumps(CREATED))
        if self.mode == "no guard" or order == 1 or not racing:
            self.made += 1
            body["data"]["avatar_item"]["id"] = f"look-{self.made}"
        elif self.mode == "409":
            status, body = 409, {"error": {"code": "request_in_progress", "message": "in flight"}}
        else:
            await finished.wait()
            body["data"]["avatar_item"]["id"] = f"look-{self.made}"
        if order == 1:
            finished.set()
        await _answer(send, status, body)


def _verdict(app: Any) -> Any:
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    profile="quick", seed=3)
    return run_clause(CLAUSE, target, RunState(target))


@pytest.mark.parametrize(("mode", "hold", "verdict"), [
    ("no guard", 0.0, Verdict.FAIL),  # three avatars: the overlap proves itself
    ("409", 0.0, Verdict.PASS),  # a 409 is the target saying it saw the overlap
    ("blocks", MARGIN * 1.5, Verdict.PASS),  # the others were sent long before the first answer began
])
def test_a_race_that_surely_overlapped_is_judged(mode: str, hold: float, verdict: Verdict) -> None:
    app = _Race(mode, hold=hold)
    result = _verdict(app)
    assert result.verdict is verdict, (result.verdict, result.reason, [f.message for f in result.failures])
    assert max(app.arrived.values()) >= LIVE_RACE  # the race really was one, with every request in
    if verdict is Verdict.PASS:
        assert any("overlap proven" in n for n in result.notes), result.notes


def test_same_answers_without_proof_of_overlap_are_incomplete_not_pass() -> None:
    # Answers at once, one create then replays: what a server without a guard looks like when the
    # requests are handled one after another (the first answer begins before MARGIN has passed).
    app = _Race("blocks", size=1)
    result = _verdict(app)
    assert result.verdict is Verdict.INCOMPLETE, (result.verdict, result.reason)
    assert "no overlap proven" in result.reason


@pytest.mark.http
@pytest.mark.parametrize("delay", ["0", "0.005"])  # zero, and the emulator's default
def test_the_served_emulator_without_a_guard_never_passes(delay: str) -> None:
    with served_emulator("--fault", "no_in_flight_guard", "--processing-delay", delay) as base:
        target = Target(base_url=base, api_key=KEY_1, second_api_key=KEY_2, allow_create=True, profile="quick",
                        seed=1)
        results = [run_clause(CLAUSE, target, RunState(target)) for _ in range(3)]
    assert all(r.verdict in (Verdict.FAIL, Verdict.INCOMPLETE) for r in results), \
        [(r.verdict, r.reason) for r in results]


@pytest.mark.http
@pytest.mark.parametrize("delay", ["0", "0.005"])
def test_the_served_clean_emulator_never_fails(delay: str) -> None:
    with served_emulator("--processing-delay", delay) as base:
        target = Target(base_url=base, api_key=KEY_1, second_api_key=KEY_2, allow_create=True, profile="quick",
                        seed=1)
        results = [run_clause(CLAUSE, target, RunState(target)) for _ in range(2)]
    assert all(r.verdict in (Verdict.PASS, Verdict.INCOMPLETE) for r in results), \
        [(r.verdict, r.reason, [f.message for f in r.failures]) for r in results]


class ThrottlesTheFirstRace(Independent):
    """A limiter that answers the in-flight race's first round 429 throughout (Retry-After: 1),
    as a creates-only limiter does when the race lands on an empty bucket; correct otherwise."""

    def __init__(self, keys: tuple[str, ...], race_name: str) -> None:
        super().__init__(keys)
        self.race_name, self.throttled = race_name, 0

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        body = json_or_none(raw)
        if isinstance(body, dict) and body.get("name") == self.race_name and self.throttled < 3:
            self.throttled += 1
            return 429, self.error("rate_limit_exceeded", "later"), [(b"retry-after", b"1")]
        return await super().create(headers, raw)


def test_a_race_a_limiter_answered_throughout_goes_once_more_after_its_retry_after() -> None:
    """The race is never retried request by request (attribution.race_unretried), but a race every
    answer of which came from a limiter shows nothing: after the Retry-After it goes once more, in
    the slots the first round gave back, and that round is the one judged."""
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, allow_create=True,
                    profile="quick", seed=5, assets=load_assets(ASSETS), asgi_app=Independent((KEY_1,)))
    host = next(c for c in RunState(target).plan.creates if "in_flight" in c.follow_ups)
    app = ThrottlesTheFirstRace((KEY_1, KEY_2), f"Contract plan #{host.index + 1}")
    state = RunState(replace(target, asgi_app=app))
    pool = asyncio.run(state.pool())
    assert app.throttled == 3  # the first round was the limiter's
    races = pool.follow["in_flight"]
    assert len(races) == 1 and not any(a.status == 429 for a in races[0]), [a.status for a in races[0]]
    assert state.ledger.state().made <= (target.max_creates or 0)
