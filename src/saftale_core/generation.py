"""The health agreement itself: a generation, its making, its content and its follow-up.

A *generation* (e.g. *Sundhedsaftalen 2019-2023*, the 4th) is a subject of its
own.  It is made in five phases, in order (seeds 000/001): *Foranalyse*,
*Politisk fase*, *Udviklings- og skrivefase*, *Høringsfase*,
*Godkendelsesfase*, with planned and held activities.  Its consultation
version is approved by SSG and then SKU, consulted on, its final version
approved by SSG and SKU and then by the regional council and every municipal
council; it takes effect when all have approved.  Later amendments go back to
SSG and SKU (the psychiatry targets of 2019).

Its content (seed 003) is data that changes over time, each change a fact:
visions, focus areas and each one's current *first focus*, goals per focus
area, indicators per goal with their follow-up cadence and their links to the
eight national goals, and principles.  Follow-up (seed 003, "Implementering
og opfølgning"): indicator measurements, SKU's half-yearly follow-up reports
to the councils, and a mid-term status as of 1 July 2021 and a final status as
of 1 January 2023 sent to Sundhedsstyrelsen; :func:`follow_up` says what is
due, delivered and overdue on any date.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from saftale_core import approval
from saftale_core import facts as f
from saftale_core._evolve import evolve as fast_evolve
from saftale_core.approval import COUNCIL, SAS, SKU, CouncilDecision
from saftale_core.canonical import canonical_ids
from saftale_core.dates import Period
from saftale_core.errors import RuleWarning
from saftale_core.facts import (
    Fact,
    _bool,
    _key,
    _nonempty,
    _opt_text,
    _positive,
    _text,
    _to_periods,
    fact_type,
)
from saftale_core.process import ANY, Context, Process, Step, Who, refuse
from saftale_core.registry import Kind, Registry, Role

__all__ = [
    "FOLLOW_UP_GRACE_MONTHS",
    "GENERATION",
    "ActivityHeld",
    "ActivityPlanned",
    "ConsultationHeld",
    "FirstFocusSet",
    "FocusAreaSet",
    "FollowUp",
    "FollowUpReportSent",
    "GenerationInitiated",
    "GenerationState",
    "GenerationTookEffect",
    "GoalSet",
    "IndicatorMeasured",
    "IndicatorSet",
    "Obligation",
    "Phase",
    "PhaseStarted",
    "PrincipleSet",
    "StatusKind",
    "StatusReportSent",
    "Version",
    "VersionApproved",
    "VisionSet",
    "follow_up",
]

# -- vocabulary ---------------------------------------------------------------------


class Phase(enum.Enum):
    """The phases a generation is made in, in order (seeds 000/001)."""

    FORANALYSE = "foranalyse"
    POLITISK_FASE = "politisk-fase"
    UDVIKLINGS_OG_SKRIVEFASE = "udviklings-og-skrivefase"
    HOERINGSFASE = "hoeringsfase"
    GODKENDELSESFASE = "godkendelsesfase"


PHASES: tuple[Phase, ...] = tuple(Phase)


class Version(enum.Enum):
    """Which version of the agreement a body approves."""

    CONSULTATION = "consultation"
    FINAL = "final"
    AMENDMENT = "amendment"


class StatusKind(enum.Enum):
    MIDTERM = "midterm"
    FINAL = "final"


def _enum_converter(cls: type[enum.Enum], key: str) -> Any:
    def convert(value: Any) -> Any:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise refuse("bad-record", f"'{key}' must be one of {allowed}, not {value!r}") from None

    return convert


_phase = _enum_converter(Phase, "phase")
_version = _enum_converter(Version, "version")
_kind = _enum_converter(StatusKind, "kind")


def _to_phase(value: Phase | str) -> Phase:
    result: Phase = _phase(value)
    return result


def _to_version(value: Version | str) -> Version:
    result: Version = _version(value)
    return result


def _to_kind(value: StatusKind | str) -> StatusKind:
    result: StatusKind = _kind(value)
    return result


def _to_period(value: Period | str | dt.date) -> Period:
    return Period.coerce(value)


def _to_goals(value: Iterable[int]) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise refuse("bad-record", f"'national_goals' must be a list of numbers, not {value!r}")
    out = tuple(value)
    for goal in out:
        if isinstance(goal, bool) or not isinstance(goal, int) or not 1 <= goal <= 8:
            raise refuse("bad-record", f"'national_goals' are numbers 1 to 8, not {goal!r}")
    return out


def _value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise refuse("bad-record", f"'value' must be a number, or null for no data; not {value!r}")


@fact_type("GenerationInitiated")
@attrs.frozen(kw_only=True)
class GenerationInitiated(Fact):
    """SKU (or SSG) starts the making of a generation of the health agreement."""

    INITIATES: ClassVar[str | None] = "generation"

    title: str = attrs.field(validator=_text)
    number: int = attrs.field(validator=_positive)
    """Which generation (Sundhedsaftalen 2019-2023 is the 4th)."""
    period: Period = attrs.field(converter=_to_period)
    """The years it covers, e.g. ``2019/2023``."""


@fact_type("PhaseStarted")
@attrs.frozen(kw_only=True)
class PhaseStarted(Fact):
    """A phase of the making begins; phases come in their fixed order."""

    phase: Phase = attrs.field(converter=_to_phase)


@fact_type("ActivityPlanned")
@attrs.frozen(kw_only=True)
class ActivityPlanned(Fact):
    """An activity of the time and process plan: what, when (one or more dates), who."""

    activity: str = attrs.field(validator=_key)
    what: str = attrs.field(validator=_text)
    when: tuple[Period, ...] = attrs.field(converter=_to_periods, validator=_nonempty)
    phase: Phase = attrs.field(converter=_to_phase)
    participants: str | None = attrs.field(default=None, validator=_opt_text)
    when_text: str | None = attrs.field(default=None, validator=_opt_text)
    """The time as the plan wrote it (e.g. ``"Ultimo april"``)."""


@fact_type("ActivityHeld")
@attrs.frozen(kw_only=True)
class ActivityHeld(Fact):
    """A planned activity took place (``on``)."""

    activity: str = attrs.field(validator=_key)


@fact_type("VersionApproved")
@attrs.frozen(kw_only=True)
class VersionApproved(Fact):
    """SSG or SKU approves the consultation version, the final version or an amendment."""

    version: Version = attrs.field(converter=_to_version)


@fact_type("ConsultationHeld")
@attrs.frozen(kw_only=True)
class ConsultationHeld(Fact):
    """The public consultation (høring) on the consultation version; ``on`` is its period."""


@fact_type("GenerationTookEffect")
@attrs.frozen(kw_only=True)
class GenerationTookEffect(Fact):
    """The generation is in force (``on``), once every council has approved it."""


@fact_type("VisionSet")
@attrs.frozen(kw_only=True)
class VisionSet(Fact):
    vision: str = attrs.field(validator=_key)
    text: str = attrs.field(validator=_text)


@fact_type("FocusAreaSet")
@attrs.frozen(kw_only=True)
class FocusAreaSet(Fact):
    focus_area: str = attrs.field(validator=_key)
    name: str = attrs.field(validator=_text)


@fact_type("FirstFocusSet")
@attrs.frozen(kw_only=True)
class FirstFocusSet(Fact):
    """A focus area's current first focus (it moves on: smoking, then overweight)."""

    focus_area: str = attrs.field(validator=_key)
    focus: str = attrs.field(validator=_text)


@fact_type("GoalSet")
@attrs.frozen(kw_only=True)
class GoalSet(Fact):
    goal: str = attrs.field(validator=_key)
    focus_area: str = attrs.field(validator=_key)
    text: str = attrs.field(validator=_text)


@fact_type("IndicatorSet")
@attrs.frozen(kw_only=True)
class IndicatorSet(Fact):
    """An indicator under a goal, followed every ``cadence_months`` (6 by default)."""

    indicator: str = attrs.field(validator=_key)
    goal: str = attrs.field(validator=_key)
    name: str = attrs.field(validator=_text)
    cadence_months: int = attrs.field(default=6, validator=_positive)
    national_goals: tuple[int, ...] = attrs.field(default=(), converter=_to_goals)


@fact_type("PrincipleSet")
@attrs.frozen(kw_only=True)
class PrincipleSet(Fact):
    principle: str = attrs.field(validator=_key)
    name: str = attrs.field(validator=_text)
    text: str | None = attrs.field(default=None, validator=_opt_text)


@fact_type("IndicatorMeasured")
@attrs.frozen(kw_only=True)
class IndicatorMeasured(Fact):
    """A measurement of an indicator for a period; ``value`` null means no data (not zero)."""

    indicator: str = attrs.field(validator=_key)
    period: Period = attrs.field(converter=_to_period)
    value: float | None = attrs.field(default=None, validator=_value)
    source: str = attrs.field(validator=_text)
    final: bool = attrs.field(default=False, validator=_bool)
    """False for a preliminary figure."""


@fact_type("FollowUpReportSent")
@attrs.frozen(kw_only=True)
class FollowUpReportSent(Fact):
    """SKU's half-yearly follow-up, sent to the regional council and the municipal councils."""

    period: Period = attrs.field(converter=_to_period)
    """The half-year it covers, e.g. ``2020-01/2020-06``."""


@fact_type("StatusReportSent")
@attrs.frozen(kw_only=True)
class StatusReportSent(Fact):
    """The mid-term or final status, sent to Sundhedsstyrelsen for information."""

    kind: StatusKind = attrs.field(converter=_to_kind)
    as_of: Period = attrs.field(converter=_to_period)


# -- state ----------------------------------------------------------------------------

INITIATED = "initiated"
CONSULTATION_SSG = "consultation_ssg"
CONSULTATION_APPROVED = "consultation_approved"
CONSULTED = "consulted"
FINAL_SSG = "final_ssg"
FINAL_APPROVED = "final_approved"
IN_FORCE = "in_force"
AMENDMENT_SSG = "amendment_ssg"

STATUSES: Mapping[str, str] = {
    INITIATED: "in the making",
    CONSULTATION_SSG: "consultation version approved by SSG",
    CONSULTATION_APPROVED: "consultation version approved by SKU",
    CONSULTED: "consultation held",
    FINAL_SSG: "final version approved by SSG",
    FINAL_APPROVED: "final version approved by SKU",
    IN_FORCE: "in force",
    AMENDMENT_SSG: "in force; an amendment approved by SSG",
}


@attrs.frozen
class Indicator:
    indicator: str
    goal: str
    name: str
    cadence_months: int
    national_goals: tuple[int, ...]


@attrs.frozen
class Measurement:
    indicator: str
    period: Period
    value: float | None
    source: str
    final: bool
    on: Period


@attrs.frozen(kw_only=True)
class GenerationState:
    subject: str
    title: str
    number: int
    period: Period
    status: str = INITIATED
    status_on: Period
    last_on: Period
    phase: Phase | None = None
    phases: tuple[tuple[Phase, Period], ...] = ()
    activities: tuple[ActivityPlanned, ...] = ()
    held: tuple[tuple[str, Period], ...] = ()
    approvals: tuple[tuple[Version, str, Period], ...] = ()
    """Every version approval: (version, body, date)."""
    consultation: Period | None = None
    councils: tuple[CouncilDecision, ...] = ()
    in_force_on: Period | None = None
    visions: tuple[tuple[str, str], ...] = ()
    focus_areas: tuple[tuple[str, str], ...] = ()
    first_focus: tuple[tuple[str, str, Period], ...] = ()
    """Every first focus ever set: (focus area, focus, from)."""
    goals: tuple[tuple[str, str, str], ...] = ()
    """(goal, focus area, text)."""
    indicators: tuple[Indicator, ...] = ()
    principles: tuple[tuple[str, str], ...] = ()
    measurements: tuple[Measurement, ...] = ()
    reports: tuple[tuple[Period, Period], ...] = ()
    """Half-yearly follow-up reports: (period covered, sent on)."""
    status_reports: tuple[tuple[StatusKind, Period, Period], ...] = ()
    """(kind, as of, sent on)."""

    ssg: str = "SSG"
    sku: str = "SKU"
    """The ids of the steering group and the coordination committee (from the registry)."""
    closed: bool = False

    @property
    def approving_councils(self) -> tuple[str, ...]:
        return tuple(d.council for d in self.councils if d.approved)

    def current_first_focus(self, focus_area: str, on: dt.date | None = None) -> str | None:
        """The first focus of a focus area now, or as it stood on a date."""
        found = None
        for area, focus, since in self.first_focus:
            if area == focus_area and (on is None or since.start <= on):
                found = focus
        return found

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.indicator == key), None)

    def latest_measurement(self, indicator: str) -> Measurement | None:
        found = [m for m in self.measurements if m.indicator == indicator]
        return max(found, key=lambda m: (m.period.end, m.final)) if found else None


def _replace(items: tuple[Any, ...], key: Any, new: Any) -> tuple[Any, ...]:
    """``items`` with the entry of ``key`` replaced where it stands, or ``new`` appended.

    An entry's key is its first element (a tuple) or its key attribute (``indicator``,
    ``activity``), so content set again keeps its place, as in the document.
    """

    def key_of(item: Any) -> Any:
        if isinstance(item, tuple):
            return item[0]
        return getattr(item, "indicator", None) or getattr(item, "activity", None)

    if any(key_of(i) == key for i in items):
        return tuple(new if key_of(i) == key else i for i in items)
    return (*items, new)


def start(fact: Fact, registry: Any) -> GenerationState:
    assert isinstance(fact, GenerationInitiated)
    return GenerationState(
        subject=fact.subject,
        title=fact.title,
        number=fact.number,
        period=fact.period,
        status_on=fact.on,
        last_on=fact.on,
        ssg=registry.role(Role.STEERING_GROUP),
        sku=registry.role(Role.COORDINATION_COMMITTEE),
    )


def evolve(state: GenerationState, fact: Fact) -> GenerationState:
    """The state after one more fact; never checks, never raises."""
    step = GENERATION.steps.get(fact.TYPE)
    if step is None:
        return state
    changes: dict[str, Any] = {"last_on": approval.latest(state.last_on, fact.on)}
    match fact:
        case PhaseStarted():
            changes.update(phase=fact.phase, phases=(*state.phases, (fact.phase, fact.on)))
        case ActivityPlanned():
            changes["activities"] = _replace(state.activities, fact.activity, fact)
        case ActivityHeld():
            changes["held"] = (*state.held, (fact.activity, fact.on))
        case VersionApproved():
            changes["approvals"] = (*state.approvals, (fact.version, fact.by, fact.on))
            changes.update(_version_status(state, fact))
        case ConsultationHeld():
            changes.update(consultation=fact.on, status=CONSULTED, status_on=fact.on)
        case f.ApprovedByCouncil() | f.RejectedByCouncil():
            changes.update(approval.approval_changes(state, fact))  # type: ignore[arg-type]
        case GenerationTookEffect():
            changes.update(in_force_on=fact.on, status=IN_FORCE, status_on=fact.on)
        case VisionSet():
            changes["visions"] = _replace(state.visions, fact.vision, (fact.vision, fact.text))
        case FocusAreaSet():
            changes["focus_areas"] = _replace(
                state.focus_areas, fact.focus_area, (fact.focus_area, fact.name)
            )
        case FirstFocusSet():
            changes["first_focus"] = (*state.first_focus, (fact.focus_area, fact.focus, fact.on))
        case GoalSet():
            changes["goals"] = _replace(
                state.goals, fact.goal, (fact.goal, fact.focus_area, fact.text)
            )
        case IndicatorSet():
            changes["indicators"] = _replace(
                state.indicators,
                fact.indicator,
                Indicator(
                    fact.indicator, fact.goal, fact.name, fact.cadence_months, fact.national_goals
                ),
            )
        case PrincipleSet():
            changes["principles"] = _replace(
                state.principles, fact.principle, (fact.principle, fact.name)
            )
        case IndicatorMeasured():
            changes["measurements"] = (
                *state.measurements,
                Measurement(
                    fact.indicator, fact.period, fact.value, fact.source, fact.final, fact.on
                ),
            )
        case FollowUpReportSent():
            changes["reports"] = (*state.reports, (fact.period, fact.on))
        case StatusReportSent():
            changes["status_reports"] = (*state.status_reports, (fact.kind, fact.as_of, fact.on))
        case _:
            pass
    return fast_evolve(state, **changes)


def _approver(state: GenerationState, by: str) -> str:
    """Whether ``by`` approves as ``"SSG"`` or as ``"SKU"`` (the table's names for them)."""
    return "SKU" if by == state.sku else "SSG"


VERSION_STEPS: Mapping[tuple[str, Version, str], str] = {
    (INITIATED, Version.CONSULTATION, "SSG"): CONSULTATION_SSG,
    (CONSULTATION_SSG, Version.CONSULTATION, "SKU"): CONSULTATION_APPROVED,
    (CONSULTED, Version.FINAL, "SSG"): FINAL_SSG,
    (FINAL_SSG, Version.FINAL, "SKU"): FINAL_APPROVED,
    (IN_FORCE, Version.AMENDMENT, "SSG"): AMENDMENT_SSG,
    (AMENDMENT_SSG, Version.AMENDMENT, "SKU"): IN_FORCE,
}
"""Which approval of which version leads from which status to which: SSG first, then SKU."""


def _version_status(state: GenerationState, fact: VersionApproved) -> dict[str, Any]:
    to = VERSION_STEPS.get((state.status, fact.version, _approver(state, fact.by)))
    return {"status": to, "status_on": fact.on} if to else {}


# -- guards ----------------------------------------------------------------------------

Warnings = Iterable[RuleWarning] | None


def _guard_phase(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, PhaseStarted)
    expected = (
        PHASES[0]
        if state.phase is None
        else (PHASES[PHASES.index(state.phase) + 1] if state.phase != PHASES[-1] else None)
    )
    if fact.phase != expected:
        now = state.phase.value if state.phase else "none yet"
        raise refuse(
            "out-of-order",
            f"phase {fact.phase.value!r} cannot start now (current: "
            f"{now}; next: {expected.value if expected else 'none, the last has begun'})",
        )
    return None


def _follows_phase(state: GenerationState, fact: Fact) -> list[Period]:
    return [state.phases[-1][1]] if state.phases else [state.status_on]


def _guard_held(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, ActivityHeld)
    if not any(a.activity == fact.activity for a in state.activities):
        raise refuse(
            "out-of-order", f"the activity {fact.activity!r} is not in the plan (ActivityPlanned)"
        )
    return None


def _follows_nothing(state: GenerationState, fact: Fact) -> list[Period]:
    return [state.status_on] if state.status == INITIATED else []


def _may_approve(state: GenerationState, version: Version, by: str) -> bool:
    """Whether ``by`` may approve ``version`` now: SSG first, then SKU (:data:`VERSION_STEPS`)."""
    return (state.status, version, _approver(state, by)) in VERSION_STEPS


def _guard_version(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, VersionApproved)
    if not _may_approve(state, fact.version, fact.by):
        who = _approver(state, fact.by)
        raise refuse(
            "out-of-order",
            f"{who} cannot approve the {fact.version.value} version "
            f"now ({STATUSES[state.status]}); SSG approves first, then SKU",
        )
    return None


def _not_approved_by(state: GenerationState, registry: Registry) -> list[str]:
    """The councils that have not approved the final version (undecided or rejecting)."""
    approving = state.approving_councils
    return [c for c in registry.councils if c not in approving]


def _guard_took_effect(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    missing = _not_approved_by(state, ctx.registry)
    if missing:
        raise refuse("out-of-order", f"not every council has approved: {', '.join(missing)}")
    return None


def _follows_took_effect(state: GenerationState, fact: Fact) -> list[Period]:
    return [d.on for d in state.councils] or [state.status_on]


def _guard_goal(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, GoalSet | FirstFocusSet)
    if all(area != fact.focus_area for area, _ in state.focus_areas):
        raise refuse(
            "out-of-order", f"the focus area {fact.focus_area!r} is not set (FocusAreaSet)"
        )
    return None


def _guard_indicator(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, IndicatorSet)
    if all(goal != fact.goal for goal, _, _ in state.goals):
        raise refuse("out-of-order", f"the goal {fact.goal!r} is not set (GoalSet)")
    return None


def _guard_measured(state: GenerationState, fact: Fact, ctx: Context) -> Warnings:
    assert isinstance(fact, IndicatorMeasured)
    if state.indicator(fact.indicator) is None:
        raise refuse("out-of-order", f"the indicator {fact.indicator!r} is not set (IndicatorSet)")
    return None


def _content_follows(state: GenerationState, fact: Fact) -> list[Period]:
    return []


# -- candidates for "next steps": the guards above, asked of every body that may take the step


def _approvers(state: GenerationState, registry: Registry) -> list[str]:
    """Who may approve a version now: SSG, or SKU once SSG has (by the guard's table)."""
    return [
        body
        for body in SSG_OR_SKU.bodies(registry)
        if any(_may_approve(state, version, body) for version in Version)
    ]


def _takes_effect(state: GenerationState, registry: Registry) -> tuple[str, ...]:
    """Who may record that it takes effect now: SKU or SAS, once every council approved."""
    return () if _not_approved_by(state, registry) else SKU_OR_SAS.bodies(registry)


def _follows_in_force(state: GenerationState, fact: Fact) -> list[Period]:
    return [state.in_force_on] if state.in_force_on is not None else []


# -- the table ---------------------------------------------------------------------------

SSG_OR_SKU_OR_SAS = Who(
    "SSG, SKU or SAS", roles=(Role.STEERING_GROUP, Role.COORDINATION_COMMITTEE, Role.SECRETARIAT)
)
ANYONE = Who("any body or party of the registry", kinds=tuple(Kind))
SSG_OR_SKU = Who("SSG or SKU", roles=(Role.STEERING_GROUP, Role.COORDINATION_COMMITTEE))
SKU_OR_SAS = Who("SKU or SAS", roles=(Role.COORDINATION_COMMITTEE, Role.SECRETARIAT))
_OPEN = ANY
_CONTENT_SEED = "003 (visioner, indsatsområder, målsætninger, indikatorer, principper)"
_FOLLOW_UP_SEED = "003 (Implementering og opfølgning)"


def _content(fact: type[Fact], summary: str, guard: Any = None) -> Step[Any, Any]:
    return Step(
        fact,
        "—",
        SSG_OR_SKU,
        _OPEN,
        None,
        guard=guard,
        follows=_content_follows,
        summary=summary,
        seed=_CONTENT_SEED,
    )


GENERATION: Process[GenerationState] = Process(
    kind="generation",
    title="health agreement generation",
    initiated_by=Step(
        GenerationInitiated,
        "—",
        SSG_OR_SKU,
        ANY,
        INITIATED,
        summary="SKU or SSG starts the making of a generation",
    ),
    steps=[
        Step(
            PhaseStarted,
            "—",
            SSG_OR_SKU_OR_SAS,
            _OPEN,
            None,
            guard=_guard_phase,
            follows=_follows_phase,
            summary="a phase begins; phases come in their fixed order",
        ),
        Step(
            ActivityPlanned,
            "—",
            SSG_OR_SKU_OR_SAS,
            _OPEN,
            None,
            follows=_content_follows,
            summary="an activity of the time and process plan",
        ),
        Step(
            ActivityHeld,
            "—",
            ANYONE,
            _OPEN,
            None,
            guard=_guard_held,
            follows=_follows_nothing,
            summary="a planned activity took place",
        ),
        Step(
            VersionApproved,
            "—",
            SSG_OR_SKU,
            frozenset({INITIATED, CONSULTATION_SSG, CONSULTED, FINAL_SSG, IN_FORCE, AMENDMENT_SSG}),
            None,
            guard=_guard_version,
            candidates=_approvers,
            summary="SSG, then SKU, approve the consultation version, the final version, "
            "or an amendment",
            seed="000/001 (tids- og procesplan); an amendment: DOMAIN.md (real dates; not in "
            "the seeds)",
        ),
        Step(
            ConsultationHeld,
            "—",
            SAS,
            frozenset({CONSULTATION_APPROVED}),
            CONSULTED,
            summary="the consultation (høring) on the consultation version",
        ),
        Step(
            f.ApprovedByCouncil,
            "—",
            COUNCIL,
            frozenset({FINAL_APPROVED}),
            None,
            rules=("council-twice",),
            guard=approval.guard_council,
            candidates=approval.undecided_councils,
            summary="each council approves the final version for its own party",
        ),
        Step(
            f.RejectedByCouncil,
            "—",
            COUNCIL,
            frozenset({FINAL_APPROVED}),
            None,
            rules=("council-twice",),
            guard=approval.guard_council,
            candidates=approval.undecided_councils,
            summary="a council rejects",
        ),
        Step(
            GenerationTookEffect,
            "—",
            SKU_OR_SAS,
            frozenset({FINAL_APPROVED}),
            IN_FORCE,
            guard=_guard_took_effect,
            follows=_follows_took_effect,
            candidates=_takes_effect,
            summary="the generation takes effect, once every council approved",
            seed="DOMAIN.md (real dates: in force from 1 July 2019; not in the seeds)",
        ),
        _content(VisionSet, "a vision"),
        _content(FocusAreaSet, "a focus area (indsatsområde)"),
        _content(FirstFocusSet, "a focus area's current first focus", _guard_goal),
        _content(GoalSet, "a goal under a focus area", _guard_goal),
        _content(
            IndicatorSet,
            "an indicator under a goal, its cadence and national goals",
            _guard_indicator,
        ),
        _content(PrincipleSet, "a principle for the cooperation"),
        Step(
            IndicatorMeasured,
            "—",
            SAS,
            _OPEN,
            None,
            guard=_guard_measured,
            follows=_content_follows,
            summary="a measurement of an indicator for a period",
            seed=_FOLLOW_UP_SEED,
        ),
        Step(
            FollowUpReportSent,
            "—",
            SKU,
            frozenset({IN_FORCE, AMENDMENT_SSG}),
            None,
            follows=_follows_in_force,
            summary="SKU's half-yearly follow-up, sent to the councils",
            seed=_FOLLOW_UP_SEED,
        ),
        Step(
            StatusReportSent,
            "—",
            SKU,
            frozenset({IN_FORCE, AMENDMENT_SSG}),
            None,
            follows=_follows_in_force,
            summary="the mid-term or final status, sent to Sundhedsstyrelsen",
            seed=_FOLLOW_UP_SEED,
        ),
    ],
    start=start,
    evolve=evolve,
    statuses=STATUSES,
    closed_status="",
    canonical=canonical_ids,
    seed="000/001 (tids- og procesplan)",
    transitions=[
        (a, b, f"VersionApproved ({v.value}, {who})") for (a, v, who), b in VERSION_STEPS.items()
    ],
)
"""The making, content and follow-up of a generation, as data."""


# -- follow-up: what is due, delivered and overdue on a date -------------------------------

FOLLOW_UP_GRACE_MONTHS = 3
"""How long after a period ends its report may come before it is overdue (an assumption of
this library: the seeds fix the cadence, not a deadline)."""

MIDTERM_AS_OF = dt.date(2021, 7, 1)
FINAL_AS_OF = dt.date(2023, 1, 1)


@attrs.frozen
class Obligation:
    """Something follow-up requires: what, for which period, due when, and whether delivered."""

    what: str
    """``"follow-up report"``, ``"midterm status"``, ``"final status"`` or ``"measurement"``."""
    key: str
    """The half-year, the status kind, or the indicator."""
    period: Period
    due: dt.date
    delivered_on: Period | None

    def delivered(self, on: dt.date) -> bool:
        """Certainly delivered by ``on``: on a day no later than it (a delivery known to
        the month counts from the month's last day, as every fact counts from the day
        it had certainly happened by)."""
        return self.delivered_on is not None and self.delivered_on.end <= on

    def overdue(self, on: dt.date) -> bool:
        """Past due on ``on`` and not certainly delivered by then."""
        return self.due < on and not self.delivered(on)


@attrs.frozen
class FollowUp:
    """Follow-up obligations as of a date: those that have fallen due, and their state."""

    as_of: dt.date
    obligations: tuple[Obligation, ...]

    @property
    def current(self) -> tuple[Obligation, ...]:
        """Obligations whose period has begun by the date."""
        return tuple(o for o in self.obligations if o.period.start <= self.as_of)

    @property
    def due(self) -> tuple[Obligation, ...]:
        """Obligations whose due date has come by the date (delivered or not)."""
        return tuple(o for o in self.obligations if o.due <= self.as_of)

    @property
    def delivered(self) -> tuple[Obligation, ...]:
        """Obligations certainly delivered by the date (:meth:`Obligation.delivered`)."""
        return tuple(o for o in self.obligations if o.delivered(self.as_of))

    @property
    def overdue(self) -> tuple[Obligation, ...]:
        """Obligations past their due date and not certainly delivered by the date."""
        return tuple(o for o in self.obligations if o.overdue(self.as_of))

    @property
    def upcoming(self) -> tuple[Obligation, ...]:
        """Obligations whose period has begun, not yet due and not delivered."""
        return tuple(o for o in self.current if o.due >= self.as_of and o not in self.delivered)


def _half_years(first: dt.date, last: dt.date) -> list[Period]:
    out: list[Period] = []
    year, half = first.year, 0 if first.month <= 6 else 1
    while True:
        start = dt.date(year, 1 + 6 * half, 1)
        if start > last:
            return out
        end = dt.date(year, 6, 30) if half == 0 else dt.date(year, 12, 31)
        text = f"{year}-{1 + 6 * half:02d}/{year}-{6 + 6 * half:02d}"
        out.append(Period(start, end, text))
        year, half = (year, 1) if half == 0 else (year + 1, 0)


@functools.lru_cache(maxsize=256)
def _windows(first: dt.date, last: dt.date, months: int) -> tuple[Period, ...]:
    """The windows of a cadence of ``months`` from ``first`` to ``last`` (kept: every
    follow-up of a generation asks for the same few)."""
    out: list[Period] = []
    start = first
    while start <= last:
        nxt = approval.add_months(start, months)
        end = nxt - dt.timedelta(days=1)
        out.append(Period(start, end, f"{start.isoformat()}/{end.isoformat()}"))
        start = nxt
    return tuple(out)


def follow_up(state: GenerationState, as_of: dt.date) -> FollowUp:
    """What follow-up requires of a generation in force, as of ``as_of``.

    * a half-yearly follow-up report for each half-year in force, due
      :data:`FOLLOW_UP_GRACE_MONTHS` after the half-year ends, delivered by a
      :class:`FollowUpReportSent` whose period overlaps it;
    * a measurement of each indicator for each window of its cadence, starting
      when the generation took effect, delivered by a final or preliminary
      :class:`IndicatorMeasured` whose period overlaps it (``value`` null
      counts: "no data" is an answer, not a missing one);
    * the mid-term status as of 1 July 2021 and the final status as of
      1 January 2023, due the grace period after those dates (when they fall in
      the generation's period).
    """
    if state.in_force_on is None:
        return FollowUp(as_of, ())
    first, last = state.in_force_on.start, state.period.end
    grace = FOLLOW_UP_GRACE_MONTHS
    obligations: list[Obligation] = []
    for half in _half_years(first, last):
        sent = [on for covered, on in state.reports if _overlaps(covered, half)]
        obligations.append(
            Obligation(
                "follow-up report",
                half.text,
                half,
                approval.add_months(half.end, grace),
                min(sent, key=lambda p: p.start) if sent else None,
            )
        )
    for kind, day in ((StatusKind.MIDTERM, MIDTERM_AS_OF), (StatusKind.FINAL, FINAL_AS_OF)):
        if not first <= day <= approval.add_months(last, 1):
            continue
        sent = [on for k, _, on in state.status_reports if k is kind]
        obligations.append(
            Obligation(
                f"{kind.value} status",
                kind.value,
                Period.day(day),
                approval.add_months(day, grace),
                sent[0] if sent else None,
            )
        )
    measured: dict[str, list[Measurement]] = {}
    for m in state.measurements:  # by indicator, in the order recorded
        measured.setdefault(m.indicator, []).append(m)
    for ind in state.indicators:
        of_indicator = measured.get(ind.indicator, ())
        for window in _windows(first, last, ind.cadence_months):
            found = [m.on for m in of_indicator if _overlaps(m.period, window)]
            obligations.append(
                Obligation(
                    "measurement",
                    ind.indicator,
                    window,
                    approval.add_months(window.end, grace),
                    found[0] if found else None,
                )
            )
    return FollowUp(as_of, tuple(obligations))


def _overlaps(a: Period, b: Period) -> bool:
    return a.start <= b.end and b.start <= a.end
