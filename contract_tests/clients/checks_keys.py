"""Checks on keys, bodies and what follows a refusal (no timing involved)."""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from avatar_contract.validators import Linter

from ..clauses.finding import ClauseResult
from ..targets.suite_spec import suite_spec
from .attempts import Attempt, Intent, in_flight_with, same_key
from .judging import Findings, Grading, check

AMBIGUOUS_SCENARIOS = ("ambiguous-5xx", "reset-after-commit")


@cache
def _linter() -> Linter:
    return Linter(suite_spec(), strict=True)


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a usable Idempotency-Key (the spec's pattern, or blank, quoted, padded), or None:
    a sentence that names the header once (the linter's messages start with it)."""
    if not key.strip():
        return "Idempotency-Key is blank"
    if key != key.strip():
        return "Idempotency-Key is padded with whitespace"
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
        return "Idempotency-Key is quoted"
    report = _linter().check_idempotency_key(key)
    if report.valid:
        return None
    message = report.errors[0].message
    return message if message.startswith("Idempotency-Key") else f"Idempotency-Key: {message}"


def after_ambiguous(intent: Intent) -> set[int]:
    """Indexes of attempts that follow up an ambiguous outcome (a 5xx, a reset, a timeout)."""
    out = set()
    for n, attempt in enumerate(intent.attempts):
        if attempt.ambiguous:
            follow = intent.follow_up(n)
            if follow is not None:
                out.add(intent.attempts.index(follow))
    return out


def _requests(grading: Grading) -> int:
    return len(grading.attempts)


@check("client.key_present")
def key_present(grading: Grading) -> ClauseResult:
    found = Findings("client.key_present")
    for intent in grading.intents:
        owned = after_ambiguous(intent)  # a keyless retry after a 5xx is client.no_keyless_retry's
        for n, attempt in enumerate(intent.attempts):
            if n in owned:
                continue
            found.judged += 1
            if attempt.key is None:
                found.fail("a create without an Idempotency-Key", attempt.show())
    return found.result(_requests(grading), passed=f"{found.judged} create(s), each with a key")


@check("client.key_format")
def key_format(grading: Grading) -> ClauseResult:
    found = Findings("client.key_format")
    for attempt in grading.attempts:
        if attempt.key is not None:
            found.judged += 1
            problem = key_problem(attempt.key)
            if problem:
                found.fail(problem, attempt.show())
    return found.result(_requests(grading), passed=f"{found.judged} key(s) match the spec's pattern")


@check("client.same_key_on_retry")
def same_key_on_retry(grading: Grading) -> ClauseResult:
    found = Findings("client.same_key_on_retry")
    for intent in grading.intents:
        for n, attempt in enumerate(intent.attempts):
            follow = intent.follow_up(n)
            # After a refusal (400, 401...) a corrected request may take a new key or body.
            if follow is None or not attempt.retryable or attempt.key is None or follow.key is None:
                continue  # keyless retries are client.key_present's and client.no_keyless_retry's
            found.judged += 1
            if follow.key != attempt.key:
                found.fail("a retry with a different key", f"{attempt.show()}; then {follow.show()}")
            elif follow.body != attempt.body:
                found.fail("a retry with the same key and a body that is not byte-identical",
                           f"{attempt.show()}; then {follow.show()}")
    if grading.renamed:
        found.notes.append(f"{grading.renamed} create(s) with a new name but an earlier attempt's key and body were "
                           "counted as retries of that intent (intents are told apart by name: README)")
    return found.result(_requests(grading), passed=f"{found.judged} retr(ies), each with the same key and body")


@check("client.new_key_per_intent")
def new_key_per_intent(grading: Grading) -> ClauseResult:
    found = Findings("client.new_key_per_intent")
    for run in grading.runs:
        keys: dict[tuple[str, str], dict[str, Attempt]] = defaultdict(dict)
        named = 0
        for intent in grading.in_scenario(run.scenario):
            usable = [a for a in intent.attempts if a.key is not None and key_problem(a.key) is None]
            named += bool(usable)
            for attempt in usable:
                assert attempt.key is not None
                keys[intent.tenant, attempt.key].setdefault(intent.name, attempt)
        if named >= 2:
            found.judged += 1
        for owners in keys.values():
            if len(owners) > 1:
                shown = "; ".join(a.show() for a in owners.values())
                found.fail("one key for different intents", shown)
    found.notes.append("intents are told apart by name; a retry renamed with its key and the rest of its body "
                       "kept is linked to its intent, one that also changes those counts as a new intent (README)")
    return found.result(_requests(grading), passed="distinct intents carried distinct keys",
                        incomplete="" if found.judged else "no scenario had two intents with valid keys "
                                                           "(client.key_format judges the others)")


@check("client.no_keyless_retry")
def no_keyless_retry(grading: Grading) -> ClauseResult:
    found = Findings("client.no_keyless_retry")
    for intent in grading.intents:
        for n, attempt in enumerate(intent.attempts):
            if not attempt.ambiguous:
                continue
            found.judged += 1
            follow = intent.follow_up(n)
            if follow is not None and (attempt.key is None or follow.key is None):
                found.fail("a create retried without a key after an ambiguous outcome, so it may be made twice",
                           f"{attempt.show()}; then {follow.show()}")
    return found.result(_requests(grading), passed=f"{found.judged} ambiguous outcome(s), none retried unkeyed")


def _explained(intent: Intent) -> str:
    """Which check already owns this intent's second avatar, or ""."""
    keys = {a.key for a in intent.created}
    if None in keys:
        return "client.key_present / client.no_keyless_retry"
    return "client.same_key_on_retry" if len(keys) > 1 else ""


@check("client.one_resource_per_intent")
def one_resource_per_intent(grading: Grading) -> ClauseResult:
    found = Findings("client.one_resource_per_intent")
    explained: dict[str, int] = defaultdict(int)
    for intent in grading.in_scenario(*AMBIGUOUS_SCENARIOS):
        made = intent.created
        if not made:
            continue  # refused, or its key was another intent's (client.new_key_per_intent)
        owner = _explained(intent) if len(made) > 1 else ""
        if owner:
            explained[owner] += 1
            continue
        found.judged += 1
        if len(made) > 1:
            found.fail("more than one avatar for one intent", "; ".join(a.show() for a in made))
    found.notes += [f"{n} intent(s) with more than one avatar are owned by {owner}" for owner, n in explained.items()]
    why = ("every intent with two avatars is owned by another check" if explained else
           "no intent of ambiguous-5xx or reset-after-commit created an avatar")
    return found.result(_requests(grading), passed=f"{found.judged} intent(s), one avatar each",
                        incomplete="" if found.judged else why)


@check("client.no_retry_on_invalid")
def no_retry_on_invalid(grading: Grading) -> ClauseResult:
    found = Findings("client.no_retry_on_invalid")
    for intent in grading.intents:
        for n, attempt in enumerate(intent.attempts):
            if attempt.status != 400:
                continue
            found.judged += 1
            follow = intent.follow_up(n)
            if follow is not None and follow.body == attempt.body:
                found.fail("a 400 retried with the same body", f"{attempt.show()}; then {follow.show()}")
    return found.result(_requests(grading), passed=f"{found.judged} 400(s), none retried unchanged")


@check("client.no_retry_on_auth")
def no_retry_on_auth(grading: Grading) -> ClauseResult:
    found = Findings("client.no_retry_on_auth")
    for intent in grading.intents:  # an intent is one credential's: a follow-up reuses the refused key
        for n, attempt in enumerate(intent.attempts):
            if attempt.status != 401:
                continue
            found.judged += 1
            follow = intent.follow_up(n)
            if follow is not None:
                found.fail("a 401 retried with the same credential", f"{attempt.show()}; then {follow.show()}")
    return found.result(_requests(grading), passed=f"{found.judged} 401(s), none retried")


@check("client.no_parallel_same_key")
def no_parallel_same_key(grading: Grading) -> ClauseResult:
    """Every pair of one tenant's requests with one key, in every scenario: the second sent
    before the client was done with the first (``overlaps``: timestamps on one clock), or
    answered 409 request_in_progress while no request the client had given up on could
    hold the key (the server saw both at once)."""
    found = Findings("client.no_parallel_same_key")
    kind = "two requests with one key in flight at once"
    for run in grading.runs:
        for group in same_key(grading.in_scenario(run.scenario)):
            if len(group) < 2:
                continue
            found.judged += 1
            abandoned = False  # a request the client gave up on may still hold the key on the server
            for attempt, busy in in_flight_with(group):
                if busy:
                    first = busy[0]
                    found.fail(kind, f"{first.show()} (until +{first.client_end - first.t0:.3f}s); {attempt.show()}",
                               count=len(busy))
                elif attempt.in_progress and not abandoned:
                    found.fail(kind, f"{attempt.show()} request_in_progress: the server had another request with "
                               "this key in flight")
                abandoned = abandoned or attempt.record.outcome == "client_closed"
    found.notes.append("a request sent before the client was done with another of its key is this check's alone")
    return found.result(_requests(grading), passed=f"{found.judged} key(s) sent more than once, never two at once")
