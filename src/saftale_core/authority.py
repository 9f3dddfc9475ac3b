"""Under which authority a fact was recorded: the process and step, the rule of the
authority table that let its ``by`` take that step, and the seed it comes from.

Nothing here is a table of its own.  The answer is read from the process tables that
:func:`~saftale_core.subjects.decide` enforces: the :class:`~saftale_core.process.Step`
of the fact's type in its subject's process, whose :class:`~saftale_core.process.Who`
is what refuses a fact with ``not-authorised``, and the seed passage the step (or its
process) names.  A recorded fact was accepted, so its ``by`` was allowed by that rule
when it was recorded.

A correction (:class:`~saftale_core.facts.FactCorrected`) is no step of a process: no
rule names who may record one, only that what remains must obey every rule
(``correction-invalid`` in :data:`~saftale_core.rules.RULES`).  Its authority says so,
and, for a correction that puts another fact in place of the mistaken one, carries the
authority of that fact (:attr:`Authority.replacement`), which the rules checked as a
step like any other.

>>> from saftale_core import ApprovedBySSG
>>> authority_of(ApprovedBySSG(subject="a", on="2020-06-03", by="SSG"), "agreement").text
'cooperation agreement, step 8: SSG; seed 002 (samarbejdsaftaler)'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from saftale_core.errors import SaftaleError
from saftale_core.facts import Fact, FactCorrected
from saftale_core.process import Process, Step
from saftale_core.rules import RULES
from saftale_core.subjects import PROCESSES

__all__ = ["Authority", "NoAuthority", "authority_of", "processes_of"]

UNNUMBERED = "—"
"""The step number of a step outside the numbered steps of its seed."""


class NoAuthority(SaftaleError, LookupError):
    """A fact type that is no step of the process asked about (or of any, or of more than
    one when no process is named)."""


@attrs.frozen
class Authority:
    """Under which authority a fact's ``by`` took its step."""

    process: str
    """The process, as its table names it (``"cooperation agreement"``)."""
    step: str
    """The step number of the seed (``"8"``), or ``"—"`` for a fact outside the numbered
    steps (and for a correction)."""
    fact_type: str
    rule: str
    """Who the process lets take the step, as the authority table words it (``"SSG"``,
    ``"a council (the regional council or a byråd), for its own party"``); for a
    correction, the rule corrections obey."""
    code: str
    """The code of the rule that refuses a fact without this authority: ``not-authorised``
    for a step, ``correction-invalid`` for a correction."""
    seed: str
    """The seed passage the step comes from (``"002 (samarbejdsaftaler)"``)."""
    replacement: Authority | None = None
    """For a correction that replaces the mistaken fact: the authority of the fact it puts
    in its place."""

    @property
    def text(self) -> str:
        """One line: ``"cooperation agreement, step 8: SSG; seed 002 (samarbejdsaftaler)"``."""
        where = f"step {self.step}" if self.step != UNNUMBERED else self.fact_type
        out = f"{self.process}, {where}: {self.rule}; seed {self.seed}"
        if self.replacement is not None:
            out += f"; in its place: {self.replacement.text}"
        return out

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The authority as JSON-ready data (:meth:`from_dict` reads it back)."""
        out = attrs.asdict(self, recurse=False)
        out["replacement"] = None if self.replacement is None else self.replacement.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Authority:
        replacement = data.get("replacement")
        return cls(
            process=data["process"],
            step=data["step"],
            fact_type=data["fact_type"],
            rule=data["rule"],
            code=data["code"],
            seed=data["seed"],
            replacement=None if replacement is None else cls.from_dict(replacement),
        )


def _step(process: Process[Any], fact_type: str) -> Step[Any, Any] | None:
    if process.initiated_by.fact.TYPE == fact_type:
        return process.initiated_by
    return process.steps.get(fact_type)


def _processes_of() -> dict[str, tuple[Process[Any], ...]]:
    out: dict[str, list[Process[Any]]] = {}
    for process in PROCESSES.values():
        for step in process.all_steps:
            out.setdefault(step.fact.TYPE, []).append(process)
    return {name: tuple(found) for name, found in out.items()}


_BY_TYPE = _processes_of()


def processes_of(fact_type: str) -> tuple[Process[Any], ...]:
    """The processes that have a step of this fact type (``ApprovedBySSG``: the
    cooperation agreement's and the development task's; a correction: none)."""
    return _BY_TYPE.get(fact_type, ())


def _process(process: Process[Any] | str | None, fact: Fact) -> Process[Any]:
    if isinstance(process, Process):
        return process
    if isinstance(process, str):
        for known in PROCESSES.values():
            if process in (known.kind, known.title):
                return known
        kinds = ", ".join(p.kind for p in PROCESSES.values())
        raise NoAuthority(f"no process {process!r} (the processes are {kinds})")
    candidates = processes_of(
        fact.replacement.TYPE
        if isinstance(fact, FactCorrected) and fact.replacement is not None
        else fact.TYPE
    )
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NoAuthority(f"{fact.TYPE}: name the process of its subject")
    titles = " and of a ".join(p.title for p in candidates)
    raise NoAuthority(f"{fact.TYPE} is a step of a {titles}: name the process of its subject")


def authority_of(fact: Fact, process: Process[Any] | str | None = None) -> Authority:
    """Under which authority ``fact``'s ``by`` took its step in ``process``.

    ``process`` is the process of the fact's subject: a process table (e.g.
    :data:`~saftale_core.agreement.AGREEMENT`), or its kind (``"agreement"``,
    ``"task"``, ``"generation"``, ``"kommissorium"``).  It may be left out for a fact
    type that only one process has; :func:`~saftale_core.subjects.process_of` gives it
    from a subject's history.  Raises :class:`NoAuthority` for a fact type that is no
    step of the process.
    """
    table = _process(process, fact)
    if isinstance(fact, FactCorrected):
        rule = RULES["correction-invalid"]
        replacement = fact.replacement
        return Authority(
            process=table.title,
            step=UNNUMBERED,
            fact_type=fact.TYPE,
            rule="any body of the registry, on whose behalf the record is corrected "
            f"({rule.code}: {rule.sentence.rstrip('.')})",
            code=rule.code,
            seed=rule.seed,
            replacement=None if replacement is None else authority_of(replacement, table),
        )
    step = _step(table, fact.TYPE)
    if step is None:
        raise NoAuthority(f"{fact.TYPE} is not a step of a {table.title}")
    return Authority(
        process=table.title,
        step=step.number,
        fact_type=fact.TYPE,
        rule=step.who.text,
        code="not-authorised",
        seed=step.seed or table.seed,
    )
