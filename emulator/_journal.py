"""The emulator's journal: every exchange it served, as NDJSON (``validators.journal``).

Bounded: after ``limit`` records it stops recording and says so (``full``),
so a client that floods cannot fill the disk or the memory; whoever runs the
client stops it then.  Records go to a file, or to memory when no file is open.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO

import msgspec

from avatar_contract.validators.journal import ExchangeRecord, dumps_line

from ._config import DEFAULT_JOURNAL_LIMIT


class Journal:
    """Where the recorder puts exchanges; ``begin`` a new one per client run."""

    def __init__(self, limit: int = DEFAULT_JOURNAL_LIMIT) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"journal limit must be a positive integer, not {limit!r}")
        self.limit = limit
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._memory: list[ExchangeRecord] = []
        self._count = 0
        self._generation = 0  # one per begin(): an exchange started before it is not this journal's
        self._active = 0  # exchanges being served
        self.full = threading.Event()

    def begin(self, path: Path | None = None) -> None:
        """Start a new journal: in ``path`` (NDJSON, truncated), or in memory."""
        with self._lock:
            self._close()
            self._memory = []
            self._count = 0
            self._generation += 1
            self.full.clear()
            self._file = open(path, "wb") if path is not None else None  # noqa: SIM115 - closed by end()

    def end(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def opened(self) -> int:
        """An exchange starts; returns the journal generation it belongs to."""
        with self._lock:
            self._active += 1
            return self._generation

    def closed(self) -> None:
        with self._lock:
            self._active -= 1

    @property
    def active(self) -> int:
        """Exchanges being served now (a runner waits for them before judging)."""
        return self._active

    def add(self, record: ExchangeRecord, generation: int | None = None) -> bool:
        """Keep ``record`` (numbered in order here); False once ``limit`` records are kept
        (``full`` is set then), or when it belongs to an earlier generation."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return False
            if self._count >= self.limit:
                self.full.set()
                return False
            record = msgspec.structs.replace(record, id=self._count)
            self._count += 1
            if self._file is not None:
                self._file.write(dumps_line(record))
                self._file.flush()
            else:
                self._memory.append(record)
            if self._count >= self.limit:
                self.full.set()
            return True

    @property
    def count(self) -> int:
        return self._count

    def records(self) -> list[ExchangeRecord]:
        """The records kept in memory (a file journal is read back with ``read_journal``)."""
        with self._lock:
            return list(self._memory)
