"""HAR files, WireMock journals and VCR cassettes are read one entry at a time: the same values as
reading the file whole, and a malformed entry deep in a big file is still refused in one line naming it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from _recorded import PHOTO

from avatar_contract.contract_tests.traffic import streaming, vcr
from avatar_contract.contract_tests.traffic.checking import check_files
from avatar_contract.contract_tests.traffic.sources import TrafficError
from avatar_contract.contract_tests.traffic.streaming import BadJSON, JsonEntries, NotFound
from avatar_contract.validators._cli import main

URL = "http://127.0.0.1:8080/v3/avatars"
ANSWER = json.dumps({"error": {"code": "invalid_parameter", "message": "name: required"}})
TRICKY = [{"text": "]}\",{[ \\\" é ✓ 😀 \\u00e9 \u2028", "n": [123456789012345678901234567890, -0.0, 1e-5, 7]},
          {}, [], "plain", 0, {"nested": {"entries": [1, {"log": None}]}}, True, None]


def _entries(document: bytes, path: tuple[str, ...]) -> list[Any]:
    return [value for _, value, _, _ in JsonEntries(io.BytesIO(document)).items(path)]


@pytest.mark.parametrize("chunk", [1, 7, 1 << 16])
@pytest.mark.parametrize("indent", [None, 2])
def test_the_entries_are_what_reading_the_file_whole_gives(monkeypatch: pytest.MonkeyPatch, chunk: int,
                                                          indent: int | None) -> None:
    monkeypatch.setattr(streaming, "_CHUNK", chunk)  # every boundary falls inside something
    document = {"pages": [{"id": "p", "entries": [9]}], "log": {"version": "1.2", "creator": {"name": "x"},
                                                               "entries": TRICKY, "comment": "after"}, "z": [1]}
    text = json.dumps(document, indent=indent, ensure_ascii=False).encode()
    assert _entries(text, ("log", "entries")) == msgspec.json.decode(text)["log"]["entries"]


@pytest.mark.parametrize("chunk", [3, 1 << 16])
def test_each_entry_is_found_again_where_it_was_read(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(streaming, "_CHUNK", chunk)
    text = json.dumps({"requests": TRICKY}, ensure_ascii=False).encode()
    stream = io.BytesIO(text)
    found = list(JsonEntries(stream).items(("requests",)))
    assert [streaming.read_at(stream, offset, size) for _, _, offset, size in found] == TRICKY


@pytest.mark.parametrize(("text", "said"), [
    (b'{"log": {"entries": [{"a": 1}, {"a": 2},]}}', "entry 2"),  # a trailing comma: a third entry expected
    (b'{"log": {"entries": [{"a": 1} {"a": 2}]}}', "entry 0"),
    (b'{"log": {"entries": [{"a": 1}, {"a": NaN}]}}', "entry 1"),
    (b'{"log": {"entries": [{"a": 1}, {"a": "\\ud800"}]}}', "entry 1"),
    (b'{"log": {"entries": [{"a": 1}, {"a": "cut', "entry 1"),
    (b'{"log": {"entries": [{"a": 1}]}} trailing', "outside"),
    (b'{"log": {"entries": [{"a": 1}], "x": }}', "outside"),
    (b'\xef\xbb\xbf{"log": {"entries": []}}', "outside"),  # a byte order mark: refused, as msgspec refused it
    (b'[{"log": {"entries": []}', "outside"),
    (b'{"log": {"entries": [{"a": 1}, {"a": "\xff"}]}}', "entry 1"),
    (b'{"log": {"entries": [{"a": 1}, {"\xff": 1}]}}', "entry 1"),
])
def test_a_syntax_error_names_its_entry(text: bytes, said: str) -> None:
    with pytest.raises(BadJSON) as caught:
        _entries(text, ("log", "entries"))
    assert caught.value.entry == (None if said == "outside" else int(said.split()[1]))
    assert str(caught.value).startswith("not valid JSON: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize("text", [b'{"log": {"entries": {}}}', b'{"log": []}', b"[1]", b'{"other": 1}', b"{}"])
def test_no_array_where_the_format_keeps_it_is_not_found(text: bytes) -> None:
    with pytest.raises(NotFound):
        _entries(text, ("log", "entries"))


def _body(n: int) -> str:
    return json.dumps({**PHOTO, "name": f"Lök {n}"}, ensure_ascii=False)


def _har_entry(n: int) -> dict[str, Any]:
    return {"startedDateTime": f"2026-12-01T10:{n // 3600 % 60:02d}:{n // 60 % 60:02d}.{n % 60:03d}Z", "time": 40,
            "request": {"method": "POST", "url": URL, "headers": [{"name": "X-Api-Key", "value": "har-key"}],
                        "postData": {"mimeType": "application/json", "text": _body(n)}},
            "response": {"status": 400, "headers": [{"name": "Content-Type", "value": "application/json"}],
                         "content": {"mimeType": "application/json", "text": ANSWER}}}


def _big_har(path: Path, entries: int, broken: int, damage: str) -> None:
    text = json.dumps({"log": {"version": "1.2", "entries": [_har_entry(n) for n in range(entries)]}}, indent=2,
                      ensure_ascii=False)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if f"Lök {broken}\\" in line)
    lines[at] = lines[at].replace('"text":', damage, 1)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(("damage", "said"), [
    ('"text" ', "not valid JSON: Expecting ':' delimiter at line "),
    ('"text": 5, "was":', "postData.text is not a string"),  # JSON, but no HAR entry
])
def test_a_malformed_entry_deep_in_a_big_har_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     damage: str, said: str) -> None:
    path = tmp_path / "big.har"
    _big_har(path, 3000, 2718, damage)
    assert path.stat().st_size > 4 * streaming._CHUNK  # several reads before the damage
    assert main(["check-traffic", str(path), "--report-dir", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}: entry 2718: {said}" in err
    if " at line " in said:
        line = int(err.split(" at line ")[1].split(",")[0])
        assert "Lök 2718" in path.read_text(encoding="utf-8").split("\n")[line - 1]  # the line the error names


def test_a_wiremock_journal_with_a_malformed_entry_deep_in_it_is_refused_before_judging(tmp_path: Path) -> None:
    logged = [{"request": {"url": "/v3/avatars", "method": "POST", "loggedDate": 1_796_000_000_000 - n,
                           "body": json.dumps({**PHOTO, "name": f"Lök {n}"})},
               "response": {"status": 400, "body": ANSWER}} for n in range(3000)]
    del logged[2500]["request"]["loggedDate"]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps({"requests": logged}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TrafficError) as caught:
        check_files([path])
    assert str(caught.value) == f"{path}: entry 2500: request.loggedDate (epoch milliseconds) is missing"


def _interaction(n: int) -> dict[str, Any]:
    return {"id": str(n), "status": "SUCCESS", "recorded_at": "2026-12-01T10:00:00.000000+00:00",
            "request": {"uri": URL, "method": "POST", "headers": {"X-Api-Key": ["[Filtered]"]},
                        "body": {"encoding": "utf-8", "string": _body(n)}},
            "response": {"status": {"code": "400", "message": "Bad Request"}, "elapsed": "0.01",
                         "headers": {"Content-Type": ["application/json"]},
                         "body": {"encoding": "utf-8", "string": ANSWER}, "http_version": "1.1"}}


def test_a_cassette_is_read_as_safe_load_reads_it() -> None:
    text = ("command: st run\nrecorded_with: Schemathesis\nhttp_interactions:\n"
            "- &first {id: '0', request: {uri: /v3/avatars, method: POST, body: {string: 'é'}}, n: 1.5,"
            " d: 2026-12-01}\n"
            "- *first\n- {<<: *first, id: '2'}\nseed: 7\n")
    streamed = [item for _, item in vcr.interactions(io.BytesIO(text.encode()))]
    assert streamed == yaml.safe_load(text)["http_interactions"]
    assert [i for i, _ in vcr.interactions(io.BytesIO(b"http_interactions:\n"))] == []


def test_a_malformed_interaction_deep_in_a_big_cassette_is_named(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    text = yaml.safe_dump({"command": "st run", "http_interactions": [_interaction(n) for n in range(1500)]},
                          allow_unicode=True, sort_keys=False)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if "Lök 1234" in line)
    lines[at] = lines[at].replace("string:", "string: [", 1)  # a flow sequence never closed
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert main(["check-traffic", str(path), "--report-dir", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: entry 1234: not valid YAML: " in err


@pytest.mark.parametrize(("text", "said"), [
    ("- 1\n", "no http_interactions list: not a VCR cassette"),
    ("http_interactions: 3\n", "no http_interactions list: not a VCR cassette"),
    ("command: x\n", "no http_interactions list: not a VCR cassette"),
    ("http_interactions: []\n---\nhttp_interactions: []\n", "not valid YAML: expected a single document"),
])
def test_a_file_that_is_no_cassette_says_so(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(TrafficError) as caught:
        check_files([path], "vcr")
    assert str(caught.value).startswith(f"{path}: {said}")
