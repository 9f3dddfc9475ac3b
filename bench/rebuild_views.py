"""Benchmark: rebuilding the views from N facts on SQLite.

    .venv/bin/python bench/rebuild_views.py [--facts 100000] [--batch 1000]

Records N facts of whole cooperation agreements into an SQLite store (one
transaction per 10,000), then measures in the same run:

* the baseline: reading and decoding every fact with the store alone
  (``Saftale.read``, i.e. eventsourcing's recorder and our mapper), and
* rebuilding every shipped view into an SQLite views file,

and prints facts per second for each, their ratio, and the peak memory of each
phase (``tracemalloc``), so that a change is judged against the same machine on
the same day.  The target of the projections issue is 1,000,000 facts at
60,000 facts/s or more with peak memory under 300 MiB that does not grow with
the history; run with ``--facts 1000000`` to check it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support import agreement_path  # noqa: E402

from saftale_core import Saftale  # noqa: E402
from saftale_core.facts import Recorded, subject_id  # noqa: E402
from saftale_projections import ALL_VIEWS, Runner, SQLAlchemyBackend  # noqa: E402


def fill(app: Saftale, facts: int) -> int:
    """Record about ``facts`` facts (whole agreements), bypassing the rule checks."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    batch: list[Recorded] = []
    written = 0
    i = 0
    while written < facts:
        path = agreement_path(f"bench-{i}", implement_in=("klynge:aarhus", "klynge:midt"))
        i += 1
        for version, fact in enumerate(path, start=1):
            batch.append(
                Recorded(
                    originator_id=subject_id(fact.subject),
                    originator_version=version,
                    timestamp=now,
                    recorded_by="bench",
                    fact=fact,
                )
            )
        written += len(path)
        if len(batch) >= 10_000:
            app._save(batch)
            batch = []
    if batch:
        app._save(batch)
    return written


def measure(label: str, work: object) -> tuple[float, int, int]:
    tracemalloc.start()
    start = time.perf_counter()
    count = work()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rate = count / seconds if seconds else float("inf")
    print(
        f"{label:40} {count:>9} facts {seconds:8.2f} s {rate:10.0f} facts/s "
        f"peak {peak / 2**20:7.1f} MiB"
    )
    return rate, count, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Saftale.open(f"sqlite:///{tmp}/store.db", recorded_by="bench")
        start = time.perf_counter()
        n = fill(store, args.facts)
        print(f"recorded {n} facts in {time.perf_counter() - start:.1f} s")

        def read_all() -> int:
            count, position = 0, 0
            while True:
                items = store.read(after=position, limit=args.batch)
                if not items:
                    return count
                count += len(items)
                position = items[-1][0]

        base, _, _ = measure("baseline: read + decode (store alone)", read_all)
        backend = SQLAlchemyBackend(f"sqlite:///{tmp}/views.db")
        runner = Runner(store, backend, ALL_VIEWS(), batch_size=args.batch)
        views = len(runner.projections)
        rate, _, peak = measure(
            f"rebuild {views} views on SQLite", lambda: runner.rebuild() // views
        )
        print(
            f"ratio rebuild/baseline: {rate / base:.3f}  (target: 60,000 facts/s; "
            f"this run: {rate / 60_000:.2f} of it; peak {peak / 2**20:.0f} MiB of 300)"
        )
        backend.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
