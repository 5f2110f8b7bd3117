"""Every checkable element of the Create Avatar operation, each with a stable id.

:func:`spec_elements` walks the operation (parameters and headers, request
body, responses per status with their headers and error envelopes, security
requirements and schemes), follows each ``$ref`` once, and lists:

* every schema keyword that constrains a value (``required`` entries, ``type``,
  ``const``, ``enum`` values, lengths, item counts, ``additionalProperties``,
  ``pattern``, ``format``, bounds, ``default``, discriminator mapping entries,
  ``anyOf``/``oneOf``/``allOf`` branches, null branches included), every
  declared property, and any keyword this module does not know (so a newer
  spec's new keyword shows up instead of vanishing);
* every sentence of every description;
* the operation's own facts: parameters, request-body ``required``, media
  types, documented statuses, response headers, the error code an error
  response's example documents, security requirements and schemes.

**Element ids** (other modules rely on them; keep them exactly): the RFC 6901
JSON Pointer, into the *normalised* document, of the keyword where it is
written: at its definition, not per ``$ref`` use site, so
``/components/schemas/CreatePromptAvatarRequest/properties/prompt/maxLength``
is one element however many places use that schema.  A list entry gets its
index (``.../required/1``, ``.../enum/2``, ``.../type/1``).  A sentence is its
description's pointer, ``#``, and its 0-based index
(``.../properties/created_at/description#0``); its words are the element's
``text``.  Annotations (``title``, ``example(s)``, ``$comment``, ``x-*``) are
not elements: nothing can be checked against them.

Sentence splitting is a heuristic, documented as one: whitespace runs are
collapsed, a blank line always ends a sentence, and otherwise a sentence ends
at ``.``, ``!`` or ``?`` followed by whitespace, except after the
abbreviations in :data:`ABBREVIATIONS` (``e.g.``, ``i.e.``, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._loader import Spec
from ._pointer import defined_at, to_pointer

ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "incl.")

# Keywords that annotate and assert nothing a run can check.
_ANNOTATIONS = frozenset({
    "title", "example", "examples", "$comment", "$id", "$schema", "$anchor", "deprecated",
    "externalDocs", "xml", "contentEncoding", "contentMediaType",
})
# Keywords holding one subschema, or a map of them, walked as schemas.
_ONE_SCHEMA = ("items", "not", "if", "then", "else", "contains", "propertyNames",
               "additionalItems", "unevaluatedItems", "unevaluatedProperties")
_SCHEMA_MAPS = ("patternProperties", "dependentSchemas", "$defs", "definitions")
_BRANCHES = ("anyOf", "oneOf", "allOf", "prefixItems")
_LISTS = ("enum", "required", "type")  # one element per entry


@dataclass(frozen=True)
class SpecElement:
    """One checkable element: its pointer is its id."""

    kind: str  # "keyword.maxLength", "sentence", "property", "response.status", ...
    pointer: str  # the id; a sentence's has "#<index>" after its description's pointer
    text: str  # the sentence, or a short rendering of the keyword ("maxLength: 1000")
    uses: tuple[str, ...] = ()  # where the operation uses it: "request", "response 400", ...

    @property
    def id(self) -> str:
        return self.pointer

    @property
    def keyword(self) -> str | None:
        """The schema keyword (``maxLength``), for ``keyword.*`` kinds; else None."""
        return self.kind.removeprefix("keyword.") if self.kind.startswith("keyword.") else None


# -- sentences ------------------------------------------------------------------------

_BREAK = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"\s+")
_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(description: str) -> tuple[str, ...]:
    """The sentences of a description (the heuristic in the module docstring)."""
    out: list[str] = []
    for paragraph in _BREAK.split(description):
        flat = _SPACE.sub(" ", paragraph).strip()
        if not flat:
            continue
        pieces = _END.split(flat)
        current = ""
        for piece in pieces:
            current = f"{current} {piece}" if current else piece
            if not current.casefold().endswith(ABBREVIATIONS):
                out.append(current)
                current = ""
        if current:
            out.append(current)
    return tuple(out)


# -- the walk -------------------------------------------------------------------------


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


class _Walker:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.found: dict[str, SpecElement] = {}
        self.uses: dict[str, list[str]] = {}
        self.walked: set[tuple[str, str]] = set()

    def add(self, kind: str, pointer: str, text: str, use: str) -> None:
        if pointer not in self.found:
            self.found[pointer] = SpecElement(kind, pointer, text)
            self.uses[pointer] = []
        if use not in self.uses[pointer]:
            self.uses[pointer].append(use)

    def follow(self, node: Any, pointer: str) -> tuple[Any, str]:
        """The node after local ``$ref`` hops, and the pointer it is defined at."""
        ref = node.get("$ref") if isinstance(node, dict) else None
        if isinstance(ref, str) and ref.startswith("#"):
            return defined_at(self.spec.document, ref[1:])
        return node, pointer

    def describe(self, node: Any, pointer: str, use: str) -> None:
        text = node.get("description") if isinstance(node, dict) else None
        if isinstance(text, str):
            for index, sentence in enumerate(split_sentences(text)):
                self.add("sentence", f"{pointer}/description#{index}", sentence, use)

    def schema(self, node: Any, pointer: str, use: str) -> None:
        if not isinstance(node, dict):
            return
        # Siblings of a $ref (3.1 allows them) are written here; the target is walked once.
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target, where = self.follow(node, pointer)
            self.schema(target, where, use)
        if (pointer, use) in self.walked:
            return
        self.walked.add((pointer, use))
        for key, value in node.items():
            here = f"{pointer}/{to_pointer([key])[1:]}"
            if key in _ANNOTATIONS or key.startswith("x-") or key == "$ref":
                continue
            if key == "description":
                self.describe(node, pointer, use)
            elif key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    at = f"{here}/{to_pointer([name])[1:]}"
                    self.add("property", at, f"property {name}", use)
                    self.schema(sub, at, use)
            elif key in _LISTS and isinstance(value, list):
                for index, entry in enumerate(value):
                    self.add(f"keyword.{key}", f"{here}/{index}", f"{key}: {_short(entry)}", use)
            elif key in _BRANCHES and isinstance(value, list):
                for index, sub in enumerate(value):
                    branch = self.follow(sub, f"{here}/{index}")[0]
                    label = "null" if isinstance(branch, dict) and branch.get("type") == "null" else ""
                    self.add(f"keyword.{key}", f"{here}/{index}",
                             f"{key}[{index}]" + (f": {label}" if label else ""), use)
                    self.schema(sub, f"{here}/{index}", use)
            elif key == "discriminator" and isinstance(value, dict):
                self.add("keyword.discriminator", f"{here}/propertyName",
                         f"discriminator: {_short(value.get('propertyName'))}", use)
                for name, target in (value.get("mapping") or {}).items():
                    self.add("keyword.discriminator.mapping", f"{here}/mapping/{to_pointer([name])[1:]}",
                             f"mapping {name} -> {_short(target)}", use)
            elif key in _ONE_SCHEMA and isinstance(value, dict):
                self.schema(value, here, use)
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                for name, sub in value.items():
                    self.schema(sub, f"{here}/{to_pointer([name])[1:]}", use)
            else:
                if key == "additionalProperties" and isinstance(value, dict):
                    self.schema(value, here, use)
                self.add(f"keyword.{key}", here, f"{key}: {_short(value)}", use)

    def media(self, node: Any, pointer: str, use: str) -> Iterator[tuple[Any, str]]:
        content = node.get("content") if isinstance(node, dict) else None
        for media_type, media in (content or {}).items():
            at = f"{pointer}/content/{to_pointer([media_type])[1:]}"
            self.add("media_type", at, f"{use}: {media_type}", use)
            if isinstance(media, dict) and isinstance(media.get("schema"), dict):
                self.schema(media["schema"], f"{at}/schema", use)
            yield media, at

    def parameter(self, node: Any, pointer: str) -> None:
        node, pointer = self.follow(node, pointer)
        if not isinstance(node, dict):
            return
        use = f"{node.get('in', 'parameter')} {node.get('name', '?')}"
        self.add("parameter", pointer, use, use)
        self.add("parameter.required", f"{pointer}/required", f"required: {bool(node.get('required'))}", use)
        self.describe(node, pointer, use)
        if isinstance(node.get("schema"), dict):
            self.schema(node["schema"], f"{pointer}/schema", use)

    def response(self, status: str, node: Any, pointer: str) -> None:
        use = f"response {status}"
        self.add("response.status", pointer, f"status {status}", use)
        node, pointer = self.follow(node, pointer)
        if not isinstance(node, dict):
            return
        self.describe(node, pointer, use)
        for media, at in list(self.media(node, pointer, use)):
            example = media.get("example")
            error = example.get("error") if isinstance(example, dict) else None
            if not status.startswith("2") and isinstance(error, dict) and isinstance(error.get("code"), str):
                self.add("example.error_code", f"{at}/example/error/code", f"code: {error['code']}", use)
        for name, header in (node.get("headers") or {}).items():
            h_node, h_pointer = self.follow(header, f"{pointer}/headers/{to_pointer([name])[1:]}")
            self.add("response.header", h_pointer, f"{use} header {name}", use)
            self.describe(h_node, h_pointer, use)
            if isinstance(h_node, dict) and isinstance(h_node.get("schema"), dict):
                self.schema(h_node["schema"], f"{h_pointer}/schema", use)

    def security(self, op: dict[str, Any], op_pointer: str) -> None:
        if "security" in op:
            requirements, base = op.get("security") or [], f"{op_pointer}/security"
        else:
            requirements, base = self.spec.document.get("security") or [], "/security"
        schemes = (self.spec.document.get("components") or {}).get("securitySchemes") or {}
        for index, requirement in enumerate(requirements):
            names = sorted(requirement) if isinstance(requirement, dict) else []
            self.add("security.requirement", f"{base}/{index}", " + ".join(names) or "anonymous", "security")
            for name in names:
                pointer = f"/components/securitySchemes/{to_pointer([name])[1:]}"
                node, pointer = self.follow(schemes.get(name), pointer)
                if not isinstance(node, dict):
                    continue
                use = f"security {name}"
                how = (f"{node.get('type')} in {node.get('in')} {node.get('name')}" if node.get("type") == "apiKey"
                       else f"{node.get('type')} {node.get('scheme', '')}".strip())
                self.add("security.scheme", pointer, how, use)
                self.describe(node, pointer, use)


def spec_elements(spec: Spec) -> tuple[SpecElement, ...]:
    """Every checkable element of the operation, in document order (see the module docstring)."""
    walker = _Walker(spec)
    op_pointer = to_pointer(["paths", spec.path, spec.method])
    op = spec.operation
    walker.describe(op, op_pointer, "operation")
    path_item = spec.document["paths"][spec.path]
    for base, owner in ((to_pointer(["paths", spec.path]), path_item), (op_pointer, op)):
        for index, param in enumerate(owner.get("parameters") or []):
            walker.parameter(param, f"{base}/parameters/{index}")
    if "requestBody" in op:
        body, pointer = walker.follow(op["requestBody"], f"{op_pointer}/requestBody")
        if isinstance(body, dict):
            walker.add("request.required", f"{pointer}/required", f"required: {bool(body.get('required'))}",
                       "request")
            walker.describe(body, pointer, "request")
            list(walker.media(body, pointer, "request"))
    for status, node in (op.get("responses") or {}).items():
        walker.response(str(status), node, f"{op_pointer}/responses/{to_pointer([str(status)])[1:]}")
    walker.security(op, op_pointer)
    return tuple(
        SpecElement(e.kind, e.pointer, e.text, tuple(walker.uses[e.pointer])) for e in walker.found.values()
    )


def element_kinds(elements: tuple[SpecElement, ...]) -> dict[str, int]:
    """How many elements of each kind, sorted by kind."""
    counts: dict[str, int] = {}
    for element in elements:
        counts[element.kind] = counts.get(element.kind, 0) + 1
    return dict(sorted(counts.items()))
