"""A request's connection, as the served emulator shows it to the app (no uvicorn import here).

``_protocol`` puts a :class:`ConnectionHandle` into each request's ASGI scope
under ``extensions[CONNECTION_EXTENSION]``: a stable id for the journal, and
``reset()``, which drops the connection with a TCP reset and no answer (the
``reset-after-commit`` scenario).  In-process (``httpx.ASGITransport``) there is
no handle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CONNECTION_EXTENSION = "avatar_contract.connection"


@dataclass(frozen=True, slots=True)
class ConnectionHandle:
    id: str
    reset: Callable[[], None]
