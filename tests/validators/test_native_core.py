"""The native core gives exactly the Python path's findings: severity, path, rule, message, hint.

The Python path (``RequestPlan(contract, native=False)``: the Structs, the
generated diagnosers, jsonschema-rs) is the reference.  Each body is linted as
raw bytes by both, on the vendored spec and on the June 2026 one, and the
complete findings are compared: the bench corpus, the hand-written corpus and
edge cases, hypothesis and schemathesis draws (a modest count here; more than
100,000 with ``AVATAR_CONTRACT_SLOW=1``) and the fuzz bench's hostile inputs.

Skipped, with the reason, where the extension is not built or
``AVATAR_CONTRACT_PURE_PYTHON=1`` is set (CI runs it both ways).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Report, contract_for
from avatar_contract.validators import _native_plan as native_plan
from avatar_contract.validators._contract import Contract
from avatar_contract.validators._finding import LazyReport
from avatar_contract.validators._request import RequestPlan

from ..june_2026 import write_june_spec
from .test_fast_path_identity import (
    _SETTINGS,
    EDGES,
    SLOW,
    _bench,
    _minimal,
    _mutated_bytes,
    _operation,
)
from .test_properties import valid_bodies
from .test_request_corpus import INVALID, VALID

pytestmark = pytest.mark.skipif(
    not native_plan.available() or native_plan.forced_off(),
    reason="native core not built, or AVATAR_CONTRACT_PURE_PYTHON=1",
)


class Pair:
    """The native and the Python plan of one contract."""

    def __init__(self, contract: Contract) -> None:
        self.native = RequestPlan(contract)
        self.python = RequestPlan(contract, native=False)
        assert self.native.backend == "native" and self.python.backend == "python"

    def same(self, raw: Any) -> Report:
        got, want = self.native.lint(raw), self.python.lint(raw)
        assert got.valid == want.valid, (raw if isinstance(raw, bytes | str) else "?")[:300]
        assert got.findings == want.findings, (str(raw)[:300], got, want)
        return got


@pytest.fixture(scope="module", params=["vendored", "june_2026"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    if request.param == "vendored":
        return Pair(contract_for())
    path = write_june_spec(tmp_path_factory.mktemp("june") / "june.yaml")
    return Pair(contract_for(str(path)))


def _encodings(body: Any) -> Iterator[bytes]:
    yield json.dumps(body).encode()
    yield json.dumps(body, ensure_ascii=False, indent=1).encode()


# -- corpora ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 11])
def test_bench_corpus(pair: Pair, seed: int | None) -> None:
    corpus = _bench("corpus")
    cases = corpus.cases() if seed is None else corpus.cases(2000, seed)
    undecided = 0
    for case in cases:
        pair.same(case.body)
        undecided += pair.native.native.run(json.loads(case.body)) is False  # type: ignore[union-attr]
    # The core must answer by itself for nearly every body, or it is only overhead.
    assert undecided <= len(cases) // 50, f"{undecided} of {len(cases)} bodies handed to Python"


@pytest.mark.parametrize("body", [b for _, b in VALID] + [c[1] for c in INVALID])
def test_hand_written_corpus(pair: Pair, body: Any) -> None:
    for raw in _encodings(body):
        pair.same(raw)


@pytest.mark.parametrize(("label", "raw"), EDGES, ids=[e[0] for e in EDGES])
def test_edge_cases(pair: Pair, label: str, raw: bytes) -> None:
    pair.same(raw)


# -- hostile input: never raises, never differs -------------------------------------------


def _hostile_raw() -> Iterator[bytes | str]:
    photo = _minimal("photo")
    prompt = _minimal("prompt")
    big = "x" * 10_000_000
    for field in ("name",):
        yield json.dumps({**photo, field: big}).encode()
    yield json.dumps({**prompt, "prompt": big}).encode()
    yield json.dumps({**photo, "file": {"type": "url", "url": big}}).encode()
    yield json.dumps({**photo, "file": {"type": "base64", "media_type": "image/png", "data": "A" * 10_000_000}})
    yield json.dumps({**photo, "file": {"type": "base64", "media_type": big, "data": "@" + big}}).encode()
    yield json.dumps({**photo, big: 1}).encode()
    for depth in (10, 63, 64, 65, 1_000, 1_100, 5_000):
        yield b"[" * depth + b"]" * depth
        yield (json.dumps(photo)[:-1] + ', "name": ' + "[" * depth + "]" * depth + "}").encode()
        yield (json.dumps(photo)[:-1] + ', "x": ' + '{"a": ' * depth + "1" + "}" * depth + "}").encode()
        nested = {"type": "url", "url": "https://x"}
        for _ in range(min(depth, 900)):
            nested = {"type": "url", "url": nested}  # type: ignore[dict-item]
        yield json.dumps({**photo, "file": nested}).encode()
    for number in ("1e400", "-1e400", "9" * 5000, "-" + "9" * 30, "1" + "0" * 310 + ".5", "0.1e-99999"):
        yield (json.dumps(photo)[:-1] + f', "name": {number}, "x": {number}}}').encode()
    for text in ("\\ud800", "\\udfff", "a\\udc00b", "\\ud83d\\ude00"):
        yield (json.dumps(photo)[:-1] + f', "name": "{text}"}}').encode()
        yield (json.dumps(photo)[:-1] + f', "{text}": "{text}"}}').encode()
        yield json.dumps({**photo, "type": "photo"})[:-1].replace('"photo"', f'"{text}"').encode() + b"}"
    yield json.dumps({**prompt, "reference_images": [photo["file"]] * 100_000}).encode()
    yield json.dumps({**prompt, "reference_images": [{"type": "url", "url": "http://x"}] * 50_000}).encode()
    yield json.dumps({**prompt, "reference_images": [1] * 70}).encode()


def test_hostile_inputs(pair: Pair) -> None:
    for raw in _hostile_raw():
        pair.same(raw)


@pytest.mark.slow  # the fuzz bench's inputs through both cores, like test_fuzz_bench
def test_fuzz_bench_inputs(pair: Pair) -> None:
    fuzz = _bench("fuzz")
    hostile = fuzz.Hostile(20)
    for _ in range(600 if os.environ.get("AVATAR_CONTRACT_SLOW") != "1" else 20_000):
        body = hostile.body()
        pair.same(body)
        try:
            raw = json.dumps(body, ensure_ascii=hostile.r.random() < 0.5).encode("utf-8", "surrogatepass")
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
            continue
        pair.same(raw)


# -- the core's own promises ----------------------------------------------------------------


def test_findings_are_made_only_when_read(pair: Pair) -> None:
    raw = json.dumps({**_minimal("photo"), "name": 3, "extra": " "}).encode()
    report = pair.native.lint(raw)
    assert isinstance(report, LazyReport) and report.valid is False
    assert report._pending and report._pending[0] is not None  # nothing made yet
    assert report.findings == pair.python.lint(raw).findings
    assert report.findings is report.findings  # made once
    assert report == pair.python.lint(raw) and hash(report) == hash(pair.python.lint(raw))


def test_a_valid_body_without_warnings_is_the_shared_empty_report(pair: Pair) -> None:
    raw = json.dumps(_minimal("photo")).encode()
    assert pair.native.native.run(json.loads(raw)) is None  # type: ignore[union-attr]
    assert pair.native.lint(raw).findings == ()


def test_per_item_advice_stops_past_max_items(pair: Pair) -> None:
    item = {"type": "url", "url": "http://not-https.example"}
    for count in (3, 4, 1000):
        body = {**_minimal("prompt"), "reference_images": [item] * count, "avatar_group_id": "g"}
        report = pair.same(json.dumps(body).encode())
        per_item = [f for f in report.warnings if f.path.startswith("/reference_images/")]
        if count <= 3:
            assert len(per_item) == count  # within bounds: every item is advised
        else:
            assert not per_item and not report.valid  # the list already fails maxItems


def test_pure_python_forces_the_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATAR_CONTRACT_PURE_PYTHON", "1")
    plan = RequestPlan(contract_for())
    assert plan.backend == "python" and plan.native is None


def _spec_with(tmp_path: Path, name: str, change: Any) -> Contract:
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    change(doc["components"]["schemas"])
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return contract_for(str(path))


def test_a_pattern_is_checked_by_python_for_that_node_alone(tmp_path: Path) -> None:
    def change(schemas: dict[str, Any]) -> None:
        schemas["AssetUrl"]["properties"]["url"]["pattern"] = "^https://"
        schemas["AssetUrl"]["properties"]["url"]["format"] = "uri"
    pair = Pair(_spec_with(tmp_path, "pattern", change))
    photo = _minimal("photo")
    for url in ("https://x", "http://x", 3, "https://a b", ""):
        for file in ({"type": "url", "url": url}, {"type": "url", "url": url, "x": 1}):
            pair.same(json.dumps({**photo, "file": file}).encode())
    # A body whose url passes is still decided by the core, not handed over.
    assert pair.native.native.run({**photo, "file": {"type": "url", "url": "https://x"}}) is None  # type: ignore[union-attr]
    assert pair.native.native.run({**photo, "file": {"type": "url", "url": "http://x"}}) is False  # type: ignore[union-attr]


def test_a_union_dispatch_cannot_decide_gets_no_core(tmp_path: Path) -> None:
    def change(schemas: dict[str, Any]) -> None:
        schemas["AssetUrl"]["required"].remove("type")  # {"url": ...} alone would pass the oneOf
    contract = _spec_with(tmp_path, "loose", change)
    assert RequestPlan(contract).backend == "python"


def test_a_newer_spec_needs_no_rebuild(tmp_path: Path) -> None:
    def change(schemas: dict[str, Any]) -> None:
        prompt = schemas["CreatePromptAvatarRequest"]["properties"]
        prompt["style"] = {"type": "string", "enum": ["cartoon", "real"], "minLength": 4}
        prompt["tags"] = {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 1}
        prompt["seed"] = {"type": "integer", "minimum": 0}
        schemas["AssetUrl"]["properties"]["url"]["maxLength"] = 40
    pair = Pair(_spec_with(tmp_path, "newer", change))
    prompt = _minimal("prompt")
    for extra in ({"style": "real"}, {"style": "oil"}, {"style": 3}, {"tags": []}, {"tags": ["abcd"]},
                  {"tags": ["a", 1]}, {"tags": ["abcd", "abcde"]}, {"seed": 1}, {"seed": -1}, {"seed": 1.0},
                  {"seed": "1"}, {"style": "x", "seed": -1}):
        pair.same(json.dumps({**prompt, **extra}).encode())


# -- generated bodies -----------------------------------------------------------------------

_SLOW_DRAWS = {"mutated": 60_000, "positive": 20_000, "negative": 20_000}  # 100,000 in all


@settings(max_examples=200, **_SETTINGS)  # type: ignore[arg-type]
@given(valid_bodies, st.data())
def test_mutated_bodies(body: dict[str, Any], data: st.DataObject) -> None:
    _shared_pairs()[data.draw(st.integers(0, 1))].same(_mutated_bytes(body, data))


@settings(max_examples=40, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_schemathesis_positive(case: Any) -> None:
    _check_case(case)


@settings(max_examples=40, **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_schemathesis_negative(case: Any) -> None:
    _check_case(case)


def _check_case(case: Any) -> None:
    if case.body is None:
        return
    try:
        raw = json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return
    for pair in _shared_pairs():
        pair.same(raw)


@SLOW
@settings(max_examples=_SLOW_DRAWS["mutated"], **_SETTINGS)  # type: ignore[arg-type]
@given(valid_bodies, st.data())
def test_mutated_bodies_slow_draw(body: dict[str, Any], data: st.DataObject) -> None:
    _shared_pairs()[data.draw(st.integers(0, 1))].same(_mutated_bytes(body, data))


@SLOW
@settings(max_examples=_SLOW_DRAWS["positive"], **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
def test_schemathesis_positive_slow_draw(case: Any) -> None:
    _check_case(case)


@SLOW
@settings(max_examples=_SLOW_DRAWS["negative"], **_SETTINGS)  # type: ignore[arg-type]
@given(_operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
def test_schemathesis_negative_slow_draw(case: Any) -> None:
    _check_case(case)


_PAIRS: list[Pair] = []


def _shared_pairs() -> list[Pair]:
    """Vendored and June 2026, built once for the hypothesis tests (fixtures do not mix with @given)."""
    if not _PAIRS:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="june-"))
        _PAIRS.extend([Pair(contract_for()), Pair(contract_for(str(write_june_spec(folder / "june.yaml"))))])
    return _PAIRS


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 64, 100])
def test_base64_advice_at_every_position(pair: Pair, length: int) -> None:
    # The core's canonical-base64 test works in 16-byte blocks: a bad character
    # in a block, in the tail, and every padding must give the Python path's answer.
    photo = _minimal("photo")
    good = ("QUJD" * 30)[:length]
    variants = {good, good + "=", good + "==", good + "===", "=" + good, good.replace("Q", "\u00e9")}
    for index in range(length):
        for bad in ("-", "_", "*", " ", "\n", "=", "\x7f"):
            variants.add(good[:index] + bad + good[index + 1:])
    for data in sorted(variants):
        file = {"type": "base64", "media_type": "image/png", "data": data}
        pair.same(json.dumps({**photo, "file": file}).encode())


def test_sure_warnings_come_back_as_records_in_the_advisors_order(pair: Pair) -> None:
    item = {"type": "url", "url": "http://x.example/a.png"}
    body = {**_minimal("prompt"), "name": " ", "zeta": 1, "alpha": 2, "Mid": 3,
            "reference_images": [item, {"type": "base64", "media_type": "video/mp4", "data": "QUJD"}]}
    raw = json.dumps(body).encode()
    verdict = pair.native.native.run(json.loads(raw))  # type: ignore[union-attr]
    assert isinstance(verdict, list) and len(verdict) >= 5  # decided natively, not by the Python advisor
    report = pair.same(raw)
    assert [f.path for f in report.warnings][:3] == ["/Mid", "/alpha", "/zeta"]
    invalid = json.dumps({**body, "prompt": 3}).encode()
    records, advice = pair.native.native.run(json.loads(invalid))  # type: ignore[union-attr, misc]
    assert records and isinstance(advice, list)
    pair.same(invalid)
    # Where the core is not sure (a non-ASCII https prefix), the Python advisor decides.
    unsure = json.dumps({**body, "reference_images": [{"type": "url", "url": "httpſ://x"}]}).encode()
    assert pair.native.native.run(json.loads(unsure)) is True  # type: ignore[union-attr]
    pair.same(unsure)
