"""Every view backend saftale ships passes the same suite
(:class:`saftale_projections.testing.BackendSuite`): memory, SQLAlchemy on an SQLite
file, and SQLAlchemy on PostgreSQL (a schema of its own per test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from saftale_projections import Column, Index, MemoryBackend, SQLAlchemyBackend, Table, ViewBackend
from saftale_projections.testing import BackendSuite
from tests import pg


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
