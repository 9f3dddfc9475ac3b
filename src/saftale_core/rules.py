"""The rule catalogue: every process rule as data.

Each :class:`Rule` has a stable ``code`` (the refusal code of the history-file
contract), the ``sentence`` an error shows, the ``seed`` passage it comes from,
and its ``level``: a *must* refuses a fact, a *should* only warns.  The code
that enforces the process refers to rules by code only, and the documentation
is generated from :data:`RULES`, so the text a user reads and the check that
runs cannot drift apart.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

__all__ = ["RULES", "Level", "Rule", "rule"]


class Level(enum.Enum):
    """Whether breaking a rule refuses the fact or only warns."""

    MUST = "must"
    SHOULD = "should"


@attrs.frozen
class Rule:
    """One rule of the process, as the docs and the errors show it."""

    code: str
    sentence: str
    seed: str
    level: Level = Level.MUST


_SEED_002_P1 = "002 (samarbejdsaftaler)"
_SEED_002_P2 = "002 (udviklingsopgaver)"
_SEED_003_ORG = "003 (Organisering)"
_SEED_003_IMPL = "003 (Implementering og opfølgning)"
_FORMAT = "HISTORY_FORMAT.md"

_CATALOGUE = (
    Rule("bad-record", "A fact must have every required key, each of the right type.", _FORMAT),
    Rule(
        "bad-date", "A date must be a day, a month, a year or an interval (ISO 8601/EDTF).", _FORMAT
    ),
    Rule("date-in-future", "A fact cannot have happened after the time it is recorded.", _FORMAT),
    Rule(
        "date-before-previous", "A step cannot have happened before the step it follows.", _FORMAT
    ),
    Rule("unknown-subject", "A fact must belong to a subject that has been initiated.", _FORMAT),
    Rule(
        "duplicate-subject",
        "A subject is initiated once; its key is unique across subjects.",
        _FORMAT,
    ),
    Rule(
        "unknown-body",
        "Every body, council, cluster, party and member must be in the registry.",
        "DOMAIN.md (Who is who)",
    ),
    Rule(
        "not-authorised",
        "Only the body the process names may take a step.",
        "DOMAIN.md (authority); " + _SEED_003_ORG,
    ),
    Rule(
        "out-of-order",
        "A step can only follow the steps the process puts before it.",
        _SEED_002_P1 + "; " + _SEED_002_P2,
    ),
    Rule(
        "wrong-delivery",
        "Cluster steps belong to a cluster delivery, working-group steps to a working-group "
        "delivery, as the kommissorium decided.",
        _SEED_002_P1 + " step 1-2",
    ),
    Rule(
        "not-offered",
        "When clusters have offered to take the task, SSG assigns it to one of them.",
        _SEED_002_P1 + " step 1",
    ),
    Rule("council-twice", "Each council decides once on a subject.", _SEED_002_P1 + " step 9"),
    Rule(
        "implementation-before-approval",
        "A cluster implements only after the regional council and the council of every "
        "municipality in the cluster have approved.",
        _SEED_003_IMPL,
    ),
    Rule(
        "practice-tasks-not-agreed",
        "Tasks for general practice are agreed in the practice-plan committee (PPU) before "
        "implementation.",
        _SEED_003_IMPL,
    ),
    Rule(
        "economy-not-clarified",
        "When an agreement changes the allocation of tasks between region and municipalities, "
        "its economic consequences are clarified before SSG approves it.",
        "003 (Principper: Økonomi)",
    ),
    Rule(
        "evaluation-before-implementation",
        "An agreement is evaluated only after it has been implemented.",
        _SEED_002_P1 + " step 11",
    ),
    Rule(
        "brief-missing",
        "A development task initiated by SSG needs an assignment brief (opdragspapir) before it "
        "is offered to clusters.",
        _SEED_002_P2 + " step 2-3",
    ),
    Rule(
        "not-asked",
        "Only a cluster that was asked, and accepted, responds to or works on a development task.",
        _SEED_002_P2 + " step 4",
    ),
    Rule(
        "coordination-missing",
        "When several clusters accept a development task, SAS records how they work together "
        "before development starts.",
        _SEED_002_P2 + " step 4",
    ),
    Rule("closed", "Nothing follows the withdrawal of a subject.", _FORMAT),
    Rule(
        "correction-invalid",
        "A correction may only leave behind a history that the rules would have accepted.",
        "DOMAIN.md (What is recorded)",
    ),
    Rule(
        "triple-aim-missing",
        "A draft agreement or an assignment brief should describe evaluation and follow-up "
        "via Triple Aim.",
        _SEED_002_P1 + " step 3; " + _SEED_002_P2 + " step 2",
        Level.SHOULD,
    ),
    Rule(
        "comments-skipped",
        "A development proposal should be sent for comments before SSG approves it.",
        _SEED_002_P2 + " step 7",
        Level.SHOULD,
    ),
)

RULES: Mapping[str, Rule] = MappingProxyType({r.code: r for r in _CATALOGUE})
"""Every rule by its code, in catalogue order."""


def rule(code: str) -> Rule:
    """The rule with this code; a :class:`KeyError` names an unknown code."""
    return RULES[code]
