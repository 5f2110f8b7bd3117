"""Blame by provenance: which clause an answer is evidence for, written down in one place.

One defect has one owner: a finding fails the clause that owns it, and an
answer that says nothing about a clause's property leaves that clause
unjudged, never failed and never passed.  Each rule below has a stable id
(public, like the clause ids), says what it decides, names where it is applied
and the test that holds it.  The predicates the rules need live here; rules
whose verdicts live elsewhere (the create pool's split, the packed-refusal
heuristics) are referenced, not copied.

Heuristics are marked as such: the spec fixes no format for ``param``, and it
does not say how a rate limiter answers besides its documented 429.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from ..targets.exchange import Exchange

# Statuses that say the route read the request and judged its content (a framework's default 422
# for an invalid body, 413, 415): this API, broken where the spec documents 400 — the preflight
# never calls them "not this API", and on an invalid body without credentials they show nothing
# about auth (attribution.body_refusal); request.rejects_invalid judges the status.
CONTENT_JUDGED = (413, 415, 422)


@dataclass(frozen=True)
class Rule:
    id: str
    says: str
    applied_in: str  # module.function that applies it
    tested_by: str  # tests/suite/<file>::<test>


RULES: tuple[Rule, ...] = (
    Rule("attribution.body_refusal",
         "A 400 whose error param names a field of the request body (heuristic: its first token is a property "
         "of some variant) refused the body, not the credentials: an auth probe answered so is not judged by "
         "auth.* (a refused valid body is request.variants' finding), and the probe is re-sent once without "
         "that field where it is optional.",
         "clauses.auth._refused",
         "tests/suite/test_attribution.py::test_a_body_refusal_is_not_an_auth_failure"),
    Rule("attribution.rate_limited",
         "A 429, or a 503 that carries Retry-After or a rate-limit error code (heuristic), is a rate limiter's "
         "answer, not a verdict on the request: the session re-tries it after Retry-After within its budget, "
         "else the run is rate-limited (incomplete); one that still reaches a clause expecting another status "
         "leaves that case unjudged (incomplete), never failed.",
         "targets.session.Session.send; clauses.clause.ClauseContext.expect_error/expect_created",
         "tests/suite/test_attribution.py::test_a_rate_limiter_is_not_a_validation_verdict"),
    Rule("attribution.rate_limit_evidence",
         "A 429 met anywhere in the run is evidence for rate_limit.retry_after: when its own burst draws none, "
         "the first one met is judged (Retry-After), never \"not observed\".",
         "runner._run (rate_limited); clauses.responses.rate_limit_retry_after",
         "tests/suite/test_attribution.py::test_a_429_met_anywhere_is_judged_by_the_rate_limit_clause"),
    Rule("attribution.rate_limit_response",
         "A 429's envelope, error code, media type and schema are errors.envelope's and response.*'s where their "
         "tour draws a 429 of its own (in-process); on any other target only rate_limit.retry_after's burst meets "
         "one, so that clause judges it with the same checks (it would otherwise be judged by nobody).",
         "clauses.responses.rate_limit_retry_after, clauses.responses.tour",
         "tests/suite/test_attribution.py::test_a_remote_429_is_judged_as_a_response_by_the_rate_limit_clause"),
    Rule("attribution.race_unretried",
         "The in-flight race is sent unretried: a 429 answering one of its requests while another got 2xx or "
         "409 is the server's answer to a concurrent retry and fails idempotency.in_flight (the spec documents "
         "409); a race answered 429 throughout is the limiter's, re-sent once with retries, never blamed. "
         "Replays keep the session's retries: asking again after Retry-After asks the same question.",
         "planning.in_flight_race.race; clauses.idempotency.in_flight",
         "tests/suite/test_attribution.py::test_429_inside_a_race_fails_in_flight"),
    Rule("attribution.race_limiter_control",
         "When some of a race's answers are a rate limiter's and others are not, as many key-less invalid "
         "bodies go out at once right after it, unretried: a 429 among them means a limiter throttles anything "
         "(the race is not judged, in_flight incomplete); none means the race's 429s answered the concurrent "
         "retries (attribution.race_unretried: in_flight fails). A heuristic: a limiter that refills between "
         "the race and the control looks like the second case.",
         "planning.in_flight_race.limiter_control; clauses.idempotency.in_flight",
         "tests/suite/test_live_safety.py::test_a_429_on_an_ordinary_request_is_retried_not_failed"),
    Rule("attribution.refused_create",
         "A refused planned create is request.variants' finding; Bearer and a key edge packed on it are split "
         "off first (the same body with x-api-key and a fresh key), a value at maxLength by relaxing it, "
         "maxItems by one item then that item maxItems times; another clause's fact packed in it stays "
         "unjudged until re-tried alone.",
         "planning.pool._Pool.split, planning.pool._Pool.exonerate",
         "tests/suite/test_one_owner_per_refusal.py::test_only_the_guilty_facts_of_a_refused_packed_create_fail"),
    Rule("attribution.packed_heuristics",
         "Where no retry could split a refused pack: a source refused on its own elsewhere at the same kind of "
         "place, or the target's error param naming one packed fact, places the blame within that pack only "
         "(heuristics).",
         "planning.packed_refusals.mark_packed, planning.packed_refusals.unblame",
         "tests/suite/test_packed_refusals.py::test_the_targets_error_names_the_fact_and_the_others_are_not_blamed"),
    Rule("attribution.auth_order",
         "The spec does not fix whether credentials or the body are checked first: an invalid body without "
         "valid credentials may get 400; only a valid body must get 401; with no 401 anywhere auth.* is "
         "incomplete.",
         "clauses.auth._refused",
         "tests/suite/test_independent_server.py::test_a_server_that_checks_the_body_first_passes_auth_with_creates"),
    Rule("attribution.owned_elsewhere",
         "A response defect met by a clause that does not own it (a schema, status, content type or envelope "
         "finding) is a note pointing at its owner (checks.owner), never a failure there.",
         "clauses.clause.ClauseContext.owned_elsewhere",
         "tests/suite/test_mutation.py::test_each_fault_fails_its_own_clause_and_no_other"),
    Rule("attribution.no_answer",
         "No answer (a timeout, a reset) is no evidence either way: the case is unjudged and the clause "
         "incomplete; a body cut at the size cap is judged by its status only.",
         "clauses.clause.ClauseContext._unanswered, clauses.clause.ClauseContext._unjudgeable",
         "tests/suite/test_budget_breakers.py::test_a_target_that_dies_is_named_once_and_nothing_passes_after_it"),
    Rule("attribution.tenant_resources",
         "The second tenant's request never carries a resource of the first (a group, an asset id, any other "
         "id): a refusal of it could only be the first tenant's resource, so it is never sent.",
         "clauses.tenancy.first_tenant_resources; planning.planner.plan_creates",
         "tests/suite/test_tenant_resources.py::test_the_second_tenant_rides_only_on_a_body_naming_none_of_the_"
         "first_tenants_resources"),
    Rule("attribution.canned_ids",
         "Creates under different keys sharing one avatar id is idempotency.replay's defect; tenant_scope then "
         "tells tenants apart by the whole answer.",
         "clauses.idempotency.replay, clauses.idempotency.tenant_scope",
         "tests/suite/test_budget_breakers.py::test_repeated_ids_fail_idempotency_replay_only"),
)

_LIMIT_CODE = re.compile(r"rate.?limit|too.?many|throttl", re.IGNORECASE)


def error_param(exchange: Exchange) -> str | None:
    """The error envelope's ``param``, if the answer has one."""
    body = exchange.json
    error = body.get("error") if isinstance(body, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    return param if isinstance(param, str) and param else None


def body_field(exchange: Exchange, fields: Collection[str]) -> str | None:
    """attribution.body_refusal: the request property a 400's ``param`` names ("/avatar_group_id",
    "file.url", "reference_images[2]"), or None (no param, a header, or nothing of the body)."""
    if exchange.status != 400:
        return None
    param = error_param(exchange)
    if param is None:
        return None
    tokens = [t for t in re.split(r"[/\[\].]+", param.removeprefix("body")) if t]
    return tokens[0] if tokens and tokens[0] in fields else None


def rate_limited(exchange: Exchange) -> bool:
    """attribution.rate_limited: a 429, or a 503 with Retry-After or a rate-limit error code."""
    if exchange.status == 429:
        return True
    if exchange.status != 503:
        return False
    body = exchange.json
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return "retry-after" in exchange.headers or (isinstance(code, str) and bool(_LIMIT_CODE.search(code)))


def rule(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)
