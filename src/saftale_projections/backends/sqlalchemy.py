"""Views in SQLite (the embedded default) or PostgreSQL, with SQLAlchemy Core.

Each view table becomes ``v_<name>`` with its key as primary key and the indexes
the table declares (``Table.all_indexes``), named ``ix_v_<name>__<columns>_<digest>``
after their definition; ``saftale_view_tracking`` holds each projection's position
and version, and ``saftale_view_schema`` the indexes and layout each table was made
with, so that :meth:`SQLAlchemyBackend.ensure` brings a table made by other code up to
date (creating the indexes missing, dropping those no longer declared) without
rebuilding its rows.  On PostgreSQL, text columns have the collation ``"C"``: text is
ordered and compared by code point whatever the database's collation, as on SQLite
and in memory, and the indexes on it still serve the selects.

A batch is one transaction: the position is moved first with an atomic upsert that
refuses a stale position (``INSERT ... ON CONFLICT DO UPDATE ... WHERE position < :new
RETURNING``; a missing row returned means another writer got there first), then the
row changes are written, puts in bulk.
Core rather than the ORM, and many facts per transaction: the measurements in
DESIGN.md show this is where the speed is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import operator
import threading
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
    Index,
    Page,
    Projection,
    Row,
    StalePosition,
    Table,
    any_of,
    check_page,
    complete_row,
    version_changed,
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


LAYOUT = 2
"""How this backend lays out a view table beyond its columns, kept with each table in
``saftale_view_schema``.  1 (no row; saftale 0.1): an index per indexed column and on
``valid_from``/``valid_to``, text in the database's collation.  2: the indexes the
table declares, named by :func:`index_name`; text columns in collation ``"C"`` on
PostgreSQL."""


def index_name(table: Table, index: Index) -> str:
    """The name of a table's index in the database: ``ix_v_<table>__<columns>_<digest>``,
    the digest of the index's definition (so a changed definition is another index),
    within PostgreSQL's 63 characters."""
    digest = hashlib.sha256(repr((index.columns, index.where_not_null)).encode()).hexdigest()
    base = f"ix_v_{table.name}__" + "_".join(index.columns)
    return f"{base[:54]}_{digest[:8]}"


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
            # the store's chain link of the fact at ``position`` (which store the view is of)
            sa.Column("link", sa.Text, nullable=True),
        )
        self.schema_table = sa.Table(
            "saftale_view_schema",
            self.metadata,
            sa.Column("view_table", sa.Text, primary_key=True),
            # the layout and the names of the indexes the table was made with (JSON)
            sa.Column("definition", sa.Text, nullable=False),
        )
        self._tables: dict[str, sa.Table] = {}
        self._made: dict[str, Table] = {}
        """The definition each of ``_tables`` was described from."""
        self._current: dict[str, str] = {}
        """The definitions of the tables this backend has seen up to date."""
        self._local = threading.local()
        """Per writing thread: the rows of the write under way, encoded for SQLite."""
        self._upserts: dict[Table, tuple[str, Callable[[Row], tuple[Any, ...]], str]] = {}
        try:
            _retry_ddl(lambda: self.tracking.create(self.engine, checkfirst=True))
            _retry_ddl(lambda: self.schema_table.create(self.engine, checkfirst=True))
            _retry_ddl(self._add_link_column)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the views at {self.display}: {_reason(exc)}") from None

    # -- schema ---------------------------------------------------------------

    def _add_link_column(self) -> None:
        """Views made before positions kept their store's link (saftale 0.1) have a
        tracking table without the column: add it (empty, so those views are rebuilt
        once, by the runner, as views of an unknown store)."""
        columns = sa.inspect(self.engine).get_columns(
            self.tracking.name, schema=self.metadata.schema
        )
        if any(c["name"] == "link" for c in columns):
            return
        name = self.engine.dialect.identifier_preparer.format_table(self.tracking)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {name} ADD COLUMN link TEXT"))

    @property
    def _postgres(self) -> bool:
        return bool(self.engine.dialect.name == "postgresql")

    def _table(self, table: Table) -> sa.Table:
        found = self._tables.get(table.name)
        if found is not None:
            made = self._made[table.name]
            if made is table or made == table:
                return found
            # another definition of the table (other indexes, say): describe it anew
            self.metadata.remove(found)
        # code-point order on PostgreSQL too (SQLite's own order is by code point)
        text = sa.Text(collation="C") if self._postgres else sa.Text()
        columns = [
            sa.Column(
                c.name,
                text if c.type == "text" else _TYPES[c.type],
                primary_key=c.name in table.key,
                nullable=c.nullable and c.name not in table.key,
            )
            for c in table.all_columns
        ]
        columns.append(sa.Column("doc", sa.JSON, nullable=False))
        found = sa.Table("v_" + table.name, self.metadata, *columns)
        nullable = {c.name for c in table.all_columns if c.nullable and c.name not in table.key}
        for index in table.all_indexes:
            elements = [
                # a select orders empty values first: so does the index (SQLite: always)
                found.c[c].nulls_first() if self._postgres and c in nullable else found.c[c]
                for c in index.columns
            ]
            where = (
                sa.and_(*(found.c[c].is_not(None) for c in index.where_not_null))
                if index.where_not_null
                else None
            )
            sa.Index(
                index_name(table, index), *elements, sqlite_where=where, postgresql_where=where
            )
        self._tables[table.name] = found
        self._made[table.name] = table
        return found

    def _definition(self, table: Table) -> str:
        """What ``saftale_view_schema`` keeps for a table made by this code."""
        names = sorted(index_name(table, i) for i in table.all_indexes)
        return orjson.dumps({"layout": LAYOUT, "indexes": names}).decode()

    def ensure(self, projection: Projection) -> bool:
        for table in projection.tables:
            self._table(table)
        try:
            _retry_ddl(lambda: self.metadata.create_all(self.engine, checkfirst=True))
            _retry_ddl(lambda: self._bring_up_to_date(projection.tables))
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.tracking.c.version).where(
                        self.tracking.c.projection == projection.name
                    )
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"views at {self.display}: {_reason(exc)}") from None
        return row is not None and row[0] != projection.version

    def _bring_up_to_date(self, tables: Sequence[Table]) -> None:
        """Give every table made by other code (an earlier saftale, or a projection
        whose indexes changed) the indexes and collation this code declares, keeping its
        rows: the indexes no longer declared are dropped, the missing ones created.

        Only what ``saftale_view_schema`` says decides it, not the indexes found: a
        rebuild in several processes drops the indexes while it writes, and they must
        not come back meanwhile."""
        todo = [t for t in tables if self._current.get(t.name) != self._definition(t)]
        if not todo:
            return
        schema = self.schema_table
        with self.engine.begin() as conn:
            if self._postgres:  # one process at a time changes the layout
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LAYOUT_LOCK)))
            stored = dict(
                conn.execute(
                    sa.select(schema.c.view_table, schema.c.definition).where(
                        schema.c.view_table.in_([t.name for t in todo])
                    )
                )
                .tuples()
                .all()
            )
            for table in todo:
                definition = self._definition(table)
                if stored.get(table.name) != definition:
                    self._lay_out(conn, table)
                    self._keep_definition(conn, table)
        for table in todo:
            self._current[table.name] = self._definition(table)

    def _lay_out(self, conn: sa.Connection, table: Table) -> None:
        """Change an existing table's indexes and collation to this code's (see
        :meth:`_bring_up_to_date`)."""
        t = self._table(table)
        prepare = self.engine.dialect.identifier_preparer
        found = {str(i["name"]) for i in sa.inspect(conn).get_indexes(t.name, schema=t.schema)}
        wanted = {str(i.name) for i in t.indexes}
        for name in sorted(found - wanted):
            # only the backend's own (also those of layout 1, ``ix_v_<table>_<column>``)
            if name.startswith(f"ix_{t.name}_"):
                qualified = prepare.quote(name)
                if t.schema:
                    qualified = f"{prepare.quote_schema(t.schema)}.{qualified}"
                conn.execute(sa.text(f"DROP INDEX IF EXISTS {qualified}"))
        if self._postgres:
            texts = [c.name for c in table.all_columns if c.type == "text"]
            other = conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = coalesce(:schema, current_schema()) "
                    "AND table_name = :name AND data_type = 'text' "
                    "AND coalesce(collation_name, '') <> 'C'"
                ),
                {"schema": t.schema, "name": t.name},
            ).scalars()
            alter = [c for c in other if c in texts]
            if alter:
                changes = ", ".join(
                    f'ALTER COLUMN {prepare.quote(c)} TYPE text COLLATE "C"' for c in alter
                )
                conn.execute(sa.text(f"ALTER TABLE {prepare.format_table(t)} {changes}"))
        for index in sorted(t.indexes, key=lambda i: str(i.name)):
            if index.name not in found:
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

    def _keep_definition(self, conn: sa.Connection, table: Table) -> None:
        definition = self._definition(table)
        stmt = self._insert(self.schema_table).values(view_table=table.name, definition=definition)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[self.schema_table.c.view_table],
                set_={"definition": stmt.excluded.definition},
            )
        )

    def indexes(self, projection: Projection) -> list[sa.Index]:
        """The secondary indexes of the projection's tables (not their primary keys)."""
        return [
            i
            for table in projection.tables
            for i in sorted(self._table(table).indexes, key=lambda i: str(i.name))
        ]

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
                    self._keep_definition(conn, table)
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
        for table in projection.tables:
            self._current[table.name] = self._definition(table)

    def analyze(self, projection: Projection) -> None:
        """Gather the statistics the database's query planner chooses indexes by, for
        the projection's tables (``ANALYZE``): the runner calls it when a rebuild is
        done.  Without them SQLite takes one index for as good as another, and may read
        the audit trail of a subject and a body through the body's index, every fact of
        that body, where the key finds the subject's few; PostgreSQL gathers them in the
        background, in time.

        An SQLite connection reads the statistics when it reads the schema, and reads
        the schema again only when it has changed: a table made and dropped in the same
        transaction changes it, so that every connection open on the views, in any
        process, plans with the new statistics from its next statement on."""
        prepare = self.engine.dialect.identifier_preparer
        names = [prepare.format_table(self._table(table)) for table in projection.tables]
        try:
            with self.engine.begin() as conn:
                if self._postgres:
                    conn.exec_driver_sql("ANALYZE " + ", ".join(names))
                    return
                for name in names:  # one table per statement
                    conn.exec_driver_sql("ANALYZE " + name)
                conn.exec_driver_sql("CREATE TABLE saftale_view_analyzed (x)")
                conn.exec_driver_sql("DROP TABLE saftale_view_analyzed")
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

    def link(self, projection: str) -> str | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(self.tracking.c.link).where(self.tracking.c.projection == projection)
                ).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"views at {self.display}: {_reason(exc)}") from None
        return None if row is None or row[0] is None else str(row[0])

    # -- writing ----------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def write(
        self,
        projection: Projection,
        changes: Changes,
        position: int,
        after: int | None = None,
        link: str | None = None,
    ) -> None:
        self.write_many([(projection, changes)], position, after, link)

    def write_many(
        self,
        work: Sequence[tuple[Projection, Changes]],
        position: int,
        after: int | None = None,
        link: str | None = None,
    ) -> None:
        """:meth:`write` for several projections at once, in one transaction: all of them
        move to ``position`` with their changes, or (:class:`StalePosition` for any of
        them) nothing is written.

        On SQLite the rows are encoded before the transaction begins, so the database
        is locked (for other writers) only while it stores them."""
        encoded: dict[tuple[int, str], list[tuple[bool, Any]]] = {}
        if self.engine.dialect.name == "sqlite":
            for projection, changes in work:
                for table in projection.tables:
                    puts = changes.puts(table.name)
                    if puts:
                        encoded[(id(changes), table.name)] = self._sqlite_encode(table, puts)
        self._local.encoded = encoded
        try:
            with self.engine.begin() as conn:
                for projection, changes in work:
                    self._write_projection(conn, projection, changes, position, after, link)
        except StalePosition:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not write the views at {self.display}: {_reason(exc)}"
            ) from None
        finally:
            self._local.encoded = {}

    def _sqlite_encode(self, table: Table, puts: Sequence[Row]) -> list[tuple[bool, Any]]:
        """A table's puts as SQLite takes them: ``(True, JSON text of many rows)`` for the
        bulk upsert, or ``(False, list of bound rows)`` for rows it cannot take as JSON."""
        _, convert, _ = self._sqlite_upsert(table)
        out: list[tuple[bool, Any]] = []
        for i in range(0, len(puts), _BULK_ROWS):
            chunk = puts[i : i + _BULK_ROWS]
            payload = orjson.dumps([convert(r) for r in chunk])
            if not _SQLITE_JSON or b"\\u0000" in payload:
                # SQLite's JSON functions end a string at an escaped NUL: bind these
                out.append((False, [_row_params(table, r) for r in chunk]))
            else:
                out.append((True, payload))
        return out

    def _write_projection(
        self,
        conn: sa.Connection,
        projection: Projection,
        changes: Changes,
        position: int,
        after: int | None,
        link: str | None,
    ) -> None:
        stmt = self._insert(self.tracking).values(
            projection=projection.name, position=position, version=projection.version, link=link
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[self.tracking.c.projection],
            set_={
                "position": stmt.excluded.position,
                "version": stmt.excluded.version,
                "link": stmt.excluded.link,
            },
            where=sa.and_(
                self.tracking.c.version == stmt.excluded.version,
                self.tracking.c.position < stmt.excluded.position,
                *([self.tracking.c.position == after] if after is not None else []),
            ),
        ).returning(self.tracking.c.position)
        if conn.execute(stmt).first() is None:
            stored = conn.execute(
                sa.select(self.tracking.c.position, self.tracking.c.version).where(
                    self.tracking.c.projection == projection.name
                )
            ).first()
            if stored is not None and stored.version != projection.version:
                raise version_changed(projection, stored.version)
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
            sql, _, bulk = self._sqlite_upsert(table)
            encoded = getattr(self._local, "encoded", {}).get((id(changes), table.name))
            for is_bulk, payload in encoded or self._sqlite_encode(table, puts):
                if is_bulk:
                    conn.exec_driver_sql(bulk, (payload,))
                else:
                    conn.exec_driver_sql(sql, payload)
            return
        rows = [complete_row(table, r) for r in puts]
        stmt = self._insert(t)
        others = [c.name for c in t.columns if c.name not in table.key]
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c[k] for k in table.key],
            set_={name: stmt.excluded[name] for name in others},
        )
        conn.execute(stmt, rows)

    def _sqlite_upsert(self, table: Table) -> tuple[str, Callable[[Row], tuple[Any, ...]], str]:
        """How a table's rows are upserted on SQLite: the statement for bound rows (see
        :func:`_row_params`); how a row becomes a JSON array (dates as ISO days, the doc
        as JSON text, as SQLAlchemy's ``Date`` and ``JSON`` types store them); and the
        statement that upserts all of a batch's rows from one JSON array of such arrays.

        The bulk statement is the hot path of a rebuild: SQLite unpacks the rows itself
        (``json_each``) in one call, which also runs without Python's global lock, so a
        runner can compute its next batch meanwhile.  It stores exactly what binding
        each value stores for the values views hold (text, integers, booleans, days,
        ``None``)."""
        found = self._upserts.get(table)
        if found is not None:
            return found
        columns = [c.name for c in table.all_columns]
        names = ", ".join(f'"{c}"' for c in [*columns, "doc"])
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        keys = ", ".join(f'"{k}"' for k in table.key)
        sets = ", ".join(f'"{c}" = excluded."{c}"' for c in [*columns, "doc"] if c not in table.key)
        conflict = f"ON CONFLICT ({keys}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
        sql = f'INSERT INTO "v_{table.name}" ({names}) VALUES ({marks}) {conflict}'
        # json_extract (SQLite 3.9+), not ->> (3.38+): Pythons built with an older SQLite
        picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns) + 1))
        bulk = (
            f'INSERT INTO "v_{table.name}" ({names}) SELECT {picks} FROM json_each(?) '
            f"WHERE true {conflict}"
        )
        dumps, option = orjson.dumps, orjson.OPT_NON_STR_KEYS

        take: Callable[[Row], tuple[Any, ...]] = operator.itemgetter(*columns, "doc")
        if len(columns) < 2:  # itemgetter of one name gives the value, not a tuple

            def take_columns(row: Row) -> tuple[Any, ...]:
                return tuple([row[c] for c in columns])

        else:
            take_columns = operator.itemgetter(*columns)  # type: ignore[assignment]

        def convert(row: Row) -> tuple[Any, ...]:
            try:
                out = take(row)  # the usual row: every column and a doc
            except KeyError:
                try:
                    out = (*take_columns(row), row.get("doc", _NO_DOC))
                except KeyError:
                    get = row.get
                    out = (*[get(name) for name in columns], row.get("doc", _NO_DOC))
            doc = out[-1]
            if doc is _NO_DOC or (type(doc) is dict and not doc):
                return (*out[:-1], _EMPTY_DOC)
            return (*out[:-1], dumps(doc, option=option).decode())

        self._upserts[table] = (sql, convert, bulk)
        return sql, convert, bulk

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
        order = check_page(table, order_by, limit, after)
        t = self._table(table)
        query = sa.select(t)
        for column, value in (where or {}).items():
            query = query.where(_in(t.c[column], value) if any_of(value) else t.c[column] == value)
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
        nullable = {c.name for c in table.all_columns if c.nullable and c.name not in table.key}
        if after is not None:
            query = query.where(_after(t, order, after, where or {}, nullable))
        query = query.order_by(
            *(t.c[c].nulls_first() if c in nullable else t.c[c] for c in order)
        ).limit(limit + 1)
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


def _sqlite_has_json() -> bool:
    """Whether this Python's SQLite has its JSON functions (else rows are bound one by one)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as db:
            row = db.execute("SELECT json_extract(value, '$[0]') FROM json_each('[[7]]')")
            return bool(row.fetchone() == (7,))
    except sqlite3.Error:  # pragma: no cover - an SQLite built without JSON
        return False


_SQLITE_JSON = _sqlite_has_json()
_BULK_ROWS = 50_000
"""Rows per bulk statement on SQLite (a bound on the size of one JSON text)."""
_EMPTY_DOC = "{}"
"""The stored doc of a row without one, or with an empty one."""
_NO_DOC: Any = object()


def _row_params(table: Table, row: Row) -> tuple[Any, ...]:
    """A row as the parameters of the bound upsert: dates as ISO days, the doc as JSON."""
    out: list[Any] = []
    for column in table.all_columns:
        value = row.get(column.name)
        if column.type == "date" and value is not None:
            value = value.isoformat()
        out.append(value)
    out.append(orjson.dumps(row.get("doc", {}), option=orjson.OPT_NON_STR_KEYS).decode())
    return tuple(out)


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


def _in(column: Any, values: Any) -> Any:
    """The column equals one of ``values`` (``None`` among them: or is empty)."""
    given = list(dict.fromkeys(values))
    found = column.in_([v for v in given if v is not None])
    return sa.or_(found, column.is_(None)) if None in given else found


def _eq(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def _after(
    t: sa.Table,
    order: Sequence[str],
    after: tuple[Any, ...],
    where: Mapping[str, Any],
    nullable: set[str],
) -> Any:
    """The rows after the cursor ``after`` in the order of the columns ``order``, as a
    condition an index in that order can seek to.

    A column that ``where`` holds at the cursor's value is left out (every row selected
    has that value).  Columns that are never empty are compared as one row value,
    ``(a, b, c) > (x, y, z)``, which SQLite and PostgreSQL both answer by seeking in an
    index on ``(a, b, c)``; with an empty value or a column that may be empty, the
    NULL-safe comparison column by column (:func:`_beyond`), after a row value
    ``>=`` on the leading columns that are never empty, to seek with."""
    pairs = [
        (c, v) for c, v in zip(order, after, strict=True) if not (c in where and where[c] == v)
    ]
    if not pairs:  # the cursor's row is the only one with its key: nothing is after it
        return sa.false()
    firm = 0
    while firm < len(pairs) and pairs[firm][0] not in nullable and pairs[firm][1] is not None:
        firm += 1
    columns = [t.c[c] for c, _ in pairs]
    values = tuple(v for _, v in pairs)
    if firm == len(pairs):
        return _row(columns, values, operator.gt)
    beyond = _beyond(columns, values)
    return sa.and_(_row(columns[:firm], values[:firm], operator.ge), beyond) if firm else beyond


def _row(columns: list[Any], values: tuple[Any, ...], compare: Callable[[Any, Any], Any]) -> Any:
    if len(columns) == 1:
        return compare(columns[0], values[0])
    return compare(sa.tuple_(*columns), values)


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


_LAYOUT_LOCK = int.from_bytes(
    hashlib.sha256(b"saftale_view_schema").digest()[:8], "big", signed=True
)
"""The PostgreSQL advisory lock held while a table's layout changes."""


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
