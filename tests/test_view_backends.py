"""Every view backend saftale ships passes the same suite
(:class:`saftale_projections.testing.BackendSuite`): memory, SQLAlchemy on an SQLite
file, and SQLAlchemy on PostgreSQL (a schema of its own per test).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from saftale_projections import MemoryBackend, SQLAlchemyBackend, ViewBackend
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
