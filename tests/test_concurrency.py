"""Two writers on the same subject at the same time: one wins, the other gets a
clear :class:`~saftale_core.ConcurrencyConflict` and can retry; nothing is lost
or written twice.

Every test here uses real, separate connections to one store: two
``Saftale.open(url)`` instances on the same SQLite file or the same PostgreSQL
database (and, at the end, several processes).  The races are made
deterministic by pausing a writer between reading the subject's history (which
every ``record`` does first) and writing: either one writer completes its whole
write inside the other's pause (``interleaved``), or both writers wait for each
other at a :class:`threading.Barrier` and then write at once (``at_once``).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from saftale_core import (
    AgreementInitiated,
    ApprovedByCouncil,
    ConcurrencyConflict,
    Fact,
    Receipt,
    Recorded,
    Registry,
    RuleViolation,
    Saftale,
    SaftaleError,
    StoreError,
    StoreMissing,
)
from saftale_core.store import parse_url, remove_empty_store
from tests import pg
from tests.conftest import new_store
from tests.support import Clock, agreement_path, until

SUBJECT = "rygestop"
KINDS = ("sqlite", "postgres")


# -- helpers -----------------------------------------------------------------------


@pytest.fixture(params=KINDS)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One store (an SQLite file or a PostgreSQL database) that several writers share."""
    url, cleanup = new_store(request.param, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def writers(shared_url: str) -> Iterator[tuple[Saftale, Saftale]]:
    """Two writers, each with its own connections, on the same store."""
    anna = Saftale.open(shared_url, recorded_by="anna", clock=Clock())
    bo = Saftale.open(shared_url, recorded_by="bo", clock=Clock())
    yield anna, bo
    anna.close()
    bo.close()


def council_stage(app: Saftale, subject: str = SUBJECT) -> list[Fact]:
    """Record an agreement up to (not including) the councils' decisions."""
    facts = until(agreement_path(subject), "ApprovedByCouncil")
    app.record_many(facts)
    return facts


def approval(council: str, subject: str = SUBJECT) -> ApprovedByCouncil:
    return ApprovedByCouncil(subject=subject, on="2019-12-02", by=council)


def initiation(subject: str, title: str = "Rygestop") -> AgreementInitiated:
    return AgreementInitiated(
        subject=subject,
        on="2019-03-12",
        by="SSG",
        title=title,
        origin="own_initiative",
        focus_areas=["forebyggelse"],
    )


def everything(app: Saftale) -> list[Recorded]:
    """Every fact in the store, read through a writer's own connection."""
    return list(app.all_records())


def pause_after_read(
    monkeypatch: pytest.MonkeyPatch, app: Saftale, during: Callable[[], object]
) -> None:
    """Make ``app``'s next read of a subject run ``during`` right after reading.

    ``record`` reads the subject's history, decides, then writes; whatever
    ``during`` does happens between that read and that write.  Only the first
    read pauses, so a retry reads the store as it is.
    """
    original = app.records
    paused: list[bool] = []

    def records(subject: str) -> list[Recorded]:
        result = original(subject)
        if not paused:
            paused.append(True)
            during()
        return result

    monkeypatch.setattr(app, "records", records)


Outcome = Receipt | SaftaleError


def at_once(monkeypatch: pytest.MonkeyPatch, jobs: list[tuple[Saftale, Fact]]) -> list[Outcome]:
    """Let every writer read the subject, wait until all have read it, then all write.

    Each writer runs in its own thread; returns each one's receipt or error.
    """
    barrier = threading.Barrier(len(jobs), timeout=30)
    for app, _ in jobs:
        pause_after_read(monkeypatch, app, barrier.wait)

    def run(job: tuple[Saftale, Fact]) -> Outcome:
        app, fact = job
        try:
            return app.record(fact)
        except SaftaleError as exc:
            return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def split(outcomes: list[Outcome]) -> tuple[list[Receipt], list[SaftaleError]]:
    won = [o for o in outcomes if isinstance(o, Receipt)]
    lost = [o for o in outcomes if not isinstance(o, Receipt)]
    return won, lost


# -- two writers, one subject ---------------------------------------------------------


def test_interleaved_writers_one_wins_the_other_conflicts_then_retries(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bo = writers
    before = council_stage(anna)
    anna_fact, bo_fact = approval("regionsraad"), approval("byraad:aarhus")
    # Bo reads the history; before Bo writes, Anna records (and commits) hers.
    pause_after_read(monkeypatch, bo, lambda: anna.record(anna_fact))

    with pytest.raises(ConcurrencyConflict) as caught:
        bo.record(bo_fact)

    assert caught.value.subject == SUBJECT
    assert SUBJECT in str(caught.value)
    assert "retry" in str(caught.value)
    # Anna's fact is there once; Bo's attempt left nothing behind.
    stored = bo.records(SUBJECT)
    assert [r.fact for r in stored] == [*before, anna_fact]
    assert stored[-1].recorded_by == "anna"
    assert len(everything(anna)) == len(before) + 1

    # Bo re-reads and retries: it is accepted after Anna's.
    receipt = bo.record(bo_fact)
    assert receipt.recorded.position == len(before) + 2
    assert [r.fact for r in anna.records(SUBJECT)] == [*before, anna_fact, bo_fact]
    assert [r.recorded_by for r in anna.records(SUBJECT)][-2:] == ["anna", "bo"]
    assert len(everything(bo)) == len(before) + 2


def test_interleaved_writers_same_council_retry_is_refused_council_twice(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bo = writers
    before = council_stage(anna)
    fact = approval("regionsraad")
    pause_after_read(monkeypatch, bo, lambda: anna.record(fact))

    with pytest.raises(ConcurrencyConflict, match=SUBJECT):
        bo.record(fact)
    # On retry Bo sees Anna's decision: the same council cannot decide twice.
    with pytest.raises(RuleViolation) as refused:
        bo.record(fact)

    assert refused.value.code == "council-twice"
    assert refused.value.subject == SUBJECT
    assert [r.fact for r in bo.records(SUBJECT)] == [*before, fact]
    assert len(everything(bo)) == len(before) + 1


@pytest.mark.parametrize("councils", [("regionsraad", "byraad:aarhus"), ("regionsraad",) * 2])
def test_writers_at_once_exactly_one_wins(
    writers: tuple[Saftale, Saftale],
    monkeypatch: pytest.MonkeyPatch,
    councils: tuple[str, str],
) -> None:
    anna, bo = writers
    before = council_stage(anna)
    facts = [approval(c) for c in councils]

    outcomes = at_once(monkeypatch, [(anna, facts[0]), (bo, facts[1])])

    won, lost = split(outcomes)
    assert len(won) == 1, outcomes
    assert len(lost) == 1, outcomes
    assert isinstance(lost[0], ConcurrencyConflict), repr(lost[0])
    assert lost[0].subject == SUBJECT
    assert SUBJECT in str(lost[0])
    winner = outcomes.index(won[0])
    loser_app, loser_fact = (anna, facts[0]) if winner == 1 else (bo, facts[1])
    stored = anna.records(SUBJECT)
    assert [r.fact for r in stored] == [*before, facts[winner]]
    assert stored[-1].recorded_by == ("anna", "bo")[winner]
    assert len(everything(bo)) == len(before) + 1

    # The loser re-reads and retries.
    if councils[0] != councils[1]:
        assert loser_app.record(loser_fact).recorded.position == len(before) + 2
        expected = len(before) + 2
    else:
        with pytest.raises(RuleViolation) as refused:
            loser_app.record(loser_fact)
        assert refused.value.code == "council-twice"
        expected = len(before) + 1
    assert len(anna.records(SUBJECT)) == expected
    assert len(everything(anna)) == expected
    assert sorted(r.fact.by for r in anna.records(SUBJECT)[len(before) :]) == sorted(set(councils))


def test_writers_initiating_the_same_subject_at_once(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bo = writers
    facts = [initiation("ny-aftale", "Anna's title"), initiation("ny-aftale", "Bo's title")]

    outcomes = at_once(monkeypatch, [(anna, facts[0]), (bo, facts[1])])

    won, lost = split(outcomes)
    assert len(won) == 1, outcomes
    assert len(lost) == 1, outcomes
    assert isinstance(lost[0], ConcurrencyConflict), repr(lost[0])
    assert lost[0].subject == "ny-aftale"
    winner = outcomes.index(won[0])
    assert [r.fact for r in anna.records("ny-aftale")] == [facts[winner]]
    assert anna.subjects() == [("ny-aftale", "AgreementInitiated")]

    # The loser's retry finds the subject taken.
    loser_app = bo if winner == 0 else anna
    with pytest.raises(RuleViolation) as refused:
        loser_app.record(facts[1 - winner])
    assert refused.value.code == "duplicate-subject"
    assert refused.value.subject == "ny-aftale"
    assert len(everything(loser_app)) == 1


def test_interleaved_initiation_conflicts_then_duplicate_subject(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bo = writers
    pause_after_read(monkeypatch, bo, lambda: anna.record(initiation("ny-aftale", "Anna's")))

    with pytest.raises(ConcurrencyConflict, match="ny-aftale"):
        bo.record(initiation("ny-aftale", "Bo's"))
    with pytest.raises(RuleViolation) as refused:
        bo.record(initiation("ny-aftale", "Bo's"))

    assert refused.value.code == "duplicate-subject"
    (only,) = everything(bo)
    assert isinstance(only.fact, AgreementInitiated)
    assert only.fact.title == "Anna's"
    assert only.recorded_by == "anna"


def test_a_conflicting_batch_records_nothing_at_all(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that loses a race on one subject leaves no trace on any other."""
    anna, bo = writers
    before = council_stage(anna)
    pause_after_read(monkeypatch, bo, lambda: anna.record(approval("regionsraad")))
    batch: list[Fact] = [approval("byraad:aarhus"), initiation("andet-emne")]

    with pytest.raises(ConcurrencyConflict) as caught:
        bo.record_many(batch)

    assert SUBJECT in str(caught.value)
    assert bo.records("andet-emne") == []
    assert len(everything(bo)) == len(before) + 1
    # The retry records the whole batch.
    receipts = bo.record_many(batch)
    assert [r.fact for r in receipts] == batch
    assert len(everything(anna)) == len(before) + 3


def test_writers_on_different_subjects_do_not_conflict(
    writers: tuple[Saftale, Saftale], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, bo = writers
    outcomes = at_once(monkeypatch, [(anna, initiation("emne-a")), (bo, initiation("emne-b"))])

    won, lost = split(outcomes)
    assert lost == []
    assert [r.recorded.position for r in won] == [1, 1]
    assert sorted(s for s, _ in anna.subjects()) == ["emne-a", "emne-b"]


# -- many processes ---------------------------------------------------------------------

PROCESSES = 4
OWN_SUBJECTS = 3


def _worker(
    url: str,
    index: int,
    councils: list[str],
    opening: Any,
    barrier: Any,
    results: Any,
) -> None:
    """One process: approve for some councils on the shared subject, and initiate
    subjects of its own; retry on every conflict.  Reports (accepted, conflicts).

    The processes open the store one at a time (see
    ``test_opening_one_store_at_once``), then all start writing together.
    """
    accepted = conflicts = 0
    try:
        with opening:
            app = Saftale.open(url, recorded_by=f"proc-{index}")
        facts: list[Fact] = []
        for i, council in enumerate(councils):
            facts.append(approval(council))
            if i < OWN_SUBJECTS:
                facts.append(initiation(f"emne-{index}-{i}"))
        barrier.wait()
        for fact in facts:
            for _ in range(200):
                try:
                    app.record(fact)
                except ConcurrencyConflict:
                    conflicts += 1
                    continue
                accepted += 1
                break
            else:
                raise AssertionError(f"{fact} never got through")
        app.close()
        results.put((index, accepted, conflicts, None))
    except BaseException as exc:
        results.put((index, accepted, conflicts, f"{type(exc).__name__}: {exc}"))


@pytest.mark.parametrize("kind", KINDS)
def test_many_processes_lose_nothing_and_write_nothing_twice(kind: str, tmp_path: Path) -> None:
    url, cleanup = new_store(kind, tmp_path)
    try:
        with Saftale.open(url, recorded_by="setup") as app:
            before = council_stage(app)
        councils = list(Registry.default().councils)
        shares = [councils[i::PROCESSES] for i in range(PROCESSES)]
        ctx = multiprocessing.get_context("spawn")
        opening = ctx.Lock()
        barrier = ctx.Barrier(PROCESSES, timeout=60)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(url, i, shares[i], opening, barrier, results))
            for i in range(PROCESSES)
        ]
        for p in procs:
            p.start()
        reports = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0

        errors = [r[3] for r in reports if r[3] is not None]
        assert errors == []
        accepted = sum(r[1] for r in reports)
        expected_own = sum(min(len(s), OWN_SUBJECTS) for s in shares)
        assert accepted == len(councils) + expected_own

        with Saftale.open(url, recorded_by="check") as app:
            stored = everything(app)
            # Everything accepted is stored, and only once.
            assert len(stored) == len(before) + accepted
            keys = [(r.originator_id, r.originator_version) for r in stored]
            assert len(set(keys)) == len(keys)
            shared = app.records(SUBJECT)
            assert [r.position for r in shared] == list(range(1, len(shared) + 1))
            decided = [r.fact.by for r in shared[len(before) :]]
            assert sorted(decided) == sorted(councils)
            assert app.agreement(SUBJECT).councils_approved == tuple(decided)
            own = sorted(s for s, _ in app.subjects() if s != SUBJECT)
            assert own == sorted(
                f"emne-{i}-{j}"
                for i, s in enumerate(shares)
                for j in range(min(len(s), OWN_SUBJECTS))
            )
            owner = {c: f"proc-{i}" for i, share in enumerate(shares) for c in share}
            assert all(r.recorded_by == owner[r.fact.by] for r in shared[len(before) :])
    finally:
        cleanup()


def _open_at_once(url: str, writers: int) -> list[str]:
    """Open the store from ``writers`` threads at the same instant; the errors."""
    barrier = threading.Barrier(writers, timeout=30)

    def open_and_close(_: int) -> str | None:
        barrier.wait()
        try:
            Saftale.open(url, recorded_by="x").close()
        except SaftaleError as exc:
            return str(exc)
        return None

    with ThreadPoolExecutor(writers) as pool:
        return [e for e in pool.map(open_and_close, range(writers)) if e is not None]


def test_opening_one_sqlite_store_at_once(tmp_path: Path) -> None:
    url, cleanup = new_store("sqlite", tmp_path)
    try:
        assert _open_at_once(url, 8) == []  # a new store: every opener creates the tables
        assert _open_at_once(url, 8) == []  # an existing one
    finally:
        cleanup()


def test_opening_many_new_sqlite_stores_at_once(tmp_path: Path) -> None:
    # The race (WAL switch and table creation in a deferred transaction) lost
    # about one new store in thirty before openers took turns.
    for n in range(60):
        url = f"sqlite:///{tmp_path / f'new-{n}.db'}"
        assert _open_at_once(url, 12) == [], n


def test_opening_one_postgres_store_at_once(tmp_path: Path) -> None:
    url, cleanup = new_store("postgres", tmp_path)
    try:
        Saftale.open(url).close()  # the tables exist
        errors = [e for _ in range(3) for e in _open_at_once(url, 8)]
        assert errors == []
    finally:
        cleanup()


# -- store errors are StoreError, never a driver's traceback ------------------------------


def _pg_url(db: str, query: str = "connect_timeout=1") -> str:
    return f"{pg.SERVER.rstrip('/')}/{db}?{query}"


def test_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/folder/saftale.db"
    with pytest.raises(StoreError, match="does not exist") as caught:
        Saftale.open(url)
    assert isinstance(caught.value, SaftaleError)
    assert not (tmp_path / "no").exists()


def test_sqlite_path_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(StoreError, match="adir"):
        Saftale.open(f"sqlite:///{tmp_path}/adir")


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database, just some text. " * 20)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Saftale.open(f"sqlite:///{junk}")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/saftale",
        "http://example.org/saftale",
        "sqlite://",
        "postgresql://postgres@127.0.0.1:5432/",
        "postgresql://postgres@127.0.0.1:notaport/saftale",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(StoreError):
        Saftale.open(url)


def test_empty_url_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SAFTALE_DB", raising=False)
    with pytest.raises(StoreError):
        Saftale.open("  ")  # refused, as it should be
    try:
        with pytest.raises(StoreError):
            Saftale.open("")
    finally:
        assert not (tmp_path / "saftale.db").exists(), "opened ./saftale.db instead"


def test_postgres_database_that_does_not_exist() -> None:
    pg.require()
    with pytest.raises(StoreError) as caught:
        Saftale.open(_pg_url("saftale_no_such_database_x1"))
    assert isinstance(caught.value, SaftaleError)
    assert "saftale_no_such_database_x1" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_postgres_database_that_does_not_exist_says_so() -> None:
    pg.require()
    with pytest.raises(StoreError, match="does not exist"):
        Saftale.open(_pg_url("saftale_no_such_database_x2"))


def test_postgres_bad_settings_in_url() -> None:
    pg.require()
    with pytest.raises(StoreError):
        Saftale.open(_pg_url("postgres", "connect_timeout=soon"))


_OTHER_PROCESS = """
import sys
from saftale_core import Saftale
from tests.support import agreement_path
with Saftale.open(sys.argv[1], recorded_by="other") as app:
    if sys.argv[2]:
        app.record(agreement_path(sys.argv[2])[0])
"""


def test_other_processes_opening_a_store_lose_no_write(tmp_path: Path) -> None:
    # Opening a store once closed a descriptor of the database file itself, which
    # dropped this process's SQLite locks: the next process to close checkpointed and
    # deleted the WAL under the live connection, and a committed write vanished.
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'store.db'}"
    root = Path(__file__).resolve().parents[1]

    def other(subject: str = "") -> None:
        subprocess.run([sys.executable, "-c", _OTHER_PROCESS, url, subject], check=True, cwd=root)

    with Saftale.open(url, recorded_by="a") as app:
        app.record(agreement_path("s1")[0])
        other()
        app.record(agreement_path("s2")[0])
        other("s3")
        app.record(agreement_path("s4")[0])
    with Saftale.open(url) as app:
        assert sorted(s for s, _ in app.subjects()) == ["s1", "s2", "s3", "s4"]
        assert app.verify().ok


# -- a store that must exist: opened to read, never created --------------------------------


def test_a_missing_sqlite_store_is_not_created_when_it_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(StoreMissing, match=r"typo\.db: no store there") as caught:
        Saftale.open(f"sqlite:///{path}", create=False)
    assert isinstance(caught.value, StoreError)
    assert list(tmp_path.iterdir()) == []  # no file, no lock file


def test_an_existing_sqlite_store_opens_when_it_must_exist(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Saftale.open(url) as app:
        app.record(agreement_path("a")[0])
    with Saftale.open(url, create=False) as app:
        assert app.position() > 0
        assert app.records("a")


def test_an_empty_sqlite_file_is_no_store_when_it_must_exist(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StoreMissing, match="holds no tables"):
        Saftale.open(f"sqlite:///{empty}", create=False)
    assert empty.stat().st_size == 0


def test_a_file_of_views_is_not_taken_for_a_store(tmp_path: Path) -> None:
    from saftale_projections.backends import open_backend

    views = tmp_path / "s-views.db"
    open_backend(f"sqlite:///{views}").close()
    before = views.read_bytes()
    with pytest.raises(StoreError, match=r"not a saftale store.*a file of views") as caught:
        Saftale.open(f"sqlite:///{views}", create=False)
    assert not isinstance(caught.value, StoreMissing)
    assert views.read_bytes() == before


def test_a_postgres_database_without_a_store_is_not_given_one(tmp_path: Path) -> None:
    url, cleanup = new_store("postgres", tmp_path)
    schema = parse_qs(urlsplit(url).query)["schema"][0]

    def tables() -> list[object]:
        db = urlsplit(url).path.lstrip("/")
        with psycopg.connect(pg.SERVER.rstrip("/") + "/" + db, autocommit=True) as conn:
            rows = conn.execute(
                "select tablename from pg_tables where schemaname = %s", (schema,)
            ).fetchall()
        return [r[0] for r in rows]

    try:
        with pytest.raises(StoreMissing, match="no saftale store there"):
            Saftale.open(url, create=False)
        assert tables() == []
        Saftale.open(url).close()  # import creates it
        assert tables() != []
        with Saftale.open(url, create=False) as app:
            assert app.position() == 0
    finally:
        cleanup()


# -- removing a store an import made and recorded nothing in -------------------------------

_HOLDER = """
import sys
from saftale_core import Saftale
with Saftale.open(sys.argv[1], recorded_by="holder") as app:
    app.position()
    print("open", flush=True)
    sys.stdin.readline()  # until the test says so
    app.record(__import__("tests.support").support.agreement_path("late")[0])
"""


def test_an_empty_store_no_one_has_open_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    url = f"sqlite:///{path}"
    Saftale.open(url).close()
    assert path.is_file() and (tmp_path / "new.db.open-lock").is_file()
    assert remove_empty_store(parse_url(url))
    assert list(tmp_path.iterdir()) == []
    assert not remove_empty_store(parse_url(url)), "nothing there to remove"


def test_a_store_with_facts_is_never_removed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Saftale.open(url) as app:
        app.record(agreement_path("a")[0])
    assert not remove_empty_store(parse_url(url))
    with Saftale.open(url, create=False) as app:  # still a store, in WAL mode again
        assert app.records("a")
        app.record(agreement_path("b")[0])
        assert app.verify().ok


def test_an_empty_store_another_process_has_open_is_left_to_it(tmp_path: Path) -> None:
    """Two imports into one new store at once: the one refused must not remove the
    store the other is about to record in (its write would go to a removed file)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    root = Path(__file__).resolve().parents[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        assert not remove_empty_store(parse_url(url)), "removed under an open store"
        with Saftale.open(url) as mine:  # and in this process, the same
            mine.position()
            assert not remove_empty_store(parse_url(url))
        assert holder.communicate("go\n", timeout=60)[0] == ""
        assert holder.returncode == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    with Saftale.open(url, create=False) as app:
        assert [s for s, _ in app.subjects()] == ["late"]
