"""Deadlines: comment rounds, evaluations due, follow-up reports due.

A row is an open deadline over an interval of decision days: from the day it
came into being (a draft sent for comments, an implementation started under an
evaluation interval, a follow-up period begun) until the day it was met (the
revision after the comments, an evaluation, a report delivered); ``valid_to`` is
``None`` while it is still open.  As of a day, the open deadlines whose ``due``
is before that day are overdue and the others upcoming.

Like the other subject views, the rows follow each subject's timeline (see
:mod:`~saftale_projections.views._runs`): a deadline is open on a day when the
state of its subject as of that day (the facts that had certainly happened by
then) holds it open.  A generation's follow-up deadlines are the obligations
:func:`saftale_core.generation.follow_up` gives for that state and that it does
not count as delivered, each open from the first day of its period (a half-year,
a status day, a window of an indicator's cadence), so as of any day the view
answers what ``Saftale.follow_up(subject, on=day)`` says is overdue or upcoming.
Two windows of one indicator are told apart by their due day, which is part of
the key.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from saftale_core.generation import GenerationState, follow_up
from saftale_projections.protocol import Batch, Changes, Column, Index, Table
from saftale_projections.views._runs import SubjectCache, apply_subject_runs

__all__ = ["DEADLINES", "Deadlines"]

DEADLINES = Table(
    "deadline",
    key=("subject", "kind", "key", "due", "valid_from"),
    columns=(
        Column("subject", nullable=False),
        Column("kind", nullable=False),
        Column("key", nullable=False),
        Column("due", "date", nullable=False),
    ),
    temporal=True,
    # the deadlines open on a day, by due day (the day is checked row by row); and those
    # of one kind, by due day
    indexes=(
        Index(("due", "subject", "kind", "key", "valid_from")),
        Index(("kind", "due", "subject", "key", "valid_from")),
    ),
)
"""``kind``: ``comments``, ``evaluation``, ``follow-up report``, ``midterm status``,
``final status``, ``measurement``; ``key``: the deadline, the half-year, the status kind
or the indicator."""

Rows = dict[tuple[str, Any], dict[str, Any]]


def _open_in(state: Any) -> dict[tuple[str, str], dt.date]:
    """The deadlines a subject's state holds open: (kind, key) -> due day."""
    out: dict[tuple[str, str], dt.date] = {}
    deadline = getattr(state, "comment_deadline", None)
    if state.status == "in_comments" and deadline is not None:
        out[("comments", deadline.text)] = deadline.end
    due = getattr(state, "effective_evaluation_due", None)
    if due is not None and not any(e.end >= due.start for e in state.evaluations):
        out[("evaluation", due.text)] = due.end
    return out


def deadline_rows(process: Any, state: Any, registry: Any) -> Rows:
    """The deadlines a state holds open, by identity (the row of a deadline that stays
    open keeps the due day it opened with); a generation's, see :func:`follow_up_rows`."""
    if isinstance(state, GenerationState):
        return follow_up_rows(state)
    return {
        (DEADLINES.name, ident): _row(state.subject, ident, due, None)
        for ident, due in _open_in(state).items()
    }


class _Kept:
    """The follow-up rows of the last state asked for, per generation (least recently
    used dropped beyond ``size``), with what they were made of: a state whose follow-up
    data are the very same objects gives the same rows (most facts of a generation are
    not follow-up: visions, phases, council approvals leave these untouched)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[tuple[Any, ...], Rows]] = OrderedDict()

    def get(self, subject: str, inputs: tuple[Any, ...]) -> Rows | None:
        with self._lock:
            kept = self._kept.get(subject)
        if kept is None or any(a is not b for a, b in zip(kept[0], inputs, strict=True)):
            return None
        return kept[1]

    def put(self, subject: str, inputs: tuple[Any, ...], rows: Rows) -> None:
        with self._lock:
            self._kept[subject] = (inputs, rows)
            self._kept.move_to_end(subject)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


_kept = _Kept()


def follow_up_rows(state: GenerationState) -> Rows:
    """A generation's open follow-up deadlines in ``state``: every obligation of
    :func:`~saftale_core.generation.follow_up` it does not count as delivered (the state
    is what had certainly happened by a day, so whatever delivered it had by then), by
    (kind, key, due), each from the first day of its period (``valid_from``: the day it
    opens, when that is later than the state)."""
    inputs = (
        state.period,
        state.in_force_on,
        state.indicators,
        state.measurements,
        state.reports,
        state.status_reports,
    )
    found = _kept.get(state.subject, inputs)
    if found is not None:
        return found
    out: Rows = {}
    if state.in_force_on is not None:
        for o in follow_up(state, state.in_force_on.start).obligations:
            if o.delivered_on is None:
                ident = (o.what, o.key)
                out[(DEADLINES.name, (*ident, o.due))] = _row(
                    state.subject, ident, o.due, o.period.start
                )
    _kept.put(state.subject, inputs, out)
    return out


class Deadlines:
    """Every subject's deadlines over decision time."""

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "deadlines"
    version = 2
    """2: a generation's follow-up deadlines follow its timeline (as of a day, what had
    certainly happened by then); the due day is part of the key."""
    tables = (DEADLINES,)

    def __init__(self) -> None:
        self.cache = SubjectCache()

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        apply_subject_runs(
            batch, changes, store, tables=self.tables, cache=self.cache, rows_of=deadline_rows
        )


def _row(
    subject: str, ident: tuple[str, str], due: dt.date, since: dt.date | None
) -> dict[str, Any]:
    return {
        "subject": subject,
        "kind": ident[0],
        "key": ident[1],
        "due": due,
        "valid_from": since,
        "doc": {},
    }
