"""WireMock request journals (``GET /__admin/requests``): ``requests``, newest first.

Each logged request has ``request`` (``url``, ``method``, ``headers`` as name →
value or list, ``body`` or ``bodyAsBase64``, ``loggedDate`` in epoch
milliseconds) and ``response`` (``status``, ``headers``, ``body`` or
``bodyAsBase64``), and ``timing.totalTime`` (ms).  Exchanges are judged in
the order they were logged (oldest first); the entry index is the file's.  The
entries are read one at a time, twice (``sources``: checked and placed in order,
then judged), so memory holds 24 bytes an entry, not the bodies.
"""

from __future__ import annotations

from typing import Any

from avatar_contract.validators.journal import ExchangeRecord

from .records import Malformed, body_bytes, build, header_map, parts, status_of

NOT_WIREMOCK = "no requests list: not a WireMock request journal"


def record(item: Any, index: int) -> ExchangeRecord:
    request, answer, method, url = parts(item, "url", "absoluteUrl")
    when = request.get("loggedDate")
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise Malformed("request.loggedDate (epoch milliseconds) is missing")
    started = when / 1000
    timing = item.get("timing")
    total = timing.get("totalTime") if isinstance(timing, dict) else None
    ended = started + total / 1000 if isinstance(total, (int, float)) and total >= 0 else None
    status = status_of(answer.get("status"))
    return build(
        index=index, source="wiremock", method=method, url=url,
        headers=header_map(request.get("headers"), "request.headers"),
        body=body_bytes(request, "bodyAsBase64", "body", "request"),
        started=started, ended=ended, status=status,
        response_headers=header_map(answer.get("headers"), "response.headers") if status is not None else (),
        response_body=body_bytes(answer, "bodyAsBase64", "body", "response") if status is not None else b"")
