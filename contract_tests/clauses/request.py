"""request.*: every valid variant is accepted, every schema-invalid body is refused with 400."""

from __future__ import annotations

from typing import Any

from ..probes.bodies import BodyCase
from ..probes.body_strategies import valid_bodies
from ..probes.generation import collect, schemathesis_requests
from ..probes.invalid_bodies import invalid_cases, mutated_bodies
from ..probes.keys import fresh_key, is_valid_key
from ..probes.schema_probes import keyword_class
from ..targets.exchange import ABSENT
from . import avatar_references
from .clause import ClauseContext, clause


@clause(
    "request.variants",
    "Every variant × file source, prompt with 0–3 `reference_images` (all sources at every position) and "
    "`avatar_group_id` absent, null or set, is accepted.",
    "The planner's creates (derived from the spec's discriminators; a set group is one a previous create "
    "founded); in-process also random valid bodies from a hypothesis strategy. The body's schema is "
    "response.schema's. Creation-gated.",
    needs_create=True,
)
async def request_variants(ctx: ClauseContext) -> None:
    await ctx.judge_facts()
    pool = await ctx.pool()
    await avatar_references.saved_groups(ctx, pool)  # the June spec's avatar_id: the group it joins
    for body, exchange in pool.creates:
        ctx.owned_elsewhere(exchange, body)
    if not ctx.target.embedded:
        return  # live, the plan is the budget: nothing beyond it
    f = ctx.bodies
    groups = {str(b.get(f.union.property)): str(e.group_id()) for b, e in pool.creates if e.group_id()}
    strategy = valid_bodies(f, groups)
    for index, body in enumerate(collect(strategy, ctx.examples(0.5), ctx.seed, lambda b: b)):
        exchange = await ctx.session.post(body, creates=True)
        ctx.expect_created(exchange, body, f"generated valid body #{index + 1} ({body.get(f.union.property)})")


def _generated_invalid(ctx: ClauseContext) -> list[tuple[str, Any, bytes | None, str | bytes | None]]:
    """schemathesis negative cases whose body the oracle rejects: (label, body, raw, key)."""
    out: list[tuple[str, Any, bytes | None, str | bytes | None]] = []
    for index, case in enumerate(schemathesis_requests("negative", ctx.examples(2.0), ctx.seed)):
        invalid_body = case.raw is not None or case.body is ABSENT or \
            not ctx.bodies.linter.lint_request(case.body).valid
        if not invalid_body:
            continue  # only the header was negative; idempotency.key_format covers keys
        # A reused valid key could replay some earlier 200; only a bad key is kept as is.
        key = case.key if (case.key is not None and not is_valid_key(case.key)) else fresh_key()
        out.append((f"schemathesis negative case #{index + 1}", case.body, case.raw, key))
    return out


async def _under_every_scheme(ctx: ClauseContext, cases: tuple[BodyCase, ...]) -> None:
    """One case of each keyword class again under each other security scheme the spec declares
    (Bearer): validation must not depend on how the caller authenticated.  A 401 there is
    auth.bearer's finding (noted); a 2xx or another status is this clause's."""
    firsts: dict[str, BodyCase] = {}
    for case in cases:
        if case.covers:
            firsts.setdefault(keyword_class(case), case)
    for name, case in firsts.items():
        exchange = await ctx.session.post(case.body, raw=case.raw, credential=ctx.credentials.bearer())
        if exchange.status == 401:
            ctx.note("an invalid body under Authorization: Bearer got 401: see auth.bearer")
            continue
        ctx.expect_error(exchange, 400, f"{case.label}, under Authorization: Bearer ({name})")


@clause(
    "request.rejects_invalid",
    "Schema-invalid bodies get 400 `invalid_parameter`, never 2xx, 422 or 5xx.",
    "Cases derived from every keyword of the request schema (each required entry missing, every other "
    "JSON type, const case and whitespace variants, one code point over each maxLength as bytes, UTF-16, "
    "graphemes, NFC or trimming would miscount it, maxItems + 1, an unknown property at each closed "
    "object), raw bodies (trailing bytes, deep nesting, edge numbers, non-UTF-8), one per keyword class "
    "again under Bearer, schemathesis negative cases and hypothesis mutants — all confirmed invalid by "
    "the linter; plus valid bodies at each limit (the planner's creates: exactly maxLength astral, "
    "precomposed and space-ended, one under, maxItems), which must be accepted (creation-gated).",
)
async def request_rejects_invalid(ctx: ClauseContext) -> None:
    f = ctx.bodies
    cases = invalid_cases(f)
    for case in cases:
        exchange = await ctx.session.post(case.body, raw=case.raw)
        ctx.expect_error(exchange, 400, case.label)
    await _under_every_scheme(ctx, cases)
    for label, body, raw, key in _generated_invalid(ctx):
        exchange = await ctx.session.post(body, raw=raw, key=key)
        ctx.expect_error(exchange, 400, label)
    valid = valid_bodies(f, {})
    for index, case in enumerate(collect(mutated_bodies(f, valid), ctx.examples(1.0), ctx.seed, lambda c: c)):
        exchange = await ctx.session.post(case.body)
        ctx.expect_error(exchange, 400, f"mutant #{index + 1}: {case.label}")
    if ctx.target.may_create:
        await ctx.judge_facts()  # valid bodies exactly at each limit: the planner's creates
        # A referenced avatar that is missing, another account's or outside the group sent (June spec).
        await avatar_references.refusals(ctx, await ctx.pool())
    else:
        # (a valid body with a wrong reference too: a server that wrongly takes it would create)
        ctx.note("valid bodies at the limits not sent: creation not allowed (--allow-create)")
