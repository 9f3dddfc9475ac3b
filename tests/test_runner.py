"""The runner keeps views current: incrementally built views equal views rebuilt from
scratch; a new projection version rebuilds its view on start; a writer can wait for
its own writes; two runners at once never apply an event twice; a runner killed
(SIGKILL) in the middle of a batch and started again ends with the views a clean
build gives; and the subject views answer, as of any day, what the core answers.

Views are compared through the public :meth:`~saftale_projections.ViewBackend.select`:
a temporal table's rows are collected as of every day any recorded fact names (every
``valid_from`` is such a day) and as of now.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import attrs
import pytest
import sqlalchemy as sa

from saftale_core import Saftale, SaftaleError
from saftale_core import facts as f
from saftale_core.facts import Fact, FactCorrected
from saftale_core.history import Line, read_lines
from saftale_core.process import ANY
from saftale_core.subjects import process_of
from saftale_projections import (
    ALL_VIEWS,
    AuditTrail,
    Batch,
    Changes,
    Column,
    Deadlines,
    MemoryBackend,
    Projection,
    Runner,
    SQLAlchemyBackend,
    StalePosition,
    SubjectTimeline,
    Table,
    VersionChanged,
    ViewBackend,
    ViewsBehind,
)
from saftale_projections.protocol import Row
from saftale_projections.testing import select_all
from saftale_projections.views.audit import AUDIT
from saftale_projections.views.subjects import AWAITING, SUBJECT_STATE
from tests import pg
from tests.conftest import new_store
from tests.support import Clock, agreement_path, first, task_path, until, with_

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = (REPO / "examples" / "history.jsonl", REPO / "examples" / "generation-2019-2023.jsonl")
KINDS = ("memory", "sqlite", "postgres")
SPAWN = multiprocessing.get_context("spawn")


# -- a projection that shows who applied which fact ---------------------------------------

WITNESS = Table(
    "witness",
    key=("store_position", "runner"),
    columns=(Column("store_position", "int", nullable=False), Column("runner", nullable=False)),
)


@attrs.frozen
class Witness:
    """One row per fact per runner that applied it: a fact applied twice shows as two rows
    (the shipped views are idempotent puts, so they could not show it)."""

    runner: str
    name: str = "witness"
    version: int = 1
    tables: tuple[Table, ...] = (WITNESS,)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        for position, _ in batch.items:
            changes.put(WITNESS, {"store_position": position, "runner": self.runner})


def witnessed(backend: ViewBackend) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row in select_all(backend, WITNESS):
        out.setdefault(row["store_position"], []).append(row["runner"])
    return out


# -- comparing views ----------------------------------------------------------------------


def fact_days(store: Saftale) -> list[dt.date]:
    """The last possible day of every recorded fact (and of corrections' replacements): a
    subject view row starts on the day all the facts behind it had certainly happened,
    which is one of these."""
    days: set[dt.date] = set()
    for _, rec in store.read(0, 10**9):
        for fact in (rec.fact, getattr(rec.fact, "replacement", None)):
            if isinstance(fact, Fact):
                days.add(fact.on.end)
    return sorted(days)


def probe_days(store: Saftale) -> list[dt.date]:
    """The day before every first and last day of every recorded fact: a view row ends
    (``valid_to``) on such a first or last day, or not at all, so each row is valid as
    of one of these days or now."""
    days: set[dt.date] = set()
    for _, rec in store.read(0, 10**9):
        for fact in (rec.fact, getattr(rec.fact, "replacement", None)):
            if isinstance(fact, Fact):
                days |= {fact.on.start - dt.timedelta(days=1), fact.on.end - dt.timedelta(days=1)}
    return sorted(days)


def fact_positions(store: Saftale) -> list[int]:
    """The store positions of every fact.  They have gaps: each write ends with a seal
    (see saftale_core.ledger) that has a position of its own and is no fact."""
    return [position for position, _ in store.read(0, 10**9)]


def _key(table: Table) -> Callable[[Row], tuple[Any, ...]]:
    return lambda row: tuple(row[k] for k in table.key)


def table_rows(backend: ViewBackend, table: Table, days: Sequence[dt.date]) -> list[Row]:
    """Every row of a table; of a temporal table, those valid now or on one of ``days``
    (give :func:`probe_days` to get them all)."""
    if not table.temporal:
        return select_all(backend, table)
    rows: dict[tuple[Any, ...], Row] = {}
    for day in (None, *days):
        for row in select_all(backend, table, as_of=day):
            rows[_key(table)(row)] = row
    return sorted(rows.values(), key=_key(table))


def dump(
    backend: ViewBackend, projections: Sequence[Projection], days: Sequence[dt.date]
) -> dict[str, list[Row]]:
    return {t.name: table_rows(backend, t, days) for p in projections for t in p.tables}


def assert_same_views(
    got: dict[str, list[Row]], expected: dict[str, list[Row]], what: str = ""
) -> None:
    assert got.keys() == expected.keys()
    for name in expected:
        assert len(got[name]) == len(expected[name]), f"{what} {name}"
        for a, b in zip(got[name], expected[name], strict=True):
            assert a == b, f"{what} {name}"


def clean_build(store: Saftale, projections: Sequence[Projection]) -> MemoryBackend:
    views = MemoryBackend()
    Runner(store, views, projections).rebuild()
    return views


# -- stores and view backends of every kind -----------------------------------------------


class Env:
    """A store and a view database of one kind.  Every :meth:`store` and :meth:`views`
    is a separate connection to the same place (in memory: the same object)."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.store_url, self._drop_store = new_store(kind, tmp_path)
        self._cleanups: list[Callable[[], None]] = []
        self._stores: list[Saftale] = []
        self._views: list[ViewBackend] = []
        self._made = 0
        self.views_url = self.new_views_url() if kind != "memory" else ":memory:"

    def new_views_url(self) -> str:
        """Where another, separate view database can be."""
        self._made += 1
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp_path / f'views-{self._made}.db'}"
        url = pg.create_database()
        self._cleanups.append(lambda: pg.drop_database(url))
        return url

    def store(self) -> Saftale:
        if self.kind == "memory" and self._stores:
            return self._stores[0]
        store = Saftale.open(self.store_url, recorded_by="test", clock=Clock())
        self._stores.append(store)
        return store

    def other_store(self) -> Saftale:
        """Another, empty store of the same kind (at another place)."""
        url, drop = new_store(self.kind, self.tmp_path)
        self._cleanups.append(drop)
        store = Saftale.open(url, recorded_by="test", clock=Clock())
        self._stores.append(store)
        return store

    def views(self, url: str | None = None) -> ViewBackend:
        if self.kind == "memory":
            if url is not None or not self._views:
                self._views.append(MemoryBackend())
            return self._views[0] if url is None else self._views[-1]
        backend = SQLAlchemyBackend(url or self.views_url)
        self._views.append(backend)
        return backend

    def close(self) -> None:
        for views in self._views:
            views.close()
        for store in self._stores:
            store.close()
        for cleanup in self._cleanups:
            cleanup()
        self._drop_store()


@pytest.fixture(params=KINDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    if request.param == "postgres":
        pg.require()
    made = Env(request.param, tmp_path)
    yield made
    made.close()


@pytest.fixture(params=("sqlite", "postgres"))
def shared_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """A store and views in databases that several processes can open."""
    if request.param == "postgres":
        pg.require()
    made = Env(request.param, tmp_path)
    yield made
    made.close()


# -- histories ------------------------------------------------------------------------------


def example_lines() -> list[Line]:
    return [line for path in EXAMPLES for line in read_lines(path)]


def synthetic_facts() -> list[Fact]:
    """Several subjects in one interleaved history, with corrections."""
    a1 = agreement_path("syn-a1")
    a2 = agreement_path(
        "syn-a2",
        delivery="working_group",
        general_practice_tasks=True,
        changes_task_allocation=True,
        implement_in=("klynge:vest", "klynge:midt"),
    )
    a3 = until(agreement_path("syn-a3", cluster="klynge:randers"), "ImplementationStarted")
    t1 = task_path("syn-t1")
    t2 = until(task_path("syn-t2", developers=("klynge:vest",), comments=False), "ApprovedBySKU")
    rng = random.Random(7)
    queues = [list(x) for x in (a1, a2, a3, t1, t2)]
    out: list[Fact] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(queue.pop(0))
    samso = next(i for i, x in enumerate(a3) if x.by == "byraad:samso") + 1
    out.append(
        FactCorrected(
            subject="syn-a3",
            on="2020-06-01",
            by="SAS",
            corrects=samso,
            reason="The council rejected",
            replacement=f.RejectedByCouncil(
                subject="syn-a3", on=a3[samso - 1].on, by="byraad:samso", reason="No budget"
            ),
        )
    )
    kommissorium = first(a1, "KommissoriumApproved")
    out.append(
        FactCorrected(
            subject="syn-a1",
            on="2021-06-01",
            by="SAS",
            corrects=2,
            reason="Wrong date",
            replacement=with_(kommissorium, on="2019-01-18"),
        )
    )
    return out


def record_in_chunks(
    store: Saftale,
    runner: Runner | None,
    rng: random.Random,
    *,
    chunks: int = 8,
    examples: bool = True,
) -> int:
    """Record the examples and the synthetic subjects in random chunks, running the runner
    after each chunk; returns how many facts the runner applied."""
    items: list[Line | Fact] = [*(example_lines() if examples else ()), *synthetic_facts()]
    cuts = sorted(rng.sample(range(1, len(items)), chunks - 1))
    applied = 0
    for lo, hi in zip([0, *cuts], [*cuts, len(items)], strict=True):
        lines = [x for x in items[lo:hi] if isinstance(x, Line)]
        facts = [x for x in items[lo:hi] if isinstance(x, Fact)]
        if lines:
            result = store.import_history(lines)
            assert not result.refusals, result.refusals
        if facts:
            store.record_many(facts)
        if runner is not None:
            applied += runner.run_once()
    return applied


PROJECTIONS: tuple[Projection, ...] = tuple(ALL_VIEWS())


# -- incremental equals rebuild ----------------------------------------------------------


def test_views_built_incrementally_equal_views_rebuilt(env: Env) -> None:
    # small batches: one fact at a time in memory, a few in a database (fewer
    # transactions); tests/test_views_property.py draws other sizes
    batch_size = {"memory": 1, "sqlite": 3, "postgres": 5}[env.kind]
    store = env.store()
    views = env.views()
    runner = Runner(store, views, PROJECTIONS, batch_size=batch_size)
    applied = record_in_chunks(store, runner, random.Random(17))
    last = store.position()
    facts = fact_positions(store)
    assert last == facts[-1] > len(facts)  # the seals take positions too
    assert applied == len(facts) * len(PROJECTIONS)
    assert all(views.position(p.name) == last for p in PROJECTIONS)
    days = probe_days(store)
    incremental = dump(views, PROJECTIONS, days)
    assert len(incremental[AUDIT.name]) == len(facts)
    assert all(incremental.values()), {name: len(rows) for name, rows in incremental.items()}

    rebuilt = env.views(env.new_views_url() if env.kind != "memory" else ":memory:")
    assert Runner(store, rebuilt, PROJECTIONS, batch_size=7).rebuild() == applied
    assert_same_views(dump(rebuilt, PROJECTIONS, days), incremental, "rebuilt")
    # and a clean build in memory agrees with both
    assert_same_views(dump(clean_build(store, PROJECTIONS), PROJECTIONS, days), incremental)
    # rebuilding in place gives the same views again
    assert Runner(store, views, PROJECTIONS, batch_size=50).rebuild() == applied
    assert_same_views(dump(views, PROJECTIONS, days), incremental, "rebuilt in place")


@pytest.mark.parametrize("kept", [1, 5_000])
def test_what_the_subject_views_keep_is_never_trusted_when_the_view_moved_on(
    env: Env, kept: int
) -> None:
    """The subject views keep each subject's state between batches.  Another runner (with
    projections of its own) writing the same views, a rebuild of other views with the
    same projections in between, corrections, and a cache too small to hold a subject
    between two of its facts all leave the views equal to a clean build."""
    store = env.store()
    views = env.views()
    mine = ALL_VIEWS()
    for projection in mine:
        if isinstance(projection, SubjectTimeline | Deadlines):
            projection.cache.size = kept
    runner = Runner(store, views, mine, batch_size=4)
    facts = synthetic_facts()
    thirds = [facts[: len(facts) // 3], facts[len(facts) // 3 : -10], facts[-10:]]
    store.record_many(thirds[0])
    runner.run_once()
    # another runner moves the views on: what ``mine`` kept is now behind them
    store.record_many(thirds[1])
    assert Runner(store, views, ALL_VIEWS(), batch_size=6).run_once() > 0
    # the same projections build other views from scratch in between
    other = env.views(env.new_views_url() if env.kind != "memory" else ":memory:")
    Runner(store, other, mine, batch_size=5).rebuild()
    # the last facts include both corrections
    store.record_many(thirds[2])
    runner.run_once()
    days = probe_days(store)
    clean = dump(clean_build(store, PROJECTIONS), PROJECTIONS, days)
    assert_same_views(dump(views, PROJECTIONS, days), clean, "continued")
    assert_same_views(
        dump(other, PROJECTIONS, days),
        dump(
            clean_build_until(store, PROJECTIONS, len(thirds[0]) + len(thirds[1])),
            PROJECTIONS,
            days,
        ),
        "other",
    )


def clean_build_until(store: Saftale, projections: Sequence[Projection], facts: int) -> Any:
    """A clean build of the first ``facts`` facts (through a store that shows no more)."""

    class Upto:
        def __init__(self) -> None:
            self.registry = store.registry
            self.last = store.read(0, 10**9)[facts - 1][0]

        def position(self) -> int:
            return self.last

        def read(self, after: int = 0, limit: int = 1000) -> list[Any]:
            return [item for item in store.read(after, limit) if item[0] <= self.last]

        def records(self, subject: str) -> list[Any]:
            return [rec for pos, rec in store.read(0, self.last) if rec.fact.subject == subject]

    views = MemoryBackend()
    Runner(cast(Saftale, Upto()), views, projections).rebuild()
    return views


def test_run_once_applies_nothing_new_and_reports_progress(env: Env) -> None:
    store = env.store()
    store.record_many(agreement_path("p1"))
    last = store.position()
    assert last % 5 != 0
    views = env.views()
    seen: list[tuple[str, int, int]] = []
    runner = Runner(store, views, PROJECTIONS, batch_size=5)
    progress = runner.run_once(lambda name, pos, last: seen.append((name, pos, last)))
    assert progress == len(PROJECTIONS) * last
    assert runner.run_once() == 0
    batches = [*range(5, last, 5), last]
    # the projections move together, batch by batch
    assert seen == [(p.name, pos, last) for pos in batches for p in PROJECTIONS]


def test_runner_settings_are_checked() -> None:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    with pytest.raises(ValueError, match="batch_size"):
        Runner(store, MemoryBackend(), PROJECTIONS, batch_size=0)
    with pytest.raises(ValueError, match="names must differ"):
        Runner(store, MemoryBackend(), (AuditTrail(), AuditTrail()))


# -- a new projection version -----------------------------------------------------------


class AuditTrailV2(AuditTrail):
    """The audit trail as a new release fills it: a different ``recorded_by`` column."""

    version = AuditTrail.version + 1

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        inner = Changes()
        super().apply(batch, inner, store)
        for table in self.tables:
            for op, row in inner.plan(table.name):
                assert op == "put"
                if table is AUDIT:
                    row = {**row, "recorded_by": "v2:" + row["recorded_by"]}
                changes.put(table, row)


def test_a_new_version_rebuilds_its_view_on_start(env: Env) -> None:
    store = env.store()
    store.record_many(agreement_path("v1"))
    views = env.views()
    Runner(store, views, PROJECTIONS, batch_size=4).run_once()
    before = select_all(views, AUDIT)
    assert {r["recorded_by"] for r in before} == {"test"}
    timeline_before = dump(views, [SubjectTimeline()], probe_days(store))

    # the same version on start: nothing is rebuilt
    again = Runner(store, env.views(), PROJECTIONS, batch_size=4)
    again.start()
    assert select_all(views, AUDIT) == before
    assert again.run_once() == 0

    # a new version of the audit trail: its view (only) is rebuilt on start
    newer = Runner(store, env.views(), (AuditTrailV2(), SubjectTimeline()), batch_size=4)
    newer.start()
    assert views.position(AuditTrail.name) == 0
    assert select_all(views, AUDIT) == []
    assert views.position(SubjectTimeline.name) == store.position()
    assert newer.run_once() == store.position()
    after = select_all(views, AUDIT)
    assert after == [{**r, "recorded_by": "v2:test"} for r in before]
    assert dump(views, [SubjectTimeline()], probe_days(store)) == timeline_before
    # and starting again with the new version keeps it
    assert Runner(store, env.views(), (AuditTrailV2(),)).run_once() == 0
    assert select_all(views, AUDIT) == after


def test_a_started_runner_of_an_old_version_stops_rather_than_undo_a_new_one(env: Env) -> None:
    """While old code still runs, a runner with a new version resets its view: the old
    runner's next poll stops with VersionChanged, and the view keeps only new rows."""
    store = env.store()
    store.record_many(until(agreement_path("mixed"), "DraftCoordinated"))
    old = Runner(store, env.views(), (AuditTrail(),), batch_size=4)
    old.run_once()
    newer = Runner(store, env.views(), (AuditTrailV2(),), batch_size=4)
    assert newer.run_once() == len(store.records("mixed"))
    store.record_many(agreement_path("mixed")[len(select_all(env.views(), AUDIT)) :][:2])
    with pytest.raises(VersionChanged, match="another runner has reset it"):
        old.run_once()
    views = env.views()
    assert {r["recorded_by"] for r in select_all(views, AUDIT)} == {"v2:test"}
    newer.run_once()
    rows = select_all(views, AUDIT)
    assert len(rows) == len(store.records("mixed"))
    assert {r["recorded_by"] for r in rows} == {"v2:test"}
    # a runner started afresh with the old code rebuilds the view for it, as on any start
    assert Runner(store, env.views(), (AuditTrail(),)).run_once() == len(rows)
    assert {r["recorded_by"] for r in select_all(views, AUDIT)} == {"test"}


class Ensures:
    """A backend that counts the calls of its ``ensure``."""

    def __init__(self, backend: ViewBackend) -> None:
        self.backend = backend
        self.ensured = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def ensure(self, projection: Projection) -> bool:
        self.ensured += 1
        return self.backend.ensure(projection)


def test_a_started_runner_looks_at_the_store_without_ensuring_the_views(env: Env) -> None:
    """Ensuring every view is most of a look at an idle store on PostgreSQL: a runner does
    it on start, and then reads the views' positions only.  A view another runner has
    reset is still built again from its first fact."""
    store = env.store()
    path = agreement_path("idle")
    store.record_many(until(path, "DraftCoordinated"))
    views = Ensures(env.views())
    runner = Runner(store, cast(ViewBackend, views), PROJECTIONS, batch_size=4)
    assert runner.run_once() == len(PROJECTIONS) * len(store.records("idle"))
    assert views.ensured == len(PROJECTIONS)
    for _ in range(5):
        assert runner.run_once() == 0
    store.record_many(path[len(store.records("idle")) :][:2])
    assert runner.run_once() == 2 * len(PROJECTIONS)
    assert views.ensured == len(PROJECTIONS)
    # another runner (with the same code) resets a view: it is built again
    audit = next(p for p in PROJECTIONS if p.name == AuditTrail.name)
    env.views().reset(audit)
    assert views.backend.position(audit.name) == 0
    assert runner.run_once() == len(store.records("idle"))
    assert views.ensured == len(PROJECTIONS)
    days = probe_days(store)
    assert_same_views(
        dump(views.backend, PROJECTIONS, days),
        dump(clean_build(store, PROJECTIONS), PROJECTIONS, days),
    )


def test_after_a_failed_look_a_runner_ensures_the_views_again(env: Env) -> None:
    """The backend's write tells a runner that a view has another version now; every
    look after a failed one ensures the views first, and stops again before reading."""
    store = env.store()
    path = agreement_path("failed")
    store.record_many(until(path, "DraftCoordinated"))
    views = Ensures(env.views())
    old = Runner(store, cast(ViewBackend, views), (AuditTrail(),), batch_size=4)
    old.run_once()
    Runner(store, env.views(), (AuditTrailV2(),), batch_size=4).run_once()
    store.record_many(path[len(store.records("failed")) :][:2])
    with pytest.raises(VersionChanged, match="another runner has reset it"):
        old.run_once()
    assert views.ensured == 1  # on start: the write was refused
    for looks in (2, 3):
        with pytest.raises(VersionChanged, match="another runner has reset it"):
            old.run_once()
        assert views.ensured == looks
    assert {r["recorded_by"] for r in select_all(env.views(), AUDIT)} == {"v2:test"}


# -- views of another store --------------------------------------------------------------


def _forget_links(views: ViewBackend) -> None:
    """Make the views look as an earlier saftale left them: positions without links."""
    if isinstance(views, MemoryBackend):
        views._links.clear()
        return
    assert isinstance(views, SQLAlchemyBackend)
    with views.engine.begin() as conn:
        conn.execute(sa.update(views.tracking).values(link=None))


def test_views_of_another_store_are_built_again_on_start(env: Env) -> None:
    """The store was replaced (another file at the same place, a store made anew) while
    the views stayed: a runner on the new store resets them rather than add the new
    store's facts to another history's rows."""
    first_store = env.store()
    first_store.record_many(agreement_path("gone"))
    views = env.views()
    Runner(first_store, views, PROJECTIONS, batch_size=4).run_once()
    assert {r["subject"] for r in select_all(views, AUDIT)} == {"gone"}

    # a longer history: every view's position is within it, but the facts differ
    longer = env.other_store()
    longer.record_many(agreement_path("kept-a"))
    longer.record_many(until(agreement_path("kept-b"), "DraftCoordinated"))
    assert longer.position() > first_store.position()
    runner = Runner(longer, env.views(), PROJECTIONS, batch_size=4)
    runner.start()
    assert set(runner.resets) == {p.name for p in PROJECTIONS}
    assert all("another store" in why for why in runner.resets.values()), runner.resets
    runner.run_once()
    days = probe_days(longer)
    assert_same_views(
        dump(views, PROJECTIONS, days), dump(clean_build(longer, PROJECTIONS), PROJECTIONS, days)
    )

    # a shorter history: the views are ahead of the store
    shorter = env.other_store()
    shorter.record_many(until(agreement_path("short"), "KommissoriumApproved"))
    assert shorter.position() < longer.position()
    runner = Runner(shorter, env.views(), PROJECTIONS)
    runner.run_once()
    assert all("this store ends at" in why for why in runner.resets.values()), runner.resets
    assert {r["subject"] for r in select_all(views, AUDIT)} == {"short"}

    # the same store again: nothing is reset
    again = Runner(shorter, env.views(), PROJECTIONS)
    assert again.run_once() == 0
    assert again.resets == {}


def test_views_that_kept_no_links_are_built_again_once(env: Env) -> None:
    """Views made before positions kept their store's link cannot tell their store:
    they are built again, once, and kept from then on."""
    store = env.store()
    store.record_many(agreement_path("old"))
    views = env.views()
    Runner(store, views, PROJECTIONS, batch_size=4).run_once()
    before = dump(views, PROJECTIONS, probe_days(store))
    _forget_links(views)
    runner = Runner(store, env.views(), PROJECTIONS, batch_size=4)
    assert runner.run_once() == len(fact_positions(store)) * len(PROJECTIONS)
    assert all("earlier saftale" in why for why in runner.resets.values())
    assert set(runner.resets) == {p.name for p in PROJECTIONS}
    assert_same_views(dump(views, PROJECTIONS, probe_days(store)), before)
    later = Runner(store, env.views(), PROJECTIONS)
    assert later.run_once() == 0
    assert later.resets == {}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_tracking_table_without_links_gets_the_column(kind: str, tmp_path: Path) -> None:
    """Views made by saftale 0.1 have no link column: opening them adds it, and the runner
    builds them again."""
    if kind == "postgres":
        pg.require()
    env = Env(kind, tmp_path)
    try:
        store = env.store()
        store.record_many(agreement_path("old"))
        views = env.views()
        assert isinstance(views, SQLAlchemyBackend)
        Runner(store, views, PROJECTIONS).run_once()
        with views.engine.begin() as conn:
            name = views.engine.dialect.identifier_preparer.format_table(views.tracking)
            conn.execute(sa.text(f"ALTER TABLE {name} DROP COLUMN link"))
        reopened = SQLAlchemyBackend(env.views_url)
        try:
            runner = Runner(store, reopened, PROJECTIONS)
            runner.run_once()
            assert set(runner.resets) == {p.name for p in PROJECTIONS}
            assert reopened.link(AuditTrail.name) == store.link(store.position())
            assert {r["subject"] for r in select_all(reopened, AUDIT)} == {"old"}
        finally:
            reopened.close()
    finally:
        env.close()


def test_the_link_of_a_position_covers_its_history(env: Env) -> None:
    store = env.store()
    facts = until(agreement_path("a"), "DraftCoordinated")
    store.record_many(facts[:2])  # two writes: a seal between them
    store.record_many(facts[2:])
    positions = fact_positions(store)
    links = [store.link(p) for p in positions]
    assert all(link is not None and len(link) == 64 for link in links)
    assert len(set(links)) == len(links)
    # no fact at a seal's position, before the first or after the last
    seals = set(range(1, store.position() + 1)) - set(positions)
    assert seals
    assert all(store.link(p) is None for p in (0, -1, store.position() + 1, *seals))
    # the same facts in another store have the same links; other facts, others
    same = env.other_store()
    same.record_many(facts[:2])
    same.record_many(facts[2:])
    other = env.other_store()
    other.record_many(until(agreement_path("b"), "DraftCoordinated"))
    assert [same.link(p) for p in fact_positions(same)] == links
    assert not set(links) & {other.link(p) for p in fact_positions(other)}


# -- read-your-writes --------------------------------------------------------------------


def test_a_writer_waits_until_the_views_show_its_write(env: Env) -> None:
    writer = env.store()
    follower = Runner(env.store(), env.views(), PROJECTIONS, batch_size=3)
    thread = threading.Thread(target=follower.run_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        views = env.views()
        waiter = Runner(writer, views, PROJECTIONS)
        for i, fact in enumerate(until(agreement_path("ryw"), "DraftCoordinated")):
            writer.record(fact)
            waiter.wait(writer.last_position, timeout=20)
            rows = select_all(views, AUDIT, where={"subject": "ryw"})
            assert len(rows) == i + 1
            assert rows[-1]["store_position"] == writer.last_position
            [state] = select_all(views, SUBJECT_STATE, where={"subject": "ryw"}, as_of=None)
            assert state["status"] == writer.state("ryw").status
    finally:
        follower.stop()
        thread.join(20)
    assert not thread.is_alive()


def test_waiting_for_views_that_do_not_follow_raises_views_behind(env: Env) -> None:
    store = env.store()
    views = env.views()
    runner = Runner(store, views, PROJECTIONS)
    runner.start()
    store.record(agreement_path("behind")[0])
    runner.wait(0, timeout=0.1)
    started = time.monotonic()
    with pytest.raises(ViewsBehind, match=f"did not reach position {store.last_position}"):
        runner.wait(store.last_position, timeout=0.2, poll=0.02)
    assert time.monotonic() - started < 5
    assert issubclass(ViewsBehind, SaftaleError) and issubclass(ViewsBehind, TimeoutError)
    runner.run_once()
    runner.wait(store.last_position, timeout=0.1)
    # one projection behind is enough to wait
    store.record(agreement_path("behind")[1])
    Runner(store, views, [AuditTrail()]).run_once()
    with pytest.raises(ViewsBehind, match="subjects"):
        runner.wait(store.last_position, timeout=0.1, poll=0.02)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_waiting_on_views_not_yet_created_waits(kind: str, tmp_path: Path) -> None:
    if kind == "postgres":
        pg.require()
    made = Env(kind, tmp_path)
    try:
        store = made.store()
        store.record(agreement_path("early")[0])
        writer_side = Runner(store, made.views(), PROJECTIONS)
        with pytest.raises(ViewsBehind):
            writer_side.wait(store.last_position, timeout=0.1, poll=0.02)
        Runner(store, made.views(), PROJECTIONS).run_once()
        writer_side.wait(store.last_position, timeout=1)
    finally:
        made.close()


# -- two runners at once ----------------------------------------------------------------


def test_the_backend_refuses_a_stale_write(env: Env) -> None:
    store = env.store()
    store.record_many(until(agreement_path("stale"), "DraftSubmitted"))
    views = env.views()
    Runner(store, views, PROJECTIONS).run_once()
    before = select_all(views, AUDIT)
    last = store.position()
    for position in (last, last - 1):
        changes = Changes()
        changes.put(AUDIT, {**before[0], "position": 99, "by": "stale"})
        with pytest.raises(StalePosition):
            views.write(AuditTrail(), changes, position)
    assert select_all(views, AUDIT) == before
    assert views.position(AuditTrail.name) == last


def _check_monotonic(
    views: ViewBackend, names: Sequence[str], stop: threading.Event, seen: list[str]
) -> None:
    last = dict.fromkeys(names, 0)
    while not stop.is_set():
        for name in names:
            now = views.position(name)
            if now < last[name]:
                seen.append(f"{name} went back from {last[name]} to {now}")
            last[name] = now
        time.sleep(0.002)


def _check_once(store: Saftale, views: ViewBackend, runners: set[str]) -> None:
    facts = fact_positions(store)
    audit = select_all(views, AUDIT, order_by=("store_position", "subject", "position"))
    assert [r["store_position"] for r in audit] == facts
    applied = witnessed(views)
    assert sorted(applied) == facts
    twice = {pos: who for pos, who in applied.items() if len(who) != 1}
    assert not twice, f"facts applied more than once: {twice}"
    assert {who for [who] in applied.values()} <= runners


def test_two_runner_threads_apply_every_fact_once(env: Env) -> None:
    store = env.store()
    record_in_chunks(store, None, random.Random(3), chunks=2)
    views = env.views()
    names = [p.name for p in PROJECTIONS] + ["witness"]
    Runner(store, views, [*PROJECTIONS, Witness("setup")]).start()
    runners = [
        Runner(env.store(), env.views(), [*PROJECTIONS, Witness(tag)], batch_size=size)
        for tag, size in (("one", 8), ("two", 8))
    ]
    stop, problems = threading.Event(), list[str]()
    watcher = threading.Thread(target=_check_monotonic, args=(views, names, stop, problems))
    watcher.start()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(runner: Runner) -> None:
        barrier.wait()
        try:
            runner.run_once()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    watcher.join()
    assert not errors
    assert not problems
    assert all(views.position(name) == store.position() for name in names)
    _check_once(store, views, {"one", "two"})


def test_a_runner_whose_batch_started_behind_the_view_is_refused(env: Env) -> None:
    """Runner B reads facts 1..3 and pauses; two more facts are recorded; runner A reads
    facts 1..5 and pauses; B writes up to 3; A must then be refused (its batch starts at 0,
    the view is at 3) and go on from 3, not write 1..5."""
    store = env.store()
    facts = until(agreement_path("twice"), "DraftCoordinated")
    store.record_many(facts[:3])
    views = env.views()
    Runner(store, views, [Witness("setup")]).start()
    gates = {tag: (threading.Event(), threading.Event()) for tag in ("A", "B")}

    @attrs.frozen
    class Paused(Witness):
        def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
            super().apply(batch, changes, store)
            entered, release = gates[self.runner]
            if not entered.is_set():
                entered.set()
                assert release.wait(20)

    def run(tag: str) -> threading.Thread:
        runner = Runner(env.store(), env.views(), [Paused(tag)], batch_size=10)
        thread = threading.Thread(target=runner.run_once)
        thread.start()
        assert gates[tag][0].wait(20)
        return thread

    b = run("B")
    store.record_many(facts[3:5])
    a = run("A")
    gates["B"][1].set()
    b.join(20)
    assert views.position("witness") == 3
    gates["A"][1].set()
    a.join(20)
    # 4 is the seal of the first write
    assert views.position("witness") == 6
    applied = witnessed(views)
    assert applied == {1: ["B"], 2: ["B"], 3: ["B"], 5: ["A"], 6: ["A"]}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_two_runners_starting_at_once_on_new_views_both_start(kind: str, tmp_path: Path) -> None:
    if kind == "postgres":
        pg.require()
    made = Env(kind, tmp_path)
    try:
        first_views, second_views = made.views(), made.views()
        assert isinstance(second_views, SQLAlchemyBackend)
        started: list[bool] = []

        def the_other_starts(*_: Any, **__: Any) -> None:
            if not started:  # the first runner checked, found no table, and is creating
                started.append(first_views.ensure(AuditTrail()))

        sa.event.listen(second_views.metadata, "before_create", the_other_starts)
        assert second_views.ensure(AuditTrail()) is False
        assert started == [False]
    finally:
        made.close()


def _runner_process(
    store_url: str, views_url: str, tag: str, batch_size: int, go: Any, done: Any
) -> None:
    """A runner in a process of its own (spawned): waits for ``go``, runs once."""
    store = Saftale.open(store_url, recorded_by="runner")
    views = SQLAlchemyBackend(views_url)
    runner = Runner(store, views, [*PROJECTIONS, Witness(tag)], batch_size=batch_size)
    go.wait(60)
    try:
        runner.run_once()
        done.put((tag, "ok"))
    except BaseException as exc:
        done.put((tag, f"{type(exc).__name__}: {exc}"))
        raise


def test_two_runner_processes_apply_every_fact_once(shared_env: Env) -> None:
    store = shared_env.store()
    record_in_chunks(store, None, random.Random(5), chunks=2)
    views = shared_env.views()
    names = [p.name for p in PROJECTIONS] + ["witness"]
    # tables are made before the runners start: see the test above for why
    Runner(store, views, [*PROJECTIONS, Witness("setup")]).start()
    go, done = SPAWN.Event(), SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=_runner_process,
            args=(shared_env.store_url, shared_env.views_url, tag, 10, go, done),
        )
        for tag in ("one", "two")
    ]
    for p in processes:
        p.start()
    stop, problems = threading.Event(), list[str]()
    watcher = threading.Thread(target=_check_monotonic, args=(views, names, stop, problems))
    watcher.start()
    go.set()
    for p in processes:
        p.join(120)
    stop.set()
    watcher.join()
    outcomes = dict(done.get(timeout=5) for _ in processes)
    assert outcomes == {"one": "ok", "two": "ok"}
    assert [p.exitcode for p in processes] == [0, 0]
    assert not problems
    assert all(views.position(name) == store.position() for name in names)
    _check_once(store, views, {"one", "two"})


# -- crash and resume -----------------------------------------------------------------


class _StallingBackend(SQLAlchemyBackend):
    """Stalls (for the kill) in the middle of writing batch ``stall_at`` of
    ``projection``: the position is moved and the first table's rows are written, in a
    transaction not yet committed."""

    def __init__(self, url: str, projection: str, stall_at: int, flag: Path) -> None:
        super().__init__(url)
        self.stall = (projection, stall_at)
        self.flag = flag
        self.writes: dict[str, int] = {}
        self.current = ""

    def _write_projection(
        self,
        conn: sa.Connection,
        projection: Projection,
        changes: Changes,
        position: int,
        after: int | None,
        link: str | None,
    ) -> None:
        self.writes[projection.name] = self.writes.get(projection.name, 0) + 1
        self.current = projection.name
        super()._write_projection(conn, projection, changes, position, after, link)

    def _write_table(self, conn: sa.Connection, table: Table, changes: Changes) -> None:
        super()._write_table(conn, table, changes)
        if (self.current, self.writes[self.current]) == self.stall:
            self.flag.write_text(f"writing batch {self.stall[1]} of {self.current}")
            time.sleep(300)


@attrs.frozen
class _StallingProjection:
    """A projection that stalls (for the kill) after applying batch ``stall_at``, before
    the runner writes it."""

    inner: Any
    stall_at: int
    flag: Path
    applied: list[int] = attrs.field(factory=list)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def version(self) -> int:
        return int(self.inner.version)

    @property
    def tables(self) -> Sequence[Table]:
        return tuple(self.inner.tables)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        self.inner.apply(batch, changes, store)
        self.applied.append(batch.last)
        if len(self.applied) == self.stall_at:
            self.flag.write_text(f"applied batch {self.stall_at} of {self.name}")
            time.sleep(300)


def _crashing_runner(
    store_url: str, views_url: str, where: str, projection: str, stall_at: int, flag: str
) -> None:
    """A runner (spawned) that stalls mid-batch and waits to be killed."""
    store = Saftale.open(store_url, recorded_by="runner")
    projections: list[Projection] = [*PROJECTIONS, Witness("first")]
    if where == "write":
        views: SQLAlchemyBackend = _StallingBackend(views_url, projection, stall_at, Path(flag))
    else:
        views = SQLAlchemyBackend(views_url)
        projections = [
            _StallingProjection(p, stall_at, Path(flag)) if p.name == projection else p
            for p in projections
        ]
    Runner(store, views, projections, batch_size=BATCH).run_once()


BATCH = 10


@pytest.mark.parametrize(
    ("where", "projection", "stall_at"),
    [("write", "audit", 3), ("write", "subjects", 2), ("apply", "witness", 4)],
)
def test_a_runner_killed_mid_batch_resumes_to_a_clean_build(
    shared_env: Env, where: str, projection: str, stall_at: int
) -> None:
    store = shared_env.store()
    record_in_chunks(store, None, random.Random(11), chunks=2, examples=False)
    last = store.position()
    flag = shared_env.tmp_path / "stalled"
    child = SPAWN.Process(
        target=_crashing_runner,
        args=(shared_env.store_url, shared_env.views_url, where, projection, stall_at, str(flag)),
    )
    child.start()
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert child.is_alive() and time.monotonic() < deadline, "the runner never stalled"
        time.sleep(0.01)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL

    names = [p.name for p in PROJECTIONS] + ["witness"]
    views = shared_env.views()
    # nothing of the batch being written was kept: the projections move together (each
    # batch of all of them in one transaction), so every one is where the last
    # committed batch left it
    facts = fact_positions(store)
    committed = facts[(stall_at - 1) * BATCH - 1]
    expected_positions = dict.fromkeys(names, committed)
    assert {n: views.position(n) for n in names} == expected_positions
    audit = select_all(views, AUDIT, order_by=("store_position", "subject", "position"))
    assert [r["store_position"] for r in audit] == facts[: (stall_at - 1) * BATCH]

    restarted = Runner(store, views, [*PROJECTIONS, Witness("second")], batch_size=BATCH)
    applied = restarted.run_once()
    assert applied == sum(len([f for f in facts if f > p]) for p in expected_positions.values())
    assert {n: views.position(n) for n in names} == dict.fromkeys(names, last)
    days = probe_days(store)
    assert_same_views(
        dump(views, PROJECTIONS, days), dump(clean_build(store, PROJECTIONS), PROJECTIONS, days)
    )
    # every fact applied once: by the first runner up to its last commit, then the second
    applied_by = witnessed(views)
    first_until = expected_positions["witness"]
    assert applied_by == {pos: ["first" if pos <= first_until else "second"] for pos in facts}


# -- the subject views answer what the core answers --------------------------------------


@pytest.fixture(scope="module")
def examples_views(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Saftale, list[ViewBackend]]]:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for path in EXAMPLES:
        assert not store.import_history(path).refusals
    sqlite = SQLAlchemyBackend(f"sqlite:///{tmp_path_factory.mktemp('views') / 'views.db'}")
    backends: list[ViewBackend] = [MemoryBackend(), sqlite]
    for backend in backends:
        Runner(store, backend, [SubjectTimeline()], batch_size=25).run_once()
    yield store, backends
    sqlite.close()
    store.close()


def _sample_days(store: Saftale) -> list[dt.date]:
    """The days a state may change on, the days before them, and a day a month."""
    days = set(fact_days(store))
    days |= {d - dt.timedelta(days=1) for d in days}
    day = dt.date(2018, 12, 1)
    while day < dt.date(2025, 1, 1):
        days.add(day)
        day += dt.timedelta(days=31)
    return sorted(days)


def _next_steps(store: Saftale, subject: str, day: dt.date, state: Any) -> set[tuple[str, str]]:
    """Who awaits what on the subject as of ``day``, from the core (steps that may come at
    any time await no one)."""
    process = process_of(store.records(subject))
    if process.kind == "agreement":
        steps = store.agreement(subject, as_of=day).next_steps
    elif process.kind == "task":
        steps = store.task(subject, as_of=day).next_steps
    else:
        steps = tuple(process.next_steps(state, store.registry))
    return {
        (body, step.fact_type)
        for step in steps
        if process.steps[step.fact_type].after is not ANY
        for body in step.who
    }


@pytest.mark.parametrize("backend_index", [0, 1], ids=["memory", "sqlite"])
def test_subject_timeline_as_of_any_day_equals_the_core(
    examples_views: tuple[Saftale, list[ViewBackend]], backend_index: int
) -> None:
    store, backends = examples_views
    views = backends[backend_index]
    subjects = [s for s, _ in store.subjects()]
    assert len(subjects) == 6
    days = _sample_days(store)
    if backend_index:
        days = days[::4]
    checked = 0
    for day in days:
        states = {(r["subject"]): r for r in select_all(views, SUBJECT_STATE, as_of=day)}
        awaiting: dict[str, set[tuple[str, str]]] = {}
        for r in select_all(views, AWAITING, as_of=day):
            awaiting.setdefault(r["subject"], set()).add((r["body"], r["fact_type"]))
        for subject in subjects:
            state = store.state(subject, as_of=day)
            if state is None:
                assert subject not in states, (subject, day)
                assert subject not in awaiting, (subject, day)
                continue
            row = states[subject]
            assert (row["status"], row["kind"]) == (
                state.status,
                process_of(store.records(subject)).kind,
            ), (subject, day)
            assert awaiting.get(subject, set()) == _next_steps(store, subject, day, state), (
                subject,
                day,
            )
            checked += 1
    assert checked > 200
