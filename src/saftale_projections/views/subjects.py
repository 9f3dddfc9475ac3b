"""Where every subject stands, in decision time: status, who it awaits, which clusters
it concerns and which focus areas it serves, each row valid over an interval of days.

Every subject's rows follow its timeline (see :func:`saftale_core.subjects.timeline`):
a batch extends the timeline of each subject it touches from what the view kept of the
subject (or derives it again from the history in force, after a correction or when
nothing is kept; see :mod:`~saftale_projections.views._runs`), and writes the rows
that changed.  A row is valid from the day all the
facts behind it had certainly happened until the next change (``valid_to`` is
exclusive; ``None`` means it still holds), so a query "as of" a day answers exactly
what ``Saftale.state(subject, as_of=day)`` answers.  Runs of equal rows are
merged into one interval.
"""

from __future__ import annotations

from typing import Any

from saftale_core.process import ANY
from saftale_projections.protocol import Batch, Changes, Column, Table
from saftale_projections.views._runs import SubjectCache, apply_subject_runs

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
    key=("subject", "valid_from"),  # the key serves the queries: no other index
    columns=(
        Column("subject", nullable=False),
        Column("kind", nullable=False),
        Column("title", nullable=False),
        Column("status", nullable=False),
    ),
    temporal=True,
)
"""A subject's status over time (doc: the readable status and the council count)."""

AWAITING = Table(
    "awaiting",
    key=("body", "subject", "fact_type", "valid_from"),  # and serves a body's inbox
    columns=(
        Column("body", nullable=False),
        Column("subject", nullable=False),
        Column("fact_type", nullable=False),
    ),
    temporal=True,
)
"""What awaits each body: the next steps it may take on each subject (its inbox).  Steps
that may come at any time (a withdrawal, content of a generation) await no one."""

CLUSTER_SUBJECTS = Table(
    "cluster_subject",
    key=("cluster", "subject", "role", "valid_from"),  # and serves a cluster's list
    columns=(
        Column("cluster", nullable=False),
        Column("subject", nullable=False),
        Column("role", nullable=False),
    ),
    temporal=True,
)
"""The subjects that concern a cluster and how: ``offered``, ``assigned``, ``asked``,
``developer``, ``spread_to``, ``implementing``, ``implemented``."""

FOCUS_SUBJECTS = Table(
    "focus_subject",
    key=("focus_area", "subject", "valid_from"),  # and serves a focus area's list
    columns=(
        Column("focus_area", nullable=False),
        Column("subject", nullable=False),
        Column("kind", nullable=False),
        Column("status", nullable=False),
    ),
    temporal=True,
)
"""The agreements and development tasks of a focus area, with their status over time."""


FOCUS_INDICATORS = Table(
    "focus_indicator",
    key=("focus_area", "indicator", "subject", "valid_from"),  # and serves an area's list
    columns=(
        Column("focus_area", nullable=False),
        Column("indicator", nullable=False),
        Column("goal", nullable=False),
        Column("subject", nullable=False),
    ),
    temporal=True,
)
"""A generation's goals and indicators per focus area, each with its latest measurement
as known on the day (doc: indicator name, goal text, cadence, national goals, latest).
Two generations may have an indicator of the same id in the same focus area (a successor
keeps its predecessor's indicators): the subject is part of the key."""


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


def _identity(row: dict[str, Any]) -> str:
    """Rows of one table are built with their keys in one order, so their repr identifies
    them (a doc dict is not hashable)."""
    return repr(row)


_WAITING: dict[int, tuple[Any, dict[str, tuple[Any, ...]]]] = {}
"""Per process (by id, the process kept alive with it): its steps that await someone,
by the status they may follow."""
_BODIES: dict[tuple[int, int], tuple[Any, Any, tuple[str, ...]]] = {}
"""``who.bodies(registry)`` by the ids of both (kept alive with the answer): a registry
does not change once made, so neither does the answer."""


def _waiting_after(process: Any, status: str) -> tuple[Any, ...]:
    """The steps of ``process`` that may follow ``status`` and await someone (the steps
    that may come at any time await no one), in the process's order."""
    kept = _WAITING.get(id(process))
    if kept is None or kept[0] is not process:
        kept = _WAITING[id(process)] = (process, {})
    steps = kept[1].get(status)
    if steps is None:
        steps = kept[1][status] = tuple(
            step
            for step in process.steps.values()
            if step.after is not ANY and status in step.after
        )
    return steps


def _bodies(who: Any, registry: Any) -> tuple[str, ...]:
    kept = _BODIES.get((id(who), id(registry)))
    if kept is None or kept[0] is not who or kept[1] is not registry:
        if len(_BODIES) > 1000:
            _BODIES.clear()
        kept = _BODIES[(id(who), id(registry))] = (who, registry, tuple(who.bodies(registry)))
    return kept[2]


_NOT_YET: Any = object()
_AWAITING = AWAITING.name


def _awaited(process: Any, state: Any, registry: Any) -> list[tuple[str, tuple[str, ...]]]:
    """``process.next_steps(state, registry)`` without the steps that may come at any time
    (they await no one), as ``(fact type, who)``."""
    if state.closed:
        return []
    out = []
    delivery = _NOT_YET
    for step in _waiting_after(process, state.status):
        if step.delivery is not None:
            if delivery is _NOT_YET:
                delivery = process.delivery_of(state)
            if delivery != step.delivery:
                continue
        who = step.candidates(state, registry) if step.candidates else _bodies(step.who, registry)
        if who:
            out.append((step.fact.TYPE, tuple(who)))
    return out


def subject_rows(process: Any, state: Any, registry: Any) -> dict[tuple[str, Any], dict[str, Any]]:
    """The rows of every table that a subject's state gives, by identity."""
    subject = state.subject
    kind = process.kind
    title = getattr(state, "title", None) or getattr(
        getattr(state, "document", None), "title", subject
    )
    status = state.status
    councils = getattr(state, "councils", ())
    out: dict[tuple[str, Any], dict[str, Any]] = {}
    approved = sum(1 for d in councils if d.approved)
    out[(SUBJECT_STATE.name, (kind, title, status, approved))] = {
        "subject": subject,
        "kind": kind,
        "title": title,
        "status": status,
        "doc": {"approved_by_councils": approved},
    }
    ident: tuple[str, Any]
    for fact_type, who in _awaited(process, state, registry):
        # a body named twice gives the same row twice: the second replaces it with its equal
        out.update(
            {
                (_AWAITING, (body, fact_type)): {
                    "body": body,
                    "subject": subject,
                    "fact_type": fact_type,
                    "doc": {},
                }
                for body in who
            }
        )
    for cluster, role in _cluster_roles(state):
        out[(CLUSTER_SUBJECTS.name, (cluster, role))] = {
            "cluster": cluster,
            "subject": subject,
            "role": role,
            "doc": {},
        }
    if kind in ("agreement", "task"):
        for area in getattr(state, "focus_areas", ()):
            ident = (FOCUS_SUBJECTS.name, (area, kind, status))
            if ident not in out:
                out[ident] = {
                    "focus_area": area,
                    "subject": subject,
                    "kind": kind,
                    "status": status,
                    "doc": {},
                }
    if kind == "generation":
        for row in _indicator_rows(state):
            ident = (FOCUS_INDICATORS.name, _identity(row))
            if ident not in out:
                out[ident] = row
    return out


class SubjectTimeline:
    """Status, inboxes, clusters and focus areas of every subject, in decision time.

    Keeps what it needs of recently touched subjects between batches (see
    :mod:`~saftale_projections.views._runs`), so a batch costs what its facts cost, not
    what the histories of the subjects it touches cost.
    """

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "subjects"
    version = 4
    """3: the subject is part of the key of :data:`FOCUS_INDICATORS`; 4: a generation awaits
    only the bodies that may take a step now (SSG before SKU, every council before it takes
    effect)."""
    tables = (SUBJECT_STATE, AWAITING, CLUSTER_SUBJECTS, FOCUS_SUBJECTS, FOCUS_INDICATORS)

    def __init__(self) -> None:
        self.cache = SubjectCache()

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        apply_subject_runs(
            batch, changes, store, tables=self.tables, cache=self.cache, rows_of=subject_rows
        )
