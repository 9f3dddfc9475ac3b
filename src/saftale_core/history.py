"""History files (format 1, ``HISTORY_FORMAT.md``): JSON Lines of facts.

:func:`read_lines` turns a file into numbered facts (or the refusal of a
line); :meth:`saftale_core.Saftale.import_history` checks a whole file against
the rules and the store, and records it all or nothing.  A line identical to a fact already
recorded (or to an earlier line) is a no-op, so importing a file twice
records each fact once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import attrs
import orjson

from saftale_core.errors import RuleViolation, RuleWarning
from saftale_core.facts import Fact, Recorded
from saftale_core.serialization import fact_from_dict, fact_to_dict

__all__ = [
    "MAX_LINE",
    "REPORTS_KEPT",
    "ImportResult",
    "Line",
    "LineReport",
    "SourceResult",
    "export_lines",
    "read_lines",
]


@attrs.frozen
class Line:
    """One non-blank line of a history file: its fact, or why it was refused."""

    number: int
    fact: Fact | None
    recorded_by: str | None = None
    error: RuleViolation | None = None
    recorded_at: dt.datetime | None = None
    """When the fact was first recorded, for a line exported by saftale (optional)."""


MAX_LINE = 1 << 20
"""The longest line a history file may have (1 MiB): a fact is far shorter, and a file
without line breaks must not be read into memory whole."""


def _bounded(fh: IO[Any]) -> Iterator[str | bytes | None]:
    """The lines of an open file, each at most :data:`MAX_LINE` long (``None`` for a
    longer one, whose rest is skipped without keeping it)."""
    while True:
        line = fh.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            end = line[-1:]
            while end not in ("\n", b"\n", "", b""):
                end = fh.readline(MAX_LINE)[-1:]
            yield None
            continue
        yield line


def read_lines(
    source: str | Path | IO[str] | IO[bytes] | Iterable[str] | Iterable[bytes],
) -> Iterator[Line]:
    """The facts of a history file, one :class:`Line` per non-blank line, streaming.

    A path is read as bytes and each line decoded as UTF-8 on its own, so that
    a line that is not UTF-8 is refused with its number, like any bad line."""
    if isinstance(source, str | Path):
        with Path(source).open("rb") as fh:
            yield from read_lines(fh)
        return
    items: Iterable[str | bytes | None]
    if hasattr(source, "readline"):
        items = _bounded(cast(IO[Any], source))
    else:
        items = cast(Iterable[str | bytes], source)
    for number, item in enumerate(items, start=1):
        if item is None:
            yield Line(
                number,
                None,
                error=RuleViolation(
                    "bad-record", f"the line is longer than {MAX_LINE:,} bytes: not a fact"
                ),
            )
            continue
        if isinstance(item, str):
            raw = item
        else:
            try:
                raw = item.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Line(
                    number,
                    None,
                    error=RuleViolation(
                        "bad-record", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                    ),
                )
                continue
            if number == 1 and raw.startswith("\ufeff"):
                raw = raw[1:]  # a byte order mark, as Windows editors write
        if not raw.strip():
            continue
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield Line(
                number,
                None,
                error=RuleViolation(
                    "bad-record", f"not valid JSON: {exc.args[0] if exc.args else exc}"
                ),
            )
            continue
        if _LONG_DIGITS.search(raw):
            huge = _too_large(json.loads(raw))
            if huge is not None:
                yield Line(
                    number,
                    None,
                    error=RuleViolation(
                        "bad-record",
                        f"the number {huge} is too large to keep exactly: whole numbers "
                        f"must lie between {_SMALLEST} and {_LARGEST}",
                    ),
                )
                continue
        if not isinstance(data, dict):
            yield Line(
                number,
                None,
                error=RuleViolation(
                    "bad-record", f"a line must be a JSON object, not {type(data).__name__}"
                ),
            )
            continue
        recorded_by = data.pop("recorded_by", None)
        if recorded_by is not None and (
            not isinstance(recorded_by, str) or not recorded_by.strip()
        ):
            yield Line(
                number,
                None,
                error=RuleViolation("bad-record", "'recorded_by' must be a non-empty name"),
            )
            continue
        recorded_at = data.pop("recorded_at", None)
        if recorded_at is not None:
            try:
                recorded_at = _moment(recorded_at)
            except RuleViolation as exc:
                yield Line(number, None, error=exc)
                continue
        try:
            yield Line(number, fact_from_dict(data), recorded_by, recorded_at=recorded_at)
        except RuleViolation as exc:
            yield Line(number, None, error=exc)


_LONG_DIGITS = re.compile(r"\d{19,}")
"""19 digits or more in a row: perhaps a whole number beyond 64 bits, which the JSON
parser would silently turn into an approximate float."""
_SMALLEST, _LARGEST = -(2**63), 2**64 - 1


def _too_large(value: object) -> int | None:
    """A whole number in ``value`` (parsed exactly) that does not fit 64 bits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if not _SMALLEST <= value <= _LARGEST else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        found = _too_large(item)
        if found is not None:
            return found
    return None


def _moment(value: object) -> dt.datetime:
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(dt.UTC)
    raise RuleViolation(
        "bad-record",
        f"'recorded_at' must be a time with its zone, e.g. 2019-05-23T10:15:00+00:00, "
        f"not {value!r}",
    )


REPORTS_KEPT = 1_000
"""How many refused lines, warnings and repeated lines an :class:`ImportResult` keeps of
each source (the first ones); it counts them all, and ``on_report`` sees every one."""


@attrs.frozen
class LineReport:
    """What an import says about one line, as soon as it has checked it: the line is
    refused (:attr:`refusal`), has a warning (:attr:`warning`; a line with two warnings
    gives two reports), or repeats a fact already recorded (neither)."""

    source: int
    """Which source the line is in: its place among the sources given (0 for the first)."""
    line: int
    """Its number in that source (1 for the first line; blank lines count)."""
    refusal: RuleViolation | None = None
    warning: RuleWarning | None = None

    @property
    def already_recorded(self) -> bool:
        """The line repeats a fact already recorded (or an earlier line): a no-op."""
        return self.refusal is None and self.warning is None


@attrs.frozen
class SourceResult:
    """What an import found in one source.

    ``refusals``, ``warnings`` and ``already_recorded`` keep the first
    :data:`REPORTS_KEPT` of each, so that a file with a million refused lines does not
    fill the memory; the ``*_count`` fields count them all.
    """

    refusals: tuple[tuple[int, RuleViolation], ...]
    """(line number, why) of the first refused lines, in line order."""
    warnings: tuple[tuple[int, RuleWarning], ...]
    """(line number, warning) of the first warnings, in line order."""
    already_recorded: tuple[int, ...]
    """Line numbers of the first lines that repeat a fact already recorded (no-ops)."""
    checked: int
    """Non-blank lines read."""
    refusal_count: int = 0
    warning_count: int = 0
    already_recorded_count: int = 0

    @property
    def ok(self) -> bool:
        """No line was refused."""
        return self.refusal_count == 0

    @property
    def new(self) -> int:
        """Lines that add a fact: recorded, unless a line of any source was refused (or
        on a dry run)."""
        return self.checked - self.refusal_count - self.already_recorded_count


@attrs.frozen
class ImportResult(SourceResult):
    """What an import found and did, over all its sources (each in :attr:`sources`).

    With several sources, the line numbers in ``refusals``, ``warnings`` and
    ``already_recorded`` are each their own source's: tell them apart with
    :attr:`sources` or ``on_report``.
    """

    recorded: int = 0
    """How many facts were recorded (0 when a line was refused, or on a dry run)."""
    sources: tuple[SourceResult, ...] = ()

    @classmethod
    def of(cls, sources: Iterable[SourceResult], recorded: int) -> ImportResult:
        """The result of an import of ``sources`` that recorded ``recorded`` facts."""
        sources = tuple(sources)
        return cls(
            refusals=tuple(x for s in sources for x in s.refusals)[:REPORTS_KEPT],
            warnings=tuple(x for s in sources for x in s.warnings)[:REPORTS_KEPT],
            already_recorded=tuple(x for s in sources for x in s.already_recorded)[:REPORTS_KEPT],
            checked=sum(s.checked for s in sources),
            refusal_count=sum(s.refusal_count for s in sources),
            warning_count=sum(s.warning_count for s in sources),
            already_recorded_count=sum(s.already_recorded_count for s in sources),
            recorded=recorded,
            sources=sources,
        )


def export_lines(records: Iterable[Recorded]) -> Iterator[str]:
    """History-file lines for recorded facts (with who recorded each, and when)."""
    for rec in records:
        data = fact_to_dict(rec.fact)
        data["recorded_by"] = rec.recorded_by
        data["recorded_at"] = rec.timestamp.isoformat()
        yield orjson.dumps(data).decode("utf-8")
