"""A response body as it is read, and where a large one is kept.

The session reads at most ``MAX_BODY`` bytes of a body; what arrived survives a
timeout or a reset part-way (a 2xx whose body stalls is still a create).  A
body over ``SPILL_BYTES`` is written to a private file: the exchange keeps its
first part, size and SHA-256, and ``Exchange.body`` reads it back for checks.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .exchange import Exchange

# Bodies larger than this are kept in a file, not in memory (the reports show 64 KiB of any body).
SPILL_BYTES = 64 * 1024


def spill_body(content: bytes) -> dict[str, Any]:
    """Write a large body to the run's body directory: the Exchange fields that point to it.

    A run keeps every exchange until its clause is judged; at a megabyte each (and more once
    parsed) that was hundreds of MB.  The directory is private (0700) and removed at exit.
    """
    if not _spill_dir:
        _spill_dir.append(tempfile.mkdtemp(prefix="avatar-contract-bodies-"))
        atexit.register(shutil.rmtree, _spill_dir[0], True)
    handle, path = tempfile.mkstemp(suffix=".body", dir=_spill_dir[0])
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    return {"spill": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}


_spill_dir: list[str] = []


def kept_name(sha256: str) -> str:
    """Where a failing exchange's whole body is kept in the report directory (by its hash)."""
    return f"bodies/{sha256[:16]}.body"


def keep_bodies(exchanges: Iterable[Exchange | None], directory: Path, scrub: Callable[[str], str]) -> None:
    """The whole body of each exchange that was too large to keep in memory (a failure's evidence),
    scrubbed of every form of a key, into ``directory/bodies/``; report.json names each file."""
    for exchange in exchanges:
        if exchange is None or not exchange.spill:
            continue
        path = directory / kept_name(exchange.sha256)
        path.parent.mkdir(exist_ok=True)
        text = exchange.body.decode("utf-8", "surrogateescape")
        path.write_bytes(scrub(text).encode("utf-8", "surrogateescape"))


class ReadBody:
    """The body as it is read: what arrived survives a timeout or a reset part-way."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self.sent: list[float] = []  # when the request body was fully written (a race's requests)
        self.answered: float | None = None  # when the status line and headers arrived

    async def read(self, response: httpx.Response, limit: int) -> None:
        """At most ``limit`` bytes of the (decoded) body; ``truncated`` if there was more."""
        async for chunk in response.aiter_bytes():
            if self.size + len(chunk) > limit:
                self.chunks.append(chunk[: limit - self.size])
                self.size = limit
                self.truncated = True
                return  # the rest is never read (the connection is dropped)
            self.chunks.append(chunk)
            self.size += len(chunk)

    def content(self) -> bytes:
        return b"".join(self.chunks)
