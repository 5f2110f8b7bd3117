"""The preflight: a wrong target gets one line and exit 2, before anything could create."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from avatar_contract.contract_tests.runner import TargetUnusable, preflight
from avatar_contract.contract_tests.targets.preflight import corrected_base_url
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.contract_tests.targets.transport import transport_cause
from avatar_contract.validators._cli import main

from ._independent import Independent
from ._support import KEY_1, KEY_2, REMOTE, MethodRecorder, emulator


def remote(app: Any, base: str = REMOTE, **options: Any) -> Target:
    return Target(base_url=base, api_key=KEY_1, asgi_app=app, profile="quick", seed=1, **options)


def answering(status: int, body: bytes, media: bytes = b"application/json",
              headers: tuple[tuple[bytes, bytes], ...] = ()) -> Any:
    """An ASGI app that gives every request the same answer, and counts them."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        app.seen += 1  # type: ignore[attr-defined]
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", media), *headers]})
        await send({"type": "http.response.body", "body": body})

    app.seen = 0  # type: ignore[attr-defined]
    return app


def _unusable(target: Target) -> str:
    with pytest.raises(TargetUnusable) as caught:
        preflight(target)
    message = str(caught.value)
    assert "\n" not in message and KEY_1 not in message
    return message


@pytest.mark.parametrize("base", ["http://sut.test/v3/avatars", "http://sut.test/v3/avatars/",
                                  "http://sut.test/V3/Avatars"])
def test_a_base_url_ending_in_the_route_is_corrected_before_anything_is_sent(base: str) -> None:
    recorder = MethodRecorder(emulator())
    message = _unusable(remote(recorder, base))
    assert "already ends in the route /v3/avatars" in message and "use --base-url http://sut.test " in message
    assert recorder.methods == []


def test_a_base_url_ending_in_the_start_of_the_route_gets_the_fix_as_a_hint() -> None:
    # /v3/v3/avatars: the emulator answers its JSON 404 to every probe.
    message = _unusable(remote(emulator(), "http://sut.test/v3"))
    assert "every probe POST answered 404" in message
    assert "try --base-url http://sut.test " in message and message.endswith("(POST http://sut.test/v3/v3/avatars)")


def test_corrected_base_url_keeps_the_prefix_a_gateway_needs() -> None:
    assert corrected_base_url("https://gw.example/heygen/v3/avatars?x=1", "/v3/avatars") == "https://gw.example/heygen"
    assert corrected_base_url("https://gw.example/heygen", "/v3/avatars") is None


@pytest.fixture
def html_server() -> Iterator[str]:
    """Python's own file server: POST gets 501 with an HTML page, like a misconfigured proxy."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_html_server_answering_501_is_refused_over_http(html_server: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--base-url", html_server, "--api-key", KEY_1, "--allow-create",
                 "--report-dir", "/nonexistent/never-written"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not answer the route with JSON" in err
    assert "501 text/html" in err and "Traceback" not in err


@pytest.mark.parametrize(("status", "body"), [
    (404, b'{"detail": "Not Found"}'),
    (405, b'{"detail": "Method Not Allowed"}'),
    (501, b'{"message": "not implemented"}'),
])
def test_the_same_undocumented_status_for_every_probe_is_not_this_api(status: int, body: bytes) -> None:
    app = answering(status, body)
    message = _unusable(remote(app, allow_create=True))
    assert f"every probe POST answered {status}" in message and "not this API" in message
    assert "200, 400, 401, 409, 429" in message  # the documented statuses, from the spec
    assert app.seen == 4  # four probes, then nothing else


def test_a_page_that_echoes_the_key_does_not_leak_it() -> None:
    async def echo(scope: Any, receive: Any, send: Any) -> None:
        key = dict(scope["headers"]).get(b"x-api-key", b"")
        await send({"type": "http.response.start", "status": 501, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<p>" + key + b"</p>"})

    message = _unusable(remote(echo))  # asserts the key is absent
    assert "does not answer the route with JSON" in message


def test_a_redirect_for_everything_names_where_it_points() -> None:
    app = answering(301, b'{"moved": true}', headers=((b"location", b"https://api.example.com/v3/avatars"),))
    message = _unusable(remote(app))
    assert "answered 301 (redirected to https://api.example.com/v3/avatars)" in message


def test_bare_error_bodies_that_tell_400_from_401_are_left_to_the_clauses() -> None:
    """This API, broken (no JSON envelopes): errors.envelope fails it; the preflight must not hide that."""

    async def bare(scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope["headers"])
        status = 400 if headers.get(b"x-api-key") == KEY_1.encode() else 401
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b""})

    assert preflight(remote(bare)).statuses == [400, 401, 401, 400]


def test_no_emulator_fault_is_mistaken_for_a_wrong_target() -> None:
    from avatar_contract.emulator import FAULTS

    for fault in FAULTS:
        preflight(remote(emulator(faults=frozenset({fault})), second_api_key=KEY_2))


@pytest.mark.parametrize("body", [b'{"error": {"code": "invalid_parameter", "message": "bad"}}',
                                  b'{"detail": [{"loc": ["body"], "msg": "field required"}]}'])
def test_a_server_answering_422_to_everything_is_left_to_the_clauses(body: bytes) -> None:
    """A framework's default 422 for invalid bodies, checked before auth, is this API, broken: the clauses
    (request.rejects_invalid: "expected 400, got 422") report it, not "not this API" and exit 2."""
    assert preflight(remote(answering(422, body))).statuses == [422, 422, 422, 422]
    from avatar_contract.contract_tests.clauses.finding import Verdict
    from avatar_contract.contract_tests.runner import run_suite

    # One owner: the 422 is request.rejects_invalid's; without credentials it shows nothing about auth.
    verdicts = {r.name: r.verdict for r in run_suite(remote(answering(422, body)),
                                                      ["request.rejects_invalid", "auth.missing", "auth.invalid"])}
    assert verdicts == {"request.rejects_invalid": Verdict.FAIL, "auth.missing": Verdict.INCOMPLETE,
                        "auth.invalid": Verdict.INCOMPLETE}


def test_a_server_that_answers_500_to_everything_is_left_to_the_clauses() -> None:
    """Broken, but this API (or a crashing one): the clauses report it as failures, not exit 2."""
    preflight(remote(answering(500, b'{"error": {"code": "internal", "message": "boom"}}')))


def test_the_same_key_for_both_tenants_is_refused_before_anything_is_sent() -> None:
    recorder = MethodRecorder(emulator())
    message = _unusable(remote(recorder, second_api_key=KEY_1))
    assert "same key" in message and "--second-api-key" in message
    assert recorder.methods == []


def test_a_refused_key_is_still_exit_2() -> None:
    message = _unusable(Target(base_url=REMOTE, api_key="not-a-key-it-knows", asgi_app=emulator()))
    assert "refused the API key (401)" in message


@pytest.mark.parametrize("app", [emulator(), Independent((KEY_1, KEY_2))])
def test_correct_servers_pass_and_nothing_is_created(app: Any) -> None:
    result = preflight(remote(app, second_api_key=KEY_2, allow_create=True))
    assert not result.accepted_a_refusal and len(result.statuses) == 4
    assert 401 in result.statuses and 400 in result.statuses
    created = app.state.emulator.created_count() if hasattr(app, "state") else app.created
    assert created == 0


def test_a_target_that_accepts_everything_is_reported_to_the_caller() -> None:
    ok = json.dumps({"data": {"avatar_item": {"id": "x"}}}).encode()
    result = preflight(remote(answering(200, ok)))
    assert result.accepted_a_refusal  # for the circuit breaker: it answered 2xx to a refusal


def test_nothing_listening_names_the_cause() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    message = _unusable(Target(base_url=f"http://127.0.0.1:{port}", api_key=KEY_1))
    assert "connection refused" in message and "got 0" not in message


@pytest.mark.parametrize(("error", "shown"), [
    (httpx.ReadTimeout("timed out"), "timeout after 30 s waiting for the response"),
    (httpx.ConnectTimeout("timed out"), "timeout after 10 s connecting"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."),
     "the server closed the connection without a response"),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), "connection reset by the server"),
    (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "TLS handshake failed"),
])
def test_transport_errors_are_named(error: httpx.TransportError, shown: str) -> None:
    assert shown in transport_cause(error, httpx.Timeout(30.0, connect=10.0))


def test_a_refused_connection_is_found_in_the_exception_chain() -> None:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise httpx.ConnectError("All connection attempts failed") from inner
    except httpx.ConnectError as exc:
        assert transport_cause(exc, httpx.Timeout(5.0)) == "connection refused (nothing listens there)"


class _CreatesOnOneProbe:
    """Refuses like a correct server, except that it creates on the ``n``-th request (1-based)."""

    def __init__(self, n: int) -> None:
        self.n, self.seen, self.created = n, 0, 0
        self.inner = emulator()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        self.seen += 1
        if self.seen != self.n:
            return await self.inner(scope, receive, send)
        self.created += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"data": {"avatar_item": {"id": "x"}}}'})


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_every_probe_counts_in_the_runs_ledger_and_a_2xx_trips_the_breaker(n: int) -> None:
    """Each of the four probes could be a create on a broken server: each holds a slot of the
    run's ledger, a 2xx to any of them trips the breaker, and nothing is probed after it."""
    from avatar_contract.contract_tests.runner import RunState
    from avatar_contract.contract_tests.targets.preflight import PROBE_COUNT

    app = _CreatesOnOneProbe(n)
    target = remote(app)  # no --allow-create: the cap is max(0, 1) = 1
    state = RunState(target)
    result = preflight(target, state.ledger)
    ledger = state.ledger.state()
    assert ledger.requests == n == app.seen  # probes stop at the 2xx ...
    assert ledger.made == app.created == 1  # ... which is counted, however it was asked for
    assert "where a correct server refuses" in ledger.tripped
    assert result.accepted_a_refusal and len(result.exchanges) == n <= PROBE_COUNT


def test_a_correct_server_gets_all_four_probes_and_no_create_is_counted() -> None:
    from avatar_contract.contract_tests.runner import RunState
    from avatar_contract.contract_tests.targets.preflight import PROBE_COUNT

    recorder = MethodRecorder(emulator())
    state = RunState(remote(recorder))
    preflight(remote(recorder), state.ledger)
    ledger = state.ledger.state()
    assert ledger.requests == PROBE_COUNT == len(recorder.methods) and ledger.made == 0 and not ledger.tripped
