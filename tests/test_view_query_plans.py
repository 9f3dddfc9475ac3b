"""Every select the shipped queries make is served by the index meant for it.

Each :class:`saftale_projections.Views` question runs against views built from the
bundled examples; the statements it sends are caught and explained by the database
(SQLite's ``EXPLAIN QUERY PLAN``, PostgreSQL's ``EXPLAIN``).  Each must find its rows
with the index meant for it (the table's key, or one the table declares) and read them
in the order asked without sorting, pages after the first included (the keyset seeks
in the index).  Only a question pinned to one subject may sort: a subject has a few
dozen facts, and an index to spare that sort would cost every write.

The views here are built by a runner's first look, with no statistics for the database
to choose indexes by; a rebuild gathers them, and a subject's trail of a body or naming
a party is then read by the key (``test_after_a_rebuild_sqlite_finds_...``).

The trail's questions also look up the corrections of each page's facts, in one select
(:data:`LINKS`): it must be read by the index of corrections, whatever the page.

Removing an index a question needs fails its case; a question added to ``Views``
without a case here fails :func:`test_every_question_has_a_case`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from saftale_core import Saftale
from saftale_projections import ALL_VIEWS, Runner, SQLAlchemyBackend, Views
from saftale_projections.backends.sqlalchemy import index_name
from saftale_projections.parallel import rebuild_in_processes
from saftale_projections.protocol import Index, Table
from saftale_projections.runner import ANALYZE_FROM
from saftale_projections.views.audit import AUDIT, AUDIT_PARTIES, DECISIONS
from saftale_projections.views.deadlines import DEADLINES
from saftale_projections.views.subjects import (
    AWAITING,
    CLUSTER_SUBJECTS,
    FOCUS_INDICATORS,
    FOCUS_SUBJECTS,
    SUBJECT_STATE,
)
from tests import pg, support
from tests.support import Clock

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
D = dt.date

KEY = None
"""The table's key (its primary key index) in :attr:`Case.uses`."""


BY_BODY = Index(("by", "on_start", "subject", "position"))
BY_DECIDER = Index(("body", "on_start", "subject", "position"))
BY_PERIOD = Index(("on_start", "subject", "position"))
CORRECTIONS = Index(("subject", "corrects", "position"), where_not_null=("corrects",))
BY_PARTY = Index(("party", "on_start", "subject", "position"))
BY_DUE = Index(("due", "subject", "kind", "key", "valid_from"))
BY_KIND = Index(("kind", "due", "subject", "key", "valid_from"))

LINKS = re.compile(r"\bcorrects IN \(")
"""A select of the audit trail that finds the corrections of a page's facts (they are
linked to the facts they correct, :attr:`saftale_projections.AuditEntry.corrected_by`).
It may sort what it finds (PostgreSQL does: its index reads the rows of several
values one value after another), since it finds few rows: the corrections of the
page's subjects."""


@attrs.frozen
class Case:
    """A question, and the index each table it reads is to be read by."""

    name: str
    method: str
    ask: Callable[[Views, Mapping[str, Any]], object]
    uses: Mapping[str, tuple[Index | None, ...]]
    """Per view table: the indexes a plan may use (``KEY``: the table's key); the first
    table is the one a second page is asked of."""
    sorts: bool = False
    """Whether the plan may sort (only questions pinned to one subject)."""
    page: int = 1
    """Which page's statements are explained: 2 asks for a first page and explains the
    statements of the second (the keyset's seek)."""


def paged(question: Callable[..., Any], **kw: Any) -> Callable[[Views, Mapping[str, Any]], object]:
    """Ask ``question`` for a first page of one row, then for the page after it."""

    def ask(views: Views, data: Mapping[str, Any]) -> object:
        first = question(views, limit=1, **kw)
        assert first.next is not None, "the case needs a second page"
        return question(views, limit=1, after=first.next, **kw)

    return ask


CASES = [
    Case(
        "status",
        "status",
        lambda v, _: v.status("rygestop", as_of=D(2020, 6, 1)),
        {SUBJECT_STATE.name: (KEY,)},
    ),
    Case(
        "inbox",
        "inbox",
        lambda v, _: v.inbox("SKU", as_of=D(2019, 11, 1)),
        {AWAITING.name: (KEY,)},
    ),
    Case(
        "inbox, next page",
        "inbox",
        paged(Views.inbox, body="SKU", as_of=D(2019, 11, 1)),
        {AWAITING.name: (KEY,)},
        page=2,
    ),
    Case(
        "decisions in a period",
        "decisions",
        lambda v, _: v.decisions("SSG", since=D(2019, 1, 1), until=D(2020, 12, 31)),
        {DECISIONS.name: (BY_DECIDER,)},
    ),
    Case(
        "decisions, next page",
        "decisions",
        paged(Views.decisions, body="SSG"),
        {DECISIONS.name: (BY_DECIDER,)},
        page=2,
    ),
    Case(
        "decisions with the retracted, next page",
        "decisions",
        paged(Views.decisions, body="byraad:horsens", include_retracted=True),
        {DECISIONS.name: (BY_DECIDER,)},
        page=2,
    ),
    Case(
        "cluster",
        "cluster",
        lambda v, _: v.cluster("klynge:horsens", as_of=D(2021, 1, 1)),
        {CLUSTER_SUBJECTS.name: (KEY,)},
    ),
    Case(
        "cluster, next page",
        "cluster",
        paged(Views.cluster, cluster="klynge:horsens", as_of=D(2021, 1, 1)),
        {CLUSTER_SUBJECTS.name: (KEY,)},
        page=2,
    ),
    Case(
        "focus area",
        "focus_area",
        lambda v, _: v.focus_area("forebyggelse", as_of=D(2021, 1, 1)),
        {FOCUS_SUBJECTS.name: (KEY,)},
    ),
    Case(
        "focus area, next page",
        "focus_area",
        paged(Views.focus_area, area="aeldre", as_of=D(2022, 1, 1)),
        {FOCUS_SUBJECTS.name: (KEY,)},
        page=2,
    ),
    Case(
        "indicators",
        "indicators",
        lambda v, _: v.indicators("forebyggelse", as_of=D(2021, 1, 1)),
        {FOCUS_INDICATORS.name: (KEY,)},
    ),
    Case(
        "indicators, next page",
        "indicators",
        paged(Views.indicators, area="naer-psykiatri", as_of=D(2022, 1, 1)),
        {FOCUS_INDICATORS.name: (KEY,)},
        page=2,
    ),
    Case(
        "the whole trail",
        "audit",
        lambda v, _: v.audit(),
        {AUDIT.name: (BY_PERIOD,)},
    ),
    Case(
        "the trail, next page",
        "audit",
        paged(Views.audit),
        {AUDIT.name: (BY_PERIOD,)},
        page=2,
    ),
    Case(
        "the trail of a period",
        "audit",
        lambda v, _: v.audit(since=D(2020, 1, 1), until=D(2020, 12, 31)),
        {AUDIT.name: (BY_PERIOD,)},
    ),
    Case(
        "the trail of a body",
        "audit",
        lambda v, _: v.audit(body="SKU", since=D(2019, 1, 1)),
        {AUDIT.name: (BY_BODY,)},
    ),
    Case(
        "the trail naming a party",
        "audit",
        lambda v, _: v.audit(party="klynge:horsens"),
        {
            AUDIT_PARTIES.name: (BY_PARTY,),
            AUDIT.name: (KEY,),
        },
    ),
    Case(
        "the trail naming a party, next page",
        "audit",
        paged(Views.audit, party="klynge:horsens", body="SSG"),
        {
            AUDIT_PARTIES.name: (BY_PARTY,),
            AUDIT.name: (KEY,),
        },
        page=2,
    ),
    Case(
        "the trail of a subject",
        "audit",
        lambda v, _: v.audit(subject="rygestop"),
        {AUDIT.name: (KEY,)},
        sorts=True,
    ),
    Case(
        "the trail of a subject and a body",
        "audit",
        lambda v, _: v.audit(subject="rygestop", body="SSG"),
        {AUDIT.name: (KEY, BY_BODY)},
        sorts=True,
    ),
    Case(
        "the trail of a subject naming a party",
        "audit",
        lambda v, _: v.audit(subject="rygestop", party="klynge:horsens"),
        {
            AUDIT_PARTIES.name: (
                KEY,
                BY_PARTY,
            ),
            AUDIT.name: (KEY,),
        },
        sorts=True,
    ),
    Case(
        "corrections of a fact",
        "corrections_of",
        lambda v, data: v.corrections_of(*data["corrected"]),
        {AUDIT.name: (CORRECTIONS,)},
    ),
    Case(
        "deadlines",
        "deadlines",
        lambda v, _: v.deadlines(as_of=D(2021, 6, 1)),
        {DEADLINES.name: (BY_DUE,)},
    ),
    Case(
        "deadlines, next page",
        "deadlines",
        paged(Views.deadlines, as_of=D(2021, 6, 1)),
        {DEADLINES.name: (BY_DUE,)},
        page=2,
    ),
    Case(
        "overdue deadlines",
        "deadlines",
        lambda v, _: v.deadlines(as_of=D(2021, 6, 1), overdue=True),
        {DEADLINES.name: (BY_DUE,)},
    ),
    Case(
        # a select per kind, each read in the order of due days
        "deadlines of some kinds",
        "deadlines",
        lambda v, _: v.deadlines(as_of=D(2021, 6, 1), kinds=["evaluation", "follow-up report"]),
        {DEADLINES.name: (BY_KIND,)},
    ),
]

TABLES = {
    t.name: t
    for t in (
        AUDIT,
        AUDIT_PARTIES,
        AWAITING,
        DECISIONS,
        CLUSTER_SUBJECTS,
        DEADLINES,
        FOCUS_INDICATORS,
        FOCUS_SUBJECTS,
        SUBJECT_STATE,
    )
}


def test_every_question_has_a_case() -> None:
    questions = {
        name
        for name, member in vars(Views).items()
        if callable(member) and not name.startswith("_")
    }
    assert questions - {c.method for c in CASES} == set()


def _build(url: str) -> tuple[SQLAlchemyBackend, dict[str, Any]]:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl"):
        assert not store.import_history(EXAMPLES / name).refusals
    backend = SQLAlchemyBackend(url)
    Runner(store, backend, ALL_VIEWS()).run_once()
    store.close()
    corrections = [e for e in Views(backend).audit(limit=10_000).items if e.corrects is not None]
    assert corrections, "the examples correct a fact"
    return backend, {"corrected": (corrections[0].subject, corrections[0].corrects)}


class Statements:
    """The selects a backend's engine sends on view tables, with their parameters."""

    def __init__(self, engine: sa.Engine) -> None:
        self.caught: list[tuple[str, Any]] = []
        sa.event.listen(engine, "before_cursor_execute", self._catch)

    def _catch(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and _table_of(statement):
            self.caught.append((statement, parameters))

    def of(self, ask: Callable[[], object], page: int) -> list[tuple[str, Any]]:
        """The statements of ``page`` (1 or 2) of what ``ask`` sends."""
        self.caught = []
        ask()
        caught = self.caught
        if page == 2:  # the second page's statements begin with the second select of its
            first = _table_of(caught[0][0])  # first table (not a look-up of corrections)
            starts = [
                i
                for i, (s, _) in enumerate(caught)
                if _table_of(s) == first and not LINKS.search(s)
            ]
            caught = caught[starts[1] :]
        assert caught, "the question sent no select"
        return caught


def _table_of(statement: str) -> str | None:
    found = re.search(r'\bFROM\s+(?:"?\w+"?\.)?"?v_(\w+)"?', statement)
    return found.group(1) if found else None


def _check(
    case: Case, plans: list[tuple[str, str, list[str]]], name_of: Callable[..., str]
) -> None:
    for table_name, statement, plan in plans:
        text = "\n".join(plan)
        assert table_name in case.uses, f"{case.name}: reads {table_name}\n{text}"
        table = TABLES[table_name]
        links = table is AUDIT and bool(LINKS.search(statement))
        uses = (CORRECTIONS,) if links else case.uses[table_name]
        missing = [i for i in uses if i is not KEY and i not in table.all_indexes]
        assert not missing, f"{case.name}: {table_name} does not declare {missing}"
        names = [name_of(table, index) for index in uses]
        assert any(re.search(rf"\b{re.escape(n)}\b", text) for n in names), (
            f"{case.name}: {table_name} is not read by {' or '.join(names)}\n{text}"
        )
        if not case.sorts and not links:
            assert not re.search(r"TEMP B-TREE|\bSort\b", text), f"{case.name} sorts\n{text}"
        if case.page == 2 and table_name == next(iter(case.uses)) and not links:
            # the page begins where the last ended: a seek in the index, not a scan from
            # the first row (SQLite: "(a,b)>(?,?)"; PostgreSQL: "Index Cond: ... ROW(")
            assert re.search(r"\)>\(|Index Cond: .*\bROW\(", text), f"{case.name} scans\n{text}"


# -- SQLite -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    path = tmp_path_factory.mktemp("plans") / "views.db"
    backend, data = _build(f"sqlite:///{path}")
    yield backend, data, Statements(backend.engine)
    backend.close()


def _sqlite_name(table: Table, index: Index | None) -> str:
    return f"sqlite_autoindex_v_{table.name}_1" if index is None else index_name(table, index)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sqlite_plans_use_the_index_meant_and_do_not_sort(
    sqlite_views: tuple[Any, ...], case: Case
) -> None:
    backend, data, statements = sqlite_views
    caught = statements.of(lambda: case.ask(Views(backend), data), case.page)
    plans = []
    with backend.engine.connect() as conn:
        for statement, parameters in caught:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append((str(_table_of(statement)), statement, [str(r[-1]) for r in rows]))
    _check(case, plans, _sqlite_name)


# -- after a rebuild, with the database's statistics ------------------------------------

PINNED = [c for c in CASES if c.name.startswith("the trail of a subject ")]
"""The trail of a subject and a body, or naming a party: the key finds the subject's few
rows; without statistics, SQLite reads every row of the body or party instead."""


def _agreements(store: Saftale, count: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ``count`` agreements, each starting three days after the one before (the
    trail's days are as varied as in life, not the same for every agreement)."""
    days = support.days
    for i in range(count):
        start = D(2019, 1, 7) + dt.timedelta(days=3 * i)
        monkeypatch.setattr(support, "days", lambda start=start: days(start))
        store.record_many(support.agreement_path(f"pin-{i}"))
    monkeypatch.setattr(support, "days", days)


@pytest.mark.parametrize("how", ["Runner.rebuild", "rebuild_in_processes"])
def test_after_a_rebuild_sqlite_finds_a_subject_s_rows_by_the_key(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild leaves the statistics SQLite chooses indexes by: asked for a subject's
    trail of a body or naming a party, it then reads the subject's rows by the key (and
    sorts those few) rather than every row of the body or party.  So does a program
    that read the views while they were rebuilt (its connection read the tables made
    anew, without statistics), from its next statement on."""
    store_url, views_url = f"sqlite:///{tmp_path / 's.db'}", f"sqlite:///{tmp_path / 'v.db'}"
    with Saftale.open(store_url, recorded_by="test", clock=Clock()) as store:
        _agreements(store, 100, monkeypatch)
    reader = SQLAlchemyBackend(views_url)
    read: list[int] = []

    def reading(*_: Any) -> None:
        read.append(len(Views(reader).audit(subject="pin-7", body="SSG").items))

    def rebuild(progress: Callable[..., None] | None = None) -> None:
        if how == "rebuild_in_processes":
            rebuild_in_processes(store_url, views_url, ALL_VIEWS, processes=1, progress=progress)
            return
        store = Saftale.open(store_url, recorded_by="test", clock=Clock())
        backend = SQLAlchemyBackend(views_url)
        Runner(store, backend, ALL_VIEWS()).rebuild(progress)
        backend.close()
        store.close()

    try:
        rebuild()  # the views have statistics: those of a rebuild replace them
        rebuild(reading)
        assert read, "the views were read during the rebuild"
        statements = Statements(reader.engine)
        assert len(PINNED) == 2
        for case in PINNED:
            pinned = attrs.evolve(case, uses=dict.fromkeys(case.uses, (KEY,)))
            other: dict[str, Any] = (
                {"body": "SSG"} if "body" in case.name else {"party": "klynge:horsens"}
            )
            # the question asked (a statement reads the schema again if it has changed;
            # an EXPLAIN alone does not), then explained on the same connection
            caught = statements.of(partial(Views(reader).audit, subject="pin-7", **other), 1)
            plans = []
            with reader.engine.connect() as conn:
                for statement, parameters in caught:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    plan = [str(r[-1]) for r in rows]
                    plans.append((str(_table_of(statement)), statement, plan))
            _check(pinned, plans, _sqlite_name)
    finally:
        reader.close()


class Analyzing(SQLAlchemyBackend):
    """A backend that counts its ``analyze`` calls, by projection."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.analyzed: list[str] = []

    def analyze(self, projection: Any) -> None:
        super().analyze(projection)
        self.analyzed.append(projection.name)


def _statistics(backend: SQLAlchemyBackend) -> set[str]:
    """The views' tables the database has statistics of."""
    with backend.engine.connect() as conn:
        if backend.engine.dialect.name == "sqlite":
            listed = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).fetchall()
            if not listed:
                return set()
            found = conn.exec_driver_sql("SELECT DISTINCT tbl FROM sqlite_stat1")
        else:
            found = conn.execute(
                sa.text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = :schema"),
                {"schema": backend.metadata.schema},
            )
        return {str(name) for (name,) in found}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_views_a_runner_builds_from_the_first_fact_get_statistics(
    kind: str, tmp_path: Path
) -> None:
    """As after a rebuild: the command line builds views with its first run_once, and
    SQLite without statistics may read a subject's trail of a body by the body's index.
    Only the call that builds them gathers statistics, and only once the views hold
    ``analyze_from`` facts; a view another runner had built is left as it is."""
    if kind == "postgres":
        pg.require()
        url = pg.create_database()
    else:
        url = f"sqlite:///{tmp_path / 'views.db'}"
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    assert not store.import_history(EXAMPLES / "history.jsonl").refusals
    backend = Analyzing(url)
    try:
        small = store.position()
        assert small < ANALYZE_FROM
        few = Runner(store, backend, ALL_VIEWS())
        assert few.run_once() > 0
        assert backend.analyzed == [], "too few facts to tell"
        for projection in ALL_VIEWS():
            backend.reset(projection)
        runner = Runner(store, backend, ALL_VIEWS())
        runner.analyze_from = small
        assert runner.run_once() > 0
        assert sorted(backend.analyzed) == sorted(p.name for p in ALL_VIEWS())
        assert {f"v_{t}" for t in TABLES} - {"v_focus_indicator"} <= _statistics(backend)
        assert not store.import_history(EXAMPLES / "development-tasks.jsonl").refusals
        assert runner.run_once() > 0
        assert runner.run_once() == 0
        assert len(backend.analyzed) == len(ALL_VIEWS()), "only the first build analyzes"
        # another runner on views already built gathers nothing
        again = Analyzing(url)
        try:
            Runner(store, again, ALL_VIEWS()).run_once()
            assert again.analyzed == []
        finally:
            again.close()
    finally:
        backend.close()
        store.close()
        if kind == "postgres":
            pg.drop_database(url)


def test_a_rebuild_on_postgresql_leaves_statistics() -> None:
    """PostgreSQL gathers statistics in the background, in time; a rebuild gathers
    those of the views' tables at once."""
    pg.require()
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl"):
        assert not store.import_history(EXAMPLES / name).refusals
    url = pg.create_database()
    backend = SQLAlchemyBackend(url)
    try:
        Runner(store, backend, ALL_VIEWS()).rebuild()
        with backend.engine.connect() as conn:
            analyzed = conn.execute(
                sa.text("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = :schema"),
                {"schema": backend.metadata.schema},
            )
            names = {str(name) for (name,) in analyzed}
        assert {f"v_{t}" for t in TABLES} <= names
    finally:
        backend.close()
        store.close()
        pg.drop_database(url)


# -- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_views() -> Iterator[tuple[Any, ...]]:
    pg.require()
    url = pg.create_database()
    backend, data = _build(url)
    try:
        yield backend, data, Statements(backend.engine)
    finally:
        backend.close()
        pg.drop_database(url)


def _postgres_name(table: Table, index: Index | None) -> str:
    return f"v_{table.name}_pkey" if index is None else index_name(table, index)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_postgres_plans_use_the_index_meant_and_do_not_sort(
    postgres_views: tuple[Any, ...], case: Case
) -> None:
    """The views of the examples are small, so PostgreSQL would rather read a table
    whole; with that (and sorting, where the plan is not to sort) made dear, what is
    left shows that the index serves the filter and the order, with text columns in
    collation "C" as the selects compare them."""
    backend, data, statements = postgres_views
    caught = statements.of(lambda: case.ask(Views(backend), data), case.page)
    plans = []
    with backend.engine.connect() as conn:
        for setting in ("enable_seqscan", "enable_bitmapscan"):
            conn.exec_driver_sql(f"SET LOCAL {setting} = off")
        for statement, parameters in caught:
            sorts = case.sorts or bool(LINKS.search(statement))
            conn.exec_driver_sql(f"SET LOCAL enable_sort = {'on' if sorts else 'off'}")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            plans.append((str(_table_of(statement)), statement, [str(r[0]) for r in rows]))
    _check(case, plans, _postgres_name)
