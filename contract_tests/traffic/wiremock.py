"""WireMock request journals (``GET /__admin/requests``): ``requests``, newest first.

Each logged request has ``request`` (``url``, ``method``, ``headers`` as name →
value or list, ``body`` or ``bodyAsBase64``, ``loggedDate`` in epoch
milliseconds) and ``response`` (``status``, ``headers``, ``body`` or
``bodyAsBase64``), and ``timing.totalTime`` (ms).  Exchanges are judged in
the order they were logged (oldest first); the entry index is the file's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from avatar_contract.validators.journal import ExchangeRecord

from .records import Malformed, at, body_bytes, build, header_map, parts, status_of


def logged(document: Any) -> list[Any]:
    found = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(found, list):
        raise Malformed("no requests list: not a WireMock request journal")
    return found


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


def records(document: Any) -> Iterator[tuple[int, ExchangeRecord]]:
    items = logged(document)
    built = []
    for index, item in enumerate(items):
        try:
            built.append((index, record(item, index)))
        except Malformed as exc:
            raise at(index, exc) from None
    yield from sorted(built, key=lambda pair: (pair[1].started, -pair[0]))
