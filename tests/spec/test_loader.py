"""The loader: vendored file unchanged, defects normalised in a copy and reported."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest

import avatar_contract.spec as spec
from avatar_contract.spec import SpecError, load_spec, normalise, vendored_spec_path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "spec" / "create-avatar.openapi.yaml"


def test_vendored_file_is_the_published_one_byte_for_byte() -> None:
    if not SHARED.exists():
        pytest.skip("the shared spec is not beside this checkout")
    assert hashlib.sha256(vendored_spec_path().read_bytes()).digest() == hashlib.sha256(
        SHARED.read_bytes()
    ).digest()


def test_raw_keeps_ref_objects_while_normalised_has_strings() -> None:
    loaded = load_spec()
    raw_mapping = loaded.raw["components"]["schemas"]["CreateAvatarRequestBody"]["discriminator"]["mapping"]
    norm_mapping = loaded.document["components"]["schemas"]["CreateAvatarRequestBody"]["discriminator"]["mapping"]
    assert raw_mapping["photo"] == {"$ref": "#/components/schemas/CreatePhotoAvatarRequest"}
    assert norm_mapping["photo"] == "#/components/schemas/CreatePhotoAvatarRequest"


def test_every_non_string_mapping_value_is_reported_at_its_pointer() -> None:
    loaded = load_spec()
    mapping_defects = [d for d in loaded.defects if d.rule == "discriminator.mapping_value"]
    # 3 variants on the body + 3 asset kinds on each of file (x2) and reference_images items.
    assert len(mapping_defects) == 12
    for defect in mapping_defects:
        node = loaded.raw
        for token in spec.from_pointer(defect.pointer):
            node = node[int(token)] if isinstance(node, list) else node[token]
        assert isinstance(node, dict) and "$ref" in node, defect.pointer
        assert defect.normalised


def test_no_string_mapping_survives_as_a_dict_anywhere() -> None:
    def mappings(node: object) -> list[object]:
        found = []
        if isinstance(node, dict):
            disc = node.get("discriminator")
            if isinstance(disc, dict):
                found.extend((disc.get("mapping") or {}).values())
            for value in node.values():
                found.extend(mappings(value))
        elif isinstance(node, list):
            for value in node:
                found.extend(mappings(value))
        return found

    values = mappings(load_spec().document)
    assert values and all(isinstance(v, str) for v in values)


def test_normalise_does_not_touch_its_input() -> None:
    raw = copy.deepcopy(dict(load_spec().raw))
    before = copy.deepcopy(raw)
    normalise(raw)
    assert raw == before


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_schemathesis_needs_the_normalised_copy() -> None:
    schemathesis = pytest.importorskip("schemathesis")
    loaded = load_spec()
    with pytest.raises(TypeError):
        schema = schemathesis.openapi.from_dict(copy.deepcopy(dict(loaded.raw)))
        operation = next(iter(schema.get_all_operations())).ok()
        operation.as_strategy().example()
    schema = schemathesis.openapi.from_dict(copy.deepcopy(loaded.document))
    operation = next(iter(schema.get_all_operations())).ok()
    assert operation.method.upper() == "POST"


def test_openapi_core_reads_the_normalised_copy() -> None:
    openapi_core = pytest.importorskip("openapi_core")
    api = openapi_core.OpenAPI.from_dict(copy.deepcopy(load_spec().document))
    assert api is not None


def test_nullable_is_translated_but_a_property_named_nullable_is_left_alone() -> None:
    doc = {
        "components": {
            "schemas": {
                "A": {"type": "string", "nullable": True},
                "B": {"type": "object", "properties": {"nullable": {"type": "boolean"}}},
            }
        }
    }
    fixed, defects = normalise(doc)
    assert fixed["components"]["schemas"]["A"] == {"type": ["string", "null"]}
    assert fixed["components"]["schemas"]["B"]["properties"]["nullable"] == {"type": "boolean"}
    assert [d.pointer for d in defects] == ["/components/schemas/A/nullable"]


def test_mapping_value_of_unusable_type_is_dropped_and_reported() -> None:
    doc = {"x": {"discriminator": {"propertyName": "t", "mapping": {"a": 3, "b": "#/B"}}}}
    fixed, defects = normalise(doc)
    assert fixed["x"]["discriminator"]["mapping"] == {"b": "#/B"}
    assert defects[0].pointer == "/x/discriminator/mapping/a"


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openapi: [unclosed", "line 1"),
        ("- a\n- b\n", "not an OpenAPI object"),
        ("swagger: '2.0'\npaths: {}\n", "need an OpenAPI 3.x"),
        ("openapi: 3.1.0\npaths: {}\n", "no Create Avatar operation"),
    ],
)
def test_unusable_specs_raise_one_line_spec_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(_write(tmp_path, text))
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "absent.yaml")


def test_operation_is_found_by_operation_id_when_the_route_moves(tmp_path: Path) -> None:
    text = vendored_spec_path().read_text(encoding="utf-8").replace("/v3/avatars:", "/v4/avatars:")
    loaded = load_spec(_write(tmp_path, text))
    assert (loaded.path, loaded.method) == ("/v4/avatars", "post")


def test_json_specs_load_too(tmp_path: Path) -> None:
    import json

    path = tmp_path / "spec.json"
    path.write_text(json.dumps(load_spec().raw), encoding="utf-8")
    assert load_spec(path).document == load_spec().document


def test_fields_named_like_keywords_are_still_repaired() -> None:
    doc = {"components": {"schemas": {"A": {"type": "object", "properties": {
        "default": {"type": "string", "nullable": True},
        "enum": {"type": "integer", "nullable": True},
        "name": {"type": "string", "nullable": True},
    }, "example": {"nullable": True}}}}}
    fixed, defects = normalise(doc)
    props = fixed["components"]["schemas"]["A"]["properties"]
    assert {name: schema["type"][-1] for name, schema in props.items()} == dict.fromkeys(props, "null")
    assert fixed["components"]["schemas"]["A"]["example"] == {"nullable": True}  # data, not schema
    assert len(defects) == 3
