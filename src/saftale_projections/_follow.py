"""Being told when the store may hold more (private to :mod:`saftale_projections.runner`).

A store on PostgreSQL announces every write: eventsourcing's recorder sends ``NOTIFY``
on the store's channel (:attr:`saftale_core.Saftale.notification_channel`) inside the
transaction that stores the facts, so the news arrives when they are committed.  A
:class:`Listener` keeps a connection of its own ``LISTEN``ing on that channel, in a
thread that sleeps in ``select`` until the server sends something, and turns each
notification into a wake-up call (:class:`Signal`).  A wake-up call carries nothing:
whoever wakes reads the store from its own position, so a notification lost or doubled
costs time, never a fact.

The connection is the listener's alone (not one of the store's pool, which readers and
writers need).  When it is lost (the server restarted, the backend was terminated, the
network went away: TCP keepalives find a silent peer) the listener says it is no longer
:attr:`~Listener.listening`, connects again with growing pauses, and once it listens
again gives a wake-up call, since writes made meanwhile were announced to nobody.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from saftale_core import Saftale

if TYPE_CHECKING:
    import psycopg

__all__ = ["APPLICATION_NAME", "Listener", "Signal", "listener_for"]

log = logging.getLogger("saftale_projections.runner")

APPLICATION_NAME = "saftale runner (listening)"
"""The listening connection's ``application_name``, as ``pg_stat_activity`` shows it."""

_FIRST_PAUSE = 0.05
_LAST_PAUSE = 5.0
"""Seconds between attempts to connect again: doubled from the first up to the last."""


class Signal:
    """A count of wake-up calls that threads wait to see move.

    Take :attr:`count`, look at what you wait for, then :meth:`wait` for the count to
    move from what you took: a call given between the look and the wait is not lost."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._count = 0
        self._waiting = 0

    @property
    def count(self) -> int:
        with self._changed:
            return self._count

    @property
    def waiting(self) -> int:
        """How many threads are blocked in :meth:`wait` (asleep until a call)."""
        with self._changed:
            return self._waiting

    def bump(self) -> None:
        """Wake every waiter."""
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Block until the count is no longer ``seen`` (then ``True``) or ``timeout``
        seconds have passed (``False``)."""
        with self._changed:
            if self._count != seen:
                return True
            self._waiting += 1
            try:
                return self._changed.wait_for(lambda: self._count != seen, timeout)
            finally:
                self._waiting -= 1


class Listener:
    """Gives ``wake`` a call whenever ``channel`` is notified on the connections that
    ``connect`` makes, and when it starts (or starts again) to listen.

    :meth:`start` starts its thread; :meth:`close` stops it and closes the connection.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channel: str,
        wake: Signal,
        *,
        close_timeout: float = 10.0,
    ) -> None:
        from psycopg import sql

        self._connect = connect
        self._statement = sql.SQL("LISTEN {}").format(sql.Identifier(channel))
        self.channel = channel
        self._wake = wake
        self._close_timeout = close_timeout
        self._closed = threading.Event()
        self._listening = False
        # Writing to one end wakes the thread from ``select`` at once.
        self._interrupt, self._interrupter = socket.socketpair()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        """Whether the ``LISTEN`` is in place: every write committed now will be told."""
        return self._listening

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the listener is started already")
        # A daemon: a listener left open never keeps the program from ending.
        self._thread = threading.Thread(target=self._run, name="saftale-runner-listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening and close the connection (waits for the thread, which may be
        connecting, up to ``close_timeout`` seconds)."""
        self._closed.set()
        thread = self._thread
        if thread is None:
            self._close_sockets()
            return
        with contextlib.suppress(OSError):  # the thread has ended and closed it
            self._interrupter.send(b"\0")
        thread.join(self._close_timeout)

    def _close_sockets(self) -> None:
        self._interrupt.close()
        self._interrupter.close()

    def _run(self) -> None:
        import psycopg

        pause = _FIRST_PAUSE
        failing = False
        try:
            while not self._closed.is_set():
                try:
                    conn = self._listen()
                except psycopg.Error as exc:
                    if not failing:
                        log.warning(
                            "cannot listen on %s (%s); looking at the store at the poll "
                            "interval until it can",
                            self.channel,
                            _reason(exc),
                        )
                        failing = True
                    if self._closed.wait(pause):
                        return
                    pause = min(2 * pause, _LAST_PAUSE)
                    continue
                if failing:
                    log.warning("listening on %s again", self.channel)
                    failing = False
                pause = _FIRST_PAUSE
                try:
                    self._listening = True
                    self._wake.bump()  # writes made while nobody listened were not told
                    self._follow(conn)
                except psycopg.Error as exc:
                    if not self._closed.is_set():
                        log.warning(
                            "lost the connection listening on %s (%s); connecting again",
                            self.channel,
                            _reason(exc),
                        )
                        failing = True
                finally:
                    self._listening = False
                    conn.close()
                    self._wake.bump()  # so that a follower looks at the store meanwhile
        finally:
            self._listening = False
            self._close_sockets()

    def _listen(self) -> psycopg.Connection[Any]:
        conn = self._connect()
        try:
            conn.execute(self._statement)
        except BaseException:
            conn.close()
            raise
        return conn

    def _follow(self, conn: psycopg.Connection[Any]) -> None:
        """Turn the notifications on ``conn`` into wake-up calls until :meth:`close`;
        raises ``psycopg.Error`` when the connection is lost."""
        with selectors.DefaultSelector() as selector:
            selector.register(conn.fileno(), selectors.EVENT_READ, "server")
            selector.register(self._interrupt, selectors.EVENT_READ, "close")
            # Notifications that came with the answer to LISTEN wait in psycopg, not on
            # the socket: take them first (the call given on listening covers them).
            for _ in conn.notifies(timeout=0):
                pass
            while not self._closed.is_set():
                ready = selector.select()
                if any(key.data == "close" for key, _ in ready):
                    return
                # What the server sent: notifications, or the end of the connection
                # (raised here, the first or the second time the socket is read).
                if any(True for _ in conn.notifies(timeout=0)):
                    self._wake.bump()


def listener_for(store: Saftale, wake: Signal) -> Listener | None:
    """A listener (not started) for the writes of ``store``; ``None`` when the store
    announces none (SQLite, in memory)."""
    channel = store.notification_channel
    if channel is None:
        return None
    import psycopg

    env = store.store.env
    timeout = int(env.get("POSTGRES_CONNECT_TIMEOUT") or 5)
    params: dict[str, Any] = {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": int(env["POSTGRES_PORT"]),
        "user": env["POSTGRES_USER"],
        "password": env.get("POSTGRES_PASSWORD") or None,
        "connect_timeout": timeout,
        "application_name": APPLICATION_NAME,
        # A peer gone silent (no FIN, no RST) is found within about half a minute.
        "keepalives": 1,
        "keepalives_idle": 15,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(autocommit=True, **params)

    return Listener(connect, channel, wake, close_timeout=timeout + 1.0)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
