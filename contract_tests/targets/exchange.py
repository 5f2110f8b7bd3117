"""One request and its response, kept as evidence: what was sent, what came back."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec


class _Absent:
    """The body a request did not have, or a response body that is not JSON."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT = _Absent()


@dataclass(frozen=True)
class Credential:
    """An auth header as sent, and how a curl line shows it without the secret.

    ``shell`` is the header value as a double-quoted shell word, e.g.
    ``Bearer ${AVATAR_API_KEY}``, so a reproduction works once the variable is set.
    """

    header: str
    value: str
    shell: str

    def __repr__(self) -> str:
        return f"Credential({self.header}: {self.shell})"


@dataclass(frozen=True)
class SentRequest:
    method: str
    path: str
    headers: tuple[tuple[str, bytes], ...]  # everything except the credential
    credential: Credential | None
    content: bytes | None
    value: Any = ABSENT  # the JSON value the content encodes, when it is JSON

    def header(self, name: str) -> bytes | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def idempotency_key(self) -> str | None:
        raw = self.header("idempotency-key")
        return None if raw is None else raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class Exchange:
    request: SentRequest
    status: int
    headers: Mapping[str, str]  # lower-cased names
    content: bytes
    elapsed: float = 0.0
    request_number: int = 0  # the run's request counter when it was sent ("after request #K")
    _parsed: list[Any] = field(default_factory=list, repr=False, compare=False)
    truncated: bool = False  # the body was longer than the session keeps (session.MAX_BODY)
    # Why the body never completed after the status line arrived ("" when it did): the status
    # counts (a 2xx is a create), the body cannot be judged ("2xx, body not received").
    body_lost: str = ""
    # Monotonic seconds: the request's body fully written (known for a race's requests, see race.py),
    # and the answer's status line and headers received.  A race's overlap is proven from them.
    sent_at: float | None = None
    answered_at: float | None = None
    # A large body lives in a file (``spill``); ``content`` is then its first part, what reports show,
    # and ``size``/``sha256`` describe the whole.  ``body`` reads it back when a check needs it all.
    spill: str = ""
    size: int = -1
    sha256: str = ""
    # Removes secrets from the body where it is shown (summary()); judging uses the raw bytes.
    scrub: Callable[[bytes], bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def body(self) -> bytes:
        """The whole body as received (read back from its file when it was spilled)."""
        if not self.spill:
            return self.content
        try:
            with open(self.spill, "rb") as kept:
                return kept.read()
        except OSError:
            return self.content  # the file went (a run directory removed): judge what is left

    @property
    def json(self) -> Any:
        """The response body as JSON, or ABSENT when it is not JSON (a spilled one is parsed each time:
        its parsed form would cost more memory than the bytes)."""
        if self.spill:
            return parse_json(self.body)
        if not self._parsed:
            self._parsed.append(parse_json(self.content))
        return self._parsed[0]

    @property
    def judgeable(self) -> bool:
        """Whether the body is all there: not cut at the session's cap, not lost after the status line."""
        return not (self.truncated or self.body_lost)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def item_id(self) -> str | None:
        """``data.avatar_item.id`` of a create, if the body has one."""
        body = self.json
        data = body.get("data") if isinstance(body, dict) else None
        item = data.get("avatar_item") if isinstance(data, dict) else None
        ident = item.get("id") if isinstance(item, dict) else None
        return ident if isinstance(ident, str) else None

    def group_id(self) -> str | None:
        body = self.json
        data = body.get("data") if isinstance(body, dict) else None
        group = data.get("avatar_group") if isinstance(data, dict) else None
        ident = group.get("id") if isinstance(group, dict) else None
        if isinstance(ident, str):
            return ident
        item = data.get("avatar_item") if isinstance(data, dict) else None
        ident = item.get("group_id") if isinstance(item, dict) else None
        return ident if isinstance(ident, str) else None

    def summary(self, limit: int = 160) -> str:
        """``status`` plus the start of the body, for failure messages."""
        if self.status == 0:
            return f"no response: {self.headers.get('x-contract-error', 'the transport failed')}"
        if self.body_lost:
            return f"{self.status}, body not received ({self.body_lost})"
        # Only the start is shown, so only the start is scrubbed (with room for a key
        # that straddles the cut): a 1 MB body costs no more than a small one.
        head = self.content[:limit + 4096]
        shown = self.scrub(head) if self.scrub is not None else head
        text = shown[:limit].decode("utf-8", "replace")
        more = "…" if len(shown) > limit or len(self.content) > len(head) else ""
        cut = " [body truncated]" if self.truncated and not more else ""
        return f"{self.status} {text}{more}{cut}".rstrip()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = msgspec.json.Decoder()


def parse_json(content: bytes) -> Any:
    """The JSON value of ``content`` (RFC 8259, so no NaN), or ABSENT."""
    try:
        # msgspec gives the stdlib's value wherever it accepts the text (big integers too, unlike
        # orjson, which makes them floats), in a third of the time; what it refuses (a lone
        # surrogate escape, 1e400, deep nesting) gets the stdlib's own reading below.
        return _DECODER.decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    try:
        return json.loads(content.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ABSENT


def encode_json(value: Any) -> bytes:
    """Request bytes for a JSON value; readable UTF-8 unless it holds lone surrogates."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
