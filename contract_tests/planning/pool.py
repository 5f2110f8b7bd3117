"""The create pool: the plan's creates sent once per run, their answers judged by every clause.

Each planned create proves several facts.  When one is refused, the pool
splits it before blaming anyone: the same body again with ``x-api-key`` and a
fresh key (did Bearer or the key edge cause it?), then with the string limits
relaxed (did the limit?).  Whatever is left is the body's fault.  A split costs
a create only if the resend succeeds, and is counted like any other.

Under pytest-xdist the first worker to need the pool runs it and leaves the
exchanges (credentials removed) in the run's shared directory for the others
(:mod:`.pool_result`).  The in-flight race is :mod:`.in_flight_race`; the bodies, :mod:`.planned_bodies`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..clauses.attribution import rate_limited
from ..clauses.tenancy import first_tenant_resources
from ..probes.bodies import BodyFactory
from ..probes.keys import NO_KEY, fresh_key, is_valid_key, valid_keys
from ..targets.exchange import Credential, Exchange
from ..targets.session import RateLimited, Session
from . import in_flight_race
from .budget import BudgetExhausted, TargetStopped
from .packed_refusals import BODY_FACTS, mark_packed, unblame
from .planned_bodies import planned_body
from .planner import CreatePlan, Fact, PlannedCreate, source_place
from .pool_result import FAILED, NEEDS_INPUT, PACKED, PROVEN, RESCUE, UNRUN, FactOutcome, PoolResult
from .retry_bodies import RetryBodies

VARIANTS = "request.variants"  # the owner of a refused valid body


def _ok(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 300


def _position(key: str, field_: str) -> int | None:
    """The list position of a ``source:<variant>:<field>[i]:<source>`` fact, else None."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] != "source" or not parts[2].startswith(f"{field_}["):
        return None
    return int(parts[2][len(field_) + 1:-1])


def _sent_with(c: PlannedCreate) -> list[Fact]:
    """The facts the create's own answer shows: all but the follow-ups still to send (the race's
    answers are the create's own)."""
    return [x for x in c.facts if not x.key.startswith("follow:") or x.key == "follow:in_flight"]


class _Pool:
    def __init__(self, plan: CreatePlan, f: BodyFactory, session: Session, embedded: bool) -> None:
        self.plan, self.f, self.session, self.embedded = plan, f, session, embedded
        self.result = PoolResult(plan)
        self.groups: dict[int, str] = {}
        self.made: list[str] = []  # ids of the avatars this run's creates made (a reference value names one)
        self.keys = dict(valid_keys())
        # Planned creates the target accepted, with the answer that accepted them.
        self.good: list[tuple[PlannedCreate, dict[str, Any], Exchange]] = []
        # (variant, list field) -> the length refused when only the count differed (maxItems guilty).
        self.refused_length: dict[tuple[str, str], int] = {}

    def settle(self, facts: tuple[Fact, ...] | list[Fact], state: str, exchange: Exchange | None,
               detail: str = "") -> None:
        for fact in facts:
            if fact.key not in self.result.outcomes or self.result.outcomes[fact.key].state == UNRUN:
                self.result.outcomes[fact.key] = FactOutcome(fact, state, exchange, detail)

    def body(self, c: PlannedCreate) -> dict[str, Any] | None:
        return planned_body(self.f, c, self.groups, self.made)

    async def send(self, body: dict[str, Any], key: str | None, credential: Credential) -> Exchange:
        exchange = await self.session.post(body, key=key, credential=credential, creates=True)
        if _ok(exchange):
            self.result.creates.append((body, exchange))
            if exchange.item_id():
                self.made.append(str(exchange.item_id()))
        return exchange

    async def raced(self, body: dict[str, Any], key: str | None, again: bool = False) -> list[Exchange]:
        """The in-flight race, kept with its limiter control (``follow["in_flight_limiter"]``, one
        entry per race; :mod:`.in_flight_race`).  ``again``: it replaces the race before it, which a
        limiter answered throughout (attribution.race_unretried still holds: the race itself is
        never retried request by request)."""
        if again:
            self.result.follow["in_flight"].pop()
            self.result.follow["in_flight_limiter"].pop()
        answers = await self.race(body, key, self.plan.race)
        control = await in_flight_race.limiter_control(self.session, answers)
        self.result.follow.setdefault("in_flight", []).append(answers)
        self.result.follow.setdefault("in_flight_limiter", []).append(control)
        return answers

    async def race(self, body: dict[str, Any], key: str | None, size: int) -> list[Exchange]:
        answers = await in_flight_race.race(self.session, body, key, size)
        self.result.creates += [(body, a) for a in answers if _ok(a)]
        return answers

    async def run_create(self, c: PlannedCreate) -> None:
        body = self.body(c)
        if body is None:
            why = f"not sent: create #{(c.founder or 0) + 1}, whose group it joins, did not succeed" \
                if c.group == "set" else "not sent: no earlier create made the avatar it references"
            riders = [x for x in c.facts if x.key == "auth:bearer" or x.key.split(":", 1)[0] in ("key", "follow")]
            self.settle(riders, UNRUN, None, RESCUE + why)
            self.settle([x for x in c.facts if x not in riders], UNRUN, None, why + " (see request.variants)")
            return
        creds = self.session.credentials
        key = None if c.key_label == NO_KEY else self.keys[c.key_label] if c.key_label else fresh_key()
        credential = creds.bearer() if c.bearer else creds.api_key()
        if "in_flight" in c.follow_ups:
            answers = await self.raced(body, key)
            if all(rate_limited(a) for a in answers) and await in_flight_race.waited_out(self.session, answers):
                answers = await self.raced(body, key, again=True)  # once: the limiter had its say
            exchange = next((a for a in answers if _ok(a)), answers[0])
            if all(rate_limited(a) for a in answers):  # the limiter's: once more, retried, before any verdict
                exchange = await self.send(body, key, credential)
            if self.embedded:  # free in-process: a second race and a retry after it
                again = fresh_key()
                await self.raced(body, again)
                self.result.follow.setdefault("in_flight_retry", []).append(
                    [exchange, await self.send(body, key, credential)])
        else:
            exchange = await self.send(body, key, credential)
        header_facts = [x for x in c.facts if x.key == "auth:bearer" or x.key.startswith("key:")]
        follow_facts = [x for x in c.facts if x.key.startswith("follow:")]
        body_facts = [x for x in c.facts if x not in header_facts and x not in follow_facts]
        if not _ok(exchange):
            accepted = await self.split(c, body, exchange, header_facts, body_facts)
            if accepted is not None and accepted.group_id():
                self.groups[c.index] = str(accepted.group_id())
            self.settle(follow_facts, UNRUN, exchange, RESCUE +
                        f"the create they ride on was answered {exchange.summary(100)} (see request.variants)")
            return
        self.settle(_sent_with(c), PROVEN, exchange)
        group = exchange.group_id()
        if group:
            self.groups[c.index] = group
        self.good.append((c, body, exchange))
        await self.follow_ups(c, body, key, credential, exchange)

    async def rescue(self) -> None:
        """Facts whose create was refused for another fact's reason get a second chance on a body
        the target accepted: a header fact re-sent on it, follow-ups on a fresh create of it."""
        if not self.good:
            return
        for outcome in list(self.result.outcomes.values()):
            if outcome.state != UNRUN or not outcome.detail.startswith(RESCUE):
                continue
            fact = outcome.fact
            creds = self.session.credentials
            if fact.key == "auth:bearer" or fact.key.startswith("key:"):
                body = self.good[0][1]
                label = fact.key.split(":", 1)[1]
                # A new key of the same edge: the refused one may be stored with its refusal.
                key = None if label == NO_KEY else \
                    dict(valid_keys())[label] if fact.key.startswith("key:") else fresh_key()
                cred = creds.bearer() if fact.key == "auth:bearer" else creds.api_key()
                again = await self.send(body, key, cred)
                self.result.outcomes.pop(fact.key)
                self.settle([fact], PROVEN if _ok(again) else FAILED, again,
                            "" if _ok(again) else f"refused on a body the target accepted: {again.summary(120)}")
            elif fact.key.startswith("follow:"):
                name = fact.key.split(":", 1)[1]
                # The second tenant repeats only a body naming none of the first's resources.
                host, body, _ = next((g for g in self.good if name != "tenant_scope"
                                      or not first_tenant_resources(self.f, g[1])), self.good[0])
                rehost = replace(host, follow_ups=(name,), key_label=None, bearer=False, facts=(fact,))
                self.result.outcomes.pop(fact.key)
                await self.run_plain(rehost, body)

    async def run_plain(self, c: PlannedCreate, body: dict[str, Any]) -> None:
        key, credential = fresh_key(), self.session.credentials.api_key()
        if "in_flight" in c.follow_ups:
            answers = await self.race(body, key, self.plan.race)
            self.result.follow.setdefault("in_flight", []).append(answers)
            exchange = next((a for a in answers if _ok(a)), answers[0])
        else:
            exchange = await self.send(body, key, credential)
        if not _ok(exchange):
            self.settle(c.facts, UNRUN, exchange, f"a body accepted before was refused: {exchange.summary(100)}")
            return
        self.settle(_sent_with(c), PROVEN, exchange)
        await self.follow_ups(c, body, key, credential, exchange)

    async def split(self, c: PlannedCreate, body: dict[str, Any], refused: Exchange,
                    header_facts: list[Fact], body_facts: list[Fact]) -> Exchange | None:
        """Find which of the packed facts the refusal belongs to; the accepted resend, if any."""
        last = refused
        if header_facts:
            plain = await self.send(body, fresh_key(), self.session.credentials.api_key())
            if _ok(plain):
                self.settle(header_facts, FAILED, refused, f"refused with {refused.status}; the same body with "
                                                           "x-api-key and a fresh key was accepted")
                self.settle(body_facts, PROVEN, plain)
                self.good.append((c, body, plain))
                return plain
            self.settle(header_facts, UNRUN, refused, RESCUE + "the body itself was refused (see request.variants)")
            last = plain
        for (variant, field_), limit in self.refused_length.items():
            items = body.get(field_)
            if variant == c.variant and isinstance(items, list) and len(items) >= limit:
                self.explained_by_length(c, field_, body_facts, last)  # its length, already shown refused
                return None
        # A value at a limit: the planner's astral one (``limit:``) or a must-accept value the
        # limits' owner holds (precomposed, space-ended, one under): all relaxed in one resend.
        limits = [x for x in body_facts if x.key.endswith(":maxLength")
                  or (x.key.startswith("value:") and x.clause != VARIANTS)]
        if limits:
            props = set(c.at_limit) | {x.key.split(":")[2] for x in limits if x.key.startswith("value:")}
            relaxed = {**body, **{name: "A friendly presenter" for name in props if name in body}}
            valid = self.f.linter.lint_request(relaxed).valid  # a plain value may break another bound
            plain = await self.send(relaxed, fresh_key(), self.session.credentials.api_key()) if valid else last
            if valid and _ok(plain):
                self.settle(limits, FAILED, last, f"refused at the limit ({last.status}); the same body with "
                                                  "a short value was accepted")
                for fact in limits:  # isolated: their own verdict
                    self.result.outcomes[fact.key].retried = True
                self.settle([x for x in body_facts if x not in limits], PROVEN, plain)
                return plain
            if valid:
                last, body = plain, relaxed  # the limit alone does not explain it: go on without it
        accepted: Exchange | None = None
        for fact in [x for x in body_facts if x.key.endswith(":maxItems")]:
            accepted = await self.isolate_count(c, body, fact, body_facts) or accepted
        # "A 200 judged" is not the body's to fail: left to any other 2xx of the pool.
        # Only facts the steps above left without a verdict (settle would overwrite an unrun one).
        body_facts = [x for x in body_facts if x.key not in self.result.outcomes]
        judged = [x for x in body_facts if x.key.startswith("response:")]
        self.settle(judged, UNRUN, last, "the create was refused (see request.variants)")
        # A refused body is request.variants' finding.  Another clause's fact packed in it (a value
        # at a limit, which the split above did not single out) is not blamed for it: unjudged
        # until it is re-tried alone (exonerate), so one defect never fails a second clause.
        theirs = [x for x in body_facts if x not in judged and x.clause != VARIANTS]
        self.settle(theirs, UNRUN, last, PACKED + "packed in a create refused for another reason "
                                                  "(see request.variants)")
        self.settle([x for x in body_facts if x not in judged and x not in theirs], FAILED, last,
                    f"refused: {last.summary(120)}")
        return accepted

    async def isolate_count(self, c: PlannedCreate, body: dict[str, Any], fact: Fact,
                            body_facts: list[Fact]) -> Exchange | None:
        """Is the list's length (maxItems) what was refused?  Its first item alone, then that item
        maxItems times: refused only at full length, the count is guilty; both accepted, the count
        is proven and another item's source is left to :meth:`exonerate`.  The first accepted
        resend, if any (a body of the variant the target accepts, which later retries build on)."""
        field_ = fact.key.split(":")[2]
        items = body.get(field_)
        if not isinstance(items, list) or len(items) < 2:
            return None
        one = {**body, field_: items[:1]}
        alone = await self.send(one, fresh_key(), self.session.credentials.api_key())
        if not _ok(alone):
            return None
        self.good.append((c, one, alone))
        first = f"source:{c.variant}:{field_}[0]:"
        shown = [x for x in body_facts if x.key.startswith(("variant:", "group:", first))
                 or (x.key.startswith("source:") and f":{field_}[" not in x.key)]
        self.settle(shown, PROVEN, alone)
        copies = {**body, field_: [self.f.copy(items[0]) for _ in items]}
        full = await self.send(copies, fresh_key(), self.session.credentials.api_key())
        if _ok(full):
            self.good.append((c, copies, full))
            self.settle([fact], PROVEN, full)
            return alone  # the count is fine: another item's source is left to exonerate
        self.settle([fact], FAILED, full, f"refused with {len(items)} copies of an item accepted alone: "
                                          f"{full.summary(120)}")
        self.result.outcomes[fact.key].retried = True  # isolated: its own verdict, never re-tried
        self.refused_length[(c.variant, field_)] = len(items)
        self.explained_by_length(c, field_, [x for x in body_facts if x not in shown], full)
        return alone

    def explained_by_length(self, c: PlannedCreate, field_: str, facts: list[Fact], exchange: Exchange) -> None:
        """A list of this length is refused (request.rejects_invalid's finding), which explains the
        create's refusal: its sources at a position a shorter list can carry are re-tried alone,
        the others cannot be shown; nothing of it is blamed."""
        limit = self.refused_length[(c.variant, field_)]
        for fact in facts:
            position = _position(fact.key, field_)
            if position is not None and position + 1 >= limit:
                self.settle([fact], UNRUN, exchange, f"a list of {limit} {field_} is refused (see "
                                                     "request.rejects_invalid), so a source at this position "
                                                     "cannot be shown")
            elif fact.key.startswith("response:"):
                self.settle([fact], UNRUN, exchange, "the create was refused (see request.variants)")
            else:
                self.settle([fact], UNRUN, exchange, PACKED + f"packed in a create whose {limit} {field_} are "
                                                              "refused (see request.rejects_invalid)")

    async def follow_ups(self, c: PlannedCreate, body: dict[str, Any], key: str | None, credential: Credential,
                         original: Exchange) -> None:
        for name in c.follow_ups:
            if name == "in_flight":
                continue
            if key is None:  # (the planner never hosts one on the create sent without a key)
                self.settle([x for x in c.facts if x.key == f"follow:{name}"], UNRUN, None,
                            "not sent: the create it rides on sent no Idempotency-Key")
                continue
            if name == "replay" and not self.embedded:
                # Sent by idempotency.replay at its own turn, as late in the run as it gets (its slot
                # stays in the plan): a replay rendered from the resource's current state instead
                # of the stored answer shows only once that state has moved on (training).  The
                # in-process emulator is a fresh app per clause, so there the pool sends it now.
                self.result.follow.setdefault("replay_later", []).append([original])
                self.settle([x for x in c.facts if x.key == "follow:replay"], PROVEN, original)
                continue
            if name == "replay":
                again = await self.send(body, key, credential)
            elif name == "replay_body_differs":
                again = await self.send(self.f.vary(body), key, credential)
            elif name == "key_case":
                if key.swapcase() == key or not is_valid_key(key.swapcase()):
                    self.settle([x for x in c.facts if x.key == "follow:key_case"], UNRUN, original,
                                "the host create's key has no letter whose case can be swapped")
                    continue
                again = await self.send(body, key.swapcase(), credential)
            elif foreign := first_tenant_resources(self.f, body):  # (the planner never packs one)
                self.settle([x for x in c.facts if x.key == f"follow:{name}"], UNRUN, None,
                            f"not sent: the body names the first tenant's {', '.join(foreign)}")
                continue
            else:  # tenant_scope: the same key and body under the second tenant
                again = await self.send(body, key, self.session.credentials.api_key(2))
            self.result.follow.setdefault(name, []).append([original, again])
            # Proven only once its pair exists: a follow-up the cap stopped stays unrun, with the reason.
            self.settle([x for x in c.facts if x.key == f"follow:{name}"], PROVEN, again)

    async def run(self) -> PoolResult:
        for missing in self.plan.unrunnable:
            self.result.outcomes[missing.fact.key] = FactOutcome(missing.fact, UNRUN, None,
                                                                 NEEDS_INPUT + missing.hint, missing.entry)
        for fact in self.plan.uncovered:
            self.settle([fact], UNRUN, None, f"not planned under --max-creates {self.plan.cap} "
                                             f"(full coverage needs {self.plan.needed})")
        try:
            for c in self.plan.creates:
                await self.run_create(c)
            await self.rescue()
            await self.exonerate()
        except (BudgetExhausted, TargetStopped, RateLimited) as exc:
            self.result.halted = str(exc)
        self.judged_by_any()
        mark_packed(self.result.outcomes)
        for c in self.plan.creates:  # only what no step got to: an unrun fact keeps its own reason
            unsent = [x for x in c.facts if x.key not in self.result.outcomes]
            self.settle(unsent, UNRUN, None, f"not sent: {self.result.halted or 'the pool stopped'}")
        self.result.exchanges = list(self.session.exchanges)
        return self.result

    async def exonerate(self) -> None:
        """A refused packed create blames every body fact it carried, whichever clause owns it;
        re-try each alone on a body the target accepted, so only the guilty ones fail.

        Only facts that failed together on one refused answer are re-tried, each at most once:
        every retry is a real create, counted by the ledger like the plan's.
        """
        packed: dict[int, list[FactOutcome]] = {}
        for outcome in self.result.outcomes.values():
            blamed = outcome.state == FAILED or (outcome.state == UNRUN and outcome.detail.startswith(PACKED))
            if blamed and outcome.exchange is not None and outcome.fact.key.split(":", 1)[0] in BODY_FACTS:
                packed.setdefault(id(outcome.exchange), []).append(outcome)
        bodies = RetryBodies(self.f, [body for _, body, _ in self.good], self.group_choices())
        groups = [outcomes for outcomes in packed.values() if len(outcomes) >= 2]  # alone: its own verdict
        try:
            for outcomes in groups:
                for outcome in outcomes:
                    if not outcome.retried:  # (isolated already: its own verdict)
                        await self.retry_alone(outcome, bodies)
        except BudgetExhausted as exc:
            self.result.halted = str(exc)
            refused = {p for g in groups for o in g if o.retried and (p := source_place(o.fact.key)) is not None}
            for outcomes in groups:
                unblame(outcomes, refused, str(exc))

    async def retry_alone(self, outcome: FactOutcome, bodies: RetryBodies) -> None:
        kind, variant = outcome.fact.key.split(":")[:2]
        if kind == "variant":
            # "accepted" needs no retry: an accepted create of the variant shows it, and
            # resending that very body would spend a create to learn nothing new.
            shown = next((e for _, b, e in self.good if b.get(self.f.union.property) == variant), None)
            if shown is not None:
                outcome.state, outcome.exchange, outcome.detail = PROVEN, shown, ""
            return
        for (refused_variant, field_), limit in self.refused_length.items():
            position = _position(outcome.fact.key, field_)
            if refused_variant == variant and position is not None and position + 1 >= limit:
                return  # only a list the target refuses could carry it (see explained_by_length)
        body = bodies.build(outcome.fact)
        if body is None:
            return  # no fair body carries it alone: the packed verdict stands
        again = await self.send(body, fresh_key(), self.session.credentials.api_key())
        if _ok(again):
            outcome.state, outcome.exchange, outcome.detail = PROVEN, again, ""
        else:
            outcome.state, outcome.exchange = FAILED, again
            outcome.detail = f"refused on its own: {again.summary(120)}"
            outcome.retried = True

    def group_choices(self) -> list[tuple[str | None, str]]:
        """Groups a retry may join, best first: the fixture's (as the plan joins it), then those
        the target issued, each with the variant of the create it was issued to."""
        out: list[tuple[str | None, str]] = []
        if self.f.existing_group is not None:
            out.append((None, self.f.existing_group))
        variants = {c.index: c.variant for c in self.plan.creates}
        out += [(variants.get(index), group) for index, group in self.groups.items()]
        return out

    def judged_by_any(self) -> None:
        """"A 200 judged" facts are proven by any accepted create (of the variant, for the schema)."""
        for outcome in list(self.result.outcomes.values()):
            if outcome.state != UNRUN or not outcome.fact.key.startswith("response:"):
                continue
            variant = outcome.fact.key.split(":", 1)[1]
            for body, exchange in self.result.creates:
                if variant in ("status", "content_type") or body.get(self.f.union.property) == variant:
                    outcome.state, outcome.exchange, outcome.detail = PROVEN, exchange, ""
                    break


async def run_pool(plan: CreatePlan, f: BodyFactory, session: Session, embedded: bool) -> PoolResult:
    return await _Pool(plan, f, session, embedded).run()
