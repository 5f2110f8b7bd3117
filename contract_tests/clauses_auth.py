"""auth.*: credentials are required, checked exactly, and accepted in both documented forms."""

from __future__ import annotations

from .clause import ClauseContext, clause
from .session import Credentials

# A made-up key: well-formed, never issued.
WRONG_KEY = "avatar-contract-wrong-key-0000000000"


@clause(
    "auth.missing",
    "No credentials → 401 with the error envelope (`authentication_failed`).",
    "A valid body with no auth header, an empty `x-api-key` and `Authorization: Bearer` with no token; each must be "
    "401 with the documented envelope and code.",
)
async def auth_missing(ctx: ClauseContext) -> None:
    body = ctx.bodies.body(ctx.bodies.variants[0])
    cases = [
        ("no credentials", None),
        ("an empty x-api-key", Credentials.literal("x-api-key", "")),
        # "Bearer" alone: a header value may not end in a space on the wire.
        ("a Bearer scheme with no token", Credentials.literal("Authorization", "Bearer")),
    ]
    for label, credential in cases:
        # A correct server creates nothing here, so this is safe on a live target.
        exchange = await ctx.session.post(body, credential=credential)
        ctx.expect_error(exchange, 401, f"{label} (valid body)")


@clause(
    "auth.invalid",
    "A wrong key → 401.",
    "A never-issued key (as `x-api-key` and as Bearer), the real key minus its last character and "
    "plus one character; each must be 401 with the envelope.",
)
async def auth_invalid(ctx: ClauseContext) -> None:
    creds = ctx.credentials
    body = ctx.bodies.body(ctx.bodies.variants[0])
    cases = [
        ("a never-issued x-api-key", Credentials.literal("x-api-key", WRONG_KEY)),
        ("a never-issued Bearer token", Credentials.literal("Authorization", f"Bearer {WRONG_KEY}")),
        ("the key without its last character", creds.truncated()),
        ("the key with a character appended", creds.extended()),
    ]
    for label, credential in cases:
        exchange = await ctx.session.post(body, credential=credential)
        ctx.expect_error(exchange, 401, f"{label} (valid body)")


@clause(
    "auth.bearer",
    "A valid key as `Authorization: Bearer` is accepted like `x-api-key`.",
    "The same invalid body under `x-api-key` and under Bearer must get the same (non-401) answer; "
    "with creation allowed, a valid create under Bearer must be 200 and strict-valid.",
    creates=(1, 1),
)
async def auth_bearer(ctx: ClauseContext) -> None:
    creds = ctx.credentials
    # Cheap first: an invalid body is refused *after* authentication, so the
    # two headers must lead to the same refusal.
    by_key = await ctx.session.post({}, credential=creds.api_key())
    by_bearer = await ctx.session.post({}, credential=creds.bearer())
    ctx.cases += 1
    if by_key.status != 401:
        ctx.check(
            by_bearer.status == by_key.status,
            f"an invalid body got {by_key.status} with x-api-key but {by_bearer.summary()} with Bearer",
            by_bearer,
        )
    if not ctx.budget.can(1):
        ctx.note("valid create under Bearer not sent: creation not allowed (--allow-create)")
        return
    body = ctx.bodies.body(ctx.bodies.variants[0], name="Bearer auth check")
    exchange = await ctx.session.post(body, credential=creds.bearer(), creates=True)
    ctx.expect_created(exchange, body, "a valid create with Authorization: Bearer")
