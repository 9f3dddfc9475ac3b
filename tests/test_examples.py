"""The bundled example history, the replay script behind ``make demo``, and the README's
two commands as a newcomer meets them.

The expected states below were read off ``examples/history.jsonl`` by hand (see
``examples/README.md``); they are deliberately written out rather than recomputed,
so that a change to the rules or to the example that moves them is noticed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saftale_core import Saftale
from saftale_core.facts import Delivery, FactCorrected
from saftale_core.history import ImportResult

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
HISTORY = EXAMPLES / "history.jsonl"
REPLAY = EXAMPLES / "replay.py"

ALL_CLUSTERS = {"klynge:horsens", "klynge:midt", "klynge:randers", "klynge:vest", "klynge:aarhus"}


def _lines() -> list[tuple[int, dict[str, Any]]]:
    """The non-blank lines of the example history with their 1-based line numbers."""
    out: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(HISTORY.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            data = json.loads(raw)
            assert isinstance(data, dict)
            out.append((number, data))
    return out


def _initiated() -> list[tuple[str, str]]:
    """(subject, title) of every agreement the example starts, in file order."""
    return [(d["subject"], d["title"]) for _, d in _lines() if d["type"] == "AgreementInitiated"]


def _env(**extra: str) -> dict[str, str]:
    """The caller's environment without what an outer ``make`` or venv would leak in."""
    leaks = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VIRTUAL_ENV", "SAFTALE_DB"}
    env = {k: v for k, v in os.environ.items() if k not in leaks and k != "PYTHONPATH"}
    env.update(extra)
    return env


Example = tuple[Saftale, ImportResult]


@pytest.fixture(scope="module")
def example() -> Iterator[Example]:
    app = Saftale.open(":memory:", recorded_by="test")
    result = app.import_history(HISTORY)
    yield app, result
    app.close()


def _blocks(stdout: str) -> dict[str, str]:
    """The replay script's view of each agreement, by subject."""
    out = {}
    for block in stdout.split("\n\n")[1:]:
        block = block.removeprefix("== Agreements in ").split("==\n", 1)[-1]
        head, _, _ = block.partition(":")
        if head and " " not in head and not head.startswith("=="):
            out[head] = block
    return out


# -- 1. the example history in a fresh in-memory store ---------------------------------


def test_every_line_is_accepted_and_recorded(example: Example) -> None:
    app, result = example
    lines = _lines()
    assert 100 <= len(lines) <= 200
    assert result.refusals == ()
    assert result.ok
    assert result.already_recorded == ()
    assert result.checked == len(lines)
    assert result.recorded == len(lines)
    assert sum(1 for _ in app.all_records()) == len(lines)


def test_the_only_warning_is_the_draft_without_triple_aim(example: Example) -> None:
    _, result = example
    drafts_without = [
        n for n, d in _lines() if d["type"] == "DraftSubmitted" and d["triple_aim"] is False
    ]
    assert [(n, w.code, w.subject) for n, w in result.warnings] == [
        (drafts_without[0], "triple-aim-missing", "boern-unge-mistrivsel")
    ]


def test_the_agreements_in_the_example(example: Example) -> None:
    app, _ = example
    assert app.subjects() == [(s, "AgreementInitiated") for s, _ in _initiated()]
    assert [s for s, _ in _initiated()] == [
        "rygestop",
        "akut-aeldre",
        "svaer-psykisk-sygdom",
        "overvaegt-boern",
        "boern-unge-mistrivsel",
    ]
    focus = {s: app.agreement(s).state.focus_areas for s, _ in _initiated()}
    assert focus == {
        "rygestop": ("forebyggelse",),
        "akut-aeldre": ("aeldre",),  # written "ældre" in the file
        "svaer-psykisk-sygdom": ("naer-psykiatri",),
        "overvaegt-boern": ("forebyggelse",),
        "boern-unge-mistrivsel": ("naer-psykiatri",),
    }


def test_rygestop_cluster_delivery_all_councils_implemented_and_evaluated(example: Example) -> None:
    app, _ = example
    report = app.agreement("rygestop")
    state = report.state
    assert report.status == "approved"
    assert state.delivery is Delivery.CLUSTER
    # three clusters offered (one as "Randersklyngen"), SSG chose Vestklyngen
    assert {c for c, _ in state.offers} == {"klynge:randers", "klynge:horsens", "klynge:vest"}
    assert state.assigned_cluster == "klynge:vest"
    assert len(state.comments) == 5
    assert report.approvals == "approved by 20 of 20 councils"
    assert set(report.councils_approved) == set(app.registry.councils)
    # "byraad:Århus", "byraad:Samsø", "byraad:Ringkøbing-Skjern" were made canonical
    assert {"byraad:aarhus", "byraad:samso", "byraad:ringkobing-skjern"} <= set(
        report.councils_approved
    )
    # implemented in four clusters ("Gødstrupklyngen" is Vestklyngen); Midtklyngen is under way
    assert set(report.clusters_implemented) == ALL_CLUSTERS - {"klynge:midt"}
    assert report.clusters_implementing == ("klynge:midt",)
    assert state.evaluate_after_months == 18
    assert report.evaluation_due == "2022-06"
    assert [e.text for e in state.evaluations] == ["2022-06-15"]
    assert report.evaluation_overdue is False
    assert state.general_practice_tasks is False
    assert state.changes_task_allocation is False


def test_rygestop_council_date_corrected(example: Example) -> None:
    app, _ = example
    decision = app.agreement("rygestop").state.council_decision("byraad:horsens")
    assert decision is not None
    assert decision.approved
    assert decision.on.text == "2020-11-24"
    history = app.history("rygestop")
    corrections = [h for h in history if h.fact.TYPE == "FactCorrected"]
    assert len(corrections) == 1
    correction = corrections[0]
    assert isinstance(correction.fact, FactCorrected)
    wrong = history[correction.fact.corrects - 1]
    assert wrong.fact.TYPE == "ApprovedByCouncil"
    assert wrong.fact.by == "byraad:horsens"
    assert wrong.fact.on.text == "2020-11-30"
    assert wrong.in_force is False
    assert wrong.corrected_by == (correction.position,)
    assert wrong.recorded_by == "SAS/TJ"
    assert correction.recorded_by == "SAS/LBN"
    # lines without recorded_by are recorded by the importing user
    assert {h.recorded_by for h in history} == {"SAS/LBN", "SAS/TJ", "test"}


def test_akut_aeldre_working_group_practice_tasks_and_overdue_evaluation(example: Example) -> None:
    app, _ = example
    report = app.agreement("akut-aeldre")
    state = report.state
    assert report.status == "approved"
    assert state.delivery is Delivery.WORKING_GROUP
    assert state.working_group == "arbejdsgruppe:akut-aeldre"
    assert "byraad:aarhus" in state.members  # written "byraad:Århus"
    assert {"PLO", "PIU", "regionsraad"} <= set(state.members)
    assert state.general_practice_tasks is True
    assert state.practice_tasks_agreed_on is not None
    assert state.practice_tasks_agreed_on.text == "2021-02-16"
    assert report.approvals == "approved by 15 of 20 councils"
    assert set(app.registry.councils) - set(report.councils_approved) == {
        "byraad:lemvig",
        "byraad:ringkobing-skjern",
        "byraad:struer",
        "byraad:silkeborg",
        "byraad:skive",
    }
    assert set(report.clusters_implemented) == {"klynge:horsens", "klynge:aarhus"}
    assert report.clusters_implementing == ("klynge:randers",)
    # Vest- and Midtklyngen wait for their councils: they are not offered the next step
    ready = {s.fact_type: set(s.who) for s in report.next_steps}
    assert "ImplementationStarted" not in ready
    assert report.evaluation_due == "2022-09"
    assert report.evaluation_overdue is True
    assert state.evaluations == ()


def test_svaer_psykisk_sygdom_returned_until_the_economy_was_clarified(example: Example) -> None:
    app, _ = example
    report = app.agreement("svaer-psykisk-sygdom")
    state = report.state
    assert report.status == "approved"
    assert state.initiated_by == "SKU"
    assert state.initiated_on.text == "2019-10-29"
    assert state.changes_task_allocation is True
    assert state.returns == 1
    assert state.economy_clarified_on is not None
    assert state.ssg_approved_on is not None
    assert state.economy_clarified_on.end < state.ssg_approved_on.start
    assert report.approvals == "approved by 20 of 20 councils"
    assert report.clusters_implemented == ("klynge:midt",)
    assert set(report.clusters_implementing) == {"klynge:vest", "klynge:aarhus"}
    ready = {s.fact_type: set(s.who) for s in report.next_steps}
    assert ready["ImplementationStarted"] == {"klynge:horsens", "klynge:randers"}
    # no EvaluationScheduled: due 24 months after the first implementation (2021-11)
    assert report.evaluation_due == "2023-11-30"
    assert report.evaluation_overdue is True


def test_boern_unge_is_still_in_the_comments_round(example: Example) -> None:
    app, _ = example
    report = app.agreement("boern-unge-mistrivsel")
    state = report.state
    assert report.status == "in_comments"
    assert state.assigned_cluster == "klynge:aarhus"
    assert [c for c, _ in state.comments] == ["PIU", "klynge:randers", "PLO"]
    assert state.comment_deadline is not None
    assert state.comment_deadline.text == "2022-06-24"
    assert report.councils_approved == ()
    ready = {s.fact_type: s.who for s in report.next_steps}
    assert ready["DraftRevised"] == ("klynge:aarhus",)


def test_overvaegt_boern_is_withdrawn(example: Example) -> None:
    app, _ = example
    report = app.agreement("overvaegt-boern")
    assert report.status == "withdrawn"
    assert report.state.withdrawn_on is not None
    assert report.state.withdrawn_on.text == "2020-06-24"
    assert report.state.withdrawal_reason is not None
    assert report.state.withdrawal_reason.startswith("Rygning er første fokus")
    assert report.next_steps == ()


# -- 2. the replay script, twice ------------------------------------------------------


def test_replay_script_twice_records_once(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    command = [
        sys.executable,
        str(REPLAY),
        str(HISTORY),
        "--db",
        f"sqlite:///{db}",
        "--as-of",
        "2022-07-01",
    ]
    n = len(_lines())

    first = subprocess.run(
        command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{n} facts recorded, 0 already there ({n} lines read)" in first.stdout
    for subject, title in _initiated():
        assert f"{subject}: {title}\n" in first.stdout
    assert re.search(r"^history\.jsonl:\d+: triple-aim-missing: warning:", first.stdout, re.M)
    views = _blocks(first.stdout)
    assert set(views) == {s for s, _ in _initiated()}
    assert "approved by 20 of 20 councils" in views["rygestop"]
    assert "implementing klynge:midt" in views["rygestop"]
    assert "approved by 15 of 20 councils" in views["akut-aeldre"]
    assert "(overdue)" in views["akut-aeldre"]
    assert "status      withdrawn" in views["overvaegt-boern"]
    assert "status      sent for comments" in views["boern-unge-mistrivsel"]
    assert db.is_file()
    assert "== Views as of 2022-07-01 ==" in first.stdout
    assert "awaits regionsraad" in first.stdout

    second = subprocess.run(
        command, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"0 facts recorded, {n} already there ({n} lines read)" in second.stdout
    assert "warning" not in second.stdout
    # the views are the same the second time
    assert second.stdout.split("\n\n", 1)[1] == first.stdout.split("\n\n", 1)[1]


# -- 3. the README's two commands -------------------------------------------------------


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```sh\n(.*?)^```", text, re.M | re.S)
    assert block is not None, "README.md has no ```sh block"
    commands = []
    for line in block.group(1).splitlines():
        command = line.split("#", 1)[0].strip()
        if command:
            commands.append(command)
    return commands


def test_readme_names_exactly_the_two_commands() -> None:
    assert _readme_commands() == ["make demo", "make test"]


@pytest.mark.parametrize("target", ["demo", "test"])
def test_make_dry_run_succeeds(target: str) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        [make, "-n", target], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _copy_of_the_repository(dest: Path) -> None:
    """Tracked and untracked (not ignored) files of the working tree, as a newcomer gets them."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    )
    for name in listed.stdout.decode("utf-8").split("\0"):
        source = REPO / name
        if not name or not source.is_file():  # deleted in the working tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _python_for_make() -> dict[str, str]:
    """``PYTHON=...`` only when ``python3`` on PATH is too old (as the Makefile advises)."""
    python3 = shutil.which("python3")
    if python3 is not None:
        check = subprocess.run(
            [python3, "-c", "import sys; sys.exit(sys.version_info < (3, 11))"],
            capture_output=True,
            timeout=60,
        )
        if check.returncode == 0:
            return {}
    return {"PYTHON": sys.executable}


@pytest.mark.slow
def test_make_demo_in_a_fresh_copy(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git working tree")
    copy = tmp_path / "saftale"
    _copy_of_the_repository(copy)
    assert (copy / "examples" / "history.jsonl").is_file()
    assert not (copy / ".venv").exists()
    db = tmp_path / "demo.db"
    env = _env(SAFTALE_DB=f"sqlite:///{db}", **_python_for_make())
    command = [make, "demo", *(f"{k}={v}" for k, v in env.items() if k == "PYTHON")]
    n = len(_lines())

    first = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    assert (copy / ".venv" / "bin" / "python").exists()
    assert f"{n} facts recorded, 0 already there" in first.stdout
    for subject, title in _initiated():
        assert f"{subject}: {title}" in first.stdout
    assert db.is_file()
    assert "== Views as of " in first.stdout
    assert "awaits regionsraad" in first.stdout
    assert not (copy / "saftale.db").exists()

    again = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert f"0 facts recorded, {n} already there" in again.stdout
    assert "pip install" not in again.stdout  # the venv is reused
    shutil.rmtree(copy / ".venv", ignore_errors=True)
