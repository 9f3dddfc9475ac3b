"""The audit trail: every recorded fact, who decided, under which authority, on what
date, who recorded it and when, and the corrections linked to what they correct."""

from __future__ import annotations

from typing import Any

from saftale_core import FactCorrected, Recorded, fact_to_dict
from saftale_core.canonical import ID_KEYS
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
(find the corrections of a fact by selecting ``corrects == position``)."""

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


class AuditTrail:
    """Every fact as an auditor reads it."""

    per_subject = True
    """Every row comes from the facts of one subject (see :mod:`saftale_projections.parallel`)."""
    name = "audit"
    version = 1
    tables = (AUDIT, AUDIT_PARTIES)

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        for store_position, record in batch.items:
            fact = record.fact
            row: dict[str, Any] = {
                "subject": fact.subject,
                "position": record.position,
                "store_position": store_position,
                "fact_type": fact.TYPE,
                "by": fact.by,
                "on_start": fact.on.start,
                "on_end": fact.on.end,
                "on_text": fact.on.text,
                "recorded_by": record.recorded_by,
                "recorded_at": record.timestamp.isoformat(),
                "corrects": fact.corrects if isinstance(fact, FactCorrected) else None,
                "doc": fact_to_dict(fact),
            }
            changes.put(AUDIT, row)
            for party in parties_of(record):
                changes.put(
                    AUDIT_PARTIES,
                    {
                        "party": party,
                        "subject": fact.subject,
                        "position": record.position,
                        "on_start": fact.on.start,
                    },
                )
