"""The steps both processes share: approval by SSG and SKU, the councils,
implementation in clusters, and evaluation (seed 002, steps 8-11 and 9-12).

A state that goes through these steps has the fields of :class:`Approvable`;
the guards, date rules, "next step" candidates and state changes here are used
by the agreement and the development-task tables alike, so the rule that a
cluster implements only after its councils approved lives in one place.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

from saftale_core import facts as f
from saftale_core.dates import Period
from saftale_core.errors import RuleWarning
from saftale_core.facts import Fact
from saftale_core.process import Context, Step, Who, refuse
from saftale_core.registry import Kind, Registry, Role

__all__ = [
    "Approvable",
    "CouncilDecision",
    "Implementation",
    "add_months",
    "approval_changes",
    "approval_gaps",
    "check_implementation_start",
    "comment_changes",
    "evaluation_due",
    "evaluation_overdue",
]

Warnings = Iterable[RuleWarning] | None

# The statuses the shared steps lead to, named alike in every process.
RETURNED = "returned"
SSG_APPROVED = "ssg_approved"
APPROVED = "approved"
WITHDRAWN = "withdrawn"

# Who may take a step, in the words the docs use; the rules name roles, never ids.
SSG = Who("SSG", roles=(Role.STEERING_GROUP,))
SKU = Who("SKU", roles=(Role.COORDINATION_COMMITTEE,))
SAS = Who("SAS", roles=(Role.SECRETARIAT,))
PPU = Who("PPU", roles=(Role.PRACTICE_PLAN_COMMITTEE,))
SSG_OR_SKU = Who("SSG or SKU", roles=(Role.STEERING_GROUP, Role.COORDINATION_COMMITTEE))
SSG_OR_SAS = Who("SSG or SAS", roles=(Role.STEERING_GROUP, Role.SECRETARIAT))
CLUSTER = Who("a cluster", kinds=(Kind.CLUSTER,))
COUNCIL = Who(
    "a council (the regional council or a byråd), for its own party",
    kinds=(Kind.REGIONAL_COUNCIL, Kind.MUNICIPAL_COUNCIL),
)
PARTY = Who("a party it was sent to for comments", kinds=tuple(Kind))


@attrs.frozen
class CouncilDecision:
    """A council's decision on a subject: approved or rejected, and when."""

    council: str
    approved: bool
    on: Period


@attrs.frozen
class Implementation:
    """How far a cluster has come implementing a subject."""

    cluster: str
    started_on: Period | None = None
    implemented_on: Period | None = None


class Approvable(Protocol):
    """The part of a state that the shared steps read."""

    @property
    def status_on(self) -> Period: ...
    @property
    def last_on(self) -> Period: ...
    @property
    def councils(self) -> tuple[CouncilDecision, ...]: ...
    @property
    def implementations(self) -> tuple[Implementation, ...]: ...
    @property
    def evaluations(self) -> tuple[Period, ...]: ...
    @property
    def evaluation_due(self) -> Period | None: ...
    @property
    def evaluate_after_months(self) -> int | None: ...
    @property
    def returns(self) -> int: ...
    @property
    def comment_parties(self) -> tuple[str, ...]: ...
    @property
    def comments(self) -> tuple[tuple[str, Period], ...]: ...


class ApprovalQueries:
    """What every state that goes through the shared steps answers (a mixin for the
    frozen attrs states of the processes)."""

    __slots__ = ()

    def council_decision(self: Any, council: str) -> CouncilDecision | None:
        return council_decision(self, council)

    def implementation(self: Any, cluster: str) -> Implementation | None:
        return implementation(self, cluster)

    @property
    def approving_councils(self: Any) -> tuple[str, ...]:
        return tuple(d.council for d in self.councils if d.approved)

    @property
    def rejecting_councils(self: Any) -> tuple[str, ...]:
        return tuple(d.council for d in self.councils if not d.approved)

    @property
    def implemented_clusters(self: Any) -> tuple[str, ...]:
        return implemented_clusters(self)

    @property
    def implementing_clusters(self: Any) -> tuple[str, ...]:
        """Clusters that started and have not finished implementing."""
        return implementing_clusters(self)

    def evaluation_overdue(self: Any, on: dt.date) -> bool:
        """True when an evaluation was due before ``on`` and none was recorded since."""
        return evaluation_overdue(self, on)

    @property
    def effective_evaluation_due(self: Any) -> Period | None:
        """The scheduled evaluation date, or the first implementation plus the interval SSG
        set."""
        return evaluation_due(self)


def council_decision(state: Approvable, council: str) -> CouncilDecision | None:
    for d in state.councils:
        if d.council == council:
            return d
    return None


def implementation(state: Approvable, cluster: str) -> Implementation | None:
    for i in state.implementations:
        if i.cluster == cluster:
            return i
    return None


def implemented_clusters(state: Approvable) -> tuple[str, ...]:
    return tuple(i.cluster for i in state.implementations if i.implemented_on is not None)


def implementing_clusters(state: Approvable) -> tuple[str, ...]:
    """Clusters that started and have not finished implementing."""
    return tuple(
        i.cluster
        for i in state.implementations
        if i.started_on is not None and i.implemented_on is None
    )


def step_changes(state: Approvable, fact: Fact, to: str | None) -> dict[str, Any]:
    """What every step of an agreement or a task changes: the latest date among the facts
    in force, and, for a step that leads somewhere, the status and its date."""
    changes: dict[str, Any] = {"last_on": latest(state.last_on, fact.on)}
    if to is not None:
        changes["status"] = to
        changes["status_on"] = fact.on
    return changes


def latest(a: Period, b: Period) -> Period:
    """Of two dates, the one that may lie latest (by its first day; the later-recorded on a tie),
    so that a step that must follow everything (a withdrawal) is checked against it."""
    return b if b.start >= a.start else a


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def evaluation_due(state: Approvable) -> Period | None:
    """The scheduled evaluation date, or the first implementation plus the interval SSG set."""
    if state.evaluation_due is not None:
        return state.evaluation_due
    if state.evaluate_after_months is None:
        return None
    starts = [i.started_on for i in state.implementations if i.started_on is not None]
    if not starts:
        return None
    first = min(starts, key=lambda p: p.start)
    return Period.day(add_months(first.end, state.evaluate_after_months))


def evaluation_overdue(state: Approvable, on: dt.date) -> bool:
    """True when an evaluation was due before ``on`` and none was recorded since."""
    due = evaluation_due(state)
    if due is None or due.end >= on:
        return False
    return not any(e.end >= due.start for e in state.evaluations)


# -- state changes ------------------------------------------------------------------


def _with_implementation(
    state: Approvable, cluster: str, **changes: Any
) -> tuple[Implementation, ...]:
    found = implementation(state, cluster) or Implementation(cluster)
    others = tuple(i for i in state.implementations if i.cluster != cluster)
    return (*others, attrs.evolve(found, **changes))


def approval_changes(state: Approvable, fact: Fact) -> dict[str, Any]:
    """The field changes a shared step makes (empty for any other fact)."""
    match fact:
        case f.ApprovedBySSG():
            return {"ssg_approved_on": fact.on, "evaluate_after_months": fact.evaluate_after_months}
        case f.ReturnedBySSG() | f.ReturnedBySKU():
            return {"returns": state.returns + 1, "ssg_approved_on": None}
        case f.ApprovedBySKU():
            return {"sku_approved_on": fact.on}
        case f.ApprovedByCouncil() | f.RejectedByCouncil():
            approved = isinstance(fact, f.ApprovedByCouncil)
            return {"councils": (*state.councils, CouncilDecision(fact.by, approved, fact.on))}
        case f.ImplementationStarted():
            return {"implementations": _with_implementation(state, fact.by, started_on=fact.on)}
        case f.Implemented():
            return {"implementations": _with_implementation(state, fact.by, implemented_on=fact.on)}
        case f.EvaluationScheduled():
            return {"evaluation_due": fact.due}
        case f.Evaluated():
            return {"evaluations": (*state.evaluations, fact.on)}
        case _:
            return {}


def comment_changes(state: Approvable, fact: Fact) -> dict[str, Any]:
    """The field changes of a comments round (empty for any other fact)."""
    if isinstance(fact, f.DraftSentForComments | f.ProposalSentForComments):
        return {"comment_parties": fact.parties, "comment_deadline": fact.deadline, "comments": ()}
    if isinstance(fact, f.CommentReceived):
        return {"comments": (*state.comments, (fact.by, fact.on))}
    return {}


# -- guards and dates -----------------------------------------------------------------


def guard_comment(state: Approvable, fact: Fact, ctx: Context) -> Warnings:
    if fact.by not in state.comment_parties:
        raise refuse(
            "not-authorised",
            f"{fact.by} may not comment: it was sent to {', '.join(state.comment_parties)}",
        )
    return None


def follows_revision(state: Any, fact: Fact) -> list[Period]:
    """A revision after a comments round follows the round and every comment in it."""
    out = [state.status_on]
    if state.status == "in_comments":
        out += [on for _, on in state.comments]
    return out


def guard_council(state: Approvable, fact: Fact, ctx: Context) -> Warnings:
    earlier = council_decision(state, fact.by)
    if earlier is not None:
        verb = "approved" if earlier.approved else "rejected"
        raise refuse("council-twice", f"{fact.by} already {verb} this on {earlier.on}")
    return None


def approval_gaps(state: Approvable, cluster: str, registry: Registry) -> list[str]:
    """The councils whose approval ``cluster`` still lacks before it may implement."""
    approved = {d.council for d in state.councils if d.approved}
    return [c for c in registry.councils_for(cluster) if c not in approved]


def check_implementation_start(state: Approvable, cluster: str, registry: Registry) -> None:
    """Refuse a second start, or a start before the cluster's councils all approved."""
    if implementation(state, cluster) is not None:
        raise refuse("out-of-order", f"{cluster} already started implementing")
    missing = approval_gaps(state, cluster, registry)
    if missing:
        rejected = [c for c in missing if council_decision(state, c) is not None]
        why = f" ({', '.join(rejected)} rejected)" if rejected else ""
        raise refuse(
            "implementation-before-approval",
            f"{cluster} cannot implement before these councils approve: {', '.join(missing)}{why}",
        )


def check_start_date(state: Approvable, fact: Fact, registry: Registry) -> None:
    """An implementation cannot start before its own councils' approvals (the councils of
    other clusters do not matter)."""
    for council in registry.councils_for(fact.by):
        decision = council_decision(state, council)
        if decision is not None and fact.on.certainly_before(decision.on):
            raise refuse(
                "date-before-previous",
                f"{fact.TYPE} on {fact.on} lies before {council}'s approval ({decision.on})",
            )


def follows_implementation_start(state: Approvable, fact: Fact) -> list[Period]:
    """An implementation follows SKU's approval (the status date); its own councils'
    approvals are checked with the registry by :func:`check_start_date`."""
    return [state.status_on]


def guard_implemented(state: Approvable, fact: Fact, ctx: Context) -> Warnings:
    impl = implementation(state, fact.by)
    if impl is None or impl.started_on is None:
        raise refuse(
            "out-of-order", f"{fact.by} has not started implementing (ImplementationStarted)"
        )
    if impl.implemented_on is not None:
        raise refuse("out-of-order", f"{fact.by} already implemented ({impl.implemented_on})")
    return None


def follows_implemented(state: Approvable, fact: Fact) -> list[Period]:
    impl = implementation(state, fact.by)
    return [impl.started_on] if impl is not None and impl.started_on is not None else []


def guard_evaluated(state: Approvable, fact: Fact, ctx: Context) -> Warnings:
    if not implemented_clusters(state):
        raise refuse(
            "evaluation-before-implementation", "no cluster has implemented it yet (Implemented)"
        )
    return None


def follows_evaluated(state: Approvable, fact: Fact) -> list[Period]:
    done = [i.implemented_on for i in state.implementations if i.implemented_on is not None]
    return [min(done, key=lambda p: p.start)] if done else []


# -- who may take the shared steps now ----------------------------------------------------


def commenters(state: Approvable, registry: Registry) -> list[str]:
    return list(state.comment_parties)


def undecided_councils(state: Approvable, registry: Registry) -> list[str]:
    decided = {d.council for d in state.councils}
    return [c for c in registry.councils if c not in decided]


def clusters_implementing(state: Approvable, registry: Registry) -> list[str]:
    return list(implementing_clusters(state))


def evaluators(state: Approvable, registry: Registry) -> list[str]:
    if not implemented_clusters(state):
        return []
    return [registry.role(Role.STEERING_GROUP), registry.role(Role.SECRETARIAT)]


def until(statuses: Iterable[str], status: str, code: str) -> dict[str, str]:
    """``too_early`` for a step: every status before ``status`` refuses with ``code``."""
    out: dict[str, str] = {}
    for s in statuses:
        if s == status:
            return out
        out[s] = code
    raise ValueError(status)


def comment_step(number: str) -> Step[Any, Any]:
    """The row for a comment received while a comments round is open (both processes)."""
    return Step(
        f.CommentReceived,
        number,
        PARTY,
        frozenset({"in_comments"}),
        None,
        rules=("not-authorised",),
        guard=guard_comment,
        candidates=commenters,
        summary="a party comments while the round is open",
    )


def shared_steps(
    *,
    what: str,
    statuses: Iterable[str],
    sku_step: str,
    implementation_step: str,
    evaluation_step: str,
    implementation: Step[Any, Any],
) -> list[Step[Any, Any]]:
    """The rows both tables share: SKU, the councils, implementation and evaluation.

    ``implementation`` is the process's own ``ImplementationStarted`` row (its
    gate differs); ``what`` names the subject in the docs ("the agreement").
    """
    after_sku = frozenset({APPROVED})
    statuses = list(statuses)
    return [
        Step(
            f.ApprovedBySKU,
            sku_step,
            SKU,
            frozenset({SSG_APPROVED}),
            APPROVED,
            summary="SKU approves, after SSG",
        ),
        Step(
            f.ReturnedBySKU,
            sku_step,
            SKU,
            frozenset({SSG_APPROVED}),
            RETURNED,
            summary=f"SKU returns {what} for revision",
        ),
        Step(
            f.ApprovedByCouncil,
            sku_step,
            COUNCIL,
            after_sku,
            None,
            rules=("council-twice",),
            guard=guard_council,
            candidates=undecided_councils,
            summary="each council approves for its own party, after SKU",
        ),
        Step(
            f.RejectedByCouncil,
            sku_step,
            COUNCIL,
            after_sku,
            None,
            rules=("council-twice",),
            guard=guard_council,
            candidates=undecided_councils,
            summary="a council rejects for its own party",
        ),
        implementation,
        Step(
            f.Implemented,
            implementation_step,
            CLUSTER,
            after_sku,
            None,
            guard=guard_implemented,
            follows=follows_implemented,
            candidates=clusters_implementing,
            summary="a cluster has implemented",
        ),
        Step(
            f.EvaluationScheduled,
            evaluation_step,
            SSG_OR_SAS,
            frozenset({SSG_APPROVED, APPROVED}),
            None,
            summary="an evaluation is scheduled",
        ),
        Step(
            f.Evaluated,
            evaluation_step,
            SSG_OR_SAS,
            after_sku,
            None,
            rules=("evaluation-before-implementation",),
            too_early=until(statuses, APPROVED, "evaluation-before-implementation"),
            guard=guard_evaluated,
            follows=follows_evaluated,
            candidates=evaluators,
            summary=f"{what} is evaluated, after implementation",
        ),
    ]
