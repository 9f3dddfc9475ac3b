"""The audit trail: every recorded fact, who decided, under which authority, on what
date, who recorded it and when, and the corrections linked to what they correct; and
each body's decision log, with whether each decision stands.

The trail keeps every fact as recorded, corrections too (a correction's row names the
fact it ``corrects``).  The decision log (:data:`DECISIONS`) answers another question,
"what did this body decide": one row per body and decision (a fact that is not a
correction), with its state after the corrections recorded since: it *stands* as
recorded, was *replaced* by a correction's replacement, or was *retracted*.  A
replacement may name another body (the approval was Holstebro's, not Herning's): the
decision is then in the log of both, in force only in the log of the body the
replacement names.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, cast

from saftale_core import FactCorrected, Recorded, fact_to_dict
from saftale_core.authority import NoAuthority, authority_of, processes_of
from saftale_core.canonical import ID_KEYS
from saftale_core.facts import Fact
from saftale_core.process import Process
from saftale_core.subjects import PROCESSES
from saftale_projections.protocol import Batch, Changes, Column, Index, Row, Table

__all__ = [
    "AUDIT",
    "AUDIT_PARTIES",
    "DECISIONS",
    "REPLACED",
    "RETRACTED",
    "STANDS",
    "AuditTrail",
    "decision_rows",
]

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
        # the trail filtered by body, in the trail's order
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

DECISIONS = Table(
    "decision",
    key=("body", "subject", "position"),
    columns=(
        Column("body", nullable=False),
        Column("subject", nullable=False),
        Column("position", "int", nullable=False),
        Column("fact_type", nullable=False),
        Column("on_start", "date", nullable=False),
        Column("on_text", nullable=False),
        Column("state", nullable=False),
        Column("in_force", "bool", nullable=False),
        Column("corrected_by", "int"),
    ),
    # a body's decisions in the log's order, or of a period (those not in force, few,
    # are passed over in the index)
    indexes=(Index(("body", "on_start", "subject", "position")),),
)
"""Each body's decisions: one row per body a decision (a fact at ``position`` of its
subject, not a correction) was recorded as taken by, first or in a correction's
replacement.  ``state``: :data:`STANDS`, :data:`REPLACED` or :data:`RETRACTED`, after
the latest correction of it (``corrected_by``, its position).  ``in_force``: the
decision stands, as recorded or replaced, as this body's; a decision replaced by
another body's, or retracted, is not in force.  ``fact_type`` and ``on_*`` are those of
the decision in force, or, when it is not in force for this body, of the latest version
naming this body.  Doc: ``fact`` (in force; ``None`` when retracted), ``recorded`` (the
fact first recorded, when it differs), ``recorded_by``, ``recorded_at``."""

STANDS = "stands"
"""A decision never corrected."""
REPLACED = "replaced"
"""A decision whose latest correction put another fact in its place."""
RETRACTED = "retracted"
"""A decision whose latest correction retracted it: it was never taken."""


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


def decision_rows(history: Sequence[Recorded], position: int) -> list[Row]:
    """The :data:`DECISIONS` rows of the fact at ``position`` (not a correction), after
    every correction of it in ``history`` (a subject's facts, in order; none for a
    position that is not there or holds a correction)."""
    original = next((r for r in history if r.position == position), None)
    if original is None or isinstance(original.fact, FactCorrected):
        return []
    corrections = [
        (r.position, r.fact)
        for r in history
        if isinstance(r.fact, FactCorrected) and r.fact.corrects == position
    ]
    if not corrections:
        return [_decision_row(original, original.fact, original.fact.by, STANDS, None, None)]
    latest, last = corrections[-1]
    in_force = last.replacement
    state = RETRACTED if in_force is None else REPLACED
    versions = [
        original.fact,
        *(c.replacement for _, c in corrections if c.replacement is not None),
    ]
    out = []
    for body in dict.fromkeys(v.by for v in versions):
        if in_force is not None and in_force.by == body:
            shown = in_force
        else:
            shown = next(v for v in reversed(versions) if v.by == body)
        out.append(_decision_row(original, shown, body, state, latest, in_force))
    return out


def _decision_row(
    original: Recorded,
    shown: Fact,
    body: str,
    state: str,
    corrected_by: int | None,
    in_force: Fact | None,
    recorded: dict[str, Any] | None = None,
) -> Row:
    """A decision's row in ``body``'s log; ``shown``: the version whose type and date the
    row has; ``in_force``: the fact in force (for a decision never corrected, give
    ``state`` :data:`STANDS`, and ``recorded``, the fact's history-file form, if known)."""
    if state == STANDS:
        doc: dict[str, Any] = {"fact": recorded or fact_to_dict(original.fact)}
        standing = True
    else:
        doc = {
            "fact": None if in_force is None else fact_to_dict(in_force),
            "recorded": fact_to_dict(original.fact),
        }
        standing = in_force is not None and in_force.by == body
    doc["recorded_by"] = original.recorded_by
    doc["recorded_at"] = original.timestamp.isoformat()
    return {
        "body": body,
        "subject": original.fact.subject,
        "position": original.position,
        "fact_type": shown.TYPE,
        "on_start": shown.on.start,
        "on_text": shown.on.text,
        "state": state,
        "in_force": standing,
        "corrected_by": corrected_by,
        "doc": doc,
    }


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
    """Every fact as an auditor reads it, and each body's decision log."""

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "audit"
    version = 3
    tables = (AUDIT, AUDIT_PARTIES, DECISIONS)

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
            if correction is None:
                put(
                    DECISIONS,
                    {
                        "body": fact.by,
                        "subject": subject,
                        "position": position,
                        "fact_type": fact.TYPE,
                        "on_start": on.start,
                        "on_text": on.text,
                        "state": STANDS,
                        "in_force": True,
                        "corrected_by": None,
                        "doc": {
                            "fact": recorded,
                            "recorded_by": record.recorded_by,
                            "recorded_at": recorded_at,
                        },
                    },
                )
                continue
            # The rows of the corrected decision, from its subject's facts up to this one
            # (the store may hold more). Every body named before stays named, so the puts
            # replace every row the decision had.
            known = [r for r in history(subject) if r.position <= position]
            for decision in decision_rows(known, correction.corrects):
                put(DECISIONS, decision)


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
