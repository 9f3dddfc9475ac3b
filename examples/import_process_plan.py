"""Import a time and process plan (seed 000 or 001) as the planned activities of a generation.

    python examples/import_process_plan.py [PLAN.txt] [--db URL] [--on DATE]

PLAN.txt is the plan's text, tab-separated (seed 000, the default) or as a PDF
extraction (seed 001); both give the same activities.  The generation
``sundhedsaftale-2019-2023-plan`` is started (``GenerationInitiated``) unless it
already is, and each row of the plan becomes an ``ActivityPlanned`` by SAS.
The store is ``--db``, else ``$SAFTALE_DB``, else ``sqlite:///saftale.db``.

The plan is undated.  It tells of the consultation version of the new executive
order as out on 23/2 [2018] and of guidance still expected in spring 2018, so
its activities are dated ``2018-02-23/2018-05-31`` unless ``--on`` says
otherwise (an interpretation, not a date the plan writes).

Importing twice records nothing new: every fact already recorded is a no-op.
Exit codes: 0 ok, 1 the plan could not be read or was refused (nothing recorded), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from saftale_core import RuleViolation, Saftale, SaftaleError
from saftale_core.facts import Fact
from saftale_core.generation import GenerationInitiated, Phase
from saftale_core.process_plan import plan_facts, read_plan
from saftale_core.serialization import fact_to_dict
from saftale_core.store import default_url

HERE = Path(__file__).resolve().parent
DEFAULT_PLAN = HERE / "seeds" / "000_c09d39416834a3bb.txt"
SUBJECT = "sundhedsaftale-2019-2023-plan"
DEFAULT_ON = "2018-02-23/2018-05-31"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan", nargs="?", type=Path, default=DEFAULT_PLAN)
    parser.add_argument("--db", default=None, help=f"store URL (default: {default_url()})")
    parser.add_argument("--on", default=DEFAULT_ON, help=f"the plan's date (default: {DEFAULT_ON})")
    args = parser.parse_args(argv)
    if not args.plan.is_file():
        print(f"error: {args.plan}: no such file", file=sys.stderr)
        return 2
    text = args.plan.read_text(encoding="utf-8")
    try:
        rows = read_plan(text)
        title = next(line.strip() for line in text.splitlines() if line.strip())
        activities = plan_facts(rows, SUBJECT, by="SAS", on=args.on, ref=title)
    except RuleViolation as exc:
        print(f"error: {args.plan.name}: {exc}", file=sys.stderr)
        return 1
    try:
        with Saftale.open(args.db, recorded_by="example-import-plan") as app:
            facts: list[Fact] = []
            if not app.records(SUBJECT):
                facts.append(
                    GenerationInitiated(
                        subject=SUBJECT,
                        on="2017-10",
                        by="SSG",
                        title="Sundhedsaftalen 2019-2023",
                        number=4,
                        period="2019/2023",
                        ref=title,
                        note="the plan's first activities (the foranalyse) are in October 2017",
                    )
                )
            facts += activities
            return show(app, args.plan, facts)
    except SaftaleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def show(app: Saftale, plan: Path, facts: list[Fact]) -> int:
    lines = [json.dumps(fact_to_dict(fact), ensure_ascii=False) for fact in facts]
    result = app.import_history(lines)
    for number, error in result.refusals:
        print(f"{plan.name}: fact {number}: {error.code}: {error.detail}")
    if not result.ok:
        print(f"refused: {len(result.refusals)} fact(s); nothing was recorded")
        return 1
    print(
        f"{app.store.display}: {result.recorded} facts recorded, "
        f"{len(result.already_recorded)} already there ({result.checked} read from {plan.name})\n"
    )
    state = app.generation(SUBJECT)
    order = {phase: i for i, phase in enumerate(Phase)}
    activities = sorted(state.activities, key=lambda a: (order[a.phase], a.activity))
    print(f"{SUBJECT}: {state.title}, {len(activities)} planned activities")
    print(f"{'phase':<25} {'when':<23} {'what':<45} participants")
    for a in activities:
        when = ", ".join(p.text for p in a.when)
        what = a.what.splitlines()[0]
        print(f"{a.phase.value:<25} {when:<23} {_cut(what, 45):<45} {_cut(a.participants, 60)}")
    return 0


def _cut(text: str | None, width: int) -> str:
    if text is None:
        return "-"
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuleViolation as exc:  # a user error never prints a traceback
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
