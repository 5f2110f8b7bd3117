"""Each faulty client fails exactly the check its defect breaks, and no other.

The clients are tests/clients/retrying_client.py with one ``--flaw``.  The
scenarios are played at half their waits (``time_scale=0.5``: Retry-After 1 s;
the in-flight hold, never scaled, lasts until the first 409, at most 5 s) and
the clients' delays sit far from every threshold (a 1 s request timeout under
the 5 s hold, 0.5-0.9 s after a 409 against 0.25 s), so no verdict depends on
the machine's speed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_contract.contract_tests.clients import GradeResult, grade_command

from .conftest import client_command

pytestmark = [pytest.mark.http, pytest.mark.slow]  # a served emulator, each client as a process

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


@pytest.mark.parametrize("flaw", sorted(FAULTY))
def test_a_faulty_client_fails_exactly_its_check(flaw: str, tmp_path: Path) -> None:
    # The unbounded client never gives up under persistent-503: the scenario's timeout ends it.
    result = grade(flaw, tmp_path, timeout=8.0 if flaw in ENDLESS else 20.0)
    assert result.failed == [FAULTY[flaw]], _explain(result)
    assert result.exit_code == 1
    assert all("Traceback" not in log for run in result.runs for log in run.logs), flaw


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
