"""Process 1: the joint cooperation agreement (samarbejdsaftale), seed 002 part 1.

The table :data:`AGREEMENT` holds every step: who may take it, what it may
follow, where it leads, and which rules guard it.  :class:`AgreementState` is
what the facts so far add up to; :func:`evolve` applies one fact and never
checks or raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from saftale_core import approval
from saftale_core import facts as f
from saftale_core._evolve import evolve as fast_evolve
from saftale_core.approval import (
    APPROVED,
    CLUSTER,
    PPU,
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
from saftale_core.facts import Delivery, Fact, Origin
from saftale_core.process import ANY, Context, Process, Step, Who, refuse
from saftale_core.registry import Kind, Registry, Role

__all__ = [
    "AGREEMENT",
    "STATUSES",
    "AgreementState",
    "CouncilDecision",
    "Implementation",
    "evolve",
]

# -- statuses ---------------------------------------------------------------------

INITIATED = "initiated"
COMMISSIONED = "commissioned"
ASSIGNED = "assigned"
DRAFTED = "drafted"
COORDINATED = "coordinated"
IN_COMMENTS = "in_comments"
REVISED = "revised"
SUBMITTED = "submitted"

STATUSES: Mapping[str, str] = {
    INITIATED: "initiated",
    COMMISSIONED: "kommissorium approved",
    ASSIGNED: "assigned to a cluster or working group",
    DRAFTED: "draft submitted",
    COORDINATED: "draft coordinated",
    IN_COMMENTS: "sent for comments",
    REVISED: "revised",
    SUBMITTED: "submitted for approval",
    RETURNED: "returned for revision",
    SSG_APPROVED: "approved by SSG",
    APPROVED: "approved by SKU",
    WITHDRAWN: "withdrawn",
}
"""Every status, in process order, with the words the docs and errors use."""

_BEFORE_SSG = frozenset(
    {COMMISSIONED, ASSIGNED, DRAFTED, COORDINATED, IN_COMMENTS, REVISED, SUBMITTED, RETURNED}
)
_AFTER_KOMMISSORIUM = _BEFORE_SSG | {SSG_APPROVED, APPROVED}


@attrs.frozen(kw_only=True)
class AgreementState(approval.ApprovalQueries):
    """What the facts of one cooperation agreement add up to."""

    subject: str
    title: str
    origin: Origin
    focus_areas: tuple[str, ...]
    initiated_by: str
    initiated_on: Period
    status: str = INITIATED
    status_on: Period
    """The date of the fact that led to the current status."""
    last_on: Period
    """The latest date among the facts in force (a withdrawal must not lie before it)."""
    delivery: Delivery | None = None
    kommissorium_on: Period | None = None
    kommissorium: str | None = None
    general_practice_tasks: bool = False
    changes_task_allocation: bool = False
    offers: tuple[tuple[str, Period], ...] = ()
    assigned_cluster: str | None = None
    working_group: str | None = None
    members: tuple[str, ...] = ()
    comment_parties: tuple[str, ...] = ()
    comment_deadline: Period | None = None
    comments: tuple[tuple[str, Period], ...] = ()
    practice_tasks_agreed_on: Period | None = None
    economy_clarified_on: Period | None = None
    ssg_approved_on: Period | None = None
    sku_approved_on: Period | None = None
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
    def drafter(self) -> str | None:
        """The assigned cluster or the working group, whoever drafts."""
        return self.assigned_cluster or self.working_group


# -- evolve: apply a recorded fact; never checks, never raises -----------------------


def start(fact: Fact, registry: Registry) -> AgreementState:
    assert isinstance(fact, f.AgreementInitiated)
    return AgreementState(
        subject=fact.subject,
        title=fact.title,
        origin=fact.origin,
        focus_areas=fact.focus_areas,
        initiated_by=fact.by,
        initiated_on=fact.on,
        status_on=fact.on,
        last_on=fact.on,
    )


def evolve(state: AgreementState, fact: Fact) -> AgreementState:
    """The state after one more fact.  Never checks a rule and never raises for a
    fact of this process; a fact of another kind leaves the state as it was."""
    step = AGREEMENT.steps.get(fact.TYPE)
    if step is None:
        return state
    changes = approval.step_changes(state, fact, step.to)
    match fact:
        case f.KommissoriumApproved():
            changes.update(
                delivery=fact.delivery,
                kommissorium_on=fact.on,
                kommissorium=fact.kommissorium,
                general_practice_tasks=fact.general_practice_tasks,
                changes_task_allocation=fact.changes_task_allocation,
            )
        case f.ClusterOffered():
            if all(c != fact.by for c, _ in state.offers):
                changes["offers"] = (*state.offers, (fact.by, fact.on))
        case f.ClusterAssigned():
            changes["assigned_cluster"] = fact.cluster
        case f.WorkingGroupEstablished():
            changes.update(working_group=fact.group, members=fact.members)
        case f.PracticeTasksAgreed():
            changes["practice_tasks_agreed_on"] = fact.on
        case f.EconomicConsequencesClarified():
            changes["economy_clarified_on"] = fact.on
        case f.AgreementWithdrawn():
            changes.update(withdrawn_on=fact.on, withdrawal_reason=fact.reason)
        case _:
            changes.update(approval.comment_changes(state, fact))
            changes.update(approval.approval_changes(state, fact))
    return fast_evolve(state, **changes)


# -- guards: the rules beyond who and when -------------------------------------------

Warnings = Iterable[RuleWarning] | None


def _guard_kommissorium(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, f.KommissoriumApproved)
    if fact.kommissorium is not None:
        kind = ctx.kind_of(fact.kommissorium)
        if kind is None:
            raise refuse(
                "unknown-subject",
                f"the kommissorium {fact.kommissorium!r} was never recorded (KommissoriumRecorded)",
            )
        if kind not in ("kommissorium", "unknown"):
            raise refuse(
                "unknown-subject",
                f"{fact.kommissorium!r} is not a kommissorium (it is a subject of kind {kind})",
            )
    return None


def _guard_assigned(state: AgreementState, fact: f.ClusterAssigned, ctx: Context) -> Warnings:
    offered = [c for c, _ in state.offers]
    if offered and fact.cluster not in offered:
        raise refuse(
            "not-offered",
            f"{fact.cluster} did not offer; the clusters that offered are {', '.join(offered)}",
        )
    return None


def _follows_assigned(state: AgreementState, fact: f.ClusterAssigned) -> list[Period]:
    offers = [on for c, on in state.offers if c == fact.cluster]
    return [state.status_on, *offers]


def _guard_offered(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
    for cluster, on in state.offers:
        if cluster == fact.by:
            raise refuse("out-of-order", f"{fact.by} already offered ({on})")
    return None


def _guard_drafter(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
    if fact.by != state.drafter and not (
        isinstance(fact, f.SubmittedForApproval) and fact.by == ctx.registry.role(Role.SECRETARIAT)
    ):
        raise refuse(
            "not-authorised",
            f"{fact.by} may not record {fact.TYPE}: only "
            f"{state.drafter}, who drafts this agreement, may",
        )
    if isinstance(fact, f.DraftSubmitted) and not fact.triple_aim:
        return [
            RuleWarning(
                "triple-aim-missing", "the draft does not describe evaluation via Triple Aim"
            )
        ]
    return None


def _guard_ssg_approval(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
    if isinstance(fact, f.ApprovedBySSG) and fact.spread_to:
        raise refuse("bad-record", "'spread_to' is for development tasks, not agreements")
    if state.changes_task_allocation and state.economy_clarified_on is None:
        raise refuse(
            "economy-not-clarified",
            "the agreement changes the allocation of tasks "
            "between region and municipalities, and no "
            "EconomicConsequencesClarified is recorded",
        )
    return None


def _follows_ssg_approval(state: AgreementState, fact: Fact) -> list[Period]:
    out = [state.status_on]
    if state.economy_clarified_on is not None:
        out.append(state.economy_clarified_on)
    return out


def _guard_implementation_started(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
    approval.check_implementation_start(state, fact.by, ctx.registry)
    if state.general_practice_tasks and state.practice_tasks_agreed_on is None:
        raise refuse(
            "practice-tasks-not-agreed",
            "the agreement gives general practice tasks, and PPU has not agreed them "
            "(PracticeTasksAgreed)",
        )
    approval.check_start_date(state, fact, ctx.registry)
    return None


def _follows_implementation_started(state: AgreementState, fact: Fact) -> list[Period]:
    out = approval.follows_implementation_start(state, fact)
    if state.practice_tasks_agreed_on is not None:
        out.append(state.practice_tasks_agreed_on)
    return out


def _once(attribute: str, what: str) -> Any:
    def guard(state: AgreementState, fact: Fact, ctx: Context) -> Warnings:
        earlier = getattr(state, attribute)
        if earlier is not None:
            raise refuse("out-of-order", f"{what} was already recorded ({earlier})")
        return None

    return guard


def _follows_kommissorium(state: AgreementState, fact: Fact) -> list[Period]:
    return [state.kommissorium_on] if state.kommissorium_on is not None else []


def _follows_last(state: AgreementState, fact: Fact) -> list[Period]:
    return [state.last_on]


# -- candidates for "next steps" --------------------------------------------------------


def _drafter(state: AgreementState, registry: Registry) -> list[str]:
    return [state.drafter] if state.drafter else []


def _submitter(state: AgreementState, registry: Registry) -> list[str]:
    return [*_drafter(state, registry), registry.role(Role.SECRETARIAT)]


def _clusters_to_offer(state: AgreementState, registry: Registry) -> list[str]:
    offered = {c for c, _ in state.offers}
    return [c for c in registry.clusters if c not in offered]


def _assigner(state: AgreementState, registry: Registry) -> list[str]:
    return [registry.role(Role.STEERING_GROUP)]


def _clusters_ready(state: AgreementState, registry: Registry) -> list[str]:
    if state.general_practice_tasks and state.practice_tasks_agreed_on is None:
        return []
    started = {i.cluster for i in state.implementations}
    approved = {d.council for d in state.councils if d.approved}
    return [
        c
        for c in registry.clusters
        if c not in started and approved.issuperset(registry.councils_for(c))
    ]


def _economy(state: AgreementState, registry: Registry) -> list[str]:
    if not state.changes_task_allocation or state.economy_clarified_on is not None:
        return []
    return [registry.role(Role.SECRETARIAT)]


def _practice(state: AgreementState, registry: Registry) -> list[str]:
    if not state.general_practice_tasks or state.practice_tasks_agreed_on is not None:
        return []
    return [registry.role(Role.PRACTICE_PLAN_COMMITTEE)]


# -- the table ----------------------------------------------------------------------------

DRAFTER = Who("the working group or assigned cluster", kinds=(Kind.CLUSTER, Kind.WORKING_GROUP))
SUBMITTER = Who(
    "the working group or assigned cluster, via SAS",
    roles=(Role.SECRETARIAT,),
    kinds=(Kind.CLUSTER, Kind.WORKING_GROUP),
)

WG = Delivery.WORKING_GROUP.value
CL = Delivery.CLUSTER.value


def _delivery_of(state: AgreementState) -> str | None:
    return state.delivery.value if state.delivery is not None else None


AGREEMENT: Process[AgreementState] = Process(
    kind="agreement",
    title="cooperation agreement",
    initiated_by=Step(
        f.AgreementInitiated,
        "0",
        SSG_OR_SKU,
        ANY,
        INITIATED,
        summary="SSG or SKU starts the agreement: origin, title, focus areas",
    ),
    steps=[
        Step(
            f.KommissoriumApproved,
            "1",
            SSG,
            frozenset({INITIATED}),
            COMMISSIONED,
            rules=("unknown-subject",),
            guard=_guard_kommissorium,
            summary="SSG approves the kommissorium and decides the delivery",
        ),
        Step(
            f.ClusterOffered,
            "1",
            CLUSTER,
            frozenset({COMMISSIONED}),
            None,
            guard=_guard_offered,
            follows=_follows_kommissorium,
            delivery=CL,
            candidates=_clusters_to_offer,
            summary="a cluster offers to take the task",
        ),
        Step(
            f.ClusterAssigned,
            "1–2",
            SSG,
            frozenset({COMMISSIONED}),
            ASSIGNED,
            rules=("not-offered",),
            guard=_guard_assigned,
            follows=_follows_assigned,
            delivery=CL,
            candidates=_assigner,
            summary="SSG assigns the task to a cluster (one that offered, if any did)",
        ),
        Step(
            f.WorkingGroupEstablished,
            "2",
            SAS,
            frozenset({COMMISSIONED}),
            ASSIGNED,
            delivery=WG,
            summary="SAS establishes the working group and names its members",
            seed="002 (samarbejdsaftaler); SAS names the members: 003 (Organisering)",
        ),
        Step(
            f.DraftSubmitted,
            "3",
            DRAFTER,
            frozenset({ASSIGNED}),
            DRAFTED,
            rules=("not-authorised", "triple-aim-missing"),
            guard=_guard_drafter,
            candidates=_drafter,
            summary="the drafters deliver a draft",
        ),
        Step(
            f.DraftCoordinated,
            "4",
            SAS,
            frozenset({DRAFTED}),
            COORDINATED,
            summary="the draft is coordinated with SAS and the SSG chair",
        ),
        Step(
            f.DraftSentForComments,
            "5",
            SAS,
            frozenset({COORDINATED}),
            IN_COMMENTS,
            summary="SAS sends the draft for comments, with a deadline",
        ),
        approval.comment_step("5"),
        Step(
            f.DraftRevised,
            "6",
            DRAFTER,
            frozenset({IN_COMMENTS, RETURNED}),
            REVISED,
            rules=("not-authorised",),
            guard=_guard_drafter,
            follows=approval.follows_revision,
            candidates=_drafter,
            summary="the drafters revise the draft",
        ),
        Step(
            f.SubmittedForApproval,
            "7",
            SUBMITTER,
            frozenset({REVISED}),
            SUBMITTED,
            rules=("not-authorised",),
            guard=_guard_drafter,
            candidates=_submitter,
            summary="the revised draft goes via SAS to SSG",
        ),
        Step(
            f.ApprovedBySSG,
            "8",
            SSG,
            frozenset({SUBMITTED}),
            SSG_APPROVED,
            rules=("economy-not-clarified",),
            guard=_guard_ssg_approval,
            follows=_follows_ssg_approval,
            summary="SSG approves",
        ),
        Step(
            f.ReturnedBySSG,
            "8",
            SSG,
            frozenset({SUBMITTED}),
            RETURNED,
            summary="SSG returns the draft for revision",
        ),
        Step(
            f.PracticeTasksAgreed,
            "—",
            PPU,
            _AFTER_KOMMISSORIUM,
            None,
            guard=_once("practice_tasks_agreed_on", "PracticeTasksAgreed"),
            follows=_follows_kommissorium,
            candidates=_practice,
            summary="PPU agrees the tasks of general practice (needed before implementation)",
            seed="003 (Implementering og opfølgning)",
        ),
        Step(
            f.EconomicConsequencesClarified,
            "—",
            SAS,
            _BEFORE_SSG,
            None,
            guard=_once("economy_clarified_on", "EconomicConsequencesClarified"),
            follows=_follows_kommissorium,
            candidates=_economy,
            summary="SAS clarifies the economic consequences (needed before SSG approval)",
            seed="003 (Principper: Økonomi)",
        ),
        *approval.shared_steps(
            what="the agreement",
            statuses=STATUSES,
            sku_step="9",
            implementation_step="10",
            evaluation_step="11",
            implementation=Step(
                f.ImplementationStarted,
                "10",
                CLUSTER,
                frozenset({APPROVED}),
                None,
                rules=("implementation-before-approval", "practice-tasks-not-agreed"),
                too_early=approval.until(STATUSES, APPROVED, "implementation-before-approval"),
                guard=_guard_implementation_started,
                follows=_follows_implementation_started,
                candidates=_clusters_ready,
                summary="a cluster starts implementing, once its councils approved",
            ),
        ),
        Step(
            f.AgreementWithdrawn,
            "—",
            SSG_OR_SKU,
            ANY,
            WITHDRAWN,
            follows=_follows_last,
            summary="SSG or SKU withdraws the agreement; nothing follows",
            seed="DOMAIN.md (Process 1: not in seed 002)",
        ),
    ],
    start=start,
    evolve=evolve,
    statuses=STATUSES,
    closed_status=WITHDRAWN,
    canonical=canonical_ids,
    delivery_of=_delivery_of,
    seed="002 (samarbejdsaftaler)",
)
"""Process 1 as data: the single source of its rules, docs and diagram."""
