"""The PostgreSQL store's schema, created and migrated by the emulator on start.

``emulator_schema_version`` holds one row: the number of migrations applied.
Each migration runs once, in order, in the transaction that records it; an
advisory lock (per schema) makes replicas that start together take turns, so
the second one finds the work done.  Tables live in the connection's current
schema, so one database can hold several emulators (``options=-csearch_path=NAME``).
"""

from __future__ import annotations

from typing import Any

from ._records import StoreError

MIGRATIONS: tuple[str, ...] = (
    # 1: what the SQLite store keeps.
    """
    CREATE TABLE idempotency (
        scope        TEXT PRIMARY KEY,
        fingerprint  TEXT NOT NULL,
        expires_at   DOUBLE PRECISION NOT NULL,
        token        TEXT,
        lease_until  DOUBLE PRECISION NOT NULL DEFAULT 0,
        status       INTEGER,
        body         BYTEA,
        content_type TEXT
    );
    CREATE INDEX idempotency_expiry ON idempotency (expires_at);
    CREATE TABLE avatar_groups (
        tenant        TEXT NOT NULL,
        id            TEXT NOT NULL,
        name          TEXT NOT NULL,
        created_at    DOUBLE PRECISION NOT NULL,
        variant       TEXT NOT NULL,
        fails         BOOLEAN NOT NULL,
        needs_consent BOOLEAN NOT NULL,
        looks_count   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, id)
    );
    CREATE TABLE avatar_looks (
        seq           BIGSERIAL UNIQUE,
        tenant        TEXT NOT NULL,
        id            TEXT NOT NULL,
        group_id      TEXT NOT NULL,
        name          TEXT NOT NULL,
        variant       TEXT NOT NULL,
        avatar_type   TEXT NOT NULL,
        created_at    DOUBLE PRECISION NOT NULL,
        fails         BOOLEAN NOT NULL,
        needs_consent BOOLEAN NOT NULL,
        PRIMARY KEY (tenant, id)
    )
    """,
    # 2: rate-limit buckets shared by every replica; abandoned leases found without a scan.
    """
    CREATE TABLE rate_buckets (
        tenant  TEXT NOT NULL,
        bucket  TEXT NOT NULL,
        tokens  DOUBLE PRECISION NOT NULL,
        stamp   DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (tenant, bucket)
    );
    CREATE INDEX idempotency_leases ON idempotency (lease_until) WHERE status IS NULL
    """,
    # 3: namespaces and when each was last used (idle ones expire).
    """
    CREATE TABLE namespaces (
        name      TEXT PRIMARY KEY,
        last_used DOUBLE PRECISION NOT NULL
    )
    """,
    # 4: each namespace's settings (PUT /ns/{name}: its faults), read by every replica.
    """
    CREATE TABLE namespace_settings (
        name     TEXT PRIMARY KEY,
        settings TEXT NOT NULL
    )
    """,
)
VERSION = len(MIGRATIONS)


def migrate(conn: Any, upto: int = VERSION) -> int:
    """Bring the connection's current schema to version ``upto``; the version found before."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('avatar-contract:' || current_schema()))")
        conn.execute("CREATE TABLE IF NOT EXISTS emulator_schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM emulator_schema_version").fetchone()
        found = 0 if row is None else int(row[0])
        if found > VERSION:
            raise StoreError(f"the database schema is version {found}, newer than this emulator's "
                               f"{VERSION}; upgrade avatar-contract")
        for number in range(found, upto):
            for statement in filter(str.strip, MIGRATIONS[number].split(";")):
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO emulator_schema_version (version) VALUES (%s)", (max(found, upto),))
        elif upto > found:
            conn.execute("UPDATE emulator_schema_version SET version = %s", (upto,))
        return found
