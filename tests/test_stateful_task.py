"""Process 2 driven at random through the real application, against a model.

A Hypothesis state machine records facts of development tasks (Process 2 of
DOMAIN.md, seed 002 part 2) through :class:`saftale_core.Saftale`, on every
backend, and checks each acceptance, each refusal code and each warning against
:mod:`tests.task_model`, a separate, plain re-statement of the process that
shares no code with ``saftale_core.task``.  After every step it checks that
``app.task`` reports what the model's state says, that ``app.history`` holds
exactly the accepted facts (ids canonical), and that the invariants of the
process hold over what the store keeps.

Both routes are explored: the machine starts with one task SSG initiated
(route 1a) and one a cluster started on its own initiative (1b), and may start
more, by any body.  Facts come mostly from two rules: ``advance`` takes the
steps the model says come next, by the body that should, mixed with tempting
mistakes (an offer before the brief, development before coordination, SKU
before SSG, implementation in a cluster SSG did not spread to, ...), so tasks
get as far as councils, implementation and evaluation; ``random_fact`` takes
any step by any body, with ids from pools that mix allowed, forbidden, aliased
and unknown ids.  ``withdraw`` now and then stops a task, and ``stray_fact``
records a step of a task never initiated.
Dates move mostly forward, sometimes back (``date-before-previous``), sometimes
to a whole month, and sometimes past the test clock's day (``date-in-future``).

Each Hypothesis example uses fresh subject keys, so the examples of one test
function share one store (one PostgreSQL database per test function).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from saftale_core import Registry, RuleViolation, Saftale
from saftale_core import facts as f
from saftale_core.facts import FACT_TYPES, Fact
from tests import task_model as m
from tests.conftest import new_store
from tests.support import START, Clock

REG = Registry.default()

# -- the pools the test draws from ------------------------------------------------------------

BODIES = (
    "SSG",
    "SKU",
    "SAS",
    "PPU",
    "PIU",
    "PLO",
    "sundhedsstyrelsen",
    "regionsraad",
    "Regionsrådet",
    "byraad:aarhus",
    "byråd:Århus",
    "byraad:samso",
    "byraad:horsens",
    "byraad:viborg",
    "byraad:herning",
    "klynge:horsens",
    "klynge:midt",
    "klynge:randers",
    "klynge:vest",
    "klynge:aarhus",
    "Gødstrupklyngen",
    "Horsensklyngen",
    "Sundhedsstyregruppen",
    "Fællessekretariatet",
    "arbejdsgruppe:demens",
    "klynge:nord",  # no such cluster
    "SSU",  # no such body
    "byraad:kobenhavn",  # no such municipality in the region
)
"""``by`` for random facts: allowed and forbidden bodies, aliases, unknown ids."""

CLUSTER_FIELD = (*m.CLUSTERS, "Gødstrupklyngen", "Aarhusklyngen")
BAD_CLUSTER_FIELD = ("klynge:nord", "SAS")
PARTIES = ("PLO", "PIU", "regionsraad", "byraad:aarhus", "klynge:horsens", "Fællessekretariatet")
BAD_PARTIES = ("klynge:nord",)
OUTSIDERS = ("PPU", "SSG", "klynge:midt", "byraad:viborg")
"""Bodies that may comment on a proposal only if it was sent to them."""

ALL_TYPES = (*m.STEPS, "DevelopmentTaskInitiated")
"""Every fact type of Process 2 (an initiation of an existing subject: duplicate-subject)."""

MAY_TAKE = {
    t: tuple(b for b in BODIES if (c := m.canonical(b)) is not None and m.may_take(t, c))
    for t in ALL_TYPES
}
"""For each step, the bodies of the pool that may take it at all."""

FIRST_DAY = dt.date(2016, 1, 4)


class SwitchableClock:
    """The application's clock; each example puts a fresh test clock behind it."""

    def __init__(self) -> None:
        self.clock = Clock()

    def __call__(self) -> dt.datetime:
        return self.clock()

    def next_day(self) -> dt.date:
        """The day of the next reading (the application reads once per record)."""
        return (self.clock.now + self.clock.step).date()


def distinct(pool: Sequence[str], min_size: int = 1) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=min_size, max_size=3, unique=True)


class TaskMachine(RuleBasedStateMachine):
    """Random Process 2 facts through the real application, checked against the model."""

    subjects = Bundle("subjects")

    def __init__(self, app: Saftale, clock: SwitchableClock, prefix: str) -> None:
        super().__init__()
        self.app = app
        self.clock = clock
        clock.clock = Clock(START)
        self.prefix = prefix
        self.records: dict[str, list[Fact]] = {}
        """Every subject key tried, with the facts the model expects recorded (maybe none)."""
        self.cursor = FIRST_DAY
        self.keys = 0
        self.strays = 0
        self.changed: set[str] = set()

    # -- helpers ----------------------------------------------------------------------------

    def task(self, subject: str) -> m.Task | None:
        return m.fold(self.records.get(subject, []))

    def draw_on(self, data: st.DataObject) -> str:
        """Mostly a few days on; sometimes back, a whole month, or past today."""
        roll = data.draw(st.integers(0, 99), label="date kind")
        if roll < 80:
            day = self.cursor + dt.timedelta(days=data.draw(st.integers(0, 6)))
        elif roll < 91:
            day = self.cursor - dt.timedelta(days=data.draw(st.integers(1, 40)))
        elif roll < 97:
            day = self.cursor + dt.timedelta(days=data.draw(st.integers(0, 40)))
            return f"{day.year:04d}-{day.month:02d}"
        else:
            day = self.clock.next_day() + dt.timedelta(days=data.draw(st.integers(1, 400)))
        return day.isoformat()

    def draw_by(self, type_name: str, data: st.DataObject, *, share: int = 6) -> str:
        """Mostly (``share`` in 10) a body that may take the step at all, else any."""
        if data.draw(st.integers(0, 9), label="plausible by") < share:
            return data.draw(st.sampled_from(MAY_TAKE[type_name]))
        return data.draw(st.sampled_from(BODIES))

    def attempt(self, fact: Fact) -> str:
        """Record ``fact`` and check the outcome against the model; returns the outcome."""
        subject = fact.subject
        records = self.records.setdefault(subject, [])
        expected = m.decide(records, fact, self.clock.next_day())
        warnings: tuple[str, ...] = ()
        named: str | None = subject
        try:
            receipt = self.app.record(fact)
            actual = m.ACCEPTED
            warnings = tuple(w.code for w in receipt.warnings)
        except RuleViolation as exc:
            actual, named = exc.code, exc.subject
        assert named == subject, f"{actual} names the subject {named!r}"
        assert actual in expected, (
            f"{fact!r}\n  the model expects {sorted(expected)}, the application said {actual!r}"
        )
        self.changed.add(subject)
        event(f"{fact.TYPE}: {actual}")
        if actual == m.ACCEPTED:
            assert warnings == m.warnings(records, fact), fact
            records.append(fact)
            self.cursor = max(self.cursor, m.on(fact).first)
        return actual

    def build(
        self, type_name: str, subject: str, by: str, data: st.DataObject, *, good: bool
    ) -> Fact:
        """A fact of ``type_name``; its own keys from the good pools, or from pools that
        also hold unknown ids when ``good`` is false."""
        kw: dict[str, Any] = {"subject": subject, "on": self.draw_on(data), "by": by}
        task = self.task(subject)
        clusters = CLUSTER_FIELD if good else CLUSTER_FIELD + BAD_CLUSTER_FIELD
        match type_name:
            case "DevelopmentTaskInitiated":
                kw |= {"title": "Udviklingsopgave", "focus_areas": ["aeldre"]}
                if m.canonical(by) == "SSG" or not good:
                    kw["clusters"] = data.draw(distinct(clusters, min_size=0), label="asked")
                elif data.draw(st.booleans(), label="names itself"):
                    kw["clusters"] = [by]
            case "AssignmentBriefSet":
                kw |= {
                    "topic": "Akut syge ældre",
                    "timeframe": "2019-03/2020-06",
                    "triple_aim": data.draw(st.integers(0, 4), label="triple aim") > 0,
                    "spread": "Alle klynger",
                }
            case "TaskOfferedToClusters":
                asked = tuple(task.asked) if task is not None and task.asked else ()
                pool = (asked or clusters) if good else clusters
                kw["clusters"] = data.draw(distinct(pool), label="offered to")
            case "ClusterResponded":
                kw["accepts"] = data.draw(st.integers(0, 3), label="accepts") > 0
            case "ClustersCoordinated":
                kw["mode"] = data.draw(st.sampled_from(["joint", "alternatives"]))
            case "ProposalSentForComments":
                pool = PARTIES if good else PARTIES + BAD_PARTIES
                kw |= {"parties": data.draw(distinct(pool)), "deadline": "2030-01-01"}
            case "ApprovedBySSG":
                kw["spread_to"] = data.draw(distinct(clusters, min_size=0), label="spread to")
                kw["evaluate_after_months"] = data.draw(st.sampled_from([None, 12]))
            case "ReturnedBySSG" | "ReturnedBySKU" | "RejectedByCouncil":
                kw["reason"] = "Begrundelse"
            case "DevelopmentTaskWithdrawn":
                kw["reason"] = "Opgaven bortfalder"
            case "EvaluationScheduled":
                kw["due"] = "2025-06"
            case "Evaluated":
                kw["findings"] = "Færre indlæggelser"
            case _:
                pass
        return FACT_TYPES[type_name](**kw)

    def new_key(self) -> str:
        self.keys += 1
        return f"{self.prefix}-t{self.keys}"

    # -- rules ------------------------------------------------------------------------------

    @initialize(target=subjects, data=st.data())
    def ssg_task(self, data: st.DataObject) -> str:
        """Route 1a: SSG initiates a task and asks clusters."""
        self.changed = set()
        key = self.new_key()
        asked = data.draw(distinct(CLUSTER_FIELD, min_size=2), label="asked")
        fact = f.DevelopmentTaskInitiated(
            subject=key, on=self.cursor, by="SSG", title="Opgave", clusters=asked
        )
        assert self.attempt(fact) == m.ACCEPTED
        return key

    @initialize(target=subjects, data=st.data())
    def own_task(self, data: st.DataObject) -> str:
        """Route 1b: a cluster starts a task of its own."""
        self.changed = set()
        key = self.new_key()
        by = data.draw(st.sampled_from(CLUSTER_FIELD), label="own task by")
        fact = f.DevelopmentTaskInitiated(subject=key, on=self.cursor, by=by, title="Egen opgave")
        assert self.attempt(fact) == m.ACCEPTED
        return key

    @precondition(lambda self: self.keys < 5)
    @rule(target=subjects, data=st.data())
    def initiate(self, data: st.DataObject) -> str:
        """A new subject: by SSG or a cluster mostly, by any body sometimes."""
        self.changed = set()
        key = self.new_key()
        by = self.draw_by("DevelopmentTaskInitiated", data, share=8)
        good = data.draw(st.integers(0, 3), label="good ids") > 0
        self.attempt(self.build("DevelopmentTaskInitiated", key, by, data, good=good))
        return key

    @rule(subject=subjects, data=st.data(), steps=st.integers(1, 25))
    def advance(self, subject: str, data: st.DataObject, steps: int) -> None:
        """Take up to ``steps`` of the steps that come next, by the body that should
        (with a few tempting mistakes among them)."""
        self.changed = set()
        for _ in range(steps):
            task = self.task(subject)
            if task is None:
                return
            good, bad = next_steps(task)
            if not good:
                return
            type_name, by = data.draw(st.sampled_from(good * 3 + bad), label="next step")
            self.attempt(self.build(type_name, subject, by, data, good=True))

    @precondition(lambda self: any(self.records.values()))
    @rule(subject=subjects, data=st.data())
    def withdraw(self, subject: str, data: st.DataObject) -> None:
        """Now and then SSG or SKU stops a task (nothing may follow)."""
        self.changed = set()
        if data.draw(st.integers(0, 3), label="withdraw now") > 0:
            return
        by = data.draw(st.sampled_from(("SSG", "SKU", "Sundhedsstyregruppen")))
        self.attempt(self.build("DevelopmentTaskWithdrawn", subject, by, data, good=True))

    @rule(subject=subjects, data=st.data())
    def random_fact(self, subject: str, data: st.DataObject) -> None:
        """Any step by any body, with ids from pools that also hold unknown ones."""
        self.changed = set()
        type_name = data.draw(st.sampled_from(ALL_TYPES))
        by = self.draw_by(type_name, data)
        good = data.draw(st.booleans(), label="good ids")
        self.attempt(self.build(type_name, subject, by, data, good=good))

    @precondition(lambda self: self.strays < 2)
    @rule(data=st.data())
    def stray_fact(self, data: st.DataObject) -> None:
        """A step of a task that was never initiated."""
        self.changed = set()
        self.strays += 1
        type_name = data.draw(st.sampled_from(m.STEPS))
        key = f"{self.prefix}-never{self.strays}"
        by = data.draw(st.sampled_from(MAY_TAKE[type_name]))
        assert self.attempt(self.build(type_name, key, by, data, good=True)) == "unknown-subject"

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def history_is_the_accepted_facts(self) -> None:
        """``app.history`` holds exactly the accepted facts, in order, ids canonical."""
        for subject in self.changed:
            records = self.records.get(subject, [])
            if not records:
                with pytest.raises(RuleViolation) as info:
                    self.app.history(subject)
                assert info.value.code == "unknown-subject"
                continue
            got = [entry.fact for entry in self.app.history(subject)]
            assert got == [m.stored_form(r) for r in records]

    @invariant()
    def report_matches_model(self) -> None:
        """``app.task`` reports what the model's state says."""
        for subject in self.changed:
            task = self.task(subject)
            if task is None:
                continue
            report = self.app.task(subject)
            assert (
                report.route,
                report.status,
                report.asked,
                report.accepted,
                report.declined,
                report.coordination,
                report.came_from,
                report.councils_approved,
                report.councils_rejected,
                report.clusters_implementing,
                report.clusters_implemented,
            ) == (
                task.route,
                task.status,
                tuple(task.asked),
                task.accepted,
                task.declined,
                task.coordination,
                task.developers,
                task.councils_approved,
                task.councils_rejected,
                task.clusters_implementing,
                task.clusters_implemented,
            ), subject
            assert report.spread_to == task.spread_to, subject

    @invariant()
    def process_rules_hold_in_the_store(self) -> None:
        """The invariants of Process 2, over the facts the store keeps."""
        for subject in self.changed:
            if self.records.get(subject):
                check_process_invariants([e.fact for e in self.app.history(subject)])


Choice = tuple[str, str]
"""A step the machine may take next: (fact type, by)."""


def next_steps(task: m.Task) -> tuple[list[Choice], list[Choice]]:
    """The steps the model says may come next, each with a body that should take it; and
    tempting mistakes the model says are refused (each with the code it expects)."""
    good: list[Choice] = []
    bad: list[Choice] = []
    match task.status:
        case m.INITIATED:
            good.append(("AssignmentBriefSet", "SSG"))
            bad.append(("TaskOfferedToClusters", "SSG"))  # brief-missing
        case m.BRIEFED:
            good.append(("TaskOfferedToClusters", "SSG"))
        case m.OFFERED:
            good += [("ClusterResponded", c) for c in task.asked if c not in task.responses]
            bad += [("ClusterResponded", c) for c in m.CLUSTERS if c not in task.asked][:1]
            if len(task.accepted) > 1 and task.coordination is None:
                good.append(("ClustersCoordinated", "SAS"))
                bad.append(("SolutionTested", task.accepted[-1]))  # coordination-missing
            else:
                good += [("SolutionTested", c) for c in task.accepted]
                bad.append(("ClustersCoordinated", "SAS"))  # one acceptance, or twice
            bad += [("SolutionTested", c) for c in task.declined[:1]]  # not-asked
        case m.OWN_INITIATIVE:
            good.append(("SolutionTested", task.initiator))
            bad += [("SolutionTested", c) for c in m.CLUSTERS if c != task.initiator][:1]
        case m.TESTED if task.route == "cluster":
            good.append(("ResultsReported", task.initiator))
            bad.append(("SolutionCoreDelivered", task.initiator))  # not taken up: out-of-order
            bad += [("ResultsReported", c) for c in m.CLUSTERS if c != task.initiator][:1]
        case m.TESTED:
            good += [("SolutionTested", c) for c in task.accepted if c not in task.tested]
            good += [("SolutionCoreDelivered", c) for c in task.developers]
            bad += [("SolutionCoreDelivered", c) for c in task.declined[:1]]  # not-asked
            bad += [("ResultsReported", c) for c in task.developers[:1]]  # only on own tasks
        case m.REPORTED:
            good.append(("SolutionTakenUpForSpread", "SSG"))
        case m.TAKEN_UP:
            good.append(("SolutionCoreDelivered", task.initiator))
        case m.CORE_DELIVERED:
            good += [("SolutionCoreDelivered", c) for c in task.developers if c not in task.cores]
            good += [("ProposalSentForComments", "SAS")] * 2
            good += [("ApprovedBySSG", "SSG"), ("ReturnedBySSG", "SSG")]  # comments skipped
            bad.append(("ApprovedBySKU", "SKU"))  # before SSG
        case m.IN_COMMENTS:
            good += [("CommentReceived", p) for p in sorted(task.parties)]
            good += [("ProposalRevised", task.developers[0])] * 2
            bad += [("CommentReceived", p) for p in OUTSIDERS if p not in task.parties][:1]
            bad += [("ProposalRevised", c) for c in m.CLUSTERS if c not in task.developers][:1]
        case m.REVISED:
            good += [("ApprovedBySSG", "SSG")] * 3 + [("ReturnedBySSG", "SSG")]
            bad.append(("ApprovedBySKU", "SKU"))  # before SSG
        case m.RETURNED:
            good.append(("ProposalRevised", task.developers[-1]))
            bad += [("ProposalRevised", c) for c in m.CLUSTERS if c not in task.developers][-1:]
        case m.SSG_APPROVED:
            good += [("ApprovedBySKU", "SKU")] * 3
            good += [("ReturnedBySKU", "SKU"), ("EvaluationScheduled", "SAS")]
            bad += [("ImplementationStarted", c) for c in task.spread_to[:1]]  # too early
        case m.APPROVED:
            good, bad = approval_steps(task)
        case _:
            pass
    return good, bad


def approval_steps(task: m.Task) -> tuple[list[Choice], list[Choice]]:
    """After SKU: the councils of the receiving clusters (and of one cluster the solution
    does not spread to), implementation, evaluation."""

    def undecided(clusters: Sequence[str]) -> list[str]:
        councils = (x for c in clusters for x in m.COUNCILS_FOR[c] if x not in task.councils)
        return list(dict.fromkeys(councils))

    outsiders = sorted(
        (c for c in m.CLUSTERS if c not in task.spread_to), key=lambda c: len(m.COUNCILS_FOR[c])
    )
    waiting = undecided(task.spread_to)
    good: list[Choice] = [("ApprovedByCouncil", c) for c in waiting[:3]]
    good += [("ApprovedByCouncil", c) for c in undecided(outsiders[:1])[:2]]
    good += [("RejectedByCouncil", c) for c in waiting[-1:]]
    bad: list[Choice] = [("ApprovedByCouncil", c) for c in list(task.councils)[:1]]  # twice
    approved = [
        c
        for c in m.CLUSTERS
        if c not in task.started and all(task.approved_by(x) for x in m.COUNCILS_FOR[c])
    ]
    good += [("ImplementationStarted", c) for c in approved if c in task.spread_to]
    bad += [("ImplementationStarted", c) for c in approved if c not in task.spread_to][:1]
    early = [c for c in task.spread_to if c not in task.started and c not in approved]
    bad += [("ImplementationStarted", c) for c in early[:1]]  # before its councils
    good += [("Implemented", c) for c in task.clusters_implementing]
    bad += [("Implemented", c) for c in task.clusters_implemented[:1]]  # twice
    bad += [("Implemented", c) for c in early[:1]]  # before it started
    if task.implemented and not task.evaluations:
        good.append(("Evaluated", "SSG"))
    else:
        bad.append(("Evaluated", "SAS"))  # evaluation-before-implementation
    return good, bad


def check_process_invariants(facts: Sequence[Fact]) -> None:
    """The invariants of Process 2, checked directly on a stored history."""
    first = facts[0]
    assert isinstance(first, f.DevelopmentTaskInitiated)
    own = first.by in REG.clusters
    accepted: list[str] = []
    coordinated = False
    decisions: list[str] = []  # SSG's and SKU's approvals and returns, in order
    spread_to: tuple[str, ...] = ()
    approved: set[str] = set()
    briefed = withdrawn = False
    for fact in facts[1:]:
        assert not withdrawn, f"{fact.TYPE} recorded after DevelopmentTaskWithdrawn"
        match fact:
            case f.AssignmentBriefSet() | f.TaskOfferedToClusters() | f.ClusterResponded():
                assert not own, f"{fact.TYPE} on a cluster's own task"
                briefed = briefed or isinstance(fact, f.AssignmentBriefSet)
                if isinstance(fact, f.TaskOfferedToClusters):
                    assert briefed, "offered to clusters without a brief"
                if isinstance(fact, f.ClusterResponded) and fact.accepts:
                    accepted.append(fact.by)
            case f.ClustersCoordinated():
                coordinated = True
            case f.SolutionTested() if own:
                assert fact.by == first.by, f"{fact.by} tested {first.by}'s own task"
            case f.SolutionTested():
                assert fact.by in accepted, f"{fact.by} tested without accepting"
                assert len(accepted) == 1 or coordinated, "tested before coordination"
            case f.ApprovedBySSG():
                decisions.append(fact.TYPE)
                spread_to = fact.spread_to
            case f.ReturnedBySSG() | f.ReturnedBySKU():
                decisions.append(fact.TYPE)
            case f.ApprovedBySKU():
                assert decisions and decisions[-1] == "ApprovedBySSG", "SKU approved before SSG"
                decisions.append(fact.TYPE)
            case f.ApprovedByCouncil():
                approved.add(fact.by)
            case f.ImplementationStarted():
                assert fact.by in spread_to, f"{fact.by} implemented; spread to {spread_to}"
                missing = set(REG.councils_for(fact.by)) - approved
                assert not missing, f"{fact.by} implemented before {sorted(missing)} approved"
            case f.DevelopmentTaskWithdrawn():
                withdrawn = True
            case _:
                pass


# -- the tests ------------------------------------------------------------------------------------

STEP_COUNT = 30
EXAMPLES_SHARE = {"memory": 3.0, "sqlite": 1.0, "postgres": 0.75}
"""The share of the profile's ``max_examples`` each backend runs: the rules are the same
everywhere; the slower stores check that the store keeps what was decided."""


def run_machine(url: str, kind: str) -> None:
    clock = SwitchableClock()
    app = Saftale.open(url, recorded_by="stateful", clock=clock)
    prefixes = itertools.count()
    factory: Callable[[], TaskMachine] = lambda: TaskMachine(  # noqa: E731
        app, clock, f"{kind}{next(prefixes)}"
    )
    profile = settings()  # the loaded profile (tests/conftest.py)
    try:
        run_state_machine_as_test(
            factory,  # type: ignore[arg-type]  # hypothesis accepts any factory
            settings=settings(
                profile,
                max_examples=max(5, int(profile.max_examples * EXAMPLES_SHARE[kind])),
                stateful_step_count=STEP_COUNT,
            ),
        )
    finally:
        app.close()


def test_task_process_against_model(backend: str, tmp_path: Path) -> None:
    url, cleanup = new_store(backend, tmp_path)
    try:
        run_machine(url, backend)
    finally:
        cleanup()
