"""The validating proxy: forwards unchanged, judges what passes, and never lets an upstream failure through
as a traceback (in-process: the client and the upstream are ASGI apps; the failing upstreams are sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _recorded import KEY_1, KEY_2, PHOTO

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.contract_tests.traffic.proxy import ProxyConfig, ProxyState, create_app
from avatar_contract.emulator import EmulatorConfig
from avatar_contract.emulator import create_app as emulator_app
from avatar_contract.emulator._journal import Journal
from avatar_contract.validators.journal import loads_line


def _proxy(upstream: str, transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> tuple[Any, ProxyState]:
    state = ProxyState(TrafficJudge())
    return create_app(ProxyConfig(upstream, transport=transport, **options), state), state


@contextlib.asynccontextmanager
async def _through(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy.test") as client:
        yield client


def _emulator(**options: Any) -> tuple[httpx.ASGITransport, Journal]:
    journal = Journal()
    journal.begin(None)
    config = EmulatorConfig(api_keys=(KEY_1, KEY_2), rate_limit=None, processing_delay=0, journal=journal, **options)
    return httpx.ASGITransport(app=emulator_app(config)), journal


def test_requests_and_answers_pass_unchanged_but_for_hop_by_hop_fields(tmp_path: Any) -> None:
    upstream, journal = _emulator()
    record = (tmp_path / "proxy.ndjson").open("wb")
    app, state = _proxy("http://upstream.test", upstream, record=record)
    raw = json.dumps(PHOTO, indent=3).encode()  # odd spacing: the bytes must arrive as sent

    async def go() -> httpx.Response:
        async with _through(app) as client:
            return await client.post("/v3/avatars", content=raw, headers={
                "x-api-key": KEY_1, "content-type": "application/json", "idempotency-key": "p-1",
                "x-trace": "kept", "connection": "keep-alive, x-drop", "x-drop": "named by Connection",
                "keep-alive": "timeout=5", "te": "trailers"})

    answer = asyncio.run(go())
    record.close()
    assert answer.status_code == 200 and answer.json()["data"]["avatar_item"]["name"] == PHOTO["name"]
    seen = journal.records()[0].request
    assert seen.body.prefix() == raw and seen.header("idempotency-key") == "p-1" and seen.header("x-trace") == "kept"
    assert all(seen.header(h) is None for h in ("x-drop", "keep-alive", "te", "connection"))
    assert seen.header("host") == "upstream.test"
    recorded = [loads_line(line) for line in (tmp_path / "proxy.ndjson").read_bytes().splitlines()]
    assert len(recorded) == 1 and recorded[0].response is not None
    assert recorded[0].response.body.prefix() == answer.content and recorded[0].tenant is not None
    assert state.forwarded == 1 and state.judge.exchanges == 1


def test_enforce_answers_an_invalid_create_400_without_forwarding_it() -> None:
    upstream, journal = _emulator()
    app, state = _proxy("http://upstream.test", upstream, enforce=True)

    async def go() -> tuple[httpx.Response, httpx.Response]:
        async with _through(app) as client:
            bad = await client.post("/v3/avatars", json={"type": "photo"}, headers={"x-api-key": KEY_1})
            good = await client.post("/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1})
            return bad, good

    bad, good = asyncio.run(go())
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"
    assert good.status_code == 200
    assert len(journal.records()) == 1  # only the valid create reached the upstream
    assert state.enforced == 1 and state.judge.proxy_answers == 1


def test_the_proxy_judges_a_faulty_upstream_as_check_traffic_does() -> None:
    upstream, _ = _emulator(faults=frozenset({"response_missing_id", "idempotency_ignored"}))
    app, state = _proxy("http://upstream.test", upstream)

    async def go() -> None:
        async with _through(app) as client:
            for _ in range(2):
                await client.post("/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1, "idempotency-key": "k-9"})

    asyncio.run(go())
    verdicts = {r.name: r for r in state.judge.results()}
    assert verdicts["response.schema"].verdict is Verdict.FAIL
    assert verdicts["idempotency.replay"].verdict is Verdict.FAIL
    assert "proxy entry 0" in verdicts["idempotency.replay"].failures[0].message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve_tcp(handler: Any) -> tuple[asyncio.AbstractServer, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    await asyncio.sleep(5)  # bounded: never answers within the proxy's timeout
    writer.close()


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    writer.write(b"this is not HTTP at all\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.mark.http
@pytest.mark.parametrize(("kind", "status", "code"), [
    ("unreachable", 502, "bad_gateway"), ("timed out", 504, "gateway_timeout"), ("garbage", 502, "bad_gateway")])
def test_a_dead_slow_or_garbage_upstream_gets_the_client_an_envelope(kind: str, status: int, code: str) -> None:
    async def go() -> tuple[list[httpx.Response], ProxyState]:
        server = None
        if kind == "unreachable":
            upstream = f"http://127.0.0.1:{_free_port()}"
        else:
            server, upstream = await _serve_tcp(_silent if kind == "timed out" else _garbage)
        app, state = _proxy(upstream, timeout=0.5)
        try:
            async with _through(app) as client:
                answers = [await client.post("/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1})
                           for _ in range(2)]  # and it keeps serving
        finally:
            if server is not None:
                server.close()
        return answers, state

    answers, state = asyncio.run(go())
    for answer in answers:
        assert answer.status_code == status
        assert answer.json() == {"error": {"code": code, "message": answer.json()["error"]["message"]}}
    assert state.problems[kind] == 2
    line = next(line for line in state.lines() if line.startswith(f"upstream {kind}"))
    assert f"2 request(s) answered {status} by the proxy" in line
    # The proxy's own answers are not the upstream's: nothing was judged.
    assert state.judge.exchanges == 0 and state.judge.proxy_answers == 2


def _suite_through_proxy(faults: frozenset[str]) -> tuple[dict[str, Verdict], dict[str, Verdict]]:
    """verify's clauses (all but the rate-limit burst, which needs a limiter the other clauses must not
    meet) against the emulator behind the proxy: the suite's verdicts and the proxy's on the same traffic."""
    from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
    from avatar_contract.contract_tests.runner import run_suite
    from avatar_contract.contract_tests.targets.target import Target

    upstream = httpx.ASGITransport(app=emulator_app(EmulatorConfig(
        api_keys=(KEY_1, KEY_2), rate_limit=None, faults=faults, processing_delay=0.05)))
    app, state = _proxy("http://upstream.test", upstream)
    names = [n for n in CLAUSE_NAMES if n != "rate_limit.retry_after"]
    target = Target(base_url="http://proxy.test", asgi_app=app, api_key=KEY_1, second_api_key=KEY_2,
                    allow_create=True, max_creates=400, unexpected_creates=400, profile="quick", seed=7)
    with contextlib.redirect_stderr(io.StringIO()):
        suite = {r.name: r.verdict for r in run_suite(target, names)}
    return suite, {r.name: r.verdict for r in state.judge.results() if r.name in suite}


def _agree(suite: dict[str, Verdict], proxy: dict[str, Verdict]) -> None:
    judged = {n: v for n, v in proxy.items() if v in (Verdict.PASS, Verdict.FAIL)}
    assert {n: suite[n] for n in judged} == judged
    assert len(judged) >= 10  # the suite's traffic shows most clauses


def test_the_proxy_agrees_with_the_suite_on_the_suites_own_traffic() -> None:
    suite, proxy = _suite_through_proxy(frozenset())
    _agree(suite, proxy)
    assert Verdict.FAIL not in proxy.values()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["response_wrong_type", "not_tenant_scoped", "key_pattern_unenforced",
                                   "replay_mismatch_rejected"])
def test_the_proxy_agrees_with_the_suite_on_a_faulty_server(fault: str) -> None:
    from avatar_contract.emulator import FAULTS

    suite, proxy = _suite_through_proxy(frozenset({fault}))
    _agree(suite, proxy)
    assert proxy[FAULTS[fault].clause] is Verdict.FAIL


@pytest.mark.http
@pytest.mark.slow
def test_the_proxy_command_writes_its_report_on_sighup_and_on_exit(tmp_path: Any) -> None:
    import re
    import signal
    import subprocess
    import sys
    import time

    dead = f"http://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "avatar_contract", "proxy", "--upstream", dead, "--port", "0",
         "--report-dir", str(tmp_path / "reports"), "--record", str(tmp_path / "j.ndjson")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert port, "the proxy did not say where it listens"
        answer = httpx.post(f"http://127.0.0.1:{port.group(1)}/v3/avatars", json=PHOTO,
                            headers={"x-api-key": KEY_1}, timeout=10)
        assert answer.status_code == 502 and answer.json()["error"]["code"] == "bad_gateway"
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (tmp_path / "reports" / "latest" / "report.json").exists():
            time.sleep(0.1)
        rolling = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
        assert any("upstream unreachable: 1 request(s) answered 502" in line for line in rolling["headline"])
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3  # nothing of the route judged: incomplete
    assert "Traceback" not in err and "upstream unreachable" in out
    assert len(list((tmp_path / "reports").glob("2*"))) == 2  # SIGHUP's and the final one
    assert json.loads((tmp_path / "j.ndjson").read_text().splitlines()[0])["fault"] == "proxy:upstream unreachable"


def test_a_key_a_body_echoes_is_scrubbed_from_the_proxys_report() -> None:
    from avatar_contract.contract_tests.reports.report import render_text
    from avatar_contract.contract_tests.traffic.checking import as_report

    secret = "live-key-that-must-not-leak-0123456789"
    async def echo(scope: Any, receive: Any, send: Any) -> None:  # a server that puts the key in its 400's code
        body = json.dumps({"error": {"code": secret}}).encode()  # and leaves out the required message
        await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    app, state = _proxy("http://upstream.test", httpx.ASGITransport(app=echo))

    async def go() -> None:
        async with _through(app) as client:
            await client.post("/v3/avatars", json={"type": "photo"}, headers={"x-api-key": secret})

    asyncio.run(go())
    report = as_report(state.judge, [], 0.0, secrets=sorted(state.secrets))
    shown = render_text(report)
    assert "FAIL errors.envelope" in shown and secret not in shown
    assert secret in render_text(as_report(state.judge, [], 0.0))  # the check has teeth: without the secrets


def test_a_compressed_answer_passes_compressed_and_is_judged_decompressed(
        clean_records: list[Any]) -> None:
    import gzip

    created = next(r.response.body.prefix() for r in clean_records if r.response and r.response.status == 200)
    value = json.loads(created)
    value["data"]["avatar_item"]["status"] = "queued"  # not an AvatarStatus: response.schema must see it
    packed = gzip.compress(json.dumps(value).encode())

    async def gzipped(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-encoding", b"gzip"),
            (b"content-length", str(len(packed)).encode())]})
        for start in range(0, len(packed), 100):  # in pieces, as a stream
            await send({"type": "http.response.body", "body": packed[start:start + 100], "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    app, state = _proxy("http://upstream.test", httpx.ASGITransport(app=gzipped))

    async def go() -> bytes:
        async with _through(app) as client, client.stream(
                "POST", "/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1}) as answer:
            assert answer.headers["content-encoding"] == "gzip"
            return b"".join([chunk async for chunk in answer.aiter_raw()])

    assert asyncio.run(go()) == packed  # the bytes as the upstream sent them
    schema = next(r for r in state.judge.results() if r.name == "response.schema")
    assert schema.verdict is Verdict.FAIL and "/data/avatar_item/status" in schema.failures[0].message


def test_judging_waits_until_the_request_is_done_and_runs_in_slices_of_the_loop() -> None:
    from avatar_contract.contract_tests.traffic import backlog

    upstream, _ = _emulator()
    proxy, state = _proxy("http://upstream.test", upstream)
    when_done: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await proxy(scope, receive, send)
        if scope["type"] == "http":
            when_done.append(state.backlog.judged)  # the request's task is over: nothing judged inside it

    async def go() -> int:
        async with _through(app) as client:
            answer = await client.post("/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1})
            assert answer.status_code == 200
            for _ in range(1000):  # a slice of the loop judges it, nobody asks (bounded: a loaded machine is slow)
                if state.backlog.judged:
                    break
                await asyncio.sleep(backlog.INTERVAL)
            return state.backlog.judged

    assert asyncio.run(go()) == 1
    assert when_done == [0]
    assert state.judge.exchanges == 1


def test_past_the_backlog_bound_exchanges_are_forwarded_and_recorded_but_not_judged(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatar_contract.contract_tests.traffic import backlog

    monkeypatch.setattr(backlog, "MAX_PENDING", 3)
    monkeypatch.setattr(backlog, "INTERVAL", 60.0)  # no slice runs during the test: judging falls behind
    upstream, journal = _emulator()
    record = (tmp_path / "proxy.ndjson").open("wb")
    app, state = _proxy("http://upstream.test", upstream, record=record)

    async def go() -> list[int]:
        async with _through(app) as client:
            return [(await client.post("/v3/avatars", json=PHOTO, headers={"x-api-key": KEY_1})).status_code
                    for _ in range(5)]

    assert asyncio.run(go()) == [200] * 5
    record.close()
    assert len(journal.records()) == 5 and state.forwarded == 5
    assert [loads_line(line).id for line in (tmp_path / "proxy.ndjson").read_bytes().splitlines()] == [0, 1, 2, 3, 4]
    assert state.judge.exchanges == 3
    line = next(line for line in state.lines() if line.startswith("judging"))
    assert "judging fell behind: 2 exchange(s) forwarded but not judged (first: proxy entry 3" in line
    assert line.endswith("all recorded; 3 judged")
