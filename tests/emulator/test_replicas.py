"""Several ``avatar-contract emulator --store postgresql://...`` processes behave as one.

Each group of replicas is real processes under uvicorn on loopback sharing one
fresh schema; what they did is checked from the database, not from their answers.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES

from ._postgres import fresh_schema, via_port
from ._served import Served
from ._support import photo, twin
from ._tcp_proxy import TcpProxy

pytestmark = pytest.mark.http
KEY, KEY_2 = "replica-key-1", "replica-key-2"
HEADERS = {"x-api-key": KEY, "content-type": "application/json"}
KILLED = "/ns/kill/v3/avatars"  # each burst in a namespace of its own: tests may run in any order
ASSETS = Path(__file__).parents[1] / "suite" / "assets.toml"


@contextmanager
def replicas(count: int, *flags: str, last: tuple[str, ...] = ()) -> Iterator[tuple[str, list[Served]]]:
    """``count`` replicas on a fresh schema; ``last`` adds flags to the last one only."""
    dsn = fresh_schema("rep")
    group = [Served("--store", dsn, "--api-key", KEY, "--api-key", KEY_2, *flags, *(last if i == count - 1 else ()))
             for i in range(count)]
    try:
        for server in group:
            server.start()
        yield dsn, group
    finally:
        for server in group:
            server.stop()


def _rows(dsn: str, sql: str, *params: Any) -> list[Any]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()  # no parameters: '%' is literal


async def _burst(bases: list[str], count: int, key: str, path: str = "/v3/avatars") -> list[int | str]:
    """``count`` same-key creates spread round-robin over ``bases``, all at once; status or error name."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def one(i: int) -> int | str:
            try:
                response = await client.post(bases[i % len(bases)] + path, json=twin(),
                                             headers={**HEADERS, "idempotency-key": key})
            except httpx.TransportError as exc:
                return type(exc).__name__  # a replica killed under the request
            return response.status_code
        return list(await asyncio.gather(*(one(i) for i in range(count))))


# A create stays in flight 2 s, so the bursts really overlap; a lease of 4 s frees a dead claim.
KILL_LEASE = 8
BURST_FLAGS = ("--rate-limit", "off", "--processing-delay", "2", "--in-flight-lease", "4")


def test_200_same_key_creates_over_3_replicas_make_one_avatar() -> None:
    with replicas(3, *BURST_FLAGS) as (dsn, group):
        _linearizable(dsn, group)


def _linearizable(dsn: str, group: list[Served]) -> None:
    statuses = asyncio.run(_burst([s.base for s in group], 200, "linear", "/ns/linear/v3/avatars"))
    assert set(statuses) <= {200, 409} and statuses.count(409) > 0, statuses
    assert _rows(dsn, "SELECT count(*) FROM avatar_looks WHERE tenant LIKE 'linear:%'")[0][0] == 1
    assert _rows(dsn, "SELECT status FROM idempotency WHERE scope LIKE 'linear:%'") == [(200,)]


def test_a_replica_killed_mid_burst_leaves_one_avatar_and_its_lease_frees_the_key() -> None:
    # The victim's creates stay in flight a minute: it is killed holding the claim, however slow
    # this machine is.  The lease (8 s: longer than the kill can take on a loaded machine) is
    # what frees the key.
    flags = ("--rate-limit", "off", "--processing-delay", "2", "--in-flight-lease", str(KILL_LEASE))
    with replicas(3, *flags, last=("--processing-delay", "60")) as (dsn, group):
        _killed_mid_burst(dsn, group)


def _killed_mid_burst(dsn: str, group: list[Served]) -> None:
    victim, survivors = group[2], group[:2]

    async def scenario() -> tuple[list[int | str], int | str]:
        first = asyncio.create_task(_burst([victim.base], 1, "killed", KILLED))
        for _ in range(1000):  # until the victim holds the key (bounded)
            if _rows(dsn, "SELECT 1 FROM idempotency WHERE scope LIKE 'kill:%' AND status IS NULL"):
                break
            await asyncio.sleep(0.01)
        burst = asyncio.create_task(_burst([s.base for s in group], 100, "killed", KILLED))
        await asyncio.sleep(0.2)
        victim.kill()  # SIGKILL while it holds the claim and others wait on it
        return await burst, (await first)[0]

    statuses, original = asyncio.run(scenario())
    assert isinstance(original, str), original  # the victim never answered its own request
    assert all(s == 409 or isinstance(s, str) for s in statuses), statuses  # nobody else created
    assert statuses.count(409) > 0, statuses  # the survivors were answering when the victim died
    made = "SELECT count(*) FROM avatar_looks WHERE tenant LIKE 'kill:%'"
    assert _rows(dsn, made)[0][0] == 0  # the victim died before committing anything
    time.sleep(KILL_LEASE + 0.5)  # the dead replica's lease runs out
    retried = asyncio.run(_burst([s.base for s in survivors], 20, "killed", KILLED))
    assert set(retried) <= {200, 409} and 200 in retried, retried
    assert _rows(dsn, made)[0][0] == 1  # exactly one avatar for the key


def test_the_rate_limit_holds_across_replicas() -> None:
    with replicas(2, "--rate-limit", "20/3600") as (_, group):
        async def spread() -> list[int]:
            async with httpx.AsyncClient(timeout=60) as client:
                answers = await asyncio.gather(*(client.get(f"{group[i % 2].base}/v3/avatars/ag_none",
                                                            headers=HEADERS) for i in range(60)))
            return [a.status_code for a in answers]
        statuses = asyncio.run(spread())
    # 20 tokens, and one more per 180 s: however the requests were spread, 20 got through.
    assert statuses.count(404) == 20 and statuses.count(429) == 40, statuses


def _verify(base: str, reports: Path, clauses: list[str] | None = None) -> subprocess.Popen[str]:
    selected = [arg for name in clauses or () for arg in ("--clause", name)]
    return subprocess.Popen(
        [sys.executable, "-m", "avatar_contract", "verify", "--base-url", base, "--api-key", KEY,
         "--second-api-key", KEY_2, "--allow-create", "--max-creates", "100", "--asset", str(ASSETS),
         "--profile", "quick", "--report-dir", str(reports), *selected],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = run.communicate(timeout=900)
    return run.returncode, out


# 16 in the issue; 6 keep this test near 20 s of CPU (about 3 s per verify run) on a loaded 2-core CI machine.
NAMESPACES = 6


def test_namespaces_verify_at_once_through_2_replicas_without_touching_each_other(tmp_path: Path) -> None:
    with replicas(2, "--rate-limit", "off") as (dsn, group):
        _namespaces_verify(dsn, group, tmp_path)


def _namespaces_verify(dsn: str, group: list[Served], tmp_path: Path) -> None:
    names = [f"job-{i}" for i in range(NAMESPACES)]
    for i, name in enumerate(names):  # a sentinel in each: it must come out of the runs unchanged
        made = httpx.post(f"{group[i % 2].base}/ns/{name}/v3/avatars", json=photo(),
                          headers={**HEADERS, "idempotency-key": "sentinel"}, timeout=60)
        assert made.status_code == 200, made.text
    sentinels = "SELECT scope, status, body FROM idempotency WHERE scope LIKE '%sentinel' ORDER BY scope"
    before = _rows(dsn, sentinels)
    # rate_limit.retry_after is left out (the limit is off, so no run waits on a bucket): the shared
    # limit has its own test above, and the proxy test below runs the clause.
    clauses = [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"]
    runs = [_verify(f"{group[i % 2].base}/ns/{name}", tmp_path / name, clauses) for i, name in enumerate(names)]
    results = [_finish(run) for run in runs]
    for name, (code, out) in zip(names, results, strict=True):
        assert code == 0, f"{name}:\n{out[-3000:]}"
    assert _rows(dsn, sentinels) == before and len(before) == NAMESPACES
    looks = dict(_rows(dsn, "SELECT split_part(tenant, ':', 1), count(*) FROM avatar_looks GROUP BY 1"))
    keys = dict(_rows(dsn, "SELECT split_part(scope, ':', 1), count(*) FROM idempotency GROUP BY 1"))
    assert set(looks) == set(keys) == set(names)  # nothing outside the namespaces
    for name, (_, out) in zip(names, results, strict=True):
        made = int(out.rsplit(" creates", 1)[0].rsplit("· ", 1)[1])  # "... · 13 creates · 20.1s"
        # Its sentinel and at most the 2xx creates its run saw (a replay is a 2xx and creates nothing).
        assert 2 <= looks[name] <= made + 1, (name, looks[name], made)
    assert len(set(looks.values())) == 1, looks  # the same plan everywhere: a leak would unbalance them


def test_verify_passes_against_3_replicas_behind_a_round_robin_proxy(tmp_path: Path) -> None:
    # Two runs, as in .ci/http_suite, so that no verdict depends on this machine's speed or on how
    # many requests the suite sends: every clause but rate_limit with the limit off, then
    # rate_limit alone against a bucket that does not refill within the run (its 21st request is
    # a 429 however slow the client is).
    others = [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"]
    for limit, clauses in (("off", others), ("20/3600", ["rate_limit.retry_after"])):
        with replicas(3, "--rate-limit", limit) as (_, group):
            proxy = TcpProxy([("127.0.0.1", server.port) for server in group])
            try:
                code, out = _finish(_verify(f"http://127.0.0.1:{proxy.port}", tmp_path / limit.replace("/", "-"),
                                            clauses))
            finally:
                proxy.close()
        assert code == 0, out[-3000:]
        assert len(proxy.served) == 3, proxy.served  # every replica answered some of the run


def test_a_served_replica_answers_503_while_the_database_is_away_and_logs_no_traceback() -> None:
    dsn = fresh_schema("rep")
    proxy = TcpProxy([(urlsplit(dsn).hostname or "127.0.0.1", urlsplit(dsn).port or 5432)])
    server = Served("--store", via_port(dsn, proxy.port), "--api-key", KEY, "--rate-limit", "off")
    try:
        server.start()
        create = f"{server.base}/v3/avatars"
        assert httpx.post(create, json=photo(), headers=HEADERS, timeout=30).status_code == 200
        proxy.cut()
        down = httpx.post(create, json=photo(), headers={**HEADERS, "idempotency-key": "away"}, timeout=30)
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        assert down.json()["error"]["code"] == "service_unavailable"
        proxy.restore()
        for _ in range(100):  # bounded: the pool replaces its broken connections
            again = httpx.post(create, json=photo(), headers={**HEADERS, "idempotency-key": "away"}, timeout=30)
            if again.status_code != 503:
                break
            time.sleep(0.2)
        assert again.status_code == 200
    finally:
        err = server.stop()
        proxy.close()
    assert "Traceback" not in err and "store unavailable on POST /v3/avatars" in err, err


def test_uvicorn_workers_on_a_postgresql_store_share_one_state() -> None:
    with replicas(1, "--workers", "2", *BURST_FLAGS) as (dsn, group):
        statuses = asyncio.run(_burst([group[0].base], 40, "workers", "/ns/workers/v3/avatars"))
    assert set(statuses) <= {200, 409} and 409 in statuses, statuses
    assert _rows(dsn, "SELECT count(*) FROM avatar_looks WHERE tenant LIKE 'workers:%'")[0][0] == 1
