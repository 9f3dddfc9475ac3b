"""Imprecise dates: a day, a month, a year, or an interval between two of them.

Dates in the sources are often imprecise ("ultimo april", "Oktober-december
2017").  A :class:`Period` keeps what was said in its written form, a subset of
ISO 8601 / EDTF level 0 (``2019-05-23``, ``2019-05``, ``2019``,
``2017-10/2017-12``), and the first and last day it may mean.

Comparisons are made on what is *certain*: a period is certainly before
another when its last day is before the other's first day.

The parser here is written by hand on purpose: the EDTF forms the history
contract fixes are four, and the ``edtf`` library (used in the test suite as
the oracle for these forms) takes about 3 ms a parse, which a 100,000-fact
import cannot afford.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import lru_cache

import attrs

from saftale_core.errors import RuleViolation

__all__ = ["Period", "PeriodLike"]

_PART = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def _bad(text: object, why: str) -> RuleViolation:
    return RuleViolation("bad-date", f"{text!r} is not a valid date or interval: {why}")


def _part(text: str, whole: str) -> tuple[dt.date, dt.date]:
    m = _PART.fullmatch(text)
    if m is None:
        raise _bad(whole, "expected YYYY, YYYY-MM, YYYY-MM-DD or two of them joined by '/'")
    year = int(m.group(1))
    if year < 1:
        raise _bad(whole, "year 0 does not exist")
    if m.group(2) is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise _bad(whole, f"month {month} does not exist")
    last = calendar.monthrange(year, month)[1]
    if m.group(3) is None:
        return dt.date(year, month, 1), dt.date(year, month, last)
    day = int(m.group(3))
    if not 1 <= day <= last:
        raise _bad(whole, f"{year}-{month:02d} has no day {day}")
    d = dt.date(year, month, day)
    return d, d


@lru_cache(maxsize=4096)
def _parse(text: str) -> Period:
    if not text or text != text.strip():
        raise _bad(text, "empty or surrounded by spaces")
    if "/" in text:
        left, _, right = text.partition("/")
        if "/" in right:
            raise _bad(text, "an interval has exactly one '/'")
        start, _ = _part(left, text)
        _, end = _part(right, text)
        if end < start:
            raise _bad(text, "the interval ends before it starts")
        return Period(start, end, text)
    start, end = _part(text, text)
    return Period(start, end, text)


@attrs.frozen(order=False)
class Period:
    """A day, a month, a year or an interval, with its written (EDTF) form.

    Build one with :meth:`parse` (or :meth:`coerce`, which also takes a
    :class:`datetime.date`); equality is on the written form, so ``2019-05``
    and ``2019-05-01/2019-05-31`` are different statements about the same days.
    """

    start: dt.date
    """The first day the period may mean."""
    end: dt.date
    """The last day the period may mean."""
    text: str
    """The written form, as given (EDTF level 0 subset)."""

    @staticmethod
    def parse(text: str) -> Period:
        """Parse ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``A/B`` of two of them.

        Raises :class:`~saftale_core.errors.RuleViolation` with code ``bad-date``.
        """
        if not isinstance(text, str):
            raise _bad(text, f"expected a string, got {type(text).__name__}")
        return _parse(text)

    @staticmethod
    def coerce(value: Period | str | dt.date) -> Period:
        """A period from a :class:`Period`, its written form, or a single day."""
        if isinstance(value, Period):
            return value
        if isinstance(value, dt.datetime):
            raise _bad(value, "a datetime is not a date: give the day (.date())")
        if isinstance(value, dt.date):
            return Period.day(value)
        return Period.parse(value)

    @staticmethod
    def day(day: dt.date) -> Period:
        """The period that is exactly one day."""
        return Period(day, day, day.isoformat())

    @property
    def is_day(self) -> bool:
        return self.start == self.end

    def certainly_before(self, other: Period) -> bool:
        """True when every day of this period lies before every day of ``other``."""
        return self.end < other.start

    def certainly_by(self, day: dt.date) -> bool:
        """True when this period has certainly happened by ``day`` (its last day is not later)."""
        return self.end <= day

    def __str__(self) -> str:
        return self.text


PeriodLike = Period | str | dt.date
"""What the API accepts where a date is expected."""
