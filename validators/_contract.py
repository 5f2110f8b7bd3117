"""What the spec says about Create Avatar, compiled: request, responses, headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from avatar_contract.spec import Spec, SpecError, load_spec, spec_elements, to_pointer

from ._compiled import Branch, Union, lookup, ref_validator, split
from ._sentence_rules import Site, sites


@dataclass(frozen=True)
class HeaderContract:
    name: str
    pointer: str
    required: bool
    schema: Mapping[str, Any]
    validator: Any


@dataclass(frozen=True)
class RequestContract:
    pointer: str
    required: bool
    media_types: tuple[str, ...]
    verdict: Any
    root: Branch

    @property
    def variants(self) -> Union | None:
        """The top-level discriminated union (``type``), if the body is one."""
        for loc, union in self.root.unions:
            if loc == ():
                return union
        return None


@dataclass(frozen=True)
class ResponseContract:
    status: str
    description: str
    media_types: tuple[str, ...]
    pointer: str | None
    verdict: Any | None
    error_code: str | None
    # True when the spec states the code (a const, a one-value enum, or the code named in a description);
    # False when only an example shows it: an example is not a requirement (errors.code is then a warning).
    error_code_stated: bool = False
    headers: Mapping[str, HeaderContract] = field(default_factory=dict)
    examples: tuple[tuple[str, Any], ...] = ()
    sentence_sites: tuple[Site, ...] = ()  # where a response sentence rule is active (strict)
    # The properties the schema declares for ``data`` (a create's ``avatar_item``, ``avatar_group``),
    # compiled once: resolving them on every 2xx cost more than validating the body.
    data_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    spec: Spec
    request: RequestContract
    responses: Mapping[str, ResponseContract]
    idempotency_key: HeaderContract | None

    def response_for(self, status: int | str) -> ResponseContract | None:
        code = str(status)
        return (
            self.responses.get(code)
            or self.responses.get(f"{code[:1]}XX")
            or self.responses.get("default")
        )

    @property
    def documented_statuses(self) -> tuple[str, ...]:
        return tuple(self.responses)

    def lookup(self, pointer: str) -> Any:
        return lookup(self.spec, pointer)


def _follow(spec: Spec, pointer: str) -> tuple[Any, str]:
    """The node at ``pointer`` after ``$ref`` hops, and the pointer it really lives at."""
    node = lookup(spec, pointer)
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#") or hops > 32:
            raise SpecError(f"cannot follow $ref {ref!r} at {pointer}")
        pointer, node, hops = ref[1:], lookup(spec, ref[1:]), hops + 1
    return node, pointer


def _json_media(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    return [mt for mt in content if mt.split(";")[0].strip().endswith("json")]


def _header(spec: Spec, name: str, pointer: str, node: Mapping[str, Any]) -> HeaderContract:
    schema = node.get("schema") if isinstance(node.get("schema"), dict) else {}
    return HeaderContract(
        name=name,
        pointer=pointer,
        required=bool(node.get("required", False)),
        schema=spec.resolve(schema),
        validator=ref_validator(spec, f"{pointer}/schema") if schema else None,
    )


def _examples(media: Mapping[str, Any], pointer: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if "example" in media:
        found.append((f"{pointer}/example", media["example"]))
    for name, ex in (media.get("examples") or {}).items():
        if isinstance(ex, dict) and "value" in ex:
            found.append((f"{pointer}/examples/{name}/value", ex["value"]))
    return found


def _error_code(schema: Any, examples: list[tuple[str, Any]], spec: Spec) -> tuple[str | None, bool]:
    """The documented code for a status and whether the spec states it (else only an example shows it)."""
    code_schema = spec.resolve(
        ((spec.resolve((schema or {}).get("properties", {}).get("error") or {}) or {})
         .get("properties") or {}).get("code") or {}
    )
    if isinstance(code_schema, dict):
        if isinstance(code_schema.get("const"), str):
            return str(code_schema["const"]), True
        enum = code_schema.get("enum")
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str):
            return enum[0], True
    for _, example in examples:
        error = example.get("error") if isinstance(example, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            code = str(error["code"])
            return code, _stated_in_prose(spec, code)
    return None, False


def _stated_in_prose(spec: Spec, code: str) -> bool:
    """Whether a description sentence of the spec names the code as a whole word."""
    word = re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])")
    return any(e.kind == "sentence" and word.search(e.text) for e in _sentences(spec))


@functools.lru_cache(maxsize=8)
def _sentences(spec: Spec) -> tuple[Any, ...]:
    return tuple(e for e in spec_elements(spec) if e.kind == "sentence")


def _data_items(spec: Spec, schema_pointer: str | None) -> tuple[str, ...]:
    if schema_pointer is None:
        return ()
    schema = spec.resolve(lookup(spec, schema_pointer))
    data = spec.resolve(((schema or {}).get("properties") or {}).get("data") or {}) if isinstance(schema, dict) else {}
    properties = data.get("properties") if isinstance(data, dict) else None
    return tuple(properties) if isinstance(properties, dict) else ()


def _response(spec: Spec, status: str, pointer: str) -> ResponseContract:
    node, pointer = _follow(spec, pointer)
    content = node.get("content") or {}
    media_types = _json_media(content)
    schema_pointer: str | None = None
    examples: list[tuple[str, Any]] = []
    schema: Any = None
    media_schema: Any = None
    if media_types:
        mt_pointer = f"{pointer}/content/{to_pointer([media_types[0]])[1:]}"
        media = content[media_types[0]]
        examples = _examples(media, mt_pointer)
        if isinstance(media.get("schema"), dict):
            schema_pointer = f"{mt_pointer}/schema"
            schema = spec.resolve(media["schema"])
            media_schema = media["schema"]
    headers = {}
    for name in node.get("headers") or {}:
        h_node, h_pointer = _follow(spec, f"{pointer}/headers/{to_pointer([name])[1:]}")
        headers[name.lower()] = _header(spec, name, h_pointer, h_node)
    code, stated = _error_code(schema, examples, spec) if not status.startswith("2") else (None, False)
    return ResponseContract(
        status=status,
        description=str(node.get("description", "")),
        media_types=tuple(media_types),
        pointer=schema_pointer,
        verdict=ref_validator(spec, schema_pointer) if schema_pointer else None,
        error_code=code,
        error_code_stated=stated,
        headers=headers,
        examples=tuple(examples),
        sentence_sites=tuple(sites(spec, status, media_schema, schema_pointer)) if schema_pointer else (),
        data_items=_data_items(spec, schema_pointer),
    )


def compile_contract(spec: Spec) -> Contract:
    op_pointer = to_pointer(["paths", spec.path, spec.method])
    op = spec.operation
    body_node, body_pointer = _follow(spec, f"{op_pointer}/requestBody") if "requestBody" in op else ({}, "")
    content = body_node.get("content") or {}
    media = _json_media(content)
    if not media or not isinstance(content[media[0]].get("schema"), dict):
        raise SpecError(f"{spec.source}: {spec.method.upper()} {spec.path} has no JSON request body schema")
    schema_pointer = f"{body_pointer}/content/{to_pointer([media[0]])[1:]}/schema"
    request = RequestContract(
        pointer=schema_pointer,
        required=bool(body_node.get("required", False)),
        media_types=tuple(media),
        verdict=ref_validator(spec, schema_pointer),
        root=split(spec, schema_pointer),
    )
    responses = {
        str(status): _response(spec, str(status), f"{op_pointer}/responses/{status}")
        for status in (op.get("responses") or {})
    }
    key: HeaderContract | None = None
    # Operation-level parameters override path-level ones of the same name.
    for base in (to_pointer(["paths", spec.path]), op_pointer):
        for index, _ in enumerate(lookup(spec, base).get("parameters") or []):
            p_node, p_pointer = _follow(spec, f"{base}/parameters/{index}")
            if p_node.get("in") == "header" and str(p_node.get("name", "")).lower() == "idempotency-key":
                key = _header(spec, str(p_node["name"]), p_pointer, p_node)
    return Contract(spec=spec, request=request, responses=responses, idempotency_key=key)


@functools.lru_cache(maxsize=8)
def _compile_cached(spec: Spec) -> Contract:
    return compile_contract(spec)


def contract_for(spec: Spec | str | None = None) -> Contract:
    """The compiled contract for a spec, a spec path, or (None) the vendored spec; cached."""
    loaded = spec if isinstance(spec, Spec) else load_spec(spec)
    return _compile_cached(loaded)
