"""The reference pages are generated from the data the code enforces, and are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saftale_core import AGREEMENT, RULES
from saftale_core.catalogue import pages

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


def test_every_step_is_in_the_process_page() -> None:
    text = pages()["process-agreement.md"]
    for step in AGREEMENT.all_steps:
        assert re.search(rf"\| `{step.fact.TYPE}` \| {re.escape(step.who.text)} \|", text)


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
