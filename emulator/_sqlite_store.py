"""``sqlite:PATH``: avatars and idempotency records that survive restarts and span workers.

Several uvicorn workers are several processes, each with its own connection,
so everything that must be shared (in-flight markers included) lives in the
database.  ``claim`` runs under ``BEGIN IMMEDIATE``: the write lock is taken
before the read, so two processes cannot both see "no record" and both
proceed.  WAL lets readers (polling GETs) run beside the writer.  Each method
commits before it returns, so a clean shutdown loses nothing.

A keyed create inserts the avatar and completes its idempotency record in one
transaction, guarded by the claim's token: after a kill -9 at any instant the
key is either complete (a retry replays it) or still in flight with no avatar
(a retry after the lease creates it, once).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from ._namespaces import SEPARATOR
from ._records import Claim, Completion, Fresh, Group, InFlight, Look, Render, Replay, StoredResponse

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    scope        TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    expires_at   REAL NOT NULL,
    token        TEXT,
    lease_until  REAL NOT NULL DEFAULT 0,
    status       INTEGER,
    body         BLOB,
    content_type TEXT
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
CREATE TABLE IF NOT EXISTS avatar_groups (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    created_at    REAL NOT NULL,
    variant       TEXT NOT NULL,
    fails         INTEGER NOT NULL,
    needs_consent INTEGER NOT NULL,
    looks_count   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS avatar_looks (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    variant       TEXT NOT NULL,
    avatar_type   TEXT NOT NULL,
    created_at    REAL NOT NULL,
    fails         INTEGER NOT NULL,
    needs_consent INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS namespaces (
    name      TEXT PRIMARY KEY,
    last_used REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS namespace_settings (
    name     TEXT PRIMARY KEY,
    settings TEXT NOT NULL
);
"""

_PURGE_EVERY = 1024
_CAP_EVERY = 64  # COUNT(*) is a scan: check the record cap every this many claims


class _TakenOver(Exception):
    """The claim's token no longer holds the record: roll the create back."""


def _text(value: str) -> str:
    # Names may hold lone surrogates (legal in JSON, not encodable as UTF-8);
    # an ASCII JSON string keeps them intact.
    return json.dumps(value, ensure_ascii=True)


def _untext(value: str) -> str:
    result: str = json.loads(value)
    return result


class SqliteStore:
    blocking = True

    def __init__(self, path: str | Path, max_records: int | None = None) -> None:
        self.path = Path(path)
        self._max_records = max_records
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per process, shared by the app's worker thread and by
        # tests inspecting from theirs; the lock serialises them.
        self._lock = threading.Lock()
        self._lock_file = open(self.path.with_name(self.path.name + ".lock"), "a+b")  # noqa: SIM115
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        # busy_timeout first: another worker may hold the lock while we set up.
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only an OS crash
        # can lose the last transactions, which is fine for an emulator.
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
        self._claims = 0

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # Writers queue on a kernel lock first: a blocked BEGIN IMMEDIATE would wait in
        # SQLite's busy handler, which sleep-polls in steps of up to 100 ms (the 2-worker
        # p99's tail); flock wakes the next writer as soon as the lock is released, and
        # the kernel releases it when a process dies.
        with self._lock, _exclusive(self._lock_file):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- idempotency --------------------------------------------------------
    def claim(self, scope: str, fingerprint: str, now: float, ttl: float, lease: float) -> Claim:
        # A replay, or a key in flight, is answered by a plain read (WAL: no lock, no wait);
        # only a key that looks free goes on to the write transaction, which looks again.
        seen = self._read(_RECORD, (scope,))
        if seen:
            known = _known(seen[0], fingerprint, now)
            if known is not None:
                return known
        with self._transaction() as db:
            self._claims += 1
            if self._claims % _PURGE_EVERY == 0:
                db.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
            if self._max_records is not None and self._claims % _CAP_EVERY == 0:
                self._evict(db)
            row = db.execute(_RECORD, (scope,)).fetchone()
            known = None if row is None else _known(row, fingerprint, now)
            if known is not None:
                return known
            token = secrets.token_hex(8)
            db.execute(
                "INSERT OR REPLACE INTO idempotency (scope, fingerprint, expires_at, token, lease_until) "
                "VALUES (?, ?, ?, ?, ?)", (scope, fingerprint, now + ttl, token, now + lease))
            return Fresh(token)

    def _evict(self, db: sqlite3.Connection) -> None:
        # Oldest first by first use (expires_at is first use + the TTL); in-flight
        # records are never evicted, so the in-flight guarantee holds.
        assert self._max_records is not None
        excess = db.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0] - self._max_records
        if excess > 0:
            db.execute("DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency "
                       "WHERE status IS NOT NULL ORDER BY expires_at LIMIT ?)", (excess,))

    def idempotency_records(self) -> int:
        count: int = self._read("SELECT COUNT(*) FROM idempotency", ())[0][0]
        return count

    def peek(self, scope: str, fingerprint: str, now: float) -> Replay | None:
        rows = self._read(
            "SELECT fingerprint, status, body, content_type FROM idempotency "
            "WHERE scope = ? AND expires_at > ? AND status IS NOT NULL", (scope, now))
        if not rows:
            return None
        fp, status, body, content_type = rows[0]
        return Replay(StoredResponse(status, bytes(body), content_type), fp == fingerprint)

    def complete(self, scope: str, token: str | None, fingerprint: str,
                 response: StoredResponse, now: float, ttl: float) -> None:
        with self._transaction() as db:
            if token is None:
                db.execute(
                    "INSERT OR REPLACE INTO idempotency (scope, fingerprint, expires_at, token, "
                    "lease_until, status, body, content_type) VALUES (?, ?, ?, NULL, 0, ?, ?, ?)",
                    (scope, fingerprint, now + ttl, response.status, response.body,
                     response.content_type))
            else:
                db.execute(
                    "UPDATE idempotency SET token = NULL, lease_until = 0, status = ?, body = ?, "
                    "content_type = ? WHERE scope = ? AND token = ?",
                    (response.status, response.body, response.content_type, scope, token))

    def release(self, scope: str, token: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency WHERE scope = ? AND token = ? AND status IS NULL",
                       (scope, token))

    # -- avatars ------------------------------------------------------------
    def create(self, look: Look, group: Group, render: Render,
               completion: Completion | None = None) -> StoredResponse | None:
        try:
            return self._create(look, group, render, completion)
        except _TakenOver:
            return None

    def _create(self, look: Look, group: Group, render: Render,
                completion: Completion | None) -> StoredResponse:
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO avatar_groups (tenant, id, name, created_at, variant, fails, "
                "needs_consent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (group.tenant, group.id, _text(group.name), group.created_at, group.variant,
                 int(group.fails), int(group.needs_consent)))
            db.execute("UPDATE avatar_groups SET looks_count = looks_count + 1 "
                       "WHERE tenant = ? AND id = ?", (group.tenant, group.id))
            db.execute(
                "INSERT INTO avatar_looks (tenant, id, group_id, name, variant, avatar_type, "
                "created_at, fails, needs_consent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (look.tenant, look.id, look.group_id, _text(look.name), look.variant,
                 look.avatar_type, look.created_at, int(look.fails), int(look.needs_consent)))
            stored, count = _group(db.execute(_GROUP_SELECT, (group.tenant, group.id)).fetchone())
            response = render(stored, count)
            if completion is not None:
                done = db.execute(
                    "UPDATE idempotency SET token = NULL, lease_until = 0, status = ?, body = ?, "
                    "content_type = ? WHERE scope = ? AND token = ? AND status IS NULL",
                    (response.status, response.body, response.content_type, completion.scope,
                     completion.token))
                if done.rowcount != 1:
                    raise _TakenOver  # rolls the avatar back with it
        return response

    def group(self, tenant: str, group_id: str) -> tuple[Group, int] | None:
        rows = self._read(_GROUP_SELECT, (tenant, group_id))
        return _group(rows[0]) if rows else None

    def look(self, tenant: str, look_id: str) -> Look | None:
        rows = self._read(_LOOK_SELECT + " WHERE tenant = ? AND id = ?", (tenant, look_id))
        return _look(rows[0]) if rows else None

    def looks(self) -> list[Look]:
        return [_look(row) for row in self._read(_LOOK_SELECT + " ORDER BY rowid", ())]

    def created_count(self) -> int:
        count: int = self._read("SELECT COUNT(*) FROM avatar_looks", ())[0][0]
        return count

    # -- namespaces -----------------------------------------------------------
    def touch_namespace(self, name: str, now: float) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO namespaces (name, last_used) VALUES (?, ?)", (name, now))

    def idle_namespaces(self, before: float) -> list[str]:
        return [row[0] for row in self._read("SELECT name FROM namespaces WHERE last_used < ?", (before,))]

    def namespace_settings(self, name: str) -> str | None:
        rows = self._read("SELECT settings FROM namespace_settings WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def set_namespace_settings(self, name: str, settings: str, now: float) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO namespace_settings (name, settings) VALUES (?, ?)", (name, settings))
            db.execute("INSERT INTO namespaces (name, last_used) VALUES (?, ?) ON CONFLICT (name) "
                       "DO UPDATE SET last_used = max(last_used, excluded.last_used)", (name, now))

    def drop_namespace(self, name: str) -> bool:
        prefix = f"{name}{SEPARATOR}"
        with self._transaction() as db:
            dropped = db.execute("DELETE FROM namespaces WHERE name = ?", (name,)).rowcount
            dropped += db.execute("DELETE FROM namespace_settings WHERE name = ?", (name,)).rowcount
            for table, column in _NAMESPACED:
                dropped += db.execute(f"DELETE FROM {table} WHERE substr({column}, 1, ?) = ?",
                                      (len(prefix), prefix)).rowcount
        return dropped > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._lock_file.close()


# Where a namespace's rows are: each table, and the column its prefix is on.
_NAMESPACED = (("idempotency", "scope"), ("avatar_groups", "tenant"), ("avatar_looks", "tenant"))


_RECORD = ("SELECT fingerprint, expires_at, lease_until, status, body, content_type "
           "FROM idempotency WHERE scope = ?")


def _known(row: Any, fingerprint: str, now: float) -> Replay | InFlight | None:
    """What a live record answers (a replay, or in flight); None when the key is free."""
    fp, expires_at, lease_until, status, body, content_type = row
    if expires_at <= now:
        return None
    if status is not None:
        return Replay(StoredResponse(status, bytes(body), content_type), fp == fingerprint)
    return InFlight() if lease_until > now else None


@contextmanager
def _exclusive(handle: IO[bytes]) -> Iterator[None]:
    if fcntl is None:  # pragma: no cover - not POSIX: SQLite's own busy handler waits
        yield
        return
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_GROUP_SELECT = ("SELECT tenant, id, name, created_at, variant, fails, needs_consent, looks_count "
                 "FROM avatar_groups WHERE tenant = ? AND id = ?")
_LOOK_SELECT = ("SELECT tenant, id, group_id, name, variant, avatar_type, created_at, fails, "
                "needs_consent FROM avatar_looks")


def _group(row: Any) -> tuple[Group, int]:
    tenant, id_, name, created_at, variant, fails, consent, count = row
    return Group(id_, tenant, _untext(name), created_at, variant, bool(fails), bool(consent)), count


def _look(row: Any) -> Look:
    tenant, id_, group_id, name, variant, avatar_type, created_at, fails, consent = row
    return Look(id_, tenant, group_id, _untext(name), variant, avatar_type, created_at,
                bool(fails), bool(consent))
