"""Imprecise dates (:class:`saftale_core.Period`): the four written forms of the
history contract, checked by table and against the ``edtf`` library as oracle."""

from __future__ import annotations

import calendar
import datetime as dt
import time
from typing import Any

import pytest
from edtf import parse_edtf
from hypothesis import given
from hypothesis import strategies as st

from saftale_core import Period, RuleViolation, SaftaleError

# -- strategies (also used by test_serialization) ------------------------------------

# Years are written with four digits; year 0 does not exist for Python's dates.
_days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))


def _day_text(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _month_text(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _year_text(d: dt.date) -> str:
    return f"{d.year:04d}"


def day_texts() -> st.SearchStrategy[str]:
    return _days.map(_day_text)


def month_texts() -> st.SearchStrategy[str]:
    return _days.map(_month_text)


def year_texts() -> st.SearchStrategy[str]:
    return _days.map(_year_text)


def single_texts() -> st.SearchStrategy[str]:
    """A day, a month or a year, in its written form."""
    return st.one_of(day_texts(), month_texts(), year_texts())


def _bounds(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a written day, month or year (computed independently)."""
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        d = dt.date(parts[0], parts[1], parts[2])
        return d, d
    if len(parts) == 2:
        last = calendar.monthrange(parts[0], parts[1])[1]
        return dt.date(parts[0], parts[1], 1), dt.date(parts[0], parts[1], last)
    return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)


@st.composite
def interval_texts(draw: st.DrawFn) -> str:
    """``A/B`` of two written forms (of any precision) that does not end before it starts."""
    left, right = draw(single_texts()), draw(single_texts())
    if _bounds(right)[1] < _bounds(left)[0]:
        left, right = right, left
    return f"{left}/{right}"


def period_texts() -> st.SearchStrategy[str]:
    """The written form of a day, a month, a year or an interval."""
    return st.one_of(day_texts(), month_texts(), year_texts(), interval_texts())


def periods() -> st.SearchStrategy[Period]:
    """A :class:`Period` of any of the four forms."""
    return period_texts().map(Period.parse)


# -- table: valid forms -------------------------------------------------------------------

D = dt.date

VALID = [
    ("2019-05-23", D(2019, 5, 23), D(2019, 5, 23)),
    ("2019-05", D(2019, 5, 1), D(2019, 5, 31)),
    ("2019-04", D(2019, 4, 1), D(2019, 4, 30)),
    ("2019-02", D(2019, 2, 1), D(2019, 2, 28)),
    ("2020-02", D(2020, 2, 1), D(2020, 2, 29)),
    ("2019", D(2019, 1, 1), D(2019, 12, 31)),
    ("2020-02-29", D(2020, 2, 29), D(2020, 2, 29)),
    ("2000-02-29", D(2000, 2, 29), D(2000, 2, 29)),
    ("2017-10/2017-12", D(2017, 10, 1), D(2017, 12, 31)),
    ("2019-05-23/2019-06-01", D(2019, 5, 23), D(2019, 6, 1)),
    ("2019/2023", D(2019, 1, 1), D(2023, 12, 31)),
    ("2019-03-12/2019-03-12", D(2019, 3, 12), D(2019, 3, 12)),
    ("2019-05/2019", D(2019, 5, 1), D(2019, 12, 31)),
    ("2019/2019-01", D(2019, 1, 1), D(2019, 1, 31)),
    ("2019-12-31/2020", D(2019, 12, 31), D(2020, 12, 31)),
    ("0001", D(1, 1, 1), D(1, 12, 31)),
    ("9999-12-31", D(9999, 12, 31), D(9999, 12, 31)),
]


@pytest.mark.parametrize(("text", "start", "end"), VALID)
def test_valid_forms(text: str, start: dt.date, end: dt.date) -> None:
    period = Period.parse(text)
    assert (period.start, period.end, period.text) == (start, end, text)
    assert str(period) == text
    assert period.is_day == (start == end)
    assert Period.coerce(text) == period


# -- table: invalid forms ---------------------------------------------------------------

INVALID = [
    ("2019-02-29", "no day 29"),
    ("2021-02-29", "no day 29"),
    ("1900-02-29", "no day 29"),
    ("2019-04-31", "no day 31"),
    ("2019-05-00", "no day 0"),
    ("2019-05-32", "no day 32"),
    ("2019-13", "month 13"),
    ("2019-00", "month 0"),
    ("2019-13-01", "month 13"),
    ("0000", "year 0"),
    ("2019-5", "expected"),
    ("2019-5-1", "expected"),
    ("2019-05-1", "expected"),
    ("19", "expected"),
    ("201", "expected"),
    ("20190", "expected"),
    ("10000", "expected"),
    ("-2019", "expected"),
    ("+2019", "expected"),
    ("2019-05-23T10:00", "expected"),
    ("2019-W21", "expected"),
    ("23-05-2019", "expected"),
    ("2019/05/23", "exactly one"),
    ("2019.05.23", "expected"),
    ("maj 2019", "expected"),
    ("2019-05-23/2019-05-22", "ends before it starts"),
    ("2019-06/2019-05", "ends before it starts"),
    ("2020/2019", "ends before it starts"),
    ("2019-05/2019-04-30", "ends before it starts"),
    ("2019/", "expected"),
    ("/2019", "expected"),
    ("../2019", "expected"),
    ("2019/..", "expected"),
    ("2019//2020", "exactly one"),
    ("2017/2018/2019", "exactly one"),
    ("", "empty"),
    (" ", "empty"),
    (" 2019", "spaces"),
    ("2019 ", "spaces"),
    ("2019-05-23\n", "spaces"),
    ("2019 / 2020", "expected"),
    ("2019-05 -23", "expected"),
    ("2019\u00a0", "spaces"),
    ("2019-05-23\x00", "expected"),
    ("2019?", "expected"),
    ("2019~", "expected"),
    ("201X", "expected"),
]


@pytest.mark.parametrize(("text", "why"), INVALID)
def test_invalid_forms(text: str, why: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        Period.parse(text)
    assert caught.value.code == "bad-date"
    assert repr(text) in caught.value.detail
    assert why in caught.value.detail
    assert isinstance(caught.value, SaftaleError)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, 2019, 20190523, 2019.5, b"2019", ["2019"]])
def test_not_a_string(value: Any) -> None:
    with pytest.raises(RuleViolation) as caught:
        Period.parse(value)
    assert caught.value.code == "bad-date"


@pytest.mark.parametrize("text", ["２０１９", "٢٠١٩-٠٥", "2019-05-2３", "𝟐𝟎𝟏𝟗"])
def test_only_ascii_digits(text: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        Period.parse(text)
    assert caught.value.code == "bad-date"


def test_coerce() -> None:
    day = dt.date(2019, 5, 23)
    assert Period.coerce(day) == Period.parse("2019-05-23") == Period.day(day)
    assert Period.coerce(Period.parse("2019")) == Period.parse("2019")
    with pytest.raises(RuleViolation) as caught:
        Period.coerce(dt.datetime(2019, 5, 23, 10, 0))
    assert caught.value.code == "bad-date"


def test_equality_is_on_the_written_form() -> None:
    month = Period.parse("2019-05")
    same_days = Period.parse("2019-05-01/2019-05-31")
    assert (month.start, month.end) == (same_days.start, same_days.end)
    assert month != same_days
    assert month == Period.parse("2019-05")
    assert hash(month) == hash(Period.parse("2019-05"))


@pytest.mark.parametrize(
    ("a", "b", "before"),
    [
        ("2019-04", "2019-05-01", True),
        ("2019-05", "2019-05-31", False),
        ("2019", "2020", True),
        ("2019-05-23", "2019-05-23", False),
        ("2017-10/2017-12", "2018", True),
        ("2017-10/2018-01", "2018", False),
    ],
)
def test_certainly_before(a: str, b: str, before: bool) -> None:
    assert Period.parse(a).certainly_before(Period.parse(b)) is before


def test_certainly_by() -> None:
    may = Period.parse("2019-05")
    assert not may.certainly_by(dt.date(2019, 5, 30))
    assert may.certainly_by(dt.date(2019, 5, 31))
    assert may.certainly_by(dt.date(2019, 6, 1))


# -- properties: edtf as the oracle ------------------------------------------------------


def _ymd(value: time.struct_time) -> tuple[int, int, int]:
    return value.tm_year, value.tm_mon, value.tm_mday


def _as_ymd(day: dt.date) -> tuple[int, int, int]:
    return day.year, day.month, day.day


@given(period_texts())
def test_bounds_agree_with_edtf(text: str) -> None:
    period = Period.parse(text)
    oracle = parse_edtf(text)
    assert _as_ymd(period.start) == _ymd(oracle.lower_strict())
    assert _as_ymd(period.end) == _ymd(oracle.upper_strict())
    assert period.start <= period.end


@given(periods())
def test_written_form_round_trips(period: Period) -> None:
    again = Period.parse(period.text)
    assert again == period
    assert (again.start, again.end) == (period.start, period.end)
    assert Period.coerce(period) is period


@given(single_texts(), single_texts())
def test_interval_bounds_come_from_its_ends(left: str, right: str) -> None:
    a, b = Period.parse(left), Period.parse(right)
    text = f"{left}/{right}"
    if b.end < a.start:
        with pytest.raises(RuleViolation) as caught:
            Period.parse(text)
        assert caught.value.code == "bad-date"
    else:
        interval = Period.parse(text)
        assert (interval.start, interval.end) == (a.start, b.end)


@given(_days)
def test_days_from_dates(day: dt.date) -> None:
    period = Period.day(day)
    assert period == Period.parse(_day_text(day))
    assert period.is_day


def _parse_or_refusal(text: str) -> Period | RuleViolation:
    try:
        return Period.parse(text)
    except RuleViolation as exc:
        return exc


@given(st.text(alphabet="0123456789-/", max_size=23) | st.text(max_size=12))
def test_any_text_is_a_period_or_bad_date(text: str) -> None:
    """Nothing but a ``bad-date`` refusal escapes; what is accepted, edtf reads the same."""
    outcome = _parse_or_refusal(text)
    if isinstance(outcome, RuleViolation):
        assert outcome.code == "bad-date"
        return
    period = outcome
    assert period.text == text
    if text.isascii():
        oracle = parse_edtf(text)
        assert _as_ymd(period.start) == _ymd(oracle.lower_strict())
        assert _as_ymd(period.end) == _ymd(oracle.upper_strict())
