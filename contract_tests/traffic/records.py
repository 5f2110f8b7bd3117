"""Exchange records from any source: one builder every reader (and the proxy) uses.

A reader hands over what its format holds (method, URL, header pairs, bodies,
status, when it started and ended); the builder keeps the credential only as
its scheme and a tenant hash (``validators.journal``), never the value.

Bodies are kept whole (``WHOLE_BODY``, 1 MiB, the suite's own cap on a read
body): replay and schema judgments need every byte.  A body longer than that
keeps its SHA-256 and size, so a replay is still compared byte for byte, but
its schema is not judged (the status still is).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from avatar_contract.validators.journal import (
    CREDENTIAL_HEADERS,
    ExchangeRecord,
    Outcome,
    RecordedRequest,
    RecordedResponse,
    body_of,
    tenant_hash,
)

WHOLE_BODY = 1 << 20
# What a recorder writes instead of a credential it hid (schemathesis' default replacement,
# WireMock and browser exports that strip them): not a key, so no tenant can be named from it.
REDACTED_TENANT = "t_redacted"
"""The tenant of a request whose recorder hid the key: someone, but no one we can name
(not a hash: it never equals one, and the idempotency clauses do not use it)."""
REDACTED_VALUES = frozenset({"[filtered]", "***", "[redacted]", "<redacted>", "redacted", "xxx"})


class Malformed(ValueError):
    """An entry a reader cannot turn into an exchange; the message names what is wrong."""

    def __init__(self, message: str, entry: int | None = None) -> None:
        super().__init__(message)
        self.entry = entry


def parts(item: Any, *url_fields: str) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """(request, response or {}, method, URL) of an entry that holds ``request`` and ``response`` objects."""
    if not isinstance(item, dict) or not isinstance(item.get("request"), dict):
        raise Malformed("no request object")
    request, response = item["request"], item.get("response")
    method = request.get("method")
    url = next((request[f] for f in url_fields if isinstance(request.get(f), str)), None)
    if not isinstance(method, str) or url is None:
        raise Malformed(f"request.method or request.{url_fields[0]} is missing")
    return request, response if isinstance(response, dict) else {}, method, url


def status_of(value: Any) -> int | None:
    """A recorded status (None: not there); ``Malformed`` when it is not a number."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise Malformed("response.status is not a number")
    return value


def header_map(value: Any, where: str) -> list[tuple[str, str]]:
    """Headers given as name -> value or list of values (VCR, WireMock), as pairs in order."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not a mapping")
    return [(str(name), "" if item is None else str(item))
            for name, values in value.items() for item in (values if isinstance(values, list) else [values])]


def body_bytes(holder: Any, base64_field: str, text_field: str, where: str) -> bytes:
    """A body kept as base64 in ``base64_field`` or as text in ``text_field`` of ``holder``."""
    if not isinstance(holder, dict):
        return b""
    if isinstance(holder.get(base64_field), str):
        try:
            return base64.b64decode(holder[base64_field], validate=True)
        except (binascii.Error, ValueError):
            raise Malformed(f"{where}.{base64_field} is not valid base64") from None
    text = holder.get(text_field)
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else b""


def credential_of(headers: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(scheme, tenant) of the request: x-api-key wins over Authorization, as the emulator reads them.

    The tenant is None without a key, or when the recorder replaced the key with a placeholder.
    """
    found = {k.lower(): v for k, v in reversed(list(headers))}  # first value of each name wins
    key = found.get("x-api-key")
    scheme: str | None
    if key is not None:
        scheme, value = "x-api-key", key.strip()
    elif "authorization" in found:
        kind, _, token = found["authorization"].strip().partition(" ")
        if kind.lower() != "bearer":
            return "other", None
        scheme, value = "bearer", token.strip()
    else:
        return None, None
    if not value:
        return scheme, None
    if value.lower() in REDACTED_VALUES:
        return scheme, REDACTED_TENANT
    return scheme, tenant_hash(value)


def kept_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Lower-case names, credentials dropped, in order."""
    return tuple((k.lower(), v) for k, v in headers if k.lower() not in CREDENTIAL_HEADERS)


def split_url(url: str) -> tuple[str, str, str]:
    """(origin, path, query) of an absolute or origin-relative URL."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return origin, parts.path or "/", parts.query


def build(*, index: int, source: str, method: str, url: str, headers: Iterable[tuple[str, str]],
          body: bytes, started: float, ended: float | None, status: int | None = None,
          response_headers: Iterable[tuple[str, str]] = (), response_body: bytes = b"",
          connection: str | None = None, outcome: Outcome | None = None) -> ExchangeRecord:
    """One record; ``status`` None is an exchange that got no answer."""
    request_headers = list(headers)
    scheme, tenant = credential_of(request_headers)
    _, path, query = split_url(url)
    response = None
    if status is not None:
        if not 100 <= status <= 599:
            raise Malformed(f"response status {status} is not an HTTP status")
        response = RecordedResponse(status, kept_headers(response_headers), body_of(response_body, WHOLE_BODY))
    return ExchangeRecord(
        id=index, source=source, started=started, ended=ended, connection=connection, tenant=tenant,
        request=RecordedRequest(method.upper(), path, query, kept_headers(request_headers),
                                body_of(body, WHOLE_BODY), scheme),
        outcome=outcome or ("answered" if response is not None else "reset"), response=response)
