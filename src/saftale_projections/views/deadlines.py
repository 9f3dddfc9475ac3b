"""Deadlines: comment rounds, evaluations due, follow-up reports due.

A row is an open deadline over an interval of decision days: from the day it
came into being (a draft sent for comments, an implementation started under an
evaluation interval, a follow-up period begun) until the day it was met (the
revision after the comments, an evaluation, a report delivered); ``valid_to`` is
``None`` while it is still open.  As of a day, the open deadlines whose ``due``
is before that day are overdue and the others upcoming.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from saftale_core.generation import GenerationState, follow_up
from saftale_projections.protocol import Batch, Changes, Column, Index, Table
from saftale_projections.views._runs import SubjectCache, apply_subject_runs

__all__ = ["DEADLINES", "Deadlines"]

DEADLINES = Table(
    "deadline",
    key=("subject", "kind", "key", "valid_from"),
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
``final status``, ``measurement``."""


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


def deadline_rows(process: Any, state: Any, registry: Any) -> dict[tuple[str, Any], dict[str, Any]]:
    """The deadlines a state holds open, by identity (the row of a deadline that stays
    open keeps the due day it opened with)."""
    if isinstance(state, GenerationState):
        return {}
    return {
        (DEADLINES.name, ident): _row(state.subject, ident, due, None, None)
        for ident, due in _open_in(state).items()
    }


def generation_rows(
    subject: str, state: Any
) -> dict[tuple[str, tuple[Any, ...]], dict[str, Any]] | None:
    """A generation's deadlines, from its latest state alone (``None`` for other
    subjects): its follow-up obligations, each open from its period until delivered."""
    if not isinstance(state, GenerationState):
        return None
    out: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    if state.in_force_on is None:
        return out
    for o in follow_up(state, dt.date.max).obligations:
        since = max(o.period.start, state.in_force_on.start)
        until = o.delivered_on.start if o.delivered_on is not None else None
        if until is not None and until <= since:
            continue
        row = _row(subject, (o.what, o.key), o.due, since, until)
        out[(DEADLINES.name, tuple(row[k] for k in DEADLINES.key))] = row
    return out


class Deadlines:
    """Every subject's deadlines over decision time."""

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "deadlines"
    version = 1
    tables = (DEADLINES,)

    def __init__(self) -> None:
        self.cache = SubjectCache()

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        apply_subject_runs(
            batch,
            changes,
            store,
            tables=self.tables,
            cache=self.cache,
            rows_of=deadline_rows,
            final_rows_of=generation_rows,
        )


def _row(
    subject: str,
    ident: tuple[str, str],
    due: dt.date,
    since: dt.date | None,
    until: dt.date | None,
) -> dict[str, Any]:
    return {
        "subject": subject,
        "kind": ident[0],
        "key": ident[1],
        "due": due,
        "valid_from": since,
        "valid_to": until,
        "doc": {},
    }
