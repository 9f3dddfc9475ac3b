"""Every view backend saftale ships passes the same suite
(:class:`saftale_projections.testing.BackendSuite`): memory, SQLAlchemy on an SQLite
file, and SQLAlchemy on PostgreSQL (a schema of its own per test), also in a database
whose collation is Danish.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from saftale_core import Saftale
from saftale_projections import (
    ALL_VIEWS,
    Changes,
    Column,
    Index,
    MemoryBackend,
    Runner,
    SQLAlchemyBackend,
    Table,
    ViewBackend,
)
from saftale_projections.backends.sqlalchemy import index_name
from saftale_projections.protocol import Row
from saftale_projections.testing import BackendSuite, SuiteProjection, select_all
from saftale_projections.views.audit import AUDIT
from tests import pg
from tests.support import Clock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class TestMemoryBackend(BackendSuite):
    def make_backend(self) -> MemoryBackend:
        return MemoryBackend()


class TestSQLiteBackend(BackendSuite):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.made = 0

    def make_backend(self) -> SQLAlchemyBackend:
        self.made += 1
        return SQLAlchemyBackend(f"sqlite:///{self.directory / f'views-{self.made}.db'}")


class TestPostgresBackend(BackendSuite):
    @pytest.fixture(autouse=True)
    def _server(self) -> None:
        pg.require()
        self.urls: dict[int, str] = {}

    def make_backend(self) -> SQLAlchemyBackend:
        url = pg.create_database()
        backend = SQLAlchemyBackend(url)
        self.urls[id(backend)] = url
        return backend

    def close_backend(self, backend: ViewBackend) -> None:
        backend.close()
        pg.drop_database(self.urls.pop(id(backend)))


@pytest.fixture(scope="module")
def danish_database() -> Iterator[str]:
    """A database whose collation is Danish (ICU ``da-DK``: "aa" sorts as å, after z;
    upper case before lower; spaces and hyphens count little), dropped at the end."""
    pg.require()
    name = f"saftale_test_da_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = pg.SERVER.rstrip("/")
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        try:
            conn.execute(
                f'CREATE DATABASE "{name}" TEMPLATE template0 '
                "LOCALE_PROVIDER icu ICU_LOCALE 'da-DK'"
            )
        except psycopg.Error as exc:
            why = f"cannot make a database with a Danish collation: {str(exc).strip()}"
            if pg.in_ci():
                pytest.fail(why, pytrace=False)
            pytest.skip(why)
    try:
        yield f"{server}/{name}"
    finally:
        pg.drop_database(f"{server}/{name}")


class TestPostgresDanishBackend(TestPostgresBackend):
    """The suite on PostgreSQL in a database whose collation is Danish, not the code-point
    order of the memory backend and SQLite (the test server's own is ``C.UTF-8``, which
    orders as they do): the backend orders text by code point all the same."""

    @pytest.fixture(autouse=True)
    def _server(self, danish_database: str) -> None:
        self.database = danish_database
        self.urls = {}

    def make_backend(self) -> SQLAlchemyBackend:
        schema = "s_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.database, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{self.database}?schema={schema}"
        backend = SQLAlchemyBackend(url)
        self.urls[id(backend)] = url
        return backend

    def test_the_database_orders_text_otherwise(self) -> None:
        """The database's own order is not the code-point order (else the suite here
        would show nothing the other PostgreSQL suite does not)."""
        with psycopg.connect(self.database) as conn:
            rows = conn.execute(
                "SELECT x FROM (VALUES ('aa'), ('ab'), ('Aa'), ('z')) AS v(x) ORDER BY x"
            ).fetchall()
        assert [x for (x,) in rows] != sorted(["aa", "ab", "Aa", "z"])


def test_a_views_url_password_never_shows_in_errors() -> None:
    from saftale_core import StoreError
    from saftale_projections import SQLAlchemyBackend

    url = "postgresql://postgres:s3cret-word@127.0.0.1:1/views?pool_size=3&connect_timeout=2"
    with pytest.raises(StoreError) as raised:
        SQLAlchemyBackend(url)
    message = str(raised.value)
    assert "s3cret-word" not in message
    assert "postgres:***@127.0.0.1:1" in message
    assert "invalid connection option" not in message  # pool_size is the store's setting
    assert "Connection refused" in message


# -- views made by earlier code --------------------------------------------------------

LAYOUT_1: dict[str, tuple[str, ...]] = {
    "audit": ("store_position", "fact_type", "by", "on_start", "recorded_by", "corrects"),
    "audit_party": ("on_start",),
    "subject_state": ("kind", "status", "valid_from", "valid_to"),
    "awaiting": ("body", "valid_from", "valid_to"),
    "cluster_subject": ("cluster", "valid_from", "valid_to"),
    "focus_subject": ("focus_area", "valid_from", "valid_to"),
    "focus_indicator": ("focus_area", "valid_from", "valid_to"),
    "deadline": ("kind", "due", "valid_from", "valid_to"),
}
"""The indexes saftale 0.1 made on the shipped views: one per indexed column, named by
SQLAlchemy (``ix_v_<table>_<column>``), and none in ``saftale_view_schema``."""


@pytest.fixture(params=["sqlite", "postgres"])
def views_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty views location: an SQLite file, or a schema in the Danish database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'views.db'}"
        return
    danish_database: str = request.getfixturevalue("danish_database")
    schema = "s_" + uuid.uuid4().hex[:12]
    with psycopg.connect(danish_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{danish_database}?schema={schema}"
    yield url
    pg.drop_database(url)


def _indexes(backend: SQLAlchemyBackend, table: str) -> set[str]:
    inspector = sa.inspect(backend.engine)
    return {str(i["name"]) for i in inspector.get_indexes(table, schema=backend.metadata.schema)}


def _rows(backend: SQLAlchemyBackend) -> dict[str, list[Row]]:
    return {
        t.name: select_all(
            backend, t, limit=50, **({"as_of": dt.date(2021, 1, 1)} if t.temporal else {})
        )
        for p in ALL_VIEWS()
        for t in p.tables
    }


def _age_to_layout_1(backend: SQLAlchemyBackend) -> None:
    """Make the shipped views' tables as saftale 0.1 made them (their rows kept), with a
    user's own index on the audit trail."""
    prepare = backend.engine.dialect.identifier_preparer
    schema = backend.metadata.schema
    with backend.engine.begin() as conn:
        for p in ALL_VIEWS():
            for table in p.tables:
                if table.name not in LAYOUT_1:  # a table saftale 0.1 did not have
                    continue
                t = backend._table(table)
                for name in _indexes(backend, t.name):
                    qualified = prepare.quote(name)
                    if schema:
                        qualified = f"{prepare.quote_schema(schema)}.{qualified}"
                    conn.execute(sa.text(f"DROP INDEX {qualified}"))
                for column in LAYOUT_1[table.name]:
                    sa.Index(f"ix_{t.name}_{column}", t.c[column]).create(conn)
                if backend.engine.dialect.name == "postgresql":
                    texts = [c.name for c in table.all_columns if c.type == "text"]
                    changes = ", ".join(
                        f'ALTER COLUMN {prepare.quote(c)} TYPE text COLLATE "default"'
                        for c in texts
                    )
                    conn.execute(sa.text(f"ALTER TABLE {prepare.format_table(t)} {changes}"))
        audit = backend._table(AUDIT)
        sa.Index("mine_by_recorder", audit.c.recorded_by, audit.c.recorded_at).create(conn)
        conn.execute(sa.delete(backend.schema_table))


def test_views_made_by_earlier_code_get_this_code_s_indexes_and_keep_their_rows(
    views_url: str,
) -> None:
    """A views database made by saftale 0.1 (an index per indexed column, text in the
    database's collation) is brought to this code's layout when a runner starts, without
    building the views again: the indexes no longer declared are dropped, the declared
    ones made, text put in code-point order, a user's own index kept."""
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl"):
        assert not store.import_history(EXAMPLES / name).refusals
    made = SQLAlchemyBackend(views_url)
    Runner(store, made, ALL_VIEWS()).run_once()
    rows = _rows(made)
    _age_to_layout_1(made)
    made.close()

    backend = SQLAlchemyBackend(views_url)
    old = {t: _indexes(backend, f"v_{t}") for t in LAYOUT_1}
    assert old["audit"] == {*(f"ix_v_audit_{c}" for c in LAYOUT_1["audit"]), "mine_by_recorder"}
    runner = Runner(store, backend, ALL_VIEWS())
    runner.start()
    assert runner.resets == {}  # not built again
    for projection in ALL_VIEWS():
        for table in projection.tables:
            declared = {index_name(table, i) for i in table.all_indexes}
            mine = {"mine_by_recorder"} if table.name == "audit" else set()
            assert _indexes(backend, f"v_{table.name}") == declared | mine, table.name
    assert _rows(backend) == rows  # in key order by code point, on PostgreSQL too
    assert runner.run_once() == 0
    backend.close()
    store.close()


THING = Table(
    "layout_thing",
    key=("id",),
    columns=(
        Column("id", "int", nullable=False),
        Column("owner", index=True),
        Column("day", "date"),
    ),
)


def test_a_projection_s_changed_indexes_reach_its_views_without_a_rebuild(views_url: str) -> None:
    """The same version of a projection with other indexes (a user's own projection, in
    the process that ensured the earlier ones): ``ensure`` makes the new indexes and
    drops the old, and the rows stay."""
    first = SuiteProjection(name="layout", tables=(THING,))
    backend = SQLAlchemyBackend(views_url)
    assert backend.ensure(first) is False
    changes = Changes()
    for i in range(1, 4):
        changes.put(THING, {"id": i, "owner": f"o{i}", "day": dt.date(2020, 1, i)})
    backend.write(first, changes, 3)
    assert _indexes(backend, "v_layout_thing") == {index_name(THING, Index(("owner", "id")))}

    by_day = Table(
        THING.name,
        THING.key,
        (*THING.columns[:1], Column("owner"), THING.columns[2]),
        indexes=(Index(("day", "id")),),
    )
    second = SuiteProjection(name="layout", tables=(by_day,))
    assert backend.ensure(second) is False  # the same backend, or another: the same
    assert _indexes(backend, "v_layout_thing") == {index_name(by_day, Index(("day", "id")))}
    assert [r["id"] for r in select_all(backend, by_day, order_by=("day",))] == [1, 2, 3]
    assert backend.position("layout") == 3
    backend.close()


def test_ensure_does_not_make_indexes_a_rebuild_has_dropped(views_url: str) -> None:
    """What ``ensure`` goes by is the layout kept with each table, not the indexes it
    finds: a rebuild in several processes drops the indexes while its processes write
    (each of which ensures the views), and makes them once at the end."""
    projection = SuiteProjection(name="layout", tables=(THING,))
    backend = SQLAlchemyBackend(views_url)
    backend.ensure(projection)
    with backend.engine.begin() as conn:
        for index in backend.indexes(projection):
            conn.execute(sa.schema.DropIndex(index))
    backend.close()
    again = SQLAlchemyBackend(views_url)
    assert again.ensure(projection) is False
    assert _indexes(again, "v_layout_thing") == set()
    again.close()


# -- declaring indexes ------------------------------------------------------------------


def test_an_indexed_column_is_an_index_on_it_then_the_key() -> None:
    """``Column(index=True)``: the rows with one value of the column, in key order."""
    table = Table(
        "t",
        key=("area", "subject", "valid_from"),
        columns=(Column("area"), Column("subject"), Column("status", index=True)),
        temporal=True,
        indexes=(Index(("area", "status")),),
    )
    assert table.all_indexes == (
        Index(("area", "status")),
        Index(("status", "area", "subject", "valid_from")),
    )
    twice = Table(
        "u", ("id",), (Column("id", "int"), Column("x", index=True)), indexes=(Index(("x", "id")),)
    )
    assert twice.all_indexes == (Index(("x", "id")),)


def test_a_temporal_table_s_days_are_not_indexed_unless_declared() -> None:
    """Every index costs every write: ``valid_from``/``valid_to`` get none of their own."""
    table = Table("t", ("id", "valid_from"), (Column("id"),), temporal=True)
    assert table.all_indexes == ()
    assert not any(c.index for c in table.all_columns)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Index(()), ValueError, "at least one column"),
        (lambda: Index(("a", "a")), ValueError, "each column once"),
        (lambda: Index("subject"), TypeError, "tuple of column names"),
        (
            lambda: Table("t", ("id",), (Column("id"),), indexes=(Index(("id", "nope")),)),
            ValueError,
            "t: an index names columns the table does not have: nope",
        ),
        (
            lambda: Table("t", ("id",), (Column("id"),), indexes=(Index(("id",), ("gone",)),)),
            ValueError,
            "does not have: gone",
        ),
        (
            lambda: Table("t", ("id",), (Column("id"),), indexes=(("id",),)),  # type: ignore[arg-type]
            TypeError,
            "Index objects",
        ),
    ],
)
def test_an_index_that_cannot_be_is_refused_where_it_is_declared(
    make: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()
