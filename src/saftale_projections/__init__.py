"""saftale_projections: read models of the facts saftale_core records.

A :class:`Runner` follows the event store and keeps views (projections) current
in a backend (:class:`MemoryBackend`, or :class:`SQLAlchemyBackend` on SQLite or
PostgreSQL), tracking its position in the same transaction as the rows it
writes.  This package imports saftale_core; saftale_core never imports it.

SQLAlchemy is imported when :class:`SQLAlchemyBackend` or :func:`rebuild_in_processes`
is first used, not before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from saftale_projections.backends import MemoryBackend, open_backend
from saftale_projections.protocol import (
    Batch,
    Changes,
    Column,
    Index,
    LinkedBackend,
    Page,
    Projection,
    StalePosition,
    Table,
    VersionChanged,
    ViewBackend,
)
from saftale_projections.queries import Views
from saftale_projections.runner import Runner, ViewsBehind
from saftale_projections.views import ALL_VIEWS, AuditTrail, Deadlines, SubjectTimeline

if TYPE_CHECKING:
    from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend
    from saftale_projections.parallel import rebuild_in_processes

__all__ = [
    "ALL_VIEWS",
    "AuditTrail",
    "Batch",
    "Changes",
    "Column",
    "Deadlines",
    "Index",
    "LinkedBackend",
    "MemoryBackend",
    "Page",
    "Projection",
    "Runner",
    "SQLAlchemyBackend",
    "StalePosition",
    "SubjectTimeline",
    "Table",
    "VersionChanged",
    "ViewBackend",
    "Views",
    "ViewsBehind",
    "open_backend",
    "rebuild_in_processes",
]


def __getattr__(name: str) -> Any:
    if name == "SQLAlchemyBackend":
        from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend

        return SQLAlchemyBackend
    if name == "rebuild_in_processes":
        from saftale_projections.parallel import rebuild_in_processes

        return rebuild_in_processes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
