"""Regression tests for reviewed defects: secrets, live safety, the create cap and odd inputs."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseResult, Verdict
from avatar_contract.contract_tests.planning.budget import Ledger
from avatar_contract.contract_tests.reports.redact import Scrubber, forms
from avatar_contract.contract_tests.reports.report import from_results, render_text, write
from avatar_contract.contract_tests.runner import run_clause, run_suite
from avatar_contract.contract_tests.targets.credentials import Credentials
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest
from avatar_contract.contract_tests.targets.session import (
    RetryPolicy,
    Session,
    UnsendableRequest,
    retry_after_seconds,
)
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.validators._cli import main

from ._independent import Independent
from ._support import KEY_1, KEY_2, REMOTE, emulator

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SECRETKEY123"


def _answer(headers: dict[str, str]) -> Exchange:
    return Exchange(SentRequest("POST", "/v3/avatars", (), None, None), 429, headers, b"")


def test_retry_after_with_a_unicode_digit_falls_back_to_the_default_wait() -> None:
    policy = RetryPolicy()
    # "²".isdigit() is True, but float("²") raises: only ASCII digits are delay-seconds.
    for odd in ("²", "١٢", " ³ "):
        assert retry_after_seconds(_answer({"retry-after": odd}), policy) == policy.default_wait
    assert retry_after_seconds(_answer({"retry-after": " 3 "}), policy) == 3.0


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AVATAR_API_BASE_URL", "AVATAR_API_KEY", "AVATAR_API_KEY_2"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("url", ["http://[::1", "ftp://example.test", "http://", "http://host.test:99999"])
def test_a_malformed_base_url_is_a_one_line_usage_error(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _clean_env(monkeypatch)
    assert main(["verify", "--base-url", url, "--api-key", "k", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_pytest_rejects_a_malformed_base_url_as_a_usage_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q",
                           "--base-url", "http://[::1", "--api-key", "k"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage-error exit
    assert "Traceback" not in done.stdout + done.stderr
    assert "--base-url" in done.stderr


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that accepts connections (into the backlog) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.parametrize("key", [SECRET + " ", SECRET + "\n", " " + SECRET, SECRET + "\x00", SECRET + "é"])
def test_an_unsendable_key_is_a_usage_error_that_never_shows_it(
        key: str, listening_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _clean_env(monkeypatch)
    code = main(["verify", "--base-url", f"http://127.0.0.1:{listening_port}", "--api-key", key,
                 "--report-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert SECRET not in out + err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_pytest_rejects_an_unsendable_key_without_showing_it(listening_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    env["AVATAR_API_KEY"] = SECRET + " "
    done = subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", "-q",
                           "--base-url", f"http://127.0.0.1:{listening_port}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr


def test_an_unsendable_header_raises_without_its_value(listening_port: int) -> None:
    async def send() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listening_port}", timeout=5) as client:
            session = Session(client, Credentials("k", None), Ledger(1, breaker=False), "/v3/avatars")
            await session.post({}, credential=Credentials.literal("x-api-key", SECRET + "\n"))

    with pytest.raises(UnsendableRequest) as raised:
        asyncio.run(send())
    assert SECRET not in str(raised.value) and "x-api-key" in str(raised.value)
    assert raised.value.__suppress_context__


ECHOED = 'SECRET/KEY"123'  # a "/" and a quote: JSON escapes both


async def _echo_app(scope: Any, receive: Any, send: Any) -> None:
    """Echoes whatever credential it got, raw and JSON-escaped (with "\\/"), in every answer."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = {k.decode().lower(): v.decode("utf-8", "replace") for k, v in scope["headers"]}
    got = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
    # None documented: every answer is a failure; a near-miss of the key is its own kind.
    status = 500 if got == ECHOED else 418 if got in (ECHOED[:-1], ECHOED + "x") else 403
    escaped = json.dumps(got)[1:-1].replace("/", "\\/")
    message = json.dumps({"error": {"code": "authentication_failed", "message": f"key {got} is not valid"}})
    body = message[:-2] + f', "hint": "{escaped}"}}}}'
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"x-echo", escaped.encode())]})
    await send({"type": "http.response.body", "body": body.encode()})


def _leaks(text: str) -> list[str]:
    near = (ECHOED, ECHOED[:-1], ECHOED + "x")
    return [form for secret in near for form in forms(secret) if len(form) > 4 and form in text]


def test_echoed_keys_and_near_misses_never_reach_a_report(tmp_path: Path) -> None:
    target = Target(base_url=REMOTE, api_key=ECHOED, asgi_app=_echo_app, profile="quick", seed=1)
    results = run_suite(target, ["auth.missing", "auth.invalid", "auth.bearer"])
    assert any(r.verdict is Verdict.FAIL for r in results)
    report = from_results(target, results, [ECHOED])
    files = write(report, tmp_path)
    for text in [render_text(report), *(p.read_text() for p in files)]:
        assert not _leaks(text), _leaks(text)
    data = json.loads((tmp_path / "report.json").read_text())
    responses = [f["response"] for c in data["clauses"] for f in c["failures"] if f["response"]]
    assert any("***" in r for r in responses)


def test_the_runner_hands_every_front_end_scrubbed_text() -> None:
    # pytest (test_contract.py) shows reason and failures and records summary_dict:
    # all of it must be clean without any front-end scrubbing.
    target = Target(base_url=REMOTE, api_key=ECHOED, asgi_app=_echo_app, profile="quick", seed=1)
    for name in ("auth.invalid", "response.status"):
        result = run_clause(name, target)
        assert result.verdict is Verdict.FAIL
        texts = [json.dumps(result.summary_dict()), result.reason, *result.notes]
        for failure in result.failures:
            texts += [failure.message, str(failure)]
            if failure.exchange is not None:
                texts += [failure.exchange.content.decode("utf-8", "replace"),
                          *failure.exchange.headers.values()]
        assert not _leaks("\n".join(texts)), _leaks("\n".join(texts))


def test_scrubber_covers_raw_and_json_escaped_forms() -> None:
    scrub = Scrubber(["k/é\"y"])
    for form in ("k/é\"y", "k\\/é\\\"y", "k/\\u00e9\\\"y", "k\\/\\u00e9\\\"y"):
        assert scrub.text(f"<{form}>") == "<***>"
        assert scrub.data(f"<{form}>".encode()) == b"<***>"
    assert Scrubber(["abc", "abcx"]).text("abcx abc") == "*** ***"


class EmptyKeyIsAbsent(Independent):
    """A server that is right about everything except taking an empty Idempotency-Key as absent."""

    async def create(self, headers: Any, raw: bytes) -> Any:
        if headers.get("idempotency-key", None) == "":
            headers = {k: v for k, v in headers.items() if k != "idempotency-key"}
        return await super().create(headers, raw)


def test_without_allow_create_a_lax_key_check_creates_nothing() -> None:
    app = EmptyKeyIsAbsent((KEY_1,), window=(10**9, 1.0))
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=app, profile="quick", seed=11)
    results = run_suite(target)
    assert app.created == 0, [(r.name, r.creates) for r in results if r.creates]
    assert sum(r.creates for r in results) == 0
    key_format = next(r for r in results if r.name == "idempotency.key_format")
    assert any("invalid body" in note for note in key_format.notes)


def test_key_format_still_catches_an_unenforced_pattern_in_process() -> None:
    result = run_clause("idempotency.key_format",
                        Target(profile="quick", seed=3, faults=frozenset({"key_pattern_unenforced"})))
    assert result.verdict is Verdict.FAIL


def test_creates_without_allow_create_are_reported_loudly(tmp_path: Path) -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1)
    report = from_results(target, [ClauseResult("idempotency.key_format", Verdict.FAIL, "x", creates=2)])
    files = {p.name: p.read_text() for p in write(report, tmp_path)}
    assert "CREATED without --allow-create" in render_text(report)
    assert "CREATED without --allow-create" in files["report.md"]
    assert "CREATED without --allow-create" in files["junit.xml"]
    data = json.loads(files["report.json"])
    assert data["unexpected_creates"] == 2 and data["warnings"]
    allowed = from_results(Target(base_url=REMOTE, api_key=KEY_1, allow_create=True),
                           [ClauseResult("idempotency.key_format", Verdict.PASS, creates=2)])
    assert "WARNING" not in render_text(allowed)


class CreateCounter:
    """Counts the 2xx answers to POSTs: every one is an avatar on a server that ignores keys."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.created = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST" \
                    and 200 <= message["status"] < 300:
                self.created += 1
            await send(message)

        await self.app(scope, receive, counting if scope["type"] == "http" else send)


@pytest.mark.parametrize("cap", [5, 20])
def test_max_creates_holds_against_a_server_that_ignores_idempotency(cap: int) -> None:
    app = CreateCounter(emulator(faults=frozenset({"idempotency_ignored"})))
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app,
                    allow_create=True, max_creates=cap, profile="quick", seed=4)
    results = run_suite(target)
    made = sum(r.creates for r in results)
    assert app.created <= cap and made <= cap, [(r.name, r.creates) for r in results if r.creates]
    assert any(r.verdict is Verdict.FAIL and r.name.startswith("idempotency.") for r in results)
