"""Lint findings carry the line and column of their value; empty input and --spec-audit FILE."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from avatar_contract.spec import to_pointer
from avatar_contract.validators._cli import main
from avatar_contract.validators._positions import Position, locate, locate_yaml

ROOT = Path(__file__).resolve().parents[2]
BAD = '{"type": "photo", "name": "Anna", "file": {"type": "url"}}'


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_positions_of_present_and_absent_values() -> None:
    text = '{\n  "a": [1, {"b\\u00e9": ["\\u00e9", 2]}],\n  "c~/d": null, "e": [], "f": {}}'
    found = locate(text.encode(), ["/a/1/bé/1", "/c~0~1d", "/a/0", "/e", "/e/0", "/f/missing", ""])
    assert found["/a/1/bé/1"] == Position(2, 35)   # escaped key decoded; columns count characters
    assert found["/c~0~1d"] == Position(3, 11)     # RFC 6901 escapes
    assert found["/a/0"] == Position(2, 9)
    assert found["/e"] == found["/e/0"] == Position(3, 22)  # absent: the nearest present ancestor
    assert found["/f/missing"] == Position(3, 31)
    assert found[""] == Position(1, 1)


def test_the_last_duplicate_key_is_the_one_parsed_and_located() -> None:
    assert locate(b'{"a": 1, "a": "x"}', ["/a"]) == {"/a": Position(1, 15)}


def test_non_ascii_text_counts_code_points_not_bytes() -> None:
    assert locate('{"name": "Ånné", "x": 1}'.encode(), ["/x"]) == {"/x": Position(1, 23)}


def test_invalid_or_undecodable_text_never_raises() -> None:
    assert locate(b'{"a": [1, 2,', ["/a/1", "/a/2"]) == {"/a/1": Position(1, 11), "/a/2": Position(1, 7)}
    assert locate(b"\xff\xfe", [""]) == {}
    assert locate(b"[" * 5000, ["/0/0/0"]) == {"/0/0/0": Position(1, 4)}  # deep: no recursion


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
                    max_leaves=20),
       st.integers(0, 4))
def test_every_value_is_located_where_json_dumps_put_it(document: object, indent: int) -> None:
    # Each value's position, re-parsed from the text there, is that value.
    text = json.dumps(document, indent=indent or None, ensure_ascii=False)
    pointers = list(_pointers(document, ()))
    found = locate(text.encode(), [p for p, _ in pointers])
    lines = text.split("\n")
    decoder = json.JSONDecoder()
    for pointer, value in pointers:
        at = found[pointer]
        rest = "\n".join([lines[at.line - 1][at.column - 1:], *lines[at.line:]])
        assert decoder.raw_decode(rest)[0] == value, pointer


def _pointers(value: object, path: tuple[str | int, ...]) -> list[tuple[str, object]]:
    found = [(to_pointer(path), value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _pointers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _pointers(item, (*path, index))
    return found


def test_text_and_sarif_carry_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "multi.json"
    path.write_text('{\n  "type": "photo",\n  "name": "Anna",\n  "file": {"type": "url"},\n  "nmae": 1\n}\n')
    code, out, _ = run(["lint", str(path)], capsys)
    assert code == 1
    assert f"{path}:4:11: error /file/url: 'url' is required [schema.required]" in out
    assert f"{path}:5:11: warning /nmae:" in out
    _, out, _ = run(["lint", "--format", "sarif", str(path)], capsys)
    run_ = json.loads(out)["runs"][0]
    assert run_["columnKind"] == "unicodeCodePoints"
    regions = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"] for r in run_["results"]}
    assert regions["schema.required"] == {"startLine": 4, "startColumn": 11}
    assert regions["field.unknown"] == {"startLine": 5, "startColumn": 11}


def test_ndjson_positions_are_lines_of_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cases.ndjson"
    path.write_text(f'{BAD.replace("Anna", "Ok")}\n\n   {BAD}\n')
    _, out, _ = run(["lint", "--ndjson", str(path)], capsys)
    assert f"{path}:1:41: error /file/url" in out
    assert f"{path}:3:46: error /file/url" in out
    _, out, _ = run(["lint", "--ndjson", "--format", "sarif", str(path)], capsys)
    locations = [r["locations"][0]["physicalLocation"] for r in json.loads(out)["runs"][0]["results"]]
    assert [loc["artifactLocation"]["uri"] for loc in locations] == [path.as_uri(), path.as_uri()]
    assert [loc["region"]["startLine"] for loc in locations] == [1, 3]


@pytest.mark.parametrize(("argv", "stdin"), [
    (["lint", "-"], b""),
    (["lint", "-"], b" \n\t\n"),
    (["lint", "--ndjson", "-"], b"\n\n"),
    (["lint", "--ndjson", "EMPTY"], None),
    (["lint", "EMPTY"], None),
    (["lint"], None),
])
def test_empty_input_is_a_usage_error(argv: list[str], stdin: bytes | None, tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    argv = [str(empty) if a == "EMPTY" else a for a in argv]
    done = subprocess.run([sys.executable, "-m", "avatar_contract", *argv], input=stdin or b"",
                          capture_output=True, cwd=tmp_path)
    assert done.returncode == 2, done
    assert done.stdout == b""
    err = done.stderr.decode()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_empty_ndjson_file_among_good_ones_still_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.ndjson"
    good.write_text(BAD + "\n")
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    code, _, err = run(["lint", "--ndjson", str(good), str(empty)], capsys)
    assert code == 2 and str(empty) in err


def test_spec_audit_audits_the_spec_it_is_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((ROOT / "spec" / "create-avatar.openapi.yaml").read_text(encoding="utf-8"))
    _string_mappings(document)
    # A copy whose discriminator mappings are already strings: fewer defects than the vendored one.
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(document), encoding="utf-8")
    code, out, _ = run(["lint", "--spec-audit", "--format", "json", str(fixed)], capsys)
    (result,) = json.loads(out)["results"]
    assert result["source"] == str(fixed)
    assert not any(f["rule"] == "spec.discriminator.mapping_value" for f in result["findings"])
    _, out, _ = run(["lint", "--spec-audit", "--format", "json"], capsys)
    assert any(f["rule"] == "spec.discriminator.mapping_value" for f in json.loads(out)["results"][0]["findings"])
    code, _, err = run(["lint", "--spec-audit", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "missing.yaml" in err


def _string_mappings(node: object) -> None:
    if isinstance(node, dict):
        mapping = node.get("mapping")
        if isinstance(mapping, dict):
            for key, value in mapping.items():
                if isinstance(value, dict) and "$ref" in value:
                    mapping[key] = value["$ref"]
        for value in node.values():
            _string_mappings(value)
    elif isinstance(node, list):
        for value in node:
            _string_mappings(value)


def test_spec_audit_positions_point_into_the_spec_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["lint", "--spec-audit", "--format", "sarif"], capsys)
    lines = (ROOT / "spec" / "create-avatar.openapi.yaml").read_text(encoding="utf-8").splitlines()
    results = json.loads(out)["runs"][0]["results"]
    mapping = [r for r in results if r["ruleId"] == "spec.discriminator.mapping_value"]
    assert mapping
    for result in mapping:
        region = result["locations"][0]["physicalLocation"]["region"]
        variant = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].rsplit("/", 1)[-1]
        # The mapping value ($ref: ...) sits on the line after "variant:".
        assert lines[region["startLine"] - 1].strip().startswith("$ref:"), result
        assert lines[region["startLine"] - 2].strip() == f"{variant}:", result


def test_locate_yaml_falls_back_to_the_nearest_node() -> None:
    text = "a:\n  b:\n    - x\n    - {c: 1}\n"
    assert locate_yaml(text, ["/a/b/1/c", "/a/b/7", "/a/zz"]) == {
        "/a/b/1/c": Position(4, 11), "/a/b/7": Position(3, 5), "/a/zz": Position(2, 3)}
    assert locate_yaml("a: [", ["/a"]) == {}


def test_lint_imports_neither_the_emulator_nor_the_suite(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(BAD)
    probe = ("import sys\nfrom avatar_contract.validators._cli import main\n"
             f"code = main(['lint', {str(path)!r}])\n"
             "heavy = ('schemathesis', 'hypothesis', 'starlette', 'uvicorn', 'httpx', "
             "'avatar_contract.emulator', 'avatar_contract.contract_tests')\n"
             "print(sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + '.')}), code)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "[] 1", done.stdout + done.stderr


def test_invalid_json_points_where_the_reader_stopped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.ndjson"
    path.write_text(BAD + '\n{"type": "photo",\n')
    code, out, _ = run(["lint", "--ndjson", "--format", "sarif", str(path)], capsys)
    assert code == 1  # one bad line of an NDJSON file is a finding, not unusable input
    (result,) = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "json.invalid"]
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 18}
