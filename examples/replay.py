"""Replay the bundled example histories into the embedded SQLite store, bring the
views up to date, and show them.

    python examples/replay.py [HISTORY.jsonl ...] [--db URL] [--views URL] [--as-of DAY]

The store is ``--db``, else ``$SAFTALE_DB``, else ``sqlite:///saftale.db``; the views
are ``--views``, else an SQLite file next to an SQLite store (``saftale-views.db``),
else in memory.  Replaying twice records nothing new: every line already recorded
is a no-op.  Exit codes: 0 ok, 1 a history was refused (nothing of it recorded), 2 usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from saftale_core import RuleViolation, Saftale, SaftaleError
from saftale_core.store import default_url
from saftale_projections import ALL_VIEWS, Runner, Views, open_backend
from saftale_projections.queries import Listing

HERE = Path(__file__).resolve().parent
DEFAULT_HISTORIES = [
    HERE / "history.jsonl",
    HERE / "generation-2019-2023.jsonl",
    HERE / "development-tasks.jsonl",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("history", nargs="*", type=Path, default=DEFAULT_HISTORIES)
    parser.add_argument("--db", default=None, help=f"store URL (default: {default_url()})")
    parser.add_argument("--views", default=None, help="views URL (default: next to the store)")
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="show the views as of this day (default: today)",
    )
    args = parser.parse_args(argv)
    for history in args.history:
        if not history.is_file():
            print(f"error: {history}: no such file", file=sys.stderr)
            return 2
    try:
        with Saftale.open(args.db, recorded_by="example-replay") as app:
            for history in args.history:
                if show_import(app, history) != 0:
                    return 1
            print()
            show_agreements(app)
            backend = open_backend(args.views or views_url(app.store.display))
            try:
                Runner(app, backend, ALL_VIEWS()).run_once()
                show_views(Views(backend), args.as_of or dt.date.today())
            finally:
                backend.close()
            return 0
    except SaftaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def views_url(store: str) -> str:
    """An SQLite views file next to an SQLite store; in memory otherwise."""
    if store.startswith("sqlite:///") and store.endswith(".db"):
        return store[: -len(".db")] + "-views.db"
    return ":memory:"


def show_import(app: Saftale, history: Path) -> int:
    result = app.import_history(history)
    for number, warning in result.warnings:
        print(f"{history.name}:{number}: {warning.code}: warning: {warning.detail}")
    for number, error in result.refusals:
        print(f"{history.name}:{number}: {error.code}: {error.detail}")
    if not result.ok:
        print(f"refused: {result.refusal_count} line(s) of {history.name}; nothing was recorded")
        return 1
    print(
        f"{history.name}: {result.recorded} facts recorded, "
        f"{result.already_recorded_count} already there ({result.checked} lines read)"
    )
    return 0


T = TypeVar("T")


def every(ask: Callable[..., Listing[T]], *args: Any, **kwargs: Any) -> list[T]:
    """Every item of a paged question (a method of :class:`Views`), page after page."""
    items: list[T] = []
    after = None
    while True:
        listing = ask(*args, **kwargs, after=after)
        items += listing.items
        if listing.next is None:
            return items
        after = listing.next


def show_views(views: Views, day: dt.date) -> None:
    print(f"== Views as of {day.isoformat()} ==")
    for body in ("SSG", "SKU", "SAS", "PPU", "regionsraad"):
        items = views.inbox(body, as_of=day).items
        waiting = ", ".join(f"{i.subject} ({i.fact_type})" for i in items) or "-"
        print(f"  awaits {body:12} {waiting}")
    for cluster in (
        "klynge:horsens",
        "klynge:midt",
        "klynge:randers",
        "klynge:vest",
        "klynge:aarhus",
    ):
        entries = every(views.cluster, cluster, as_of=day)
        text = ", ".join(f"{e.subject} [{e.role}]" for e in entries) or "-"
        print(f"  {cluster:15} {text}")
    for area in ("forebyggelse", "aeldre", "naer-psykiatri"):
        serving = every(views.focus_area, area, as_of=day)
        text = ", ".join(f"{e.subject} ({e.status})" for e in serving) or "-"
        indicators = every(views.indicators, area, as_of=day)
        measured = sum(1 for i in indicators if i.latest_period is not None)
        print(f"  focus {area:15} {text}; {len(indicators)} indicators, {measured} measured")
    overdue = every(views.deadlines, as_of=day, overdue=True)
    print(f"  overdue deadlines: {len(overdue)}")
    for d in overdue[:8]:
        print(f"    {d.subject}: {d.kind} {d.key} (due {d.due.isoformat()})")
    if len(overdue) > 8:
        print(f"    ... and {len(overdue) - 8} more")


def show_agreements(app: Saftale) -> None:
    print(f"== Agreements in {app.store.display} ==")
    for subject, kind in app.subjects():
        if kind != "AgreementInitiated":
            continue
        report = app.agreement(subject)
        print(f"{subject}: {report.title}")
        print(f"  status      {report.status_text}; {report.approvals}")
        if report.clusters_implemented or report.clusters_implementing:
            print(
                f"  implemented {', '.join(report.clusters_implemented) or '-'}; "
                f"implementing {', '.join(report.clusters_implementing) or '-'}"
            )
        if report.evaluation_due:
            overdue = " (overdue)" if report.evaluation_overdue else ""
            print(f"  evaluation  due {report.evaluation_due}{overdue}")
        for step in report.next_steps[:4]:
            who = ", ".join(step.who[:4]) + (" ..." if len(step.who) > 4 else "")
            print(f"  next        {step.fact_type} by {who}")
        print()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuleViolation as exc:  # a user error never prints a traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
