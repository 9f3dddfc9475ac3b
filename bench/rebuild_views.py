"""Benchmark: rebuilding the views from N facts on SQLite.

    .venv/bin/python bench/rebuild_views.py [--facts 100000] [--batch 5000]
                                            [--interleave 100] [--cache DIR]
                                            [--processes 2]

Makes (once per size, kept in ``--cache``, default ``$TMPDIR/saftale-bench``) an SQLite
store of about N facts: whole cooperation agreements, ``--interleave`` of them under
way at a time (their facts alternate in the store, as they do when many subjects move
at once), recorded 10,000 facts per write.  Then measures in the same run, each phase
in a fresh process of its own:

* the baseline: reading and decoding every fact with the store alone
  (``Saftale.read``: eventsourcing's SQLite recorder and our mapper), batch by batch,
* rebuilding every shipped view (``ALL_VIEWS``) into a new SQLite views file, with the
  subjects shared out over ``--processes`` processes
  (:func:`saftale_projections.parallel.rebuild_in_processes`; ``--processes 1``:
  ``Runner.rebuild`` in one process),

* the write floor: inserting the rows the rebuild left in its views file, already
  built, with Python's ``sqlite3`` alone into a new file of the same schema, indexes and
  settings (WAL, ``synchronous=NORMAL``), a transaction per batch's share of them.  Only
  the inserts are timed.  The rebuild also rewrites rows it later closes, so this is a
  lower bound on what writing the views costs, whatever the Python work before it;
* the least write: the same, into tables with their keys and no other index, with no
  journal and no syncing (what a rebuild could get away with at most), also without the
  inbox's rows; and from it, what a rebuild at the target's rate on two cores, reading
  as the baseline does, would leave per fact for the rules and the rows' Python;

and prints facts per second for each, their ratio, and the peak memory of each phase:
the peak resident set size of its process (``resource.getrusage(...).ru_maxrss``,
everything the process holds: interpreter, libraries, SQLite's page cache; for a
rebuild in several processes, the sum of every process's peak), with the resident size
sampled at each quarter of the rebuild to show whether it grows with the history.
The target of the projections issue is 1,000,000 facts at 60,000 facts/s or more, with
peak memory under 300 MiB that does not grow with the history; run with
``--facts 1000000`` to check it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support import agreement_path  # noqa: E402

from saftale_core import Saftale  # noqa: E402
from saftale_core.facts import Fact, Recorded, subject_id  # noqa: E402
from saftale_projections import ALL_VIEWS, Runner, SQLAlchemyBackend  # noqa: E402
from saftale_projections.parallel import rebuild_in_processes  # noqa: E402

MiB = 2**20
TARGET = 60_000


def _histories(facts: int, interleave: int) -> Any:
    """Facts of whole agreements (about ``facts`` in all), ``interleave`` under way at a
    time: yields ``(fact, version)`` in store order."""
    open_: list[tuple[list[Fact], int]] = []
    made = written = 0
    while written < facts or open_:
        while len(open_) < interleave and written < facts:
            path = agreement_path(f"bench-{made}", implement_in=("klynge:aarhus", "klynge:midt"))
            made += 1
            written += len(path)
            open_.append((path, 0))
        still = []
        for path, done in open_:
            yield path[done], done + 1
            if done + 1 < len(path):
                still.append((path, done + 1))
        open_ = still


def fill(app: Saftale, facts: int, interleave: int) -> int:
    """Record about ``facts`` valid facts, 10,000 per write.  The histories are valid by
    construction (tests/support.py), so they are written without checking each fact
    against the rules again (which is not what is measured here)."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    batch: list[Recorded] = []
    written = 0
    for fact, version in _histories(facts, interleave):
        batch.append(
            Recorded(
                originator_id=subject_id(fact.subject),
                originator_version=version,
                timestamp=now,
                recorded_by="bench",
                fact=fact,
            )
        )
        written += 1
        if len(batch) >= 10_000:
            app._save(batch)
            batch = []
    if batch:
        app._save(batch)
    return written


def store_for(cache: Path, facts: int, interleave: int) -> tuple[str, int]:
    """The URL of a store of about ``facts`` facts, made once and kept in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"store-{facts}-{interleave}.db"
    done = path.with_suffix(".count")
    if not done.exists():
        for old in cache.glob(path.name + "*"):
            old.unlink()
        start = time.perf_counter()
        with Saftale.open(f"sqlite:///{path}", recorded_by="bench") as app:
            count = fill(app, facts, interleave)
        done.write_text(str(count))
        print(f"recorded {count} facts in {time.perf_counter() - start:.1f} s into {path}")
    else:
        print(f"using {path}")
    return f"sqlite:///{path}", int(done.read_text())


def _rss() -> int:
    """The process's resident set size now (bytes)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak() -> int:
    """The process's peak resident set size so far (bytes; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _baseline(store_url: str, batch: int) -> dict[str, Any]:
    store = Saftale.open(store_url, recorded_by="bench")
    start_rss = _rss()
    start = time.perf_counter()
    count, position = 0, 0
    while True:
        items = store.read(after=position, limit=batch)
        if not items:
            break
        count += len(items)
        position = items[-1][0]
    seconds = time.perf_counter() - start
    store.close()
    return {"count": count, "seconds": seconds, "start_rss": start_rss, "peak": _peak()}


def _rebuild(store_url: str, views_url: str, batch: int, processes: int) -> dict[str, Any]:
    if processes > 1:
        return _rebuild_in_processes(store_url, views_url, batch, processes)
    store = Saftale.open(store_url, recorded_by="bench")
    backend = SQLAlchemyBackend(views_url)
    runner = Runner(store, backend, ALL_VIEWS(), batch_size=batch)
    last = store.position()
    samples: list[tuple[float, int]] = []
    marks = [last * q / 4 for q in (1, 2, 3)]

    def progress(name: str, position: int, _: int) -> None:
        if marks and position >= marks[0] and name == runner.projections[-1].name:
            marks.pop(0)
            samples.append((position / last, _rss()))

    start_rss = _rss()
    start = time.perf_counter()
    applied = runner.rebuild(progress)
    seconds = time.perf_counter() - start
    samples.append((1.0, _rss()))
    backend.close()
    store.close()
    return {
        "count": applied // len(runner.projections),
        "views": len(runner.projections),
        "processes": 1,
        "seconds": seconds,
        "start_rss": start_rss,
        "peak": _peak(),
        "samples": samples,
    }


def _rebuild_in_processes(
    store_url: str, views_url: str, batch: int, processes: int
) -> dict[str, Any]:
    """The rebuild with the subjects shared out over ``processes`` processes (this one
    and spawned ones, see :mod:`saftale_projections.parallel`).  Memory is the sum over
    the processes: each one's peak resident set size, and each quarter's samples."""
    start_rss = _rss()
    start = time.perf_counter()
    applied, shares = rebuild_in_processes(
        store_url, views_url, ALL_VIEWS, processes=processes, batch_size=batch
    )
    seconds = time.perf_counter() - start
    peaks = [_peak(), *(s.peak for s in shares[1:])]
    samples = [
        (quarter[0][0], sum(rss for _, rss in quarter))
        for quarter in zip(*(s.samples for s in shares), strict=False)
    ]
    return {
        "count": applied,
        "views": len(ALL_VIEWS()),
        "processes": processes,
        "seconds": seconds,
        "start_rss": start_rss,
        "peak": sum(peaks),
        "peaks": peaks,
        "samples": samples,
    }


def _write_floor(
    views: str, target: str, facts: int, batch: int, least: bool = False
) -> dict[str, Any]:
    """Insert the rows of the views file ``views`` into a new file ``target`` of the same
    schema with ``sqlite3`` alone, timing only the inserts and commits.  ``least``: the
    tables with their keys only (no secondary index), no journal and no syncing
    (``journal_mode=OFF``, ``synchronous=OFF``): the least SQLite can take to store
    these rows, whatever a rebuild risks for it."""
    source = sqlite3.connect(f"file:{views}?mode=ro", uri=True)
    schema = source.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index'"
    ).fetchall()
    tables = [name for kind, name, _ in schema if kind == "table"]
    total = sum(source.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    out = sqlite3.connect(target, isolation_level=None)
    out.execute("PRAGMA journal_mode=OFF" if least else "PRAGMA journal_mode=WAL")
    out.execute("PRAGMA synchronous=OFF" if least else "PRAGMA synchronous=NORMAL")
    for kind, _, sql in schema:
        if not (least and kind == "index"):
            out.execute(sql)
    per_commit = max(1, total * batch // max(facts, 1))  # a batch of facts' share of rows
    start_rss = _rss()
    seconds = 0.0
    by_table: dict[str, tuple[int, float]] = {}
    for table in tables:
        cursor = source.execute(f'SELECT * FROM "{table}"')
        marks = ", ".join("?" * len(cursor.description))
        insert = f'INSERT INTO "{table}" VALUES ({marks})'
        count, spent = 0, 0.0
        while rows := cursor.fetchmany(per_commit):
            start = time.perf_counter()
            out.execute("BEGIN")
            out.executemany(insert, rows)
            out.execute("COMMIT")
            spent += time.perf_counter() - start
            count += len(rows)
        by_table[table] = (count, spent)
        seconds += spent
    out.close()
    source.close()
    return {
        "count": facts,
        "rows": total,
        "by_table": by_table,
        "seconds": seconds,
        "start_rss": start_rss,
        "peak": _peak(),
    }


def _run_phase(target: Any, args: tuple[Any, ...], answer: Any) -> None:
    answer.put(target(*args))


def _in_process(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args)`` in a fresh (spawned) process, for a clean peak memory (not a
    pool's worker: a pool's workers may not start processes of their own)."""
    ctx = multiprocessing.get_context("spawn")
    answer = ctx.Queue()
    process = ctx.Process(target=_run_phase, args=(target, args, answer))
    process.start()
    result: dict[str, Any] = answer.get()
    process.join()
    return result


def _line(label: str, r: dict[str, Any]) -> float:
    rate = r["count"] / r["seconds"] if r["seconds"] else float("inf")
    print(
        f"{label:40} {r['count']:>9} facts {r['seconds']:8.2f} s {rate:10.0f} facts/s  "
        f"peak RSS {r['peak'] / MiB:6.1f} MiB (at start {r['start_rss'] / MiB:.1f})"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--interleave", type=int, default=100)
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="processes the rebuild shares the subjects over (1: Runner.rebuild alone)",
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "saftale-bench")
    args = parser.parse_args()
    store_url, count = store_for(args.cache, args.facts, args.interleave)
    print(
        f"{count} facts, {args.interleave} agreements under way at a time, "
        f"batches of {args.batch}; memory: peak resident set size (getrusage ru_maxrss) "
        "of each phase's own process"
    )
    base = _line(
        "baseline: read + decode (store alone)", _in_process(_baseline, store_url, args.batch)
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = _in_process(
            _rebuild, store_url, f"sqlite:///{tmp}/views.db", args.batch, args.processes
        )
        floor = _in_process(
            _write_floor, f"{tmp}/views.db", f"{tmp}/floor.db", result["count"], args.batch
        )
        least = _in_process(
            _write_floor, f"{tmp}/views.db", f"{tmp}/least.db", result["count"], args.batch, True
        )
    where = "" if result["processes"] == 1 else f", {result['processes']} processes"
    rate = _line(f"rebuild {result['views']} views on SQLite{where}", result)
    if result["processes"] > 1:
        print(
            "peak RSS above is the sum over the processes: "
            + " + ".join(f"{p / MiB:.1f}" for p in result["peaks"])
            + " MiB"
        )
    print(
        "resident size during the rebuild"
        + ("" if result["processes"] == 1 else " (summed over the processes)")
        + ": "
        + ", ".join(f"{q:.0%} {rss / MiB:.1f} MiB" for q, rss in result["samples"])
    )
    floor_rate = _line(f"write floor: {floor['rows']} rows, sqlite3 alone", floor)
    print(
        "  of which, per table (rows per fact, facts/s were it alone): "
        + ", ".join(
            f"{name.removeprefix('v_')} {rows / floor['count']:.2f} "
            f"{floor['count'] / spent if spent else float('inf'):,.0f}"
            for name, (rows, spent) in floor["by_table"].items()
            if name.startswith("v_")
        )
    )
    least_rate = _line("least write: no index, journal or sync", least)
    spent_without = sum(t for name, (_, t) in least["by_table"].items() if name != "v_awaiting")
    print(
        f"  the same rows without the inbox's (awaiting, a row per awaited body): "
        f"{least['count'] / spent_without if spent_without else float('inf'):,.0f} facts/s; "
        f"with the baseline's reading, on two cores side by side, a rebuild at "
        f"{TARGET:,} facts/s leaves "
        f"{max(0.0, 2 / TARGET - 1 / base - spent_without / least['count']) * 1e6:.1f} µs "
        f"of Python per fact for every rule and row (the write alone, with the inbox: "
        f"{1e6 / least_rate:.1f} µs)"
    )
    count, spent = floor["by_table"].get("v_audit", (0, 0.0))
    if spent:
        audit_rate = floor["count"] / spent
        print(
            f"the audit trail alone (one row per fact, which any design of it writes) "
            f"allows at most {audit_rate:,.0f} facts/s; with the baseline's reading, one after "
            f"the other, {1 / (1 / base + 1 / audit_rate):,.0f} facts/s"
        )
    both = 1 / (1 / base + 1 / floor_rate)
    print(
        f"reading and writing alone, one after the other, allow at most {both:,.0f} facts/s "
        f"in one process; the views' rows are {floor['rows'] / result['count']:.1f} per fact"
    )
    print(
        f"this rebuild took {result['processes'] * 1e6 / rate:.0f} µs of its processes' "
        f"time per fact ({result['processes']} × its wall time)"
    )
    print(
        f"ratio rebuild/baseline: {rate / base:.3f}  (target: {TARGET:,} facts/s; this run: "
        f"{rate / TARGET:.2f} of it; peak {result['peak'] / MiB:.0f} MiB of 300)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
