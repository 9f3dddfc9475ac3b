"""A small model of Process 1 (the joint cooperation agreement) for the stateful test.

The model re-states the Process 1 table of ``DOMAIN.md`` and the refusal codes of
``HISTORY_FORMAT.md`` in the plainest Python we could write.  It imports nothing
from ``saftale_core.agreement`` or ``saftale_core.process``: its purpose is to
catch mistakes in the real step table, so the two must not share a line.  What
it takes from the library is only

* the fact classes (the public vocabulary it is fed);
* the registry's cluster memberships (``Registry.councils_for``), which are
  reference data, not logic.

Every id the test draws is listed below with its kind, so the model knows
which ids exist without asking the registry.  Dates are parsed here too (the
test only writes days ``YYYY-MM-DD`` and months ``YYYY-MM``).

**What the model predicts.**  :func:`decide` returns the *set* of outcomes it
accepts: ``{"accepted"}`` or ``{"<refusal code>"}`` where DOMAIN.md decides the
case, and two outcomes where it leaves the question open (each such place says
why).  Where DOMAIN.md is silent but the library made a clear, documented
choice, the model pins that choice (marked *pinned*), so that a change is seen.

**Order of checks.**  HISTORY_FORMAT.md gives codes, not their precedence; the
model follows the order documented in ``saftale_core/process.py``:

0. ``duplicate-subject`` (an initiating fact for a subject that exists) and
   ``unknown-subject`` (any other fact for a subject that does not);
1. ``closed``, then ``date-in-future``;
2. ``unknown-body`` (``by`` and every id the fact names), then
   ``not-authorised`` (``by`` may never take this step, whatever the order);
3. ``wrong-delivery``, then ``out-of-order`` (the step may not follow the
   current status);
4. the step's own rules: ``not-offered``, ``council-twice``,
   ``implementation-before-approval``, ``practice-tasks-not-agreed``,
   ``economy-not-clarified``, ``evaluation-before-implementation``, and the
   authority that depends on the state (only the assigned cluster or working
   group drafts; only a party the draft was sent to comments) as
   ``not-authorised``;
5. ``date-before-previous``: a step may not lie certainly before the step it
   follows (see :func:`_follows`): by default the fact that led to the current
   status; an implementation, the approvals of the regional council and of its
   own cluster's municipal councils (and PPU's agreement when general practice
   has tasks); an evaluation, the first implementation; a withdrawal, every fact
   in force ("nothing follows it").

Where two codes of step 4 apply at once (a cluster lacks approvals *and* PPU has
not agreed), DOMAIN.md does not say which wins, and either is accepted.

Corrections (``FactCorrected``) are record keeping, not a process step: any
known body may record one, also after a withdrawal (*pinned*: a mistaken
withdrawal can only be undone by a correction), and it is accepted exactly when
the history in force after it obeys every rule (else ``correction-invalid``).
Before that: ``date-in-future``, ``unknown-body`` (the correction's ``by``),
``bad-record`` (no such fact, or the fact is itself a correction), and
``correction-invalid`` for retracting the initiating fact or swapping fact types
across it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from saftale_core import facts as f
from saftale_core.facts import Fact, FactCorrected
from saftale_core.registry import Registry

__all__ = [
    "ACCEPTED",
    "ALIASES",
    "CLUSTERS",
    "COUNCILS_FOR",
    "KINDS",
    "Span",
    "State",
    "canonical",
    "decide",
    "decide_in_force",
    "effective",
    "fold",
    "replay",
    "span",
]

ACCEPTED = "accepted"
Outcomes = frozenset[str]

# -- who is who (DOMAIN.md, "Who is who") ---------------------------------------------

SSG, SKU, SAS, PPU = "SSG", "SKU", "SAS", "PPU"
REGIONAL_COUNCIL = "regionsraad"

COMMITTEE, SECRETARIAT, ORGANISATION, AUTHORITY = "committee", "secretariat", "org", "authority"
REGIONAL, MUNICIPAL, CLUSTER, WORKING_GROUP = "regional", "municipal", "cluster", "working_group"

MUNICIPALITIES = (
    "favrskov hedensted herning holstebro horsens ikast-brande lemvig norddjurs odder randers "
    "ringkobing-skjern samso silkeborg skanderborg skive struer syddjurs viborg aarhus"
).split()
CLUSTERS = ("klynge:horsens", "klynge:midt", "klynge:randers", "klynge:vest", "klynge:aarhus")

KINDS: Mapping[str, str] = {
    SSG: COMMITTEE,
    SKU: COMMITTEE,
    PPU: COMMITTEE,
    "PIU": COMMITTEE,
    SAS: SECRETARIAT,
    "PLO": ORGANISATION,
    "sundhedsstyrelsen": AUTHORITY,
    REGIONAL_COUNCIL: REGIONAL,
    **{f"byraad:{m}": MUNICIPAL for m in MUNICIPALITIES},
    **dict.fromkeys(CLUSTERS, CLUSTER),
}
"""Every listed id and its kind (working groups are created by the process, not listed)."""

ALIASES: Mapping[str, str] = {
    "Regionsrådet": REGIONAL_COUNCIL,
    "byråd:Århus": "byraad:aarhus",
    "byraad:Samsø": "byraad:samso",
    "Gødstrupklyngen": "klynge:vest",
    "Fællessekretariatet": SAS,
    "Sundhedsstyregruppen": SSG,
    "arbejdsgruppe:Rygning": "arbejdsgruppe:rygning",
}
"""The Danish spellings and aliases the test uses, and the id each stands for."""

FOCUS_AREAS: Mapping[str, str] = {"forebyggelse": "forebyggelse", "ældre": "aeldre"}

_WORKING_GROUP = re.compile(r"arbejdsgruppe:[a-z0-9][a-z0-9._-]*")

COUNCILS_FOR: Mapping[str, tuple[str, ...]] = {
    c: Registry.default().councils_for(c) for c in CLUSTERS
}
"""The councils that must approve before a cluster implements (reference data)."""


def canonical(ident: str) -> str | None:
    """The canonical id for ``ident``, or ``None`` when no body has it."""
    ident = ALIASES.get(ident, ident)
    if ident in KINDS or _WORKING_GROUP.fullmatch(ident):
        return ident
    return None


def kind_of(ident: str) -> str:
    return KINDS.get(ident, WORKING_GROUP)


# -- dates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The first and last day a written date may mean."""

    first: dt.date
    last: dt.date

    def certainly_before(self, other: Span) -> bool:
        return self.last < other.first


def span(text: str) -> Span:
    """``YYYY-MM-DD`` or ``YYYY-MM`` as the days it may mean."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        day = dt.date(*parts)
        return Span(day, day)
    year, month = parts
    return Span(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))


def on(fact: Fact) -> Span:
    return span(fact.on.text)


# -- the process as a table (DOMAIN.md, "Process 1") ------------------------------------

INITIATED, COMMISSIONED, ASSIGNED = "initiated", "commissioned", "assigned"
DRAFTED, COORDINATED, IN_COMMENTS = "drafted", "coordinated", "in_comments"
REVISED, SUBMITTED, RETURNED = "revised", "submitted", "returned"
SSG_APPROVED, APPROVED, WITHDRAWN = "ssg_approved", "approved", "withdrawn"

_BEFORE_SSG_APPROVAL = frozenset(
    {COMMISSIONED, ASSIGNED, DRAFTED, COORDINATED, IN_COMMENTS, REVISED, SUBMITTED, RETURNED}
)

AFTER: Mapping[str, frozenset[str] | None] = {
    "KommissoriumApproved": frozenset({INITIATED}),
    "ClusterOffered": frozenset({COMMISSIONED}),  # "before assignment"
    "ClusterAssigned": frozenset({COMMISSIONED}),
    "WorkingGroupEstablished": frozenset({COMMISSIONED}),
    "DraftSubmitted": frozenset({ASSIGNED}),
    "DraftCoordinated": frozenset({DRAFTED}),
    "DraftSentForComments": frozenset({COORDINATED}),
    "CommentReceived": frozenset({IN_COMMENTS}),  # "while the round is open"
    "DraftRevised": frozenset({IN_COMMENTS, RETURNED}),  # "returned goes back to step 6"
    "SubmittedForApproval": frozenset({REVISED}),
    "ApprovedBySSG": frozenset({SUBMITTED}),
    "ReturnedBySSG": frozenset({SUBMITTED}),
    "ApprovedBySKU": frozenset({SSG_APPROVED}),
    "ReturnedBySKU": frozenset({SSG_APPROVED}),
    "ApprovedByCouncil": frozenset({APPROVED}),  # "after SKU approval"
    "RejectedByCouncil": frozenset({APPROVED}),
    # Pinned: PPU agrees once the kommissorium has said whether general practice
    # gets tasks, up to and after approval (implementation needs it).
    "PracticeTasksAgreed": _BEFORE_SSG_APPROVAL | {SSG_APPROVED, APPROVED},
    # "required before SSG approval"; pinned: not before the kommissorium, and
    # refused as out-of-order once SSG has approved (until a return).
    "EconomicConsequencesClarified": _BEFORE_SSG_APPROVAL,
    # Implementation's prerequisite is the councils' approval, which has its own
    # code; being implemented needs a start (out-of-order, below).
    "ImplementationStarted": None,
    "Implemented": None,
    "EvaluationScheduled": frozenset({SSG_APPROVED, APPROVED}),  # "fixed at approval"
    "Evaluated": None,  # its prerequisite has its own code: evaluation-before-implementation
    "AgreementWithdrawn": None,
}
"""The statuses each step may follow (``None``: any open status)."""

LEADS_TO: Mapping[str, str] = {
    "AgreementInitiated": INITIATED,
    "KommissoriumApproved": COMMISSIONED,
    "ClusterAssigned": ASSIGNED,
    "WorkingGroupEstablished": ASSIGNED,
    "DraftSubmitted": DRAFTED,
    "DraftCoordinated": COORDINATED,
    "DraftSentForComments": IN_COMMENTS,
    "DraftRevised": REVISED,
    "SubmittedForApproval": SUBMITTED,
    "ApprovedBySSG": SSG_APPROVED,
    "ReturnedBySSG": RETURNED,
    "ApprovedBySKU": APPROVED,
    "ReturnedBySKU": RETURNED,
    "AgreementWithdrawn": WITHDRAWN,
}
"""The status a step leads to; the other steps leave the status as it is."""

DELIVERY: Mapping[str, str] = {
    "ClusterOffered": "cluster",
    "ClusterAssigned": "cluster",
    "WorkingGroupEstablished": "working_group",
}
"""The steps that belong to one delivery form (``wrong-delivery`` for the other)."""

STEPS = tuple(AFTER)
"""Every fact type of Process 1 but the initiating one."""

COUNCIL_STEPS = ("ApprovedByCouncil", "RejectedByCouncil")


def may_take(fact_type: str, by: str) -> bool:
    """Whether ``by`` (canonical) may ever take the step: DOMAIN.md's "by" column."""
    kind = kind_of(by)
    match fact_type:
        case "AgreementInitiated" | "AgreementWithdrawn":
            return by in (SSG, SKU)
        case "KommissoriumApproved" | "ClusterAssigned" | "ApprovedBySSG" | "ReturnedBySSG":
            return by == SSG
        case "ApprovedBySKU" | "ReturnedBySKU":
            return by == SKU
        case (
            "WorkingGroupEstablished"
            | "DraftCoordinated"
            | "DraftSentForComments"
            | "EconomicConsequencesClarified"
        ):
            return by == SAS
        case "PracticeTasksAgreed":
            return by == PPU
        case "ClusterOffered" | "ImplementationStarted" | "Implemented":
            return kind == CLUSTER
        case "DraftSubmitted" | "DraftRevised":
            return kind in (CLUSTER, WORKING_GROUP)
        case "SubmittedForApproval":  # "the drafting group/cluster, via SAS"
            return by == SAS or kind in (CLUSTER, WORKING_GROUP)
        case "CommentReceived":  # "a party": which parties is a matter of the state
            return True
        case "ApprovedByCouncil" | "RejectedByCouncil":
            return kind in (REGIONAL, MUNICIPAL)
        case "EvaluationScheduled" | "Evaluated":
            return by in (SSG, SAS)
    raise AssertionError(f"not a Process 1 step: {fact_type}")


# -- state: what the facts in force add up to ------------------------------------------


@dataclass
class State:
    """One agreement, as the model sees it (ids canonical)."""

    status: str
    status_on: Span
    """The date of the fact that led to the status."""
    dates: list[Span] = field(default_factory=list)
    """The date of every fact in force."""
    delivery: str | None = None
    kommissorium_on: Span | None = None
    general_practice_tasks: bool = False
    changes_task_allocation: bool = False
    offers: dict[str, Span] = field(default_factory=dict)
    drafter: str | None = None
    parties: frozenset[str] = frozenset()
    comments: list[Span] = field(default_factory=list)
    economy_on: Span | None = None
    practice_on: Span | None = None
    councils: dict[str, tuple[bool, Span]] = field(default_factory=dict)
    """Each council's decision (approved?, when), in the order they decided."""
    started: dict[str, Span] = field(default_factory=dict)
    implemented: dict[str, Span] = field(default_factory=dict)
    evaluations: int = 0
    """How many evaluations are recorded (no rule counts them; the test's generator does)."""

    @property
    def councils_approved(self) -> tuple[str, ...]:
        return tuple(c for c, (yes, _) in self.councils.items() if yes)

    @property
    def councils_rejected(self) -> tuple[str, ...]:
        return tuple(c for c, (yes, _) in self.councils.items() if not yes)

    @property
    def clusters_implementing(self) -> tuple[str, ...]:
        return tuple(c for c in self.started if c not in self.implemented)

    @property
    def clusters_implemented(self) -> tuple[str, ...]:
        return tuple(self.implemented)

    def approved_by(self, council: str) -> Span | None:
        decision = self.councils.get(council)
        return decision[1] if decision is not None and decision[0] else None


def _c(ident: str) -> str:
    out = canonical(ident)
    assert out is not None, ident
    return out


def evolve(state: State | None, fact: Fact) -> State:
    """Apply one more (accepted) fact, in place; the first fact starts the agreement."""
    when = on(fact)
    if state is None:
        return State(status=INITIATED, status_on=when, dates=[when])
    state.dates.append(when)
    t, by = fact.TYPE, _c(fact.by)
    if t in LEADS_TO:
        state.status, state.status_on = LEADS_TO[t], when
    match fact:
        case f.KommissoriumApproved():
            state.delivery = fact.delivery.value
            state.general_practice_tasks = fact.general_practice_tasks
            state.changes_task_allocation = fact.changes_task_allocation
            state.kommissorium_on = when
        case f.ClusterOffered():
            state.offers.setdefault(by, when)
        case f.ClusterAssigned():
            state.drafter = _c(fact.cluster)
        case f.WorkingGroupEstablished():
            state.drafter = _c(fact.group)
        case f.DraftSentForComments():
            state.parties = frozenset(_c(p) for p in fact.parties)
            state.comments = []
        case f.CommentReceived():
            state.comments.append(when)
        case f.ApprovedByCouncil() | f.RejectedByCouncil():
            state.councils[by] = (t == "ApprovedByCouncil", when)
        case f.PracticeTasksAgreed():
            state.practice_on = when
        case f.EconomicConsequencesClarified():
            state.economy_on = when
        case f.ImplementationStarted():
            state.started[by] = when
        case f.Implemented():
            state.implemented[by] = when
        case f.Evaluated():
            state.evaluations += 1
        case _:
            pass
    return state


def fold(facts: Sequence[Fact]) -> State | None:
    state: State | None = None
    for fact in facts:
        state = evolve(state, fact)
    return state


def effective(records: Sequence[Fact]) -> list[Fact]:
    """The facts in force: each corrected fact replaced by its latest correction's
    replacement, or dropped when that correction retracts it."""
    latest: dict[int, FactCorrected] = {}
    for record in records:
        if isinstance(record, FactCorrected):
            latest[record.corrects] = record
    out: list[Fact] = []
    for position, record in enumerate(records, start=1):
        if isinstance(record, FactCorrected):
            continue
        correction = latest.get(position)
        if correction is None:
            out.append(record)
        elif correction.replacement is not None:
            out.append(correction.replacement)
    return out


# -- decide: what should happen to one more fact ----------------------------------------


def _one(code: str) -> Outcomes:
    return frozenset({code})


def _ids(fact: Fact) -> list[tuple[str, str | None]]:
    """Every id the fact names, with the kind it must have (``None``: any)."""
    out: list[tuple[str, str | None]] = [(fact.by, None)]
    match fact:
        case f.ClusterAssigned():
            out.append((fact.cluster, CLUSTER))
        case f.WorkingGroupEstablished():
            out.append((fact.group, WORKING_GROUP))
            out += [(m, None) for m in fact.members]
        case f.DraftSentForComments():
            out += [(p, None) for p in fact.parties]
        case _:
            pass
    return out


def _unknown(fact: Fact) -> bool:
    for ident, kind in _ids(fact):
        known = canonical(ident)
        if known is None or (kind is not None and kind_of(known) != kind):
            return True
    return False


def _decide_start(fact: Fact, today: dt.date) -> Outcomes:
    if on(fact).first > today:
        return _one("date-in-future")
    by = canonical(fact.by)
    assert isinstance(fact, f.AgreementInitiated)
    bad_focus = any(a not in FOCUS_AREAS for a in fact.focus_areas)
    if by is None and bad_focus:
        return frozenset({"unknown-body", "bad-record"})  # DOMAIN gives no order between them
    if by is None:
        return _one("unknown-body")
    if bad_focus:
        return _one("bad-record")
    if not may_take(fact.TYPE, by):
        return _one("not-authorised")
    return _one(ACCEPTED)


def _guard(state: State, fact: Fact, by: str) -> Outcomes | None:
    """The step's own rules (step 4 of the order); ``None`` when none refuses."""
    t = fact.TYPE
    if t == "ClusterOffered" and by in state.offers:
        return _one("out-of-order")  # pinned: a cluster offers once
    if (
        isinstance(fact, f.ClusterAssigned)
        and state.offers
        and _c(fact.cluster) not in state.offers
    ):
        return _one("not-offered")  # "if clusters offered, one of them"
    if t in ("DraftSubmitted", "DraftRevised") and by != state.drafter:
        return _one("not-authorised")  # "only the assigned cluster or working group drafts"
    if t == "SubmittedForApproval" and by not in (state.drafter, SAS):
        return _one("not-authorised")
    if t == "CommentReceived" and by not in state.parties:
        return _one("not-authorised")  # "a party" the draft was sent to
    if t == "ApprovedBySSG" and state.changes_task_allocation and state.economy_on is None:
        return _one("economy-not-clarified")
    if t in COUNCIL_STEPS and by in state.councils:
        return _one("council-twice")
    if t == "PracticeTasksAgreed" and state.practice_on is not None:
        return _one("out-of-order")  # pinned: recorded once
    if t == "EconomicConsequencesClarified" and state.economy_on is not None:
        return _one("out-of-order")  # pinned: recorded once
    if t == "ImplementationStarted":
        if by in state.started:
            return _one("out-of-order")  # pinned: a cluster starts once
        codes = set()
        if any(state.approved_by(c) is None for c in COUNCILS_FOR[by]):
            codes.add("implementation-before-approval")
        if state.general_practice_tasks and state.practice_on is None:
            codes.add("practice-tasks-not-agreed")
        if codes:  # both can apply; DOMAIN gives no order between them
            return frozenset(codes)
    if t == "Implemented" and (by not in state.started or by in state.implemented):
        return _one("out-of-order")  # implemented once, after starting
    if t == "Evaluated" and not state.implemented:
        return _one("evaluation-before-implementation")
    return None


def _follows(state: State, fact: Fact, by: str) -> tuple[list[Span], list[Span]]:
    """The dates this step must not be certainly before, and those it arguably
    should not be before (where DOMAIN.md leaves it open)."""
    t = fact.TYPE
    must: list[Span] = [state.status_on]
    maybe: list[Span] = []
    match t:
        case "ClusterOffered" | "PracticeTasksAgreed" | "EconomicConsequencesClarified":
            assert state.kommissorium_on is not None
            must = [state.kommissorium_on]
        case "ClusterAssigned":
            assert isinstance(fact, f.ClusterAssigned)
            cluster = _c(fact.cluster)
            if cluster in state.offers:
                must.append(state.offers[cluster])
            # Open: does an assignment follow the offers of the clusters not chosen?
            maybe = list(state.offers.values())
        case "DraftRevised":
            maybe = list(state.comments)  # open: is the round over before a later comment?
        case "ApprovedBySSG":
            if state.economy_on is not None:
                must.append(state.economy_on)
        case "ImplementationStarted":
            # After the regional council and every council of *this* cluster approved.
            must = [d for c in COUNCILS_FOR[by] if (d := state.approved_by(c)) is not None]
            if state.practice_on is not None:
                if state.general_practice_tasks:
                    must.append(state.practice_on)
                else:  # open: does it follow a PPU agreement it did not need?
                    maybe.append(state.practice_on)
        case "Implemented":
            must = [state.started[by]]
        case "Evaluated":
            must = [min(state.implemented.values(), key=lambda s: s.first)]
        case "AgreementWithdrawn":
            must = list(state.dates)  # "nothing follows it"
        case _:
            pass
    return must, maybe


def _decide_step(state: State, fact: Fact, today: dt.date) -> Outcomes:
    t = fact.TYPE
    if state.status == WITHDRAWN:
        return _one("closed")
    if on(fact).first > today:
        return _one("date-in-future")
    if _unknown(fact):
        return _one("unknown-body")
    by = _c(fact.by)
    if not may_take(t, by):
        return _one("not-authorised")
    if t in DELIVERY and state.delivery is not None and state.delivery != DELIVERY[t]:
        return _one("wrong-delivery")
    after = AFTER[t]
    if after is not None and state.status not in after:
        return _one("out-of-order")
    refused = _guard(state, fact, by)
    if refused is not None:
        return refused
    must, maybe = _follows(state, fact, by)
    when = on(fact)
    if any(when.certainly_before(d) for d in must):
        return _one("date-before-previous")
    if any(when.certainly_before(d) for d in maybe):
        return frozenset({ACCEPTED, "date-before-previous"})
    return _one(ACCEPTED)


def replay(facts: Sequence[Fact], today: dt.date) -> list[tuple[int, Fact, Outcomes]]:
    """Each fact of a history in force that the rules would not surely accept, with
    its place (1-based, among the facts in force) and what the model says of it."""
    out = []
    state: State | None = None
    for number, fact in enumerate(facts, start=1):
        got = _decide_start(fact, today) if state is None else _decide_step(state, fact, today)
        if got != {ACCEPTED}:
            out.append((number, fact, got))
            if ACCEPTED not in got:
                break
        state = evolve(state, fact)
    return out


def _replay(facts: Sequence[Fact], today: dt.date) -> Outcomes:
    """Whether a whole history in force obeys the rules: accepted, or correction-invalid."""
    found = replay(facts, today)
    if not found:
        return _one(ACCEPTED)
    if any(ACCEPTED not in got for _, _, got in found):
        return _one("correction-invalid")
    return frozenset({ACCEPTED, "correction-invalid"})


def _decide_correction(records: Sequence[Fact], fact: FactCorrected, today: dt.date) -> Outcomes:
    if on(fact).first > today:
        return _one("date-in-future")
    if canonical(fact.by) is None:
        return _one("unknown-body")
    if fact.corrects > len(records):
        return _one("bad-record")
    target = records[fact.corrects - 1]
    if isinstance(target, FactCorrected):
        return _one("bad-record")  # correct the original fact instead
    replacement = fact.replacement
    if target.INITIATES and (replacement is None or type(replacement) is not type(target)):
        return _one("correction-invalid")  # the initiating fact stays, as the same type
    if replacement is not None and replacement.INITIATES and not target.INITIATES:
        return _one("correction-invalid")
    if replacement is not None and on(replacement).first > today:
        return _one("date-in-future")
    return _replay(effective([*records, fact]), today)


def decide_in_force(facts: Sequence[Fact], fact: Fact, today: dt.date) -> Outcomes:
    """The outcomes for one more process step after these facts in force."""
    state = fold(facts)
    assert state is not None
    return _decide_step(state, fact, today)


def decide(records: Sequence[Fact], fact: Fact, today: dt.date) -> Outcomes:
    """The outcomes the model accepts for recording ``fact`` on a subject whose
    accepted records so far are ``records`` (empty: never initiated), on ``today``."""
    if fact.INITIATES:
        return _one("duplicate-subject") if records else _decide_start(fact, today)
    if not records:
        return _one("unknown-subject")
    if isinstance(fact, FactCorrected):
        return _decide_correction(records, fact, today)
    state = fold(effective(records))
    assert state is not None
    return _decide_step(state, fact, today)
