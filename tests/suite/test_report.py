"""Evidence and reports: curl lines that reproduce, keys that never leak, the three files."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseFailure, ClauseResult, Verdict
from avatar_contract.contract_tests.reports.curl import as_curl
from avatar_contract.contract_tests.reports.junit import to_junit
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.report import from_results, render_text, to_json, write
from avatar_contract.contract_tests.targets.credentials import Credentials
from avatar_contract.contract_tests.targets.exchange import Credential, Exchange, SentRequest
from avatar_contract.contract_tests.targets.target import Target

SECRET = "sk-live-very-secret-0123456789"


def exchange(credential: Credential | None, headers: tuple[tuple[str, bytes], ...], content: bytes | None,
             response: bytes = b'{"error":{"code":"x","message":"y"}}') -> Exchange:
    request = SentRequest("POST", "/v3/avatars", headers, credential, content)
    return Exchange(request, 400, {"content-type": "application/json"}, response)


def test_curl_redacts_the_key_and_freshens_a_well_formed_idempotency_key() -> None:
    creds = Credentials(SECRET, None)
    line = as_curl(exchange(creds.bearer(), (("Idempotency-Key", b"abc:123"),), b'{"a": "it\'s"}'),
                   "https://api.example.com")
    assert SECRET not in line
    assert '"Authorization: Bearer ${AVATAR_API_KEY}"' in line
    assert line.startswith("curl -sS -i -X POST https://api.example.com/v3/avatars")
    # Re-running must not replay what the server stored: each run sends abc: plus three fresh characters.
    word = line.split("-H ")[-1].split(" --data-raw", 1)[0]
    assert word.startswith('"Idempotency-Key: abc:$(')
    if shutil.which("bash"):
        sent = {subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, text=True,
                               check=True).stdout for _ in range(4)}
        assert len(sent) > 1
        assert all(re.fullmatch(r"Idempotency-Key: abc:[0-9a-f]{3}", s) for s in sent), sent
    # A malformed key is the evidence: sent exactly.
    assert "'Idempotency-Key: a b'" in as_curl(exchange(None, (("Idempotency-Key", b"a b"),), None), "http://h")


@pytest.mark.parametrize(("make", "shown"), [
    (lambda c: c.truncated(), "${AVATAR_API_KEY%?}"),
    (lambda c: c.extended(), "${AVATAR_API_KEY}x"),
    (lambda c: c.api_key(), "${AVATAR_API_KEY}"),
])
def test_derived_keys_are_shell_expressions(make: object, shown: str) -> None:
    credential = make(Credentials(SECRET, None))  # type: ignore[operator]
    assert SECRET[:-1] not in as_curl(exchange(credential, (), None), "http://h")
    assert f'"x-api-key: {shown}"' in as_curl(exchange(credential, (), None), "http://h")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_curl_body_and_headers_survive_the_shell() -> None:
    body = b'\x00{"x": "100% \\\\ \xc3\xa9"}\n\xff'
    line = as_curl(exchange(None, (("Idempotency-Key", b""), ("Idempotency-Key", "k\u00e9".encode())), body),
                   "http://h")
    assert "'Idempotency-Key;'" in line  # curl's syntax for an empty header value
    printf = line.split(" | curl", 1)[0]
    out = subprocess.run(["bash", "-c", printf], capture_output=True, check=True).stdout
    assert out == body
    text_line = as_curl(exchange(None, (), b'{"name": "O\'Brien $HOME `x`"}'), "http://h")
    echoed = subprocess.run(["bash", "-c", "printf %s " + text_line.split("--data-raw ", 1)[1]],
                            capture_output=True, check=True).stdout
    assert echoed == b'{"name": "O\'Brien $HOME `x`"}'


def _report(tmp_target: Target) -> object:
    creds = Credentials(SECRET, None)
    # A server that echoes the key back in an error message must not leak it into any report.
    leaky = exchange(creds.api_key(), (), b"{}", response=f'{{"echo": "{SECRET}"}}'.encode())
    failure = ClauseFailure("errors.envelope", f"body was {SECRET}", leaky)
    failure.count = 3
    results = [
        ClauseResult("auth.missing", Verdict.PASS, requests=3, cases=3),
        ClauseResult("errors.envelope", Verdict.FAIL, reason="1 failure(s)", failures=[failure], requests=9),
        ClauseResult("rate_limit.retry_after", Verdict.NOT_OBSERVED, reason="no 429 within 300 requests"),
        ClauseResult("idempotency.tenant_scope", Verdict.SKIPPED, reason="needs a second key"),
    ]
    return from_results(tmp_target, results, [SECRET], 1.5)


def test_reports_are_written_and_scrubbed(tmp_path: Path) -> None:
    target = Target(base_url="https://api.example.com", api_key=SECRET, seed=42)
    report = _report(target)
    files = write(report, tmp_path)  # type: ignore[arg-type]
    assert sorted(p.name for p in files) == ["junit.xml", "report.html", "report.json", "report.md"]
    assert (tmp_path / "repro" / "errors.envelope-1.sh").is_file()  # the failure's reproducer, beside the reports
    for path in files:
        assert SECRET not in path.read_text(encoding="utf-8"), path.name
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["conforms"] is False
    assert data["summary"] == {"pass": 1, "fail": 1, "not observed": 1, "skipped": 1}
    failure = data["clauses"][1]["failures"][0]
    assert failure["count"] == 3 and failure["curl"].startswith("curl ")
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "2")
    markdown = (tmp_path / "report.md").read_text()
    assert "| `rate_limit.retry_after` | not observed |" in markdown
    text = render_text(report)  # type: ignore[arg-type]
    assert "seed 42" in text and "reproduce: curl" in text and SECRET not in text
    assert to_json(report)["target"]["seed"] == 42  # type: ignore[arg-type]
    assert to_markdown(report) and to_junit(report)  # type: ignore[arg-type]

def test_the_table_cuts_details_at_a_word_with_an_ellipsis() -> None:
    from avatar_contract.contract_tests.reports.progress import Progress, clip
    from avatar_contract.contract_tests.reports.report import render_table

    reason = "add " + ", ".join(f"[video] asset_id{i}, [video] url{i}, [image] reference_images{i}" for i in range(5))
    result = ClauseResult("request.variants", Verdict.FAIL, reason=reason, requests=3)
    row = next(line for line in render_table(from_results(Target(seed=1), [result])).splitlines()
               if line.startswith("request.variants"))
    detail = row.split("  3  ", 1)[1].strip().split("  ", 1)[1]
    assert detail.endswith("…") and len(detail) <= 100
    assert reason.startswith(detail[:-1]) and reason[len(detail) - 1] in " ,", detail  # ends at a word
    assert clip("short", 100) == "short" and clip("x" * 150, 100) == "x" * 99 + "…"  # no word: cut, marked
    stream = io.StringIO()
    progress = Progress(stream, 1, live=False, colour=False)
    progress.start("request.variants")
    progress.finished(result)
    line = stream.getvalue().splitlines()[-1]
    assert line.endswith("…") and len(line) < len(reason)


def _step_lines(text: str) -> list[str]:
    """The runnable lines under "reproduce, in order" (pytest's output, no report directory)."""
    block = text.split("reproduce, in order", 1)[1].split("\n", 1)[1]
    return [line[4:] for line in block.splitlines() if line.startswith("    ")]


def test_step_lines_keep_the_body_and_one_variable_per_key_the_run_shared() -> None:
    from avatar_contract.contract_tests.clauses.finding import steps
    from avatar_contract.contract_tests.reports.report import render_failures

    creds = Credentials(SECRET, None)
    body = b'{"type":"photo","reference_images":[],"tags":["a"]}'
    shared = (("Idempotency-Key", b"key-0123456789abcdef"),)
    first = exchange(creds.api_key(), shared, body)
    again = exchange(creds.api_key(), shared, body)
    other = exchange(creds.api_key(), (("Idempotency-Key", b"key-fedcba9876543210"),), body)
    failure = ClauseFailure("idempotency.replay", "a retry made a new avatar", first,
                            sequence=steps(first, again, [other, other]))
    result = ClauseResult("idempotency.replay", Verdict.FAIL, reason="1 failure(s)", failures=[failure])
    lines = _step_lines(render_failures(from_results(Target(base_url="http://h", seed=1), [result], [SECRET])))
    assignments = [line for line in lines if line.startswith("KEY_")]
    assert [a.split("=", 1)[0] for a in assignments] == ["KEY_1", "KEY_2"]  # one per distinct key, first
    sends = [line for line in lines if "curl " in line]
    assert len(sends) == 3 and all(SECRET not in line for line in lines)
    assert '"Idempotency-Key: ${KEY_1}"' in sends[0] and '"Idempotency-Key: ${KEY_1}"' in sends[1]
    assert sends[2].startswith("for _ in $(seq 2); do curl ") and sends[2].endswith("& done; wait  # 2 at once")
    assert '"Idempotency-Key: ${KEY_2}"' in sends[2]
    for line in sends:  # the body exactly as sent: "[]" is JSON, not a label to drop
        words = shlex.split(line.split(" & done")[0])
        assert words[words.index("--data-raw") + 1] == body.decode()
    if shutil.which("bash"):
        script = "\n".join([*assignments, 'printf "%s %s\\n" "$KEY_1" "$KEY_2"'])
        runs = {subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
                for _ in range(3)}
        assert len(runs) > 1  # fresh tails on every run
        for run in runs:
            one, two = run.split()
            assert re.fullmatch(r"key-[0-9a-f]{16}", one) and re.fullmatch(r"key-[0-9a-f]{16}", two), run
            assert one[:8] == "key-0123" and two[:8] == "key-fedc"  # the kept prefix (12-character tail)


def test_stdout_shortens_a_huge_curl_and_the_files_keep_it_whole(tmp_path: Path) -> None:
    prompt = "\U0001F600" * 1000
    body = json.dumps({"type": "prompt", "prompt": prompt}, ensure_ascii=False).encode()
    failure = ClauseFailure("errors.envelope", "a 500 for a long prompt", exchange(None, (), body))
    result = ClauseResult("errors.envelope", Verdict.FAIL, reason="1 failure(s)", failures=[failure])
    report = from_results(Target(base_url="https://api.example.com", seed=1), [result])
    report.repro_dir = Path("repro")
    write(report, tmp_path)
    line = next(line for line in render_text(report).splitlines() if "reproduce: " in line)
    assert len(line) < 800, len(line)
    assert line.endswith("(shortened; full command in report.md / repro/errors.envelope-1.sh)")
    assert prompt in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert prompt in (tmp_path / "repro" / "errors.envelope-1.sh").read_text(encoding="utf-8")
    assert prompt in json.loads((tmp_path / "report.json").read_text())["clauses"][0]["failures"][0]["curl"]
    report.repro_dir = None  # pytest: no report files, so the line on stdout stays the only, whole, copy
    assert prompt in render_text(report)


def test_a_legend_says_the_create_pool_is_shared_and_counts_it() -> None:
    from avatar_contract.contract_tests.reports.html import to_html

    results = [ClauseResult("auth.bearer", Verdict.PASS, requests=2), ClauseResult("request.variants", Verdict.PASS)]
    run = {"made": 14, "requests": 30, "pool": {"requests": 16, "made": 14}}
    report = from_results(Target(seed=1), results, run=run)
    legend = ("requests/creates: each clause's own; the create pool's 16 request(s) and 14 create(s) "
              "are shared by the clauses that judge them")
    assert legend in render_text(report)
    assert legend in to_markdown(report)
    assert legend.replace("'", "&#x27;") in to_html(report)
    assert "no create pool" in render_text(from_results(Target(seed=1), results, run={**run, "pool": None}))


def test_verify_records_the_create_pool_s_own_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_contract.validators._cli import main

    for name in [n for n in os.environ if n.startswith("AVATAR_")]:
        monkeypatch.delenv(name)
    code = main(["verify", "--profile", "quick", "--seed", "4", "--no-mutation", "--clause", "request.variants",
                 "--clause", "auth.bearer", "--report-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr()
    data = json.loads((tmp_path / "latest" / "report.json").read_text())
    pool = data["ledger"]["pool"]
    assert pool["made"] > 0 and pool["requests"] >= pool["made"]
    # The totals are the pool's plus each clause's own: the legend's numbers add up.
    assert data["creates"] == pool["made"] + sum(c["creates"] for c in data["clauses"])
    assert (f"the create pool's {pool['requests']} request(s) and {pool['made']} create(s) are shared"
            in capsys.readouterr().out)


def test_no_note_sends_the_reader_to_a_clause_that_did_not_judge_the_defect() -> None:
    from avatar_contract.contract_tests.reports.see_also import unpointed

    note = "responses here also break errors.envelope: /error/code: 'x' is not 'invalid_parameter' (request #7); " \
           "see errors.envelope"
    seen = ClauseResult("request.rejects_invalid", Verdict.PASS, notes=[note, "see response.schema"])
    interrupted = ClauseResult("errors.envelope", Verdict.INCOMPLETE, reason="stopped by the run's deadline")
    failed = ClauseResult("response.schema", Verdict.FAIL)
    unpointed([seen, interrupted, failed])
    assert "see errors.envelope" not in seen.notes[0]
    assert seen.notes[0].endswith("errors.envelope owns it (incomplete in this run)")
    assert "/error/code" in seen.notes[0] and "request #7" in seen.notes[0]  # the defect, where it was seen
    assert seen.notes[1] == "see response.schema"  # that one failed: the pointer holds
    alone = ClauseResult("auth.missing", Verdict.PASS, notes=["see errors.envelope"])
    unpointed([alone])
    assert alone.notes == ["errors.envelope owns it (not run here)"]
