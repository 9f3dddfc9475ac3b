"""The typed queries of :class:`saftale_projections.Views` over the bundled examples, and
the command that shows them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from saftale_core import Saftale
from saftale_projections import ALL_VIEWS, MemoryBackend, Runner, Views
from saftale_projections.queries import AuditEntry
from tests.support import Clock
from tests.test_cli import ok, saftale

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def views() -> Views:
    store = Saftale.open(":memory:", recorded_by="test", clock=Clock())
    for name in ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl"):
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


# -- through the command ---------------------------------------------------------------------


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
