"""The machinery every process shares: steps as data, and one ``decide``.

A process (a cooperation agreement, a development task, ...) is a table of
:class:`Step` rows: which fact, who may take it (:class:`Who`), after which
statuses it may come (``after``), which status it leads to (``to``), and the
extra checks (``guard``) that name further rules.  The rule catalogue,
the docs and the process diagram are generated from the same rows that
:func:`decide` enforces.

``decide`` is pure: (state, fact, context) -> the fact to record, with its
ids made canonical, and its warnings; or a :class:`RuleViolation`.  It checks,
in this order, so that the most telling reason is the one reported:

1. the subject is open (``closed``) and the date is not in the future
   (``date-in-future``);
2. every id is in the registry (``unknown-body``), and ``by`` is of a kind or
   role that may take the step at all (``not-authorised``), whatever the order;
3. the delivery form fits the step (``wrong-delivery``) and the step may
   follow the current status (``out-of-order``, or the step's own code for a
   status that comes too early, such as ``implementation-before-approval``);
4. the step's own guard (``not-offered``, ``council-twice``,
   ``implementation-before-approval``, ..., and authority that depends on the
   state, such as "only the assigned cluster drafts");
5. the date is not certainly before the step it follows (``date-before-previous``).

``evolve`` (each process's own) applies a recorded fact to a state and never
checks or raises: replay cannot fail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs

from saftale_core.dates import Period
from saftale_core.errors import RuleViolation, RuleWarning
from saftale_core.facts import Fact
from saftale_core.registry import Kind, Registry, Role

__all__ = [
    "ANY",
    "Context",
    "Decision",
    "NextStep",
    "Process",
    "ProcessState",
    "Step",
    "Who",
    "refuse",
]

ANY: frozenset[str] = frozenset({"*"})
"""``after`` value: the step may follow any status but the closed one."""


def refuse(code: str, detail: str) -> RuleViolation:
    """A refusal with a rule code; the dispatcher adds subject and fact type."""
    return RuleViolation(code, detail)


@attrs.frozen
class Context:
    """What a decision needs besides the state and the fact."""

    registry: Registry
    now: dt.datetime
    """When the fact is being recorded (UTC)."""
    subjects: Callable[[str], str | None] | None = None
    """Looks up another subject's kind (``"agreement"``, ``"kommissorium"``, ...) or ``None``
    when it was never initiated; facts that point at other subjects use it."""

    def kind_of(self, subject: str) -> str | None:
        """The kind of another subject, or ``None`` if it does not exist (or cannot be
        looked up here, in which case the check is left to the caller)."""
        if self.subjects is None:
            return "unknown"
        return self.subjects(subject)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(dt.UTC).date()


class ProcessState(Protocol):
    """What :func:`decide` reads of every process's state."""

    @property
    def subject(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_on(self) -> Period: ...
    @property
    def closed(self) -> bool: ...


S = TypeVar("S", bound=ProcessState)
F = TypeVar("F", bound=Fact)


@attrs.frozen
class Who:
    """Who may take a step: bodies by role, ids by kind, or a role the state decides.

    ``roles`` and ``kinds`` are checked before anything else; ``text`` is what
    the docs and errors say.  State-dependent authority (the assigned cluster,
    the parties a draft was sent to) is checked by the step's guard.
    """

    text: str
    roles: tuple[Role, ...] = ()
    kinds: tuple[Kind, ...] = ()

    def allows(self, by: str, registry: Registry) -> bool:
        if any(registry.role(r) == by for r in self.roles):
            return True
        return bool(self.kinds) and registry.kind(by) in self.kinds

    def bodies(self, registry: Registry) -> tuple[str, ...]:
        """Every listed id that may take the step (working groups are not listed)."""
        out = [registry.role(r) for r in self.roles]
        out += [b.id for b in registry.bodies.values() if b.kind in self.kinds]
        return tuple(dict.fromkeys(out))


Guard = Callable[[Any, Any, Context], Iterable[RuleWarning] | None]
"""``guard(state, fact, ctx)``: raise a refusal, or return warnings (or ``None``)."""
Follows = Callable[[Any, Any], Sequence[Period]]
"""``follows(state, fact)``: the dates of the steps this fact follows."""
Candidates = Callable[[Any, Registry], Sequence[str]]
"""``candidates(state, registry)``: who may take the step now (for "next steps")."""


@attrs.frozen
class Step(Generic[S, F]):
    """One row of a process table."""

    fact: type[Fact]
    number: str
    """The step number of the seed (``"8"``), or ``"—"`` for a fact outside the numbered steps."""
    who: Who
    after: frozenset[str]
    """The statuses this step may follow (:data:`ANY`: any open status)."""
    to: str | None = None
    """The status this step leads to; ``None`` leaves the status as it is."""
    rules: tuple[str, ...] = ()
    """The codes the guard may refuse or warn with (for the docs)."""
    guard: Guard | None = None
    follows: Follows | None = None
    """Dates this step must not certainly precede; default: the current status's date."""
    delivery: str | None = None
    """For agreement steps that belong to one delivery form (``wrong-delivery``)."""
    too_early: Mapping[str, str] = attrs.field(factory=dict)
    """Statuses this step may not follow yet, with the code to refuse with instead of
    ``out-of-order`` (e.g. implementation before approval)."""
    candidates: Candidates | None = None
    summary: str = ""
    seed: str = ""
    """The seed passage the step comes from, when it is not its process's (``Process.seed``)."""


@attrs.frozen
class Decision:
    """What :func:`decide` accepted: the fact to record (ids made canonical) and warnings."""

    fact: Fact
    warnings: tuple[RuleWarning, ...] = ()


@attrs.frozen
class NextStep:
    """A step the subject may take now, and who may take it."""

    fact_type: str
    number: str
    who: tuple[str, ...]
    description: str


class Process(Generic[S]):
    """A process: its initiating fact, its steps, its state and how facts evolve it."""

    def __init__(
        self,
        *,
        kind: str,
        title: str,
        initiated_by: Step[S, Any],
        steps: Sequence[Step[S, Any]],
        start: Callable[[Any, Registry], S],
        evolve: Callable[[S, Fact], S],
        statuses: Mapping[str, str],
        closed_status: str,
        canonical: Callable[[Fact, Registry], Fact],
        delivery_of: Callable[[S], str | None] = lambda s: None,
        initial_statuses: Sequence[str] = (),
        transitions: Sequence[tuple[str, str, str]] = (),
        seed: str = "",
    ) -> None:
        self.kind = kind
        self.title = title
        self.seed = seed
        """The seed passage the process table comes from (a step may name its own)."""
        self.initiated_by = initiated_by
        self.steps: Mapping[str, Step[S, Any]] = {s.fact.TYPE: s for s in steps}
        self.start = start
        self.evolve = evolve
        self.statuses = statuses
        self.closed_status = closed_status
        self.canonical = canonical
        self.delivery_of = delivery_of
        self.initial_statuses: tuple[str, ...] = tuple(initial_statuses) or (
            (initiated_by.to,) if initiated_by.to else ()
        )
        """The statuses a subject can start in (a route may decide which)."""
        self.transitions = tuple(transitions)
        """Status changes a step makes depending on its content (from, to, label), for the
        diagram; the step's ``to`` is ``None`` for those."""

    @property
    def all_steps(self) -> tuple[Step[S, Any], ...]:
        return (self.initiated_by, *self.steps.values())

    def fold(self, facts: Iterable[Fact], registry: Registry) -> S | None:
        """The state after these facts (the first must initiate); never checks a rule."""
        state: S | None = None
        for fact in facts:
            state = self.start(fact, registry) if state is None else self.evolve(state, fact)
        return state

    def next_steps(self, state: S, registry: Registry) -> list[NextStep]:
        """The steps that may follow now, and who may take them (by status and delivery)."""
        if state.closed:
            return []
        out = []
        for step in self.steps.values():
            if not self._status_allows(step, state) or not self._delivery_allows(step, state):
                continue
            who = step.candidates(state, registry) if step.candidates else step.who.bodies(registry)
            if who:
                out.append(
                    NextStep(step.fact.TYPE, step.number, tuple(who), step.summary or step.who.text)
                )
        return out

    def _status_allows(self, step: Step[S, Any], state: S) -> bool:
        if state.closed:
            return False
        return step.after is ANY or state.status in step.after

    def _delivery_allows(self, step: Step[S, Any], state: S) -> bool:
        return step.delivery is None or self.delivery_of(state) == step.delivery

    def decide(self, state: S, fact: Fact, ctx: Context) -> Decision:
        """Check a fact against the process; see the module docs for the order of checks."""
        step = self.steps.get(fact.TYPE)
        if step is None:
            if fact.INITIATES:
                raise refuse(
                    "duplicate-subject",
                    f"the subject {fact.subject!r} already exists (a {self.title})",
                )
            raise refuse("out-of-order", f"{fact.TYPE} is not a step of a {self.title}")
        if state.closed:
            raise refuse(
                "closed", f"the {self.title} was withdrawn ({state.status_on}); nothing follows"
            )
        check_not_future(fact, ctx)
        fact = self.canonical(fact, ctx.registry)
        if not step.who.allows(fact.by, ctx.registry):
            raise refuse(
                "not-authorised", f"{fact.by} may not record {fact.TYPE}: only {step.who.text} may"
            )
        if step.delivery is not None:
            delivery = self.delivery_of(state)
            if delivery is not None and delivery != step.delivery:
                raise refuse(
                    "wrong-delivery",
                    f"{fact.TYPE} belongs to a {step.delivery} "
                    f"delivery, and the kommissorium chose {delivery}",
                )
        if not self._status_allows(step, state):
            code = step.too_early.get(state.status)
            if code is not None:
                raise refuse(
                    code,
                    f"{fact.TYPE} cannot follow "
                    f"'{self.statuses.get(state.status, state.status)}'"
                    f"{expected_after(step, self.statuses)}",
                )
            raise refuse(
                "out-of-order",
                f"{fact.TYPE} cannot follow "
                f"'{self.statuses.get(state.status, state.status)}'"
                f"{expected_after(step, self.statuses)}",
            )
        warnings: tuple[RuleWarning, ...] = ()
        if step.guard is not None:
            found = step.guard(state, fact, ctx)
            if found:
                warnings = tuple(attrs.evolve(w, subject=fact.subject) for w in found)
        follows = step.follows(state, fact) if step.follows else (state.status_on,)
        for previous in follows:
            if fact.on.certainly_before(previous):
                raise refuse(
                    "date-before-previous",
                    f"{fact.TYPE} on {fact.on} lies before the step it follows ({previous})",
                )
        return Decision(fact, warnings)

    def decide_start(self, fact: Fact, ctx: Context) -> Decision:
        """Check the fact that initiates a subject of this process."""
        check_not_future(fact, ctx)
        fact = self.canonical(fact, ctx.registry)
        step = self.initiated_by
        if not step.who.allows(fact.by, ctx.registry):
            raise refuse(
                "not-authorised", f"{fact.by} may not record {fact.TYPE}: only {step.who.text} may"
            )
        warnings: tuple[RuleWarning, ...] = ()
        if step.guard is not None:
            found = step.guard(None, fact, ctx)
            if found:
                warnings = tuple(attrs.evolve(w, subject=fact.subject) for w in found)
        return Decision(fact, warnings)


def expected_after(step: Step[Any, Any], statuses: Mapping[str, str]) -> str:
    if step.after is ANY:
        return ""
    names = [statuses.get(s, s) for s in statuses if s in step.after]
    return " (it may follow: " + ", ".join(f"'{n}'" for n in names) + ")"


def check_not_future(fact: Fact, ctx: Context) -> None:
    if fact.on.start > ctx.today:
        raise refuse(
            "date-in-future",
            f"{fact.TYPE} on {fact.on} lies after the time it is "
            f"recorded ({ctx.today.isoformat()})",
        )
