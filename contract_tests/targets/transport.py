"""What a transport error was, in words a reader can act on ("connection refused", not "got 0").

An exchange with no HTTP response keeps status 0 and carries this text in
its ``x-contract-error`` header, so every failure message and reproducer
names the cause: a timeout (with the limit that ran out), a refused or reset
connection, a TLS failure, a host that does not resolve.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

ERROR_HEADER = "x-contract-error"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _seconds(value: float | None) -> str:
    return "no limit" if value is None else f"{value:g} s"


def _tls(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "verify_message", None) or str(exc)
    return f"TLS handshake failed ({str(reason)[:120]})"


def transport_cause(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    """One line naming why no response came back."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timeout after {_seconds(timeout.connect)} connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return f"timeout after {_seconds(timeout.read)} waiting for the response"
    if isinstance(exc, httpx.WriteTimeout):
        return f"timeout after {_seconds(timeout.write)} sending the request"
    if isinstance(exc, httpx.PoolTimeout):
        return f"timeout after {_seconds(timeout.pool)} waiting for a free connection"
    chain = list(_chain(exc))
    for link in chain:
        if isinstance(link, ssl.SSLError | ssl.CertificateError):
            return _tls(link)
        if isinstance(link, ConnectionRefusedError):
            return "connection refused (nothing listens there)"
        if isinstance(link, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(link, socket.gaierror):
            return "the host name does not resolve"
    text = " ".join(str(link) for link in chain).lower()
    if "ssl" in text or "certificate" in text or "tls" in text:
        return _tls(exc)
    if "refused" in text:
        return "connection refused (nothing listens there)"
    if "reset" in text:
        return "connection reset by the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending" in text or "disconnected" in text or "closed" in text:
            return "the server closed the connection without a response"
        return f"not a valid HTTP response ({str(exc)[:120]})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({str(exc)[:120] or type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:120]}".rstrip(": ")
