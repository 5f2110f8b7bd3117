"""report.html and report.md: self-contained, well-formed, and a hostile server stays text."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from avatar_contract.contract_tests.clauses.finding import ClauseFailure, ClauseResult, Verdict
from avatar_contract.contract_tests.reports.files import LATEST, LATEST_FILE, write_run
from avatar_contract.contract_tests.reports.html import to_html
from avatar_contract.contract_tests.reports.markdown import to_markdown
from avatar_contract.contract_tests.reports.report import SuiteReport, from_results
from avatar_contract.contract_tests.reports.run_info import RunInfo
from avatar_contract.contract_tests.targets.credentials import Credentials
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest
from avatar_contract.contract_tests.targets.target import Target

SECRET = "sk-live-html-report-secret-42"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>"><a href="javascript:alert(2)">'
VOID = {"meta", "br", "img", "hr", "input", "link", "col", "wbr", "source", "area", "base", "embed", "track"}


class _WellFormed(HTMLParser):
    """Every element closed in order; records the tags and attributes the page really has."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.links: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self.links += [value or "" for name, value in attrs if name in ("href", "src")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _check(page: str) -> _WellFormed:
    parser = _WellFormed()
    parser.feed(page)
    parser.close()
    assert parser.doctype, "no <!DOCTYPE html>"
    assert not parser.problems, parser.problems
    assert not parser.stack, f"unclosed: {parser.stack}"
    return parser


def _hostile_report() -> SuiteReport:
    creds = Credentials(SECRET, None)
    request = SentRequest("POST", "/v3/avatars", (("Idempotency-Key", b"k-1"), ("Content-Type", b"application/json")),
                          creds.api_key(), b'{"type":"photo","name":"Anna","file":{"type":"url","url":"https://e.test/a"}}')
    body = json.dumps({"error": {"code": HOSTILE, "message": f"key {SECRET} rejected {HOSTILE}"}}).encode()
    answer = Exchange(request, 500, {"content-type": "text/html", "x-evil": HOSTILE}, body)
    failure = ClauseFailure("errors.envelope", f"code {HOSTILE!r} is not documented", answer)
    failure.count = 2
    results = [
        ClauseResult("auth.missing", Verdict.PASS, requests=3),
        ClauseResult("errors.envelope", Verdict.FAIL, reason=f"1 failure(s); first: {HOSTILE}",
                     failures=[failure], requests=40, creates=1, notes=[f"statuses seen: 500×1 {HOSTILE}"]),
        ClauseResult("idempotency.replay", Verdict.INCOMPLETE, reason="not run: interrupted (Ctrl-C)"),
        ClauseResult("idempotency.tenant_scope", Verdict.SKIPPED, reason="needs a second key"),
    ]
    target = Target(base_url="https://api.example.test", api_key=SECRET, allow_create=True, max_creates=5,
                    seed=77, headers=(("X-Gateway-Token", "gw-token-value-123456"), ("X-Team", "blue")))
    report = from_results(target, results, [SECRET, "gw-token-value-123456"], 12.34)
    report.info = RunInfo.collect()
    report.stopped = "interrupted (Ctrl-C)"
    report.statuses = {"auth.missing": {401: 3}, "errors.envelope": {500: 1, 400: 39}}
    return report


def test_report_html_is_well_formed_self_contained_and_complete() -> None:
    report = _hostile_report()
    page = to_html(report)
    parser = _check(page)
    # Self-contained: no script, no external stylesheet, image, frame or font.
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|javascript:)""", page)
    assert report.info is not None
    for expected in ("https://api.example.test", report.info.spec_version, report.info.spec_sha256,
                     f"avatar-contract {report.info.tool_version}", report.info.started_at, "12.3 s",
                     "--seed 77", "1 made of a cap of 5", "interrupted (Ctrl-C)",
                     "401×3", "400×39, 500×1",  # statuses seen per clause
                     "curl -sS -i -X POST https://api.example.test/v3/avatars",
                     "&quot;X-Gateway-Token: ${AVATAR_HEADER_X_GATEWAY_TOKEN}&quot;", "X-Team: blue",
                     "(×2)", "incomplete", "skipped"):
        assert expected in page, expected
    # Each verdict has its colour in the clause table.
    for colour in ("#d9f2dd", "#f8d0d0", "#fbe7b5", "#e6e6e6"):
        assert colour in page
    # Bodies are pretty-printed JSON.
    assert '{\n  &quot;error&quot;: {\n    &quot;code&quot;' in page


def test_report_html_escapes_hostile_server_content_and_hides_secrets() -> None:
    page = to_html(_hostile_report())
    parser = _check(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "onerror" not in parser.attributes
    # Only our anchors and each failure's reproducer beside the report (relative, no scheme).
    assert parser.links and all(link.startswith("#fail-") or re.fullmatch(r"repro/[a-z_.]+-\d+\.sh", link)
                                for link in parser.links), parser.links
    assert any(link.startswith("repro/") for link in parser.links)
    assert "&lt;script&gt;" in page and "onerror=alert(1)&gt;" in page
    assert SECRET not in page and "gw-token-value-123456" not in page
    assert "key *** rejected" in page


def test_report_md_has_the_summary_versions_date_duration_and_no_raw_server_html() -> None:
    report = _hostile_report()
    markdown = to_markdown(report)
    assert report.info is not None
    first = markdown.splitlines()[2]
    assert first.startswith("**FAILS** · 1 pass · 1 fail · 1 incomplete · 1 skipped of 4 · 43 requests · 1 creates")
    assert f"avatar-contract {report.info.tool_version}" in markdown and report.info.started_at in markdown
    assert f"spec {report.info.spec_version}" in markdown and "took 12.3s" in markdown
    outside_code = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    assert "<script>" not in outside_code and "<img" not in outside_code
    assert "&lt;script&gt;" in outside_code
    assert SECRET not in markdown


def test_an_incomplete_run_never_reads_as_conforming() -> None:
    import xml.etree.ElementTree as ET

    from avatar_contract.contract_tests.reports.junit import to_junit
    from avatar_contract.contract_tests.reports.report import to_json

    report = _hostile_report()
    report.results = [r for r in report.results if r.verdict is not Verdict.FAIL]
    data = to_json(report)
    assert (data["conforms"], data["outcome"], data["stopped"]) == (False, "incomplete", "interrupted (Ctrl-C)")
    suite = ET.fromstring(to_junit(report))
    assert suite.get("errors") == "1"
    [case] = [c for c in suite if c.get("name") == "idempotency.replay"]
    assert case.find("error") is not None


def test_each_run_gets_its_own_directory_and_latest_follows(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    report = _hostile_report()
    when = datetime(2026, 12, 1, 19, 30, 0, tzinfo=UTC)
    first, _, latest = write_run(report, tmp_path, when)
    second, files, latest_again = write_run(report, tmp_path, when)  # same second: no overwrite
    assert (first.name, second.name) == ("20261201T193000Z", "20261201T193000Z-2")
    assert latest == latest_again == tmp_path / LATEST and latest.is_symlink()
    assert (tmp_path / LATEST / "report.html").read_text() == (second / "report.html").read_text()
    assert sorted(p.name for p in files) == ["junit.xml", "report.html", "report.json", "report.md"]
    assert (first / "report.json").exists()  # the earlier run is kept


def test_where_symlinks_fail_a_latest_file_names_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("symlinks not supported here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    run_dir, _, marker = write_run(_hostile_report(), tmp_path, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert marker == tmp_path / LATEST_FILE
    assert marker.read_text().strip() == run_dir.name == "20260102T030405Z"


def test_no_markup_of_our_own_is_shown_escaped() -> None:
    """A clause that saw no status gets the muted dash as markup, not as the text "<span …>"."""
    report = _hostile_report()
    report.statuses = {"auth.missing": {401: 3}}  # the others saw none
    report.results = [r for r in report.results if r.name != "errors.envelope"]  # nothing hostile left
    page = to_html(report)
    _check(page)
    assert "&lt;" not in page and "&gt;" not in page, re.findall(r".{40}&lt;.{40}", page)
    cells = re.findall(r'<td class="num">[\d.]+</td><td>(.*?)</td><td class="detail">', page)
    assert cells == ["401×3", '<span class="muted">—</span>', '<span class="muted">—</span>'], cells
