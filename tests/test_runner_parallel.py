"""Rebuilding the views in several processes (the subjects shared out) gives the views a
clean build gives, moves every view to the store's position with its version, and
leaves no trace of the shares; a rebuild that fails half-way leaves the views marked,
so the next runner start resets and builds them again."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa

from saftale_core import StoreError
from saftale_projections import (
    ALL_VIEWS,
    AuditTrail,
    Batch,
    Changes,
    Projection,
    Runner,
    SQLAlchemyBackend,
    SubjectTimeline,
)
from saftale_projections.parallel import REBUILDING, rebuild_in_processes, share_of
from tests.test_runner import (
    PROJECTIONS,
    Env,
    Witness,
    assert_same_views,
    clean_build,
    dump,
    probe_days,
    record_in_chunks,
)
from tests.test_runner import shared_env as _shared_env

shared_env = _shared_env
"""The fixture of tests/test_runner.py: a store and views other processes can open."""


def _tracking(views: SQLAlchemyBackend) -> dict[str, tuple[int, int]]:
    t = views.tracking
    with views.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.projection, t.c.position, t.c.version)).all()
    return {name: (position, version) for name, position, version in rows}


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_views_rebuilt_in_processes_equal_a_clean_build(shared_env: Env, processes: int) -> None:
    store = shared_env.store()
    record_in_chunks(store, None, random.Random(21), chunks=3)
    views = shared_env.views()
    # views that were there before are dropped
    Runner(store, views, PROJECTIONS, batch_size=50).run_once()
    applied, shares = rebuild_in_processes(
        shared_env.store_url, shared_env.views_url, ALL_VIEWS, processes=processes, batch_size=7
    )
    facts = len(store.read(0, 10**9))
    assert applied == facts
    assert len(shares) == processes
    assert all(s.peak > 0 for s in shares)
    assert isinstance(views, SQLAlchemyBackend)
    last = store.position()
    assert _tracking(views) == {p.name: (last, p.version) for p in PROJECTIONS}
    assert Runner(store, views, ALL_VIEWS()).run_once() == 0  # nothing to reset or apply
    days = probe_days(store)
    assert_same_views(
        dump(views, PROJECTIONS, days), dump(clean_build(store, PROJECTIONS), PROJECTIONS, days)
    )


def test_every_subject_belongs_to_one_share(shared_env: Env) -> None:
    store = shared_env.store()
    record_in_chunks(store, None, random.Random(2), chunks=2, examples=False)
    ids = {rec.originator_id for _, rec in store.read(0, 10**9)}
    for shares in (1, 2, 3):
        assert all(0 <= share_of(i, shares) < shares for i in ids)
    assert len({share_of(i, 2) for i in ids}) == 2


class _FailingTimeline(SubjectTimeline):
    """The subject timeline, failing on one subject's facts (in whichever share has it)."""

    def apply(self, batch: Batch, changes: Changes, store: Any) -> None:
        if any(rec.fact.subject == "syn-a2" for _, rec in batch.items):
            raise RuntimeError("a view that fails on syn-a2")
        super().apply(batch, changes, store)


def _failing_views() -> list[Projection]:
    return [AuditTrail(), _FailingTimeline()]


def test_a_rebuild_that_fails_half_way_is_done_again_on_start(shared_env: Env) -> None:
    store = shared_env.store()
    record_in_chunks(store, None, random.Random(4), chunks=2, examples=False)
    with pytest.raises((RuntimeError, StoreError), match="syn-a2"):
        rebuild_in_processes(
            shared_env.store_url, shared_env.views_url, _failing_views, processes=2, batch_size=5
        )
    views = shared_env.views()
    assert isinstance(views, SQLAlchemyBackend)
    marked = _tracking(views)
    assert marked["audit"][1] == REBUILDING
    assert marked["subjects"][1] == REBUILDING
    projections: list[Projection] = [AuditTrail(), SubjectTimeline()]
    Runner(store, views, projections).run_once()
    days = probe_days(store)
    assert_same_views(
        dump(views, projections, days), dump(clean_build(store, projections), projections, days)
    )


def _witness_views() -> list[Projection]:
    return [AuditTrail(), Witness("parallel")]


def test_only_views_whose_rows_are_per_subject_are_rebuilt_in_processes(
    shared_env: Env,
) -> None:
    with pytest.raises(ValueError, match="witness"):
        rebuild_in_processes(shared_env.store_url, shared_env.views_url, _witness_views)
    with pytest.raises(ValueError, match="processes"):
        rebuild_in_processes(shared_env.store_url, shared_env.views_url, ALL_VIEWS, processes=0)
