"""The emulator served on 127.0.0.1 (uvicorn, a free port) in a background thread, for grading a client.

One server for a whole grading: each scenario gets fresh tenant keys (so no
idempotency record crosses scenarios) and a fresh journal.  The rate limiter
is off: only the scenario's schedule throttles.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from avatar_contract.emulator import EmulatorConfig, create_app
from avatar_contract.emulator._config import DEFAULT_JOURNAL_LIMIT
from avatar_contract.emulator._journal import Journal
from avatar_contract.emulator._schedule import Schedule

KEYS_PER_SCENARIO_LIMIT = 64  # --parallel's bound: one key per copy


def scenario_keys(scenarios: list[str], copies: int) -> dict[str, tuple[str, ...]]:
    """Fresh API keys: one per copy of the client, per scenario (never shown or stored)."""
    return {name: tuple(f"gc-{secrets.token_urlsafe(18)}" for _ in range(copies)) for name in scenarios}


class ServedEmulator:
    """``with ServedEmulator(keys) as served:`` -> ``served.base_url``; ``served.play(name, journal_path)``."""

    def __init__(self, keys: dict[str, tuple[str, ...]], *, journal_limit: int = DEFAULT_JOURNAL_LIMIT,
                 time_scale: float = 1.0, header_timeout: float = 10.0) -> None:
        import uvicorn

        from avatar_contract.emulator._protocol import guarded_protocol

        self.keys = keys
        self.journal = Journal(journal_limit)
        self.schedule = Schedule(scale=time_scale)
        all_keys = tuple(k for group in keys.values() for k in group)
        config = EmulatorConfig(api_keys=all_keys, rate_limit=None, journal=self.journal, schedule=self.schedule)
        self.app = create_app(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        options: dict[str, Any] = {"http": guarded_protocol("auto", header_timeout)}  # a protocol factory
        self._server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="critical", access_log=False, lifespan="on", server_header=False,
            timeout_keep_alive=5, limit_concurrency=500, **options))
        self._thread = threading.Thread(target=self._run, name="grade-client-emulator", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # reported by start(), never a traceback
            self._failure = exc

    def start(self, timeout: float = 30.0) -> None:
        # The emulator warns on each replay with a different body; the report says it instead.
        logging.getLogger("avatar_contract.emulator").addHandler(logging.NullHandler())
        logging.getLogger("avatar_contract.emulator").propagate = False
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._failure is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise OSError(f"the emulator did not start on 127.0.0.1:{self.port}: {self._failure or 'timeout'}")
            time.sleep(0.01)

    def play(self, scenario: str, journal: Path | None = None) -> None:
        """Start ``scenario`` with a fresh journal (in ``journal``, else in memory)."""
        self.schedule.play(scenario)
        self.journal.begin(journal)

    def settle(self, grace: float) -> None:
        """Wait (at most ``grace`` s) for the exchanges still being served to be journaled."""
        deadline = time.monotonic() + grace
        while self.journal.active and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.journal.end()
        self._socket.close()

    def __enter__(self) -> ServedEmulator:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
                 ) -> Any:
        self.stop()
