"""Subjects: one history per agreement (task, generation, kommissorium), its
corrections, and the decision that sits in front of every write.

A subject's *history* is every fact recorded for it, in order, never edited.
Its *effective* facts are that history with corrections applied: a corrected
fact is replaced by its latest correction's replacement, or dropped when the
correction retracts it.  State is always a fold over the effective facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

import attrs

from saftale_core.agreement import AGREEMENT
from saftale_core.canonical import canonical_ids
from saftale_core.errors import RuleViolation
from saftale_core.facts import Fact, FactCorrected, Recorded
from saftale_core.generation import GENERATION
from saftale_core.kommissorium import KOMMISSORIUM
from saftale_core.process import Context, Decision, Process, check_not_future, refuse
from saftale_core.task import TASK

__all__ = [
    "PROCESSES",
    "EffectiveFact",
    "decide",
    "decide_next",
    "effective_facts",
    "process_of",
    "timeline",
]

PROCESSES: Mapping[str, Process[Any]] = {
    process.initiated_by.fact.TYPE: process
    for process in (AGREEMENT, TASK, GENERATION, KOMMISSORIUM)
}
"""Every process by the type name of the fact that initiates it."""


def process_of(history: Sequence[Recorded]) -> Process[Any]:
    """The process a (non-empty) history follows, from its first fact."""
    return PROCESSES[history[0].fact.TYPE]


@attrs.frozen
class EffectiveFact:
    """A fact in force, where it stands in the history, and when it was recorded."""

    fact: Fact
    position: int
    """The 1-based position of the fact it stands for (the corrected one, if corrected)."""
    recorded_at: dt.datetime
    corrected_by: int | None = None
    """The position of the correction that put this fact here, if any."""


def effective_facts(history: Sequence[Recorded]) -> list[EffectiveFact]:
    """The history with corrections applied (latest correction of a fact wins)."""
    latest: dict[int, Recorded] = {}
    for rec in history:
        if isinstance(rec.fact, FactCorrected):
            latest[rec.fact.corrects] = rec
    out: list[EffectiveFact] = []
    for rec in history:
        if isinstance(rec.fact, FactCorrected):
            continue
        correction = latest.get(rec.position)
        if correction is None:
            out.append(EffectiveFact(rec.fact, rec.position, rec.timestamp))
            continue
        assert isinstance(correction.fact, FactCorrected)
        replacement = correction.fact.replacement
        if replacement is not None:
            out.append(
                EffectiveFact(replacement, rec.position, correction.timestamp, correction.position)
            )
    return out


def decide(history: Sequence[Recorded], fact: Fact, ctx: Context) -> Decision:
    """Check one new fact against a subject's history (empty for a new subject).

    Returns the fact to record (ids made canonical) with its warnings, or
    raises :class:`RuleViolation` naming the rule, the subject and the fact.
    """
    try:
        return _decide(history, fact, ctx)
    except RuleViolation as exc:
        if exc.subject is None:
            raise exc.for_fact(subject=fact.subject, fact_type=fact.TYPE) from None
        raise


def _decide(history: Sequence[Recorded], fact: Fact, ctx: Context) -> Decision:
    if history and not fact.INITIATES and isinstance(fact, FactCorrected):
        return _decide_correction(process_of(history), history, fact, ctx)
    first = history[0].fact if history else None
    state = None
    if history and not fact.INITIATES:
        state = process_of(history).fold((e.fact for e in effective_facts(history)), ctx.registry)
    return _decide_next(first, state, fact, ctx)


def decide_next(first: Fact | None, state: Any, fact: Fact, ctx: Context) -> Decision:
    """:func:`decide` for a fact that is not a correction, given the subject's first
    fact (``None`` for a new subject) and its state with corrections applied.

    For checking many facts in a row without folding each subject's history again.
    """
    if isinstance(fact, FactCorrected):
        raise TypeError("a correction needs the whole history: use decide()")
    try:
        return _decide_next(first, state, fact, ctx)
    except RuleViolation as exc:
        if exc.subject is None:
            raise exc.for_fact(subject=fact.subject, fact_type=fact.TYPE) from None
        raise


def _decide_next(first: Fact | None, state: Any, fact: Fact, ctx: Context) -> Decision:
    if fact.INITIATES:
        if first is not None:
            raise refuse(
                "duplicate-subject",
                f"the subject {fact.subject!r} already exists "
                f"(initiated by {first.TYPE} on {first.on})",
            )
        return PROCESSES[fact.TYPE].decide_start(fact, ctx)
    if first is None:
        raise refuse("unknown-subject", f"the subject {fact.subject!r} was never initiated")
    if isinstance(fact, FactCorrected):
        raise refuse("bad-record", "a correction cannot be checked without its history")
    return PROCESSES[first.TYPE].decide(state, fact, ctx)


def _decide_correction(
    process: Process[Any], history: Sequence[Recorded], fact: FactCorrected, ctx: Context
) -> Decision:
    check_not_future(fact, ctx)
    fact = cast(FactCorrected, canonical_ids(fact, ctx.registry))
    if fact.corrects > len(history):
        raise refuse(
            "bad-record",
            f"'corrects': the subject has {len(history)} facts, there is no fact {fact.corrects}",
        )
    target = history[fact.corrects - 1].fact
    if isinstance(target, FactCorrected):
        raise refuse(
            "bad-record",
            f"'corrects': fact {fact.corrects} is a correction; "
            "correct the original fact again instead",
        )
    replacement = fact.replacement
    if target.INITIATES:
        if replacement is None:
            raise refuse(
                "correction-invalid",
                "the initiating fact cannot be retracted; withdraw the subject instead",
            )
        if type(replacement) is not type(target):
            raise refuse(
                "correction-invalid",
                f"fact {fact.corrects} ({target.TYPE}) can only "
                f"be replaced by another {target.TYPE}",
            )
    elif replacement is not None and replacement.INITIATES:
        raise refuse(
            "correction-invalid",
            f"{replacement.TYPE} can only replace the fact that initiated the subject",
        )
    if replacement is not None:
        check_not_future(replacement, ctx)
    # The history that would be in force after this correction must obey every rule.
    pending = Recorded(
        originator_id=history[0].originator_id,
        originator_version=len(history) + 1,
        timestamp=ctx.now,
        recorded_by="",
        fact=fact,
    )
    _replay(process, effective_facts([*history, pending]), ctx)
    return Decision(fact)


def _replay(process: Process[Any], effective: Sequence[EffectiveFact], ctx: Context) -> None:
    state: Any = None
    for entry in effective:
        at = Context(ctx.registry, entry.recorded_at, ctx.subjects)
        try:
            if state is None:
                decision = process.decide_start(entry.fact, at)
                state = process.start(decision.fact, ctx.registry)
            else:
                decision = process.decide(state, entry.fact, at)
                state = process.evolve(state, decision.fact)
        except RuleViolation as exc:
            raise refuse(
                "correction-invalid",
                f"after the correction, fact {entry.position} "
                f"({entry.fact.TYPE}) would be refused: {exc.code}: "
                f"{exc.detail}",
            ) from None


def timeline(
    process: Process[Any], effective: Sequence[EffectiveFact], registry: Any
) -> list[tuple[dt.date, Any]]:
    """Every state a subject passed through, in decision time: ``(from_day, state)``.

    The state after the first ``k`` facts in force holds from the day on which all
    of them had certainly happened (the latest of their last possible days) until
    the next entry's day; this is exactly what ``Saftale.state(subject, as_of=day)``
    answers for every day, so a read model built from it agrees with the core.
    States that hold on no day (a later fact certain no later) are left out.
    """
    out: list[tuple[dt.date, Any]] = []
    state: Any = None
    certain: dt.date | None = None
    for entry in effective:
        state = (
            process.start(entry.fact, registry)
            if state is None
            else process.evolve(state, entry.fact)
        )
        end = entry.fact.on.end
        certain = end if certain is None or end > certain else certain
        if out and out[-1][0] == certain:
            out[-1] = (certain, state)
        else:
            out.append((certain, state))
    return out
