"""Each faulty client fails exactly the check its defect breaks, and no other.

The clients are tests/clients/retrying_client.py with one ``--flaw``.  The
scenarios are played at half their waits (``time_scale=0.5``: Retry-After 1 s;
the in-flight hold, never scaled, lasts until the first 409, at most 5 s) and
the clients' delays sit far from every threshold (a 1 s request timeout under
the 5 s hold, 0.5-0.9 s after a 409 against 0.25 s), so no verdict depends on
the machine's speed.

The fifteen faulty clients are graded in one test, four at once, each by
``avatar-contract grade-client`` in a process of its own (its served emulator
and the client processes it starts): a grading mostly waits (Retry-After, the
hold, backoff), so one after another they took ~4 min of a CI worker.  A
process each, not a thread each: the checks time the gaps between a client's
requests on the emulator's clock, and emulators sharing one interpreter delay
each other's timestamps (eight in one process, under a load average of 9,
blamed clients that wait 0.5 s after a 409 for retrying sooner than 0.25 s).
The test fails naming every client that did not fail exactly its check.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clients import GradeResult, grade_command

from .conftest import client_command

pytestmark = [pytest.mark.http, pytest.mark.slow]  # a served emulator, each client as a process

CONCURRENT = 4  # gradings at once, each in a process of its own (see the module's docstring)
FAST = ("--timeout", "1.0", "--in-flight-wait", "0.5")

# flaw -> the one check it fails
FAULTY = {
    "fresh-key-per-retry": "client.same_key_on_retry",
    "no-key": "client.key_present",
    "keyless-retry-after-5xx": "client.no_keyless_retry",
    "ignore-retry-after": "client.retry_after",
    "no-backoff": "client.backoff",
    "fixed-delay": "client.backoff",
    "unbounded": "client.bounded_retries",
    "retry-400": "client.no_retry_on_invalid",
    "retry-401": "client.no_retry_on_auth",
    "hardcoded-key": "client.new_key_per_intent",
    "blank-key": "client.key_format",
    "hedged": "client.no_parallel_same_key",
    "reserialise": "client.same_key_on_retry",
    # Beyond the list, so that these checks are shown to fail too:
    "waits-out-any-retry-after": "client.long_retry_after",
    "impatient-after-409": "client.in_flight",
}
# Clients that never stop by themselves in one scenario: its --timeout ends them.
ENDLESS = {"unbounded", "waits-out-any-retry-after"}


def grade(flaw: str | None, tmp_path: Path, timeout: float = 20.0) -> GradeResult:
    args = (*FAST, "--flaw", flaw) if flaw else FAST
    return grade_command(client_command(*args), workdir=tmp_path, timeout=timeout, time_scale=0.5)


def _explain(result: GradeResult) -> str:
    return "\n".join(f"{r.name}: {r.verdict.value} {r.reason}" for r in result.results)


def _grading(flaw: str, where: Path) -> subprocess.Popen[bytes]:
    """``grade-client`` on the client with ``flaw``, as ``grade`` grades it; its JSON into ``where``/out.json."""
    timeout = "8" if flaw in ENDLESS else "20"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    where.mkdir()
    with (where / "out.json").open("wb") as out:  # a file, not a pipe: nothing waits on a reader
        return subprocess.Popen([sys.executable, "-m", "avatar_contract", "grade-client", "--time-scale", "0.5",
                                 "--timeout", timeout, "--format", "json", "--report-dir", str(where), "--",
                                 *client_command(*FAST, "--flaw", flaw)],
                                env=env, stdout=out, stderr=subprocess.DEVNULL)


def _judged(flaw: str, code: int, where: Path) -> str:
    """Why the grading of ``flaw`` is wrong, or ""."""
    out = (where / "out.json").read_text(encoding="utf-8")
    try:
        clauses = json.loads(out)["clauses"]
    except (ValueError, KeyError):
        return f"--flaw {flaw}: grade-client exited {code} without a JSON report: {out[-2000:]!r}"
    failed = [c["clause"] for c in clauses if c["verdict"] == "fail"]
    logs = [log.read_text(encoding="utf-8") for log in (where / "latest").glob("client-*.log")]
    if failed == [FAULTY[flaw]] and code == 1 and logs and not any("Traceback" in log for log in logs):
        return ""
    return "\n".join([f"--flaw {flaw}: expected only {FAULTY[flaw]} to fail, got {failed}, exit {code}, "
                       f"{sum('Traceback' in log for log in logs)} client log(s) with a traceback",
                       *(f"{c['clause']}: {c['verdict']} {c['reason']}" for c in clauses)])


def test_each_faulty_client_fails_exactly_its_check(tmp_path: Path) -> None:
    # The clients that never stop end at the scenario's timeout: they start first, so the last
    # grading to start is a short one.
    waiting = sorted(FAULTY, key=lambda flaw: (flaw not in ENDLESS, flaw != "fixed-delay", flaw))
    running: dict[str, subprocess.Popen[bytes]] = {}
    wrong = []
    try:
        while waiting or running:
            while waiting and len(running) < CONCURRENT:
                flaw = waiting.pop(0)
                running[flaw] = _grading(flaw, tmp_path / flaw)
            ended = [flaw for flaw, proc in running.items() if proc.poll() is not None]
            for flaw in ended:
                wrong.append(_judged(flaw, running.pop(flaw).returncode, tmp_path / flaw))
            if not ended:  # look again in a moment (a poll, not a time limit)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    next(iter(running.values())).wait(timeout=0.2)
    finally:
        for proc in running.values():
            proc.kill()
            proc.wait()
    assert not any(wrong), "\n\n".join(w for w in wrong if w)


def test_the_reference_client_at_half_the_waits_passes_everything(tmp_path: Path) -> None:
    result = grade(None, tmp_path)
    assert result.verdicts() == {r.name: "pass" for r in result.results}, _explain(result)
    assert result.score == 100 and result.exit_code == 0


# What a client behaving as HeyGen's CLI does by default gets (README, "grade-client"): no key
# unless given, 429 retried on every method, 5xx and transport errors retried only on idempotent
# methods (so never on this POST).  The rest of its behaviour is the reference client's.
HEYGEN_CLI_GRADE = {
    "client.key_present": "fail",
    "client.key_format": "incomplete",
    "client.same_key_on_retry": "incomplete",
    "client.new_key_per_intent": "incomplete",
    "client.no_keyless_retry": "pass",
    "client.one_resource_per_intent": "pass",
    "client.retry_after": "pass",
    "client.long_retry_after": "pass",
    "client.bounded_retries": "pass",
    "client.backoff": "incomplete",
    "client.in_flight": "incomplete",
    "client.no_retry_on_invalid": "pass",
    "client.no_retry_on_auth": "pass",
    "client.no_parallel_same_key": "incomplete",
}


def test_a_client_behaving_as_heygens_cli_gets_the_documented_grade(tmp_path: Path) -> None:
    result = grade("heygen-cli", tmp_path)
    assert result.verdicts() == HEYGEN_CLI_GRADE, _explain(result)
    assert round(result.score) == 50 and result.exit_code == 1


def test_parallel_copies_each_get_a_key_and_the_jitter_check_reads_them_all(tmp_path: Path) -> None:
    reference = grade_command(client_command(*FAST, "--seed-with-key"), workdir=tmp_path / "reference",
                              scenarios=["persistent-503"], parallel=4, intents=1)
    assert reference.verdict("client.backoff") == "pass", _explain(reference)
    assert reference.verdict("client.bounded_retries") == "pass"
    (run,) = reference.runs
    assert len(run.exit_codes) == 4 and len({r.tenant for r in run.records}) == 4  # one tenant per copy
    # Exponential backoff without jitter: the gaps grow, but four copies wait alike (0.2, 0.4, 0.8, 1.6 s).
    lockstep = grade_command(client_command(*FAST, "--flaw", "no-jitter"), workdir=tmp_path / "lockstep",
                             scenarios=["persistent-503"], parallel=4, intents=1)
    assert lockstep.failed == ["client.backoff"], _explain(lockstep)
    assert "not spread" in lockstep.results[9].reason + " ".join(f.message for f in lockstep.results[9].failures)
