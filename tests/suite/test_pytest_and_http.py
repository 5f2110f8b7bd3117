"""The two other ways the suite runs: pytest with xdist workers, and over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_clause, run_suite
from avatar_contract.contract_tests.targets.target import Target

from ._breaking import dying_server
from ._support import KEY_1, KEY_2
from ._support import served_emulator as serve

pytestmark = pytest.mark.http  # pytest in child processes, against served emulators

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    return subprocess.run([sys.executable, "-m", "pytest", "contract_tests", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _row(output: str, clause: str) -> list[str]:
    match = re.search(rf"^{re.escape(clause)}\s+(.*)$", output, re.MULTILINE)
    assert match, output
    return match.group(1).split()


def test_xdist_workers_share_the_seed_and_reach_the_same_verdicts() -> None:
    selected = ("request.rejects_invalid", "response.schema", "auth.missing")
    done = _pytest("-n", "2", "--contract-profile", "quick", "--contract-seed", "7", "-q",
                   "-k", " or ".join(f"[{name}]" for name in selected))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed 7: rerun with --contract-seed 7" in done.stdout
    for name in selected:
        verdict, requests, *_ = _row(done.stdout, name)
        local = run_clause(name, Target(profile="quick", seed=7))
        assert verdict == local.verdict.value, name
        if name == "request.rejects_invalid":
            # Its generated cases depend only on the seed (no burst, no clock), so the
            # request count fingerprints them: the worker generated what we generate here.
            assert int(requests) == local.requests


@pytest.mark.parametrize("answer_all", [False, True], ids=["correct", "2xx to everything"])
def test_under_xdist_the_cap_holds_for_the_run_not_per_worker(answer_all: bool) -> None:
    """Two workers, one ledger: the server itself counts what it made."""
    with dying_server(10**6, answer_all=answer_all) as (base, server):
        done = _pytest("-n", "2", "--contract-profile", "quick", "--contract-seed", "7", "-q", "--base-url", base,
                       "--api-key", KEY_1, "--second-api-key", KEY_2, "--allow-create", "--max-creates", "6")
    assert 0 < server.created <= 6, (server.created, done.stdout[-2000:])
    if answer_all:
        assert done.returncode == 1 and "circuit breaker" in done.stdout
        # The preflight (on the controller) tripped it: a worker's clause owning that probe fails on it.
        verdict, *_ = _row(done.stdout, "request.rejects_invalid")
        assert verdict == "fail", done.stdout[-2000:]
    else:
        # Capped below full coverage: incomplete clauses fail their test, never a silent pass.
        assert done.returncode == 1 and "incomplete" in done.stdout, done.stdout[-2000:]


# Rate limits for the served emulator.  ORDINARY refills fast: a clause that
# meets a 429 is retried after Retry-After, so a slow client only sees fewer of
# them.  PROVOKABLE never refills within a run (20 tokens per hour): the 21st
# request of a burst is a 429 at any client speed, which keeps
# rate_limit.retry_after independent of how loaded the machine is.
ORDINARY = "100/1"
PROVOKABLE = "20/3600"


@pytest.fixture
def served_emulator(request: pytest.FixtureRequest) -> Iterator[str]:
    rate, *fault_names = getattr(request, "param", (ORDINARY,))
    faults = [arg for fault in fault_names for arg in ("--fault", fault)]
    with serve("--rate-limit", rate, *faults, keys=("http-k1", "http-k2")) as base:
        yield base


def _http_target(base: str) -> Target:
    return Target(base_url=base, api_key="http-k1", second_api_key="http-k2", allow_create=True,
                  max_creates=10_000, profile="quick", seed=3)


def test_over_http_the_clean_emulator_passes(served_emulator: str) -> None:
    names = ["auth.bearer", "idempotency.in_flight", "idempotency.key_format", "errors.envelope"]
    results = run_suite(_http_target(served_emulator), names)
    assert [(r.name, r.verdict) for r in results] == [(n, Verdict.PASS) for n in names], \
        [(r.name, r.reason) for r in results]


@pytest.mark.parametrize("served_emulator", [(PROVOKABLE,)], indirect=True)
def test_over_http_a_limit_the_burst_can_reach_is_observed(served_emulator: str) -> None:
    [result] = run_suite(_http_target(served_emulator), ["rate_limit.retry_after"])
    assert result.verdict is Verdict.PASS, result.reason
    # The burst stops at the first 429: a bucket of 20 is exhausted by the 21st request
    # (a few more may be in flight), nowhere near the 300-request budget.
    assert result.requests < 100, result.requests


@pytest.mark.parametrize(("served_emulator", "clause"), [
    ((ORDINARY, "not_tenant_scoped"), "idempotency.tenant_scope"),
    ((PROVOKABLE, "retry_after_http_date"), "rate_limit.retry_after"),
], indirect=["served_emulator"])
def test_over_http_faults_are_caught(served_emulator: str, clause: str) -> None:
    [result] = run_suite(_http_target(served_emulator), [clause])
    assert result.verdict is Verdict.FAIL, (result.verdict, result.reason)
