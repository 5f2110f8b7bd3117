"""What checks each element of the spec: the suite's coverage, element by element.

:func:`coverage_report` takes every element of ``spec.spec_elements`` and asks
each *coverage source* which of the suite's probes, clauses and rules check it;
an element no source claims is *waived* (with its reason) or *unprobed*.
``avatar-contract spec coverage`` prints it; a test fails on anything unprobed.

The sources (each ``(CoverageInput) -> {element id: [names]}``):

* ``response oracle``: every keyword, property, media type, header and error
  code of a documented response is checked on every response of the tour by
  the validators (strict profile), owned by the clause named
  (``response.schema``, ``errors.envelope``, ``response.content_type``,
  ``response.status``, ``rate_limit.retry_after``);
* ``refusal probes``: each must-refuse body (``invalid_bodies.invalid_cases``) is
  linted, and the keyword the oracle says it breaks (a finding's
  ``schema_path``) is the element it probes; a case that names its elements
  (``BodyCase.covers``) is taken at its word;
* ``planned creates``: the planner's bodies (unlimited cap, in-process), walked
  against the schema: each branch, mapping entry, ``const``/``enum`` value and
  type a create's accepted body sits on, a ``default`` it leaves to the server
  (absent), and a length or item count exactly at its limit;
* ``key probes``: the Idempotency-Key values of ``keys`` (valid edges accepted,
  invalid ones refused), mapped through the oracle's header findings;
* ``clauses``: security schemes and requirements (by scheme type), statuses,
  the request body's ``required`` and media type;
* ``sentences``: the response sentence rules (``validators._sentence_rules``),
  the emitting advice rules whose words the sentence contains, and the rows of
  :mod:`coverage_sentences` (clauses, or a waiver with its reason).

**Registration hook.**  Another part of the suite adds its probes with
:func:`register_source` (or by appending to :data:`SOURCES`) a function taking
a :class:`CoverageInput` and returning ``{element id: probe names}``; ids are
those of ``spec_elements``.  Response ``default`` keywords are waived here: a
default in a response tells a client what an absent field means, and absence
is allowed, so nothing about it is checkable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from avatar_contract.spec import Spec, SpecElement, defined_at, load_spec, node_at, spec_elements
from avatar_contract.validators import Linter

from ..probes.bodies import BodyFactory, _factory_for
from ..targets.suite_spec import spec_path, use_spec
from .sentences import rows_for

PROBED, WAIVED, UNPROBED = "probed", "waived", "unprobed"


@dataclass(frozen=True)
class CoverageInput:
    """What a coverage source may read: the spec, its elements, bodies and the oracle."""

    spec: Spec
    elements: tuple[SpecElement, ...]
    bodies: BodyFactory
    linter: Linter

    @property
    def ids(self) -> set[str]:
        return {e.id for e in self.elements}

    def node(self, pointer: str) -> Any:
        return node_at(self.spec.document, pointer)

    def definition(self, pointer: str) -> str:
        """Where the schema at ``pointer`` is defined, after local ``$ref`` hops."""
        return defined_at(self.spec.document, pointer)[1]


Source = Callable[[CoverageInput], Mapping[str, Iterable[str]]]
SOURCES: list[tuple[str, Source]] = []


def register_source(name: str, source: Source) -> Source:
    """Add a coverage source (kept once per name); returns it, so it works as a decorator factory's end."""
    SOURCES[:] = [(n, s) for n, s in SOURCES if n != name]
    SOURCES.append((name, source))
    return source


def source(name: str) -> Callable[[Source], Source]:
    def add(function: Source) -> Source:
        return register_source(name, function)
    return add


@dataclass(frozen=True)
class ElementCoverage:
    element: SpecElement
    covered_by: tuple[str, ...]
    waiver: str | None = None

    @property
    def state(self) -> str:
        return PROBED if self.covered_by else WAIVED if self.waiver else UNPROBED


@dataclass(frozen=True)
class CoverageReport:
    spec: str
    version: str
    entries: tuple[ElementCoverage, ...]
    sources: tuple[str, ...] = field(default=())

    def of_state(self, state: str) -> list[ElementCoverage]:
        return [e for e in self.entries if e.state == state]

    def summary(self) -> dict[str, dict[str, int]]:
        """Per kind: how many elements, and how many probed, waived, unprobed."""
        out: dict[str, dict[str, int]] = {}
        for entry in self.entries:
            row = out.setdefault(entry.element.kind, {"elements": 0, PROBED: 0, WAIVED: 0, UNPROBED: 0})
            row["elements"] += 1
            row[entry.state] += 1
        return dict(sorted(out.items()))

    @property
    def complete(self) -> bool:
        return not self.of_state(UNPROBED)


def responses_only(element: SpecElement) -> bool:
    return bool(element.uses) and all(use.startswith("response ") for use in element.uses)


def waivers(given: CoverageInput) -> dict[str, str]:
    """Element id -> why no black-box run of this operation can check it."""
    out: dict[str, str] = {}
    for element in given.elements:
        if element.kind == "sentence":
            reasons = [row.waiver for row in rows_for(element.text) if row.waiver]
            if reasons:
                out[element.id] = "; ".join(reasons)
        elif element.kind == "keyword.default" and responses_only(element):
            out[element.id] = ("a response default tells a client what an absent field means; absence is "
                               "allowed, so nothing is checkable")
    return out


@contextlib.contextmanager
def _selected(path: str | None) -> Iterator[Spec]:
    """The suite's process-wide spec set to ``path`` for the duration, then put back."""
    before = spec_path()
    try:
        yield use_spec(path) if path is not None else load_spec(before)
    finally:
        if path is not None:
            use_spec(before)


def coverage_report(path: str | None = None) -> CoverageReport:
    """Every element of the spec at ``path`` (the suite's spec when None) with what covers it."""
    with _selected(path) as spec:
        elements = spec_elements(spec)
        given = CoverageInput(spec, elements, _factory_for(spec, None, True), Linter(spec, strict=True))
        found: dict[str, list[str]] = {}
        for _, produce in SOURCES:
            for element_id, names in produce(given).items():
                listed = found.setdefault(element_id, [])
                listed.extend(n for n in names if n not in listed)
        waived = waivers(given)
    entries = tuple(ElementCoverage(e, tuple(found.get(e.id, ())), waived.get(e.id)) for e in elements)
    return CoverageReport(spec.source, spec.version, entries, tuple(name for name, _ in SOURCES))


# The built-in sources register themselves on import (after the names they use exist).
from . import sources as _builtin_sources  # noqa: E402,F401
