"""Connection hygiene: slow and idle clients are timed out, legitimate ones still served (issue 9, §4).

Served by uvicorn on 127.0.0.1 with short timeouts, so the test waits seconds,
not minutes.  Nothing here is timed against a speed: every wait is a bound on
how long the server may take to do something it must do.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from collections import Counter

import httpx
import pytest

from avatar_contract.emulator import DEFAULT_API_KEY

from ._served import served
from ._support import photo

pytestmark = pytest.mark.http  # raw sockets against the emulator under uvicorn

HEAD = b"POST /v3/avatars HTTP/1.1\r\nHost: emulator\r\nx-api-key: " + DEFAULT_API_KEY.encode() + b"\r\n"
TIMEOUTS = ("--header-timeout", "2", "--timeout-keep-alive", "1", "--body-timeout", "2", "--rate-limit", "off")
WANTED_SLOW = 300


def slow_budget() -> int:
    """How many slow connections this process can open next to the test's own descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_SLOW + 200
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))  # the server inherits it
            soft = raised
        except (ValueError, OSError):
            pass
    budget = WANTED_SLOW if soft == resource.RLIM_INFINITY else min(WANTED_SLOW, soft - 200)
    if budget < 60:
        pytest.skip(f"ulimit -n is {soft}: too few descriptors for a slowloris test")
    return budget


async def slow_client(port: int, kind: str, stop: asyncio.Event) -> str:
    """One hostile connection; returns how the server ended it ("closed", or the status it sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if kind == "dripped_head":
            writer.write(HEAD)
        elif kind in ("short_body", "dripped_body"):
            length = 1_000_000 if kind == "short_body" else 100
            writer.write(HEAD + b"content-type: application/json\r\ncontent-length: %d\r\n\r\n{" % length)
        await writer.drain()
        while not stop.is_set():
            try:
                data = await asyncio.wait_for(reader.read(65536), 0.5)
            except TimeoutError:
                if kind == "dripped_head":
                    writer.write(b"x-drip: 1\r\n")
                elif kind == "dripped_body":
                    writer.write(b" ")
                try:
                    await writer.drain()
                except ConnectionError:
                    return "closed"
                continue
            if not data:
                return "closed"
            status = data.split(b" ", 2)[1].decode()
            await asyncio.wait_for(reader.read(), 20)  # the server must close after answering
            return status
        return "still open"
    except ConnectionError:
        return "closed"
    finally:
        writer.close()


def test_slow_and_idle_connections_are_closed_while_real_requests_are_served() -> None:
    budget = slow_budget()
    kinds = ["idle", "dripped_head", "short_body", "dripped_body"]
    latency: list[float] = []
    with served(*TIMEOUTS) as server:
        async def scenario() -> tuple[Counter[str], list[int]]:
            stop = asyncio.Event()
            slow = [asyncio.create_task(slow_client(server.port, kinds[i % 4], stop)) for i in range(budget)]
            await asyncio.sleep(0.5)  # every slow connection is open and waiting
            served_, waited = [], []
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                for i in range(20):
                    started = time.perf_counter()
                    response = await client.post("/v3/avatars", json=photo(),
                                                 headers={"x-api-key": DEFAULT_API_KEY, "idempotency-key": f"ok-{i}"})
                    waited.append(time.perf_counter() - started)  # reported, never asserted
                    served_.append(response.status_code)
            latency[:] = sorted(waited)
            # The server must end every slow connection within its timeouts (2 s) plus slack.
            done, _ = await asyncio.wait(slow, timeout=30)
            stop.set()
            outcomes = Counter(t.result() for t in done)
            outcomes["unfinished"] = len(slow) - len(done)
            await asyncio.gather(*slow, return_exceptions=True)
            return outcomes, served_

        outcomes, statuses = asyncio.run(scenario())
    assert statuses == [200] * 20
    per_kind = budget // 4
    assert outcomes["unfinished"] == 0 and outcomes["still open"] == 0, outcomes
    # Idle and dripped heads are dropped; bodies that never finish get the 400 envelope and a
    # close (a dripping client may meet the close before it reads the 400).
    assert set(outcomes) <= {"closed", "400", "unfinished", "still open"}, outcomes
    assert outcomes["closed"] + outcomes["400"] == budget and outcomes["400"] >= per_kind, outcomes
    print(f"slowloris: {budget} slow connections ({dict(outcomes)}), 20/20 legitimate creates served, "
          f"latency p50 {latency[10] * 1000:.1f} ms, max {latency[-1] * 1000:.1f} ms")


def test_an_unfinished_body_gets_the_400_envelope() -> None:
    with served(*TIMEOUTS) as server:
        async def scenario() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            # 10,000 bytes promised, 16 sent, then silence.
            writer.write(HEAD + b"content-type: application/json\r\ncontent-length: 10000\r\n\r\n"
                         b'{"type": "photo"')
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 30)  # answered, then closed
            writer.close()
            return answer

        answer = asyncio.run(scenario())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_parameter" and "did not arrive in full within 2 s" in error["message"]


def test_an_idle_keep_alive_connection_is_closed_after_its_timeout() -> None:
    with served(*TIMEOUTS) as server:
        async def scenario() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            body = json.dumps(photo()).encode()
            writer.write(HEAD + b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
            await writer.drain()
            first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 20)
            rest = await asyncio.wait_for(reader.read(), 20)  # EOF once the keep-alive timeout passes
            writer.close()
            return first + rest

        answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 200")


def test_connections_beyond_the_cap_are_refused_not_queued() -> None:
    with served(*TIMEOUTS, "--limit-concurrency", "8", "--header-timeout", "30") as server:
        async def scenario() -> int:
            idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(8)]
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
                status = (await client.get("/openapi.json")).status_code
            for _, writer in idle:
                writer.close()
            return status

        assert asyncio.run(scenario()) == 503  # uvicorn's answer past --limit-concurrency


def test_keep_alive_and_pipelined_requests_are_still_served() -> None:
    with served(*TIMEOUTS) as server:
        async def scenario() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            body = json.dumps(photo()).encode()
            one = HEAD + b"content-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body
            writer.write(one + one)  # two pipelined requests in one write
            await writer.drain()
            await asyncio.sleep(0.5)  # within the keep-alive timeout: a third on the same connection
            writer.write(one)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 30)  # closed by the keep-alive timeout
            writer.close()
            return answer

        answer = asyncio.run(scenario())
    assert answer.count(b"HTTP/1.1 200 OK") == 3
