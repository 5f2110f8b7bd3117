"""Mechanical mutants: the emulator departing from the spec at one element, written from the element list.

For each element of ``spec.spec_elements`` an *operator* of its kind writes
mutants, with no knowledge of the suite (nothing here imports the clauses):

* request side, through ``EmulatorConfig(validation_spec=...)``: the emulator
  validates with a copy of the spec changed at that element: the keyword
  removed (it *accepts what it must refuse*: a ``required`` entry, a length or
  item bound, ``additionalProperties``, ``pattern``, a ``type``, a ``const``, a
  property's schema) or tightened (it *refuses what it must accept*: a bound
  moved by one, an ``enum`` value, a ``type`` entry or an ``anyOf``/``oneOf``
  branch (the null branch too), a discriminator mapping entry with its branch);
* response side, through ``EmulatorConfig(response_transform=...)``: every
  response of the element's statuses changed *across* the element's
  constraint at each place the schema puts it: a ``required`` field dropped, a
  value replaced by the first sample its schema refuses (``type``, branches,
  properties), an ``enum``/``const`` value cased differently, the status made
  undocumented, the Content-Type or the documented error code changed, the
  ``Retry-After`` header dropped or made a word, and each response sentence
  rule's claim broken (seconds as milliseconds, ``error`` while not failed, a
  negative count, another group).

Elements without an operator (annotations a server cannot depart from, such as
a response ``default``, the discriminator's ``propertyName``, sentences bound
to clauses) are listed, not mutated.  A mutant is *killed* when some clause
fails against it (incomplete is not a detection).
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.runner import run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.suite_spec import spec_path, use_spec
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.spec import Spec, SpecElement, from_pointer, load_spec, node_at, spec_elements
from avatar_contract.validators import contract_for
from avatar_contract.validators._compiled import ref_validator

KEY_1, KEY_2 = "mutant-key-1", "mutant-key-2"
REMOTE = "http://mutant.test"
ASSETS = Path(__file__).with_name("assets.toml")
SAMPLES: tuple[Any, ...] = (12345, "mutant", True, ["mutant"], {"mutant": 1}, None)
Loc = tuple[str, ...]
Transform = Callable[[int, dict[str, str], Any], tuple[int, dict[str, str], Any]]


@dataclass(frozen=True)
class Mutant:
    element: SpecElement
    how: str
    document: dict[str, Any] | None = None  # the validation spec (request side)
    transform: Transform | None = None  # the response side
    changed: list[int] = field(default_factory=lambda: [0], compare=False)  # responses the transform changed

    @property
    def side(self) -> str:
        return "request" if self.document is not None else "response"

    @property
    def group(self) -> str:
        """The element class its kill rate is reported under."""
        return f"{self.side} {self.element.kind}"


# -- request side: a changed copy of the spec to validate with ---------------------------


def _parent(doc: dict[str, Any], pointer: str) -> tuple[Any, str]:
    tokens = from_pointer(pointer)
    node: Any = doc
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node, tokens[-1]


def _edited(spec: Spec, pointer: str, edit: Callable[[Any, str], None]) -> dict[str, Any]:
    doc = copy.deepcopy(spec.document)
    holder, last = _parent(doc, pointer)
    edit(holder, last)
    return doc


def _delete(holder: Any, last: str) -> None:
    if isinstance(holder, list):
        del holder[int(last)]
    else:
        del holder[last]


def _request_mutants(spec: Spec, e: SpecElement) -> Iterator[Mutant]:
    keyword = e.keyword
    value = node_at(spec.document, e.pointer)
    listed = e.pointer.rsplit("/", 1)[-1].isdigit()  # an entry of a type list: [string, "null"]
    if keyword in ("required", "additionalProperties", "pattern", "const", "format") or \
            (keyword == "type" and not listed):
        yield Mutant(e, f"accepts what it must refuse: {e.text} removed", _edited(spec, e.pointer, _delete))
    if keyword == "type" and listed:
        yield Mutant(e, f"refuses what it must accept: {e.text} removed", _edited(spec, e.pointer, _delete))
    if keyword in ("maxLength", "minLength", "maxItems", "minItems") and isinstance(value, int):
        yield Mutant(e, f"accepts what it must refuse: {e.text} removed", _edited(spec, e.pointer, _delete))
        tighter = value - 1 if keyword.startswith("max") else value + 1
        if tighter >= 0:
            def tighten(holder: Any, last: str, to: int = tighter) -> None:
                holder[last] = to
            yield Mutant(e, f"refuses what it must accept: {keyword} {value} -> {tighter}",
                         _edited(spec, e.pointer, tighten))
    if keyword in ("enum", "anyOf", "oneOf"):
        yield Mutant(e, f"refuses what it must accept: {e.text} removed", _edited(spec, e.pointer, _delete))
    if keyword == "discriminator.mapping":
        base = e.pointer.split("/discriminator/", 1)[0]
        target = value

        def drop(holder: Any, last: str) -> None:
            del holder[last]

        doc = _edited(spec, e.pointer, drop)
        union = node_at(doc, base)
        union["oneOf"] = [b for b in union.get("oneOf", []) if b.get("$ref") != target]
        yield Mutant(e, f"refuses what it must accept: {e.text} and its branch removed", doc)
    if e.kind == "property":
        name = from_pointer(e.pointer)[-1]

        def unconstrain(holder: Any, last: str) -> None:
            holder[last] = {}  # any value
        yield Mutant(e, f"accepts what it must refuse: any value for {name}", _edited(spec, e.pointer, unconstrain))


# -- response side: a transform of every response of the element's statuses ----------------


def _locations(spec: Spec, status: str) -> dict[str, list[Loc]]:
    """Schema node pointer -> the body locations it describes, for one status's response."""
    rc = contract_for(spec).responses.get(status)
    out: dict[str, list[Loc]] = {}
    if rc is None or rc.pointer is None:
        return out

    def walk(pointer: str, loc: Loc, depth: int) -> None:
        node = node_at(spec.document, pointer)
        if not isinstance(node, dict) or depth > 24:
            return
        if loc in out.setdefault(pointer, []):
            return
        out[pointer].append(loc)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            walk(ref[1:], loc, depth + 1)
        for key in ("anyOf", "oneOf", "allOf"):
            for index, _ in enumerate(node.get(key) or []):
                walk(f"{pointer}/{key}/{index}", loc, depth + 1)
        for name in node.get("properties") or {}:
            walk(f"{pointer}/properties/{name}", (*loc, name), depth + 1)
        if isinstance(node.get("items"), dict):
            walk(f"{pointer}/items", (*loc, "*"), depth + 1)

    walk(rc.pointer, (), 0)
    return out


def _apply(body: Any, loc: Loc, change: Callable[[dict[str, Any], str], None]) -> None:
    """Call ``change(parent, key)`` for each place ``loc`` reaches in ``body`` (the key present)."""
    if not loc:
        return
    head, rest = loc[0], loc[1:]
    if head == "*":
        if isinstance(body, list):
            for item in body:
                _apply(item, rest, change)
        return
    if isinstance(body, dict) and head in body:
        if rest:
            _apply(body[head], rest, change)
        else:
            change(body, head)


def _statuses(e: SpecElement) -> set[int]:
    return {int(use.split()[1]) for use in e.uses if use.startswith("response ") and use.split()[1].isdigit()}


def _body_transform(statuses: set[int], locs: dict[int, list[Loc]],
                    change: Callable[[dict[str, Any], str], None]) -> Transform:
    def transform(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        if status in statuses:
            for loc in locs.get(status, ()):
                _apply(body, loc, change)
        return status, headers, body
    return transform


def _refused_sample(spec: Spec, pointer: str) -> Any:
    validator = ref_validator(spec, pointer)
    return next((s for s in SAMPLES if not validator.is_valid(s)), None)


def _node_of(e: SpecElement) -> str:
    tokens = e.pointer.split("/")
    listed = tokens[-1].isdigit() and tokens[-2] in ("required", "type", "enum", "anyOf", "oneOf")
    return "/".join(tokens[:-2] if listed else tokens[:-1])


def _response_mutants(spec: Spec, e: SpecElement) -> Iterator[Mutant]:
    statuses = _statuses(e)
    where = {s: _locations(spec, str(s)) for s in statuses}
    keyword = e.keyword

    def at(node: str) -> dict[int, list[Loc]]:
        return {s: where[s].get(node, []) for s in statuses}

    def mutant(how: str, locs: dict[int, list[Loc]], change: Callable[[dict[str, Any], str], None]) -> Mutant:
        return Mutant(e, how, transform=_body_transform(statuses, locs, change))

    if keyword == "required":
        field = node_at(spec.document, e.pointer)
        yield mutant(f"drops required {field}", {s: [(*loc, field) for loc in ls]
                                                 for s, ls in at(_node_of(e)).items()},
                     lambda parent, key: parent.pop(key, None))
    elif keyword in ("type", "anyOf", "oneOf") or e.kind == "property":
        node = e.pointer if e.kind == "property" else _node_of(e)
        while node.rsplit("/", 2)[-2] in ("anyOf", "oneOf"):
            node = node.rsplit("/", 2)[0]  # across the whole value's schema, not one branch's
        sample = _refused_sample(spec, node)
        if sample is not None and not node.endswith("/schema"):
            yield mutant(f"sends {json.dumps(sample)} across {e.text}", at(node),
                         lambda parent, key, v=sample: parent.__setitem__(key, copy.deepcopy(v)))
    elif keyword in ("enum", "const"):
        value = node_at(spec.document, e.pointer)
        other = value.upper() if isinstance(value, str) and value.upper() != value else f"{value}_mutant"

        def recase(parent: dict[str, Any], key: str, v: Any = value, o: Any = other) -> None:
            if parent.get(key) == v:
                parent[key] = o
        yield mutant(f"sends {other!r} for {value!r}", at(_node_of(e)), recase)
    elif e.kind == "example.error_code":
        def wrong_code(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
            if status in statuses and isinstance(body, dict) and isinstance(body.get("error"), dict):
                body["error"]["code"] = f"{body['error'].get('code')}_mutant"
            return status, headers, body
        yield Mutant(e, "answers another error code", transform=wrong_code)
    elif e.kind in ("response.status", "media_type", "response.header") or "/headers/" in e.pointer:
        yield Mutant(e, f"breaks {e.text}", transform=_envelope_transform(e, statuses))


def _envelope_transform(e: SpecElement, statuses: set[int]) -> Transform:
    name = e.pointer.split("/headers/", 1)[1].split("/", 1)[0] if "/headers/" in e.pointer else ""

    def transform(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        if status not in statuses:
            return status, headers, body
        if e.kind == "response.status":
            return 418, headers, body
        if e.kind == "media_type":
            return status, {**headers, "content-type": "text/plain"}, body
        kept = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        return status, (kept if e.kind == "response.header" else {**kept, name: "soon"}), body
    return transform


def _sentence_mutants(spec: Spec, e: SpecElement) -> Iterator[Mutant]:
    for status, rc in contract_for(spec).responses.items():
        for site in rc.sentence_sites:
            if site.sentence != e.id:
                continue
            check, groups = site.rule.check, site.groups

            def change(parent: dict[str, Any], key: str, check: str = check, groups: Any = groups) -> None:
                value = parent.get(key)
                if check == "unix_seconds" and isinstance(value, int):
                    parent[key] = value * 1000
                elif check == "non_negative" and isinstance(value, int):
                    parent[key] = -1
                elif check == "same_as" and value is not None:
                    parent[key] = f"{value}_other"
                elif check == "only_when" and parent.get(groups.get("field")) != groups.get("value"):
                    parent[key] = {"code": "mutant", "message": "mutant"}
            locs = {int(status): [(*site.location, site.name)]}
            yield Mutant(e, f"breaks {site.rule.id}", transform=_body_transform({int(status)}, locs, change))


def mutants(spec: Spec) -> tuple[list[Mutant], list[SpecElement]]:
    """(the mutants, the elements no operator applies to)."""
    made: list[Mutant] = []
    skipped: list[SpecElement] = []
    for e in spec_elements(spec):
        if e.kind == "sentence":
            found = list(_sentence_mutants(spec, e))
        elif any(u == "request" or u.startswith("header ") for u in e.uses):
            found = list(_request_mutants(spec, e))
        else:
            found = list(_response_mutants(spec, e))
        made += found
        if not found:
            skipped.append(e)
    return made, skipped


# -- running the suite against one ------------------------------------------------------------


def _counted(mutant: Mutant) -> Transform | None:
    transform = mutant.transform
    if transform is None:
        return None

    def counted(status: int, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        before = (status, dict(headers), json.dumps(body, sort_keys=True))
        after = transform(status, headers, body)
        if (after[0], after[1], json.dumps(after[2], sort_keys=True)) != before:
            mutant.changed[0] += 1
        return after
    return counted


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    failed: tuple[str, ...]  # the clauses that failed
    incomplete: tuple[str, ...]

    @property
    def killed(self) -> bool:
        return bool(self.failed)

    def why_survived(self, coverage_state: str) -> str:
        """A mechanical first reason for a survivor (read it with the element)."""
        if self.mutant.transform is not None and not self.mutant.changed[0]:
            return "unobservable: the emulator never sends a value this mutant changes"
        if self.mutant.document is not None and not judged_differently(self.mutant):
            return ("equivalent for the suite's probes: every probe body and key is judged as before "
                    "(another keyword still decides them)")
        if self.mutant.element.kind == "example.error_code" and not _stated_code(self.mutant.element.pointer):
            return "equivalent: the code is only the spec's example, which no clause asserts"
        if self.incomplete:
            return (f"{', '.join(self.incomplete)} incomplete (a fact not runnable here, or the breaker "
                    "stopping the run at an unexpected create), and no clause failed")
        if coverage_state != "probed":
            return f"the element is {coverage_state} in the coverage report"
        return "probed, yet no clause failed: a gap in what the probes judge"


def _stated_code(pointer: str) -> bool:
    """Whether the spec states the error code of the response at ``pointer`` (else it is only an example)."""
    from avatar_contract.spec import from_pointer
    from avatar_contract.validators import contract_for

    parts = from_pointer(pointer)
    status = parts[parts.index("responses") + 1] if "responses" in parts else ""
    response = contract_for().responses.get(str(status))
    return response is not None and response.error_code_stated


def run_mutant(mutant: Mutant | None, spec: str | None = None, seed: int = 5) -> Outcome | list[Any]:
    """Run the suite (quick profile, default cap, with assets as a live run) against the mutant.

    ``spec``: the emulator serves it and the suite holds it to it (the process-wide choice, put back after).
    """
    before = spec_path()
    if spec is not None:
        use_spec(spec)
    try:
        return _run(mutant, spec, seed)
    finally:
        if spec is not None:
            use_spec(before)


def _run(mutant: Mutant | None, spec: str | None, seed: int) -> Outcome | list[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        validation = None
        if mutant is not None and mutant.document is not None:
            validation = Path(tmp) / "validation.json"
            validation.write_text(json.dumps(mutant.document), encoding="utf-8")
        config = EmulatorConfig(api_keys=(KEY_1, KEY_2), rate_limit=None, spec=spec, validation_spec=validation,
                                response_transform=_counted(mutant) if mutant is not None else None,
                                processing_delay=0.05)
        target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=create_app(config),
                        allow_create=True, profile="quick", seed=seed, assets=load_assets(ASSETS))
        results = run_suite(target, [n for n in CLAUSE_NAMES if n != "rate_limit.retry_after"])
        # The burst meets a limiter whose window cannot roll over during the run (150 per hour).
        burst = create_app(replace(config, rate_limit=(150, 3600.0)))
        results += run_suite(replace(target, asgi_app=burst), ["rate_limit.retry_after"])
    if mutant is None:
        return results
    return Outcome(mutant, tuple(r.name for r in results if r.verdict is Verdict.FAIL),
                   tuple(r.name for r in results if r.verdict is Verdict.INCOMPLETE))


def _planned(f: Any) -> Iterator[Any]:
    """The planner's accepted bodies (unlimited cap), as body cases."""
    from avatar_contract.contract_tests.planning.planned_bodies import planned_body
    from avatar_contract.contract_tests.planning.planner import plan_creates
    from avatar_contract.contract_tests.probes.bodies import BodyCase

    plan = plan_creates(f, cap=None, has_second_key=True, embedded=True)
    groups = {c.index: "ag_mutant" for c in plan.creates}
    for create in plan.creates:
        body = planned_body(f, create, groups, made=["lk_mutant"])
        if body is not None:
            yield BodyCase(create.describe(), body)


def judged_differently(mutant: Mutant) -> bool:
    """Whether the mutant emulator judges any body or key the suite sends otherwise than the spec's.

    Asked of the emulator's own checks (its body checker and key check), so a
    keyword the emulator enforces anyway (a body must be an object) is equivalent.
    """
    from avatar_contract.contract_tests.probes.bodies import BodyCase, factory
    from avatar_contract.contract_tests.probes.invalid_bodies import boundary_cases, invalid_cases
    from avatar_contract.contract_tests.probes.keys import invalid_keys, valid_keys
    from avatar_contract.contract_tests.targets.exchange import encode_json
    from avatar_contract.emulator._idempotency import key_problem
    from avatar_contract.emulator._validation import Accepted, BodyChecker
    from avatar_contract.validators import Linter

    f = factory()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "validation.json"
        path.write_text(json.dumps(mutant.document), encoding="utf-8")
        changed = Linter(path, strict=True)
        mine, theirs = BodyChecker(changed, frozenset()), BodyChecker(f.linter, frozenset())
        for case in [*invalid_cases(f), *boundary_cases(f, {}), *(BodyCase(v, f.body(v)) for v in f.variants),
                     *_planned(f)]:
            raw = case.raw if case.raw is not None else encode_json(case.body)
            if isinstance(mine.check(raw), Accepted) != isinstance(theirs.check(raw), Accepted):
                return True
        keys = [k for _, k in valid_keys()] + [raw.decode("utf-8", "replace") for _, raw in invalid_keys()]
        return any((key_problem(changed, k) is None) != (key_problem(f.linter, k) is None) for k in keys)


def spec_mutants(path: str | None = None) -> tuple[list[Mutant], list[SpecElement]]:
    before = spec_path()
    try:
        return mutants(use_spec(path) if path is not None else load_spec(before))
    finally:
        if path is not None:
            use_spec(before)
