"""Blame by provenance (issue 15 §3): each rule of clauses/attribution.py, held by a server that breaks it."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.attribution import RULES, body_field, rate_limited
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest
from avatar_contract.contract_tests.targets.target import Target

from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[2]
ERROR = {"error": {"code": "rate_limit_exceeded", "message": "slow down", "param": None, "doc_url": None}}


def _target(app: Any, **options: Any) -> Target:
    options.setdefault("allow_create", True)
    return Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, profile="quick", seed=5,
                  assets=load_assets(ASSETS), **options)


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Exchange:
    request = SentRequest("POST", "/v3/avatars", (), None, b"{}")
    return Exchange(request, status, headers or {}, json.dumps(body).encode())


def test_every_rule_names_where_it_is_applied_and_a_test_that_exists() -> None:
    assert len({r.id for r in RULES}) == len(RULES) and all(r.id.startswith("attribution.") for r in RULES)
    for rule in RULES:
        path, _, name = rule.tested_by.partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), rule.id
        for place in rule.applied_in.replace(";", ",").split(","):
            dotted = place.strip().split(" ")[0].split(".")
            found: Any = None
            for cut in range(len(dotted), 0, -1):  # the longest prefix that is a module
                try:
                    found = importlib.import_module("avatar_contract.contract_tests." + ".".join(dotted[:cut]))
                except ModuleNotFoundError:
                    continue
                attrs = dotted[cut:]
                break
            assert found is not None, (rule.id, place)
            for attr in attrs:
                found = getattr(found, attr.split("/")[0])
            assert found is not None, (rule.id, place)


@pytest.mark.parametrize(("param", "named"), [
    ("/avatar_group_id", "avatar_group_id"), ("avatar_group_id", "avatar_group_id"),
    ("reference_images[2].url", "reference_images"), ("body.file.url", "file"), ("/file/url", "file"),
    ("header:Idempotency-Key", None), ("x-api-key", None), (None, None), ("", None)])
def test_a_400s_param_names_a_body_field_or_nothing(param: str | None, named: str | None) -> None:
    fields = {"type", "file", "avatar_group_id", "reference_images"}
    error = {"error": {"code": "invalid_parameter", "message": "no", "param": param}}
    assert body_field(_answer(400, error), fields) == named
    assert body_field(_answer(401, error), fields) is None  # only a 400 refuses a body


@pytest.mark.parametrize(("status", "headers", "code", "limited"), [
    (429, {}, "anything", True), (503, {"retry-after": "1"}, "unavailable", True),
    (503, {}, "rate_limit_exceeded", True), (503, {}, "too_many_requests", True),
    (503, {}, "internal", False), (500, {"retry-after": "1"}, "x", False), (400, {}, "rate_limit", False)])
def test_what_counts_as_a_rate_limiters_answer(status: int, headers: dict[str, str], code: str,
                                               limited: bool) -> None:
    assert rate_limited(_answer(status, {"error": {"code": code, "message": "m"}}, headers)) is limited


class RefusesNullGroup(Independent):
    """Checks the body before the credentials and wrongly refuses ``avatar_group_id: null`` (param names it)."""

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        body = json_or_none(raw)
        if isinstance(body, dict) and "avatar_group_id" in body and body["avatar_group_id"] is None:
            return 400, self.error("invalid_parameter", "avatar_group_id may not be null", "/avatar_group_id"), []
        if not (isinstance(body, dict) and self.validator.is_valid(body)):
            return (*await self.process(raw), [])  # the body's 400, whoever asks
        return await super().create(headers, raw)


def test_a_body_refusal_is_not_an_auth_failure() -> None:
    """attribution.body_refusal: the null group fails request.variants; auth re-sends without it and passes."""
    names = ["auth.missing", "auth.invalid", "auth.bearer", "request.variants"]
    target = _target(RefusesNullGroup((KEY_1, KEY_2)))
    results = {r.name: r for r in run_suite(target, names, state=RunState(target))}
    assert results["request.variants"].verdict is Verdict.FAIL
    for name in ("auth.missing", "auth.invalid"):
        assert results[name].verdict is Verdict.PASS, (name, results[name].reason)
        assert any("attribution.body_refusal" in note for note in results[name].notes)


class LimiterAnswers503:
    """Every ``every``-th POST gets a rate limiter's 503 (``Retry-After: 0``) before the app sees it."""

    def __init__(self, app: Any, every: int = 3, status: int = 503) -> None:
        self.app, self.every, self.status = app, every, status
        self.seen = self.limited = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.seen += 1
            if self.seen % self.every == 0:
                self.limited += 1
                await send({"type": "http.response.start", "status": self.status,
                            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"0")]})
                await send({"type": "http.response.body", "body": json.dumps(ERROR).encode()})
                return
        await self.app(scope, receive, send)


def test_a_rate_limiter_is_not_a_validation_verdict() -> None:
    """attribution.rate_limited: a limiter's 503 is re-tried, never judged as the refusal it interrupted."""
    names = ["request.rejects_invalid", "idempotency.key_format", "auth.missing"]
    app = LimiterAnswers503(Independent((KEY_1, KEY_2)))
    target = _target(app)
    results = {r.name: r for r in run_suite(target, names, state=RunState(target))}
    assert app.limited > 10
    assert {n: r.verdict for n, r in results.items()} == dict.fromkeys(names, Verdict.PASS), \
        {n: r.reason for n, r in results.items()}
    assert all(any("rate limiter" in note for note in r.notes) for r in results.values())


class OneEarly429:
    """A correct server whose limiter answers exactly one POST (the ``at``-th) with 429; the burst never sees one."""

    def __init__(self, app: Any, at: int = 5, retry_after: bytes | None = b"0") -> None:
        self.app, self.at, self.retry_after, self.seen = app, at, retry_after, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.seen += 1
            if self.seen == self.at:
                headers = [(b"content-type", b"application/json")]
                headers += [(b"retry-after", self.retry_after)] if self.retry_after is not None else []
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": json.dumps(ERROR).encode()})
                return
        await self.app(scope, receive, send)


@pytest.mark.parametrize(("retry_after", "verdict"), [(b"0", Verdict.PASS), (None, Verdict.FAIL)])
def test_a_429_met_anywhere_is_judged_by_the_rate_limit_clause(retry_after: bytes | None, verdict: Verdict) -> None:
    """attribution.rate_limit_evidence: not "not observed" when the run met a 429 (here, one in auth.missing)."""
    target = _target(OneEarly429(Independent((KEY_1, KEY_2), window=(10_000, 3600.0)), retry_after=retry_after),
                     burst=20)
    results = {r.name: r for r in run_suite(target, ["auth.missing", "rate_limit.retry_after"],
                                            state=RunState(target))}
    limit = results["rate_limit.retry_after"]
    assert limit.verdict is verdict, limit.reason
    assert any("met elsewhere in the run" in note for note in limit.notes)
    if verdict is Verdict.FAIL:
        assert "Retry-After" in limit.failures[0].message
    assert results["auth.missing"].verdict is Verdict.PASS, results["auth.missing"].reason


class RaceGets429(Independent):
    """Right about everything except answering a retry that arrives during the original with 429, not 409."""

    async def create(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        key, tenant = headers.get("idempotency-key"), self.tenant(headers)
        record = self.records.get((tenant or "", key or ""))
        if tenant is not None and record is not None and not record.done():
            return 429, self.error("rate_limit_exceeded", "slow down"), [(b"retry-after", b"1")]
        return await super().create(headers, raw)

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        await asyncio.sleep(1.0)  # the original is still in flight when the race's others arrive, however loaded
        return await super().process(raw)


def test_429_inside_a_race_fails_in_flight() -> None:
    """attribution.race_unretried: the race reaches idempotency.in_flight unretried."""
    target = _target(RaceGets429((KEY_1, KEY_2)))
    [result] = run_suite(target, ["idempotency.in_flight"], state=RunState(target))
    assert result.verdict is Verdict.FAIL, result.reason
    assert "429" in result.failures[0].message and "expected 200 or 409" in result.failures[0].message


def _bare_429(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
    """A limiter that answers 429 with Retry-After but a body that is no error envelope."""
    if status == 429:
        return status, headers, {"message": "slow down"}
    return status, headers, body


def test_a_remote_429_is_judged_as_a_response_by_the_rate_limit_clause() -> None:
    """attribution.rate_limit_response: on a remote target only rate_limit.retry_after meets a 429, so a bad
    429 envelope fails it (it used to be noted as errors.envelope's, which never saw a 429 there)."""
    from avatar_contract.emulator import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(api_keys=(KEY_1, KEY_2), rate_limit=(20, 3600.0), response_transform=_bare_429))
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, profile="quick", seed=5, burst=60)
    results = {r.name: r for r in run_suite(target, ["errors.envelope", "rate_limit.retry_after"])}
    limit = results["rate_limit.retry_after"]
    assert limit.verdict is Verdict.FAIL, (limit.reason, limit.notes)
    assert any(f.message.startswith("the first 429: /error: error responses are")
               for f in limit.failures), [f.message for f in limit.failures]
    assert results["errors.envelope"].verdict is not Verdict.FAIL


def _teapot_limiter(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
    """A limiter that answers 418 (with Retry-After and the envelope) where the spec documents 429."""
    return (418 if status == 429 else status), headers, body


def test_a_limiter_answering_another_status_fails_the_rate_limit_clause() -> None:
    """provoke_429 keeps the first rate-limited answer (Retry-After), whatever its status: "not observed"
    would hide a limiter that does not answer the documented 429."""
    from avatar_contract.emulator import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(api_keys=(KEY_1, KEY_2), rate_limit=(20, 3600.0),
                                    response_transform=_teapot_limiter))
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, profile="quick", seed=5, burst=60)
    (limit,) = run_suite(target, ["rate_limit.retry_after"])
    assert limit.verdict is Verdict.FAIL, (limit.reason, limit.notes)
    assert any("expected 429, got 418" in f.message for f in limit.failures), [f.message for f in limit.failures]
