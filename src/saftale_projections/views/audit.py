"""The audit trail: every recorded fact, who decided, under which authority, on what
date, who recorded it and when, and the corrections linked to what they correct."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

from saftale_core import FactCorrected, Recorded, fact_to_dict
from saftale_core.authority import NoAuthority, authority_of, processes_of
from saftale_core.canonical import ID_KEYS
from saftale_core.process import Process
from saftale_core.subjects import PROCESSES
from saftale_projections.protocol import Batch, Changes, Column, Index, Table

__all__ = ["AUDIT", "AUDIT_PARTIES", "AuditTrail"]

AUDIT = Table(
    "audit",
    key=("subject", "position"),
    columns=(
        Column("subject", nullable=False),
        Column("position", "int", nullable=False),
        Column("store_position", "int", nullable=False),
        Column("fact_type", nullable=False),
        Column("by", nullable=False),
        Column("on_start", "date", nullable=False),
        Column("on_end", "date", nullable=False),
        Column("on_text", nullable=False),
        Column("recorded_by", nullable=False),
        Column("recorded_at", nullable=False),
        Column("corrects", "int"),
    ),
    indexes=(
        # a body's decisions, and the trail filtered by body, in the trail's order
        Index(("by", "on_start", "subject", "position")),
        # the whole trail, or a period of it, in order (a subject's: by the key)
        Index(("on_start", "subject", "position")),
        # the corrections of a fact: only the few rows that correct one
        Index(("subject", "corrects", "position"), where_not_null=("corrects",)),
    ),
)
"""One row per recorded fact; a correction's row names the position it ``corrects``
(find the corrections of a fact by selecting ``corrects == position``).  The doc holds
the ``fact`` as in a history file and its ``authority``
(:meth:`saftale_core.authority.Authority.to_dict`; ``None`` for a fact whose step the
code no longer has)."""

AUDIT_PARTIES = Table(
    "audit_party",
    key=("party", "subject", "position"),
    columns=(
        Column("party", nullable=False),
        Column("subject", nullable=False),
        Column("position", "int", nullable=False),
        Column("on_start", "date", nullable=False),
    ),
    # the facts naming a party, in the trail's order
    indexes=(Index(("party", "on_start", "subject", "position")),),
)
"""Every party a fact names (``by``, clusters, councils, members, parties), for
filtering the trail by party."""


_PARTY_KEYS: dict[type, tuple[str, ...]] = {}


def _party_keys(cls: type) -> tuple[str, ...]:
    """The keys of :data:`ID_KEYS` (but focus areas) a fact of class ``cls`` may have: all
    of them for a class whose instances may have attributes of their own, else those the
    class has (``getattr`` finds no other)."""
    found = _PARTY_KEYS.get(cls)
    if found is None:
        keys = [key for key, kind in ID_KEYS.items() if kind != "focus_areas"]
        if not all("__slots__" in vars(k) for k in cls.__mro__[:-1]):
            found = tuple(keys)
        else:
            found = tuple(key for key in keys if hasattr(cls, key))
        _PARTY_KEYS[cls] = found
    return found


def parties_of(record: Recorded) -> list[str]:
    fact = record.fact
    out = [fact.by]
    for key in _party_keys(type(fact)):
        value = getattr(fact, key, None)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, tuple):
            out += [v for v in value if isinstance(v, str)]
    return list(dict.fromkeys(out))


class _Processes:
    """The process of each subject seen lately, per store (bounded: the least recently
    used are dropped, and read again from the store when needed)."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._by_store: weakref.WeakKeyDictionary[Any, OrderedDict[str, Process[Any]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, store: Any, subject: str) -> Process[Any] | None:
        with self._lock:
            kept = self._by_store.get(store)
            if kept is None:
                return None
            found = kept.get(subject)
            if found is not None:
                kept.move_to_end(subject)
            return found

    def put(self, store: Any, subject: str, process: Process[Any]) -> None:
        with self._lock:
            kept = self._by_store.get(store)
            if kept is None:
                kept = self._by_store[store] = OrderedDict()
            kept[subject] = process
            while len(kept) > self.size:
                kept.popitem(last=False)


_processes = _Processes()
_UNIQUE: dict[str, dict[str, Any] | None] = {}
"""The stored authority of a fact type that only one process has (neither an initiating
fact, whose subject's process is kept, nor a correction)."""
_STEP: dict[tuple[str, str], dict[str, Any] | None] = {}
"""The stored authority of a step by process kind and fact type (no correction)."""


class AuditTrail:
    """Every fact as an auditor reads it."""

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "audit"
    version = 2
    tables = (AUDIT, AUDIT_PARTIES)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        histories: dict[str, list[Recorded]] = {}

        def history(subject: str) -> list[Recorded]:
            found = histories.get(subject)
            if found is None:
                found = histories[subject] = list(store.records(subject))
            return found

        put = changes.put
        for store_position, record in batch.items:
            fact = record.fact
            subject = fact.subject
            position = record.position
            on = fact.on
            recorded = fact_to_dict(fact)
            recorded_at = record.timestamp.isoformat()
            correction = fact if isinstance(fact, FactCorrected) else None
            authority = _UNIQUE.get(fact.TYPE, _UNKNOWN) if correction is None else _UNKNOWN
            if authority is _UNKNOWN:
                authority = _authority(store, record, history)
            put(
                AUDIT,
                {
                    "subject": subject,
                    "position": position,
                    "store_position": store_position,
                    "fact_type": fact.TYPE,
                    "by": fact.by,
                    "on_start": on.start,
                    "on_end": on.end,
                    "on_text": on.text,
                    "recorded_by": record.recorded_by,
                    "recorded_at": recorded_at,
                    "corrects": None if correction is None else correction.corrects,
                    "doc": {"fact": recorded, "authority": authority},
                },
            )
            for party in parties_of(record):
                put(
                    AUDIT_PARTIES,
                    {
                        "party": party,
                        "subject": subject,
                        "position": position,
                        "on_start": on.start,
                    },
                )


_UNKNOWN: Any = object()


def _authority(
    store: Any, record: Recorded, history: Callable[[str], list[Recorded]]
) -> dict[str, Any] | None:
    """The stored authority of a recorded fact (``None``: its step is not in the code)."""
    fact = record.fact
    subject = fact.subject
    only = processes_of(fact.TYPE)
    process: Process[Any] | None
    if fact.INITIATES:
        process = PROCESSES.get(fact.TYPE)
        if process is not None:
            _processes.put(store, subject, process)
    elif len(only) == 1:
        process = only[0]
    else:
        process = _processes.get(store, subject)
        if process is None:
            facts = history(subject)
            process = PROCESSES.get(facts[0].fact.TYPE) if facts else None
            if process is not None:
                _processes.put(store, subject, process)
    if process is None:
        return None
    if isinstance(fact, FactCorrected):
        try:
            return authority_of(fact, process).to_dict()
        except NoAuthority:
            return None
    key = (process.kind, fact.TYPE)
    found = _STEP.get(key, _UNKNOWN)
    if found is _UNKNOWN:
        try:
            found = authority_of(fact, process).to_dict()
        except NoAuthority:
            found = None
        _STEP[key] = found
        if len(only) == 1 and not fact.INITIATES:  # (an initiating fact names its process)
            _UNIQUE[fact.TYPE] = found
    return cast(dict[str, Any] | None, found)
