"""The runner: follows the event store and keeps views current.

It reads facts after each projection's tracked position in batches (polling:
SQLite offers no subscription, and polling works the same on every store),
lets the projection turn each batch into row changes, and writes the changes
with the new position in one transaction.  A runner killed mid-batch loses
only the uncommitted batch, which the next run applies again from the tracked
position: no fact is applied twice or skipped.  When a projection's
``version`` differs from the stored one, its view is rebuilt on start.

Projections at the same position move together: a batch is read and decoded once
for all of them and, when the backend has ``write_many``, written for all of them in
one transaction.  Store positions have gaps (the ledger's seals are no facts); a view's
position is that of the last fact it applied.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from saftale_core import Recorded, Saftale, SaftaleError
from saftale_projections.protocol import Batch, Changes, Projection, StalePosition, ViewBackend

__all__ = ["Progress", "Runner", "ViewsBehind"]

Progress = Callable[[str, int, int], None]
"""``progress(projection, position, last)``, called after each batch."""


class ViewsBehind(SaftaleError, TimeoutError):
    """The views did not reach a position in time."""


class Runner:
    """Keeps ``projections`` in ``backend`` current with the facts of ``store``."""

    def __init__(
        self,
        store: Saftale,
        backend: ViewBackend,
        projections: Sequence[Projection],
        *,
        batch_size: int = 1000,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        names = [p.name for p in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must differ: {names}")
        self.store = store
        self.backend = backend
        self.projections = tuple(projections)
        self.batch_size = batch_size
        self._stopping = threading.Event()

    def start(self) -> None:
        """Create the views' tables; reset every view whose version changed (it is then
        built again from the first fact)."""
        for projection in self.projections:
            if self.backend.ensure(projection):
                self.backend.reset(projection)

    def run_once(self, progress: Progress | None = None) -> int:
        """Apply every fact recorded so far; returns how many facts were applied (counted
        once per projection)."""
        self.start()
        return self._catch_up(progress)

    def _catch_up(self, progress: Progress | None) -> int:
        """Bring every projection up to the store's current position.

        Projections that stand at the same position (the usual case) move together: each
        batch is read and decoded once, every projection of the group turns it into row
        changes, and the backend writes them all with the new position in one
        transaction when it offers ``write_many`` (else one :meth:`ViewBackend.write`
        per projection).  A :class:`StalePosition` (another runner got there first)
        makes the runner read the positions again and go on from where the views are.
        """
        applied = 0
        last = self.store.position()
        positions = {p.name: self.backend.position(p.name) for p in self.projections}
        done: set[str] = set()
        while not self._stopping.is_set():
            behind = [
                p for p in self.projections if positions[p.name] < last and p.name not in done
            ]
            if not behind:
                break
            after = min(positions[p.name] for p in behind)
            group = [p for p in behind if positions[p.name] == after]
            items = self._read(after, last)
            if not items:
                # only rows that are not facts (seals) lie between here and ``last``
                done.update(p.name for p in group)
                continue
            batch = Batch(tuple(items))
            written = self._apply(group, batch, after)
            for p in group:
                if p.name in written:
                    applied += len(items)
                    positions[p.name] = batch.last
                    if progress is not None:
                        progress(p.name, batch.last, last)
                else:
                    # Another runner applied this batch first: go on from where it is.
                    positions[p.name] = self.backend.position(p.name)
        return applied

    def _read(self, after: int, last: int) -> list[tuple[int, Recorded]]:
        """The next batch of facts after ``after``.  The store has rows that are not facts
        (the ledger's seals, which :meth:`Saftale.read` leaves out), so a window of
        ``batch_size`` rows may hold no fact: then a wider one is read, up to ``last``."""
        limit = self.batch_size
        while True:
            items = self.store.read(after=after, limit=limit)
            if items or after + limit >= last:
                return items
            limit *= 2

    def _apply(self, group: Sequence[Projection], batch: Batch, after: int) -> set[str]:
        """Apply a batch to a group of projections; the names of those written (the others
        were refused with :class:`StalePosition`)."""
        work = []
        for projection in group:
            changes = Changes()
            projection.apply(batch, changes, self.store)
            work.append((projection, changes))
        write_many = getattr(self.backend, "write_many", None)
        if write_many is not None:
            try:
                write_many(work, batch.last, after=after)
            except StalePosition:
                return set()
            return {p.name for p in group}
        written = set()
        for projection, changes in work:
            try:
                self.backend.write(projection, changes, batch.last, after=after)
            except StalePosition:
                continue
            written.add(projection.name)
        return written

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every view and build it again from the first fact."""
        for projection in self.projections:
            self.backend.ensure(projection)
            self.backend.reset(projection)
        return self._catch_up(progress)

    def run_forever(self, poll_interval: float = 0.5) -> None:
        """Keep applying new facts until :meth:`stop`."""
        self.start()
        while not self._stopping.is_set():
            if self.run_once() == 0:
                self._stopping.wait(poll_interval)

    def stop(self) -> None:
        self._stopping.set()

    def wait(self, position: int, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Block until every view has applied the fact at ``position`` (read-your-writes:
        pass ``store.last_position`` after recording)."""
        deadline = time.monotonic() + timeout
        while True:
            behind = [p.name for p in self.projections if self.backend.position(p.name) < position]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise ViewsBehind(
                    f"views {', '.join(behind)} did not reach position "
                    f"{position} within {timeout} s"
                )
            time.sleep(poll)
