"""Where facts are kept: a store chosen by URL, on the ``eventsourcing`` library.

=================================  =============================================
URL                                store
=================================  =============================================
``:memory:`` or ``memory://``      in this process only (tests, experiments)
``sqlite:///relative/path.db``     an SQLite file (the embedded default)
``sqlite:////absolute/path.db``    an SQLite file, absolute path
``path/to/file.db``                an SQLite file (a plain path)
``postgresql://user@host:5432/db``  PostgreSQL (``postgres://`` and
                                   ``postgresql+psycopg://`` work too)
=================================  =============================================

The default URL is ``$SAFTALE_DB`` when set, else ``sqlite:///saftale.db``.
Events are stored with eventsourcing's own SQLite and PostgreSQL recorders,
the fastest it offers (see DESIGN.md's measurements).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import attrs
from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent

from saftale_core.errors import StoreError, StoreMissing
from saftale_core.facts import Recorded
from saftale_core.ledger import GENESIS, LEDGER_ID
from saftale_core.serialization import FactMapper, Prepared

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "Ledger",
    "StoreURL",
    "default_url",
    "hide_password",
    "open_event_store",
    "parse_url",
    "remove_empty_store",
    "sqlite_file",
]

ENV_VAR = "SAFTALE_DB"
DEFAULT_URL = "sqlite:///saftale.db"


def default_url() -> str:
    """``$SAFTALE_DB`` if set, else the embedded SQLite file ``saftale.db``."""
    return os.environ.get(ENV_VAR) or DEFAULT_URL


@attrs.frozen
class StoreURL:
    """A parsed store URL: which backend, and the ``eventsourcing`` settings for it."""

    kind: str
    """``"memory"``, ``"sqlite"`` or ``"postgresql"``."""
    env: dict[str, str]
    display: str
    """The URL without its password, for messages."""


def parse_url(url: str) -> StoreURL:
    """Parse a store URL (see the module docs); a bad one raises :class:`StoreError`."""
    if not isinstance(url, str) or not url.strip():
        raise StoreError("a store URL must be a non-empty string")
    url = url.strip()
    if url in (":memory:", "memory://", "memory:"):
        return StoreURL("memory", {"PERSISTENCE_MODULE": "eventsourcing.popo"}, ":memory:")
    scheme, sep, _ = url.partition("://")
    if not sep:
        return _sqlite(url, url)
    scheme = scheme.lower()
    if scheme in ("sqlite", "sqlite3"):
        path = url[len(scheme) + 3 :]
        if path.startswith("/"):
            path = path[1:]
        if not path:
            raise StoreError(f"{url!r}: give a file, e.g. sqlite:///saftale.db")
        return _sqlite(path, url)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return _postgres(url)
    raise StoreError(
        f"{url!r}: unknown store; use :memory:, sqlite:///FILE or postgresql://USER@HOST:PORT/DB"
    )


def _sqlite(path: str, url: str) -> StoreURL:
    if path != ":memory:":
        parent = Path(path).expanduser().resolve().parent
        if not parent.is_dir():
            raise StoreError(f"{url!r}: the folder {str(parent)!r} does not exist")
        path = str(Path(path).expanduser())
    return StoreURL(
        "sqlite",
        {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        },
        url,
    )


def _postgres(url: str) -> StoreURL:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise StoreError(f"{hide_password(url)!r}: not a valid URL: {exc}") from None
    dbname = parts.path.lstrip("/")
    if not dbname:
        raise StoreError(
            f"{hide_password(url)!r}: name the database, e.g. postgresql://postgres@127.0.0.1:5432/saftale"
        )
    query = urllib.parse.parse_qs(parts.query)
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreError(
            f"{hide_password(url)!r}: the port must be a whole number from 1 to 65535"
        ) from None
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": urllib.parse.unquote(dbname),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": urllib.parse.unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": urllib.parse.unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", ["5"])[0],
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
    }
    if "schema" in query:
        env["POSTGRES_SCHEMA"] = query["schema"][0]
    return StoreURL("postgresql", env, hide_password(url))


def hide_password(url: str) -> str:
    """``url`` with its password shown as ``***`` (for messages)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL urllib can take apart: hide what follows "user:"
        return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


# Settings a user's environment must not leak into a store opened by URL.
_CLEARED = (
    "PERSISTENCE_MODULE",
    "SQLITE_DBNAME",
    "POSTGRES_DBNAME",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_SCHEMA",
    "IS_SNAPSHOTTING_ENABLED",
    "COMPRESSOR_TOPIC",
    "CIPHER_TOPIC",
    "MAPPER_TOPIC",
    "TRANSCODER_TOPIC",
    "CREATE_TABLE",
)


class EventStoreApp(Application[UUID]):
    """The ``eventsourcing`` application that holds the facts (internal)."""

    name = "saftale"

    def __init__(self, store: StoreURL) -> None:
        env: dict[str, Any] = {k: "" for k in _CLEARED if k in os.environ}
        env.update({"CREATE_TABLE": "y", **store.env})
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return FactMapper()


_LOCK_KEY = 0x5AF7A1E  # one advisory lock for "saftale creates its tables"


def open_event_store(store: StoreURL, *, create: bool = True) -> EventStoreApp:
    """Open the event store, creating its tables if needed.

    With ``create=False`` the store must exist already: a missing SQLite file, or an
    SQLite file or PostgreSQL database without saftale's table of facts, raises
    :class:`StoreError` and nothing is created (for commands that only read, so that a
    mistyped path is reported instead of answered with an empty store).

    On SQLite, openers of one file take turns (an exclusive ``flock`` on a lock
    file beside it, ``<store>.open-lock``): eventsourcing switches a
    new file to WAL and creates its tables in a deferred transaction, and two
    openers doing that at the same instant can get "database is locked" at
    once, whatever the lock timeout.

    On PostgreSQL, a direct connection first reports a missing database or a
    refused login plainly, and an advisory lock serialises table creation, so
    that several processes opening one store at once do not collide in
    eventsourcing's ``CREATE OR REPLACE FUNCTION``.
    """
    if store.kind == "sqlite":
        if not create:
            _sqlite_store_exists(store)
        return _open_sqlite(store)
    if store.kind != "postgresql":
        return EventStoreApp(store)
    import psycopg

    env = store.env
    try:
        conn = psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"] or None,
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            autocommit=True,
        )
    except (psycopg.Error, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot open the store {store.display}: {reason}") from None
    with conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            schema = env.get("POSTGRES_SCHEMA")
            if not create:
                # Where eventsourcing looks: in the schema, else along the search path.
                parts = (schema, _PG_EVENTS) if schema else (_PG_EVENTS,)
                table = psycopg.sql.Identifier(*parts).as_string(conn)
                found = conn.execute("select to_regclass(%s)", (table,)).fetchone()
                if found is None or found[0] is None:
                    raise StoreMissing(
                        f"{store.display}: no saftale store there (no table {table}); "
                        "`saftale import` creates one"
                    )
            if schema:
                conn.execute(
                    psycopg.sql.SQL("create schema if not exists {}").format(
                        psycopg.sql.Identifier(schema)
                    )
                )
            return EventStoreApp(store)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))


def sqlite_file(store: StoreURL) -> Path | None:
    """The file of a store kept in an SQLite file; ``None`` for any other store
    (PostgreSQL, in memory, an SQLite ``file:`` URI, which SQLite resolves itself)."""
    path = store.env.get("SQLITE_DBNAME", "")
    if store.kind != "sqlite" or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(path)


def _open_sqlite(store: StoreURL) -> EventStoreApp:
    file = sqlite_file(store)
    if file is None:
        return EventStoreApp(store)
    path = str(file)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no turns, as eventsourcing does it
        return EventStoreApp(store)
    # Never open the database file itself here: closing any descriptor of a file drops
    # every POSIX lock this process holds on it, SQLite's included, and another process
    # would then checkpoint and delete the WAL under a live connection.
    try:
        handle = open(path + _OPEN_LOCK, "ab")  # noqa: SIM115 - held for the creation only
    except OSError as exc:
        raise StoreError(f"cannot open the store {store.display}: {exc.strerror}") from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            return EventStoreApp(store)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_empty_store(store: StoreURL) -> bool:
    """Remove a store in an SQLite file that holds no fact and that no one has open: the
    file and those SQLite and openers keep beside it.  ``True`` if it was removed.

    For a command that made a store and then recorded nothing in it (``saftale
    import`` refused).  Openers take turns on the store's lock file (see
    :func:`open_event_store`), so none opens it meanwhile; one that has it open already
    (an import checking its file, say) holds a lock SQLite keeps for every connection
    to a database in WAL mode, which leaving WAL mode needs: the file is then left as
    it is.  Close the store's own :class:`~saftale_core.Saftale` first.  A store that
    is not an SQLite file (PostgreSQL, in memory) is never removed.
    """
    file = sqlite_file(store)
    if file is None:
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no turns, so leave it be
        return False
    if not file.is_file():
        return False
    path = str(file)
    try:
        handle = open(path + _OPEN_LOCK, "ab")  # noqa: SIM115 - closed below
    except OSError:
        return False
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            if not _unused_and_empty(file):
                return False
            for end in ("", "-wal", "-shm", "-journal", _OPEN_LOCK):
                Path(path + end).unlink(missing_ok=True)
            return True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _unused_and_empty(file: Path) -> bool:
    """No connection but this one has the SQLite store ``file`` open, and it holds no
    fact; it is then left in rollback-journal mode, to be removed."""
    try:
        conn = sqlite3.connect(file, isolation_level=None, timeout=0)
    except sqlite3.Error:
        return False
    try:
        try:
            # leaving WAL mode takes every other connection's being closed
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        except sqlite3.OperationalError:
            return False  # "database is locked": in use
        if mode is None or str(mode[0]).lower() != "delete":
            return False
        try:
            count = conn.execute(f"SELECT count(*) FROM {_SQLITE_EVENTS}").fetchone()[0]
        except sqlite3.Error:
            count = None
        if count != 0:
            conn.execute("PRAGMA journal_mode=WAL")  # as it was: not ours to remove
            return False
        return True
    finally:
        conn.close()


def _sqlite_store_exists(store: StoreURL) -> None:
    """Raise :class:`StoreError` unless the SQLite file exists and holds saftale's facts.

    The check opens the file read-only through SQLite itself (never with ``open``: see
    :func:`_open_sqlite`), so that it creates nothing.
    """
    file = sqlite_file(store)
    if file is None:
        return
    path = str(file)
    if not file.exists():
        raise StoreMissing(
            f"{store.display}: no store there (no such file); `saftale import` creates one"
        )
    if not file.is_file():
        raise StoreError(f"{store.display}: {path!r} is not a file")
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            listed = conn.execute("select name from sqlite_master where type = 'table'")
            tables = {name for (name,) in listed}
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot open the store {store.display}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{store.display}: not an SQLite database ({exc})") from None
    if not tables:
        raise StoreMissing(f"{store.display}: no store there (the file holds no tables)")
    if _SQLITE_EVENTS not in tables:
        what = "a file of views" if "saftale_view_tracking" in tables else "another database"
        raise StoreError(
            f"{store.display}: not a saftale store: it has no table {_SQLITE_EVENTS} "
            f"(it looks like {what})"
        )


_SQLITE_EVENTS = "stored_events"
"""eventsourcing's table of events in an SQLite store."""
_PG_EVENTS = EventStoreApp.name + "_events"
"""eventsourcing's table of events in a PostgreSQL store: the application's name, then _events."""


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


_OPEN_LOCK = ".open-lock"
"""Beside an SQLite store: openers take turns on it (never the database file itself)."""


class Ledger:
    """Appends sealed facts (see :mod:`saftale_core.ledger`) in one transaction per call.

    ``append`` takes the facts as an iterable and streams them into the store
    in batches inside a single transaction, so a long import neither holds its
    facts in memory nor leaves half of them behind.  On SQLite and PostgreSQL
    the transaction takes the store's write lock first and reads the chain's
    head under it, so writers take turns instead of colliding.  In memory the
    head is read first; a writer whose seal collides gets eventsourcing's
    ``IntegrityError`` (nothing written) and may try again.
    """

    def __init__(self, app: EventStoreApp, kind: str) -> None:
        self.app = app
        self.kind = kind

    def head(self) -> tuple[int, str]:
        """The ledger's version and the chain's head (0 and GENESIS for a new store)."""
        last = self.app.recorder.select_events(LEDGER_ID, desc=True, limit=1)
        if not last:
            return 0, GENESIS
        state = self.app.mapper.transcoder.decode(last[0].state)
        return last[0].originator_version, str(state["head"])

    def append(
        self,
        records: Iterable[Recorded | Prepared],
        *,
        at: dt.datetime,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, int]:
        """Store ``records`` and their seal in one transaction: ``(count, last position)``.

        Raises eventsourcing's ``IntegrityError`` when a subject's version or
        the ledger's was taken meanwhile (nothing is stored then).
        """
        mapper = cast(FactMapper, self.app.mapper)
        count = 0
        last = 0
        if self.kind == "memory":
            # The in-memory recorder has no transactions: one insert of everything; a
            # writer that lost the race on the seal's version is told to retry.
            version, head = self.head()
            start = head
            events: list[StoredEvent] = []
            for record in records:
                stored, head = mapper.sealed(record, head)
                events.append(stored)
            if not events:
                return 0, 0
            events.append(mapper.seal(version + 1, at, start, head, len(events)))
            ids = self.app.recorder.insert_events(events) or []
            if progress is not None:
                progress(len(events) - 1)
            return len(events) - 1, int(ids[-2]) if len(ids) > 1 else 0
        with self._inserter() as (insert, version, head):
            start = head
            pending: list[StoredEvent] = []
            for record in records:
                stored, head = mapper.sealed(record, head)
                pending.append(stored)
                if len(pending) >= batch:
                    last = insert(pending) or last
                    count += len(pending)
                    pending = []
                    if progress is not None:
                        progress(count)
            if pending:
                last = insert(pending) or last
                count += len(pending)
                if progress is not None:
                    progress(count)
            if count:
                insert([mapper.seal(version + 1, at, start, head, count)])
        return count, last

    @contextlib.contextmanager
    def _inserter(
        self,
    ) -> Iterator[tuple[Callable[[list[StoredEvent]], int], int, str]]:
        """One write transaction that holds the store's write lock from its start, and
        the chain's head read under it: other writers wait for it instead of sealing
        on the same head and retrying."""
        recorder: Any = self.app.recorder
        decode = self.app.mapper.transcoder.decode
        with recorder.datastore.transaction(commit=True) as cursor:
            if self.kind == "sqlite":
                table = recorder.events_table_name
                # Takes SQLite's write lock and changes nothing.
                cursor.execute(f"UPDATE {table} SET topic = topic WHERE 0")
                cursor.execute(
                    f"SELECT originator_version, state FROM {table} WHERE originator_id = ? "
                    "ORDER BY originator_version DESC LIMIT 1",
                    (LEDGER_ID.hex,),
                )

                statement = recorder.insert_events_statement

                def insert(events: list[StoredEvent]) -> int:
                    # The recorder's own statement, one call per batch (its
                    # ``_insert_events`` executes it row by row).
                    cursor.executemany(
                        statement,
                        [
                            (_hex(e.originator_id), e.originator_version, e.topic, e.state)
                            for e in events
                        ],
                    )
                    cursor.execute("SELECT last_insert_rowid()")
                    return int(cursor.fetchone()[0])

            else:
                from psycopg.sql import SQL

                recorder._lock_table(cursor)
                cursor.execute(
                    recorder.select_events_statement
                    + SQL(" ORDER BY originator_version DESC LIMIT 1"),
                    (LEDGER_ID,),
                )

                def insert(events: list[StoredEvent]) -> int:
                    recorder._insert_stored_events(cursor, events)
                    ids = recorder._fetch_ids_after_insert_events(cursor, events)
                    return int(ids[-1]) if ids else 0

            row = cursor.fetchone()
            if row is None:
                version, head = 0, GENESIS
            else:
                version, head = int(row["originator_version"]), str(decode(row["state"])["head"])
            yield insert, version, head
