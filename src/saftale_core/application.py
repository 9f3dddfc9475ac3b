"""The application API: open a store, record facts, ask about subjects.

>>> from saftale_core import Saftale, AgreementInitiated
>>> app = Saftale.open(":memory:", recorded_by="anna")
>>> receipt = app.record(AgreementInitiated(
...     subject="rygestop", on="2019-03-12", by="SSG", title="Rygestop",
...     origin="own_initiative", focus_areas=["forebyggelse"]))
>>> app.agreement("rygestop").status
'initiated'

Every write checks the fact against the process first (see
:mod:`saftale_core.process`); a refused fact raises
:class:`~saftale_core.errors.RuleViolation` and records nothing.  Two writers
on the same subject at once: one wins, the other gets
:class:`~saftale_core.errors.ConcurrencyConflict` and may retry.
"""

from __future__ import annotations

import datetime as dt
import getpass
import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import attrs
from eventsourcing.persistence import IntegrityError, PersistenceError

from saftale_core._importer import Import, ReportFailed
from saftale_core.agreement import AGREEMENT, STATUSES, AgreementState
from saftale_core.errors import (
    ConcurrencyConflict,
    RuleViolation,
    RuleWarning,
    SaftaleError,
    StoreError,
)
from saftale_core.facts import Fact, Recorded, subject_id
from saftale_core.generation import FollowUp, GenerationState, follow_up
from saftale_core.history import ImportResult, Line, LineReport, export_lines, read_lines
from saftale_core.ledger import SEAL_TOPIC, Verification
from saftale_core.ledger import verify as verify_chain
from saftale_core.process import Context, NextStep
from saftale_core.registry import Registry
from saftale_core.store import Ledger, StoreURL, default_url, open_event_store, parse_url
from saftale_core.subjects import (
    PROCESSES,
    EffectiveFact,
    decide,
    effective_facts,
    process_of,
)
from saftale_core.task import STATUSES as TASK_STATUSES
from saftale_core.task import TASK, TaskState

__all__ = [
    "AgreementReport",
    "HistoryEntry",
    "Receipt",
    "ReceivedSolution",
    "Saftale",
    "TaskReport",
]

Clock = Callable[[], dt.datetime]
HistorySource = str | Path | IO[str] | IO[bytes] | Iterable[str] | Iterable[Line]
"""A history file to import: a path, an open file, lines of text, or checked lines."""
_LEDGER_RETRIES = 200
S = TypeVar("S")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class Receipt:
    """What recording a fact gave: the stored record and any warnings (*shoulds* not met)."""

    recorded: Recorded
    warnings: tuple[RuleWarning, ...] = ()

    @property
    def fact(self) -> Fact:
        return self.recorded.fact


@attrs.frozen
class HistoryEntry:
    """One recorded fact of a subject, as an audit shows it."""

    position: int
    fact: Fact
    recorded_by: str
    recorded_at: dt.datetime
    corrected_by: tuple[int, ...] = ()
    """Positions of the corrections that point at this fact (latest last)."""
    in_force: bool = True
    """False when a later correction replaced or retracted it."""


@attrs.frozen
class AgreementReport:
    """Where a cooperation agreement stands, in the words an administrator uses."""

    subject: str
    title: str
    status: str
    """The status key (``"approved"``); :attr:`status_text` is the readable form."""
    status_text: str
    next_steps: tuple[NextStep, ...]
    councils_total: int
    councils_approved: tuple[str, ...]
    councils_rejected: tuple[str, ...]
    clusters_implementing: tuple[str, ...]
    clusters_implemented: tuple[str, ...]
    evaluation_due: str | None
    evaluation_overdue: bool
    state: AgreementState

    @property
    def approvals(self) -> str:
        """E.g. ``"approved by 12 of 20 councils"``."""
        return _approvals(self.councils_approved, self.councils_rejected, self.councils_total)


@attrs.frozen
class TaskReport:
    """Where a development task stands, and how its solution spreads."""

    subject: str
    title: str
    route: str
    """``"ssg"`` (route 1a: SSG initiated) or ``"cluster"`` (route 1b: own initiative)."""
    status: str
    status_text: str
    next_steps: tuple[NextStep, ...]
    asked: tuple[str, ...]
    accepted: tuple[str, ...]
    declined: tuple[str, ...]
    coordination: str | None
    came_from: tuple[str, ...]
    """The clusters the solution came from."""
    spread_to: tuple[str, ...]
    """The clusters SSG approved spreading it to."""
    councils_total: int
    councils_approved: tuple[str, ...]
    councils_rejected: tuple[str, ...]
    clusters_implementing: tuple[str, ...]
    clusters_implemented: tuple[str, ...]
    evaluation_due: str | None
    evaluation_overdue: bool
    state: TaskState

    @property
    def approvals(self) -> str:
        """E.g. ``"approved by 12 of 20 councils"``."""
        return _approvals(self.councils_approved, self.councils_rejected, self.councils_total)


@attrs.frozen
class ReceivedSolution:
    """A solution a cluster has received: approved to spread to it."""

    subject: str
    title: str
    came_from: tuple[str, ...]
    status: str
    """``"approved"`` (to spread), ``"implementing"`` or ``"implemented"`` in this cluster."""


def _approvals(approved: Sequence[str], rejected: Sequence[str], total: int) -> str:
    text = f"approved by {len(approved)} of {total} councils"
    if rejected:
        text += f", rejected by {len(rejected)}"
    return text


class Saftale:
    """The history of a health agreement: record facts, ask what they add up to.

    Open one with :meth:`open`.  ``registry`` defaults to the shipped registry
    (Region Midtjylland 2019-2023); ``clock`` gives the recording time (UTC)
    and is replaceable for tests; ``recorded_by`` is who enters facts unless a
    call says otherwise.
    """

    def __init__(
        self,
        store: StoreURL,
        *,
        registry: Registry | None = None,
        recorded_by: str | None = None,
        clock: Clock = _utcnow,
        create: bool = True,
    ) -> None:
        self.store = store
        self.registry = registry or Registry.default()
        self.recorded_by = recorded_by or _default_user()
        self.clock = clock
        self.last_position = 0
        """The store position of the last fact this instance recorded (for read-your-writes:
        a read model that has reached it shows the write)."""
        try:
            self._app = open_event_store(store, create=create)
        except SaftaleError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open the store {store.display}: {_reason(exc)}") from None

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        registry: Registry | None = None,
        recorded_by: str | None = None,
        clock: Clock = _utcnow,
        create: bool = True,
    ) -> Saftale:
        """Open the store at ``url`` (default: :func:`default_url`), creating it if needed.

        With ``create=False`` the store must exist: a missing SQLite file, or a file or
        database without saftale's facts, raises :class:`StoreError` and nothing is
        created. Programs that only read (an auditor's script) pass it, so that a
        mistyped path is an error rather than an empty history.
        """
        return cls(
            parse_url(default_url() if url is None else url),
            registry=registry,
            recorded_by=recorded_by,
            clock=clock,
            create=create,
        )

    def close(self) -> None:
        """Close the store's connections."""
        self._app.close()

    def __enter__(self) -> Saftale:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------

    def record(self, fact: Fact, *, recorded_by: str | None = None) -> Receipt:
        """Check ``fact`` against the rules and record it; all or nothing.

        Raises :class:`RuleViolation` (nothing recorded) or
        :class:`ConcurrencyConflict` (someone else wrote the subject meanwhile).
        """
        return self.record_many([fact], recorded_by=recorded_by)[0]

    def record_many(
        self, facts: Iterable[Fact], *, recorded_by: str | None = None
    ) -> list[Receipt]:
        """Check several facts in order, then record them in one transaction.

        Each fact is checked against the store and the facts before it in the
        batch; if one is refused, the error names it and nothing is recorded.
        """
        who = _check_recorder(recorded_by or self.recorded_by)
        now = self.clock()
        if now.tzinfo is None:
            raise SaftaleError("the clock must give an aware datetime (UTC)")
        pending: dict[str, list[Recorded]] = {}
        ctx = Context(self.registry, now, self._kind_lookup(pending))
        receipts: list[Receipt] = []
        for fact in facts:
            if not isinstance(fact, Fact):
                raise RuleViolation("bad-record", f"expected a fact, got {type(fact).__name__}")
            history = pending.get(fact.subject)
            if history is None:
                history = pending[fact.subject] = self.records(fact.subject)
            decision = decide(history, fact, ctx)
            rec = Recorded(
                originator_id=subject_id(fact.subject),
                originator_version=len(history) + 1,
                timestamp=now,
                recorded_by=who,
                fact=decision.fact,
            )
            history.append(rec)
            receipts.append(Receipt(rec, decision.warnings))
        if receipts:
            last = self._save([r.recorded for r in receipts])
            self.last_position = last
        return receipts

    def import_history(
        self,
        source: HistorySource,
        *more: HistorySource,
        recorded_by: str | None = None,
        dry_run: bool = False,
        progress: Callable[[str, int], None] | None = None,
        on_report: Callable[[LineReport], None] | None = None,
    ) -> ImportResult:
        """Check history files against the rules and the store; record all or nothing.

        Each source is a path, an open file, lines of text, or
        :class:`~saftale_core.history.Line` objects.  Several sources are one
        history, checked in the order given: a line of the second is checked
        against the facts of the first.  Every refused line of every source is
        reported; if there is one, nothing of any source is recorded.  A line
        equal to a fact already recorded (or to an earlier line) is a no-op, so
        importing the same files twice records each fact once.

        ``on_report`` sees each refused line, warning and repeated line as soon as
        it is checked, in line order (a :class:`~saftale_core.history.LineReport`
        naming its source and line); the result counts them all and keeps the
        first :data:`~saftale_core.history.REPORTS_KEPT` of each per source.  An
        exception raised by ``on_report`` stops the import, with nothing recorded,
        and comes out unchanged.

        The files stream, in bounded memory: what is checked waits in a
        temporary file (an SQLite file in the temporary folder), not in memory,
        and is then stored in one transaction; at most a few thousand subjects
        are kept in memory, and one dropped is loaded again when a later line
        needs it.  ``progress(stage, count)`` is called as lines are checked
        (``"checked"``, counted over all sources) and facts stored (``"recorded"``).
        """
        who = _check_recorder(recorded_by or self.recorded_by)
        now = self.clock()
        try:
            with Import(self, who, now, on_report) as job:
                for each in (source, *more):
                    job.begin()
                    for line in _lines_of(each):
                        job.check(line)
                        if progress is not None and job.checked % 1000 == 0:
                            progress("checked", job.checked)
                recorded = 0
                if not job.refused and not dry_run and job.new:
                    recorded = self._store_spooled(job, now, progress)
        except ReportFailed as exc:  # the caller's own error, e.g. its reader went away
            raise exc.error from None
        except OSError as exc:  # a file, or the temporary space for what was checked
            where = f"{exc.filename}: " if exc.filename else ""
            raise StoreError(
                f"could not import: {where}{exc.strerror or exc}; nothing was recorded"
            ) from None
        return ImportResult.of(job.results(), recorded)

    def _store_spooled(
        self, job: Import, now: dt.datetime, progress: Callable[[str, int], None] | None
    ) -> int:
        ledger = Ledger(self._app, self.store.kind)
        report = None if progress is None else (lambda n: progress("recorded", n))
        try:
            count, last = ledger.append(job.spooled(), at=now, progress=report)
        except IntegrityError:
            raise ConcurrencyConflict(
                "the store changed while the file was checked; nothing was recorded, "
                "import it again"
            ) from None
        except PersistenceError as exc:
            raise StoreError(f"could not record in {self.store.display}: {_reason(exc)}") from None
        self.last_position = last
        return count

    def _kind_lookup(self, pending: dict[str, list[Recorded]]) -> Callable[[str], str | None]:
        """Looks up another subject's kind: in the batch being checked, else in the store."""

        def kind_of(subject: str) -> str | None:
            history = pending.get(subject)
            if history is None:
                history = self.records(subject)
            return history[0].fact.INITIATES if history else None

        return kind_of

    def export_history(self) -> Iterator[str]:
        """The whole store as history-file lines, in recording order."""
        return export_lines(self.all_records())

    def _save(self, records: Sequence[Recorded]) -> int:
        """Store records and their seal in one transaction; the last one's position.

        Writers take turns on the hash chain (:mod:`saftale_core.ledger`): when
        only the ledger moved meanwhile, the write is sealed again and retried;
        when a subject moved, that is a :class:`ConcurrencyConflict`.
        """
        ledger = Ledger(self._app, self.store.kind)
        for attempt in itertools.count():
            try:
                return ledger.append(records, at=records[0].timestamp)[1]
            except IntegrityError:
                if attempt >= _LEDGER_RETRIES or self._subjects_moved(records):
                    subjects = sorted({r.fact.subject for r in records})
                    raise ConcurrencyConflict(", ".join(subjects)) from None
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 25)))
            except PersistenceError as exc:
                raise StoreError(
                    f"could not record in {self.store.display}: {_reason(exc)}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _subjects_moved(self, records: Sequence[Recorded]) -> bool:
        """True when a subject of ``records`` has facts beyond what they were checked on."""
        first: dict[uuid.UUID, int] = {}
        for rec in records:
            first.setdefault(rec.originator_id, rec.originator_version)
        for oid, version in first.items():
            last = self._app.recorder.select_events(oid, desc=True, limit=1)
            if (last[0].originator_version if last else 0) != version - 1:
                return True
        return False

    # -- reading ----------------------------------------------------------------

    @property
    def notification_channel(self) -> str | None:
        """The PostgreSQL channel on which the store announces its writes; ``None`` for a
        store that announces nothing (SQLite, in memory).

        eventsourcing's PostgreSQL recorder sends ``NOTIFY`` on it inside the transaction
        that stores the facts, so a session that ``LISTEN``s there hears of a write when
        it is committed, and never of one rolled back.  A notification carries nothing
        but the news that the store may hold more than before: a read model that follows
        the store with it still reads from its own position."""
        channel = getattr(self._app.recorder, "channel_name", None)
        return channel if isinstance(channel, str) else None

    def position(self) -> int:
        """The position of the latest recorded fact in the store (0 when empty).

        Positions order every fact of the store; read models track them.  They
        have gaps: each write ends with a seal (:mod:`saftale_core.ledger`) that
        takes a position of its own and is not a fact."""
        recorder = self._app.recorder
        try:
            last = recorder.max_notification_id() or 0
            if not last:
                return 0
            row = recorder.select_notifications(start=last, limit=1)
        except PersistenceError as exc:
            raise StoreError(f"could not read {self.store.display}: {_reason(exc)}") from None
        # A write's facts are stored together, just before its seal.
        return last - 1 if row and row[0].topic == SEAL_TOPIC else last

    def read(
        self,
        after: int = 0,
        limit: int = 1000,
        *,
        only: Callable[[uuid.UUID], bool] | None = None,
    ) -> list[tuple[int, Recorded]]:
        """The recorded facts among the ``limit`` stored rows after position ``after``,
        with their positions.

        ``only``: keep the facts of the subjects whose id (:func:`subject_id`) it
        accepts; the others are not even decoded (to share the facts out among
        workers, e.g. by ``subject_id.int % workers``)."""
        try:
            notes = self._app.recorder.select_notifications(
                start=after, limit=limit, inclusive_of_start=False
            )
            decode = self._app.mapper.to_domain_event
            return [
                (n.id, cast(Recorded, decode(n)))
                for n in notes
                if n.topic != SEAL_TOPIC and (only is None or only(_as_uuid(n.originator_id)))
            ]
        except PersistenceError as exc:
            raise StoreError(f"could not read {self.store.display}: {_reason(exc)}") from None

    def link(self, position: int) -> str | None:
        """The hash-chain link (:mod:`saftale_core.ledger`) of the fact stored at
        ``position``: it covers that fact and every fact before it, so it tells one
        store's history from another's.  ``None`` when no fact is stored there (a seal,
        a gap, past the end) or the fact has no well-formed link.

        Read models keep it with their position to notice that they were built from
        another store (a file replaced, a store made anew)."""
        if position < 1:
            return None
        try:
            notes = self._app.recorder.select_notifications(start=position, limit=1)
        except PersistenceError as exc:
            raise StoreError(f"could not read {self.store.display}: {_reason(exc)}") from None
        if not notes or notes[0].id != position or notes[0].topic == SEAL_TOPIC:
            return None
        try:
            chain = self._app.mapper.transcoder.decode(notes[0].state).get("chain")
        except Exception:  # an unreadable row: not a link this library wrote
            return None
        if isinstance(chain, list) and len(chain) == 2 and isinstance(chain[1], str):
            return chain[1]
        return None

    def verify(
        self, *, batch: int = 5000, progress: Callable[[int], None] | None = None
    ) -> Verification:
        """Check the hash chain over every stored fact (see :mod:`saftale_core.ledger`).

        Reads the stored rows themselves, not what the library makes of them, and
        stops at the first fact that was altered, removed, inserted or moved.
        ``progress`` gets the position reached after each batch.
        """
        recorder = self._app.recorder

        def rows() -> Iterator[Any]:
            position = 1
            while True:
                try:
                    notes = recorder.select_notifications(start=position, limit=batch)
                except PersistenceError as exc:
                    raise StoreError(
                        f"could not read {self.store.display}: {_reason(exc)}"
                    ) from None
                yield from notes
                if notes and progress is not None:
                    progress(notes[-1].id)
                if len(notes) < batch:
                    return
                position = notes[-1].id + 1

        return verify_chain(rows(), self._app.mapper.transcoder.decode)

    def records(self, subject: str) -> list[Recorded]:
        """Every fact recorded for ``subject`` as stored (empty if none), in order."""
        try:
            return cast(list[Recorded], list(self._app.events.get(subject_id(subject))))
        except PersistenceError as exc:
            raise StoreError(f"could not read {self.store.display}: {_reason(exc)}") from None

    def history(
        self, subject: str, *, as_recorded: dt.datetime | None = None
    ) -> list[HistoryEntry]:
        """Every fact recorded for ``subject``, in order, with who recorded it and when.

        ``as_recorded``: only what had been recorded by that time ("what did we know").
        Raises ``unknown-subject`` when nothing was recorded for it.
        """
        records = self._records(subject, as_recorded)
        corrected: dict[int, list[int]] = {}
        for rec in records:
            target = getattr(rec.fact, "corrects", None)
            if target is not None:
                corrected.setdefault(target, []).append(rec.position)
        in_force = {e.position for e in effective_facts(records) if e.corrected_by is None}
        return [
            HistoryEntry(
                rec.position,
                rec.fact,
                rec.recorded_by,
                rec.timestamp,
                tuple(corrected.get(rec.position, ())),
                in_force=rec.position in in_force
                or getattr(rec.fact, "corrects", None) is not None,
            )
            for rec in records
        ]

    def _records(self, subject: str, as_recorded: dt.datetime | None) -> list[Recorded]:
        records = self.records(subject)
        if as_recorded is not None:
            if as_recorded.tzinfo is None:
                raise SaftaleError("as_recorded must be an aware datetime (e.g. UTC)")
            records = [r for r in records if r.timestamp <= as_recorded]
        if not records:
            raise RuleViolation(
                "unknown-subject",
                f"nothing is recorded for the subject {subject!r}"
                + (f" as recorded at {as_recorded.isoformat()}" if as_recorded else ""),
                subject=subject,
            )
        return records

    def effective(
        self, subject: str, *, as_of: dt.date | None = None, as_recorded: dt.datetime | None = None
    ) -> list[EffectiveFact]:
        """The facts in force for ``subject`` (corrections applied).

        ``as_of``: a decision date; the facts that had certainly happened by
        then (their last possible day is not later), stopping at the first that
        had not, so the result is always a history the rules accepted.
        ``as_recorded``: only what had been recorded by that time.
        """
        entries = effective_facts(self._records(subject, as_recorded))
        if as_of is not None:
            kept: list[EffectiveFact] = []
            for entry in entries:
                if not entry.fact.on.certainly_by(as_of):
                    break
                kept.append(entry)
            entries = kept
        return entries

    def state(
        self, subject: str, *, as_of: dt.date | None = None, as_recorded: dt.datetime | None = None
    ) -> Any:
        """The state of any subject (its process's state class); ``None`` if, as of
        ``as_of``, it had not yet been initiated."""
        records = self._records(subject, as_recorded)
        process = process_of(records)
        entries = self.effective(subject, as_of=as_of, as_recorded=as_recorded)
        return process.fold((e.fact for e in entries), self.registry)

    def _typed_state(
        self,
        subject: str,
        cls: type[S],
        what: str,
        as_of: dt.date | None,
        as_recorded: dt.datetime | None,
    ) -> S:
        state = self.state(subject, as_of=as_of, as_recorded=as_recorded)
        if state is None:
            raise RuleViolation(
                "unknown-subject", f"{subject!r} had not been initiated by {as_of}", subject=subject
            )
        if not isinstance(state, cls):
            raise RuleViolation("unknown-subject", f"{subject!r} is not a {what}", subject=subject)
        return state

    def agreement(
        self,
        subject: str,
        *,
        as_of: dt.date | None = None,
        as_recorded: dt.datetime | None = None,
    ) -> AgreementReport:
        """Where a cooperation agreement stands (now, as of a decision date, or as recorded)."""
        state = self._typed_state(
            subject, AgreementState, "cooperation agreement", as_of, as_recorded
        )
        today = as_of or self.clock().date()
        due = state.effective_evaluation_due
        return AgreementReport(
            subject=state.subject,
            title=state.title,
            status=state.status,
            status_text=STATUSES[state.status],
            next_steps=tuple(AGREEMENT.next_steps(state, self.registry)),
            councils_total=len(self.registry.councils),
            councils_approved=state.approving_councils,
            councils_rejected=state.rejecting_councils,
            clusters_implementing=state.implementing_clusters,
            clusters_implemented=state.implemented_clusters,
            evaluation_due=due.text if due else None,
            evaluation_overdue=state.evaluation_overdue(today),
            state=state,
        )

    def task(
        self,
        subject: str,
        *,
        as_of: dt.date | None = None,
        as_recorded: dt.datetime | None = None,
    ) -> TaskReport:
        """Where a development task stands and how its solution spreads."""
        state = self._typed_state(subject, TaskState, "development task", as_of, as_recorded)
        today = as_of or self.clock().date()
        due = state.effective_evaluation_due
        return TaskReport(
            subject=state.subject,
            title=state.title,
            route=state.route,
            status=state.status,
            status_text=TASK_STATUSES[state.status],
            next_steps=tuple(TASK.next_steps(state, self.registry)),
            asked=state.asked,
            accepted=state.accepted,
            declined=state.declined,
            coordination=state.coordination.value if state.coordination else None,
            came_from=state.developers,
            spread_to=state.spread_to,
            councils_total=len(self.registry.councils),
            councils_approved=state.approving_councils,
            councils_rejected=state.rejecting_councils,
            clusters_implementing=state.implementing_clusters,
            clusters_implemented=state.implemented_clusters,
            evaluation_due=due.text if due else None,
            evaluation_overdue=state.evaluation_overdue(today),
            state=state,
        )

    def generation(
        self,
        subject: str,
        *,
        as_of: dt.date | None = None,
        as_recorded: dt.datetime | None = None,
    ) -> GenerationState:
        """A generation of the health agreement: its making, content and follow-up data."""
        return self._typed_state(
            subject, GenerationState, "health agreement generation", as_of, as_recorded
        )

    def follow_up(self, subject: str, *, on: dt.date | None = None) -> FollowUp:
        """What follow-up of a generation is due, delivered and overdue on a date (default:
        today), from what had been recorded as decided by then."""
        day = on or self.clock().date()
        return follow_up(self.generation(subject, as_of=day), day)

    def solutions_received(
        self, cluster: str, *, as_of: dt.date | None = None
    ) -> list[ReceivedSolution]:
        """The solutions SSG approved spreading to ``cluster``, and how far it has come."""
        canonical = self.registry.cluster(cluster).id
        out = []
        for subject, kind in self.subjects():
            if kind != TASK.initiated_by.fact.TYPE:
                continue
            try:
                state = self.state(subject, as_of=as_of)
            except RuleViolation:
                continue
            if not isinstance(state, TaskState) or canonical not in state.spread_to:
                continue
            impl = state.implementation(canonical)
            status = "approved"
            if impl is not None and impl.implemented_on is not None:
                status = "implemented"
            elif impl is not None:
                status = "implementing"
            out.append(ReceivedSolution(subject, state.title, state.developers, status))
        return out

    def subjects(self) -> list[tuple[str, str]]:
        """Every subject as ``(key, fact type that initiated it)``, in recording order."""
        out = []
        for rec in self.all_records(topics=tuple(PROCESSES)):
            out.append((rec.fact.subject, rec.fact.TYPE))
        return out

    def all_records(
        self, *, topics: Sequence[str] = (), start: int = 1, batch: int = 1000
    ) -> Iterator[Recorded]:
        """Every recorded fact in recording order (optionally only some fact types)."""
        recorder = self._app.recorder
        mapper = self._app.mapper
        position = start
        while True:
            try:
                notes = recorder.select_notifications(start=position, limit=batch, topics=topics)
            except PersistenceError as exc:
                raise StoreError(f"could not read {self.store.display}: {_reason(exc)}") from None
            for note in notes:
                if note.topic != SEAL_TOPIC:
                    yield cast(Recorded, mapper.to_domain_event(note))
            if len(notes) < batch:
                return
            position = notes[-1].id + 1


def _lines_of(source: HistorySource) -> Iterable[Line]:
    """The lines of one history source, streaming."""
    if isinstance(source, str | Path) or hasattr(source, "read"):
        return read_lines(cast(Any, source))
    items = iter(cast(Iterable[Any], source))
    head = next(items, None)
    if head is None:
        return []
    rest = itertools.chain([head], items)
    return cast(Iterable[Line], rest) if isinstance(head, Line) else read_lines(rest)


def _as_uuid(originator_id: uuid.UUID | str) -> uuid.UUID:
    return originator_id if isinstance(originator_id, uuid.UUID) else uuid.UUID(originator_id)


def _check_recorder(who: str) -> str:
    if not isinstance(who, str) or not who.strip() or "\x00" in who:
        raise RuleViolation("bad-record", f"'recorded_by' must be a non-empty name, not {who!r}")
    return who


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
