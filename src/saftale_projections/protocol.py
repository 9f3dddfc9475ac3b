"""What a projection is, and what a view backend must do.

A **projection** turns recorded facts into rows of one or more **tables**.  It
is a plain object with a ``name``, a ``version`` (change it when the code that
fills the rows changes: the runner then rebuilds the view on start), the
``tables`` it fills, and ``apply(batch, changes, store)``, which turns a batch
of recorded facts into row changes.  It never writes to a database itself.

A **backend** keeps tables and, in the same transaction as each batch of row
changes, the position of the last fact applied (tracking).  The position is
written with a compare-and-set: a write whose position is not beyond the
stored one is refused (:class:`StalePosition`) and nothing of it is kept, so an
event is never applied twice, even by two runners at once.  A write by a projection
whose version is not the stored one is refused too (:class:`VersionChanged`): a runner
still running old code cannot write into a view that new code has reset.

A backend may also offer ``write_many(work, position, after=None)``, ``work`` being
``(projection, changes)`` pairs: :meth:`ViewBackend.write` for all of them in one
transaction, all or nothing.  The runner uses it, when present, to move the
projections that stand at the same position together (one commit per batch instead
of one per projection); the shipped backends have it.

A backend may also offer ``analyze(projection)``: gather the statistics its database's
query planner chooses indexes by, for the projection's tables.  The runner calls it,
when present, at the end of a rebuild (:meth:`~saftale_projections.Runner.rebuild`,
:func:`~saftale_projections.parallel.rebuild_in_processes`), when the views hold the
whole history.  Without statistics a database may find a subject's rows through the
index of another column a select filters on (a body's, say), reading every row of that
body, where the table's key finds the subject's few.  It changes no row and no
position; the SQL backend has it, the memory backend (no planner) does not.

Rows are plain dicts of column values; every table also has a ``doc`` column
holding a JSON object for everything that is shown but not filtered on.
Tables with ``temporal=True`` have ``valid_from``/``valid_to`` columns (days in
decision time; ``valid_to`` is exclusive, ``None`` means "still so") and
answer ``as_of`` queries.

A table declares the **indexes** its selects need (:class:`Index`): the columns a
select filters on by equality first, then the columns it orders by, so that a database
finds the rows and reads them in order without sorting.  Every index costs every write,
so a table declares only those its queries use.  Text is ordered by code point, in every
backend (on PostgreSQL, whatever the database's collation).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs

from saftale_core import Recorded, SaftaleError

__all__ = [
    "BadCursor",
    "Batch",
    "Changes",
    "Column",
    "Index",
    "LinkedBackend",
    "Page",
    "Projection",
    "StalePosition",
    "Table",
    "VersionChanged",
    "ViewBackend",
    "check_page",
]

ColumnType = Literal["text", "int", "date", "bool"]
Row = dict[str, Any]


class BadCursor(SaftaleError, ValueError):
    """An ``after`` cursor that no page of this question gave (another question's, or
    the same question's with other ``kinds``)."""


class StalePosition(SaftaleError):
    """A batch was refused because the view had already moved past it (another runner)."""


class VersionChanged(SaftaleError):
    """A batch was refused because the view's stored version is not the projection's: a
    runner with other code (another version of the projection) has reset the view since.
    The runner stops; start it again with the code the view is now built by."""


def version_changed(projection: Projection, stored: int | None) -> VersionChanged:
    """The refusal of a write by ``projection`` into a view of version ``stored``
    (``None``: another version than the projection's)."""
    now = "another version" if stored is None else f"version {stored}"
    return VersionChanged(
        f"{projection.name}: the view is now at {now} and this runner's code at version "
        f"{projection.version}: another runner has reset it since; nothing was written. "
        "Stop this runner and start it again with the current code"
    )


@attrs.frozen
class Column:
    """A column of a view table.

    ``index=True`` is a shorthand for ``Index((name, *key))`` on the table (the key
    columns that are not this one): an index for selecting the rows with one value of
    this column, in the default order (by the key).  Declare an :class:`Index` of the
    table instead for a select that filters on several columns or orders by others."""

    name: str
    type: ColumnType = "text"
    index: bool = False
    nullable: bool = True


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"an index's columns are a tuple of column names, not {value!r}")
    return tuple(value)


@attrs.frozen
class Index:
    """A secondary index of a :class:`Table`, serving one kind of select.

    ``columns``: the columns the select filters on by equality, then those it orders by
    (its ``order_by``, then the rest of the table's key), so the rows are found and read
    in order without a sort.  ``where_not_null``: index only the rows where these
    columns hold a value (a partial index; it serves a select that filters on them by
    equality, and costs nothing for the rows without a value).

    >>> Index(("by", "on_start", "subject", "position"))
    Index(columns=('by', 'on_start', 'subject', 'position'), where_not_null=())
    """

    columns: tuple[str, ...] = attrs.field(converter=_names)
    where_not_null: tuple[str, ...] = attrs.field(default=(), converter=_names)

    @columns.validator
    def _check_columns(self, _: Any, columns: tuple[str, ...]) -> None:
        if not columns:
            raise ValueError("an index has at least one column")
        if len(set(columns)) != len(columns):
            raise ValueError(f"an index names each column once: {columns}")
        if any(not isinstance(c, str) for c in columns):
            raise TypeError(f"an index's columns are column names: {columns}")


def _indexes(value: Iterable[Index]) -> tuple[Index, ...]:
    return tuple(value)


@attrs.frozen
class Table:
    """A table of a view: its key columns, its other columns, whether it is temporal, and
    the indexes its selects need besides the key (see :class:`Index`)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    temporal: bool = False
    indexes: tuple[Index, ...] = attrs.field(default=(), converter=_indexes)

    def __attrs_post_init__(self) -> None:
        names = {c.name for c in self.all_columns}
        for index in self.indexes:
            if not isinstance(index, Index):
                raise TypeError(f"{self.name}: indexes are Index objects, not {index!r}")
            unknown = [c for c in (*index.columns, *index.where_not_null) if c not in names]
            if unknown:
                raise ValueError(
                    f"{self.name}: an index names columns the table does not have: "
                    + ", ".join(unknown)
                )

    @property
    def all_columns(self) -> tuple[Column, ...]:
        extra: tuple[Column, ...] = ()
        if self.temporal:
            extra = (
                Column("valid_from", "date", nullable=False),
                Column("valid_to", "date"),
            )
        return (*self.columns, *extra)

    @property
    def all_indexes(self) -> tuple[Index, ...]:
        """The table's secondary indexes: those it declares, then one for each column
        with ``index=True`` (see :class:`Column`), each once."""
        out = list(self.indexes)
        for column in self.all_columns:
            if column.index:
                out.append(Index((column.name, *(k for k in self.key if k != column.name))))
        return tuple(dict.fromkeys(out))

    def column(self, name: str) -> Column:
        for c in self.all_columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


@attrs.frozen
class Batch:
    """Recorded facts with their store positions, in order."""

    items: tuple[tuple[int, Recorded], ...]

    @property
    def last(self) -> int:
        return self.items[-1][0]

    def subjects(self) -> list[str]:
        return list(dict.fromkeys(r.fact.subject for _, r in self.items))


class Changes:
    """Row changes of one batch, coalesced per row before the backend writes them.

    ``put`` replaces a row by its key; ``delete`` removes every row of a table whose
    columns equal the given values (e.g. every row of one subject), including rows put
    earlier in the same batch.  A backend applies a table's deletes first, then its
    puts: since a delete also drops the earlier puts it matches, the outcome is the
    same as applying them in order, and the puts can be written in one bulk statement.
    """

    def __init__(self) -> None:
        self._puts: dict[str, dict[tuple[Any, ...], Row]] = {}
        self._deletes: dict[str, list[dict[str, Any]]] = {}
        self._index: dict[str, dict[str, dict[Any, set[tuple[Any, ...]]]]] = {}
        self._keys: dict[str, Callable[[Row], tuple[Any, ...]]] = {}
        self._tables: dict[str, Table] = {}

    def put(self, table: Table, row: Row) -> None:
        getter = self._keys.get(table.name)
        if getter is None or self._tables[table.name] is not table:
            getter = self._keys[table.name] = key_of(table)
            self._tables[table.name] = table
        self._put(table, getter(row), row)

    def _put(self, table: Table, key: tuple[Any, ...], row: Row) -> None:
        """``put`` of a row whose key the caller has already taken with
        :func:`key_of`."""
        puts = self._puts.get(table.name)
        if puts is None:
            puts = self._puts[table.name] = {}
        indexes = self._index.get(table.name)
        if indexes:
            old = puts.get(key)
            for column, by_value in indexes.items():
                if old is not None:
                    by_value.get(old.get(column), set()).discard(key)
                by_value.setdefault(row.get(column), set()).add(key)
        puts[key] = row

    def delete(self, table: Table, **where: Any) -> None:
        self._deletes.setdefault(table.name, []).append(dict(where))
        puts = self._puts.get(table.name)
        if not puts or not where:
            if puts and not where:
                puts.clear()
            return
        indexes = self._index.setdefault(table.name, {})
        column, value = next(iter(where.items()))
        if column not in indexes:
            by_value: dict[Any, set[tuple[Any, ...]]] = {}
            for key, existing in puts.items():
                by_value.setdefault(existing.get(column), set()).add(key)
            indexes[column] = by_value
        for key in list(indexes[column].get(value, ())):
            row = puts.get(key)
            if row is not None and all(row.get(c) == v for c, v in where.items()):
                del puts[key]
                for col, vals in indexes.items():
                    vals.get(row.get(col), set()).discard(key)
                # The dropped put would have replaced a stored row of the same key, which
                # the delete then removed: delete that key too.
                self._deletes[table.name].append(dict(zip(table.key, key, strict=True)))

    def rows(self, table: str, key: tuple[Any, ...]) -> Row | None:
        return self._puts.get(table, {}).get(key)

    def deletes(self, table: str) -> list[dict[str, Any]]:
        """The table's deletes (each a dict of column values), to apply first."""
        return self._deletes.get(table, [])

    def puts(self, table: str) -> list[Row]:
        """The table's rows to put (after the deletes)."""
        return list(self._puts.get(table, {}).values())

    def plan(self, table: str) -> list[tuple[str, Any]]:
        """The table's operations: every ``("delete", where)``, then every ``("put", row)``."""
        return [
            *(("delete", w) for w in self.deletes(table)),
            *(("put", r) for r in self.puts(table)),
        ]

    def __bool__(self) -> bool:
        return bool(self._puts) or bool(self._deletes)


_KEYS: dict[int, tuple[Table, Callable[[Row], tuple[Any, ...]]]] = {}


def key_of(table: Table) -> Callable[[Row], tuple[Any, ...]]:
    """How to take a row's key (the values of the table's key columns, as a tuple)."""
    found = _KEYS.get(id(table))
    if found is not None and found[0] is table:
        return found[1]
    getter: Callable[[Row], tuple[Any, ...]]
    if len(table.key) > 1:
        getter = operator.itemgetter(*table.key)
    else:
        columns = table.key

        def getter(row: Row) -> tuple[Any, ...]:
            return tuple([row[c] for c in columns])

    if len(_KEYS) > 10_000:
        _KEYS.clear()
    _KEYS[id(table)] = (table, getter)
    return getter


class Projection(Protocol):
    """A read model: fills its tables from recorded facts."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def tables(self) -> Sequence[Table]: ...

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        """Turn a batch into row changes.  ``store`` is the core
        :class:`~saftale_core.Saftale`, for reading a subject's whole history."""


@attrs.frozen
class Page:
    """One page of rows and the cursor for the next (``None`` on the last page)."""

    rows: tuple[Row, ...]
    next: tuple[Any, ...] | None


class ViewBackend(Protocol):
    """Where views live.  Every implementation passes
    :class:`saftale_projections.testing.BackendSuite`."""

    def ensure(self, projection: Projection) -> bool:
        """Create the projection's tables if needed, with the indexes they declare
        (``Table.all_indexes``; a backend may go without, or bring the indexes of
        tables made by other code up to date).  Returns True when the stored version
        differs from the projection's (the view must be rebuilt)."""

    def reset(self, projection: Projection) -> None:
        """Drop the projection's rows and position (before a rebuild)."""

    def position(self, projection: str) -> int:
        """The position of the last fact applied to the projection (0 for none)."""

    def write(
        self, projection: Projection, changes: Changes, position: int, after: int | None = None
    ) -> None:
        """Apply the changes and move the position to ``position`` in one transaction;
        :class:`StalePosition` (and nothing written) if the stored position is not
        below ``position``, or, when ``after`` is given (the position the batch was read
        after), if the stored position is not exactly ``after``; :class:`VersionChanged`
        (and nothing written) if the view has a stored version that is not
        ``projection.version``."""

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
        """Rows whose columns equal ``where``; for a temporal table, those valid on
        ``as_of`` (default: still valid now); ``since``/``until`` bound
        ``date_column``; ordered by ``order_by`` then the key (empty values first), with
        keyset pagination (``after`` is the previous page's ``next``).

        A ``where`` value that is a set, frozenset, list or tuple (:func:`any_of`)
        selects the rows whose column equals any of its values (SQL's ``IN``; ``None``
        among them: the rows where the column is empty, as ``None`` alone does); an
        empty one selects no row.  An index whose first columns are filtered by
        equality or by such a set serves the select; rows are still given in the order
        asked, which a set on an index's leading column may cost a sort.

        A ``limit`` below 1 raises ``ValueError``, and an ``after`` without a value for
        each column of the order :class:`BadCursor`, before anything is read
        (:func:`check_page`)."""

    def close(self) -> None: ...


class LinkedBackend(ViewBackend, Protocol):
    """A backend that keeps, with each position, the store's link of the fact there."""

    def link(self, projection: str) -> str | None:
        """The link written with the projection's position (``None``: none written, or
        the position is 0)."""

    def write(
        self,
        projection: Projection,
        changes: Changes,
        position: int,
        after: int | None = None,
        link: str | None = None,
    ) -> None:
        """:meth:`ViewBackend.write`, keeping ``link`` with the new position."""

    def write_many(
        self,
        work: Sequence[tuple[Projection, Changes]],
        position: int,
        after: int | None = None,
        link: str | None = None,
    ) -> None:
        """``write`` for every ``(projection, changes)`` of ``work`` in one transaction,
        all or nothing."""


def apply_plan(
    rows: dict[tuple[Any, ...], Row], table: Table, plan: Iterable[tuple[str, Any]]
) -> None:
    """Apply a table's plan to an in-memory dict of rows (used by the memory backend)."""
    for op, arg in plan:
        if op == "delete":
            for key in [k for k, r in rows.items() if all(r[c] == v for c, v in arg.items())]:
                del rows[key]
        else:
            rows[tuple(arg[k] for k in table.key)] = complete_row(table, arg)


def complete_row(table: Table, row: Row) -> Row:
    """The row with every column of the table (missing ones ``None``) and a ``doc``."""
    out = {c.name: row.get(c.name) for c in table.all_columns}
    out["doc"] = row.get("doc", {})
    return out


def any_of(value: Any) -> bool:
    """Whether a ``where`` value of :meth:`ViewBackend.select` stands for several values
    (a set, frozenset, list or tuple: the rows whose column equals any of them), rather
    than one value the column equals."""
    return isinstance(value, set | frozenset | list | tuple)


def ordering(table: Table, order_by: Sequence[str]) -> tuple[str, ...]:
    """The columns a select orders by: ``order_by``, then the key (so the order is total)."""
    return (*order_by, *(k for k in table.key if k not in order_by))


def check_page(
    table: Table, order_by: Sequence[str], limit: int, after: tuple[Any, ...] | None
) -> tuple[str, ...]:
    """The columns a page of ``table`` is ordered by (:func:`ordering`), once ``limit``
    and ``after`` are known to fit: a ``limit`` of at least 1 (else ``ValueError``), and
    a cursor with a value for each of those columns (else :class:`BadCursor`).  For a
    backend's :meth:`~ViewBackend.select`, before it reads anything."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
    order = ordering(table, order_by)
    if after is not None and (not isinstance(after, tuple) or len(after) != len(order)):
        raise BadCursor(
            f"this cursor was not given by a page of this question: a page of "
            f"{table.name} ordered by {', '.join(order)} gives {len(order)} values"
        )
    return order
