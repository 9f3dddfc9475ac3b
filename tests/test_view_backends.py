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
