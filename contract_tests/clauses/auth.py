"""auth.*: credentials are required, checked exactly, and accepted in both documented forms."""

from __future__ import annotations

from typing import Any

from ..planning.budget import ValidBodyRefused
from ..probes.bodies import BodyFactory
from ..targets.credentials import Credentials
from ..targets.exchange import Credential, Exchange
from .attribution import CONTENT_JUDGED, body_field
from .clause import ClauseContext, clause

# A made-up key: well-formed, never issued.
WRONG_KEY = "avatar-contract-wrong-key-0000000000"


async def _refused(ctx: ClauseContext, cases: list[tuple[str, Credential | None]]) -> None:
    """Each credential on an invalid body, then on a valid one (what a server that skips auth would create).

    An invalid body first: nothing is created either way.  Its 401 shows that auth
    is checked; a 400 is allowed too (the spec does not say whether auth or the
    body is checked first) but shows nothing about auth.  Valid bodies follow
    where the ledger allows them (with --allow-create each holds a create slot;
    without it only one goes out, and only after a 401 showed that auth is checked):
    those must be 401.  No 401 anywhere: not judged, never a pass.
    """
    proved = 0
    for label, credential in cases:
        exchange = await ctx.session.post({}, credential=credential)
        if exchange.status == 400:
            ctx.note(f"{label}: the body is checked before credentials here (allowed: an invalid body got 400), "
                     "so auth is judged on a valid body")
            continue
        if exchange.status in CONTENT_JUDGED:
            # attribution.body_refusal: the body was judged first, with the wrong status (that is
            # request.rejects_invalid's defect); it shows nothing about credentials.
            ctx.note(f"{label} on an invalid body got {exchange.status}: the target judged the body before "
                     "credentials (its status is request.rejects_invalid's to judge), so only a valid body shows auth")
            continue
        proved += ctx.expect_error(exchange, 401, f"{label} (invalid body)")
    body: dict[str, Any] | None = ctx.bodies.body(ctx.bodies.variants[0])
    for label, credential in cases:
        if body is None:
            break
        try:
            exchange = await ctx.session.post(body, credential=credential)
            if (named := _body_refusal(ctx, exchange, label)) is not None:
                body = _without(ctx.bodies, body, named)  # once more without it, where it is optional
                if body is None or _body_refusal(ctx, exchange := await ctx.session.post(
                        body, credential=credential), label) is not None:
                    continue
        except ValidBodyRefused:
            ctx.note("the remaining valid-body probes were not sent: without --allow-create at most one "
                     "valid body goes out, after an invalid one drew a 401")
            break
        proved += ctx.expect_error(exchange, 401, f"{label} (valid body)")
    if not proved and not ctx.failures:
        ctx.incomplete("no probe drew a 401: the target answers invalid bodies 400 before checking credentials, "
                       "and a valid body without them needs --allow-create (it holds a create slot)")


def _body_refusal(ctx: ClauseContext, exchange: Exchange, label: str) -> str | None:
    """attribution.body_refusal: the body field a 400 names (the body was refused, not the credentials)."""
    f = ctx.bodies
    named = body_field(exchange, {f.union.property, *(p for v in f.variants for p in f.branch(v).properties)})
    if named is not None:
        ctx.note(f"{label} (valid body) got 400 naming the body's {named!r}: a refusal of the body, not of the "
                 "credentials, so auth is not judged on it (attribution.body_refusal; see request.variants)")
    return named


def _without(f: BodyFactory, body: dict[str, Any], name: str) -> dict[str, Any] | None:
    """``body`` without the optional property ``name``, if that is still a valid body."""
    variant = str(body.get(f.union.property))
    if name not in body or variant not in f.variants or name in f.branch(variant).required:
        return None
    lighter = {k: v for k, v in body.items() if k != name}
    return lighter if f.linter.lint_request(lighter).valid else None


@clause(
    "auth.missing",
    "No credentials → 401 (the envelope is errors.envelope's).",
    "No auth header, an empty `x-api-key` and `Authorization: Bearer` with no token, on an invalid body "
    "(401, or 400 where the body is checked first) and then on a valid one (401).",
)
async def auth_missing(ctx: ClauseContext) -> None:
    await _refused(ctx, [
        ("no credentials", None),
        ("an empty x-api-key", Credentials.literal("x-api-key", "")),
        # "Bearer" alone: a header value may not end in a space on the wire.
        ("a Bearer scheme with no token", Credentials.literal("Authorization", "Bearer")),
    ])


def near_misses(creds: Credentials) -> list[tuple[str, Credential]]:
    """The real key changed the ways a careless comparison forgives, each a wrong key: case folded,
    whitespace inside, a character more or less at either end or changed at the end (a prefix or
    length-limited compare), and the key under the wrong scheme or header (a scheme prefix
    stripped or ignored).  Leading and trailing whitespace is not sent: HTTP strips it from a
    header value, so a correct server sees the valid key.  Each derived value is redacted like
    the key itself."""
    key, var = creds.key(1), creds.VARIABLES[0]
    ref = "${" + var + "}"
    middle = max(1, len(key) // 2)
    changed = "y" if key[-1:] == "x" else "x"
    candidates = [
        ("the key in upper case", "x-api-key", key.upper(), "${" + var + "^^}"),
        ("the key in lower case", "x-api-key", key.lower(), "${" + var + ",,}"),
        ("the key without its first character", "x-api-key", key[1:], "${" + var + ":1}"),
        ("the key with a character prepended", "x-api-key", "x" + key, "x" + ref),
        ("the key with its last character changed", "x-api-key", key[:-1] + changed, "${" + var + "%?}" + changed),
        ("the key with a space inside", "x-api-key", f"{key[:middle]} {key[middle:]}",
         "${" + var + f":0:{middle}}} ${{{var}:{middle}}}"),
        ("the key after 'Bearer ' in x-api-key", "x-api-key", f"Bearer {key}", f"Bearer {ref}"),
        ("the key as Authorization with no scheme", "Authorization", key, ref),
        ("the key under the Basic scheme", "Authorization", f"Basic {key}", f"Basic {ref}"),
        ("a Bearer token in upper case", "Authorization", f"Bearer {key.upper()}", "Bearer ${" + var + "^^}"),
    ]
    out: list[tuple[str, Credential]] = []
    for label, header, value, shown in candidates:
        if header == "Authorization" and value == f"Bearer {key}":
            continue  # the real credential
        if header == "x-api-key" and (value == key or not value):
            continue  # the transformation changes nothing for this key
        out.append((label, creds.near_miss(header, value, shown)))
    return out


@clause(
    "auth.invalid",
    "A wrong key → 401.",
    "A never-issued key (as `x-api-key` and as Bearer), and the real key as a careless comparison "
    "forgives it (minus or plus a character at either end, its last one changed, upper or lower case, "
    "a space inside, under the wrong scheme or header), on an invalid body (401, or 400 where the body "
    "is checked first) and then a valid body (401).",
)
async def auth_invalid(ctx: ClauseContext) -> None:
    creds = ctx.credentials
    await _refused(ctx, [
        ("a never-issued x-api-key", Credentials.literal("x-api-key", WRONG_KEY)),
        ("a never-issued Bearer token", Credentials.literal("Authorization", f"Bearer {WRONG_KEY}")),
        ("the key without its last character", creds.truncated()),
        ("the key with a character appended", creds.extended()),
        *near_misses(creds),
    ])


@clause(
    "auth.bearer",
    "A valid key as `Authorization: Bearer` is accepted like `x-api-key`.",
    "The same invalid body under `x-api-key` and under Bearer must get the same (non-401) answer; "
    "with creation allowed, the plan's create under Bearer must be accepted (a refusal is split from the body).",
)
async def auth_bearer(ctx: ClauseContext) -> None:
    creds = ctx.credentials
    # Cheap first: the same invalid body under x-api-key, under Bearer and with no
    # credentials.  Where the key's answer differs from no credentials' (auth is
    # checked first), Bearer must get the key's answer; where they are the same
    # (the body is checked first), the comparison shows nothing about Bearer.
    by_key = await ctx.session.post({}, credential=creds.api_key())
    by_bearer = await ctx.session.post({}, credential=creds.bearer())
    by_none = await ctx.session.post({}, credential=None)
    if by_key.status not in (0, 401) and by_none.status != by_key.status:
        ctx.cases += 1
        ctx.check(
            by_bearer.status == by_key.status,
            f"an invalid body got {by_key.status} with x-api-key but {by_bearer.summary()} with Bearer",
            by_bearer,
        )
    elif by_key.status == by_none.status:
        ctx.note(f"an invalid body gets {by_key.status} with and without credentials: only a valid create "
                 "shows whether Bearer is accepted")
    if not ctx.target.may_create:
        ctx.note("valid create under Bearer not sent: creation not allowed (--allow-create)")
        if not ctx.cases and not ctx.failures:
            ctx.incomplete("Bearer could not be told apart on an invalid body (the target checks the body "
                           "before credentials): a valid create under Bearer needs --allow-create")
        return
    await ctx.judge_facts()
