"""The reference pages are generated from the data the code enforces, and are current."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from saftale_core import RULES
from saftale_core.catalogue import pages
from saftale_core.process import Process
from saftale_core.subjects import PROCESSES

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"


@pytest.mark.parametrize("name", sorted(pages()))
def test_committed_reference_pages_are_current(name: str) -> None:
    committed = REFERENCE / name
    assert committed.exists(), f"run: python -m saftale_core.catalogue docs/reference ({name})"
    assert committed.read_text(encoding="utf-8") == pages(ROOT / "examples")[name], (
        f"docs/reference/{name} is stale: run python -m saftale_core.catalogue docs/reference"
    )


def test_every_rule_is_on_the_rules_page() -> None:
    text = pages()["rules.md"]
    for code, rule in RULES.items():
        assert f"`{code}`" in text and rule.sentence in text


@pytest.mark.parametrize("process", PROCESSES.values(), ids=lambda p: p.kind)
def test_every_step_is_in_the_process_page_with_its_source(process: Process[Any]) -> None:
    """The step tables name the seed passage of the process, and of each step that comes
    from elsewhere: the sources the audit gives (``authority_of``)."""
    text = pages()[f"process-{process.kind}.md"]
    assert f"\nSource: seed {process.seed}" in text
    for step in process.all_steps:
        row = (
            rf"^\| {re.escape(step.number)} \| `{step.fact.TYPE}` \| {re.escape(step.who.text)} "
            rf"\|.* \| {re.escape(step.seed)} \|$"
        )
        assert re.search(row, text, flags=re.M), f"no row, or not its source: {step.fact.TYPE}"


def test_every_refusal_code_of_the_contract_is_in_the_catalogue() -> None:
    contract = (ROOT / "docs" / "history-format.md").read_text(encoding="utf-8")
    section = contract.split("## Refusal codes", 1)[1]
    codes = set(re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.M))
    assert codes, "the contract lists codes"
    assert codes <= set(RULES), f"missing from RULES: {sorted(codes - set(RULES))}"
    warnings = set(re.findall(r"`([a-z-]+)` \((?:a draft|a development)", contract))
    assert warnings <= set(RULES)


def test_every_fact_type_has_an_example_line() -> None:
    from saftale_core import FACT_TYPES
    from saftale_core.catalogue import example_lines

    missing = sorted(set(FACT_TYPES) - set(example_lines(ROOT / "examples")))
    assert missing == [], f"no example line in examples/*.jsonl for {missing}"
