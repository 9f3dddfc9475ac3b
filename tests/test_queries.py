"""Asking about an agreement: now, as of a decision date, as recorded at a time."""

from __future__ import annotations

import datetime as dt

import pytest

from saftale_core import (
    ApprovedByCouncil,
    DraftSubmitted,
    Fact,
    FactCorrected,
    RuleViolation,
    Saftale,
)
from tests.support import Clock, agreement_path, first, until


def record_all(app: Saftale, facts: list[Fact]) -> None:
    for fact in facts:
        app.record(fact)


def test_next_steps_name_who_may_take_them(app: Saftale) -> None:
    facts = agreement_path("a")
    record_all(app, until(facts, "ClusterAssigned"))
    steps = {s.fact_type: s.who for s in app.agreement("a").next_steps}
    assert steps["ClusterAssigned"] == ("SSG",)
    assert "klynge:horsens" not in steps["ClusterOffered"], "horsens already offered"
    assert "klynge:midt" in steps["ClusterOffered"]
    assert "WorkingGroupEstablished" not in steps, "the kommissorium chose a cluster"
    assert steps["AgreementWithdrawn"] == ("SSG", "SKU")


def test_after_sku_every_undecided_council_is_a_next_step(app: Saftale) -> None:
    facts = agreement_path("a")
    record_all(app, until(facts, "ImplementationStarted"))
    report = app.agreement("a")
    councils = {s.fact_type: s.who for s in report.next_steps}["ApprovedByCouncil"]
    assert len(councils) == 20 - 3
    assert "byraad:aarhus" not in councils
    assert report.approvals == "approved by 3 of 20 councils"
    ready = {s.fact_type: s.who for s in report.next_steps}["ImplementationStarted"]
    assert ready == ("klynge:aarhus",), "only Aarhus has all its councils"


def test_as_of_a_decision_date_stops_at_what_had_certainly_happened(app: Saftale) -> None:
    facts = agreement_path("a")
    record_all(app, facts)
    sku = first(facts, "ApprovedBySKU")
    before = app.agreement("a", as_of=sku.on.start - dt.timedelta(days=1))
    assert before.status == "ssg_approved"
    assert before.councils_approved == ()
    on = app.agreement("a", as_of=sku.on.start)
    assert on.status == "approved"
    with pytest.raises(RuleViolation) as info:
        app.agreement("a", as_of=dt.date(2018, 1, 1))
    assert info.value.code == "unknown-subject"


def test_as_of_stops_at_an_imprecise_date_not_yet_certainly_past(app: Saftale) -> None:
    facts = until(agreement_path("a"), "DraftSubmitted")
    record_all(app, facts)
    assigned = first(facts, "ClusterAssigned")
    app.record(DraftSubmitted(subject="a", on="2019-03", by="klynge:horsens", triple_aim=True))
    assert assigned.on.end < dt.date(2019, 3, 1)
    mid_march = app.agreement("a", as_of=dt.date(2019, 3, 15))
    assert mid_march.status == "assigned", "a draft dated 'March 2019' is not certain by mid-March"
    assert app.agreement("a", as_of=dt.date(2019, 3, 31)).status == "drafted"


def test_as_recorded_shows_what_we_knew_then(store_url: str) -> None:
    clock = Clock()
    app = Saftale.open(store_url, clock=clock, recorded_by="t")
    facts = agreement_path("a")
    council = first(facts, "ApprovedByCouncil")
    record_all(app, until(facts, "ApprovedByCouncil"))
    known_then = clock.now
    app.record(council)
    later = clock.now
    assert app.agreement("a", as_recorded=known_then).councils_approved == ()
    assert app.agreement("a", as_recorded=later).councils_approved == (council.by,)
    assert len(app.history("a", as_recorded=known_then)) == len(app.history("a")) - 1
    app.close()


def test_history_keeps_a_corrected_fact_visible_and_links_the_correction(app: Saftale) -> None:
    facts = agreement_path("a")
    record_all(app, until(facts, "ImplementationStarted"))
    position = next(i for i, f in enumerate(facts, 1) if isinstance(f, ApprovedByCouncil))
    original = facts[position - 1]
    assert isinstance(original, ApprovedByCouncil)
    fixed = ApprovedByCouncil(subject="a", on="2019-12-30", by=original.by)
    app.record(
        FactCorrected(
            subject="a",
            on="2020-01-06",
            by="SAS",
            corrects=position,
            reason="wrong meeting date",
            replacement=fixed,
        )
    )
    history = app.history("a")
    assert history[position - 1].fact == original
    assert history[position - 1].in_force is False
    assert history[position - 1].corrected_by == (len(history),)
    assert history[-1].fact.TYPE == "FactCorrected"
    decisions = app.agreement("a").state.councils
    assert [d.on.text for d in decisions if d.council == original.by] == ["2019-12-30"]


def test_asking_about_an_unknown_subject_is_a_clear_error(app: Saftale) -> None:
    with pytest.raises(RuleViolation) as info:
        app.agreement("nothing-here")
    assert info.value.code == "unknown-subject"
    assert "nothing-here" in str(info.value)
    assert app.subjects() == []


def test_subjects_are_listed_in_recording_order(app: Saftale) -> None:
    for key in ("b", "a", "c"):
        app.record(agreement_path(key)[0])
    assert [s for s, _ in app.subjects()] == ["b", "a", "c"]


def test_evaluation_due_follows_the_interval_set_at_approval(app: Saftale) -> None:
    facts = agreement_path("a")
    record_all(app, until(facts, "Evaluated"))
    report = app.agreement("a")
    started = first(facts, "ImplementationStarted").on.start
    assert report.evaluation_due == started.replace(year=started.year + 1).isoformat()
    assert report.evaluation_overdue, "the test clock is in 2024, years after the due date"
    assert not app.agreement("a", as_of=started).evaluation_overdue


def test_an_implementation_is_dated_against_its_own_councils_only(app: Saftale) -> None:
    """A late approval by another cluster's council does not hold an implementation back."""
    from saftale_core import ImplementationStarted

    facts = agreement_path("a", implement_in=("klynge:aarhus",))
    record_all(app, until(facts, "ImplementationStarted"))
    last_own = max(d.on.start for d in app.agreement("a").state.councils)
    app.record(ApprovedByCouncil(subject="a", on="2021-06-01", by="byraad:skive"))
    started = ImplementationStarted(subject="a", on=last_own.isoformat(), by="klynge:aarhus")
    assert app.record(started).recorded.fact == started
    early = ImplementationStarted(subject="a", on="2019-01-01", by="klynge:horsens")
    with pytest.raises(RuleViolation) as info:
        app.record(early)
    assert info.value.code == "implementation-before-approval"


def test_an_implementation_dated_before_its_own_councils_approved_is_refused(
    app: Saftale,
) -> None:
    from saftale_core import ImplementationStarted

    facts = agreement_path("b", implement_in=("klynge:aarhus",))
    record_all(app, until(facts, "ImplementationStarted"))
    sku = first(facts, "ApprovedBySKU").on.start
    with pytest.raises(RuleViolation) as info:
        app.record(ImplementationStarted(subject="b", on=sku.isoformat(), by="klynge:aarhus"))
    assert info.value.code == "date-before-previous"
    assert "byraad:" in info.value.detail or "regionsraad" in info.value.detail


def test_read_can_keep_only_some_subjects_without_decoding_the_others(app: Saftale) -> None:
    from saftale_core import subject_id

    facts = [f for pair in zip(agreement_path("a"), agreement_path("b"), strict=True) for f in pair]
    record_all(app, facts)
    every = app.read(after=0, limit=1000)
    wanted = subject_id("a")
    only_a = app.read(after=0, limit=1000, only=lambda oid: oid == wanted)
    assert only_a == [(p, r) for p, r in every if r.fact.subject == "a"]
    assert len(only_a) == len(agreement_path("a"))
    assert app.read(after=0, limit=1000, only=lambda oid: False) == []
