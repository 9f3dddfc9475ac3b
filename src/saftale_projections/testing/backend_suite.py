"""The abstract test suite every view backend passes.

Subclass :class:`BackendSuite` in a test module, give it :meth:`~BackendSuite.make_backend`
(a new, empty backend each call) and, if closing is not enough, override
:meth:`~BackendSuite.close_backend`.  pytest then runs every test below against your
backend.  The suite writes :class:`~saftale_projections.Changes` itself, through a
small projection (:class:`SuiteProjection`) with a plain table (:data:`THINGS`) and
a temporal one (:data:`SPANS`), so it checks the backend and nothing else.

What a backend must do, in the words of the tests:

* ``ensure`` creates tables and reports a changed version; ``reset`` empties one
  projection's view and records its new version; positions are kept per projection.
* ``write`` applies a batch's puts and deletes in order and moves the position in
  one transaction; a position not beyond the stored one is refused with
  :class:`~saftale_projections.StalePosition` and nothing of the batch is kept,
  even when several writers race; a batch that fails writes nothing.
* ``select`` filters on equal columns (or columns equal to any of a set of values),
  ``as_of`` a day (temporal tables), ``since``
  and ``until`` on a date column, orders by the key or ``order_by`` (``None`` before
  every value) and pages by keyset without losing or repeating a row; every row has
  every column of its table and a ``doc`` that round-trips as JSON.
* A backend that keeps links (:class:`~saftale_projections.LinkedBackend`, optional:
  the suite skips these tests for one that has no ``link`` method) keeps the link
  written with each position, forgets it on ``reset`` and keeps it when a write is
  refused.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import attrs
import pytest

from saftale_core import SaftaleError
from saftale_projections.protocol import (
    BadCursor,
    Batch,
    Changes,
    Column,
    LinkedBackend,
    Row,
    StalePosition,
    Table,
    VersionChanged,
    ViewBackend,
)

__all__ = ["OTHER_THINGS", "SPANS", "THINGS", "BackendSuite", "SuiteProjection", "select_all"]

THINGS = Table(
    "suite_thing",
    key=("id",),
    columns=(
        Column("id", "int", nullable=False),
        Column("owner", index=True),
        Column("label", nullable=False),
        Column("day", "date", index=True),
        Column("count", "int"),
        Column("flag", "bool"),
    ),
)
"""A plain table: one row per thing, keyed by ``id``; ``label`` may not be null."""

SPANS = Table(
    "suite_span",
    key=("thing", "valid_from"),
    columns=(Column("thing", nullable=False), Column("status", index=True, nullable=False)),
    temporal=True,
)
"""A temporal table: what status a thing had over which days."""

OTHER_THINGS = Table(
    "suite_other_thing",
    key=("id",),
    columns=(Column("id", "int", nullable=False), Column("owner")),
)
"""The table of a second projection, to show projections do not touch each other."""


@attrs.frozen
class SuiteProjection:
    """A projection the suite writes changes for by hand (``apply`` does nothing)."""

    name: str = "suite"
    version: int = 1
    tables: tuple[Table, ...] = (THINGS, SPANS)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        """The suite fills :class:`Changes` itself; a batch adds nothing."""


PROJECTION = SuiteProjection()
OTHER = SuiteProjection(name="suite_other", tables=(OTHER_THINGS,))

D = dt.date
DOC: dict[str, Any] = {
    "text": "Ærø, Å and ø — “quoted” ✓",
    "big": 2**53 + 1,
    "negative": -7,
    "ratio": 1.25,
    "yes": True,
    "no": False,
    "nothing": None,
    "list": [1, "a", {"b": []}, None],
    "nested": {"k": {"k2": [True, False, 0]}},
    "empty": {},
}
"""A JSON object with every kind of JSON value, for the round-trip test."""


def thing(ident: int, **columns: Any) -> Row:
    """A row of :data:`THINGS` (its ``label`` filled in unless given)."""
    return {"id": ident, "label": f"thing {ident}", **columns}


def span(name: str, status: str, valid_from: dt.date, valid_to: dt.date | None) -> Row:
    return {"thing": name, "status": status, "valid_from": valid_from, "valid_to": valid_to}


def changes_of(*steps: Callable[[Changes], None]) -> Changes:
    changes = Changes()
    for step in steps:
        step(changes)
    return changes


def puts(table: Table, *rows: Row) -> Changes:
    changes = Changes()
    for row in rows:
        changes.put(table, row)
    return changes


def select_all(backend: ViewBackend, table: Table, *, limit: int = 1000, **query: Any) -> list[Row]:
    """Every row a query selects, page after page (fails on a page that repeats a cursor)."""
    out: list[Row] = []
    after: tuple[Any, ...] | None = None
    cursors: set[tuple[Any, ...]] = set()
    while True:
        page = backend.select(table, limit=limit, after=after, **query)
        out += page.rows
        if page.next is None:
            return out
        assert page.next not in cursors, f"page cursor {page.next} came twice"
        cursors.add(page.next)
        after = page.next


def ids(rows: Sequence[Row], column: str = "id") -> list[Any]:
    return [row[column] for row in rows]


def _nulls_first(value: Any) -> tuple[int, Any]:
    return (0, 0) if value is None else (1, value)


class BackendSuite:
    """The contract of a :class:`~saftale_projections.ViewBackend`, as tests.

    Subclass it with a ``Test`` name and implement :meth:`make_backend`.
    """

    def make_backend(self) -> ViewBackend:
        """A new backend with no views in it; called once per test."""
        raise NotImplementedError("a BackendSuite subclass makes its backend")

    def close_backend(self, backend: ViewBackend) -> None:
        """Release what :meth:`make_backend` made (default: ``backend.close()``)."""
        backend.close()

    @pytest.fixture
    def view_backend(self) -> Iterator[ViewBackend]:
        backend = self.make_backend()
        try:
            yield backend
        finally:
            self.close_backend(backend)

    @pytest.fixture
    def views(self, view_backend: ViewBackend) -> ViewBackend:
        """A backend with the suite's projections ensured."""
        assert view_backend.ensure(PROJECTION) is False
        assert view_backend.ensure(OTHER) is False
        return view_backend

    # -- tables, positions and versions -------------------------------------------------

    def test_a_new_view_is_empty_at_position_zero(self, views: ViewBackend) -> None:
        assert views.position(PROJECTION.name) == 0
        assert views.position("never-ensured") == 0
        assert select_all(views, THINGS) == []
        assert select_all(views, SPANS, as_of=D(2020, 1, 1)) == []

    def test_position_before_anything_is_ensured_is_zero(self, view_backend: ViewBackend) -> None:
        """A writer may ask how far the views are before any runner has made them."""
        assert view_backend.position(PROJECTION.name) == 0

    def test_write_moves_the_position_with_the_rows(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1), thing(2)), 7)
        assert views.position(PROJECTION.name) == 7
        assert ids(select_all(views, THINGS)) == [1, 2]
        views.write(PROJECTION, puts(THINGS, thing(3)), 9)
        assert views.position(PROJECTION.name) == 9
        assert ids(select_all(views, THINGS)) == [1, 2, 3]

    def test_an_empty_batch_still_moves_the_position(self, views: ViewBackend) -> None:
        views.write(PROJECTION, Changes(), 3)
        assert views.position(PROJECTION.name) == 3
        assert select_all(views, THINGS) == []

    def test_ensure_again_keeps_rows_and_position(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 4)
        assert views.ensure(PROJECTION) is False
        assert views.position(PROJECTION.name) == 4
        assert ids(select_all(views, THINGS)) == [1]

    def test_positions_are_kept_per_projection(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        views.write(OTHER, puts(OTHER_THINGS, {"id": 1, "owner": "o"}), 2)
        assert views.position(PROJECTION.name) == 5
        assert views.position(OTHER.name) == 2
        views.write(OTHER, Changes(), 3)
        assert views.position(PROJECTION.name) == 5
        assert ids(select_all(views, THINGS)) == [1]

    def test_ensure_reports_a_changed_version(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        newer = attrs.evolve(PROJECTION, version=PROJECTION.version + 1)
        assert views.ensure(newer) is True
        # asking changes nothing: the old version is still the stored one
        assert views.ensure(newer) is True
        assert views.ensure(PROJECTION) is False
        assert views.position(PROJECTION.name) == 5
        assert ids(select_all(views, THINGS)) == [1]

    def test_reset_empties_the_view_and_stores_the_new_version(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        views.write(PROJECTION, puts(SPANS, span("a", "open", D(2020, 1, 1), None)), 6)
        newer = attrs.evolve(PROJECTION, version=PROJECTION.version + 1)
        assert views.ensure(newer) is True
        views.reset(newer)
        assert views.position(PROJECTION.name) == 0
        assert select_all(views, THINGS) == []
        assert select_all(views, SPANS) == []
        assert views.ensure(newer) is False
        assert views.ensure(PROJECTION) is True
        views.write(newer, puts(THINGS, thing(2)), 1)
        assert ids(select_all(views, THINGS)) == [2]
        assert views.ensure(newer) is False

    def test_reset_leaves_other_projections_alone(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        views.write(OTHER, puts(OTHER_THINGS, {"id": 9, "owner": None}), 8)
        views.reset(PROJECTION)
        assert views.position(OTHER.name) == 8
        assert ids(select_all(views, OTHER_THINGS)) == [9]
        assert select_all(views, THINGS) == []

    def test_a_new_version_may_change_a_table_s_columns(self, views: ViewBackend) -> None:
        """A new version of a projection's code may add a column: rebuilding it works."""
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        wider = Table(THINGS.name, THINGS.key, (*THINGS.columns, Column("colour")))
        newer = SuiteProjection(version=PROJECTION.version + 1, tables=(wider, SPANS))
        assert views.ensure(newer) is True
        views.reset(newer)
        views.write(newer, puts(wider, thing(1, colour="green")), 1)
        rows = select_all(views, wider)
        assert [(r["id"], r["colour"]) for r in rows] == [(1, "green")]

    def test_a_write_of_another_version_is_refused_and_nothing_written(
        self, views: ViewBackend
    ) -> None:
        """A runner still running old code may not write into a view a newer version reset."""
        views.write(PROJECTION, puts(THINGS, thing(1)), 5)
        newer = attrs.evolve(PROJECTION, version=PROJECTION.version + 1)
        views.reset(newer)
        for after in (0, None):
            with pytest.raises(VersionChanged, match="version") as refused:
                views.write(PROJECTION, puts(THINGS, thing(2, owner="old code")), 3, after=after)
            assert isinstance(refused.value, SaftaleError)
            assert not isinstance(refused.value, StalePosition)
            assert views.position(PROJECTION.name) == 0
            assert select_all(views, THINGS) == []
            assert views.ensure(newer) is False
        views.write(newer, puts(THINGS, thing(3)), 3, after=0)
        assert ids(select_all(views, THINGS)) == [3]

    # -- which store a view was built from (backends that keep links) -------------------

    def _linked(self, views: ViewBackend) -> LinkedBackend:
        if not callable(getattr(views, "link", None)):
            pytest.skip("this backend keeps no links (an optional capability)")
        return cast(LinkedBackend, views)

    def test_a_link_is_kept_with_its_position(self, views: ViewBackend) -> None:
        linked = self._linked(views)
        assert linked.link(PROJECTION.name) is None
        assert linked.link("never-ensured") is None
        linked.write(PROJECTION, puts(THINGS, thing(1)), 5, link="a" * 64)
        assert linked.link(PROJECTION.name) == "a" * 64
        linked.write_many([(PROJECTION, Changes()), (OTHER, Changes())], 7, link="b" * 64)
        assert linked.link(PROJECTION.name) == "b" * 64
        assert linked.link(OTHER.name) == "b" * 64
        linked.write(OTHER, Changes(), 8, after=7, link="c" * 64)
        assert linked.link(PROJECTION.name) == "b" * 64
        assert linked.link(OTHER.name) == "c" * 64

    def test_a_write_without_a_link_keeps_none(self, views: ViewBackend) -> None:
        linked = self._linked(views)
        linked.write(PROJECTION, Changes(), 5, link="a" * 64)
        linked.write(PROJECTION, Changes(), 6)
        assert linked.link(PROJECTION.name) is None

    def test_a_refused_write_keeps_the_link_it_had(self, views: ViewBackend) -> None:
        linked = self._linked(views)
        linked.write(PROJECTION, Changes(), 5, link="a" * 64)
        with pytest.raises(StalePosition):
            linked.write(PROJECTION, Changes(), 4, link="b" * 64)
        with pytest.raises(StalePosition):
            linked.write(PROJECTION, Changes(), 9, after=3, link="b" * 64)
        assert linked.link(PROJECTION.name) == "a" * 64

    def test_reset_forgets_the_link(self, views: ViewBackend) -> None:
        linked = self._linked(views)
        linked.write(PROJECTION, Changes(), 5, link="a" * 64)
        linked.write(OTHER, Changes(), 5, link="b" * 64)
        linked.reset(PROJECTION)
        assert linked.link(PROJECTION.name) is None
        assert linked.link(OTHER.name) == "b" * 64

    # -- refusing a stale position ------------------------------------------------------

    def test_a_stale_position_is_refused_and_nothing_written(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1, owner="first")), 5)
        for stale in (5, 4, 1):
            with pytest.raises(StalePosition) as refused:
                views.write(
                    PROJECTION,
                    changes_of(
                        lambda c: c.delete(THINGS, id=1),
                        lambda c: c.put(THINGS, thing(2, owner="stale")),
                        lambda c: c.put(SPANS, span("s", "stale", D(2020, 1, 1), None)),
                    ),
                    stale,
                )
            assert isinstance(refused.value, SaftaleError)
            assert views.position(PROJECTION.name) == 5
            assert [(r["id"], r["owner"]) for r in select_all(views, THINGS)] == [(1, "first")]
            assert select_all(views, SPANS) == []
        views.write(PROJECTION, puts(THINGS, thing(2)), 6)
        assert ids(select_all(views, THINGS)) == [1, 2]

    def test_writers_racing_for_one_position_only_one_wins(self, views: ViewBackend) -> None:
        writers = 6
        barrier = threading.Barrier(writers)
        outcome: dict[int, str] = {}

        def write(ident: int) -> None:
            changes = puts(THINGS, thing(ident, owner=f"writer {ident}"))
            barrier.wait()
            try:
                views.write(PROJECTION, changes, 10)
                outcome[ident] = "written"
            except StalePosition:
                outcome[ident] = "refused"
            except Exception as exc:  # reported below, with the writer
                outcome[ident] = f"{type(exc).__name__}: {exc}"

        threads = [threading.Thread(target=write, args=(i,)) for i in range(1, writers + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        winners = [i for i, what in outcome.items() if what == "written"]
        assert len(outcome) == writers
        assert sorted(outcome.values()) == ["refused"] * (writers - 1) + ["written"], outcome
        assert ids(select_all(views, THINGS)) == winners
        assert views.position(PROJECTION.name) == 10

    def test_a_failing_batch_writes_nothing(self, views: ViewBackend) -> None:
        """A row the table refuses (null in a column that may not be null) fails the whole
        batch: earlier rows of the batch and the position are not kept."""
        views.write(PROJECTION, puts(THINGS, thing(1)), 2)
        bad = changes_of(
            lambda c: c.put(THINGS, thing(2)),
            lambda c: c.put(SPANS, span("s", "open", D(2020, 1, 1), None)),
            lambda c: c.put(THINGS, thing(3, label=None)),
        )
        with pytest.raises(SaftaleError):
            views.write(PROJECTION, bad, 3)
        assert views.position(PROJECTION.name) == 2
        assert ids(select_all(views, THINGS)) == [1]
        assert select_all(views, SPANS) == []
        views.write(PROJECTION, puts(THINGS, thing(2)), 3)
        assert ids(select_all(views, THINGS)) == [1, 2]

    # -- puts and deletes within a batch ------------------------------------------------

    def test_put_replaces_a_row_by_its_key(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1, owner="a", count=1)), 1)
        views.write(PROJECTION, puts(THINGS, thing(1, owner="b")), 2)
        rows = select_all(views, THINGS)
        assert [(r["id"], r["owner"], r["count"]) for r in rows] == [(1, "b", None)]

    def test_the_last_put_of_a_key_in_a_batch_wins(self, views: ViewBackend) -> None:
        changes = puts(THINGS, thing(1, owner="a"), thing(2), thing(1, owner="b"), thing(1))
        views.write(PROJECTION, changes, 1)
        assert [(r["id"], r["owner"]) for r in select_all(views, THINGS)] == [
            (1, None),
            (2, None),
        ]

    def test_delete_removes_every_matching_row(self, views: ViewBackend) -> None:
        views.write(
            PROJECTION,
            puts(
                THINGS,
                thing(1, owner="a", count=1),
                thing(2, owner="a", count=2),
                thing(3, owner="b", count=1),
                thing(4, owner="a", count=1),
            ),
            1,
        )
        views.write(PROJECTION, changes_of(lambda c: c.delete(THINGS, owner="a", count=1)), 2)
        assert ids(select_all(views, THINGS)) == [2, 3]
        views.write(PROJECTION, changes_of(lambda c: c.delete(THINGS, owner="nobody")), 3)
        assert ids(select_all(views, THINGS)) == [2, 3]

    def test_delete_then_put_in_one_batch_keeps_the_put(self, views: ViewBackend) -> None:
        """The pattern of a view that derives a subject's rows again: drop them all, put
        the new ones."""
        views.write(
            PROJECTION,
            puts(
                SPANS,
                span("a", "open", D(2020, 1, 1), D(2020, 2, 1)),
                span("a", "closed", D(2020, 2, 1), None),
                span("b", "open", D(2020, 1, 1), None),
            ),
            1,
        )
        again = changes_of(
            lambda c: c.delete(SPANS, thing="a"),
            lambda c: c.put(SPANS, span("a", "open", D(2020, 1, 1), None)),
        )
        views.write(PROJECTION, again, 2)
        rows = select_all(views, SPANS, as_of=D(2020, 3, 1))
        assert [(r["thing"], r["status"]) for r in rows] == [("a", "open"), ("b", "open")]
        assert len(select_all(views, SPANS, where={"thing": "a"}, as_of=D(2020, 1, 1))) == 1

    def test_put_then_delete_in_one_batch_removes_the_row(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1, owner="a")), 1)
        changes = changes_of(
            lambda c: c.put(THINGS, thing(2, owner="a")),
            lambda c: c.put(THINGS, thing(3, owner="b")),
            lambda c: c.delete(THINGS, owner="a"),
        )
        views.write(PROJECTION, changes, 2)
        assert ids(select_all(views, THINGS)) == [3]

    def test_a_put_after_a_delete_wins_for_a_key_put_before_it(self, views: ViewBackend) -> None:
        """put(1, owner a), delete(owner b), put(1, owner b): the row is there, owned by b
        (the put that comes last is not moved in front of the delete)."""
        changes = changes_of(
            lambda c: c.put(THINGS, thing(1, owner="a")),
            lambda c: c.delete(THINGS, owner="b"),
            lambda c: c.put(THINGS, thing(1, owner="b")),
        )
        views.write(PROJECTION, changes, 1)
        assert [(r["id"], r["owner"]) for r in select_all(views, THINGS)] == [(1, "b")]

    def test_a_key_put_then_deleted_in_one_batch_is_gone(self, views: ViewBackend) -> None:
        """put(1, owner a) then delete(owner a) removes row 1, even when row 1 was stored
        before with another owner: in order, the put replaced it and the delete removed it."""
        views.write(PROJECTION, puts(THINGS, thing(1, owner="x"), thing(2, owner="x")), 1)
        changes = changes_of(
            lambda c: c.put(THINGS, thing(1, owner="a")),
            lambda c: c.delete(THINGS, owner="a"),
        )
        views.write(PROJECTION, changes, 2)
        assert [(r["id"], r["owner"]) for r in select_all(views, THINGS)] == [(2, "x")]

    def test_delete_where_a_column_is_none(self, views: ViewBackend) -> None:
        """``delete(owner=None)`` removes the rows without an owner, as
        ``select(where={"owner": None})`` finds them."""
        views.write(
            PROJECTION,
            puts(THINGS, thing(1, owner="a"), thing(2, owner=None), thing(3, owner=None)),
            1,
        )
        assert ids(select_all(views, THINGS, where={"owner": None})) == [2, 3]
        views.write(PROJECTION, changes_of(lambda c: c.delete(THINGS, owner=None)), 2)
        assert ids(select_all(views, THINGS)) == [1]

    def test_delete_with_no_columns_removes_every_row(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1), thing(2)), 1)
        views.write(OTHER, puts(OTHER_THINGS, {"id": 1, "owner": None}), 1)
        views.write(
            PROJECTION,
            changes_of(lambda c: c.delete(THINGS), lambda c: c.put(THINGS, thing(3))),
            2,
        )
        assert ids(select_all(views, THINGS)) == [3]
        assert ids(select_all(views, OTHER_THINGS)) == [1]

    # -- rows ---------------------------------------------------------------------------

    def test_rows_have_every_column_and_a_doc(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1)), 1)
        views.write(PROJECTION, puts(SPANS, span("a", "open", D(2020, 1, 1), None)), 2)
        [row] = select_all(views, THINGS)
        assert row == {
            "id": 1,
            "owner": None,
            "label": "thing 1",
            "day": None,
            "count": None,
            "flag": None,
            "doc": {},
        }
        [row] = select_all(views, SPANS)
        assert row == {
            "thing": "a",
            "status": "open",
            "valid_from": D(2020, 1, 1),
            "valid_to": None,
            "doc": {},
        }

    def test_column_values_round_trip(self, views: ViewBackend) -> None:
        row = thing(2**40, owner="Ærø ✓", label="", day=D(1999, 12, 31), count=-(2**40), flag=False)
        views.write(PROJECTION, puts(THINGS, row, thing(2, flag=True, count=0)), 1)
        got = select_all(views, THINGS)
        assert got == [
            {**thing(2), "owner": None, "day": None, "count": 0, "flag": True, "doc": {}},
            {**row, "doc": {}},
        ]
        assert all(type(r["flag"]) is bool and type(r["count"]) is int for r in got)
        assert type(got[1]["day"]) is dt.date

    def test_json_docs_round_trip(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1, doc=DOC), thing(2, doc={})), 1)
        views.write(PROJECTION, puts(SPANS, {**span("a", "x", D(2020, 1, 1), None), "doc": DOC}), 2)
        assert [r["doc"] for r in select_all(views, THINGS)] == [DOC, {}]
        assert [r["doc"] for r in select_all(views, SPANS)] == [DOC]

    def test_rows_read_are_copies(self, views: ViewBackend) -> None:
        """Changing a row that was put or read does not change the view."""
        doc: dict[str, Any] = {"tags": ["a"], "inner": {"n": 1}}
        row = thing(1, owner="a", doc=doc)
        views.write(PROJECTION, puts(THINGS, row), 1)
        row["owner"] = "changed"
        doc["tags"].append("changed")
        doc["inner"]["n"] = 2
        [read] = select_all(views, THINGS)
        read["owner"] = "changed"
        read["doc"]["tags"].append("changed")
        read["doc"]["inner"]["n"] = 3
        [again] = select_all(views, THINGS)
        assert again["owner"] == "a"
        assert again["doc"] == {"tags": ["a"], "inner": {"n": 1}}

    # -- selecting ----------------------------------------------------------------------

    def _things(self, views: ViewBackend) -> list[Row]:
        rows = [
            thing(1, owner="a", day=D(2020, 1, 1), count=3),
            thing(2, owner="b", day=D(2020, 1, 15), count=1),
            thing(3, owner=None, day=None, count=3),
            thing(4, owner="a", day=D(2020, 2, 1), count=2),
            thing(5, owner="c", day=D(2020, 1, 15), count=None),
            thing(6, owner="a", day=None, count=1),
        ]
        views.write(PROJECTION, puts(THINGS, *rows), 1)
        return rows

    def test_where_selects_rows_with_equal_columns(self, views: ViewBackend) -> None:
        self._things(views)
        assert ids(select_all(views, THINGS, where={"owner": "a"})) == [1, 4, 6]
        assert ids(select_all(views, THINGS, where={"owner": "a", "count": 1})) == [6]
        assert ids(select_all(views, THINGS, where={"owner": None})) == [3]
        assert ids(select_all(views, THINGS, where={"owner": "nobody"})) == []
        assert ids(select_all(views, THINGS, where={})) == [1, 2, 3, 4, 5, 6]

    def test_where_a_set_selects_rows_equal_to_any_of_its_values(self, views: ViewBackend) -> None:
        """A set, frozenset, list or tuple in ``where`` is SQL's ``IN``: any of them."""
        self._things(views)
        assert ids(select_all(views, THINGS, where={"owner": {"a", "c"}})) == [1, 4, 5, 6]
        assert ids(select_all(views, THINGS, where={"owner": frozenset({"b"})})) == [2]
        assert ids(select_all(views, THINGS, where={"owner": ["c", "b", "c"]})) == [2, 5]
        assert ids(select_all(views, THINGS, where={"id": (6, 2, 99)})) == [2, 6]
        assert ids(select_all(views, THINGS, where={"owner": {"a", "b"}, "count": 1})) == [2, 6]
        assert ids(select_all(views, THINGS, where={"owner": {"a", "b"}, "count": {1, 3}})) == [
            1,
            2,
            6,
        ]
        assert ids(select_all(views, THINGS, where={"owner": set()})) == []
        assert ids(select_all(views, THINGS, where={"owner": ()})) == []

    def test_none_in_a_set_selects_the_rows_without_a_value(self, views: ViewBackend) -> None:
        """As ``where={"owner": None}`` selects the rows without an owner, so does
        ``None`` among the values of a set."""
        self._things(views)
        assert ids(select_all(views, THINGS, where={"owner": {"b", None}})) == [2, 3]
        assert ids(select_all(views, THINGS, where={"owner": [None]})) == [3]
        assert ids(select_all(views, THINGS, where={"day": {None}, "count": (1, None)})) == [6]

    def test_a_set_combines_with_as_of(self, views: ViewBackend) -> None:
        self._spans(views)
        rows = select_all(
            views, SPANS, where={"thing": {"a", "c"}}, as_of=D(2020, 1, 5), order_by=("status",)
        )
        assert [(r["thing"], r["status"]) for r in rows] == [("a", "draft"), ("c", "draft")]
        rows = select_all(
            views, SPANS, where={"status": ("approved", "closed")}, as_of=D(2020, 2, 9)
        )
        assert [(r["thing"], r["status"]) for r in rows] == [("a", "approved")]

    def test_a_set_combines_with_a_date_range(self, views: ViewBackend) -> None:
        self._things(views)
        rows = select_all(
            views,
            THINGS,
            where={"owner": {"a", "b"}},
            date_column="day",
            since=D(2020, 1, 2),
            until=D(2020, 1, 31),
        )
        assert ids(rows) == [2]

    @pytest.mark.parametrize("limit", [1, 2, 3, 4])
    def test_keyset_pages_of_a_set_return_every_row_once(
        self, views: ViewBackend, limit: int
    ) -> None:
        """Pages of a select with a set, ordered by the set's column or not, make the
        whole; a cursor on the set's column goes on with the rows of the next value."""
        views.write(
            PROJECTION,
            puts(THINGS, *(thing(i, owner=f"o{i % 4}", count=i % 3) for i in range(1, 17))),
            1,
        )
        for where in ({"owner": {"o1", "o3"}}, {"owner": {"o1", "o3"}, "count": [0, 2]}):
            for order in [(), ("owner", "id"), ("count", "owner", "id")]:
                whole = select_all(views, THINGS, where=where, order_by=order)
                wanted = sorted(
                    (
                        r
                        for r in select_all(views, THINGS, order_by=order)
                        if r["owner"] in where["owner"]
                        and r["count"] in where.get("count", (0, 1, 2))
                    ),
                    key=lambda r: tuple(r[c] for c in order or ("id",)),
                )
                assert ids(whole) == ids(wanted), (where, order)
                paged = select_all(views, THINGS, where=where, order_by=order, limit=limit)
                assert ids(paged) == ids(whole), (where, order, limit)

    def test_since_and_until_bound_a_date_column(self, views: ViewBackend) -> None:
        self._things(views)

        def days(**query: Any) -> list[Any]:
            return ids(select_all(views, THINGS, date_column="day", **query))

        assert days(since=D(2020, 1, 15)) == [2, 4, 5]
        assert days(until=D(2020, 1, 15)) == [1, 2, 5]
        assert days(since=D(2020, 1, 15), until=D(2020, 1, 15)) == [2, 5]
        assert days(since=D(2020, 1, 2), until=D(2020, 1, 14)) == []
        assert days() == [1, 2, 3, 4, 5, 6]
        assert days(since=D(2020, 1, 1), where={"owner": "a"}) == [1, 4]

    def _spans(self, views: ViewBackend) -> None:
        views.write(
            PROJECTION,
            puts(
                SPANS,
                span("a", "draft", D(2020, 1, 1), D(2020, 2, 1)),
                span("a", "approved", D(2020, 2, 1), D(2020, 3, 1)),
                span("a", "closed", D(2020, 3, 1), None),
                span("b", "draft", D(2020, 1, 10), None),
                span("c", "draft", D(2020, 1, 5), D(2020, 1, 6)),
            ),
            1,
        )

    def test_as_of_selects_rows_valid_on_the_day(self, views: ViewBackend) -> None:
        self._spans(views)

        def on(day: dt.date, **query: Any) -> list[tuple[str, str]]:
            rows = select_all(views, SPANS, as_of=day, **query)
            return [(r["thing"], r["status"]) for r in rows]

        assert on(D(2019, 12, 31)) == []
        assert on(D(2020, 1, 1)) == [("a", "draft")]
        assert on(D(2020, 1, 5)) == [("a", "draft"), ("c", "draft")]
        assert on(D(2020, 1, 6)) == [("a", "draft")]  # valid_to is exclusive
        assert on(D(2020, 1, 31)) == [("a", "draft"), ("b", "draft")]
        assert on(D(2020, 2, 1)) == [("a", "approved"), ("b", "draft")]
        assert on(D(2020, 3, 1)) == [("a", "closed"), ("b", "draft")]
        assert on(D(2030, 1, 1)) == [("a", "closed"), ("b", "draft")]
        assert on(D(2020, 2, 15), where={"status": "draft"}) == [("b", "draft")]
        assert on(D(2020, 2, 15), where={"thing": "a"}) == [("a", "approved")]

    def test_without_as_of_a_temporal_table_answers_what_still_holds(
        self, views: ViewBackend
    ) -> None:
        self._spans(views)
        rows = select_all(views, SPANS)
        assert [(r["thing"], r["status"]) for r in rows] == [("a", "closed"), ("b", "draft")]

    def test_as_of_does_not_filter_a_table_that_is_not_temporal(self, views: ViewBackend) -> None:
        self._things(views)
        assert ids(select_all(views, THINGS, as_of=D(1900, 1, 1))) == [1, 2, 3, 4, 5, 6]

    def test_since_and_until_combine_with_as_of(self, views: ViewBackend) -> None:
        self._spans(views)
        rows = select_all(
            views, SPANS, as_of=D(2020, 1, 5), date_column="valid_from", since=D(2020, 1, 2)
        )
        assert [(r["thing"], r["status"]) for r in rows] == [("c", "draft")]

    def test_rows_come_in_key_order_by_default(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, *(thing(i) for i in (5, 3, 10, 1, 2))), 1)
        assert ids(select_all(views, THINGS)) == [1, 2, 3, 5, 10]
        views.write(
            PROJECTION,
            puts(
                SPANS,
                span("b", "x", D(2020, 1, 2), None),
                span("a", "x", D(2020, 1, 3), None),
                span("b", "x", D(2020, 1, 1), None),
            ),
            2,
        )
        rows = select_all(views, SPANS, as_of=D(2020, 6, 1))
        assert [(r["thing"], r["valid_from"]) for r in rows] == [
            ("a", D(2020, 1, 3)),
            ("b", D(2020, 1, 1)),
            ("b", D(2020, 1, 2)),
        ]

    def test_order_by_columns(self, views: ViewBackend) -> None:
        self._things(views)
        rows = select_all(views, THINGS, order_by=("count", "id"), where={"owner": "a"})
        assert ids(rows) == [6, 4, 1]
        rows = select_all(
            views, THINGS, order_by=("day", "owner", "id"), since=D(2020, 1, 1), date_column="day"
        )
        assert ids(rows) == [1, 2, 5, 4]

    def test_a_page_of_no_rows_is_refused(self, views: ViewBackend) -> None:
        views.write(PROJECTION, puts(THINGS, thing(1), thing(2)), 1)
        for limit in (0, -1):
            with pytest.raises(ValueError, match="limit must be a whole number of at least 1"):
                views.select(THINGS, limit=limit)
        assert len(views.select(THINGS, limit=1).rows) == 1

    def test_a_cursor_of_another_order_is_refused(self, views: ViewBackend) -> None:
        """A cursor holds a value for each column of its page's order (then the key):
        one of another order cannot say where that page ended."""
        views.write(PROJECTION, puts(THINGS, *(thing(i, owner=f"o{i}") for i in (1, 2, 3))), 1)
        first = views.select(THINGS, order_by=("owner",), limit=1)
        assert first.next is not None and len(first.next) == 2
        with pytest.raises(BadCursor, match="not given by a page of this question"):
            views.select(THINGS, after=first.next)  # ordered by the key alone: one value
        with pytest.raises(BadCursor):
            views.select(THINGS, order_by=("owner",), after=first.next[:1])
        with pytest.raises(ValueError, match="not given by a page"):  # a BadCursor is one
            views.select(THINGS, order_by=("owner",), after=cast(Any, list(first.next)))
        after = views.select(THINGS, order_by=("owner",), after=first.next)
        assert ids(after.rows) == [2, 3]

    @pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 7, 100])
    def test_keyset_pages_return_every_row_once(self, views: ViewBackend, limit: int) -> None:
        views.write(
            PROJECTION,
            puts(
                THINGS,
                *(thing(i, owner=f"o{i % 3}", day=D(2020, 1, 1 + i % 4)) for i in range(1, 13)),
            ),
            1,
        )
        for order in [(), ("owner", "id"), ("day", "owner", "id")]:
            whole = select_all(views, THINGS, order_by=order)
            assert len(whole) == 12
            paged = select_all(views, THINGS, order_by=order, limit=limit)
            assert ids(paged) == ids(whole), order
            first = views.select(THINGS, order_by=order, limit=limit)
            assert len(first.rows) == min(limit, 12)
            assert (first.next is None) == (limit >= 12)
            if first.next is not None:
                assert first.next == tuple(first.rows[-1][c] for c in order or THINGS.key)

    def test_keyset_pages_on_a_temporal_table_as_of_a_day(self, views: ViewBackend) -> None:
        rows = [
            span(f"t{i:02}", "s", D(2020, 1, 1 + i % 5), None if i % 3 else D(2020, 1, 20))
            for i in range(20)
        ]
        views.write(PROJECTION, puts(SPANS, *rows), 1)
        day = D(2020, 1, 4)
        valid = sorted(
            r["thing"]
            for r in rows
            if r["valid_from"] <= day and (r["valid_to"] is None or r["valid_to"] > day)
        )
        for limit in (1, 3, 4, 50):
            got = select_all(views, SPANS, as_of=day, limit=limit)
            assert ids(got, "thing") == valid

    def test_keyset_pages_ordered_by_a_column_with_ties_lose_no_row(
        self, views: ViewBackend
    ) -> None:
        """``order_by`` need not be unique: rows that tie are still each returned once."""
        views.write(
            PROJECTION, puts(THINGS, *(thing(i, owner="ab"[i % 2]) for i in range(1, 8))), 1
        )
        for limit in (1, 2, 3, 4):
            rows = select_all(views, THINGS, order_by=("owner",), limit=limit)
            assert sorted(ids(rows)) == [1, 2, 3, 4, 5, 6, 7], f"limit {limit}: {ids(rows)}"
            assert [r["owner"] for r in rows] == sorted(r["owner"] for r in rows)

    def test_none_sorts_first_and_pages_keep_it(self, views: ViewBackend) -> None:
        """``None`` sorts before every value (as in the memory backend), and a page that
        ends on ``None`` is followed by the rest."""
        rows = self._things(views)
        expected = sorted(rows, key=lambda r: (_nulls_first(r["day"]), r["id"]))
        for limit in (1, 2, 100):
            got = select_all(views, THINGS, order_by=("day", "id"), limit=limit)
            assert ids(got) == ids(expected), f"limit {limit}"
        expected = sorted(rows, key=lambda r: (_nulls_first(r["owner"]), r["id"]))
        got = select_all(views, THINGS, order_by=("owner", "id"), limit=1)
        assert ids(got) == ids(expected)

    def test_text_is_ordered_by_code_point_in_every_page(self, views: ViewBackend) -> None:
        """Text is ordered as Python's ``sorted()`` orders it, by code point, whatever a
        database's collation would do with case, spaces and punctuation, "aa" (the
        Danish å) or æ, ø and å: pages of the same select are the same in every
        backend, and every row comes once."""
        names = [
            *("Ærø", "aarhus", "Aarhus", "Åbyhøj", "ørsted", "Zealand", "a b", "ab", "a-b"),
            *("Ab", "aa", "å", "æble", "Øster", "zz", "é", "e", "f", "", " ", "_", "𝔸", "ﬀ"),
        ]
        expected = sorted(names)
        views.write(
            PROJECTION, puts(THINGS, *(thing(i, owner=n) for i, n in enumerate(names, 1))), 1
        )
        views.write(PROJECTION, puts(SPANS, *(span(n, "s", D(2020, 1, 1), None) for n in names)), 2)
        limits = (1, 2, 3, 5, 100)
        by_column = {
            limit: [r["owner"] for r in select_all(views, THINGS, order_by=("owner",), limit=limit)]
            for limit in limits
        }
        assert by_column == dict.fromkeys(limits, expected), (by_column, expected)
        by_key = {
            limit: ids(select_all(views, SPANS, where={"status": "s"}, limit=limit), "thing")
            for limit in limits
        }
        assert by_key == dict.fromkeys(limits, expected), (by_key, expected)
        # a cursor taken anywhere gives the rows after it, by code point
        after = {
            name: ids(views.select(SPANS, limit=3, after=(name, D(2020, 1, 1))).rows, "thing")
            for name in expected
        }
        assert after == {name: expected[i + 1 : i + 4] for i, name in enumerate(expected)}
