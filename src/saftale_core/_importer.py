"""Checking a history file line by line, in bounded memory (internal).

:meth:`saftale_core.Saftale.import_history` feeds every line to :class:`Import`, which
checks it against the store and the lines before it.  What it keeps in memory is
bounded, however long the file:

* the subjects it is working on, least recently used dropped beyond
  :data:`SUBJECTS_KEPT` (each with its folded state and the type and dates of its
  facts, to rule out repeats); a
  dropped subject is loaded again when a later line needs it, from the store and the
  spool;
* the whole histories of the latest few subjects (:data:`HISTORIES_KEPT`), for
  corrections and to confirm repeats.

The facts that passed wait in the **spool**, a temporary SQLite file indexed by
subject, each as its canonical stored state (the bytes the hash chain covers), until
the whole file has been checked and they are stored in one transaction.

Several files imported at once are one history: each :meth:`Import.begin` starts the
next source, whose lines are checked against the facts of the sources before it.
What a line is refused for (or warned about, or repeats) goes to ``on_report`` as it
is found; per source, only counts and the first :data:`~saftale_core.history.REPORTS_KEPT`
of each are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import attrs

from saftale_core import history as history_files
from saftale_core.errors import RuleViolation, RuleWarning
from saftale_core.facts import Fact, FactCorrected, Recorded, subject_id
from saftale_core.history import Line, LineReport, SourceResult
from saftale_core.process import Context
from saftale_core.serialization import FactMapper, Prepared, decode_stored, prepare
from saftale_core.subjects import PROCESSES, decide, decide_next, effective_facts, process_of

if TYPE_CHECKING:
    from saftale_core.application import Saftale

__all__ = ["HISTORIES_KEPT", "SUBJECTS_KEPT", "Import", "ReportFailed"]

SUBJECTS_KEPT = 2_000
"""Subjects kept in memory during an import (least recently used dropped beyond)."""

HISTORIES_KEPT = 64
"""Whole histories kept during an import (for corrections and repeats)."""

_FLUSH = 1_000
"""Checked facts buffered before they are written to the spool."""


class ReportFailed(Exception):
    """The caller's ``on_report`` raised an ``OSError`` (e.g. its reader went away):
    carried out of the import unchanged, not taken for a failure to read or spool."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@attrs.define
class _Found:
    """What an import found in one source so far: counts, and the first few of each."""

    refusals: list[tuple[int, RuleViolation]] = attrs.Factory(list)
    warnings: list[tuple[int, RuleWarning]] = attrs.Factory(list)
    already: list[int] = attrs.Factory(list)
    checked: int = 0
    refused: int = 0
    warned: int = 0
    repeated: int = 0

    def result(self) -> SourceResult:
        return SourceResult(
            tuple(self.refusals),
            tuple(self.warnings),
            tuple(self.already),
            self.checked,
            self.refused,
            self.warned,
            self.repeated,
        )


@attrs.define
class _Subject:
    """One subject as an import checks it: where it stands, and what the file adds."""

    oid: uuid.UUID
    first: Fact | None
    """Its initiating fact (``None``: not initiated yet)."""
    state: Any
    """Its state with corrections applied."""
    length: int
    steps: set[tuple[str, dt.date, dt.date]]
    """The type and dates of each of its facts: a line whose type and dates are not
    among them repeats none of them (ids may be written differently, dates may not); the
    others are confirmed against the facts."""
    last_at: dt.datetime | None = None
    """When its latest fact was recorded: a line may not claim an earlier time."""


class _Spool:
    """Checked facts waiting to be stored: a temporary SQLite file, in file order and
    indexed by subject.  Written in batches; deleted when closed."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="saftale-import-", suffix=".db")
        os.close(handle)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            # A scratch file: nothing to recover after a crash, so no journal, no syncs.
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute(
                "CREATE TABLE fact (seq INTEGER PRIMARY KEY, subject TEXT NOT NULL, "
                "oid BLOB NOT NULL, version INTEGER NOT NULL, topic TEXT NOT NULL, "
                "body BLOB NOT NULL)"
            )
            self.db.execute("CREATE INDEX fact_subject ON fact (subject, version)")
            self.db.execute("BEGIN")
        except sqlite3.Error as exc:
            self.close()
            raise _failed(exc) from None
        self._buffer: list[tuple[str, bytes, int, str, bytes]] = []

    def add(self, subject: str, item: Prepared) -> None:
        oid, version, topic, body = item
        self._buffer.append((subject, oid.bytes, version, topic, body))
        if len(self._buffer) >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            try:
                self.db.executemany(
                    "INSERT INTO fact (subject, oid, version, topic, body) VALUES (?, ?, ?, ?, ?)",
                    self._buffer,
                )
            except sqlite3.Error as exc:
                raise _failed(exc) from None
            self._buffer = []

    def of(self, subject: str) -> list[Prepared]:
        """The spooled facts of one subject, in order."""
        self.flush()
        try:
            rows = self.db.execute(
                "SELECT oid, version, topic, body FROM fact WHERE subject = ? ORDER BY version",
                (subject,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from None
        return [(uuid.UUID(bytes=o), v, t, b) for o, v, t, b in rows]

    def __iter__(self) -> Iterator[Prepared]:
        """Every spooled fact, in file order."""
        self.flush()
        try:
            cursor = self.db.execute("SELECT oid, version, topic, body FROM fact ORDER BY seq")
        except sqlite3.Error as exc:
            raise _failed(exc) from None
        while True:
            try:
                rows = cursor.fetchmany(_FLUSH)
            except sqlite3.Error as exc:
                raise _failed(exc) from None
            if not rows:
                return
            for o, v, t, b in rows:
                yield uuid.UUID(bytes=o), v, t, b

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


def _step(fact: Fact) -> tuple[str, dt.date, dt.date]:
    """What a repeat of ``fact`` must have in common with it, however written."""
    return fact.TYPE, fact.on.start, fact.on.end


def _failed(exc: sqlite3.Error) -> OSError:
    """The spool failed (e.g. no room left in the temporary folder): an ``OSError``, which
    the import reports as such, with nothing recorded."""
    return OSError(f"the import's temporary file in {tempfile.gettempdir()}: {exc}")


class Import:
    """Checks history lines one by one against the store and the lines before them.

    Use as a context manager (the spool is deleted on exit).
    """

    def __init__(
        self,
        app: Saftale,
        who: str,
        now: dt.datetime,
        on_report: Callable[[LineReport], None] | None = None,
    ) -> None:
        self.app = app
        self.who = who
        self.now = now
        self.registry = app.registry
        self.ctx = Context(app.registry, now, self._kind_of)
        self.on_report = on_report
        self.found: list[_Found] = []
        """What was found in each source begun so far."""
        self.checked = 0
        self.refused = 0
        self.new = 0
        self._mapper = cast(FactMapper, app._app.mapper)
        self._empty = app.position() == 0  # then no subject needs looking up in the store
        self._subjects: OrderedDict[str, _Subject] = OrderedDict()
        # The histories of the latest subjects looked at: to confirm repeats (a re-import
        # hits every line) and to check corrections, without reading them again.
        self._histories: OrderedDict[str, list[Recorded]] = OrderedDict()
        self._spool = _Spool()

    def __enter__(self) -> Import:
        return self

    def __exit__(self, *exc: object) -> None:
        self._spool.close()

    # -- what is known of a subject ----------------------------------------------

    def _subject(self, subject: str) -> _Subject:
        sub = self._subjects.get(subject)
        if sub is not None:
            self._subjects.move_to_end(subject)
            return sub
        history = self._history(subject)
        if not history:
            sub = _Subject(subject_id(subject), None, None, 0, set())
        else:
            process = process_of(history)
            state = process.fold((e.fact for e in effective_facts(history)), self.registry)
            steps = {_step(r.fact) for r in history}
            sub = _Subject(
                history[0].originator_id,
                history[0].fact,
                state,
                len(history),
                steps,
                history[-1].timestamp,
            )
        self._subjects[subject] = sub
        if len(self._subjects) > SUBJECTS_KEPT:
            self._subjects.popitem(last=False)
        return sub

    def _kind_of(self, subject: str) -> str | None:
        """Another subject's kind (the fact type that initiated it), for rules that name
        other subjects."""
        sub = self._subject(subject)
        return sub.first.INITIATES if sub.first is not None else None

    def _history(self, subject: str) -> list[Recorded]:
        """The subject's whole history: stored, then spooled (kept for the latest
        subjects, see ``_histories``)."""
        cached = self._histories.get(subject)
        if cached is not None:
            self._histories.move_to_end(subject)
            return cached
        history = [] if self._empty else self.app.records(subject)
        transcoder = self._mapper.transcoder
        for oid, version, topic, body in self._spool.of(subject):
            history.append(decode_stored(topic, body, oid, version, transcoder))
        self._histories[subject] = history
        if len(self._histories) > HISTORIES_KEPT:
            self._histories.popitem(last=False)
        return history

    # -- what is found ---------------------------------------------------------------

    def begin(self) -> None:
        """Start the next source: its lines are checked after those of the sources
        before it, as one history."""
        self.found.append(_Found())

    def _report(self, report: LineReport) -> None:
        if self.on_report is None:
            return
        try:
            self.on_report(report)
        except OSError as exc:
            raise ReportFailed(exc) from exc

    def _refuse(self, number: int, error: RuleViolation) -> None:
        found = self.found[-1]
        found.refused += 1
        self.refused += 1
        if len(found.refusals) < history_files.REPORTS_KEPT:
            found.refusals.append((number, error))
        self._report(LineReport(len(self.found) - 1, number, refusal=error))

    def _warn(self, number: int, warning: RuleWarning) -> None:
        found = self.found[-1]
        found.warned += 1
        if len(found.warnings) < history_files.REPORTS_KEPT:
            found.warnings.append((number, warning))
        self._report(LineReport(len(self.found) - 1, number, warning=warning))

    def _repeat(self, number: int) -> None:
        found = self.found[-1]
        found.repeated += 1
        if len(found.already) < history_files.REPORTS_KEPT:
            found.already.append(number)
        self._report(LineReport(len(self.found) - 1, number))

    def results(self) -> list[SourceResult]:
        """What was found in each source, in the order they were begun."""
        return [found.result() for found in self.found]

    # -- checking ------------------------------------------------------------------

    def check(self, line: Line) -> None:
        """Check the next line of the current source (see :meth:`begin`)."""
        if not self.found:
            self.begin()
        self.checked += 1
        self.found[-1].checked += 1
        if line.error is not None or line.fact is None:
            self._refuse(line.number, line.error or RuleViolation("bad-record", "empty line"))
            return
        fact = line.fact
        sub = self._subject(fact.subject)
        if sub.length and self._repeats(fact.subject, sub, fact):
            self._repeat(line.number)
            return
        ctx = self.ctx
        if line.recorded_at is not None:
            refusal = self._recorded_at(line.recorded_at, sub)
            if refusal is not None:
                error = RuleViolation("bad-record", refusal)
                self._refuse(line.number, error.for_fact(subject=fact.subject, fact_type=fact.TYPE))
                return
            # A line exported by saftale keeps when it was first recorded; the rules
            # are checked as of then.
            ctx = Context(self.registry, line.recorded_at, self._kind_of)
        history: list[Recorded] = []
        try:
            if isinstance(fact, FactCorrected) and sub.first is not None:
                history = self._history(fact.subject)
                decision = decide(history, fact, ctx)
            else:
                decision = decide_next(sub.first, sub.state, fact, ctx)
        except RuleViolation as exc:
            self._refuse(line.number, exc)
            return
        rec = Recorded(
            originator_id=sub.oid,
            originator_version=sub.length + 1,
            timestamp=line.recorded_at or self.now,
            recorded_by=line.recorded_by or self.who,
            fact=decision.fact,
        )
        if sub.first is None:
            sub.first = decision.fact
            sub.state = PROCESSES[decision.fact.TYPE].start(decision.fact, self.registry)
        elif isinstance(decision.fact, FactCorrected):
            effective = effective_facts([*history, rec])
            sub.state = PROCESSES[sub.first.TYPE].fold((e.fact for e in effective), self.registry)
        else:
            sub.state = PROCESSES[sub.first.TYPE].evolve(sub.state, decision.fact)
        sub.length += 1
        sub.last_at = rec.timestamp
        sub.steps.add(_step(decision.fact))
        kept = self._histories.get(fact.subject)
        if kept is not None:
            kept.append(rec)
        self._spool.add(fact.subject, prepare(rec))
        self.new += 1
        for warning in decision.warnings:
            self._warn(line.number, warning)

    def _recorded_at(self, at: dt.datetime, sub: _Subject) -> str | None:
        """Why a line's ``recorded_at`` is refused (``None``: it is not)."""
        if at > self.now:
            return f"'recorded_at' {at.isoformat()} is in the future"
        if sub.last_at is not None and at < sub.last_at:
            return (
                f"'recorded_at' {at.isoformat()} is before the subject's latest fact, "
                f"recorded {sub.last_at.isoformat()}: a subject's facts are recorded in order"
            )
        return None

    def _repeats(self, subject: str, sub: _Subject, fact: Fact) -> bool:
        if _step(fact) not in sub.steps:
            return False
        process = PROCESSES[fact.TYPE] if fact.INITIATES else None
        if process is None and sub.first is not None:
            process = PROCESSES[sub.first.TYPE]
        if process is None:
            return False
        try:
            canonical = process.canonical(fact, self.registry)
        except RuleViolation:
            return False
        return any(r.fact == canonical for r in self._history(subject))

    def spooled(self) -> Iterator[Prepared]:
        """The checked facts to record, in file order."""
        return iter(self._spool)
