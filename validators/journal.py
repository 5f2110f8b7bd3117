"""One exchange record and its NDJSON journal: the shape every source of traffic writes.

    >>> from avatar_contract.validators.journal import ExchangeRecord, RecordedRequest, dumps_line, loads_line
    >>> record = ExchangeRecord(id=0, source="emulator", started=1.0, ended=1.2, connection="c1",
    ...                         tenant=None, request=RecordedRequest("POST", "/v3/avatars"), outcome="answered")
    >>> loads_line(dumps_line(record)) == record
    True

A record is one request and what became of it: its response (or none, when
the connection was reset or the client went away first), when it started and
ended (Unix seconds), the connection it came on, and the tenant: a hash of the
credential, never the credential (``x-api-key`` and ``Authorization`` are
dropped from the recorded headers; ``credential`` keeps only the scheme).
Bodies keep their SHA-256 and size in full and their bytes up to
``BODY_LIMIT``, so a journal's size is bounded by its number of exchanges
(``body_of(content, limit)``: check-traffic's readers and the proxy keep the
create route's bodies whole up to 1 MiB, since judging a schema or a replay
needs every byte; a longer body keeps its hash, so a replay still compares).

The emulator writes it (``grade-client``), ``contract_tests`` reads and judges
it; the suite's own runs, ``check-traffic`` and a proxy can use it unchanged.
Version ``v`` changes only when a field changes meaning.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from typing import IO, Literal

import msgspec

__all__ = [
    "BODY_LIMIT",
    "CREDENTIAL_HEADERS",
    "JOURNAL_VERSION",
    "Body",
    "ExchangeRecord",
    "Outcome",
    "RecordedRequest",
    "RecordedResponse",
    "body_of",
    "dumps_line",
    "header_list",
    "intent_of",
    "loads_line",
    "read_journal",
    "tenant_hash",
]

JOURNAL_VERSION = 1
BODY_LIMIT = 4096
"""Bytes of a body a record keeps (its hash and size are always whole)."""
CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})
"""Never recorded: the tenant hash stands for them."""

Outcome = Literal["answered", "reset", "client_closed"]
# answered: a response reached the socket; reset: the server dropped the
# connection without answering (on purpose, or it crashed); client_closed:
# the client went away before an answer.


class Body(msgspec.Struct, frozen=True, omit_defaults=True):
    """A body as recorded: ``text`` (UTF-8), or base64 when ``encoding`` says so."""

    size: int = 0
    sha256: str = ""
    text: str = ""
    encoding: Literal["base64"] | None = None
    truncated: bool = False

    def prefix(self) -> bytes:
        """The bytes kept (all of them unless ``truncated``)."""
        return base64.b64decode(self.text) if self.encoding == "base64" else self.text.encode("utf-8")


class RecordedRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # lower-cased names, in order, credentials dropped
    body: Body = Body()
    credential: str | None = None  # "x-api-key", "bearer", "other" or None: the scheme only

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


class RecordedResponse(msgspec.Struct, frozen=True, omit_defaults=True):
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: Body = Body()

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


class ExchangeRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """One exchange.  ``fault``: what the server did on purpose (an emulator
    scenario's action); ``created``: the id of the resource the exchange created,
    when the source knows it (the emulator does, a proxy does not)."""

    id: int
    source: str
    started: float
    ended: float | None
    connection: str | None
    tenant: str | None
    request: RecordedRequest
    outcome: Outcome
    response: RecordedResponse | None = None
    fault: str | None = None
    created: str | None = None
    v: int = JOURNAL_VERSION


def tenant_hash(credential: str) -> str:
    """A stable, non-reversible name for whoever holds ``credential`` (the emulator's tenant id)."""
    return "t_" + hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def body_of(content: bytes, limit: int = BODY_LIMIT) -> Body:
    """``content`` as a record keeps it: whole hash and size, at most ``limit`` bytes."""
    if not content:
        return Body()
    kept = content[:limit]
    encoding: Literal["base64"] | None = None
    try:
        text = kept.decode("utf-8")
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
    return Body(len(content), hashlib.sha256(content).hexdigest(), text, encoding, len(content) > limit)


def header_list(raw: Iterable[tuple[bytes, bytes]], limit: int = 64) -> tuple[tuple[str, str], ...]:
    """ASGI header pairs as a record keeps them: lower-case names, no credentials, at most ``limit``."""
    out = []
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key not in CREDENTIAL_HEADERS:
            out.append((key, value.decode("latin-1")[:BODY_LIMIT]))
        if len(out) >= limit:
            break
    return tuple(out)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ExchangeRecord)


def dumps_line(record: ExchangeRecord) -> bytes:
    """One NDJSON line (with its newline)."""
    return _ENCODER.encode(record) + b"\n"


def loads_line(line: bytes | str) -> ExchangeRecord:
    """The record on one line; ``msgspec.ValidationError`` / ``DecodeError`` when it is not one."""
    return _DECODER.decode(line)


def read_journal(stream: IO[bytes]) -> Iterator[ExchangeRecord]:
    """Every record of an NDJSON journal, in order (blank lines skipped); one at a time."""
    for line in stream:
        if line.strip():
            yield loads_line(line)


def intent_of(body: bytes) -> str:
    """Which intent a create body belongs to: the ``name`` it asks for (each intent of a
    graded client has its own), else a hash of the bytes.  A heuristic of client
    grading, shared by the emulator's schedules and the judge so both count alike:
    a retry re-serialised differently keeps its name, so it stays the same intent (the
    judge also links a retry that renamed the avatar but kept its key and the rest of
    its body: ``contract_tests.clients.attempts.link_renamed``)."""
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        value = None
    name = value.get("name") if isinstance(value, dict) else None
    if isinstance(name, str):
        return "name:" + name
    return "sha256:" + hashlib.sha256(body).hexdigest()[:16]
