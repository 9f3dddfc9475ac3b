"""Keeping a subject's rows current batch by batch, without reading its history again.

The subject views (:mod:`~saftale_projections.views.subjects`,
:mod:`~saftale_projections.views.deadlines`) derive rows from a subject's timeline
(:func:`saftale_core.subjects.timeline`): the state after each fact in force, from the
day all the facts behind it had certainly happened.  A row holds over a *run* of
consecutive timeline entries whose state gives it, from the day of the first
(``valid_from``) to the day of the first entry that no longer gives it (``valid_to``,
exclusive; ``None``: it still holds).  A row may name the first day it can hold (its own
``valid_from``: a follow-up deadline whose period begins later than the facts that make
it): its run then begins on that day, or never, if its entries are over by then.

A fact that is not a correction only adds to the end of the timeline: it either
replaces the last entry (its day is no later than the day the subject already stood
on) or opens a new one.  So a subject's rows can be kept current from a little state
kept between batches (:class:`Subject`): its folded state, the day of its last entry,
the runs still open before that entry, and the rows that entry may still change.  Only
rows that differ from what the view holds are written.

The kept state is a cache, bounded (:class:`SubjectCache`, least recently used
subjects are dropped) and never trusted blindly: it is used for a batch only when it
stands exactly on the version before the subject's first fact in the batch, which is
then what the view holds for the subject (the runner writes a batch only on top of
the position it was read after, and the rows are a function of the history).  In every
other case (a subject not in the cache, after a restart, a rebuild, a batch written
by another runner, a :class:`~saftale_projections.StalePosition`, or a correction,
which changes the past), the subject's rows are derived again from its history up to
the batch, as before.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from saftale_core.facts import FactCorrected, Recorded
from saftale_core.subjects import effective_facts, process_of
from saftale_projections.protocol import Batch, Changes, Table, key_of

__all__ = ["RowsOf", "Subject", "SubjectCache", "apply_subject_runs", "fold_memo"]

Ident = tuple[str, Any]
"""A row's identity within a subject: (table name, what makes it the same row)."""
Key = tuple[str, tuple[Any, ...]]
"""A stored row's key: (table name, values of the table's key columns)."""
Row = dict[str, Any]
KeyOf = Callable[[Row], tuple[Any, ...]]
"""How to take the key of a row of one table (:func:`~saftale_projections.protocol.key_of`)."""

RowsOf = Callable[[Any, Any, Any], Mapping[Ident, Row]]
"""``rows_of(process, state, registry)``: the rows a state gives, by identity (without
``valid_to``; with ``valid_from`` only for a row that holds from a later day than the
state, see the module docs)."""

SUBJECTS_KEPT = 1_000
"""How many subjects a view keeps between batches (per store)."""


class Subject:
    """What a view keeps of one subject between batches."""

    __slots__ = ("base", "day", "open", "process", "state", "version", "written")

    def __init__(self, process: Any) -> None:
        self.process = process
        self.version = 0
        """How many facts of the subject's history are folded in."""
        self.state: Any = None
        self.day: dt.date | None = None
        """The day of the last timeline entry (when all its facts had certainly happened)."""
        self.base: dict[Ident, tuple[Key, Row]] = {}
        """The runs open before the last entry (``valid_to`` is ``None``), with their keys."""
        self.open: dict[Ident, tuple[Key, Row]] = {}
        """The runs open after the last entry, with their keys."""
        self.written: dict[Key, Row] = {}
        """The rows the last entry may still change, as the view holds them: the runs of
        ``base`` (closed on ``day`` or still open) and the runs opened on ``day``."""


class SubjectCache:
    """Subjects kept per store, least recently used dropped beyond ``size``."""

    def __init__(self, size: int = SUBJECTS_KEPT) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._by_store: weakref.WeakKeyDictionary[Any, OrderedDict[str, Subject]] = (
            weakref.WeakKeyDictionary()
        )

    def take(self, store: Any, subject: str) -> Subject | None:
        """Remove and return what is kept of ``subject`` (``put`` it back when done: a
        batch that fails half-way leaves nothing half-updated behind)."""
        with self._lock:
            kept = self._by_store.get(store)
            return None if kept is None else kept.pop(subject, None)

    def put(self, store: Any, subject: str, entry: Subject) -> None:
        with self._lock:
            kept = self._by_store.get(store)
            if kept is None:
                kept = self._by_store[store] = OrderedDict()
            kept[subject] = entry
            while len(kept) > self.size:
                kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._by_store.clear()


class _FoldMemo:
    """States after each fact, shared by the views of one process: ``(subject, version)``
    to ``(state, day)``.  A store's history never changes, so an entry never goes stale;
    it only saves the second view of a batch folding the same facts again."""

    def __init__(self, size: int = 6_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._by_store: weakref.WeakKeyDictionary[
            Any, OrderedDict[tuple[str, int], tuple[Any, dt.date]]
        ] = weakref.WeakKeyDictionary()

    def get(self, store: Any, subject: str, version: int) -> tuple[Any, dt.date] | None:
        with self._lock:
            kept = self._by_store.get(store)
            return None if kept is None else kept.get((subject, version))

    def put(self, store: Any, subject: str, version: int, value: tuple[Any, dt.date]) -> None:
        with self._lock:
            kept = self._by_store.get(store)
            if kept is None:
                kept = self._by_store[store] = OrderedDict()
            kept[(subject, version)] = value
            while len(kept) > self.size:
                kept.popitem(last=False)


fold_memo = _FoldMemo()


def _step(
    entry: Subject,
    state: Any,
    end: dt.date,
    rows: Mapping[Ident, Row],
    keys: Mapping[str, KeyOf],
    finalized: dict[Key, Row],
) -> None:
    """Add one fact in force (whose last possible day is ``end``) to the end of the
    subject's timeline; ``rows``: what the state after it gives; ``keys``: how to take
    the key of a row of each table."""
    last = entry.day
    day = end if last is None or end > last else last
    if last is not None and day != last:
        # the last entry is followed by another: the runs it closed are final
        for key, run in entry.written.items():
            if run["valid_to"] is not None:
                finalized[key] = run
        entry.base = entry.open
    entry.state = state
    entry.day = day
    base = entry.base
    opened: dict[Ident, tuple[Key, Row]] = {}
    written: dict[Key, Row] = {}
    for ident, kept in base.items():
        row = rows.get(ident)
        since = kept[1]["valid_from"]
        if row is not None and _from(row, day) == (day if since < day else since):
            # it goes on (it held before the day and holds on it; or it begins on the
            # same later day as before)
            opened[ident] = kept
            written[kept[0]] = kept[1]
        elif since < day:
            written[kept[0]] = {**kept[1], "valid_to": day}
        # else: it was to begin on the day or later, and does not (or begins another day)
    if len(opened) != len(rows):
        for ident, row in rows.items():
            if ident not in opened:
                run = {**row, "valid_from": _from(row, day), "valid_to": None}
                table = ident[0]
                key = (table, keys[table](run))
                opened[ident] = (key, run)
                written[key] = run
    entry.open = opened
    entry.written = written


def _from(row: Row, day: dt.date) -> dt.date:
    """The first day a row that a state from ``day`` on gives holds: ``day``, or the later
    day the row names."""
    since: dt.date | None = row.get("valid_from")
    return day if since is None or since < day else since


def apply_subject_runs(
    batch: Batch,
    changes: Changes,
    store: Any,
    *,
    tables: Sequence[Table],
    cache: SubjectCache,
    rows_of: RowsOf,
) -> None:
    """Turn a batch into row changes of every subject it touches."""
    by_name = {t.name: t for t in tables}
    keys = {t.name: key_of(t) for t in tables}
    touched: dict[str, list[Recorded]] = {}
    for _, record in batch.items:
        touched.setdefault(record.fact.subject, []).append(record)
    for subject, records in touched.items():
        entry = cache.take(store, subject)
        first = records[0].originator_version
        corrects = any(isinstance(r.fact, FactCorrected) for r in records)
        finalized: dict[Key, Row] = {}
        if entry is not None and entry.version == first - 1 and not corrects:
            before = entry.written
            _fold(entry, subject, records, store, keys, rows_of, finalized)
        elif first == 1 and not corrects:
            # the subject begins in this batch: the view holds nothing of it yet
            before = {}
            entry = Subject(process_of(records))
            _fold(entry, subject, records, store, keys, rows_of, finalized)
        else:
            before = {}
            for table in tables:
                changes.delete(table, subject=subject)
            # up to the batch (the store may have moved on); by version, as a store seen as
            # of a recording time (the command line's --known-on) may leave some out
            until = records[-1].originator_version
            history = [r for r in store.records(subject) if r.originator_version <= until]
            if not history:
                continue
            entry = Subject(process_of(history))
            _fold_all(entry, history, store, keys, rows_of, finalized)
        entry.version = records[-1].originator_version
        after = {**finalized, **entry.written}
        for key, run in after.items():
            if before.get(key) != run:
                changes._put(by_name[key[0]], key[1], run)
        for key in before:
            if key not in after:
                table = by_name[key[0]]
                changes.delete(table, **dict(zip(table.key, key[1], strict=True)))
        cache.put(store, subject, entry)


def _fold(
    entry: Subject,
    subject: str,
    records: Iterable[Recorded],
    store: Any,
    keys: Mapping[str, KeyOf],
    rows_of: RowsOf,
    finalized: dict[Key, Row],
) -> None:
    """Fold recorded facts (none a correction, so all in force) into ``entry``.  Runs that
    become final are added to ``finalized``."""
    process, registry = entry.process, store.registry
    for record in records:
        fact, version = record.fact, record.originator_version
        memo = fold_memo.get(store, subject, version)
        if memo is None:
            state = (
                process.start(fact, registry)
                if entry.state is None
                else process.evolve(entry.state, fact)
            )
            fold_memo.put(store, subject, version, (state, fact.on.end))
        else:
            state = memo[0]
        _step(entry, state, fact.on.end, rows_of(process, state, registry), keys, finalized)


def _fold_all(
    entry: Subject,
    history: Sequence[Recorded],
    store: Any,
    keys: Mapping[str, KeyOf],
    rows_of: RowsOf,
    finalized: dict[Key, Row],
) -> None:
    process, registry = entry.process, store.registry
    for effective in effective_facts(history):
        fact = effective.fact
        state = (
            process.start(fact, registry)
            if entry.state is None
            else process.evolve(entry.state, fact)
        )
        _step(entry, state, fact.on.end, rows_of(process, state, registry), keys, finalized)
