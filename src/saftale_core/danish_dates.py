"""Danish date expressions, as the sources write them, read into :class:`Period`.

The process plans and kommissorier (seeds 000, 001, 004) give times such as
``13/12/17``, ``Oktober-december 2017``, ``Ultimo maj-primo juni 2018``,
``23/11/2018 og 11/12/2018``, ``Nov – december 2015`` or just ``august``.
:func:`parse_danish` reads one such expression into a :class:`Period` (or, for
a list such as "A og B", a tuple of them) whose written form is EDTF:
``2017-12-13``, ``2018-08``, ``2017-10/2017-12``, ``2018-05-21/2018-06-10``.
:func:`parse_rows` reads the time column of a table, where the year is often
left out and follows from the rows around it.

What cannot be read is refused with ``RuleViolation("bad-date", ...)``, whose
message quotes the text as given; nothing is ever guessed (no "current year",
no "nearest date").

The parser is written by hand, with no dependency: general date parsers such
as ``dateparser`` fill a missing year or day from today's date (a guess), know
neither primo/medio/ultimo nor ranges, and return one datetime, not an interval.

Grammar
-------
Before parsing, the text is NFC-normalised (a decomposed ``å`` is ``å``) and
case-folded, any run of white space (line breaks of a PDF extraction, no-break
spaces) counts as one space, digits are the ASCII ``0``-``9`` only, and the
dashes ``-`` ``‐`` ``‑`` ``‒`` ``–`` ``—`` ``―`` ``−`` are all the same dash,
with or without spaces around it::

    expression := ["fra"] range (("og" | ",") range)* ["."]
    range      := point [(dash | "til") point]
    point      := ["i" | "den"] core
    core       := D "/" M ["/" Y | YYYY]        13/12/17, 7/12/2017, 23/2, 14/3 2018
                | D "." M ["." Y]               4.11.2015, 23.2
                | D "-" M "-" Y                 4-11-2015 (year required)
                | D ["."] MONTH [YYYY]          1. juli 2021
                | [QUALIFIER] MONTH [YYYY]      august, Ultimo april, primo juni 2018
                | SEASON [YYYY]                 foråret 2018
                | YYYY ["-" MM ["-" DD]]        2018, 2018-05, 2018-05-23 (ISO)
                | D ["."]                       only before a dash: 14.-15. marts 2018
                | QUALIFIER                     only before a dash: primo-medio juni

* ``MONTH`` is a Danish month name (``januar`` ... ``december``) or any prefix
  of one of at least three letters (``jan``, ``nov``, ``sept``), optionally
  followed by ``.``; any letter case.
* ``QUALIFIER`` is ``primo`` (days 1-10 of the month), ``medio`` (days 11-20)
  or ``ultimo`` (day 21 to the last day of the month), so ``Ultimo april 2018``
  is ``2018-04-21/2018-04-30``.  The seed's typo ``primus`` is read as
  ``primo``.  A qualifier needs a month: ``primo 2018`` / ``medio 2016``
  ("early 2018", "mid 2016") has no agreed extent and is refused, as is a bare
  ``ultimo``.
* ``SEASON`` is ``forår``/``foråret`` (March-May), ``sommer``/``sommeren``
  (June-August) and ``efterår``/``efteråret`` (September-November), the
  meteorological seasons DMI uses; ``foråret 2018`` is ``2018-03/2018-05``.
  ``vinter`` is refused: which year a winter belongs to is not agreed.
* ``Y`` is a year of four digits, or of two digits with the POSIX ``%y`` pivot:
  ``00``-``68`` are 2000-2068 and ``69``-``99`` are 1969-1999 (``13/12/17`` is
  2017-12-13).  Two-digit years are read in the numeric forms only.
* A range ``A-B`` is the interval from the first day of ``A`` to the last day
  of ``B``; it is refused when it ends before it starts.  A bare day or a bare
  qualifier at the start of a range takes its month (and year) from the end:
  ``14-15/3/2018`` is ``2018-03-14/2018-03-15``.  A range of two years
  (``2015-2019``) is ``2015/2019``; a range whose two ends are written the
  same (``marts-marts 2019``) is that one period (``2019-03``).
* ``A og B`` (or ``A, B``) is a tuple of one period per element:
  ``23/11/2018 og 11/12/2018`` is ``(2018-11-23, 2018-12-11)``.
* Text that already is a period's written form (``2017-10/2017-12``) is
  taken as it is.

Missing years, within one expression
------------------------------------
A year written once belongs to the point it is written after; the points of an
expression are taken to be in calendar order, so

1. a point without a year takes the year of the *next* point that has one,
   one year earlier when its month comes after that point's month
   (``Nov – december 2015`` is all 2015; ``December-januar 2016`` starts in
   December 2015);
2. points after the last written year take the year of the point before them,
   one year later when their month comes before that point's month
   (``december 2015-januar`` ends in January 2016);
3. an expression with no year at all takes ``context_year`` for its first
   point and continues by rule 2 (``December-januar`` with context year 2015 is
   ``2015-12/2016-01``); without a ``context_year`` it is refused.

``context_year`` never overrides a year that is written.

Missing years, across rows (:func:`parse_rows`)
-----------------------------------------------
The rows of a plan are taken to be in order of their *start*.  A row's
*anchor* is the year and month of its first day (of its first element, for
"A og B").  A row that writes a year is read on its own.  A row without a year
is read with the ``context_year`` that puts its first month

* at or after the anchor of the row before it, in the nearest such year:
  the same year when its first month is not before the anchor's month, else
  the next year (``august`` after ``August-september 2018`` is 2018-08;
  ``Ultimo april`` after ``11/12/2018`` is 2019-04-21/2019-04-30);
* for the rows before the first row that writes a year (when no
  ``start_year`` is given): at or before the anchor of the row after it, in
  the nearest such year (``December-januar`` before ``februar-april 2016`` is
  2015-12/2016-01).

``start_year``, when given, is the year in force before the first row (as if
a row of January of that year came first), so leading rows without a year
take it and nothing is inferred backwards.  When no row writes a year and no
``start_year`` is given, the first row is refused.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, NoReturn

from saftale_core.dates import Period
from saftale_core.errors import RuleViolation

__all__ = [
    "MONTHS",
    "QUALIFIERS",
    "SEASONS",
    "as_periods",
    "month_number",
    "parse_danish",
    "parse_rows",
    "two_digit_year",
]

MONTHS: tuple[str, ...] = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)
"""The Danish month names, January first."""

QUALIFIERS: Mapping[str, tuple[int, int | None]] = MappingProxyType(
    {
        "primo": (1, 10),
        "primus": (1, 10),  # the typo of seed 000 ("Ultimo maj-primus juni 2018")
        "medio": (11, 20),
        "ultimo": (21, None),  # None: the last day of the month
    }
)
"""First and last day of the month each qualifier means (``None``: the month's last day)."""

SEASONS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "forår": (3, 5),
        "foråret": (3, 5),
        "sommer": (6, 8),
        "sommeren": (6, 8),
        "efterår": (9, 11),
        "efteråret": (9, 11),
    }
)
"""First and last month of each (meteorological) season."""

_REFUSED_WORDS: dict[str, str] = {
    "vinter": "which year a winter belongs to is not agreed; give the months",
    "vinteren": "which year a winter belongs to is not agreed; give the months",
}

_PIVOT = 69
"""Two-digit years below this are 20xx, the others 19xx (the POSIX ``%y`` rule)."""

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_TOKEN = re.compile(
    rf"(?P<space>\s+)|(?P<num>[0-9]+)|(?P<word>[^\W\d_]+)|(?P<dash>[{_DASHES}])|(?P<sym>[/.,])"
)
_FILLERS = frozenset({"i", "den"})
_NEEDS_MONTH = (
    "primo, medio and ultimo need a month ('ultimo april'); "
    "early, mid or late in a year has no agreed extent"
)

_Kind = Literal["num", "word", "dash", "sym", "and"]


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: _Kind
    value: str


@dataclass(frozen=True, slots=True)
class _Point:
    """One point of an expression before its year is known.

    ``kind`` is ``day`` (``day`` set), ``month`` (``window`` set when qualified),
    ``season`` (``month`` to ``last_month``), ``year``, or the two that only
    start a range and borrow their month from its end: ``bare-day`` and
    ``bare-qual``.
    """

    kind: Literal["day", "month", "season", "year", "bare-day", "bare-qual"]
    year: int | None = None
    month: int = 1
    day: int = 0
    window: tuple[int, int | None] | None = None
    last_month: int = 0


@dataclass(frozen=True, slots=True)
class _Parsed:
    """An expression read but not dated: its ranges, each (start point, end point)."""

    text: str
    ranges: tuple[tuple[_Point, _Point], ...]

    @property
    def has_year(self) -> bool:
        return any(p.year is not None for r in self.ranges for p in r)

    @property
    def first_month(self) -> int:
        return self.ranges[0][0].month


class _Bad(Exception):
    """Internal: why a text was refused (turned into a RuleViolation quoting it)."""


def _fail(why: str) -> NoReturn:
    raise _Bad(why)


def _violation(text: object, why: str, *, row: int | None = None) -> RuleViolation:
    where = f"row {row}: " if row is not None else ""
    return RuleViolation(
        "bad-date", f"{where}{text!r} is not a Danish date expression this parser reads: {why}"
    )


# -- small public helpers ----------------------------------------------------------------


def month_number(word: str) -> int | None:
    """The month (1-12) a Danish month name or abbreviation means, else ``None``.

    Any letter case; a trailing ``.`` is allowed; an abbreviation is any prefix
    of at least three letters of exactly one month name (``nov``, ``sept``).
    """
    w = unicodedata.normalize("NFC", word).strip().casefold().removesuffix(".")
    if len(w) < 3 or not w.isalpha():
        return None
    found = [i for i, name in enumerate(MONTHS, start=1) if name.startswith(w)]
    return found[0] if len(found) == 1 else None


def two_digit_year(yy: int) -> int:
    """The year a two-digit year means: 00-68 are 2000-2068, 69-99 are 1969-1999."""
    if not 0 <= yy <= 99:
        raise ValueError(f"{yy} is not a two-digit year")
    return 2000 + yy if yy < _PIVOT else 1900 + yy


def as_periods(value: Period | tuple[Period, ...]) -> tuple[Period, ...]:
    """What :func:`parse_danish` returned, always as a tuple of periods."""
    return value if isinstance(value, tuple) else (value,)


# -- tokens and grammar ------------------------------------------------------------------


def _tokens(text: str) -> list[_Tok]:
    norm = unicodedata.normalize("NFC", text).casefold()
    out: list[_Tok] = []
    pos = 0
    while pos < len(norm):
        m = _TOKEN.match(norm, pos)
        if m is None:
            _fail(f"unexpected character {norm[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        value = m.group()
        if kind == "space":
            continue
        if kind == "word" and value == "og":
            out.append(_Tok("and", value))
        elif kind == "word" and value == "til":
            out.append(_Tok("dash", value))
        elif kind == "dash":
            out.append(_Tok("dash", "-"))
        elif kind == "num":
            out.append(_Tok("num", value))
        elif kind == "word":
            out.append(_Tok("word", value))
        else:
            out.append(_Tok("sym", value))
    return out


def _year(digits: str, *, two_digit_ok: bool) -> int:
    if len(digits) == 4:
        year = int(digits)
        if year < 1:
            _fail("year 0 does not exist")
        return year
    if len(digits) == 2 and two_digit_ok:
        return two_digit_year(int(digits))
    _fail(f"{digits!r} is not a year (four digits, or two in a numeric date)")


def _day(digits: str) -> int:
    if len(digits) > 2:
        _fail(f"{digits!r} is not a day of the month")
    day = int(digits)
    if not 1 <= day <= 31:
        _fail(f"day {day} does not exist")
    return day


def _month(digits: str) -> int:
    if len(digits) > 2:
        _fail(f"{digits!r} is not a month")
    month = int(digits)
    if not 1 <= month <= 12:
        _fail(f"month {month} does not exist")
    return month


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self, kind: _Kind, value: str | None = None, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == kind and (value is None or t.value == value)

    def take(self) -> _Tok:
        t = self.peek()
        if t is None:
            _fail("it ends too early")
        self.i += 1
        return t

    def num_at(self, k: int, lengths: Sequence[int]) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "num" and len(t.value) in lengths

    # expression := ["fra"] range (("og" | ",") range)* ["."]
    def expression(self) -> tuple[tuple[_Point, _Point], ...]:
        if not self.toks:
            _fail("there is no date in it")
        if self.at("word", "fra"):
            self.i += 1
        ranges = [self.range()]
        while self.at("and") or self.at("sym", ","):
            self.i += 1
            ranges.append(self.range())
        if self.at("sym", ".") and self.peek(1) is None:
            self.i += 1
        rest = self.peek()
        if rest is not None:
            _fail(f"{rest.value!r} is not expected there")
        return tuple(ranges)

    # range := point [dash point]
    def range(self) -> tuple[_Point, _Point]:
        a = self.point()
        if not self.at("dash"):
            if a.kind == "bare-day":
                _fail("a day needs a month")
            if a.kind == "bare-qual":
                _fail(_NEEDS_MONTH)
            return a, a
        self.i += 1
        b = self.point()
        if b.kind == "bare-day":
            _fail("a day needs a month")
        if b.kind == "bare-qual":
            _fail(_NEEDS_MONTH)
        if a.kind == "bare-day":
            if b.kind != "day":
                _fail("a range that starts with a bare day must end with a day")
            a = _Point("day", year=b.year, month=b.month, day=a.day)
        elif a.kind == "bare-qual":
            if b.kind != "month":
                _fail("a range that starts with primo, medio or ultimo must end with a month")
            a = replace(a, kind="month", year=b.year, month=b.month)
        return a, b

    def point(self) -> _Point:
        t = self.peek()
        if t is not None and t.kind == "word" and t.value in _FILLERS:
            self.i += 1
        t = self.take()
        if t.kind == "num":
            return self.numeric(t.value)
        if t.kind == "word":
            return self.worded(t.value)
        _fail(f"{t.value!r} is not expected there")

    def opt_year(self) -> int | None:
        """A four-digit year after a month name or a season."""
        if self.at("num"):
            digits = self.take().value
            if len(digits) != 4:
                _fail(f"{digits!r} is not a year (four digits after a month name)")
            return _year(digits, two_digit_ok=False)
        return None

    def worded(self, word: str) -> _Point:
        if word in QUALIFIERS:
            window = QUALIFIERS[word]
            if self.at("word"):
                month = month_number(self.take().value)
                if month is None:
                    _fail(f"{word!r} must be followed by a month")
                self.skip_abbrev_dot()
                return _Point("month", year=self.opt_year(), month=month, window=window)
            if self.at("dash"):
                return _Point("bare-qual", window=window)
            _fail(_NEEDS_MONTH)
        if word in SEASONS:
            first, last = SEASONS[word]
            return _Point("season", year=self.opt_year(), month=first, last_month=last)
        if word in _REFUSED_WORDS:
            _fail(_REFUSED_WORDS[word])
        month = month_number(word)
        if month is None:
            _fail(f"{word!r} is not a month, a season or primo/medio/ultimo")
        self.skip_abbrev_dot()
        return _Point("month", year=self.opt_year(), month=month)

    def skip_abbrev_dot(self) -> None:
        # "nov. 2015": a dot after an abbreviated month, when more follows
        if self.at("sym", ".") and self.peek(1) is not None:
            self.i += 1

    def numeric(self, first: str) -> _Point:
        if len(first) == 4:
            return self.iso(first)
        if self.at("sym", "/"):  # D/M[/Y | YYYY]
            self.i += 1
            day = _day(first)
            month = _month(self.expect_num("a month after '/'"))
            year: int | None = None
            if self.at("sym", "/"):
                self.i += 1
                year = _year(self.expect_num("a year after '/'"), two_digit_ok=True)
            elif self.num_at(0, (4,)):
                year = _year(self.take().value, two_digit_ok=False)
            return _Point("day", year=year, month=month, day=day)
        if self.at("sym", ".") and self.at("num", k=1):  # D.M[.Y]
            self.i += 1
            day = _day(first)
            month = _month(self.take().value)
            year = None
            if self.at("sym", ".") and self.at("num", k=1):
                self.i += 1
                year = _year(self.take().value, two_digit_ok=True)
            return _Point("day", year=year, month=month, day=day)
        if (
            self.at("dash")
            and self.num_at(1, (1, 2))
            and self.at("dash", k=2)
            and self.at("num", k=3)
            and not self.at("sym", "/", k=4)
        ):  # D-M-Y
            day = _day(first)
            self.i += 1
            month = _month(self.take().value)
            self.i += 1
            year = _year(self.take().value, two_digit_ok=True)
            return _Point("day", year=year, month=month, day=day)
        day = _day(first)
        dotted = self.at("sym", ".")
        if (dotted and self.at("word", k=1)) or self.at("word"):  # D[.] MONTH [YYYY]
            if dotted:
                self.i += 1
            word = self.take().value
            named = month_number(word)
            if named is None:
                _fail(f"{word!r} is not a month")
            self.skip_abbrev_dot()
            return _Point("day", year=self.opt_year(), month=named, day=day)
        if dotted and self.at("dash", k=1):
            self.i += 1
        return _Point("bare-day", day=day)

    def expect_num(self, what: str) -> str:
        t = self.peek()
        if t is None or t.kind != "num":
            _fail(f"expected {what}")
        self.i += 1
        return t.value

    def iso(self, first: str) -> _Point:
        """YYYY, YYYY-MM or YYYY-MM-DD (a dash followed by four digits is a range)."""
        year = _year(first, two_digit_ok=False)
        if not (self.at("dash", "-") and self.num_at(1, (2,))):
            return _Point("year", year=year, month=1, last_month=12)
        self.i += 1
        month = _month(self.take().value)
        if self.at("dash", "-") and self.num_at(1, (2,)):
            self.i += 1
            return _Point("day", year=year, month=month, day=_day(self.take().value))
        return _Point("month", year=year, month=month)


def _read(text: str) -> _Parsed:
    """Read ``text`` into points (no year inference yet); raises _Bad."""
    return _Parsed(text, _Parser(_tokens(text)).expression())


# -- years and periods -------------------------------------------------------------------


def _resolve_years(points: list[_Point], context_year: int | None) -> list[int]:
    years: list[int | None] = [p.year for p in points]
    if all(y is None for y in years):
        if context_year is None:
            _fail("it has no year, and no context year was given")
        years[0] = context_year
    for i in range(len(points) - 2, -1, -1):  # a year belongs to what comes before it
        nxt = years[i + 1]
        if years[i] is None and nxt is not None:
            years[i] = nxt if points[i].month <= points[i + 1].month else nxt - 1
    for i in range(1, len(points)):  # points after the last written year
        prev = years[i - 1]
        if years[i] is None and prev is not None:
            years[i] = prev if points[i].month >= points[i - 1].month else prev + 1
    out: list[int] = []
    for y in years:
        assert y is not None
        if not 1 <= y <= 9999:
            _fail(f"year {y} is out of range")
        out.append(y)
    return out


def _bounds(p: _Point, year: int) -> tuple[dt.date, str, dt.date, str]:
    """First day and its written form, last day and its written form."""
    if p.kind == "year":
        return dt.date(year, 1, 1), f"{year:04d}", dt.date(year, 12, 31), f"{year:04d}"
    last = calendar.monthrange(year, p.month)[1]
    ym = f"{year:04d}-{p.month:02d}"
    if p.kind == "day":
        if p.day > last:
            _fail(f"{ym} has no day {p.day}")
        d = dt.date(year, p.month, p.day)
        return d, d.isoformat(), d, d.isoformat()
    if p.kind == "season":
        end_last = calendar.monthrange(year, p.last_month)[1]
        end_text = f"{year:04d}-{p.last_month:02d}"
        return dt.date(year, p.month, 1), ym, dt.date(year, p.last_month, end_last), end_text
    if p.window is None:
        return dt.date(year, p.month, 1), ym, dt.date(year, p.month, last), ym
    lo, hi = p.window
    start, end = dt.date(year, p.month, lo), dt.date(year, p.month, min(hi or last, last))
    return start, start.isoformat(), end, end.isoformat()


def _date(parsed: _Parsed, context_year: int | None) -> tuple[Period, ...]:
    points: list[_Point] = []
    spans: list[tuple[int, int]] = []
    for a, b in parsed.ranges:
        points.append(a)
        if b is not a:
            points.append(b)
        spans.append((len(points) - 1 if b is a else len(points) - 2, len(points) - 1))
    years = _resolve_years(points, context_year)
    out: list[Period] = []
    for ia, ib in spans:
        start, start_text, _, _ = _bounds(points[ia], years[ia])
        _, _, end, end_text = _bounds(points[ib], years[ib])
        if end < start:
            _fail(f"it ends ({end_text}) before it starts ({start_text})")
        text = start_text if start_text == end_text else f"{start_text}/{end_text}"
        period = Period.parse(text)
        assert (period.start, period.end) == (start, end), text
        out.append(period)
    return tuple(out)


def _check_year(name: str, value: int | None) -> None:
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 9999
    ):
        raise RuleViolation("bad-date", f"{name} must be a year from 1 to 9999, not {value!r}")


def _passthrough(text: str) -> Period | None:
    """``text`` when it already is a period's written form (EDTF), else None."""
    stripped = text.strip()
    if not stripped[:4].isdigit() or not stripped.isascii():
        return None
    try:
        return Period.parse(stripped)
    except RuleViolation:
        return None


def _single(periods: tuple[Period, ...]) -> Period | tuple[Period, ...]:
    return periods[0] if len(periods) == 1 else periods


# -- public API --------------------------------------------------------------------------


def parse_danish(text: str, *, context_year: int | None = None) -> Period | tuple[Period, ...]:
    """Read one Danish date expression: a :class:`Period`, or a tuple for "A og B".

    ``context_year`` is the year of the expression's first point when it
    writes no year at all (``august`` with ``context_year=2018`` is
    ``2018-08``).  Raises :class:`~saftale_core.errors.RuleViolation`
    (``bad-date``) quoting ``text`` when it cannot be read.
    """
    if not isinstance(text, str):
        raise _violation(text, f"expected a string, got {type(text).__name__}")
    _check_year("context_year", context_year)
    done = _passthrough(text)
    if done is not None:
        return done
    try:
        return _single(_date(_read(text), context_year))
    except _Bad as exc:
        raise _violation(text, str(exc)) from None


def parse_rows(
    texts: Iterable[str], start_year: int | None = None
) -> list[Period | tuple[Period, ...]]:
    """Read the time column of a table, carrying the year between rows.

    Each row is one expression for :func:`parse_danish`; a row without a year
    gets it from the rows around it as the module documentation describes
    (forward from the row before, backward from the first dated row, or from
    ``start_year``).  Blank rows are refused: drop them first.  An error names
    the row (counting from 1) and quotes its text.
    """
    _check_year("start_year", start_year)
    rows = list(texts)
    read: list[_Parsed | Period] = []
    for n, text in enumerate(rows, start=1):
        if not isinstance(text, str):
            raise _violation(text, f"expected a string, got {type(text).__name__}", row=n)
        done = _passthrough(text)
        if done is not None:
            read.append(done)
            continue
        try:
            read.append(_read(text))
        except _Bad as exc:
            raise _violation(text, str(exc), row=n) from None
    out: dict[int, tuple[Period, ...]] = {}

    def date_row(i: int, context_year: int | None) -> dt.date:
        """Date row ``i`` (0-based) and give its first day."""
        r = read[i]
        if isinstance(r, Period):
            out[i] = (r,)
        else:
            try:
                out[i] = _date(r, context_year)
            except _Bad as exc:
                raise _violation(rows[i], str(exc), row=i + 1) from None
        return out[i][0].start

    def written(i: int) -> bool:
        r = read[i]
        return isinstance(r, Period) or r.has_year

    def first_month(i: int) -> int:
        r = read[i]
        return r.start.month if isinstance(r, Period) else r.first_month

    first = 0
    if start_year is not None:
        anchor = (start_year, 1)
    else:
        dated = next((i for i in range(len(rows)) if written(i)), None)
        if dated is None:
            if rows:
                raise _violation(rows[0], "no row has a year, and no start year was given", row=1)
            return []
        start = anchor_day = date_row(dated, None)
        for i in range(dated - 1, -1, -1):  # backwards from the first row with a year
            y = start.year if first_month(i) <= start.month else start.year - 1
            start = date_row(i, y)
        anchor = (anchor_day.year, anchor_day.month)
        first = dated + 1
    for i in range(first, len(rows)):
        if written(i):
            start = date_row(i, None)
        else:
            y = anchor[0] if first_month(i) >= anchor[1] else anchor[0] + 1
            start = date_row(i, y)
        anchor = (start.year, start.month)
    return [_single(out[i]) for i in range(len(rows))]
