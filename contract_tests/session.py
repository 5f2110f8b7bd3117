"""Sending requests: credentials, the create budget, and 429s that are waited out.

Every clause talks to the target through a :class:`Session`, so the rules
that keep a live run safe and honest live in one place:

* a request that would create an avatar on a correct server (``creates=True``)
  needs a create left in the clause's budget;
* every 2xx to the create route is counted, expected or not;
* a 429 on an ordinary request is shown to ``on_rate_limited`` (which
  validates it) and retried after ``Retry-After``, within a bounded wait, so
  rate limiting never turns into a false failure;
* a request is bounded as a whole (``timeout``: connect, headers and a
  trickled body together) and at most ``MAX_BODY`` bytes of a body are kept,
  so neither a slow nor a huge answer can stall the run or exhaust memory.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .budget import CreateBudget
from .exchange import ABSENT, Credential, Exchange, SentRequest, encode_json
from .redact import Scrubber, sent_secrets

JSON = b"application/json"
# Body bytes kept per response.  The contract's bodies are a few KiB; more is
# evidence enough ("truncated"), and 10 MB answers must not pile up in memory.
MAX_BODY = 1024 * 1024
DEFAULT_TIMEOUT = 30.0  # seconds per request, everything included (--timeout)
# What is kept of a body that was truncated (it cannot be judged, only shown),
# and of a failing exchange's body in a result: a report shows bodies, not megabytes.
EVIDENCE_BYTES = 64 * 1024


class UnsendableRequest(Exception):
    """The request could not be put on the wire (an illegal header value, say).

    The message names the headers, never their values: one may be a key.
    """


class RateLimited(Exception):
    """The target still answered 429 after the bounded retries."""


class RunStopped(BaseException):
    """The run is being stopped (Ctrl-C, SIGTERM): no further request may be sent.

    A BaseException, so no clause's ``except Exception`` can swallow it.
    """


_stopping: list[str] = []  # why the run is stopping; empty while it runs


def request_stop(why: str) -> None:
    """From a signal handler: every session refuses to send from now on."""
    if not _stopping:
        _stopping.append(why)


def clear_stop() -> None:
    _stopping.clear()


def stop_reason() -> str | None:
    return _stopping[0] if _stopping else None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    max_wait: float = 30.0  # one Retry-After is honoured up to this many seconds
    total_wait: float = 90.0
    default_wait: float = 1.0  # when Retry-After is missing or unreadable
    floor: float = 0.05  # "Retry-After: 0" must not become a busy loop


class Credentials:
    """The target's keys as auth headers, each with its redacted curl form."""

    VARIABLES = ("AVATAR_API_KEY", "AVATAR_API_KEY_2")

    def __init__(self, primary: str, secondary: str | None, extra_secrets: Sequence[str] = ()) -> None:
        self._keys = (primary, secondary)
        # The real secrets (keys, secret --header values), and the near-miss keys
        # derived from them (the key minus or plus a character), kept apart: a
        # near-miss like "key" (of "key1") is an ordinary word in our own text.
        self._real: frozenset[str] = frozenset(k for k in (*self._keys, *extra_secrets) if k)
        self._near: set[str] = set()

    def secrets(self) -> frozenset[str]:
        """Every secret value handed out, near-misses included."""
        return self._real | frozenset(self._near)

    def real_secrets(self) -> frozenset[str]:
        return self._real

    def near_misses(self) -> frozenset[str]:
        return frozenset(self._near - self._real)

    def _secret(self, value: str) -> str:
        if value:
            self._near.add(value)
        return value

    def key(self, tenant: int = 1) -> str:
        value = self._keys[tenant - 1]
        if value is None:
            raise LookupError(f"no API key for tenant {tenant}")
        return value

    def has(self, tenant: int) -> bool:
        return self._keys[tenant - 1] is not None

    def _var(self, tenant: int) -> str:
        return "${" + self.VARIABLES[tenant - 1] + "}"

    def api_key(self, tenant: int = 1) -> Credential:
        return Credential("x-api-key", self.key(tenant), self._var(tenant))

    def bearer(self, tenant: int = 1) -> Credential:
        return Credential("Authorization", f"Bearer {self.key(tenant)}", f"Bearer {self._var(tenant)}")

    def truncated(self, tenant: int = 1) -> Credential:
        """The key without its last character (catches prefix matching)."""
        name = self.VARIABLES[tenant - 1]
        return Credential("x-api-key", self._secret(self.key(tenant)[:-1]), "${" + name + "%?}")

    def extended(self, tenant: int = 1, suffix: str = "x") -> Credential:
        """The key plus a character (catches prefix matching the other way)."""
        return Credential("x-api-key", self._secret(self.key(tenant) + suffix), self._var(tenant) + suffix)

    @staticmethod
    def literal(header: str, value: str) -> Credential:
        """A made-up, non-secret credential, shown as it is."""
        return Credential(header, value, value)


class _Default:
    pass


PRIMARY = _Default()


def retry_after_seconds(exchange: Exchange, policy: RetryPolicy) -> float:
    value = exchange.headers.get("retry-after")
    if value is None:
        return policy.default_wait
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):  # not str.isdigit(): "²" is a digit to it
        return max(policy.floor, min(float(text), policy.max_wait))
    try:  # RFC 9110 also allows an HTTP-date; honour it, the clause judges it.
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return policy.default_wait
    return max(policy.floor, min(when - time.time(), policy.max_wait))


class Session:
    """A clause's connection to the target (HTTP, or the emulator in-process)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: Credentials,
        budget: CreateBudget,
        path: str,
        *,
        retry: RetryPolicy | None = None,
        on_rate_limited: Callable[[Exchange], None] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_exchange: Callable[[Exchange, bool], None] | None = None,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.budget = budget
        self.path = path
        self.retry = retry or RetryPolicy()
        self.on_rate_limited = on_rate_limited
        self.timeout = timeout
        # Told of every exchange and whether it created an avatar: the live progress count.
        self.on_exchange = on_exchange
        self.requests = 0
        self.exchanges: list[Exchange] = []
        self._scrubber = Scrubber(credentials.real_secrets())

    async def post(
        self,
        body: Any = ABSENT,
        *,
        raw: bytes | None = None,
        credential: Credential | _Default | None = PRIMARY,
        key: str | bytes | None = None,
        creates: bool = False,
        retry_429: bool = True,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> Exchange:
        """POST to the create route.  ``body`` is a JSON value; ``raw`` is sent as is."""
        if creates:
            self.budget.require(1)
        content = raw if raw is not None else (None if body is ABSENT else encode_json(body))
        sent: list[tuple[str, bytes]] = []
        if content is not None:
            sent.append(("Content-Type", JSON))
        if key is not None:
            sent.append(("Idempotency-Key", key.encode("utf-8") if isinstance(key, str) else key))
        sent.extend(headers)
        cred = self.credentials.api_key() if isinstance(credential, _Default) else credential
        return await self.send("POST", self.path, tuple(sent), cred, content,
                               body if raw is None else ABSENT, retry_429=retry_429)

    async def send(
        self,
        method: str,
        path: str,
        headers: tuple[tuple[str, bytes], ...],
        credential: Credential | None,
        content: bytes | None,
        value: Any = ABSENT,
        *,
        retry_429: bool = True,
    ) -> Exchange:
        request = SentRequest(method, path, headers, credential, content, value)
        waited = 0.0
        for _ in range(self.retry.attempts + 1):
            exchange = await self._once(request)
            if exchange.status != 429 or not retry_429:
                return exchange
            if self.on_rate_limited is not None:
                self.on_rate_limited(exchange)
            wait = retry_after_seconds(exchange, self.retry)
            if waited + wait > self.retry.total_wait:
                break
            await asyncio.sleep(wait)
            waited += wait
        raise RateLimited(f"{method} {path} was still rate-limited after waiting {waited:.0f}s")

    async def _once(self, request: SentRequest) -> Exchange:
        if _stopping:
            # Even a task whose cancellation was swallowed (somewhere in a
            # connect) sends nothing more once the run is stopping.
            raise RunStopped(_stopping[0])
        headers: list[tuple[str, bytes]] = list(request.headers)
        if request.credential is not None:
            headers.append((request.credential.header, request.credential.value.encode("utf-8")))
        self.requests += 1
        started = time.perf_counter()
        # Summaries quote the body in failure messages: they show it scrubbed,
        # of the real keys and of the near-miss key this very request carried.
        scrub = self._scrubber.with_sent(*sent_secrets(request.credential)).data
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream(
                    request.method, request.path,
                    headers=[(k.encode("latin-1"), v) for k, v in headers], content=request.content,
                ) as response:
                    content, truncated = await _read_capped(response, MAX_BODY)
            if truncated:  # not judgeable: keep only what a report shows
                content = content[:EVIDENCE_BYTES]
        except httpx.LocalProtocolError:
            # h11's message quotes the offending value, which may be a key: keep only the names.
            names = ", ".join(name for name, _ in headers)
            raise UnsendableRequest(f"{request.method} {request.path} could not be sent: a header value is "
                                    f"not allowed in HTTP (headers: {names}; values not shown)") from None
        except TimeoutError:
            exchange = Exchange(request, 0, {"x-contract-error": f"no complete answer within {self.timeout:g}s "
                                             "(--timeout bounds the whole request, body included)"},
                                b"", time.perf_counter() - started, scrub=scrub)
        except httpx.TransportError as exc:
            # No answer at all (reset, timeout): evidence, not an exception, so
            # the clause that sent it reports it as a failure.
            exchange = Exchange(request, 0, {"x-contract-error": f"{type(exc).__name__}: {exc}"}, b"",
                                time.perf_counter() - started, scrub=scrub)
        else:
            exchange = Exchange(
                request,
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                content,
                time.perf_counter() - started,
                truncated=truncated,
                scrub=scrub,
            )
        if _stopping:
            raise RunStopped(_stopping[0])
        created = False
        if request.method == "POST" and request.path == self.path:
            before = self.budget.made
            self.budget.observe(exchange)
            created = self.budget.made > before
        self.exchanges.append(exchange)
        if self.on_exchange is not None:
            self.on_exchange(exchange, created)
        return exchange


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the (decoded) body, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True  # the rest is never read (the connection is dropped)
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False
