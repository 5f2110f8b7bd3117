"""The fast path gives exactly the exact path's findings: same verdict, paths, rules and messages.

The fast path is the generated msgspec Structs (which decide valid bodies) and
the generated diagnosers (which describe invalid ones).  The exact path is
orjson, the full-schema jsonschema-rs verdict and the jsonschema-rs diagnoser,
with no generated code: ``RequestPlan(contract, fast=False)``.  Every body is
checked as raw bytes, since that is where the Structs apply, through all
three entry points: the Structs-first path, the governed hot path and
``lint_request``.

The CI draw is modest; ``AVATAR_CONTRACT_SLOW=1`` runs the slow draw of more
than 10,000 generated bodies.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from avatar_contract.spec import load_spec, vendored_spec_path
from avatar_contract.validators import contract_for, lint_request
from avatar_contract.validators._payload import NotJSON, parse
from avatar_contract.validators._request import RequestPlan, plan_for
from avatar_contract.validators._structs import FastDecoder

from .test_properties import REFERENCE, _mutate, json_values, valid_bodies
from .test_request_corpus import INVALID, VALID

CONTRACT = contract_for()
PLAN = plan_for(CONTRACT)
EXACT = RequestPlan(CONTRACT, fast=False)
BENCH = Path(__file__).resolve().parents[2] / "bench"
SLOW = pytest.mark.skipif(os.environ.get("AVATAR_CONTRACT_SLOW") != "1",
                          reason="slow draw: set AVATAR_CONTRACT_SLOW=1")


def _bench(name: str) -> ModuleType:
    qualified = f"_avatar_bench_{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, BENCH / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
    return sys.modules[qualified]


def assert_same(raw: bytes | str, plan: RequestPlan = PLAN, exact: RequestPlan = EXACT) -> None:
    expected = exact.lint(raw)
    for name, path in (("structs first", plan.structs_first), ("hot path", plan.lint)):
        got = path(raw)
        assert got == expected, (name, raw[:300], got, expected)
    if plan is PLAN:
        assert lint_request(raw) == expected
    # The Structs vouch only for valid bodies, and give back orjson's value.
    assert plan.fast is not None
    try:
        value = plan.fast(raw)
    except (msgspec.MsgspecError, ValueError, TypeError, RecursionError):
        return
    assert expected.valid, raw[:300]
    assert value == parse(raw)


def _encodings(body: Any) -> Iterator[bytes]:
    yield json.dumps(body).encode()
    yield json.dumps(body, ensure_ascii=False, indent=1).encode()


# -- corpora --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 11])
def test_bench_corpus(seed: int | None) -> None:
    corpus = _bench("corpus")
    cases = corpus.cases() if seed is None else corpus.cases(2000, seed)
    assert sum(1 for c in cases if PLAN.fast is not None and _accepted(c.body)) > len(cases) // 3
    for case in cases:
        assert_same(case.body)


def _accepted(raw: bytes) -> bool:
    assert PLAN.fast is not None
    try:
        PLAN.fast(raw)
    except (msgspec.MsgspecError, ValueError):
        return False
    return True


@pytest.mark.parametrize("body", [b for _, b in VALID] + [c[1] for c in INVALID])
def test_hand_written_corpus(body: Any) -> None:
    for raw in _encodings(body):
        assert_same(raw)


def test_generated_code_answers_for_the_common_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a timing: the generated diagnosers must actually be the ones
    # answering for one-error bodies, or the speed-up would silently be gone.
    import avatar_contract.validators._request as request
    import avatar_contract.validators._request_diagnosis as diagnosis

    calls: list[str] = []
    real_converter, real_findings = diagnosis.converter, request.schema_findings

    def converter(*args: Any) -> Any:
        convert = real_converter(*args)
        if convert is None:
            return None
        return lambda *a: calls.append("evaluate") or convert(*a)

    monkeypatch.setattr(diagnosis, "converter", converter)
    for module in (request, diagnosis):  # the plan's own exact path, and each branch's diagnoser
        monkeypatch.setattr(module, "schema_findings", lambda *a: calls.append("iter_errors") or real_findings(*a))
    plan = RequestPlan(CONTRACT)
    for label, body, _, _ in INVALID:
        before = len(calls)
        expected = EXACT.diagnose(body)
        assert plan.diagnose(body) == expected
        if len(expected) == 1:
            assert len(calls) == before, f"{label}: one error, yet jsonschema-rs was asked"
    # Two errors in one branch: their order is jsonschema-rs's, so it answers.
    two = {"type": _minimal("photo")["type"], "name": 3, "file": {"type": "url", "url": 4, "x": 1}}
    assert plan.diagnose(two) == EXACT.diagnose(two)
    assert calls


# -- edge cases ------------------------------------------------------------------------


def _limited_field() -> tuple[str, str, int]:
    """A (variant, field, maxLength) read from the contract, so a newer spec moves the edge."""
    variants = CONTRACT.request.variants
    assert variants is not None
    for value, branch in variants.branches.items():
        for name, sub in (branch.schema.get("properties") or {}).items():
            if isinstance(sub, dict) and sub.get("type") == "string" and isinstance(sub.get("maxLength"), int):
                return value, name, sub["maxLength"]
    raise AssertionError("no string field with maxLength in the request schema")


def _minimal(variant: str) -> dict[str, Any]:
    """A valid body of ``variant``: the hand-written valid corpus has one per variant."""
    return next(copy.deepcopy(b) for _, b in VALID if b["type"] == variant)


VARIANT, FIELD, LIMIT = _limited_field()
ASTRAL = "\U0001f600"
BASE = json.dumps(_minimal("photo"))[:-1]  # an open object: append members to it


EDGES: list[tuple[str, bytes]] = [
    ("duplicate name, last valid", (BASE + ', "name": 3, "name": "B"}').encode()),
    ("duplicate name, last invalid", (BASE + ', "name": "B", "name": 3}').encode()),
    ("duplicate discriminator, last another variant", (BASE + ', "type": "prompt"}').encode()),
    ("duplicate discriminator, last unknown", (BASE + ', "type": "video"}').encode()),
    ("duplicate discriminator, same", (BASE + ', "type": "photo"}').encode()),
    ("duplicate nested field", (BASE + ', "file": {"type": "url", "url": 1, "url": "https://x"}}').encode()),
    ("duplicate nested discriminator",
     (BASE + ', "file": {"type": "asset_id", "url": "https://x", "type": "url"}}').encode()),
    ("integer beyond 64 bits, unknown field", (BASE + ', "size": 123456789012345678901234567890}').encode()),
    ("integer beyond 64 bits, string field", (BASE + ', "name": 123456789012345678901234567890}').encode()),
    ("negative integer beyond 64 bits", (BASE + ', "avatar_group_id": -99999999999999999999999}').encode()),
    ("integer of 5,000 digits", (BASE + ', "size": ' + "9" * 5000 + "}").encode()),
    ("NaN", (BASE + ', "name": NaN}').encode()),
    ("Infinity", (BASE + ', "avatar_group_id": Infinity}').encode()),
    ("-Infinity in unknown field", (BASE + ', "x": -Infinity}').encode()),
    ("lone high surrogate", (BASE + ', "name": "A\\ud800"}').encode()),
    ("lone low surrogate in unknown field", (BASE + ', "x": "\\udc00"}').encode()),
    ("escaped surrogate pair", (BASE + ', "name": "\\ud83d\\ude00"}').encode()),
    ("lone surrogate in a key", (BASE + ', "\\ud800": 1}').encode()),
    ("lone surrogate in a key, invalid body", b'{"\\udc00x": 1, "type": "photo"}'),
    ("lone surrogate in a nested key", (BASE + ', "file": {"type": "url", "url": "https://x", "\\ud800": 1}}')
     .encode()),
    ("BOM", b"\xef\xbb\xbf" + json.dumps(_minimal("photo")).encode()),
    ("BOM, invalid body", b"\xef\xbb\xbf" + json.dumps({**_minimal("photo"), "name": 3}).encode()),
    ("not UTF-8", (BASE + ', "name": "').encode() + b"\xff\"}"),
    ("trailing garbage", json.dumps(_minimal("photo")).encode() + b" x"),
    ("empty", b""),
    ("escaped key, duplicate of a field", (BASE + ', "na\\u006de": 3}').encode()),
    ("escaped discriminator key", (BASE + ', "\\u0074ype": "prompt"}').encode()),
    *[(f"name bytes {raw!r}", (BASE + ', "name": "').encode() + raw + b'"}') for raw in (
        b"a\nb", b"a\tb", b"a\x00b", b"a\x1fb", b"a\x7fb",  # raw control characters
        b"\\x41", b"\\u00e9", b"\\/", b"\\uD83D\\uDE00",  # escapes, good and bad
        b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x80\xa8",  # overlong, CESU, > U+10FFFF
    )],
    ("trailing NUL", json.dumps(_minimal("photo")).encode() + b"\x00"),
    ("trailing comma", (BASE + ",}").encode()),
    ("surrounding whitespace", b" \r\n\t" + json.dumps(_minimal("photo")).encode() + b" \n"),
    ("null byte in string", (BASE + ', "name": "a\\u0000b"}').encode()),
    ("str payload", json.dumps(_minimal("photo"))),  # type: ignore[list-item]
    ("str payload with a raw lone surrogate",  # type: ignore[list-item]
     json.dumps(_minimal("photo"), ensure_ascii=False).replace("Anna", "An\ud800na")),
]
for extra in (-1, 0, 1):
    body = {**_minimal(VARIANT), FIELD: ASTRAL * (LIMIT + extra)}
    EDGES.append((f"astral {FIELD} at limit {extra:+d}", json.dumps(body, ensure_ascii=False).encode()))
    EDGES.append((f"astral {FIELD} at limit {extra:+d}, escaped", json.dumps(body).encode()))
    body = {**_minimal(VARIANT), FIELD: "é" * (LIMIT + extra)}
    EDGES.append((f"two-byte {FIELD} at limit {extra:+d}", json.dumps(body, ensure_ascii=False).encode()))


@pytest.mark.parametrize(("label", "raw"), EDGES, ids=[e[0] for e in EDGES])
def test_edge_cases(label: str, raw: bytes) -> None:
    assert_same(raw)
    try:
        value = parse(raw)  # RFC 8259: no NaN, no Infinity
    except NotJSON:
        assert not lint_request(raw).valid
        return
    assert lint_request(raw).valid is REFERENCE.is_valid(value), label


def test_a_lone_surrogate_key_is_explained_like_any_other_key() -> None:
    """JSON escapes allow lone surrogates; the Rust validator cannot take them as keys, so the body is
    explained on a copy with U+FFFD in their place: the same findings, not "not a JSON value"."""
    raw = lint_request(b'{"\\ud800": 1, "type": "photo"}')
    replaced = lint_request('{"\ufffd": 1, "type": "photo"}'.encode())
    assert [(f.path, f.rule) for f in raw.findings] == [(f.path, f.rule) for f in replaced.findings]
    assert "json.unsupported" not in {f.rule for f in raw.findings} and not raw.valid


def test_duplicate_keys_are_judged_on_the_last_value() -> None:
    # What JSON Schema sees is what the parser gives: orjson and the stdlib keep the last.
    assert lint_request((BASE + ', "name": 3, "name": "B"}').encode()).valid
    assert not lint_request((BASE + ', "name": "B", "name": 3}').encode()).valid
    assert not lint_request((BASE + ', "type": "prompt"}').encode()).valid


def test_astral_characters_count_as_one() -> None:
    at_limit = {**_minimal(VARIANT), FIELD: ASTRAL * LIMIT}
    over = {**_minimal(VARIANT), FIELD: ASTRAL * (LIMIT + 1)}
    assert lint_request(json.dumps(at_limit, ensure_ascii=False).encode()).valid
    report = lint_request(json.dumps(over).encode())
    assert [(f.path, f.rule) for f in report.errors] == [(f"/{FIELD}", "schema.maxLength")]


# -- generated bodies ------------------------------------------------------------------


_operation = next(iter(schemathesis.openapi.from_dict(copy.deepcopy(load_spec().document))
                       .get_all_operations())).ok()


def _mutated_bytes(body: dict[str, Any], data: st.DataObject) -> bytes:
    mutated = _mutate(body, data)
    raw = json.dumps(mutated, ensure_ascii=data.draw(st.booleans())).encode()
    # Now and then, a byte-level twist the dict cannot express: a duplicate key.
    if isinstance(mutated, dict) and raw.endswith(b"}") and len(raw) > 2 and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(mutated))) if mutated else "type"
        value = data.draw(json_values)
        raw = raw[:-1] + b", " + json.dumps(key).encode() + b": " + json.dumps(value).encode() + b"}"
    return raw


def _check_case(case: Any) -> None:
    if case.body is None or not isinstance(case.body, dict | list | str | int | float | bool):
        return
    try:
        raw = json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return
    assert_same(raw)


_SETTINGS = {"deadline": None, "suppress_health_check": list(HealthCheck)}


@settings(max_examples=300, **_SETTINGS)  # type: ignore[arg-type]
@given(valid_bodies, st.data())
def test_mutated_bodies(body: dict[str, Any], data: st.DataObject) -> None:
    assert_same(_mutated_bytes(body, data))


@settings(max_examples=60, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_schemathesis_positive(case: Any) -> None:
    _check_case(case)


@settings(max_examples=60, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_schemathesis_negative(case: Any) -> None:
    _check_case(case)


@SLOW
@settings(max_examples=8000, **_SETTINGS)  # type: ignore[arg-type]
@given(valid_bodies, st.data())
def test_mutated_bodies_slow_draw(body: dict[str, Any], data: st.DataObject) -> None:
    assert_same(_mutated_bytes(body, data))


@SLOW
@settings(max_examples=1500, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_schemathesis_positive_slow_draw(case: Any) -> None:
    _check_case(case)


@SLOW
@settings(max_examples=1500, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_schemathesis_negative_slow_draw(case: Any) -> None:
    _check_case(case)


# -- generated from the spec, not written per field -------------------------------------


@pytest.fixture(scope="module")
def newer_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    schemas["CreatePromptAvatarRequest"]["properties"]["reference_images"]["anyOf"][0]["maxItems"] = 5
    schemas["CreatePromptAvatarRequest"]["properties"]["style"] = {"type": "string", "enum": ["cartoon", "real"]}
    schemas["AssetUrl"]["properties"]["url"]["maxLength"] = 40
    schemas["AssetUrl"]["properties"]["url"]["minLength"] = 9
    path = tmp_path_factory.mktemp("spec") / "newer.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_newer_spec_changes_the_generated_code(newer_spec: Path) -> None:
    contract = contract_for(str(newer_spec))
    plan, exact = RequestPlan(contract), RequestPlan(contract, fast=False)
    assert plan.fast is not None
    photo = _minimal("photo")
    prompt = _minimal("prompt")
    bodies = [
        {**prompt, "style": "cartoon"}, {**prompt, "style": "oil"}, {**prompt, "style": 3},
        {**photo, "file": {"type": "url", "url": "https://example.com/" + "a" * 21}},
        {**photo, "file": {"type": "url", "url": "https://example.com/" + "a" * 20}},
        {**photo, "file": {"type": "url", "url": "https://"}},
        {**prompt, "reference_images": [photo["file"]] * 5, "avatar_group_id": "g"},
        {**prompt, "reference_images": [photo["file"]] * 6, "avatar_group_id": "g"},
    ]
    for body in bodies:
        assert_same(json.dumps(body).encode(), plan, exact)
    assert plan.structs_first(json.dumps({**prompt, "style": "real"}).encode()).findings == ()
    report = plan.structs_first(json.dumps(bodies[3]).encode())
    assert [(f.path, f.rule) for f in report.errors] == [("/file/url", "schema.maxLength")]


def test_what_does_not_map_exactly_gets_no_fast_path(tmp_path: Path) -> None:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    # A regex (ECMA-262 semantics) is something msgspec cannot promise to check alike.
    doc["components"]["schemas"]["AssetUrl"]["properties"]["url"]["pattern"] = "^https://"
    path = tmp_path / "pattern.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    contract = contract_for(str(path))
    plan, exact = RequestPlan(contract), RequestPlan(contract, fast=False)
    assert plan.fast is None
    photo = _minimal("photo")
    for url in ("https://x", "http://x", 3):
        raw = json.dumps({**photo, "file": {"type": "url", "url": url}}).encode()
        assert plan.lint(raw) == exact.lint(raw)
    assert not plan.lint(json.dumps({**photo, "file": {"type": "url", "url": "http://x"}}).encode()).valid


def test_not_json_is_reported_alike() -> None:
    for raw in (b"{", b"[1,]", b"\xff", b"NaN"):
        with pytest.raises(NotJSON):
            parse(raw)
        assert_same(raw)


def test_the_credit_follows_the_traffic(monkeypatch: pytest.MonkeyPatch) -> None:
    import avatar_contract.validators._request as request

    attempts: list[bytes] = []
    real = request.fast_decoder

    def counting(spec: Any, pointer: str) -> Any:
        fast = real(spec, pointer)
        assert fast is not None

        def attempt(raw: bytes) -> Any:
            attempts.append(raw)
            return fast.decode(raw)
        return FastDecoder(attempt)

    monkeypatch.setattr(request, "fast_decoder", counting)
    plan = RequestPlan(CONTRACT, native=False)  # the Structs' credit is the Python path's
    valid = json.dumps(_minimal("photo")).encode()
    invalid = json.dumps({**_minimal("photo"), "name": 3}).encode()
    expected_invalid = EXACT.lint(invalid)
    for _ in range(50):
        assert plan.lint(invalid) == expected_invalid
    tried = len(attempts)
    assert tried <= 2, "a run of invalid bodies must stop paying for Struct attempts"
    for _ in range(200):
        assert plan.lint(valid) == EXACT.lint(valid)
    assert len(attempts) > tried + 100, "valid traffic must earn the Structs back"
    before = len(attempts)
    for _ in range(20):
        plan.structs_first(invalid)
    assert len(attempts) == before + 20  # the ungoverned path always tries them
