"""A recorded exchange as the suite's ``Exchange``: the checks and the report writers take it as is.

The credential was never recorded, so the evidence carries it as the shell
variable a reproducer sets (``${AVATAR_API_KEY}``, or Bearer with it), the
scheme being what the record kept.  ``where`` (file and entry index) goes into
every failure message: that, not a request counter, is a recorded exchange's address.
"""

from __future__ import annotations

from dataclasses import dataclass

from avatar_contract.validators.journal import ExchangeRecord

from ..targets.exchange import ABSENT, Credential, Exchange, SentRequest, parse_json

_VARIABLE = "${AVATAR_API_KEY}"
# What the recording client's transport set, not the request: a reproducer's curl sets its own.
_TRANSPORT = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                        "accept-encoding", "user-agent", "proxy-connection", "expect", "trailer"})


@dataclass(frozen=True, slots=True)
class Where:
    """An exchange's address: the file it came from and its entry index there."""

    file: str
    entry: int

    def __str__(self) -> str:
        return f"{self.file} entry {self.entry}"


# Immutable, so every exchange under a scheme shares one.
_CREDENTIALS = {"x-api-key": Credential("x-api-key", "", _VARIABLE),
                "bearer": Credential("Authorization", "", f"Bearer {_VARIABLE}")}


def _credential(scheme: str | None) -> Credential | None:
    return _CREDENTIALS.get(scheme) if scheme is not None else None


def request_bytes(record: ExchangeRecord) -> bytes | None:
    """The request body, when the record kept all of it."""
    body = record.request.body
    return None if body.truncated else body.prefix()


def as_exchange(record: ExchangeRecord, number: int = 0) -> Exchange:
    """The record as evidence (a response-less record is status 0, as the suite keeps an unanswered request)."""
    request = record.request
    content = request_bytes(record)
    sent = SentRequest(
        request.method, request.path + (f"?{request.query}" if request.query else ""),
        tuple((k, v.encode("latin-1", "replace")) for k, v in request.headers if k not in _TRANSPORT),
        _credential(request.credential), content,
        parse_json(content) if content else ABSENT)
    response = record.response
    if response is None:
        return Exchange(sent, 0, {"x-contract-error": f"no answer ({record.outcome})"}, b"", request_number=number)
    headers: dict[str, str] = {}
    for key, value in response.headers:
        headers.setdefault(key, value)
    elapsed = (record.ended - record.started) if record.ended is not None else 0.0
    return Exchange(sent, response.status, headers, response.body.prefix(), elapsed=elapsed, request_number=number,
                    truncated=response.body.truncated, size=response.body.size, sha256=response.body.sha256,
                    sent_at=record.started, answered_at=record.ended)
