"""Kommissorier (terms of reference) read from their text into a :class:`KommissoriumRecorded`.

The form is that of seed 004::

    Kommissorium for udarbejdelse af strategi for ...     <- the title: the first line
    Dato 4-11-2015                                        <- the date, a Danish date
    1-30-72-225-15                                        <- the journal number
    Baggrund / Ramme / Proces                             <- sections, each a heading line
    Tid<TAB>Handling<TAB>Aktører                          <- the timetable, tab-separated
    Nov – december 2015<TAB>Orientering om ...<TAB>Politiske niveau (...)
    December-januar<TAB>Udarbejdelse af debatpapir<TAB>

The title is the first non-empty line; the date is the line ``Dato ...``
(read by :func:`~saftale_core.danish_dates.parse_danish`); the journal number
is a line of four or more numbers joined by dashes (``1-30-72-225-15``; a
``J.nr.`` before it is allowed), so a date such as ``4-11-2015`` is never
taken for one.  A section runs from its heading to the next heading or the
timetable; its paragraphs are kept, separated by a blank line, and the lines
of a paragraph joined.  Other headings a kommissorium may have are not known
and stay in the text of the section before them.  The timetable's rows are
read with :func:`~saftale_core.danish_dates.parse_rows` with the document's
year as the start year, so ``December-januar`` after ``Nov – december 2015``
is ``2015-12/2016-01`` and ``Maj`` after ``februar-april`` is ``2016-05``.

What cannot be read raises :class:`~saftale_core.errors.RuleViolation`
(``bad-record``, or ``bad-date`` for a date) naming the line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import attrs

from saftale_core.danish_dates import as_periods, parse_danish, parse_rows
from saftale_core.dates import Period
from saftale_core.errors import RuleViolation
from saftale_core.kommissorium import KommissoriumRecorded, TimetableRow

__all__ = [
    "ACTION_HEADINGS",
    "ACTOR_HEADINGS",
    "SECTIONS",
    "TIME_HEADINGS",
    "KommissoriumDocument",
    "kommissorium_fact",
    "read_kommissorium",
]

SECTIONS = {"baggrund": "background", "ramme": "frame", "proces": "process"}
"""Section headings (any letter case, an optional ``:``) and the field each fills."""

TIME_HEADINGS = frozenset({"tid", "tidspunkt", "dato"})
ACTION_HEADINGS = frozenset({"handling", "aktivitet", "opgave"})
ACTOR_HEADINGS = frozenset({"aktører", "aktør", "ansvarlig", "deltagere"})
"""The timetable's column headings (any letter case)."""

_DATE_LINE = re.compile(r"^\s*dato\s*:?\s+(?P<date>\S.*?)\s*$", re.I)
_JOURNAL = re.compile(r"^\s*(?:j\.?\s*nr\.?\s*:?\s*)?(?P<number>\d+(?:-\d+){3,})\s*$", re.I)


@attrs.frozen(kw_only=True)
class KommissoriumDocument:
    """What a kommissorium's text says."""

    title: str
    date: Period
    journal_number: str | None = None
    background: str
    frame: str | None = None
    process: str | None = None
    timetable: tuple[TimetableRow, ...] = ()


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _heading(raw: str) -> str | None:
    return SECTIONS.get(_norm(raw).removesuffix(":").strip().casefold())


def _timetable_columns(raw: str) -> tuple[int, int, int | None] | None:
    if "\t" not in raw:
        return None
    names = [_norm(c).casefold() for c in raw.split("\t")]
    time = next((i for i, n in enumerate(names) if n in TIME_HEADINGS), None)
    action = next((i for i, n in enumerate(names) if n in ACTION_HEADINGS), None)
    actors = next((i for i, n in enumerate(names) if n in ACTOR_HEADINGS), None)
    if time is None or action is None:
        return None
    return time, action, actors


def _paragraphs(lines: Sequence[str]) -> str | None:
    paragraphs: list[list[str]] = [[]]
    for raw in lines:
        if raw.strip():
            paragraphs[-1].append(raw)
        elif paragraphs[-1]:
            paragraphs.append([])
    text = "\n\n".join(_norm(" ".join(p)) for p in paragraphs if p)
    return text or None


def _date(written: str, number: int) -> Period:
    try:
        found = parse_danish(written)
    except RuleViolation as exc:
        raise RuleViolation("bad-date", f"line {number}: the date: {exc.detail}") from None
    if isinstance(found, tuple):
        raise RuleViolation(
            "bad-date", f"line {number}: a kommissorium has one date, not {written!r}"
        )
    return found


def _timetable(
    lines: Sequence[str], start: int, columns: tuple[int, int, int | None], year: int
) -> tuple[tuple[TimetableRow, ...], int]:
    """The timetable's rows from the line after its header, and the index where it ends."""
    t_col, a_col, p_col = columns
    width = len(lines[start].split("\t"))
    found: list[tuple[int, str, str, str]] = []
    end = len(lines)
    for index in range(start + 1, len(lines)):
        raw, number = lines[index], index + 1
        if not raw.strip():
            continue
        if "\t" not in raw:
            end = index
            break
        cells = [_norm(c) for c in raw.split("\t")]
        if any(cells[width:]):
            raise RuleViolation(
                "bad-record",
                f"line {number}: {len(cells)} cells, but the timetable has {width} columns",
            )
        cells += [""] * (width - len(cells))
        time, action = cells[t_col], cells[a_col]
        actors = cells[p_col] if p_col is not None else ""
        if not time:
            raise RuleViolation(
                "bad-date", f"line {number}: the timetable row {action!r} has no time"
            )
        if not action:
            raise RuleViolation(
                "bad-record", f"line {number}: the timetable row {time!r} has no action"
            )
        found.append((number, time, action, actors))
    try:
        whens = parse_rows([time for _, time, _, _ in found], start_year=year)
    except RuleViolation as exc:
        m = re.match(r"row (\d+): ", exc.detail)
        where = found[int(m.group(1)) - 1][0] if m else start + 1
        detail = re.sub(r"^row \d+: ", "", exc.detail)
        raise RuleViolation("bad-date", f"line {where}: {detail}") from None
    rows = tuple(
        TimetableRow(time=time, when=as_periods(when), action=action, actors=actors or None)
        for (_, time, action, actors), when in zip(found, whens, strict=True)
    )
    return rows, end


def read_kommissorium(text: str) -> KommissoriumDocument:
    """Read a kommissorium's text (the form of seed 004)."""
    if not isinstance(text, str):
        raise RuleViolation("bad-record", f"expected text, got {type(text).__name__}")
    lines = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((i for i, raw in enumerate(lines) if raw.strip()), None)
    if first is None:
        raise RuleViolation("bad-record", "the kommissorium is empty: no title")
    title = _norm(lines[first])
    date: Period | None = None
    journal: str | None = None
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    timetable: tuple[TimetableRow, ...] = ()
    index = first + 1
    while index < len(lines):
        raw, number = lines[index], index + 1
        columns = _timetable_columns(raw)
        if columns is not None:
            if date is None:
                raise RuleViolation(
                    "bad-record", f"line {number}: a timetable before the date line ('Dato ...')"
                )
            if timetable:
                raise RuleViolation("bad-record", f"line {number}: a second timetable")
            timetable, index = _timetable(lines, index, columns, date.start.year)
            current = None
            continue
        heading = _heading(raw)
        if heading is not None:
            if heading in sections:
                raise RuleViolation(
                    "bad-record", f"line {number}: a second section {raw.strip()!r}"
                )
            current = sections[heading] = []
        elif current is not None:
            current.append(raw)
        elif date is None and (d := _DATE_LINE.match(raw)) is not None:
            date = _date(d.group("date"), number)
        elif journal is None and (m := _JOURNAL.match(raw)) is not None:
            journal = m.group("number")
        index += 1
    if date is None:
        raise RuleViolation(
            "bad-record", "no date: expected a line such as 'Dato 4-11-2015' before the sections"
        )
    texts = {field: _paragraphs(body) for field, body in sections.items()}
    background = texts.get("background")
    if background is None:
        raise RuleViolation("bad-record", "no background: expected a section 'Baggrund'")
    return KommissoriumDocument(
        title=title,
        date=date,
        journal_number=journal,
        background=background,
        frame=texts.get("frame"),
        process=texts.get("process"),
        timetable=timetable,
    )


def kommissorium_fact(
    text: str,
    subject: str,
    by: str,
    governs: str | None = None,
    *,
    ref: str | None = None,
    note: str | None = None,
) -> KommissoriumRecorded:
    """The :class:`KommissoriumRecorded` fact of a kommissorium's text, dated by its date."""
    doc = read_kommissorium(text)
    return KommissoriumRecorded(
        subject=subject,
        on=doc.date,
        by=by,
        ref=ref,
        note=note,
        title=doc.title,
        journal_number=doc.journal_number,
        background=doc.background,
        frame=doc.frame,
        process=doc.process,
        timetable=doc.timetable,
        governs=governs,
    )
