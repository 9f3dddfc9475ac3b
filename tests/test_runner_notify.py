"""On PostgreSQL the runner follows the store by notification, not by polling.

A runner whose poll and safety intervals are far longer than these tests wait applies a
fact recorded by another ``Saftale`` or by another process within seconds: only the
store's notification can have woken it.  ``stop()`` ends it at once while it waits for
one, and its listening connection is closed then.  A listening connection terminated by
the server is made again, and the facts recorded meanwhile and afterwards are applied
exactly once (the views equal a clean build).  ``wait()`` is woken by the runner that
follows the store, on every kind of store.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import attrs
import psycopg
import pytest

from saftale_core import Saftale
from saftale_projections import Batch, Changes, MemoryBackend, Runner, ViewBackend
from saftale_projections._follow import APPLICATION_NAME
from tests import pg
from tests.support import agreement_path, task_path, until
from tests.test_runner import (
    KINDS,
    PROJECTIONS,
    Env,
    Witness,
    assert_same_views,
    clean_build,
    dump,
    fact_positions,
    probe_days,
    witnessed,
)

SPAWN = multiprocessing.get_context("spawn")
LONG = 600.0
"""Poll and safety intervals no test waits for: what happens sooner was notified."""
SOON = 15.0
"""How long a test waits for what a notification brings in milliseconds (a loaded
machine may be slow; the intervals are far longer)."""


# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def pg_env(tmp_path: Path) -> Iterator[Env]:
    pg.require()
    made = Env("postgres", tmp_path)
    yield made
    made.close()


def eventually(check: Callable[[], bool], within: float, what: str) -> float:
    """Wait until ``check()`` holds (looking every few milliseconds); the seconds it took."""
    started = time.monotonic()
    while not check():
        waited = time.monotonic() - started
        assert waited < within, f"{what}: not within {within} s"
        time.sleep(0.005)
    return time.monotonic() - started


def reached(views: ViewBackend, names: list[str], position: int) -> Callable[[], bool]:
    return lambda: all(views.position(name) >= position for name in names)


def asleep(runner: Runner) -> Callable[[], bool]:
    """Whether ``runner.run_forever`` sleeps until a wake-up call (none is pending)."""
    return lambda: runner._store_moved.waiting == 1


def _admin(env: Env) -> psycopg.Connection[tuple[Any, ...]]:
    db = urlsplit(env.store_url).path.lstrip("/")
    return psycopg.connect(pg.SERVER.rstrip("/") + "/" + db, autocommit=True)


def listeners(env: Env) -> list[int]:
    """The backends of the store's database that listen for a runner."""
    with _admin(env) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where datname = current_database() "
            "and application_name = %s and query like 'LISTEN %%'",
            (APPLICATION_NAME,),
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def one_listener(env: Env, other_than: int | None = None) -> int:
    """Wait until exactly one runner listens (not ``other_than``); its backend."""
    found: list[int] = []

    def check() -> bool:
        found[:] = listeners(env)
        return len(found) == 1 and found[0] != other_than

    eventually(check, SOON, "a runner listening on the store's channel")
    return found[0]


class Following:
    """``runner.run_forever(...)`` in a thread, stopped on leaving; an error it raised
    is raised again."""

    def __init__(self, runner: Runner, **options: float) -> None:
        self.runner = runner
        self.errors: list[BaseException] = []
        # a daemon: a runner that ignores stop() fails its test, not the whole session
        self.thread = threading.Thread(target=self._run, kwargs=options, daemon=True)

    def _run(self, **options: float) -> None:
        try:
            self.runner.run_forever(**options)
        except BaseException as exc:  # raised again in the test
            self.errors.append(exc)

    def __enter__(self) -> Following:
        self.thread.start()
        return self

    def stop(self) -> float:
        """Stop the runner; the seconds until run_forever returned."""
        started = time.monotonic()
        self.runner.stop()
        self.thread.join(SOON)
        assert not self.thread.is_alive(), "run_forever did not return after stop()"
        return time.monotonic() - started

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.thread.is_alive():
            self.stop()
        if self.errors:
            raise self.errors[0]


def _record_in_another_process(url: str, subject: str, done: Any) -> None:
    store = Saftale.open(url, recorded_by="other process")
    try:
        store.record_many(until(agreement_path(subject), "ClusterOffered"))
        done.put(store.last_position)
    finally:
        store.close()


# -- the store's channel -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_only_a_store_on_postgresql_announces_its_writes(kind: str, tmp_path: Path) -> None:
    if kind == "postgres":
        pg.require()
    made = Env(kind, tmp_path)
    try:
        channel = made.store().notification_channel
        # eventsourcing names the channel after the table of events
        assert channel == ("saftale_events" if kind == "postgres" else None)
    finally:
        made.close()


def test_run_forever_refuses_intervals_that_are_not_above_zero() -> None:
    store = Saftale.open(":memory:", recorded_by="test")
    runner = Runner(store, MemoryBackend(), PROJECTIONS)
    for options in ({"poll_interval": 0.0}, {"safety_interval": -1.0}):
        with pytest.raises(ValueError, match="must be above 0"):
            runner.run_forever(**options)
    assert not runner._started, "nothing was done"


# -- woken by notification ----------------------------------------------------------------


def test_a_runner_on_postgresql_applies_what_others_record_when_told(pg_env: Env) -> None:
    writer = pg_env.store()
    facts = until(agreement_path("told"), "DraftCoordinated")
    writer.record(facts[0])
    views = pg_env.views()
    names = [p.name for p in PROJECTIONS]
    runner = Runner(pg_env.store(), pg_env.views(), PROJECTIONS)
    with Following(runner, poll_interval=LONG, safety_interval=LONG):
        one_listener(pg_env)
        eventually(reached(views, names, writer.last_position), SOON, "the first catch-up")
        # another Saftale of this process records while the runner sleeps (for LONG,
        # unless told)
        for fact in facts[1:]:
            eventually(asleep(runner), SOON, "the runner asleep")
            writer.record(fact)
            eventually(reached(views, names, writer.last_position), SOON, f"{fact.TYPE} applied")
        # another process records
        eventually(asleep(runner), SOON, "the runner asleep")
        done = SPAWN.Queue()
        child = SPAWN.Process(target=_record_in_another_process, args=(pg_env.store_url, "p", done))
        child.start()
        position = done.get(timeout=120)
        child.join(30)
        assert child.exitcode == 0
        eventually(reached(views, names, position), SOON, "the other process's facts applied")
    assert listeners(pg_env) == [], "the listening connection was left open"
    days = probe_days(writer)
    assert_same_views(
        dump(views, PROJECTIONS, days), dump(clean_build(writer, PROJECTIONS), PROJECTIONS, days)
    )


def test_stop_ends_a_runner_waiting_to_be_told_at_once(pg_env: Env) -> None:
    store = pg_env.store()
    store.record(agreement_path("stop")[0])
    views = pg_env.views()
    runner = Runner(store, views, PROJECTIONS)
    with Following(runner, poll_interval=LONG, safety_interval=LONG) as following:
        one_listener(pg_env)
        names = [p.name for p in PROJECTIONS]
        eventually(reached(views, names, store.last_position), SOON, "the catch-up")
        took = following.stop()
    assert took < 5, f"run_forever took {took:.1f} s to return after stop()"
    eventually(lambda: listeners(pg_env) == [], 5, "the listening connection closed")


class Gate:
    """Holds the runner's attempts to connect its listening connection while closed (other
    connections pass); says when one was made."""

    def __init__(self, connect: Callable[..., Any]) -> None:
        self.connect = connect
        self.opened = threading.Event()
        self.opened.set()
        self.tried = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("application_name") == APPLICATION_NAME:
            self.tried.set()
            self.opened.wait(SOON)
        return self.connect(*args, **kwargs)


def test_a_terminated_listener_is_replaced_and_no_fact_is_missed_or_doubled(
    pg_env: Env, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate(psycopg.connect)
    monkeypatch.setattr(psycopg, "connect", gate)
    writer = pg_env.store()
    facts = task_path("kill")
    writer.record_many(facts[:2])
    views = pg_env.views()
    names = [p.name for p in PROJECTIONS] + ["witness"]
    runner = Runner(pg_env.store(), pg_env.views(), [*PROJECTIONS, Witness("listening")])
    caplog.set_level(logging.WARNING, logger="saftale_projections.runner")
    with Following(runner, poll_interval=LONG, safety_interval=LONG):
        pid = one_listener(pg_env)
        eventually(reached(views, names, writer.last_position), SOON, "the first catch-up")

        # A fact recorded while nobody listens is announced to nobody: the runner looks
        # at the store when it listens again.
        gate.opened.clear()
        gate.tried.clear()
        with _admin(pg_env) as admin:
            admin.execute("select pg_terminate_backend(%s)", (pid,))
        assert gate.tried.wait(SOON), "the lost connection was not noticed"
        # the look at the store that noticing the loss gives is over: the runner sleeps,
        # and nothing but a call from its listener wakes it before LONG
        eventually(asleep(runner), SOON, "the runner asleep")
        writer.record(facts[2])
        gate.opened.set()
        pid = one_listener(pg_env, other_than=pid)
        eventually(reached(views, names, writer.last_position), SOON, "applied on listening")
        eventually(asleep(runner), SOON, "the runner asleep")
        writer.record(facts[3])
        eventually(reached(views, names, writer.last_position), SOON, "applied when told")

        # Killed again, and a fact recorded at once (while it connects, or once it listens)
        for fact in facts[4:6]:
            with _admin(pg_env) as admin:
                admin.execute("select pg_terminate_backend(%s)", (pid,))
            writer.record(fact)
            eventually(reached(views, names, writer.last_position), SOON, "applied after a kill")
            pid = one_listener(pg_env, other_than=pid)
    assert "lost the connection listening on saftale_events" in caplog.text
    assert listeners(pg_env) == []
    positions = fact_positions(writer)
    applied_by = witnessed(views)
    assert applied_by == {pos: ["listening"] for pos in positions}, "a fact applied twice"
    days = probe_days(writer)
    assert_same_views(
        dump(views, PROJECTIONS, days), dump(clean_build(writer, PROJECTIONS), PROJECTIONS, days)
    )


# -- read-your-writes -------------------------------------------------------------------


@attrs.frozen
class Slow(Witness):
    """A witness that takes a while over each batch, so that a writer asks for its write
    before the views have it."""

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        time.sleep(0.2)
        super().apply(batch, changes, store)


@pytest.mark.parametrize("kind", KINDS)
def test_wait_is_woken_by_the_runner_that_follows_the_store(kind: str, tmp_path: Path) -> None:
    if kind == "postgres":
        pg.require()
    made = Env(kind, tmp_path)
    try:
        writer = made.store()
        runner = Runner(made.store(), made.views(), [*PROJECTIONS, Slow("slow")])
        # without notification (SQLite, memory) the runner polls often; wait() never
        # polls within the time given it
        poll = LONG if kind == "postgres" else 0.01
        with Following(runner, poll_interval=poll, safety_interval=LONG):
            for fact in until(agreement_path("ryw"), "DraftCoordinated"):
                writer.record(fact)
                started = time.monotonic()
                runner.wait(writer.last_position, timeout=SOON, poll=LONG)
                assert time.monotonic() - started < SOON
        assert witnessed(made.views())[writer.last_position] == ["slow"]
    finally:
        made.close()
