"""The errors of saftale_core.

Every error the library raises on purpose is a :class:`SaftaleError`.  A fact
that breaks a process rule raises :class:`RuleViolation`, which carries the
rule (and so its refusal code), the subject and a message that says what was
wrong with this fact.  Errors that are a user's bad input also subclass the
matching builtin (``ValueError``, ``LookupError``), so generic handlers work.
"""

from __future__ import annotations

import attrs

from saftale_core.rules import Rule, rule

__all__ = [
    "ConcurrencyConflict",
    "RuleViolation",
    "RuleWarning",
    "SaftaleError",
    "StoreError",
    "StoreMissing",
    "UnknownId",
]


class SaftaleError(Exception):
    """Base class of every error saftale raises on purpose."""


class RuleViolation(SaftaleError, ValueError):
    """A fact was refused because it breaks a rule; nothing was recorded.

    ``code`` is the refusal code of the history-file contract (``rule.code``).
    """

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        subject: str | None = None,
        fact_type: str | None = None,
    ) -> None:
        self.rule: Rule = rule(code)
        self.code: str = code
        self.detail = detail
        self.subject = subject
        self.fact_type = fact_type
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``detail (rule sentence)``, prefixed with the subject when known."""
        where = f"{self.subject}: " if self.subject else ""
        what = f"{self.fact_type}: " if self.fact_type else ""
        return f"{where}{what}{self.detail} [{self.code}: {self.rule.sentence}]"

    def for_fact(self, *, subject: str, fact_type: str) -> RuleViolation:
        """The same violation (of the same class), naming the subject and fact it concerns."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.subject = subject
        new.fact_type = fact_type
        new.args = (new.message,)
        return new


class UnknownId(RuleViolation, LookupError):
    """An id (body, council, cluster, party, member) is not in the registry."""

    def __init__(self, ident: str, detail: str | None = None) -> None:
        self.ident = ident
        super().__init__("unknown-body", detail or f"{ident!r} is not in the registry")


class ConcurrencyConflict(SaftaleError):
    """Someone else recorded a fact on the same subject at the same time.

    Nothing of this attempt was recorded; read the subject again and retry.
    """

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(
            f"{subject}: another writer recorded a fact on this subject at the same time; "
            "nothing was recorded, read the subject again and retry"
        )


class StoreError(SaftaleError):
    """The store could not be opened, read or written (a database problem)."""


class StoreMissing(StoreError, LookupError):
    """There is no store to open (``Saftale.open(..., create=False)``): no SQLite file at
    the path, an empty file, or a PostgreSQL database without saftale's table of facts."""


@attrs.frozen
class RuleWarning:
    """A *should* of the process that a recorded fact does not meet.

    A warning never blocks: the fact is recorded and the warning is returned
    with the result (and kept in the audit through the fact itself).
    """

    code: str
    detail: str
    subject: str | None = None

    @property
    def rule(self) -> Rule:
        return rule(self.code)

    @property
    def message(self) -> str:
        where = f"{self.subject}: " if self.subject else ""
        return f"{where}{self.detail} [{self.code}: {self.rule.sentence}]"
