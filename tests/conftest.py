"""Fixtures: every store-backed test runs on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from saftale_core import Saftale
from tests import pg
from tests.support import Clock

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if pg.in_ci() else "dev"))

BACKENDS = ("memory", "sqlite", "postgres")


def new_store(kind: str, tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A fresh, empty store of the given kind: (url, cleanup)."""
    if kind == "memory":
        return ":memory:", lambda: None
    if kind == "sqlite":
        db = tmp_path / f"saftale-{len(list(tmp_path.glob('*.db')))}.db"
        return f"sqlite:///{db}", lambda: None
    url = pg.create_database()
    return url, lambda: pg.drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    if kind == "postgres":
        pg.require()
    return kind


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    url, cleanup = new_store(backend, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(store_url: str, clock: Clock) -> Iterator[Saftale]:
    saftale = Saftale.open(store_url, recorded_by="test", clock=clock)
    yield saftale
    saftale.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.name:
            item.add_marker(pytest.mark.postgres)
