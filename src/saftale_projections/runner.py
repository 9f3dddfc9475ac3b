"""The runner: follows the event store and keeps views current.

It reads facts after each projection's tracked position in batches (polling:
SQLite offers no subscription, and polling works the same on every store),
lets the projection turn each batch into row changes, and writes the changes
with the new position in one transaction.  A runner killed mid-batch loses
only the uncommitted batch, which the next run applies again from the tracked
position: no fact is applied twice or skipped.  When a projection's
``version`` differs from the stored one, its view is rebuilt on start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from saftale_core import Saftale, SaftaleError
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
        """Apply every fact recorded so far; returns how many facts were applied."""
        self.start()
        applied = 0
        for projection in self.projections:
            applied += self._catch_up(projection, progress)
        return applied

    def _catch_up(self, projection: Projection, progress: Progress | None) -> int:
        applied = 0
        last = self.store.position()
        position = self.backend.position(projection.name)
        while position < last and not self._stopping.is_set():
            items = self.store.read(after=position, limit=self.batch_size)
            if not items:
                break
            batch = Batch(tuple(items))
            changes = Changes()
            projection.apply(batch, changes, self.store)
            try:
                self.backend.write(projection, changes, batch.last, after=position)
            except StalePosition:
                # Another runner applied this batch first: continue from where it is.
                position = self.backend.position(projection.name)
                continue
            applied += len(items)
            position = batch.last
            if progress is not None:
                progress(projection.name, position, last)
        return applied

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every view and build it again from the first fact."""
        for projection in self.projections:
            self.backend.ensure(projection)
            self.backend.reset(projection)
        applied = 0
        for projection in self.projections:
            applied += self._catch_up(projection, progress)
        return applied

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
