"""Test helpers: a clock that moves forward, and the facts of a whole agreement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import attrs

from saftale_core import facts as f
from saftale_core.facts import Fact

START = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    """A clock for tests: every reading is one second after the last."""

    def __init__(self, start: dt.datetime = START, step: dt.timedelta = dt.timedelta(seconds=1)):
        self.now = start
        self.step = step

    def __call__(self) -> dt.datetime:
        self.now += self.step
        return self.now


def days(start: dt.date = dt.date(2019, 1, 7)) -> Iterator[str]:
    """ISO days a week apart, for facts that must follow each other."""
    day = start
    while True:
        yield day.isoformat()
        day += dt.timedelta(days=7)


def agreement_path(
    subject: str,
    *,
    delivery: str = "cluster",
    cluster: str = "klynge:horsens",
    general_practice_tasks: bool = False,
    changes_task_allocation: bool = False,
    implement_in: tuple[str, ...] = ("klynge:aarhus",),
    councils: tuple[str, ...] | None = None,
) -> list[Fact]:
    """Every fact of a cooperation agreement from initiation to evaluation, in order.

    ``councils``: which councils approve (default: the regional council and the
    councils of the clusters in ``implement_in``).
    """
    from saftale_core import Registry

    reg = Registry.default()
    when = days()
    base: dict[str, Any] = {"subject": subject}

    def make(cls: type[Fact], by: str, **kw: Any) -> Fact:
        return cls(on=next(when), by=by, **base, **kw)

    drafter = cluster if delivery == "cluster" else "arbejdsgruppe:" + subject.lower()
    out: list[Fact] = [
        make(
            f.AgreementInitiated,
            "SSG",
            title=f"Agreement {subject}",
            origin="own_initiative",
            focus_areas=["forebyggelse"],
        ),
        make(
            f.KommissoriumApproved,
            "SSG",
            delivery=delivery,
            general_practice_tasks=general_practice_tasks,
            changes_task_allocation=changes_task_allocation,
        ),
    ]
    if delivery == "cluster":
        out += [make(f.ClusterOffered, cluster), make(f.ClusterAssigned, "SSG", cluster=cluster)]
    else:
        out.append(
            make(
                f.WorkingGroupEstablished,
                "SAS",
                group=drafter,
                members=["PLO", "byraad:aarhus", "regionsraad"],
            )
        )
    out += [
        make(f.DraftSubmitted, drafter, triple_aim=True),
        make(f.DraftCoordinated, "SAS"),
        make(f.DraftSentForComments, "SAS", parties=["PLO", "PIU"], deadline="2030-01-01"),
        make(f.CommentReceived, "PLO"),
        make(f.DraftRevised, drafter),
        make(f.SubmittedForApproval, drafter),
    ]
    if changes_task_allocation:
        out.append(make(f.EconomicConsequencesClarified, "SAS"))
    out += [make(f.ApprovedBySSG, "SSG", evaluate_after_months=12), make(f.ApprovedBySKU, "SKU")]
    if councils is None:
        chosen: list[str] = []
        for c in implement_in:
            chosen += [x for x in reg.councils_for(c) if x not in chosen]
        councils = tuple(chosen)
    out += [make(f.ApprovedByCouncil, c) for c in councils]
    if general_practice_tasks:
        out.append(make(f.PracticeTasksAgreed, "PPU"))
    for c in implement_in:
        out += [make(f.ImplementationStarted, c), make(f.Implemented, c)]
    if implement_in:
        out.append(make(f.Evaluated, "SAS", findings="Works as intended."))
    return out


def until(facts: list[Fact], type_name: str) -> list[Fact]:
    """The facts before the first of ``type_name``."""
    for i, fact in enumerate(facts):
        if fact.TYPE == type_name:
            return facts[:i]
    raise LookupError(type_name)


def first(facts: list[Fact], type_name: str) -> Fact:
    return next(x for x in facts if x.TYPE == type_name)


def with_(fact: Fact, **changes: Any) -> Fact:
    return attrs.evolve(fact, **changes)


def task_path(
    subject: str,
    *,
    developers: tuple[str, ...] = ("klynge:horsens", "klynge:midt"),
    asked: tuple[str, ...] | None = None,
    mode: str = "joint",
    spread_to: tuple[str, ...] = ("klynge:aarhus", "klynge:randers", "klynge:vest"),
    implement_in: tuple[str, ...] | None = None,
    comments: bool = True,
) -> list[Fact]:
    """Every fact of an SSG-initiated development task (route 1a), in order.

    ``developers`` accept and develop; other ``asked`` clusters decline.  The
    councils of the clusters in ``implement_in`` (default: all of ``spread_to``)
    approve, and those clusters implement.
    """
    from saftale_core import Registry

    reg = Registry.default()
    asked = asked if asked is not None else (*developers, "klynge:aarhus")
    implement_in = spread_to if implement_in is None else implement_in
    when = days()
    base: dict[str, Any] = {"subject": subject}

    def make(cls: type[Fact], by: str, **kw: Any) -> Fact:
        return cls(on=next(when), by=by, **base, **kw)

    out: list[Fact] = [
        make(
            f.DevelopmentTaskInitiated,
            "SSG",
            title=f"Task {subject}",
            focus_areas=["aeldre"],
            clusters=list(asked),
        ),
        make(
            f.AssignmentBriefSet,
            "SSG",
            topic="Acute illness in older citizens",
            timeframe="2019-03/2020-06",
            triple_aim=True,
            spread="All clusters",
        ),
        make(f.TaskOfferedToClusters, "SSG", clusters=list(asked)),
    ]
    out += [make(f.ClusterResponded, c, accepts=c in developers) for c in asked]
    if len(developers) > 1:
        out.append(make(f.ClustersCoordinated, "SAS", mode=mode))
    out += [make(f.SolutionTested, c) for c in developers]
    out += [make(f.SolutionCoreDelivered, c) for c in developers]
    if comments:
        out += [
            make(f.ProposalSentForComments, "SAS", parties=["PLO", "PIU"], deadline="2030-01-01"),
            make(f.CommentReceived, "PIU"),
            make(f.ProposalRevised, developers[0]),
        ]
    out += [
        make(f.ApprovedBySSG, "SSG", spread_to=list(spread_to), evaluate_after_months=18),
        make(f.ApprovedBySKU, "SKU"),
    ]
    councils: list[str] = []
    for c in implement_in:
        councils += [x for x in reg.councils_for(c) if x not in councils]
    out += [make(f.ApprovedByCouncil, c) for c in councils]
    for c in implement_in:
        out += [make(f.ImplementationStarted, c), make(f.Implemented, c)]
    if implement_in:
        out.append(make(f.Evaluated, "SAS", findings="Fewer acute admissions."))
    return out


def own_task_path(
    subject: str, *, cluster: str = "klynge:vest", spread_to: tuple[str, ...] = ("klynge:aarhus",)
) -> list[Fact]:
    """A cluster's own development task (route 1b), taken up for spread and implemented."""
    from saftale_core import Registry

    reg = Registry.default()
    when = days()
    base: dict[str, Any] = {"subject": subject}

    def make(cls: type[Fact], by: str, **kw: Any) -> Fact:
        return cls(on=next(when), by=by, **base, **kw)

    out: list[Fact] = [
        make(
            f.DevelopmentTaskInitiated,
            cluster,
            title=f"Own task {subject}",
            focus_areas=["naer-psykiatri"],
        ),
        make(f.SolutionTested, cluster),
        make(f.ResultsReported, cluster),
        make(f.SolutionTakenUpForSpread, "SSG"),
        make(f.SolutionCoreDelivered, cluster),
        make(f.ProposalSentForComments, "SAS", parties=["PLO"], deadline="2030-01-01"),
        make(f.ProposalRevised, cluster),
        make(f.ApprovedBySSG, "SSG", spread_to=list(spread_to)),
        make(f.ApprovedBySKU, "SKU"),
    ]
    councils: list[str] = []
    for c in spread_to:
        councils += [x for x in reg.councils_for(c) if x not in councils]
    out += [make(f.ApprovedByCouncil, c) for c in councils]
    for c in spread_to:
        out += [make(f.ImplementationStarted, c), make(f.Implemented, c)]
    return out


def generation_path(
    subject: str, *, period: str = "2019/2023", took_effect: str = "2019-07-01"
) -> list[Fact]:
    """The making of a health agreement generation, in order, from its initiation until it
    takes effect: SSG then SKU approve the consultation version, the consultation, SSG then
    SKU approve the final version, every council approves (dates after seeds 000/001)."""
    from saftale_core import Registry
    from saftale_core import generation as g

    base: dict[str, Any] = {"subject": subject}
    out: list[Fact] = [
        g.GenerationInitiated(
            on="2017-10-02",
            by="SSG",
            title=f"Generation {subject}",
            number=4,
            period=period,
            **base,
        ),
        g.VersionApproved(on="2018-11-23", by="SSG", version="consultation", **base),
        g.VersionApproved(on="2018-12-11", by="SKU", version="consultation", **base),
        g.ConsultationHeld(on="2019-01/2019-02", by="SAS", **base),
        g.VersionApproved(on="2019-04-03", by="SSG", version="final", **base),
        g.VersionApproved(on="2019-04-30", by="SKU", version="final", **base),
    ]
    out += [
        f.ApprovedByCouncil(on="2019-05-02", by=council, **base)
        for council in Registry.default().councils
    ]
    out.append(g.GenerationTookEffect(on=took_effect, by="SKU", **base))
    return out
