"""Tamper evidence: every stored fact carries a link of a hash chain.

Each fact is stored with ``chain: [previous, own]`` in its state, where
``own = sha256(previous, the fact's type, subject id, version, canonical state)``
and ``previous`` is the ``own`` hash of the fact stored just before it (the
first fact follows :data:`GENESIS`).  Every write ends with a *seal* in a
ledger stream of its own (:data:`LEDGER_ID`): the chain's head after the write
and how many facts it sealed.  The ledger's optimistic version makes writers
take turns on the chain, so the chain follows the store's order.

:func:`verify` walks the store in order and reports the first fact that was
altered, removed, inserted or moved behind the library's back.  What it cannot
see: a whole last write removed together with its seal, or a chain rewritten
from the altered fact onwards by someone who knows this scheme.  Against those,
keep the head that :func:`verify` prints somewhere else and compare
(``saftale verify --expect HEAD``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any
from uuid import UUID

import attrs
import orjson

__all__ = [
    "GENESIS",
    "LEDGER_ID",
    "SEAL_TOPIC",
    "Problem",
    "Verification",
    "canonical",
    "link",
    "verify",
]

GENESIS = "0" * 64
"""The hash the first stored fact follows."""

LEDGER_ID = UUID("5af7a1e0-0000-0000-0000-000000000000")
"""The ledger stream's id (version nibble 0: never the id of a subject)."""

SEAL_TOPIC = "saftale:Sealed"
"""The stored type of a seal; never a fact type (those have no colon)."""


def canonical(state: dict[str, Any]) -> bytes:
    """A fact's stored state, without its chain link, as canonical JSON bytes."""
    return orjson.dumps(state, option=orjson.OPT_SORT_KEYS)


def link(previous: str, topic: str, originator_id: UUID, version: int, body: bytes) -> str:
    """The chain hash of one stored fact (hex SHA-256)."""
    h = hashlib.sha256(previous.encode("ascii"))
    h.update(topic.encode("utf-8"))
    h.update(b"\x00")
    h.update(originator_id.bytes)
    h.update(version.to_bytes(8, "big"))
    h.update(body)
    return h.hexdigest()


@attrs.frozen
class Problem:
    """The first place where the store is not what the library wrote."""

    position: int
    """The store position where the chain breaks."""
    kind: str
    """``altered``, ``removed``, ``inserted`` or ``moved``."""
    detail: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.kind}: {self.detail}"


@attrs.frozen
class Verification:
    """What :func:`verify` found."""

    facts: int
    """Stored facts checked."""
    seals: int
    head: str
    """The chain's head after the last fact (keep it to compare later)."""
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


_LOOK_AHEAD = 10_000  # rows searched for the fact that belongs where the chain breaks
_REMEMBER = 100_000  # hashes kept to tell "moved" from "removed" (bounded memory)


def _where(note: Any) -> str:
    return f"fact {note.originator_version} of subject id {note.originator_id} ({note.topic})"


def _follows_later(head: str, rows: Iterator[Any], decode: Any) -> bool:
    """True when one of the next rows links to ``head``: the fact that belongs
    here was stored further on (looks ahead a bounded number of rows)."""
    for note in itertools.islice(rows, _LOOK_AHEAD):
        if note.topic == SEAL_TOPIC:
            continue
        try:
            chain = decode(note.state).get("chain")
        except Exception:
            continue
        if isinstance(chain, list) and chain and chain[0] == head:
            return True
    return False


def verify(notifications: Iterable[Any], decode: Any = orjson.loads) -> Verification:
    """Check the chain over stored rows in store order (``Notification``-like objects).

    ``decode`` turns a row's state bytes into a dict (the store's transcoder).
    Stops at the first problem; its kind says what most likely happened:
    ``altered`` (a fact's content or place in its subject changed),
    ``removed`` (a fact before this one is gone), ``inserted`` (a fact the
    library did not write), ``moved`` (a fact stored where it was not written).
    """
    head = GENESIS
    facts = seals = since_seal = 0
    unsealed_from = 0
    # Recent hashes already passed: a fact linking to one of them was moved.
    seen: set[str] = set()
    recent: deque[str] = deque()
    rows = iter(notifications)
    for note in rows:
        oid = (
            note.originator_id if isinstance(note.originator_id, UUID) else UUID(note.originator_id)
        )
        try:
            state = decode(note.state)
        except Exception:
            return Verification(
                facts, seals, head, Problem(note.id, "altered", f"{_where(note)} is not JSON")
            )
        if not isinstance(state, dict):
            return Verification(
                facts, seals, head, Problem(note.id, "altered", f"{_where(note)} is not an object")
            )
        if note.topic == SEAL_TOPIC:
            seals += 1
            if state.get("head") != head or state.get("count") != since_seal:
                return Verification(
                    facts,
                    seals,
                    head,
                    Problem(
                        note.id,
                        "removed",
                        f"seal {note.originator_version} covers {state.get('count')} facts "
                        f"ending in {str(state.get('head'))[:12]}, but the store holds "
                        f"{since_seal} ending in {head[:12]}: a fact before it was removed "
                        "or altered",
                    ),
                )
            since_seal = 0
            continue
        if oid == LEDGER_ID:
            return Verification(
                facts, seals, head, Problem(note.id, "inserted", f"{_where(note)} in the ledger")
            )
        chain = state.pop("chain", None)
        if (
            not isinstance(chain, list)
            or len(chain) != 2
            or not all(isinstance(c, str) for c in chain)
        ):
            return Verification(
                facts,
                seals,
                head,
                Problem(note.id, "inserted", f"{_where(note)} has no chain link"),
            )
        previous, own = chain
        if previous != head:
            if own in seen:
                kind, detail = "inserted", f"{_where(note)} repeats a chain link already seen"
            elif previous in seen or _follows_later(head, rows, decode):
                kind, detail = "moved", f"{_where(note)} is not where it was written"
            else:
                kind = "removed"
                detail = f"{_where(note)} follows a fact that is no longer in the store"
            return Verification(facts, seals, head, Problem(note.id, kind, detail))
        if link(previous, note.topic, oid, note.originator_version, canonical(state)) != own:
            return Verification(
                facts,
                seals,
                head,
                Problem(note.id, "altered", f"{_where(note)} is not what was written"),
            )
        if not since_seal:
            unsealed_from = note.id
        seen.add(head)
        recent.append(head)
        if len(recent) > _REMEMBER:
            seen.discard(recent.popleft())
        head = own
        facts += 1
        since_seal += 1
    if since_seal:
        return Verification(
            facts,
            seals,
            head,
            Problem(
                unsealed_from,
                "inserted",
                f"the last {since_seal} facts were never sealed (inserted behind the library's "
                "back, or their seal was removed)",
            ),
        )
    return Verification(facts, seals, head, None)
