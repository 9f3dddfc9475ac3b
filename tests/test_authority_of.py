"""Under which authority a fact was recorded: :func:`saftale_core.authority_of` reads the
process tables the rules are enforced with, and the audit trail shows it for every fact,
on every backend."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from saftale_core import (
    ApprovedByCouncil,
    ApprovedBySKU,
    ApprovedBySSG,
    Authority,
    FactCorrected,
    NoAuthority,
    Registry,
    RuleViolation,
    authority_of,
    fact_from_dict,
)
from saftale_core.agreement import AGREEMENT
from saftale_core.catalogue import example_lines
from saftale_core.facts import Fact
from saftale_core.process import Context, Process
from saftale_core.subjects import PROCESSES
from saftale_projections import ALL_VIEWS, Runner, Views
from tests.support import agreement_path, first, task_path, until
from tests.test_runner import Env
from tests.test_runner import env as _env

env = _env
"""The fixture of tests/test_runner.py: a store and views of each kind."""

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ON = {"subject": "s", "on": "2020-06-03"}


def line(**data: Any) -> Fact:
    return fact_from_dict({**ON, **data})


# -- the authority of each kind of fact, as DOMAIN.md and the seeds give it ------------------

CASES: list[tuple[Fact, str, tuple[str, str, str, str]]] = [
    # (fact, process kind, (process, step, rule, seed))
    (
        line(type="ApprovedBySSG", by="SSG"),
        "agreement",
        ("cooperation agreement", "8", "SSG", "002 (samarbejdsaftaler)"),
    ),
    (
        line(type="ApprovedBySSG", by="SSG"),
        "task",
        ("development task", "9", "SSG", "002 (udviklingsopgaver)"),
    ),
    (
        line(type="ApprovedBySKU", by="SKU"),
        "task",
        ("development task", "10", "SKU", "002 (udviklingsopgaver)"),
    ),
    (
        line(
            type="AgreementInitiated",
            by="SKU",
            title="T",
            origin="own_initiative",
            focus_areas=["aeldre"],
        ),
        "agreement",
        ("cooperation agreement", "0", "SSG or SKU", "002 (samarbejdsaftaler)"),
    ),
    (
        line(type="ApprovedByCouncil", by="byraad:aarhus"),
        "agreement",
        (
            "cooperation agreement",
            "9",
            "a council (the regional council or a byråd), for its own party",
            "002 (samarbejdsaftaler)",
        ),
    ),
    (
        line(type="ClusterAssigned", by="SSG", cluster="klynge:vest"),
        "agreement",
        ("cooperation agreement", "1–2", "SSG", "002 (samarbejdsaftaler)"),
    ),
    (
        line(type="DraftSubmitted", by="klynge:vest", triple_aim=True),
        "agreement",
        (
            "cooperation agreement",
            "3",
            "the working group or assigned cluster",
            "002 (samarbejdsaftaler)",
        ),
    ),
    (
        line(type="PracticeTasksAgreed", by="PPU"),
        "agreement",
        ("cooperation agreement", "—", "PPU", "003 (Implementering og opfølgning)"),
    ),
    (
        line(type="EconomicConsequencesClarified", by="SAS"),
        "agreement",
        ("cooperation agreement", "—", "SAS", "003 (Principper: Økonomi)"),
    ),
    (
        line(type="SolutionCoreDelivered", by="klynge:midt"),
        "task",
        ("development task", "6", "a cluster", "002 (udviklingsopgaver)"),
    ),
    (
        line(
            type="IndicatorMeasured", by="SAS", indicator="x", period="2020", value=1.0, source="s"
        ),
        "generation",
        ("health agreement generation", "—", "SAS", "003 (Implementering og opfølgning)"),
    ),
    (
        line(type="VisionSet", by="SKU", vision="v", text="t"),
        "generation",
        (
            "health agreement generation",
            "—",
            "SSG or SKU",
            "003 (visioner, indsatsområder, målsætninger, indikatorer, principper)",
        ),
    ),
    (
        line(type="PhaseStarted", by="SAS", phase="foranalyse"),
        "generation",
        ("health agreement generation", "—", "SSG, SKU or SAS", "000/001 (tids- og procesplan)"),
    ),
    (
        line(type="KommissoriumRecorded", by="SAS", title="K", background="b"),
        "kommissorium",
        (
            "kommissorium",
            "—",
            "a body of the registry (SAS drafts the health agreement's kommissorier)",
            "004 (kommissorium)",
        ),
    ),
]


@pytest.mark.parametrize(
    ("fact", "kind", "expected"), CASES, ids=[f"{k}-{f.TYPE}" for f, k, _ in CASES]
)
def test_the_authority_of_a_step(fact: Fact, kind: str, expected: tuple[str, ...]) -> None:
    found = authority_of(fact, kind)
    assert (found.process, found.step, found.rule, found.seed) == expected
    assert (found.fact_type, found.code, found.replacement) == (fact.TYPE, "not-authorised", None)


def test_the_authority_reads_as_one_line() -> None:
    approval = ApprovedBySSG(subject="a", on="2020-06-03", by="SSG")
    assert authority_of(approval, AGREEMENT).text == (
        "cooperation agreement, step 8: SSG; seed 002 (samarbejdsaftaler)"
    )
    practice = line(type="PracticeTasksAgreed", by="PPU")
    assert str(authority_of(practice)) == (
        "cooperation agreement, PracticeTasksAgreed: PPU; seed 003 (Implementering og opfølgning)"
    )


def test_a_correction_is_recorded_under_the_rule_for_corrections() -> None:
    replacement = ApprovedByCouncil(subject="a", on="2020-08-25", by="byraad:holstebro")
    fix = FactCorrected(
        subject="a", on="2020-09-03", by="SAS", corrects=11, reason="r", replacement=replacement
    )
    found = authority_of(fix, "agreement")
    assert (found.process, found.step, found.fact_type) == (
        "cooperation agreement",
        "—",
        "FactCorrected",
    )
    assert (found.code, found.seed) == ("correction-invalid", "DOMAIN.md (What is recorded)")
    assert found.rule.startswith("any body of the registry")
    assert found.replacement == authority_of(replacement, "agreement")
    assert found.text.endswith(
        "; in its place: cooperation agreement, step 9: a council (the regional council or a "
        "byråd), for its own party; seed 002 (samarbejdsaftaler)"
    )
    retraction = FactCorrected(subject="a", on="2020-09-03", by="SAS", corrects=11, reason="r")
    assert authority_of(retraction, "task").replacement is None
    assert authority_of(retraction, "task").process == "development task"


def test_the_process_is_needed_where_the_fact_type_does_not_tell_it() -> None:
    assert authority_of(line(type="DraftRevised", by="klynge:vest")).step == "6"
    with pytest.raises(NoAuthority, match="cooperation agreement and of a development task"):
        authority_of(ApprovedBySSG(subject="a", on="2020-06-03", by="SSG"))
    with pytest.raises(NoAuthority, match="name the process"):
        authority_of(FactCorrected(subject="a", on="2020-09-03", by="SAS", corrects=1, reason="r"))
    with pytest.raises(NoAuthority, match="not a step of a development task"):
        authority_of(line(type="DraftRevised", by="klynge:vest"), "task")
    with pytest.raises(LookupError, match="no process 'treaty'"):
        authority_of(line(type="DraftRevised", by="klynge:vest"), "treaty")
    # a process by its title works as well as by its kind
    assert authority_of(line(type="DraftRevised", by="klynge:vest"), "cooperation agreement")


def test_an_authority_reads_back_from_its_dict() -> None:
    replacement = ApprovedByCouncil(subject="a", on="2020-08-25", by="regionsraad")
    for fact in (
        replacement,
        FactCorrected(subject="a", on="2020-09-03", by="SAS", corrects=3, reason="r"),
        FactCorrected(
            subject="a", on="2020-09-03", by="SAS", corrects=3, reason="r", replacement=replacement
        ),
    ):
        found = authority_of(fact, "agreement")
        assert Authority.from_dict(found.to_dict()) == found


# -- one source: the rule the authority names is the rule a refusal quotes -----------------


WRONG = ("PLO", "sundhedsstyrelsen", "arbejdsgruppe:x", "klynge:midt", "SKU", "SSG")
"""Bodies to try a step with, until one the step does not allow."""


def refusal(process: Process[Any], state: Any, fact: Fact, ctx: Context) -> RuleViolation:
    try:
        if state is None:
            process.decide_start(fact, ctx)
        else:
            process.decide(state, fact, ctx)
    except RuleViolation as exc:
        return exc
    raise AssertionError(f"{fact.TYPE} by {fact.by} was not refused")


def test_every_step_of_every_process_names_the_rule_its_refusal_quotes() -> None:
    """A fact of every type (from the examples) taken by a body its step does not allow,
    in a subject of every process that has the step: the refusal (``not-authorised``,
    "only ... may") quotes the authority's rule.  Who may take a step is checked before
    the order of steps, so any state of the process will do."""
    lines = {
        name: {k: v for k, v in json.loads(text).items() if k not in ("recorded_by", "recorded_at")}
        for name, text in example_lines(EXAMPLES).items()
    }
    registry = Registry.default()
    ctx = Context(registry, dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    open_to_all = set()
    for process in PROCESSES.values():
        started = fact_from_dict(lines[process.initiated_by.fact.TYPE])
        for step in process.all_steps:
            fact = fact_from_dict(lines[step.fact.TYPE])
            found = authority_of(fact, process)
            assert (found.step, found.fact_type) == (step.number, step.fact.TYPE)
            wrong = [w for w in WRONG if not step.who.allows(w, registry)]
            if not wrong:
                open_to_all.add(step.fact.TYPE)
                continue
            state = None if step is process.initiated_by else process.start(started, registry)
            refused = refusal(process, state, attrs.evolve(fact, by=wrong[0]), ctx)
            assert refused.code == found.code, (process.kind, step.fact.TYPE)
            assert f"only {found.rule} may" in refused.detail, (process.kind, step.fact.TYPE)
    # only these are open to any body (a guard then checks who was asked to comment)
    assert open_to_all == {"CommentReceived", "ActivityHeld"}


# -- in the audit trail, on every backend ---------------------------------------------------


def test_the_audit_shows_the_authority_of_every_fact(env: Env) -> None:
    store = env.store()
    agreement = until(agreement_path("a"), "ApprovedBySKU")
    task = until(task_path("t"), "ApprovedBySKU")
    store.record_many([*agreement, *task])
    approval = first(agreement, "ApprovedBySSG")
    position = agreement.index(approval) + 1
    redated = attrs.evolve(approval, on=approval.on.end + dt.timedelta(days=1))
    store.record(
        FactCorrected(
            subject="a",
            on="2023-01-02",
            by="SAS",
            corrects=position,
            reason="r",
            replacement=redated,
        )
    )
    views = env.views()
    Runner(store, views, ALL_VIEWS(), batch_size=7).run_once()
    # SKU approves the task, recorded through another connection to the store: the view
    # finds the task's process again from the store (ApprovedBySKU is in both processes)
    other = env.store()
    sku = first(task_path("t"), "ApprovedBySKU")
    assert isinstance(sku, ApprovedBySKU)
    other.record(sku)
    Runner(other, views, ALL_VIEWS()).run_once()

    answers = Views(views)
    audit = {(e.subject, e.position): e for e in answers.audit(subject="a", limit=1000).items} | {
        (e.subject, e.position): e for e in answers.audit(subject="t", limit=1000).items
    }
    assert len(audit) == len(agreement) + len(task) + 2
    for entry in audit.values():
        kind = "agreement" if entry.subject == "a" else "task"
        assert entry.authority == authority_of(fact_from_dict(entry.fact), kind), entry
    ssg = {e.subject: e.authority for e in audit.values() if e.fact_type == "ApprovedBySSG"}
    assert {s: a.step for s, a in ssg.items() if a is not None} == {"a": "8", "t": "9"}
    (fix,) = [e for e in audit.values() if e.fact_type == "FactCorrected"]
    assert fix.authority is not None and fix.authority.code == "correction-invalid"
    assert fix.authority.replacement == ssg["a"]
    later = audit["t", len(task) + 1].authority
    assert later is not None and (later.fact_type, later.step) == ("ApprovedBySKU", "10")
