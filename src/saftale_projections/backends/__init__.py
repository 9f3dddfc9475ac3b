"""View backends: in memory, and SQLAlchemy (SQLite, PostgreSQL).

:class:`SQLAlchemyBackend` is imported when first used: a program (or a ``saftale``
command) that keeps its views in memory does not pay for importing SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saftale_projections.backends.memory import MemoryBackend

if TYPE_CHECKING:
    from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend

__all__ = ["MemoryBackend", "SQLAlchemyBackend", "open_backend"]


def __getattr__(name: str) -> Any:
    if name == "SQLAlchemyBackend":
        from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend

        return SQLAlchemyBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_backend(url: str) -> MemoryBackend | SQLAlchemyBackend:
    """A backend by URL: ``:memory:`` or an SQLAlchemy URL (``sqlite:///views.db``,
    ``postgresql://...``)."""
    if url in (":memory:", "memory://"):
        return MemoryBackend()
    from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend

    return SQLAlchemyBackend(url)
