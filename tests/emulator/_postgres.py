"""The PostgreSQL the tests use: ``AVATAR_CONTRACT_TEST_POSTGRES`` (a DSN), one fresh schema per test.

Unset, the tests skip with one line -- except under ``CI=true``, where that is a
failure: ``.ci/run`` starts a cluster (``.ci/postgres``), so they never silently
not run there.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

ENV = "AVATAR_CONTRACT_TEST_POSTGRES"


def postgres_dsn() -> str:
    dsn = os.environ.get(ENV, "").strip()
    if dsn:
        return dsn
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{ENV} is unset under CI=true; .ci/run starts PostgreSQL and sets it")
    pytest.skip(f"PostgreSQL tests need {ENV}=postgresql://... (start one: .ci/postgres start DIR)")


def in_schema(dsn: str, schema: str) -> str:
    """``dsn`` whose connections use ``schema`` (the emulator creates its tables there)."""
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={schema}')}"


def via_port(dsn: str, port: int) -> str:
    """``dsn`` through 127.0.0.1:``port`` (a forwarder that can cut the database off)."""
    parts = urlsplit(dsn)
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


def fresh_schema(prefix: str = "t") -> str:
    """A DSN on a new, empty schema: each test gets a database of its own, cheaply."""
    import psycopg

    dsn = postgres_dsn()
    schema = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return in_schema(dsn, schema)


def store_spec(kind: str, tmp_path: object) -> str:
    """The ``store=`` value for one of :data:`STORES`."""
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite:{tmp_path}/store.db"
    return fresh_schema()


STORES = ["memory", "sqlite", "postgres"]
