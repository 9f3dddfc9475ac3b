"""How the ``saftale`` command writes rows: every format a page at a time.

These run the output helpers of :mod:`saftale_projections.cli` in-process (the
command itself is driven end to end in ``test_cli.py``): streaming is shown by
watching what has been written while the rows are still being produced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from saftale_projections import cli


def emitted(rows: Any, fmt: str, of: Any = ("text",), title: str = "T") -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli._emit(rows, fmt, of=of, title=title)
    return out.getvalue()


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
