"""Sending requests (with the keys of :mod:`.credentials`): the create ledger, a target that stops, and 429s waited out.

Every clause talks to the target through a :class:`Session`, so the rules
that keep a live run safe and honest live in one place:

* every POST to the create route holds a slot of the run's :class:`Ledger`
  while in flight (a planned create, ``creates=True``, or a refusal probe),
  and every 2xx to it is counted, expected or not;
* a 2xx to a probe (a request a correct server refuses) trips the breaker;
* without --allow-create a probe may carry a valid body only as the ledger allows;
* a refused or reset connection, or a run of timeouts, stops the run's sending;
* a 429 on an ordinary request is shown to ``on_rate_limited`` (which
  validates it) and retried after ``Retry-After``, within a bounded wait; a
  ``Retry-After`` beyond that, or a run that has waited enough, is ``RateLimited``;
* a request is bounded as a whole (``timeout``: connect, headers and a
  trickled body together) and at most ``MAX_BODY`` bytes of a body are kept,
  so neither a slow nor a huge answer can stall the run or exhaust memory;
* the create slot is settled when the status line arrives, before the body is
  read: a 2xx whose body then stalls or breaks is still a create ("2xx, body
  not received"), as the server's own count has it.
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

from ..clauses.attribution import rate_limited
from ..clauses.refusal_owner import is_real, refusal_owner, refusal_reason
from ..planning.budget import Ledger, TargetStopped, ValidBodyRefused
from ..planning.race import StartLine
from ..reports.redact import Scrubber, sent_secrets
from .credentials import Credentials
from .exchange import ABSENT, Credential, Exchange, SentRequest, encode_json
from .response_body import SPILL_BYTES, ReadBody, spill_body
from .transport import ERROR_HEADER, transport_cause

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
    """The target still answered 429 after the bounded retries, or asked for a longer wait."""


STOPPING_ERRORS = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
TIMEOUTS_IN_A_ROW = 3  # this many timeouts in a row: the target has stopped answering


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


class _Default:
    pass


PRIMARY = _Default()


def requested_wait(exchange: Exchange, policy: RetryPolicy) -> float:
    """The wait a 429 asks for, unclamped (``default_wait`` when missing or unreadable)."""
    value = exchange.headers.get("retry-after")
    if value is None:
        return policy.default_wait
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):  # not str.isdigit(): "²" is a digit to it
        return max(policy.floor, float(text[:12]))
    try:  # RFC 9110 also allows an HTTP-date; honour it, the clause judges it.
        when = email.utils.parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return policy.default_wait
    return max(policy.floor, when - time.time())


def retry_after_seconds(exchange: Exchange, policy: RetryPolicy) -> float:
    return min(requested_wait(exchange, policy), policy.max_wait)


class Session:
    """A clause's connection to the target (HTTP, or the emulator in-process)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: Credentials,
        ledger: Ledger,
        path: str,
        *,
        retry: RetryPolicy | None = None,
        on_rate_limited: Callable[[Exchange], None] | None = None,
        is_valid: Callable[[Any], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_exchange: Callable[[Exchange, bool], None] | None = None,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.ledger = ledger
        self.path = path
        self.retry = retry or RetryPolicy()
        self.on_rate_limited = on_rate_limited
        self.is_valid = is_valid
        self.timeout = timeout
        # Told of every exchange and whether it created an avatar: the live progress count.
        self.on_exchange = on_exchange
        self.requests = 0
        self.creates = 0  # 2xx answers to this session's create-route POSTs
        self.exchanges: list[Exchange] = []
        self.stopped_at: Exchange | None = None
        self._timeouts = 0
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
        prepaid: bool = False,
        start: StartLine | None = None,
    ) -> Exchange:
        """POST to the create route.  ``body`` is a JSON value; ``raw`` is sent as is.

        ``creates=True``: a planned create (a correct server may answer 2xx);
        otherwise a probe a correct server refuses.  ``prepaid``: the slot was
        already reserved (a same-key race reserves all of its requests at once).
        ``start``: the race's start line, which holds the body until every request of the race is sent.
        """
        if not creates and raw is None and body is not ABSENT and self.is_valid is not None \
                and self.is_valid(body) and not self.ledger.take_valid_body():
            raise ValidBodyRefused("a probe with a valid body could create: not sent without --allow-create")
        content = raw if raw is not None else (None if body is ABSENT else encode_json(body))
        sent: list[tuple[str, bytes]] = []
        if content is not None:
            sent.append(("Content-Type", JSON))
        if key is not None:
            sent.append(("Idempotency-Key", key.encode("utf-8") if isinstance(key, str) else key))
        sent.extend(headers)
        cred = self.credentials.api_key() if isinstance(credential, _Default) else credential
        return await self.send("POST", self.path, tuple(sent), cred, content,
                               body if raw is None else ABSENT, retry_429=retry_429,
                               planned=creates, prepaid=prepaid, start=start)

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
        planned: bool = False,
        prepaid: bool = False,
        start: StartLine | None = None,
    ) -> Exchange:
        request = SentRequest(method, path, headers, credential, content, value)
        waited = 0.0
        for attempt in range(self.retry.attempts + 1):
            # Each attempt, a retry after a 429 included, holds its own slot.
            exchange = await self._once(request, planned=planned, prepaid=prepaid and attempt == 0,
                                        start=start if attempt == 0 else None)
            limited = rate_limited(exchange)  # attribution.rate_limited: a 429, or a limiter's 503
            if limited and self.on_rate_limited is not None:
                self.on_rate_limited(exchange)
            if not limited or not retry_429:
                return exchange
            asked = requested_wait(exchange, self.retry)
            if asked > self.retry.max_wait:
                reason = (f"Retry-After asks for {asked:.0f} s, more than the run waits ({self.retry.max_wait:.0f} s)")
                self.ledger.throttle(reason)
                raise RateLimited(reason)
            if waited + asked > self.retry.total_wait:
                break
            if not self.ledger.add_wait(asked):
                spent = (f"{method} {path} was rate-limited again and the run's waiting budget is spent "
                         f"({self.ledger.state().waited:.0f} s waited for Retry-After in all)")
                self.ledger.throttle(spent)
                raise RateLimited(spent)
            await asyncio.sleep(asked)
            waited += asked
        reason = (f"{method} {path} was still rate-limited after waiting {waited:.0f} s for it "
                  f"({self.retry.total_wait:.0f} s at most per request)")
        self.ledger.throttle(reason)
        raise RateLimited(reason)

    def refusal_owner(self, request: SentRequest) -> str | None:
        """The clause a 2xx to this refusal probe fails (see refusal_owner.py)."""
        return refusal_owner(request, self._real_keys(), self.is_valid)

    def _real_keys(self) -> set[str]:
        return {k for k in (self.credentials.key(1), self.credentials.key(2) if self.credentials.has(2) else None) if k}

    def _proves_auth(self, request: SentRequest, status: int) -> bool:
        """A 401 to an invalid body sent without a valid credential: the server checks auth."""
        if status != 401 or (self.is_valid is not None and request.value is not ABSENT
                             and self.is_valid(request.value)):
            return False
        cred = request.credential
        return cred is None or not is_real(cred.header, cred.value, self._real_keys())

    async def _once(self, request: SentRequest, *, planned: bool = False, prepaid: bool = False,
                    start: StartLine | None = None) -> Exchange:
        creating = request.method == "POST" and request.path == self.path
        if creating and not prepaid:
            await self.ledger.reserve(1, planned=planned)
        elif self.ledger.state().stopped:
            raise TargetStopped(self.ledger.state().stopped.split(":", 1)[0])
        settled: list[int] = []  # the status the slot was settled with, once
        owners: list[str] = []  # the clause a 2xx to this probe is evidence against

        def commit(status: int, number: int) -> None:
            # Called as soon as the status line arrives: a 2xx is a create the server committed
            # to, whether or not its body ever completes (a stall, a timeout, a reset after it).
            if not creating or settled:
                return
            settled.append(status)
            owner = None if planned or not 200 <= status < 300 else self.refusal_owner(request)
            why = f" of {owner}: {refusal_reason(request, owner)})" if owner else ")"
            self.ledger.settle(status, planned=planned, must_refuse=not planned,
                               evidence=f"request #{number} (a refusal probe{why}")
            self.creates += 200 <= status < 300
            if owner is not None:
                owners.append(owner)

        try:
            exchange = await self._exchange(request, commit, start)
        except BaseException:
            if creating and not settled:
                self.ledger.settle(None, planned=planned, must_refuse=False)
            raise
        if creating:
            commit(exchange.status, exchange.request_number)  # status 0: no status line, the slot comes back
            if owners and self.ledger.state().tripped.startswith(f"request #{exchange.request_number} "):
                self.ledger.tripped_by = (exchange, owners[0])  # the answer that opened the breaker
            if self._proves_auth(request, exchange.status):
                self.ledger.auth_checked()
        if self.on_exchange is not None:
            self.on_exchange(exchange, creating and 200 <= exchange.status < 300)
        if _stopping:
            raise RunStopped(_stopping[0])
        return exchange

    async def _exchange(self, request: SentRequest, on_status: Callable[[int, int], None] | None = None,
                        start: StartLine | None = None) -> Exchange:
        """One request, bounded as a whole by ``timeout``; ``on_status(status, number)`` is called
        as soon as the status line arrives, before the body is read.  With ``start``, the body
        waits at the race's start line, and the time it was fully sent is kept."""
        if _stopping:
            # Even a task whose cancellation was swallowed (somewhere in a
            # connect) sends nothing more once the run is stopping.
            raise RunStopped(_stopping[0])
        headers: list[tuple[str, bytes]] = list(request.headers)
        if request.credential is not None:
            headers.append((request.credential.header, request.credential.value.encode("utf-8")))
        self.requests += 1
        number = self.ledger.next_request()
        started = time.perf_counter()
        # Summaries quote the body in failure messages: they show it scrubbed,
        # of the real keys and of the near-miss key this very request carried.
        scrub = self._scrubber.with_sent(*sent_secrets(request.credential)).data
        head: list[httpx.Response] = []  # the response, once its status line and headers arrived
        body = ReadBody()
        content: Any = request.content
        if start is not None and content is not None:
            headers.append(("Content-Length", str(len(content)).encode()))  # not chunked: the same bytes
            content = start.body(content, body.sent)
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream(
                    request.method, request.path,
                    headers=[(k.encode("latin-1"), v) for k, v in headers], content=content,
                ) as response:
                    body.answered = time.monotonic()
                    head.append(response)
                    if on_status is not None:
                        on_status(response.status_code, number)
                    await body.read(response, MAX_BODY)
            content = body.content()
            if body.truncated:  # not judgeable: keep only what a report shows
                content = content[:EVIDENCE_BYTES]
            spilled = spill_body(content) if len(content) > SPILL_BYTES else {}
            if spilled:
                content = content[:EVIDENCE_BYTES]
        except httpx.LocalProtocolError:
            # h11's message quotes the offending value, which may be a key: keep only the names.
            names = ", ".join(name for name, _ in headers)
            raise UnsendableRequest(f"{request.method} {request.path} could not be sent: a header value is "
                                    f"not allowed in HTTP (headers: {names}; values not shown)") from None
        except TimeoutError:
            cause = f"no complete answer within {self.timeout:g}s (--timeout bounds the whole request, body included)"
            exchange = self._unanswered(request, head, body, cause, started, number, scrub)
            self._timeouts += 1
            if self._timeouts >= TIMEOUTS_IN_A_ROW:
                self._stop(exchange, number, cause)
        except httpx.TransportError as exc:
            # No (whole) answer: kept as evidence, naming the cause; a refused or reset connection
            # (or a run of timeouts) means the target stopped: said once, then nothing more is sent.
            cause = transport_cause(exc, self.client.timeout)
            exchange = self._unanswered(request, head, body, cause, started, number, scrub)
            self._timeouts = self._timeouts + 1 if isinstance(exc, httpx.TimeoutException) else 0
            if isinstance(exc, STOPPING_ERRORS) or self._timeouts >= TIMEOUTS_IN_A_ROW:
                self._stop(exchange, number, cause)
        else:
            self._timeouts = 0
            exchange = Exchange(
                request,
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                content,
                time.perf_counter() - started,
                request_number=number,
                truncated=body.truncated,
                scrub=scrub,
                sent_at=body.sent[0] if body.sent else None,
                answered_at=body.answered,
                **spilled,
            )
        self.exchanges.append(exchange)
        return exchange

    def _unanswered(self, request: SentRequest, head: list[httpx.Response], body: ReadBody, cause: str,
                    started: float, number: int, scrub: Callable[[bytes], bytes]) -> Exchange:
        """The exchange of a request whose answer never completed: status 0 with the cause, or,
        when the status line had arrived, that status with what came of the body ("body not received")."""
        elapsed = time.perf_counter() - started
        if not head:
            return Exchange(request, 0, {ERROR_HEADER: cause}, b"", elapsed, request_number=number, scrub=scrub)
        response = head[0]
        if request.method == "POST" and request.path == self.path and 200 <= response.status_code < 300:
            self.ledger.body_not_received()  # counted already (at the status line); shown apart
        return Exchange(request, response.status_code, {k.lower(): v for k, v in response.headers.items()},
                        body.content()[:EVIDENCE_BYTES], elapsed, request_number=number, truncated=True,
                        body_lost=cause, scrub=scrub, sent_at=body.sent[0] if body.sent else None,
                        answered_at=body.answered)

    def _stop(self, exchange: Exchange, number: int, cause: str) -> None:
        """The target stopped answering: said once (the ledger keeps the first), then nothing more is sent."""
        self.stopped_at = exchange
        self.exchanges.append(exchange)
        self.ledger.stop(f"target stopped answering after request #{number - 1}: "
                         f"request #{number} got no answer ({cause})")
        raise TargetStopped(self.ledger.state().stopped.split(":", 1)[0]) from None
