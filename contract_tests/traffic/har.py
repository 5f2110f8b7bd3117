"""HAR 1.2 (browser dev tools, proxies): ``log.entries``, each a request and its response.

Timestamps: ``startedDateTime`` (ISO 8601) starts the exchange and ``time``
(milliseconds) ends it.  A body is ``postData.text`` / ``content.text``, in
base64 when ``encoding`` says so.  A response with ``status`` 0 (the browser
got none) is an exchange without an answer.  The entries are read one at a time
(``streaming.JsonEntries``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from avatar_contract.validators.journal import ExchangeRecord

from .records import Malformed, body_bytes, build, parts, status_of


def _pairs(value: Any, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{where} is not a list")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise Malformed(f"{where} has an entry without a name")
        out.append((item["name"], str(item.get("value", ""))))
    return out


def _text(holder: Any, where: str) -> bytes:
    if isinstance(holder, dict) and holder.get("text") is not None and not isinstance(holder["text"], str):
        raise Malformed(f"{where}.text is not a string")
    if isinstance(holder, dict) and holder.get("encoding") == "base64":
        return body_bytes(holder, "text", "", where)
    return body_bytes(holder, "", "text", where)


def _when(text: Any) -> float:
    if not isinstance(text, str):
        raise Malformed("startedDateTime is missing")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise Malformed(f"startedDateTime {text!r} is not an ISO 8601 date") from None


NOT_HAR = "no log.entries list: not a HAR file"


def record(entry: Any, index: int) -> ExchangeRecord:
    request, answer, method, url = parts(entry, "url")
    started = _when(entry.get("startedDateTime"))
    took = entry.get("time")
    ended = started + float(took) / 1000 if isinstance(took, (int, float)) and took >= 0 else None
    status = status_of(answer.get("status"))
    answered = isinstance(status, int) and status > 0
    return build(
        index=index, source="har", method=method, url=url,
        headers=_pairs(request.get("headers"), "request.headers"), body=_text(request.get("postData"), "postData"),
        started=started, ended=ended, status=status if answered else None,
        response_headers=_pairs(answer.get("headers"), "response.headers") if answered else (),
        response_body=_text(answer.get("content"), "response.content") if answered else b"",
        connection=entry.get("connection") if isinstance(entry.get("connection"), str) else None)
