"""View backends: in memory, and SQLAlchemy (SQLite, PostgreSQL)."""

from saftale_projections.backends.memory import MemoryBackend
from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend

__all__ = ["MemoryBackend", "SQLAlchemyBackend", "open_backend"]


def open_backend(url: str) -> MemoryBackend | SQLAlchemyBackend:
    """A backend by URL: ``:memory:`` or an SQLAlchemy URL (``sqlite:///views.db``,
    ``postgresql://...``)."""
    if url in (":memory:", "memory://"):
        return MemoryBackend()
    return SQLAlchemyBackend(url)
