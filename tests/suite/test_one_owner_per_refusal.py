"""One owner per defect when a packed create is refused: only the guilty facts fail.

The planner packs many creation facts into one create; a server that refuses
one of them refuses the whole body.  The pool re-tries each packed fact alone
on a body the target accepted, whichever clause owns it, so the facts that are
innocent (the group set, the list at maxItems, the prompt at maxLength) are
proven and only the guilty ones fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.planning.planned_bodies import planned_body
from avatar_contract.contract_tests.planning.planner import Fact, body_facts, plan_creates
from avatar_contract.contract_tests.planning.pool_result import FAILED, PROVEN
from avatar_contract.contract_tests.planning.retry_bodies import RetryBodies, at_limit
from avatar_contract.contract_tests.probes.bodies import BodyFactory, factory
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.target import DEFAULT_MAX_CREATES, Target

from ._independent import Independent, json_or_none
from ._support import ASSETS, KEY_1, KEY_2, REMOTE


class RefusesReferences(Independent):
    """Right about everything except refusing ``reference_images`` items from one source (``SOURCE``)."""

    SOURCE = ""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        refs = body.get("reference_images") if isinstance(body, dict) else None
        if isinstance(refs, list) and any(isinstance(r, dict) and r.get("type") == self.SOURCE for r in refs):
            return 400, self.error("invalid_parameter", f"{self.SOURCE} references are not supported",
                                   "/reference_images")
        return await super().process(raw)


class RefusesAssetIdReferences(RefusesReferences):
    SOURCE = "asset_id"


class RefusesBase64References(RefusesReferences):
    """The plan's lists start with another source, so a list's first item alone is accepted: the
    count must be told apart from the items."""

    SOURCE = "base64"


class RefusesPhotoUrlFiles(Independent):
    """Right about everything except refusing a photo whose `file` comes from a `url`."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        file = body.get("file") if isinstance(body, dict) else None
        if body is not None and isinstance(body, dict) and body.get("type") == "photo" \
                and isinstance(file, dict) and file.get("type") == "url":
            return 400, self.error("invalid_parameter", "photos cannot be fetched from a URL", "/file")
        return await super().process(raw)


def _asset_id_reference(key: str) -> bool:
    return key.startswith("source:prompt:reference_images[") and key.endswith(":asset_id")


def _photo_url(key: str) -> bool:
    return key == "source:photo:file:url"


# (server, which facts are guilty, innocent facts packed with them that must be proven)
CASES = [
    pytest.param(RefusesAssetIdReferences, _asset_id_reference,
                 ("group:prompt:set", "limit:prompt:reference_images:maxItems", "limit:prompt:prompt:maxLength",
                  "variant:prompt"), id="asset_id-references"),
    pytest.param(RefusesBase64References, lambda key: key.startswith("source:prompt:reference_images[")
                 and key.endswith(":base64"),
                 ("group:prompt:set", "limit:prompt:reference_images:maxItems", "variant:prompt"),
                 id="base64-references"),
    pytest.param(RefusesPhotoUrlFiles, _photo_url, ("group:photo:set",), id="photo-url-file"),
]


def _target(app: Independent, **options: Any) -> Target:
    return Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                  profile="quick", seed=5, assets=load_assets(ASSETS), **options)  # the default --max-creates


ROOMY = 40  # creates enough for every retry a refused packed create needs


@pytest.mark.parametrize(("server", "guilty", "innocent"), CASES)
def test_only_the_guilty_facts_of_a_refused_packed_create_fail(
        server: type[Independent], guilty: Callable[[str], bool], innocent: tuple[str, ...]) -> None:
    app = server((KEY_1, KEY_2))
    target = _target(app, max_creates=ROOMY)
    state = RunState(target)
    pool = asyncio.run(state.pool())
    assert not pool.halted, pool.halted
    expected = {fact.key for fact in state.plan.facts if guilty(fact.key)}
    assert expected, "the plan must carry the facts this server refuses"
    # The guilty facts were packed with innocent ones: that is what is under test.
    packed = [c for c in state.plan.creates if any(guilty(x.key) for x in c.facts)]
    assert any(x.key in innocent for c in packed for x in c.facts), [c.describe() for c in packed]
    failed = {k: o for k, o in pool.outcomes.items() if o.state == FAILED}
    assert set(failed) == expected, {k: o.detail[:80] for k, o in failed.items()}
    assert all(o.detail.startswith("refused on its own: ") for o in failed.values())
    for key in innocent:
        outcome = pool.outcomes[key]
        assert outcome.state == PROVEN, (key, outcome.detail)
        assert outcome.exchange is not None and outcome.exchange.status == 200
    cap = max(target.max_creates, 1)
    assert state.ledger.state().made <= cap and app.created <= cap

    results = {r.name: r for r in run_suite(target, ["request.variants", "request.rejects_invalid"], state=state)}
    variants = results["request.variants"]
    assert variants.verdict is Verdict.FAIL, (variants.verdict, variants.reason)
    texts = {fact.text for fact in state.plan.facts if fact.key in expected}
    assert variants.failures and all(any(f.message.startswith(t + ":") for t in texts) for f in variants.failures), \
        [f.message[:100] for f in variants.failures]
    assert results["request.rejects_invalid"].verdict is not Verdict.FAIL, \
        [f.message[:100] for f in results["request.rejects_invalid"].failures]


@pytest.mark.parametrize("cap", [1, 3, 16, 17, DEFAULT_MAX_CREATES])
@pytest.mark.parametrize(("server", "guilty", "innocent"), CASES)
def test_the_retries_stay_within_the_create_cap_and_never_blame_the_innocent(
        server: type[Independent], guilty: Callable[[str], bool], innocent: tuple[str, ...], cap: int) -> None:
    app = server((KEY_1, KEY_2))
    state = RunState(_target(app, max_creates=cap))
    pool = asyncio.run(state.pool())
    assert state.ledger.state().made <= max(cap, 1)
    assert app.created <= max(cap, 1)
    # Where the cap ran out before every packed fact was re-tried alone, the ones not re-tried
    # are unrun once a culprit was found, never failed: only a fact refused on its own fails.
    for key, outcome in pool.outcomes.items():
        if outcome.state == FAILED and outcome.detail.startswith("refused on its own: "):
            assert guilty(key), (key, outcome.detail)
        if key in innocent:
            assert outcome.state != FAILED or not any(o.retried for o in pool.outcomes.values()
                                                      if o.exchange is outcome.exchange), (key, outcome.detail)


@pytest.mark.parametrize(("server", "guilty", "innocent"), CASES)
def test_at_the_default_cap_only_the_owning_clause_fails(
        server: type[Independent], guilty: Callable[[str], bool], innocent: tuple[str, ...]) -> None:
    app = server((KEY_1, KEY_2))
    target = _target(app)
    assert target.max_creates == DEFAULT_MAX_CREATES
    state = RunState(target)
    pool = asyncio.run(state.pool())
    failed = {k: o for k, o in pool.outcomes.items() if o.state == FAILED}
    # A fact is blamed alone only when it is guilty; where the cap left a pack unsplit (three refused
    # creates need more retries than the default cap leaves), its facts say they were not isolated.
    assert failed and any(guilty(k) for k in failed), failed
    assert all(guilty(k) or "could not be re-tried alone" in o.detail for k, o in failed.items()), \
        {k: o.detail[:100] for k, o in failed.items() if not guilty(k)}
    results = {r.name: r for r in run_suite(target, ["request.variants", "request.rejects_invalid"], state=state)}
    assert results["request.variants"].verdict is Verdict.FAIL
    assert results["request.rejects_invalid"].verdict is not Verdict.FAIL, \
        [f.message[:100] for f in results["request.rejects_invalid"].failures]


# -- the retry bodies themselves (in-process factory: every source is available) -------------

def _accepted(f: BodyFactory) -> list[dict[str, Any]]:
    """The bodies of the full in-process plan, as if the target had accepted them all."""
    plan = plan_creates(f, cap=None, has_second_key=True, embedded=True)
    groups = {c.index: f"grp-issued-{c.index}" for c in plan.creates}
    return [b for c in plan.creates if (b := planned_body(f, c, groups)) is not None]


def _carries(f: BodyFactory, key: str, body: dict[str, Any]) -> bool:
    """Whether ``body`` shows the fact ``key`` (written from the fact's meaning, not the builder)."""
    kind, variant, *rest = key.split(":")
    if body.get(f.union.property) != variant:
        return False
    prop = f.group_property(variant)
    if kind == "group":
        return {"set": prop is not None and isinstance(body.get(prop), str) and bool(body[prop]),
                "null": prop in body and body[prop] is None, "absent": prop not in body}[rest[0]]
    if kind == "source":
        place, source = rest
        field, _, index = place.partition("[")
        site = next(s for s in f.sites(variant) if s.field == field)
        value = body.get(field)
        item = value[int(index[:-1])] if index and isinstance(value, list) and len(value) > int(index[:-1]) \
            else (value if not index else None)
        return isinstance(item, dict) and item.get(site.union.property) == source
    if kind == "limit" and rest[1] == "maxItems":
        site = next(s for s in f.sites(variant) if s.field == rest[0])
        return isinstance(body.get(rest[0]), list) and len(body[rest[0]]) == site.max_items
    if kind == "limit" and rest[1] == "maxLength":
        limit = dict(f.string_limits(variant))[rest[0]]
        return body.get(rest[0]) == at_limit(limit) and len(body[rest[0]]) == limit
    return False


def _retried_facts() -> list[Fact]:
    f = factory()
    return [x for v in f.variants for x in body_facts(f, v) if x.key.split(":", 1)[0] in ("group", "source", "limit")]


@pytest.mark.parametrize("fact", _retried_facts(), ids=lambda x: x.key)
def test_a_retry_body_carries_its_fact_on_what_the_target_accepted(fact: Fact) -> None:
    f = factory()
    accepted = _accepted(f)
    body = RetryBodies(f, accepted, [(None, "grp-existing")]).build(fact)
    assert body is not None
    assert not f.linter.lint_request(body).findings, f.linter.lint_request(body).findings
    assert _carries(f, fact.key, body)
    variant = fact.key.split(":")[1]
    # Every list item before the fact's position is one the target accepted.
    seen = [item for b in accepted for s in f.sites(variant) if s.many for item in b.get(s.field) or []]
    if fact.key.startswith("source:") and "[" in fact.key:
        index = int(fact.key.split("[", 1)[1].split("]", 1)[0])
        field = fact.key.split(":")[2].split("[", 1)[0]
        assert len(body[field]) == index + 1
        assert all(item in seen for item in body[field][:index])
    if fact.key.endswith(":maxItems"):
        field = fact.key.split(":")[2]
        assert all(item in seen for item in body[field])
    if fact.key.endswith(":set"):
        assert body[f.group_property(variant) or ""] == "grp-existing"


def test_no_retry_body_without_what_it_needs() -> None:
    f = factory()
    plain = [f.body(v) for v in f.variants if v != "prompt"]
    bare_prompt = f.body("prompt", sources={"reference_images": []})
    later = Fact("source:prompt:reference_images[1]:url", "request.variants", "")
    first = Fact("source:prompt:reference_images[0]:url", "request.variants", "")
    # No accepted body of the variant at all.
    assert RetryBodies(f, plain, [(None, "grp-existing")]).build(first) is None
    # Nothing accepted to put before position 1.
    assert RetryBodies(f, [*plain, bare_prompt], [(None, "grp-existing")]).build(later) is None
    # References need a group (the spec's advice rule), and there is none to join.
    assert RetryBodies(f, [*plain, bare_prompt], []).build(first) is None
    # With one, position 0 is built on the bare body; maxItems still needs an accepted item.
    built = RetryBodies(f, [*plain, bare_prompt], [(None, "grp-existing")]).build(first)
    assert built is not None and built["avatar_group_id"] == "grp-existing" and len(built["reference_images"]) == 1
    max_items = Fact("limit:prompt:reference_images:maxItems", "request.rejects_invalid", "")
    assert RetryBodies(f, [*plain, bare_prompt], [(None, "grp-existing")]).build(max_items) is None


def test_a_group_is_taken_from_the_same_variant_before_another() -> None:
    f = factory()
    set_ = Fact("group:photo:set", "request.variants", "")
    bodies = RetryBodies(f, [f.body("photo")], [("digital_twin", "grp-twin"), ("photo", "grp-photo")])
    built = bodies.build(set_)
    assert built is not None and built["avatar_group_id"] == "grp-photo"


class RefusesAFullList(Independent):
    """Right about everything except refusing `reference_images` at maxItems (3): the count's defect."""

    async def process(self, raw: bytes) -> tuple[int, bytes]:
        body = json_or_none(raw)
        refs = body.get("reference_images") if isinstance(body, dict) else None
        if isinstance(refs, list) and len(refs) >= 3:
            return 400, self.error("invalid_parameter", "too many reference_images", "/reference_images")
        return await super().process(raw)


@pytest.mark.parametrize("cap", [DEFAULT_MAX_CREATES, 10])
def test_a_refused_length_fails_request_rejects_invalid_only(cap: int) -> None:
    """The count is told apart from the items (one item alone, then that item three times), so
    request.rejects_invalid owns it; no source is blamed for what the list's length caused."""
    app = RefusesAFullList((KEY_1, KEY_2))
    target = _target(app, max_creates=cap)
    results = {r.name: r for r in run_suite(target, ["request.variants", "request.rejects_invalid"])}
    limits = results["request.rejects_invalid"]
    assert limits.verdict is Verdict.FAIL
    assert any("refused with 3 copies of an item accepted alone" in f.message for f in limits.failures)
    assert results["request.variants"].verdict is not Verdict.FAIL, \
        [f.message[:120] for f in results["request.variants"].failures]
    assert app.created <= cap
