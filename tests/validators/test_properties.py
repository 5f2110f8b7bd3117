"""Properties: the linter never raises, and its verdict is jsonschema's."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from avatar_contract.spec import SPEC_URI, load_spec
from avatar_contract.validators import Report, contract_for, lint_request

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def reference_validator() -> jsonschema.protocols.Validator:
    # Built independently of the validators: the raw `referencing` registry over
    # the normalised document, and the request schema found by its place in it.
    loaded = load_spec()
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(loaded.document))
    pointer = "/paths/" + loaded.path.replace("~", "~0").replace("/", "~1") + f"/{loaded.method}"
    schema = {"$ref": f"{SPEC_URI}#{pointer}/requestBody/content/application~1json/schema"}
    return jsonschema.Draft202012Validator(schema, registry=registry,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


REFERENCE = reference_validator()

# Valid bodies built from the compiled contract, so a newer spec changes them too.
_contract = contract_for()
_variants = _contract.request.variants
assert _variants is not None
text = st.text(max_size=12)
assets = st.one_of(
    st.builds(lambda u: {"type": "url", "url": u}, st.sampled_from(["https://a.example/x.png", "http://b", ""])),
    st.builds(lambda a: {"type": "asset_id", "asset_id": a}, text),
    st.builds(lambda m, d: {"type": "base64", "media_type": m, "data": d},
              st.sampled_from(["image/png", "video/mp4"]), st.sampled_from(["aGk=", "!!", ""])),
)
groups = st.none() | text
valid_bodies = st.one_of(
    st.builds(lambda t, n, f, g: {"type": t, "name": n, "file": f, "avatar_group_id": g},
              st.sampled_from(["photo", "digital_twin"]), text, assets, groups),
    st.builds(lambda n, p, r, g: {"type": "prompt", "name": n, "prompt": p, "reference_images": r,
                                  "avatar_group_id": g},
              text, st.text(max_size=1001).filter(lambda s: len(s) <= 1000) | st.just("x" * 1000),
              st.none() | st.lists(assets, max_size=3), groups),
)


def _mutate(body: dict[str, Any], data: st.DataObject) -> Any:
    """Break (or not) one spot: drop a key, retype a value, add a key, or overfill a list."""
    path: list[Any] = []
    node: Any = body
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    parent: Any = body
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["drop", "retype", "add", "grow", "none"]))
    if not path:
        return data.draw(json_values) if action == "retype" else body
    last = path[-1]
    if action == "drop" and isinstance(parent, dict):
        del parent[last]
    elif action == "retype":
        parent[last] = data.draw(json_values)
    elif action == "add" and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=6))] = data.draw(json_values)
    elif action == "grow" and isinstance(parent[last], list):
        parent[last] = parent[last] * 2 + [parent[last][0] if parent[last] else {}]
    return body


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_never_raises_on_any_json_value(value: Any) -> None:
    report = lint_request(value)
    assert isinstance(report, Report)
    assert report.valid is REFERENCE.is_valid(value)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    report = lint_request(raw)
    assert isinstance(report, Report)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        assert not report.valid
    else:
        assert report.valid is REFERENCE.is_valid(value)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(valid_bodies)
def test_generated_valid_bodies_agree_with_jsonschema(body: dict[str, Any]) -> None:
    assert REFERENCE.is_valid(body)
    report = lint_request(json.dumps(body).encode())
    assert report.valid, report


@pytest.mark.slow
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(valid_bodies, st.data())
def test_mutated_bodies_agree_with_jsonschema(body: dict[str, Any], data: st.DataObject) -> None:
    mutated = _mutate(body, data)
    expected = REFERENCE.is_valid(mutated)
    report = lint_request(mutated)
    assert report.valid is expected, (mutated, report)
    if not expected:
        assert report.errors, "an invalid body must carry at least one error"
        assert all(f.path == "" or f.path.startswith("/") for f in report.findings)


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_hostile_nesting_as_value_and_as_bytes() -> None:
    body = {"type": "photo", "name": "A", "file": {"type": "url", "url": "https://x"}, "x": _nested(10_000)}
    assert lint_request(body).valid  # deep but schema-valid: unknown fields are allowed
    raw = b'{"type":"photo","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    report = lint_request(raw)
    assert report.rules() == {"json.too_deep"}
    deep_file: dict[str, Any] = {}
    node = deep_file
    for _ in range(10_000):
        node["a"] = {}
        node = node["a"]
    assert not lint_request({"type": "photo", "name": "A", "file": deep_file}).valid


@pytest.mark.slow
@pytest.mark.parametrize(("field", "valid"), [("name", True), ("prompt", False)])
def test_hostile_fifty_megabyte_strings(field: str, valid: bool) -> None:
    huge = "x" * 50_000_000
    body = {"type": "prompt", "name": "A", "prompt": "p", field: huge}
    report = lint_request(json.dumps(body).encode())
    assert report.valid is valid
    assert all(len(f.message) < 300 for f in report.findings)


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", float("nan"), {"type": object()}, (1, 2)])
def test_non_json_python_values_are_findings_not_exceptions(value: Any) -> None:
    report = lint_request({"type": "photo", "name": "A", "file": {"type": "url", "url": "https://x"}, "x": value})
    assert isinstance(report, Report)


@pytest.mark.parametrize("digits", [5_001, 60_000])
def test_integers_longer_than_pythons_str_limit_are_still_json(digits: int) -> None:
    raw = (b'{"type":"photo","name":"a","file":{"type":"url","url":"https://x"},"extra":'
           + b"1" * digits + b"}")
    assert lint_request(raw).valid
    wrong = raw.replace(b'"name":"a"', b'"name":' + b"2" * digits)
    report = lint_request(wrong)
    assert [(f.path, f.rule) for f in report.errors] == [("/name", "schema.type")]
    assert all(len(f.message) < 300 for f in report.findings)


def test_absurdly_long_integers_are_a_finding() -> None:
    raw = b'{"type":"photo","x":' + b"9" * 200_000 + b"}"
    assert lint_request(raw).rules() == {"json.number_too_long"}
