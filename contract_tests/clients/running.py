"""Run the client's command once per scenario, bounded in time and in journal size."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from avatar_contract.validators.journal import ExchangeRecord, read_journal

if TYPE_CHECKING:
    from .serving import ServedEmulator

DEFAULT_INTENTS = 3
DEFAULT_TIMEOUT = 30.0
LOG_LIMIT = 64 * 1024  # bytes of a client's output kept per scenario
ENV_BASE_URL, ENV_KEY, ENV_INTENTS, ENV_SCENARIO = (
    "AVATAR_API_BASE_URL", "AVATAR_API_KEY", "AVATAR_CLIENT_INTENTS", "AVATAR_CLIENT_SCENARIO")


class CommandError(OSError):
    """The command cannot be started at all (not found, not executable)."""


@dataclass
class ScenarioRun:
    """One scenario as played: what the client sent (the journal) and how its copies ended.

    ``exit_codes``: one per copy; None when the copy was stopped (``timed_out``
    or ``journal_full``).  ``seconds``: the scenario's wall time.
    """

    scenario: str
    records: list[ExchangeRecord]
    exit_codes: list[int | None]
    timed_out: bool = False
    journal_full: bool = False
    seconds: float = 0.0
    started: float = 0.0  # Unix seconds, the journal's clock
    timeout: float = DEFAULT_TIMEOUT
    journal: Path | None = None
    logs: list[str] = field(default_factory=list)  # each copy's output, cut at LOG_LIMIT

    @property
    def stopped(self) -> str:
        """Why the grader stopped the client, or ""."""
        if self.journal_full:
            return f"the journal reached its limit ({len(self.records)} exchanges); the client was stopped"
        if self.timed_out:
            return f"the client was still running after --timeout {self.timeout:g} s and was stopped"
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the client's process group, then SIGKILL; only the group we started.

    The group is killed even when its leader has exited: a harness that left a
    child in the background must not send into the next scenario.
    """
    for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None and sig is signal.SIGTERM:
            continue  # the leader is gone: straight to SIGKILL for what it left behind
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


class _Output(threading.Thread):
    """Keeps the first ``LOG_LIMIT`` bytes of a client's output and drains the rest,
    so a client that prints without end neither blocks nor fills the disk."""

    def __init__(self, stream: io.BufferedReader) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.kept = bytearray()
        self.cut = False

    def run(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: self.stream.read1(65536), b""):
                room = LOG_LIMIT - len(self.kept)
                self.kept += chunk[:max(room, 0)]
                self.cut = self.cut or len(chunk) > room

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace") + (" [cut]" if self.cut else "")


def run_scenario(served: ServedEmulator, command: Sequence[str], scenario: str, *, workdir: Path,
                 intents: int = DEFAULT_INTENTS, timeout: float = DEFAULT_TIMEOUT,
                 env: dict[str, str] | None = None) -> ScenarioRun:
    """Play ``scenario`` and run one copy of ``command`` per key of it, all at once.

    Raises :class:`CommandError` when the command cannot start.
    """
    keys = served.keys[scenario]
    journal = workdir / f"journal-{scenario}.ndjson"
    served.play(scenario, journal)
    began, started = time.monotonic(), time.time()
    procs: list[subprocess.Popen[bytes]] = []
    outputs: list[_Output] = []
    base = dict(os.environ if env is None else env)
    try:
        for key in keys:
            child_env = {**base, ENV_BASE_URL: served.base_url, ENV_KEY: key,
                         ENV_INTENTS: str(intents), ENV_SCENARIO: scenario}
            try:
                proc = subprocess.Popen(list(command), env=child_env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise CommandError(f"cannot start {command[0]!r}: {exc.strerror or exc}") from None
            procs.append(proc)
            assert isinstance(proc.stdout, io.BufferedReader)  # a pipe, buffered (the default)
            outputs.append(_Output(proc.stdout))
            outputs[-1].start()
        timed_out = full = False
        while any(p.poll() is None for p in procs):
            if served.journal.full.is_set():
                full = True
                break
            if time.monotonic() - began > timeout:
                timed_out = True
                break
            time.sleep(0.02)
    finally:
        for proc in procs:
            _stop(proc)
        for output in outputs:
            output.join(timeout=5)
            output.stream.close()
    codes: list[int | None] = [None if (timed_out or full) and p.returncode in (-signal.SIGTERM, -signal.SIGKILL)
                               else p.returncode for p in procs]
    served.settle(grace=10.0)
    served.journal.end()
    seconds = time.monotonic() - began
    with journal.open("rb") as stream:
        records = list(read_journal(stream))
    logs = [output.text() for output in outputs]
    for n, text in enumerate(logs):
        (workdir / f"client-{scenario}-{n}.log").write_text(text, encoding="utf-8")
    return ScenarioRun(scenario, records, codes, timed_out, full or served.journal.full.is_set(), seconds,
                       started, timeout, journal, logs)
