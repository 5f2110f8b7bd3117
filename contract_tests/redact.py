"""Removing secrets from what a target sent back, without rewriting the tool's own words.

A server may echo a key in an error message, a header or a body: raw,
JSON-escaped (``\\u00e9``, ``\\/``), base64-encoded (alone or inside a larger
blob, e.g. ``Basic`` credentials) or percent-encoded.  Every such form of
every secret is replaced with ``***``:

* a form at least ``LONG`` characters long wherever it appears (no word of
  ours, nor of a server's prose, contains eight random key characters);
* a shorter one (a toy key such as ``x`` or ``k1``) only where it stands as a
  whole token, so with the key ``x`` the word ``expected`` stays intact, and
  with ``key1`` the header name ``x-api-key`` does, in our text and in the
  target's.

Near-miss keys (the real key minus or plus a character, which ``auth.invalid``
sends) are scrubbed from the answer to the request that carried them, where
the suite knows exactly which string it sent; in the tool's text only when
long (a short near-miss such as ``key`` is an ordinary word).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from urllib.parse import quote, quote_plus

from .exchange import Credential, Exchange

MASK = "***"
# A form at least this long is scrubbed anywhere in the tool's text: our words
# and identifiers are not random strings of eight or more key characters.
LONG = 8
# What counts as "inside a word" around a short form: letters, digits, and the
# joiners of our identifiers (x-api-key, auth.missing, idempotency_key).
_WORD = r"A-Za-z0-9_.\-"


def _token_pattern(found: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(found), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(rf"(?<![{_WORD}]){re.escape(f)}(?![{_WORD}])" for f in ordered))


def _json_forms(secret: str) -> set[str]:
    out = {secret, secret.replace("/", "\\/")}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        out.add(escaped)
        out.add(escaped.replace("/", "\\/"))
    return out


def _percent_forms(secret: str) -> set[str]:
    out = set()
    for encoded in (quote(secret, safe=""), quote_plus(secret, safe="")):
        out.add(encoded)
        # %2f and %2F are the same octet; servers emit either.
        out.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded))
    return out


def _base64_forms(secret: str) -> set[str]:
    """The key base64-encoded on its own, and the part of its encoding that is the
    same wherever it sits inside a larger encoded blob (three byte alignments)."""
    raw = secret.encode("utf-8")
    out: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        if offset == 0:
            out |= {encoded, encoded.rstrip("=")}
        # Characters whose six bits all come from the key's own bytes.
        first = -(-8 * offset // 6)
        last = (8 * (offset + len(raw))) // 6
        fragment = encoded[first:last]
        if len(fragment) >= LONG:
            out.add(fragment)
    return out | {f.replace("+", "-").replace("/", "_") for f in out}


def forms(secret: str) -> set[str]:
    """Every way ``secret`` may appear in a response: raw, JSON-escaped, percent- and base64-encoded."""
    if not secret:
        return set()
    found = _json_forms(secret) | _percent_forms(secret) | _base64_forms(secret)
    return {f for f in found if f}


class Scrubber:
    """Replaces the forms of ``secrets`` (always) and ``near_misses`` (long ones, in
    the tool's text); the longest first, so a key plus a character never leaves
    its last character behind."""

    def __init__(self, secrets: Iterable[str | None], near_misses: Iterable[str | None] = (),
                 sent: Iterable[str | None] = ()) -> None:
        """``sent``: near-misses the request being scrubbed carried (see :meth:`with_sent`)."""
        self._secrets = frozenset(s for s in secrets if s)
        self._near = frozenset(s for s in near_misses if s) - self._secrets
        self._sent = frozenset(s for s in sent if s) - self._secrets
        full: set[str] = set()
        for secret in self._secrets | self._sent:
            full |= forms(secret)
        near_long = {f for s in self._near for f in forms(s) if len(f) >= LONG}
        # Long forms anywhere: in the target's content, every form of a secret and
        # of what this request sent; a near-miss sent on another request only when long.
        self._long = sorted({f for f in full if len(f) >= LONG} | near_long, key=len, reverse=True)
        self._long_bytes = [f.encode("utf-8") for f in self._long]
        # Short forms only as whole tokens: in the tool's text those of real secrets,
        # in the target's content those of what this request sent as well.
        self._short_text = _token_pattern(f for s in self._secrets for f in forms(s) if len(f) < LONG)
        self._short_content = _token_pattern(f for f in full if len(f) < LONG)

    def __bool__(self) -> bool:
        return bool(self._long or self._short_content)

    def with_sent(self, *sent: str | None) -> Scrubber:
        """This scrubber plus strings the suite sent on one request (a near-miss key)."""
        extra = [s for s in sent if s and s not in self._secrets and s not in self._sent]
        return Scrubber(self._secrets, self._near, [*self._sent, *extra]) if extra else self

    def long_forms(self, text: str) -> str:
        """Only the forms no word of ours can contain: the safety net over a whole
        rendered report, whose short-form scrubbing the runner did field by field
        (a curl line's body is the suite's own and may hold any short string)."""
        for form in self._long:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def text(self, text: str) -> str:
        """The tool's own text (which may quote the target): secrets out, our words kept."""
        text = self.long_forms(text)
        return self._short_text.sub(MASK, text) if self._short_text is not None else text

    def content(self, text: str) -> str:
        """Text the target sent (a header value, a body)."""
        text = self.long_forms(text)
        return self._short_content.sub(MASK, text) if self._short_content is not None else text

    def data(self, content: bytes) -> bytes:
        """Bytes the target sent (a body)."""
        for form in self._long_bytes:
            if form in content:
                content = content.replace(form, MASK.encode())
        if self._short_content is None:
            return content
        text = content.decode("utf-8", "surrogateescape")
        return self._short_content.sub(MASK, text).encode("utf-8", "surrogateescape")

    def exchange(self, exchange: Exchange) -> Exchange:
        """The exchange with the response's headers and body scrubbed, including any
        near-miss key its own request carried (the request is the suite's own)."""
        scrub = self.with_sent(*sent_secrets(exchange.request.credential))
        content = scrub.data(exchange.content)
        headers = {name: scrub.content(value) for name, value in exchange.headers.items()}
        if content == exchange.content and headers == dict(exchange.headers):
            return exchange
        return replace(exchange, content=content, headers=headers, _parsed=[])


def sent_secrets(cred: Credential | None) -> tuple[str, ...]:
    """The secret value a request carried, if its credential is one (a made-up
    credential is shown as it is, so its echo is not a secret)."""
    if cred is None or cred.shell == cred.value:
        return ()
    value = cred.value
    token = value.split(" ", 1)[1] if value.lower().startswith("bearer ") else value
    return (token,) if token == value else (value, token)
