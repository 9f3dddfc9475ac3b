"""How facts become JSON and back: the project's own cattrs converter and the
``eventsourcing`` mapper that stores :class:`~saftale_core.facts.Recorded` events.

The converter is strict: text must be text, a flag must be ``true`` or
``false``, a number must be a whole number, and unknown keys are refused; it
never turns ``123`` into ``"123"`` or ``"false"`` into ``True``.  Everything it
refuses is a :class:`~saftale_core.errors.RuleViolation` (``bad-record`` or
``bad-date``).

Stored form (one JSON object per fact, the fact's own keys plus the envelope)::

    topic: "ApprovedBySSG"                      (the fact's stable type name)
    state: {"v": 1, "recorded_by": "anna", "recorded_at": "2019-05-24T08:00:00+00:00",
            "subject": "rygestop", "on": "2019-05-23", "by": "SSG", ...}

A stored form of an older schema version is upcast on reading with the fact
class's ``UPCASTERS``.  Decoding never checks a process rule.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping
from typing import Any, cast
from uuid import UUID

import attrs
import cattrs
import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from saftale_core.dates import Period
from saftale_core.errors import RuleViolation
from saftale_core.facts import FACT_TYPES, Fact, FactCorrected, Recorded
from saftale_core.ledger import LEDGER_ID, SEAL_TOPIC, canonical, link

__all__ = [
    "FactMapper",
    "OrjsonTranscoder",
    "Prepared",
    "converter",
    "decode_stored",
    "fact_from_dict",
    "fact_to_dict",
    "prepare",
    "stored_state",
    "with_chain",
]

ENVELOPE_KEYS = frozenset({"v", "recorded_by", "recorded_at"})


def _bad(why: str) -> RuleViolation:
    return RuleViolation("bad-record", why)


def _strict_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        raise _bad(f"expected text, got {type(value).__name__} {value!r}")
    return value


def _strict_bool(value: object, _: type) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"expected true or false, got {value!r}")
    return value


def _strict_int(value: object, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"expected a whole number, got {value!r}")
    return value


def _strict_number(value: object, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"expected a number, got {value!r}")
    return value


def _period(value: object, _: type) -> Period:
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise RuleViolation("bad-date", f"expected a date string, got {value!r}")
    return Period.parse(value)


def _periods(value: object, _: type) -> tuple[Period, ...]:
    if isinstance(value, str):
        return (_period(value, Period),)
    if not isinstance(value, list | tuple):
        raise RuleViolation("bad-date", f"expected a date or a list of dates, got {value!r}")
    return tuple(_period(v, Period) for v in value)


def _strings(value: object, _: type) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _bad(f"expected a list, got {type(value).__name__} {value!r}")
    for item in value:
        if not isinstance(item, str):
            raise _bad(f"expected a list of text, got an item {item!r}")
    return tuple(value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_number)
    conv.register_structure_hook(Period, _period)
    conv.register_unstructure_hook(Period, lambda p: p.text)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _strings)
    conv.register_structure_hook_func(lambda t: t == tuple[Period, ...], _periods)
    conv.register_structure_hook(UUID, lambda v, _: UUID(v))
    conv.register_unstructure_hook(UUID, str)
    conv.register_structure_hook(dt.datetime, lambda v, _: dt.datetime.fromisoformat(v))
    conv.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
    # A fact stored inside another (a correction's replacement) carries its type tag.
    conv.register_structure_hook_func(lambda t: t is Fact, lambda v, _: fact_from_dict(v))
    return conv


def _enum_structure(value: object, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise _bad(f"expected one of {allowed}, got {value!r}") from None


converter: cattrs.Converter = _make_converter()
"""The project's converter (never the global one)."""
converter.register_structure_hook_func(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_structure
)


def fact_to_dict(fact: Fact) -> dict[str, Any]:
    """The history-file form of a fact: ``{"type": ..., "subject": ..., ...}``.

    Keys whose value is ``None`` are left out.
    """
    out: dict[str, Any] = {"type": fact.TYPE}
    for key, value in _unstructure_fields(fact).items():
        if value is not None:
            out[key] = value
    return out


def _value(value: object) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is Period:
        return cast(Period, value).text
    if kind is tuple:
        return [_value(v) for v in cast(tuple[object, ...], value)]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Fact):
        return fact_to_dict(value)
    return converter.unstructure(value)


def _unstructure_fields(fact: Fact) -> dict[str, Any]:
    cls = type(fact)
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in attrs.fields(cls))
    return {name: _value(getattr(fact, name)) for name in names}


_NAMES: dict[type[Fact], tuple[str, ...]] = {}


def fact_from_dict(data: Mapping[str, Any], *, allow_envelope: bool = False) -> Fact:
    """Build a fact from its history-file form, checking every key's shape.

    Raises :class:`~saftale_core.errors.RuleViolation` (``bad-record``,
    ``bad-date``) naming what is wrong.
    """
    if not isinstance(data, Mapping):
        raise _bad(f"a fact must be a JSON object, not {type(data).__name__}")
    type_name = data.get("type")
    if not isinstance(type_name, str):
        raise _bad("the key 'type' is missing or not text")
    cls = FACT_TYPES.get(type_name)
    if cls is None:
        raise _bad(f"unknown fact type {type_name!r}")
    payload = {
        k: v for k, v in data.items() if k != "type" and not (allow_envelope and k in ENVELOPE_KEYS)
    }
    return _structure(cls, payload)


def _structure(cls: type[Fact], payload: Mapping[str, Any]) -> Fact:
    names = _FIELDS.get(cls)
    if names is None:
        fields = attrs.fields(cls)
        names = (
            frozenset(f.name for f in fields),
            tuple(f.name for f in fields if f.default is attrs.NOTHING),
        )
        _FIELDS[cls] = names
    known, required = names
    unknown = sorted(set(payload) - known)
    if unknown:
        raise _bad(f"{cls.TYPE} has no key {', '.join(map(repr, unknown))}")
    missing = [k for k in required if k not in payload]
    if missing:
        raise _bad(f"{cls.TYPE} needs the key {', '.join(map(repr, missing))}")
    if cls is FactCorrected and payload.get("replacement") is not None:
        replacement = payload["replacement"]
        if isinstance(replacement, Mapping) and "subject" not in replacement:
            replacement = {**replacement, "subject": payload.get("subject")}
        payload = {**payload, "replacement": replacement}
    try:
        return converter.structure(dict(payload), cls)
    except RuleViolation as exc:
        key = _failing_key(cls, payload)
        where = f"{cls.TYPE}: {key!r}: " if key and repr(key) not in exc.detail else f"{cls.TYPE}: "
        raise RuleViolation(exc.code, where + exc.detail) from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise _bad(f"{cls.TYPE}: {exc}") from None


def _failing_key(cls: type[Fact], payload: Mapping[str, Any]) -> str | None:
    """Which key made structuring fail (only computed on the error path)."""
    attrs.resolve_types(cls)
    for field in attrs.fields(cls):
        if field.name not in payload or field.type is None:
            continue
        try:
            value = converter.structure(payload[field.name], field.type)
            if field.converter is not None and callable(field.converter):
                field.converter(value)
        except Exception:
            return str(field.name)
    return None


_FIELDS: dict[type[Fact], tuple[frozenset[str], tuple[str, ...]]] = {}


class OrjsonTranscoder(Transcoder):
    """JSON bytes with orjson: about twice as fast as the stock transcoder, and exact."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class FactMapper(Mapper[UUID]):
    """Stores :class:`~saftale_core.facts.Recorded` events under the fact's type name."""

    def __init__(self, transcoder: Transcoder | None = None) -> None:
        super().__init__(transcoder or OrjsonTranscoder())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """A fact without its chain link (what :mod:`~saftale_core.ledger` would call
        inserted): the library stores facts with :meth:`sealed` only."""
        event = cast(Recorded, domain_event)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=event.fact.TYPE,
            state=self.transcoder.encode(stored_state(event)),
        )

    def sealed(self, event: Recorded | Prepared, previous: str) -> tuple[StoredEvent, str]:
        """The stored form of ``event`` as the link after ``previous``; and its own hash.

        The stored state is the canonical JSON of the fact (the bytes the hash covers)
        with the chain link appended as its last key, so it is encoded once."""
        if isinstance(event, Recorded):
            event = prepare(event)
        originator_id, version, topic, body = event
        own = link(previous, topic, originator_id, version, body)
        return (
            StoredEvent(
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=with_chain(body, previous, own),
            ),
            own,
        )

    def seal(
        self, version: int, at: dt.datetime, previous: str, head: str, count: int
    ) -> StoredEvent:
        """The ledger entry that closes a write of ``count`` facts."""
        state = {"previous": previous, "head": head, "count": count, "at": at.isoformat()}
        return StoredEvent(
            originator_id=LEDGER_ID,
            originator_version=version,
            topic=SEAL_TOPIC,
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return decode_stored(
            stored_event.topic,
            stored_event.state,
            stored_event.originator_id,
            stored_event.originator_version,
            self.transcoder,
        )


Prepared = tuple[UUID, int, str, bytes]
"""A recorded fact ready to store: subject id, version, type name, and its stored state
as canonical JSON (:func:`saftale_core.ledger.canonical`, without the chain link)."""


def prepare(event: Recorded) -> Prepared:
    """``event`` as :data:`Prepared` (plain data: cheap to spool to disk and back)."""
    return (
        event.originator_id,
        event.originator_version,
        event.fact.TYPE,
        canonical(stored_state(event)),
    )


def with_chain(body: bytes, previous: str, own: str) -> bytes:
    """A canonical stored state (a JSON object) with ``"chain": [previous, own]`` added
    as its last key.  ``previous`` and ``own`` are hex digests: nothing to escape."""
    if len(body) < 3 or body[:1] != b"{" or body[-1:] != b"}":
        raise ValueError("a stored state is a non-empty JSON object")
    return b'%s,"chain":["%s","%s"]}' % (
        body[:-1],
        previous.encode("ascii"),
        own.encode("ascii"),
    )


def stored_state(event: Recorded) -> dict[str, Any]:
    """What the store keeps of a recorded fact, as a dict (without its chain link)."""
    fact = event.fact
    state: dict[str, Any] = {
        "v": fact.VERSION,
        "recorded_by": event.recorded_by,
        "recorded_at": event.timestamp.isoformat(),
    }
    state.update(_unstructure_fields(fact))
    return state


def decode_stored(
    topic: str,
    state_bytes: bytes,
    originator_id: UUID | str,
    originator_version: int,
    transcoder: Transcoder,
) -> Recorded:
    """Decode one stored fact (upcasting older schema versions); never checks a rule."""
    cls = FACT_TYPES.get(topic)
    if cls is None:
        raise _bad(
            f"the store holds a fact of unknown type {topic!r}: "
            "is this saftale version older than the one that wrote it?"
        )
    state = transcoder.decode(state_bytes)
    state.pop("chain", None)
    version = state.pop("v", 1)
    if not isinstance(version, int) or version > cls.VERSION:
        raise _bad(
            f"{_where(topic, originator_id, originator_version)} has schema version "
            f"{version!r}, newer than this saftale's "
            f"{cls.VERSION}: upgrade saftale to read it"
        )
    try:
        while version < cls.VERSION:
            state = cls.UPCASTERS[version](state)
            version += 1
        recorded_by = state.pop("recorded_by")
        recorded_at = _moment(state.pop("recorded_at"))
    except (KeyError, TypeError, ValueError) as exc:
        where = _where(topic, originator_id, originator_version)
        raise _bad(f"{where} cannot be read: {type(exc).__name__}: {exc}") from None
    try:
        fact = converter.structure(state, cls)
    except RuleViolation:
        # A fact stored under looser checks than today's: replay must not fail.
        fact = _unchecked(cls, state)
    except Exception as exc:  # a malformed stored state, whatever cattrs raises
        try:
            fact = _structure(cls, state)
        except RuleViolation as violation:
            where = _where(topic, originator_id, originator_version)
            raise _bad(f"{where} cannot be read: {violation.detail}") from None
        where = _where(topic, originator_id, originator_version)
        raise _bad(f"{where} cannot be read: {type(exc).__name__}: {exc}") from None
    oid = originator_id if isinstance(originator_id, UUID) else _uuid(originator_id)
    return Recorded(
        originator_id=oid,
        originator_version=originator_version,
        timestamp=recorded_at,
        recorded_by=recorded_by,
        fact=fact,
    )


def _where(topic: str, originator_id: UUID | str, originator_version: int) -> str:
    return f"stored fact {originator_version} of {originator_id} ({topic})"


@functools.lru_cache(maxsize=4096)
def _uuid(text: str) -> UUID:
    """Subject ids as stored (text), made once per subject among the latest read."""
    return UUID(text)


@functools.lru_cache(maxsize=64)
def _moment(text: str) -> dt.datetime:
    """Recording times as stored: the facts of one write share theirs."""
    return dt.datetime.fromisoformat(text)


def _unchecked(cls: type[Fact], state: Mapping[str, Any]) -> Fact:
    """Build a stored fact without today's shape checks (types are still structured)."""
    attrs.resolve_types(cls)
    fact = object.__new__(cls)
    for field in attrs.fields(cls):
        if field.name in state:
            value = state[field.name]
            if field.type is not None and value is not None:
                value = converter.structure(value, field.type)
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            value = field.default.factory()
        else:
            value = field.default
        object.__setattr__(fact, field.name, value)
    return fact
