"""The facts: what happened, as small frozen attrs classes.

Every fact names its ``subject`` (the agreement, task, generation or
kommissorium it belongs to), ``on`` (when it happened in the world: a
:class:`~saftale_core.dates.Period`), ``by`` (who decided or acted), and may
carry a ``ref`` (journal number, minutes item) and a ``note``.  Who recorded it
and when are kept by the store (:class:`Recorded`), not by the fact.

Each class has a stable type name (``TYPE``), the public vocabulary of
``DOMAIN.md`` and of history files; it is what is stored, so renaming a Python
class never breaks stored history.  ``VERSION`` is the schema version of the
stored form and ``UPCASTERS`` turn an older stored form into the next one.

Building a fact checks its shape: a missing or wrong-typed key raises
:class:`~saftale_core.errors.RuleViolation` with code ``bad-record`` (``bad-date``
for a date), before anything reaches a store.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from saftale_core.dates import Period
from saftale_core.errors import RuleViolation

__all__ = [
    "FACT_TYPES",
    "AgreementInitiated",
    "AgreementWithdrawn",
    "ApprovedByCouncil",
    "ApprovedBySKU",
    "ApprovedBySSG",
    "AssignmentBriefSet",
    "ClusterAssigned",
    "ClusterOffered",
    "ClusterResponded",
    "ClustersCoordinated",
    "CommentReceived",
    "CoordinationMode",
    "Delivery",
    "DevelopmentTaskInitiated",
    "DevelopmentTaskWithdrawn",
    "DraftCoordinated",
    "DraftRevised",
    "DraftSentForComments",
    "DraftSubmitted",
    "EconomicConsequencesClarified",
    "Evaluated",
    "EvaluationScheduled",
    "Fact",
    "FactCorrected",
    "ImplementationStarted",
    "Implemented",
    "KommissoriumApproved",
    "Origin",
    "PracticeTasksAgreed",
    "ProposalRevised",
    "ProposalSentForComments",
    "Recorded",
    "RejectedByCouncil",
    "ResultsReported",
    "ReturnedBySKU",
    "ReturnedBySSG",
    "SolutionCoreDelivered",
    "SolutionTakenUpForSpread",
    "SolutionTested",
    "SubmittedForApproval",
    "TaskOfferedToClusters",
    "WorkingGroupEstablished",
    "fact_type",
    "subject_id",
]

MAX_TEXT = 20_000
MAX_KEY = 200

# -- shape checks: each raises bad-record naming the key ---------------------


def _bad(key: str, why: str) -> RuleViolation:
    return RuleViolation("bad-record", f"{key!r} {why}")


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise _bad(attribute.name, f"must be text, not {type(value).__name__}")
    if not value.strip():
        raise _bad(attribute.name, "must not be empty")
    if len(value) > MAX_TEXT:
        raise _bad(attribute.name, f"is longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise _bad(attribute.name, "must not contain a NUL character")


def _opt_text(obj: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _text(obj, attribute, value)


def _key(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise _bad(attribute.name, f"must be text, not {type(value).__name__}")
    if not value or value != value.strip():
        raise _bad(attribute.name, "must be non-empty, without leading or trailing spaces")
    if len(value) > MAX_KEY:
        raise _bad(attribute.name, f"is longer than {MAX_KEY} characters")
    if not value.isprintable() and any(unicodedata.category(ch).startswith("C") for ch in value):
        raise _bad(attribute.name, "must not contain control characters")


def _bool(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise _bad(attribute.name, f"must be true or false, not {value!r}")


def _opt_months(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(attribute.name, f"must be a whole number of months, not {value!r}")
    if not 1 <= value <= 240:
        raise _bad(attribute.name, f"must be between 1 and 240 months, not {value}")


def _positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(attribute.name, f"must be a positive whole number, not {value!r}")


def _ids(key: str) -> Callable[[Iterable[str]], tuple[str, ...]]:
    def convert(value: Iterable[str]) -> tuple[str, ...]:
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise _bad(key, f"must be a list of ids, not {type(value).__name__}")
        out = tuple(value)
        for item in out:
            if not isinstance(item, str) or not item.strip():
                raise _bad(key, f"must hold non-empty ids, not {item!r}")
        if len(set(out)) != len(out):
            raise _bad(key, "must not name the same id twice")
        return out

    return convert


def _nonempty(_: object, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    if not value:
        raise _bad(attribute.name, "must list at least one id")


def _to_periods(value: Iterable[Period | str | dt.date]) -> tuple[Period, ...]:
    if isinstance(value, str | Period | dt.date):
        return (Period.coerce(value),)
    return tuple(Period.coerce(v) for v in value)


def _period(value: Period | str | dt.date) -> Period:
    return Period.coerce(value)


E = TypeVar("E", bound=enum.Enum)


def _enum(cls: type[E]) -> Callable[[E | str], E]:
    def convert(value: E | str) -> E:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise _bad(cls.__name__.lower(), f"must be one of {allowed}, not {value!r}") from None

    return convert


# -- vocabulary ---------------------------------------------------------------
# (converters are named functions so that mypy's attrs plugin can type __init__)


class Origin(enum.Enum):
    """Why a joint cooperation agreement was started (seed 002, a-c)."""

    NATIONAL_REQUIREMENT = "national_requirement"
    HEALTH_AGREEMENT_INITIATIVE = "health_agreement_initiative"
    OWN_INITIATIVE = "own_initiative"


class Delivery(enum.Enum):
    """Who drafts an agreement, as its kommissorium decides (seed 002, step 1)."""

    WORKING_GROUP = "working_group"
    CLUSTER = "cluster"


_origin_from = _enum(Origin)
_delivery_from = _enum(Delivery)
_focus_areas_from = _ids("focus_areas")
_members_from = _ids("members")
_parties_from = _ids("parties")
_spread_to_from = _ids("spread_to")


def _to_origin(value: Origin | str) -> Origin:
    return _origin_from(value)


def _to_delivery(value: Delivery | str) -> Delivery:
    return _delivery_from(value)


def _to_focus_areas(value: Iterable[str]) -> tuple[str, ...]:
    return _focus_areas_from(value)


def _to_members(value: Iterable[str]) -> tuple[str, ...]:
    return _members_from(value)


def _to_parties(value: Iterable[str]) -> tuple[str, ...]:
    return _parties_from(value)


def _to_spread_to(value: Iterable[str]) -> tuple[str, ...]:
    return _spread_to_from(value)


FACT_TYPES: dict[str, type[Fact]] = {}
"""Every fact class by its stable type name."""

F = TypeVar("F", bound="Fact")


def fact_type(name: str, *, version: int = 1) -> Callable[[type[F]], type[F]]:
    """Register a fact class under its stable type name (and schema version)."""

    def register(cls: type[F]) -> type[F]:
        if name in FACT_TYPES:
            raise RuntimeError(f"fact type {name!r} is registered twice")
        cls.TYPE = name
        cls.VERSION = version
        FACT_TYPES[name] = cls
        _name_the_subject(cls)
        return cls

    return register


def _name_the_subject(cls: type[Fact]) -> None:
    """Make a shape error raised while building a fact name the fact's subject and type."""
    built = cls.__init__

    @functools.wraps(built)
    def init(self: Fact, **kwargs: Any) -> None:
        try:
            built(self, **kwargs)
        except RuleViolation as exc:
            subject = kwargs.get("subject")
            if exc.subject is None and isinstance(subject, str) and subject.strip():
                raise exc.for_fact(subject=subject, fact_type=cls.TYPE) from None
            raise

    setattr(cls, "__init__", init)  # noqa: B010 - replacing attrs' __init__ on purpose


@attrs.frozen(kw_only=True)
class Fact:
    """What every fact has. Subclasses are the public vocabulary."""

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    UPCASTERS: ClassVar[Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
    """``{n: f}``: ``f`` turns the stored state of version ``n`` into version ``n + 1``."""
    INITIATES: ClassVar[str | None] = None
    """For a fact that starts a subject: the kind of subject it starts."""
    PROCESS_STEP: ClassVar[bool] = True
    """False for facts about the record itself (corrections), which no process rule orders."""

    subject: str = attrs.field(validator=_key)
    """The key of the agreement, task, generation or kommissorium (chosen by the user)."""
    on: Period = attrs.field(converter=_period)
    """When it happened in the world: a day, a month, a year or an interval."""
    by: str = attrs.field(validator=_key)
    """Who decided or acted: an id from the registry."""
    ref: str | None = attrs.field(default=None, validator=_opt_text)
    """An outside reference: journal number, minutes item."""
    note: str | None = attrs.field(default=None, validator=_opt_text)
    """Free text."""


# -- Process 1: joint cooperation agreement (samarbejdsaftale) ----------------


@fact_type("AgreementInitiated")
@attrs.frozen(kw_only=True)
class AgreementInitiated(Fact):
    """Step 0: SSG or SKU starts a joint cooperation agreement."""

    INITIATES: ClassVar[str | None] = "agreement"

    title: str = attrs.field(validator=_text)
    origin: Origin = attrs.field(converter=_to_origin)
    focus_areas: tuple[str, ...] = attrs.field(default=(), converter=_to_focus_areas)


@fact_type("KommissoriumApproved")
@attrs.frozen(kw_only=True)
class KommissoriumApproved(Fact):
    """Step 1: SSG approves the terms of reference and decides who delivers."""

    delivery: Delivery = attrs.field(converter=_to_delivery)
    general_practice_tasks: bool = attrs.field(default=False, validator=_bool)
    changes_task_allocation: bool = attrs.field(default=False, validator=_bool)
    kommissorium: str | None = attrs.field(default=None, validator=attrs.validators.optional(_key))
    """The subject key of the kommissorium document, when it is recorded too."""


@fact_type("ClusterOffered")
@attrs.frozen(kw_only=True)
class ClusterOffered(Fact):
    """Step 1: a cluster (``by``) offers to take a cluster-delivered task."""


@fact_type("ClusterAssigned")
@attrs.frozen(kw_only=True)
class ClusterAssigned(Fact):
    """Step 1-2: SSG assigns the task to a cluster."""

    cluster: str = attrs.field(validator=_key)


@fact_type("WorkingGroupEstablished")
@attrs.frozen(kw_only=True)
class WorkingGroupEstablished(Fact):
    """Step 2: SAS establishes a temporary working group and names its members."""

    group: str = attrs.field(validator=_key)
    members: tuple[str, ...] = attrs.field(converter=_to_members, validator=_nonempty)


@fact_type("DraftSubmitted")
@attrs.frozen(kw_only=True)
class DraftSubmitted(Fact):
    """Step 3: the working group or assigned cluster delivers a draft."""

    triple_aim: bool = attrs.field(default=False, validator=_bool)
    """Whether the draft describes evaluation and follow-up via Triple Aim (a *should*)."""


@fact_type("DraftCoordinated")
@attrs.frozen(kw_only=True)
class DraftCoordinated(Fact):
    """Step 4: the draft is discussed and adjusted with SAS and the SSG chair."""


@fact_type("DraftSentForComments")
@attrs.frozen(kw_only=True)
class DraftSentForComments(Fact):
    """Step 5: SAS sends the draft to parties for comments, with a deadline."""

    parties: tuple[str, ...] = attrs.field(converter=_to_parties, validator=_nonempty)
    deadline: Period = attrs.field(converter=_period)


@fact_type("CommentReceived")
@attrs.frozen(kw_only=True)
class CommentReceived(Fact):
    """Step 5: a party (``by``) comments while the round is open."""


@fact_type("DraftRevised")
@attrs.frozen(kw_only=True)
class DraftRevised(Fact):
    """Step 6: the drafters revise after the comments (or after a return)."""


@fact_type("SubmittedForApproval")
@attrs.frozen(kw_only=True)
class SubmittedForApproval(Fact):
    """Step 7: the revised draft goes, via SAS, to SSG for approval."""


@fact_type("ApprovedBySSG")
@attrs.frozen(kw_only=True)
class ApprovedBySSG(Fact):
    """Step 8: SSG approves (for a development task: with the clusters it spreads to)."""

    evaluate_after_months: int | None = attrs.field(default=None, validator=_opt_months)
    spread_to: tuple[str, ...] = attrs.field(default=(), converter=_to_spread_to)


@fact_type("ReturnedBySSG")
@attrs.frozen(kw_only=True)
class ReturnedBySSG(Fact):
    """Step 8: SSG sends the draft back for revision (step 6)."""

    reason: str = attrs.field(validator=_text)


@fact_type("ApprovedBySKU")
@attrs.frozen(kw_only=True)
class ApprovedBySKU(Fact):
    """Step 9: SKU approves, after SSG."""


@fact_type("ReturnedBySKU")
@attrs.frozen(kw_only=True)
class ReturnedBySKU(Fact):
    """Step 9: SKU sends the agreement back for revision (step 6)."""

    reason: str = attrs.field(validator=_text)


@fact_type("ApprovedByCouncil")
@attrs.frozen(kw_only=True)
class ApprovedByCouncil(Fact):
    """Step 9: a council (``by``) approves for its own party, after SKU."""


@fact_type("RejectedByCouncil")
@attrs.frozen(kw_only=True)
class RejectedByCouncil(Fact):
    """Step 9: a council (``by``) rejects for its own party."""

    reason: str = attrs.field(validator=_text)


@fact_type("PracticeTasksAgreed")
@attrs.frozen(kw_only=True)
class PracticeTasksAgreed(Fact):
    """PPU agrees the tasks general practice takes on (before implementation)."""


@fact_type("EconomicConsequencesClarified")
@attrs.frozen(kw_only=True)
class EconomicConsequencesClarified(Fact):
    """SAS records that the economic consequences of a changed task allocation are clear."""


@fact_type("ImplementationStarted")
@attrs.frozen(kw_only=True)
class ImplementationStarted(Fact):
    """Step 10: a cluster (``by``) starts implementing."""


@fact_type("Implemented")
@attrs.frozen(kw_only=True)
class Implemented(Fact):
    """Step 10: a cluster (``by``) has implemented."""


@fact_type("EvaluationScheduled")
@attrs.frozen(kw_only=True)
class EvaluationScheduled(Fact):
    """Step 11: an evaluation is scheduled, due on a date."""

    due: Period = attrs.field(converter=_period)


@fact_type("Evaluated")
@attrs.frozen(kw_only=True)
class Evaluated(Fact):
    """Step 11: the agreement and its results were evaluated."""

    findings: str = attrs.field(validator=_text)


@fact_type("AgreementWithdrawn")
@attrs.frozen(kw_only=True)
class AgreementWithdrawn(Fact):
    """SSG or SKU withdraws the agreement; nothing follows."""

    reason: str = attrs.field(validator=_text)


# -- Process 2: development task (udviklingsopgave) ----------------------------


class CoordinationMode(enum.Enum):
    """How several accepting clusters work on a development task (seed 002, step 4)."""

    JOINT = "joint"
    ALTERNATIVES = "alternatives"


def _to_mode(value: CoordinationMode | str) -> CoordinationMode:
    return _mode_from(value)


def _to_clusters(value: Iterable[str]) -> tuple[str, ...]:
    return _clusters_from(value)


_mode_from = _enum(CoordinationMode)
_clusters_from = _ids("clusters")


@fact_type("DevelopmentTaskInitiated")
@attrs.frozen(kw_only=True)
class DevelopmentTaskInitiated(Fact):
    """Step 1a: SSG starts a development task and asks clusters; or 1b: a cluster
    (``by``) starts one on its own initiative (then ``clusters`` is empty)."""

    INITIATES: ClassVar[str | None] = "task"

    title: str = attrs.field(validator=_text)
    focus_areas: tuple[str, ...] = attrs.field(default=(), converter=_to_focus_areas)
    clusters: tuple[str, ...] = attrs.field(default=(), converter=_to_clusters)
    """The clusters SSG asks (route 1a)."""


@fact_type("AssignmentBriefSet")
@attrs.frozen(kw_only=True)
class AssignmentBriefSet(Fact):
    """Steps 2-3: SSG sets the assignment brief (opdragspapir)."""

    topic: str = attrs.field(validator=_text)
    timeframe: Period = attrs.field(converter=_period)
    triple_aim: bool = attrs.field(default=False, validator=_bool)
    """Whether the brief asks for attention to Triple Aim (a *should*)."""
    spread: str = attrs.field(validator=_text)
    """What the brief says about spreading the solution."""


@fact_type("TaskOfferedToClusters")
@attrs.frozen(kw_only=True)
class TaskOfferedToClusters(Fact):
    """Step 4: SSG sends the brief to clusters."""

    clusters: tuple[str, ...] = attrs.field(converter=_to_clusters, validator=_nonempty)


@fact_type("ClusterResponded")
@attrs.frozen(kw_only=True)
class ClusterResponded(Fact):
    """Step 4: an asked cluster (``by``) accepts or declines the task."""

    accepts: bool = attrs.field(validator=_bool)


@fact_type("ClustersCoordinated")
@attrs.frozen(kw_only=True)
class ClustersCoordinated(Fact):
    """Step 4: SAS records how several accepting clusters work: jointly or as alternatives."""

    mode: CoordinationMode = attrs.field(converter=_to_mode)


@fact_type("SolutionTested")
@attrs.frozen(kw_only=True)
class SolutionTested(Fact):
    """Step 5: a developing cluster (``by``) has developed and tested its solution."""


@fact_type("ResultsReported")
@attrs.frozen(kw_only=True)
class ResultsReported(Fact):
    """Step 1b: a cluster reports good results of its own task to SAS, for possible spread."""


@fact_type("SolutionTakenUpForSpread")
@attrs.frozen(kw_only=True)
class SolutionTakenUpForSpread(Fact):
    """Step 1b: SSG takes a cluster's reported solution up for spread (steps 6-12 follow)."""


@fact_type("SolutionCoreDelivered")
@attrs.frozen(kw_only=True)
class SolutionCoreDelivered(Fact):
    """Step 6: the cluster (``by``) delivers the core (kernen) of its solution, per the
    spread model."""


@fact_type("ProposalSentForComments")
@attrs.frozen(kw_only=True)
class ProposalSentForComments(Fact):
    """Step 7: SAS sends the proposal to parties for comments (as a rule), with a deadline."""

    parties: tuple[str, ...] = attrs.field(converter=_to_parties, validator=_nonempty)
    deadline: Period = attrs.field(converter=_period)


@fact_type("ProposalRevised")
@attrs.frozen(kw_only=True)
class ProposalRevised(Fact):
    """Step 8: the developing cluster (``by``) revises the proposal."""


@fact_type("DevelopmentTaskWithdrawn")
@attrs.frozen(kw_only=True)
class DevelopmentTaskWithdrawn(Fact):
    """SSG or SKU stops a development task; nothing follows."""

    reason: str = attrs.field(validator=_text)


# -- the record itself ---------------------------------------------------------


@fact_type("FactCorrected")
@attrs.frozen(kw_only=True)
class FactCorrected(Fact):
    """A mistaken record is corrected; the mistaken fact stays visible.

    ``corrects`` is the position (1-based) of the mistaken fact in its subject's
    history.  With a ``replacement`` the corrected fact stands in its place;
    without one, the mistaken fact is retracted (it should never have been
    recorded).  The history that remains must still obey every rule.
    """

    PROCESS_STEP: ClassVar[bool] = False

    corrects: int = attrs.field(validator=_positive)
    reason: str = attrs.field(validator=_text)
    replacement: Fact | None = attrs.field(default=None)

    @replacement.validator
    def _check_replacement(self, _: attrs.Attribute[Any], value: Fact | None) -> None:
        if value is None:
            return
        if not isinstance(value, Fact) or isinstance(value, FactCorrected):
            raise _bad("replacement", "must be a fact (not a correction)")
        if value.subject != self.subject:
            raise _bad("replacement", f"must have the same subject {self.subject!r}")


# -- the envelope the store keeps -----------------------------------------------

_NAMESPACE = uuid.UUID("6d1c3b52-7f0e-5a49-9d0b-5a1f7e2c9b10")


def subject_id(subject: str) -> uuid.UUID:
    """The stored id of a subject: the same key always gives the same id."""
    return uuid.uuid5(_NAMESPACE, subject)


@attrs.frozen(kw_only=True)
class Recorded:
    """A fact as the store keeps it: who recorded it, when, and where in its subject.

    This is the domain event of the ``eventsourcing`` library: ``originator_id``
    is the subject's id, ``originator_version`` the fact's position in its
    subject (from 1), ``timestamp`` the recording time (UTC).
    """

    originator_id: uuid.UUID
    originator_version: int
    timestamp: dt.datetime
    recorded_by: str
    fact: Fact

    @property
    def position(self) -> int:
        """The fact's 1-based position in its subject's history."""
        return self.originator_version
