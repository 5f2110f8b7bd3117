"""The preflight: is this the right target, reachable, with usable keys?  Checked before any create.

A wrong target must not get hundreds of requests and a report of failing
clauses; it gets one line and exit 2.  Caught here:

* a key that cannot be sent, no key, or the same key given for both tenants;
* a base URL that already ends in the route (the suite appends it: the route
  is read from the spec), with the corrected URL;
* a target nobody answers on (the transport error named);
* a server that answers none of the probes with JSON, with one status for all
  of them or with a web page (an HTML 501);
* a server that answers every probe with statuses the spec does not
  document for the route (404, 405, 501, a redirect): not this API (a 422,
  413 or 415 judged the request's content: this API, broken, left to the clauses);
* a key the target refuses (401).

The probes are requests no correct server can turn into a create: an
invalid body with the key, without auth and with a wrong key, and a body
that is not JSON.  On a broken server any of them may be one, so each holds a
slot of the run's create ledger like every other request: a 2xx trips the
circuit breaker, the probing stops there, and the run goes on with requests
that cannot create (the report says why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..clauses.attribution import CONTENT_JUDGED
from ..clauses.checks import linter
from ..planning.budget import BudgetExhausted, Ledger, TargetStopped
from ..reports.redact import Scrubber
from .credentials import Credentials
from .exchange import ABSENT, Credential, Exchange
from .session import Session, UnsendableRequest
from .suite_spec import suite_spec
from .target import Target, check_keys
from .transport import ERROR_HEADER

WRONG_KEY = "avatar-contract-preflight-wrong-key"
# Statuses that, answered to every probe, say "not this API" rather than "a broken
# implementation of it": client errors and redirects, and the gateway's
# "not implemented / bad gateway / unavailable / timeout".  A server that answers
# 500 to everything is broken, and the clauses say so.
_WRONG_TARGET_5XX = (501, 502, 503, 504)


class TargetUnusable(Exception):
    """The target cannot be tested at all (unreachable, wrong URL, key refused): exit 2."""


@dataclass(frozen=True)
class Probe:
    """One preflight request, and the clause that owns its answer: what a correct server says."""

    owner: str
    expected: int
    label: str


# In the order sent; each pairs with the (body, raw, credential) built in _probe.
PROBES = (
    Probe("request.rejects_invalid", 400, "the preflight's empty JSON object {} (with the key)"),
    Probe("auth.missing", 401, "the preflight's {} without credentials"),
    Probe("auth.invalid", 401, "the preflight's {} with a wrong x-api-key"),
    Probe("request.rejects_invalid", 400, "the preflight's body that is not JSON (with the key)"),
)
PROBE_COUNT = len(PROBES)  # requests the preflight sends (none can create on a correct server)


@dataclass
class PreflightResult:
    """What the probes saw, for callers that want more than pass/raise."""

    exchanges: list[Exchange] = field(default_factory=list)

    def refusals(self) -> list[tuple[Probe, Exchange]]:
        """The probes a correct server refuses that were answered 2xx: evidence for their owners."""
        return [(probe, e) for probe, e in zip(PROBES, self.exchanges, strict=False) if 200 <= e.status < 300]

    @property
    def statuses(self) -> list[int]:
        return [e.status for e in self.exchanges]

    @property
    def accepted_a_refusal(self) -> bool:
        """A 2xx to a probe every correct server refuses: the target may create on anything."""
        return any(200 <= e.status < 300 for e in self.exchanges)


def _route() -> str:
    return suite_spec().path


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def corrected_base_url(base_url: str, route: str) -> str | None:
    """``base_url`` without a trailing copy of ``route`` (or of its leading segments), or None."""
    url = httpx.URL(base_url)
    have, want = _segments(url.path), _segments(route)
    for size in range(len(want), 0, -1):
        if len(have) >= size and [s.lower() for s in have[-size:]] == [s.lower() for s in want[:size]]:
            kept = "/" + "/".join(have[:-size]) if have[:-size] else ""
            return str(url.copy_with(path=kept or "/", query=None, fragment=None)).rstrip("/")
    return None


def _ends_in(base_url: str, route: str) -> bool:
    have, want = _segments(httpx.URL(base_url).path), _segments(route)
    return bool(want) and [s.lower() for s in have[-len(want):]] == [s.lower() for s in want]


def check_target(target: Target) -> None:
    """What can be told without sending anything; raises :class:`TargetUnusable`."""
    if not target.embedded and not target.api_key:
        raise TargetUnusable("no API key: pass --api-key or set AVATAR_API_KEY")
    try:
        check_keys(target)
    except ValueError as exc:
        raise TargetUnusable(str(exc)) from None
    if target.api_key and target.second_api_key and target.api_key == target.second_api_key:
        raise TargetUnusable("the first and second API keys are the same key, so idempotency.tenant_scope "
                             "would compare a tenant with itself; give a key of another account, or none "
                             "(--second-api-key / AVATAR_API_KEY_2)")
    route = _route()
    if target.base_url is not None and _ends_in(target.base_url, route):
        fixed = corrected_base_url(target.base_url, route)
        raise TargetUnusable(f"the base URL already ends in the route {route}, which the suite appends; "
                             f"use --base-url {fixed} (given: {target.display_url})")


def _is_json(exchange: Exchange) -> bool:
    # The body, not the Content-Type: a JSON error served as text/plain is still
    # this API (response.content_type judges that); an HTML page is not.
    return bool(exchange.content) and exchange.json is not ABSENT


def _not_this_api(status: int) -> bool:
    if linter().contract.response_for(status) is not None or status in CONTENT_JUDGED:
        return False
    return 300 <= status < 500 or status in _WRONG_TARGET_5XX


def _shown(exchange: Exchange) -> str:
    media = exchange.content_type or "no Content-Type"
    text = exchange.content[:60].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"{exchange.status} {media}" + (f": {text!r}" if text else "")


def _hint(target: Target) -> str:
    fixed = corrected_base_url(str(target.base_url), _route()) if target.base_url else None
    if fixed is not None:
        return f"the base URL ends in the start of the route {_route()}: try --base-url {fixed}"
    return f"check that --base-url is the API's base URL (the suite appends {_route()})"


# Told as each probe goes out (waiting=False) and again if it is still unanswered
# after SLOW_PROBE seconds (waiting=True): (its number from 1, how many, what it is, waiting).
OnProbe = Callable[[int, int, str, bool], None]
SLOW_PROBE = 1.0


async def _probe(target: Target, client: httpx.AsyncClient, credentials: Credentials,
                 ledger: Ledger, on_probe: OnProbe | None = None) -> PreflightResult:
    result = PreflightResult()
    session = Session(client, credentials, ledger, _route(), timeout=target.timeout)
    where = f"{target.display_url}{_route()}"
    probes: list[tuple[object, bytes | None, Credential | None]] = [
        ({}, None, session.credentials.api_key()),
        ({}, None, None),
        ({}, None, Credentials.literal("x-api-key", WRONG_KEY)),
        (None, b"avatar-contract preflight: not JSON", session.credentials.api_key()),
    ]
    assert len(probes) == PROBE_COUNT
    for number, (body, raw, credential) in enumerate(probes, 1):
        slow = None
        if on_probe is not None:
            on_probe(number, PROBE_COUNT, PROBES[number - 1].label, False)
            slow = asyncio.get_running_loop().call_later(SLOW_PROBE, on_probe, number, PROBE_COUNT,
                                                         PROBES[number - 1].label, True)
        try:
            exchange = await session.post(body, raw=raw, credential=credential, retry_429=False)
        except UnsendableRequest as exc:
            raise TargetUnusable(str(exc)) from None
        except TargetStopped:
            exchange = session.stopped_at  # type: ignore[assignment]  # set before it is raised
        except BudgetExhausted:
            # A probe was answered 2xx (the breaker tripped) or the cap is spent: this server
            # creates where it must refuse.  Nothing more that could create goes out; the
            # clauses report what that leaves unjudged.
            break
        finally:
            if slow is not None:
                slow.cancel()
        result.exchanges.append(exchange)
        if exchange.body_lost and not 200 <= exchange.status < 300:
            # A refusal whose body never completes: nothing can be judged (a 2xx is kept:
            # it counts as a create, and its owner fails on it).
            raise TargetUnusable(f"{target.display_url} answered {exchange.status} but sent no complete body: "
                                 f"{exchange.body_lost}; check --base-url and that the server is up (POST {where})")
        if exchange.status == 0:
            raise TargetUnusable(f"cannot reach {target.display_url}: {exchange.headers.get(ERROR_HEADER)}; "
                                 f"check --base-url and that the server is up (POST {where})")
    if result.accepted_a_refusal:
        return result  # a broken implementation of this API, not a wrong target
    first = result.exchanges[0]
    # No JSON at all, and either one answer for everything or a web page: not this API.
    # (An implementation that tells 400 from 401 but sends bare bodies is this API,
    # broken: errors.envelope reports it.)
    one_answer = len(set(result.statuses)) == 1
    html = any("html" in (e.content_type or "").lower() for e in result.exchanges)
    if not any(_is_json(e) for e in result.exchanges) and (one_answer or html):
        raise TargetUnusable(f"the server does not answer the route with JSON (POST {where} got {_shown(first)}); "
                             f"{_hint(target)}")
    if all(_not_this_api(s) for s in result.statuses):
        seen = ", ".join(str(s) for s in sorted(set(result.statuses)))
        documented = ", ".join(linter().contract.documented_statuses)
        moved = first.headers.get("location")
        extra = f" (redirected to {moved})" if moved and 300 <= first.status < 400 else ""
        raise TargetUnusable(f"every probe POST answered {seen}{extra}, which the spec does not document for "
                             f"the route ({documented}): not this API; {_hint(target)} (POST {where})")
    if first.status == 401:
        raise TargetUnusable(f"{target.display_url} refused the API key (401); check --api-key")
    return result


async def probe(target: Target, client: httpx.AsyncClient, ledger: Ledger | None = None,
                on_probe: OnProbe | None = None) -> PreflightResult:
    """Send the probes and judge them; raises :class:`TargetUnusable` (its message scrubbed of keys).

    ``ledger``: the run's, so the probes count against --max-creates (on a broken server
    each could be a create); alone, a ledger of one slot.
    """
    credentials = Credentials(target.primary_key, target.secondary_key)
    try:
        return await _probe(target, client, credentials, ledger or Ledger(1, breaker=True), on_probe)
    except TargetUnusable as exc:
        # A server may echo what it was sent (a page quoting the request): no key survives.
        scrub = Scrubber([*credentials.secrets(), target.api_key, target.second_api_key])
        raise TargetUnusable(scrub.text(str(exc))) from None

