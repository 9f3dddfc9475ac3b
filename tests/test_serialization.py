"""Facts to JSON and back: the history-file form, the stored form, upcasting, and
the converter's strictness.

The round trip is a property over *every* registered fact class
(:data:`saftale_core.FACT_TYPES`).  Strategies are derived from each class's
``attrs`` fields: by the field's type and by the name of its validator
(``_key``, ``_text``, ``_positive``, ...).  A field this module does not know how
to generate fails :func:`test_every_fact_type_has_a_strategy`, so a new fact
class (or a new kind of field) cannot slip past the round trip untested.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import orjson
import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from saftale_core import (
    FACT_TYPES,
    AgreementInitiated,
    DraftSubmitted,
    Evaluated,
    Fact,
    FactCorrected,
    Period,
    Recorded,
    RuleViolation,
    Saftale,
    fact_from_dict,
    fact_to_dict,
)
from saftale_core.serialization import FactMapper
from tests.test_dates import periods

# -- strategies derived from attrs fields -------------------------------------------------


class NoStrategy(LookupError):
    """This module cannot generate values for a field (add a rule below)."""


# Keys and ids: non-empty, no surrounding spaces, no control (or other "C") characters.
_KEY_ALPHABET = st.characters(codec="utf-8", exclude_categories=["C"])
keys = st.text(_KEY_ALPHABET, min_size=1, max_size=24).filter(lambda s: s == s.strip())
# Free text: may have surrounding or inner spaces, but is never only whitespace.
texts = st.text(_KEY_ALPHABET, min_size=1, max_size=60).filter(lambda s: bool(s.strip()))

FIELD_RULES: dict[str, st.SearchStrategy[Any]] = {
    # The national goals of the health agreement are numbered 1 to 8.
    "national_goals": st.lists(st.integers(1, 8), max_size=8).map(tuple),
}
"""Fields whose values obey more than their type and validator say (by field name)."""


def _validator_names(validator: Any) -> set[str]:
    """The names of a field's validator functions (through optional() and and_())."""
    names: set[str] = set()
    stack = [validator]
    while stack:
        v = stack.pop()
        if v is None:
            continue
        inner = getattr(v, "validator", None)  # attrs.validators.optional
        if inner is not None:
            stack.append(inner)
            continue
        several = getattr(v, "_validators", None)  # attrs.validators.and_
        if several is not None:
            stack.extend(several)
            continue
        names.add(getattr(v, "__name__", type(v).__name__))
    return names


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _field_strategy(owner: type, field: attrs.Attribute[Any]) -> st.SearchStrategy[Any]:
    if field.name in FIELD_RULES:
        return FIELD_RULES[field.name]
    tp, optional = _strip_optional(field.type)
    strategy = _type_strategy(owner, field, tp, _validator_names(field.validator))
    return st.none() | strategy if optional else strategy


def _type_strategy(
    owner: type, field: attrs.Attribute[Any], tp: Any, validators: set[str]
) -> st.SearchStrategy[Any]:
    where = f"{owner.__name__}.{field.name}: {tp!r} (validators {sorted(validators)})"
    if tp is str:
        if "_key" in validators:
            return keys
        if validators & {"_text", "_opt_text"}:
            return texts
        raise NoStrategy(where)
    if tp is bool:
        return st.booleans()
    if tp is int:
        if "_opt_months" in validators:
            return st.integers(1, 240)
        if "_positive" in validators:
            return st.integers(1, 2**31)
        raise NoStrategy(where)
    if tp is float:
        if "_value" in validators:
            return st.floats(allow_nan=False, allow_infinity=False)
        raise NoStrategy(where)
    if tp is Period:
        return periods()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if tp is Fact:
        return st.deferred(replacements)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise NoStrategy(where)
        item = args[0]
        if item is str:
            least = 1 if "_nonempty" in validators else 0
            return st.lists(keys, min_size=least, max_size=4, unique=True).map(tuple)
        if item is Period:
            return st.lists(periods(), min_size=1, max_size=3).map(tuple)
        if attrs.has(item):
            return st.lists(record_strategy(item), max_size=3).map(tuple)
        raise NoStrategy(where)
    if isinstance(tp, type) and attrs.has(tp):
        return record_strategy(tp)
    raise NoStrategy(where)


def _build(cls: type, kwargs: dict[str, Any]) -> Any:
    subject = kwargs.get("subject")
    if subject is not None:
        # A fact inside a fact (a correction's replacement) shares its subject.
        kwargs = {
            k: attrs.evolve(v, subject=subject) if isinstance(v, Fact) else v
            for k, v in kwargs.items()
        }
    return cls(**kwargs)


_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {}


def record_strategy(cls: type) -> st.SearchStrategy[Any]:
    """An attrs class (a fact, or a value inside one) with every field generated.

    Raises :class:`NoStrategy` at once (not when drawing) for a field it cannot generate.
    """
    strategy = _STRATEGIES.get(cls)
    if strategy is None:
        attrs.resolve_types(cls)
        fields = {f.name: _field_strategy(cls, f) for f in attrs.fields(cls) if f.init}
        strategy = st.fixed_dictionaries(fields).map(functools.partial(_build, cls))
        _STRATEGIES[cls] = strategy
    return strategy


def facts_of(cls: type[Fact]) -> st.SearchStrategy[Fact]:
    """Valid facts of one class."""
    strategy: st.SearchStrategy[Fact] = record_strategy(cls)
    return strategy


def replacements() -> st.SearchStrategy[Fact]:
    """A correction's replacement: any fact but a correction (its subject is set later)."""
    kinds = sorted(n for n, c in FACT_TYPES.items() if not issubclass(c, FactCorrected))
    return st.one_of([facts_of(FACT_TYPES[n]) for n in kinds])


def all_facts() -> st.SearchStrategy[Fact]:
    return st.sampled_from(sorted(FACT_TYPES)).flatmap(lambda n: facts_of(FACT_TYPES[n]))


_offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m))
)
timestamps = st.datetimes(
    min_value=dt.datetime(1970, 1, 1),
    max_value=dt.datetime(2200, 1, 1),
    timezones=st.just(dt.UTC) | _offsets,
)


def recorded(fact: Fact) -> st.SearchStrategy[Recorded]:
    return st.builds(
        Recorded,
        originator_id=st.uuids(),
        originator_version=st.integers(1, 2**31),
        timestamp=timestamps,
        recorded_by=keys,
        fact=st.just(fact),
    )


# -- every fact class has a strategy --------------------------------------------------------

FACT_NAMES = sorted(FACT_TYPES)


def test_every_fact_type_has_a_strategy() -> None:
    missing: dict[str, str] = {}
    for name, cls in FACT_TYPES.items():
        try:
            facts_of(cls)
        except NoStrategy as exc:
            missing[name] = str(exc)
    assert missing == {}, "add a rule to this module's strategies for: " + repr(missing)


def test_a_field_without_a_rule_has_no_strategy() -> None:
    """The check above bites: a (throw-away, unregistered) class with an unknown field."""

    @attrs.frozen(kw_only=True)
    class MeetingMoved(Fact):
        moved_to: dt.date

    with pytest.raises(NoStrategy, match=r"MeetingMoved\.moved_to"):
        facts_of(MeetingMoved)
    assert "MeetingMoved" not in FACT_TYPES


def test_the_registry_is_consistent() -> None:
    for name, cls in FACT_TYPES.items():
        assert cls.TYPE == name
        assert issubclass(cls, Fact)
        assert cls.VERSION >= 1
        assert all(v in cls.UPCASTERS for v in range(1, cls.VERSION))


# -- the round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", FACT_NAMES)
@given(data=st.data())
def test_round_trip(name: str, data: st.DataObject) -> None:
    cls = FACT_TYPES[name]
    fact = data.draw(facts_of(cls), label="fact")
    assert type(fact) is cls

    # (a) the history-file form, through JSON text as a history file holds it
    form = fact_to_dict(fact)
    assert form["type"] == name
    assert None not in form.values()
    assert fact_from_dict(form) == fact
    line = orjson.dumps(form)
    assert fact_from_dict(orjson.loads(line)) == fact
    assert fact_to_dict(fact_from_dict(orjson.loads(line))) == form

    # (b) the stored form, through the eventsourcing mapper
    event = data.draw(recorded(fact), label="recorded")
    mapper = FactMapper()
    stored = mapper.to_stored_event(event)
    back = mapper.to_domain_event(stored)
    assert back == event
    assert back.fact == fact
    assert back.timestamp == event.timestamp

    # (c) stored under the stable type name, not the Python path
    assert stored.topic == name == cls.TYPE
    assert stored.topic != f"{cls.__module__}:{cls.__qualname__}"
    assert ":" not in stored.topic
    state = orjson.loads(stored.state)
    assert state["v"] == cls.VERSION
    assert state["recorded_by"] == event.recorded_by
    assert "type" not in state
    assert stored.originator_id == event.originator_id
    assert stored.originator_version == event.originator_version


@given(fact=facts_of(FactCorrected))
def test_corrections_carry_their_replacement(fact: Fact) -> None:
    assert isinstance(fact, FactCorrected)
    form = fact_to_dict(fact)
    if fact.replacement is None:
        assert "replacement" not in form
    else:
        assert form["replacement"]["type"] == fact.replacement.TYPE
        assert form["replacement"]["subject"] == fact.subject
        # A replacement may leave out its subject: it is the correction's.
        del form["replacement"]["subject"]
    assert fact_from_dict(form) == fact


def test_a_correction_with_a_nested_replacement_round_trips() -> None:
    replacement = DraftSubmitted(subject="rygestop", on="2019-05", by="klynge:horsens")
    fact = FactCorrected(
        subject="rygestop",
        on="2019-06-01",
        by="SAS",
        corrects=5,
        reason="wrong month",
        replacement=replacement,
    )
    event = Recorded(
        originator_id=uuid.uuid4(),
        originator_version=9,
        timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        recorded_by="anna",
        fact=fact,
    )
    mapper = FactMapper()
    stored = mapper.to_stored_event(event)
    assert orjson.loads(stored.state)["replacement"]["type"] == "DraftSubmitted"
    assert mapper.to_domain_event(stored) == event
    assert fact_from_dict(fact_to_dict(fact)) == fact


@given(fact=all_facts())
def test_facts_compare_and_hash_by_value(fact: Fact) -> None:
    again = fact_from_dict(fact_to_dict(fact))
    assert again == fact
    assert hash(again) == hash(fact)
    assert again is not fact


# -- upcasting ------------------------------------------------------------------------------


def _stored(topic: str, state: dict[str, Any], version: int = 3) -> StoredEvent:
    return StoredEvent(
        originator_id=uuid.uuid4(),
        originator_version=version,
        topic=topic,
        state=orjson.dumps(
            {"recorded_by": "anna", "recorded_at": "2019-05-24T08:00:00+00:00", **state}
        ),
    )


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def upcast(state: dict[str, Any]) -> dict[str, Any]:
        state = dict(state)
        state[new] = state.pop(old)
        return state

    return upcast


@pytest.fixture
def evaluated_v2(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Pretend ``Evaluated`` is at schema version 2, whose v1 called ``findings`` ``outcome``.

    Returns the states the upcaster saw.  monkeypatch restores the class afterwards.
    """
    seen: list[dict[str, Any]] = []

    def v1_to_v2(state: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(state))
        return _rename("outcome", "findings")(state)

    monkeypatch.setattr(Evaluated, "VERSION", 2)
    monkeypatch.setattr(Evaluated, "UPCASTERS", {1: v1_to_v2})
    return seen


def test_an_older_stored_state_is_upcast_on_read(evaluated_v2: list[dict[str, Any]]) -> None:
    v1 = {"v": 1, "subject": "rygestop", "on": "2020-06", "by": "SAS", "outcome": "Works."}
    event = FactMapper().to_domain_event(_stored("Evaluated", v1))

    assert event.fact == Evaluated(subject="rygestop", on="2020-06", by="SAS", findings="Works.")
    assert event.recorded_by == "anna"
    assert event.originator_version == 3
    assert len(evaluated_v2) == 1
    assert evaluated_v2[0]["outcome"] == "Works."


def test_a_state_without_a_version_is_version_1(evaluated_v2: list[dict[str, Any]]) -> None:
    v1 = {"subject": "rygestop", "on": "2020-06", "by": "SAS", "outcome": "Works."}
    fact = FactMapper().to_domain_event(_stored("Evaluated", v1)).fact
    assert isinstance(fact, Evaluated)
    assert fact.findings == "Works."


def test_a_current_state_is_not_upcast(evaluated_v2: list[dict[str, Any]]) -> None:
    fact = Evaluated(subject="rygestop", on="2020-06", by="SAS", findings="Works.")
    event = Recorded(
        originator_id=uuid.uuid4(),
        originator_version=1,
        timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        recorded_by="anna",
        fact=fact,
    )
    mapper = FactMapper()
    stored = mapper.to_stored_event(event)
    assert orjson.loads(stored.state)["v"] == 2
    assert mapper.to_domain_event(stored) == event
    assert evaluated_v2 == []


def test_upcasters_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """v1 ``outcome`` -> v2 ``result`` -> v3 ``findings``, one step at a time."""
    monkeypatch.setattr(Evaluated, "VERSION", 3)
    monkeypatch.setattr(
        Evaluated, "UPCASTERS", {1: _rename("outcome", "result"), 2: _rename("result", "findings")}
    )
    mapper = FactMapper()
    base = {"subject": "s", "on": "2020", "by": "SAS"}
    from_v1 = mapper.to_domain_event(_stored("Evaluated", {"v": 1, **base, "outcome": "a"}))
    from_v2 = mapper.to_domain_event(_stored("Evaluated", {"v": 2, **base, "result": "b"}))
    from_v3 = mapper.to_domain_event(_stored("Evaluated", {"v": 3, **base, "findings": "c"}))
    assert [e.fact.findings for e in (from_v1, from_v2, from_v3)] == ["a", "b", "c"]


def test_a_stored_fact_is_upcast_when_the_schema_moves_on(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded at v1 in an SQLite file; read back, after a v2 arrived, through the store."""
    url = f"sqlite:///{tmp_path / 'upcast.db'}"
    first = AgreementInitiated(
        subject="rygestop", on="2019-03-12", by="SSG", title="Rygestop", origin="own_initiative"
    )
    with Saftale.open(url, recorded_by="anna") as app:
        app.record(first)

    # v2: titles are kept with the agreement's number in front ("SA-" for old ones).
    monkeypatch.setattr(AgreementInitiated, "VERSION", 2)
    monkeypatch.setattr(
        AgreementInitiated, "UPCASTERS", {1: lambda s: {**s, "title": "SA-" + s["title"]}}
    )
    second = AgreementInitiated(
        subject="hjerte", on="2019-04-01", by="SSG", title="7: Hjerte", origin="own_initiative"
    )
    with Saftale.open(url, recorded_by="bo") as app:
        app.record(second)
        (old,) = app.records("rygestop")
        (new,) = app.records("hjerte")
    assert isinstance(old.fact, AgreementInitiated)
    assert old.fact.title == "SA-Rygestop"
    assert old.recorded_by == "anna"
    assert new.fact == second

    monkeypatch.undo()  # back at v1: what was stored at v1 reads as it was written
    with Saftale.open(url) as app:
        (old,) = app.records("rygestop")
    assert old.fact == first


# -- the converter is strict ------------------------------------------------------------------

AI: dict[str, Any] = {
    "type": "AgreementInitiated",
    "subject": "rygestop",
    "on": "2019-03-12",
    "by": "SSG",
    "title": "Rygestop",
    "origin": "own_initiative",
}
KA: dict[str, Any] = {
    "type": "KommissoriumApproved",
    "subject": "rygestop",
    "on": "2019-04",
    "by": "SSG",
    "delivery": "cluster",
}
SSG: dict[str, Any] = {"type": "ApprovedBySSG", "subject": "rygestop", "on": "2019", "by": "SSG"}
FC: dict[str, Any] = {
    "type": "FactCorrected",
    "subject": "rygestop",
    "on": "2019",
    "by": "SAS",
    "corrects": 2,
    "reason": "typo",
}

STRICT = [
    # a flag must be true or false
    ({**KA, "general_practice_tasks": "123"}, "general_practice_tasks"),
    ({**KA, "general_practice_tasks": "true"}, "general_practice_tasks"),
    ({**KA, "general_practice_tasks": "false"}, "general_practice_tasks"),
    ({**KA, "changes_task_allocation": 1}, "changes_task_allocation"),
    ({**KA, "changes_task_allocation": 0}, "changes_task_allocation"),
    ({**KA, "changes_task_allocation": None}, "changes_task_allocation"),
    # text must be text
    ({**AI, "title": 3}, "title"),
    ({**AI, "title": 3.5}, "title"),
    ({**AI, "title": True}, "title"),
    ({**AI, "subject": 3}, "subject"),
    ({**AI, "by": 123}, "by"),
    ({**AI, "ref": 3}, "ref"),
    ({**AI, "note": {"text": "x"}}, "note"),
    ({**AI, "title": ""}, "title"),
    ({**AI, "title": "   "}, "title"),
    ({**AI, "subject": " rygestop"}, "subject"),
    # numbers must be whole numbers
    ({**SSG, "evaluate_after_months": "12"}, "evaluate_after_months"),
    ({**SSG, "evaluate_after_months": 12.0}, "evaluate_after_months"),
    ({**SSG, "evaluate_after_months": True}, "evaluate_after_months"),
    ({**SSG, "evaluate_after_months": 0}, "evaluate_after_months"),
    ({**FC, "corrects": "2"}, "corrects"),
    ({**FC, "corrects": 0}, "corrects"),
    # lists of ids
    ({**AI, "focus_areas": "forebyggelse"}, "focus_areas"),
    ({**AI, "focus_areas": [1]}, "focus_areas"),
    ({**AI, "focus_areas": ["aeldre", "aeldre"]}, "focus_areas"),
    ({**SSG, "spread_to": {"klynge:horsens": True}}, "spread_to"),
    # enums from their values only
    ({**AI, "origin": "nope"}, "origin"),
    ({**AI, "origin": 1}, "origin"),
    ({**AI, "origin": "OWN_INITIATIVE"}, "origin"),
    ({**KA, "delivery": "Cluster"}, "delivery"),
    # unknown and missing keys
    ({**AI, "foo": 1}, "foo"),
    ({**AI, "Title": "x"}, "Title"),
    ({**AI, "recorded_at": "2024-01-01T00:00:00+00:00"}, "recorded_at"),
    ({k: v for k, v in AI.items() if k != "title"}, "title"),
    ({k: v for k, v in AI.items() if k != "by"}, "by"),
    # inside a correction's replacement
    (
        {**FC, "replacement": {"type": "DraftSubmitted", "on": "2019", "by": "x", "triple_aim": 1}},
        "triple_aim",
    ),
    (
        {**FC, "replacement": {"type": "DraftSubmitted", "on": "2019", "by": "x", "extra": 1}},
        "extra",
    ),
]


@pytest.mark.parametrize(("data", "key"), STRICT)
def test_the_converter_is_strict(data: dict[str, Any], key: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        fact_from_dict(data)
    assert caught.value.code == "bad-record"
    assert repr(key) in caught.value.detail
    assert data["type"] in caught.value.detail


@pytest.mark.parametrize(
    "data",
    [
        {**AI, "on": "2019-13"},
        {**AI, "on": 20190312},
        {**AI, "on": "12-03-2019"},
        {
            "type": "DraftSentForComments",
            "subject": "s",
            "on": "2019",
            "by": "SAS",
            "parties": ["PLO"],
            "deadline": "2019-02-30",
        },
    ],
)
def test_dates_are_strict(data: dict[str, Any]) -> None:
    with pytest.raises(RuleViolation) as caught:
        fact_from_dict(data)
    assert caught.value.code == "bad-date"


@pytest.mark.parametrize(
    "data",
    [
        [],
        "AgreementInitiated",
        {k: v for k, v in AI.items() if k != "type"},
        {**AI, "type": "NoSuchFact"},
        {**AI, "type": 3},
    ],
)
def test_not_a_fact(data: Any) -> None:
    with pytest.raises(RuleViolation) as caught:
        fact_from_dict(data)
    assert caught.value.code == "bad-record"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({**AI, "title": ["subtitle"]}, "title"),
        ({**AI, "origin": "no_origin"}, "origin"),
        ({**AI, "on": None}, "on"),
    ],
)
def test_the_failing_key_is_always_named(data: dict[str, Any], key: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        fact_from_dict(data)
    assert repr(key) in caught.value.detail


def test_decoding_a_stored_fact_is_strict() -> None:
    state = {"v": 1, "subject": "s", "on": "2019", "by": "x", "triple_aim": "123"}
    with pytest.raises(RuleViolation) as caught:
        FactMapper().to_domain_event(_stored("DraftSubmitted", state))
    assert caught.value.code == "bad-record"


def test_decoding_an_unknown_type_says_so() -> None:
    with pytest.raises(RuleViolation, match="unknown type 'FactFromTheFuture'"):
        FactMapper().to_domain_event(_stored("FactFromTheFuture", {"v": 1}))


@pytest.mark.parametrize(
    "state",
    [
        {"v": 1, "subject": "s", "on": "2019", "by": "x", "triple_aim": True, "zzz": 1},
        {"v": 1, "subject": "s", "on": "2019", "by": "x"},
    ],
    ids=["unknown-key", "missing-key"],
)
def test_decoding_a_malformed_stored_fact_is_a_rule_violation(state: dict[str, Any]) -> None:
    topic = "DraftSubmitted" if "triple_aim" in state else "Evaluated"
    with pytest.raises(RuleViolation) as caught:
        FactMapper().to_domain_event(_stored(topic, state))
    assert caught.value.code == "bad-record"


def test_decoding_a_newer_schema_version_is_refused() -> None:
    state = {
        "v": DraftSubmitted.VERSION + 1,
        "subject": "s",
        "on": "2019",
        "by": "x",
        "triple_aim": True,
    }
    with pytest.raises(RuleViolation, match="newer"):
        FactMapper().to_domain_event(_stored("DraftSubmitted", state))
