"""The create planner: facts derived from the spec, packed into few creates, capped honestly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.planning.planned_bodies import planned_body
from avatar_contract.contract_tests.planning.planner import CreatePlan, plan_creates
from avatar_contract.contract_tests.probes.bodies import BodyFactory, factory
from avatar_contract.contract_tests.targets.target import DEFAULT_MAX_CREATES
from avatar_contract.validators import contract_for
from avatar_contract.validators._cli import main

from ._support import ASSETS, vendored_doc, with_gcs_source

# The vendored spec: 12 creates prove 59 facts; 18 2xx answers (the race's and the
# replays' answers count), plus one slot kept for refusal probes.
VENDORED_NEEDED = 19
VENDORED_NEEDED_ONE_KEY = 18


def _bodies_are_clean(f: BodyFactory, plan: CreatePlan) -> None:
    groups = {c.index: f"ag_{c.index}" for c in plan.creates}
    for c in plan.creates:
        body = planned_body(f, c, groups)
        assert body is not None
        f.check_valid(body, warnings=True)  # a correct server has no reason to refuse it
        if c.group == "set":
            assert c.founder is not None and c.founder < c.index and plan.creates[c.founder].variant == c.variant


def test_the_vendored_plan_covers_every_fact_in_few_creates() -> None:
    f = factory()
    plan = plan_creates(f, cap=None, has_second_key=True)
    assert plan.needed == VENDORED_NEEDED and not plan.uncovered
    assert len(plan.creates) == 12 and len(plan.facts) == 59
    assert plan.needed <= DEFAULT_MAX_CREATES  # the default covers the whole plan
    assert plan_creates(f, cap=None, has_second_key=False).needed == VENDORED_NEEDED_ONE_KEY
    assert {x.clause for x in plan.facts} <= set(CLAUSE_NAMES)
    keys = {x.key for x in plan.facts}
    for variant in f.variants:  # every source at every place it can appear, every group mode
        for site in f.sites(variant):
            places = [f"{site.field}[{i}]" for i in range(site.max_items or 1)] if site.many else [site.field]
            assert {f"source:{variant}:{p}:{s}" for p in places for s in site.union.values} <= keys
        assert {f"group:{variant}:{m}" for m in ("absent", "null", "set")} <= keys
    assert "limit:prompt:prompt:maxLength" in keys and "limit:prompt:reference_images:maxItems" in keys
    # The request objects are open (only the assets say additionalProperties: false): each variant
    # carries an undeclared property once, on a create it shares with other facts (no extra create).
    undeclared = [c for c in plan.creates for k in c.values if ":x_avatar_contract_extension:" in k]
    assert sorted(c.variant for c in undeclared) == sorted(f.variants)
    assert all(len(c.facts) > 1 for c in undeclared)
    # Packed: one create proves many facts; a list site carries maxItems items from several sources.
    assert max(len(c.facts) for c in plan.creates) >= 6
    assert any(len(dict(c.sources).get("reference_images", ())) == 3 for c in plan.creates)
    _bodies_are_clean(f, plan)
    assert plan == plan_creates(f, cap=None, has_second_key=True)  # pure: same spec, same options, same plan


@pytest.mark.parametrize("cap", [0, 1, 5, 10])
def test_below_the_cap_it_covers_what_fits_and_lists_the_rest(cap: int) -> None:
    plan = plan_creates(factory(), cap=cap, has_second_key=True)
    assert plan.cost <= max(0, cap - 1)  # one slot stays free for refusal probes
    covered = plan.covered()
    assert {x.key for x in plan.uncovered} == {x.key for x in plan.facts} - covered
    assert plan.uncovered and "not covered" in plan.render()
    if cap == 10:
        # Every clause that needs a create gets evidence before any clause gets more...
        owners = {x.clause for c in plan.creates for x in c.facts}
        assert {x.clause for x in plan.facts} == owners
        # ...then every variant (and then every source at every kind of place, where it fits:
        # see tests/suite/test_assets.py, where the fixture's group frees a create).
        assert {c.variant for c in plan.creates} == set(factory().variants)


def test_a_plan_for_some_clauses_holds_only_their_facts() -> None:
    plan = plan_creates(factory(), cap=None, has_second_key=True, clauses=["idempotency.replay"])
    assert {x.clause for x in plan.facts} == {"idempotency.replay"}
    assert len(plan.creates) == 1 and plan.creates[0].follow_ups == ("replay",)


@pytest.fixture(scope="module")
def fourth_source_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = with_gcs_source(vendored_doc())
    prompt = doc["components"]["schemas"]["CreatePromptAvatarRequest"]["properties"]
    prompt["reference_images"]["anyOf"][0]["maxItems"] = 5
    path = tmp_path_factory.mktemp("spec") / "fourth-source.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_a_fourth_source_and_max_items_5_change_the_plan_with_no_code_change(fourth_source_spec: Path) -> None:
    f = BodyFactory(contract_for(str(fourth_source_spec)))
    plan = plan_creates(f, cap=None, has_second_key=True)
    keys = {x.key for x in plan.facts}
    assert "source:photo:file:gcs" in keys and "source:digital_twin:file:gcs" in keys
    assert {f"source:prompt:reference_images[{i}]:gcs" for i in range(5)} <= keys
    assert "source:prompt:reference_images[4]:url" in keys
    assert not plan.uncovered and plan.needed > VENDORED_NEEDED
    assert any(len(dict(c.sources).get("reference_images", ())) == 5 for c in plan.creates)
    _bodies_are_clean(f, plan)


def test_verify_plan_prints_the_plan_and_sends_nothing(capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AVATAR_API_KEY_2", raising=False)
    # Nothing listens on port 9: a single request would make this exit 2.
    code = main(["verify", "--plan", "--base-url", "http://127.0.0.1:9", "--api-key", "k",
                 "--allow-create", "--max-creates", "5", "--asset", str(ASSETS)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"full coverage needs {VENDORED_NEEDED_ONE_KEY} creates" in out
    assert "--max-creates 5:" in out and "not covered" in out and "proves:" in out
    assert "not runnable" not in out  # the fixture supplies every source
    # Without real assets, the plan shrinks to what this target can be given, and says what to add.
    assert main(["verify", "--plan", "--base-url", "http://127.0.0.1:9", "--api-key", "k", "--allow-create"]) == 0
    bare = capsys.readouterr().out
    assert "not runnable on this target (10; add [image] asset_id, [image] url, [video] asset_id, " \
           "[video] url to the asset fixture, --asset)" in bare
    assert f"full coverage needs {VENDORED_NEEDED_ONE_KEY - 1} creates" in bare


def test_needs_more_creates_counts_only_what_the_clause_is_missing() -> None:
    """At --max-creates 10, "needs N more create(s)" is what would cover that clause's facts:
    one per key edge left out (each on a create of its own), not the riders other clauses own."""
    from dataclasses import replace

    from avatar_contract.contract_tests.runner import RunState
    from avatar_contract.contract_tests.targets.target import Target

    target = Target(base_url="http://sut.test", api_key="k" * 20, second_api_key="j" * 20, allow_create=True,
                    max_creates=10)
    state = RunState(target)
    missing_keys = {x.key for x in state.full_plan.facts_of("idempotency.key_format")} - state.plan.covered()
    assert missing_keys and state.needs_creates("idempotency.key_format") == len(missing_keys)
    assert state.needs_creates("auth.bearer") == 0  # covered within the cap
    full = RunState(replace(target, max_creates=VENDORED_NEEDED))
    assert all(full.needs_creates(name) == 0 for name in CLAUSE_NAMES)
    # Never more than the whole difference between the full plan and this run's.
    assert all(state.needs_creates(n) <= state.full_plan.cost - state.plan.cost for n in CLAUSE_NAMES)


def test_an_undeclared_property_is_planned_only_where_the_object_is_open(tmp_path: Path) -> None:
    doc = vendored_doc()
    schemas = doc["components"]["schemas"]
    schemas["CreatePhotoAvatarRequest"]["additionalProperties"] = False
    schemas["CreatePromptAvatarRequest"]["unevaluatedProperties"] = False
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    f = BodyFactory(contract_for(str(path)))
    keys = {x.key for x in plan_creates(f, cap=None, has_second_key=True).facts}
    assert {k.split(":")[1] for k in keys if ":x_avatar_contract_extension:" in k} == {"digital_twin"}
