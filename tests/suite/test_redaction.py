"""Redaction hides secrets, wherever and however a target echoes them, and nothing else."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseFailure, ClauseResult, Verdict
from avatar_contract.contract_tests.reports.html import to_html
from avatar_contract.contract_tests.reports.junit import to_junit
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.redact import Scrubber, forms
from avatar_contract.contract_tests.reports.report import from_results, render_text, to_json
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.credentials import Credentials
from avatar_contract.contract_tests.targets.exchange import Credential, Exchange, SentRequest
from avatar_contract.contract_tests.targets.target import Target

from ._support import REMOTE

# The tool's own words that short keys used to mangle ("x-api-***", "e***pected").
OWN_WORDS = ("x-api-key", "expected", "key1-like", "Idempotency-Key", "auth.missing", "k1 ")


def _exchange(response: bytes, credential: Credential | None = None) -> Exchange:
    request = SentRequest("POST", "/v3/avatars", (("Idempotency-Key", b"key-1:abc"),), credential,
                          b'{"type":"photo","name":"expected x"}')
    return Exchange(request, 500, {"content-type": "application/json"}, response)


def _results(response: bytes, credential: Credential | None = None) -> list[ClauseResult]:
    failure = ClauseFailure("auth.missing", "no credentials: expected 401 with the x-api-key header absent, "
                                            "got 500", _exchange(response, credential))
    return [
        ClauseResult("auth.missing", Verdict.FAIL, reason="1 failure(s); first: expected 401, got 500",
                     failures=[failure], requests=3, notes=["statuses seen: 500×3", "sent x-api-key: k1 x key1"]),
        ClauseResult("auth.invalid", Verdict.PASS, requests=4, notes=["expected 401 for every near-miss key"]),
    ]


def _renders(target: Target, results: list[ClauseResult], secrets: list[str]) -> dict[str, str]:
    report = from_results(target, results, secrets, 1.0)
    return {"text": render_text(report), "json": json.dumps(to_json(report)), "md": to_markdown(report),
            "junit": to_junit(report), "html": to_html(report)}


@pytest.mark.parametrize("key", ["x", "k1", "key1"])
def test_short_keys_leave_the_tools_own_words_unchanged(key: str) -> None:
    target = Target(base_url="https://api.example.test", api_key=key, seed=1)
    body = b'{"error":{"code":"internal","message":"expected a key in x-api-key"}}'
    results = _results(body, Credentials(key, None).api_key())
    scrubbed = _renders(target, results, [key])
    plain = _renders(target, results, [])
    # Nothing the target echoed is a secret here, so every report is byte for byte
    # what it would be with no secret at all: the tool's words survive intact.
    assert scrubbed == plain
    for text in scrubbed.values():
        for word in ("x-api-key", "expected"):
            assert word in text
        assert "x-api-***" not in text and "e***pected" not in text


@pytest.mark.parametrize("key", ["x", "k1", "key1"])
def test_short_keys_are_still_hidden_where_the_target_echoes_them(key: str) -> None:
    target = Target(base_url="https://api.example.test", api_key=key, seed=1)
    body = json.dumps({"error": {"code": "internal", "message": f"bad key {key}"}}).encode()
    results = _results(body, Credentials(key, None).api_key())
    scrub = Scrubber([key])
    clean = [ClauseResult(r.name, r.verdict, r.reason, [ClauseFailure(
        f.clause, f.message, scrub.exchange(f.exchange) if f.exchange else None) for f in r.failures],
        r.requests, notes=r.notes) for r in results]
    html = _renders(target, clean, [key])["html"]
    assert f"bad key {key}" not in html and "bad key ***" in html
    assert "x-api-key" in html


def test_a_real_run_with_a_short_key_keeps_x_api_key_and_expected() -> None:
    target = Target(api_key="key1", profile="quick", seed=2,
                    faults=frozenset({"auth_skipped", "wrong_key_accepted"}))
    results = run_suite(target, ["auth.missing", "auth.invalid"])
    assert [r.verdict for r in results] == [Verdict.FAIL, Verdict.FAIL]
    texts = _renders(target, results, ["key1"])
    for name, text in texts.items():
        assert "x-api-***" not in text and "***pected" not in text, name
    # Failures are grouped by kind, so the example kept may carry a made-up key rather than
    # ${AVATAR_API_KEY}; either way the header name itself must survive redaction.
    assert "expected 401" in texts["text"] and "x-api-key: " in texts["text"]


SECRET = "sk-live-Rz7/Qp+9 w=é"  # "/", "+", " ", "=" and non-ASCII: every encoding differs


def _echoes(secret: str) -> dict[str, str]:
    raw = secret.encode()
    return {
        "raw": secret,
        "json": json.dumps(secret)[1:-1],
        "percent": quote(secret, safe=""),
        "percent-lower": re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "basic-auth": base64.b64encode(b"user:" + raw).decode(),  # the key inside a larger blob
        "bearer-b64": base64.b64encode(b"Bearer " + raw + b"!").decode(),
    }


@pytest.mark.parametrize("form", list(_echoes(SECRET)))
def test_every_encoding_of_the_key_is_scrubbed_from_target_content(form: str) -> None:
    echo = _echoes(SECRET)[form]
    scrub = Scrubber([SECRET])
    assert echo not in scrub.content(f"token={echo};"), form
    assert echo.encode() not in scrub.data(f'{{"echo":"{echo}"}}'.encode()), form
    assert echo not in scrub.text(f"the server said {echo}."), form


def test_near_misses_are_scrubbed_only_from_the_answer_to_the_request_that_sent_them() -> None:
    creds = Credentials("key1", None)
    near = creds.truncated()  # "key", a word of ours too
    scrub = Scrubber(creds.real_secrets(), creds.near_misses())
    answer = b'{"error":{"message":"key key is unknown; send x-api-key"}}'
    to_near = scrub.exchange(_exchange(answer, near))
    assert b'"*** *** is unknown; send x-api-key"' in to_near.content  # the target's echo: gone
    to_real = scrub.exchange(_exchange(answer, creds.api_key()))
    assert to_real.content == answer  # "key" was never sent on this request
    assert scrub.text("send x-api-key: expected key") == "send x-api-key: expected key"


async def _echo_encoded(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes the credential base64- and percent-encoded, in the body and in headers."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = {k.decode().lower(): v.decode("utf-8", "replace") for k, v in scope["headers"]}
    got = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    echoes = _echoes(got) if got else {}
    body = json.dumps({"error": {"code": "authentication_failed", "message": "nope", "echo": echoes}})
    # The real key and its near misses get their own status: failures are grouped by kind,
    # and the examples kept must include answers that echo a secret.
    status = 418 if got.startswith("sk-live") else 500
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"x-echo-b64", echoes.get("base64", "").encode()),
        (b"x-echo-pct", echoes.get("percent", "").encode())]})
    await send({"type": "http.response.body", "body": body.encode()})


def test_encoded_echoes_never_reach_a_report(tmp_path: Path) -> None:
    secret = "sk-live-Rz7/Qp+9w=abc"  # sendable as a header value
    target = Target(base_url=REMOTE, api_key=secret, asgi_app=_echo_encoded, profile="quick", seed=1)
    results = run_suite(target, ["auth.missing", "auth.invalid", "auth.bearer"])
    assert any(r.failures for r in results)
    texts = _renders(target, results, [secret])
    leaked = {name: [f for f in forms(secret) if len(f) >= 6 and f in text] for name, text in texts.items()}
    assert not any(leaked.values()), leaked
    assert "***" in texts["html"]
