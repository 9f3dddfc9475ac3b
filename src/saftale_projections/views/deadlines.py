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
from saftale_core.subjects import effective_facts, process_of, timeline
from saftale_projections.protocol import Batch, Changes, Column, Table

__all__ = ["DEADLINES", "Deadlines"]

DEADLINES = Table(
    "deadline",
    key=("subject", "kind", "key", "valid_from"),
    columns=(
        Column("subject", nullable=False),
        Column("kind", index=True, nullable=False),
        Column("key", nullable=False),
        Column("due", "date", index=True, nullable=False),
    ),
    temporal=True,
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


class Deadlines:
    """Every subject's deadlines over decision time."""

    name = "deadlines"
    version = 1
    tables = (DEADLINES,)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        for subject in batch.subjects():
            changes.delete(DEADLINES, subject=subject)
            records = store.records(subject)
            if not records:
                continue
            process = process_of(records)
            steps = timeline(process, effective_facts(records), store.registry)
            if not steps:
                continue
            last = steps[-1][1]
            if isinstance(last, GenerationState):
                self._generation(subject, last, changes)
                continue
            opened: dict[tuple[str, str], tuple[dt.date, dt.date]] = {}
            for day, state in steps:
                now = _open_in(state)
                for ident, (since, due) in list(opened.items()):
                    if ident not in now:
                        changes.put(DEADLINES, _row(subject, ident, due, since, day))
                        del opened[ident]
                for ident, due in now.items():
                    opened.setdefault(ident, (day, due))
            for ident, (since, due) in opened.items():
                changes.put(DEADLINES, _row(subject, ident, due, since, None))

    def _generation(self, subject: str, state: GenerationState, changes: Changes) -> None:
        if state.in_force_on is None:
            return
        for o in follow_up(state, dt.date.max).obligations:
            since = max(o.period.start, state.in_force_on.start)
            until = o.delivered_on.start if o.delivered_on is not None else None
            if until is not None and until <= since:
                continue
            changes.put(DEADLINES, _row(subject, (o.what, o.key), o.due, since, until))


def _row(
    subject: str, ident: tuple[str, str], due: dt.date, since: dt.date, until: dt.date | None
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
