"""The typed queries of :class:`saftale_projections.Views`: over the bundled examples, and
a body's decision log after corrections, on every backend; and the command that shows
them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

from saftale_core import (
    ApprovedByCouncil,
    ApprovedBySSG,
    FactCorrected,
    Saftale,
    fact_to_dict,
)
from saftale_core.facts import Fact
from saftale_projections import ALL_VIEWS, MemoryBackend, Runner, Views
from saftale_projections.queries import AuditEntry, Listing
from tests.support import Clock, agreement_path
from tests.test_cli import ok, saftale
from tests.test_runner import Env
from tests.test_runner import env as _env

env = _env
"""The fixture of tests/test_runner.py: a store and views of each kind."""

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl")
T = TypeVar("T")


def every(ask: Callable[..., Listing[T]], *args: Any, limit: int, **kwargs: Any) -> list[list[T]]:
    """The pages of a question, ``limit`` items each, following the cursors."""
    out: list[list[T]] = []
    after = None
    while True:
        page = ask(*args, **kwargs, limit=limit, after=after)
        out.append(list(page.items))
        if page.next is None:
            return out
        after = page.next


@pytest.fixture(scope="module")
def views() -> Views:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in EXAMPLE_FILES:
        assert not store.import_history(EXAMPLES / name).refusals
    backend = MemoryBackend()
    Runner(store, backend, ALL_VIEWS()).run_once()
    return Views(backend)


def pages(views: Views, limit: int, party: str, body: str | None = None) -> list[list[AuditEntry]]:
    out, after = [], None
    while True:
        page = views.audit(party=party, body=body, limit=limit, after=after)
        out.append(list(page.items))
        if page.next is None:
            return out
        after = page.next


def test_audit_by_party_and_body_fills_every_page_but_the_last(views: Views) -> None:
    everything = [e for [e] in pages(views, 1, party="klynge:horsens")]
    by_ssg = [e for e in everything if e.by == "SSG"]
    assert 3 < len(by_ssg) < len(everything)  # the filter leaves some out, not all
    for limit in (1, 2, 5):
        got = pages(views, limit, party="klynge:horsens", body="SSG")
        assert [e for page in got for e in page] == by_ssg
        assert all(len(page) == limit for page in got[:-1])
        assert len(got[-1]) <= limit


def test_audit_by_party_alone_pages_as_one_list(views: Views) -> None:
    whole = views.audit(party="klynge:horsens", limit=10_000).items
    assert [e for page in pages(views, 3, party="klynge:horsens") for e in page] == list(whole)


# -- a body's decision log, after corrections --------------------------------------------


@attrs.frozen
class Corrected:
    """An agreement three councils approved, then three corrections: SSG's approval
    redated (same body), the regional council's approval found to be Skive's (another
    body), Aarhus' approval retracted.  Positions in the subject ``d``."""

    facts: tuple[Fact, ...]
    ssg: int
    region: int
    aarhus: int
    odder: int
    redated: ApprovedBySSG
    skive: ApprovedByCouncil

    def fix(self, n: int) -> int:
        """The position of the ``n``-th correction (from 1)."""
        return len(self.facts) + n


def record_corrected(store: Saftale, runs: Callable[[], object] = lambda: None) -> Corrected:
    """Record the agreement, call ``runs`` (bring views up to date), record the fixes."""
    facts = agreement_path(
        "d", implement_in=(), councils=("regionsraad", "byraad:aarhus", "byraad:odder")
    )
    store.record_many(facts)
    runs()
    ssg = [f.TYPE for f in facts].index("ApprovedBySSG") + 1
    region, aarhus, odder = (i for i, f in enumerate(facts, 1) if f.TYPE == "ApprovedByCouncil")
    original = facts[ssg - 1]
    assert isinstance(original, ApprovedBySSG)
    redated = attrs.evolve(original, on=(original.on.start + dt.timedelta(days=3)).isoformat())
    skive = ApprovedByCouncil(subject="d", on=facts[region - 1].on, by="byraad:skive")
    for n, (target, replacement) in enumerate([(ssg, redated), (region, skive), (aarhus, None)], 1):
        store.record(
            FactCorrected(
                subject="d",
                on=f"2023-01-0{n}",
                by="SAS",
                corrects=target,
                reason=f"fix {n}",
                replacement=replacement,
            )
        )
    return Corrected(tuple(facts), ssg, region, aarhus, odder, redated, skive)


def test_the_decision_log_says_whether_each_decision_stands(env: Env) -> None:
    store, backend = env.store(), env.views()
    runner = Runner(store, backend, ALL_VIEWS(), batch_size=4)
    case = record_corrected(store, lambda: runner.run_once())
    runner.run_once()
    views = Views(backend)
    original = case.facts[case.ssg - 1]

    # the same body, a new date: the decision stands as corrected
    ssg = {e.position: e for e in views.decisions("SSG").items}
    assert sorted(ssg) == [1, 2, 4, case.ssg]
    approval = ssg[case.ssg]
    assert (approval.state, approval.in_force, approval.by) == ("replaced", True, "SSG")
    assert approval.corrected_by == case.fix(1)
    assert approval.on == case.redated.on.text != original.on.text
    assert approval.fact == fact_to_dict(case.redated)
    assert approval.recorded == fact_to_dict(original)
    assert (ssg[1].state, ssg[1].corrected_by, ssg[1].fact) == ("stands", None, ssg[1].recorded)
    # dated as corrected
    day = case.redated.on.start
    assert case.ssg in [e.position for e in views.decisions("SSG", since=day).items]
    before = views.decisions("SSG", until=day - dt.timedelta(days=1)).items
    assert case.ssg not in [e.position for e in before]

    # another body: the decision is Skive's, not the regional council's
    assert views.decisions("regionsraad").items == ()
    (moved,) = views.decisions("regionsraad", include_retracted=True).items
    assert (moved.position, moved.state, moved.in_force) == (case.region, "replaced", False)
    assert (moved.by, moved.corrected_by) == ("byraad:skive", case.fix(2))
    assert moved.recorded["by"] == "regionsraad"
    (skive,) = views.decisions("byraad:skive").items
    assert (skive.position, skive.state, skive.in_force, skive.by) == (
        case.region,
        "replaced",
        True,
        "byraad:skive",
    )
    assert skive.fact == fact_to_dict(case.skive)

    # retracted: never taken
    assert views.decisions("byraad:aarhus").items == ()
    (retracted,) = views.decisions("byraad:aarhus", include_retracted=True).items
    assert (retracted.position, retracted.state, retracted.in_force) == (
        case.aarhus,
        "retracted",
        False,
    )
    assert (retracted.by, retracted.fact, retracted.corrected_by) == (None, None, case.fix(3))
    assert retracted.recorded == fact_to_dict(case.facts[case.aarhus - 1])

    # untouched; and a correction is no decision of the body that recorded it
    (odder,) = views.decisions("byraad:odder").items
    assert (odder.position, odder.state, odder.in_force) == (case.odder, "stands", True)
    assert all(e.fact_type != "FactCorrected" for e in views.decisions("SAS").items)
    assert [e.fact_type for e in views.audit(body="SAS").items].count("FactCorrected") == 3


def test_the_decision_log_pages_with_or_without_the_retracted(env: Env) -> None:
    store, backend = env.store(), env.views()
    case = record_corrected(store)
    Runner(store, backend, ALL_VIEWS()).run_once()
    views = Views(backend)
    for body in ("SSG", "regionsraad", "byraad:aarhus", "klynge:horsens"):
        for include in (False, True):
            whole = list(views.decisions(body, include_retracted=include, limit=1000).items)
            for limit in (1, 2):
                got = every(views.decisions, body, include_retracted=include, limit=limit)
                assert [e for page in got for e in page] == whole
                assert all(len(page) == limit for page in got[:-1])
    assert len(views.decisions("SSG").items) == 4
    assert case.region in [
        e.position for e in views.decisions("regionsraad", include_retracted=True).items
    ]


# -- through the command ---------------------------------------------------------------------


def test_show_decisions_marks_corrections_and_leaves_retracted_ones_out(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    with Saftale.open(db, recorded_by="test") as store:
        case = record_corrected(store)

    def decisions(body: str, *more: str) -> list[dict[str, Any]]:
        run = ok(saftale("show", "decisions", body, *more, "--format", "json", db=db, cwd=tmp_path))
        rows: list[dict[str, Any]] = run.json()
        return rows

    (approval,) = [e for e in decisions("SSG") if e["position"] == case.ssg]
    assert (approval["state"], approval["corrected_by"], approval["on"]) == (
        "replaced",
        case.fix(1),
        case.redated.on.text,
    )
    assert approval["fact"] == fact_to_dict(case.redated)
    assert decisions("byraad:aarhus") == []
    (retracted,) = decisions("byraad:aarhus", "--include-retracted")
    assert (retracted["state"], retracted["in_force"], retracted["fact"]) == (
        "retracted",
        False,
        None,
    )
    (moved,) = decisions("regionsraad", "--include-retracted")
    assert (moved["state"], moved["by"], moved["in_force"]) == ("replaced", "byraad:skive", False)
    table = ok(
        saftale("show", "decisions", "regionsraad", "--include-retracted", db=db, cwd=tmp_path)
    )
    header = table.lines[1].split()
    assert header[: header.index("recorded_by")] == [
        "subject",
        "position",
        "fact_type",
        "on",
        "by",
        "state",
        "in_force",
        "corrected_by",
    ]
    assert "replaced" in table.lines[3] and "byraad:skive" in table.lines[3]


def test_audit_shows_under_which_authority(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    ok(saftale("import", str(EXAMPLES / "history.jsonl"), db=db, cwd=tmp_path))
    rows = ok(
        saftale("audit", "--subject", "rygestop", "--format", "json", db=db, cwd=tmp_path)
    ).json()
    by_position = {r["position"]: r for r in rows}
    # examples/README.md: Horsens Byråd's approval (fact 34) is corrected by fact 40
    assert by_position[34]["authority"]["step"] == "9"
    assert by_position[34]["authority"]["rule"].endswith("for its own party")
    assert by_position[40]["authority"]["code"] == "correction-invalid"
    assert by_position[40]["authority"]["replacement"] == by_position[34]["authority"]
    text = ok(saftale("audit", "--subject", "rygestop", "--format", "csv", db=db, cwd=tmp_path))
    header, *lines = csv.reader(io.StringIO(text.out.lstrip("\ufeff"), newline=""), delimiter=";")
    cells = {int(line[1]): line[header.index("authority")] for line in lines}
    assert cells[1] == "cooperation agreement, step 0: SSG or SKU; seed 002 (samarbejdsaftaler)"
    assert cells[34].startswith("cooperation agreement, step 9: a council")
    assert cells[40].endswith("; in its place: " + cells[34])
