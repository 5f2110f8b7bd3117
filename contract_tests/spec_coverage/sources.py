"""The built-in coverage sources (see :mod:`coverage` for what each one claims)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from avatar_contract.spec import from_pointer
from avatar_contract.validators._advice_rules import RULES as ADVICE
from avatar_contract.validators._advice_rules import loose
from avatar_contract.validators._compiled import ref_validator

from .mapping import CoverageInput, responses_only, source
from .sentences import rows_for


@source("response oracle")
def _oracle(given: CoverageInput) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for element in given.elements:
        if not responses_only(element) or element.kind in ("sentence", "keyword.default"):
            continue
        if element.kind == "response.status":
            owners = ["response.status"]
        elif element.kind == "media_type":
            owners = ["response.content_type"]
        elif element.kind == "example.error_code":
            owners = ["errors.envelope"]
        elif element.kind == "response.header" or "/headers/" in element.pointer:
            owners = ["rate_limit.retry_after"]
        else:
            errors = any(not use.endswith((" 200", " 201", " 202")) and not use.startswith("response 2")
                         for use in element.uses)
            owners = (["errors.envelope"] if errors else []) + \
                (["response.schema"] if any(use.startswith("response 2") for use in element.uses) else [])
        out[element.id] = [f"clause {name}" for name in owners]
    return out


def _keyword_elements(given: CoverageInput, schema_path: str, keyword: str | None,
                      instance_path: str, rule: str = "") -> list[str]:
    """The element ids a refusal at ``schema_path`` (the oracle's finding) probes."""
    ids = given.ids
    if "/" in schema_path:  # the oracle reports where it stood; elements sit at definitions
        parent, last = schema_path.rsplit("/", 1)
        schema_path = f"{given.definition(parent)}/{last}"
    if keyword == "required":
        required = given.node(schema_path)
        missing = from_pointer(instance_path)[-1] if instance_path else ""
        if isinstance(required, list) and missing in required:
            return [f"{schema_path}/{required.index(missing)}"]
        return []
    if keyword == "discriminator":
        found = [f"{schema_path}/propertyName"] if f"{schema_path}/propertyName" in ids else []
        if rule == "discriminator.missing":
            # Without the tag, every branch's `required` entry for it is broken at once.
            disc = given.node(schema_path) or {}
            for target in (disc.get("mapping") or {}).values():
                required = given.node(f"{str(target).lstrip('#')}/required")
                if isinstance(required, list) and disc.get("propertyName") in required:
                    found.append(f"{str(target).lstrip('#')}/required/{required.index(disc['propertyName'])}")
        return found
    found = [schema_path] if schema_path in ids and keyword not in ("anyOf", "oneOf") else []
    if keyword == "type" and schema_path.endswith("/type"):
        found += [i for i in ids if i.startswith(f"{schema_path}/") and i.count("/") == schema_path.count("/") + 1]
    if keyword in ("type", "anyOf", "oneOf"):
        # A value no branch takes probes each branch's type (refused), not the branch (accepted).
        base = schema_path.rsplit("/", 1)[0] if schema_path.endswith(("/type", "/anyOf", "/oneOf")) else schema_path
        for key in ("anyOf", "oneOf"):
            for index, _ in enumerate((given.node(base) or {}).get(key) or []):
                target = given.definition(f"{base}/{key}/{index}")
                found += [x for x in (f"{base}/{key}/{index}/type", f"{target}/type") if x in ids]
                found += [x for x in ids if x.startswith(f"{target}/type/")]
    return sorted(set(found))


@source("refusal probes")
def _refusals(given: CoverageInput) -> dict[str, list[str]]:
    from ..probes.invalid_bodies import invalid_cases

    out: dict[str, list[str]] = {}
    for case in invalid_cases(given.bodies):
        name = f"probe request.rejects_invalid: {case.label}"
        named = getattr(case, "covers", None)
        if named:
            for element_id in named:
                out.setdefault(element_id, []).append(name)
            continue
        report = given.linter.lint_request(case.raw if case.raw is not None else case.body)
        for finding in report.errors:
            if finding.schema_path is None:
                continue
            for element_id in _keyword_elements(given, finding.schema_path, finding.keyword, finding.path,
                                                    finding.rule):
                out.setdefault(element_id, []).append(name)
    return out


@source("planned creates")
def _creates(given: CoverageInput) -> dict[str, list[str]]:
    from ..planning.planned_bodies import planned_body
    from ..planning.planner import plan_creates

    f = given.bodies
    plan = plan_creates(f, cap=None, has_second_key=True, embedded=True)
    groups = {c.index: "ag_coverage" for c in plan.creates}
    out: dict[str, list[str]] = {}
    pointer = given.linter.contract.request.pointer
    touch = _Touch(given)
    for create in plan.creates:
        body = planned_body(f, create, groups, made=["lk_coverage"])  # an avatar the run made
        if body is None:
            continue
        name = f"create #{create.index + 1} ({create.describe()})"
        for element_id in touch.walk(pointer, body):
            out.setdefault(element_id, []).append(name)
    return out


class _Touch:
    """The elements an accepted value sits on (positive coverage), walking value and schema together."""

    def __init__(self, given: CoverageInput) -> None:
        self.given = given
        self.ids = given.ids
        self._validators: dict[str, Any] = {}

    def _valid(self, pointer: str, value: Any) -> bool:
        if pointer not in self._validators:
            self._validators[pointer] = ref_validator(self.given.spec, pointer)
        return bool(self._validators[pointer].is_valid(value))

    def walk(self, pointer: str, value: Any) -> Iterator[str]:
        pointer = self.given.definition(pointer)
        node = self.given.node(pointer)
        if not isinstance(node, dict):
            return
        yield from self._keywords(pointer, node, value)
        disc = node.get("discriminator")
        for key in ("oneOf", "anyOf"):
            branches = node.get(key) or []
            if not branches:
                continue
            chosen: int | None = None
            if isinstance(disc, dict) and isinstance(value, dict):
                target = (disc.get("mapping") or {}).get(value.get(disc.get("propertyName")))
                for index, branch in enumerate(branches):
                    if isinstance(target, str) and branch.get("$ref") == target:
                        chosen = index
                tag = value.get(disc.get("propertyName"))
                yield from (x for x in (f"{pointer}/discriminator/propertyName",
                                        f"{pointer}/discriminator/mapping/{tag}") if x in self.ids)
            else:
                chosen = next((i for i, _ in enumerate(branches) if self._valid(f"{pointer}/{key}/{i}", value)),
                              None)
            if chosen is not None:
                yield f"{pointer}/{key}/{chosen}"
                yield from self.walk(f"{pointer}/{key}/{chosen}", value)
        if isinstance(value, dict):
            for name, sub in (node.get("properties") or {}).items():
                here = f"{pointer}/properties/{name}"
                if name in value:
                    yield here
                    yield from self.walk(here, value[name])
                elif isinstance(sub, dict) and "default" in sub:
                    yield f"{here}/default"  # left to the server: the default applies
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            for item in value:
                yield from self.walk(f"{pointer}/items", item)

    def _keywords(self, pointer: str, node: dict[str, Any], value: Any) -> Iterator[str]:
        kinds = node.get("type")
        names = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
        for index, kind in enumerate(names):
            if self._valid_type(kind, value):
                yield f"{pointer}/type" if isinstance(kinds, str) else f"{pointer}/type/{index}"
        if "const" in node and node["const"] == value:
            yield f"{pointer}/const"
        for index, option in enumerate(node.get("enum") or []):
            if option == value:
                yield f"{pointer}/enum/{index}"
        size = len(value) if isinstance(value, (str, list)) else None
        for keyword in ("maxLength", "minLength", "maxItems", "minItems"):
            if size is not None and node.get(keyword) == size:
                yield f"{pointer}/{keyword}"  # accepted exactly at the limit

    @staticmethod
    def _valid_type(kind: str, value: Any) -> bool:
        checks: dict[str, Callable[[Any], bool]] = {
            "null": lambda v: v is None, "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "string": lambda v: isinstance(v, str), "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict)}
        return checks.get(kind, lambda v: False)(value)


@source("key probes")
def _keys(given: CoverageInput) -> dict[str, list[str]]:
    from ..probes.keys import invalid_keys, valid_keys

    header = given.linter.contract.idempotency_key
    if header is None:
        return {}
    schema = f"{header.pointer}/schema"
    out: dict[str, list[str]] = {}
    for label, raw in invalid_keys():
        report = given.linter.check_idempotency_key(raw.decode("utf-8", "surrogateescape"))
        for finding in report.errors:
            keyword = finding.rule.rsplit(".", 1)[-1]
            if f"{schema}/{keyword}" in given.ids:
                out.setdefault(f"{schema}/{keyword}", []).append(f"probe idempotency.key_format: {label}")
    for label, key in valid_keys():
        name = f"create idempotency.key_format: {label} accepted"
        node = given.node(schema) or {}
        for keyword in ("type", "pattern", "minLength", "maxLength"):
            at = f"{schema}/{keyword}"
            edge = keyword not in ("minLength", "maxLength") or node.get(keyword) == len(key)
            if at in given.ids and edge:
                out.setdefault(at, []).append(name)
    return out


_STATUS_CLAUSES = {"2": ("request.variants",), "400": ("request.rejects_invalid",),
                   "401": ("auth.missing", "auth.invalid"), "409": ("idempotency.in_flight",),
                   "429": ("rate_limit.retry_after",)}


@source("clauses")
def _clauses(given: CoverageInput) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    header = given.linter.contract.idempotency_key
    for element in given.elements:
        names: tuple[str, ...] = ()
        if element.kind == "security.scheme":
            node = given.node(element.pointer) or {}
            kind, scheme = node.get("type"), str(node.get("scheme", "")).lower()
            names = ("auth.missing", "auth.invalid") if kind == "apiKey" and node.get("in") == "header" \
                else ("auth.bearer",) if kind == "http" and scheme == "bearer" else ()
        elif element.kind == "security.requirement":
            names = ("auth.missing", "auth.invalid", "auth.bearer")
        elif element.kind == "response.status":
            status = element.text.removeprefix("status ")
            names = _STATUS_CLAUSES.get(status, _STATUS_CLAUSES.get(status[:1], ()))
        elif element.kind == "request.required":
            names = ("request.rejects_invalid",) if element.text.endswith("True") else ()
        elif element.kind == "media_type" and "request" in element.uses:
            names = ("request.variants",)
        elif element.kind == "parameter" and header is not None and element.pointer == header.pointer:
            names = ("idempotency.key_format", "idempotency.replay")
        if names:
            out[element.id] = [f"clause {name}" for name in names]
    return out


@source("sentences")
def _sentences(given: CoverageInput) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rc in given.linter.contract.responses.values():
        for site in rc.sentence_sites:
            out.setdefault(site.sentence, []).append(f"rule {site.rule.id} (clause response.schema)")
    for element in given.elements:
        if element.kind != "sentence":
            continue
        said = loose(element.text)
        for rule in ADVICE:  # the linter's request advice: request sentences only
            if "request" in element.uses and rule.emits and rule.text is not None and loose(rule.text) in said:
                out.setdefault(element.id, []).append(f"advice {rule.id}")
        for row in rows_for(element.text):
            out.setdefault(element.id, []).extend(f"clause {name}" for name in row.clauses)
    return out


# The derived facts (planner values, auth near misses, key case) register their own source.
from . import probes as _probe_coverage  # noqa: E402,F401
