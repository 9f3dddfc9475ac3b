"""Where every subject stands, in decision time: status, who it awaits, which clusters
it concerns and which focus areas it serves, each row valid over an interval of days.

For every subject a batch touches, the subject's timeline (see
:func:`saftale_core.subjects.timeline`) is derived again from its whole history in
force, and the subject's rows are replaced.  A row is valid from the day all the
facts behind it had certainly happened until the next change (``valid_to`` is
exclusive; ``None`` means it still holds), so a query "as of" a day answers exactly
what ``Saftale.state(subject, as_of=day)`` answers.  Runs of equal rows are
merged into one interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from saftale_core.process import ANY
from saftale_core.subjects import effective_facts, process_of, timeline
from saftale_projections.protocol import Batch, Changes, Column, Table

__all__ = [
    "AWAITING",
    "CLUSTER_SUBJECTS",
    "FOCUS_INDICATORS",
    "FOCUS_SUBJECTS",
    "SUBJECT_STATE",
    "SubjectTimeline",
]

SUBJECT_STATE = Table(
    "subject_state",
    key=("subject", "valid_from"),
    columns=(
        Column("subject", nullable=False),
        Column("kind", index=True, nullable=False),
        Column("title", nullable=False),
        Column("status", index=True, nullable=False),
    ),
    temporal=True,
)
"""A subject's status over time (doc: the readable status and the council count)."""

AWAITING = Table(
    "awaiting",
    key=("body", "subject", "fact_type", "valid_from"),
    columns=(
        Column("body", index=True, nullable=False),
        Column("subject", nullable=False),
        Column("fact_type", nullable=False),
    ),
    temporal=True,
)
"""What awaits each body: the next steps it may take on each subject (its inbox).  Steps
that may come at any time (a withdrawal, content of a generation) await no one."""

CLUSTER_SUBJECTS = Table(
    "cluster_subject",
    key=("cluster", "subject", "role", "valid_from"),
    columns=(
        Column("cluster", index=True, nullable=False),
        Column("subject", nullable=False),
        Column("role", nullable=False),
    ),
    temporal=True,
)
"""The subjects that concern a cluster and how: ``offered``, ``assigned``, ``asked``,
``developer``, ``spread_to``, ``implementing``, ``implemented``."""

FOCUS_SUBJECTS = Table(
    "focus_subject",
    key=("focus_area", "subject", "valid_from"),
    columns=(
        Column("focus_area", index=True, nullable=False),
        Column("subject", nullable=False),
        Column("kind", nullable=False),
        Column("status", nullable=False),
    ),
    temporal=True,
)
"""The agreements and development tasks of a focus area, with their status over time."""


FOCUS_INDICATORS = Table(
    "focus_indicator",
    key=("focus_area", "indicator", "valid_from"),
    columns=(
        Column("focus_area", index=True, nullable=False),
        Column("indicator", nullable=False),
        Column("goal", nullable=False),
        Column("subject", nullable=False),
    ),
    temporal=True,
)
"""A generation's goals and indicators per focus area, each with its latest measurement
as known on the day (doc: indicator name, goal text, cadence, national goals, latest)."""


def _indicator_rows(state: Any) -> list[dict[str, Any]]:
    goals = {goal: (area, text) for goal, area, text in getattr(state, "goals", ())}
    out = []
    for ind in getattr(state, "indicators", ()):
        area, text = goals.get(ind.goal, ("", ""))
        latest = state.latest_measurement(ind.indicator)
        out.append(
            {
                "focus_area": area,
                "indicator": ind.indicator,
                "goal": ind.goal,
                "subject": state.subject,
                "doc": {
                    "name": ind.name,
                    "goal_text": text,
                    "cadence_months": ind.cadence_months,
                    "national_goals": list(ind.national_goals),
                    "latest": None
                    if latest is None
                    else {
                        "period": latest.period.text,
                        "value": latest.value,
                        "final": latest.final,
                        "source": latest.source,
                    },
                },
            }
        )
    return out


def _cluster_roles(state: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for cluster, _ in getattr(state, "offers", ()):
        out.append((cluster, "offered"))
    if getattr(state, "assigned_cluster", None):
        out.append((state.assigned_cluster, "assigned"))
    for cluster in getattr(state, "asked", ()):
        out.append((cluster, "asked"))
    if hasattr(state, "developers"):
        out += [(c, "developer") for c in state.developers]
    for cluster in getattr(state, "spread_to", ()):
        out.append((cluster, "spread_to"))
    for impl in getattr(state, "implementations", ()):
        if impl.implemented_on is not None:
            out.append((impl.cluster, "implemented"))
        elif impl.started_on is not None:
            out.append((impl.cluster, "implementing"))
    return list(dict.fromkeys(out))


def _rows_of(kind: str, state: Any, next_steps: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    title = getattr(state, "title", None) or getattr(
        getattr(state, "document", None), "title", state.subject
    )
    status = state.status
    councils = getattr(state, "councils", ())
    doc = {"approved_by_councils": sum(1 for d in councils if d.approved)}
    out: dict[str, list[dict[str, Any]]] = {
        SUBJECT_STATE.name: [
            {"subject": state.subject, "kind": kind, "title": title, "status": status, "doc": doc}
        ],
        AWAITING.name: [
            {"body": body, "subject": state.subject, "fact_type": step.fact_type, "doc": {}}
            for step in next_steps
            for body in step.who
        ],
        CLUSTER_SUBJECTS.name: [
            {"cluster": cluster, "subject": state.subject, "role": role, "doc": {}}
            for cluster, role in _cluster_roles(state)
        ],
        FOCUS_SUBJECTS.name: [
            {
                "focus_area": area,
                "subject": state.subject,
                "kind": kind,
                "status": status,
                "doc": {},
            }
            for area in (getattr(state, "focus_areas", ()) if kind in ("agreement", "task") else ())
        ],
        FOCUS_INDICATORS.name: _indicator_rows(state) if kind == "generation" else [],
    }
    return out


def _identity(row: dict[str, Any]) -> str:
    """Rows of one table are built with their keys in one order, so their repr identifies
    them (a doc dict is not hashable)."""
    return repr(row)


class SubjectTimeline:
    """Status, inboxes, clusters and focus areas of every subject, in decision time."""

    name = "subjects"
    version = 2
    tables = (SUBJECT_STATE, AWAITING, CLUSTER_SUBJECTS, FOCUS_SUBJECTS, FOCUS_INDICATORS)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        for subject in batch.subjects():
            for table in self.tables:
                changes.delete(table, subject=subject)
            records = store.records(subject)
            if not records:
                continue
            process = process_of(records)
            steps = timeline(process, effective_facts(records), store.registry)
            runs: dict[str, dict[str, dict[str, Any]]] = {t.name: {} for t in self.tables}
            for i, (day, state) in enumerate(steps):
                until = steps[i + 1][0] if i + 1 < len(steps) else None
                awaited = [
                    n
                    for n in process.next_steps(state, store.registry)
                    if process.steps[n.fact_type].after is not ANY
                ]
                rows = _rows_of(process.kind, state, awaited)
                for table in self.tables:
                    open_runs = runs[table.name]
                    seen = set()
                    for row in rows[table.name]:
                        ident = _identity(row)
                        if ident in seen:
                            continue
                        seen.add(ident)
                        run = open_runs.get(ident)
                        if run is not None and run["valid_to"] == day:
                            run["valid_to"] = until
                        else:
                            if run is not None:
                                changes.put(table, run)
                            open_runs[ident] = {**row, "valid_from": day, "valid_to": until}
            for table in self.tables:
                for run in runs[table.name].values():
                    changes.put(table, run)
