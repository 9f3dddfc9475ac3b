"""Throw-away PostgreSQL databases for tests.

The server is ``$SAFTALE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432``).
Without a server the PostgreSQL tests skip with the reason, except under
``CI=true``, where they fail: CI must never pass without them.
"""

from __future__ import annotations

import atexit
import os
import uuid
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

SERVER = os.environ.get("SAFTALE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
_checked: list[str | None] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(SERVER.rstrip("/") + "/postgres", autocommit=True, connect_timeout=3)


def unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (checked once)."""
    if not _checked:
        try:
            with _admin() as conn:
                conn.execute("select 1")
            _checked.append(None)
        except psycopg.Error as exc:
            _checked.append(f"no PostgreSQL server at {SERVER}: {str(exc).strip()}")
    return _checked[0]


def require() -> None:
    """Skip (or, under CI=true, fail) when there is no server."""
    why = unavailable()
    if why is None:
        return
    if in_ci():
        pytest.fail(f"PostgreSQL tests must run under CI=true, but {why}", pytrace=False)
    pytest.skip(why)


_session_db: list[str] = []


def _session_database() -> str:
    """One database per test process, dropped at exit; tests get schemas in it.

    Creating a database costs about a second on this kind of machine, a schema a
    few milliseconds, and eventsourcing keeps every table of a store in its schema.
    """
    if not _session_db:
        name = f"saftale_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with _admin() as conn:
            conn.execute(f'create database "{name}"')
        _session_db.append(name)
        atexit.register(_drop, name)
    return _session_db[0]


def _drop(name: str) -> None:
    try:
        with _admin() as conn:
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = %s and pid <> pg_backend_pid()",
                (name,),
            )
            conn.execute(f'drop database if exists "{name}"')
    except psycopg.Error:
        pass  # the server went away: nothing left to clean


def create_database() -> str:
    """A new, empty store location (a schema of its own); returns its store URL."""
    require()
    db = _session_database()
    schema = "s_" + uuid.uuid4().hex[:12]
    with psycopg.connect(SERVER.rstrip("/") + "/" + db, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    return f"{SERVER.rstrip('/')}/{db}?schema={schema}"


def drop_database(url: str) -> None:
    """Drop what :func:`create_database` made."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query).get("schema", [""])[0]
    db = parts.path.lstrip("/")
    if not schema:
        _drop(db)
        return
    with psycopg.connect(SERVER.rstrip("/") + "/" + db, autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')
