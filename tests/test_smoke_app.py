"""A whole agreement, recorded on every backend, reads back the same."""

from __future__ import annotations

from saftale_core import Saftale
from tests.support import agreement_path


def test_whole_agreement_round_trips(app: Saftale) -> None:
    facts = agreement_path("rygestop", general_practice_tasks=True, changes_task_allocation=True)
    for fact in facts:
        app.record(fact)
    history = app.history("rygestop")
    assert [h.fact for h in history] == facts
    report = app.agreement("rygestop")
    assert report.status == "approved"
    assert report.clusters_implemented == ("klynge:aarhus",)
    assert report.approvals == "approved by 3 of 20 councils"
    assert app.subjects() == [("rygestop", "AgreementInitiated")]
