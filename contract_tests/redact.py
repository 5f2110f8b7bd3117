"""Removing secrets from anything a server sent back, before it leaves the runner.

A server may echo a key (or the near-miss keys ``auth.invalid`` sends) in an
error message, raw or JSON-escaped (``\\u00e9``, ``\\/``).  Every form of every
credential value the session sent is replaced with ``***``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

from .exchange import Exchange

MASK = "***"


def forms(secret: str) -> set[str]:
    """``secret`` as it may appear in a response: raw, and escaped inside a JSON string."""
    out = {secret}
    for ascii_only in (True, False):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        out.add(escaped)
        out.add(escaped.replace("/", "\\/"))
    out.add(secret.replace("/", "\\/"))
    return {f for f in out if f}


class Scrubber:
    """Replaces every form of every secret; the longest first, so a key plus a
    character never leaves its last character behind."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        found: set[str] = set()
        for secret in secrets:
            if secret:
                found |= forms(secret)
        self._forms = sorted(found, key=len, reverse=True)
        self._bytes = [f.encode("utf-8") for f in self._forms]

    def __bool__(self) -> bool:
        return bool(self._forms)

    def text(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def data(self, content: bytes) -> bytes:
        for form in self._bytes:
            if form in content:
                content = content.replace(form, MASK.encode())
        return content

    def exchange(self, exchange: Exchange) -> Exchange:
        """The exchange with the response's headers and body scrubbed (the request is the suite's own)."""
        content = self.data(exchange.content)
        headers = {name: self.text(value) for name, value in exchange.headers.items()}
        if content == exchange.content and headers == dict(exchange.headers):
            return exchange
        return replace(exchange, content=content, headers=headers, _parsed=[])
