"""Views in memory: for tests, experiments and small scripts."""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from saftale_core import StoreError
from saftale_projections.protocol import (
    Changes,
    Page,
    Projection,
    Row,
    StalePosition,
    Table,
    any_of,
    apply_plan,
    check_page,
    version_changed,
)

__all__ = ["MemoryBackend"]


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


class MemoryBackend:
    """Tables as dicts; a lock makes each write atomic with its position."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[tuple[Any, ...], Row]] = {}
        self._positions: dict[str, tuple[int, int]] = {}
        self._links: dict[str, str] = {}

    def ensure(self, projection: Projection) -> bool:
        with self._lock:
            for table in projection.tables:
                self._tables.setdefault(table.name, {})
            stored = self._positions.get(projection.name)
            return stored is not None and stored[1] != projection.version

    def reset(self, projection: Projection) -> None:
        with self._lock:
            for table in projection.tables:
                self._tables[table.name] = {}
            self._positions[projection.name] = (0, projection.version)
            self._links.pop(projection.name, None)

    def position(self, projection: str) -> int:
        with self._lock:
            return self._positions.get(projection, (0, 0))[0]

    def link(self, projection: str) -> str | None:
        with self._lock:
            return self._links.get(projection)

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
        """:meth:`write` for several projections at once: all or nothing."""
        with self._lock:
            for projection, changes in work:
                stored, version = self._positions.get(projection.name, (0, projection.version))
                if version != projection.version:
                    raise version_changed(projection, version)
                if stored >= position or (after is not None and stored != after):
                    raise StalePosition(
                        f"{projection.name}: already at {stored}, refused a batch up to {position}"
                    )
                for table in projection.tables:
                    required = [
                        c.name for c in table.all_columns if not c.nullable or c.name in table.key
                    ]
                    for row in changes.puts(table.name):
                        missing = [c for c in required if row.get(c) is None]
                        if missing:
                            raise StoreError(f"{table.name}: {', '.join(missing)} may not be empty")
            for projection, changes in work:
                for table in projection.tables:
                    rows = dict(self._tables.get(table.name, {}))
                    apply_plan(rows, table, copy.deepcopy(changes.plan(table.name)))
                    self._tables[table.name] = rows
                self._positions[projection.name] = (position, projection.version)
                if link is None:
                    self._links.pop(projection.name, None)
                else:
                    self._links[projection.name] = link

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
        with self._lock:
            rows = list(self._tables.get(table.name, {}).values())
        tests = [(c, frozenset(v) if any_of(v) else None, v) for c, v in (where or {}).items()]
        out = [
            r
            for r in rows
            if all(
                r.get(c) == v if values is None else r.get(c) in values for c, values, v in tests
            )
        ]
        if table.temporal:
            if as_of is None:
                out = [r for r in out if r["valid_to"] is None]
            else:
                out = [
                    r
                    for r in out
                    if r["valid_from"] <= as_of and (r["valid_to"] is None or r["valid_to"] > as_of)
                ]
        if date_column is not None:
            if since is not None:
                out = [r for r in out if r[date_column] is not None and r[date_column] >= since]
            if until is not None:
                out = [r for r in out if r[date_column] is not None and r[date_column] <= until]

        def key(r: Row) -> tuple[Any, ...]:
            return tuple(_sortable(r[c]) for c in order)

        out.sort(key=key)
        if after is not None:
            bound = tuple(_sortable(v) for v in after)
            out = [r for r in out if key(r) > bound]
        page = out[:limit]
        more = len(out) > limit
        return Page(
            tuple(copy.deepcopy(r) for r in page),
            tuple(page[-1][c] for c in order) if more and page else None,
        )

    def close(self) -> None:
        pass
