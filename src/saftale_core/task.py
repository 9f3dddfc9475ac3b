"""Process 2: the development task (udviklingsopgave), seed 002 part 2.

Two routes lead to a solution that can spread to other clusters:

* **1a**: SSG initiates the task and asks clusters; SSG sets the assignment
  brief (opdragspapir) and offers the task; asked clusters accept or decline;
  when several accept, SAS records whether they work jointly or as
  alternatives; accepting clusters develop and test (step 5).
* **1b**: a cluster initiates a task of its own, tests a solution and reports
  good results to SAS; SSG may take the solution up for spread.

From there both follow steps 6-12: the core (kernen) is delivered, the
proposal is sent for comments (as a rule) and revised, SSG approves it with
the clusters it spreads to, SKU and the councils approve, the receiving
clusters implement (gated like cooperation agreements), and it is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from saftale_core import approval
from saftale_core import facts as f
from saftale_core._evolve import evolve as fast_evolve
from saftale_core.approval import (
    APPROVED,
    CLUSTER,
    RETURNED,
    SAS,
    SSG,
    SSG_APPROVED,
    SSG_OR_SKU,
    WITHDRAWN,
    CouncilDecision,
    Implementation,
)
from saftale_core.canonical import canonical_ids
from saftale_core.dates import Period
from saftale_core.errors import RuleWarning
from saftale_core.facts import CoordinationMode, Fact
from saftale_core.process import ANY, Context, Process, Step, Who, refuse
from saftale_core.registry import Kind, Registry, Role

__all__ = ["STATUSES", "TASK", "Response", "TaskState", "evolve"]

INITIATED = "initiated"
OWN_INITIATIVE = "own_initiative"
BRIEFED = "briefed"
OFFERED = "offered"
TESTED = "tested"
REPORTED = "reported"
TAKEN_UP = "taken_up"
CORE_DELIVERED = "core_delivered"
IN_COMMENTS = "in_comments"
REVISED = "revised"

STATUSES = {
    INITIATED: "initiated by SSG",
    OWN_INITIATIVE: "started by a cluster on its own initiative",
    BRIEFED: "assignment brief set",
    OFFERED: "offered to clusters",
    TESTED: "solution tested",
    REPORTED: "results reported (own initiative)",
    TAKEN_UP: "taken up for spread",
    CORE_DELIVERED: "core delivered",
    IN_COMMENTS: "sent for comments",
    REVISED: "revised",
    RETURNED: "returned for revision",
    SSG_APPROVED: "approved by SSG",
    APPROVED: "approved by SKU",
    WITHDRAWN: "withdrawn",
}
"""Every status, in process order, with the words the docs and errors use."""

SSG_ROUTE = "ssg"
CLUSTER_ROUTE = "cluster"


@attrs.frozen
class Response:
    """An asked cluster's answer to the offer of a task."""

    cluster: str
    accepts: bool
    on: Period


@attrs.frozen(kw_only=True)
class TaskState(approval.ApprovalQueries):
    """What the facts of one development task add up to."""

    subject: str
    title: str
    focus_areas: tuple[str, ...]
    initiated_by: str
    initiated_on: Period
    route: str
    """``"ssg"`` (route 1a) or ``"cluster"`` (route 1b, the cluster's own initiative)."""
    asked: tuple[str, ...] = ()
    status: str = INITIATED
    status_on: Period
    last_on: Period
    brief_on: Period | None = None
    brief_topic: str | None = None
    brief_timeframe: Period | None = None
    offered_on: Period | None = None
    responses: tuple[Response, ...] = ()
    coordination: CoordinationMode | None = None
    coordinated_on: Period | None = None
    tested: tuple[tuple[str, Period], ...] = ()
    results_reported_on: Period | None = None
    taken_up_on: Period | None = None
    cores: tuple[tuple[str, Period], ...] = ()
    comment_parties: tuple[str, ...] = ()
    comment_deadline: Period | None = None
    comments: tuple[tuple[str, Period], ...] = ()
    comment_rounds: int = 0
    ssg_approved_on: Period | None = None
    sku_approved_on: Period | None = None
    spread_to: tuple[str, ...] = ()
    evaluate_after_months: int | None = None
    returns: int = 0
    councils: tuple[CouncilDecision, ...] = ()
    implementations: tuple[Implementation, ...] = ()
    evaluation_due: Period | None = None
    evaluations: tuple[Period, ...] = ()
    withdrawn_on: Period | None = None
    withdrawal_reason: str | None = None

    @property
    def closed(self) -> bool:
        return self.status == WITHDRAWN

    @property
    def accepted(self) -> tuple[str, ...]:
        """The asked clusters that accepted, in the order they answered."""
        return tuple(r.cluster for r in self.responses if r.accepts)

    @property
    def declined(self) -> tuple[str, ...]:
        return tuple(r.cluster for r in self.responses if not r.accepts)

    def response(self, cluster: str) -> Response | None:
        return next((r for r in self.responses if r.cluster == cluster), None)

    @property
    def developers(self) -> tuple[str, ...]:
        """The clusters the solution came from: the initiating cluster (route 1b), or the
        accepting clusters that tested a solution (route 1a)."""
        if self.route == CLUSTER_ROUTE:
            return (self.initiated_by,)
        return tuple(c for c, _ in self.tested)


# -- evolve: apply a recorded fact; never checks, never raises -----------------------


def start(fact: Fact, registry: Registry) -> TaskState:
    assert isinstance(fact, f.DevelopmentTaskInitiated)
    by_cluster = registry.kind(fact.by) is Kind.CLUSTER if registry.is_known(fact.by) else False
    return TaskState(
        subject=fact.subject,
        title=fact.title,
        focus_areas=fact.focus_areas,
        initiated_by=fact.by,
        initiated_on=fact.on,
        route=CLUSTER_ROUTE if by_cluster else SSG_ROUTE,
        status=OWN_INITIATIVE if by_cluster else INITIATED,
        asked=fact.clusters,
        status_on=fact.on,
        last_on=fact.on,
    )


def evolve(state: TaskState, fact: Fact) -> TaskState:
    """The state after one more fact.  Never checks a rule and never raises for a
    fact of this process; a fact of another kind leaves the state as it was."""
    step = TASK.steps.get(fact.TYPE)
    if step is None:
        return state
    changes = approval.step_changes(state, fact, step.to)
    match fact:
        case f.AssignmentBriefSet():
            changes.update(brief_on=fact.on, brief_topic=fact.topic, brief_timeframe=fact.timeframe)
        case f.TaskOfferedToClusters():
            asked = tuple(dict.fromkeys((*state.asked, *fact.clusters)))
            changes.update(offered_on=fact.on, asked=asked)
        case f.ClusterResponded():
            changes["responses"] = (*state.responses, Response(fact.by, fact.accepts, fact.on))
        case f.ClustersCoordinated():
            changes.update(coordination=fact.mode, coordinated_on=fact.on)
        case f.SolutionTested():
            changes["tested"] = (*state.tested, (fact.by, fact.on))
        case f.ResultsReported():
            changes["results_reported_on"] = fact.on
        case f.SolutionTakenUpForSpread():
            changes["taken_up_on"] = fact.on
        case f.SolutionCoreDelivered():
            changes["cores"] = (*state.cores, (fact.by, fact.on))
        case f.ProposalSentForComments():
            changes.update(approval.comment_changes(state, fact))
            changes["comment_rounds"] = state.comment_rounds + 1
        case f.ApprovedBySSG():
            changes.update(approval.approval_changes(state, fact))
            changes["spread_to"] = fact.spread_to
        case f.ReturnedBySSG() | f.ReturnedBySKU():
            changes.update(approval.approval_changes(state, fact))
            changes["spread_to"] = ()  # the approval with its spread no longer stands
        case f.DevelopmentTaskWithdrawn():
            changes.update(withdrawn_on=fact.on, withdrawal_reason=fact.reason)
        case _:
            changes.update(approval.comment_changes(state, fact))
            changes.update(approval.approval_changes(state, fact))
    return fast_evolve(state, **changes)


# -- guards --------------------------------------------------------------------------

Warnings = Iterable[RuleWarning] | None


def _guard_initiated(state: None, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, f.DevelopmentTaskInitiated)
    if ctx.registry.kind(fact.by) is Kind.CLUSTER:
        if fact.clusters and fact.clusters != (fact.by,):
            raise refuse(
                "not-authorised",
                f"{fact.by} starts a task of its own initiative; only SSG asks other clusters",
            )
    elif not fact.clusters:
        raise refuse("bad-record", "'clusters': SSG asks one or more clusters (route 1a)")
    return None


def _cluster_route(state: TaskState, fact: Fact) -> None:
    if state.route != CLUSTER_ROUTE:
        raise refuse(
            "out-of-order", f"{fact.TYPE} belongs to a task a cluster started on its own initiative"
        )


def _check_initiator(state: TaskState, fact: Fact) -> None:
    if fact.by != state.initiated_by:
        raise refuse("not-asked", f"{fact.by} did not start this task; {state.initiated_by} did")


def _guard_brief(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, f.AssignmentBriefSet)
    if not fact.triple_aim:
        return [RuleWarning("triple-aim-missing", "the brief asks for no Triple Aim assessment")]
    return None


def _guard_response(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if fact.by not in state.asked:
        raise refuse(
            "not-asked", f"{fact.by} was not asked; the task went to {', '.join(state.asked)}"
        )
    earlier = state.response(fact.by)
    if earlier is not None:
        verb = "accepted" if earlier.accepts else "declined"
        raise refuse("out-of-order", f"{fact.by} already {verb} ({earlier.on})")
    return None


def _guard_coordination(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if len(state.accepted) < 2:
        raise refuse(
            "out-of-order",
            f"coordination is for several accepting clusters; {len(state.accepted)} accepted",
        )
    if state.coordination is not None:
        raise refuse("out-of-order", f"coordination was already recorded ({state.coordinated_on})")
    return None


def _guard_tested(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if any(c == fact.by for c, _ in state.tested):
        raise refuse("out-of-order", f"{fact.by} already tested its solution")
    if state.route == CLUSTER_ROUTE:
        if fact.by != state.initiated_by:
            raise refuse(
                "not-asked", f"{fact.by} did not start this task; {state.initiated_by} did"
            )
        return None
    if fact.by not in state.accepted:
        why = "declined" if fact.by in state.declined else "was not asked or has not accepted"
        raise refuse("not-asked", f"{fact.by} {why}; accepted: {', '.join(state.accepted) or '-'}")
    if len(state.accepted) > 1 and state.coordination is None:
        raise refuse(
            "coordination-missing",
            f"{', '.join(state.accepted)} accepted, and SAS has recorded no coordination "
            "(ClustersCoordinated)",
        )
    return None


def _follows_tested(state: TaskState, fact: Fact) -> list[Period]:
    out = [state.status_on] if state.status != TESTED else []
    if state.coordinated_on is not None:
        out.append(state.coordinated_on)
    response = state.response(fact.by)
    if response is not None:
        out.append(response.on)
    return out or [state.initiated_on]


def _guard_reported(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    _cluster_route(state, fact)
    _check_initiator(state, fact)
    return None


def _guard_core(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if state.route == CLUSTER_ROUTE and state.taken_up_on is None:
        raise refuse(
            "out-of-order",
            "SSG has not taken this cluster's solution up for spread (SolutionTakenUpForSpread)",
        )
    if fact.by not in state.developers:
        raise refuse(
            "not-asked",
            f"{fact.by} did not develop a solution for this task "
            f"(developed by: {', '.join(state.developers) or '-'})",
        )
    if any(c == fact.by for c, _ in state.cores):
        raise refuse("out-of-order", f"{fact.by} already delivered its core")
    return None


def _follows_core(state: TaskState, fact: Fact) -> list[Period]:
    out = [p for c, p in state.tested if c == fact.by]
    if state.taken_up_on is not None:
        out.append(state.taken_up_on)
    return out or [state.status_on]


def _guard_revised(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if fact.by not in state.developers:
        raise refuse(
            "not-authorised",
            f"{fact.by} may not revise: only {', '.join(state.developers)}, who developed it, may",
        )
    return None


def _guard_ssg_approval(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    if state.comment_rounds == 0:
        return [RuleWarning("comments-skipped", "the proposal was not sent for comments")]
    return None


def _guard_implementation_started(state: TaskState, fact: Fact, ctx: Context) -> Warnings:
    approval.check_implementation_start(state, fact.by, ctx.registry)
    if fact.by not in state.spread_to:
        raise refuse(
            "not-asked",
            f"SSG approved spreading this solution to {', '.join(state.spread_to) or 'no cluster'}"
            f", not to {fact.by}",
        )
    approval.check_start_date(state, fact, ctx.registry)
    return None


def _follows_acceptances(state: TaskState, fact: Fact) -> list[Period]:
    return [state.status_on, *(r.on for r in state.responses if r.accepts)]


def _follows_cores(state: TaskState, fact: Fact) -> list[Period]:
    """After the cores are delivered, a step follows every core, not only the last."""
    return [state.status_on, *(on for _, on in state.cores)]


def _follows_last(state: TaskState, fact: Fact) -> list[Period]:
    return [state.last_on]


# -- candidates for "next steps" --------------------------------------------------------


def _asked_not_answered(state: TaskState, registry: Registry) -> list[str]:
    return [c for c in state.asked if state.response(c) is None]


def _coordinator(state: TaskState, registry: Registry) -> list[str]:
    if len(state.accepted) < 2 or state.coordination is not None:
        return []
    return [registry.role(Role.SECRETARIAT)]


def _testers(state: TaskState, registry: Registry) -> list[str]:
    done = {c for c, _ in state.tested}
    if state.route == CLUSTER_ROUTE:
        return [] if done else [state.initiated_by]
    if len(state.accepted) > 1 and state.coordination is None:
        return []
    return [c for c in state.accepted if c not in done]


def _core_deliverers(state: TaskState, registry: Registry) -> list[str]:
    if state.route == CLUSTER_ROUTE and state.taken_up_on is None:
        return []
    done = {c for c, _ in state.cores}
    return [c for c in state.developers if c not in done]


def _developers(state: TaskState, registry: Registry) -> list[str]:
    return list(state.developers)


def _initiator(state: TaskState, registry: Registry) -> list[str]:
    return [state.initiated_by] if state.route == CLUSTER_ROUTE else []


def _receivers_ready(state: TaskState, registry: Registry) -> list[str]:
    return [
        c
        for c in state.spread_to
        if state.implementation(c) is None and not approval.approval_gaps(state, c, registry)
    ]


# -- the table ----------------------------------------------------------------------------

SSG_OR_CLUSTER = Who(
    "SSG (route 1a) or a cluster (route 1b)", roles=(Role.STEERING_GROUP,), kinds=(Kind.CLUSTER,)
)
DEVELOPER = Who("the developing cluster", kinds=(Kind.CLUSTER,))

TASK: Process[TaskState] = Process(
    kind="task",
    title="development task",
    initiated_by=Step(
        f.DevelopmentTaskInitiated,
        "1a/1b",
        SSG_OR_CLUSTER,
        ANY,
        INITIATED,
        rules=("not-authorised",),
        guard=_guard_initiated,
        summary="SSG starts a task and asks clusters (1a); or a cluster starts its own (1b)",
    ),
    steps=[
        Step(
            f.AssignmentBriefSet,
            "2–3",
            SSG,
            frozenset({INITIATED}),
            BRIEFED,
            rules=("triple-aim-missing",),
            guard=_guard_brief,
            summary="SSG sets the assignment brief (opdragspapir)",
        ),
        Step(
            f.TaskOfferedToClusters,
            "4",
            SSG,
            frozenset({BRIEFED}),
            OFFERED,
            rules=("brief-missing",),
            too_early={INITIATED: "brief-missing"},
            summary="SSG sends the brief to the clusters",
        ),
        Step(
            f.ClusterResponded,
            "4",
            CLUSTER,
            frozenset({OFFERED}),
            None,
            rules=("not-asked",),
            guard=_guard_response,
            candidates=_asked_not_answered,
            summary="an asked cluster accepts or declines",
        ),
        Step(
            f.ClustersCoordinated,
            "4",
            SAS,
            frozenset({OFFERED}),
            None,
            guard=_guard_coordination,
            candidates=_coordinator,
            follows=_follows_acceptances,
            summary="SAS records whether several accepting clusters work jointly or as "
            "alternatives",
        ),
        Step(
            f.SolutionTested,
            "5",
            CLUSTER,
            frozenset({OWN_INITIATIVE, OFFERED, TESTED}),
            TESTED,
            rules=("not-asked", "coordination-missing"),
            guard=_guard_tested,
            follows=_follows_tested,
            candidates=_testers,
            summary="a developing cluster develops and tests its solution",
        ),
        Step(
            f.ResultsReported,
            "1b",
            CLUSTER,
            frozenset({TESTED}),
            REPORTED,
            rules=("not-asked",),
            guard=_guard_reported,
            candidates=_initiator,
            summary="a cluster reports good results of its own task to SAS",
        ),
        Step(
            f.SolutionTakenUpForSpread,
            "1b",
            SSG,
            frozenset({REPORTED}),
            TAKEN_UP,
            summary="SSG takes a cluster's solution up for spread",
            seed="002 (udviklingsopgaver); SSG decides spread: 003 (Organisering)",
        ),
        Step(
            f.SolutionCoreDelivered,
            "6",
            CLUSTER,
            frozenset({TESTED, TAKEN_UP, CORE_DELIVERED}),
            CORE_DELIVERED,
            rules=("not-asked",),
            guard=_guard_core,
            follows=_follows_core,
            candidates=_core_deliverers,
            summary="the cluster delivers the core (kernen) of its solution",
        ),
        Step(
            f.ProposalSentForComments,
            "7",
            SAS,
            frozenset({CORE_DELIVERED}),
            IN_COMMENTS,
            follows=_follows_cores,
            summary="SAS sends the proposal for comments (as a rule)",
        ),
        approval.comment_step("7"),
        Step(
            f.ProposalRevised,
            "8",
            DEVELOPER,
            frozenset({IN_COMMENTS, RETURNED}),
            REVISED,
            rules=("not-authorised",),
            guard=_guard_revised,
            follows=approval.follows_revision,
            candidates=_developers,
            summary="the developing cluster revises the proposal",
        ),
        Step(
            f.ApprovedBySSG,
            "9",
            SSG,
            frozenset({CORE_DELIVERED, REVISED}),
            SSG_APPROVED,
            rules=("comments-skipped",),
            guard=_guard_ssg_approval,
            follows=_follows_cores,
            summary="SSG approves the solution and the clusters it spreads to",
        ),
        Step(
            f.ReturnedBySSG,
            "9",
            SSG,
            frozenset({CORE_DELIVERED, REVISED}),
            RETURNED,
            follows=_follows_cores,
            summary="SSG returns the proposal for revision",
        ),
        *approval.shared_steps(
            what="the solution",
            statuses=STATUSES,
            sku_step="10",
            implementation_step="11",
            evaluation_step="12",
            implementation=Step(
                f.ImplementationStarted,
                "11",
                CLUSTER,
                frozenset({APPROVED}),
                None,
                rules=("implementation-before-approval", "not-asked"),
                too_early=approval.until(STATUSES, APPROVED, "implementation-before-approval"),
                guard=_guard_implementation_started,
                follows=approval.follows_implementation_start,
                candidates=_receivers_ready,
                summary="a receiving cluster starts implementing, once its councils approved",
            ),
        ),
        Step(
            f.DevelopmentTaskWithdrawn,
            "—",
            SSG_OR_SKU,
            ANY,
            WITHDRAWN,
            follows=_follows_last,
            summary="SSG or SKU stops the task; nothing follows",
            seed="DOMAIN.md (as for agreements: not in seed 002)",
        ),
    ],
    start=start,
    evolve=evolve,
    statuses=STATUSES,
    closed_status=WITHDRAWN,
    canonical=canonical_ids,
    initial_statuses=(INITIATED, OWN_INITIATIVE),
    seed="002 (udviklingsopgaver)",
)
"""Process 2 as data: the single source of its rules, docs and diagram."""
