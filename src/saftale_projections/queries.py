"""Typed, paginated questions to the views.

>>> views = Views(backend)                       # doctest: +SKIP
>>> views.inbox("SSG", as_of=date(2020, 1, 1))  # doctest: +SKIP

Every question about where things stand takes ``as_of`` (a decision day;
default: now); lists come in pages (:class:`Listing`) whose ``next`` cursor is
passed back as ``after``, with the same other arguments, for the following page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from saftale_core.authority import Authority
from saftale_projections.protocol import BadCursor, Page, Row, Table, ViewBackend, ordering
from saftale_projections.views.audit import AUDIT, AUDIT_PARTIES, DECISIONS
from saftale_projections.views.deadlines import DEADLINES
from saftale_projections.views.subjects import (
    AWAITING,
    CLUSTER_SUBJECTS,
    FOCUS_INDICATORS,
    FOCUS_SUBJECTS,
    SUBJECT_STATE,
)

__all__ = [
    "AuditEntry",
    "BadCursor",
    "ClusterEntry",
    "Deadline",
    "DecisionEntry",
    "FocusEntry",
    "InboxItem",
    "IndicatorEntry",
    "Listing",
    "SubjectStatus",
    "Views",
]

T = TypeVar("T")


@attrs.frozen
class Listing(Generic[T]):
    """One page of answers; pass ``next`` as ``after`` for the following page."""

    items: tuple[T, ...]
    next: tuple[Any, ...] | None


@attrs.frozen
class SubjectStatus:
    subject: str
    kind: str
    title: str
    status: str
    since: dt.date
    approved_by_councils: int


@attrs.frozen
class InboxItem:
    subject: str
    fact_type: str
    since: dt.date


@attrs.frozen
class ClusterEntry:
    subject: str
    role: str
    since: dt.date


@attrs.frozen
class FocusEntry:
    subject: str
    kind: str
    status: str


@attrs.frozen
class IndicatorEntry:
    """A goal's indicator in a focus area, with its latest measurement known on the day."""

    indicator: str
    name: str
    goal: str
    goal_text: str
    cadence_months: int
    latest_period: str | None
    latest_value: float | None
    """``None`` with a ``latest_period``: the latest measurement had no data."""
    latest_final: bool | None
    subject: str
    """The generation (health agreement) whose indicator it is: successive generations
    may keep an indicator of the same id in the same focus area."""


@attrs.frozen
class AuditEntry:
    """A recorded fact as the audit trail shows it."""

    subject: str
    position: int
    fact_type: str
    by: str
    on: str
    recorded_by: str
    recorded_at: str
    corrects: int | None
    """For a correction: the position of the fact it corrects."""
    fact: dict[str, Any]
    """The fact as in a history file."""
    authority: Authority | None
    """Under which authority ``by`` took the step (:func:`saftale_core.authority_of`);
    ``None`` only for a fact whose step this version of the library no longer has."""
    corrected_by: tuple[int, ...] = ()
    """The positions of the corrections that point at this fact, oldest first (as
    :attr:`saftale_core.application.HistoryEntry.corrected_by`); a correction is never corrected
    itself."""


@attrs.frozen
class DecisionEntry:
    """A decision in a body's log, and whether it stands after the corrections since."""

    subject: str
    position: int
    """Where the decision was recorded in its subject's history (a correction of it
    points there)."""
    fact_type: str
    on: str
    """The decision's date as it stands (as recorded in this body's name, when it does not
    stand as this body's)."""
    by: str | None
    """Who decided, as it stands: this body, another (a correction's replacement named
    it instead), or ``None`` (retracted)."""
    state: str
    """``"stands"`` (never corrected), ``"replaced"`` (a correction put another fact in
    its place) or ``"retracted"`` (a correction retracted it: it was never taken)."""
    in_force: bool
    """The decision stands, as recorded or replaced, as this body's."""
    corrected_by: int | None
    """The position of the correction in force (the latest), if any."""
    recorded_by: str
    recorded_at: str
    fact: dict[str, Any] | None
    """The decision in force, as in a history file (``None``: retracted)."""
    recorded: dict[str, Any]
    """The decision as first recorded."""


@attrs.frozen
class Deadline:
    subject: str
    kind: str
    key: str
    due: dt.date
    overdue: bool


def _audit(row: Row, corrected_by: tuple[int, ...] = ()) -> AuditEntry:
    doc = row["doc"]
    authority = doc.get("authority")
    return AuditEntry(
        row["subject"],
        row["position"],
        row["fact_type"],
        row["by"],
        row["on_text"],
        row["recorded_by"],
        row["recorded_at"],
        row["corrects"],
        doc["fact"],
        None if authority is None else Authority.from_dict(authority),
        corrected_by,
    )


def _decision(row: Row) -> DecisionEntry:
    doc = row["doc"]
    fact = doc["fact"]
    return DecisionEntry(
        row["subject"],
        row["position"],
        row["fact_type"],
        row["on_text"],
        None if fact is None else fact["by"],
        row["state"],
        bool(row["in_force"]),
        row["corrected_by"],
        doc["recorded_by"],
        doc["recorded_at"],
        fact,
        doc.get("recorded", fact),
    )


def _indicator(row: Row) -> IndicatorEntry:
    doc, latest = row["doc"], row["doc"].get("latest")
    return IndicatorEntry(
        row["indicator"],
        doc["name"],
        row["goal"],
        doc["goal_text"],
        doc["cadence_months"],
        latest["period"] if latest else None,
        latest["value"] if latest else None,
        latest["final"] if latest else None,
        row["subject"],
    )


class Views:
    """The questions people and programs ask of the views in a backend."""

    def __init__(self, backend: ViewBackend, *, today: dt.date | None = None) -> None:
        self.backend = backend
        self._today = today

    def _as_of(self, as_of: dt.date | None) -> dt.date | None:
        return as_of if as_of is not None else self._today

    def _all(self, table: Table, **kw: Any) -> list[Row]:
        rows: list[Row] = []
        after = None
        while True:
            page = self.backend.select(table, after=after, limit=500, **kw)
            rows += page.rows
            if page.next is None:
                return rows
            after = page.next

    def status(self, subject: str, *, as_of: dt.date | None = None) -> SubjectStatus | None:
        """Where a subject stands (``None`` if it did not exist yet)."""
        page = self.backend.select(
            SUBJECT_STATE, where={"subject": subject}, as_of=self._as_of(as_of), limit=1
        )
        if not page.rows:
            return None
        r = page.rows[0]
        return SubjectStatus(
            r["subject"],
            r["kind"],
            r["title"],
            r["status"],
            r["valid_from"],
            int(r["doc"].get("approved_by_councils", 0)),
        )

    def inbox(
        self,
        body: str,
        *,
        as_of: dt.date | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[InboxItem]:
        """What awaits a body: the steps it may take now, per subject."""
        page = self.backend.select(
            AWAITING,
            where={"body": body},
            as_of=self._as_of(as_of),
            order_by=("subject", "fact_type"),
            limit=limit,
            after=after,
        )
        return Listing(
            tuple(InboxItem(r["subject"], r["fact_type"], r["valid_from"]) for r in page.rows),
            page.next,
        )

    def decisions(
        self,
        body: str,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        include_retracted: bool = False,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[DecisionEntry]:
        """A body's decision log: what it decided, on which date, on which subject, and
        whether each decision stands, was replaced (and by which correction, with the
        decision in force) or was retracted; decided ``since``/``until`` (days, both
        included).

        A decision that does not stand as this body's (retracted, or replaced by a
        decision another body took) is left out, unless ``include_retracted``: the log
        says what the body decided, and a retracted decision was never taken.  The audit
        trail (:meth:`audit`) keeps every fact as recorded.
        """
        where: dict[str, Any] = {"body": body}
        if not include_retracted:
            where["in_force"] = True
        page = self.backend.select(
            DECISIONS,
            where=where,
            since=since,
            until=until,
            date_column="on_start",
            order_by=("on_start", "subject", "position"),
            limit=limit,
            after=after,
        )
        return Listing(tuple(_decision(r) for r in page.rows), page.next)

    def cluster(
        self,
        cluster: str,
        *,
        as_of: dt.date | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[ClusterEntry]:
        """The agreements and tasks that concern a cluster, and how."""
        page = self.backend.select(
            CLUSTER_SUBJECTS,
            where={"cluster": cluster},
            as_of=self._as_of(as_of),
            order_by=("subject", "role"),
            limit=limit,
            after=after,
        )
        return Listing(
            tuple(ClusterEntry(r["subject"], r["role"], r["valid_from"]) for r in page.rows),
            page.next,
        )

    def focus_area(
        self,
        area: str,
        *,
        as_of: dt.date | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[FocusEntry]:
        """The agreements and development tasks of a focus area, and where each stands."""
        page = self.backend.select(
            FOCUS_SUBJECTS,
            where={"focus_area": area},
            as_of=self._as_of(as_of),
            order_by=("subject",),
            limit=limit,
            after=after,
        )
        return Listing(
            tuple(FocusEntry(r["subject"], r["kind"], r["status"]) for r in page.rows), page.next
        )

    def indicators(
        self,
        area: str,
        *,
        as_of: dt.date | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[IndicatorEntry]:
        """The goals and indicators of a focus area, each with its latest measurement."""
        page = self.backend.select(
            FOCUS_INDICATORS,
            where={"focus_area": area},
            as_of=self._as_of(as_of),
            order_by=("indicator",),
            limit=limit,
            after=after,
        )
        return Listing(tuple(_indicator(r) for r in page.rows), page.next)

    def audit(
        self,
        *,
        subject: str | None = None,
        body: str | None = None,
        party: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[AuditEntry]:
        """Every fact, filtered by subject, deciding body, party named and decision period;
        each with the corrections that point at it (:attr:`AuditEntry.corrected_by`,
        found for a whole page in one more select)."""
        where: dict[str, Any] = {}
        if subject is not None:
            where["subject"] = subject
        if body is not None:
            where["by"] = body
        if party is None:
            page = self.backend.select(
                AUDIT,
                where=where,
                since=since,
                until=until,
                date_column="on_start",
                order_by=("on_start", "subject", "position"),
                limit=limit,
                after=after,
            )
            return Listing(self._linked(page.rows), page.next)
        # the facts naming the party, in pages of the party table; with a body too, a
        # page of it may hold fewer of that body's facts than asked for, so read on
        order = ("on_start", "subject", "position")
        out: list[Row] = []
        cursor = after
        while True:
            named = self.backend.select(
                AUDIT_PARTIES,
                where={"party": party, **({"subject": subject} if subject else {})},
                since=since,
                until=until,
                date_column="on_start",
                order_by=order,
                limit=limit,
                after=cursor,
            )
            # the page's facts in one select (its subjects' facts at its positions, a few
            # more than it names, matched by fact), then taken in the party table's order
            facts: dict[tuple[str, int], Row] = {}
            if named.rows:
                where = {
                    "subject": sorted({r["subject"] for r in named.rows}),
                    "position": sorted({r["position"] for r in named.rows}),
                }
                if body is not None:
                    where["by"] = body
                facts = {(f["subject"], f["position"]): f for f in self._all(AUDIT, where=where)}
            for i, r in enumerate(named.rows):
                found = facts.get((r["subject"], r["position"]))
                if found is None:
                    continue
                out.append(found)
                if len(out) == limit:
                    more = i < len(named.rows) - 1 or named.next is not None
                    last = tuple(r[c] for c in ordering(AUDIT_PARTIES, order))
                    return Listing(self._linked(out), last if more else None)
            if named.next is None:
                return Listing(self._linked(out), None)
            cursor = named.next

    def _linked(self, rows: Sequence[Row]) -> tuple[AuditEntry, ...]:
        """The audit rows as entries, each with the corrections that point at it: one
        select for them all (the corrections of the rows' subjects that correct one of
        the rows' positions, read by the index of corrections, then matched by fact)."""
        facts = {(r["subject"], r["position"]) for r in rows if r["corrects"] is None}
        linked: dict[tuple[str, int], list[int]] = {}
        if facts:
            found = self._all(
                AUDIT,
                where={
                    "subject": sorted({s for s, _ in facts}),
                    "corrects": sorted({p for _, p in facts}),
                },
                order_by=("subject", "corrects", "position"),
            )
            for c in found:
                if (c["subject"], c["corrects"]) in facts:
                    linked.setdefault((c["subject"], c["corrects"]), []).append(c["position"])
        return tuple(_audit(r, tuple(linked.get((r["subject"], r["position"]), ()))) for r in rows)

    def corrections_of(self, subject: str, position: int) -> list[AuditEntry]:
        """The corrections that point at a fact, oldest first (an audit entry says the
        same of itself, :attr:`AuditEntry.corrected_by`)."""
        rows = self._all(AUDIT, where={"subject": subject, "corrects": position})
        return [_audit(r) for r in rows]

    def deadlines(
        self,
        *,
        as_of: dt.date | None = None,
        kinds: Sequence[str] = (),
        overdue: bool | None = None,
        limit: int = 100,
        after: tuple[Any, ...] | None = None,
    ) -> Listing[Deadline]:
        """The open deadlines on a day (default: today), each marked overdue or not,
        by due day: of the ``kinds`` given (default: every kind), and only those overdue
        (``overdue=True``) or not yet (``False``)."""
        day = self._as_of(as_of) or dt.date.today()
        query: dict[str, Any] = {"as_of": day, "date_column": "due"}
        if overdue is True:
            query["until"] = day - dt.timedelta(days=1)
        elif overdue is False:
            query["since"] = day
        wanted = sorted(set(kinds))
        if len(wanted) > 1:
            rows, cursor = _merged(
                self.backend,
                DEADLINES,
                [{"kind": kind} for kind in wanted],
                _DEADLINE_ORDER,
                limit,
                after,
                query,
            )
        else:
            page = self.backend.select(
                DEADLINES,
                where={"kind": wanted[0]} if wanted else None,
                order_by=_DEADLINE_ORDER,
                limit=limit,
                after=after,
                **query,
            )
            rows, cursor = list(page.rows), page.next
        return Listing(
            tuple(
                Deadline(r["subject"], r["kind"], r["key"], r["due"], r["due"] < day) for r in rows
            ),
            cursor,
        )


_DEADLINE_ORDER = ("due", "subject", "kind", "key")


def _merged(
    backend: ViewBackend,
    table: Table,
    streams: Sequence[Mapping[str, Any]],
    order_by: Sequence[str],
    limit: int,
    after: tuple[Any, ...] | None,
    query: Mapping[str, Any],
) -> tuple[list[Row], tuple[Any, ...] | None]:
    """One page of the rows that match any of ``streams`` (each a ``where``), in order:
    one select per stream, merged.  Not one select with the values as a set: an index
    gives the rows of several values one value after another, so SQLite and PostgreSQL
    would sort every row of those values for each page, where a select per value reads
    a page's worth of each, in the index's order.

    The page's cursor holds each stream's own cursor (``None`` before its first row), so
    that each stream is read on exactly where it was left: nothing is skipped or given
    twice whatever order the backend gives text (the shipped backends order it by code
    point, as Python does; a backend of one's own need not), though the merge itself
    compares in Python.
    """
    columns = ordering(table, order_by)
    if after is None:
        cursors: list[tuple[Any, ...] | None] = [None] * len(streams)
    else:
        if len(after) != len(streams) or not all(
            c is None or (isinstance(c, tuple) and len(c) == len(columns)) for c in after
        ):
            raise BadCursor("this cursor was not given by a page of this question")
        cursors = list(after)
    pages: list[Page] = [
        backend.select(table, where=where, order_by=order_by, limit=limit, after=cursor, **query)
        for where, cursor in zip(streams, cursors, strict=True)
    ]
    taken = [0] * len(pages)

    def key(row: Row) -> tuple[Any, ...]:
        return tuple((row[c] is not None, row[c]) for c in columns)

    out: list[Row] = []
    while len(out) < limit:
        heads = [
            (key(p.rows[i]), n)
            for n, (p, i) in enumerate(zip(pages, taken, strict=True))
            if i < len(p.rows)
        ]
        if not heads:
            break
        n = min(heads)[1]
        row = pages[n].rows[taken[n]]
        taken[n] += 1
        cursors[n] = tuple(row[c] for c in columns)
        out.append(row)
    more = any(i < len(p.rows) or p.next is not None for p, i in zip(pages, taken, strict=True))
    return out, tuple(cursors) if more else None
