"""Process 1 driven at random through the real application, against a model.

A Hypothesis state machine records facts of joint cooperation agreements
(Process 1 of DOMAIN.md) through :class:`saftale_core.Saftale`, on every
backend, and checks each acceptance and each refusal code against
:mod:`tests.process_model`, a separate, plain re-statement of DOMAIN.md (it
shares no code with ``saftale_core.agreement``).  After every step it checks
that the application's report and history equal the model's, and that the
process invariants of the issue hold over the facts the application keeps in
force.

Facts come from two rules: ``advance`` takes the steps the model says come
next, by the body that should take them, so agreements get as far as council
approval, implementation and evaluation; ``random_fact`` takes any step by
any body from a pool that mixes allowed, forbidden, aliased and unknown ids,
so every refusal code turns up.  Dates move mostly forward, sometimes back
(``date-before-previous``), sometimes to a month (imprecise dates) and
sometimes past the test clock's day (``date-in-future``).

Each Hypothesis example uses fresh subject keys, so the examples of one test
function share one store (one PostgreSQL database per test function).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
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
from saftale_core.facts import FACT_TYPES, Fact, FactCorrected
from tests import process_model as m
from tests.support import START, Clock, agreement_path, until

# -- the pools the test draws from --------------------------------------------------------

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
    "byraad:Samsø",
    "byraad:horsens",
    "byraad:odder",
    "byraad:viborg",
    "klynge:horsens",
    "klynge:aarhus",
    "klynge:midt",
    "Gødstrupklyngen",
    "arbejdsgruppe:rygning",
    "arbejdsgruppe:Rygning",
    "arbejdsgruppe:demens",
    "Sundhedsstyregruppen",
    "Fællessekretariatet",
    "byraad:kobenhavn",  # no such municipality in the region
    "klynge:nord",  # no such cluster
    "SSU",  # no such body
)
"""``by`` for random facts: allowed and forbidden bodies, aliases, unknown ids."""

CLUSTER_FIELD = ("klynge:horsens", "klynge:aarhus", "klynge:midt", "Gødstrupklyngen")
BAD_CLUSTER_FIELD = ("klynge:nord", "SAS")
GROUPS = ("arbejdsgruppe:rygning", "arbejdsgruppe:demens")
BAD_GROUPS = ("SAS", "arbejdsgruppe:")
MEMBERS = ("PLO", "regionsraad", "byraad:aarhus", "klynge:midt", "Regionsrådet")
BAD_MEMBERS = ("byraad:kobenhavn",)
PARTIES = ("PLO", "PIU", "regionsraad", "Regionsrådet", "byraad:aarhus", "klynge:horsens")
BAD_PARTIES = ("klynge:nord",)
HAPPY_CLUSTERS = ("klynge:aarhus", "klynge:midt", "klynge:horsens")
"""The clusters whose councils the happy path asks, two clusters at a time."""

ALL_TYPES = ("AgreementInitiated", *m.STEPS)
"""Every fact type of Process 1 (an initiation of an existing subject: duplicate-subject)."""

RANDOM_TYPES = tuple(t for t in ALL_TYPES for _ in range(1 if t == "AgreementWithdrawn" else 3))
"""What ``random_fact`` draws: a withdrawal ends an agreement, so it comes a third as often."""

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


def distinct(pool: Sequence[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True)


class AgreementMachine(RuleBasedStateMachine):
    """Random Process 1 facts through the real application, checked against the model."""

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
        self.changed: set[str] = set()

    # -- helpers ---------------------------------------------------------------------

    def state(self, subject: str) -> m.State | None:
        return m.fold(m.effective(self.records.get(subject, [])))

    def draw_on(self, data: st.DataObject) -> str:
        """Mostly a few days on; sometimes back, a whole month, or past today."""
        roll = data.draw(st.integers(0, 99), label="date kind")
        if roll < 78:
            day = self.cursor + dt.timedelta(days=data.draw(st.integers(0, 7)))
        elif roll < 90:
            day = self.cursor - dt.timedelta(days=data.draw(st.integers(1, 60)))
        elif roll < 95:
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
        today = self.clock.next_day()
        expected = m.decide(records, fact, today)
        try:
            self.app.record(fact)
            actual = m.ACCEPTED
        except RuleViolation as exc:
            actual = exc.code
        assert actual in expected, (
            f"{fact!r}\n  the model expects {sorted(expected)}, the application said {actual!r}"
            + explain_correction(records, fact, today)
        )
        self.changed.add(subject)
        event(f"outcome: {actual}")
        if actual == m.ACCEPTED:
            records.append(fact)
            self.cursor = max(self.cursor, m.on(fact).first)
        return actual

    def build(
        self, type_name: str, subject: str, by: str, data: st.DataObject, *, good: bool
    ) -> Fact:
        """A fact of ``type_name``; its own keys drawn from the good pools, or from
        pools that also hold unknown ids when ``good`` is false."""
        kw: dict[str, Any] = {"subject": subject, "on": self.draw_on(data), "by": by}
        state = self.state(subject)
        match type_name:
            case "AgreementInitiated":
                focus: tuple[str, ...] = ("forebyggelse", "ældre")
                if not good and data.draw(st.integers(0, 9), label="bad focus") == 0:
                    focus = ("sport",)  # not a focus area: bad-record
                kw |= {
                    "title": "Aftale",
                    "origin": "own_initiative",
                    "focus_areas": data.draw(distinct(focus)),
                }
            case "KommissoriumApproved":
                kw |= {
                    "delivery": data.draw(st.sampled_from(["cluster", "working_group"])),
                    "general_practice_tasks": data.draw(st.booleans()),
                    "changes_task_allocation": data.draw(st.booleans()),
                }
            case "ClusterAssigned":
                offered = tuple(state.offers) if state is not None else ()
                pool: tuple[str, ...] = CLUSTER_FIELD if good else CLUSTER_FIELD + BAD_CLUSTER_FIELD
                if good and offered and data.draw(st.integers(0, 4), label="not offered") > 0:
                    pool = offered
                kw["cluster"] = data.draw(st.sampled_from(pool))
            case "WorkingGroupEstablished":
                kw["group"] = data.draw(st.sampled_from(GROUPS if good else GROUPS + BAD_GROUPS))
                members = MEMBERS if good else MEMBERS + BAD_MEMBERS
                kw["members"] = data.draw(distinct(members))
            case "DraftSubmitted":
                kw["triple_aim"] = data.draw(st.booleans())
            case "DraftSentForComments":
                kw["parties"] = data.draw(distinct(PARTIES if good else PARTIES + BAD_PARTIES))
                kw["deadline"] = "2030-01-01"
            case "ApprovedBySSG":
                kw["evaluate_after_months"] = data.draw(st.sampled_from([None, 12]))
            case "ReturnedBySSG" | "ReturnedBySKU" | "RejectedByCouncil" | "AgreementWithdrawn":
                kw["reason"] = "Begrundelse"
            case "EvaluationScheduled":
                kw["due"] = "2025-06"
            case "Evaluated":
                kw["findings"] = "Virker."
            case _:
                pass
        return FACT_TYPES[type_name](**kw)

    # -- rules ---------------------------------------------------------------------

    def last_subject_got_going(self) -> bool:
        """True when the latest subject is past its first steps (or never started):
        a new agreement waits, so that agreements get far."""
        last = self.records.get(f"{self.prefix}-a{self.keys}", [])
        return not last or len(last) >= 8

    def new_key(self) -> str:
        self.keys += 1
        return f"{self.prefix}-a{self.keys}"

    def start_changes(self) -> None:
        self.changed = set()

    @initialize(target=subjects, data=st.data())
    def first_agreement(self, data: st.DataObject) -> str:
        self.start_changes()
        key = self.new_key()
        fact = self.build("AgreementInitiated", key, "SSG", data, good=True)
        self.attempt(attrs.evolve(fact, on=self.cursor.isoformat()))
        return key

    @precondition(lambda self: self.keys < 3 and self.last_subject_got_going())
    @rule(target=subjects, data=st.data())
    def initiate(self, data: st.DataObject) -> str:
        """A new subject, by SSG or SKU mostly (any body sometimes)."""
        self.start_changes()
        key = self.new_key()
        self.attempt(
            self.build(
                "AgreementInitiated",
                key,
                self.draw_by("AgreementInitiated", data, share=8),
                data,
                good=False,
            )
        )
        return key

    @rule(subject=subjects, data=st.data(), steps=st.integers(1, 25))
    def advance(self, subject: str, data: st.DataObject, steps: int) -> None:
        """Take up to ``steps`` of the steps that come next, by the body that should."""
        self.start_changes()
        for _ in range(steps):
            state = self.state(subject)
            if state is None:
                return
            choices = next_steps(state)
            if not choices:
                return
            type_name, by = data.draw(st.sampled_from(choices), label="next step")
            self.attempt(self.build(type_name, subject, by, data, good=True))

    @rule(subject=subjects, data=st.data())
    def random_fact(self, subject: str, data: st.DataObject) -> None:
        """Any step by any body, with ids from pools that also hold unknown ones."""
        self.start_changes()
        type_name = data.draw(st.sampled_from(RANDOM_TYPES))
        by = self.draw_by(type_name, data)
        self.attempt(self.build(type_name, subject, by, data, good=False))

    @precondition(lambda self: any(self.records.values()))
    @rule(subject=subjects, data=st.data())
    def correct(self, subject: str, data: st.DataObject) -> None:
        """Retract a fact, or replace it by the same fact on another day (maybe by an alias)."""
        self.start_changes()
        records = self.records[subject]
        plain = [n for n, r in enumerate(records, 1) if not isinstance(r, FactCorrected)]
        roll = data.draw(st.integers(0, 9), label="target")
        if plain and roll > 0:  # mostly one of the last few facts, which can change alone
            position = data.draw(st.sampled_from(plain[-3:] if roll > 4 else plain))
        else:  # a correction, or past the end: bad-record
            position = data.draw(st.integers(1, len(records) + 1), label="corrects")
        replacement: Fact | None = None
        if position <= len(records) and data.draw(st.booleans(), label="replace"):
            target = records[position - 1]
            if isinstance(target, FactCorrected):
                target = records[0]
            shift = dt.timedelta(days=data.draw(st.integers(-5, 5), label="shift"))
            changes: dict[str, Any] = {"on": (m.on(target).first + shift).isoformat()}
            alias = ALIAS_OF.get(target.by)
            if alias is not None and data.draw(st.booleans(), label="by alias"):
                changes["by"] = alias
            replacement = attrs.evolve(target, **changes)
        by = data.draw(st.sampled_from(("SAS", "SSG", "Fællessekretariatet", "SSU")))
        self.attempt(
            FactCorrected(
                subject=subject,
                on=self.draw_on(data),
                by=by,
                corrects=position,
                reason="Fejlregistrering",
                replacement=replacement,
            )
        )

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def history_is_the_accepted_facts(self) -> None:
        """``app.history`` holds exactly the accepted facts, in order, ids canonical."""
        for subject in self.changed:
            records = self.records[subject]
            if not records:
                with pytest.raises(RuleViolation) as info:
                    self.app.history(subject)
                assert info.value.code == "unknown-subject"
                continue
            history = self.app.history(subject)
            stored = [stored_view(e.fact) for e in history]
            expected = [expected_view(r) for r in records]
            assert stored == expected, first_difference(stored, expected)
            assert [e.in_force for e in history] == expected_in_force(records)

    @invariant()
    def report_matches_model(self) -> None:
        """``app.agreement`` reports what the model's fold of the facts in force says."""
        for subject in self.changed:
            state = self.state(subject)
            if state is None:
                continue
            report = self.app.agreement(subject)
            got = (
                report.status,
                report.councils_approved,
                report.councils_rejected,
                report.clusters_implementing,
                report.clusters_implemented,
            )
            assert got == (
                state.status,
                state.councils_approved,
                state.councils_rejected,
                state.clusters_implementing,
                state.clusters_implemented,
            ), subject

    @invariant()
    def process_rules_hold_in_the_store(self) -> None:
        """The issue's invariants, over the facts the application keeps in force."""
        for subject in self.changed:
            if self.records[subject]:
                check_process_invariants([e.fact for e in self.app.effective(subject)])

    def teardown(self) -> None:
        """At the end, every subject once more (a write to the wrong subject shows here)."""
        self.changed = set(self.records)
        self.history_is_the_accepted_facts()
        self.report_matches_model()
        self.process_rules_hold_in_the_store()


ALIAS_OF = {canonical: alias for alias, canonical in m.ALIASES.items()}


def next_steps(state: m.State) -> list[tuple[str, str]]:
    """The steps the model says may come next, each with a body that may take it."""
    out: list[tuple[str, str]] = []
    status = state.status
    drafter = state.drafter or "SAS"
    # The economy is clarified only when SSG is about to approve, and PPU agrees only
    # once SKU approved, so that SSG approval and implementation sometimes come first.
    if status == m.SUBMITTED and state.changes_task_allocation and state.economy_on is None:
        out.append(("EconomicConsequencesClarified", "SAS"))
    ready = [
        c
        for c in m.CLUSTERS
        if c not in state.started and all(state.approved_by(x) for x in m.COUNCILS_FOR[c])
    ]
    if ready and state.general_practice_tasks and state.practice_on is None:
        out.append(("PracticeTasksAgreed", "PPU"))
    match status:
        case m.INITIATED:
            out.append(("KommissoriumApproved", "SSG"))
        case m.COMMISSIONED if state.delivery == "cluster":
            out += [("ClusterOffered", c) for c in CLUSTER_FIELD[:3] if c not in state.offers]
            out.append(("ClusterAssigned", "SSG"))
        case m.COMMISSIONED:
            out.append(("WorkingGroupEstablished", "SAS"))
        case m.ASSIGNED:
            out.append(("DraftSubmitted", drafter))
        case m.DRAFTED:
            out.append(("DraftCoordinated", "SAS"))
        case m.COORDINATED:
            out.append(("DraftSentForComments", "SAS"))
        case m.IN_COMMENTS:
            if len(state.comments) < 3:
                out += [("CommentReceived", p) for p in sorted(state.parties)]
            out.append(("DraftRevised", drafter))
        case m.REVISED:
            out += [("SubmittedForApproval", drafter), ("SubmittedForApproval", "SAS")]
        case m.SUBMITTED:
            out += [("ApprovedBySSG", "SSG")] * 3 + [("ReturnedBySSG", "SSG")]
        case m.RETURNED:
            out.append(("DraftRevised", drafter))
        case m.SSG_APPROVED:
            out += [("ApprovedBySKU", "SKU")] * 3
            out.append(("ReturnedBySKU", "SKU"))
        case m.APPROVED:
            waiting = [
                [x for x in m.COUNCILS_FOR[c] if x not in state.councils] for c in HAPPY_CLUSTERS
            ]
            undecided = list(dict.fromkeys(x for xs in [w for w in waiting if w][:2] for x in xs))
            out += [("ApprovedByCouncil", c) for c in undecided]
            out += [("RejectedByCouncil", c) for c in undecided[:1]]
            out += [("ImplementationStarted", c) for c in ready]
            out += [("Implemented", c) for c in state.clusters_implementing]
            if state.implemented and not state.evaluations:
                out.append(("Evaluated", "SSG"))
        case _:
            pass
    return out


def explain_correction(records: Sequence[Fact], fact: Fact, today: dt.date) -> str:
    """For a correction: which facts in force the model would refuse after it."""
    if not isinstance(fact, FactCorrected) or not records:
        return ""
    found = m.replay(m.effective([*records, fact]), today)
    return "".join(f"\n  in force #{n}: {sorted(got)} for {x!r}" for n, x, got in found)


def view(fact: Fact, ident: Callable[[str], str | None]) -> tuple[object, ...]:
    """What matters of a fact for the audit, with its ids passed through ``ident``
    (a list of ids names each once: an alias and its id are one party)."""
    match fact:
        case FactCorrected():
            extra: object = (fact.corrects, fact.replacement and view(fact.replacement, ident))
        case f.ClusterAssigned():
            extra = ident(fact.cluster)
        case f.WorkingGroupEstablished():
            extra = (ident(fact.group), tuple(dict.fromkeys(ident(x) for x in fact.members)))
        case f.DraftSentForComments():
            extra = tuple(dict.fromkeys(ident(x) for x in fact.parties))
        case _:
            extra = None
    return (fact.TYPE, ident(fact.by), fact.on.text, extra)


def first_difference(got: Sequence[object], expected: Sequence[object]) -> str:
    for n, (x, y) in enumerate(zip(got, expected, strict=False), start=1):
        if x != y:
            return f"#{n}: stored {x!r}, expected {y!r}"
    return f"stored {len(got)} facts, expected {len(expected)}"


def stored_view(fact: Fact) -> tuple[object, ...]:
    """A fact as the application keeps it."""
    return view(fact, lambda ident: ident)


def expected_view(fact: Fact) -> tuple[object, ...]:
    """What the store should keep of an accepted fact: every id made canonical
    (a correction's replacement too)."""
    return view(fact, m.canonical)


def expected_in_force(records: Sequence[Fact]) -> list[bool]:
    corrected = {r.corrects for r in records if isinstance(r, FactCorrected)}
    return [
        isinstance(r, FactCorrected) or position not in corrected
        for position, r in enumerate(records, start=1)
    ]


def check_process_invariants(facts: Sequence[Fact]) -> None:
    """The invariants of the issue, checked directly on a history in force."""
    registry = Registry.default()
    seen: list[Fact] = []
    decided: set[str] = set()
    withdrawn = False
    for fact in facts:
        assert not withdrawn, f"{fact.TYPE} recorded after AgreementWithdrawn"
        if isinstance(fact, f.ApprovedBySKU):
            gate = [
                x for x in seen if x.TYPE in ("ApprovedBySSG", "ReturnedBySSG", "ReturnedBySKU")
            ]
            assert gate and gate[-1].TYPE == "ApprovedBySSG", "SKU approved without SSG before it"
        if isinstance(fact, f.ApprovedByCouncil | f.RejectedByCouncil):
            assert any(x.TYPE == "ApprovedBySKU" for x in seen), "council before SKU approval"
            assert fact.by not in decided, f"{fact.by} decided twice"
            decided.add(fact.by)
        if isinstance(fact, f.ImplementationStarted):
            approved = {x.by for x in seen if isinstance(x, f.ApprovedByCouncil)}
            missing = set(registry.councils_for(fact.by)) - approved
            assert not missing, f"{fact.by} implemented before {sorted(missing)} approved"
        if isinstance(fact, f.AgreementWithdrawn):
            withdrawn = True
        seen.append(fact)


# -- the tests -------------------------------------------------------------------------

STEP_COUNT = 50
EXAMPLES_SHARE = {"memory": 1.0, "sqlite": 0.75, "postgres": 0.6}
"""The share of the profile's ``max_examples`` each backend runs (the rules are the
same everywhere; the slower stores check that the store keeps what was decided)."""


def run_machine(url: str, kind: str) -> None:
    """Run the machine on one store; each example gets its own subject keys and clock."""
    clock = SwitchableClock()
    app = Saftale.open(url, recorded_by="stateful", clock=clock)
    prefixes = itertools.count()

    def factory() -> AgreementMachine:
        return AgreementMachine(app, clock, f"{kind}{next(prefixes)}")

    try:
        run_state_machine_as_test(
            factory,  # type: ignore[arg-type]  # any callable that makes a machine will do
            settings=settings(
                max_examples=max(5, int(settings().max_examples * EXAMPLES_SHARE[kind])),
                stateful_step_count=STEP_COUNT,
            ),
        )
    finally:
        app.close()


def test_agreement_process_against_model(backend: str, store_url: str) -> None:
    run_machine(store_url, backend)


# -- disagreements found by the machine, as focused examples -------------------------------


def test_withdrawal_is_dated_against_every_fact_in_force() -> None:
    """Nothing follows a withdrawal (DOMAIN.md), so it cannot lie before a fact it ends.

    Two councils approve after SKU; the one recorded first met later.  A withdrawal
    dated between the two meetings lies before Viborg's approval, which it follows:
    ``date-before-previous``.  The application compares it with Aarhus's approval
    only (the last one recorded) and accepts it.
    """
    with Saftale.open(":memory:", recorded_by="test", clock=Clock()) as app:
        approved = until(agreement_path("s"), "ApprovedByCouncil")
        for fact in approved:
            app.record(fact)
        sku = approved[-1].on.start
        app.record(f.ApprovedByCouncil(subject="s", on=sku + dt.timedelta(60), by="byraad:viborg"))
        app.record(f.ApprovedByCouncil(subject="s", on=sku + dt.timedelta(10), by="byraad:aarhus"))
        with pytest.raises(RuleViolation) as refused:
            app.record(
                f.AgreementWithdrawn(
                    subject="s", on=sku + dt.timedelta(30), by="SSG", reason="Opgivet"
                )
            )
        assert refused.value.code == "date-before-previous"
