"""The create ledger: one count of 2xx answers for the whole run, a hard cap, and a circuit breaker.

Every POST to the create route could create an avatar on some broken server
(one that ignores auth, the body or the key), so every one holds a *slot*
while it is in flight, and a 2xx status line keeps it for good, whether or
not the body that follows ever arrives.  Never more than
``max(cap, 1)`` slots exist, so no server, however broken, gets more 2xx
answers than that from one run.  Planned creates may use all slots but one;
the last is kept for refusal probes, which a correct server answers 4xx (the
slot comes back) so they can go on after the plan is spent.

The first 2xx to a request a correct server must refuse trips the breaker:
nothing that could create is sent after it, under any flags.

The ledger is a SQLite row (in memory for ``verify``; a file shared by
pytest-xdist workers), updated under ``BEGIN IMMEDIATE``, so the cap holds
across processes too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

_COLUMNS = ("made", "unplanned", "in_flight", "in_flight_planned", "requests", "valid_probes",
            "auth_checked", "tripped", "stopped", "throttled", "waited", "unread", "unexpected")
MAX_UNEXPECTED_SHOWN = 50  # unexpected creates listed (the count, ``unplanned``, stays exact)
PROBE_WAIT = 120.0  # seconds a probe waits for a slot held by other in-flight requests
RUN_WAIT = 120.0  # seconds one run spends waiting out 429s, in total


class BudgetExhausted(Exception):
    """A request that could create, with no slot left under --max-creates."""


class CircuitOpen(BudgetExhausted):
    """The breaker tripped: the target created where a correct server refuses."""


class TargetStopped(Exception):
    """The target stopped answering (refused, reset, a run of timeouts)."""


class ValidBodyRefused(BudgetExhausted):
    """Without --allow-create, a valid body may go out only once, after auth was shown to be checked."""


@dataclass(frozen=True)
class LedgerState:
    made: int
    unplanned: int
    requests: int
    tripped: str
    stopped: str
    throttled: str
    waited: float
    unread: int = 0  # of ``made``: 2xx status lines whose body never arrived (a stall, a reset)
    unexpected: tuple[str, ...] = ()  # each 2xx to a refusal probe: which request, answered what


class Ledger:
    """The run's create accounting (``limit=None``: unlimited, the in-process emulator)."""

    def __init__(self, limit: int | None, *, path: str | None = None, breaker: bool = True,
                 allow_valid_bodies: bool = True, tolerate: int = 0) -> None:
        self.limit = limit
        self.breaker = breaker
        self.tolerate = tolerate  # --unexpected-creates: 2xx to refusal probes before the breaker opens
        self.allow_valid_bodies = allow_valid_bodies
        self.path = path
        # The answer that opened the breaker and the clause it is evidence against (this process's
        # requests only: an xdist worker sees its own), so the owner fails wherever it was sent.
        self.tripped_by: tuple[Any, str] | None = None
        # One process (verify, plain pytest): a dict, since every request touches the ledger.
        # Several (xdist): a SQLite row in the run's shared directory.
        self._memory: dict[str, object] | None = None
        self._db: sqlite3.Connection | None = None
        if path is None:
            self._memory = dict(zip(_COLUMNS, (0, 0, 0, 0, 0, 0, 0, "", "", "", 0.0, 0, ""), strict=True))
            return
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, made INT, unplanned INT, "
                         "in_flight INT, in_flight_planned INT, requests INT, valid_probes INT, auth_checked INT, "
                         "tripped TEXT, stopped TEXT, throttled TEXT, waited REAL, unread INT, unexpected TEXT)")
        self._db.execute("INSERT OR IGNORE INTO ledger VALUES (1, 0, 0, 0, 0, 0, 0, 0, '', '', '', 0.0, 0, '')")

    # -- the row ----------------------------------------------------------------
    def _execute(self, sql: str) -> None:
        if self._db is not None:
            self._db.execute(sql)

    def _row(self) -> dict[str, Any]:
        if self._memory is not None:
            return dict(self._memory)
        assert self._db is not None
        values = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM ledger WHERE id = 1").fetchone()
        return dict(zip(_COLUMNS, values, strict=True))

    def _update(self, **changes: object) -> None:
        if self._memory is not None:
            self._memory.update(changes)
            return
        assert self._db is not None
        sets = ", ".join(f"{k} = ?" for k in changes)
        self._db.execute(f"UPDATE ledger SET {sets} WHERE id = 1", tuple(changes.values()))

    def _set_once(self, column: str, value: str) -> None:
        if self._memory is not None:
            if not self._memory[column]:
                self._memory[column] = value
            return
        assert self._db is not None
        self._db.execute(f"UPDATE ledger SET {column} = ? WHERE id = 1 AND {column} = ''", (value,))

    def state(self) -> LedgerState:
        row = self._row()
        return LedgerState(int(row["made"]), int(row["unplanned"]), int(row["requests"]),
                           str(row["tripped"]), str(row["stopped"]), str(row["throttled"]),
                           float(row["waited"]), int(row["unread"]),
                           tuple(line for line in str(row["unexpected"]).split("\n") if line))

    @property
    def planned_limit(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - 1)

    # -- slots --------------------------------------------------------------------
    def _try(self, count: int, planned: bool) -> bool:
        self._execute("BEGIN IMMEDIATE")
        try:
            row = self._row()
            if row["tripped"]:
                raise CircuitOpen(f"circuit breaker open: {row['tripped']}")
            if row["stopped"]:
                raise TargetStopped(str(row["stopped"]).split(":", 1)[0])  # the detail is said once, in the report
            made, flying, flying_planned = int(row["made"]), int(row["in_flight"]), \
                int(row["in_flight_planned"])
            if self.limit is not None:
                ceiling = self.limit - 1 if planned else self.limit
                if made + count > ceiling:
                    raise BudgetExhausted(f"no create left under --max-creates {self.limit} ({made} 2xx "
                                          "answer(s) so far; one slot stays free for refusal probes)" if planned else
                                          f"every slot under --max-creates is spent ({made} 2xx answer(s))")
                if made + flying + count > self.limit or (planned and made + flying_planned + count > ceiling):
                    return False
            self._update(in_flight=flying + count,
                         in_flight_planned=flying_planned + (count if planned else 0))
            return True
        finally:
            self._execute("COMMIT")

    async def reserve(self, count: int = 1, *, planned: bool) -> None:
        """Hold ``count`` slots, waiting while other in-flight requests hold them."""
        deadline = time.monotonic() + PROBE_WAIT
        while not self._try(count, planned):
            if time.monotonic() > deadline:
                raise BudgetExhausted("no slot freed up under --max-creates (requests still in flight)")
            await asyncio.sleep(0.005)

    def settle(self, status: int | None, *, planned: bool, must_refuse: bool, evidence: str = "") -> None:
        """Give back one slot; ``status`` is the answer (``None``: nothing was sent)."""
        self._execute("BEGIN IMMEDIATE")
        try:
            row = self._row()
            changes: dict[str, object] = {
                "in_flight": max(0, int(row["in_flight"]) - 1),
                "in_flight_planned": max(0, int(row["in_flight_planned"]) - (1 if planned else 0)),
            }
            if status is not None and 200 <= status < 300:
                changes["made"] = int(row["made"]) + 1
                if not planned:
                    changes["unplanned"] = int(row["unplanned"]) + 1
                if must_refuse and self.breaker and not row["tripped"]:
                    what = f"{evidence} was answered {status} where a correct server refuses"
                    count = int(row["unplanned"]) + (0 if planned else 1)
                    if count > self.tolerate:  # --unexpected-creates N: the (N+1)th opens the breaker
                        changes["tripped"] = what + (f" (unexpected create {count}, over --unexpected-creates "
                                                     f"{self.tolerate})" if self.tolerate else "")
                    if count <= MAX_UNEXPECTED_SHOWN:
                        changes["unexpected"] = "\n".join(filter(None, (str(row["unexpected"]), what)))
            self._update(**changes)
        finally:
            self._execute("COMMIT")

    def body_not_received(self) -> None:
        """A 2xx (already counted when its status line arrived) whose body never came."""
        self._execute("BEGIN IMMEDIATE")
        try:
            self._update(unread=int(self._row()["unread"]) + 1)
        finally:
            self._execute("COMMIT")

    # -- the rest of the run's shared state ----------------------------------------
    def next_request(self) -> int:
        self._execute("BEGIN IMMEDIATE")
        try:
            number = int(self._row()["requests"]) + 1
            self._update(requests=number)
            return number
        finally:
            self._execute("COMMIT")

    def stop(self, reason: str) -> None:
        """The target stopped answering: said once, the first reason wins."""
        self._set_once("stopped", reason)

    def throttle(self, reason: str) -> None:
        self._set_once("throttled", reason)

    def add_wait(self, seconds: float) -> bool:
        """Book ``seconds`` of waiting for a 429; False if the run's waiting budget is spent."""
        self._execute("BEGIN IMMEDIATE")
        try:
            waited = float(self._row()["waited"])
            if waited + seconds > RUN_WAIT:
                return False
            self._update(waited=waited + seconds)
            return True
        finally:
            self._execute("COMMIT")

    def auth_checked(self) -> None:
        self._update(auth_checked=1)

    def take_valid_body(self) -> bool:
        """May a refusal probe carry a valid body?  Always with --allow-create (it holds a slot);
        without it once, after an invalid body without valid credentials got 401, and never after any 2xx."""
        if self.allow_valid_bodies:
            return True
        self._execute("BEGIN IMMEDIATE")
        try:
            row = self._row()
            if not row["auth_checked"] or int(row["valid_probes"]) >= 1 or int(row["made"]) > 0:
                return False
            self._update(valid_probes=int(row["valid_probes"]) + 1)
            return True
        finally:
            self._execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
