"""A property of the shipped views: for random valid histories, recorded through
:class:`~saftale_core.Saftale`, every view equals a plain fold of the same facts written
here; views built incrementally (small batches, facts recorded between runs) equal
views rebuilt from scratch; and the memory, SQLite and PostgreSQL backends hold equal
rows.

A history is a random choice of subjects (cooperation agreements and development
tasks, from :func:`tests.support.agreement_path` and :func:`tests.support.task_path`
with random clusters, councils and options), each cut at a random point, interleaved
at random, with the odd correction.  A fact the rules refuse is left out, so what is
recorded is always a history the rules accepted.

A second property does the same for the health agreement's own generations (drawn as walks
among the moves the rules allow next) and kommissorier, interleaved with agreements and
tasks: every row of the subject and deadline views they feed, with the days it holds, and
what :class:`~saftale_projections.Views` answers about them as of some days, equal a plain
fold of their facts; a refused fact there fails the test (the walks draw only what the
rules allow) unless a correction came first.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from saftale_core import RULES, Receipt, Registry, RuleViolation, Saftale, fact_to_dict
from saftale_core import facts as f
from saftale_core import generation as g
from saftale_core.dates import Period
from saftale_core.facts import Fact, FactCorrected, Recorded
from saftale_core.generation import Phase
from saftale_core.kommissorium import KommissoriumRecorded, TimetableRow
from saftale_core.process import ANY
from saftale_core.registry import Kind
from saftale_core.subjects import PROCESSES, process_of
from saftale_projections import (
    ALL_VIEWS,
    MemoryBackend,
    Projection,
    Runner,
    SQLAlchemyBackend,
    ViewBackend,
)
from saftale_projections.protocol import Row
from saftale_projections.queries import (
    Deadline,
    IndicatorEntry,
    Listing,
    SubjectStatus,
    Views,
)
from saftale_projections.testing import select_all
from saftale_projections.views.audit import AUDIT, AUDIT_PARTIES, DECISIONS
from saftale_projections.views.deadlines import DEADLINES
from saftale_projections.views.subjects import (
    AWAITING,
    FOCUS_INDICATORS,
    FOCUS_SUBJECTS,
    SUBJECT_STATE,
)
from tests import pg
from tests.support import START, Clock, agreement_path, generation_path, task_path
from tests.test_runner import assert_same_views, dump, fact_days, probe_days

REGISTRY = Registry.default()
CLUSTERS = tuple(REGISTRY.clusters)
COUNCILS = tuple(REGISTRY.councils)
NAMES = ("alfa", "bravo", "charlie", "delta", "echo", "foxtrot")
PROJECTIONS: tuple[Projection, ...] = tuple(ALL_VIEWS())
PARTY_KEYS = ("cluster", "clusters", "spread_to", "group", "members", "parties")


# -- random histories -----------------------------------------------------------------


def _subsets(items: tuple[str, ...], *, min_size: int = 0, max_size: int = 3) -> Any:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=max_size, unique=True).map(
        tuple
    )


@st.composite
def agreements(draw: st.DrawFn, subject: str) -> list[Fact]:
    implement_in = draw(_subsets(CLUSTERS, max_size=2))
    needed: list[str] = []
    for cluster in implement_in:
        needed += [c for c in REGISTRY.councils_for(cluster) if c not in needed]
    extra = draw(_subsets(COUNCILS, max_size=3))
    councils = (*needed, *(c for c in extra if c not in needed))
    return agreement_path(
        subject,
        delivery=draw(st.sampled_from(["cluster", "working_group"])),
        cluster=draw(st.sampled_from(CLUSTERS)),
        general_practice_tasks=draw(st.booleans()),
        changes_task_allocation=draw(st.booleans()),
        implement_in=implement_in,
        councils=councils,
    )


@st.composite
def tasks(draw: st.DrawFn, subject: str) -> list[Fact]:
    developers = draw(_subsets(CLUSTERS, min_size=1, max_size=2))
    others = draw(_subsets(tuple(c for c in CLUSTERS if c not in developers), max_size=2))
    spread_to = draw(_subsets(CLUSTERS, min_size=1, max_size=3))
    implement_in = tuple(c for c in spread_to if draw(st.booleans()))
    return task_path(
        subject,
        developers=developers,
        asked=(*developers, *others),
        mode=draw(st.sampled_from(["joint", "alternatives"])),
        spread_to=spread_to,
        implement_in=implement_in,
        comments=draw(st.booleans()),
    )


@attrs.frozen
class Correct:
    """A correction to try after ``after`` facts: of the ``target``-th fact recorded for
    ``subject`` (counted from its end when negative), by ``how``."""

    subject: str
    target: int
    how: str


@attrs.frozen
class History:
    steps: tuple[Fact | Correct, ...]
    batch_size: int
    run_after: frozenset[int]
    """After which steps the incremental runners run."""


@st.composite
def histories(draw: st.DrawFn) -> History:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    paths: list[list[Fact]] = []
    for name in names:
        path = draw(st.one_of(agreements(name), tasks(name)))
        paths.append(path[: draw(st.integers(1, len(path)))])
    steps: list[Fact | Correct] = []
    queues = [list(p) for p in paths]
    while any(queues):
        queue = draw(st.sampled_from([q for q in queues if q]))
        steps.append(queue.pop(0))
        if draw(st.integers(0, 9)) == 0:
            steps.append(
                Correct(
                    subject=draw(st.sampled_from(names)),
                    target=draw(st.integers(-4, 4)),
                    how=draw(st.sampled_from(["retract", "reject", "retitle", "redate", "rebody"])),
                )
            )
    run_after = draw(st.sets(st.integers(0, len(steps) - 1), max_size=8))
    return History(tuple(steps), draw(st.integers(1, 8)), frozenset(run_after))


def correction(store: Saftale, spec: Correct) -> FactCorrected | None:
    """The correction ``spec`` describes, for what is recorded now (None if it makes no
    sense, e.g. nothing recorded for the subject)."""
    records = store.records(spec.subject)
    originals = [r for r in records if not isinstance(r.fact, FactCorrected)]
    if not originals or spec.target == 0:
        return None
    index = spec.target - 1 if spec.target > 0 else len(originals) + spec.target
    if not 0 <= index < len(originals):
        return None
    target = originals[index]
    fact = target.fact
    replacement: Fact | None = None
    if spec.how == "reject" and isinstance(fact, f.ApprovedByCouncil):
        replacement = f.RejectedByCouncil(
            subject=fact.subject, on=fact.on, by=fact.by, reason="Rejected after all"
        )
    elif spec.how == "retitle" and fact.INITIATES:
        retitled = {"title": getattr(fact, "title", "") + " (corrected)"}
        replacement = attrs.evolve(fact, **retitled)
    elif spec.how == "redate":
        replacement = attrs.evolve(fact, on=fact.on.end.isoformat())
    elif spec.how == "rebody" and isinstance(fact, f.ApprovedByCouncil | f.RejectedByCouncil):
        # recorded as one council's decision, taken by another's (the rules may refuse it)
        replacement = attrs.evolve(fact, by=COUNCILS[(COUNCILS.index(fact.by) + 1) % len(COUNCILS)])
    elif spec.how == "rebody" and isinstance(fact, f.AgreementInitiated):
        replacement = attrs.evolve(fact, by="SKU" if fact.by == "SSG" else "SSG")
    elif spec.how == "revise":
        replacement = revised(fact)
        if replacement is None:
            return None
    elif spec.how != "retract":
        return None
    return FactCorrected(
        subject=spec.subject,
        on="2023-12-01",
        by="SAS",
        corrects=target.position,
        reason=f"test: {spec.how}",
        replacement=replacement,
    )


# -- the plain fold -----------------------------------------------------------------------


def expected_authority(fact: Fact, kind: str) -> dict[str, Any]:
    """Under which authority a fact of a subject of this kind was recorded: its step of
    the process table (the initiating step, or the others by type) and that step's Who."""
    (process,) = [p for p in PROCESSES.values() if p.kind == kind]
    if isinstance(fact, FactCorrected):
        rule = RULES["correction-invalid"]
        return {
            "process": process.title,
            "step": "—",
            "fact_type": "FactCorrected",
            "rule": "any body of the registry, on whose behalf the record is corrected "
            f"(correction-invalid: {rule.sentence.removesuffix('.')})",
            "code": "correction-invalid",
            "seed": rule.seed,
            "replacement": None
            if fact.replacement is None
            else expected_authority(fact.replacement, kind),
        }
    steps = {s.fact.TYPE: s for s in (*process.steps.values(), process.initiated_by)}
    step = steps[fact.TYPE]
    return {
        "process": process.title,
        "step": step.number,
        "fact_type": fact.TYPE,
        "rule": step.who.text,
        "code": "not-authorised",
        "seed": step.seed or process.seed,
        "replacement": None,
    }


def expected_audit(receipts: list[tuple[int, Receipt]]) -> list[Row]:
    kinds: dict[str, str] = {}
    rows = []
    for store_position, receipt in receipts:
        rec = receipt.recorded
        fact = rec.fact
        if rec.position == 1:
            kinds[fact.subject] = PROCESSES[fact.TYPE].kind
        rows.append(
            {
                "subject": fact.subject,
                "position": rec.position,
                "store_position": store_position,
                "fact_type": fact.TYPE,
                "by": fact.by,
                "on_start": fact.on.start,
                "on_end": fact.on.end,
                "on_text": fact.on.text,
                "recorded_by": rec.recorded_by,
                "recorded_at": rec.timestamp.isoformat(),
                "corrects": fact.corrects if isinstance(fact, FactCorrected) else None,
                "doc": {
                    "fact": fact_to_dict(fact),
                    "authority": expected_authority(fact, kinds[fact.subject]),
                },
            }
        )
    return sorted(rows, key=lambda r: (r["subject"], r["position"]))


def expected_decisions(receipts: list[tuple[int, Receipt]]) -> list[Row]:
    """Each body's decision log: every fact that is not a correction, in the log of every
    body it was recorded as taken by (first, or in a correction's replacement), with the
    state its latest correction left it in."""
    records = [receipt.recorded for _, receipt in receipts]
    corrections = [(r, r.fact) for r in records if isinstance(r.fact, FactCorrected)]
    rows = []
    for rec in records:
        if isinstance(rec.fact, FactCorrected):
            continue
        fixes = [
            (r, c)
            for r, c in corrections
            if c.subject == rec.fact.subject and c.corrects == rec.position
        ]
        in_force = fixes[-1][1].replacement if fixes else rec.fact
        named = [rec.fact, *(c.replacement for _, c in fixes if c.replacement is not None)]
        for body in dict.fromkeys(v.by for v in named):
            mine = in_force if in_force is not None and in_force.by == body else None
            shown = mine or [v for v in named if v.by == body][-1]
            doc: dict[str, Any] = {"fact": None if in_force is None else fact_to_dict(in_force)}
            if fixes:
                doc["recorded"] = fact_to_dict(rec.fact)
            doc |= {"recorded_by": rec.recorded_by, "recorded_at": rec.timestamp.isoformat()}
            state = "stands" if not fixes else "retracted" if in_force is None else "replaced"
            rows.append(
                {
                    "body": body,
                    "subject": rec.fact.subject,
                    "position": rec.position,
                    "fact_type": shown.TYPE,
                    "on_start": shown.on.start,
                    "on_text": shown.on.text,
                    "state": state,
                    "in_force": mine is not None,
                    "corrected_by": fixes[-1][0].position if fixes else None,
                    "doc": doc,
                }
            )
    return sorted(rows, key=lambda r: (r["body"], r["subject"], r["position"]))


def expected_parties(receipts: list[tuple[int, Receipt]]) -> set[tuple[str, str, int]]:
    out = set()
    for _, receipt in receipts:
        fact = receipt.recorded.fact
        out.add((fact.by, fact.subject, receipt.recorded.position))
        for key in PARTY_KEYS:
            value = getattr(fact, key, None)
            for party in (value,) if isinstance(value, str) else value or ():
                out.add((party, fact.subject, receipt.recorded.position))
    return out


def check_subjects_as_of(store: Saftale, views: ViewBackend, days: list[dt.date]) -> int:
    """The subject views as of each day against the core's state as of that day."""
    subjects = sorted({s for s, _ in store.subjects()})
    checked = 0
    for day in days:
        rows = {r["subject"]: r for r in select_all(views, SUBJECT_STATE, as_of=day)}
        awaiting: dict[str, set[tuple[str, str]]] = {}
        for r in select_all(views, AWAITING, as_of=day):
            awaiting.setdefault(r["subject"], set()).add((r["body"], r["fact_type"]))
        focus: dict[str, set[tuple[str, str]]] = {}
        for r in select_all(views, FOCUS_SUBJECTS, as_of=day):
            focus.setdefault(r["subject"], set()).add((r["focus_area"], r["status"]))
        for subject in subjects:
            process = process_of(store.records(subject))
            if process.kind not in ("agreement", "task"):
                continue  # see check_generations_as_of
            state = store.state(subject, as_of=day)
            if state is None:
                assert subject not in rows and subject not in awaiting, (subject, day)
                continue
            row = rows[subject]
            assert (row["kind"], row["title"], row["status"]) == (
                process.kind,
                state.title,
                state.status,
            ), (subject, day)
            steps = {
                (body, step.fact_type)
                for step in process.next_steps(state, store.registry)
                if process.steps[step.fact_type].after is not ANY
                for body in step.who
            }
            assert awaiting.get(subject, set()) == steps, (subject, day)
            assert focus.get(subject, set()) == {
                (area, state.status) for area in state.focus_areas
            }, (subject, day)
            checked += 1
    return checked


# -- backends shared by the examples ----------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLAlchemyBackend]:
    views = SQLAlchemyBackend(f"sqlite:///{tmp_path_factory.mktemp('views') / 'views.db'}")
    yield views
    views.close()


@pytest.fixture(scope="module")
def postgres_views() -> Iterator[SQLAlchemyBackend | None]:
    """Views in PostgreSQL; None (those comparisons left out) when there is no server,
    except under CI=true, where the test fails."""
    if pg.unavailable() is not None and not pg.in_ci():
        yield None
        return
    url = pg.create_database()
    views = SQLAlchemyBackend(url)
    yield views
    views.close()
    pg.drop_database(url)


def _emptied(views: ViewBackend) -> ViewBackend:
    for projection in PROJECTIONS:
        views.ensure(projection)
        views.reset(projection)
    return views


@given(history=histories())
def test_views_equal_a_plain_fold_on_every_backend(
    history: History, sqlite_views: SQLAlchemyBackend, postgres_views: SQLAlchemyBackend | None
) -> None:
    store = Saftale.open(":memory:", recorded_by="property", clock=Clock())
    incremental = MemoryBackend()
    followers = [
        Runner(store, incremental, PROJECTIONS, batch_size=history.batch_size),
        Runner(store, _emptied(sqlite_views), PROJECTIONS, batch_size=history.batch_size),
    ]
    receipts: list[tuple[int, Receipt]] = []
    refused = 0
    for i, step in enumerate(history.steps):
        fact = correction(store, step) if isinstance(step, Correct) else step
        if fact is not None:
            try:
                receipt = store.record(fact)
            except RuleViolation:
                refused += 1
            else:
                receipts.append((store.last_position, receipt))
        if i in history.run_after:
            for runner in followers:
                runner.run_once()
    note(f"{len(receipts)} facts recorded, {refused} refused, batch {history.batch_size}")
    assert receipts, "the first fact of a subject is always accepted"
    for runner in followers:
        runner.run_once()
    rebuilt = MemoryBackend()
    Runner(store, rebuilt, PROJECTIONS, batch_size=history.batch_size + 3).rebuild()
    if postgres_views is not None:
        Runner(store, _emptied(postgres_views), PROJECTIONS, batch_size=50).run_once()

    # every view equals the plain fold
    assert select_all(incremental, AUDIT) == expected_audit(receipts)
    assert select_all(incremental, DECISIONS) == expected_decisions(receipts)
    parties = {
        (r["party"], r["subject"], r["position"]) for r in select_all(incremental, AUDIT_PARTIES)
    }
    assert parties == expected_parties(receipts)
    days = fact_days(store)
    sample = sorted({*days, *(d - dt.timedelta(days=1) for d in days)})
    if len(sample) > 40:
        sample = sorted(random.Random(len(sample)).sample(sample, 40))
    assert check_subjects_as_of(store, incremental, sample) > 0

    # incrementally equals rebuilt, on every backend
    days = probe_days(store)
    expected = dump(incremental, PROJECTIONS, days)
    assert_same_views(dump(rebuilt, PROJECTIONS, days), expected, "rebuilt in memory")
    assert_same_views(dump(sqlite_views, PROJECTIONS, days), expected, "SQLite")
    if postgres_views is not None:
        assert_same_views(dump(postgres_views, PROJECTIONS, days), expected, "PostgreSQL")
    store.close()


# -- generations and kommissorier: random histories -------------------------------------
#
# A generation is drawn as a walk: from its initiation, every move is drawn among those the
# rules allow next (the next phase, the next approval, the councils, taking effect, an
# amendment; content at any time; measurements of the indicators set; follow-up once in
# force).  Process steps come in date order, some dated only by their month; content and
# measurements may be dated back.  A kommissorium is one document, which may govern a
# subject initiated before it, and a cooperation agreement's KommissoriumApproved may name a
# kommissorium recorded before it.

TODAY = START.date()
"""The clock's day: nothing may be dated later."""
AREAS = ("forebyggelse", "aeldre", "naer-psykiatri")
GOALS = {
    "faerre-rygere": "forebyggelse",
    "faerre-indlaeggelser": "aeldre",
    "trivsel": "naer-psykiatri",
}
"""Goals and the focus area each is usually set under."""
INDICATORS = {"dagligrygere": "faerre-rygere", "genindlaeggelser": "faerre-indlaeggelser"}
INDICATORS |= {"trivselsdata": "trivsel"}
"""Indicators and the goal each is usually set under."""
ACTIVITIES = ("kick-off", "dialogmoede", "hoeringskonference")
CADENCES = (3, 6, 12, 48)
MEETINGS = [
    *(dt.date(y, m, d) for y in range(2017, TODAY.year) for m in range(1, 13) for d in (1, 15)),
    TODAY,
]
"""The days the bodies meet: every step of a generation falls on one, so the steps of two
generations often fall on the same day."""
TEXTS = ("Færre dagligrygere", "Mere lighed i sundhed", "Ældre borgere", "Nær psykiatri")
BODIES = tuple(b for b in REGISTRY.bodies if REGISTRY.kind(b) is not Kind.WORKING_GROUP)
INITIATING = ("GenerationInitiated", "KommissoriumRecorded")
VERSION_STEPS = {
    ("initiated", "consultation", "SSG"): "consultation_ssg",
    ("consultation_ssg", "consultation", "SKU"): "consultation_approved",
    ("consulted", "final", "SSG"): "final_ssg",
    ("final_ssg", "final", "SKU"): "final_approved",
    ("in_force", "amendment", "SSG"): "amendment_ssg",
    ("amendment_ssg", "amendment", "SKU"): "in_force",
}
"""(status, version, approver) -> the status it leads to: SSG first, then SKU."""
IN_FORCE = ("in_force", "amendment_ssg")


def _month_or_day(draw: st.DrawFn, day: dt.date) -> str:
    """``day``, or (one time in four) its month, which may also mean the days before it."""
    return f"{day:%Y-%m}" if draw(st.integers(0, 3)) == 0 else day.isoformat()


@st.composite
def _periods(draw: st.DrawFn, first_year: int = 2017) -> str:
    """A year, a half-year, a span of months or a day: what a measurement or report covers."""
    year = draw(st.integers(first_year, TODAY.year))
    form = draw(st.sampled_from(["half", "year", "span", "day"]))
    if form == "half":
        half = draw(st.sampled_from([(1, 6), (7, 12)]))
        return f"{year}-{half[0]:02d}/{year}-{half[1]:02d}"
    if form == "year":
        return str(year)
    if form == "span":
        a, b = sorted(draw(st.lists(st.integers(1, 12), min_size=2, max_size=2)))
        return f"{year}-{a:02d}/{year}-{b:02d}"
    return draw(st.dates(dt.date(year, 1, 1), dt.date(year, 12, 31))).isoformat()


class GenerationWalk:
    """What drawing a generation keeps of it, to draw only moves the rules allow next."""

    def __init__(self, draw: st.DrawFn, subject: str, day: dt.date) -> None:
        self.draw = draw
        self.subject = subject
        self.start = day
        self.day = day
        """The day of the latest process step: the next may not be certainly before it."""
        self.status = "initiated"
        self.phases = 0
        self.areas: list[str] = []
        self.goals: list[str] = []
        self.indicators: list[str] = []
        self.activities: list[str] = []
        self.undecided = list(COUNCILS)
        self.rejected = False
        self.days: list[dt.date] = [day]
        """The days of the steps so far (content may be dated back to one of them)."""

    def moves(self) -> list[str]:
        out = []
        if self.status in IN_FORCE:
            out += ["progress", "follow-up", "follow-up"]
        elif self.status != "final_approved" or self.undecided or not self.rejected:
            out += ["progress", "progress", "progress"]
        if self.phases < len(Phase):
            out.append("phase")
        out += ["content", "content"]
        if self.indicators:
            out += ["measurement", "measurement"]
        return out

    def next_on(self, most: int = 4) -> str:
        """A day for a process step: a meeting on or after the last, or its month."""
        now = bisect.bisect_left(MEETINGS, self.day)
        later = self.draw(st.integers(0, most) | st.integers(0, 24))
        self.day = MEETINGS[min(now + later, len(MEETINGS) - 1)]
        self.days.append(self.day)
        return _month_or_day(self.draw, self.day)

    def any_on(self) -> str:
        """A day for content or a measurement, which follow nothing: the day of the last
        step, or of an earlier one (recorded late), or its month."""
        day = self.draw(st.just(self.day) | st.sampled_from(self.days))
        return _month_or_day(self.draw, day)

    def fact(self, cls: type[Fact], on: str, by: str, **kw: Any) -> Fact:
        return cls(subject=self.subject, on=on, by=by, **kw)

    def move(self, move: str) -> list[Fact]:
        draw = self.draw
        if move == "progress":
            return self.progress()
        if move == "phase":
            phase = list(Phase)[self.phases]
            self.phases += 1
            by = draw(st.sampled_from(["SSG", "SKU", "SAS"]))
            return [self.fact(g.PhaseStarted, self.next_on(), by, phase=phase)]
        if move == "measurement":
            return [
                self.fact(
                    g.IndicatorMeasured,
                    self.any_on(),
                    "SAS",
                    indicator=draw(st.sampled_from(self.indicators)),
                    period=draw(_periods()),
                    value=draw(
                        st.none() | st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
                    ),
                    source=draw(st.sampled_from(["Hvordan har du det?", "LPR"])),
                    final=draw(st.booleans()),
                )
            ]
        if move == "follow-up":
            if draw(st.booleans()):
                period = draw(_periods(self.start.year))
                return [self.fact(g.FollowUpReportSent, self.next_on(), "SKU", period=period)]
            kind = draw(st.sampled_from(["midterm", "final"]))
            as_of = draw(st.sampled_from(["2021-07-01", "2023-01-01", "2022-12"]))
            return [self.fact(g.StatusReportSent, self.next_on(), "SKU", kind=kind, as_of=as_of)]
        return self.content()

    def progress(self) -> list[Fact]:
        draw = self.draw
        if self.status == "consultation_approved":
            self.status = "consulted"
            on = self.next_on()
            if draw(st.booleans()):  # the consultation as a span of days
                end = self.day + dt.timedelta(days=draw(st.integers(1, 60)))
                on = f"{self.day.isoformat()}/{end.isoformat()}"
            return [self.fact(g.ConsultationHeld, on, "SAS")]
        if self.status == "final_approved" and self.undecided:
            # the councils decide at a few meetings; seldom do only some, or one reject
            order = draw(st.permutations(self.undecided))
            partly = draw(st.integers(0, 3)) == 0
            order = order[: draw(st.integers(1, len(order)))] if partly else order
            meetings = [self.next_on(1) for _ in range(draw(st.integers(1, 3)))]
            rejects = draw(st.integers(0, 9)) == 0
            out = []
            for i, council in enumerate(order):
                self.undecided.remove(council)
                on = meetings[i * len(meetings) // len(order)]
                if rejects and i == len(order) - 1:
                    self.rejected = True
                    out.append(self.fact(f.RejectedByCouncil, on, council, reason="Nej tak"))
                else:
                    out.append(self.fact(f.ApprovedByCouncil, on, council))
            return out
        if self.status == "final_approved":
            self.status = "in_force"
            by = draw(st.sampled_from(["SKU", "SAS"]))
            return [self.fact(g.GenerationTookEffect, self.next_on(), by)]
        (version, who), to = next(
            ((v, w), to) for (s, v, w), to in VERSION_STEPS.items() if s == self.status
        )
        self.status = to
        return [self.fact(g.VersionApproved, self.next_on(), who, version=version)]

    def content(self) -> list[Fact]:
        """A piece of content; an indicator (the most often) with the focus area and goal it
        needs when none is set yet."""
        draw = self.draw
        kinds = ["indicator", "indicator", "vision", "principle", "plan", "area"]
        kinds += ["first focus", "goal"] if self.areas else []
        kinds += ["held"] if self.activities else []
        kind = draw(st.sampled_from(kinds))
        if kind == "indicator" and not self.goals:
            before = [] if self.areas else self.content_of("area")
            return [*before, *self.content_of("goal"), *self.content_of("indicator")]
        return self.content_of(kind)

    def content_of(self, kind: str) -> list[Fact]:
        draw = self.draw
        by = draw(st.sampled_from(["SSG", "SKU"]))
        text = draw(st.sampled_from(TEXTS))
        if kind == "held":  # while in the making it may not precede the status it follows
            activity = draw(st.sampled_from(self.activities))
            by = draw(st.sampled_from(BODIES))
            return [self.fact(g.ActivityHeld, self.next_on(), by, activity=activity)]
        on = self.any_on()
        if kind == "vision":
            vision = draw(st.sampled_from(["lighed", "borgerens-praemisser", "sammenhaeng"]))
            return [self.fact(g.VisionSet, on, by, vision=vision, text=text)]
        if kind == "area":
            area = draw(st.sampled_from(AREAS))
            self.areas += [] if area in self.areas else [area]
            return [self.fact(g.FocusAreaSet, on, by, focus_area=area, name=text)]
        if kind == "principle":
            principle = draw(st.sampled_from(["oekonomi", "kvalitet", "videndeling"]))
            detail = draw(st.none() | st.just(text))
            return [self.fact(g.PrincipleSet, on, by, principle=principle, name=text, text=detail)]
        if kind == "plan":
            activity = draw(st.sampled_from(ACTIVITIES))
            self.activities += [] if activity in self.activities else [activity]
            return [
                self.fact(
                    g.ActivityPlanned,
                    on,
                    draw(st.sampled_from(["SSG", "SKU", "SAS"])),
                    activity=activity,
                    what=text,
                    when=draw(st.lists(_periods(), min_size=1, max_size=2)),
                    phase=draw(st.sampled_from(list(Phase))),
                    participants=draw(st.none() | st.just("SKU og PIU")),
                    when_text=draw(st.none() | st.just("Ultimo april")),
                )
            ]
        if kind == "first focus":
            area = draw(st.sampled_from(self.areas))
            return [self.fact(g.FirstFocusSet, on, by, focus_area=area, focus=text)]
        if kind == "goal":  # under its usual focus area when that is set (and now and then not)
            goal = draw(st.sampled_from(sorted(GOALS)))
            self.goals += [] if goal in self.goals else [goal]
            area = GOALS[goal] if GOALS[goal] in self.areas else draw(st.sampled_from(self.areas))
            area = draw(st.just(area) | st.sampled_from(self.areas))
            return [self.fact(g.GoalSet, on, by, goal=goal, focus_area=area, text=text)]
        indicator = draw(st.sampled_from(sorted(INDICATORS)))
        self.indicators += [] if indicator in self.indicators else [indicator]
        usual = INDICATORS[indicator]
        goal = usual if usual in self.goals else draw(st.sampled_from(self.goals))
        return [
            self.fact(
                g.IndicatorSet,
                on,
                by,
                indicator=indicator,
                goal=draw(st.just(goal) | st.sampled_from(self.goals)),
                name=text,
                cadence_months=draw(st.sampled_from(CADENCES)),
                national_goals=draw(st.lists(st.integers(1, 8), max_size=2, unique=True)),
            )
        ]


@st.composite
def generations(draw: st.DrawFn, subject: str) -> list[Fact]:
    """A generation from its initiation, moves drawn among those the rules allow next."""
    day = draw(st.sampled_from([d for d in MEETINGS if d.year <= 2019]))
    first_year = day.year + draw(st.integers(1, 2))
    walk = GenerationWalk(draw, subject, day)
    out = [
        walk.fact(
            g.GenerationInitiated,
            _month_or_day(draw, day),
            draw(st.sampled_from(["SSG", "SKU"])),
            title=f"Sundhedsaftale {subject}",
            number=draw(st.integers(3, 5)),
            period=f"{first_year}/{first_year + draw(st.integers(0, 4))}",
        )
    ]
    for _ in range(draw(st.integers(0, 20) | st.integers(10, 20))):
        out += walk.move(draw(st.sampled_from(walk.moves())))
    return out


@st.composite
def kommissorier(draw: st.DrawFn, subject: str) -> list[Fact]:
    """A kommissorium: one document (what it governs is drawn when it is recorded)."""
    rows = st.builds(
        TimetableRow,
        time=st.sampled_from(["Nov – december 2015", "December-januar", "Efter sommerferien"]),
        when=st.lists(_periods(2015), max_size=2),
        action=st.sampled_from(["Debatpapir", "Behandling"]),
        actors=st.none() | st.just("Regionsråd"),
    )
    day = draw(st.dates(dt.date(2015, 1, 1), TODAY))
    return [
        KommissoriumRecorded(
            subject=subject,
            on=_month_or_day(draw, day),
            by=draw(st.sampled_from(BODIES)),
            title=f"Kommissorium {subject}",
            journal_number=draw(st.none() | st.just("1-30-72-225-15")),
            background=draw(st.sampled_from(TEXTS)),
            frame=draw(st.none() | st.sampled_from(TEXTS)),
            process=draw(st.none() | st.just("En arbejdsgruppe nedsættes.")),
            timetable=draw(st.lists(rows, max_size=3)),
        )
    ]


@st.composite
def mixed_histories(draw: st.DrawFn) -> History:
    """One or two generations, up to two kommissorier and up to two agreements or
    development tasks, interleaved at random, with the odd correction."""
    kinds = ["generation"] * draw(st.integers(1, 2))
    kinds += ["kommissorium"] * draw(st.integers(0, 2))
    kinds += ["other"] * draw(st.integers(0, 1))
    names = draw(st.permutations(NAMES))[: len(kinds)]
    queues: list[list[Fact]] = []
    for kind, name in zip(kinds, names, strict=True):
        if kind == "generation":
            queues.append(draw(generations(name)))
        elif kind == "kommissorium":
            queues.append(draw(kommissorier(name)))
        else:
            path = draw(st.one_of(agreements(name), tasks(name)))
            queues.append(path[: draw(st.integers(1, len(path)))])
    steps: list[Fact | Correct] = []
    initiated: list[str] = []
    documents: list[str] = []
    while any(queues):
        fact = draw(st.sampled_from([q for q in queues if q])).pop(0)
        if isinstance(fact, KommissoriumRecorded) and initiated and draw(st.booleans()):
            fact = attrs.evolve(fact, governs=draw(st.sampled_from(initiated)))
        elif isinstance(fact, f.KommissoriumApproved) and documents and draw(st.booleans()):
            fact = attrs.evolve(fact, kommissorium=draw(st.sampled_from(documents)))
        steps.append(fact)
        if fact.INITIATES:
            initiated.append(fact.subject)
        if isinstance(fact, KommissoriumRecorded):
            documents.append(fact.subject)
        if draw(st.integers(0, 7)) == 0:
            steps.append(
                Correct(
                    subject=draw(st.sampled_from(names)),
                    target=draw(st.integers(-12, 12)),
                    how=draw(st.sampled_from(["retract", "reject", "retitle", "redate", "revise"])),
                )
            )
    run_after = draw(st.sets(st.integers(0, len(steps) - 1), max_size=8))
    return History(tuple(steps), draw(st.integers(1, 8)), frozenset(run_after))


def revised(fact: Fact) -> Fact | None:
    """``fact`` told differently (for a correction that replaces it), or None."""
    match fact:
        case g.IndicatorMeasured():
            value = None if fact.value is not None else 42.5
            return attrs.evolve(fact, value=value, final=not fact.final)
        case g.IndicatorSet():
            return attrs.evolve(fact, cadence_months=12 if fact.cadence_months != 12 else 6)
        case g.GoalSet():
            return attrs.evolve(fact, text=fact.text + " (rettet)")
        case g.FollowUpReportSent():
            return attrs.evolve(fact, period=str(fact.period.start.year))
        case g.StatusReportSent():
            other = "final" if fact.kind is g.StatusKind.MIDTERM else "midterm"
            return attrs.evolve(fact, kind=other)
        case g.GenerationInitiated():
            return attrs.evolve(fact, period=f"{fact.period.start.year}/{fact.period.end.year + 1}")
        case KommissoriumRecorded():
            return attrs.evolve(fact, journal_number="1-30-72-225-16", timetable=())
        case _:
            return None


# -- generations and kommissorier: the plain fold -------------------------------------------


def in_force(history: Sequence[Recorded]) -> list[Fact]:
    """A subject's facts with corrections applied: a corrected fact gives way to the
    replacement of its latest correction, or is left out when that retracts it."""
    latest: dict[int, FactCorrected] = {}
    for rec in history:
        if isinstance(rec.fact, FactCorrected):
            latest[rec.fact.corrects] = rec.fact
    out: list[Fact] = []
    for rec in history:
        if isinstance(rec.fact, FactCorrected):
            continue
        fix = latest.get(rec.position)
        if fix is None:
            out.append(rec.fact)
        elif fix.replacement is not None:
            out.append(fix.replacement)
    return out


def known_by(facts: Sequence[Fact], day: dt.date | None) -> list[Fact]:
    """The facts that had certainly happened by ``day`` (their last day not later), up to
    the first that had not; all of them when ``day`` is None (now)."""
    out: list[Fact] = []
    for fact in facts:
        if day is not None and fact.on.end > day:
            break
        out.append(fact)
    return out


@attrs.define
class Folded:
    """What the test folds of a generation or a kommissorium."""

    kind: str
    title: str
    status: str
    period: Period | None = None
    took_effect: Period | None = None
    councils: dict[str, bool] = attrs.Factory(dict)
    goals: dict[str, g.GoalSet] = attrs.Factory(dict)
    indicators: dict[str, g.IndicatorSet] = attrs.Factory(dict)
    measurements: list[g.IndicatorMeasured] = attrs.Factory(list)
    reports: list[g.FollowUpReportSent] = attrs.Factory(list)
    status_reports: list[g.StatusReportSent] = attrs.Factory(list)


def fold(facts: Sequence[Fact]) -> Folded:
    first = facts[0]
    if isinstance(first, KommissoriumRecorded):
        return Folded("kommissorium", first.title, "recorded")
    assert isinstance(first, g.GenerationInitiated)
    out = Folded("generation", first.title, "initiated", period=first.period)
    for fact in facts[1:]:
        match fact:
            case g.VersionApproved():
                out.status = VERSION_STEPS.get(
                    (out.status, fact.version.value, fact.by), out.status
                )
            case g.ConsultationHeld():
                out.status = "consulted"
            case f.ApprovedByCouncil() | f.RejectedByCouncil():
                out.councils[fact.by] = isinstance(fact, f.ApprovedByCouncil)
            case g.GenerationTookEffect():
                out.status, out.took_effect = "in_force", fact.on
            case g.GoalSet():
                out.goals[fact.goal] = fact
            case g.IndicatorSet():
                out.indicators[fact.indicator] = fact
            case g.IndicatorMeasured():
                out.measurements.append(fact)
            case g.FollowUpReportSent():
                out.reports.append(fact)
            case g.StatusReportSent():
                out.status_reports.append(fact)
    return out


def awaited(folded: Folded) -> set[tuple[str, str]]:
    """(body, fact type) of what a generation awaits: the steps the rules accept of that
    body now, by its status (SSG approves a version first, then SKU; it takes effect once
    every council approved; follow-up once in force)."""
    status = folded.status
    if folded.kind != "generation":
        return set()
    out = {(who, "VersionApproved") for s, _, who in VERSION_STEPS if s == status}
    if status == "consultation_approved":
        out.add(("SAS", "ConsultationHeld"))
    if status == "final_approved":
        for council in COUNCILS:
            if council not in folded.councils:
                out |= {(council, "ApprovedByCouncil"), (council, "RejectedByCouncil")}
        if all(folded.councils.get(council) for council in COUNCILS):
            out |= {("SKU", "GenerationTookEffect"), ("SAS", "GenerationTookEffect")}
    if status in IN_FORCE:
        out |= {("SKU", "FollowUpReportSent"), ("SKU", "StatusReportSent")}
    return out


def latest(folded: Folded, indicator: str) -> g.IndicatorMeasured | None:
    """The latest measurement: of the period that ends last, a final figure before a
    preliminary one, the first recorded of equals."""
    found: g.IndicatorMeasured | None = None
    for m in folded.measurements:
        if m.indicator == indicator and (
            found is None or (m.period.end, m.final) > (found.period.end, found.final)
        ):
            found = m
    return found


def indicator_rows(folded: Folded) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(focus area, indicator, goal, doc) of every indicator, by indicator."""
    out = []
    for key, ind in sorted(folded.indicators.items()):
        goal = folded.goals.get(ind.goal)
        m = latest(folded, key)
        doc = {
            "name": ind.name,
            "goal_text": goal.text if goal else "",
            "cadence_months": ind.cadence_months,
            "national_goals": list(ind.national_goals),
            "latest": None
            if m is None
            else {"period": m.period.text, "value": m.value, "final": m.final, "source": m.source},
        }
        out.append((goal.focus_area if goal else "", key, ind.goal, doc))
    return out


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or that month's last day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


Obligation = tuple[str, str, dt.date, dt.date, bool]
"""(kind, key, due, first day of its period, delivered) of what follow-up requires."""


def obligations(folded: Folded) -> list[Obligation]:
    """What follow-up requires of a generation as folded: a half-yearly report for every
    half-year from the one it took effect in to the end of its period; the mid-term (1 July
    2021) and final (1 January 2023) status when that day lies between its taking effect
    and a month after its period; a measurement of every indicator for every window of its
    cadence from the day it took effect (each window begins the day after the last ends).
    Each is due three months after its period and delivered by a report whose period
    overlaps the half-year, a status of its kind, a measurement whose period overlaps the
    window."""
    if folded.took_effect is None:
        return []
    assert folded.period is not None
    begun, last = folded.took_effect.start, folded.period.end
    out: list[Obligation] = []

    def overlaps(p: Period, start: dt.date, end: dt.date) -> bool:
        return p.start <= end and start <= p.end

    half = dt.date(begun.year, 1 if begun.month <= 6 else 7, 1)
    while half <= last:
        end = add_months(half, 6) - dt.timedelta(days=1)
        sent = any(overlaps(r.period, half, end) for r in folded.reports)
        key = f"{half:%Y-%m}/{end:%Y-%m}"
        out.append(("follow-up report", key, add_months(end, 3), half, sent))
        half = end + dt.timedelta(days=1)
    for kind, day in (("midterm", dt.date(2021, 7, 1)), ("final", dt.date(2023, 1, 1))):
        if begun <= day <= add_months(last, 1):
            sent = any(r.kind.value == kind for r in folded.status_reports)
            out.append((f"{kind} status", kind, add_months(day, 3), day, sent))
    for key, ind in folded.indicators.items():
        start = begun
        while start <= last:
            end = add_months(start, ind.cadence_months) - dt.timedelta(days=1)
            found = any(
                m.indicator == key and overlaps(m.period, start, end) for m in folded.measurements
            )
            out.append(("measurement", key, add_months(end, 3), start, found))
            start = end + dt.timedelta(days=1)
    return out


Open = tuple[str, str, dt.date]
"""(kind, key, due) of an open follow-up deadline: what a row of the view says."""


def open_on(facts: Sequence[Fact], day: dt.date) -> set[Open]:
    """The follow-up deadlines of a generation open on ``day``, as ``Saftale.follow_up``
    has them (overdue or upcoming): of the fold of the facts that had certainly happened by
    then, what follow-up requires, not delivered, whose period has begun."""
    known = known_by(facts, day)
    if not known:
        return set()
    return {
        (kind, key, due)
        for kind, key, due, opens, delivered in obligations(fold(known))
        if not delivered and opens <= day
    }


FollowUpRow = tuple[str, str, dt.date, dt.date, dt.date | None]
"""(kind, key, due, open from, open until) of a follow-up deadline."""


def follow_up_rows(facts: Sequence[Fact]) -> list[FollowUpRow]:
    """A generation's follow-up deadlines over decision time: each open over the longest
    runs of days it is open (:func:`open_on`).  What is open changes only on a day one of
    the facts ends (what had certainly happened changes) or a period begins, so it is
    asked on those days only."""
    days = {fact.on.end for fact in facts}
    for day in list(days):
        known = known_by(facts, day)
        days |= {opens for *_, opens, _ in obligations(fold(known))} if known else set()
    out: list[FollowUpRow] = []
    since: dict[Open, dt.date] = {}
    for day in sorted(days):
        now = open_on(facts, day)
        for gone in [o for o in since if o not in now]:
            out.append((*gone, since.pop(gone), day))
        for held in now:
            since.setdefault(held, day)
    out += [(*held, day, None) for held, day in since.items()]
    return out


def follow_up_days(facts: Sequence[Fact]) -> set[dt.date]:
    """The days a follow-up deadline opens or closes, and the days before."""
    days = {d for _, _, _, since, until in follow_up_rows(facts) for d in (since, until) if d}
    return days | {d - dt.timedelta(days=1) for d in days}


Spans = set[tuple[str, str, dt.date, dt.date | None]]
"""Rows of the views with the days they hold: (table, row without its days as text, valid
from, valid until (exclusive; None: still))."""


def rows_on(folded: Folded, subject: str) -> dict[str, list[Row]]:
    """The rows (without their days) a generation or kommissorium gives, as folded."""
    approved = sum(folded.councils.values())
    return {
        SUBJECT_STATE.name: [
            {
                "subject": subject,
                "kind": folded.kind,
                "title": folded.title,
                "status": folded.status,
                "doc": {"approved_by_councils": approved},
            }
        ],
        AWAITING.name: [
            {"body": body, "subject": subject, "fact_type": fact_type, "doc": {}}
            for body, fact_type in awaited(folded)
        ],
        FOCUS_INDICATORS.name: [
            {"focus_area": area, "indicator": ind, "goal": goal, "subject": subject, "doc": doc}
            for area, ind, goal, doc in indicator_rows(folded)
        ],
    }


def frozen(row: Row) -> str:
    """A row without its days, as text to compare."""
    content = {k: v for k, v in row.items() if k not in ("valid_from", "valid_to")}
    return json.dumps(content, sort_keys=True, default=str)


def expected_spans(subject: str, facts: Sequence[Fact]) -> Spans:
    """Every row of a generation or kommissorium, with the days it holds: on each day one
    of its facts in force ends (the only days its rows may change), the plain fold of those
    that had certainly happened by then; a row holds from the first such day that gives it
    to the first that does not.  With its follow-up deadlines (see follow_up_rows)."""
    out: Spans = set()
    since: dict[tuple[str, str], dt.date] = {}
    for day in sorted({fact.on.end for fact in facts}):
        known = known_by(facts, day)
        now = {
            (table, frozen(row))
            for table, rows in (rows_on(fold(known), subject) if known else {}).items()
            for row in rows
        }
        for gone in [k for k in since if k not in now]:
            out.add((*gone, since.pop(gone), day))
        for held in now:
            since.setdefault(held, day)
    out |= {(*held, day, None) for held, day in since.items()}
    for kind, key, due, start, until in follow_up_rows(facts):
        row = {"subject": subject, "kind": kind, "key": key, "due": due, "doc": {}}
        out.add((DEADLINES.name, frozen(row), start, until))
    return out


def check_generation_views(
    histories: Mapping[str, list[Recorded]], dumped: Mapping[str, list[Row]]
) -> int:
    """Every row of the views that generations and kommissorier feed (all of them, with
    the days each holds) against the plain fold; returns how many rows."""
    subjects = {s for s, h in histories.items() if h[0].fact.TYPE in INITIATING}
    expected: Spans = set()
    for subject in subjects:
        expected |= expected_spans(subject, in_force(histories[subject]))
    got = {
        (table, frozen(r), r["valid_from"], r["valid_to"])
        for table, rows in dumped.items()
        for r in rows
        if r.get("subject") in subjects
        and table not in (AUDIT.name, AUDIT_PARTIES.name, DECISIONS.name)
    }
    missing, extra = sorted(expected - got, key=repr), sorted(got - expected, key=repr)
    assert not missing and not extra, f"rows missing: {missing}; rows not expected: {extra}"
    return len(got)


QUERIED = ("SSG", "SKU", "SAS", "regionsraad", "byraad:aarhus")
"""The bodies whose inbox the queries are checked for."""


def check_generation_queries(
    histories: Mapping[str, list[Recorded]], views: ViewBackend, days: Sequence[dt.date]
) -> None:
    """What :class:`Views` answers about generations and kommissorier as of each day
    (status, inboxes, the indicators of each focus area with their latest measurement,
    deadlines) against the plain fold of their facts that had certainly happened by then."""
    facts = {s: in_force(h) for s, h in histories.items() if h[0].fact.TYPE in INITIATING}
    spans = {s: expected_spans(s, fs) for s, fs in facts.items()}
    q = Views(views)
    for day in days:
        folded = {s: fold(known_by(fs, day)) for s, fs in facts.items() if known_by(fs, day)}
        for subject in facts:
            status = q.status(subject, as_of=day)
            if subject not in folded:
                assert status is None, (subject, day)
                continue
            now = folded[subject]
            [since] = [
                start
                for table, _, start, until in spans[subject]
                if table == SUBJECT_STATE.name and is_open(start, until, day)
            ]
            approved = sum(now.councils.values())
            assert status == SubjectStatus(
                subject, now.kind, now.title, now.status, since, approved
            ), (subject, day)
        for body in QUERIED:
            inbox = q.inbox(body, as_of=day, limit=1000).items
            assert sorted((i.subject, i.fact_type) for i in inbox if i.subject in facts) == sorted(
                (s, fact_type)
                for s, f_ in folded.items()
                for b, fact_type in awaited(f_)
                if b == body
            ), (body, day)
        for area in AREAS:
            assert collections.Counter(
                whole(q.indicators(area, as_of=day, limit=10_000))
            ) == collections.Counter(
                IndicatorEntry(
                    ind,
                    doc["name"],
                    goal,
                    doc["goal_text"],
                    doc["cadence_months"],
                    None if doc["latest"] is None else doc["latest"]["period"],
                    None if doc["latest"] is None else doc["latest"]["value"],
                    None if doc["latest"] is None else doc["latest"]["final"],
                    s,
                )
                for s, f_ in folded.items()
                for a, ind, goal, doc in indicator_rows(f_)
                if a == area
            ), (area, day)
        deadlines = [d for d in whole(q.deadlines(as_of=day, limit=10_000)) if d.subject in facts]
        assert sorted(deadlines, key=repr) == sorted(
            (
                Deadline(s, kind, key, due, due < day)
                for s, fs in facts.items()
                for kind, key, due in open_on(fs, day)
            ),
            key=repr,
        ), day


T = TypeVar("T")


def whole(listing: Listing[T]) -> tuple[T, ...]:
    """The items of a listing asked for with a limit above what the views hold."""
    assert listing.next is None, "more than one page"
    return listing.items


def is_open(since: dt.date, until: dt.date | None, day: dt.date | None) -> bool:
    """Whether a row valid from ``since`` until ``until`` (exclusive; None: still) is
    valid on ``day`` (None: now, i.e. it still holds)."""
    if day is None:
        return until is None
    return since <= day and (until is None or day < until)


def histories_of(receipts: list[tuple[int, Receipt]]) -> dict[str, list[Recorded]]:
    out: dict[str, list[Recorded]] = {}
    for _, receipt in receipts:
        out.setdefault(receipt.fact.subject, []).append(receipt.recorded)
    return out


@given(history=mixed_histories(), on_postgres=st.sampled_from([True, False, False]))
def test_generation_and_kommissorium_views_equal_a_plain_fold_on_every_backend(
    history: History,
    on_postgres: bool,
    sqlite_views: SQLAlchemyBackend,
    postgres_views: SQLAlchemyBackend | None,
) -> None:
    """The views that generations and kommissorier feed, amid agreements and development
    tasks, equal the plain fold (every row with the days it holds, and the queries as of
    some days); incrementally equals rebuilt; SQLite (every example) and PostgreSQL (every
    third: making its views empty costs a few tenths of a second) hold the same rows."""
    postgres_views = postgres_views if on_postgres else None
    store = Saftale.open(":memory:", recorded_by="property", clock=Clock())
    incremental = MemoryBackend()
    followers = [
        Runner(store, incremental, PROJECTIONS, batch_size=history.batch_size),
        Runner(store, _emptied(sqlite_views), PROJECTIONS, batch_size=history.batch_size),
    ]
    receipts: list[tuple[int, Receipt]] = []
    corrected: set[str] = set()
    for i, step in enumerate(history.steps):
        fact = correction(store, step) if isinstance(step, Correct) else step
        if fact is not None:
            try:
                receipt = store.record(fact)
            except RuleViolation as refusal:
                # the histories hold only what the rules allow, until a correction changes
                # what a subject allows next (or is itself refused)
                if not isinstance(fact, FactCorrected) and fact.subject not in corrected:
                    pytest.fail(f"the history holds a fact the rules refuse: {refusal}")
            else:
                receipts.append((store.last_position, receipt))
                if isinstance(fact, FactCorrected):
                    corrected.add(fact.subject)
        if i in history.run_after:
            for runner in followers:
                runner.run_once()
    for runner in followers:
        runner.run_once()
    rebuilt = MemoryBackend()
    Runner(store, rebuilt, PROJECTIONS, batch_size=history.batch_size + 3).rebuild()
    if postgres_views is not None:
        Runner(store, _emptied(postgres_views), PROJECTIONS, batch_size=50).run_once()
    histories = histories_of(receipts)
    generations = [in_force(h) for h in histories.values() if h[0].fact.TYPE == INITIATING[0]]
    note(f"{len(receipts)} facts recorded; generations: {[fold(x).status for x in generations]}")
    for generation in generations:
        event(f"a generation {fold(generation).status}")
    deadlines = sum(len(follow_up_rows(x)) for x in generations)
    event(f"follow-up deadlines: {'none' if not deadlines else 'some'}")
    event(f"subjects corrected: {min(len(corrected), 2)}")

    # every view equals the plain fold: the audit trail and its parties ...
    assert select_all(incremental, AUDIT) == expected_audit(receipts)
    parties = {
        (r["party"], r["subject"], r["position"]) for r in select_all(incremental, AUDIT_PARTIES)
    }
    assert parties == expected_parties(receipts)
    assert select_all(incremental, DECISIONS) == expected_decisions(receipts)
    # ... every row that generations and kommissorier give, with the days it holds ...
    probe = probe_days(store)
    expected = dump(incremental, PROJECTIONS, probe)
    assert check_generation_views(histories, expected) > 0
    # ... what the queries answer about them as of some days ...
    days = sorted({*fact_days(store), *(d for x in generations for d in follow_up_days(x))})
    check_generation_queries(
        histories, incremental, random.Random(len(days)).sample(days, min(len(days), 8))
    )
    # ... and the agreements and tasks among them
    days = fact_days(store)
    check_subjects_as_of(
        store, incremental, random.Random(len(days)).sample(days, min(len(days), 8))
    )

    # incrementally equals rebuilt, on every backend
    assert_same_views(dump(rebuilt, PROJECTIONS, probe), expected, "rebuilt in memory")
    assert_same_views(dump(sqlite_views, PROJECTIONS, probe), expected, "SQLite")
    if postgres_views is not None:
        assert_same_views(dump(postgres_views, PROJECTIONS, probe), expected, "PostgreSQL")
    store.close()


# -- generations in the views: regressions and known gaps ---------------------------------


def _indicator_set(subject: str, on: str, name: str) -> list[Fact]:
    """A generation with one indicator (``dagligrygere``, in ``forebyggelse``), set on ``on``."""
    base: dict[str, Any] = {"subject": subject, "on": on, "by": "SKU"}
    return [
        g.GenerationInitiated(**base, title=subject, number=4, period="2019/2023"),
        g.FocusAreaSet(**base, focus_area="forebyggelse", name="Forebyggelse"),
        g.GoalSet(**base, goal="faerre-rygere", focus_area="forebyggelse", text="Færre rygere"),
        g.IndicatorSet(**base, indicator="dagligrygere", goal="faerre-rygere", name=name),
    ]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_generations_with_the_same_indicator_set_on_the_same_day(
    kind: str, tmp_path: Path
) -> None:
    """Each generation's indicator is a row of its own, also when two generations set the
    same indicator in the same focus area on the same day (the successor of a generation
    keeps its indicators); the rows of one no longer overwrite the other's."""
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    store.record_many(_indicator_set("sa-2019-2023", "2018-09-27", "Dagligrygere (4.)"))
    store.record_many(_indicator_set("sa-2024-2027", "2018-09-27", "Dagligrygere (5.)"))
    store.record(
        g.IndicatorMeasured(
            subject="sa-2019-2023",
            on="2020-02-11",
            by="SAS",
            indicator="dagligrygere",
            period="2017",
            value=16.5,
            source="Hvordan har du det?",
        )
    )
    views: ViewBackend = (
        MemoryBackend() if kind == "memory" else SQLAlchemyBackend(f"sqlite:///{tmp_path}/v.db")
    )
    Runner(store, views, PROJECTIONS, batch_size=2).run_once()
    for day, latest in ((dt.date(2019, 1, 1), None), (dt.date(2020, 3, 1), 16.5)):
        found = whole(Views(views).indicators("forebyggelse", as_of=day))
        assert sorted((i.subject, i.name, i.latest_value) for i in found) == [
            ("sa-2019-2023", "Dagligrygere (4.)", latest),
            ("sa-2024-2027", "Dagligrygere (5.)", None),
        ], day
    views.close()
    store.close()


def _measures_late(subject: str) -> list[Fact]:
    """A focus area and goal set after the generation took effect, and an indicator later."""
    base: dict[str, Any] = {"subject": subject, "by": "SKU"}
    return [
        g.FocusAreaSet(**base, on="2019-09-02", focus_area="forebyggelse", name="Forebyggelse"),
        g.GoalSet(
            **base, on="2019-09-02", goal="faerre-rygere", focus_area="forebyggelse", text="Færre"
        ),
        g.IndicatorSet(
            **base, on="2020-03-02", indicator="dagligrygere", goal="faerre-rygere", name="Rygere"
        ),
    ]


def _cadence_changed(subject: str) -> list[Fact]:
    """An indicator followed half-yearly from 2 September 2019, then quarterly from 16
    September: the window of the second half of 2019 gives way to two quarters, the second
    due on the same day as the half-year and beginning on 1 October."""
    base: dict[str, Any] = {"subject": subject, "by": "SKU"}
    indicator: dict[str, Any] = {"indicator": "dagligrygere", "goal": "faerre-rygere"}
    return [
        *_measures_late(subject)[:2],
        g.IndicatorSet(**base, on="2019-09-02", **indicator, name="Rygere"),
        g.IndicatorSet(**base, on="2019-09-16", **indicator, name="Rygere", cadence_months=3),
    ]


G = "sundhedsaftale"
_REPORT_IN_FEBRUARY = [
    *generation_path(G),
    g.FollowUpReportSent(subject=G, on="2020-02", by="SKU", period="2019-07/2019-12"),
]
DECISION_TIME = [
    # it took effect "in July 2019": not certainly by 15 July, so nothing is due yet; by
    # 1 August it had, and the report of the second half of 2019 is open
    pytest.param(
        generation_path(G, took_effect="2019-07"), dt.date(2019, 7, 15), id="took-effect-in-a-month"
    ),
    pytest.param(
        generation_path(G, took_effect="2019-07"), dt.date(2019, 8, 1), id="took-effect-by-then"
    ),
    # the report was sent "in February 2020": not certainly by 10 February, so its deadline
    # is still open (and overdue); by 1 March it is met
    pytest.param(_REPORT_IN_FEBRUARY, dt.date(2020, 2, 10), id="report-sent-in-a-month"),
    pytest.param(_REPORT_IN_FEBRUARY, dt.date(2020, 3, 1), id="report-sent-by-then"),
    # the indicator was set on 2 March 2020: no measurement is due before; from then two
    # windows of it are open at once (the second half of 2019 and the first of 2020)
    pytest.param(
        [*generation_path(G), *_measures_late(G)], dt.date(2019, 8, 1), id="indicator-set-later"
    ),
    pytest.param(
        [*generation_path(G), *_measures_late(G)],
        dt.date(2020, 3, 10),
        id="two-windows-of-one-indicator",
    ),
    # the cadence changed on 16 September 2019: the half-year's window closes then; the
    # quarter due on the same day opens on 1 October
    pytest.param(
        [*generation_path(G), *_cadence_changed(G)], dt.date(2019, 9, 10), id="half-yearly"
    ),
    pytest.param([*generation_path(G), *_cadence_changed(G)], dt.date(2019, 9, 20), id="quarterly"),
    pytest.param(
        [*generation_path(G), *_cadence_changed(G)],
        dt.date(2019, 10, 2),
        id="the-second-quarter-begun",
    ),
]


@pytest.mark.parametrize(("facts", "day"), DECISION_TIME)
def test_generation_deadlines_answer_in_decision_time(facts: list[Fact], day: dt.date) -> None:
    """As of a day, the open follow-up deadlines of a generation are what
    ``Saftale.follow_up(on=day)`` says is overdue or upcoming."""
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    store.record_many(facts)
    views = MemoryBackend()
    Runner(store, views, PROJECTIONS).run_once()
    found = store.follow_up(G, on=day)
    shown = whole(Views(views).deadlines(as_of=day, limit=10_000))
    assert sorted((d.kind, d.key, d.due) for d in shown) == sorted(
        (o.what, o.key, o.due) for o in (*found.overdue, *found.upcoming)
    )
    store.close()


def _all_but_one_council_approve(subject: str) -> list[Fact]:
    """A generation whose final version every council but Lemvig's approved, and Lemvig's
    rejected."""
    path = generation_path(subject)[:-1]
    return [
        f.RejectedByCouncil(subject=subject, on=x.on, by=x.by, reason="Nej tak")
        if isinstance(x, f.ApprovedByCouncil) and x.by == "byraad:lemvig"
        else x
        for x in path
    ]


INBOX = [
    # SSG approves a version first, then SKU
    pytest.param(
        generation_path(G)[:1],
        g.VersionApproved(subject=G, on="2018-11-23", by="SKU", version="consultation"),
        id="sku-before-ssg",
    ),
    pytest.param(
        generation_path(G)[:1],
        g.VersionApproved(subject=G, on="2018-11-23", by="SSG", version="consultation"),
        id="ssg-first",
    ),
    pytest.param(
        generation_path(G)[:2],
        g.VersionApproved(subject=G, on="2018-12-11", by="SSG", version="consultation"),
        id="ssg-again",
    ),
    pytest.param(
        generation_path(G)[:2],
        g.VersionApproved(subject=G, on="2018-12-11", by="SKU", version="consultation"),
        id="sku-after-ssg",
    ),
    pytest.param(
        generation_path(G)[:5],
        g.VersionApproved(subject=G, on="2019-04-30", by="SKU", version="final"),
        id="sku-after-ssg-on-the-final-version",
    ),
    # it takes effect once every council approved
    pytest.param(
        generation_path(G)[:6],
        g.GenerationTookEffect(subject=G, on="2019-07-01", by="SKU"),
        id="before-the-councils",
    ),
    pytest.param(
        generation_path(G)[:-2],
        g.GenerationTookEffect(subject=G, on="2019-07-01", by="SAS"),
        id="before-the-last-council",
    ),
    pytest.param(
        _all_but_one_council_approve(G),
        g.GenerationTookEffect(subject=G, on="2019-07-01", by="SKU"),
        id="a-council-rejected",
    ),
    pytest.param(
        generation_path(G)[:-1],
        g.GenerationTookEffect(subject=G, on="2019-07-01", by="SAS"),
        id="every-council-approved",
    ),
]


@pytest.mark.parametrize(("facts", "step"), INBOX)
def test_a_generation_awaits_only_a_step_the_rules_accept_now(
    facts: list[Fact], step: Fact
) -> None:
    """A generation is in a body's inbox for a step when the rules accept that step of that
    body now."""
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    store.record_many(facts)
    views = MemoryBackend()
    Runner(store, views, PROJECTIONS).run_once()
    listed = (G, step.TYPE) in {(i.subject, i.fact_type) for i in Views(views).inbox(step.by).items}
    try:
        store.record(step)
    except RuleViolation:
        accepted = False
    else:
        accepted = True
    assert listed == accepted
    store.close()
