"""Time and process plans (seeds 000 and 001) read into the planned activities of a generation.

A *tids- og procesplan* is a table of three columns, **Aktivitet** (an
activity's title, often followed by bullet points), **Tid** (a Danish time
expression, see :mod:`saftale_core.danish_dates`) and **Deltagere** (who takes
part), divided by phase headings (*Foranalyse*, *Politisk fase*, ...; the
phases of :class:`~saftale_core.generation.Phase`).  The same plan reaches us
in two forms, and both read into the same :class:`PlanRow` list:

* :func:`read_tabular` reads the text of an HTML table: one row a line, cells
  separated by tabs, with HTML remnants (``<ul ...>``) and bullet points
  (``•``) inside the cells.  A row with an empty time whose text goes on in
  lower case or with a bullet point is the rest of the row before it (a cell
  split over a page).
* :func:`read_pdf_text` reads the text a PDF extraction gives (``pdftotext``
  without ``-layout``), where a row is spread over several lines: a cell's
  lines come one after the other, the first lines of the cells of a row are
  often merged into one line (``Klyngedialogmøder Oktober-november``), a
  wrapped line ends with a space, and cells are separated by blank lines.

How a PDF row is found (structure, never the seed's content):

1. The time column is the anchor.  A line holds a row's time when a Danish
   date expression can be read at one of its words, possibly going on over the
   next lines (``Ultimo maj-primo`` / ``juni 2018``, ``23/11/2018 og`` /
   ``11/12/2018``).  Text before it on the line is the activity title; text
   after it is the first line of the participants, which go on over the wrapped
   lines that follow (a line ending with a space).
2. Between two rows' times, the lines are the rest of the row before (its
   activity, when a page break split it: lines that go on in lower case or
   with bullet points; then its participants) and the activity of the next
   row: its title is the paragraph just before its first bullet point, or,
   without bullet points, the last paragraph before its time.  After a phase
   heading, everything up to the first time is that row's activity.
3. Text after a bullet point is part of that bullet point until the next one.
4. The table ends at the first footnote (``* ...``) or at a time that has no
   activity before it (a paragraph of prose starting with a date).

The limits of this: a title containing a date expression of its own (``Budget
2018``) is taken for the time column, and a second paragraph of a row's
participants is told from the next row's title only by where the next row's
bullet points or time begin.

Footnote marks (``Foranalyse*``, ``Borgerperspektivinddragelse**``) are taken
off phase headings and titles; a title's footnote text (found after the table)
becomes the row's :attr:`PlanRow.notes`.  The times of all rows are read with
:func:`~saftale_core.danish_dates.parse_rows`, so a row without a year
(``Ultimo april``, ``august``) takes it from the rows around it.

:func:`plan_facts` turns rows into :class:`~saftale_core.generation.ActivityPlanned`
facts whose keys (``foranalyse-01``, ``politisk-fase-03``) depend only on the
phase and the row's place in it, so both extractions give the same keys.

Text without a recognisable table, a row whose time cannot be read, or a row
without a title raise :class:`~saftale_core.errors.RuleViolation`
(``bad-record`` or ``bad-date``) naming the line.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence

import attrs

from saftale_core.danish_dates import (
    MONTHS,
    QUALIFIERS,
    SEASONS,
    as_periods,
    month_number,
    parse_danish,
    parse_rows,
)
from saftale_core.dates import Period
from saftale_core.errors import RuleViolation
from saftale_core.facts import Fact
from saftale_core.generation import ActivityPlanned, Phase

__all__ = [
    "ACTIVITY_HEADINGS",
    "BULLETS",
    "PARTICIPANT_HEADINGS",
    "TIME_HEADINGS",
    "PlanRow",
    "activity_key",
    "phase_heading",
    "plan_facts",
    "read_pdf_text",
    "read_plan",
    "read_tabular",
]

BULLETS = "•\uf0b7\uf0a7▪●◦"
"""Characters that start a bullet point (``\\uf0b7`` is the Symbol-font bullet of a PDF)."""

ACTIVITY_HEADINGS = frozenset({"aktivitet", "aktiviteter"})
TIME_HEADINGS = frozenset({"tid", "tidspunkt", "dato"})
PARTICIPANT_HEADINGS = frozenset({"deltagere", "deltager", "aktører", "ansvarlig"})
"""The column headings of a plan's table (any letter case)."""

_BULLET_SPLIT = re.compile(f"[{re.escape(BULLETS)}]")
_TAG = re.compile(r"<[^>]*>")
_FOOTNOTE = re.compile(r"^\s*(\*+)\s+(\S.*)$")
_MARKS = re.compile(r"^(.*?)\s*(\*+)$", re.S)
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"\S+")
_DATE_LIKE = re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d/])")
_DATE_WORDS = frozenset({*MONTHS, *QUALIFIERS, *SEASONS, "og", "til", "i", "den", "fra"})
_STARTERS = frozenset({*MONTHS, *QUALIFIERS, *SEASONS, "den", "fra"})
_MAX_TIME_TOKENS = 10
_MAX_TIME_LINES = 3
_ANY_YEAR = 2000  # a leap year: only to check that a time without a year can be read


@attrs.frozen(kw_only=True)
class PlanRow:
    """One activity of a time and process plan."""

    phase: Phase
    what: str
    """The activity's title, footnote marks taken off."""
    details: tuple[str, ...] = ()
    """Its bullet points, in order."""
    time_text: str
    """The time as the plan writes it (white space normalised)."""
    when: tuple[Period, ...]
    """The time read (one period, or one per element of "A og B")."""
    participants: str | None = None
    notes: tuple[str, ...] = ()
    """The text of the footnotes the title is marked with (``**``)."""
    line: int = attrs.field(default=0, eq=False)
    """The line of the source where the row starts (not compared)."""


# -- shared helpers ---------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _lines(text: str) -> list[str]:
    if not isinstance(text, str):
        raise RuleViolation("bad-record", f"expected text, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "").split("\n")


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFC", text).casefold()
    folded = folded.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


_PHASES = {p.value: p for p in Phase}


def phase_heading(text: str) -> Phase | None:
    """The phase a heading names (``Politisk fase****``, ``Høringsfase``), else ``None``."""
    bare = re.sub(r"\*+$", "", text.strip()).strip()
    return _PHASES.get(_slug(bare)) if bare else None


def _lower_start(text: str) -> bool:
    return bool(text) and text[0].isalpha() and text[0].islower()


@attrs.define
class _Raw:
    """A row as read, before its time is dated and its title split from its bullets."""

    phase: Phase
    line: int
    time_line: int
    activity: list[str]
    time: str
    participants: list[str]


def _footnotes(lines: Sequence[str]) -> dict[str, str]:
    """Footnotes (``** text``, going on until a blank line) by their mark."""
    notes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in lines:
        m = _FOOTNOTE.match(raw)
        if m is not None:
            current = [m.group(2)]
            notes.setdefault(m.group(1), current)
        elif not raw.strip():
            current = None
        elif current is not None:
            current.append(raw)
    return {mark: _norm(" ".join(parts)) for mark, parts in notes.items()}


def _reason(exc: RuleViolation) -> str:
    return re.sub(r"^row \d+: ", "", exc.detail)


def _finish(raws: Sequence[_Raw], footnotes: dict[str, str]) -> list[PlanRow]:
    if not raws:
        raise RuleViolation("bad-record", "the plan's table has no rows with a time")
    texts = [_norm(r.time) for r in raws]
    for raw, text in zip(raws, texts, strict=True):
        try:
            parse_danish(text, context_year=_ANY_YEAR)
        except RuleViolation as exc:
            raise RuleViolation("bad-date", f"line {raw.time_line}: {_reason(exc)}") from None
    try:
        whens = parse_rows(texts)
    except RuleViolation as exc:
        m = re.match(r"row (\d+): ", exc.detail)
        where = raws[int(m.group(1)) - 1].time_line if m else raws[0].time_line
        raise RuleViolation("bad-date", f"line {where}: {_reason(exc)}") from None
    out = []
    for raw, text, when in zip(raws, texts, whens, strict=True):
        parts = _BULLET_SPLIT.split(_norm(" ".join(raw.activity)))
        title = _norm(parts[0])
        details = tuple(d for d in (_norm(p) for p in parts[1:]) if d)
        notes: tuple[str, ...] = ()
        marked = _MARKS.match(title)
        if marked is not None:
            title, mark = marked.group(1), marked.group(2)
            notes = (footnotes.get(mark, mark),)
        if not title:
            raise RuleViolation(
                "bad-record",
                f"line {raw.line}: the row has no activity title (it starts with a bullet point "
                f"or a footnote mark): {_norm(' '.join(raw.activity))!r}",
            )
        participants = _norm(" ".join(raw.participants))
        out.append(
            PlanRow(
                phase=raw.phase,
                what=title,
                details=details,
                time_text=text,
                when=as_periods(when),
                participants=participants or None,
                notes=notes,
                line=raw.line,
            )
        )
    return out


def _no_table(form: str) -> RuleViolation:
    return RuleViolation(
        "bad-record",
        f"no process-plan table found ({form}): expected a header line with the columns "
        "'Aktivitet', 'Tid' and 'Deltagere'",
    )


# -- the tab-separated form (seed 000) --------------------------------------------------


def _columns(cells: Sequence[str]) -> tuple[int, int, int | None] | None:
    """(activity, time, participants) column numbers when ``cells`` are a header row."""
    names = [_norm(c).casefold() for c in cells]
    activity = next((i for i, n in enumerate(names) if n in ACTIVITY_HEADINGS), None)
    time = next((i for i, n in enumerate(names) if n in TIME_HEADINGS), None)
    who = next((i for i, n in enumerate(names) if n in PARTICIPANT_HEADINGS), None)
    if activity is None or time is None:
        return None
    return activity, time, who


def _cell(text: str) -> str:
    return _norm(html.unescape(_TAG.sub(" ", text)))


def read_tabular(text: str) -> list[PlanRow]:
    """The rows of a plan given as tab-separated lines (the text of an HTML table)."""
    lines = _lines(text)
    header = next(
        (
            (n, cols)
            for n, raw in enumerate(lines)
            if "\t" in raw and (cols := _columns(raw.split("\t"))) is not None
        ),
        None,
    )
    if header is None:
        raise _no_table("tab-separated")
    start, (a_col, t_col, p_col) = header
    width = len(lines[start].split("\t"))
    raws: list[_Raw] = []
    phase: Phase | None = None
    end = len(lines)
    for index in range(start + 1, len(lines)):
        raw, number = lines[index], index + 1
        if not raw.strip():
            continue
        if "\t" not in raw:
            end = index
            break
        cells = [_cell(c) for c in raw.split("\t")]
        if _columns(cells) == (a_col, t_col, p_col):
            continue  # the header again, on a new page
        if any(cells[width:]):
            raise RuleViolation(
                "bad-record",
                f"line {number}: {len(cells)} cells, but the table has {width} columns",
            )
        cells += [""] * (width - len(cells))
        activity, time = cells[a_col], cells[t_col]
        who = cells[p_col] if p_col is not None else ""
        if not time:
            heading = phase_heading(activity) if not who else None
            if heading is not None:
                phase = heading
                continue
            if (
                raws
                and raws[-1].phase is phase
                and (not activity or activity[0] in BULLETS or _lower_start(activity))
            ):
                raws[-1].activity.append(activity)
                raws[-1].participants.append(who)
                continue
            raise RuleViolation(
                "bad-date",
                f"line {number}: the row {activity or who!r} has no time (column 'Tid')",
            )
        if phase is None:
            raise RuleViolation(
                "bad-record", f"line {number}: a row before the first phase heading: {activity!r}"
            )
        raws.append(_Raw(phase, number, number, [activity], time, [who]))
    return _finish(raws, _footnotes(lines[end:]))


# -- the PDF text form (seed 001) -------------------------------------------------------


@attrs.frozen
class _Line:
    number: int
    text: str
    soft: bool
    """The line was wrapped: it ends with white space, its paragraph goes on."""
    bullet: bool
    block: int
    """Lines separated by a blank line are in different blocks."""


@attrs.frozen
class _Anchor:
    prefix: str
    time: str
    rest: str
    rest_soft: bool
    next_index: int
    """The index of the first line after the time."""


def _is_pdf_header(raw: str) -> bool:
    words = raw.split()
    return 2 <= len(words) <= 3 and _columns(words) == (0, 1, 2 if len(words) == 3 else None)


def _pdf_header(lines: Sequence[str]) -> int | None:
    return next((index for index, raw in enumerate(lines) if _is_pdf_header(raw)), None)


def _may_start(token: str) -> bool:
    if token[0].isdigit():
        return True
    word = _WORD.match(token.casefold())
    if word is None or word.start() != 0:
        return False
    return word.group() in _STARTERS or month_number(word.group()) is not None


def _reads(candidate: str) -> bool:
    """True when ``candidate`` is a Danish time expression (a year may be missing)."""
    if not any(ch.isdigit() for ch in candidate) and not all(
        w in _DATE_WORDS for w in _WORD.findall(candidate.casefold())
    ):
        return False  # without digits, only whole month names etc. ("Jan" is a name)
    try:
        parse_danish(candidate, context_year=_ANY_YEAR)
    except RuleViolation:
        return False
    return True


def _is_text_line(raw: str) -> bool:
    stripped = raw.strip()
    return bool(
        stripped
        and stripped[0] not in BULLETS
        and _FOOTNOTE.match(raw) is None
        and phase_heading(stripped) is None
        and not _is_pdf_header(raw)
    )


def _find_anchor(lines: Sequence[str], index: int) -> _Anchor | None:
    """The time a line holds (perhaps going on over the next lines), if any."""
    # tokens: (line index, start, end, text) of this line and the next few text lines
    tokens: list[tuple[int, int, int, str]] = []
    own = 0
    following = 0
    j = index
    while j < len(lines) and following < _MAX_TIME_LINES:
        if j != index and lines[j].strip() and not _is_text_line(lines[j]):
            break
        found = [(j, m.start(), m.end(), m.group()) for m in _TOKEN.finditer(lines[j])]
        if j == index:
            own = len(found)
        elif found:
            following += 1
        tokens += found
        j += 1
    for s in range(own):
        if not _may_start(tokens[s][3]):
            continue
        for e in range(min(len(tokens), s + _MAX_TIME_TOKENS), s, -1):
            candidate = " ".join(t[3] for t in tokens[s:e]).rstrip(",;:")
            if not candidate or not _reads(candidate):
                continue
            last_line, _, last_end, _ = tokens[e - 1]
            raw = lines[last_line]
            rest = raw[last_end:]
            return _Anchor(
                prefix=_norm(lines[index][: tokens[s][1]]),
                time=_norm(candidate),
                rest=_norm(rest.lstrip(",;: ")),
                rest_soft=raw != raw.rstrip(),
                next_index=last_line + 1,
            )
    return None


def _check_no_date(line: _Line) -> None:
    """A line that is not a row's time must not hold a date that failed to read."""
    for m in _DATE_LIKE.finditer(line.text):
        try:
            parse_danish(m.group(), context_year=_ANY_YEAR)
        except RuleViolation as exc:
            raise RuleViolation(
                "bad-date",
                f"line {line.number}: {m.group()!r} looks like a row's time but cannot be "
                f"read: {_reason(exc)}",
            ) from None


def _continuation(pending: Sequence[_Line]) -> int:
    """How many of the first ``pending`` lines go on the activity of the row before."""
    if not pending or not (pending[0].bullet or _lower_start(pending[0].text)):
        return 0
    k = 1
    while k < len(pending):
        line, before = pending[k], pending[k - 1]
        if line.bullet or _lower_start(line.text) or (before.soft and before.block == line.block):
            k += 1
        else:
            break
    return k


def _paragraph_start(lines: Sequence[_Line], j: int) -> int:
    while (
        j > 0
        and lines[j - 1].block == lines[j].block
        and lines[j - 1].soft
        and not lines[j - 1].bullet
        and not lines[j].bullet
    ):
        j -= 1
    return j


def _activity_start(rest: Sequence[_Line]) -> int:
    """Where the next row's activity starts among the lines between two times."""
    if not rest:
        return 0
    bullet = next((k for k, line in enumerate(rest) if line.bullet), None)
    if bullet == 0:
        return 0
    if bullet is not None:
        return _paragraph_start(rest, bullet - 1)
    return _paragraph_start(rest, len(rest) - 1)


def _no_time(line: _Line) -> RuleViolation:
    return RuleViolation(
        "bad-date",
        f"line {line.number}: {line.text!r} is in the table but no row's time (column 'Tid') "
        "can be read for it",
    )


def read_pdf_text(text: str) -> list[PlanRow]:
    """The rows of a plan given as the text of a PDF, with rows broken over lines."""
    lines = _lines(text)
    header = _pdf_header(lines)
    if header is None:
        raise _no_table("PDF text")
    raws: list[_Raw] = []
    phase: Phase | None = None
    open_row: _Raw | None = None  # the last row, while what follows may still be its own
    pending: list[_Line] = []
    block = 0

    def close() -> None:
        if open_row is None:
            if pending:
                raise _no_time(pending[0])
            return
        k = _continuation(pending)
        open_row.activity += [line.text for line in pending[:k]]
        open_row.participants += [line.text for line in pending[k:]]

    index = header + 1
    end = len(lines)
    while index < len(lines):
        raw, number = lines[index], index + 1
        stripped = raw.strip()
        if not stripped or _is_pdf_header(raw):  # a blank line, or the header on a new page
            block += 1
            index += 1
            continue
        if _FOOTNOTE.match(raw) is not None:
            end = index
            break
        heading = phase_heading(stripped)
        if heading is not None:
            close()
            open_row, pending, phase = None, [], heading
            block += 1
            index += 1
            continue
        bullet = stripped[0] in BULLETS
        anchor = None if bullet else _find_anchor(lines, index)
        if anchor is None:
            line = _Line(number, _norm(stripped), raw != raw.rstrip(), bullet, block)
            if not bullet:
                _check_no_date(line)
            pending.append(line)
            index += 1
            continue
        activity: list[_Line]
        if open_row is not None:
            k = _continuation(pending)
            open_row.activity += [line.text for line in pending[:k]]
            rest = pending[k:]
            split = len(rest) if anchor.prefix else _activity_start(rest)
            open_row.participants += [line.text for line in rest[:split]]
            activity = rest[split:]
        else:
            activity = pending
        texts = [line.text for line in activity] + ([anchor.prefix] if anchor.prefix else [])
        if not texts:  # a date with nothing before it: prose after the table
            pending, end = [], index  # (what was pending went on the row before, above)
            break
        if phase is None:
            raise RuleViolation(
                "bad-record",
                f"line {number}: a row before the first phase heading: {' '.join(texts)!r}",
            )
        row = _Raw(
            phase,
            activity[0].number if activity else number,
            number,
            texts,
            anchor.time,
            [anchor.rest] if anchor.rest else [],
        )
        raws.append(row)
        open_row, pending = row, []
        index = anchor.next_index
        wrapped = anchor.rest_soft and bool(anchor.rest)
        while wrapped and index < len(lines) and _is_text_line(lines[index]):
            if _find_anchor(lines, index) is not None:
                break
            row.participants.append(_norm(lines[index]))
            wrapped = lines[index] != lines[index].rstrip()
            index += 1
    close()
    return _finish(raws, _footnotes(lines[end:]))


def read_plan(text: str) -> list[PlanRow]:
    """The rows of a plan in either form: tab-separated when its header is, else PDF text."""
    for raw in _lines(text):
        if "\t" in raw and _columns(raw.split("\t")) is not None:
            return read_tabular(text)
    return read_pdf_text(text)


# -- facts ------------------------------------------------------------------------------


def activity_key(phase: Phase, number: int) -> str:
    """The key of the ``number``-th activity (from 1) of a phase: ``politisk-fase-03``."""
    return f"{phase.value}-{number:02d}"


def plan_facts(
    rows: Iterable[PlanRow],
    subject: str,
    by: str = "SAS",
    *,
    on: Period | str | dt.date,
    ref: str | None = None,
) -> list[Fact]:
    """One :class:`ActivityPlanned` per row, dated ``on`` (when the plan was made).

    ``what`` is the title followed by one line per bullet point (``• ...``);
    the footnotes on the title are the fact's ``note``; ``when_text`` is the
    time as written.  Keys are :func:`activity_key` of the row's phase and its
    place in that phase.
    """
    counts: dict[Phase, int] = {}
    out: list[Fact] = []
    for row in rows:
        counts[row.phase] = counts.get(row.phase, 0) + 1
        out.append(
            ActivityPlanned(
                subject=subject,
                on=on,
                by=by,
                ref=ref,
                note="\n".join(row.notes) or None,
                activity=activity_key(row.phase, counts[row.phase]),
                what="\n".join([row.what, *(f"• {d}" for d in row.details)]),
                when=row.when,
                phase=row.phase,
                participants=row.participants,
                when_text=row.time_text,
            )
        )
    return out
