"""Probes derived from the request schema's keywords: the oracle agrees with each, and none is missed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from avatar_contract.contract_tests.probes.bodies import BodyFactory
from avatar_contract.contract_tests.probes.schema_probes import derived_refusals, keyword_cases, keyword_class
from avatar_contract.contract_tests.spec_coverage.probes import element_probes
from avatar_contract.contract_tests.targets.exchange import encode_json
from avatar_contract.spec import Spec, load_spec, spec_elements
from avatar_contract.validators import contract_for

SPECS = ["vendored", "june"]


def _spec(which: str, june_spec: Path) -> Spec:
    return load_spec(str(june_spec)) if which == "june" else load_spec()


def _factory(which: str, june_spec: Path) -> BodyFactory:
    return BodyFactory(contract_for(_spec(which, june_spec)))


def _second_opinion(spec: Spec) -> Draft202012Validator:
    """python-jsonschema over the published body schema: not the linter's jsonschema-rs."""
    registry: Registry[Any] = Registry().with_resource(
        "urn:probe", Resource.from_contents(spec.document, default_specification=DRAFT202012))
    schema = spec.operation["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({"$ref": "urn:probe" + schema["$ref"]}, registry=registry)


def _strict_json(raw: bytes) -> Any:
    """RFC 8259 strictly: UTF-8, no BOM, one value, no NaN; None when not JSON."""
    def no_constant(name: str) -> Any:
        raise ValueError(name)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


@pytest.mark.parametrize("which", SPECS)
def test_every_keyword_case_breaks_the_body_before_the_oracle_filters_anything(which: str, june_spec: Path) -> None:
    """The walk mutates exactly what it says: no case it derives is one the spec allows."""
    f = _factory(which, june_spec)
    cases = keyword_cases(f)
    assert cases
    allowed = [c.label for c in cases if f.linter.lint_request(c.body).valid]
    assert not allowed, allowed
    assert all(c.covers for c in derived_refusals(f))


@pytest.mark.parametrize("which", SPECS)
@settings(max_examples=60)
@given(data=st.data())
def test_every_derived_refusal_is_refused_by_both_validators(which: str, june_spec: Path, data: st.DataObject) -> None:
    f = _factory(which, june_spec)
    cases = derived_refusals(f)
    case = data.draw(st.sampled_from(cases))
    content = case.raw if case.raw is not None else encode_json(case.body)
    assert not f.linter.lint_request(content).valid, case.label
    parsed = _strict_json(content)
    if parsed is not None and case.raw is None:
        assert not _second_opinion(f.contract.spec).is_valid(parsed), case.label


def _schema_keywords(spec: Spec, keyword: str) -> set[str]:
    """Element ids of ``keyword`` in every schema the request body reaches (following $ref)."""
    found: set[str] = set()
    todo = [spec.operation["requestBody"]["content"]["application/json"]["schema"]["$ref"][1:]]
    seen: set[str] = set()
    while todo:
        pointer = todo.pop()
        if pointer in seen:
            continue
        seen.add(pointer)
        node: Any = spec.document
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]

        def visit(value: Any, at: str) -> None:
            if isinstance(value, dict):
                for key, sub in value.items():
                    here = f"{at}/{key.replace('~', '~0').replace('/', '~1')}"
                    if key == keyword and not at.endswith("/properties"):
                        found.add(here)
                    if key == "$ref" and isinstance(sub, str):
                        todo.append(sub[1:])
                    elif key not in ("const", "default", "examples", "example", "enum", "description"):
                        visit(sub, here)
            elif isinstance(value, list):
                for i, sub in enumerate(value):
                    visit(sub, f"{at}/{i}")

        visit(node, pointer)
    return found


@pytest.mark.parametrize("which", SPECS)
@pytest.mark.parametrize("keyword", ["maxLength", "maxItems", "additionalProperties", "const", "required"])
def test_every_constraint_of_the_request_schema_has_a_refusal_probe(which: str, keyword: str, june_spec: Path) -> None:
    f = _factory(which, june_spec)
    covered = {element for case in derived_refusals(f) for element in case.covers}
    written = _schema_keywords(f.contract.spec, keyword)
    if keyword == "required":  # a probe per entry: ".../required/0"
        missing = {w for w in written if not any(c.startswith(w + "/") for c in covered)}
    else:
        missing = written - covered
    assert not missing, missing


def test_the_cases_name_the_keyword_they_break() -> None:
    f = BodyFactory(contract_for(None))
    classes = {keyword_class(c) for c in derived_refusals(f)}
    assert {"maxLength", "maxItems", "additionalProperties", "const", "required", "type", "raw body"} <= classes
    labels = [c.label for c in derived_refusals(f)]
    # A limit counted any other way than in code points lets one of these through.
    for how in ("astral code points", "combining marks", "trailing space", "leading space"):
        assert any("prompt" in label and how in label for label in labels), how


@pytest.mark.parametrize("which", SPECS)
def test_every_element_a_probe_or_fact_names_is_an_element_of_the_spec(which: str, june_spec: Path) -> None:
    f = _factory(which, june_spec)
    ids = {e.id for e in spec_elements(f.contract.spec)}
    named = element_probes(f)
    assert set(named) - ids == set()
    # Must-accept and must-refuse alike: the null branch of an optional list, and its maxItems.
    refs = "/components/schemas/CreatePromptAvatarRequest/properties/reference_images/anyOf"
    assert any(n.startswith("fact value:prompt:reference_images:null") for n in named[f"{refs}/1/type"])
    assert any(n.startswith("probe ") for n in named[f"{refs}/0/maxItems"])
    assert any(n.startswith("fact ") for n in named[f"{refs}/0/maxItems"])
    if which == "june":  # the newer spec's optional field is in the plan: absent, null and set
        labels = " ".join(name for names in named.values() for name in names)
        for label in ("avatar_id:absent", "avatar_id:null", "avatar_id:set to an existing one"):
            assert f"value:prompt:{label}" in labels


def test_a_newer_spec_s_keywords_become_probes_with_no_code_change(tmp_path: Path) -> None:
    """A nullable type list, an integer with bounds, an enum and a minLength, none in today's spec."""
    import yaml

    from ._support import vendored_doc

    doc = vendored_doc()
    prompt = doc["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]
    prompt["name"] = {"type": ["string", "null"], "minLength": 2}
    prompt["seed"] = {"type": "integer", "minimum": 1, "maximum": 5}
    prompt["style"] = {"type": "string", "enum": ["studio", "outdoor"]}
    path = tmp_path / "newer.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    f = BodyFactory(contract_for(str(path)))
    at = "/components/schemas/CreatePromptAvatarRequest/properties"
    by_label = {c.label: c for c in derived_refusals(f)}
    assert not any(label.startswith("prompt: name = null") for label in by_label)  # allowed now
    boolean = by_label["prompt: name = true (boolean)"]
    assert {f"{at}/name/type/0", f"{at}/name/type/1"} <= set(boolean.covers)
    assert f"{at}/name/minLength" in by_label["prompt: name of 1 characters (minLength 2)"].covers
    assert by_label["prompt: seed = 6 (maximum 5)"].covers == (f"{at}/seed/maximum",)
    assert by_label["prompt: seed = 0 (minimum 1)"].covers == (f"{at}/seed/minimum",)
    assert "prompt: seed = 1.5 (number)" in by_label
    assert f"{at}/style/enum/0" in by_label["prompt: style = 'STUDIO' (upper case of enum value 'studio')"].covers
    from avatar_contract.contract_tests.probes.schema_values import accept_values
    accepted = {a.label: a for a in accept_values(f, "prompt")}
    assert accepted["= enum value 1"].value == "outdoor"
    assert accepted["of exactly 2 astral code points (minLength)"].value == "\U0001f600" * 2


@pytest.mark.parametrize("which", SPECS)
@settings(max_examples=40)
@given(data=st.data())
def test_every_must_accept_value_keeps_any_valid_body_valid(which: str, june_spec: Path, data: st.DataObject) -> None:
    """The oracle accepts each derived must-accept value on any valid body of its variant."""
    from avatar_contract.contract_tests.probes.body_strategies import valid_bodies
    from avatar_contract.contract_tests.probes.schema_values import accept_values, apply

    f = _factory(which, june_spec)
    accepts = [a for v in f.variants for a in accept_values(f, v)]
    accept = data.draw(st.sampled_from(accepts))
    body = data.draw(valid_bodies(f, {v: "ag_1" for v in f.variants}).filter(
        lambda b: b.get(f.union.property) == accept.variant))
    changed = apply(f, body, accept, ["lk_1"])
    assert changed is not None
    report = f.linter.lint_request(changed)
    assert report.valid, (accept.key, [(x.path, x.rule) for x in report.errors])
    assert _second_opinion(f.contract.spec).is_valid(changed), accept.key
