"""Rebuilding views in several processes at once, each taking a share of the subjects.

Turning facts into rows is Python work, and one process uses one core.  The shipped
views derive every row from the facts of one subject (its audit trail, its timeline,
its deadlines), so the subjects can be shared out: each process reads the stored rows,
decodes only the facts of its own subjects (by their stored ids) and writes their rows,
with a position of its own (``<view>@<share>/<shares>`` in the tracking table) moved in
the same transaction as its rows, as the :class:`~.Runner` does.  SQLite lets one
process write at a time; the others compute meanwhile.

While the processes work, each view's own position stays 0 and its version is one no
projection has (:data:`REBUILDING`): a rebuild that stops half-way (a process killed,
an error) is found by the next :meth:`~.Runner.start`, which resets the view and
builds it again.  When every process has applied the facts up to the position the
rebuild began at, one transaction moves every view there, with its version, and forgets the shares'
positions.  Run no other runner on the same views meanwhile (a rebuild resets them
under it in any case).

The views' secondary indexes are dropped while the processes write and made again at
the end (one sort instead of an update per row), and the database then gathers the
statistics it chooses them by (:meth:`SQLAlchemyBackend.analyze
<saftale_projections.backends.sqlalchemy.SQLAlchemyBackend.analyze>`).

Only projections that say so (``per_subject = True``: every row comes from the facts
of one subject) can be rebuilt this way; the shipped views do.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import attrs
import sqlalchemy as sa

from saftale_core import Recorded, Registry, Saftale, StoreError
from saftale_projections.backends.sqlalchemy import SQLAlchemyBackend
from saftale_projections.protocol import Batch, Changes, Projection, Table
from saftale_projections.runner import Progress, Runner

__all__ = [
    "REBUILDING",
    "RebuildShare",
    "ShareResult",
    "ShareStore",
    "rebuild_in_processes",
    "share_of",
]

REBUILDING = -(2**31)
"""The version a view's tracking row holds while it is being rebuilt in shares."""


def share_of(subject_id: uuid.UUID, shares: int) -> int:
    """Which share (``0 .. shares - 1``) a subject belongs to, by its stored id."""
    return subject_id.int % shares


class ShareStore:
    """The store as one share sees it: :meth:`read` gives the facts of the share's
    subjects only, and decodes no other (everything else is the store's)."""

    def __init__(self, store: Saftale, index: int, shares: int) -> None:
        self._store = store
        self._index = index
        self._shares = shares

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Recorded]]:
        """The share's facts among the ``limit`` stored rows after ``after``."""
        index, shares = self._index, self._shares
        return self._store.read(
            after=after, limit=limit, only=lambda oid: share_of(oid, shares) == index
        )


@attrs.frozen
class RebuildShare:
    """One share of a projection: the facts of the subjects of share ``index`` (of
    ``shares``), tracked under a name of its own."""

    inner: Projection
    index: int
    shares: int

    @property
    def name(self) -> str:
        return f"{self.inner.name}@{self.index + 1}/{self.shares}"

    @property
    def version(self) -> int:
        return self.inner.version

    @property
    def tables(self) -> Sequence[Table]:
        return self.inner.tables

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        mine = tuple(
            item
            for item in batch.items
            if share_of(item[1].originator_id, self.shares) == self.index
        )
        if mine:
            self.inner.apply(Batch(mine), changes, store)


@attrs.frozen
class ShareResult:
    """What one process did: facts applied (per projection), its peak resident set size
    (bytes) and its resident size sampled at each quarter of the rebuild."""

    applied: int
    peak: int
    samples: tuple[tuple[float, int], ...]


def _rss() -> int:
    """The process's resident set size now (bytes; 0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _run_share(
    store: Saftale,
    backend: SQLAlchemyBackend,
    projections: Sequence[Projection],
    index: int,
    shares: int,
    batch_size: int,
    last: int,
    report: Progress | None = None,
) -> ShareResult:
    parts = [RebuildShare(p, index, shares) for p in projections]
    runner = Runner(
        cast(Saftale, ShareStore(store, index, shares)), backend, parts, batch_size=batch_size
    )
    runner.start()
    samples: list[tuple[float, int]] = []
    marks = [last * q / 4 for q in (1, 2, 3)]

    def progress(name: str, position: int, _: int) -> None:
        if marks and position >= marks[0] and name == parts[-1].name:
            marks.pop(0)
            samples.append((position / last, _rss()))
        if report is not None and name == parts[-1].name:
            report(parts[-1].inner.name, position, last)

    applied = runner._catch_up(progress, overlap=True, until=last)
    samples.append((1.0, _rss()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return ShareResult(applied // max(len(parts), 1), peak, tuple(samples))


def _share_process(
    store_url: str,
    views_url: str,
    make_projections: Callable[[], Sequence[Projection]],
    registry: Registry | None,
    index: int,
    shares: int,
    batch_size: int,
    last: int,
    answer: Any,
) -> None:
    """One share in a process of its own (spawned); puts ``(index, ShareResult)`` or
    ``(index, error text)`` on the ``answer`` queue."""
    try:
        store = Saftale.open(store_url, registry=registry, recorded_by="views")
        backend = SQLAlchemyBackend(views_url)
        try:
            projections = make_projections()
            result = _run_share(store, backend, projections, index, shares, batch_size, last)
        finally:
            backend.close()
            store.close()
    except BaseException as exc:
        answer.put((index, f"{type(exc).__name__}: {exc}"))
        raise
    answer.put((index, result))


def _set_tracking(
    backend: SQLAlchemyBackend,
    projections: Sequence[Projection],
    shares: int,
    position: int,
    version: Callable[[Projection], int],
    link: str | None = None,
) -> None:
    """In one transaction: each projection's tracking row to ``position``,
    ``version(projection)`` and the store's ``link`` there; every share's tracking row
    forgotten."""
    tracking = backend.tracking
    names = [RebuildShare(p, i, shares).name for p in projections for i in range(shares)]
    try:
        with backend.engine.begin() as conn:
            conn.execute(sa.delete(tracking).where(tracking.c.projection.in_(names)))
            for projection in projections:
                conn.execute(
                    sa.update(tracking)
                    .where(tracking.c.projection == projection.name)
                    .values(position=position, version=version(projection), link=link)
                )
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"views at {backend.display}: {exc}") from None


def _ddl(backend: SQLAlchemyBackend, statements: Sequence[sa.schema.ExecutableDDLElement]) -> None:
    """Run DDL statements in one transaction."""
    try:
        with backend.engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"views at {backend.display}: {exc}") from None


def _answers(answer: Any, children: Sequence[Any], shares: int) -> list[ShareResult]:
    """What each child did, as it tells; a child that fails (or dies without telling)
    fails the rebuild."""
    out: list[ShareResult] = []
    while len(out) < len(children):
        try:
            index, result = answer.get(timeout=1)
        except queue.Empty:
            dead = [c for c in children if c.exitcode not in (None, 0)]
            if dead and answer.empty():
                raise StoreError(
                    f"a rebuilding process ended with exit code {dead[0].exitcode}"
                ) from None
            continue
        if not isinstance(result, ShareResult):
            raise StoreError(f"rebuilding share {index + 1} of {shares}: {result}")
        out.append(result)
    return out


def rebuild_in_processes(
    store_url: str,
    views_url: str,
    make_projections: Callable[[], Sequence[Projection]],
    *,
    processes: int = 2,
    batch_size: int = 1000,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> tuple[int, list[ShareResult]]:
    """Drop the views ``make_projections()`` makes and build them again from the first
    fact, the subjects shared out over ``processes`` processes (this one and
    ``processes - 1`` spawned ones).  ``make_projections`` must be picklable (a
    module-level function such as :func:`~saftale_projections.ALL_VIEWS`).

    ``progress(view, position, last)`` follows this process's share (the others move
    at about the same pace).  Returns the facts applied (per projection) and what each
    process did."""
    if processes < 1:
        raise ValueError("processes must be at least 1")
    store = Saftale.open(store_url, registry=registry, recorded_by="views")
    backend = SQLAlchemyBackend(views_url)
    try:
        projections = list(make_projections())
        odd = [p.name for p in projections if not getattr(p, "per_subject", False)]
        if odd:
            raise ValueError(
                f"views {', '.join(odd)} do not say their rows are per subject "
                "(per_subject = True): rebuild them with Runner.rebuild"
            )
        for projection in projections:
            backend.ensure(projection)
            backend.reset(projection)
        _set_tracking(backend, projections, processes, 0, lambda p: REBUILDING)
        # the secondary indexes are made once the rows are in: faster than keeping them
        # up to date row by row (a failed rebuild is reset, tables and indexes anew)
        indexes = [i for p in projections for i in backend.indexes(p)]
        _ddl(backend, [sa.schema.DropIndex(i) for i in indexes])
        last = store.position()
        ctx = multiprocessing.get_context("spawn")
        answer = ctx.Queue()
        children = [
            ctx.Process(
                target=_share_process,
                args=(
                    store_url,
                    views_url,
                    make_projections,
                    registry,
                    index,
                    processes,
                    batch_size,
                    last,
                    answer,
                ),
                name=f"saftale-rebuild-{index + 1}",
            )
            for index in range(1, processes)
        ]
        finished = False
        try:
            for child in children:
                child.start()
            results = [
                _run_share(store, backend, projections, 0, processes, batch_size, last, progress)
            ]
            results += _answers(answer, children, processes)
            finished = True
        finally:
            for child in children:
                child.join(timeout=60 if finished else 0)
                if child.is_alive():
                    child.terminate()
                    child.join()
        _ddl(backend, [sa.schema.CreateIndex(i) for i in indexes])
        for projection in projections:  # the statistics the indexes are chosen by
            backend.analyze(projection)
        _set_tracking(backend, projections, processes, last, lambda p: p.version, store.link(last))
    finally:
        backend.close()
        store.close()
    return sum(r.applied for r in results), results
