"""The ``saftale`` command: history files, views, audit, rebuild and verify.

Exit codes: 0 ok; 1 a history file was refused (nothing recorded) or
``verify`` found the store tampered with; 2 a usage error (bad option, bad
URL, missing file, a store that cannot be opened); and, as for any Unix tool,
130 when interrupted (Ctrl-C) and 141 when the reader of the output went away.
A user error prints one line on stderr, never a traceback.

The store is ``--db URL``, else ``$SAFTALE_DB``, else ``sqlite:///saftale.db``.
The views live in ``--views URL``, else ``$SAFTALE_VIEWS``, else an SQLite file
next to an SQLite store (``saftale-views.db``), else in memory; every command
that shows views first brings them up to date.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import attrs
import click

from saftale_core import Saftale, SaftaleError
from saftale_core.dates import Period
from saftale_core.errors import RuleViolation, StoreError, StoreMissing
from saftale_core.facts import Recorded
from saftale_core.history import LineReport
from saftale_core.registry import Registry
from saftale_core.serialization import fact_to_dict
from saftale_core.store import (
    DEFAULT_URL,
    StoreURL,
    default_url,
    parse_url,
    remove_empty_store,
    sqlite_file,
)
from saftale_projections.backends import MemoryBackend, open_backend
from saftale_projections.protocol import ViewBackend
from saftale_projections.queries import (
    AuditEntry,
    ClusterEntry,
    Deadline,
    FocusEntry,
    InboxItem,
    IndicatorEntry,
    SubjectStatus,
    Views,
)
from saftale_projections.runner import Runner
from saftale_projections.views import ALL_VIEWS

__all__ = ["main"]

VIEWS_ENV = "SAFTALE_VIEWS"
HISTORY_COLUMNS = (
    "position",
    "type",
    "on",
    "by",
    "recorded_by",
    "recorded_at",
    "in_force",
    "corrected_by",
)
AUDIT_COLUMNS = (
    "subject",
    "position",
    "type",
    "on",
    "by",
    "recorded_by",
    "recorded_at",
    "corrects",
    "corrected_by",
    "authority",
)
DECISION_COLUMNS = (
    "subject",
    "position",
    "fact_type",
    "on",
    "by",
    "state",
    "in_force",
    "corrected_by",
    "recorded_by",
    "recorded_at",
)
"""The columns of a decision log in a table and in CSV; JSON also has the decision in
force (``fact``) and as first recorded (``recorded``)."""
FORMATS = ("table", "json", "csv")
FORMAT_HELP = (
    "table for people; json for programs; csv for a Danish Excel (semicolons, decimal "
    "comma, days as dates; a text Excel would turn into a number or date is written "
    '="...", one it would run as a formula starts with \').'
)
F = TypeVar("F", bound=Callable[..., Any])


class Usage(click.ClickException):
    """A usage error: exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"saftale: {self.message}", err=True)


class Failed(click.ClickException):
    """Refused, or verify found a problem: exit code 1 (message already printed)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        if self.message:
            click.echo(f"saftale: {self.message}", err=True)


@attrs.define
class Settings:
    db: str | None
    views: str | None
    registry: Path | None
    user: str | None

    def open(self, *, create: bool = False, missing_is_empty: bool = False) -> Saftale:
        """The store; only ``create`` makes one where there is none. A command that only
        reads refuses a missing store (a mistyped path) instead of answering with an
        empty one; ``missing_is_empty`` checks against an empty history in memory."""
        try:
            registry = Registry.from_path(self.registry) if self.registry else None
            try:
                return Saftale.open(
                    self.db, registry=registry, recorded_by=self.user, create=create
                )
            except StoreMissing as exc:
                if not missing_is_empty:
                    raise
                click.echo(f"saftale: {exc}: checking against an empty history", err=True)
                return Saftale.open(":memory:", registry=registry, recorded_by=self.user)
        except SaftaleError as exc:
            raise Usage(str(exc)) from None

    def views_url(self, app: Saftale) -> str:
        url = self.views or os.environ.get(VIEWS_ENV)
        if url:
            return url
        shown = app.store.display
        if shown.startswith("sqlite:///") and shown.endswith(".db"):
            return shown[: -len(".db")] + "-views.db"
        if app.store.kind == "sqlite" and shown.endswith(".db") and "://" not in shown:
            return "sqlite:///" + shown[: -len(".db")] + "-views.db"
        return ":memory:"


class _Command(click.Group):
    """The ``saftale`` group: a usage error prints one line (and exits 2)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "saftale"
            click.echo(f"{command}: {exc.format_message()} (see --help)", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("saftale: interrupted (an import records all or nothing)", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`saftale export | head`): stop quietly with the
            # status of a Unix tool ended by SIGPIPE.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)


@click.group(
    cls=_Command,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--db", metavar="URL", help=f"The store (default: $SAFTALE_DB, else {DEFAULT_URL}).")
@click.option(
    "--views",
    metavar="URL",
    help="Where views are kept (default: $SAFTALE_VIEWS, or a file next to an SQLite store).",
)
@click.option(
    "--registry",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A registry TOML file of bodies and clusters (default: Region Midtjylland 2019).",
)
@click.option("--user", metavar="NAME", help="Who records facts (default: the login name).")
@click.version_option(package_name="saftale")
@click.pass_context
def main(
    ctx: click.Context, db: str | None, views: str | None, registry: Path | None, user: str | None
) -> None:
    """Keep and question the history of a health agreement (sundhedsaftale).

    Only `import` creates a store (a refused import leaves none behind); the other
    commands refuse one that is not there (a mistyped path), and `import --dry-run`
    checks against an empty history.

    Exit codes: 0 ok, 1 refused or tampered with, 2 usage (130 interrupted, 141 the
    reader of the output went away).
    """
    ctx.obj = Settings(db, views, registry, user)


@contextmanager
def _store(
    settings: Settings, *, create: bool = False, missing_is_empty: bool = False
) -> Iterator[Saftale]:
    app = settings.open(create=create, missing_is_empty=missing_is_empty)
    try:
        yield app
    except RuleViolation as exc:
        raise Failed(str(exc)) from None
    except StoreError as exc:
        raise Usage(str(exc)) from None
    except SaftaleError as exc:
        raise Failed(str(exc)) from None
    finally:
        app.close()


# -- import / export -------------------------------------------------------------------


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Check and report; record nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print refusals and warnings only.")
@click.pass_obj
def import_(settings: Settings, files: Sequence[str], dry_run: bool, quiet: bool) -> None:
    """Check history FILES (JSON Lines, '-' for stdin) and record them, all or nothing.

    Several FILES are one history, checked in the order given: a line of the second
    file is checked against the facts of the first.  Every refused line prints as
    FILE:LINE: CODE: message as soon as it is found, and then nothing of any of the
    FILES is recorded (exit 1).  Lines already recorded are no-ops, so importing the
    same files again records nothing new.
    """
    for name in files:
        if name == "-":
            continue
        path = Path(name)
        if not path.exists():
            raise Usage(f"{name}: no such file")
        if path.is_dir():
            raise Usage(f"{name}: is a folder, not a history file")
    if list(files).count("-") > 1:
        raise Usage("'-' (stdin) can be given only once")
    shown = ["<stdin>" if name == "-" else name for name in files]
    sources = [sys.stdin.buffer if name == "-" else Path(name) for name in files]
    label = shown[0] if len(shown) == 1 else f"{len(shown)} files"
    progress = _Progress(f"checking {label}", quiet)
    # Each line as it is found, unflushed: a terminal shows it at once (line-buffered), a
    # pipe or file gets it in blocks (a million refused lines cost little).
    out = sys.stdout

    def report(found: LineReport) -> None:
        where = f"{shown[found.source]}:{found.line}"
        if found.refusal is not None:
            text = f"{where}: {found.refusal.code}: {found.refusal.detail}\n"
        elif found.warning is not None:
            text = f"{where}: {found.warning.code}: warning: {found.warning.detail}\n"
        elif quiet:
            return
        else:
            text = f"{where}: already recorded\n"
        progress.interrupt()
        out.write(text)

    made = None if dry_run else _new_sqlite_store(settings)
    with _store(settings, create=not dry_run, missing_is_empty=dry_run) as app:
        result = None
        try:
            result = app.import_history(
                *sources, dry_run=dry_run, progress=progress, on_report=report
            )
        finally:
            progress.close()
            out.flush()
            if made is not None and (result is None or not result.ok):
                _forget(app, made)
    if not result.ok:
        for name, found in zip(shown, result.sources, strict=True):
            if not found.ok:
                click.echo(
                    f"{name}: refused: {found.refusal_count} of {found.checked} lines; "
                    "nothing was recorded",
                    err=True,
                )
        if len(shown) > 1:
            click.echo(
                f"saftale: nothing of the {len(shown)} files was recorded "
                "(they are imported as one, all or nothing)",
                err=True,
            )
        raise Failed("")
    if not quiet:
        what = "would record" if dry_run else "recorded"
        for name, found in zip(shown, result.sources, strict=True):
            click.echo(
                f"{name}: {what} {found.new} facts; {found.already_recorded_count} already "
                f"recorded; {found.warning_count} warnings ({found.checked} lines)",
                err=True,
            )


def _forget(app: Saftale, store: StoreURL) -> None:
    """Remove the SQLite store an import made, when it holds nothing (the import was
    refused or stopped) and no one else has it open meanwhile."""
    app.close()
    remove_empty_store(store)


def _new_sqlite_store(settings: Settings) -> StoreURL | None:
    """The SQLite store an import would make, when its file is not there yet."""
    try:
        store = parse_url(settings.db or default_url())
    except SaftaleError:
        return None  # opening the store reports it
    file = sqlite_file(store)
    return None if file is None or file.exists() else store


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: stdout). Written whole or not at all.",
)
@click.pass_obj
def export(settings: Settings, output: Path | None) -> None:
    """Write every recorded fact as a history file (JSON Lines), in recording order."""
    with _store(settings) as app:
        if output is None:
            for line in app.export_history():
                click.echo(line)
            return
        partial = output.with_name(output.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="\n") as fh:
                for line in app.export_history():
                    fh.write(line + "\n")
            partial.replace(output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise Usage(f"{output}: {exc.strerror}") from None


# -- views --------------------------------------------------------------------------------


def _day(_: click.Context, __: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _moment(_: click.Context, __: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC if no zone)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if len(value) == 10:  # a whole day: what was known at its end
        moment += dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return moment


_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help=FORMAT_HELP,
)


def view_options(fn: F) -> F:
    """``--as-of``, ``--known-on`` and ``--format`` for every view."""
    fn = _format_option(fn)
    fn = click.option(
        "--known-on",
        metavar="TIME",
        callback=_moment,
        help="Only what had been recorded by then: what did we know that day?",
    )(fn)
    return click.option(
        "--as-of",
        metavar="DAY",
        callback=_day,
        help="The view on that decision date (default: today).",
    )(fn)


class _KnownOn:
    """The store as it was at a recording time (for views built on the fly)."""

    def __init__(self, app: Saftale, moment: dt.datetime) -> None:
        self.app = app
        self.moment = moment
        self.registry = app.registry
        self.last_position = 0

    def position(self) -> int:
        return self.app.position()

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Recorded]]:
        # Imported lines keep their first recording time, so positions need not follow
        # recording time: skip what was recorded later, batch after batch.
        while True:
            items = self.app.read(after=after, limit=limit)
            if not items:
                return []
            known = [(p, r) for p, r in items if r.timestamp <= self.moment]
            if known:
                return known
            after = items[-1][0]

    def records(self, subject: str) -> list[Recorded]:
        return [r for r in self.app.records(subject) if r.timestamp <= self.moment]


@contextmanager
def _views(
    settings: Settings, known_on: dt.datetime | None, progress: bool = False
) -> Iterator[tuple[Saftale, Views]]:
    with _store(settings) as app:
        backend: ViewBackend
        if known_on is not None:
            backend = MemoryBackend()
            Runner(cast(Saftale, _KnownOn(app, known_on)), backend, ALL_VIEWS()).run_once()
        else:
            try:
                backend = open_backend(settings.views_url(app))
            except SaftaleError as exc:
                raise Usage(str(exc)) from None
            runner = Runner(app, backend, ALL_VIEWS())
            runner.start()
            _say_resets(runner.resets)
            bar = _Progress("bringing the views up to date", not (progress or runner.resets))
            try:
                runner.run_once(progress=lambda name, at, last: bar(name, at, last))
            finally:
                bar.close()
        try:
            yield app, Views(backend)
        finally:
            backend.close()


def _say_resets(resets: dict[str, str]) -> None:
    """One line on stderr per reason the runner reset views for (they are built again)."""
    by_reason: dict[str, list[str]] = {}
    for name, why in resets.items():
        by_reason.setdefault(why, []).append(name)
    for why, names in by_reason.items():
        click.echo(f"saftale: building the views again ({', '.join(names)}): {why}", err=True)


@main.group()
def show() -> None:
    """Show a view: a body's inbox or decisions, a cluster, a focus area, a subject,
    deadlines."""


@show.command("subjects")
@view_options
@click.pass_obj
def show_subjects(
    settings: Settings, as_of: dt.date | None, known_on: dt.datetime | None, fmt: str
) -> None:
    """Every subject with its status."""
    with _views(settings, known_on) as (app, views):
        rows = []
        for subject, _ in app.subjects():
            status = views.status(subject, as_of=as_of)
            if status is not None:
                rows.append(status)
        _emit(rows, fmt, of=SubjectStatus, title=_title("Subjects", as_of, known_on))


@show.command("subject")
@click.argument("subject")
@view_options
@click.pass_obj
def show_subject(
    settings: Settings,
    subject: str,
    as_of: dt.date | None,
    known_on: dt.datetime | None,
    fmt: str,
) -> None:
    """One subject: where it stands, and its history."""
    with _views(settings, known_on) as (app, views):
        status = views.status(subject, as_of=as_of)
        if status is None:
            raise Usage(f"no subject {subject!r} (as of that day)")
        entries = app.history(subject, as_recorded=known_on)
        history = [
            {
                "position": e.position,
                "type": e.fact.TYPE,
                "on": str(e.fact.on),
                "by": e.fact.by,
                "recorded_by": e.recorded_by,
                "recorded_at": e.recorded_at.replace(microsecond=0),
                "in_force": e.in_force,
                "corrected_by": ",".join(map(str, e.corrected_by)),
            }
            for e in entries
            if as_of is None or not _after(e.fact.on, as_of)
        ]
        if fmt == "json":
            click.echo(
                json.dumps(
                    {"status": _plain(status), "history": _plain(history)}, ensure_ascii=False
                )
            )
            return
        _emit([status], fmt, of=SubjectStatus, title=_title(f"Subject {subject}", as_of, known_on))
        if fmt == "table":
            click.echo()
        _emit(history, fmt, of=HISTORY_COLUMNS, title="History", first=False)


def _after(on: Period, day: dt.date) -> bool:
    # As the views: a fact counts from the day it has certainly happened.
    return not on.certainly_by(day)


@show.command("inbox")
@click.argument("body")
@view_options
@click.pass_obj
def show_inbox(
    settings: Settings, body: str, as_of: dt.date | None, known_on: dt.datetime | None, fmt: str
) -> None:
    """What awaits BODY (e.g. SSG, SKU, byraad:aarhus): the steps it may take now."""
    with _views(settings, known_on) as (app, views):
        body = _body(app, body)
        _emit(
            _pages(lambda after: views.inbox(body, as_of=as_of, after=after)),
            fmt,
            of=InboxItem,
            title=_title(f"Awaiting {body}", as_of, known_on),
        )


@show.command("decisions")
@click.argument("body")
@click.option("--since", callback=_day, metavar="DAY", help="Decided on or after this day.")
@click.option("--until", callback=_day, metavar="DAY", help="Decided on or before this day.")
@click.option(
    "--include-retracted",
    is_flag=True,
    help="Also the decisions that do not stand as BODY's: retracted, or replaced by another "
    "body's.",
)
@view_options
@click.pass_obj
def show_decisions(
    settings: Settings,
    body: str,
    since: dt.date | None,
    until: dt.date | None,
    include_retracted: bool,
    as_of: dt.date | None,
    known_on: dt.datetime | None,
    fmt: str,
) -> None:
    """BODY's decision log: what it decided, when, on which subject, and whether each
    decision stands as recorded or was replaced by a correction (state, corrected_by)."""
    _period(since, until)
    if as_of is not None:
        until = min(until, as_of) if until else as_of
    with _views(settings, known_on) as (app, views):
        body = _body(app, body)
        rows = _pages(
            lambda after: views.decisions(
                body,
                since=since,
                until=until,
                include_retracted=include_retracted,
                after=after,
            )
        )
        _emit(rows, fmt, of=DECISION_COLUMNS, title=_title(f"Decisions of {body}", as_of, known_on))


@show.command("cluster")
@click.argument("cluster")
@view_options
@click.pass_obj
def show_cluster(
    settings: Settings, cluster: str, as_of: dt.date | None, known_on: dt.datetime | None, fmt: str
) -> None:
    """A cluster (klynge): what is assigned or spread to it, and what it developed."""
    with _views(settings, known_on) as (app, views):
        cluster = _body(app, cluster)
        _emit(
            _pages(lambda after: views.cluster(cluster, as_of=as_of, after=after)),
            fmt,
            of=ClusterEntry,
            title=_title(f"Cluster {cluster}", as_of, known_on),
        )


@show.command("focus-area")
@click.argument("area")
@view_options
@click.pass_obj
def show_focus_area(
    settings: Settings, area: str, as_of: dt.date | None, known_on: dt.datetime | None, fmt: str
) -> None:
    """A focus area: its agreements and tasks, and its indicators' latest measurements."""
    with _views(settings, known_on) as (app, views):
        resolved = app.registry.resolve_focus_area(area)
        if resolved is None:
            known = ", ".join(app.registry.focus_areas)
            raise Usage(f"{area!r} is not a focus area; the registry has {known}")
        subjects = _pages(lambda after: views.focus_area(resolved, as_of=as_of, after=after))
        indicators = _pages(lambda after: views.indicators(resolved, as_of=as_of, after=after))
        area = resolved
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        "subjects": [_plain(s) for s in subjects],
                        "indicators": [_plain(i) for i in indicators],
                    },
                    ensure_ascii=False,
                )
            )
            return
        _emit(subjects, fmt, of=FocusEntry, title=_title(f"Focus area {area}", as_of, known_on))
        if fmt == "table":
            click.echo()
        _emit(indicators, fmt, of=IndicatorEntry, title="Indicators", first=False)


@show.command("deadlines")
@click.option("--overdue", is_flag=True, help="Only those past due.")
@view_options
@click.pass_obj
def show_deadlines(
    settings: Settings,
    overdue: bool,
    as_of: dt.date | None,
    known_on: dt.datetime | None,
    fmt: str,
) -> None:
    """Comment deadlines, evaluations and follow-up reports due: upcoming and overdue."""
    with _views(settings, known_on) as (_, views):
        rows = _pages(
            lambda after: views.deadlines(
                as_of=as_of, overdue=True if overdue else None, after=after
            )
        )
        _emit(rows, fmt, of=Deadline, title=_title("Deadlines", as_of or dt.date.today(), known_on))


# -- audit -------------------------------------------------------------------------------


@main.command()
@click.option("--body", metavar="ID", help="Facts decided by this body.")
@click.option("--subject", metavar="KEY", help="Facts of this subject.")
@click.option("--party", metavar="ID", help="Facts naming this party (e.g. a council asked).")
@click.option("--since", callback=_day, metavar="DAY", help="Decided on or after this day.")
@click.option("--until", callback=_day, metavar="DAY", help="Decided on or before this day.")
@click.option(
    "--known-on", metavar="TIME", callback=_moment, help="Only what was recorded by then."
)
@_format_option
@click.pass_obj
def audit(
    settings: Settings,
    body: str | None,
    subject: str | None,
    party: str | None,
    since: dt.date | None,
    until: dt.date | None,
    known_on: dt.datetime | None,
    fmt: str,
) -> None:
    """Who decided what and when, who recorded it and when, with corrections linked."""
    _period(since, until)
    with _views(settings, known_on) as (app, views):
        body = _body(app, body) if body else None
        party = _body(app, party) if party else None
        entries = _pages(
            lambda after: views.audit(
                subject=subject, body=body, party=party, since=since, until=until, after=after
            )
        )
        rows = (_audit_row(e, with_fact=fmt == "json") for e in entries)
        _emit(rows, fmt, of=AUDIT_COLUMNS, title=_title("Audit", None, known_on))


def _period(since: dt.date | None, until: dt.date | None) -> None:
    """Refuse a period that ends before it begins (it would answer with nothing)."""
    if since is not None and until is not None and since > until:
        raise click.UsageError(
            f"--since {since.isoformat()} is after --until {until.isoformat()}: "
            "no day is in that period"
        )


def _audit_row(e: AuditEntry, *, with_fact: bool) -> dict[str, Any]:
    """One row of the audit, with the columns of :data:`AUDIT_COLUMNS` (and the fact
    itself for JSON).  Its corrections come with the entry: a page of the audit asks
    for those of all its facts at once."""
    return {
        "subject": e.subject,
        "position": e.position,
        "type": e.fact_type,
        "on": e.on,
        "by": e.by,
        "recorded_by": e.recorded_by,
        "recorded_at": _as_moment(e.recorded_at),
        "corrects": e.corrects,
        "corrected_by": ",".join(map(str, e.corrected_by)),
        "authority": _plain(e.authority) if with_fact else str(e.authority or ""),
        **({"fact": e.fact} if with_fact else {}),
    }


def _as_moment(text: str) -> dt.datetime | str:
    """A recording time kept as ISO text, as a time (a date-time cell in CSV); its ISO
    text again in JSON and tables."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return text


# -- rebuild / verify ----------------------------------------------------------------------


@main.command()
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Share the subjects out over this many processes (views in SQLite or PostgreSQL, "
    "store not in memory); each process takes a core and about 120 MiB.",
)
@click.pass_obj
def rebuild(settings: Settings, processes: int) -> None:
    """Drop every view and build it again from the first fact, with a progress bar."""
    with _store(settings) as app:
        views_url = settings.views_url(app)
        bar = _Progress("rebuilding", False)
        if processes > 1:
            if app.store.kind == "memory" or views_url.strip() in (":memory:", "memory://"):
                raise Usage("--processes needs a store and views that other processes can open")
            from saftale_projections.parallel import rebuild_in_processes

            try:
                applied, _ = rebuild_in_processes(
                    settings.db or default_url(),
                    views_url,
                    ALL_VIEWS,
                    processes=processes,
                    registry=app.registry,
                    progress=lambda name, at, last: bar(name, at, last),
                )
            finally:
                bar.close()
        else:
            try:
                backend = open_backend(views_url)
            except SaftaleError as exc:
                raise Usage(str(exc)) from None
            try:
                applied = Runner(app, backend, ALL_VIEWS()).rebuild(
                    progress=lambda name, at, last: bar(name, at, last)
                )
            finally:
                bar.close()
                backend.close()
        click.echo(
            f"rebuilt {len(ALL_VIEWS())} views from {app.position()} positions "
            f"({applied} fact applications)",
            err=True,
        )


@main.command()
@click.option("--expect", metavar="HEAD", help="The head hash a previous verify printed.")
@click.pass_obj
def verify(settings: Settings, expect: str | None) -> None:
    """Check the hash chain over every stored fact; exit 1 at the first one altered,
    removed, inserted or moved behind the library's back."""
    with _store(settings) as app:
        last = app.position()
        bar = _Progress("verifying", False)
        try:
            result = app.verify(progress=lambda at: bar("facts", at, last))
        finally:
            bar.close()
    if result.problem is not None:
        click.echo(f"{app.store.display}: {result.problem}")
        raise Failed("verify failed")
    if expect is not None and expect != result.head:
        click.echo(
            f"{app.store.display}: the chain is whole, but its head {result.head} is not the "
            f"expected {expect}: facts were removed from its end, or the chain was rewritten"
        )
        raise Failed("verify failed")
    click.echo(
        f"{app.store.display}: ok: {result.facts} facts, {result.seals} seals; head {result.head}"
    )


# -- output --------------------------------------------------------------------------------


def _title(what: str, as_of: dt.date | None, known_on: dt.datetime | None) -> str:
    parts = [what]
    if as_of is not None:
        parts.append(f"as of {as_of.isoformat()}")
    if known_on is not None:
        parts.append(f"as known on {known_on.isoformat(timespec='seconds')}")
    return ", ".join(parts)


def _body(app: Saftale, name: str) -> str:
    try:
        return app.registry.resolve(name)
    except SaftaleError as exc:
        raise Usage(str(exc)) from None


def _pages(fetch: Callable[[Any], Any]) -> Iterator[Any]:
    """The items of every page, fetched one page at a time as they are consumed."""
    after = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next is None:
            return
        after = page.next


def _plain(value: Any) -> Any:
    """A row as JSON-ready data."""
    if attrs.has(type(value)):
        return {k: _plain(v) for k, v in attrs.asdict(value, recurse=False).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Period):
        return str(value)
    if hasattr(value, "TYPE"):
        return fact_to_dict(value)
    return value


def _fields(value: Any) -> dict[str, Any]:
    """A row's values by column, as they are (dates stay dates: CSV needs their type)."""
    if attrs.has(type(value)):
        return attrs.asdict(value, recurse=False)
    return cast(dict[str, Any], value)


PAGE = 100
"""Rows written at a time: what a query of the views returns in one page."""


def _chunks(items: Iterable[Any]) -> Iterator[list[Any]]:
    """A list or tuple whole (its rows are all there already); anything else, a page of
    rows at a time."""
    if isinstance(items, list | tuple):
        yield list(items)
        return
    it = iter(items)
    while chunk := list(itertools.islice(it, PAGE)):
        yield chunk


def _emit(
    items: Iterable[Any],
    fmt: str,
    *,
    of: type | Sequence[str],
    title: str,
    first: bool = True,
) -> None:
    """Rows of the class ``of`` (or with the keys ``of``) as a table, JSON or CSV, written
    as they come, a page at a time: memory does not grow with the number of rows. The
    columns are known even when there are no rows; keys of a row beyond them are shown
    in JSON only."""
    columns: list[str] = [f.name for f in attrs.fields(of)] if isinstance(of, type) else list(of)
    out = sys.stdout
    if fmt == "json":
        # A JSON array, written row by row: the same text as json.dumps(list).
        out.write("[")
        sep = ""
        for chunk in _chunks(items):
            text = ", ".join(json.dumps(_plain(i), ensure_ascii=False) for i in chunk)
            out.write(sep + text)
            sep = ", "
        out.write("]\n")
    elif fmt == "csv":
        # One byte order mark, at the start of the output: a second table follows a
        # blank line, as Excel shows two tables on one sheet.
        out.write("\ufeff" if first else "\r\n")
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([_excel_text(c) for c in columns])
        for chunk in _chunks(items):
            writer.writerows([_excel_cell(_fields(i).get(c)) for c in columns] for i in chunk)
    else:
        table = _Table(columns, title)
        for chunk in _chunks(items):
            out.write(table.page([_plain(i) for i in chunk]))
        out.write(table.end())
    out.flush()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class _Table:
    """A text table written a page at a time.

    Its column widths can't wait for rows not yet read: they are those of the first
    page (the header's at least, 48 at most, longer cells cut with …). A later page
    that needs a wider column widens it and repeats the header first, so every cell is
    shown as whole as on the first page and each block of rows stays aligned; widths
    only grow, so a header repeats at most a few times. A list already in memory is
    one page: its table is as wide as its widest cells, as before.
    """

    MAX = 48

    def __init__(self, columns: list[str], title: str) -> None:
        self.columns = columns
        self.title = title
        self.widths: list[int] | None = None
        self.started = False

    @staticmethod
    def _line(values: Sequence[str], widths: Sequence[int]) -> str:
        parts = []
        for value, width in zip(values, widths, strict=True):
            text = value if len(value) <= width else value[: width - 1] + "…"
            parts.append(text.ljust(width))
        return "  " + "  ".join(parts).rstrip() + "\n"

    def page(self, rows: list[dict[str, Any]]) -> str:
        out = "" if self.started else self.title + "\n"
        self.started = True
        if not rows:
            return out
        cells = [[_cell_text(r.get(c)) for c in self.columns] for r in rows]
        need = [
            min(self.MAX, max(len(c), *(len(row[i]) for row in cells)))
            for i, c in enumerate(self.columns)
        ]
        if self.widths is None or any(n > w for n, w in zip(need, self.widths, strict=True)):
            if self.widths is not None:
                out += "\n"
                need = [max(n, w) for n, w in zip(need, self.widths, strict=True)]
            self.widths = need
            out += self._line(self.columns, need) + self._line(["-" * w for w in need], need)
        widths = self.widths
        return out + "".join(self._line(row, widths) for row in cells)

    def end(self) -> str:
        out = "" if self.started else self.title + "\n"
        return out + ("  (none)\n" if self.widths is None else "")


# -- CSV for a Danish Excel -----------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""A text cell that starts so is a formula to Excel (and to LibreOffice Calc)."""

_EXCEL_FORMULA_TEXT_MAX = 255
"""The longest text Excel takes inside a formula (="..."), in UTF-16 units."""

_EXCEL_VALUES = frozenset(("true", "false", "sand", "falsk"))
"""Texts Excel reads as truth values (English and Danish), in any case."""

_EXCEL_WORDS = frozenset(
    """
    januar februar marts april maj juni juli august september oktober november december
    january february march may june july october
    mandag tirsdag onsdag torsdag fredag lørdag søndag
    monday tuesday wednesday thursday friday saturday sunday
    """.split()
)
"""Words Excel may read as part of a number, date or time in a Danish (or English)
setting: month and day names; any word of one to three letters also counts (jan, kr,
DKK, E in 1E5, AM, T in 2019-05-23T10:15)."""

_LETTERS = re.compile(r"[^\W\d_]+")


def _excel_would_change(text: str) -> bool:
    """Would Excel, opening the CSV, take this text for something else: a number (007,
    1E5, 5%, 1.234, 12345678901234567890), a date or time (2019-05, 1-2, 23/11,
    maj 2019, 10:15), a truth value (SAND, TRUE) or an error (#N/A)?  Errs on the side
    of yes: a text kept as text by mistake costs nothing."""
    stripped = text.strip()
    if stripped.casefold() in _EXCEL_VALUES or stripped.startswith("#"):
        return True
    if not any(c.isdigit() for c in stripped):
        return False
    return all(len(w) <= 3 or w.casefold() in _EXCEL_WORDS for w in _LETTERS.findall(stripped))


def _excel_text(text: str) -> str:
    """A text cell that Excel shows as the text it is, never runs, never converts.

    * starts like a formula (``= + - @``, tab, line break): an apostrophe first, so it
      is shown as text (with the apostrophe) and never run;
    * would be converted (see :func:`_excel_would_change`), or starts with an apostrophe:
      written as the string formula ``="..."`` (inner quotes doubled), which Excel shows
      as exactly the text; beyond 255 characters, which a formula can't hold, an
      apostrophe first instead;
    * anything else as it is.

    To undo: a cell ``="..."`` is the text between the quotes with ``""`` read as
    ``"``; else a cell that starts with an apostrophe is the rest after it; else the cell.
    """
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    if text.startswith("'") or _excel_would_change(text):
        if len(text.encode("utf-16-le")) // 2 <= _EXCEL_FORMULA_TEXT_MAX:
            return '="' + text.replace('"', '""') + '"'
        return "'" + text
    return text


_EXCEL_DIGITS = 15
"""Excel keeps 15 significant digits of a number: a longer whole number is written as
text, so that no digit is lost."""


def _excel_cell(value: Any) -> str:
    """A value as a cell of CSV for a Danish Excel: numbers with a decimal comma, days as
    ISO dates and times as UTC date-times (both read as dates), texts kept as they are
    (see :func:`_excel_text`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = str(value)
        return text if len(text.lstrip("-")) <= _EXCEL_DIGITS else f'="{text}"'  # digits only
    if isinstance(value, float):
        return repr(value).replace(".", ",")  # Danish Excel reads a decimal comma
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value if value.tzinfo is None else value.astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return _excel_text(_cell_text(value))


class _Progress:
    """A progress bar on stderr (click's), only on a terminal and when not quiet."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label = label
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar: Any = None
        self.done = 0

    def __call__(self, name: str, at: int, last: int | None = None) -> None:
        if not self.enabled:
            return
        if not last:  # no known end (a file being read): a running count
            click.echo(f"\r{self.label}: {name} {at:,}", nl=False, err=True)
            self.done = -1
            return
        if self.bar is None:
            self.bar = click.progressbar(
                length=last or None, label=self.label, file=sys.stderr, show_pos=True
            )
            self.bar.__enter__()
        step = at - self.done
        self.done = at
        self.bar.label = f"{self.label} {name}"
        self.bar.update(max(step, 0))

    def interrupt(self) -> None:
        """End a running count's line, so that a line printed now stands on its own."""
        if self.done == -1:
            click.echo(err=True)
            self.done = 0

    def close(self) -> None:
        if self.done == -1:
            click.echo(err=True)
            self.done = 0
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


if __name__ == "__main__":  # pragma: no cover
    main()
