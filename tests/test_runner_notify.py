"""On PostgreSQL the runner follows the store by notification, not by polling."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import pg
from tests.test_runner import KINDS, Env

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
