"""Large answers are judged whole but kept small (issue 16 §4, memory).

A body over session.SPILL_BYTES lives in a file: the exchange keeps its first
EVIDENCE_BYTES (what reports show), its size and SHA-256; every check reads the
whole body back.  bench/verify_memory.py measures the peak RSS this buys.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.reports.excerpt import excerpt
from avatar_contract.contract_tests.reports.html import to_html
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.report import from_results, render_failures, to_json, write
from avatar_contract.contract_tests.runner import RunState, run_clause
from avatar_contract.contract_tests.targets.session import EVIDENCE_BYTES
from avatar_contract.contract_tests.targets.target import Target

from ._support import KEY_1, KEY_2, REMOTE, RewritesBodies

PADDING = 300_000


def _padded(body: Any) -> Any:
    body["data"]["avatar_group"]["created_at"] = "yesterday"  # the defect, past the first 64 KiB
    return {"padding": "x" * PADDING, **body}


class PadsCreates(RewritesBodies):
    """The emulator; each 200 is padded to ~300 KB ahead of ``data``, whose group ``created_at`` is a string."""

    def __init__(self) -> None:
        super().__init__(200, _padded)


def test_a_large_answer_is_spilled_and_still_judged_whole() -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=PadsCreates(),
                    allow_create=True, profile="quick", seed=2)
    result = run_clause("response.schema", target, RunState(target))
    assert result.verdict is Verdict.FAIL, (result.verdict, result.reason)
    failure = next(f for f in result.failures if "created_at" in f.message)
    exchange = failure.exchange
    assert exchange is not None
    assert len(exchange.content) <= EVIDENCE_BYTES < exchange.size  # kept small in memory
    whole = exchange.body
    assert len(whole) == exchange.size > PADDING and hashlib.sha256(whole).hexdigest() == exchange.sha256
    assert b"yesterday" in whole and b"yesterday" not in exchange.content


def test_every_output_shows_the_failing_value_centred_on_its_pointer() -> None:
    # The bad created_at sits 300 KB into the body: a body cut at its start would hide it.
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=PadsCreates(),
                    allow_create=True, profile="quick", seed=2)
    result = run_clause("response.schema", target, RunState(target))
    failure = next(f for f in result.failures if "created_at" in f.message)
    assert failure.pointer == "/data/avatar_group/created_at"
    shown = failure.excerpt
    assert shown is not None and shown.text[shown.start:shown.end] == '"yesterday"'
    report = from_results(target, [result])
    data = to_json(report)["clauses"][0]["failures"]
    kept = next(f for f in data if f["pointer"] == failure.pointer)
    assert '"yesterday"' in kept["excerpt"] and kept["excerpt"].startswith("at /data/avatar_group/created_at: ")
    line = f"at /data/avatar_group/created_at: {shown.text}"
    assert line in to_markdown(report)
    assert line in render_failures(report)
    html = to_html(report)
    assert "<mark>&quot;yesterday&quot;</mark>" in html


def test_an_absent_member_is_shown_in_the_object_it_is_missing_from() -> None:
    found = excerpt(b'{"data": {"avatar_item": {"name": "x"}}}', "/data/avatar_item/id")
    assert found is not None and found.found == "/data/avatar_item"
    assert found.text[found.start:found.end] == '{"name": "x"}'
    assert "absent; shown in /data/avatar_item" in found.line()


def test_the_whole_body_of_a_large_failing_answer_is_kept_beside_the_report(tmp_path: Path) -> None:
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=PadsCreates(),
                    allow_create=True, profile="quick", seed=2)
    result = run_clause("response.schema", target, RunState(target))
    report = from_results(target, [result])
    write(report, tmp_path)
    shown = json.loads((tmp_path / "report.json").read_text())["clauses"][0]["failures"]
    kept = next(f["body"] for f in shown if f["pointer"] == "/data/avatar_group/created_at")
    whole = (tmp_path / kept["file"]).read_bytes()
    assert len(whole) == kept["size"] > PADDING and b'"yesterday"' in whole
    assert hashlib.sha256(whole).hexdigest() == kept["sha256"]  # nothing to scrub in it: the same bytes
