"""Authority in Process 1: only the body the table names may take a step.

For every row of :data:`saftale_core.AGREEMENT` a scenario puts the subject just
before that step, so the step is otherwise in order; then every body the row's
``who`` does not name is refused with ``not-authorised`` (nothing recorded) and
the body it names is accepted.  The forbidden bodies are derived from the row,
so the tests follow the table; :func:`test_the_table_names_the_bodies_of_domain_md`
checks the table itself against the ``by`` column of DOMAIN.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saftale_core import AGREEMENT, Recorded, Registry, RuleViolation, Saftale
from saftale_core import facts as f
from saftale_core.facts import Fact
from saftale_core.process import Step, Who
from saftale_core.registry import Kind, Role
from tests.support import agreement_path, first, until, with_

REG = Registry.default()
S = "rygestop"
OTHER_GROUP = "arbejdsgruppe:en-anden-gruppe"
"""A working group that drafts nothing here (working groups are not listed in the registry)."""

STEPS: dict[str, Step[Any, Any]] = {s.fact.TYPE: s for s in AGREEMENT.all_steps}

# -- helpers -----------------------------------------------------------------------------


def stored(app: Saftale) -> list[Recorded]:
    return list(app.all_records())


def refused(app: Saftale, fact: Fact, code: str) -> RuleViolation:
    before = stored(app)
    with pytest.raises(RuleViolation) as info:
        app.record(fact)
    exc = info.value
    assert exc.code == code, exc.message
    assert exc.subject == fact.subject
    assert stored(app) == before
    return exc


def accepted(app: Saftale, fact: Fact) -> Fact:
    before = len(stored(app))
    receipt = app.record(fact)
    assert len(stored(app)) == before + 1
    return receipt.fact


def every_id() -> list[str]:
    """Every listed body, council and cluster, and a working group."""
    return [*REG.bodies, OTHER_GROUP]


def not_named(who: Who) -> list[str]:
    """The ids the row does not name: not among its bodies, and of a kind it does not name."""
    named = set(who.bodies(REG))
    return [i for i in every_id() if i not in named and REG.kind(i) not in who.kinds]


# -- scenarios: the subject just before each step ------------------------------------------

# Steps that agreement_path does not take; each stands in for a step that it does.
STAND_INS: dict[str, tuple[str, Callable[[Fact], Fact]]] = {
    "ReturnedBySSG": (
        "ApprovedBySSG",
        lambda x: f.ReturnedBySSG(subject=x.subject, on=x.on, by="SSG", reason="Unclear"),
    ),
    "ReturnedBySKU": (
        "ApprovedBySKU",
        lambda x: f.ReturnedBySKU(subject=x.subject, on=x.on, by="SKU", reason="Unclear"),
    ),
    "RejectedByCouncil": (
        "ApprovedByCouncil",
        lambda x: f.RejectedByCouncil(subject=x.subject, on=x.on, by=x.by, reason="No budget"),
    ),
    "EvaluationScheduled": (
        "ImplementationStarted",
        lambda x: f.EvaluationScheduled(subject=x.subject, on=x.on, by="SSG", due="2021-01"),
    ),
    "AgreementWithdrawn": (
        "DraftSubmitted",
        lambda x: f.AgreementWithdrawn(subject=x.subject, on=x.on, by="SSG", reason="Superseded"),
    ),
}


def scenario(step: str, subject: str = S) -> tuple[list[Fact], Fact]:
    """(the facts before ``step``, the fact of ``step`` by a body the table names)."""
    path = agreement_path(
        subject,
        delivery="working_group" if step == "WorkingGroupEstablished" else "cluster",
        general_practice_tasks=step == "PracticeTasksAgreed",
        changes_task_allocation=step == "EconomicConsequencesClarified",
    )
    if step in STAND_INS:
        anchor, make = STAND_INS[step]
        return until(path, anchor), make(first(path, anchor))
    return until(path, step), first(path, step)


def named_now(step: str, prefix: list[Fact]) -> set[str]:
    """For a row whose authority also depends on the state: who may take it now."""
    if step == "CommentReceived":
        sent = [x for x in prefix if isinstance(x, f.DraftSentForComments)][-1]
        return set(sent.parties)
    drafters = {
        x.cluster if isinstance(x, f.ClusterAssigned) else x.group
        for x in prefix
        if isinstance(x, f.ClusterAssigned | f.WorkingGroupEstablished)
    }
    return drafters | {REG.role(r) for r in STEPS[step].who.roles}


def forbidden(step: str, prefix: list[Fact]) -> list[str]:
    """Bodies the row does not name; for a row that checks who drafts or who was asked
    (``not-authorised`` among its rules), also the named ones the state does not allow."""
    row = STEPS[step]
    out = not_named(row.who)
    if "not-authorised" in row.rules:
        now = named_now(step, prefix)
        out += [i for i in every_id() if i not in out and i not in now]
    return out


# -- the table against DOMAIN.md ---------------------------------------------------------------

CLUSTER = {Kind.CLUSTER}
DRAFTERS = {Kind.CLUSTER, Kind.WORKING_GROUP}
COUNCILS = {Kind.REGIONAL_COUNCIL, Kind.MUNICIPAL_COUNCIL}
EXPECTED: dict[str, tuple[set[str], set[Kind]]] = {
    # the `by` column of DOMAIN.md, Process 1: (bodies by id, any id of these kinds)
    "AgreementInitiated": ({"SSG", "SKU"}, set()),
    "KommissoriumApproved": ({"SSG"}, set()),
    "ClusterOffered": (set(), CLUSTER),
    "ClusterAssigned": ({"SSG"}, set()),
    "WorkingGroupEstablished": ({"SAS"}, set()),
    "DraftSubmitted": (set(), DRAFTERS),
    "DraftCoordinated": ({"SAS"}, set()),
    "DraftSentForComments": ({"SAS"}, set()),
    "CommentReceived": (set(), set(Kind)),  # a party: which ones, the round decides
    "DraftRevised": (set(), DRAFTERS),
    "SubmittedForApproval": ({"SAS"}, DRAFTERS),
    "ApprovedBySSG": ({"SSG"}, set()),
    "ReturnedBySSG": ({"SSG"}, set()),
    "ApprovedBySKU": ({"SKU"}, set()),
    "ReturnedBySKU": ({"SKU"}, set()),
    "ApprovedByCouncil": (set(), COUNCILS),
    "RejectedByCouncil": (set(), COUNCILS),
    "PracticeTasksAgreed": ({"PPU"}, set()),
    "EconomicConsequencesClarified": ({"SAS"}, set()),
    "ImplementationStarted": (set(), CLUSTER),
    "Implemented": (set(), CLUSTER),
    "EvaluationScheduled": ({"SSG", "SAS"}, set()),
    "Evaluated": ({"SSG", "SAS"}, set()),
    "AgreementWithdrawn": ({"SSG", "SKU"}, set()),
}


def test_the_table_has_every_step_of_domain_md() -> None:
    assert set(STEPS) == set(EXPECTED)


@pytest.mark.parametrize("step", list(EXPECTED))
def test_the_table_names_the_bodies_of_domain_md(step: str) -> None:
    bodies, kinds = EXPECTED[step]
    allowed = {i for i in every_id() if STEPS[step].who.allows(i, REG)}
    expected = {i for i in every_id() if i in bodies or REG.kind(i) in kinds}
    assert allowed == expected


# -- every step: a body not named is refused, the named body accepted --------------------------


@pytest.mark.parametrize("step", list(STEPS))
def test_a_body_the_table_does_not_name_is_refused(app: Saftale, step: str) -> None:
    prefix, fact = scenario(step)
    app.record_many(prefix)
    bodies = forbidden(step, prefix)
    assert bodies, f"every body may record {step}"
    assert fact.by not in bodies
    for body in bodies:
        exc = refused(app, with_(fact, by=body), "not-authorised")
        assert body in exc.detail
    # the same fact by the body the table names: otherwise in order, so accepted
    accepted(app, fact)


@pytest.mark.parametrize("step", list(STEPS))
def test_every_body_the_table_names_by_role_is_accepted(app: Saftale, step: str) -> None:
    roles = STEPS[step].who.roles
    for i, role in enumerate(roles):
        subject = f"{S}-{i}"
        prefix, fact = scenario(step, subject)
        app.record_many(prefix)
        stored_fact = accepted(app, with_(fact, by=REG.role(role)))
        assert stored_fact.by == REG.role(role)
    if not roles:  # a row naming kinds only: its scenario's body is of such a kind
        prefix, fact = scenario(step)
        assert REG.kind(fact.by) in STEPS[step].who.kinds
        app.record_many(prefix)
        accepted(app, fact)


@pytest.mark.parametrize(
    "step", [s for s in STEPS if s != "AgreementInitiated" and not_named(STEPS[s].who)]
)
def test_not_authorised_is_reported_whatever_the_order(app: Saftale, step: str) -> None:
    """Right after initiation most steps are out of order; a body not named is still
    refused as not authorised (DOMAIN.md: "whatever the order")."""
    path = agreement_path(S)
    app.record(path[0])
    _, fact = scenario(step)
    bodies = not_named(STEPS[step].who)
    for body in bodies:
        refused(app, with_(fact, by=body), "not-authorised")


# -- rows that name a kind: every body of that kind -------------------------------------------


def test_every_cluster_may_offer(app: Saftale) -> None:
    prefix, fact = scenario("ClusterOffered")
    app.record_many(prefix)
    for cluster in REG.clusters:
        accepted(app, with_(fact, by=cluster))
    assert {c for c, _ in app.agreement(S).state.offers} == set(REG.clusters)


@pytest.mark.parametrize("decision", ["ApprovedByCouncil", "RejectedByCouncil"])
def test_every_council_may_decide_for_its_own_party(app: Saftale, decision: str) -> None:
    prefix, fact = scenario(decision)
    app.record_many(prefix)
    for council in REG.councils:
        accepted(app, with_(fact, by=council))
    report = app.agreement(S)
    decided = report.councils_approved + report.councils_rejected
    assert sorted(decided) == sorted(REG.councils)


def test_every_cluster_may_implement_once_its_councils_approved(app: Saftale) -> None:
    path = agreement_path(S, implement_in=tuple(REG.clusters))
    prefix = until(path, "ImplementationStarted")
    app.record_many(prefix)
    for fact in path[len(prefix) :]:
        if fact.TYPE in ("ImplementationStarted", "Implemented"):
            accepted(app, fact)
    assert sorted(app.agreement(S).clusters_implemented) == sorted(REG.clusters)


@pytest.mark.parametrize("step", ["DraftSubmitted", "DraftRevised", "SubmittedForApproval"])
def test_only_the_working_group_drafts_a_working_group_delivery(app: Saftale, step: str) -> None:
    path = agreement_path(S, delivery="working_group")
    prefix, fact = until(path, step), first(path, step)
    app.record_many(prefix)
    group = first(path, "WorkingGroupEstablished")
    assert isinstance(group, f.WorkingGroupEstablished)
    assert fact.by == group.group
    for body in [OTHER_GROUP, *REG.clusters]:
        refused(app, with_(fact, by=body), "not-authorised")
    accepted(app, fact)


def test_only_a_party_sent_the_draft_may_comment(app: Saftale) -> None:
    prefix, fact = scenario("CommentReceived")
    app.record_many(prefix)
    sent = [x for x in prefix if isinstance(x, f.DraftSentForComments)][-1]
    outsiders = [i for i in every_id() if i not in sent.parties]
    assert "SSG" in outsiders
    for body in outsiders:
        refused(app, with_(fact, by=body), "not-authorised")
    for party in sent.parties:
        accepted(app, with_(fact, by=party))
    assert [p for p, _ in app.agreement(S).state.comments] == list(sent.parties)


def test_the_secretariat_may_submit_for_the_drafters(app: Saftale) -> None:
    prefix, fact = scenario("SubmittedForApproval")
    app.record_many(prefix)
    accepted(app, with_(fact, by=REG.role(Role.SECRETARIAT)))
    assert app.agreement(S).status == "submitted"
