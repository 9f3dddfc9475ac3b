"""Process 1 (cooperation agreement): every rule shown refusing, and the closest case allowed.

Each refusal test checks the refusal code, that the error names the subject, and
that nothing at all was recorded (the whole store reads back the same).  Each
allowed test records the nearest fact the rule lets through.  Histories are built
from :func:`tests.support.agreement_path` (facts dated 2019, a week apart); the
clock records in 2024.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from saftale_core import (
    RULES,
    FactCorrected,
    Level,
    Recorded,
    Registry,
    RuleViolation,
    Saftale,
    UnknownId,
    fact_to_dict,
)
from saftale_core import facts as f
from saftale_core.dates import Period
from saftale_core.facts import Fact
from saftale_core.registry import COUNCIL_PREFIX
from tests.support import Clock, agreement_path, first, until, with_

REG = Registry.default()
S = "rygestop"

# -- helpers ----------------------------------------------------------------------------


def stored(app: Saftale) -> list[Recorded]:
    """Everything the store holds, in recording order."""
    return list(app.all_records())


def refused(app: Saftale, fact: Fact, code: str) -> RuleViolation:
    """Record ``fact``, expect the refusal ``code`` naming the subject, and nothing recorded."""
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
    """Record ``fact``, expect it stored with no warning; return the fact as stored."""
    before = len(stored(app))
    receipt = app.record(fact)
    assert receipt.warnings == ()
    after = stored(app)
    assert len(after) == before + 1
    assert after[-1].fact == receipt.fact
    return receipt.fact


def later(facts: list[Fact], weeks: int = 1) -> str:
    """A day ``weeks`` after the last of ``facts``."""
    return (facts[-1].on.end + dt.timedelta(weeks=weeks)).isoformat()


def shifted(period: Period, days: int) -> str:
    return (period.start + dt.timedelta(days=days)).isoformat()


def council(ident: str) -> str:
    return COUNCIL_PREFIX + ident


def councils_of(cluster: str) -> tuple[str, ...]:
    """From the registry data: the regional council and the cluster's municipal councils."""
    return ("regionsraad", *(council(m) for m in REG.clusters[cluster].municipalities))


def position(app: Saftale, subject: str, type_name: str, **match: str) -> int:
    """The 1-based position of the first fact of ``type_name`` (and the given keys)."""
    for entry in app.history(subject):
        fact = entry.fact
        if fact.TYPE == type_name and all(getattr(fact, k) == v for k, v in match.items()):
            return entry.position
    raise LookupError(type_name)


# -- the catalogue ----------------------------------------------------------------------

DEVELOPMENT_TASK_ONLY = {"brief-missing", "not-asked", "coordination-missing", "comments-skipped"}
TESTED_HERE = {
    "bad-record",
    "bad-date",
    "date-in-future",
    "date-before-previous",
    "unknown-subject",
    "duplicate-subject",
    "unknown-body",
    "not-authorised",  # and tests/test_authority_agreement.py for every step
    "out-of-order",
    "wrong-delivery",
    "not-offered",
    "council-twice",
    "implementation-before-approval",
    "practice-tasks-not-agreed",
    "economy-not-clarified",
    "evaluation-before-implementation",
    "closed",
    "correction-invalid",
    "triple-aim-missing",
}


def test_every_process_1_rule_of_the_catalogue_is_tested_here() -> None:
    assert set(RULES) - DEVELOPMENT_TASK_ONLY == TESTED_HERE


def test_triple_aim_is_the_only_process_1_should() -> None:
    shoulds = {code for code, r in RULES.items() if r.level is Level.SHOULD}
    assert shoulds - DEVELOPMENT_TASK_ONLY == {"triple-aim-missing"}


# -- out-of-order -------------------------------------------------------------------------

# (the step, the prerequisite it is tried without)
SKIPPED = [
    ("DraftSubmitted", "ClusterAssigned"),
    ("DraftCoordinated", "DraftSubmitted"),
    ("DraftSentForComments", "DraftCoordinated"),
    ("CommentReceived", "DraftSentForComments"),
    ("DraftRevised", "DraftSentForComments"),
    ("SubmittedForApproval", "DraftRevised"),
    ("ApprovedBySSG", "SubmittedForApproval"),
    ("ApprovedBySKU", "ApprovedBySSG"),
    ("ApprovedByCouncil", "ApprovedBySKU"),
    ("Implemented", "ImplementationStarted"),
]


@pytest.mark.parametrize(("step", "missing"), SKIPPED)
def test_out_of_order_refuses_a_step_without_its_prerequisite(
    app: Saftale, step: str, missing: str
) -> None:
    path = agreement_path(S)
    app.record_many(until(path, missing))
    exc = refused(app, first(path, step), "out-of-order")
    assert "cannot follow" in exc.detail or "not started" in exc.detail


@pytest.mark.parametrize(("step", "missing"), SKIPPED)
def test_out_of_order_allows_the_step_once_its_prerequisite_happened(
    app: Saftale, step: str, missing: str
) -> None:
    path = agreement_path(S)
    app.record_many(until(path, step))
    assert missing in {x.TYPE for x in until(path, step)}
    accepted(app, first(path, step))


def test_out_of_order_refuses_sku_before_ssg_and_allows_it_after(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ApprovedBySSG"))
    refused(app, first(path, "ApprovedBySKU"), "out-of-order")
    assert app.agreement(S).status == "submitted"


def test_out_of_order_allows_sku_after_ssg(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ApprovedBySKU"))
    accepted(app, first(path, "ApprovedBySKU"))
    assert app.agreement(S).status == "approved"


# steps that happen once: (the path's fact type, the prefix ends before this type)
ONCE = [
    ("KommissoriumApproved", "ClusterOffered"),
    ("ClusterOffered", "ClusterAssigned"),
    ("ClusterAssigned", "DraftSubmitted"),
    ("DraftSubmitted", "DraftCoordinated"),
    ("ImplementationStarted", "Implemented"),
    ("Implemented", "Evaluated"),
]


@pytest.mark.parametrize(("step", "upto"), ONCE)
def test_out_of_order_refuses_a_step_a_second_time(app: Saftale, step: str, upto: str) -> None:
    path = agreement_path(S)
    prefix = until(path, upto)
    app.record_many(prefix)
    refused(app, with_(first(path, step), on=later(prefix)), "out-of-order")


@pytest.mark.parametrize(("step", "upto"), ONCE)
def test_out_of_order_allows_the_step_the_first_time(app: Saftale, step: str, upto: str) -> None:
    path = agreement_path(S)
    app.record_many(until(path, step))
    accepted(app, first(path, step))


@pytest.mark.parametrize(
    ("option", "step"),
    [
        ("general_practice_tasks", "PracticeTasksAgreed"),
        ("changes_task_allocation", "EconomicConsequencesClarified"),
    ],
)
def test_out_of_order_refuses_ppu_or_economy_twice(app: Saftale, option: str, step: str) -> None:
    path = agreement_path(
        S,
        general_practice_tasks=option == "general_practice_tasks",
        changes_task_allocation=option == "changes_task_allocation",
    )
    app.record_many(until(path, step))
    accepted(app, first(path, step))
    refused(app, with_(first(path, step), on=later(until(path, step), 2)), "out-of-order")


def test_out_of_order_refuses_economy_clarified_after_ssg_approval(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "ApprovedBySKU")  # SSG has approved
    app.record_many(prefix)
    fact = f.EconomicConsequencesClarified(subject=S, on=later(prefix), by="SAS")
    refused(app, fact, "out-of-order")


def test_out_of_order_allows_economy_clarified_before_ssg_approval(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "ApprovedBySSG")
    app.record_many(prefix)
    accepted(app, f.EconomicConsequencesClarified(subject=S, on=later(prefix), by="SAS"))


def test_out_of_order_a_returned_draft_goes_back_to_revision(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "ApprovedBySSG")
    app.record_many(prefix)
    accepted(app, f.ReturnedBySSG(subject=S, on=later(prefix), by="SSG", reason="Unclear"))
    refused(app, with_(first(path, "ApprovedBySSG"), on=later(prefix, 2)), "out-of-order")
    accepted(app, f.DraftRevised(subject=S, on=later(prefix, 3), by="klynge:horsens"))
    accepted(app, f.SubmittedForApproval(subject=S, on=later(prefix, 4), by="SAS"))
    accepted(app, with_(first(path, "ApprovedBySSG"), on=later(prefix, 5)))


# -- wrong-delivery ---------------------------------------------------------------------------


def cluster_step(type_name: str, on: str) -> Fact:
    if type_name == "ClusterOffered":
        return f.ClusterOffered(subject=S, on=on, by="klynge:horsens")
    return f.ClusterAssigned(subject=S, on=on, by="SSG", cluster="klynge:horsens")


def working_group_step(on: str) -> Fact:
    return f.WorkingGroupEstablished(
        subject=S, on=on, by="SAS", group="arbejdsgruppe:rygning", members=["PLO"]
    )


@pytest.mark.parametrize("step", ["ClusterOffered", "ClusterAssigned"])
def test_wrong_delivery_refuses_a_cluster_step_on_a_working_group_delivery(
    app: Saftale, step: str
) -> None:
    prefix = until(agreement_path(S, delivery="working_group"), "WorkingGroupEstablished")
    app.record_many(prefix)
    exc = refused(app, cluster_step(step, later(prefix)), "wrong-delivery")
    assert "working_group" in exc.detail


@pytest.mark.parametrize("step", ["ClusterOffered", "ClusterAssigned"])
def test_wrong_delivery_allows_a_cluster_step_on_a_cluster_delivery(
    app: Saftale, step: str
) -> None:
    prefix = until(agreement_path(S, delivery="cluster"), "ClusterOffered")
    app.record_many(prefix)
    accepted(app, cluster_step(step, later(prefix)))


def test_wrong_delivery_refuses_a_working_group_on_a_cluster_delivery(app: Saftale) -> None:
    prefix = until(agreement_path(S, delivery="cluster"), "ClusterOffered")
    app.record_many(prefix)
    exc = refused(app, working_group_step(later(prefix)), "wrong-delivery")
    assert "cluster" in exc.detail


def test_wrong_delivery_allows_a_working_group_on_a_working_group_delivery(
    app: Saftale,
) -> None:
    prefix = until(agreement_path(S, delivery="working_group"), "WorkingGroupEstablished")
    app.record_many(prefix)
    accepted(app, working_group_step(later(prefix)))
    assert app.agreement(S).state.drafter == "arbejdsgruppe:rygning"


# -- not-offered -----------------------------------------------------------------------------


def test_not_offered_refuses_a_cluster_that_did_not_offer_when_others_did(app: Saftale) -> None:
    path = agreement_path(S, cluster="klynge:horsens")
    prefix = until(path, "ClusterAssigned")
    app.record_many([*prefix, f.ClusterOffered(subject=S, on=later(prefix), by="klynge:midt")])
    fact = f.ClusterAssigned(subject=S, on=later(prefix, 2), by="SSG", cluster="klynge:randers")
    exc = refused(app, fact, "not-offered")
    assert "klynge:horsens" in exc.detail
    assert "klynge:midt" in exc.detail


@pytest.mark.parametrize("chosen", ["klynge:horsens", "klynge:midt"])
def test_not_offered_allows_any_cluster_that_offered(app: Saftale, chosen: str) -> None:
    path = agreement_path(S, cluster="klynge:horsens")
    prefix = until(path, "ClusterAssigned")
    app.record_many([*prefix, f.ClusterOffered(subject=S, on=later(prefix), by="klynge:midt")])
    fact = f.ClusterAssigned(subject=S, on=later(prefix, 2), by="SSG", cluster=chosen)
    accepted(app, fact)
    assert app.agreement(S).state.assigned_cluster == chosen


def test_not_offered_allows_any_cluster_when_none_offered(app: Saftale) -> None:
    prefix = until(agreement_path(S), "ClusterOffered")
    app.record_many(prefix)
    fact = f.ClusterAssigned(subject=S, on=later(prefix), by="SSG", cluster="klynge:randers")
    accepted(app, fact)


# -- council-twice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_decision", "second"),
    [
        ("approve", f.ApprovedByCouncil),
        ("approve", f.RejectedByCouncil),
        ("reject", f.ApprovedByCouncil),
        ("reject", f.RejectedByCouncil),
    ],
)
def test_council_twice_refuses_a_second_decision(
    app: Saftale, first_decision: str, second: type[Fact]
) -> None:
    prefix = until(agreement_path(S), "ApprovedByCouncil")
    app.record_many(prefix)
    if first_decision == "approve":
        app.record(f.ApprovedByCouncil(subject=S, on=later(prefix), by="byraad:aarhus"))
    else:
        app.record(
            f.RejectedByCouncil(subject=S, on=later(prefix), by="byraad:aarhus", reason="No")
        )
    extra: dict[str, Any] = {"reason": "Again"} if second is f.RejectedByCouncil else {}
    fact = second(subject=S, on=later(prefix, 2), by="byraad:aarhus", **extra)
    exc = refused(app, fact, "council-twice")
    assert "byraad:aarhus" in exc.detail


def test_council_twice_sees_through_an_alias(app: Saftale) -> None:
    prefix = until(agreement_path(S), "ApprovedByCouncil")
    app.record_many(prefix)
    app.record(f.ApprovedByCouncil(subject=S, on=later(prefix), by="regionsraad"))
    refused(
        app, f.ApprovedByCouncil(subject=S, on=later(prefix, 2), by="Regionsrådet"), "council-twice"
    )


def test_council_twice_allows_each_other_council_once(app: Saftale) -> None:
    prefix = until(agreement_path(S), "ApprovedByCouncil")
    app.record_many(prefix)
    app.record(f.ApprovedByCouncil(subject=S, on=later(prefix), by="byraad:aarhus"))
    accepted(app, f.ApprovedByCouncil(subject=S, on=later(prefix, 2), by="byraad:samso"))
    accepted(
        app, f.RejectedByCouncil(subject=S, on=later(prefix, 3), by="regionsraad", reason="No")
    )
    report = app.agreement(S)
    assert report.councils_approved == ("byraad:aarhus", "byraad:samso")
    assert report.councils_rejected == ("regionsraad",)


# -- implementation-before-approval -------------------------------------------------------------


@pytest.mark.parametrize("cluster", sorted(REG.clusters))
def test_implementation_before_approval_refuses_when_any_one_council_is_missing(
    app: Saftale, cluster: str
) -> None:
    needed = councils_of(cluster)
    assert len(needed) >= 3  # the regional council and at least two municipalities
    for i, missing in enumerate(needed):
        subject = f"{S}-{i}"
        others = tuple(c for c in needed if c != missing)
        path = agreement_path(subject, implement_in=(cluster,), councils=others)
        app.record_many(until(path, "ImplementationStarted"))
        exc = refused(app, first(path, "ImplementationStarted"), "implementation-before-approval")
        assert missing in exc.detail
        assert all(c not in exc.detail for c in others)


@pytest.mark.parametrize("cluster", sorted(REG.clusters))
def test_implementation_before_approval_allows_once_all_its_councils_approved(
    app: Saftale, cluster: str
) -> None:
    path = agreement_path(S, implement_in=(cluster,), councils=councils_of(cluster))
    app.record_many(until(path, "ImplementationStarted"))
    accepted(app, first(path, "ImplementationStarted"))
    assert app.agreement(S).clusters_implementing == (cluster,)


def test_implementation_before_approval_refuses_before_any_council(app: Saftale) -> None:
    path = agreement_path(S, councils=())
    app.record_many(until(path, "ImplementationStarted"))
    exc = refused(app, first(path, "ImplementationStarted"), "implementation-before-approval")
    for c in councils_of("klynge:aarhus"):
        assert c in exc.detail


def test_implementation_before_approval_refuses_when_a_council_rejected(app: Saftale) -> None:
    path = agreement_path(S, councils=("regionsraad", "byraad:aarhus"))
    prefix = until(path, "ImplementationStarted")
    app.record_many(prefix)
    app.record(f.RejectedByCouncil(subject=S, on=later(prefix), by="byraad:samso", reason="No"))
    fact = with_(first(path, "ImplementationStarted"), on=later(prefix, 2))
    exc = refused(app, fact, "implementation-before-approval")
    assert "byraad:samso" in exc.detail
    assert "rejected" in exc.detail


def test_implementation_before_approval_ignores_councils_of_other_clusters(
    app: Saftale,
) -> None:
    """The closest allowed case: a council outside the cluster rejected, or has not decided."""
    path = agreement_path(S)  # aarhus implements; regionsraad, aarhus, samso approved
    prefix = until(path, "ImplementationStarted")
    app.record_many(prefix)
    # before the Aarhus implementation: a Horsens council rejects
    app.record(
        f.RejectedByCouncil(
            subject=S, on=prefix[-1].on.text, by="byraad:horsens", reason="Not for us"
        )
    )
    accepted(app, with_(first(path, "ImplementationStarted"), on=later(prefix)))


# -- practice-tasks-not-agreed ----------------------------------------------------------------


def test_practice_tasks_not_agreed_refuses_implementation_without_ppu(app: Saftale) -> None:
    path = agreement_path(S, general_practice_tasks=True)
    prefix = until(path, "PracticeTasksAgreed")  # every council of the cluster approved
    app.record_many(prefix)
    refused(app, first(path, "ImplementationStarted"), "practice-tasks-not-agreed")


def test_practice_tasks_not_agreed_allows_implementation_after_ppu(app: Saftale) -> None:
    path = agreement_path(S, general_practice_tasks=True)
    app.record_many(until(path, "ImplementationStarted"))
    assert until(path, "ImplementationStarted")[-1].TYPE == "PracticeTasksAgreed"
    accepted(app, first(path, "ImplementationStarted"))


def test_practice_tasks_not_agreed_needs_no_ppu_without_general_practice_tasks(
    app: Saftale,
) -> None:
    path = agreement_path(S, general_practice_tasks=False)
    assert "PracticeTasksAgreed" not in {x.TYPE for x in path}
    app.record_many(until(path, "ImplementationStarted"))
    accepted(app, first(path, "ImplementationStarted"))


# -- economy-not-clarified ----------------------------------------------------------------------


def test_economy_not_clarified_refuses_ssg_approval(app: Saftale) -> None:
    path = agreement_path(S, changes_task_allocation=True)
    app.record_many(until(path, "EconomicConsequencesClarified"))
    refused(app, first(path, "ApprovedBySSG"), "economy-not-clarified")


def test_economy_not_clarified_allows_ssg_approval_after_clarification(app: Saftale) -> None:
    path = agreement_path(S, changes_task_allocation=True)
    app.record_many(until(path, "ApprovedBySSG"))
    assert until(path, "ApprovedBySSG")[-1].TYPE == "EconomicConsequencesClarified"
    accepted(app, first(path, "ApprovedBySSG"))


def test_economy_not_clarified_is_not_needed_when_allocation_is_unchanged(app: Saftale) -> None:
    path = agreement_path(S, changes_task_allocation=False)
    app.record_many(until(path, "ApprovedBySSG"))
    accepted(app, first(path, "ApprovedBySSG"))


# -- evaluation-before-implementation -------------------------------------------------------------


@pytest.mark.parametrize("upto", ["ApprovedBySKU", "ImplementationStarted", "Implemented"])
def test_evaluation_before_implementation_is_refused(app: Saftale, upto: str) -> None:
    """Before approval, before any start, and while the only cluster is still implementing."""
    path = agreement_path(S)
    app.record_many(until(path, upto))
    refused(app, first(path, "Evaluated"), "evaluation-before-implementation")


def test_evaluation_after_implementation_is_allowed(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "Evaluated"))
    accepted(app, first(path, "Evaluated"))


def test_evaluation_scheduling_before_implementation_is_allowed(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "ImplementationStarted")
    app.record_many(prefix)
    accepted(app, f.EvaluationScheduled(subject=S, on=later(prefix), by="SSG", due="2021-01"))
    assert app.agreement(S).evaluation_due == "2021-01"


# -- closed --------------------------------------------------------------------------------------


def withdrawn_after(app: Saftale, upto: str) -> list[Fact]:
    path = agreement_path(S)
    prefix = until(path, upto)
    app.record_many(prefix)
    app.record(f.AgreementWithdrawn(subject=S, on=later(prefix), by="SKU", reason="Superseded"))
    return path


@pytest.mark.parametrize(
    "upto", ["KommissoriumApproved", "DraftSubmitted", "ApprovedBySKU", "ImplementationStarted"]
)
def test_closed_refuses_the_next_step_after_withdrawal(app: Saftale, upto: str) -> None:
    path = withdrawn_after(app, upto)
    fact = with_(first(path, upto), on=later(until(path, upto), 2))
    exc = refused(app, fact, "closed")
    assert app.agreement(S).status == "withdrawn"
    assert "withdrawn" in exc.detail


def test_closed_refuses_a_second_withdrawal(app: Saftale) -> None:
    withdrawn_after(app, "DraftSubmitted")
    fact = f.AgreementWithdrawn(subject=S, on="2019-06-01", by="SSG", reason="Again")
    refused(app, fact, "closed")


@pytest.mark.parametrize(
    "upto", ["KommissoriumApproved", "DraftSubmitted", "ApprovedBySKU", "ImplementationStarted"]
)
def test_closed_the_same_step_is_allowed_without_withdrawal(app: Saftale, upto: str) -> None:
    path = agreement_path(S)
    prefix = until(path, upto)
    app.record_many(prefix)
    accepted(app, with_(first(path, upto), on=later(prefix, 2)))


@pytest.mark.parametrize("upto", ["KommissoriumApproved", "ApprovedBySKU", "Evaluated"])
def test_closed_withdrawal_is_allowed_at_any_open_status(app: Saftale, upto: str) -> None:
    prefix = until(agreement_path(S), upto)
    app.record_many(prefix)
    fact = f.AgreementWithdrawn(subject=S, on=later(prefix), by="SSG", reason="Superseded")
    accepted(app, fact)
    assert app.agreement(S).status == "withdrawn"
    assert app.agreement(S).next_steps == ()


# -- date-before-previous -------------------------------------------------------------------------

# steps whose previous fact in the path is the step they follow
FOLLOWS_PREVIOUS = [
    "KommissoriumApproved",
    "ClusterOffered",
    "ClusterAssigned",
    "DraftSubmitted",
    "DraftCoordinated",
    "DraftSentForComments",
    "CommentReceived",
    "SubmittedForApproval",
    "ApprovedBySSG",
    "ApprovedBySKU",
    "ApprovedByCouncil",
    "ImplementationStarted",
    "Implemented",
    "Evaluated",
]


@pytest.mark.parametrize("step", FOLLOWS_PREVIOUS)
def test_date_before_previous_refuses_a_day_before_the_step_it_follows(
    app: Saftale, step: str
) -> None:
    path = agreement_path(S)
    prefix = until(path, step)
    app.record_many(prefix)
    fact = with_(first(path, step), on=shifted(prefix[-1].on, -1))
    exc = refused(app, fact, "date-before-previous")
    assert prefix[-1].on.text in exc.detail


@pytest.mark.parametrize("step", FOLLOWS_PREVIOUS)
def test_date_before_previous_allows_the_same_day(app: Saftale, step: str) -> None:
    path = agreement_path(S)
    prefix = until(path, step)
    app.record_many(prefix)
    accepted(app, with_(first(path, step), on=prefix[-1].on.text))


def test_date_before_previous_revision_follows_the_round_it_revises(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "CommentReceived")  # sent for comments on the last day of prefix
    app.record_many(prefix)
    revised = with_(first(path, "DraftRevised"), on=shifted(prefix[-1].on, -1))
    refused(app, revised, "date-before-previous")
    accepted(app, with_(revised, on=prefix[-1].on.text))


def test_date_before_previous_revision_follows_the_comments_received(app: Saftale) -> None:
    path = agreement_path(S)
    prefix = until(path, "DraftRevised")  # ends with the comment received
    app.record_many(prefix)
    assert prefix[-1].TYPE == "CommentReceived"
    refused(
        app,
        with_(first(path, "DraftRevised"), on=shifted(prefix[-1].on, -1)),
        "date-before-previous",
    )


def test_date_before_previous_allows_a_month_that_may_come_after(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "KommissoriumApproved"))  # initiated 2019-01-07
    accepted(app, with_(first(path, "KommissoriumApproved"), on="2019-01"))


def test_date_before_previous_refuses_a_month_that_ends_before(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "KommissoriumApproved"))
    refused(app, with_(first(path, "KommissoriumApproved"), on="2018-12"), "date-before-previous")


def test_date_before_previous_ssg_approval_follows_the_economic_clarification(
    app: Saftale,
) -> None:
    path = agreement_path(S, changes_task_allocation=True)
    prefix = until(path, "ApprovedBySSG")
    assert prefix[-1].TYPE == "EconomicConsequencesClarified"
    app.record_many(prefix)
    refused(
        app,
        with_(first(path, "ApprovedBySSG"), on=shifted(prefix[-1].on, -1)),
        "date-before-previous",
    )
    accepted(app, with_(first(path, "ApprovedBySSG"), on=prefix[-1].on.text))


def test_date_before_previous_withdrawal_follows_the_latest_fact(app: Saftale) -> None:
    prefix = until(agreement_path(S), "ApprovedBySKU")
    app.record_many(prefix)
    last = prefix[-1].on
    withdraw = f.AgreementWithdrawn(subject=S, on=shifted(last, -1), by="SSG", reason="x")
    refused(app, withdraw, "date-before-previous")
    accepted(app, with_(withdraw, on=last.text))


def test_date_before_previous_implementation_follows_only_its_own_councils(
    app: Saftale,
) -> None:
    path = agreement_path(S)  # aarhus: regionsraad, aarhus, samso approve in April 2019
    prefix = until(path, "ImplementationStarted")
    app.record_many(prefix)
    # Horsens approves in September; Aarhus had started in May, recorded afterwards.
    app.record(f.ApprovedByCouncil(subject=S, on="2019-09-02", by="byraad:horsens"))
    accepted(app, with_(first(path, "ImplementationStarted"), on=later(prefix)))


# -- date-in-future -----------------------------------------------------------------------------


def test_date_in_future_refuses_a_day_after_recording(app: Saftale, clock: Clock) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "KommissoriumApproved"))
    tomorrow = (clock.now.date() + dt.timedelta(days=1)).isoformat()
    refused(app, with_(first(path, "KommissoriumApproved"), on=tomorrow), "date-in-future")


def test_date_in_future_refuses_an_initiation_in_the_future(app: Saftale, clock: Clock) -> None:
    next_year = str(clock.now.year + 1)
    refused(app, with_(agreement_path(S)[0], on=next_year), "date-in-future")


@pytest.mark.parametrize("when", ["today", "interval"])
def test_date_in_future_allows_today_and_a_period_begun(
    app: Saftale, clock: Clock, when: str
) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "KommissoriumApproved"))
    today = clock.now.date()
    on = today.isoformat()
    if when == "interval":
        on = f"{today.year - 1}-12/{today.year}-02"
    accepted(app, with_(first(path, "KommissoriumApproved"), on=on))


def test_date_in_future_allows_a_future_deadline(app: Saftale, clock: Clock) -> None:
    path = agreement_path(S)
    prefix = until(path, "DraftSentForComments")
    app.record_many(prefix)
    deadline = str(clock.now.year + 5)
    accepted(app, with_(first(path, "DraftSentForComments"), deadline=deadline))


# -- unknown-subject / duplicate-subject ---------------------------------------------------------


def test_unknown_subject_refuses_a_step_of_a_subject_never_initiated(app: Saftale) -> None:
    app.record(agreement_path("other")[0])
    fact = first(agreement_path(S), "KommissoriumApproved")
    exc = refused(app, fact, "unknown-subject")
    assert repr(S) in exc.detail


def test_unknown_subject_refuses_a_correction_of_a_subject_never_initiated(app: Saftale) -> None:
    fact = FactCorrected(subject=S, on="2019-05-01", by="SAS", corrects=1, reason="Typo")
    refused(app, fact, "unknown-subject")


def test_unknown_subject_allows_the_step_after_initiation(app: Saftale) -> None:
    path = agreement_path(S)
    app.record(path[0])
    accepted(app, first(path, "KommissoriumApproved"))


def test_duplicate_subject_refuses_a_second_initiation(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    again = with_(path[0], by="SKU", title="Another title", on="2019-02-01")
    exc = refused(app, again, "duplicate-subject")
    assert repr(S) in exc.detail


def test_duplicate_subject_allows_another_key(app: Saftale) -> None:
    path = agreement_path(S)
    app.record(path[0])
    accepted(app, with_(path[0], subject=S + "-2"))
    assert [s for s, _ in app.subjects()] == [S, S + "-2"]


# -- unknown-body ---------------------------------------------------------------------------------


def unknown_body_case(name: str, ident: str) -> tuple[list[Fact], Fact]:
    """(prefix, fact) with ``ident`` put where the case ``name`` puts an id."""
    cluster = agreement_path(S)
    group = agreement_path(S, delivery="working_group")
    if name == "by on initiation":
        return [], with_(cluster[0], by=ident)
    if name == "by":
        return until(cluster, "KommissoriumApproved"), with_(
            first(cluster, "KommissoriumApproved"), by=ident
        )
    if name == "council":
        return until(cluster, "ApprovedByCouncil"), with_(
            first(cluster, "ApprovedByCouncil"), by=ident
        )
    if name == "offering cluster":
        return until(cluster, "ClusterOffered"), with_(first(cluster, "ClusterOffered"), by=ident)
    if name == "assigned cluster":
        return until(cluster, "ClusterOffered"), with_(
            first(cluster, "ClusterAssigned"), cluster=ident
        )
    if name == "comment party":
        return until(cluster, "DraftSentForComments"), with_(
            first(cluster, "DraftSentForComments"), parties=["PLO", ident]
        )
    if name == "working-group member":
        return until(group, "WorkingGroupEstablished"), with_(
            first(group, "WorkingGroupEstablished"), members=["PLO", ident]
        )
    if name == "working group":
        return until(group, "WorkingGroupEstablished"), with_(
            first(group, "WorkingGroupEstablished"), group=ident
        )
    raise LookupError(name)


UNKNOWN = [
    ("by on initiation", "Styregruppen", "SKU"),
    ("by", "SSX", "Sundhedsstyregruppen"),
    ("council", "byraad:Nowhere", "byraad:Århus"),
    ("council", "byraad:klynge", "byraad:ringkobing-skjern"),
    ("offering cluster", "klynge:nowhere", "Gødstrupklyngen"),
    ("assigned cluster", "klynge:nowhere", "klynge:godstrup"),
    ("assigned cluster", "SSG", "Midtklyngen"),  # a body, but not a cluster
    ("comment party", "Lægeforeningen", "Patientinddragelsesudvalget"),
    ("working-group member", "nobody", "byraad:Samsø"),
    ("working group", "klynge:horsens", "arbejdsgruppe:rygning"),
    ("working group", "arbejdsgruppe:Rygning Nu!", "arbejdsgruppe:rygning-nu"),
]


@pytest.mark.parametrize(("case", "unknown", "known"), UNKNOWN)
def test_unknown_body_is_refused(app: Saftale, case: str, unknown: str, known: str) -> None:
    prefix, fact = unknown_body_case(case, unknown)
    app.record_many(prefix)
    exc = refused(app, fact, "unknown-body")
    assert unknown in exc.detail


@pytest.mark.parametrize(("case", "unknown", "known"), UNKNOWN)
def test_unknown_body_a_known_id_or_alias_is_allowed(
    app: Saftale, case: str, unknown: str, known: str
) -> None:
    prefix, fact = unknown_body_case(case, known)
    app.record_many(prefix)
    accepted(app, fact)


def test_unknown_body_through_record_is_an_unknown_id_and_a_lookup_error(app: Saftale) -> None:
    fact = with_(agreement_path(S)[0], by="SSX")
    with pytest.raises(LookupError) as info:
        app.record(fact)
    assert isinstance(info.value, UnknownId)
    assert info.value.ident == "SSX"
    assert info.value.subject == S


# -- bad-record -----------------------------------------------------------------------------------

INITIATION: dict[str, Any] = {
    "subject": S,
    "on": "2019-01-07",
    "by": "SSG",
    "title": "Rygestop",
    "origin": "own_initiative",
    "focus_areas": ["forebyggelse"],
}

BAD_RECORDS: list[tuple[type[Fact], dict[str, Any]]] = [
    (f.AgreementInitiated, {"title": ""}),
    (f.AgreementInitiated, {"title": "   "}),
    (f.AgreementInitiated, {"title": 123}),
    (f.AgreementInitiated, {"origin": "because"}),
    (f.AgreementInitiated, {"focus_areas": "forebyggelse"}),
    (f.AgreementInitiated, {"subject": ""}),
    (f.AgreementInitiated, {"subject": 7}),
    (f.AgreementInitiated, {"by": " SSG"}),
    (f.AgreementInitiated, {"note": ""}),
    (f.KommissoriumApproved, {"delivery": "committee"}),
    (f.KommissoriumApproved, {"general_practice_tasks": "yes"}),
    (f.KommissoriumApproved, {"changes_task_allocation": 1}),
    (f.WorkingGroupEstablished, {"members": []}),
    (f.WorkingGroupEstablished, {"members": ["PLO", "PLO"]}),
    (f.DraftSentForComments, {"parties": "PLO"}),
    (f.DraftSubmitted, {"triple_aim": "true"}),
    (f.ApprovedBySSG, {"evaluate_after_months": "12"}),
    (f.ApprovedBySSG, {"evaluate_after_months": 0}),
    (f.ApprovedBySSG, {"evaluate_after_months": True}),
    (f.ReturnedBySSG, {"reason": ""}),
    (f.Evaluated, {"findings": None}),
]

GOOD_KEYS: dict[type[Fact], dict[str, Any]] = {
    f.AgreementInitiated: INITIATION,
    f.KommissoriumApproved: {"by": "SSG", "delivery": "working_group"},
    f.WorkingGroupEstablished: {"by": "SAS", "group": "arbejdsgruppe:x", "members": ["PLO"]},
    f.DraftSentForComments: {"by": "SAS", "parties": ["PLO"], "deadline": "2019-05"},
    f.DraftSubmitted: {"by": "klynge:horsens", "triple_aim": True},
    f.ApprovedBySSG: {"by": "SSG", "evaluate_after_months": 12},
    f.ReturnedBySSG: {"by": "SSG", "reason": "Unclear"},
    f.Evaluated: {"by": "SAS", "findings": "Works"},
}


def build(cls: type[Fact], **changes: Any) -> Fact:
    keys: dict[str, Any] = {"subject": S, "on": "2019-01-07", **GOOD_KEYS[cls], **changes}
    return cls(**keys)


@pytest.mark.parametrize(("cls", "bad"), BAD_RECORDS)
def test_bad_record_is_refused_when_the_fact_is_built(
    app: Saftale, cls: type[Fact], bad: dict[str, Any]
) -> None:
    before = stored(app)
    with pytest.raises(RuleViolation) as info:
        build(cls, **bad)
    assert info.value.code == "bad-record", info.value.message
    assert next(iter(bad)) in info.value.detail  # the error names the key
    assert stored(app) == before


@pytest.mark.parametrize("cls", list(GOOD_KEYS))
def test_bad_record_the_same_fact_with_good_keys_is_built(cls: type[Fact]) -> None:
    written = fact_to_dict(build(cls))
    assert written["type"] == cls.TYPE
    for key, value in GOOD_KEYS[cls].items():
        assert written[key] == value


@pytest.mark.parametrize(
    ("cls", "bad"),
    [(f.AgreementInitiated, {"title": ""}), (f.AgreementInitiated, {"on": "2019-02-30"})],
)
def test_bad_record_or_date_raised_while_building_names_the_subject(
    cls: type[Fact], bad: dict[str, Any]
) -> None:
    with pytest.raises(RuleViolation) as info:
        build(cls, **bad)
    assert info.value.subject == S


def test_bad_record_is_refused_for_an_unknown_focus_area(app: Saftale) -> None:
    fact = build(f.AgreementInitiated, focus_areas=["forebyggelse", "rygning"])
    exc = refused(app, fact, "bad-record")
    assert "rygning" in exc.detail


def test_bad_record_a_focus_area_alias_is_allowed_and_stored_canonically(app: Saftale) -> None:
    fact = accepted(app, build(f.AgreementInitiated, focus_areas=["Ældre", "nær-psykiatri"]))
    assert fact.focus_areas == ("aeldre", "naer-psykiatri")  # type: ignore[attr-defined]


def test_bad_record_is_refused_for_a_correction_of_a_fact_that_does_not_exist(
    app: Saftale,
) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(subject=S, on="2019-02-01", by="SAS", corrects=3, reason="x")
    exc = refused(app, fix, "bad-record")
    assert "corrects" in exc.detail
    accepted(app, with_(fix, corrects=2, replacement=with_(path[1], on="2019-01-15")))


def test_bad_record_is_refused_for_a_correction_of_a_correction(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(
        subject=S,
        on="2019-02-01",
        by="SAS",
        corrects=2,
        reason="x",
        replacement=with_(path[1], on="2019-01-15"),
    )
    app.record(fix)
    refused(app, with_(fix, corrects=3), "bad-record")
    accepted(app, with_(fix, replacement=with_(path[1], on="2019-01-16")))


def test_bad_record_is_refused_for_something_that_is_not_a_fact(app: Saftale) -> None:
    before = stored(app)
    not_a_fact: Any = dict(INITIATION)
    with pytest.raises(RuleViolation) as info:
        app.record(not_a_fact)
    assert info.value.code == "bad-record"
    assert stored(app) == before


def test_bad_record_allows_a_well_formed_initiation(app: Saftale) -> None:
    fact = accepted(app, build(f.AgreementInitiated))
    assert fact == f.AgreementInitiated(**INITIATION)


# -- bad-date -----------------------------------------------------------------------------------

BAD_DATES = [
    ("on", "2019-02-30"),
    ("on", "2019-13"),
    ("on", "ultimo april"),
    ("on", "30-04-2019"),
    ("on", "2019-05/2019-04"),
    ("on", "2019/2020/2021"),
    ("on", " 2019-05-01"),
    ("on", ""),
    ("on", "0000"),
    ("on", dt.datetime(2019, 5, 1, 12, 0, tzinfo=dt.UTC)),
    ("on", 2019),
    ("deadline", "snart"),
]
GOOD_DATES = [
    ("on", "2019-02-28"),
    ("on", "2019-12"),
    ("on", "2019"),
    ("on", "2019-04/2019-05"),
    ("on", "2017-10/2017-12"),
    ("on", dt.date(2019, 5, 1)),
    ("deadline", "2019-06-01"),
]


@pytest.mark.parametrize(("key", "value"), BAD_DATES)
def test_bad_date_is_refused(app: Saftale, key: str, value: object) -> None:
    before = stored(app)
    cls = f.DraftSentForComments if key == "deadline" else f.AgreementInitiated
    with pytest.raises(RuleViolation) as info:
        build(cls, **{key: value})
    assert info.value.code == "bad-date", info.value.message
    assert stored(app) == before


@pytest.mark.parametrize(("key", "value"), GOOD_DATES)
def test_bad_date_a_valid_day_month_year_or_interval_is_allowed(
    app: Saftale, key: str, value: object
) -> None:
    if key == "deadline":
        path = agreement_path(S)
        app.record_many(until(path, "DraftSentForComments"))
        fact = accepted(app, with_(first(path, "DraftSentForComments"), deadline=value))
        assert fact.deadline == Period.coerce(value)  # type: ignore[attr-defined, arg-type]
    else:
        fact = accepted(app, build(f.AgreementInitiated, **{key: value}))
        assert fact.on == Period.coerce(value)  # type: ignore[arg-type]


# -- triple-aim-missing (a warning) ---------------------------------------------------------------


@pytest.mark.parametrize("delivery", ["cluster", "working_group"])
def test_triple_aim_missing_warns_and_records(app: Saftale, delivery: str) -> None:
    path = agreement_path(S, delivery=delivery)
    app.record_many(until(path, "DraftSubmitted"))
    before = len(stored(app))
    receipt = app.record(with_(first(path, "DraftSubmitted"), triple_aim=False))
    assert [w.code for w in receipt.warnings] == ["triple-aim-missing"]
    assert receipt.warnings[0].subject == S
    assert receipt.warnings[0].rule.level is Level.SHOULD
    assert len(stored(app)) == before + 1
    assert app.agreement(S).status == "drafted"


def test_triple_aim_described_gives_no_warning(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "DraftSubmitted"))
    accepted(app, with_(first(path, "DraftSubmitted"), triple_aim=True))


# -- aliases -------------------------------------------------------------------------------------


def test_aliases_danish_spellings_are_stored_canonically(app: Saftale) -> None:
    path = agreement_path(S, cluster="klynge:vest", implement_in=("klynge:aarhus",))
    prefix = until(path, "ClusterOffered")
    app.record_many(prefix)
    offered = app.record(with_(first(path, "ClusterOffered"), by="Gødstrupklyngen"))
    assigned = app.record(with_(first(path, "ClusterAssigned"), cluster="Gødstrupklyngen"))
    assert offered.fact.by == "klynge:vest"
    assert assigned.fact.cluster == "klynge:vest"  # type: ignore[attr-defined]
    rest = until(path, "ImplementationStarted")[len(prefix) + 2 :]
    spelled = {"regionsraad": "Regionsrådet", "byraad:aarhus": "byraad:Århus"}
    for fact in rest:
        if fact.TYPE in ("DraftSubmitted", "DraftRevised", "SubmittedForApproval"):
            fact = with_(fact, by="Vestklyngen")
        app.record(with_(fact, by=spelled.get(fact.by, fact.by)))
    stored_by = [e.fact.by for e in app.history(S)]
    assert "Regionsrådet" not in stored_by
    assert "byraad:Århus" not in stored_by
    assert {"regionsraad", "byraad:aarhus", "byraad:samso"} <= set(stored_by)
    report = app.agreement(S)
    assert report.state.assigned_cluster == "klynge:vest"
    assert report.councils_approved == ("regionsraad", "byraad:aarhus", "byraad:samso")
    # the approvals given under Danish spellings count for the implementation gate
    accepted(app, first(path, "ImplementationStarted"))


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("byraad:Århus", "byraad:aarhus"),
        ("byråd:Aarhus", "byraad:aarhus"),
        ("BYRAAD:AARHUS", "byraad:aarhus"),
        ("Regionsrådet", "regionsraad"),
        ("byraad:Ringkøbing-Skjern", "byraad:ringkobing-skjern"),
        ("byraad:Samsø", "byraad:samso"),
    ],
)
def test_aliases_council_spellings(app: Saftale, spelling: str, canonical: str) -> None:
    prefix = until(agreement_path(S), "ApprovedByCouncil")
    app.record_many(prefix)
    fact = accepted(app, f.ApprovedByCouncil(subject=S, on=later(prefix), by=spelling))
    assert fact.by == canonical
    assert app.history(S)[-1].fact.by == canonical
    assert app.agreement(S).councils_approved == (canonical,)


# -- corrections ---------------------------------------------------------------------------------


def test_correction_replacing_the_kommissorium_date_is_accepted(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "DraftSubmitted"))
    kommissorium = first(path, "KommissoriumApproved")
    pos = position(app, S, "KommissoriumApproved")
    new = with_(kommissorium, on="2019-01-18")
    fix = FactCorrected(subject=S, on="2019-06-01", by="SAS", corrects=pos, reason="Wrong date")
    receipt = app.record(with_(fix, replacement=new))
    assert receipt.fact.corrects == pos  # type: ignore[attr-defined]
    assert app.agreement(S).state.kommissorium_on == Period.parse("2019-01-18")
    history = app.history(S)
    assert len(history) == len(until(path, "DraftSubmitted")) + 1
    assert history[pos - 1].fact == kommissorium
    assert history[pos - 1].in_force is False
    assert history[pos - 1].corrected_by == (len(history),)
    assert history[-1].in_force is True
    effective = [e.fact for e in app.effective(S)]
    assert new in effective
    assert kommissorium not in effective


def test_correction_replacing_a_council_decision_is_accepted(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ImplementationStarted"))
    pos = position(app, S, "ApprovedByCouncil", by="byraad:samso")
    old = app.history(S)[pos - 1].fact
    rejected = f.RejectedByCouncil(subject=S, on=old.on, by="byraad:samso", reason="No budget")
    app.record(
        FactCorrected(
            subject=S,
            on="2019-06-01",
            by="SAS",
            corrects=pos,
            reason="The council rejected",
            replacement=rejected,
        )
    )
    report = app.agreement(S)
    assert report.councils_rejected == ("byraad:samso",)
    assert "byraad:samso" not in report.councils_approved
    assert app.history(S)[pos - 1].in_force is False
    # and the gate now follows the corrected decision
    refused(app, first(path, "ImplementationStarted"), "implementation-before-approval")


def test_correction_retracting_a_comment_is_accepted(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "DraftRevised"))
    pos = position(app, S, "CommentReceived")
    fix = FactCorrected(subject=S, on="2019-06-01", by="SAS", corrects=pos, reason="Not sent")
    before = len(app.history(S))
    app.record(fix)
    assert len(app.history(S)) == before + 1
    assert app.agreement(S).state.comments == ()
    entry = app.history(S)[pos - 1]
    assert entry.fact == first(path, "CommentReceived")
    assert entry.in_force is False
    assert entry.corrected_by == (before + 1,)
    accepted(app, first(path, "DraftRevised"))


INVALID_RETRACTIONS: list[tuple[str, str | None, str]] = [
    # (the fact retracted, the history recorded up to (None: all of it), the inner code)
    ("ClusterAssigned", "DraftCoordinated", "out-of-order"),
    ("ApprovedBySSG", "ApprovedByCouncil", "out-of-order"),
    ("ImplementationStarted", "Evaluated", "out-of-order"),
    ("Implemented", None, "evaluation-before-implementation"),
]


@pytest.mark.parametrize(("target", "upto", "inner"), INVALID_RETRACTIONS)
def test_correction_retraction_leaving_an_invalid_history_is_refused(
    app: Saftale, target: str, upto: str | None, inner: str
) -> None:
    path = agreement_path(S)
    app.record_many(path if upto is None else until(path, upto))
    pos = position(app, S, target)
    fix = FactCorrected(subject=S, on="2019-12-01", by="SAS", corrects=pos, reason="Mistake")
    exc = refused(app, fix, "correction-invalid")
    assert inner in exc.detail
    assert all(e.in_force for e in app.history(S))


def test_correction_retracting_a_council_approval_needed_by_an_implementation_is_refused(
    app: Saftale,
) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "Implemented"))
    pos = position(app, S, "ApprovedByCouncil", by="byraad:samso")
    fix = FactCorrected(subject=S, on="2019-12-01", by="SAS", corrects=pos, reason="Mistake")
    exc = refused(app, fix, "correction-invalid")
    assert "implementation-before-approval" in exc.detail
    assert "ImplementationStarted" in exc.detail
    # the closest allowed case: the same retraction before any implementation
    other = S + "-2"
    path2 = agreement_path(other)
    app.record_many(until(path2, "ImplementationStarted"))
    accepted(app, with_(fix, subject=other))


def test_correction_replacement_leaving_an_invalid_history_is_refused(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "DraftSubmitted"))  # offered on 2019-01-21
    pos = position(app, S, "KommissoriumApproved")
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=pos,
        reason="Wrong date",
        replacement=with_(first(path, "KommissoriumApproved"), on="2019-02-01"),
    )
    exc = refused(app, fix, "correction-invalid")
    assert "date-before-previous" in exc.detail
    assert app.agreement(S).state.kommissorium_on == first(path, "KommissoriumApproved").on


def test_correction_replacement_by_an_unauthorised_body_is_refused(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=2,
        reason="Wrong body",
        replacement=with_(first(path, "KommissoriumApproved"), by="SKU"),
    )
    exc = refused(app, fix, "correction-invalid")
    assert "not-authorised" in exc.detail


def test_correction_of_the_initiation_cannot_retract_it(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(subject=S, on="2019-06-01", by="SAS", corrects=1, reason="Mistake")
    refused(app, fix, "correction-invalid")
    accepted(app, with_(fix, replacement=with_(path[0], title="Rygestop for unge")))
    assert app.agreement(S).title == "Rygestop for unge"


def test_correction_of_the_initiation_needs_the_same_type(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=1,
        reason="Mistake",
        replacement=with_(path[1], on=path[0].on),
    )
    refused(app, fix, "correction-invalid")


def test_correction_cannot_put_an_initiation_in_place_of_a_step(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=2,
        reason="Mistake",
        replacement=with_(path[0], on=path[1].on),
    )
    refused(app, fix, "correction-invalid")


def test_correction_with_a_replacement_in_the_future_is_refused(app: Saftale, clock: Clock) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ClusterOffered"))
    future = (clock.now.date() + dt.timedelta(days=1)).isoformat()
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=2,
        reason="Date",
        replacement=with_(path[1], on=future),
    )
    refused(app, fix, "date-in-future")


def test_correction_replacement_is_stored_with_canonical_ids(app: Saftale) -> None:
    path = agreement_path(S)
    app.record_many(until(path, "ImplementationStarted"))
    pos = position(app, S, "ApprovedByCouncil", by="byraad:aarhus")
    old = app.history(S)[pos - 1].fact
    fix = FactCorrected(
        subject=S,
        on="2019-06-01",
        by="SAS",
        corrects=pos,
        reason="Wrong date",
        replacement=with_(old, by="byraad:Århus", on=shifted(old.on, 1)),
    )
    receipt = app.record(fix)
    assert receipt.fact.replacement.by == "byraad:aarhus"  # type: ignore[attr-defined]
    assert "byraad:aarhus" in app.agreement(S).councils_approved
    accepted(app, first(path, "ImplementationStarted"))
