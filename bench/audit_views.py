"""Benchmark: ``saftale audit`` over the views of N facts on SQLite.

    .venv/bin/python bench/audit_views.py [--facts 100000] [--interleave 100]
                                          [--cache DIR] [--runs 2]

Uses the store of ``bench/rebuild_views.py`` (made once per size and kept in
``--cache``, default ``$TMPDIR/saftale-bench``) and views built from it once
(``Runner.rebuild``, kept next to it).  Then measures, ``--runs`` times in the same run,
one after the other:

* the baseline: the audit trail's rows read with the backend's plain ``select``, in the
  pages and the order ``saftale audit`` reads them (100 rows a page, by decision day),
  and nothing else;
* ``saftale audit --format csv``, the command in a process of its own, its output
  thrown away: the same pages, each fact with the corrections that point at it, every
  row formatted and written;
* what the command costs whatever it prints: ``saftale audit --subject`` of a subject
  that has no facts (the process starting, the store and the views opened, the views
  found up to date).

and prints rows per second for the first two and their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from rebuild_views import store_for  # noqa: E402

from saftale_core import Saftale  # noqa: E402
from saftale_projections import ALL_VIEWS, Runner, SQLAlchemyBackend  # noqa: E402
from saftale_projections.views.audit import AUDIT  # noqa: E402

PAGE = 100
"""Rows per page, as ``saftale audit`` reads them (``saftale_projections.cli.PAGE``)."""


def views_for(store_url: str, cache: Path, facts: int, interleave: int) -> str:
    """The URL of views rebuilt from the store, made once and kept in ``cache``."""
    path = cache / f"views-{facts}-{interleave}.db"
    done = path.with_suffix(".done")
    url = f"sqlite:///{path}"
    if not done.exists():
        for old in cache.glob(path.name + "*"):
            old.unlink()
        start = time.perf_counter()
        store = Saftale.open(store_url, recorded_by="bench")
        backend = SQLAlchemyBackend(url)
        try:
            Runner(store, backend, ALL_VIEWS(), batch_size=5000).rebuild()
        finally:
            backend.close()
            store.close()
        done.write_text("")
        print(f"rebuilt the views in {time.perf_counter() - start:.1f} s into {path}")
    return url


def baseline(views_url: str) -> tuple[int, float]:
    """Every row of the audit trail, a page at a time, with the backend alone."""
    backend = SQLAlchemyBackend(views_url)
    try:
        start = time.perf_counter()
        count, after = 0, None
        while True:
            page = backend.select(
                AUDIT,
                date_column="on_start",
                order_by=("on_start", "subject", "position"),
                limit=PAGE,
                after=after,
            )
            count += len(page.rows)
            if page.next is None:
                return count, time.perf_counter() - start
            after = page.next
    finally:
        backend.close()


def command(store_url: str, views_url: str, *args: str) -> float:
    """Seconds ``saftale audit ARGS`` takes, its output thrown away."""
    code = "import sys; from saftale_projections.cli import main; sys.exit(main())"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, "--db", store_url, "--views", views_url, "audit", *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--interleave", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "saftale-bench")
    args = parser.parse_args()
    store_url, facts = store_for(args.cache, args.facts, args.interleave)
    views_url = views_for(store_url, args.cache, args.facts, args.interleave)
    print(f"{facts} facts; runs one after the other, baseline first")
    for run in range(1, args.runs + 1):
        rows, base = baseline(views_url)
        whole = command(store_url, views_url, "--format", "csv")
        fixed = command(store_url, views_url, "--subject", "no-such-subject", "--format", "csv")
        print(
            f"run {run}: {rows} rows; baseline (plain select) {base:6.2f} s "
            f"{rows / base:9.0f} rows/s; saftale audit {whole:6.2f} s {rows / whole:9.0f} rows/s "
            f"(of which {fixed:.2f} s whatever it prints); ratio audit/baseline "
            f"{base / whole:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
