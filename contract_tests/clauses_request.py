"""request.*: every valid variant is accepted, every schema-invalid body is refused with 400."""

from __future__ import annotations

from typing import Any

from .bodies import BodyFactory, valid_bodies
from .budget import BudgetExhausted
from .clause import ClauseContext, clause
from .exchange import ABSENT, Exchange
from .generation import collect, schemathesis_requests
from .keys import fresh_key, is_valid_key
from .mutations import boundary_cases, invalid_cases, mutated_bodies

Case = tuple[str, dict[str, Any], bool]  # label, sources, needs an existing group


def matrix(f: BodyFactory, variant: str) -> list[Case]:
    """Every asset source of every site, 0..maxItems items for list sites, group null or set."""
    out: list[Case] = [("base, avatar_group_id null", {}, False)]
    for site in f.sites(variant):
        values = site.union.values
        if site.many:
            for count in range(0, (site.max_items or len(values)) + 1):
                # Rotated, so every source shows up and the full list mixes all of them.
                picks = [values[(count + i) % len(values)] for i in range(count)]
                label = f"{site.field} with {count} item(s) [{', '.join(picks)}]"
                # Whether these need a group is the spec's word (the advice rule table).
                out.append((label, {site.field: picks}, count > 0 and f.needs_group(variant, site)))
        else:
            for index, source in enumerate(values):
                group = index % 2 == 1
                label = f"{site.field} from {source}, avatar_group_id {'set' if group else 'null'}"
                out.append((label, {site.field: source}, group))
    if not any(needs for _, _, needs in out[1:]):
        out.append(("existing avatar_group_id", {}, True))
    return out


async def _create(ctx: ClauseContext, body: dict[str, Any], label: str) -> Exchange:
    exchange = await ctx.session.post(body, creates=True)
    ctx.expect_created(exchange, body, label)
    return exchange


@clause(
    "request.variants",
    "Every variant × file source, prompt with 0–3 `reference_images` (all sources) and "
    "`avatar_group_id` null or set, is accepted with 200 and a strict-valid body.",
    "A matrix derived from the spec's discriminators (each variant's first create founds the group "
    "later cases join), then random valid bodies from a hypothesis strategy. Creation-gated.",
    creates=(3, 40),
    needs_create=True,
)
async def request_variants(ctx: ClauseContext) -> None:
    f = ctx.bodies
    groups: dict[str, str] = {}
    # First pass: one create per variant, so a small --max-creates still covers all of them.
    for variant in f.variants:
        body = f.body(variant)
        exchange = await _create(ctx, body, f"{variant}: base, avatar_group_id null")
        if exchange.status == 200 and exchange.group_id():
            groups[variant] = str(exchange.group_id())
    for variant in f.variants:
        for label, sources, needs_group in matrix(f, variant)[1:]:
            group = groups.get(variant)
            if needs_group and group is None:
                ctx.note(f"{variant}: {label} not sent (no group: the base create failed)")
                continue
            body = f.body(variant, sources=sources, group=group if needs_group else None)
            f.check_valid(body)
            await _create(ctx, body, f"{variant}: {label}")
        group_prop = f.group_property(variant)
        if group_prop:
            body = {k: v for k, v in f.body(variant).items() if k != group_prop}
            await _create(ctx, body, f"{variant}: without {group_prop}")
    strategy = valid_bodies(f, groups)
    for index, body in enumerate(collect(strategy, ctx.examples(0.5), ctx.seed, lambda b: b)):
        await _create(ctx, body, f"generated valid body #{index + 1} ({body.get(f.union.property)})")


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


@clause(
    "request.rejects_invalid",
    "Schema-invalid bodies get 400 `invalid_parameter`, never 2xx, 422 or 5xx.",
    "Targeted cases for every constraint (each required field, each discriminator, maxItems, "
    "maxLength in code points, closed assets, types, non-JSON), schemathesis negative cases and "
    "hypothesis mutants — all confirmed invalid by the linter; plus valid bodies exactly at each "
    "limit, which must be accepted (creation-gated).",
    creates=(1, 4),
)
async def request_rejects_invalid(ctx: ClauseContext) -> None:
    f = ctx.bodies
    for case in invalid_cases(f):
        exchange = await ctx.session.post(case.body, raw=case.raw)
        ctx.expect_error(exchange, 400, case.label)
    for label, body, raw, key in _generated_invalid(ctx):
        exchange = await ctx.session.post(body, raw=raw, key=key)
        ctx.expect_error(exchange, 400, label)
    valid = valid_bodies(f, {})
    for index, case in enumerate(collect(mutated_bodies(f, valid), ctx.examples(1.0), ctx.seed, lambda c: c)):
        exchange = await ctx.session.post(case.body)
        ctx.expect_error(exchange, 400, f"mutant #{index + 1}: {case.label}")
    await _boundaries(ctx)


async def _boundaries(ctx: ClauseContext) -> None:
    f = ctx.bodies
    try:
        for case in boundary_cases(f, {}, lists=False):
            exchange = await ctx.session.post(case.body, creates=True)
            ctx.expect_created(exchange, case.body, f"accepted at the limit: {case.label}")
        # Full lists reference images; where the spec says those need an existing
        # group (the advice rule table), found one per variant (one create each).
        groups: dict[str, str] = {}
        for variant in f.variants:
            if any(site.many and site.max_items and f.needs_group(variant, site) for site in f.sites(variant)):
                founded = await ctx.session.post(f.body(variant), creates=True)
                if founded.status == 200 and founded.group_id():
                    groups[variant] = str(founded.group_id())
        for case in boundary_cases(f, groups, strings=False):
            exchange = await ctx.session.post(case.body, creates=True)
            ctx.expect_created(exchange, case.body, f"accepted at the limit: {case.label}")
    except BudgetExhausted:
        ctx.note("valid bodies at the limits not (all) sent: no creates left (--allow-create / --max-creates)")
