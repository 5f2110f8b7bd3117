"""A referenced avatar (the June 2026 spec's ``avatar_id``): each sentence's defect fails only its owner.

The spec says the referenced avatar must exist (a made-up id and another
account's avatar are refused), must belong to the ``avatar_group_id`` sent, and
that without a group the new avatar is saved to the referenced avatar's group.
A server that breaks one of these fails the clause owning it, and nothing else;
correct servers (the emulator, and a multi-tenant independent one) pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.contract_tests.clauses import avatar_references
from avatar_contract.contract_tests.clauses.clause import CLAUSE_NAMES
from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.probes.bodies import factory
from avatar_contract.contract_tests.runner import RunState, run_suite
from avatar_contract.contract_tests.targets.assets import load_assets
from avatar_contract.contract_tests.targets.suite_spec import spec_path, use_spec
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.emulator._references import References

from ._per_account import PerAccount
from ._support import ASSETS, KEY_1, KEY_2, REMOTE

CLAUSES = [name for name in CLAUSE_NAMES if name != "rate_limit.retry_after"]  # (the burst: its own test)


@pytest.fixture()
def june(june_spec: Path) -> Iterator[dict[str, Any]]:
    before = spec_path()
    use_spec(june_spec)
    yield yaml.safe_load(june_spec.read_text(encoding="utf-8"))
    use_spec(before)


def _failed(results: list[Any]) -> dict[str, str]:
    return {r.name: r.reason for r in results if r.verdict in (Verdict.FAIL, Verdict.ERROR)}


def test_the_probes_follow_the_spec_sentences(june: dict[str, Any]) -> None:
    (ref,) = avatar_references.references(factory())
    assert (ref.variant, ref.field) == ("prompt", "avatar_id")
    assert {avatar_references.MUST_EXIST, avatar_references.IN_GROUP, avatar_references.JOINS_GROUP} <= ref.rules
    use_spec(None)
    assert avatar_references.references(factory()) == []  # the vendored spec says none of it


def _judge_with(bug: str) -> Any:
    right = References.judge

    def judge(self: References, body: dict[str, Any], look: Any, failed: bool = False) -> Any:
        if bug == "any_avatar" and look is None:
            return None  # a missing (or another account's) avatar taken, into a new group
        if bug == "any_group" and look is not None and isinstance(body.get("avatar_group_id"), str):
            return None  # taken whatever group was sent
        if bug == "new_group" and look is not None and not body.get("avatar_group_id"):
            return None  # not saved to the referenced avatar's group
        return right(self, body, look, failed)
    return judge


@pytest.mark.parametrize(("bug", "owner"), [("", None), ("any_avatar", "request.rejects_invalid"),
                                            ("any_group", "request.rejects_invalid"),
                                            ("new_group", "request.variants")])
def test_the_emulator_with_a_reference_bug_fails_only_its_owner(
        june: dict[str, Any], monkeypatch: pytest.MonkeyPatch, bug: str, owner: str | None) -> None:
    monkeypatch.setattr(References, "judge", _judge_with(bug))
    target = Target(profile="quick", seed=5)
    failed = _failed(run_suite(target, CLAUSES, state=RunState(target)))
    assert set(failed) == ({owner} if owner else set()), failed
    if owner:
        assert "avatar_id" in failed[owner], failed[owner]


@pytest.mark.parametrize(("bug", "owner"), [("", None), ("any_avatar", "request.rejects_invalid"),
                                            ("any_group", "request.rejects_invalid")])
def test_a_multi_tenant_server_on_its_avatars_fails_only_the_owner(
        june: dict[str, Any], bug: str, owner: str | None) -> None:
    fixture = load_assets(ASSETS)
    assets = tuple(value for _, source, fields in fixture.assets for name, value in fields if name == source)
    app = PerAccount((KEY_1, KEY_2), groups=(str(fixture.group_id),), assets=assets, document=june, bug=bug)
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=20, profile="quick", seed=5, assets=fixture)
    failed = _failed(run_suite(target, CLAUSES, state=RunState(target)))
    assert set(failed) == ({owner} if owner else set()), failed
    assert not [f for f in app.foreign_refused if f[0] == "tenant-1"]  # B never sent A's resources
    assert app.created <= 20 + (2 if bug == "any_avatar" else 1 if bug else 0)  # (the wrongly taken probes)
