"""The heuristics that place a packed refusal no retry could split (contract_tests/planning/packed_refusals.py)."""

from __future__ import annotations

import json

import pytest

from avatar_contract.contract_tests.planning.packed_refusals import mark_packed
from avatar_contract.contract_tests.planning.planner import Fact
from avatar_contract.contract_tests.planning.pool_result import FAILED, UNRUN, FactOutcome
from avatar_contract.contract_tests.targets.exchange import Exchange, SentRequest

KEYS = ("variant:prompt", "source:prompt:reference_images[1]:base64", "source:prompt:reference_images[2]:url")


def _refused(param: object) -> Exchange:
    body = {"error": {"code": "invalid_parameter", "message": "no", "param": param}}
    request = SentRequest("POST", "/v3/avatars", (), None, b"{}", {})
    return Exchange(request, 400, {"content-type": "application/json"}, json.dumps(body).encode())


def _pack(exchange: Exchange) -> dict[str, FactOutcome]:
    return {k: FactOutcome(Fact(k, "request.variants", k), FAILED, exchange, "refused: 400") for k in KEYS}


@pytest.mark.parametrize("param", ["/reference_images/2/url", "reference_images[2].url", "reference_images.2"])
def test_the_targets_error_names_the_fact_and_the_others_are_not_blamed(param: str) -> None:
    outcomes = _pack(_refused(param))
    mark_packed(outcomes)
    assert [k for k, o in outcomes.items() if o.state == FAILED] == [KEYS[2]]
    assert "the target's error names it" in outcomes[KEYS[2]].detail
    assert all(outcomes[k].state == UNRUN and "which the target's error names" in outcomes[k].detail
               for k in KEYS[:2])


@pytest.mark.parametrize("param", [None, 3, "/name", "reference_images/7"])
def test_without_a_suspect_the_pack_stays_failed_and_says_it_was_not_isolated(param: object) -> None:
    outcomes = _pack(_refused(param))
    mark_packed(outcomes)
    assert all(o.state == FAILED and "could not be re-tried alone" in o.detail for o in outcomes.values())


def test_a_source_refused_on_its_own_elsewhere_is_the_suspect() -> None:
    outcomes = _pack(_refused(None))
    elsewhere = FactOutcome(Fact("source:photo:reference_images[0]:base64", "request.variants", "x"), FAILED,
                            _refused(None), "refused on its own: 400", retried=True)
    outcomes[elsewhere.fact.key] = elsewhere
    mark_packed(outcomes)
    assert outcomes[KEYS[1]].state == FAILED
    assert outcomes[KEYS[0]].state == outcomes[KEYS[2]].state == UNRUN
    assert "whose source is refused on its own elsewhere" in outcomes[KEYS[2]].detail
