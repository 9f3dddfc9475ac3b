"""The hash chain over stored facts (saftale_core.ledger) and Saftale.verify()."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from saftale_core import Saftale
from saftale_core.ledger import GENESIS, SEAL_TOPIC
from tests.support import agreement_path


def _fill(app: Saftale, subjects: int = 3) -> int:
    facts = 0
    for i in range(subjects):
        path = agreement_path(f"emne-{i}")
        half = len(path) // 2
        app.record_many(path[:half])  # two writes per subject: several seals
        app.record_many(path[half:])
        facts += len(path)
    return facts


def test_a_store_written_by_the_library_verifies(app: Saftale) -> None:
    assert app.verify().ok and app.verify().facts == 0 and app.verify().head == GENESIS
    facts = _fill(app)
    result = app.verify()
    assert result.problem is None
    assert result.facts == facts
    assert result.seals == 6
    assert result.head != GENESIS


def test_reads_skip_the_seals(app: Saftale) -> None:
    facts = _fill(app, 2)
    assert len(list(app.all_records())) == facts
    items = app.read(after=0, limit=10_000)
    assert len(items) == facts
    assert app.last_position == items[-1][0]


def _sqlite_app(tmp_path: Path) -> tuple[str, Saftale]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = Saftale.open(url, recorded_by="t")
    _fill(app)
    app.close()
    return str(tmp_path / "store.db"), app


def _verify(path: str) -> str:
    with Saftale.open(f"sqlite:///{path}") as app:
        problem = app.verify().problem
    return "" if problem is None else str(problem)


def test_verify_finds_an_altered_fact(tmp_path: Path) -> None:
    path, _ = _sqlite_app(tmp_path)
    db = sqlite3.connect(path)
    rowid, state = db.execute(
        "select rowid, state from stored_events where topic = 'ApprovedBySSG' limit 1"
    ).fetchone()
    data = json.loads(state)
    data["by"] = "SKU"
    db.execute("update stored_events set state = ? where rowid = ?", (json.dumps(data), rowid))
    db.commit()
    assert _verify(path).startswith(f"position {rowid}: altered:")


def test_verify_finds_a_removed_fact(tmp_path: Path) -> None:
    path, _ = _sqlite_app(tmp_path)
    db = sqlite3.connect(path)
    db.execute("delete from stored_events where rowid = 4")
    db.commit()
    assert _verify(path).startswith("position 5: removed:")


def test_verify_finds_the_last_fact_removed_by_its_seal(tmp_path: Path) -> None:
    path, _ = _sqlite_app(tmp_path)
    db = sqlite3.connect(path)
    (last,) = db.execute(
        "select max(rowid) from stored_events where topic != ?", (SEAL_TOPIC,)
    ).fetchone()
    db.execute("delete from stored_events where rowid = ?", (last,))
    db.commit()
    assert _verify(path).startswith(f"position {last + 1}: removed:")


def test_verify_finds_facts_swapped(tmp_path: Path) -> None:
    path, _ = _sqlite_app(tmp_path)
    db = sqlite3.connect(path)
    rows = db.execute(
        "select rowid, originator_id, originator_version, topic, state from stored_events "
        "where rowid in (6, 7) order by rowid"
    ).fetchall()
    db.execute("delete from stored_events where rowid in (6, 7)")
    for (rowid, *_), (_, *content) in zip(rows, reversed(rows), strict=True):
        db.execute(
            "insert into stored_events (rowid, originator_id, originator_version, topic, state) "
            "values (?, ?, ?, ?, ?)",
            (rowid, *content),
        )
    db.commit()
    assert _verify(path).startswith("position 6: moved:")


def test_verify_finds_a_fact_inserted_without_a_link(tmp_path: Path) -> None:
    path, _ = _sqlite_app(tmp_path)
    db = sqlite3.connect(path)
    oid, state = db.execute(
        "select originator_id, state from stored_events where rowid = 1"
    ).fetchone()
    data = json.loads(state)
    del data["chain"]
    db.execute(
        "insert into stored_events (originator_id, originator_version, topic, state) "
        "values (?, 99, 'AgreementWithdrawn', ?)",
        (oid, json.dumps({**data, "reason": "forged"})),
    )
    db.commit()
    (forged,) = db.execute("select max(rowid) from stored_events").fetchone()
    assert _verify(path).startswith(f"position {forged}: inserted:")


def test_writers_on_different_subjects_take_turns_on_the_chain(tmp_path: Path) -> None:
    # Every writer appends to one chain: a writer whose seal collides seals again and
    # retries, and none of them sees a conflict, since their subjects differ.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with Saftale.open(url, recorded_by=f"w{i}") as app:
                for fact in agreement_path(f"emne-{i}")[:6]:
                    app.record(fact)
        except BaseException as exc:  # reported below
            errors.append(exc)

    Saftale.open(url).close()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Saftale.open(url) as app:
        result = app.verify()
    assert result.problem is None and result.facts == 36 and result.seals == 36


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_an_import_is_one_write_with_one_seal(kind: str, tmp_path: Path) -> None:
    url = ":memory:" if kind == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    lines = Path(__file__).parent.parent / "examples" / "history.jsonl"
    with Saftale.open(url, recorded_by="t") as app:
        result = app.import_history(lines)
        check = app.verify()
        assert check.ok and check.facts == result.recorded and check.seals == 1
        assert app.last_position == result.recorded  # the seal comes after the facts
