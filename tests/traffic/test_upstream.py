"""The proxy's own HTTP/1.1 client (traffic/upstream.py) against servers that answer exact bytes, and the
proxy as it is served (uvicorn, uvloop, httptools) in front of the emulator served the same way."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from _recorded import KEY_1, PHOTO

from avatar_contract.contract_tests.traffic.judge import TrafficJudge
from avatar_contract.contract_tests.traffic.proxy import ProxyConfig, ProxyState, create_app
from avatar_contract.contract_tests.traffic.upstream import Upstream, UpstreamError
from avatar_contract.emulator import EmulatorConfig
from avatar_contract.emulator import create_app as emulator_app

pytestmark = pytest.mark.http
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _request(reader: asyncio.StreamReader) -> bytes:
    """One request's head and body (Content-Length framed), b"" at the end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""
    length = next((int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)


class Scripted:
    """A server that answers each request with the next of ``answers`` (bytes, exactly), and counts connections
    and the requests it read; ``close_after``: it closes each connection after that many answers."""

    def __init__(self, answers: list[bytes], close_after: int | None = None) -> None:
        self.answers, self.close_after = answers, close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        while (request := await _request(reader)) and self.answers:
            self.requests.append(request)
            writer.write(self.answers.pop(0))
            await writer.drain()
            served += 1
            if self.close_after is not None and served >= self.close_after:
                break
        writer.close()


async def _serve(handler: Handler) -> tuple[asyncio.AbstractServer, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _exchange(upstream: Upstream, method: bytes = b"POST", body: bytes = b"{}") -> tuple[int, bytes]:
    answer = await upstream.send(method, b"/v3/avatars", [(b"x-api-key", b"k")], body)
    try:
        return answer.status, b"".join([chunk async for chunk, _ in answer.chunks()])
    finally:
        await answer.aclose()


def _run(answers: list[bytes], requests: list[bytes], close_after: int | None = None,
         ) -> tuple[list[tuple[int, bytes] | UpstreamError], Scripted]:
    """Each of ``requests`` (methods) in turn through one Upstream to a Scripted server."""
    script = Scripted(answers, close_after)

    async def go() -> list[tuple[int, bytes] | UpstreamError]:
        server, base = await _serve(script)
        upstream = Upstream(base + "/prefix/", timeout=2.0)
        out: list[tuple[int, bytes] | UpstreamError] = []
        try:
            for method in requests:
                try:
                    out.append(await _exchange(upstream, method))
                except UpstreamError as exc:
                    out.append(exc)
                await asyncio.sleep(0.05)  # let a close reach the client before the next request
        finally:
            await upstream.aclose()
            server.close()
        return out

    return asyncio.run(go()), script


def test_a_chunked_answer_is_de_chunked_and_the_connection_kept_for_the_next_request() -> None:
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    out, script = _run([chunked, b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok"], [b"POST", b"POST"])
    assert out == [(200, b"hello world"), (201, b"ok")]
    assert script.connections == 1  # kept alive
    first = script.requests[0]
    # The base URL's path prefixes the request's; Host is the upstream's; the body is framed by its length.
    assert first.startswith(b"POST /prefix/v3/avatars HTTP/1.1\r\n") and b"\r\nhost: 127.0.0.1:" in first
    assert b"content-length: 2\r\n" in first and first.endswith(b"\r\n\r\n{}")


def test_an_answer_delimited_by_the_end_of_the_connection_is_whole_and_its_connection_not_reused() -> None:
    out, script = _run([b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it",
                        b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nnext"], [b"POST", b"POST"], close_after=1)
    assert out == [(200, b"all of it"), (200, b"next")]
    assert script.connections == 2


def test_an_interim_100_is_skipped_and_a_head_answer_has_no_body_whatever_its_length_says() -> None:
    out, script = _run([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n",
                        b"HTTP/1.1 204 No Content\r\n\r\n"], [b"POST", b"HEAD", b"POST"])
    assert out == [(200, b"ok"), (200, b""), (204, b"")]
    assert script.connections == 2  # after HEAD the connection is not trusted again


def test_an_upstream_that_closes_idle_connections_costs_nothing_but_a_new_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    out, script = _run([ok, ok, ok], [b"POST", b"POST", b"POST"], close_after=1)
    assert out == [(200, b"ok")] * 3
    assert script.connections == 3


def test_a_short_body_is_cut_off_and_garbage_is_garbage() -> None:
    out, _ = _run([b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"], [b"POST"], close_after=1)
    assert isinstance(out[0], UpstreamError) and out[0].kind == "cut off"
    out, _ = _run([b"HTTP/1.1 two hundred\r\n\r\n"], [b"POST"], close_after=1)
    assert isinstance(out[0], UpstreamError) and out[0].kind == "garbage"


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def test_the_proxy_as_served_forwards_to_the_emulator_as_served() -> None:
    """uvicorn with uvloop and httptools on both sides: the production path (the in-process tests use an
    httpx transport upstream instead of this client)."""
    import uvloop

    emulator = emulator_app(EmulatorConfig(api_keys=(KEY_1,), rate_limit=None, processing_delay=0))
    up_sock, proxy_sock = _free_socket(), _free_socket()
    upstream = f"http://127.0.0.1:{up_sock.getsockname()[1]}"
    state = ProxyState(TrafficJudge())
    proxy = create_app(ProxyConfig(upstream), state)
    raw = json.dumps(PHOTO, indent=5).encode()

    async def go() -> list[httpx.Response]:
        servers = [uvicorn.Server(uvicorn.Config(app, log_level="error", loop="none", http="httptools",
                                                 lifespan=lifespan))
                   for app, lifespan in ((emulator, "auto"), (proxy, "on"))]
        tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, (up_sock, proxy_sock),
                                                                                  strict=True)]
        while not all(s.started for s in servers):
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy_sock.getsockname()[1]}") as client:
                return [await client.post("/v3/avatars", content=raw, headers={
                    "x-api-key": KEY_1, "content-type": "application/json", "idempotency-key": "served-1",
                    "connection": "keep-alive, x-drop", "x-drop": "1"}) for _ in range(2)]
        finally:
            for s in servers:
                s.should_exit = True
            await asyncio.gather(*tasks)

    first, replay = uvloop.run(go())
    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content  # the emulator's replay, byte for byte through the proxy
    assert first.json()["data"]["avatar_item"]["name"] == PHOTO["name"]
    assert state.forwarded == 2 and state.judge.exchanges == 2
    verdicts: dict[str, Any] = {r.name: r.verdict.value for r in state.judge.results()}
    assert verdicts["idempotency.replay"] == "pass" and verdicts["response.schema"] == "pass"


def test_past_the_connection_limit_requests_wait_for_a_connection_and_reuse_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from avatar_contract.contract_tests.traffic import upstream as module

    monkeypatch.setattr(module, "MAX_CONNECTIONS", 1)
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    script = Scripted([ok, ok, ok])

    async def go() -> list[tuple[int, bytes]]:
        server, base = await _serve(script)
        upstream = Upstream(base, timeout=5.0)
        try:
            return list(await asyncio.gather(*(_exchange(upstream) for _ in range(3))))
        finally:
            await upstream.aclose()
            server.close()

    assert asyncio.run(go()) == [(200, b"ok")] * 3
    assert script.connections == 1
