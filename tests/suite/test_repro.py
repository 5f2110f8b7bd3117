"""Reproducers that reproduce: each failure's script, run with bash and curl against a served emulator."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseResult, Verdict
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.report import (
    from_results,
    render_failures,
    render_text,
    to_json,
    write,
)
from avatar_contract.contract_tests.reports.repro import render_script
from avatar_contract.contract_tests.runner import run_clause
from avatar_contract.contract_tests.targets.target import Target

from ._support import served_emulator

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("repro-key-tenant-1", "repro-key-tenant-2")
pytestmark = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="needs curl and bash")


def served(*args: str) -> contextlib.AbstractContextManager[str]:
    """``avatar-contract emulator`` on 127.0.0.1 with the two keys the scripts are run with."""
    return served_emulator(*args, keys=KEYS)


def _target(base: str) -> Target:
    return Target(base_url=base, api_key=KEYS[0], second_api_key=KEYS[1], allow_create=True,
                  max_creates=1000, profile="quick", seed=4)


def _run_script(text: str, tmp_path: Path, name: str = "repro.sh") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")},
           "AVATAR_API_KEY": KEYS[0], "AVATAR_API_KEY_2": KEYS[1]}
    done = subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _answers(output: str) -> list[tuple[str, str]]:
    """(status, avatar id) of each answer the script printed."""
    return re.findall(r"^#\S+\s+(\d{3})\s+avatar_item\.id=(\S+)", output, re.MULTILINE)


def _failure_script(result: ClauseResult, base: str) -> str:
    assert result.verdict is Verdict.FAIL, (result.reason, result.notes)
    failure = result.failures[0]
    assert failure.sequence, failure.message  # a sequence, not one request
    text = render_script(failure, base)
    assert text is not None
    for key in KEYS:
        assert key not in text  # only ${AVATAR_API_KEY} / ${AVATAR_API_KEY_2}
    return text


@pytest.mark.http
def test_an_in_flight_race_is_reproduced_with_concurrent_curls(tmp_path: Path) -> None:
    # Each create stays in flight for 2 s, so the script's concurrent curls overlap as the suite's did.
    with served("--fault", "no_in_flight_guard", "--processing-delay", "2") as base:
        text = _failure_script(run_clause("idempotency.in_flight", _target(base)), base)
        assert " & wait" in text and text.count('"$(fresh ') == 1  # one key, shared by the race
        first, second = _run_script(text, tmp_path), _run_script(text, tmp_path)
    for output in (first, second):
        ids = {ident for status, ident in _answers(output) if status == "200"}
        assert len(ids) > 1, output  # one key, several avatars: the defect, shown again
        assert "Compare: the concurrent requests share one key" in output
    # A second run got fresh keys, so it made new avatars rather than replaying the first run's.
    assert not ({i for _, i in _answers(first)} & {i for _, i in _answers(second)})


@pytest.mark.http
def test_a_tenant_scope_failure_is_reproduced_with_both_keys(tmp_path: Path) -> None:
    with served("--fault", "not_tenant_scoped") as base:
        text = _failure_script(run_clause("idempotency.tenant_scope", _target(base)), base)
        assert '"x-api-key: ${AVATAR_API_KEY_2}"' in text and '"x-api-key: ${AVATAR_API_KEY}"' in text
        output = _run_script(text, tmp_path)
    answers = _answers(output)
    assert len(answers) == 2 and answers[0][0] == "200"
    assert answers[0][1] == answers[1][1] != "-", output  # tenant 2 was handed tenant 1's avatar


@pytest.mark.http
def test_a_replay_failure_is_reproduced_and_rerunning_does_not_replay(tmp_path: Path) -> None:
    with served("--fault", "idempotency_ignored") as base:
        result = run_clause("idempotency.replay", _target(base))
        text = _failure_script(result, base)
        assert text.count("Idempotency-Key: ${KEY_1}") == 1  # one request function, sent twice
        first, second = _run_script(text, tmp_path), _run_script(text, tmp_path)
    for output in (first, second):
        answers = _answers(output)
        assert len(answers) == 2 and {s for s, _ in answers} == {"200"}
        assert answers[0][1] != answers[1][1], output  # the retry made a new avatar
    assert not ({i for _, i in _answers(first)} & {i for _, i in _answers(second)})


@pytest.mark.http
def test_a_correct_server_shows_the_replay_the_contract_requires(tmp_path: Path) -> None:
    """The same script against the clean emulator: both answers name one avatar (no false reproduction)."""
    with served("--fault", "idempotency_ignored") as faulty:
        text = _failure_script(run_clause("idempotency.replay", _target(faulty)), faulty)
    with served() as clean:
        output = _run_script(text.replace(faulty, clean), tmp_path)
    answers = _answers(output)
    assert len(answers) == 2 and answers[0][1] == answers[1][1] != "-", output


@pytest.mark.http
def test_a_rate_limit_failure_repeats_the_burst_until_the_first_429(tmp_path: Path) -> None:
    with served("--fault", "retry_after_missing", "--rate-limit", "5/60") as base:
        result = run_clause("rate_limit.retry_after", _target(base))
        text = _failure_script(result, base)
        output = _run_script(text, tmp_path)
    assert "the first 429 came after at most" in output
    assert re.search(r"^#b\d+\s+429\s", output, re.MULTILINE), output
    # The defect, visible: the 429's headers are printed, and none is Retry-After.
    assert re.search(r"^    HTTP/1.1 429", output, re.MULTILINE | re.IGNORECASE), output
    assert not re.search(r"^    retry-after:", output.split("Compare:")[0], re.IGNORECASE | re.MULTILINE), output


@pytest.mark.http
def test_reports_point_to_the_scripts_and_a_single_request_keeps_its_curl(tmp_path: Path) -> None:
    with served("--fault", "idempotency_ignored", "--fault", "wrong_key_accepted") as base:
        results = [run_clause(name, _target(base)) for name in ("idempotency.replay", "auth.invalid")]
    report = from_results(_target(base), results, list(KEYS))
    report.repro_dir = tmp_path / "repro"
    written = [*write(report, tmp_path), *(tmp_path / "repro").glob("*.sh")]
    scripts = sorted(p.name for p in written if p.suffix == ".sh")
    assert "idempotency.replay-1.sh" in scripts and "auth.invalid-1.sh" in scripts
    assert all(os.access(p, os.X_OK) for p in written if p.suffix == ".sh")
    text = render_text(report)
    assert f"script: {tmp_path / 'repro' / 'idempotency.replay-1.sh'} (2 requests in turn)" in text
    single = text.split("FAIL auth.invalid", 1)[1]
    assert "reproduce: curl " in single and "script: " in single  # one line, and the script
    data = to_json(report)
    assert data["clauses"][0]["failures"][0]["script"] == "repro/idempotency.replay-1.sh"
    assert "(repro/idempotency.replay-1.sh)" in to_markdown(report)
    for path in written:
        content = path.read_text(encoding="utf-8")
        assert not any(key in content for key in KEYS), path.name


@pytest.mark.http
def test_a_target_that_is_gone_is_named_in_the_script_output(tmp_path: Path) -> None:
    with served("--fault", "idempotency_ignored") as base:
        text = _failure_script(run_clause("idempotency.replay", _target(base)), base)
    # The server has stopped: the script says why there is no answer, instead of printing 000.
    output = _run_script(text, tmp_path)
    assert output.count("no response: connection refused") == 2, output


def test_regenerated_keys_keep_length_validity_and_every_character_class() -> None:
    from avatar_contract.contract_tests.probes.keys import character_classes, is_valid_key, regenerable, valid_keys

    for label, key in valid_keys():
        split = regenerable(key)
        assert split is not None, label
        kept, tail = split
        fresh = kept + "0123456789abcdef"[:tail]
        assert len(fresh) == len(key) and is_valid_key(fresh), label
        for name, chars in character_classes().items():
            if name.startswith("'") and chars in key:
                assert chars in fresh, (label, name)  # the ':' of "a key with ':'" survives
    assert regenerable("a b") is None and regenerable("") is None  # malformed: kept as the evidence


def _step_script(result: ClauseResult, base: str) -> str:
    """The step-by-step lines pytest prints for a sequence (no report directory), as one script."""
    assert result.verdict is Verdict.FAIL, (result.reason, result.notes)
    text = render_failures(from_results(_target(base), [result], list(KEYS)))
    block = text.split("reproduce, in order", 1)[1].split("\n", 1)[1]
    lines = [line[4:] for line in block.splitlines() if line.startswith("    ")]
    assert lines and not any(key in text for key in KEYS)
    return "set -u\n" + "\n".join(lines) + "\n"


def _curl_answers(output: str) -> list[tuple[str, str]]:
    """(status, avatar id) of each ``curl -i`` answer, in order."""
    out = []
    for answer in re.split(r"(?=HTTP/1\.1 \d{3} )", output)[1:]:  # a body need not end in a newline
        found = re.search(r'"avatar_item"[^}]*"id": *"([^"]*)"', answer)
        out.append((answer.split()[1], found.group(1) if found else "-"))
    return out


@pytest.mark.http
def test_the_printed_steps_reproduce_a_tenant_scope_failure(tmp_path: Path) -> None:
    # The two tenants' requests must share one Idempotency-Key, as in the run, or nothing is shown.
    with served("--fault", "not_tenant_scoped") as base:
        text = _step_script(run_clause("idempotency.tenant_scope", _target(base)), base)
        assert text.count("KEY_1=") == 1 and text.count('"Idempotency-Key: ${KEY_1}"') == 2, text
        answers = _curl_answers(_run_script(text, tmp_path))
    assert len(answers) == 2 and answers[0][0] == "200", answers
    assert answers[0][1] == answers[1][1] != "-", answers  # tenant 2 was handed tenant 1's avatar


@pytest.mark.http
def test_the_printed_steps_of_a_replay_send_one_key_twice(tmp_path: Path) -> None:
    with served("--fault", "idempotency_ignored") as faulty:
        text = _step_script(run_clause("idempotency.replay", _target(faulty)), faulty)
        broken = _curl_answers(_run_script(text, tmp_path))
    assert len(broken) == 2 and {s for s, _ in broken} == {"200"} and broken[0][1] != broken[1][1], broken
    with served() as clean:  # a correct server replays: the lines send the same key twice, not two keys
        replayed = _curl_answers(_run_script(text.replace(faulty, clean), tmp_path))
    assert len(replayed) == 2 and replayed[0][1] == replayed[1][1] != "-", replayed


@pytest.mark.http
def test_the_rate_limit_script_bursts_to_the_first_429_up_to_the_burst(tmp_path: Path) -> None:
    # The run needs only a few requests (a bucket of 5); the script must still find the 429 on a
    # target whose bucket is larger (or refilled meanwhile): it bursts up to --burst, as the clause does.
    from dataclasses import replace

    with served("--fault", "retry_after_missing", "--rate-limit", "5/3600") as base:
        result = run_clause("rate_limit.retry_after", replace(_target(base), burst=80))
        text = _failure_script(result, base)
    assert "up to 80 requests" in text
    with served("--fault", "retry_after_missing", "--rate-limit", "30/3600") as fresh:
        output = _run_script(text.replace(base, fresh), tmp_path)
    assert "the first 429 came after at most" in output, output


@pytest.mark.http
def test_a_response_schema_script_prints_the_failing_value(tmp_path: Path) -> None:
    with served("--fault", "response_wrong_type") as base:
        result = run_clause("response.schema", _target(base))
        failure = next(f for f in result.failures if f.pointer == "/data/avatar_group/created_at")
        text = render_script(failure, base)
        assert text is not None
        output = _run_script(text, tmp_path)
    assert "The failing value, /data/avatar_group/created_at, in this answer:" in output
    # This run's own answer around the member (an ISO-8601 string, the defect), then the run's excerpt.
    assert re.search(r'^    .*"created_at": *"\d{4}-', output, re.MULTILINE), output
    assert "In the run that found it, at /data/avatar_group/created_at: " in output
