"""spec_elements: every checkable element once, by the pointer where it is written."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from avatar_contract.spec import (
    from_pointer,
    load_spec,
    spec_elements,
    split_sentences,
    vendored_spec_path,
)

SCHEMAS = "/components/schemas"


def _at(document: Any, pointer: str) -> Any:
    node = document
    for token in from_pointer(pointer):
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_ids_are_unique_pointers_into_the_normalised_document() -> None:
    spec = load_spec()
    elements = spec_elements(spec)
    ids = [e.id for e in elements]
    assert len(ids) == len(set(ids))
    for element in elements:
        if element.kind == "sentence":
            pointer, _, index = element.pointer.partition("#")
            description = _at(spec.document, pointer)
            assert split_sentences(description)[int(index)] == element.text
        else:
            _at(spec.document, element.pointer)  # resolves, or KeyError fails the test


def test_keywords_are_listed_at_their_definition_with_list_indexes() -> None:
    elements = {e.id: e for e in spec_elements(load_spec())}
    prompt = elements[f"{SCHEMAS}/CreatePromptAvatarRequest/properties/prompt/maxLength"]
    assert (prompt.kind, prompt.text, prompt.uses) == ("keyword.maxLength", "maxLength: 1000", ("request",))
    assert elements[f"{SCHEMAS}/AssetUrl/required/1"].text == "required: url"
    assert elements[f"{SCHEMAS}/AvatarStatus/enum/2"].text == "enum: failed"
    null = elements[f"{SCHEMAS}/CreatePromptAvatarRequest/properties/reference_images/anyOf/1"]
    assert null.kind == "keyword.anyOf" and null.text.endswith("null")
    # StandardAPIError is written once and used by every error status.
    code = elements[f"{SCHEMAS}/StandardAPIError/required/0"]
    assert set(code.uses) == {"response 400", "response 401", "response 409", "response 429"}
    assert not any("/$ref" in e.id or e.id.endswith("/title") or "/examples" in e.id for e in elements.values())


def test_operation_facts_statuses_headers_codes_and_security() -> None:
    by_kind: dict[str, list[str]] = {}
    for element in spec_elements(load_spec()):
        by_kind.setdefault(element.kind, []).append(element.text)
    assert by_kind["response.status"] == [f"status {s}" for s in ("200", "400", "401", "409", "429")]
    assert sorted(by_kind["example.error_code"]) == [
        "code: authentication_failed", "code: invalid_parameter", "code: rate_limit_exceeded",
        "code: request_in_progress"]
    assert by_kind["security.scheme"] == ["apiKey in header x-api-key", "http bearer"]
    assert by_kind["parameter"] == ["header Idempotency-Key"]
    assert by_kind["response.header"] == ["response 429 header Retry-After"]


def test_every_description_sentence_is_an_element() -> None:
    sentences = {e.text for e in spec_elements(load_spec()) if e.kind == "sentence"}
    assert "Unix timestamp (seconds) when the avatar was created." in sentences
    assert "Only present when status is 'failed'." in sentences
    assert "Keys must be 1–255 characters from `[A-Za-z0-9_:.-]`; a UUID is a safe default." in sentences
    assert "OAuth2 bearer token." in sentences
    assert "Will only work with an avatar_group_id." in sentences


def test_the_june_spec_adds_avatar_id_and_drops_a_sentence(june_spec: Path) -> None:
    old = {e.id: e for e in spec_elements(load_spec())}
    new = {e.id: e for e in spec_elements(load_spec(june_spec))}
    added = set(new) - set(old)
    avatar_id = f"{SCHEMAS}/CreatePromptAvatarRequest/properties/avatar_id"
    assert {avatar_id, f"{avatar_id}/anyOf/0", f"{avatar_id}/anyOf/1", f"{avatar_id}/default"} <= added
    assert any(e.startswith(f"{avatar_id}/description#") for e in added)
    gone = {old[e].text for e in set(old) - set(new)}
    assert "Will only work with an avatar_group_id." in gone


def test_an_unknown_or_new_keyword_is_an_element_not_silence(tmp_path: Path) -> None:
    doc = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    looks = doc["components"]["schemas"]["AvatarGroupItem"]["properties"]["looks_count"]
    looks["minimum"] = 0
    looks["x-internal"] = True
    doc["components"]["schemas"]["AssetUrl"]["properties"]["url"]["format"] = "uri"
    doc["components"]["schemas"]["AssetUrl"]["properties"]["url"]["uniqueness"] = "per account"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    elements = {e.id: e.kind for e in spec_elements(load_spec(path))}
    assert elements[f"{SCHEMAS}/AvatarGroupItem/properties/looks_count/minimum"] == "keyword.minimum"
    assert elements[f"{SCHEMAS}/AssetUrl/properties/url/format"] == "keyword.format"
    assert elements[f"{SCHEMAS}/AssetUrl/properties/url/uniqueness"] == "keyword.uniqueness"
    assert not any(e.endswith("x-internal") for e in elements)


def test_a_schema_nobody_references_is_not_an_element(tmp_path: Path) -> None:
    doc = copy.deepcopy(yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8")))
    doc["components"]["schemas"]["Orphan"] = {"type": "string", "maxLength": 3}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert not any("/Orphan/" in e.id for e in spec_elements(load_spec(path)))


def test_sentence_heuristic_keeps_abbreviations_and_breaks_paragraphs() -> None:
    assert split_sentences('MIME type (e.g. "image/png"). Next one.') == (
        'MIME type (e.g. "image/png").', "Next one.")
    assert split_sentences("First line\n\nsecond paragraph") == ("First line", "second paragraph")
    assert split_sentences("  ") == ()


@given(st.lists(st.text(alphabet="ab .!?\n", min_size=1, max_size=30), min_size=1, max_size=5))
def test_sentences_put_back_together_are_the_text(parts: list[str]) -> None:
    text = " ".join(parts)
    joined = " ".join(split_sentences(text))
    assert joined == " ".join(text.split())
