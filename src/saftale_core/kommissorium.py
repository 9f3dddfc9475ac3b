"""Kommissorier (terms of reference) as documents (seed 004).

A kommissorium is a subject of its own, recorded whole by one
:class:`KommissoriumRecorded` fact: its date (``on``), journal number,
background, frame, process, and a timetable of (time, action, actors) rows, and
optionally the subject it governs.  A cooperation agreement's
``KommissoriumApproved`` can point at it (``kommissorium``); a mistaken record
is corrected, like any fact, by a ``FactCorrected`` with a replacement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from saftale_core.canonical import canonical_ids
from saftale_core.dates import Period
from saftale_core.errors import RuleWarning
from saftale_core.facts import Fact, _opt_text, _text, _to_periods, fact_type
from saftale_core.process import ANY, Context, Process, Step, Who, refuse
from saftale_core.registry import Kind

__all__ = ["KOMMISSORIUM", "KommissoriumRecorded", "KommissoriumState", "TimetableRow"]


@attrs.frozen(kw_only=True)
class TimetableRow:
    """One row of a kommissorium's timetable."""

    time: str = attrs.field(validator=_text)
    """The time as the document writes it (e.g. ``"Nov – december 2015"``)."""
    when: tuple[Period, ...] = attrs.field(default=(), converter=_to_periods)
    """The time read as one or more periods (empty when the text could not be read)."""
    action: str = attrs.field(validator=_text)
    actors: str | None = attrs.field(default=None, validator=_opt_text)


def _to_rows(value: Iterable[TimetableRow | dict[str, Any]]) -> tuple[TimetableRow, ...]:
    out = []
    for row in value:
        if isinstance(row, TimetableRow):
            out.append(row)
        elif isinstance(row, dict):
            out.append(TimetableRow(**row))
        else:
            raise refuse("bad-record", f"'timetable' rows are objects, not {row!r}")
    return tuple(out)


@fact_type("KommissoriumRecorded")
@attrs.frozen(kw_only=True)
class KommissoriumRecorded(Fact):
    """A kommissorium document, dated ``on``, issued ``by`` a body of the registry."""

    INITIATES: ClassVar[str | None] = "kommissorium"

    title: str = attrs.field(validator=_text)
    journal_number: str | None = attrs.field(default=None, validator=_opt_text)
    background: str = attrs.field(validator=_text)
    frame: str | None = attrs.field(default=None, validator=_opt_text)
    process: str | None = attrs.field(default=None, validator=_opt_text)
    timetable: tuple[TimetableRow, ...] = attrs.field(default=(), converter=_to_rows)
    governs: str | None = attrs.field(default=None, validator=_opt_text)
    """The subject (agreement or task) it is the terms of reference for, if recorded."""


@attrs.frozen(kw_only=True)
class KommissoriumState:
    subject: str
    document: KommissoriumRecorded
    status: str = "recorded"
    status_on: Period
    closed: bool = False


def _start(fact: Fact, registry: Any) -> KommissoriumState:
    assert isinstance(fact, KommissoriumRecorded)
    return KommissoriumState(subject=fact.subject, document=fact, status_on=fact.on)


def _evolve(state: KommissoriumState, fact: Fact) -> KommissoriumState:
    if isinstance(fact, KommissoriumRecorded):
        return attrs.evolve(state, document=fact, status_on=fact.on)
    return state


def _guard_governs(state: None, fact: Fact, ctx: Context) -> Iterable[RuleWarning] | None:
    assert isinstance(fact, KommissoriumRecorded)
    if fact.governs is not None and ctx.kind_of(fact.governs) is None:
        raise refuse("unknown-subject", f"it governs {fact.governs!r}, which was never initiated")
    return None


ANY_BODY = Who(
    "a body of the registry (SAS drafts the health agreement's kommissorier)",
    kinds=tuple(k for k in Kind if k is not Kind.WORKING_GROUP),
)

KOMMISSORIUM: Process[KommissoriumState] = Process(
    kind="kommissorium",
    title="kommissorium",
    initiated_by=Step(
        KommissoriumRecorded,
        "—",
        ANY_BODY,
        ANY,
        "recorded",
        rules=("unknown-subject",),
        guard=_guard_governs,
        summary="a kommissorium document, with its timetable",
    ),
    steps=[],
    start=_start,
    evolve=_evolve,
    statuses={"recorded": "recorded"},
    closed_status="",
    canonical=canonical_ids,
    seed="004 (kommissorium)",
)
"""Kommissorier as documents: one initiating fact, corrected like any other."""
