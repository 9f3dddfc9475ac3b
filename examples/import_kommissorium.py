"""Import a kommissorium (seed 004) as a document and show its timetable.

    python examples/import_kommissorium.py [KOMMISSORIUM.txt] [--db URL]

The text is read by :func:`saftale_core.kommissorium_text.read_kommissorium`
and recorded as one ``KommissoriumRecorded`` fact, subject
``kommissorium-naere-sundhedsvaesen-2015``, by ``regionsraad`` (the strategy it
commissions goes to the regional council), dated by the document's date.
The store is ``--db``, else ``$SAFTALE_DB``, else ``sqlite:///saftale.db``.

Importing twice records nothing new: a fact already recorded is a no-op.
Exit codes: 0 ok, 1 the text could not be read or was refused (nothing recorded), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from saftale_core import RuleViolation, Saftale, SaftaleError
from saftale_core.kommissorium import KommissoriumState
from saftale_core.kommissorium_text import kommissorium_fact
from saftale_core.serialization import fact_to_dict
from saftale_core.store import default_url

HERE = Path(__file__).resolve().parent
DEFAULT_TEXT = HERE / "seeds" / "004_5d7cea77be118a99.txt"
SUBJECT = "kommissorium-naere-sundhedsvaesen-2015"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", nargs="?", type=Path, default=DEFAULT_TEXT)
    parser.add_argument("--db", default=None, help=f"store URL (default: {default_url()})")
    parser.add_argument("--subject", default=SUBJECT, help=f"subject key (default: {SUBJECT})")
    parser.add_argument("--by", default="regionsraad", help="who issued it (default: regionsraad)")
    args = parser.parse_args(argv)
    if not args.text.is_file():
        print(f"error: {args.text}: no such file", file=sys.stderr)
        return 2
    try:
        fact = kommissorium_fact(args.text.read_text(encoding="utf-8"), args.subject, args.by)
    except RuleViolation as exc:
        print(f"error: {args.text.name}: {exc}", file=sys.stderr)
        return 1
    try:
        with Saftale.open(args.db, recorded_by="example-import-kommissorium") as app:
            result = app.import_history([json.dumps(fact_to_dict(fact), ensure_ascii=False)])
            for _, error in result.refusals:
                print(f"{args.text.name}: {error.code}: {error.detail}")
            if not result.ok:
                print("refused; nothing was recorded")
                return 1
            print(
                f"{app.store.display}: {result.recorded} facts recorded, "
                f"{len(result.already_recorded)} already there\n"
            )
            state = app.state(args.subject)
            if not isinstance(state, KommissoriumState):
                print(f"error: {args.subject} is not a kommissorium", file=sys.stderr)
                return 1
            show(state)
            return 0
    except SaftaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def show(state: KommissoriumState) -> None:
    doc = state.document
    print(f"{state.subject}: {doc.title}")
    print(f"  dated {doc.on.text}, journal number {doc.journal_number or '-'}, by {doc.by}")
    print(f"  {'when':<17} {'time as written':<20} {'action':<48} actors")
    for row in doc.timetable:
        when = ", ".join(p.text for p in row.when)
        print(f"  {when:<17} {row.time:<20} {row.action:<48} {row.actors or '-'}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuleViolation as exc:  # a user error never prints a traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
