"""The typed queries of :class:`saftale_projections.Views`: over the bundled examples, a
body's decision log after corrections, and every list in pages, on every backend; and
the ``saftale show`` commands that page through them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import pytest
from click.testing import CliRunner

from saftale_core import (
    ApprovedByCouncil,
    ApprovedBySSG,
    FactCorrected,
    Saftale,
    fact_to_dict,
)
from saftale_core.facts import Fact
from saftale_projections import ALL_VIEWS, Deadlines, MemoryBackend, Runner, Views, cli
from saftale_projections.backends import open_backend
from saftale_projections.protocol import Changes, Page, Row, Table, ViewBackend, ordering
from saftale_projections.queries import AuditEntry, BadCursor, Listing
from saftale_projections.views.audit import AUDIT
from saftale_projections.views.deadlines import DEADLINES
from tests.support import Clock, agreement_path
from tests.test_cli import ok, saftale
from tests.test_runner import Env
from tests.test_runner import env as _env

env = _env
"""The fixture of tests/test_runner.py: a store and views of each kind."""

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl")
T = TypeVar("T")


def every(ask: Callable[..., Listing[T]], *args: Any, limit: int, **kwargs: Any) -> list[list[T]]:
    """The pages of a question, ``limit`` items each, following the cursors."""
    out: list[list[T]] = []
    after = None
    while True:
        page = ask(*args, **kwargs, limit=limit, after=after)
        out.append(list(page.items))
        if page.next is None:
            return out
        after = page.next


@pytest.fixture(scope="module")
def views() -> Views:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in EXAMPLE_FILES:
        assert not store.import_history(EXAMPLES / name).refusals
    backend = MemoryBackend()
    Runner(store, backend, ALL_VIEWS()).run_once()
    return Views(backend)


def pages(views: Views, limit: int, party: str, body: str | None = None) -> list[list[AuditEntry]]:
    out, after = [], None
    while True:
        page = views.audit(party=party, body=body, limit=limit, after=after)
        out.append(list(page.items))
        if page.next is None:
            return out
        after = page.next


def test_audit_by_party_and_body_fills_every_page_but_the_last(views: Views) -> None:
    everything = [e for [e] in pages(views, 1, party="klynge:horsens")]
    by_ssg = [e for e in everything if e.by == "SSG"]
    assert 3 < len(by_ssg) < len(everything)  # the filter leaves some out, not all
    for limit in (1, 2, 5):
        got = pages(views, limit, party="klynge:horsens", body="SSG")
        assert [e for page in got for e in page] == by_ssg
        assert all(len(page) == limit for page in got[:-1])
        assert len(got[-1]) <= limit


def test_audit_by_party_alone_pages_as_one_list(views: Views) -> None:
    whole = views.audit(party="klynge:horsens", limit=10_000).items
    assert [e for page in pages(views, 3, party="klynge:horsens") for e in page] == list(whole)


# -- a body's decision log, after corrections --------------------------------------------


@attrs.frozen
class Corrected:
    """An agreement three councils approved, then three corrections: SSG's approval
    redated (same body), the regional council's approval found to be Skive's (another
    body), Aarhus' approval retracted.  Positions in the subject ``d``."""

    facts: tuple[Fact, ...]
    ssg: int
    region: int
    aarhus: int
    odder: int
    redated: ApprovedBySSG
    skive: ApprovedByCouncil

    def fix(self, n: int) -> int:
        """The position of the ``n``-th correction (from 1)."""
        return len(self.facts) + n


def record_corrected(store: Saftale, runs: Callable[[], object] = lambda: None) -> Corrected:
    """Record the agreement, call ``runs`` (bring views up to date), record the fixes."""
    facts = agreement_path(
        "d", implement_in=(), councils=("regionsraad", "byraad:aarhus", "byraad:odder")
    )
    store.record_many(facts)
    runs()
    ssg = [f.TYPE for f in facts].index("ApprovedBySSG") + 1
    region, aarhus, odder = (i for i, f in enumerate(facts, 1) if f.TYPE == "ApprovedByCouncil")
    original = facts[ssg - 1]
    assert isinstance(original, ApprovedBySSG)
    redated = attrs.evolve(original, on=(original.on.start + dt.timedelta(days=3)).isoformat())
    skive = ApprovedByCouncil(subject="d", on=facts[region - 1].on, by="byraad:skive")
    for n, (target, replacement) in enumerate([(ssg, redated), (region, skive), (aarhus, None)], 1):
        store.record(
            FactCorrected(
                subject="d",
                on=f"2023-01-0{n}",
                by="SAS",
                corrects=target,
                reason=f"fix {n}",
                replacement=replacement,
            )
        )
    return Corrected(tuple(facts), ssg, region, aarhus, odder, redated, skive)


def test_the_decision_log_says_whether_each_decision_stands(env: Env) -> None:
    store, backend = env.store(), env.views()
    runner = Runner(store, backend, ALL_VIEWS(), batch_size=4)
    case = record_corrected(store, lambda: runner.run_once())
    runner.run_once()
    views = Views(backend)
    original = case.facts[case.ssg - 1]

    # the same body, a new date: the decision stands as corrected
    ssg = {e.position: e for e in views.decisions("SSG").items}
    assert sorted(ssg) == [1, 2, 4, case.ssg]
    approval = ssg[case.ssg]
    assert (approval.state, approval.in_force, approval.by) == ("replaced", True, "SSG")
    assert approval.corrected_by == case.fix(1)
    assert approval.on == case.redated.on.text != original.on.text
    assert approval.fact == fact_to_dict(case.redated)
    assert approval.recorded == fact_to_dict(original)
    assert (ssg[1].state, ssg[1].corrected_by, ssg[1].fact) == ("stands", None, ssg[1].recorded)
    # dated as corrected
    day = case.redated.on.start
    assert case.ssg in [e.position for e in views.decisions("SSG", since=day).items]
    before = views.decisions("SSG", until=day - dt.timedelta(days=1)).items
    assert case.ssg not in [e.position for e in before]

    # another body: the decision is Skive's, not the regional council's
    assert views.decisions("regionsraad").items == ()
    (moved,) = views.decisions("regionsraad", include_retracted=True).items
    assert (moved.position, moved.state, moved.in_force) == (case.region, "replaced", False)
    assert (moved.by, moved.corrected_by) == ("byraad:skive", case.fix(2))
    assert moved.recorded["by"] == "regionsraad"
    (skive,) = views.decisions("byraad:skive").items
    assert (skive.position, skive.state, skive.in_force, skive.by) == (
        case.region,
        "replaced",
        True,
        "byraad:skive",
    )
    assert skive.fact == fact_to_dict(case.skive)

    # retracted: never taken
    assert views.decisions("byraad:aarhus").items == ()
    (retracted,) = views.decisions("byraad:aarhus", include_retracted=True).items
    assert (retracted.position, retracted.state, retracted.in_force) == (
        case.aarhus,
        "retracted",
        False,
    )
    assert (retracted.by, retracted.fact, retracted.corrected_by) == (None, None, case.fix(3))
    assert retracted.recorded == fact_to_dict(case.facts[case.aarhus - 1])

    # untouched; and a correction is no decision of the body that recorded it
    (odder,) = views.decisions("byraad:odder").items
    assert (odder.position, odder.state, odder.in_force) == (case.odder, "stands", True)
    assert all(e.fact_type != "FactCorrected" for e in views.decisions("SAS").items)
    assert [e.fact_type for e in views.audit(body="SAS").items].count("FactCorrected") == 3


def test_the_decision_log_pages_with_or_without_the_retracted(env: Env) -> None:
    store, backend = env.store(), env.views()
    case = record_corrected(store)
    Runner(store, backend, ALL_VIEWS()).run_once()
    views = Views(backend)
    for body in ("SSG", "regionsraad", "byraad:aarhus", "klynge:horsens"):
        for include in (False, True):
            whole = list(views.decisions(body, include_retracted=include, limit=1000).items)
            for limit in (1, 2):
                got = every(views.decisions, body, include_retracted=include, limit=limit)
                assert [e for page in got for e in page] == whole
                assert all(len(page) == limit for page in got[:-1])
    assert len(views.decisions("SSG").items) == 4
    assert case.region in [
        e.position for e in views.decisions("regionsraad", include_retracted=True).items
    ]


# -- every list in pages, on every backend ------------------------------------------------


class Spy:
    """A backend that notes every select it is asked."""

    def __init__(self, backend: ViewBackend) -> None:
        self.backend = backend
        self.selects: list[tuple[str, Mapping[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def select(self, table: Table, **query: Any) -> Page:
        self.selects.append((table.name, dict(query.get("where") or {})))
        return self.backend.select(table, **query)


@pytest.fixture
def examples(env: Env) -> Spy:
    store = env.store()
    for name in EXAMPLE_FILES:
        assert not store.import_history(EXAMPLES / name).refusals
    backend = env.views()
    Runner(store, backend, ALL_VIEWS()).run_once()
    return Spy(backend)


DAY = dt.date(2023, 1, 1)
LISTS: dict[str, tuple[str, tuple[Any, ...], dict[str, Any]]] = {
    # name: (method of Views, arguments, keyword arguments)
    "cluster": ("cluster", ("klynge:aarhus",), {"as_of": DAY}),
    "focus area": ("focus_area", ("aeldre",), {}),
    "indicators": ("indicators", ("naer-psykiatri",), {"as_of": DAY}),
    "deadlines": ("deadlines", (), {"as_of": DAY}),
    "deadlines of some kinds": (
        "deadlines",
        (),
        {"as_of": DAY, "kinds": ["evaluation", "follow-up report", "comments"]},
    ),
    "overdue deadlines": ("deadlines", (), {"as_of": DAY, "overdue": True}),
}


def test_every_list_comes_in_full_pages_that_make_the_whole(examples: Spy) -> None:
    views = Views(cast(ViewBackend, examples))
    for name, (method, args, kwargs) in LISTS.items():
        ask = getattr(views, method)
        whole = list(ask(*args, **kwargs, limit=10_000).items)
        assert len(whole) > 3, name
        for limit in (1, 2, 3):
            got = every(ask, *args, **kwargs, limit=limit)
            assert [item for page in got for item in page] == whole, (name, limit)
            assert all(len(page) == limit for page in got[:-1]), (name, limit)
            assert 0 < len(got[-1]) <= limit, (name, limit)


def test_deadlines_of_some_kinds_are_chosen_in_the_query(examples: Spy) -> None:
    views = Views(cast(ViewBackend, examples))
    every_kind = views.deadlines(as_of=DAY, limit=10_000).items
    kinds = ["evaluation", "follow-up report", "comments"]
    examples.selects.clear()
    chosen = every(views.deadlines, as_of=DAY, kinds=kinds, limit=2)
    assert [d for page in chosen for d in page] == [d for d in every_kind if d.kind in kinds]
    assert {d.kind for d in every_kind} > set(kinds), "some kinds are left out"
    # each select asked for one kind: none read the rows of other kinds to drop them
    assert examples.selects
    assert all(
        table == DEADLINES.name and where["kind"] in kinds for table, where in examples.selects
    )
    (one,) = every(views.deadlines, as_of=DAY, kinds=["comments"], limit=10)
    assert one == [d for d in every_kind if d.kind == "comments"]


def test_overdue_deadlines_are_chosen_in_the_query(examples: Spy) -> None:
    views = Views(cast(ViewBackend, examples))
    every_kind = views.deadlines(as_of=DAY, limit=10_000).items
    overdue = views.deadlines(as_of=DAY, overdue=True, limit=10_000).items
    upcoming = views.deadlines(as_of=DAY, overdue=False, limit=10_000).items
    assert overdue and upcoming
    assert all(d.overdue for d in overdue) and not any(d.overdue for d in upcoming)
    assert sorted((*overdue, *upcoming), key=every_kind.index) == list(every_kind)
    assert [d.due < DAY for d in every_kind] == [d.overdue for d in every_kind]


def test_a_cursor_of_another_question_is_refused(examples: Spy) -> None:
    views = Views(cast(ViewBackend, examples))
    first = views.deadlines(as_of=DAY, limit=1)
    assert first.next is not None
    with pytest.raises(BadCursor):
        views.deadlines(as_of=DAY, kinds=["evaluation", "comments"], after=first.next)
    with pytest.raises(ValueError, match="not given by a page of this question"):
        views.deadlines(as_of=DAY, kinds=["evaluation", "comments"], after=("x",))


# -- the corrections of an audit page, in one select -----------------------------------------

AUDITS: dict[str, dict[str, Any]] = {
    # name: the filters of Views.audit
    "the whole trail": {},
    "a period": {"since": dt.date(2020, 1, 1), "until": dt.date(2021, 6, 30)},
    "a body": {"body": "SSG"},
    "a subject's, of a body": {"subject": "d", "body": "SSG"},
    "a subject": {"subject": "d"},
    "a party": {"party": "byraad:aarhus"},
}


def _links(selects: list[tuple[str, Mapping[str, Any]]]) -> int:
    """How many of the selects looked up corrections (of several facts or of one)."""
    return sum(1 for table, where in selects if table == AUDIT.name and "corrects" in where)


@pytest.fixture
def corrected(env: Env) -> Spy:
    """The examples, and an agreement with four corrections, one fact corrected twice."""
    store = env.store()
    for name in EXAMPLE_FILES:
        assert not store.import_history(EXAMPLES / name).refusals
    case = record_corrected(store)
    store.record(
        FactCorrected(subject="d", on="2023-01-09", by="SAS", corrects=case.aarhus, reason="again")
    )
    backend = env.views()
    Runner(store, backend, ALL_VIEWS()).run_once()
    return Spy(backend)


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_an_audit_page_links_its_corrections_in_one_select(corrected: Spy, limit: int) -> None:
    """Each audit entry says which corrections point at it, as ``corrections_of`` says one
    fact at a time, on every backend; a page finds them for all its facts in one select
    (a page of the trail costs two selects, whatever its length)."""
    examples = corrected
    views = Views(cast(ViewBackend, examples))
    linked: dict[str, set[tuple[str, int]]] = {}
    for name, filters in AUDITS.items():
        after = None
        while True:
            examples.selects.clear()
            page = views.audit(**filters, limit=limit, after=after)
            selects = list(examples.selects)
            facts = [e for e in page.items if e.corrects is None]
            assert _links(selects) == (1 if facts else 0), (name, selects)
            if "party" not in filters:
                assert len(selects) == (2 if facts else 1), (name, selects)
            for e in page.items:
                assert list(e.corrected_by) == [
                    c.position for c in views.corrections_of(e.subject, e.position)
                ], (name, e.subject, e.position)
                if e.corrected_by:
                    linked.setdefault(name, set()).add((e.subject, e.position))
            if page.next is None:
                break
            after = page.next
    trail = views.audit(limit=10_000).items
    fixed = {(e.subject, e.corrects) for e in trail if e.corrects is not None}
    assert len(fixed) == 4
    assert linked["the whole trail"] == fixed


def test_a_fact_corrected_twice_names_both_corrections_oldest_first(env: Env) -> None:
    store, backend = env.store(), env.views()
    case = record_corrected(store)
    store.record(
        FactCorrected(subject="d", on="2023-01-09", by="SAS", corrects=case.aarhus, reason="again")
    )
    Runner(store, backend, ALL_VIEWS()).run_once()
    views = Views(backend)
    entries = {e.position: e for e in views.audit(subject="d", limit=1000).items}
    assert entries[case.aarhus].corrected_by == (case.fix(3), case.fix(4))
    assert entries[case.ssg].corrected_by == (case.fix(1),)
    assert entries[case.odder].corrected_by == ()
    assert all(entries[case.fix(n)].corrected_by == () for n in (1, 2, 3, 4))


def test_saftale_audit_asks_for_corrections_a_page_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``saftale audit`` costs a few selects per page of its output, not one per row."""
    db = f"sqlite:///{tmp_path / 'a.db'}"
    with Saftale.open(db, recorded_by="test", clock=Clock()) as store:
        for name in EXAMPLE_FILES:
            assert not store.import_history(EXAMPLES / name).refusals
    spies: list[Spy] = []

    def spied(url: str) -> Any:
        spies.append(Spy(open_backend(url)))
        return spies[-1]

    monkeypatch.setattr(cli, "open_backend", spied)
    monkeypatch.setenv("SAFTALE_DB", db)
    monkeypatch.delenv("SAFTALE_VIEWS", raising=False)
    run = CliRunner().invoke(cli.main, ["audit", "--format", "json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    rows = json.loads(run.output)
    (spy,) = spies
    pages = -(-len(rows) // cli.PAGE)
    assert len(rows) > 2 * cli.PAGE
    assert _links(spy.selects) <= pages
    assert sum(1 for table, _ in spy.selects if table == AUDIT.name) <= 2 * pages
    views = Views(open_backend(f"sqlite:///{tmp_path / 'a-views.db'}"))
    try:
        for row in rows:
            fixes = views.corrections_of(row["subject"], row["position"])
            assert row["corrected_by"] == ",".join(str(c.position) for c in fixes)
    finally:
        views.backend.close()
    assert any(row["corrected_by"] for row in rows)


# -- merging kinds where the database orders text otherwise --------------------------------


def _collated(value: Any) -> Any:
    """Text in the reverse of Python's order (a stand-in for a backend, or a database
    collation, that orders text otherwise); anything else as it is."""
    if isinstance(value, str):
        return (*(-ord(ch) for ch in value), 0)
    return value


class OtherCollation(MemoryBackend):
    """A memory backend that orders text columns in reverse, keyset pages and all."""

    def select(self, table: Table, **query: Any) -> Page:
        after, limit = query.pop("after", None), query.pop("limit", 100)
        rows = list(super().select(table, **query, limit=10**9).rows)
        columns = ordering(table, query.get("order_by", ()))

        def key(row: Row) -> tuple[Any, ...]:
            return tuple(_collated(row[c]) for c in columns)

        rows.sort(key=key)
        if after is not None:
            rows = [r for r in rows if key(r) > tuple(_collated(v) for v in after)]
        page = rows[:limit]
        more = len(rows) > limit
        return Page(tuple(page), tuple(page[-1][c] for c in columns) if more else None)


def test_deadlines_of_some_kinds_page_whole_whatever_the_order_of_text() -> None:
    """Merged in Python, read on in each kind's own order: no deadline lost or repeated
    by a backend whose order of text is not Python's."""
    backend = OtherCollation()
    view = Deadlines()
    backend.ensure(view)
    changes = Changes()
    due = dt.date(2022, 5, 1)
    for subject in ("Alfa", "alfa", "bravo", "Bravo", "charlie", "Æble", "zulu"):
        for kind in ("comments", "evaluation", "measurement"):
            changes.put(
                DEADLINES,
                {
                    "subject": subject,
                    "kind": kind,
                    "key": "k",
                    "due": due,
                    "valid_from": dt.date(2022, 1, 1),
                    "valid_to": None,
                },
            )
    backend.write(view, changes, 1)
    views = Views(backend)
    for limit in (1, 2, 3, 5):
        got = [
            (d.subject, d.kind)
            for page in every(
                views.deadlines, as_of=DAY, kinds=["evaluation", "comments"], limit=limit
            )
            for d in page
        ]
        assert len(got) == len(set(got)) == 14, limit  # none lost, none twice
        for kind in ("evaluation", "comments"):
            own = [s for s, k in got if k == kind]
            assert own == [
                d.subject for d in views.deadlines(as_of=DAY, kinds=[kind], limit=99).items
            ]


# -- through the command ---------------------------------------------------------------------


def test_show_decisions_marks_corrections_and_leaves_retracted_ones_out(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    with Saftale.open(db, recorded_by="test") as store:
        case = record_corrected(store)

    def decisions(body: str, *more: str) -> list[dict[str, Any]]:
        run = ok(saftale("show", "decisions", body, *more, "--format", "json", db=db, cwd=tmp_path))
        rows: list[dict[str, Any]] = run.json()
        return rows

    (approval,) = [e for e in decisions("SSG") if e["position"] == case.ssg]
    assert (approval["state"], approval["corrected_by"], approval["on"]) == (
        "replaced",
        case.fix(1),
        case.redated.on.text,
    )
    assert approval["fact"] == fact_to_dict(case.redated)
    assert decisions("byraad:aarhus") == []
    (retracted,) = decisions("byraad:aarhus", "--include-retracted")
    assert (retracted["state"], retracted["in_force"], retracted["fact"]) == (
        "retracted",
        False,
        None,
    )
    (moved,) = decisions("regionsraad", "--include-retracted")
    assert (moved["state"], moved["by"], moved["in_force"]) == ("replaced", "byraad:skive", False)
    table = ok(
        saftale("show", "decisions", "regionsraad", "--include-retracted", db=db, cwd=tmp_path)
    )
    header = table.lines[1].split()
    assert header[: header.index("recorded_by")] == [
        "subject",
        "position",
        "fact_type",
        "on",
        "by",
        "state",
        "in_force",
        "corrected_by",
    ]
    assert "replaced" in table.lines[3] and "byraad:skive" in table.lines[3]


def test_show_decisions_keeps_the_facts_documents_for_json(tmp_path: Path) -> None:
    """A table and CSV show one line of columns per decision; the decision in force and as
    first recorded (whole JSON documents) come with JSON only."""
    db = f"sqlite:///{tmp_path / 'd.db'}"
    with Saftale.open(db, recorded_by="test") as store:
        record_corrected(store)
    args = ("show", "decisions", "SSG")
    table = ok(saftale(*args, db=db, cwd=tmp_path))
    assert "{" not in table.out
    text = ok(saftale(*args, "--format", "csv", db=db, cwd=tmp_path)).out.lstrip("\ufeff")
    header, *lines = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    assert "fact" not in header and "recorded" not in header and "state" in header
    assert lines and all(len(line) == len(header) for line in lines)
    rows = ok(saftale(*args, "--format", "json", db=db, cwd=tmp_path)).json()
    assert {"fact", "recorded", "state"} <= set(rows[0])


def test_audit_shows_under_which_authority(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    ok(saftale("import", str(EXAMPLES / "history.jsonl"), db=db, cwd=tmp_path))
    rows = ok(
        saftale("audit", "--subject", "rygestop", "--format", "json", db=db, cwd=tmp_path)
    ).json()
    by_position = {r["position"]: r for r in rows}
    # examples/README.md: Horsens Byråd's approval (fact 34) is corrected by fact 40
    assert by_position[34]["authority"]["step"] == "9"
    assert by_position[34]["authority"]["rule"].endswith("for its own party")
    assert by_position[40]["authority"]["code"] == "correction-invalid"
    assert by_position[40]["authority"]["replacement"] == by_position[34]["authority"]
    text = ok(saftale("audit", "--subject", "rygestop", "--format", "csv", db=db, cwd=tmp_path))
    header, *lines = csv.reader(io.StringIO(text.out.lstrip("\ufeff"), newline=""), delimiter=";")
    cells = {int(line[1]): line[header.index("authority")] for line in lines}
    assert cells[1] == "cooperation agreement, step 0: SSG or SKU; seed 002 (samarbejdsaftaler)"
    assert cells[34].startswith("cooperation agreement, step 9: a council")
    assert cells[40].endswith("; in its place: " + cells[34])
