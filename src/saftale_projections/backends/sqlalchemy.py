"""Views in SQLite (the embedded default) or PostgreSQL, with SQLAlchemy Core.

Each view table becomes ``v_<name>`` with its key as primary key and an index on
each indexed column; ``saftale_view_tracking`` holds each projection's position
and version.  A batch is one transaction: the position is moved first with an
atomic upsert that refuses a stale position (``INSERT ... ON CONFLICT DO UPDATE
... WHERE position < :new RETURNING``; a missing row returned means another
writer got there first), then the row changes are written, puts in bulk.
Core rather than the ORM, and many facts per transaction: the measurements in
DESIGN.md show this is where the speed is.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from saftale_core import StoreError
from saftale_core.store import hide_password
from saftale_projections.protocol import (
    Changes,
    Page,
    Projection,
    Row,
    StalePosition,
    Table,
    complete_row,
    ordering,
)

__all__ = ["SQLAlchemyBackend"]

_TYPES: Mapping[str, Any] = {
    "text": sa.Text,
    "int": sa.BigInteger,
    "date": sa.Date,
    "bool": sa.Boolean,
}


def _engine_url(url: str) -> tuple[str, str | None]:
    """An SQLAlchemy URL with the psycopg 3 driver for PostgreSQL, and a ``schema`` query
    parameter taken out (it names the PostgreSQL schema of the views)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        return url, None
    query = urllib.parse.parse_qs(parts.query)
    schema = query.pop("schema", [None])[0]
    query.pop("pool_size", None)  # a setting of the store's URL, not one libpq knows
    scheme = parts.scheme
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    rest = urllib.parse.urlencode({k: v[0] for k, v in query.items()})
    return urllib.parse.urlunsplit(parts._replace(scheme=scheme, query=rest)), schema


class SQLAlchemyBackend:
    """Views in a relational database: ``sqlite:///views.db`` or ``postgresql://...``."""

    def __init__(self, url: str) -> None:
        engine_url, schema = _engine_url(url)
        self.display = hide_password(url)
        try:
            self.engine = sa.create_engine(engine_url, future=True)
            if self.engine.dialect.name not in ("sqlite", "postgresql"):
                raise StoreError(f"{self.display!r}: views live in SQLite or PostgreSQL")
            if self.engine.dialect.name == "sqlite":
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            with self.engine.begin() as conn:
                if schema and self.engine.dialect.name == "postgresql":
                    conn.execute(sa.text(f'create schema if not exists "{schema}"'))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the views at {self.display}: {_reason(exc)}") from None
        self.metadata = sa.MetaData(schema=schema)
        self.tracking = sa.Table(
            "saftale_view_tracking",
            self.metadata,
            sa.Column("projection", sa.Text, primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        self._tables: dict[str, sa.Table] = {}
        self._upserts: dict[Table, tuple[str, Callable[[Row], tuple[Any, ...]]]] = {}
        try:
            _retry_ddl(lambda: self.tracking.create(self.engine, checkfirst=True))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the views at {self.display}: {_reason(exc)}") from None

    # -- schema ---------------------------------------------------------------

    def _table(self, table: Table) -> sa.Table:
        found = self._tables.get(table.name)
        if found is not None:
            return found
        columns = [
            sa.Column(
                c.name,
                _TYPES[c.type],
                primary_key=c.name in table.key,
                nullable=c.nullable and c.name not in table.key,
                index=c.index,
            )
            for c in table.all_columns
        ]
        columns.append(sa.Column("doc", sa.JSON, nullable=False))
        found = sa.Table("v_" + table.name, self.metadata, *columns)
        self._tables[table.name] = found
        return found

    def ensure(self, projection: Projection) -> bool:
        for table in projection.tables:
            self._table(table)
        try:
            _retry_ddl(lambda: self.metadata.create_all(self.engine, checkfirst=True))
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.tracking.c.version).where(
                        self.tracking.c.projection == projection.name
                    )
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"views at {self.display}: {_reason(exc)}") from None
        return row is not None and row[0] != projection.version

    def reset(self, projection: Projection) -> None:
        """Drop and create the projection's tables (a new version may change their columns)
        and set its position to 0, in one transaction."""
        try:
            with self.engine.begin() as conn:
                for table in projection.tables:
                    old = self._tables.pop(table.name, None)
                    if old is not None:
                        self.metadata.remove(old)
                    existing = sa.Table("v_" + table.name, sa.MetaData(schema=self.metadata.schema))
                    existing.drop(conn, checkfirst=True)
                    self._table(table).create(conn, checkfirst=True)
                conn.execute(
                    sa.delete(self.tracking).where(self.tracking.c.projection == projection.name)
                )
                conn.execute(
                    sa.insert(self.tracking).values(
                        projection=projection.name, position=0, version=projection.version
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"views at {self.display}: {_reason(exc)}") from None

    def position(self, projection: str) -> int:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.tracking.c.position).where(
                        self.tracking.c.projection == projection
                    )
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"views at {self.display}: {_reason(exc)}") from None
        return int(row[0]) if row else 0

    # -- writing ----------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def write(
        self, projection: Projection, changes: Changes, position: int, after: int | None = None
    ) -> None:
        self.write_many([(projection, changes)], position, after)

    def write_many(
        self,
        work: Sequence[tuple[Projection, Changes]],
        position: int,
        after: int | None = None,
    ) -> None:
        """:meth:`write` for several projections at once, in one transaction: all of them
        move to ``position`` with their changes, or (:class:`StalePosition` for any of
        them) nothing is written."""
        try:
            with self.engine.begin() as conn:
                for projection, changes in work:
                    self._write_projection(conn, projection, changes, position, after)
        except StalePosition:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not write the views at {self.display}: {_reason(exc)}"
            ) from None

    def _write_projection(
        self,
        conn: sa.Connection,
        projection: Projection,
        changes: Changes,
        position: int,
        after: int | None,
    ) -> None:
        stmt = self._insert(self.tracking).values(
            projection=projection.name, position=position, version=projection.version
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[self.tracking.c.projection],
            set_={"position": stmt.excluded.position, "version": stmt.excluded.version},
            where=sa.and_(
                self.tracking.c.position < stmt.excluded.position,
                *([self.tracking.c.position == after] if after is not None else []),
            ),
        ).returning(self.tracking.c.position)
        if conn.execute(stmt).first() is None:
            raise StalePosition(f"{projection.name}: the view is already at or beyond {position}")
        for table in projection.tables:
            self._write_table(conn, table, changes)

    def _write_table(self, conn: sa.Connection, table: Table, changes: Changes) -> None:
        t = self._table(table)
        by_column: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for where in changes.deletes(table.name):
            by_column.setdefault(tuple(sorted(where)), []).append(where)
        for columns, wheres in by_column.items():
            if len(columns) == 1 and all(w[columns[0]] is not None for w in wheres):
                (column,) = columns
                values = list(dict.fromkeys(w[column] for w in wheres))
                for i in range(0, len(values), 500):
                    conn.execute(sa.delete(t).where(t.c[column].in_(values[i : i + 500])))
            else:
                for where in wheres:
                    conn.execute(sa.delete(t).where(*(_eq(t.c[c], v) for c, v in where.items())))
        puts = changes.puts(table.name)
        if not puts:
            return
        if self.engine.dialect.name == "sqlite":
            sql, convert = self._sqlite_upsert(table)
            conn.exec_driver_sql(sql, [convert(r) for r in puts])
            return
        rows = [complete_row(table, r) for r in puts]
        stmt = self._insert(t)
        others = [c.name for c in t.columns if c.name not in table.key]
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c[k] for k in table.key],
            set_={name: stmt.excluded[name] for name in others},
        )
        conn.execute(stmt, rows)

    def _sqlite_upsert(self, table: Table) -> tuple[str, Callable[[Row], tuple[Any, ...]]]:
        """The upsert of a table's rows on SQLite as the driver takes it, and how a row
        becomes its parameters: what SQLAlchemy's ``Date`` and ``JSON`` types store
        (ISO days, JSON text), made without a bind processor per value (the hot path of
        a rebuild)."""
        found = self._upserts.get(table)
        if found is not None:
            return found
        columns = [c.name for c in table.all_columns]
        dates = {c.name for c in table.all_columns if c.type == "date"}
        names = ", ".join(f'"{c}"' for c in [*columns, "doc"])
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        keys = ", ".join(f'"{k}"' for k in table.key)
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in [*columns, "doc"] if c not in table.key)
        sql = (
            f'INSERT INTO "v_{table.name}" ({names}) VALUES ({marks}) '
            f"ON CONFLICT ({keys}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
        )
        getters = [(c, c in dates) for c in columns]

        def convert(row: Row) -> tuple[Any, ...]:
            get = row.get
            out: list[Any] = []
            for name, is_date in getters:
                value = get(name)
                if is_date and value is not None:
                    value = value.isoformat()
                out.append(value)
            out.append(orjson.dumps(get("doc", {}), option=orjson.OPT_NON_STR_KEYS).decode())
            return tuple(out)

        self._upserts[table] = (sql, convert)
        return sql, convert

    # -- reading ----------------------------------------------------------------

    def select(
        self,
        table: Table,
        *,
        where: Mapping[str, Any] | None = None,
        as_of: dt.date | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        date_column: str | None = None,
        order_by: Sequence[str] = (),
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Page:
        t = self._table(table)
        query = sa.select(t)
        for column, value in (where or {}).items():
            query = query.where(t.c[column] == value)
        if table.temporal:
            if as_of is None:
                query = query.where(t.c.valid_to.is_(None))
            else:
                query = query.where(
                    t.c.valid_from <= as_of, sa.or_(t.c.valid_to.is_(None), t.c.valid_to > as_of)
                )
        if date_column is not None:
            if since is not None:
                query = query.where(t.c[date_column] >= since)
            if until is not None:
                query = query.where(t.c[date_column] <= until)
        order = ordering(table, order_by)
        if after is not None:
            query = query.where(_beyond([t.c[c] for c in order], after))
        query = query.order_by(*(t.c[c].nulls_first() for c in order)).limit(limit + 1)
        try:
            with self.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not read the views at {self.display}: {_reason(exc)}"
            ) from None
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(tuple(rows), tuple(rows[-1][c] for c in order) if more and rows else None)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    """Write-ahead logging, synced at checkpoints rather than at every commit: a commit
    is still atomic and survives the process being killed (the crash tests kill it); an
    operating-system crash or power loss may lose the last commits, which the runner
    then applies again from the position that was kept (views can always be rebuilt)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # e.g. locked by another opener: the defaults are correct, only slower
        pass
    finally:
        cursor.close()


def _eq(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _beyond(columns: list[Any], values: tuple[Any, ...]) -> Any:
    """Rows after ``values`` in the order of ``columns``, empty values first (NULL-safe)."""
    alternatives = []
    for i, (column, value) in enumerate(zip(columns, values, strict=True)):
        greater = (
            column.is_not(None) if value is None else sa.and_(column.is_not(None), column > value)
        )
        same = [_eq(c, v) for c, v in zip(columns[:i], values[:i], strict=True)]
        alternatives.append(sa.and_(*same, greater))
    return sa.or_(*alternatives)


def _retry_ddl(action: Any) -> None:
    """Run a CREATE that another process may be running at the same moment: when it
    fails because the object now exists, run it once more (checkfirst then sees it)."""
    for attempt in range(3):
        try:
            action()
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
            time.sleep(0.05 * (attempt + 1))


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
