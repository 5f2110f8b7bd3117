"""Creation facts: what only a real create can prove, derived from the spec, each with one owner.

The planner (:mod:`planner`) packs them into creates.  Body facts come from the
spec's variants, asset sites and limits (:mod:`bodies`) and its must-accept
values (:mod:`schema_values`); global facts ride on a create's headers or
follow it (Bearer, key edges, replays, the race, the second tenant).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..probes.bodies import BodyFactory
from ..probes.keys import NO_KEY, alphabet, key_optional, valid_keys
from ..probes.schema_values import REFERENCE, accept_values

GROUP_MODES = ("null", "absent", "set")


@dataclass(frozen=True)
class Fact:
    key: str  # stable id, e.g. "source:prompt:reference_images[1]:base64"
    clause: str  # the one clause that owns it
    text: str  # what it shows, for the plan and the report


@dataclass(frozen=True)
class Unrunnable:
    """A fact this target cannot be given the inputs for, and what would make it runnable."""

    fact: Fact
    hint: str  # e.g. 'add url = "…" under [video] in the asset fixture (--asset): …'
    entry: str  # the fixture entry it needs, e.g. "[video] url"


def slot(site: str, many: bool, position: int) -> str:
    return f"{site}[{position}]" if many else site


def body_facts(f: BodyFactory, variant: str) -> list[Fact]:
    out = [Fact(f"variant:{variant}", "request.variants", f"{variant} accepted")]
    for site in f.sites(variant):
        positions = range(site.max_items or len(site.union.values)) if site.many else range(1)
        for position in positions:
            place = slot(site.field, site.many, position)
            for source in site.union.values:
                out.append(Fact(f"source:{variant}:{place}:{source}", "request.variants",
                                f"{variant} with {place} from {source}"))
        if site.many and site.max_items:
            out.append(Fact(f"limit:{variant}:{site.field}:maxItems", "request.rejects_invalid",
                            f"{variant} with exactly {site.max_items} {site.field} (maxItems)"))
    for prop, limit in f.string_limits(variant):
        out.append(Fact(f"limit:{variant}:{prop}:maxLength", "request.rejects_invalid",
                        f"{variant} {prop} of exactly {limit} astral code points (maxLength)"))
    out += [Fact(a.key, a.clause, a.text) for a in accept_values(f, variant)]
    if f.group_property(variant):
        for mode in GROUP_MODES:
            out.append(Fact(f"group:{variant}:{mode}", "request.variants",
                            f"{variant} with avatar_group_id {mode}" + (" (and used as the group)"
                                                                        if mode == "set" else "")))
    out.append(Fact(f"response:{variant}", "response.schema", f"a {variant} 200 judged by the schema"))
    return out


def unrunnable_facts(f: BodyFactory) -> dict[str, Unrunnable]:
    """Body facts whose asset source this target cannot be given (none in-process)."""
    out: dict[str, Unrunnable] = {}
    for variant in f.variants:
        missing = {(site.field, source): hint for site, source, hint in f.unavailable(variant)}
        creatable = _creatable(f, variant)
        for fact in body_facts(f, variant):
            if fact.key.startswith("source:"):
                place, source = fact.key.split(":", 2)[2].rsplit(":", 1)
                field_ = place.split("[", 1)[0]
                hint = missing.get((field_, source))
                site = next(s for s in f.sites(variant) if s.field == field_)
                if hint is not None:
                    out[fact.key] = Unrunnable(fact, hint, f"[{f.media_kind(variant, site)}] {source}")
                    continue
            if creatable is not None:  # no valid body of the variant at all: every fact of it
                out[fact.key] = Unrunnable(fact, creatable[1], creatable[0])
        for a in accept_values(f, variant):
            given = f.fixture is not None and f.fixture.reference(a.prop) is not None
            if a.needs == REFERENCE and not f.invented and not given and a.key not in out:
                fact = Fact(a.key, a.clause, a.text)
                out[a.key] = Unrunnable(fact, f'add {a.prop} = "…" to the asset fixture (--asset): an existing '
                                              f"one's id", a.prop)
    return out


def _creatable(f: BodyFactory, variant: str) -> tuple[str, str] | None:
    """None if a valid body of ``variant`` can be sent here; else (fixture entry, hint) for a required site."""
    required = set(f.branch(variant).required)
    for site in f.sites(variant):
        if site.field in required and not site.many and not f.available(variant, site):
            source = site.union.values[0]
            return f"[{f.media_kind(variant, site)}] {source}", f.missing_hint(variant, site, source)
    return None


def global_facts(has_second_key: bool) -> list[Fact]:
    out = [Fact("auth:bearer", "auth.bearer", "a valid create under Authorization: Bearer"),
           Fact("response:status", "response.status", "a 2xx status judged"),
           Fact("response:content_type", "response.content_type", "a 2xx Content-Type judged")]
    out += [Fact(f"key:{label}", "idempotency.key_format", f"{label} accepted") for label, _ in valid_keys()]
    if key_optional():
        out.append(Fact(f"key:{NO_KEY}", "idempotency.key_format",
                        "a create without an Idempotency-Key accepted (the header is optional)"))
    out += [Fact("follow:in_flight", "idempotency.in_flight", "concurrent same-key requests"),
            Fact("follow:replay", "idempotency.replay", "a same-key, same-body retry replays"),
            Fact("follow:replay_body_differs", "idempotency.replay_body_differs",
                 "a same-key retry with a different body replays")]
    if any(c.swapcase() != c and c.swapcase() in alphabet() for c in alphabet()):
        # The key's pattern tells the cases apart, so keys differing only in case are different keys.
        out.append(Fact("follow:key_case", "idempotency.key_format",
                        "the same body under the key with its letters' case swapped is a new create"))
    if has_second_key:
        out.append(Fact("follow:tenant_scope", "idempotency.tenant_scope",
                        "the same key under the second tenant is independent"))
    return out
