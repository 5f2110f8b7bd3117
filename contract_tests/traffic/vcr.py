"""schemathesis VCR cassettes (YAML, as schemathesis 4.x's ``--report vcr`` writes them).

``http_interactions``: each has ``recorded_at`` (ISO 8601, taken once the
response was in), ``request`` (``uri``, ``method``, ``headers`` as name → list
of values, ``body`` with ``string`` or ``base64_string``) and ``response``
(``status.code`` as a string, ``elapsed`` seconds, ``headers``, ``body``) or
``null`` when the request got no answer.  The exchange ends at ``recorded_at``
and starts ``elapsed`` before it.  A cassette recorded with sanitization on has
``[Filtered]`` for credentials: no tenant can be named from those.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from avatar_contract.validators.journal import ExchangeRecord

from .records import Malformed, body_bytes, build, each, header_map, parts


def interactions(document: Any) -> list[Any]:
    found = document.get("http_interactions") if isinstance(document, dict) else None
    if found is None and isinstance(document, dict) and "http_interactions" in document:
        return []  # a cassette of a run that sent nothing
    if not isinstance(found, list):
        raise Malformed("no http_interactions list: not a VCR cassette")
    return found


def record(item: Any, index: int) -> ExchangeRecord:
    request, answer, method, uri = parts(item, "uri")
    response = item.get("response")
    try:
        ended = datetime.fromisoformat(str(item.get("recorded_at")).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Malformed(f"recorded_at {item.get('recorded_at')!r} is not an ISO 8601 date") from None
    status = None
    elapsed = 0.0
    if isinstance(response, dict):
        code = response.get("status", {}).get("code") if isinstance(response.get("status"), dict) else None
        try:
            status = int(str(code))
            elapsed = max(0.0, float(response.get("elapsed") or 0.0))
        except ValueError:
            raise Malformed(f"response.status.code {code!r} is not a number") from None
    elif response is not None:
        raise Malformed("response is neither a mapping nor null")
    answered = status is not None
    return build(
        index=index, source="vcr", method=method, url=uri,
        headers=header_map(request.get("headers"), "request.headers"),
        body=body_bytes(request.get("body"), "base64_string", "string", "request.body"),
        started=ended - elapsed, ended=ended, status=status,
        response_headers=header_map(answer.get("headers"), "response.headers") if answered else (),
        response_body=body_bytes(answer.get("body"), "base64_string", "string", "response.body") if answered else b"")


def records(document: Any) -> Iterator[tuple[int, ExchangeRecord]]:
    return each(interactions(document), record)
