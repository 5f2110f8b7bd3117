"""Removing secrets from what a target sent back, without rewriting the tool's own words.

A server may echo a key in an error message, a header or a body, in any form it
can reasonably produce.  Every secret of at least ``LONG`` bytes is found, wherever
it appears, as:

* the key itself in any mix of upper and lower case (swapped case included), and
  reversed;
* percent-encoded, any subset of its bytes, ``%2f`` or ``%2F``; JSON escapes
  (``\\u00e9``, also quoted once more as ``\\\\u00e9``, ``\\/``, ``\\"``);
  HTML character references (``&#115;``, ``&#x73;``, ``&amp;``), mixed freely
  with plain characters: the text is searched as it is and once more with
  every escape decoded, and a match there masks the escapes that spell it;
* hex of its UTF-8 bytes, either case;
* base64 and base64url at any of the three byte alignments (alone, or inside a
  larger blob such as ``Basic`` credentials), padded or not.

A key split across two fields (the two halves in two places) is a heuristic:
every run of at least ``FRAGMENT`` consecutive key characters (in any of the
forms above) is masked if it holds something besides lowercase letters and
``-_./`` (a digit, a capital), as random key material does and our words
(``avatar-contract``, the prefix of the embedded emulator's key) do not.  So a
random key of 2 x ``FRAGMENT`` characters or more loses both halves wherever it
is cut near the middle.  Left: a piece shorter than ``FRAGMENT`` (a key cut near
one end, or into three or more pieces), a piece of lowercase words, and keys
encoded twice (base64 of a percent-encoding).

A secret shorter than ``LONG`` (a toy key such as ``x`` or ``k1``) is replaced
in its raw, JSON, percent and base64 forms only where it stands as a whole
token, so with the key ``x`` the word ``expected`` stays intact, and with
``key1`` the header name ``x-api-key`` does, in our text and in the target's.

Near-miss keys (the real key minus or plus a character, which ``auth.invalid``
sends) are scrubbed from the answer to the request that carried them, where
the suite knows exactly which string it sent; in the tool's text only when
long (a short near-miss such as ``key`` is an ordinary word).
"""

from __future__ import annotations

import base64
import html
import json
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

from ..targets.exchange import Credential, Exchange

MASK = "***"
# A form at least this long is scrubbed anywhere in the tool's text: our words
# and identifiers are not random strings of eight or more key characters.
LONG = 8
# A run of at least this many consecutive key characters is masked in what the
# target sent (a key split across two fields); see the module docstring.
FRAGMENT = 12
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


# One unit of an escaped echo: percent, JSON and HTML escapes.  A run of plain
# characters and these units is decoded as a whole, so any mix is seen.
_ESCAPE = rb"%[0-9A-Fa-f]{2}|\\+u[0-9A-Fa-f]{4}|\\[\\/\"]|&#[0-9]{1,7};|&#[xX][0-9A-Fa-f]{1,6};|&[A-Za-z]{2,8};"
_HAS_ESCAPE = re.compile(_ESCAPE)


def _decode_unit(unit: bytes) -> bytes:
    try:
        if unit[:1] == b"%":
            return bytes([int(unit[1:], 16)])
        if unit[:1] == b"\\" and unit[-5:-4] == b"u":  # \u00e9, or \\u00e9 quoted once more
            return chr(int(unit[-4:], 16)).encode("utf-8", "surrogatepass")
        if unit[:1] == b"\\":
            return unit[1:]
        if unit[:3] in (b"&#x", b"&#X"):
            return chr(int(unit[3:-1], 16)).encode("utf-8", "surrogatepass")
        if unit[:2] == b"&#":
            return chr(int(unit[2:-1])).encode("utf-8", "surrogatepass")
        return html.unescape(unit.decode("ascii")).encode("utf-8")
    except (ValueError, OverflowError):
        return unit


def _keylike(piece: bytes) -> bool:
    """Not one of our words: something besides lowercase letters and ``-_./``
    (a digit, a capital), as random key material has in any twelve characters."""
    return bool(piece.strip(b"abcdefghijklmnopqrstuvwxyz-_./"))


def _windows(form: bytes, width: int) -> set[bytes]:
    return {form[i:i + width] for i in range(len(form) - width + 1)} if len(form) > width else set()


def _alternation(words: Iterable[bytes]) -> bytes:
    """One regex for many literals, as a trie: each position costs one path, not one
    try per word (a 1 MB body is scanned in milliseconds, not seconds)."""
    root: dict[int, Any] = {}
    for word in set(words):
        node = root
        for byte in word:
            node = node.setdefault(byte, {})
        node[-1] = {}
    if max((len(w) for w in words), default=0) > 400:  # keep the recursion shallow
        return b"|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))

    def emit(node: dict[int, Any]) -> bytes:
        alts = [re.escape(bytes([b])) + emit(child) for b, child in sorted(node.items()) if b != -1]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if -1 in node else body

    return emit(root)


def _runs(pattern: re.Pattern[bytes], data: bytes) -> list[tuple[int, int]]:
    """Each stretch ``pattern`` covers: overlapping pieces of a long run join up,
    whatever its length (looked for only where a match starts a run)."""
    runs = []
    found = pattern.search(data)
    while found is not None:
        start, end = found.span()
        at = start + 1
        while at < end:
            more = pattern.match(data, at)
            if more is not None:
                end = max(end, more.end())
            at += 1
        runs.append((start, end))
        found = pattern.search(data, end)
    return runs


class _Echoes:
    """Finds every form of a set of long secrets in bytes: the whole key (cased,
    reversed, hex, base64) and key-like pieces of it (a split key)."""

    def __init__(self, secrets: frozenset[str]) -> None:
        whole_ci: set[bytes] = set()  # matched in any case
        whole_cs: set[bytes] = set()  # base64 is case-sensitive
        piece_ci: set[bytes] = set()
        piece_cs: set[bytes] = set()
        for secret in secrets:
            raw = secret.encode("utf-8", "surrogatepass")
            backwards = secret[::-1].encode("utf-8", "surrogatepass")
            cased = [raw, backwards, raw.hex().encode(), backwards.hex().encode()]
            encoded = [f.encode("ascii") for f in _base64_forms(secret)]
            whole_ci.update(cased)
            whole_cs.update(encoded)
            for form, width in zip(cased, (FRAGMENT, FRAGMENT, 2 * FRAGMENT, 2 * FRAGMENT), strict=True):
                piece_ci |= _windows(form, width)
            for form in encoded:
                piece_cs |= _windows(form, -(-4 * FRAGMENT // 3))
        piece_ci = {p.lower() for p in piece_ci if _keylike(p)}
        piece_cs = {p for p in piece_cs if _keylike(p)}
        # Case-insensitive forms are searched in the lowered text (same length, same
        # positions); base64 as it is.  Pattern strings only: sre scans them fast.
        self._folded = re.compile(_alternation({w.lower() for w in whole_ci} | piece_ci))
        self._exact = re.compile(_alternation(whole_cs | piece_cs)) if whole_cs | piece_cs else None

    def _spans(self, data: bytes) -> list[tuple[int, int]]:
        spans = _runs(self._folded, data.lower())
        return spans + _runs(self._exact, data) if self._exact is not None else spans

    def spans(self, data: bytes) -> list[tuple[int, int]]:
        """Where a form stands in ``data``, and where one stands once its escapes are
        decoded (mapped back onto the escapes that spell it)."""
        spans = self._spans(data)
        escapes = list(_HAS_ESCAPE.finditer(data))
        if not escapes:
            return spans
        # Decoded pieces: (start in decoded, start and end in data, escaped?).
        pieces: list[tuple[int, int, int, bool]] = []
        decoded, at = bytearray(), 0
        for match in escapes:
            if match.start() > at:
                pieces.append((len(decoded), at, match.start(), False))
                decoded += data[at:match.start()]
            pieces.append((len(decoded), match.start(), match.end(), True))
            decoded += _decode_unit(match.group(0))
            at = match.end()
        pieces.append((len(decoded), at, len(data), False))
        decoded += data[at:]
        found = self._spans(bytes(decoded))
        if not found:
            return spans
        starts = [p[0] for p in pieces]

        def where(index: int, end: bool) -> int:
            first, start, stop, escaped = pieces[bisect_right(starts, index) - 1]
            if escaped:
                return stop if end else start
            return start + (index - first) + (1 if end else 0)

        return spans + [(where(a, False), where(b - 1, True)) for a, b in found if b > a]

    def mask(self, data: bytes) -> bytes:
        merged: list[list[int]] = []
        for start, end in sorted(self.spans(data)):
            # Never split a UTF-8 character: widen to its boundaries.
            while 0 < start < len(data) and 0x80 <= data[start] < 0xC0:
                start -= 1
            while end < len(data) and 0x80 <= data[end] < 0xC0:
                end += 1
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if not merged:
            return data
        out, at = bytearray(), 0
        for start, end in merged:
            out += data[at:start] + MASK.encode()
            at = end
        return bytes(out + data[at:])


@lru_cache(maxsize=64)
def _echoes(secrets: frozenset[str]) -> _Echoes | None:
    long_ones = frozenset(s for s in secrets if len(s.encode("utf-8", "surrogatepass")) >= LONG)
    return _Echoes(long_ones) if long_ones else None


def _mask_text(echoes: _Echoes | None, text: str) -> str:
    if echoes is None:
        return text
    data = text.encode("utf-8", "surrogateescape")
    masked = echoes.mask(data)
    return text if masked is data else masked.decode("utf-8", "surrogateescape")


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
        # Every encoding of the long ones, and pieces of them (see the module docstring).
        long_near = frozenset(s for s in self._near if len(s) >= LONG)
        everything = self._secrets | self._sent | long_near
        self._echoes = _echoes(everything)
        # Short forms only as whole tokens: in the tool's text those of real secrets,
        # in the target's content those of what this request sent as well.
        self._short_text = _token_pattern(f for s in self._secrets for f in forms(s) if len(f) < LONG)
        self._short_content = _token_pattern(f for f in full if len(f) < LONG)

    def __bool__(self) -> bool:
        return bool(self._long or self._short_content or self._echoes)

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
        return _mask_text(self._echoes, text)

    def text(self, text: str) -> str:
        """The tool's own text (which may quote the target): secrets out, our words kept."""
        text = self.long_forms(text)
        return self._short_text.sub(MASK, text) if self._short_text is not None else text

    def content(self, text: str) -> str:
        """Text the target sent (a header value, a body)."""
        for form in self._long:
            if form in text:
                text = text.replace(form, MASK)
        text = _mask_text(self._echoes, text)
        return self._short_content.sub(MASK, text) if self._short_content is not None else text

    def data(self, content: bytes) -> bytes:
        """Bytes the target sent (a body)."""
        for form in self._long_bytes:
            if form in content:
                content = content.replace(form, MASK.encode())
        if self._echoes is not None:
            content = self._echoes.mask(content)
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
