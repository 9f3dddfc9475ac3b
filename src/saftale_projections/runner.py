"""The runner: follows the event store and keeps views current.

It reads facts after each projection's tracked position in batches, lets the
projection turn each batch into row changes, and writes the changes with the new
position in one transaction.  A runner killed mid-batch loses only the uncommitted
batch, which the next run applies again from the tracked position: no fact is
applied twice or skipped.  When a projection's
``version`` differs from the stored one, its view is rebuilt on start; a runner
already started that finds another version stored (a runner with newer code reset the
view) stops with :class:`~saftale_projections.VersionChanged` instead of writing.

A view is rebuilt on start, too, when it was built from another store: its position is
beyond the store's last fact, or (with a backend that keeps links,
:class:`~saftale_projections.LinkedBackend`) the store's hash-chain link at its
position is not the one it kept, e.g. when the store's file was replaced or made anew
while the views' file stayed.  :attr:`Runner.resets` says which views were reset, and
why.

Projections at the same position move together: a batch is read and decoded once
for all of them and, when the backend has ``write_many``, written for all of them in
one transaction.  Store positions have gaps (the ledger's seals are no facts); a view's
position is that of the last fact it applied.

A batch is written by a writer thread while the next batch is read (and, in a rebuild,
applied): a database working on a write lets the runner go on meanwhile.  Each write
is still a compare-and-set on the position the batch was read after.

:meth:`Runner.run_forever` follows a store on PostgreSQL by notification: the store
announces each write when it is committed, and the runner, listening on a connection of
its own, looks at the store then (and, should a notification go astray, at the latest
every ``safety_interval`` seconds).  A store that announces nothing (SQLite, in memory)
is looked at every ``poll_interval`` seconds.  Either way a look reads from the views'
tracked positions, so what is applied never depends on a notification arriving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import cast

import attrs

from saftale_core import Recorded, Saftale, SaftaleError
from saftale_projections._follow import Signal, listener_for
from saftale_projections.protocol import (
    Batch,
    Changes,
    LinkedBackend,
    Projection,
    StalePosition,
    ViewBackend,
    version_changed,
)

__all__ = ["ANALYZE_FROM", "Progress", "Runner", "ViewsBehind"]

Progress = Callable[[str, int, int], None]
"""``progress(projection, position, last)``, called after each batch."""


class ViewsBehind(SaftaleError, TimeoutError):
    """The views did not reach a position in time."""


_RECHECK = 1.0
"""Seconds: :meth:`Runner.wait`, woken by the runner that follows the store, still looks
at the views every ``poll`` seconds but not more often than this (should a wake-up call
go astray)."""


@attrs.frozen
class _Write:
    """A batch being written by the runner's writer thread."""

    future: Future[None]
    group: tuple[Projection, ...]
    batch: Batch


ANALYZE_FROM = 1_000
"""How many facts (store positions) views built by a runner's first look must hold for
their statistics to be gathered then.  Statistics of a few facts' rows can mislead
more than none (a body may have fewer rows than a subject there, and its index be
taken for a subject's trail), and they stay until the next rebuild; below this, the
database's own estimates serve, as before."""


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
        self._started = False
        self._unsure = False
        """Whether the next look ensures the views first (:meth:`run_once`): set when a
        look failed, since the views may have changed under the runner."""
        self._store_moved = Signal()
        """Woken when the store announces a write (and on :meth:`stop`)."""
        self._views_moved = Signal()
        """Woken when this runner has written a batch or looked at the store, and when it
        starts or stops following the store."""
        self._following = False
        """True while :meth:`run_forever` runs."""
        self.analyze_from = ANALYZE_FROM
        """The first :meth:`run_once` gathers statistics of the views it builds from their
        first fact when they then stand at this store position or later (see
        :data:`ANALYZE_FROM`)."""
        self.resets: dict[str, str] = {}
        """The views the last :meth:`start` reset (to build them again), and why."""
        store_link = getattr(store, "link", None)
        self._links: Callable[[int], str | None] | None = (
            store_link if callable(getattr(backend, "link", None)) else None
        )
        """The store's links, when the backend keeps them (else ``None``)."""

    def start(self) -> None:
        """Create the views' tables; reset every view whose version changed or that was
        built from another store (it is then built again from the first fact), as
        :attr:`resets` tells."""
        self.resets = {}
        for projection in self.projections:
            if self.backend.ensure(projection):
                reason: str | None = f"its code is now at version {projection.version}"
            else:
                reason = self._other_store(projection.name)
            if reason is not None:
                self.backend.reset(projection)
                self.resets[projection.name] = reason
        self._started = True
        self._unsure = False

    def _other_store(self, name: str) -> str | None:
        """Why the view ``name`` was built from another store than this runner's (``None``
        when nothing says so)."""
        position = self.backend.position(name)
        if position <= 0:
            return None
        last = self.store.position()
        if position > last:
            return (
                f"it was built from another store: it has applied facts up to position "
                f"{position} and this store ends at {last}"
            )
        if self._links is None:
            return None
        kept, at = self._kept_link(name, position)
        if at is None:  # another runner is writing it meanwhile: from this store
            return None
        position = at
        if kept is None:
            return "it does not say which store it was built from (made by an earlier saftale)"
        if self._links(position) != kept:
            return (
                f"it was built from another store: this store's fact at position {position} "
                "is not the one it applied there"
            )
        return None

    def _kept_link(self, name: str, position: int) -> tuple[str | None, int | None]:
        """The link kept with the view's position, and that position (``None`` when other
        runners kept moving it).

        Position and link are two reads: another runner writing between them would pair
        one position with a later position's link, and a whole view be reset for it."""
        linked = cast(LinkedBackend, self.backend)
        for _ in range(20):
            kept = linked.link(name)
            now = self.backend.position(name)
            if now == position:
                return kept, position
            position = now
        return None, None

    def run_once(self, progress: Progress | None = None) -> int:
        """Apply every fact recorded so far; returns how many facts were applied (counted
        once per projection).

        The first call starts the runner (:meth:`start`), which makes the views' tables
        and checks their versions; later calls read the views' positions and leave their
        tables be (on PostgreSQL, ensuring every view costs more than a look at an
        idle store).  Once started, a runner does not reset a view again: if a view's
        stored version has changed meanwhile (another runner, with other code, has
        reset it), the backend refuses the runner's next write with
        :class:`~saftale_projections.VersionChanged` and nothing is written, rather
        than the view be taken back to its own version.  A view another runner reset
        to the same version stands at position 0 and is built again from there.

        A view the first call builds from its first fact (new, or reset by
        :meth:`start`) then has its database's statistics gathered, as after
        :meth:`rebuild`, with a backend that has ``analyze``, once it holds enough
        facts to tell (:attr:`analyze_from`).

        After a call that failed (a write refused, the views' database gone or
        changed), the next call ensures the views again before it looks: it raises
        :class:`~saftale_projections.VersionChanged` again for a view of another
        version, and makes tables that went missing."""
        starting = not self._started
        if starting:
            self.start()
        elif self._unsure:
            for projection in self.projections:
                if self.backend.ensure(projection):
                    raise version_changed(projection, None)
            self._unsure = False
        analyze = getattr(self.backend, "analyze", None)
        new = (
            [p for p in self.projections if self.backend.position(p.name) == 0]
            if analyze is not None and starting
            else []
        )
        try:
            applied = self._catch_up(progress)
        except Exception:
            self._unsure = True
            raise
        if analyze is not None and not self._stopping.is_set():
            # a view built from its first fact here has statistics, as after a rebuild
            for projection in new:
                if self.backend.position(projection.name) >= self.analyze_from:
                    analyze(projection)
        return applied

    def _catch_up(
        self, progress: Progress | None, *, overlap: bool = False, until: int | None = None
    ) -> int:
        """Bring every projection up to the store's current position.

        Projections that stand at the same position (the usual case) move together: each
        batch is read and decoded once, every projection of the group turns it into row
        changes, and the backend writes them all with the new position in one
        transaction when it offers ``write_many`` (else one :meth:`ViewBackend.write`
        per projection).  A :class:`StalePosition` (another runner got there first)
        makes the runner read the positions again and go on from where the views are.

        With ``write_many``, a batch is written by a thread of its own while the next
        batch is read (a backend waiting on its database lets the runner read
        meanwhile) and, with ``overlap`` (a rebuild), also turned into row changes;
        without it, every batch before the one being applied is committed, so a runner
        stopped while applying loses only that batch.  Each write names the position
        its batch was read after, so a write whose predecessor was refused is refused
        too; the runner then drops what it read or computed on top of the refused
        batch, reads the positions again and goes on from there.  At most one write is
        under way, and every write is finished when this returns (or raises).

        ``until``: apply the facts up to this position only (default: the store's
        current position).
        """
        applied = 0
        last = self.store.position() if until is None else until
        positions = {p.name: self.backend.position(p.name) for p in self.projections}
        done: set[str] = set()
        write_many = getattr(self.backend, "write_many", None)
        pending: _Write | None = None
        writer: ThreadPoolExecutor | None = None
        try:
            while not self._stopping.is_set():
                behind = [
                    p for p in self.projections if positions[p.name] < last and p.name not in done
                ]
                if not behind:
                    if pending is None:
                        break
                    settled, pending = pending, None
                    applied += self._settle(settled, positions, progress, last)[0]
                    continue  # when it was refused, the views may still be behind
                after = min(positions[p.name] for p in behind)
                group = [p for p in behind if positions[p.name] == after]
                items = self._read(after, last)
                if until is not None:
                    items = [item for item in items if item[0] <= until]
                if not items:
                    # only rows that are not facts (seals) lie between here and ``last``
                    done.update(p.name for p in group)
                    continue
                batch = Batch(tuple(items))
                if pending is not None and not overlap:
                    settled, pending = pending, None
                    count, refused = self._settle(settled, positions, progress, last)
                    applied += count
                    if refused:
                        continue  # ``batch`` may follow the refused one
                work = self._changes(group, batch)
                if pending is not None:
                    settled, pending = pending, None
                    count, refused = self._settle(settled, positions, progress, last)
                    applied += count
                    if refused:
                        # ``work`` may follow the refused batch: go on from the views
                        continue
                linked = {} if self._links is None else {"link": self._links(batch.last)}
                if write_many is None:
                    written = self._write_each(work, batch.last, after, linked)
                    applied += self._moved(group, written, batch, positions, progress, last)
                    continue
                if writer is None:
                    writer = ThreadPoolExecutor(1, thread_name_prefix="saftale-views-writer")
                future = writer.submit(write_many, work, batch.last, after=after, **linked)
                pending = _Write(future, tuple(group), batch)
                for p in group:
                    positions[p.name] = batch.last  # if the write is refused: read again
            if pending is not None:  # stopped
                settled, pending = pending, None
                applied += self._settle(settled, positions, progress, last)[0]
        finally:
            if writer is not None:
                # a batch that failed to apply leaves the write before it to finish
                writer.shutdown(wait=True)
        return applied

    def _changes(
        self, group: Sequence[Projection], batch: Batch
    ) -> list[tuple[Projection, Changes]]:
        """Every projection of ``group``'s row changes for ``batch``."""
        work = []
        for projection in group:
            changes = Changes()
            projection.apply(batch, changes, self.store)
            work.append((projection, changes))
        return work

    def _settle(
        self,
        write: _Write,
        positions: dict[str, int],
        progress: Progress | None,
        last: int,
    ) -> tuple[int, bool]:
        """Wait for a write under way; the facts it applied (counted per projection) and
        whether it was refused (the positions are then read again)."""
        try:
            write.future.result()
        except StalePosition:
            for p in write.group:
                positions[p.name] = self.backend.position(p.name)
            return 0, True
        written = {p.name for p in write.group}
        return self._moved(write.group, written, write.batch, positions, progress, last), False

    def _moved(
        self,
        group: Sequence[Projection],
        written: set[str],
        batch: Batch,
        positions: dict[str, int],
        progress: Progress | None,
        last: int,
    ) -> int:
        """Record that the projections ``written`` moved past ``batch`` (the others of
        ``group`` were refused: their positions are read again); the facts applied."""
        applied = 0
        for p in group:
            if p.name in written:
                applied += len(batch.items)
                positions[p.name] = batch.last
                if progress is not None:
                    progress(p.name, batch.last, last)
            else:
                # Another runner applied this batch first: go on from where it is.
                positions[p.name] = self.backend.position(p.name)
        if written:
            self._views_moved.bump()
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

    def _write_each(
        self,
        work: Sequence[tuple[Projection, Changes]],
        position: int,
        after: int,
        linked: dict[str, str | None],
    ) -> set[str]:
        """Write each projection's changes on its own (a backend without ``write_many``);
        the names of those written (the others were refused with :class:`StalePosition`).
        ``linked``: ``{"link": ...}`` for a backend that keeps links, else empty."""
        written = set()
        for projection, changes in work:
            try:
                self.backend.write(projection, changes, position, after=after, **linked)
            except StalePosition:
                continue
            written.add(projection.name)
        return written

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every view and build it again from the first fact; then, with a backend
        that has ``analyze`` (see :mod:`saftale_projections.protocol`), gather the
        statistics its database chooses indexes by.

        A batch is written while the next one is read and applied, so a rebuild that is
        stopped may have committed one batch less than :meth:`run_once` would have (the
        views are consistent at every committed position either way)."""
        for projection in self.projections:
            self.backend.ensure(projection)
            self.backend.reset(projection)
        self._started = True
        self._unsure = False
        try:
            applied = self._catch_up(progress, overlap=True)
        except Exception:
            self._unsure = True
            raise
        analyze = getattr(self.backend, "analyze", None)
        if analyze is not None and not self._stopping.is_set():
            for projection in self.projections:
                analyze(projection)
        return applied

    def run_forever(self, poll_interval: float = 0.5, *, safety_interval: float = 10.0) -> None:
        """Keep applying new facts until :meth:`stop`.

        A store on PostgreSQL announces each write when it is committed (see
        :attr:`Saftale.notification_channel <saftale_core.Saftale.notification_channel>`):
        the runner listens on a connection of its own (``application_name`` ``saftale
        runner (listening)``) and looks at the store as soon as a write is announced, and
        at the latest every ``safety_interval`` seconds.  A store that announces nothing
        (SQLite, in memory) is looked at every ``poll_interval`` seconds, and so is a
        store on PostgreSQL while the listening connection is lost: it is made again
        (with growing pauses), and the runner then looks at once, since writes made
        meanwhile were announced to nobody.

        A notification only wakes the runner: it reads from the views' tracked
        positions and writes rows and position in one transaction, as :meth:`run_once`
        does, so a notification missed or doubled loses or doubles nothing.  The
        listening connection is closed when this returns."""
        if poll_interval <= 0 or safety_interval <= 0:
            raise ValueError("poll_interval and safety_interval must be above 0 seconds")
        self._following = True
        self._views_moved.bump()  # waiters count on this runner from now on
        listener = None
        try:
            self.start()
            listener = listener_for(self.store, self._store_moved)
            if listener is not None:
                listener.start()
            while not self._stopping.is_set():
                seen = self._store_moved.count
                applied = self.run_once()
                # the views may have been moved by other runners too: waiters look again
                self._views_moved.bump()
                if applied:
                    continue
                listening = listener is not None and listener.listening
                self._store_moved.wait(seen, safety_interval if listening else poll_interval)
        finally:
            self._following = False
            if listener is not None:
                listener.close()
            self._views_moved.bump()  # waiters stop counting on this runner

    def stop(self) -> None:
        """Make :meth:`run_forever` return: at once while it waits to be told of a write,
        else when the batch under way is written."""
        self._stopping.set()
        self._store_moved.bump()

    def wait(self, position: int, timeout: float = 10.0, poll: float = 0.05) -> None:
        """Block until every view has applied the fact at ``position`` (read-your-writes:
        pass ``store.last_position`` after recording).

        While this runner follows the store (:meth:`run_forever` in another thread of
        this process), it wakes the waiters each time it has written a batch or looked
        at the store, and they look at the views then (otherwise only every ``poll``
        seconds, and not more often than once a second).  While it does not, nothing
        tells when the views move (a runner in another process writes them), and they
        are looked at every ``poll`` seconds.  Raises :class:`ViewsBehind` after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self._views_moved.count
            behind = [p.name for p in self.projections if self.backend.position(p.name) < position]
            if not behind:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ViewsBehind(
                    f"views {', '.join(behind)} did not reach position "
                    f"{position} within {timeout} s"
                )
            # woken, too, when this runner starts to follow the store
            interval = max(poll, _RECHECK) if self._following else poll
            self._views_moved.wait(seen, min(interval, remaining))
