"""Danish date expressions (:mod:`saftale_core.danish_dates`): every time in seeds 000, 001
and 004 by table, the year carried between rows on the seeds' own sequences, refusals that
quote the text, and properties over a small generated grammar (``edtf`` as the oracle)."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import time

import pytest
from edtf import parse_edtf
from hypothesis import given
from hypothesis import strategies as st

from saftale_core.danish_dates import (
    MONTHS,
    as_periods,
    month_number,
    parse_danish,
    parse_rows,
    two_digit_year,
)
from saftale_core.dates import Period
from saftale_core.errors import RuleViolation


def _texts(value: Period | tuple[Period, ...]) -> str | tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(p.text for p in value)
    return value.text


# -- the seeds, by table ------------------------------------------------------------------

# (expression, context year or None, expected written form(s)).  The context year is what
# the rows around it give (see the row tests below); None: the expression writes its year.
SEED_000_TIME_COLUMN: list[tuple[str, int | None, str | tuple[str, ...]]] = [
    ("Oktober-december 2017", None, "2017-10/2017-12"),
    ("Oktober-november 2017", None, "2017-10/2017-11"),
    ("Oktober-november 2017", None, "2017-10/2017-11"),
    ("13/12/17", None, "2017-12-13"),
    ("7/12/2017", None, "2017-12-07"),
    ("20/12/2017", None, "2017-12-20"),
    ("31/1/2018", None, "2018-01-31"),
    ("7/3/2018", None, "2018-03-07"),
    ("14/3-15/3/2018", None, "2018-03-14/2018-03-15"),
    ("3/4/2018", None, "2018-04-03"),
    ("4/4/2018", None, "2018-04-04"),
    ("Ultimo april", 2018, "2018-04-21/2018-04-30"),
    ("23/5/2018", None, "2018-05-23"),
    ("Ultimo maj-primus juni 2018", None, "2018-05-21/2018-06-10"),
    ("27/6/2018", None, "2018-06-27"),
    ("August-september 2018", None, "2018-08/2018-09"),
    ("august", 2018, "2018-08"),
    ("16/8/2018", None, "2018-08-16"),
    ("27/9/2018", None, "2018-09-27"),
    ("August-november 2018", None, "2018-08/2018-11"),
    ("23/11/2018 og 11/12/2018", None, ("2018-11-23", "2018-12-11")),
    ("Januar-februar 2019", None, "2019-01/2019-02"),
    ("Marts-April 2019", None, "2019-03/2019-04"),
    ("Maj-juni 2019", None, "2019-05/2019-06"),
]
"""Seed 000 (the HTML extraction), every non-empty cell of the "Tid" column, in order."""

SEED_001_TIME_COLUMN: list[tuple[str, int | None, str | tuple[str, ...]]] = [
    ("Oktober-december \n2017", None, "2017-10/2017-12"),
    ("Oktober-november \n2017", None, "2017-10/2017-11"),
    ("Oktober-november \n2017", None, "2017-10/2017-11"),
    ("13/12/17", None, "2017-12-13"),
    ("7/12/2017", None, "2017-12-07"),
    ("20/12/2017", None, "2017-12-20"),
    ("31/1/2018", None, "2018-01-31"),
    ("7/3/2018", None, "2018-03-07"),
    ("14/3-15/3/2018", None, "2018-03-14/2018-03-15"),
    ("3/4/2018", None, "2018-04-03"),
    ("4/4/2018", None, "2018-04-04"),
    ("Ultimo april", 2018, "2018-04-21/2018-04-30"),
    ("23/5/2018", None, "2018-05-23"),
    ("Ultimo maj-primo \njuni 2018 ", None, "2018-05-21/2018-06-10"),
    ("27/6/2018", None, "2018-06-27"),
    ("August-september \n2018", None, "2018-08/2018-09"),
    ("august", 2018, "2018-08"),
    ("16/8/2018", None, "2018-08-16"),
    ("27/9/2018", None, "2018-09-27"),
    ("August-november \n\n2018", None, "2018-08/2018-11"),
    ("23/11/2018 og \n11/12/2018", None, ("2018-11-23", "2018-12-11")),
    ("Januar-februar \n\n2019", None, "2019-01/2019-02"),
    ("Marts-April 2019", None, "2019-03/2019-04"),
    ("Maj-juni 2019", None, "2019-05/2019-06"),
]
"""Seed 001 (the PDF extraction): the same column with the PDF's line breaks kept."""

SEED_004_TIMETABLE: list[tuple[str, int | None, str | tuple[str, ...]]] = [
    ("Nov – december 2015", None, "2015-11/2015-12"),
    ("December-januar", 2015, "2015-12/2016-01"),
    ("februar-april", 2016, "2016-02/2016-04"),
    ("Maj", 2016, "2016-05"),
    ("Juni", 2016, "2016-06"),
]
"""Seed 004, the "Tid" column of the kommissorium's timetable, in order."""

SEED_PROSE: list[tuple[str, int | None, str | tuple[str, ...]]] = [
    ("31/12/17", None, "2017-12-31"),  # 000/001: "31/12/17 kom 1. del af regeringens ..."
    ("foråret 2018", None, "2018-03/2018-05"),  # 000/001: "udspil foråret 2018"
    ("23/2", 2018, "2018-02-23"),  # 000/001: "udkom 23/2" (the note is about 2018)
    ("i juni", 2018, "2018-06"),  # 000/001: "til det politiske kick-off i juni"
    ("i 2018", None, "2018"),  # 000/001: "Involvering af klyngerne i 2018"
    ("4-11-2015", None, "2015-11-04"),  # 004: "Dato 4-11-2015"
    ("2016", None, "2016"),  # 004: "budget 2016"
    ("2015-2019", None, "2015/2019"),  # 004: "spareplanen for 2015-2019"
]
"""Times in the prose and notes of seeds 000/001/004 (004's "medio 2016" is refused below)."""

BRIEF_AND_MORE: list[tuple[str, int | None, str | tuple[str, ...]]] = [
    ("Ultimo april", 2019, "2019-04-21/2019-04-30"),
    ("primo juni 2018", None, "2018-06-01/2018-06-10"),
    ("medio juni 2018", None, "2018-06-11/2018-06-20"),
    ("ultimo februar 2020", None, "2020-02-21/2020-02-29"),
    ("ultimo februar 2019", None, "2019-02-21/2019-02-28"),
    ("MARTS-april 2019", None, "2019-03/2019-04"),
    ("marts-APRIL 2019", None, "2019-03/2019-04"),
    ("Nov–december 2015", None, "2015-11/2015-12"),
    ("Nov—december 2015", None, "2015-11/2015-12"),
    ("Nov - december 2015", None, "2015-11/2015-12"),
    ("Nov — december 2015", None, "2015-11/2015-12"),
    ("nov.-dec. 2015", None, "2015-11/2015-12"),
    ("sept. 2018", None, "2018-09"),
    ("December 2015-januar", None, "2015-12/2016-01"),
    ("December-januar 2016", None, "2015-12/2016-01"),
    ("December 2015-januar 2016", None, "2015-12/2016-01"),
    ("14/3/2018-15/3/2018", None, "2018-03-14/2018-03-15"),
    ("14-15/3/2018", None, "2018-03-14/2018-03-15"),
    ("14.-15. marts 2018", None, "2018-03-14/2018-03-15"),
    ("fra 14/3 til 15/3/2018", None, "2018-03-14/2018-03-15"),
    ("30/12-2/1/2019", None, "2018-12-30/2019-01-02"),
    ("23/11 og 11/12/2018", None, ("2018-11-23", "2018-12-11")),
    ("3/4, 4/4 og 23/5/2018", None, ("2018-04-03", "2018-04-04", "2018-05-23")),
    ("14/3 2018", None, "2018-03-14"),
    ("07/03/2018", None, "2018-03-07"),
    ("4.11.2015", None, "2015-11-04"),
    ("4-11-15", None, "2015-11-04"),
    ("1. juli 2021", None, "2021-07-01"),  # seed 003: mid-term status as of 1 July 2021
    ("1. januar 2023.", None, "2023-01-01"),  # seed 003, with the sentence's full stop
    ("den 30. april 2019", None, "2019-04-30"),
    ("Ultimo maj-juni 2018", None, "2018-05-21/2018-06"),
    ("primo-medio juni 2018", None, "2018-06-01/2018-06-20"),
    ("sommeren 2019", None, "2019-06/2019-08"),
    ("efterår 2019", None, "2019-09/2019-11"),
    ("1/1/69", None, "1969-01-01"),
    ("31/12/68", None, "2068-12-31"),
    ("1/1/00", None, "2000-01-01"),
    ("2018-05-23", None, "2018-05-23"),
    ("2017-10/2017-12", None, "2017-10/2017-12"),
    ("  2018-04-21/2018-04-30 ", None, "2018-04-21/2018-04-30"),
    ("marts-marts 2019", None, "2019-03"),
    ("ultimo\u00a0april\u00a02018", None, "2018-04-21/2018-04-30"),  # no-break spaces
    ("for\u0061\u030aret 2018", None, "2018-03/2018-05"),  # a decomposed å
]
"""The forms the brief names, and the neighbours of each form."""

ALL_CASES = SEED_000_TIME_COLUMN + SEED_001_TIME_COLUMN + SEED_004_TIMETABLE + SEED_PROSE
ALL_CASES += BRIEF_AND_MORE


@pytest.mark.parametrize(("text", "context_year", "expected"), ALL_CASES)
def test_expression_reads_as_table_says(
    text: str, context_year: int | None, expected: str | tuple[str, ...]
) -> None:
    result = parse_danish(text, context_year=context_year)
    assert _texts(result) == expected
    for period in as_periods(result):
        assert Period.parse(period.text) == period
        assert period.start <= period.end


@pytest.mark.parametrize(
    ("text", "context_year", "expected"), [c for c in ALL_CASES if c[1] is None]
)
def test_a_written_year_wins_over_the_context_year(
    text: str, context_year: None, expected: str | tuple[str, ...]
) -> None:
    assert _texts(parse_danish(text, context_year=1999)) == expected


def test_two_dates_are_a_tuple_of_two_days() -> None:
    result = parse_danish("23/11/2018 og 11/12/2018")
    assert isinstance(result, tuple)
    assert [p.is_day for p in result] == [True, True]
    assert [p.start for p in result] == [dt.date(2018, 11, 23), dt.date(2018, 12, 11)]


def test_ultimo_primo_medio_are_day_windows_of_the_month() -> None:
    ultimo = parse_danish("Ultimo april", context_year=2018)
    assert isinstance(ultimo, Period)
    assert (ultimo.start, ultimo.end) == (dt.date(2018, 4, 21), dt.date(2018, 4, 30))
    kick_off = parse_danish("Ultimo maj-primus juni 2018")
    assert isinstance(kick_off, Period)
    assert (kick_off.start, kick_off.end) == (dt.date(2018, 5, 21), dt.date(2018, 6, 10))
    assert parse_danish("Ultimo maj-primus juni 2018") == parse_danish("ultimo maj-primo juni 2018")


# -- years across rows: the seeds' own sequences -------------------------------------------


def _expected(table: list[tuple[str, int | None, str | tuple[str, ...]]]) -> list[object]:
    return [expected for _, _, expected in table]


@pytest.mark.parametrize("table", [SEED_000_TIME_COLUMN, SEED_001_TIME_COLUMN, SEED_004_TIMETABLE])
def test_rows_carry_the_year_forward(
    table: list[tuple[str, int | None, str | tuple[str, ...]]],
) -> None:
    rows = parse_rows(text for text, _, _ in table)
    assert [_texts(r) for r in rows] == _expected(table)


def test_seed_000_row_after_a_range_keeps_the_year_of_its_start() -> None:
    # "august" follows "August-september 2018": the anchor is the row's first month
    rows = parse_rows(["August-september 2018", "august", "16/8/2018"])
    assert [_texts(r) for r in rows] == ["2018-08/2018-09", "2018-08", "2018-08-16"]


def test_month_going_backwards_moves_to_the_next_year() -> None:
    rows = parse_rows(["11/12/2018", "Ultimo april"])
    assert [_texts(r) for r in rows] == ["2018-12-11", "2019-04-21/2019-04-30"]
    rows = parse_rows(["23/11/2018 og 11/12/2018", "Ultimo april", "august"])
    assert [_texts(r) for r in rows] == [
        ("2018-11-23", "2018-12-11"),
        "2019-04-21/2019-04-30",
        "2019-08",
    ]


def test_seed_004_years_are_inferred_backwards_from_a_later_row() -> None:
    texts = ["December-januar", "februar-april", "Maj", "Juni 2016"]
    assert [_texts(r) for r in parse_rows(texts)] == [
        "2015-12/2016-01",
        "2016-02/2016-04",
        "2016-05",
        "2016-06",
    ]


def test_seed_000_years_are_inferred_backwards_then_forwards() -> None:
    texts = ["Ultimo april", "23/5/2018", "Ultimo maj-primus juni 2018", "august"]
    assert [_texts(r) for r in parse_rows(texts)] == [
        "2018-04-21/2018-04-30",
        "2018-05-23",
        "2018-05-21/2018-06-10",
        "2018-08",
    ]


def test_start_year_dates_the_leading_rows() -> None:
    texts = ["December-januar", "februar-april", "Maj", "Juni"]
    assert [_texts(r) for r in parse_rows(texts, start_year=2015)] == [
        "2015-12/2016-01",
        "2016-02/2016-04",
        "2016-05",
        "2016-06",
    ]
    # start_year is the year before the first row; a written year still wins
    assert [_texts(r) for r in parse_rows(["Maj", "juni 2030"], start_year=2016)] == [
        "2016-05",
        "2030-06",
    ]


def test_rows_without_any_year_are_refused_naming_the_first_row() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_rows(["December-januar", "februar-april"])
    assert caught.value.code == "bad-date"
    assert "row 1" in str(caught.value) and "'December-januar'" in str(caught.value)


def test_a_bad_row_is_refused_with_its_number_and_text() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_rows(["13/12/17", "snart", "7/12/2017"])
    assert "row 2" in str(caught.value) and "'snart'" in str(caught.value)
    with pytest.raises(RuleViolation) as caught:
        parse_rows(["Oktober-december 2017", ""])
    assert "row 2" in str(caught.value)


def test_no_rows_are_no_periods() -> None:
    assert parse_rows([]) == []


# -- refusals -----------------------------------------------------------------------------

GARBAGE = [
    "snart",
    "32/13/2018",
    "32/12/2018",
    "1/13/2018",
    "30/2/2019",
    "29/2/2019",
    "ultimo",
    "primo 2018",
    "medio 2016",  # seed 004 "senest medio 2016": mid-year has no agreed extent
    "primo",
    "ultimo snart",
    "primo-medio",
    "1-30-72-225-15",  # seed 004's journal number
    "Dato 4-11-2015",
    "budget 2016",
    "15/3-14/3/2018",
    "ultimo april-primo april 2018",
    "4-11",
    "14",
    "13/12/170",
    "13/12/2",
    "vinter 2018",
    "vinteren 2018",
    "",
    "   ",
    "og",
    "2018 og",
    "april 18",
    "0000",
    "1/1/0000",
    "ma 2018",
    "ju 2018",
    "14/3-",
    "-14/3/2018",
    "april?",
    "uge 12 2018",
    "1/1/2018/2019",
    "2018-13",
    "２０１９",  # fullwidth digits: only ASCII digits are digits (as for Period)
    "٢٠١٩",
    "1/1/２０１９",
    "april ２０１９",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_unreadable_text_is_refused_quoting_it(text: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_danish(text, context_year=2018)
    assert caught.value.code == "bad-date"
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["august", "Ultimo april", "December-januar", "23/2", "i juni"])
def test_no_year_and_no_context_is_refused(text: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_danish(text)
    assert caught.value.code == "bad-date"
    assert repr(text) in str(caught.value) and "no year" in str(caught.value)


def test_context_year_out_of_range_is_refused() -> None:
    with pytest.raises(RuleViolation):
        parse_danish("december-januar", context_year=9999)
    with pytest.raises(RuleViolation):
        parse_danish("august", context_year=0)
    with pytest.raises(RuleViolation):
        parse_rows(["august"], start_year=10000)


def test_not_a_string_is_refused() -> None:
    with pytest.raises(RuleViolation):
        parse_danish(20180101)  # type: ignore[arg-type]


# -- helpers ------------------------------------------------------------------------------


def test_two_digit_year_pivot() -> None:
    assert [two_digit_year(y) for y in (0, 17, 68, 69, 99)] == [2000, 2017, 2068, 1969, 1999]
    with pytest.raises(ValueError, match="two-digit"):
        two_digit_year(100)


def test_month_names_and_abbreviations() -> None:
    assert [month_number(m) for m in MONTHS] == list(range(1, 13))
    assert [month_number(w) for w in ("Jan", "FEB.", "mar", "sept", "okt", "nov.", "Dec")] == [
        1,
        2,
        3,
        9,
        10,
        11,
        12,
    ]
    assert [month_number(w) for w in ("ju", "ma", "snart", "", "juli2")] == [None] * 5


# -- properties ---------------------------------------------------------------------------

_DASHES = ["-", "–", "—", "‐", " - ", " – ", " — ", "–  ", " til "]
_QUALIFIER_DAYS = {"primo": (1, 10), "primus": (1, 10), "medio": (11, 20), "ultimo": (21, 31)}


@st.composite
def _cased(draw: st.DrawFn, word: str) -> str:
    flags = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if up else c for c, up in zip(word, flags, strict=True))


@st.composite
def _month_word(draw: st.DrawFn, month: int) -> str:
    name = MONTHS[month - 1]
    spelled = draw(st.sampled_from([name, name[:3], name[:3] + "."]))
    return draw(_cased(spelled))


def _month_bounds(year: int, month: int, qualifier: str | None) -> tuple[dt.date, dt.date]:
    last = calendar.monthrange(year, month)[1]
    lo, hi = _QUALIFIER_DAYS[qualifier] if qualifier else (1, last)
    return dt.date(year, month, lo), dt.date(year, month, min(hi, last))


_years = st.integers(min_value=1900, max_value=2100)
_months = st.integers(min_value=1, max_value=12)
_qualifiers = st.none() | st.sampled_from(sorted(_QUALIFIER_DAYS))


@st.composite
def month_part(draw: st.DrawFn, year: int | None) -> tuple[str, int, str | None]:
    """``[qualifier] month [year]``: (text, month, qualifier)."""
    month = draw(_months)
    qualifier = draw(_qualifiers)
    text = draw(_month_word(month))
    if qualifier:
        text = f"{draw(_cased(qualifier))} {text}"
    if year is not None:
        text = f"{text} {year}"
    return text, month, qualifier


@st.composite
def day_text(draw: st.DrawFn, day: dt.date) -> str:
    """One day written in one of the numeric or named Danish forms."""
    forms = [
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day}-{day.month}-{day.year}",
        f"{day.day}.{day.month}.{day.year}",
        f"{day.day}. {draw(_month_word(day.month))} {day.year}",
    ]
    if 1969 <= day.year <= 2068:
        forms.append(f"{day.day}/{day.month}/{day.year % 100:02d}")
    return draw(st.sampled_from(forms))


_days = st.dates(min_value=dt.date(1969, 1, 1), max_value=dt.date(2068, 12, 31))


def _ymd(value: time.struct_time) -> tuple[int, int, int]:
    return value.tm_year, value.tm_mon, value.tm_mday


def _check_written_form(period: Period) -> None:
    """What the module writes reads back the same, and edtf agrees on its bounds."""
    again = Period.parse(period.text)
    assert again == period
    assert (again.start, again.end) == (period.start, period.end)
    assert period.start <= period.end
    oracle = parse_edtf(period.text)
    start, end = period.start, period.end
    assert _ymd(oracle.lower_strict()) == (start.year, start.month, start.day)
    assert _ymd(oracle.upper_strict()) == (end.year, end.month, end.day)


@given(_days, st.data())
def test_any_day_form_reads_as_that_day(day: dt.date, data: st.DataObject) -> None:
    text = data.draw(day_text(day))
    result = parse_danish(text)
    assert result == Period.day(day)
    assert isinstance(result, Period)
    _check_written_form(result)


@given(_years, st.data())
def test_a_month_part_with_its_year_reads_as_its_days(year: int, data: st.DataObject) -> None:
    text, month, qualifier = data.draw(month_part(year))
    result = parse_danish(text)
    assert isinstance(result, Period)
    assert (result.start, result.end) == _month_bounds(year, month, qualifier)
    _check_written_form(result)
    assert parse_danish(text) == result  # deterministic


@given(_years, st.sampled_from(_DASHES), st.data())
def test_a_range_with_the_year_on_its_last_part(year: int, dash: str, data: st.DataObject) -> None:
    left, m1, q1 = data.draw(month_part(None))
    right, m2, q2 = data.draw(month_part(year))
    text = f"{left}{dash}{right}"
    start, _ = _month_bounds(year if m1 <= m2 else year - 1, m1, q1)
    _, end = _month_bounds(year, m2, q2)
    if end < start:  # only a same-month range with reversed qualifiers
        assert m1 == m2
        with pytest.raises(RuleViolation) as caught:
            parse_danish(text)
        assert repr(text) in str(caught.value)
        return
    result = parse_danish(text)
    assert isinstance(result, Period)
    assert (result.start, result.end) == (start, end)
    _check_written_form(result)
    assert parse_danish(text) == result


@given(_days, _days, st.sampled_from(_DASHES), st.data())
def test_a_range_of_days(a: dt.date, b: dt.date, dash: str, data: st.DataObject) -> None:
    a, b = min(a, b), max(a, b)
    text = f"{data.draw(day_text(a))}{dash}{data.draw(day_text(b))}"
    result = parse_danish(text)
    assert isinstance(result, Period)
    assert (result.start, result.end) == (a, b)
    _check_written_form(result)


@given(_years, st.data())
def test_case_and_dash_do_not_matter(year: int, data: st.DataObject) -> None:
    m1, m2 = data.draw(_months), data.draw(_months)
    q1, q2 = data.draw(_qualifiers), data.draw(_qualifiers)

    def render() -> str:
        def part(q: str | None, m: int) -> str:
            word = data.draw(_month_word(m))
            return f"{data.draw(_cased(q))} {word}" if q else word

        return f"{part(q1, m1)}{data.draw(st.sampled_from(_DASHES))}{part(q2, m2)} {year}"

    one, other = render(), render()
    try:
        first = parse_danish(one)
    except RuleViolation:
        with pytest.raises(RuleViolation):
            parse_danish(other)
        return
    assert parse_danish(other) == first


@given(st.integers(min_value=1900, max_value=2100), st.data())
def test_context_year_is_the_year_of_the_first_part(year: int, data: st.DataObject) -> None:
    """A yearless expression with context Y reads as if Y were written on its first part."""
    left, _, _ = data.draw(month_part(None))
    right, _, _ = data.draw(month_part(None))
    dash = data.draw(st.sampled_from(_DASHES))
    try:
        result = parse_danish(f"{left}{dash}{right}", context_year=year)
    except RuleViolation:
        with pytest.raises(RuleViolation):
            parse_danish(f"{left} {year}{dash}{right}")
        return
    assert result == parse_danish(f"{left} {year}{dash}{right}")
    assert isinstance(result, Period) and result.start.year == year
    _check_written_form(result)
    assert parse_danish(left, context_year=year) == parse_danish(f"{left} {year}")


@given(st.lists(_months, min_size=1, max_size=12), _years)
def test_rows_without_years_run_forward_from_the_start_year(
    months: list[int], start_year: int
) -> None:
    rows = parse_rows([MONTHS[m - 1] for m in months], start_year=start_year)
    starts = [as_periods(r)[0].start for r in rows]
    previous = dt.date(start_year, 1, 1)
    for start, month in zip(starts, months, strict=True):
        # the first day of that month on or after the previous row's start, within a year
        assert start.month == month and start.day == 1
        assert previous.replace(day=1) <= start < previous.replace(day=1, year=previous.year + 1)
        previous = start


@given(st.lists(_months, min_size=1, max_size=12), _years, _months)
def test_rows_before_the_first_year_run_backward(
    months: list[int], year: int, last_month: int
) -> None:
    texts = [MONTHS[m - 1] for m in months] + [f"{MONTHS[last_month - 1]} {year}"]
    starts = [as_periods(r)[0].start for r in parse_rows(texts)]
    assert starts[-1] == dt.date(year, last_month, 1)
    for earlier, later in itertools.pairwise(starts):
        assert earlier <= later < earlier.replace(year=earlier.year + 1)


_alphabet = st.sampled_from(
    [*"0123456789/-–—., ", "og ", "til ", "primo ", "ultimo ", "maj", "dec", "19", "2018"]
)


@given(st.lists(_alphabet, max_size=10).map("".join) | st.text(max_size=16))
def test_any_text_is_periods_or_a_refusal_quoting_it(text: str) -> None:
    """Nothing but a ``bad-date`` refusal escapes; what is read is well formed."""
    refusal: RuleViolation | None = None
    try:
        result = parse_danish(text, context_year=2018)
    except RuleViolation as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.code == "bad-date"
        assert repr(text) in str(refusal)
        return
    for period in as_periods(result):
        _check_written_form(period)
    assert parse_danish(text, context_year=2018) == result
