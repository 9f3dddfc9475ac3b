"""Development tasks recorded end to end, on every backend: both routes, and spread."""

from __future__ import annotations

import pytest

from saftale_core import RuleViolation, Saftale
from tests.support import agreement_path, own_task_path, task_path


def test_an_ssg_task_two_clusters_join_and_it_spreads_to_three_others(app: Saftale) -> None:
    facts = task_path("akut-aeldre")
    receipts = [app.record(fact) for fact in facts]
    assert all(not r.warnings for r in receipts)
    report = app.task("akut-aeldre")
    assert report.route == "ssg"
    assert report.status == "approved"
    assert report.accepted == ("klynge:horsens", "klynge:midt")
    assert report.declined == ("klynge:aarhus",)
    assert report.coordination == "joint"
    assert report.came_from == ("klynge:horsens", "klynge:midt")
    assert report.spread_to == ("klynge:aarhus", "klynge:randers", "klynge:vest")
    assert sorted(report.clusters_implemented) == sorted(report.spread_to)
    assert report.approvals == "approved by 13 of 20 councils"
    assert [h.fact for h in app.history("akut-aeldre")] == facts
    for cluster in report.spread_to:
        received = app.solutions_received(cluster)
        assert [(r.subject, r.status, r.came_from) for r in received] == [
            ("akut-aeldre", "implemented", ("klynge:horsens", "klynge:midt"))
        ]
    assert app.solutions_received("klynge:horsens") == []


def test_a_clusters_own_task_is_taken_up_for_spread(app: Saftale) -> None:
    facts = own_task_path("ung-trivsel")
    for fact in facts:
        app.record(fact)
    report = app.task("ung-trivsel")
    assert report.route == "cluster"
    assert report.came_from == ("klynge:vest",)
    assert report.spread_to == ("klynge:aarhus",)
    assert report.clusters_implemented == ("klynge:aarhus",)
    assert app.solutions_received("Aarhusklyngen")[0].subject == "ung-trivsel"


def test_skipping_the_comments_round_warns_but_records(app: Saftale) -> None:
    facts = task_path("t", comments=False)
    warnings = {f.TYPE: app.record(f).warnings for f in facts}
    assert [w.code for w in warnings["ApprovedBySSG"]] == ["comments-skipped"]
    assert app.task("t").status == "approved"


def test_tasks_and_agreements_share_one_subject_namespace(app: Saftale) -> None:
    app.record(task_path("same")[0])
    with pytest.raises(RuleViolation) as info:
        app.record(agreement_path("same")[0])
    assert info.value.code == "duplicate-subject"


def test_the_development_tasks_example(app: Saftale) -> None:
    """examples/development-tasks.jsonl: two clusters develop and spread, an own task,
    a withdrawn task, a kommissorium, and a task SKU returned and a council rejected."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "development-tasks.jsonl"
    result = app.import_history(path)
    assert [(n, e.code) for n, e in result.refusals] == []
    assert app.task("akut-sygepleje-aeldre").clusters_implemented == (
        "klynge:aarhus",
        "klynge:randers",
        "klynge:vest",
    )
    assert app.task("ung-i-trivsel").route == "cluster"
    assert app.task("digital-genoptraening").status == "withdrawn"
    rehab = app.task("hjerterehabilitering")
    assert rehab.state.returns == 1
    assert rehab.councils_rejected == ("byraad:odder",)
    assert app.state("kommissorium-naere-sundhedsvaesen-2015").document.journal_number == (
        "1-30-72-225-15"
    )
