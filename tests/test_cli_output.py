"""How the ``saftale`` command writes rows: CSV for a Danish Excel, and every format a
page at a time.

These run the output helpers of :mod:`saftale_projections.cli` in-process (the
command itself is driven end to end in ``test_cli.py``): Hypothesis needs thousands of
texts, and streaming is shown by watching what has been written while the rows are
still being produced.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from saftale_projections import cli

STRING_FORMULA = re.compile(r'="((?:[^"]|"")*)"', flags=re.DOTALL)


def unexcel(cell: str) -> str:
    """A text cell's value, its escaping undone as docs/reference/cli.md documents it."""
    match = STRING_FORMULA.fullmatch(cell)
    if match:
        return match.group(1).replace('""', '"')
    return cell[1:] if cell.startswith("'") else cell


def emitted(rows: Any, fmt: str, of: Any = ("text",), title: str = "T") -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli._emit(rows, fmt, of=of, title=title)
    return out.getvalue()


def csv_cells(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def only_cell(text: str) -> str:
    """The CSV of one text, as Excel gets it: the one cell under the header."""
    header, row = csv_cells(emitted([{"text": text}], "csv"))
    assert header == ["text"]
    (cell,) = row
    return cell


# -- texts Excel would change ------------------------------------------------------------------

WOULD_CHANGE = [
    "007",  # a leading zero: the number 7
    "01-30-72",  # a journal number: a date, or a number
    "1-30-72-225-15",
    "2019-05",  # a month: 1 May 2019
    "2019",  # a year: the number 2019
    "2019-05-23",  # a day as text (a period, not a date-typed column)
    "2017-10/2017-12",
    "1-2",  # 1 February
    "23/11",  # 23 November
    "maj 2019",  # 1 May 2019 in a Danish Excel
    "1. december",
    "12345678901234567890",  # more than 15 digits: the last ones become 0
    "1E5",  # 100000
    "5%",  # 0,05
    "1.234",  # 1234 (a Danish thousands separator)
    "3,5",  # 3.5
    "10:15",  # a time
    " 42 ",  # spaces around a number
    "kr. 100",  # currency
    "TRUE",
    "Sand",  # TRUE in Danish
    "#N/A",  # an error value
    "'quoted",  # starts with the apostrophe the escaping itself uses
    "1" * 255,  # as long as a formula's text may be
]
KEPT = [
    "Rygestop",
    "SSG",
    "byraad:aarhus",
    "Sundhedsaftalen 2019-2023",  # a word Excel does not read as a date
    "kommissorium-naere-sundhedsvaesen-2015",
    "Samarbejdsaftale om demens",
    "",
]
FORMULA_LIKE = [
    "=1+1",
    '=HYPERLINK("https://evil.example","klik")',
    "+45 12 34 56 78",
    "-5",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "\nx",
    "1" * 256,  # would change, but too long for a formula's text: an apostrophe instead
]


def test_each_text_cell_follows_the_documented_rule() -> None:
    """A text Excel would change is written as the string formula ="..."; a text that
    starts like a formula gets an apostrophe; any other text is written as it is."""
    expected = {
        **{t: '="' + t.replace('"', '""') + '"' for t in WOULD_CHANGE},
        **{t: t for t in KEPT},
        **{t: "'" + t for t in FORMULA_LIKE},
    }
    columns = [f"column {i}" for i in range(len(expected))]
    _, row = csv_cells(emitted([dict(zip(columns, expected, strict=True))], "csv", of=columns))
    assert row == list(expected.values())
    assert {t: only_cell(t) for t in expected} == expected
    assert [unexcel(only_cell(t)) for t in expected] == list(expected)


def test_numbers_and_dates_keep_their_type() -> None:
    """Numbers stay numbers (a decimal comma), days open as dates and recording times as
    date-times (UTC); a whole number beyond Excel's 15 digits is text, every digit kept."""
    cases: list[tuple[Any, str]] = [
        (7, "7"),
        (-12, "-12"),
        (999_999_999_999_999, "999999999999999"),  # 15 digits: a number Excel keeps
        (1_000_000_000_000_000, '="1000000000000000"'),  # 16: text, every digit kept
        (-(10**18), '="-1000000000000000000"'),
        (71.5, "71,5"),  # a decimal comma
        (15.0, "15,0"),
        (True, "yes"),
        (None, ""),
        (dt.date(2019, 4, 30), "2019-04-30"),  # an ISO day: a date in Excel
        (dt.datetime(2019, 4, 30, 12, 5, 9, 123456, tzinfo=dt.UTC), "2019-04-30 12:05:09"),
        (
            dt.datetime(2019, 4, 30, 14, 5, 9, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2019-04-30 12:05:09",
        ),
    ]
    rows = [{"text": value} for value, _ in cases]
    _, *cells = csv_cells(emitted(rows, "csv"))
    assert cells == [[cell] for _, cell in cases]


# -- the property: any text survives, and nothing but ="..." is ever a formula ---------------------


def _no_live_formula(cell: str) -> None:
    assert not cell.startswith(("+", "-", "@", "\t", "\r", "\n")), cell
    if cell.startswith("="):
        assert STRING_FORMULA.fullmatch(cell), cell


NAMES = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()


@given(st.lists(st.text(), min_size=1, max_size=4))
@example(['="007"', "'", "''", '="', "=", " =1", "\x00", "1\n2", '"', "\r\n"])
def test_any_text_reads_back_unchanged_and_never_runs(texts: list[str]) -> None:
    columns = NAMES[: len(texts)]
    text = emitted([dict(zip(columns, texts, strict=True))], "csv", of=columns)
    header, row = csv_cells(text)
    assert header == columns
    assert [unexcel(cell) for cell in row] == texts
    for cell in row:
        _no_live_formula(cell)


# -- a page at a time ----------------------------------------------------------------------------


def watched(
    count: int, at: int, seen: Callable[[], str], row: Callable[[int], Any]
) -> Iterator[Any]:
    """``count`` rows; when row ``at`` is asked for, what has been written so far must
    already hold rows (a writer that gathers every row first has written nothing)."""
    for i in range(count):
        if i == at:
            assert "row-1" in seen(), "nothing written while the rows are being produced"
        yield row(i)


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_rows_are_written_while_they_are_still_being_produced(fmt: str) -> None:
    out = io.StringIO()
    rows = watched(1000, 250, out.getvalue, lambda i: {"text": f"row-{i}"})
    with contextlib.redirect_stdout(out):
        cli._emit(rows, fmt, of=("text",), title="T")
    assert out.getvalue().count("row-") == 1000
    if fmt == "json":  # still one JSON array, as json.dumps writes it
        assert out.getvalue() == json.dumps([{"text": f"row-{i}"} for i in range(1000)]) + "\n"


def test_json_streamed_is_the_array_json_dumps_writes() -> None:
    """Around the page size too: no rows, one, a page, a page and one (written while the
    rows are produced when there is more than a page)."""
    for count in (0, 1, 99, 100, 101, 250):
        rows = [
            {"text": f"row-{i}", "n": i, "day": dt.date(2019, 1, 1 + i % 28)} for i in range(count)
        ]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli._emit(watched(count, 150, out.getvalue, rows.__getitem__), "json", of=(), title="")
        assert out.getvalue() == json.dumps(cli._plain(rows), ensure_ascii=False) + "\n"


def test_a_table_widens_a_column_for_a_later_page_and_repeats_its_header() -> None:
    """Widths can't wait for rows not yet read: a page that needs a wider column starts a
    new header. A list, whose rows are all there, is one block as wide as its widest
    cell, as an empty table says (none) either way."""
    rows = [{"subject": f"s{i}", "n": i} for i in range(250)]
    rows[150]["subject"] = "a-much-longer-subject-key"
    lines = emitted(iter(rows), "table", of=("subject", "n")).splitlines()
    assert lines[0] == "T"
    headers = [i for i, x in enumerate(lines) if x.split() == ["subject", "n"]]
    # first page: its own widths; the second page needs a wider subject column
    assert headers == [1, 1 + 2 + 100 + 1]
    assert lines[headers[1] - 1] == ""
    assert "  a-much-longer-subject-key  150" in lines
    assert lines[3] == "  s0       0"
    # every row of a block is as wide as its header says
    for start, end in ((headers[0], headers[1] - 1), (headers[1], len(lines))):
        n_at = lines[start].index(" n") + 1
        for x in lines[start + 2 : end]:
            assert x[n_at:].split()[0].isdigit() and x[n_at - 1] == " ", x
    assert len(lines) == 1 + 2 + 250 + 1 + 2

    whole = emitted(rows, "table", of=("subject", "n")).splitlines()
    assert [x for x in whole if x.split() == ["subject", "n"]] == [whole[1]]
    assert whole[3] == "  s0                         0"
    assert emitted(iter(()), "table") == emitted([], "table") == "T\n  (none)\n"
