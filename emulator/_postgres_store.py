"""``postgresql://...``: state shared by any number of emulator processes on any hosts.

Every rule the other stores keep in one process is kept by the database here:

* a claim is one statement, one round trip: a snapshot read of the record and,
  only when that read found no live record, an ``INSERT ... ON CONFLICT DO
  UPDATE ... WHERE`` that takes a key that is absent, expired or abandoned
  (lease over) and nothing else, so two replicas can never both own a key;
* a replay (or a live claim) is answered from that read: it writes nothing and
  takes no row lock, so it never waits on a writer;
* the lease is a stored timestamp, so a SIGKILLed replica's claim frees itself;
* a keyed create inserts its avatar and completes its record in one
  transaction (pipelined: two round trips), guarded by the claim's token
  (taken over: rolled back);
* expired records are deleted in bounded batches (``SKIP LOCKED``, so replicas
  purging at once do not queue on each other);
* rate-limit buckets are rows updated by one atomic statement (:meth:`take_token`).

Connections come from a pool (psycopg_pool).  A lost database raises
:class:`StoreUnavailable` (the app answers 503); broken connections are then
replaced, so serving resumes when the database returns.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from ._config import store_label
from ._namespaces import SEPARATOR
from ._postgres_schema import migrate
from ._records import (
    Claim,
    Completion,
    Fresh,
    Group,
    InFlight,
    Look,
    Render,
    Replay,
    StoredResponse,
    StoreError,
    StoreUnavailable,
)
from ._sqlite_store import _text, _untext

_PURGE_EVERY = 1024
_PURGE_BATCH = 1000  # rows one purge deletes at most: a purge never holds many locks for long
_CAP_EVERY = 64  # count(*) is a scan: check the record cap every this many claims (per process)
_POOL_SIZE = 8  # the app's executor has fewer threads, so a request never waits for a connection
_CONNECT_TIMEOUT = 5.0
_EPSILON = 1e-9

# One round trip for every outcome.  ``seen`` is a plain snapshot read; the INSERT runs only
# when that read found no live record, so a replay (or a live claim) writes and locks nothing.
# When it does run, ON CONFLICT ... WHERE takes a key that is expired or abandoned and nothing
# else, judged on the latest committed row: two replicas can never both own a key.
_CLAIM = (
    "WITH seen AS (SELECT fingerprint, expires_at, lease_until, status, body, content_type "
    "FROM idempotency WHERE scope = %(scope)s), "
    "claimed AS (INSERT INTO idempotency AS i (scope, fingerprint, expires_at, token, lease_until) "
    "SELECT %(scope)s, %(fp)s, %(expires)s, %(token)s, %(lease)s WHERE NOT EXISTS (SELECT 1 FROM seen "
    "WHERE expires_at > %(now)s AND (status IS NOT NULL OR lease_until > %(now)s)) "
    "ON CONFLICT (scope) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
    "expires_at = EXCLUDED.expires_at, token = EXCLUDED.token, lease_until = EXCLUDED.lease_until, "
    "status = NULL, body = NULL, content_type = NULL "
    "WHERE i.expires_at <= %(now)s OR (i.status IS NULL AND i.lease_until <= %(now)s) "
    "RETURNING token) "
    "SELECT (SELECT token FROM claimed), s.fingerprint, s.expires_at, s.lease_until, s.status, s.body, "
    "s.content_type FROM (VALUES (1)) AS one LEFT JOIN seen AS s ON true")
_PURGE = ("DELETE FROM idempotency WHERE scope IN (SELECT scope FROM idempotency "
          "WHERE expires_at <= %(now)s OR (status IS NULL AND lease_until <= %(now)s) "
          "LIMIT %(batch)s FOR UPDATE SKIP LOCKED)")
_EVICT = ("DELETE FROM idempotency WHERE scope IN (SELECT scope FROM idempotency "
          "WHERE status IS NOT NULL ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)")
# The group (new, or one more look) and the look, in one statement.
_GROUP_AND_LOOK = (
    "WITH g AS (INSERT INTO avatar_groups AS g (tenant, id, name, created_at, variant, fails, needs_consent, "
    "looks_count) VALUES (%s, %s, %s, %s, %s, %s, %s, 1) "
    "ON CONFLICT (tenant, id) DO UPDATE SET looks_count = g.looks_count + 1 "
    "RETURNING tenant, id, name, created_at, variant, fails, needs_consent, looks_count), "
    "look AS (INSERT INTO avatar_looks (tenant, id, group_id, name, variant, avatar_type, created_at, "
    "fails, needs_consent) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)) "
    "SELECT * FROM g")
# A keyed create founding a new group (the usual case), in one statement: the group, the look
# and the record's completion, whose response was rendered beforehand for a group of one look.
# It answers 0 when the group already exists (nothing done: the caller takes the general path),
# and fails (division by zero, so nothing is stored) when the claim's token no longer holds the record.
_FOUND_GROUP = (
    "WITH g AS (INSERT INTO avatar_groups (tenant, id, name, created_at, variant, fails, needs_consent, "
    "looks_count) VALUES (%(gt)s, %(gid)s, %(gname)s, %(gat)s, %(gvar)s, %(gfail)s, %(gcon)s, 1) "
    "ON CONFLICT (tenant, id) DO NOTHING RETURNING 1), "
    "look AS (INSERT INTO avatar_looks (tenant, id, group_id, name, variant, avatar_type, created_at, "
    "fails, needs_consent) SELECT %(lt)s, %(lid)s, %(lgid)s, %(lname)s, %(lvar)s, %(ltype)s, %(lat)s, "
    "%(lfail)s, %(lcon)s WHERE EXISTS (SELECT 1 FROM g)), "
    "done AS (UPDATE idempotency SET token = NULL, lease_until = 0, status = %(status)s, body = %(body)s, "
    "content_type = %(ctype)s WHERE scope = %(scope)s AND token = %(token)s AND status IS NULL "
    "AND EXISTS (SELECT 1 FROM g) RETURNING 1) "
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM g) THEN 1 / (SELECT count(*) FROM done)::int ELSE 0 END")
_GROUP_SELECT = ("SELECT tenant, id, name, created_at, variant, fails, needs_consent, looks_count "
                 "FROM avatar_groups WHERE tenant = %s AND id = %s")
_LOOK_SELECT = ("SELECT tenant, id, group_id, name, variant, avatar_type, created_at, fails, "
                "needs_consent FROM avatar_looks")
# Completes a create's record, or fails (division by zero) when its token no longer holds it:
# the failure aborts the transaction, so the avatar is rolled back with no extra round trip.
_COMPLETE = (
    "WITH done AS (UPDATE idempotency SET token = NULL, lease_until = 0, status = %s, body = %s, "
    "content_type = %s WHERE scope = %s AND token = %s AND status IS NULL RETURNING 1) "
    "SELECT 1 / (SELECT count(*) FROM done)::int")
_TAKE = (
    "INSERT INTO rate_buckets AS b (tenant, bucket, tokens, stamp) "
    "VALUES (%(tenant)s, %(bucket)s, %(capacity)s - 1, %(now)s) "
    "ON CONFLICT (tenant, bucket) DO UPDATE SET "
    "tokens = LEAST(%(capacity)s, b.tokens + GREATEST(0, %(now)s - b.stamp) * %(rate)s) - 1, "
    "stamp = %(now)s "
    "WHERE LEAST(%(capacity)s, b.tokens + GREATEST(0, %(now)s - b.stamp) * %(rate)s) >= 1 - %(eps)s "
    "RETURNING tokens")


class PostgresStore:
    blocking = True

    def __init__(self, dsn: str, max_records: int | None = None) -> None:
        self._max_records = max_records
        self._claims = 0
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": int(_CONNECT_TIMEOUT)}
        try:
            # One connection first, outside the pool: an unreachable database is one clear error
            # now, not the pool's retries and warnings until its timeout.  It migrates the schema.
            with psycopg.connect(dsn, **options) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach PostgreSQL at {store_label(dsn)}: {_first_line(exc)}") from None
        self._pool = ConnectionPool(dsn, min_size=1, max_size=_POOL_SIZE, open=False, timeout=_CONNECT_TIMEOUT,
                                    kwargs=options, name="avatar-contract")
        try:
            self._pool.open(wait=True, timeout=_CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            self._pool.close()
            raise StoreError(f"cannot reach PostgreSQL at {store_label(dsn)}: {_first_line(exc)}") from None

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            # Broken connections are discarded when returned; check the idle ones too,
            # so that serving resumes at once when the database is back.
            with suppress(psycopg.Error):
                self._pool.check()
            raise StoreUnavailable(_first_line(exc)) from None

    def _rows(self, sql: str, params: Any = ()) -> list[Any]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    # -- idempotency --------------------------------------------------------
    def claim(self, scope: str, fingerprint: str, now: float, ttl: float, lease: float) -> Claim:
        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            self.purge(now)
        if self._max_records is not None and self._claims % _CAP_EVERY == 0:
            self._evict()
        with self._conn() as conn:
            for _ in range(3):
                token = secrets.token_hex(8)
                row = conn.execute(_CLAIM, {"scope": scope, "fp": fingerprint, "expires": now + ttl,
                                            "token": token, "lease": now + lease, "now": now}).fetchone()
                assert row is not None
                if row[0] is not None:
                    return Fresh(token)
                fp, expires_at, lease_until, status, body, content_type = row[1:]
                if expires_at is not None and expires_at > now:
                    if status is not None:
                        return Replay(StoredResponse(status, bytes(body), content_type), fp == fingerprint)
                    if lease_until > now:
                        return InFlight()
                # The record looked free, but another replica claimed it first: look again.
        return InFlight()

    def purge(self, now: float, batch: int = _PURGE_BATCH) -> int:
        """Delete up to ``batch`` expired or abandoned records; how many went."""
        with self._conn() as conn:
            return conn.execute(_PURGE, {"now": now, "batch": batch}).rowcount

    def _evict(self) -> None:
        # Oldest first; in-flight records are never evicted, so the in-flight guarantee holds.
        assert self._max_records is not None
        with self._conn() as conn:
            row = conn.execute("SELECT count(*) FROM idempotency").fetchone()
            excess = (row[0] if row else 0) - self._max_records
            if excess > 0:
                conn.execute(_EVICT, (min(excess, _PURGE_BATCH),))

    def idempotency_records(self) -> int:
        count: int = self._rows("SELECT count(*) FROM idempotency")[0][0]
        return count

    def peek(self, scope: str, fingerprint: str, now: float) -> Replay | None:
        rows = self._rows("SELECT fingerprint, status, body, content_type FROM idempotency "
                          "WHERE scope = %s AND expires_at > %s AND status IS NOT NULL", (scope, now))
        if not rows:
            return None
        fp, status, body, content_type = rows[0]
        return Replay(StoredResponse(status, bytes(body), content_type), fp == fingerprint)

    def complete(self, scope: str, token: str | None, fingerprint: str,
                 response: StoredResponse, now: float, ttl: float) -> None:
        with self._conn() as conn:
            if token is None:
                conn.execute(
                    "INSERT INTO idempotency (scope, fingerprint, expires_at, token, lease_until, status, "
                    "body, content_type) VALUES (%s, %s, %s, NULL, 0, %s, %s, %s) "
                    "ON CONFLICT (scope) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
                    "expires_at = EXCLUDED.expires_at, token = NULL, lease_until = 0, "
                    "status = EXCLUDED.status, body = EXCLUDED.body, content_type = EXCLUDED.content_type",
                    (scope, fingerprint, now + ttl, response.status, response.body, response.content_type))
            else:
                conn.execute(
                    "UPDATE idempotency SET token = NULL, lease_until = 0, status = %s, body = %s, "
                    "content_type = %s WHERE scope = %s AND token = %s",
                    (response.status, response.body, response.content_type, scope, token))

    def release(self, scope: str, token: str) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM idempotency WHERE scope = %s AND token = %s AND status IS NULL",
                         (scope, token))

    # -- rate limits ----------------------------------------------------------
    def take_token(self, tenant: str, bucket: str, capacity: int, rate: float, now: float) -> int:
        """One token from a shared bucket: 0 if granted, else whole seconds until one is (>= 1)."""
        params = {"tenant": tenant, "bucket": bucket, "capacity": float(capacity), "rate": rate,
                  "now": now, "eps": _EPSILON}
        with self._conn() as conn:
            if conn.execute(_TAKE, params).fetchone() is not None:
                return 0
            # Refused: the bucket is unchanged; read how long until it holds a token.
            row = conn.execute("SELECT tokens, stamp FROM rate_buckets WHERE tenant = %s AND bucket = %s",
                               (tenant, bucket)).fetchone()
        tokens = 0.0 if row is None else min(float(capacity), row[0] + max(0.0, now - row[1]) * rate)
        return max(1, math.ceil((1.0 - tokens) / rate - _EPSILON))

    # -- avatars ------------------------------------------------------------
    def create(self, look: Look, group: Group, render: Render,
               completion: Completion | None = None) -> StoredResponse | None:
        params = (group.tenant, group.id, _text(group.name), group.created_at, group.variant, group.fails,
                  group.needs_consent, look.tenant, look.id, look.group_id, _text(look.name), look.variant,
                  look.avatar_type, look.created_at, look.fails, look.needs_consent)
        if completion is None:  # one statement: atomic on its own
            with self._conn() as conn:
                response = render(*_group(conn.execute(_GROUP_AND_LOOK, params).fetchone()))
            return response
        try:
            founded = render(group, 1)
            with self._conn() as conn:
                row = conn.execute(_FOUND_GROUP, {
                    "gt": group.tenant, "gid": group.id, "gname": _text(group.name), "gat": group.created_at,
                    "gvar": group.variant, "gfail": group.fails, "gcon": group.needs_consent,
                    "lt": look.tenant, "lid": look.id, "lgid": look.group_id, "lname": _text(look.name),
                    "lvar": look.variant, "ltype": look.avatar_type, "lat": look.created_at,
                    "lfail": look.fails, "lcon": look.needs_consent, "status": founded.status,
                    "body": founded.body, "ctype": founded.content_type, "scope": completion.scope,
                    "token": completion.token}).fetchone()
            if row is not None and row[0] == 1:
                return founded
            # The group exists: pipelined, BEGIN and the avatar in one round trip, the record's
            # completion and COMMIT in a second.  A completion whose token no longer holds the
            # record fails inside the transaction (see _COMPLETE): COMMIT rolls the avatar back.
            with self._conn() as conn, conn.pipeline(), conn.transaction():
                response = render(*_group(conn.execute(_GROUP_AND_LOOK, params).fetchone()))
                conn.execute(_COMPLETE, (response.status, response.body, response.content_type,
                                         completion.scope, completion.token))
            return response
        except psycopg.errors.DivisionByZero:
            return None  # taken over: nothing was stored

    def group(self, tenant: str, group_id: str) -> tuple[Group, int] | None:
        rows = self._rows(_GROUP_SELECT, (tenant, group_id))
        return _group(rows[0]) if rows else None

    def look(self, tenant: str, look_id: str) -> Look | None:
        rows = self._rows(_LOOK_SELECT + " WHERE tenant = %s AND id = %s", (tenant, look_id))
        return _look(rows[0]) if rows else None

    def looks(self) -> list[Look]:
        return [_look(row) for row in self._rows(_LOOK_SELECT + " ORDER BY seq")]

    def created_count(self) -> int:
        count: int = self._rows("SELECT count(*) FROM avatar_looks")[0][0]
        return count

    # -- namespaces -----------------------------------------------------------
    def touch_namespace(self, name: str, now: float) -> None:
        with self._conn() as conn:
            conn.execute("INSERT INTO namespaces AS n (name, last_used) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET last_used = GREATEST(n.last_used, EXCLUDED.last_used)", (name, now))

    def idle_namespaces(self, before: float) -> list[str]:
        return [row[0] for row in self._rows("SELECT name FROM namespaces WHERE last_used < %s", (before,))]

    def namespace_settings(self, name: str) -> str | None:
        rows = self._rows("SELECT settings FROM namespace_settings WHERE name = %s", (name,))
        return str(rows[0][0]) if rows else None

    def set_namespace_settings(self, name: str, settings: str, now: float) -> None:
        with self._conn() as conn, conn.transaction():
            conn.execute("INSERT INTO namespace_settings (name, settings) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET settings = EXCLUDED.settings", (name, settings))
            conn.execute("INSERT INTO namespaces AS n (name, last_used) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET last_used = GREATEST(n.last_used, EXCLUDED.last_used)", (name, now))

    def drop_namespace(self, name: str) -> bool:
        prefix = f"{name}{SEPARATOR}"
        with self._conn() as conn, conn.transaction():
            dropped = conn.execute("DELETE FROM namespaces WHERE name = %s", (name,)).rowcount
            dropped += conn.execute("DELETE FROM namespace_settings WHERE name = %s", (name,)).rowcount
            for table, column in _NAMESPACED:
                dropped += conn.execute(f"DELETE FROM {table} WHERE starts_with({column}, %s)",
                                        (prefix,)).rowcount
        return dropped > 0

    def close(self) -> None:
        self._pool.close()


# Where a namespace's rows are: each table, and the column its prefix is on.
_NAMESPACED = (("idempotency", "scope"), ("avatar_groups", "tenant"), ("avatar_looks", "tenant"),
               ("rate_buckets", "tenant"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _group(row: Any) -> tuple[Group, int]:
    tenant, id_, name, created_at, variant, fails, consent, count = row
    return Group(id_, tenant, _untext(name), created_at, variant, bool(fails), bool(consent)), count


def _look(row: Any) -> Look:
    tenant, id_, group_id, name, variant, avatar_type, created_at, fails, consent = row
    return Look(id_, tenant, group_id, _untext(name), variant, avatar_type, created_at,
                bool(fails), bool(consent))

