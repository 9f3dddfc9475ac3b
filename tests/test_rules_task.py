"""Process 2 (development task): every rule shown refusing, and the closest case allowed.

Each refusal test checks the refusal code, that the error names the subject, and
that nothing was recorded (the subject's history has the same length, and the
whole store reads back the same).  Each allowed test records the nearest fact
the rule lets through.  Histories are built from :func:`tests.support.task_path`
(route 1a: SSG asks Horsens, Midt and Aarhus; Horsens and Midt accept, Aarhus
declines; the solution spreads to Aarhus, Randers and Vest) and
:func:`tests.support.own_task_path` (route 1b: Vest's own task, spread to
Aarhus); their facts are dated 2019, a week apart, and the clock records in 2024.

The last part is the authority table: for every row of :data:`saftale_core.TASK`
the step is put in order, then each registry body the row's ``who`` does not
name is refused with ``not-authorised`` and the named body is accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from saftale_core import TASK, Recorded, Registry, RuleViolation, Saftale
from saftale_core import facts as f
from saftale_core.facts import Fact
from saftale_core.process import Step, Who
from tests.support import first, own_task_path, task_path, until, with_

REG = Registry.default()
S = "akut-aeldre"
OWN = "ung-trivsel"
HORSENS, MIDT, AARHUS = "klynge:horsens", "klynge:midt", "klynge:aarhus"
RANDERS, VEST = "klynge:randers", "klynge:vest"

# -- helpers -----------------------------------------------------------------------------


def stored(app: Saftale) -> list[Recorded]:
    """Everything the store holds, in recording order."""
    return list(app.all_records())


def history_length(app: Saftale, subject: str) -> int:
    """How many facts the subject has (0 for a subject never initiated)."""
    if not app.records(subject):
        return 0
    return len(app.history(subject))


def refused(app: Saftale, fact: Fact, code: str) -> RuleViolation:
    """Record ``fact``; expect the refusal ``code`` naming the subject, and nothing recorded."""
    before, length = stored(app), history_length(app, fact.subject)
    with pytest.raises(RuleViolation) as info:
        app.record(fact)
    exc = info.value
    assert exc.code == code, exc.message
    assert exc.subject == fact.subject
    assert exc.fact_type == fact.TYPE
    assert history_length(app, fact.subject) == length
    assert stored(app) == before
    return exc


def accepted(app: Saftale, fact: Fact, *, warnings: tuple[str, ...] = ()) -> Fact:
    """Record ``fact``; expect it stored with exactly these warning codes; the fact as stored."""
    length = history_length(app, fact.subject)
    receipt = app.record(fact)
    assert tuple(w.code for w in receipt.warnings) == warnings
    assert all(w.subject == fact.subject for w in receipt.warnings)
    history = app.history(fact.subject)
    assert len(history) == length + 1
    assert history[-1].fact == receipt.fact
    return receipt.fact


def later(facts: list[Fact], weeks: int = 1) -> str:
    """A day ``weeks`` after the last of ``facts``."""
    return (max(x.on.end for x in facts) + dt.timedelta(weeks=weeks)).isoformat()


def day_before(fact: Fact) -> str:
    return (fact.on.start - dt.timedelta(days=1)).isoformat()


def all_of(facts: list[Fact], type_name: str) -> list[Fact]:
    return [x for x in facts if x.TYPE == type_name]


def councils_of(cluster: str) -> tuple[str, ...]:
    """From the registry data: the regional council and the cluster's municipal councils."""
    return ("regionsraad", *(f"byraad:{m}" for m in REG.clusters[cluster].municipalities))


def initiated(subject: str, by: str = "SSG", **kw: Any) -> f.DevelopmentTaskInitiated:
    kw.setdefault("clusters", [HORSENS, MIDT, AARHUS] if by == "SSG" else [])
    return f.DevelopmentTaskInitiated(
        subject=subject, on="2019-01-07", by=by, title="Akut syge ældre", **kw
    )


def offer(subject: str, on: str, clusters: list[str]) -> f.TaskOfferedToClusters:
    return f.TaskOfferedToClusters(subject=subject, on=on, by="SSG", clusters=clusters)


def respond(subject: str, on: str, by: str, *, accepts: bool = True) -> f.ClusterResponded:
    return f.ClusterResponded(subject=subject, on=on, by=by, accepts=accepts)


def solution_tested(subject: str, on: str, by: str) -> f.SolutionTested:
    return f.SolutionTested(subject=subject, on=on, by=by)


def upto_responses(subject: str = S) -> list[Fact]:
    """Initiated, briefed and offered to Horsens, Midt and Aarhus; no answers yet."""
    return until(task_path(subject), "ClusterResponded")


def ready_to_implement(
    spread_to: tuple[str, ...] = (AARHUS, RANDERS, VEST),
    councils: tuple[str, ...] = (),
) -> list[Fact]:
    """The path up to SKU's approval, then these councils approve."""
    prefix = task_path(S, spread_to=spread_to, implement_in=())
    assert prefix[-1].TYPE == "ApprovedBySKU"
    when = later(prefix)
    return prefix + [f.ApprovedByCouncil(subject=S, on=when, by=c) for c in councils]


# -- the catalogue ------------------------------------------------------------------------


TESTED_HERE = {
    "brief-missing",
    "not-asked",
    "coordination-missing",
    "comments-skipped",
    "triple-aim-missing",
    "implementation-before-approval",
    "council-twice",
    "evaluation-before-implementation",
    "not-authorised",
    "out-of-order",
    "closed",
    "duplicate-subject",
    "unknown-subject",
    "unknown-body",
    "bad-record",
    "date-before-previous",
}


def test_every_rule_the_task_table_names_is_tested_here() -> None:
    named = {code for step in TASK.all_steps for code in step.rules}
    too_early = {code for step in TASK.all_steps for code in step.too_early.values()}
    assert named | too_early <= TESTED_HERE


# -- brief-missing --------------------------------------------------------------------------


def test_brief_missing_refuses_an_offer_before_the_brief(app: Saftale) -> None:
    app.record(initiated(S))
    exc = refused(app, offer(S, "2019-01-21", [HORSENS, MIDT]), "brief-missing")
    assert "TaskOfferedToClusters" in exc.message
    assert app.task(S).status == "initiated"


def test_brief_missing_allows_the_offer_after_the_brief(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "TaskOfferedToClusters"))
    accepted(app, first(path, "TaskOfferedToClusters"))
    assert app.task(S).status == "offered"


def test_an_offer_on_a_clusters_own_task_is_out_of_order_not_brief_missing(app: Saftale) -> None:
    """The brief is required when SSG initiates; a cluster's own task is never offered."""
    app.record(own_task_path(OWN)[0])
    refused(app, offer(OWN, "2019-01-21", [HORSENS]), "out-of-order")


# -- triple-aim-missing (a warning) ------------------------------------------------------------


def test_triple_aim_missing_warns_on_a_brief_without_it_and_records(app: Saftale) -> None:
    path = task_path(S)
    brief = first(path, "AssignmentBriefSet")
    app.record(path[0])
    accepted(app, with_(brief, triple_aim=False), warnings=("triple-aim-missing",))
    assert app.task(S).status == "briefed"


def test_triple_aim_in_the_brief_gives_no_warning(app: Saftale) -> None:
    path = task_path(S)
    app.record(path[0])
    accepted(app, first(path, "AssignmentBriefSet"))


# -- not-asked ------------------------------------------------------------------------------


def test_not_asked_refuses_a_response_from_a_cluster_that_was_not_asked(app: Saftale) -> None:
    prefix = upto_responses()
    app.record_many(prefix)
    exc = refused(app, respond(S, later(prefix), VEST), "not-asked")
    assert VEST in exc.detail


def test_not_asked_allows_a_response_from_an_asked_cluster(app: Saftale) -> None:
    prefix = upto_responses()
    app.record_many(prefix)
    accepted(app, respond(S, later(prefix), AARHUS, accepts=False))
    assert app.task(S).declined == (AARHUS,)


def test_a_cluster_the_offer_adds_counts_as_asked(app: Saftale) -> None:
    """Pinned: the clusters SSG sends the brief to are asked too (the asked set grows)."""
    path = task_path(S, asked=(HORSENS,), developers=(HORSENS,))
    prefix = until(path, "TaskOfferedToClusters")
    app.record_many(prefix)
    app.record(offer(S, later(prefix), [HORSENS, VEST]))
    accepted(app, respond(S, later(prefix, 2), VEST))
    assert app.task(S).asked == (HORSENS, VEST)


@pytest.mark.parametrize(
    ("tester", "answers"),
    [
        (AARHUS, {HORSENS: True, AARHUS: False}),  # declined
        (MIDT, {HORSENS: True}),  # asked, never answered
        (VEST, {HORSENS: True}),  # never asked
    ],
    ids=["declined", "never-answered", "never-asked"],
)
def test_not_asked_refuses_development_by_a_cluster_that_did_not_accept(
    app: Saftale, tester: str, answers: dict[str, bool]
) -> None:
    prefix = upto_responses()
    prefix += [respond(S, later(prefix), c, accepts=a) for c, a in answers.items()]
    app.record_many(prefix)
    refused(app, solution_tested(S, later(prefix), tester), "not-asked")


def test_not_asked_allows_development_by_the_one_cluster_that_accepted(app: Saftale) -> None:
    prefix = upto_responses()
    prefix += [respond(S, later(prefix), HORSENS), respond(S, later(prefix), AARHUS, accepts=False)]
    app.record_many(prefix)
    accepted(app, solution_tested(S, later(prefix), HORSENS))
    report = app.task(S)
    assert report.status == "tested"
    assert report.came_from == (HORSENS,)


def test_not_asked_refuses_another_cluster_testing_a_clusters_own_task(app: Saftale) -> None:
    path = own_task_path(OWN)
    app.record(path[0])
    refused(app, with_(first(path, "SolutionTested"), by=AARHUS), "not-asked")


def test_not_asked_allows_the_initiating_cluster_to_test_its_own_task(app: Saftale) -> None:
    path = own_task_path(OWN)
    app.record(path[0])
    accepted(app, first(path, "SolutionTested"))


def test_not_asked_refuses_another_cluster_reporting_results_of_an_own_task(
    app: Saftale,
) -> None:
    path = own_task_path(OWN)
    app.record_many(until(path, "ResultsReported"))
    refused(app, with_(first(path, "ResultsReported"), by=HORSENS), "not-asked")
    accepted(app, first(path, "ResultsReported"))


@pytest.mark.parametrize("outsider", [AARHUS, VEST], ids=["declined", "never-asked"])
def test_not_asked_refuses_the_core_from_a_cluster_that_did_not_develop(
    app: Saftale, outsider: str
) -> None:
    path = task_path(S)
    app.record_many(until(path, "SolutionCoreDelivered"))
    exc = refused(app, with_(first(path, "SolutionCoreDelivered"), by=outsider), "not-asked")
    assert outsider in exc.detail


def test_not_asked_allows_the_core_from_each_developing_cluster(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "SolutionCoreDelivered"))
    for core in all_of(path, "SolutionCoreDelivered"):
        accepted(app, core)
    assert app.task(S).status == "core_delivered"


def test_not_asked_refuses_the_core_of_an_own_task_from_another_cluster(app: Saftale) -> None:
    path = own_task_path(OWN)
    app.record_many(until(path, "SolutionCoreDelivered"))
    refused(app, with_(first(path, "SolutionCoreDelivered"), by=AARHUS), "not-asked")
    accepted(app, first(path, "SolutionCoreDelivered"))


def test_not_asked_refuses_implementation_in_a_cluster_not_spread_to(app: Saftale) -> None:
    """Randers' councils all approved, but SSG spread the solution to Aarhus only."""
    prefix = ready_to_implement(spread_to=(AARHUS,), councils=councils_of(RANDERS))
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=RANDERS)
    exc = refused(app, start, "not-asked")
    assert RANDERS in exc.detail


def test_not_asked_allows_implementation_in_a_cluster_spread_to(app: Saftale) -> None:
    prefix = ready_to_implement(spread_to=(AARHUS,), councils=councils_of(AARHUS))
    app.record_many(prefix)
    accepted(app, f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS))
    assert app.task(S).clusters_implementing == (AARHUS,)


# -- coordination-missing ------------------------------------------------------------------------


def test_coordination_missing_refuses_development_when_two_accepted(app: Saftale) -> None:
    path = task_path(S)
    prefix = [x for x in until(path, "SolutionTested") if x.TYPE != "ClustersCoordinated"]
    app.record_many(prefix)
    assert app.task(S).accepted == (HORSENS, MIDT)
    for developer in (HORSENS, MIDT):
        exc = refused(app, solution_tested(S, later(prefix), developer), "coordination-missing")
        assert "ClustersCoordinated" in exc.detail


@pytest.mark.parametrize("mode", ["joint", "alternatives"])
def test_coordination_missing_allows_development_after_coordination(
    app: Saftale, mode: str
) -> None:
    path = task_path(S, mode=mode)
    app.record_many(until(path, "SolutionTested"))
    for test in all_of(path, "SolutionTested"):
        accepted(app, test)
    report = app.task(S)
    assert report.coordination == mode
    assert report.came_from == (HORSENS, MIDT)


def test_coordination_is_out_of_order_with_only_one_acceptance(app: Saftale) -> None:
    prefix = upto_responses()
    prefix += [respond(S, later(prefix), HORSENS), respond(S, later(prefix), MIDT, accepts=False)]
    app.record_many(prefix)
    coordination = f.ClustersCoordinated(subject=S, on=later(prefix), by="SAS", mode="joint")
    refused(app, coordination, "out-of-order")


def test_coordination_is_allowed_once_two_accepted(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ClustersCoordinated"))
    accepted(app, first(path, "ClustersCoordinated"))


def test_coordination_is_recorded_once(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "SolutionTested")
    app.record_many(prefix)
    again = f.ClustersCoordinated(subject=S, on=later(prefix), by="SAS", mode="alternatives")
    refused(app, again, "out-of-order")


# -- comments-skipped (a warning) -------------------------------------------------------------


def test_comments_skipped_warns_on_approval_without_a_comments_round(app: Saftale) -> None:
    path = task_path(S, comments=False)
    app.record_many(until(path, "ApprovedBySSG"))
    accepted(app, first(path, "ApprovedBySSG"), warnings=("comments-skipped",))
    assert app.task(S).status == "ssg_approved"


def test_comments_skipped_gives_no_warning_after_a_comments_round(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ApprovedBySSG"))
    accepted(app, first(path, "ApprovedBySSG"))


# -- implementation-before-approval ------------------------------------------------------------


def test_implementation_before_approval_refuses_before_all_its_councils_approved(
    app: Saftale,
) -> None:
    """Aarhus' regional council and Aarhus approved; Samsø has not."""
    prefix = ready_to_implement(councils=("regionsraad", "byraad:aarhus"))
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    exc = refused(app, start, "implementation-before-approval")
    assert "byraad:samso" in exc.detail


def test_implementation_before_approval_refuses_before_the_regional_council(
    app: Saftale,
) -> None:
    prefix = ready_to_implement(councils=("byraad:aarhus", "byraad:samso"))
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    exc = refused(app, start, "implementation-before-approval")
    assert "regionsraad" in exc.detail


def test_implementation_before_approval_refuses_after_a_council_rejected(app: Saftale) -> None:
    prefix = ready_to_implement(councils=("regionsraad", "byraad:aarhus"))
    prefix.append(
        f.RejectedByCouncil(subject=S, on=later(prefix), by="byraad:samso", reason="Ingen midler")
    )
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    refused(app, start, "implementation-before-approval")


def test_implementation_before_approval_refuses_before_sku_approved(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "ApprovedBySKU")
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    refused(app, start, "implementation-before-approval")


def test_implementation_allowed_once_its_own_councils_approved(app: Saftale) -> None:
    """The councils of the other receiving clusters have not decided: they do not matter."""
    prefix = ready_to_implement(councils=councils_of(AARHUS))
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    accepted(app, start)
    randers = f.ImplementationStarted(subject=S, on=later(prefix), by=RANDERS)
    refused(app, randers, "implementation-before-approval")


def test_a_cluster_starts_implementing_once(app: Saftale) -> None:
    prefix = ready_to_implement(councils=councils_of(AARHUS))
    prefix.append(f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS))
    app.record_many(prefix)
    again = f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS)
    refused(app, again, "out-of-order")


# -- council-twice -------------------------------------------------------------------------------


@pytest.mark.parametrize("second", ["ApprovedByCouncil", "RejectedByCouncil"])
def test_council_twice_refuses_a_second_decision(app: Saftale, second: str) -> None:
    prefix = ready_to_implement(councils=("byraad:aarhus",))
    app.record_many(prefix)
    kw: dict[str, Any] = {"reason": "Fortrudt"} if second == "RejectedByCouncil" else {}
    fact = f.FACT_TYPES[second](subject=S, on=later(prefix), by="byraad:aarhus", **kw)
    refused(app, fact, "council-twice")
    assert app.task(S).councils_approved == ("byraad:aarhus",)


def test_council_twice_refuses_a_second_decision_given_by_an_alias(app: Saftale) -> None:
    prefix = ready_to_implement(councils=("byraad:aarhus",))
    app.record_many(prefix)
    fact = f.ApprovedByCouncil(subject=S, on=later(prefix), by="byråd:Århus")
    refused(app, fact, "council-twice")


def test_council_twice_allows_another_council(app: Saftale) -> None:
    prefix = ready_to_implement(councils=("byraad:aarhus",))
    app.record_many(prefix)
    accepted(app, f.ApprovedByCouncil(subject=S, on=later(prefix), by="byraad:samso"))
    reject = f.RejectedByCouncil(subject=S, on=later(prefix), by="byraad:viborg", reason="Nej")
    accepted(app, reject)
    report = app.task(S)
    assert report.councils_approved == ("byraad:aarhus", "byraad:samso")
    assert report.councils_rejected == ("byraad:viborg",)


# -- evaluation-before-implementation -------------------------------------------------------------


def evaluated(on: str) -> f.Evaluated:
    return f.Evaluated(subject=S, on=on, by="SAS", findings="Færre indlæggelser")


def test_evaluation_before_implementation_refuses_while_only_started(app: Saftale) -> None:
    prefix = ready_to_implement(councils=councils_of(AARHUS))
    prefix.append(f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS))
    app.record_many(prefix)
    refused(app, evaluated(later(prefix)), "evaluation-before-implementation")


def test_evaluation_before_implementation_refuses_before_approval(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "ApprovedBySKU")
    app.record_many(prefix)
    refused(app, evaluated(later(prefix)), "evaluation-before-implementation")


def test_evaluation_allowed_after_one_cluster_implemented(app: Saftale) -> None:
    prefix = ready_to_implement(councils=councils_of(AARHUS))
    prefix.append(f.ImplementationStarted(subject=S, on=later(prefix), by=AARHUS))
    prefix.append(f.Implemented(subject=S, on=later(prefix), by=AARHUS))
    app.record_many(prefix)
    accepted(app, evaluated(later(prefix)))
    assert app.task(S).clusters_implemented == (AARHUS,)


# -- out-of-order ---------------------------------------------------------------------------------

# (path, the step, the prerequisite it is tried without)
SKIPPED = [
    ("ssg", "ClusterResponded", "TaskOfferedToClusters"),
    ("ssg", "ClustersCoordinated", "TaskOfferedToClusters"),
    ("ssg", "SolutionTested", "TaskOfferedToClusters"),
    ("ssg", "SolutionCoreDelivered", "SolutionTested"),
    ("ssg", "ProposalSentForComments", "SolutionCoreDelivered"),
    ("ssg", "CommentReceived", "ProposalSentForComments"),
    ("ssg", "ProposalRevised", "ProposalSentForComments"),
    ("ssg", "ApprovedBySSG", "SolutionCoreDelivered"),
    ("ssg", "ApprovedBySKU", "ApprovedBySSG"),
    ("ssg", "ApprovedByCouncil", "ApprovedBySKU"),
    ("ssg", "Implemented", "ImplementationStarted"),
    ("own", "ResultsReported", "SolutionTested"),
    ("own", "SolutionTakenUpForSpread", "ResultsReported"),
    ("own", "SolutionCoreDelivered", "SolutionTakenUpForSpread"),
]
SKIPPED_IDS = [f"{step}-without-{missing}" for _, step, missing in SKIPPED]


def route_path(route: str) -> list[Fact]:
    return task_path(S) if route == "ssg" else own_task_path(S)


@pytest.mark.parametrize(("route", "step", "missing"), SKIPPED, ids=SKIPPED_IDS)
def test_out_of_order_refuses_a_step_without_its_prerequisite(
    app: Saftale, route: str, step: str, missing: str
) -> None:
    path = route_path(route)
    app.record_many(until(path, missing))
    refused(app, first(path, step), "out-of-order")


@pytest.mark.parametrize(("route", "step", "missing"), SKIPPED, ids=SKIPPED_IDS)
def test_out_of_order_allows_the_step_once_its_prerequisite_happened(
    app: Saftale, route: str, step: str, missing: str
) -> None:
    path = route_path(route)
    prefix = until(path, step)
    assert missing in {x.TYPE for x in prefix}
    app.record_many(prefix)
    accepted(app, first(path, step))


def test_out_of_order_refuses_sku_before_ssg(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ApprovedBySSG"))
    refused(app, first(path, "ApprovedBySKU"), "out-of-order")
    assert app.task(S).status == "revised"


def test_out_of_order_allows_sku_after_ssg(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ApprovedBySKU"))
    accepted(app, first(path, "ApprovedBySKU"))
    assert app.task(S).status == "approved"


@pytest.mark.parametrize(("first_answer", "second_answer"), [(True, True), (True, False)])
def test_out_of_order_refuses_a_response_twice(
    app: Saftale, first_answer: bool, second_answer: bool
) -> None:
    prefix = upto_responses()
    prefix.append(respond(S, later(prefix), HORSENS, accepts=first_answer))
    app.record_many(prefix)
    refused(app, respond(S, later(prefix), HORSENS, accepts=second_answer), "out-of-order")
    assert app.task(S).accepted == (HORSENS,)


def test_a_second_asked_cluster_may_still_respond(app: Saftale) -> None:
    prefix = upto_responses()
    prefix.append(respond(S, later(prefix), HORSENS))
    app.record_many(prefix)
    accepted(app, respond(S, later(prefix), MIDT))


def test_out_of_order_refuses_the_core_of_an_own_task_before_it_is_taken_up(
    app: Saftale,
) -> None:
    """Route 1b: the solution is tested, so a core would follow in route 1a; here SSG must
    first take it up for spread (SolutionTakenUpForSpread)."""
    path = own_task_path(OWN)
    prefix = until(path, "ResultsReported")
    app.record_many(prefix)
    assert app.task(OWN).status == "tested"
    core = with_(first(path, "SolutionCoreDelivered"), on=later(prefix))
    exc = refused(app, core, "out-of-order")
    assert "SolutionTakenUpForSpread" in exc.detail


def test_the_core_of_an_own_task_is_allowed_once_taken_up(app: Saftale) -> None:
    path = own_task_path(OWN)
    app.record_many(until(path, "SolutionCoreDelivered"))
    accepted(app, first(path, "SolutionCoreDelivered"))
    assert app.task(OWN).came_from == (VEST,)


def test_out_of_order_refuses_results_reported_on_an_ssg_initiated_task(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "SolutionCoreDelivered")
    app.record_many(prefix)
    assert app.task(S).status == "tested"
    report = f.ResultsReported(subject=S, on=later(prefix), by=HORSENS)
    refused(app, report, "out-of-order")


def test_results_reported_is_allowed_on_a_clusters_own_task(app: Saftale) -> None:
    path = own_task_path(OWN)
    app.record_many(until(path, "ResultsReported"))
    accepted(app, first(path, "ResultsReported"))
    assert app.task(OWN).status == "reported"


def test_out_of_order_refuses_a_brief_on_a_clusters_own_task(app: Saftale) -> None:
    app.record(own_task_path(OWN)[0])
    brief = first(task_path(OWN), "AssignmentBriefSet")
    refused(app, brief, "out-of-order")
    assert app.task(OWN).route == "cluster"


def test_a_brief_is_allowed_once_on_an_ssg_initiated_task(app: Saftale) -> None:
    path = task_path(S)
    app.record(path[0])
    brief = first(path, "AssignmentBriefSet")
    accepted(app, brief)
    refused(app, with_(brief, on=later(path[:2])), "out-of-order")


def test_a_cluster_tests_once(app: Saftale) -> None:
    path = own_task_path(OWN)
    prefix = until(path, "ResultsReported")
    app.record_many(prefix)
    refused(app, with_(first(path, "SolutionTested"), on=later(prefix)), "out-of-order")


# -- closed ---------------------------------------------------------------------------------------


def withdrawn(subject: str, on: str, by: str = "SSG") -> f.DevelopmentTaskWithdrawn:
    return f.DevelopmentTaskWithdrawn(subject=subject, on=on, by=by, reason="Opgaven bortfalder")


def test_closed_refuses_every_fact_after_withdrawal(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "SolutionTested")
    app.record_many([*prefix, withdrawn(S, later(prefix))])
    assert app.task(S).status == "withdrawn"
    refused(app, with_(first(path, "SolutionTested"), on=later(prefix, 2)), "closed")
    refused(app, withdrawn(S, later(prefix, 2), by="SKU"), "closed")
    # closed comes first: a body that may not take the step, on a future day, is refused so
    refused(app, with_(first(path, "SolutionTested"), by="PLO", on="2099-01-01"), "closed")


@pytest.mark.parametrize("by", ["SSG", "SKU"])
def test_closed_the_withdrawal_itself_is_allowed_at_any_open_status(app: Saftale, by: str) -> None:
    path = task_path(S)
    prefix = until(path, "ClustersCoordinated")
    app.record_many(prefix)
    accepted(app, withdrawn(S, later(prefix), by=by))
    assert app.task(S).next_steps == ()


def test_closed_an_own_task_can_be_withdrawn_too(app: Saftale) -> None:
    path = own_task_path(OWN)
    prefix = until(path, "ApprovedBySKU")
    app.record_many(prefix)
    accepted(app, withdrawn(OWN, later(prefix)))
    refused(app, with_(first(path, "ApprovedBySKU"), on=later(prefix, 2)), "closed")


# -- duplicate-subject and unknown-subject -----------------------------------------------------


def test_duplicate_subject_refuses_a_second_initiation(app: Saftale) -> None:
    app.record(initiated(S))
    refused(app, with_(initiated(S), on="2019-02-01"), "duplicate-subject")
    refused(app, initiated(S, by=VEST), "duplicate-subject")


def test_duplicate_subject_refuses_an_initiation_of_a_withdrawn_task(app: Saftale) -> None:
    app.record_many([initiated(S), withdrawn(S, "2019-02-01")])
    refused(app, initiated(S), "duplicate-subject")


def test_duplicate_subject_allows_another_key(app: Saftale) -> None:
    app.record(initiated(S))
    accepted(app, initiated(S + "-2"))


def test_unknown_subject_refuses_a_step_of_a_task_never_initiated(app: Saftale) -> None:
    path = task_path(S)
    exc = refused(app, path[1], "unknown-subject")
    assert exc.subject == S
    with pytest.raises(RuleViolation) as info:
        app.task(S)
    assert info.value.code == "unknown-subject"


def test_unknown_subject_allows_the_step_once_initiated(app: Saftale) -> None:
    path = task_path(S)
    app.record(path[0])
    accepted(app, path[1])


# -- unknown-body -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["klynge:nord", "SAS", "byraad:aarhus"])
def test_unknown_body_refuses_spread_to_what_is_not_a_cluster(app: Saftale, bad: str) -> None:
    path = task_path(S)
    app.record_many(until(path, "ApprovedBySSG"))
    approval = first(path, "ApprovedBySSG")
    exc = refused(app, with_(approval, spread_to=[AARHUS, bad]), "unknown-body")
    assert bad in exc.detail


def test_unknown_body_allows_spread_to_a_cluster_by_its_alias(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ApprovedBySSG"))
    approval = first(path, "ApprovedBySSG")
    stored_fact = accepted(app, with_(approval, spread_to=["Gødstrupklyngen", "Aarhusklyngen"]))
    assert isinstance(stored_fact, f.ApprovedBySSG)
    assert stored_fact.spread_to == (VEST, AARHUS)
    assert app.task(S).spread_to == (VEST, AARHUS)


@pytest.mark.parametrize("bad", ["klynge:nord", "PLO"])
def test_unknown_body_refuses_asking_what_is_not_a_cluster(app: Saftale, bad: str) -> None:
    refused(app, initiated(S, clusters=[HORSENS, bad]), "unknown-body")


def test_unknown_body_refuses_offering_to_what_is_not_a_cluster(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "TaskOfferedToClusters")
    app.record_many(prefix)
    refused(app, offer(S, later(prefix), [HORSENS, "klynge:nord"]), "unknown-body")


def test_unknown_body_refuses_an_unknown_by(app: Saftale) -> None:
    refused(app, initiated(S, by="klynge:nord"), "unknown-body")
    prefix = upto_responses()
    app.record_many(prefix)
    refused(app, respond(S, later(prefix), "klynge:nord"), "unknown-body")


def test_unknown_body_allows_the_clusters_asked_by_their_aliases(app: Saftale) -> None:
    stored_fact = accepted(app, initiated(S, clusters=["Horsensklyngen", "Gødstrupklyngen"]))
    assert isinstance(stored_fact, f.DevelopmentTaskInitiated)
    assert stored_fact.clusters == (HORSENS, VEST)
    assert app.task(S).asked == (HORSENS, VEST)


# -- bad-record and not-authorised at initiation -----------------------------------------------


def test_bad_record_refuses_an_ssg_task_that_asks_no_cluster(app: Saftale) -> None:
    refused(app, initiated(S, clusters=[]), "bad-record")


def test_bad_record_allows_an_ssg_task_that_asks_one_cluster(app: Saftale) -> None:
    accepted(app, initiated(S, clusters=[HORSENS]))
    assert app.task(S).route == "ssg"


def test_not_authorised_refuses_a_cluster_asking_other_clusters(app: Saftale) -> None:
    exc = refused(app, initiated(S, by=VEST, clusters=[VEST, AARHUS]), "not-authorised")
    assert VEST in exc.detail
    refused(app, initiated(S, by=VEST, clusters=[AARHUS]), "not-authorised")


@pytest.mark.parametrize(
    "clusters", [[], [VEST], ["Gødstrupklyngen"]], ids=["none", "itself", "alias"]
)
def test_a_cluster_may_start_its_own_task(app: Saftale, clusters: list[str]) -> None:
    accepted(app, initiated(S, by=VEST, clusters=clusters))
    report = app.task(S)
    assert (report.route, report.status, report.came_from) == ("cluster", "own_initiative", (VEST,))


# -- authority that depends on the state ---------------------------------------------------------


def test_only_a_party_the_proposal_was_sent_to_may_comment(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "CommentReceived")
    app.record_many(prefix)
    comment = first(path, "CommentReceived")
    for outsider in ("SSG", "PPU", HORSENS, "byraad:aarhus"):
        refused(app, with_(comment, by=outsider), "not-authorised")
    for party in ("PLO", "PIU"):
        accepted(app, with_(comment, by=party))


def test_only_a_developing_cluster_may_revise(app: Saftale) -> None:
    path = task_path(S)
    app.record_many(until(path, "ProposalRevised"))
    revision = first(path, "ProposalRevised")
    for outsider in (AARHUS, VEST):
        refused(app, with_(revision, by=outsider), "not-authorised")
    accepted(app, with_(revision, by=MIDT))


# -- date-before-previous: the steps the task follows ------------------------------------------


def test_date_before_previous_refuses_a_response_before_the_offer(app: Saftale) -> None:
    prefix = upto_responses()
    app.record_many(prefix)
    refused(app, respond(S, day_before(prefix[-1]), HORSENS), "date-before-previous")
    accepted(app, respond(S, prefix[-1].on.text, HORSENS))


def test_date_before_previous_refuses_development_before_its_own_acceptance(app: Saftale) -> None:
    prefix = upto_responses()
    prefix.append(respond(S, "2019-03-01", HORSENS))
    app.record_many(prefix)
    refused(app, solution_tested(S, "2019-02-28", HORSENS), "date-before-previous")
    accepted(app, solution_tested(S, "2019-03", HORSENS))


def test_date_before_previous_refuses_implementation_before_its_councils(app: Saftale) -> None:
    prefix = ready_to_implement(councils=councils_of(AARHUS))
    prefix[-1] = with_(prefix[-1], on="2020-06-01")
    app.record_many(prefix)
    start = f.ImplementationStarted(subject=S, on="2020-05-31", by=AARHUS)
    refused(app, start, "date-before-previous")
    accepted(app, with_(start, on="2020-06-01"))


def test_coordination_on_the_day_of_the_last_acceptance_is_allowed(app: Saftale) -> None:
    path = task_path(S)
    prefix = until(path, "ClustersCoordinated")
    app.record_many(prefix)
    accepted(app, with_(first(path, "ClustersCoordinated"), on=prefix[-1].on.text))


def test_date_before_previous_refuses_coordination_before_the_acceptances(app: Saftale) -> None:
    """Seed 002 step 4: SAS coordinates once several clusters have said yes; the row itself
    refuses coordination before two acceptances, so its date cannot precede them."""
    path = task_path(S)
    prefix = until(path, "ClustersCoordinated")
    app.record_many(prefix)
    accepts = [x for x in all_of(prefix, "ClusterResponded") if getattr(x, "accepts", False)]
    assert [x.on.text for x in accepts] == ["2019-01-28", "2019-02-04"]
    coordination = with_(first(path, "ClustersCoordinated"), on="2019-01-22")
    refused(app, coordination, "date-before-previous")


def test_date_before_previous_refuses_a_withdrawal_before_a_recorded_fact(app: Saftale) -> None:
    """Horsens answered on 1 June, Midt (recorded after it) on 1 February; a withdrawal on
    1 March would put Horsens' answer after the task was stopped ("nothing follows")."""
    prefix = upto_responses()
    prefix += [respond(S, "2019-06-01", HORSENS), respond(S, "2019-02-01", MIDT)]
    app.record_many(prefix)
    refused(app, withdrawn(S, "2019-03-01"), "date-before-previous")
    refused(app, withdrawn(S, "2019-05"), "date-before-previous")
    accepted(app, withdrawn(S, "2019-06"))


def test_date_before_previous_refuses_a_proposal_before_a_core(app: Saftale) -> None:
    """Horsens delivered its core on 1 June, Midt (recorded after it) on 1 April: a proposal
    sent on 1 May would have gone out before Horsens' core existed."""
    path = task_path(S)
    prefix = until(path, "SolutionCoreDelivered")
    prefix += [
        f.SolutionCoreDelivered(subject=S, on="2019-06-01", by=HORSENS),
        f.SolutionCoreDelivered(subject=S, on="2019-04-01", by=MIDT),
    ]
    app.record_many(prefix)
    sent = with_(first(path, "ProposalSentForComments"), on="2019-05-01")
    refused(app, sent, "date-before-previous")


# -- what SSG's approval spreads ------------------------------------------------------------


def test_a_solution_approved_by_ssg_and_sku_is_received_by_the_clusters_it_spreads_to(
    app: Saftale,
) -> None:
    path = own_task_path(OWN)
    app.record_many(until(path, "ApprovedByCouncil"))
    received = app.solutions_received(AARHUS)
    assert [(r.subject, r.status, r.came_from) for r in received] == [(OWN, "approved", (VEST,))]
    assert app.solutions_received(RANDERS) == []


def test_a_solution_returned_by_sku_is_no_longer_received_as_approved(app: Saftale) -> None:
    """Seed 002 steps 9-10 (and DOMAIN.md: "returned goes back to step 6"): after SKU returns
    the proposal it is revised and SSG decides again, also on where it spreads."""
    path = own_task_path(OWN)
    prefix = until(path, "ApprovedBySKU")
    app.record_many(prefix)
    returned = f.ReturnedBySKU(subject=OWN, on=later(prefix), by="SKU", reason="Uklart")
    accepted(app, returned)
    assert app.task(OWN).status == "returned"
    assert app.solutions_received(AARHUS) == []


# -- authority: every row of the table -----------------------------------------------------------

STEPS: dict[str, Step[Any, Any]] = {s.fact.TYPE: s for s in TASK.all_steps}

# Steps neither path takes; each stands in for a step that a path does take.
STAND_INS: dict[str, tuple[str, Callable[[Fact], Fact]]] = {
    "ReturnedBySSG": (
        "ApprovedBySSG",
        lambda x: f.ReturnedBySSG(subject=x.subject, on=x.on, by="SSG", reason="Uklart"),
    ),
    "ReturnedBySKU": (
        "ApprovedBySKU",
        lambda x: f.ReturnedBySKU(subject=x.subject, on=x.on, by="SKU", reason="Uklart"),
    ),
    "RejectedByCouncil": (
        "ApprovedByCouncil",
        lambda x: f.RejectedByCouncil(subject=x.subject, on=x.on, by=x.by, reason="Ingen midler"),
    ),
    "EvaluationScheduled": (
        "ApprovedBySKU",
        lambda x: f.EvaluationScheduled(subject=x.subject, on=x.on, by="SSG", due="2021-01"),
    ),
    "DevelopmentTaskWithdrawn": (
        "SolutionTested",
        lambda x: f.DevelopmentTaskWithdrawn(subject=x.subject, on=x.on, by="SSG", reason="Stop"),
    ),
}
OWN_ROUTE_ONLY = {"ResultsReported", "SolutionTakenUpForSpread"}


def scenario(step: str, subject: str = S) -> tuple[list[Fact], Fact]:
    """(the facts before ``step``, the fact of ``step`` by a body the table names)."""
    path = own_task_path(subject) if step in OWN_ROUTE_ONLY else task_path(subject)
    if step in STAND_INS:
        anchor, make = STAND_INS[step]
        return until(path, anchor), make(first(path, anchor))
    return until(path, step), first(path, step)


def not_named(who: Who) -> list[str]:
    """Registry bodies the row does not name: not among its bodies, of no kind it names."""
    named = set(who.bodies(REG))
    return [b for b in REG.bodies if b not in named and REG.kind(b) not in who.kinds]


RESTRICTED = [s for s in STEPS if not_named(STEPS[s].who)]


def test_only_comments_are_open_to_every_kind_of_body() -> None:
    """Every row but CommentReceived names bodies; who may comment is the round's parties
    (see test_only_a_party_the_proposal_was_sent_to_may_comment)."""
    assert set(STEPS) - set(RESTRICTED) == {"CommentReceived"}


def test_every_step_has_a_scenario_taken_by_a_body_the_row_names() -> None:
    for step in STEPS:
        _, fact = scenario(step)
        assert fact.TYPE == step
        assert STEPS[step].who.allows(fact.by, REG)


@pytest.mark.parametrize("step", RESTRICTED)
def test_a_body_the_table_does_not_name_is_refused_even_in_order(app: Saftale, step: str) -> None:
    prefix, fact = scenario(step)
    app.record_many(prefix)
    bodies = not_named(STEPS[step].who)
    assert fact.by not in bodies
    for body in bodies:
        exc = refused(app, with_(fact, by=body), "not-authorised")
        assert body in exc.detail
    # the same fact by the body the table names is in order: accepted
    stored_fact = accepted(app, fact, warnings=())
    assert STEPS[step].who.allows(stored_fact.by, REG)


@pytest.mark.parametrize("step", [s for s in STEPS if STEPS[s].who.roles])
def test_every_body_the_table_names_by_role_is_accepted(app: Saftale, step: str) -> None:
    for i, role in enumerate(STEPS[step].who.roles):
        prefix, fact = scenario(step, f"{S}-{i}")
        app.record_many(prefix)
        stored_fact = accepted(app, with_(fact, by=REG.role(role)))
        assert stored_fact.by == REG.role(role)


@pytest.mark.parametrize("step", [s for s in RESTRICTED if s != "DevelopmentTaskInitiated"])
def test_not_authorised_is_reported_whatever_the_order(app: Saftale, step: str) -> None:
    """Right after initiation most steps are out of order; a body the row does not name is
    still refused as not authorised (DOMAIN.md: "whatever the order")."""
    app.record(task_path(S)[0])
    _, fact = scenario(step)
    for body in not_named(STEPS[step].who):
        refused(app, with_(fact, by=body), "not-authorised")
