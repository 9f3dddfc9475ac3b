"""Every id in a fact, made canonical through the registry.

Which keys hold which kind of id is data (:data:`ID_KEYS`), the same for every
process: ``cluster`` and ``clusters``/``spread_to`` hold clusters, ``group`` a
working group, ``members``/``parties`` any known party, ``focus_areas`` focus
areas.  An id the registry does not know is refused with ``unknown-body``
(``bad-record`` for a focus area, which is a value, not a body).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from saftale_core.errors import UnknownId
from saftale_core.facts import Fact
from saftale_core.process import refuse
from saftale_core.registry import Kind, Registry

__all__ = ["ID_KEYS", "canonical_ids"]

ID_KEYS: Mapping[str, str] = {
    "cluster": "cluster",
    "clusters": "clusters",
    "spread_to": "clusters",
    "group": "working_group",
    "members": "parties",
    "parties": "parties",
    "focus_areas": "focus_areas",
}
"""Fact keys that hold ids, and what kind of id each holds."""


def _cluster(ident: str, registry: Registry) -> str:
    canonical = registry.resolve(ident)
    if registry.kind(canonical) is not Kind.CLUSTER:
        raise UnknownId(ident, f"{ident!r} is not a cluster")
    return canonical


def _working_group(ident: str, registry: Registry) -> str:
    canonical = registry.resolve(ident)
    if registry.kind(canonical) is not Kind.WORKING_GROUP:
        raise UnknownId(ident, f"{ident!r} is not a working-group id ('arbejdsgruppe:<key>')")
    return canonical


def _focus(ids: Iterable[str], registry: Registry) -> tuple[str, ...]:
    out = []
    for ident in ids:
        canonical = registry.resolve_focus_area(ident)
        if canonical is None:
            allowed = ", ".join(registry.focus_areas)
            raise refuse(
                "bad-record", f"'focus_areas': {ident!r} is not a focus area (one of {allowed})"
            )
        out.append(canonical)
    return tuple(dict.fromkeys(out))


def _value(kind: str, value: Any, registry: Registry) -> Any:
    if kind == "cluster":
        return _cluster(value, registry)
    if kind == "working_group":
        return _working_group(value, registry)
    if kind == "clusters":
        return tuple(dict.fromkeys(_cluster(v, registry) for v in value))
    if kind == "parties":
        return tuple(dict.fromkeys(registry.resolve(v) for v in value))
    return _focus(value, registry)


def canonical_ids(fact: Fact, registry: Registry) -> Fact:
    """The fact with every id in its canonical form (a correction's replacement too)."""
    changes: dict[str, Any] = {}
    by = registry.resolve(fact.by)
    if by != fact.by:
        changes["by"] = by
    for name, kind in _id_fields(type(fact)):
        value = getattr(fact, name)
        if isinstance(value, Fact):
            new = canonical_ids(value, registry)
        elif kind is None:
            continue
        else:
            new = _value(kind, value, registry)
        if new != value:
            changes[name] = new
    return attrs.evolve(fact, **changes) if changes else fact


_ID_FIELDS: dict[type[Fact], tuple[tuple[str, str | None], ...]] = {}


def _id_fields(cls: type[Fact]) -> tuple[tuple[str, str | None], ...]:
    """The fields of a fact type that hold ids (kind) or a fact (``None``), once per type."""
    found = _ID_FIELDS.get(cls)
    if found is None:
        out: list[tuple[str, str | None]] = []
        for field in attrs.fields(cls):
            if field.name in ID_KEYS:
                out.append((field.name, ID_KEYS[field.name]))
            elif field.name == "replacement":
                out.append((field.name, None))
        found = _ID_FIELDS[cls] = tuple(out)
    return found
