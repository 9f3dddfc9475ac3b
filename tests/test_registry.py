"""The registry is data: shipped for Region Midtjylland, replaceable without code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from saftale_core import Registry, RegistryError, UnknownId
from saftale_core.registry import Kind, Role

MUNICIPALITIES = (
    "Favrskov Hedensted Herning Holstebro Horsens Ikast-Brande Lemvig Norddjurs Odder Randers "
    "Ringkøbing-Skjern Samsø Silkeborg Skanderborg Skive Struer Syddjurs Viborg Aarhus"
).split()


@pytest.fixture
def reg() -> Registry:
    return Registry.default()


def test_the_shipped_registry_has_19_municipalities_and_5_clusters(reg: Registry) -> None:
    assert sorted(m.name for m in reg.municipalities.values()) == sorted(MUNICIPALITIES)
    assert len(reg.councils) == 20
    assert reg.councils[0] == "regionsraad"
    assert sorted(reg.clusters) == [
        "klynge:aarhus",
        "klynge:horsens",
        "klynge:midt",
        "klynge:randers",
        "klynge:vest",
    ]
    members = [m for c in reg.clusters.values() for m in c.municipalities]
    assert sorted(members) == sorted(reg.municipalities), "every municipality in one cluster"


def test_clusters_need_the_regional_council_and_their_own_councils(reg: Registry) -> None:
    assert reg.councils_for("klynge:aarhus") == ("regionsraad", "byraad:aarhus", "byraad:samso")
    assert reg.cluster("klynge:horsens").hospital_unit == "Regionshospitalet Horsens"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("byraad:Århus", "byraad:aarhus"),
        ("byraad:Ringkøbing-Skjern", "byraad:ringkobing-skjern"),
        ("byråd:Samsø", "byraad:samso"),
        ("kommunalbestyrelse:Ikast-Brande", "byraad:ikast-brande"),
        ("Gødstrupklyngen", "klynge:vest"),
        ("Horsensklyngen", "klynge:horsens"),
        ("Regionsrådet", "regionsraad"),
        ("Fællessekretariatet", "SAS"),
        ("ssg", "SSG"),
        ("arbejdsgruppe:Rygning", "arbejdsgruppe:rygning"),
    ],
)
def test_danish_spellings_resolve_to_canonical_ids(
    reg: Registry, given: str, canonical: str
) -> None:
    assert reg.resolve(given) == canonical


@pytest.mark.parametrize("unknown", ["SSX", "byraad:Odense", "klynge:fyn", "arbejdsgruppe:", ""])
def test_an_unknown_id_is_refused_naming_it(reg: Registry, unknown: str) -> None:
    with pytest.raises(UnknownId) as info:
        reg.resolve(unknown)
    assert info.value.code == "unknown-body"
    assert repr(unknown) in str(info.value) or unknown.split(":")[-1] in str(info.value)
    assert isinstance(info.value, LookupError)


def test_kinds_and_roles(reg: Registry) -> None:
    assert reg.kind("byraad:aarhus") is Kind.MUNICIPAL_COUNCIL
    assert reg.kind("regionsraad") is Kind.REGIONAL_COUNCIL
    assert reg.kind("klynge:midt") is Kind.CLUSTER
    assert reg.kind("arbejdsgruppe:x") is Kind.WORKING_GROUP
    assert reg.role(Role.STEERING_GROUP) == "SSG"
    assert reg.resolve_focus_area("Ældre") == "aeldre"
    assert reg.resolve_focus_area("sport") is None


OTHER_REGION = """
[registry]
name = "Region Test after the 2022 reform"
region = "Region Test"

[roles]
coordination_committee = "SSU"
steering_group = "SSU-adm"
secretariat = "SEK"
practice_plan_committee = "SSU"
patient_involvement_committee = "SSU"
regional_council = "rr"

[[bodies]]
id = "SSU"
name = "Sundhedssamarbejdsudvalget"
kind = "committee"

[[bodies]]
id = "SSU-adm"
name = "Administrativ styregruppe"
kind = "committee"

[[bodies]]
id = "SEK"
name = "Sekretariatet"
kind = "secretariat"

[regional_council]
id = "rr"
name = "Regionsrådet i Test"

[[municipalities]]
id = "alfa"
name = "Alfa"

[[municipalities]]
id = "beta"
name = "Beta"

[[clusters]]
id = "klynge:nord"
name = "Nordklyngen"
hospital_unit = "Testhospitalet"
municipalities = ["alfa", "beta"]

[[focus_areas]]
id = "sammenhaeng"
name = "Sammenhæng"
"""


def test_another_region_loads_from_a_file_without_code(tmp_path: Path) -> None:
    path = tmp_path / "test.toml"
    path.write_text(OTHER_REGION, encoding="utf-8")
    reg = Registry.from_path(path)
    assert reg.councils == ("rr", "byraad:alfa", "byraad:beta")
    assert reg.role(Role.COORDINATION_COMMITTEE) == reg.role(Role.PRACTICE_PLAN_COMMITTEE) == "SSU"
    with pytest.raises(UnknownId):
        reg.resolve("SKU")


def test_rules_follow_the_loaded_registry(tmp_path: Path) -> None:
    """The process names roles, never body ids: a merged committee approves as SKU did."""
    from saftale_core import (
        AgreementInitiated,
        ApprovedBySKU,
        ApprovedBySSG,
        RuleViolation,
        Saftale,
    )
    from tests.support import Clock, agreement_path, until

    path = tmp_path / "test.toml"
    path.write_text(OTHER_REGION, encoding="utf-8")
    reg = Registry.from_path(path)
    app = Saftale.open(":memory:", registry=reg, clock=Clock())
    facts = until(agreement_path("x", cluster="klynge:nord", implement_in=()), "ApprovedBySSG")
    renamed = {"SSG": "SSU-adm", "SAS": "SEK", "PLO": "SEK", "PIU": "SSU"}
    import attrs

    for fact in facts:
        changes: dict[str, Any] = {"by": renamed.get(fact.by, fact.by)}
        if isinstance(fact, AgreementInitiated):
            changes["focus_areas"] = ("sammenhaeng",)
        if fact.TYPE == "DraftSentForComments":
            changes["parties"] = ("SEK",)
        app.record(attrs.evolve(fact, **changes))
    app.record(ApprovedBySSG(subject="x", on="2020-01-01", by="SSU-adm"))
    with pytest.raises(RuleViolation) as info:
        app.record(ApprovedBySKU(subject="x", on="2020-02-01", by="SKU"))
    assert info.value.code == "unknown-body"
    app.record(ApprovedBySKU(subject="x", on="2020-02-01", by="SSU"))
    assert app.agreement("x").status == "approved"
    assert app.agreement("x").councils_total == 3


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("[roles]\nsteering_group = 'NOPE'", "steering_group = 'NOPE' is not a body"),
        (
            "[[clusters]]\nid = 'klynge:x'\nname = 'X'\nhospital_unit = 'H'\n"
            "municipalities = ['zzz']",
            "unknown municipality 'zzz'",
        ),
        ("[[bodies]]\nid = 'SSU'\nname = 'Again'\nkind = 'committee'", "listed twice"),
        ("[[bodies]]\nid = 'Z'\nname = 'Z'\nkind = 'spaceship'", "unknown kind"),
    ],
)
def test_a_malformed_registry_file_names_the_problem(
    tmp_path: Path, broken: str, message: str
) -> None:
    text = OTHER_REGION
    if broken.startswith("[roles]"):
        text = text.replace('steering_group = "SSU-adm"', "steering_group = 'NOPE'")
    else:
        text += "\n" + broken + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError, match=message) as info:
        Registry.from_path(path)
    assert str(path) in str(info.value)


def test_a_missing_or_invalid_registry_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read"):
        Registry.from_path(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("this is [not toml", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid TOML"):
        Registry.from_path(bad)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00registry\x80")
    with pytest.raises(RegistryError, match=r"binary\.toml: not a registry file: not UTF-8 text"):
        Registry.from_path(binary)
