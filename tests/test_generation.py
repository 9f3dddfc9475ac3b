"""The health agreement's own generation, and kommissorier as documents.

For every rule of :data:`saftale_core.GENERATION` a refusing and an allowing test: the
phases in their order, SSG then SKU on each version, the consultation between them, the
councils after SKU's final approval and each only once, taking effect only when all have
approved, amendments only once in force, the content guards (goal, first focus, indicator,
measurement), the shape of national goals and measured values, follow-up only once in
force, who may record each step (derived from the table), dates in the future and unknown
subjects.  Then the example history ``examples/generation-2019-2023.jsonl`` with its real
dates (DOMAIN.md, seeds 000/001/003) and its follow-up on chosen days, and the kommissorium
rules (seed 004).

Rule tests run on an in-memory store (they are parametrised many times); tests where the
store matters (import, read-back of ``null``, lookups of other subjects) use the ``app``
fixture on every backend.  The clock records on 2024-01-01.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from saftale_core import (
    GENERATION,
    AgreementState,
    FactCorrected,
    FollowUp,
    GenerationState,
    Obligation,
    Recorded,
    Registry,
    RuleViolation,
    Saftale,
)
from saftale_core import facts as f
from saftale_core.dates import Period
from saftale_core.facts import Fact
from saftale_core.generation import (
    AMENDMENT_SSG,
    CONSULTATION_APPROVED,
    CONSULTATION_SSG,
    CONSULTED,
    FINAL_APPROVED,
    FINAL_SSG,
    IN_FORCE,
    INITIATED,
    PHASES,
    STATUSES,
    VERSION_STEPS,
    ActivityHeld,
    ActivityPlanned,
    ConsultationHeld,
    FirstFocusSet,
    FocusAreaSet,
    FollowUpReportSent,
    GenerationInitiated,
    GenerationTookEffect,
    GoalSet,
    IndicatorMeasured,
    IndicatorSet,
    Phase,
    PhaseStarted,
    PrincipleSet,
    StatusReportSent,
    Version,
    VersionApproved,
    VisionSet,
)
from saftale_core.kommissorium import KommissoriumRecorded, KommissoriumState, TimetableRow
from saftale_core.process import ANY, Context, Step
from tests.support import Clock, agreement_path, first, until, with_

REG = Registry.default()
S = "sundhedsaftale-test"
G = "sundhedsaftale-2019-2023"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "generation-2019-2023.jsonl"
STEPS: dict[str, Step[Any, Any]] = {s.fact.TYPE: s for s in GENERATION.all_steps}
OTHER_GROUP = "arbejdsgruppe:en-anden-gruppe"
TODAY = "2024-01-01"
"""The clock's day (tests.support.START)."""
TOMORROW = "2024-01-02"


# -- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def mem(clock: Clock) -> Iterator[Saftale]:
    """An in-memory store, for rule tests parametrised many times."""
    saftale = Saftale.open(":memory:", recorded_by="test", clock=clock)
    yield saftale
    saftale.close()


def stored(app: Saftale) -> list[Recorded]:
    return list(app.all_records())


def refused(app: Saftale, fact: Fact, code: str) -> RuleViolation:
    """Record ``fact``, expect the refusal ``code`` naming subject and fact, nothing recorded."""
    before = stored(app)
    with pytest.raises(RuleViolation) as info:
        app.record(fact)
    exc = info.value
    assert exc.code == code, exc.message
    assert exc.subject == fact.subject
    assert exc.fact_type == fact.TYPE
    assert stored(app) == before
    return exc


def accepted(app: Saftale, fact: Fact) -> Fact:
    """Record ``fact``, expect it stored without a warning; return it as stored."""
    before = len(stored(app))
    receipt = app.record(fact)
    assert receipt.warnings == ()
    assert len(stored(app)) == before + 1
    return receipt.fact


def make(cls: type[Fact], on: str, by: str, subject: str = S, **kw: Any) -> Fact:
    return cls(subject=subject, on=on, by=by, **kw)


def initiated(subject: str = S) -> Fact:
    return make(
        GenerationInitiated,
        "2017-10-02",
        "SSG",
        subject,
        title="Sundhedsaftalen 2019-2023",
        number=4,
        period="2019/2023",
    )


def making(subject: str = S) -> list[Fact]:
    """A whole generation, from initiation to follow-up, in order (dates after seeds 000/001)."""
    out = [
        initiated(subject),
        make(PhaseStarted, "2017-10-02", "SAS", subject, phase="foranalyse"),
        make(
            ActivityPlanned,
            "2018-03-01",
            "SAS",
            subject,
            activity="politisk-kick-off",
            what="Politisk kick-off",
            when=["2018-05-28/2018-06-08"],
            phase="politisk-fase",
            when_text="Ultimo maj-primo juni 2018",
        ),
        make(PhaseStarted, "2018-04-03", "SAS", subject, phase="politisk-fase"),
        make(ActivityHeld, "2018-06-01", "PIU", subject, activity="politisk-kick-off"),
        make(PhaseStarted, "2018-08", "SAS", subject, phase="udviklings-og-skrivefase"),
        make(
            VisionSet,
            "2018-09-27",
            "SKU",
            subject,
            vision="mere-lighed-i-sundhed",
            text="Mere lighed i sundhed – socialt og geografisk",
        ),
        make(
            FocusAreaSet,
            "2018-09-27",
            "SKU",
            subject,
            focus_area="forebyggelse",
            name="Fælles investering i forebyggelse",
        ),
        make(
            FirstFocusSet,
            "2018-09-27",
            "SKU",
            subject,
            focus_area="forebyggelse",
            focus="Rygning",
        ),
        make(
            GoalSet,
            "2018-09-27",
            "SKU",
            subject,
            goal="faerre-dagligrygere",
            focus_area="forebyggelse",
            text="Vi vil nedbringe antallet af dagligrygere i Region Midtjylland.",
        ),
        make(
            IndicatorSet,
            "2018-09-27",
            "SKU",
            subject,
            indicator="antal-dagligrygere",
            goal="faerre-dagligrygere",
            name="Antal dagligrygere",
            cadence_months=48,
            national_goals=[7],
        ),
        make(PrincipleSet, "2018-09-27", "SKU", subject, principle="oekonomi", name="Økonomi"),
        make(VersionApproved, "2018-11-23", "SSG", subject, version="consultation"),
        make(VersionApproved, "2018-12-11", "SKU", subject, version="consultation"),
        make(PhaseStarted, "2019-01-02", "SAS", subject, phase="hoeringsfase"),
        make(ConsultationHeld, "2019-01/2019-02", "SAS", subject),
        make(PhaseStarted, "2019-03-01", "SAS", subject, phase="godkendelsesfase"),
        make(VersionApproved, "2019-04-03", "SSG", subject, version="final"),
        make(VersionApproved, "2019-04-30", "SKU", subject, version="final"),
    ]
    start = dt.date(2019, 5, 2)
    out += [
        make(f.ApprovedByCouncil, (start + dt.timedelta(days=i)).isoformat(), council, subject)
        for i, council in enumerate(REG.councils)
    ]
    out += [
        make(GenerationTookEffect, "2019-07-01", "SKU", subject),
        make(VersionApproved, "2019-10-08", "SSG", subject, version="amendment"),
        make(VersionApproved, "2019-10-29", "SKU", subject, version="amendment"),
        make(
            IndicatorMeasured,
            "2020-02-11",
            "SAS",
            subject,
            indicator="antal-dagligrygere",
            period="2017",
            value=16.5,
            source="Hvordan har du det? 2017 (test value)",
        ),
        make(FollowUpReportSent, "2020-02-25", "SKU", subject, period="2019-07/2019-12"),
        make(StatusReportSent, "2021-09-21", "SKU", subject, kind="midterm", as_of="2021-07-01"),
    ]
    return out


def fold(facts: list[Fact]) -> GenerationState:
    state = GENERATION.fold(facts, REG)
    assert isinstance(state, GenerationState)
    return state


def at_status(status: str, subject: str = S) -> list[Fact]:
    """The shortest start of :func:`making` after which the generation has ``status``."""
    path = making(subject)
    for i in range(1, len(path) + 1):
        if fold(path[:i]).status == status:
            return path[:i]
    raise LookupError(status)


def after(facts: list[Fact], days: int = 1) -> str:
    """A day ``days`` after the last of ``facts`` ends."""
    return (facts[-1].on.end + dt.timedelta(days=days)).isoformat()


def state(app: Saftale, subject: str = S) -> GenerationState:
    return app.generation(subject)


# -- the phases --------------------------------------------------------------------------------

PHASE_DAYS = ["2017-10-02", "2018-04-03", "2018-08-01", "2019-01-02", "2019-03-01"]


def phases(started: int, subject: str = S) -> list[Fact]:
    return [initiated(subject)] + [
        make(PhaseStarted, PHASE_DAYS[i], "SAS", subject, phase=PHASES[i]) for i in range(started)
    ]


@pytest.mark.parametrize("started", range(len(PHASES) + 1))
@pytest.mark.parametrize("phase", list(Phase))
def test_only_the_next_phase_may_start(mem: Saftale, started: int, phase: Phase) -> None:
    mem.record_many(phases(started))
    fact = make(PhaseStarted, "2019-06-03", "SAS", phase=phase)
    if started < len(PHASES) and phase is PHASES[started]:
        accepted(mem, fact)
        assert state(mem).phase is phase
    else:
        exc = refused(mem, fact, "out-of-order")
        assert phase.value in exc.detail


def test_a_skipped_phase_is_out_of_order(mem: Saftale) -> None:
    mem.record_many(phases(1))
    refused(
        mem,
        make(PhaseStarted, "2018-08-01", "SAS", phase="udviklings-og-skrivefase"),
        "out-of-order",
    )
    accepted(mem, make(PhaseStarted, "2018-04-03", "SAS", phase="politisk-fase"))
    accepted(mem, make(PhaseStarted, "2018-08-01", "SAS", phase="udviklings-og-skrivefase"))


def test_a_repeated_phase_is_out_of_order(mem: Saftale) -> None:
    mem.record_many(phases(2))
    refused(mem, make(PhaseStarted, "2018-05-01", "SAS", phase="politisk-fase"), "out-of-order")
    refused(mem, make(PhaseStarted, "2018-05-01", "SAS", phase="foranalyse"), "out-of-order")


def test_no_phase_after_the_last(mem: Saftale) -> None:
    mem.record_many(phases(len(PHASES)))
    exc = refused(mem, make(PhaseStarted, "2019-06-03", "SAS", phase="foranalyse"), "out-of-order")
    assert "the last has begun" in exc.detail
    assert [p for p, _ in state(mem).phases] == list(PHASES)


def test_a_phase_cannot_start_before_the_one_before_it(mem: Saftale) -> None:
    mem.record_many(phases(1))  # foranalyse on 2017-10-02
    fact = make(PhaseStarted, "2017-09-30", "SAS", phase="politisk-fase")
    refused(mem, fact, "date-before-previous")
    accepted(mem, with_(fact, on="2017-10"))  # the same month may be the same or a later day


# -- the versions: SSG, then SKU ---------------------------------------------------------------


@pytest.mark.parametrize("by", ["SSG", "SKU"])
@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("status", list(STATUSES))
def test_version_approvals_follow_the_table(
    mem: Saftale, status: str, version: Version, by: str
) -> None:
    prefix = at_status(status)
    mem.record_many(prefix)
    fact = make(VersionApproved, after(prefix), by, version=version)
    to = VERSION_STEPS.get((status, version, by))
    if to is None:
        refused(mem, fact, "out-of-order")
        assert state(mem).status == status
    else:
        accepted(mem, fact)
        assert state(mem).status == to


def test_sku_before_ssg_is_out_of_order(mem: Saftale) -> None:
    mem.record(initiated())
    sku = make(VersionApproved, "2018-12-11", "SKU", version="consultation")
    exc = refused(mem, sku, "out-of-order")
    assert "SSG approves first" in exc.detail
    accepted(mem, make(VersionApproved, "2018-11-23", "SSG", version="consultation"))
    accepted(mem, sku)
    assert state(mem).status == CONSULTATION_APPROVED


def test_sku_before_ssg_on_the_final_version_is_out_of_order(mem: Saftale) -> None:
    mem.record_many(at_status(CONSULTED))
    sku = make(VersionApproved, "2019-04-30", "SKU", version="final")
    refused(mem, sku, "out-of-order")
    accepted(mem, make(VersionApproved, "2019-04-03", "SSG", version="final"))
    accepted(mem, sku)
    assert state(mem).status == FINAL_APPROVED


def test_the_final_version_waits_for_the_consultation(mem: Saftale) -> None:
    mem.record_many(at_status(CONSULTATION_APPROVED))
    final = make(VersionApproved, "2019-04-03", "SSG", version="final")
    refused(mem, final, "out-of-order")
    accepted(mem, make(ConsultationHeld, "2019-01/2019-02", "SAS"))
    accepted(mem, final)
    assert state(mem).status == FINAL_SSG


@pytest.mark.parametrize("status", [INITIATED, CONSULTATION_SSG])
def test_the_consultation_waits_for_skus_approval_of_the_consultation_version(
    mem: Saftale, status: str
) -> None:
    mem.record_many(at_status(status))
    held = make(ConsultationHeld, "2019-01/2019-02", "SAS")
    refused(mem, held, "out-of-order")
    if status == INITIATED:
        accepted(mem, make(VersionApproved, "2018-11-23", "SSG", version="consultation"))
    accepted(mem, make(VersionApproved, "2018-12-11", "SKU", version="consultation"))
    accepted(mem, held)
    now = state(mem)
    assert now.status == CONSULTED
    assert now.consultation is not None and now.consultation.text == "2019-01/2019-02"


def test_the_consultation_is_held_once(mem: Saftale) -> None:
    mem.record_many(at_status(CONSULTED))
    refused(mem, make(ConsultationHeld, "2019-03", "SAS"), "out-of-order")


@pytest.mark.parametrize("status", [INITIATED, CONSULTED, FINAL_SSG, FINAL_APPROVED])
def test_an_amendment_only_once_in_force(mem: Saftale, status: str) -> None:
    prefix = at_status(status)
    mem.record_many(prefix)
    refused(mem, make(VersionApproved, after(prefix), "SSG", version="amendment"), "out-of-order")


def test_an_amendment_goes_to_ssg_then_sku(mem: Saftale) -> None:
    mem.record_many(at_status(IN_FORCE))
    sku = make(VersionApproved, "2019-10-29", "SKU", version="amendment")
    refused(mem, sku, "out-of-order")
    accepted(mem, make(VersionApproved, "2019-10-08", "SSG", version="amendment"))
    assert state(mem).status == AMENDMENT_SSG
    accepted(mem, sku)
    assert state(mem).status == IN_FORCE
    # a second amendment goes the same way
    accepted(mem, make(VersionApproved, "2020-05-05", "SSG", version="amendment"))
    accepted(mem, make(VersionApproved, "2020-05-26", "SKU", version="amendment"))
    assert [v for v, _, _ in state(mem).approvals].count(Version.AMENDMENT) == 4


def test_a_version_approval_cannot_precede_the_step_it_follows(mem: Saftale) -> None:
    mem.record_many(at_status(CONSULTATION_SSG))  # SSG on 2018-11-23
    sku = make(VersionApproved, "2018-11-22", "SKU", version="consultation")
    refused(mem, sku, "date-before-previous")
    accepted(mem, with_(sku, on="2018-11-23"))


# -- the councils and taking effect ------------------------------------------------------------


@pytest.mark.parametrize("decision", ["ApprovedByCouncil", "RejectedByCouncil"])
@pytest.mark.parametrize("status", [INITIATED, CONSULTED, FINAL_SSG])
def test_a_council_decides_only_after_skus_final_approval(
    mem: Saftale, status: str, decision: str
) -> None:
    prefix = at_status(status)
    mem.record_many(prefix)
    kw: dict[str, Any] = {"reason": "Nej"} if decision == "RejectedByCouncil" else {}
    fact = make(f.FACT_TYPES[decision], "2019-05-15", "byraad:aarhus", **kw)
    refused(mem, fact, "out-of-order")


@pytest.mark.parametrize("decision", ["ApprovedByCouncil", "RejectedByCouncil"])
def test_a_council_decides_after_skus_final_approval(mem: Saftale, decision: str) -> None:
    mem.record_many(at_status(FINAL_APPROVED))
    kw: dict[str, Any] = {"reason": "Nej"} if decision == "RejectedByCouncil" else {}
    accepted(mem, make(f.FACT_TYPES[decision], "2019-05-15", "byraad:Århus", **kw))
    [only] = state(mem).councils
    assert only.council == "byraad:aarhus"
    assert only.approved is (decision == "ApprovedByCouncil")


@pytest.mark.parametrize(
    ("first_decision", "second"),
    [
        ("ApprovedByCouncil", "ApprovedByCouncil"),
        ("ApprovedByCouncil", "RejectedByCouncil"),
        ("RejectedByCouncil", "ApprovedByCouncil"),
        ("RejectedByCouncil", "RejectedByCouncil"),
    ],
)
def test_a_council_decides_once(mem: Saftale, first_decision: str, second: str) -> None:
    mem.record_many(at_status(FINAL_APPROVED))

    def decision(name: str, on: str, by: str) -> Fact:
        kw: dict[str, Any] = {"reason": "Nej"} if name == "RejectedByCouncil" else {}
        return make(f.FACT_TYPES[name], on, by, **kw)

    accepted(mem, decision(first_decision, "2019-05-15", "regionsraad"))
    refused(mem, decision(second, "2019-06-12", "regionsraad"), "council-twice")
    accepted(mem, decision(second, "2019-06-12", "byraad:samso"))


def test_taking_effect_waits_for_every_council(mem: Saftale) -> None:
    prefix = at_status(FINAL_APPROVED)
    councils = [x for x in making() if isinstance(x, f.ApprovedByCouncil)]
    mem.record_many([*prefix, *councils[:-1]])
    effect = make(GenerationTookEffect, "2019-07-01", "SKU")
    exc = refused(mem, effect, "out-of-order")
    assert exc.detail.endswith(councils[-1].by)
    accepted(mem, councils[-1])
    accepted(mem, effect)
    after_effect = state(mem)
    assert after_effect.status == IN_FORCE
    assert after_effect.in_force_on is not None
    assert after_effect.in_force_on.text == "2019-07-01"


def test_taking_effect_waits_for_the_regional_council(mem: Saftale) -> None:
    councils = [x for x in making() if isinstance(x, f.ApprovedByCouncil)]
    mem.record_many(at_status(FINAL_APPROVED) + [c for c in councils if c.by != "regionsraad"])
    exc = refused(mem, make(GenerationTookEffect, "2019-07-01", "SAS"), "out-of-order")
    assert "regionsraad" in exc.detail


def test_a_rejecting_council_keeps_it_from_taking_effect(mem: Saftale) -> None:
    councils = [x for x in making() if isinstance(x, f.ApprovedByCouncil)]
    rejection = make(f.RejectedByCouncil, "2019-06-20", "byraad:lemvig", reason="Økonomien")
    mem.record_many(
        [*at_status(FINAL_APPROVED), *[c for c in councils if c.by != "byraad:lemvig"], rejection]
    )
    exc = refused(mem, make(GenerationTookEffect, "2019-07-01", "SKU"), "out-of-order")
    assert "byraad:lemvig" in exc.detail


@pytest.mark.parametrize("status", [CONSULTED, FINAL_SSG])
def test_taking_effect_before_the_final_approval_is_out_of_order(mem: Saftale, status: str) -> None:
    mem.record_many(at_status(status))
    refused(mem, make(GenerationTookEffect, "2019-07-01", "SKU"), "out-of-order")


def test_taking_effect_cannot_precede_a_council_approval(mem: Saftale) -> None:
    mem.record_many(until(making(), "GenerationTookEffect"))  # the last council on 2019-05-21
    effect = make(GenerationTookEffect, "2019-05-20", "SKU")
    refused(mem, effect, "date-before-previous")
    accepted(mem, with_(effect, on="2019-05-21"))


def test_it_takes_effect_once(mem: Saftale) -> None:
    mem.record_many(at_status(IN_FORCE))
    refused(mem, make(GenerationTookEffect, "2019-08-01", "SKU"), "out-of-order")
    refused(mem, make(f.ApprovedByCouncil, "2019-08-01", "byraad:aarhus"), "out-of-order")


# -- next steps: who may take a step now -------------------------------------------------------

AWAITED_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "VersionApproved": [{"version": v} for v in Version],
    "ConsultationHeld": [{}],
    "ApprovedByCouncil": [{}],
    "RejectedByCouncil": [{"reason": "Nej"}],
    "GenerationTookEffect": [{}],
    "FollowUpReportSent": [{"period": "2019-07/2019-12"}],
    "StatusReportSent": [{"kind": "midterm", "as_of": "2021-07-01"}],
}
"""The steps that await someone (those that may follow only some statuses), each with the
ways it may be told."""
NOW = Context(REG, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def test_every_step_that_awaits_someone_is_sampled() -> None:
    assert set(AWAITED_SAMPLES) == {t for t, s in GENERATION.steps.items() if s.after is not ANY}


def _accepted_now(prefix: list[Fact], step: str, by: str) -> bool:
    """Whether the rules accept ``step`` of ``by`` after ``prefix``, told in some way, on
    the day after the last of ``prefix``."""
    now = fold(prefix)
    for kw in AWAITED_SAMPLES[step]:
        try:
            GENERATION.decide(now, make(f.FACT_TYPES[step], after(prefix), by, **kw), NOW)
        except RuleViolation:
            continue
        return True
    return False


def _rejected_by_lemvig() -> list[Fact]:
    return [
        make(f.RejectedByCouncil, str(x.on), x.by, reason="Økonomien")
        if isinstance(x, f.ApprovedByCouncil) and x.by == "byraad:lemvig"
        else x
        for x in until(making(), "GenerationTookEffect")
    ]


WAYS = [
    *(pytest.param(making()[:n], id=f"{n}-facts") for n in range(1, len(making()) + 1)),
    pytest.param(_rejected_by_lemvig(), id="a-council-rejected"),
]


@pytest.mark.parametrize("prefix", WAYS)
def test_next_steps_name_whom_the_rules_accept_now(prefix: list[Fact]) -> None:
    """At every point of the making (and when a council rejected), the next steps name for
    each step exactly the bodies whose fact the rules accept now: SSG approves a version
    before SKU, it takes effect once every council approved (the inboxes show these)."""
    listed = {(n.fact_type, b) for n in GENERATION.next_steps(fold(prefix), REG) for b in n.who}
    accepted_now = {
        (step, body)
        for step in AWAITED_SAMPLES
        for body in REG.bodies
        if _accepted_now(prefix, step, body)
    }
    assert {(t, b) for t, b in listed if t in AWAITED_SAMPLES} == accepted_now


# -- content -----------------------------------------------------------------------------------

FOCUS = make(FocusAreaSet, "2018-09-27", "SKU", focus_area="aeldre", name="Sammen om ældre borgere")
GOAL = make(
    GoalSet,
    "2018-09-27",
    "SKU",
    goal="akut-syge-aeldre",
    focus_area="aeldre",
    text="Vi vil styrke samarbejdet om akut syge ældre.",
)
INDICATOR = make(
    IndicatorSet,
    "2018-09-27",
    "SKU",
    indicator="akutte-indlaeggelser-aeldre",
    goal="akut-syge-aeldre",
    name="Antal akutte indlæggelser blandt ældre",
)
MEASURED = make(
    IndicatorMeasured,
    "2020-02-11",
    "SAS",
    indicator="akutte-indlaeggelser-aeldre",
    period="2019-07/2019-12",
    value=100,
    source="test",
)
FIRST_FOCUS = make(FirstFocusSet, "2018-09-27", "SKU", focus_area="aeldre", focus="Akutområdet")

# step -> (its fact, the facts it needs in order; the last is what it hangs on directly)
NEEDS: dict[str, tuple[Fact, list[Fact]]] = {
    "GoalSet": (GOAL, [FOCUS]),
    "FirstFocusSet": (FIRST_FOCUS, [FOCUS]),
    "IndicatorSet": (INDICATOR, [FOCUS, GOAL]),
    "IndicatorMeasured": (MEASURED, [FOCUS, GOAL, INDICATOR]),
}
HANGS_ON = {
    "GoalSet": "focus_area",
    "FirstFocusSet": "focus_area",
    "IndicatorSet": "goal",
    "IndicatorMeasured": "indicator",
}


@pytest.mark.parametrize("step", list(NEEDS))
def test_content_needs_what_it_hangs_on(mem: Saftale, step: str) -> None:
    fact, needs = NEEDS[step]
    mem.record_many([initiated(), *needs[:-1]])
    exc = refused(mem, fact, "out-of-order")
    assert f"({needs[-1].TYPE})" in exc.detail
    accepted(mem, needs[-1])
    accepted(mem, fact)


@pytest.mark.parametrize("step", list(NEEDS))
def test_content_hanging_on_another_key_is_refused(mem: Saftale, step: str) -> None:
    fact, needs = NEEDS[step]
    mem.record_many([initiated(), *needs])
    refused(mem, with_(fact, **{HANGS_ON[step]: "noget-andet"}), "out-of-order")


def test_content_is_kept_per_key_and_the_last_wins(mem: Saftale) -> None:
    mem.record_many([initiated(), FOCUS, GOAL, INDICATOR])
    accepted(mem, with_(INDICATOR, cadence_months=12, on="2019-10-29"))
    accepted(mem, with_(FIRST_FOCUS, on="2018-12-11"))
    accepted(mem, with_(FIRST_FOCUS, focus="Genindlæggelser", on="2020-06-01"))
    now = state(mem)
    [indicator] = now.indicators
    assert indicator.cadence_months == 12
    assert now.current_first_focus("aeldre") == "Genindlæggelser"
    assert now.current_first_focus("aeldre", on=dt.date(2020, 5, 31)) == "Akutområdet"
    assert now.current_first_focus("aeldre", on=dt.date(2018, 12, 10)) is None


def test_an_activity_is_held_only_when_planned(mem: Saftale) -> None:
    path = making()
    plan = first(path, "ActivityPlanned")
    held = first(path, "ActivityHeld")
    mem.record(initiated())
    exc = refused(mem, held, "out-of-order")
    assert "ActivityPlanned" in exc.detail
    accepted(mem, plan)
    accepted(mem, held)
    assert state(mem).held == (("politisk-kick-off", held.on),)


# -- national goals and measured values: the shape of the facts --------------------------------


@pytest.mark.parametrize("bad", [0, 9, -1, True, "3", 2.0, None])
def test_national_goals_are_the_numbers_1_to_8(bad: object) -> None:
    with pytest.raises(RuleViolation) as info:
        with_(INDICATOR, national_goals=[1, bad])
    assert info.value.code == "bad-record"
    assert "national_goals" in info.value.detail


@pytest.mark.parametrize("bad", [0, 9, True, "3", 2.5])
def test_a_history_line_with_a_national_goal_outside_1_to_8_is_refused(
    mem: Saftale, bad: object
) -> None:
    mem.record_many([initiated(), FOCUS, GOAL])
    line = {
        "type": "IndicatorSet",
        "subject": S,
        "on": "2018-09-27",
        "by": "SKU",
        "indicator": "x",
        "goal": "akut-syge-aeldre",
        "name": "X",
        "national_goals": [bad],
    }
    result = mem.import_history([json.dumps(line)])
    assert [(n, e.code) for n, e in result.refusals] == [(1, "bad-record")]
    assert result.recorded == 0


@pytest.mark.parametrize("goals", [[], [1], [1, 2, 3, 4, 5, 6, 7, 8]])
def test_national_goals_1_to_8_are_accepted(mem: Saftale, goals: list[int]) -> None:
    mem.record_many([initiated(), FOCUS, GOAL])
    accepted(mem, with_(INDICATOR, national_goals=goals))
    assert state(mem).indicators[0].national_goals == tuple(goals)


def test_national_goals_that_are_not_a_list_are_a_bad_record() -> None:
    not_a_list: Any = 3
    with pytest.raises(RuleViolation) as info:
        with_(INDICATOR, national_goals=not_a_list)
    assert info.value.code == "bad-record"


@pytest.mark.parametrize("bad", ["12", True, False, [1], {"n": 1}])
def test_a_measured_value_is_a_number_or_null(mem: Saftale, bad: object) -> None:
    mem.record_many([initiated(), FOCUS, GOAL, INDICATOR])
    line = {
        "type": "IndicatorMeasured",
        "subject": S,
        "on": "2020-02-11",
        "by": "SAS",
        "indicator": "akutte-indlaeggelser-aeldre",
        "period": "2019-07/2019-12",
        "source": "test",
        "value": bad,
    }
    result = mem.import_history([json.dumps(line)])
    assert [(n, e.code) for n, e in result.refusals] == [(1, "bad-record")]
    if not isinstance(bad, list | dict):
        with pytest.raises(RuleViolation) as info:
            with_(MEASURED, value=bad)
        assert info.value.code == "bad-record"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param(-math.inf, id="-inf"),
    ],
)
def test_a_measured_value_that_is_not_a_finite_number_is_a_bad_record(bad: float) -> None:
    with pytest.raises(RuleViolation) as info:
        with_(MEASURED, value=bad)
    assert info.value.code == "bad-record"


@pytest.mark.parametrize("value", [0, 0.0, -3, 12.5, None])
def test_a_number_or_null_is_accepted(mem: Saftale, value: float | None) -> None:
    mem.record_many([initiated(), FOCUS, GOAL, INDICATOR])
    accepted(mem, with_(MEASURED, value=value))
    [measured] = state(mem).measurements
    assert measured.value == value
    assert (measured.value is None) is (value is None)


def test_no_data_is_kept_as_null_and_is_not_zero(app: Saftale) -> None:
    app.record_many([initiated(), FOCUS, GOAL, INDICATOR])
    app.record(with_(MEASURED, value=None, period="2019-07/2019-12", source="Ingen data"))
    app.record(with_(MEASURED, value=0, period="2020-01/2020-06", on="2020-08-11"))
    values = [m.value for m in state(app).measurements]
    assert values[0] is None
    assert values[1] == 0 and values[1] is not None
    # the history file keeps the difference too
    copy = Saftale.open(":memory:", recorded_by="test")
    result = copy.import_history(app.export_history())
    assert result.ok and result.recorded == 6
    assert [m.value for m in state(copy).measurements] == [None, 0]
    assert state(copy).measurements[0].value is None
    copy.close()


def test_a_measurement_may_come_before_the_generation_is_in_force(mem: Saftale) -> None:
    mem.record_many([initiated(), FOCUS, GOAL, INDICATOR])
    accepted(mem, with_(MEASURED, on="2018-10-01", period="2017"))  # a baseline
    assert state(mem).status == INITIATED


# -- follow-up only once in force --------------------------------------------------------------

REPORTS: dict[str, Fact] = {
    "FollowUpReportSent": make(FollowUpReportSent, "2020-02-25", "SKU", period="2019-07/2019-12"),
    "StatusReportSent": make(
        StatusReportSent, "2021-09-21", "SKU", kind="midterm", as_of="2021-07-01"
    ),
}


@pytest.mark.parametrize("status", [INITIATED, CONSULTED, FINAL_APPROVED])
@pytest.mark.parametrize("step", list(REPORTS))
def test_follow_up_before_it_is_in_force_is_out_of_order(
    mem: Saftale, step: str, status: str
) -> None:
    mem.record_many(at_status(status))
    refused(mem, REPORTS[step], "out-of-order")


@pytest.mark.parametrize("status", [IN_FORCE, AMENDMENT_SSG])
@pytest.mark.parametrize("step", list(REPORTS))
def test_follow_up_once_in_force(mem: Saftale, step: str, status: str) -> None:
    mem.record_many(at_status(status))
    accepted(mem, REPORTS[step])
    now = state(mem)
    assert len(now.reports) + len(now.status_reports) == 1


@pytest.mark.parametrize("step", list(REPORTS))
def test_follow_up_cannot_be_dated_before_it_took_effect(mem: Saftale, step: str) -> None:
    mem.record_many(at_status(IN_FORCE))  # in force on 2019-07-01
    refused(mem, with_(REPORTS[step], on="2019-06-30"), "date-before-previous")


# -- who may record what: derived from the table -----------------------------------------------


def every_id() -> list[str]:
    """Every listed body, council and cluster, and a working group."""
    return [*REG.bodies, OTHER_GROUP]


def not_named(step: str) -> list[str]:
    return [i for i in every_id() if not STEPS[step].who.allows(i, REG)]


def scenario(step: str, by: str | None = None, subject: str = S) -> tuple[list[Fact], Fact]:
    """(the facts before ``step``, its fact), by ``by`` when given; the step is in order."""
    path = making(subject)
    if step == "RejectedByCouncil":
        prefix, fact = scenario("ApprovedByCouncil", by, subject)
        return prefix, make(f.RejectedByCouncil, str(fact.on), fact.by, subject, reason="Nej")
    where = [i for i, x in enumerate(path) if x.TYPE == step]
    at = next((i for i in where if path[i].by == by), where[0])
    fact = path[at] if by is None else with_(path[at], by=by)
    return path[:at], fact


REFUSABLE = [s for s in STEPS if not_named(s)]


def test_every_step_is_in_the_scenario() -> None:
    assert {x.TYPE for x in making()} | {"RejectedByCouncil"} == set(STEPS)


@pytest.mark.parametrize("step", REFUSABLE)
def test_a_body_the_table_does_not_name_is_refused(mem: Saftale, step: str) -> None:
    prefix, fact = scenario(step)
    mem.record_many(prefix)
    bodies = not_named(step)
    assert fact.by not in bodies
    for body in bodies:
        exc = refused(mem, with_(fact, by=body), "not-authorised")
        assert body in exc.detail
        assert STEPS[step].who.text in exc.detail
    accepted(mem, fact)


def named(step: str) -> list[tuple[str, str]]:
    return [(step, body) for body in STEPS[step].who.bodies(REG)]


@pytest.mark.parametrize(("step", "body"), [p for s in STEPS for p in named(s)])
def test_every_body_the_table_names_is_accepted(mem: Saftale, step: str, body: str) -> None:
    prefix, fact = scenario(step, body)
    mem.record_many(prefix)
    assert accepted(mem, fact).by == body


def test_the_table_names_who_domain_md_says() -> None:
    """DOMAIN.md and seed 003: SSG then SKU approve versions, SAS runs the consultation, the
    councils approve for themselves, SKU follows up and sends the statuses."""
    who = {s: {i for i in every_id() if STEPS[s].who.allows(i, REG)} for s in STEPS}
    assert who["VersionApproved"] == {"SSG", "SKU"}
    assert who["ConsultationHeld"] == {"SAS"}
    assert who["ApprovedByCouncil"] == set(REG.councils)
    assert who["RejectedByCouncil"] == set(REG.councils)
    assert who["FollowUpReportSent"] == {"SKU"}
    assert who["StatusReportSent"] == {"SKU"}
    assert who["IndicatorMeasured"] == {"SAS"}
    assert who["GenerationInitiated"] == {"SSG", "SKU"}
    assert who["ActivityHeld"] == set(every_id())  # anyone may have held a planned activity
    others = set[str]().union(*(who[s] for s in who if s != "ActivityHeld"))
    assert "sundhedsstyrelsen" not in others  # it only receives the statuses


def test_an_id_outside_the_registry_is_unknown(mem: Saftale) -> None:
    prefix, fact = scenario("VersionApproved")
    mem.record_many(prefix)
    refused(mem, with_(fact, by="Sundhedsudvalget"), "unknown-body")


# -- dates in the future, unknown and duplicate subjects ---------------------------------------


@pytest.mark.parametrize("step", list(STEPS))
def test_a_fact_dated_after_it_is_recorded_is_refused(mem: Saftale, step: str) -> None:
    prefix, fact = scenario(step)
    mem.record_many(prefix)
    refused(mem, with_(fact, on=TOMORROW), "date-in-future")
    refused(mem, with_(fact, on="2024-01-02/2024-12-31"), "date-in-future")


@pytest.mark.parametrize("on", [TODAY, "2024-01", "2023-12-31/2024-06-30"])
def test_a_fact_dated_today_or_in_a_period_that_has_begun_is_accepted(
    mem: Saftale, on: str
) -> None:
    accepted(mem, with_(initiated(), on=on))
    accepted(mem, make(PhaseStarted, on, "SAS", phase="foranalyse"))


@pytest.mark.parametrize("step", [s for s in STEPS if s != "GenerationInitiated"])
def test_a_fact_for_a_subject_never_initiated_is_refused(mem: Saftale, step: str) -> None:
    _, fact = scenario(step, subject="ingen-saadan-sundhedsaftale")
    refused(mem, fact, "unknown-subject")


def test_asking_for_a_generation_that_does_not_exist(mem: Saftale) -> None:
    with pytest.raises(RuleViolation) as info:
        mem.generation("ingen-saadan-sundhedsaftale")
    assert info.value.code == "unknown-subject"
    mem.record_many(agreement_path("rygestop")[:2])
    with pytest.raises(RuleViolation) as other:
        mem.generation("rygestop")
    assert other.value.code == "unknown-subject"
    assert "not a health agreement generation" in other.value.detail


def test_a_generation_is_initiated_once(mem: Saftale) -> None:
    mem.record(initiated())
    refused(mem, with_(initiated(), on="2018-01-01"), "duplicate-subject")
    accepted(mem, initiated("sundhedsaftale-2024-2027"))


# -- the example history: real dates -----------------------------------------------------------

EXAMPLE_LINES = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def example() -> Iterator[Saftale]:
    """The example history in one in-memory store, shared by the read-only tests below."""
    saftale = Saftale.open(":memory:", recorded_by="test")
    result = saftale.import_history(EXAMPLE)
    assert result.ok, result.refusals
    yield saftale
    saftale.close()


def test_every_line_of_the_example_is_accepted(app: Saftale) -> None:
    result = app.import_history(EXAMPLE)
    assert [(n, e.code, e.detail) for n, e in result.refusals] == []
    assert result.warnings == ()
    assert result.recorded == result.checked == len(EXAMPLE_LINES) == 81
    again = app.import_history(EXAMPLE)
    assert again.ok and again.recorded == 0
    assert len(again.already_recorded) == len(EXAMPLE_LINES)


def test_the_real_dates_of_the_making(app: Saftale) -> None:
    app.import_history(EXAMPLE)
    now = app.generation(G)
    assert now.status == IN_FORCE
    assert (now.number, now.period.text) == (4, "2019/2023")
    assert [(p.value, on.text) for p, on in now.phases] == [
        ("foranalyse", "2017-10"),
        ("politisk-fase", "2018-04-03"),
        ("udviklings-og-skrivefase", "2018-08"),
        ("hoeringsfase", "2019-01"),
        ("godkendelsesfase", "2019-03"),
    ]
    assert [(v.value, by, on.text) for v, by, on in now.approvals] == [
        ("consultation", "SSG", "2018-11-23"),
        ("consultation", "SKU", "2018-12-11"),
        ("final", "SSG", "2019-03/2019-04"),
        ("final", "SKU", "2019-04-30"),
        ("amendment", "SSG", "2019-07-01/2019-10-28"),
        ("amendment", "SKU", "2019-10-29"),
    ]
    assert now.consultation is not None and now.consultation.text == "2019-01/2019-02"
    assert sorted(now.approving_councils) == sorted(REG.councils)
    assert {d.on.text for d in now.councils} == {"2019-05/2019-06"}
    assert now.in_force_on is not None and now.in_force_on.text == "2019-07-01"
    assert now.status_on.text == "2019-10-29"
    assert app.generation(G, as_of=dt.date(2019, 5, 1)).status == FINAL_APPROVED


@pytest.mark.parametrize(
    ("as_of", "status", "councils"),
    [
        (dt.date(2018, 11, 22), INITIATED, 0),
        (dt.date(2018, 11, 23), CONSULTATION_SSG, 0),
        (dt.date(2018, 12, 11), CONSULTATION_APPROVED, 0),
        (dt.date(2019, 2, 28), CONSULTED, 0),
        (dt.date(2019, 4, 29), CONSULTED, 0),  # SSG's "March-April" is certain only on 30 April
        (dt.date(2019, 4, 30), FINAL_APPROVED, 0),
        (dt.date(2019, 5, 1), FINAL_APPROVED, 0),
        (dt.date(2019, 6, 29), FINAL_APPROVED, 0),
        (dt.date(2019, 6, 30), FINAL_APPROVED, 20),
        (dt.date(2019, 7, 1), IN_FORCE, 20),
        (dt.date(2019, 10, 28), AMENDMENT_SSG, 20),
        (dt.date(2019, 10, 29), IN_FORCE, 20),
    ],
)
def test_the_generation_as_it_stood(
    example: Saftale, as_of: dt.date, status: str, councils: int
) -> None:
    then = example.generation(G, as_of=as_of)
    assert then.status == status
    assert len(then.approving_councils) == councils


def test_before_it_was_initiated_there_was_no_generation(example: Saftale) -> None:
    with pytest.raises(RuleViolation) as info:
        example.generation(G, as_of=dt.date(2017, 10, 30))
    assert info.value.code == "unknown-subject"


def test_the_first_focus_of_prevention_moves_from_smoking_to_overweight(
    example: Saftale,
) -> None:
    now = example.generation(G)
    assert now.current_first_focus("forebyggelse") == "Overvægt"
    assert now.current_first_focus("forebyggelse", on=dt.date(2018, 12, 10)) is None
    assert now.current_first_focus("forebyggelse", on=dt.date(2018, 12, 11)) == "Rygning"
    assert now.current_first_focus("forebyggelse", on=dt.date(2021, 12, 6)) == "Rygning"
    assert now.current_first_focus("forebyggelse", on=dt.date(2021, 12, 7)) == "Overvægt"
    before = example.generation(G, as_of=dt.date(2021, 12, 6))
    assert before.current_first_focus("forebyggelse") == "Rygning"
    assert now.current_first_focus("aeldre") == "Akutområdet"
    assert now.current_first_focus("naer-psykiatri") == (
        "Mental sundhed hos børn og unge samt voksne borgere med svær psykisk sygdom"
    )


def test_the_content_of_seed_003(example: Saftale) -> None:
    now = example.generation(G)
    assert len(now.visions) == 4
    assert [area for area, _ in now.focus_areas] == ["forebyggelse", "aeldre", "naer-psykiatri"]
    assert {area for area, _ in now.focus_areas} == set(REG.focus_areas)
    assert [(goal, area) for goal, area, _ in now.goals] == [
        ("faerre-dagligrygere", "forebyggelse"),
        ("akut-syge-aeldre", "aeldre"),
        ("mental-sundhed-boern-unge", "naer-psykiatri"),
        ("svaer-psykisk-sygdom", "naer-psykiatri"),
    ]
    by_goal: dict[str, list[str]] = {}
    for ind in now.indicators:
        by_goal.setdefault(ind.goal, []).append(ind.indicator)
    assert {goal: len(keys) for goal, keys in by_goal.items()} == {
        "faerre-dagligrygere": 1,
        "akut-syge-aeldre": 4,
        "mental-sundhed-boern-unge": 2,
        "svaer-psykisk-sygdom": 4,
    }
    cadence = {i.indicator: i.cadence_months for i in now.indicators}
    assert {k: v for k, v in cadence.items() if v != 6} == {
        "antal-dagligrygere": 48,
        "lup-samarbejde-udskrivelse": 12,
        "overdoedelighed-psykisk-sygdom": 12,
    }
    linked = {i.indicator for i in now.indicators if i.national_goals}
    assert linked == {  # the six marked * in seed 003
        "antal-dagligrygere",
        "forebyggelige-indlaeggelser-aeldre",
        "akutte-somatiske-genindlaeggelser-aeldre",
        "akutte-genindlaeggelser-psykiatri",
        "psykiatriske-faerdigbehandlingsdage",
        "overdoedelighed-psykisk-sygdom",
    }
    assert [name for _, name in now.principles] == [
        "Økonomi",
        "Kvalitet",
        "Fælles populationsansvar",
        "At bryde med vanetænkningen",
        "Videndeling og spredning",
        "Tidlig og rettidig indsats",
        "IT, data og telemedicin på tværs",
    ]
    no_data = now.latest_measurement("kommunale-trivselsdata")
    assert no_data is not None and no_data.value is None


# -- follow-up on chosen days ------------------------------------------------------------------

H = {  # the half-years of the example, by a short name
    "19b": "2019-07/2019-12",
    "20a": "2020-01/2020-06",
    "20b": "2020-07/2020-12",
    "21a": "2021-01/2021-06",
    "21b": "2021-07/2021-12",
    "22a": "2022-01/2022-06",
    "22b": "2022-07/2022-12",
    "23a": "2023-01/2023-06",
    "23b": "2023-07/2023-12",
}
MID = ("midterm status", "midterm")
FIN = ("final status", "final")


def half(*names: str) -> list[tuple[str, str]]:
    return [("follow-up report", H[n]) for n in names]


def plan(obligations: Iterable[Obligation]) -> list[tuple[str, str]]:
    """(what, key) of the reports and statuses; measurements are checked apart."""
    return [(o.what, o.key) for o in obligations if o.what != "measurement"]


Expected = tuple[list[tuple[str, str]], ...]
SENT = half("19b", "20b", "21a")
FOLLOW_UP: dict[dt.date, Expected] = {
    # day: (due, delivered, overdue, upcoming)
    dt.date(2021, 6, 30): (
        half("19b", "20a", "20b"),
        half("19b", "20b"),
        half("20a"),
        half("21a"),  # the mid-term status (as of 1 July 2021) is not current yet
    ),
    dt.date(2021, 7, 1): (
        half("19b", "20a", "20b"),
        half("19b", "20b"),
        half("20a"),
        [*half("21a", "21b"), MID],
    ),
    dt.date(2021, 10, 1): (  # the last day for the mid-term status
        [*half("19b", "20a", "20b", "21a"), MID],
        SENT,
        half("20a"),
        [*half("21b"), MID],
    ),
    dt.date(2021, 10, 2): (
        [*half("19b", "20a", "20b", "21a"), MID],
        SENT,
        [*half("20a"), MID],
        half("21b"),
    ),
    dt.date(2021, 11, 23): (  # sent late, and so no longer overdue
        [*half("19b", "20a", "20b", "21a"), MID],
        [*SENT, MID],
        half("20a"),
        half("21b"),
    ),
    dt.date(2022, 3, 31): (
        [*half("19b", "20a", "20b", "21a", "21b"), MID],
        [*SENT, MID],
        half("20a"),
        half("21b", "22a"),
    ),
    dt.date(2022, 4, 1): (  # 2021-07/2021-12 was never sent: overdue three months after
        [*half("19b", "20a", "20b", "21a", "21b"), MID],
        [*SENT, MID],
        half("20a", "21b"),
        half("22a"),
    ),
    dt.date(2022, 12, 31): (
        [*half("19b", "20a", "20b", "21a", "21b", "22a"), MID],
        [*half("19b", "20b", "21a", "22a"), MID],
        half("20a", "21b"),
        half("22b"),  # the final status (as of 1 January 2023) is not current yet
    ),
    dt.date(2023, 1, 1): (
        [*half("19b", "20a", "20b", "21a", "21b", "22a"), MID],
        [*half("19b", "20b", "21a", "22a"), MID],
        half("20a", "21b"),
        [*half("22b", "23a"), FIN],
    ),
    dt.date(2023, 4, 2): (
        [*half("19b", "20a", "20b", "21a", "21b", "22a", "22b"), MID, FIN],
        [*half("19b", "20b", "21a", "22a", "22b"), MID, FIN],
        half("20a", "21b"),
        half("23a"),
    ),
}


@pytest.mark.parametrize("day", list(FOLLOW_UP))
def test_follow_up_on_a_day(example: Saftale, day: dt.date) -> None:
    due, delivered, overdue, upcoming = FOLLOW_UP[day]
    found = example.follow_up(G, on=day)
    assert found.as_of == day
    assert plan(found.due) == due
    assert plan(found.delivered) == delivered
    assert plan(found.overdue) == overdue
    assert plan(found.upcoming) == upcoming
    assert all(o.overdue(day) for o in found.overdue)


def test_a_delivery_known_to_the_month_counts_from_its_last_day() -> None:
    """As every fact does (what had certainly happened by a day): a report sent some
    day in April 2020, due on 31 March, is overdue until the end of April, whatever
    later state ``follow_up`` is given."""
    sent = Obligation(
        "follow-up report",
        "2019-07/2019-12",
        Period.parse("2019-07/2019-12"),
        dt.date(2020, 3, 31),
        Period.parse("2020-04"),
    )
    assert (sent.delivered(dt.date(2020, 4, 10)), sent.overdue(dt.date(2020, 4, 10))) == (
        False,
        True,
    )
    assert (sent.delivered(dt.date(2020, 4, 30)), sent.overdue(dt.date(2020, 4, 30))) == (
        True,
        False,
    )
    early = FollowUp(dt.date(2020, 4, 10), (sent,))
    assert (early.delivered, early.overdue) == ((), (sent,))
    late = FollowUp(dt.date(2020, 5, 1), (sent,))
    assert (late.delivered, late.overdue) == ((sent,), ())


def test_follow_up_reads_the_same_from_every_store(app: Saftale) -> None:
    app.import_history(EXAMPLE)
    day = dt.date(2021, 10, 2)
    due, delivered, overdue, upcoming = FOLLOW_UP[day]
    found = app.follow_up(G, on=day)
    assert (plan(found.due), plan(found.delivered)) == (due, delivered)
    assert (plan(found.overdue), plan(found.upcoming)) == (overdue, upcoming)
    [mid] = [o for o in found.obligations if o.what == "midterm status"]
    assert (mid.period.text, mid.due, mid.delivered_on) == (
        "2021-07-01",
        dt.date(2021, 10, 1),
        None,
    )


def test_the_obligations_of_the_whole_generation(example: Saftale) -> None:
    found = example.follow_up(G, on=dt.date(2024, 1, 1))
    assert plan(found.obligations) == [*half(*H), MID, FIN]
    reports = {o.key: o for o in found.obligations if o.what == "follow-up report"}
    assert reports[H["19b"]].due == dt.date(2020, 3, 31)
    assert reports[H["20a"]].due == dt.date(2020, 9, 30)
    assert reports[H["23b"]].due == dt.date(2024, 3, 31)
    [fin] = [o for o in found.obligations if o.what == "final status"]
    assert fin.due == dt.date(2023, 4, 1)
    assert fin.delivered_on is not None and fin.delivered_on.text == "2023-03-14"
    measurements = [o for o in found.obligations if o.what == "measurement"]
    # 8 indicators every 6 months (9 windows), 2 every 12 (5), the daily smokers every 48 (2)
    assert len(measurements) == 8 * 9 + 2 * 5 + 2


def test_nothing_is_due_before_it_is_in_force(example: Saftale) -> None:
    assert example.follow_up(G, on=dt.date(2019, 6, 30)).obligations == ()


def windows(obligations: Iterable[Obligation], indicator: str) -> list[str]:
    return [o.period.text for o in obligations if o.what == "measurement" and o.key == indicator]


def test_measurements_on_a_day(example: Saftale) -> None:
    found = example.follow_up(G, on=dt.date(2021, 6, 30))
    acute = "akutte-indlaeggelser-aeldre"
    assert windows(found.due, acute) == [
        "2019-07-01/2019-12-31",
        "2020-01-01/2020-06-30",
        "2020-07-01/2020-12-31",
    ]
    # the second half of 2020 has a preliminary figure: it counts
    assert windows(found.delivered, acute) == ["2019-07-01/2019-12-31", "2020-07-01/2020-12-31"]
    assert windows(found.overdue, acute) == ["2020-01-01/2020-06-30"]
    assert windows(found.upcoming, acute) == ["2021-01-01/2021-06-30"]
    # no data (null) is an answer: delivered, not missing
    assert windows(found.delivered, "kommunale-trivselsdata") == ["2019-07-01/2019-12-31"]
    assert windows(found.overdue, "kommunale-trivselsdata") == [
        "2020-01-01/2020-06-30",
        "2020-07-01/2020-12-31",
    ]
    # yearly: the LUP measurement of 2019 delivers the first year; excess mortality never came
    assert windows(found.delivered, "lup-samarbejde-udskrivelse") == ["2019-07-01/2020-06-30"]
    assert windows(found.overdue, "overdoedelighed-psykisk-sygdom") == ["2019-07-01/2020-06-30"]
    # every fourth year: not due until three months after mid-2023
    smokers = "antal-dagligrygere"
    assert windows(found.due, smokers) == []
    assert windows(found.upcoming, smokers) == ["2019-07-01/2023-06-30"]
    later = example.follow_up(G, on=dt.date(2023, 10, 1))
    assert windows(later.delivered, smokers) == ["2019-07-01/2023-06-30"]


@pytest.fixture(scope="module")
def without_final_status() -> Iterator[Saftale]:
    """The example without the final status report."""
    lines = [x for x in EXAMPLE_LINES if '"kind": "final"' not in x]
    assert len(lines) == len(EXAMPLE_LINES) - 1
    saftale = Saftale.open(":memory:", recorded_by="test")
    assert saftale.import_history(lines).ok
    yield saftale
    saftale.close()


@pytest.mark.parametrize(
    ("day", "overdue", "upcoming"),
    [
        (dt.date(2022, 12, 31), False, False),
        (dt.date(2023, 1, 1), False, True),
        (dt.date(2023, 4, 1), False, True),
        (dt.date(2023, 4, 2), True, False),
    ],
)
def test_the_final_status_is_overdue_unless_sent(
    without_final_status: Saftale, day: dt.date, overdue: bool, upcoming: bool
) -> None:
    found = without_final_status.follow_up(G, on=day)
    assert (FIN in plan(found.overdue)) is overdue
    assert (FIN in plan(found.upcoming)) is upcoming
    assert FIN not in plan(found.delivered)


# -- kommissorier (seed 004) -------------------------------------------------------------------

K = "kommissorium-naere-sundhedsvaesen"
TIMETABLE = [
    TimetableRow(
        time="Nov – december 2015",
        when=["2015-11/2015-12"],
        action="Orientering om kommissorium samt tidsplan",
        actors="Politiske niveau (regionsråd, Sundhedskoordinationsudvalget)",
    ),
    TimetableRow(time="December-januar", when=["2015-12/2016-01"], action="Debatpapir"),
    TimetableRow(
        time="februar-april",
        when=["2016-02/2016-04"],
        action="Input til strategi med afsæt i debatpapir.",
    ),
    TimetableRow(time="Maj", when=["2016-05"], action="Endeligt forslag til strategi"),
    TimetableRow(time="Juni", when=["2016-06"], action="Behandling", actors="Regionsråd"),
]


def kommissorium(subject: str = K, **changes: Any) -> Fact:
    fact = KommissoriumRecorded(
        subject=subject,
        on="2015-11-04",
        by="regionsraad",
        title="Kommissorium for udarbejdelse af strategi for regionens indsatser i det nære "
        "sundhedsvæsen",
        journal_number="1-30-72-225-15",
        background="Af regionens aftale om budget 2016 fremgår det, at der skal udarbejdes en "
        "samlet strategi for regionens indsatser i det nære sundhedsvæsen.",
        process="Der nedsættes en mindre arbejdsgruppe med repræsentanter fra Administrationen.",
        timetable=TIMETABLE,
    )
    return with_(fact, **changes) if changes else fact


def kommissorium_state(app: Saftale, subject: str = K) -> KommissoriumState:
    found = app.state(subject)
    assert isinstance(found, KommissoriumState)
    return found


def test_a_kommissorium_is_recorded_with_its_timetable(app: Saftale) -> None:
    accepted(app, kommissorium())
    doc = kommissorium_state(app).document
    assert isinstance(doc, KommissoriumRecorded)
    assert doc.journal_number == "1-30-72-225-15"
    assert [(r.time, [p.text for p in r.when]) for r in doc.timetable] == [
        ("Nov – december 2015", ["2015-11/2015-12"]),
        ("December-januar", ["2015-12/2016-01"]),
        ("februar-april", ["2016-02/2016-04"]),
        ("Maj", ["2016-05"]),
        ("Juni", ["2016-06"]),
    ]
    spanning = doc.timetable[1].when[0]
    assert (spanning.start, spanning.end) == (dt.date(2015, 12, 1), dt.date(2016, 1, 31))
    # the history file carries it whole
    copy = Saftale.open(":memory:", recorded_by="test")
    assert copy.import_history(app.export_history()).recorded == 1
    assert kommissorium_state(copy).document == doc
    copy.close()


def test_a_timetable_row_may_have_a_time_that_cannot_be_read(mem: Saftale) -> None:
    row = TimetableRow(time="Efter sommerferien", action="Opfølgning")
    accepted(mem, kommissorium(timetable=[*TIMETABLE, row]))
    doc = kommissorium_state(mem).document
    assert isinstance(doc, KommissoriumRecorded)
    assert doc.timetable[-1].when == ()


def test_a_kommissorium_is_recorded_by_a_body_of_the_registry(mem: Saftale) -> None:
    refused(mem, kommissorium(by=OTHER_GROUP), "not-authorised")
    refused(mem, kommissorium(by="Administrationen"), "unknown-body")
    accepted(mem, kommissorium(by="SAS"))
    refused(mem, kommissorium(by="SAS", on="2015-11-05"), "duplicate-subject")


def test_a_kommissorium_governs_only_a_subject_that_exists(app: Saftale) -> None:
    fact = kommissorium(on="2019-01-10", governs="rygestop")
    exc = refused(app, fact, "unknown-subject")
    assert "rygestop" in exc.detail
    app.record_many(until(agreement_path("rygestop"), "KommissoriumApproved"))
    accepted(app, fact)
    doc = kommissorium_state(app).document
    assert isinstance(doc, KommissoriumRecorded)
    assert doc.governs == "rygestop"


def agreement_up_to_kommissorium(app: Saftale) -> Fact:
    """Starts the agreement ``rygestop``; returns its KommissoriumApproved (not recorded)."""
    path = agreement_path("rygestop")
    app.record_many(until(path, "KommissoriumApproved"))
    return first(path, "KommissoriumApproved")


def test_an_approval_naming_a_kommissorium_never_recorded_is_refused(app: Saftale) -> None:
    approval = agreement_up_to_kommissorium(app)
    exc = refused(app, with_(approval, kommissorium=K), "unknown-subject")
    assert "never recorded" in exc.detail


@pytest.mark.parametrize("other", ["generation", "agreement"])
def test_an_approval_naming_a_subject_that_is_no_kommissorium_is_refused(
    app: Saftale, other: str
) -> None:
    approval = agreement_up_to_kommissorium(app)
    if other == "generation":
        app.record(initiated(K))
    else:
        app.record_many(agreement_path(K)[:1])
    exc = refused(app, with_(approval, kommissorium=K), "unknown-subject")
    assert f"kind {other}" in exc.detail


def test_an_approval_naming_a_recorded_kommissorium_is_accepted(app: Saftale) -> None:
    approval = agreement_up_to_kommissorium(app)
    app.record(kommissorium(on="2019-01-10", governs="rygestop"))
    accepted(app, with_(approval, kommissorium=K))
    report = app.agreement("rygestop")
    assert isinstance(report.state, AgreementState)
    assert report.state.kommissorium == K


def test_an_approval_and_its_kommissorium_in_one_batch(mem: Saftale) -> None:
    approval = agreement_up_to_kommissorium(mem)
    receipts = mem.record_many([kommissorium(on="2019-01-10"), with_(approval, kommissorium=K)])
    assert [r.fact.TYPE for r in receipts] == ["KommissoriumRecorded", "KommissoriumApproved"]


def test_a_kommissorium_is_corrected_by_a_replacement(app: Saftale) -> None:
    app.record(kommissorium(journal_number="1-30-72-225-14"))
    correction = FactCorrected(
        subject=K,
        on="2015-11-20",
        by="SAS",
        corrects=1,
        reason="Forkert journalnummer",
        replacement=kommissorium(),
    )
    accepted(app, correction)
    doc = kommissorium_state(app).document
    assert isinstance(doc, KommissoriumRecorded)
    assert doc.journal_number == "1-30-72-225-15"
    mistaken, fix = app.history(K)
    assert (mistaken.in_force, mistaken.corrected_by) == (False, (2,))
    assert isinstance(mistaken.fact, KommissoriumRecorded)
    assert mistaken.fact.journal_number == "1-30-72-225-14"
    assert fix.fact == correction and fix.in_force


def test_a_kommissorium_correction_must_leave_a_valid_document(app: Saftale) -> None:
    app.record(kommissorium())

    def correct(replacement: Fact | None) -> FactCorrected:
        return FactCorrected(
            subject=K, on="2015-11-20", by="SAS", corrects=1, reason="Fejl", replacement=replacement
        )

    refused(app, correct(None), "correction-invalid")  # the document itself is never retracted
    refused(app, correct(kommissorium(governs="findes-ikke")), "correction-invalid")
    refused(app, correct(initiated(K)), "correction-invalid")  # another kind of fact
    accepted(app, correct(kommissorium(title="Kommissorium: strategi for det nære")))


# -- history-file forms ------------------------------------------------------------------------


def test_a_history_line_may_give_one_date_as_when(mem: Saftale) -> None:
    mem.record(initiated())
    line = {
        "type": "ActivityPlanned",
        "subject": S,
        "on": "2018-03-01",
        "by": "SAS",
        "activity": "skrivefase",
        "what": "Skrivefase",
        "when": "2018-08/2018-11",
        "phase": "udviklings-og-skrivefase",
    }
    result = mem.import_history([json.dumps(line)])
    assert result.ok, [(e.code, e.detail) for _, e in result.refusals]
