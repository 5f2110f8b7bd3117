"""Error envelopes and JSON responses, shaped as the spec documents them.

Every error body is ``{"error": {"code", "message", "param", "doc_url"}}``.
The codes for documented statuses are the spec's own (``invalid_parameter``,
``authentication_failed``, ``request_in_progress``, ``rate_limit_exceeded``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from ._json import NotJSON, dumps, loads

# (status, headers with "content-type", parsed JSON body or None) -> the same, changed.
ResponseTransform = Callable[[int, dict[str, str], Any], tuple[int, dict[str, str], Any]]

JSON = "application/json"
FAULTY_CONTENT_TYPE = "text/plain; charset=utf-8"

INVALID_PARAMETER = "invalid_parameter"
AUTHENTICATION_FAILED = "authentication_failed"
REQUEST_IN_PROGRESS = "request_in_progress"
RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"


def envelope(code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "param": param, "doc_url": None}}


class Responder:
    """Builds the emulator's responses; knows which faults change their shape."""

    def __init__(self, faults: frozenset[str], transform: ResponseTransform | None = None) -> None:
        self.content_type = FAULTY_CONTENT_TYPE if "wrong_content_type" in faults else JSON
        self._unwrap_401 = "error_envelope_missing" in faults
        self._wrong_409_code = "error_code_wrong" in faults
        self._transform = transform

    def raw(self, status: int, body: bytes, headers: Mapping[str, str] | None = None,
            content_type: str | None = None) -> Response:
        media = content_type or self.content_type
        sent = dict(headers or {})
        if self._transform is not None:
            status, body, sent, media = self._transformed(self._transform, status, body, sent, media)
        return Response(body, status_code=status, headers=sent, media_type=media)

    @staticmethod
    def _transformed(transform: ResponseTransform, status: int, body: bytes, headers: dict[str, str],
                     media: str) -> tuple[int, bytes, dict[str, str], str]:
        """The response as the configured transform changes it (mechanical mutants, tests)."""
        try:
            value: Any = loads(body) if body else None
        except NotJSON:
            value = None
        status, headers, changed = transform(status, {**headers, "content-type": media}, value)
        media = headers.pop("content-type", media)
        return status, (dumps(changed) if value is not None or changed is not None else body), headers, media

    def json(self, status: int, value: Any, headers: Mapping[str, str] | None = None) -> Response:
        return self.raw(status, dumps(value), headers)

    def error(self, status: int, code: str, message: str, param: str | None = None,
              headers: Mapping[str, str] | None = None) -> Response:
        body: dict[str, Any] = envelope(code, message, param)
        if status == 401 and self._unwrap_401:
            body = body["error"]
        elif status == 409 and code == REQUEST_IN_PROGRESS and self._wrong_409_code:
            # The spec states this code in prose (not only in an example), so a different one is a failure.
            body["error"]["code"] = "conflict"
        return self.json(status, body, headers)

    def unauthorized(self) -> Response:
        return self.error(401, AUTHENTICATION_FAILED,
                          "Invalid or missing API key. Send it as 'x-api-key: KEY' "
                          "or 'Authorization: Bearer KEY'.")
