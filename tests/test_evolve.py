"""The fast evolve of states: the same as ``attrs.evolve``, validators included."""

from __future__ import annotations

import attrs
import pytest

from saftale_core._evolve import evolve


@attrs.frozen(kw_only=True)
class _State:
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    count: int = 0
    _private: int = 1
    derived: int = attrs.field(init=False, default=7)


def test_evolve_changes_only_what_it_is_given() -> None:
    state = _State(name="a", count=2, private=3)
    assert (
        evolve(state, count=5)
        == attrs.evolve(state, count=5)
        == _State(name="a", count=5, private=3)
    )
    assert evolve(state, _private=9)._private == 9
    assert evolve(state) == state and evolve(state) is not state


def test_evolve_runs_validators_and_refuses_unknown_fields() -> None:
    state = _State(name="a")
    with pytest.raises(TypeError):
        evolve(state, name=1)
    with pytest.raises(TypeError, match="_State has no field"):
        evolve(state, nope=1)
