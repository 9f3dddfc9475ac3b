"""Time and process plans (seeds 000 and 001) and a kommissorium (seed 004) read from text.

The expected values below were read off the seeds by hand.  The two extractions of the plan
differ in two places, which the seeds themselves differ in (the tests name them): seed 000
writes "Administrativt døgnsseminar" and "Ultimo maj-primus juni 2018", seed 001
"Administrativt døgnseminar" and "Ultimo maj-primo juni 2018".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from saftale_core import RuleViolation, Saftale
from saftale_core.facts import Fact
from saftale_core.generation import ActivityPlanned, GenerationInitiated, Phase
from saftale_core.kommissorium import KommissoriumRecorded, KommissoriumState
from saftale_core.kommissorium_text import kommissorium_fact, read_kommissorium
from saftale_core.process_plan import (
    PlanRow,
    activity_key,
    phase_heading,
    plan_facts,
    read_pdf_text,
    read_plan,
    read_tabular,
)
from saftale_core.serialization import fact_to_dict

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "examples" / "seeds"
TABULAR = SEEDS / "000_c09d39416834a3bb.txt"
PDF = SEEDS / "001_8563ca1927f451bb.txt"
KOMMISSORIUM = SEEDS / "004_5d7cea77be118a99.txt"
PLAN_SCRIPT = REPO / "examples" / "import_process_plan.py"
KOMMISSORIUM_SCRIPT = REPO / "examples" / "import_kommissorium.py"
SUBJECT = "sundhedsaftale-2019-2023-plan"

PHASE_NAMES = {
    "Foranalyse": Phase.FORANALYSE,
    "Politisk fase": Phase.POLITISK_FASE,
    "Udviklings- og skrivefase": Phase.UDVIKLINGS_OG_SKRIVEFASE,
    "Høringsfase": Phase.HOERINGSFASE,
    "Godkendelsesfase": Phase.GODKENDELSESFASE,
}
"""The phases as DOMAIN.md writes them."""

# the two places where the seeds themselves differ: (row index, 000, 001)
SEED_TITLE_DIFFERENCE = (8, "Administrativt døgnsseminar", "Administrativt døgnseminar")
SEED_TIME_DIFFERENCE = (13, "Ultimo maj-primus juni 2018", "Ultimo maj-primo juni 2018")


def _tabular() -> list[PlanRow]:
    return read_tabular(TABULAR.read_text(encoding="utf-8"))


def _pdf() -> list[PlanRow]:
    return read_pdf_text(PDF.read_text(encoding="utf-8"))


READERS = {"tabular": _tabular, "pdf": _pdf}


@pytest.fixture(params=sorted(READERS))
def rows(request: pytest.FixtureRequest) -> list[PlanRow]:
    return READERS[request.param]()


def _ws(text: str | None) -> str | None:
    return None if text is None else " ".join(text.split())


def _view(row: PlanRow) -> dict[str, Any]:
    return {
        "phase": row.phase,
        "what": _ws(row.what),
        "details": tuple(_ws(d) for d in row.details),
        "when": tuple(p.text for p in row.when),
        "participants": _ws(row.participants),
        "notes": tuple(_ws(n) for n in row.notes),
    }


def _by_title(rows: list[PlanRow], title: str) -> list[PlanRow]:
    return [r for r in rows if r.what == title]


# -- 1. both extractions give the same rows ---------------------------------------------


def test_both_extractions_give_the_same_rows() -> None:
    a, b = _tabular(), _pdf()
    assert len(a) == len(b)
    differences = [
        (i, key, x[key], y[key])
        for i, (x, y) in enumerate(zip(map(_view, a), map(_view, b), strict=True))
        for key in x
        if x[key] != y[key]
    ]
    i, in_000, in_001 = SEED_TITLE_DIFFERENCE
    assert differences == [(i, "what", in_000, in_001)]
    times = [
        (i, x.time_text, y.time_text) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y
    ]
    assert SEED_TIME_DIFFERENCE in times
    assert [_view(r) for k, r in enumerate(a) if k != i] == [
        _view(r) for k, r in enumerate(b) if k != i
    ]


def test_both_extractions_give_the_same_activity_keys_and_dates() -> None:
    on = "2018-03"
    a = plan_facts(_tabular(), SUBJECT, on=on)
    b = plan_facts(_pdf(), SUBJECT, on=on)
    keys = [f.activity for f in a if isinstance(f, ActivityPlanned)]
    assert keys == [f.activity for f in b if isinstance(f, ActivityPlanned)]
    assert len(set(keys)) == len(keys) == 24
    assert keys[0] == "foranalyse-01" and keys[-1] == "godkendelsesfase-02"
    assert [f.when for f in a if isinstance(f, ActivityPlanned)] == [
        f.when for f in b if isinstance(f, ActivityPlanned)
    ]


# -- 2. the count and the phases match the seed -----------------------------------------


def _seed_counts() -> Counter[Phase]:
    """Rows with a time per phase, counted straight off seed 000's tab-separated lines."""
    counts: Counter[Phase] = Counter()
    phase: Phase | None = None
    lines = TABULAR.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Aktivitet\tTid"))
    for line in lines[start + 1 :]:
        cells = line.split("\t")
        if len(cells) != 3:
            continue
        name = cells[0].strip().rstrip("*")
        if name in PHASE_NAMES and not cells[1].strip():
            phase = PHASE_NAMES[name]
        elif cells[1].strip():
            assert phase is not None
            counts[phase] += 1
    return counts


def test_count_and_phases_match_the_seed(rows: list[PlanRow]) -> None:
    expected = _seed_counts()
    assert sum(expected.values()) == 24
    assert Counter(r.phase for r in rows) == expected
    assert [r.phase for r in rows] == sorted((r.phase for r in rows), key=list(Phase).index)


def test_footnote_marks_are_taken_off(rows: list[PlanRow]) -> None:
    assert not [r.what for r in rows if "*" in r.what]
    [citizens] = _by_title(rows, "Borgerperspektivinddragelse")
    assert citizens.notes == (
        "Formen for borgerinddragelse både ift. udformningen af aftalen og det fremadrettede "
        "tværsektorielle samarbejde skal findes. Dette undersøges i foranalysen.",
    )
    [kkr] = _by_title(rows, "KKR-konference om Den nære psykiatri")
    assert kkr.notes[0].startswith("Når der ligger en procesplan for et fælles udspil")
    assert phase_heading("Foranalyse*") is Phase.FORANALYSE
    assert phase_heading("Politisk fase****") is Phase.POLITISK_FASE
    assert phase_heading("Udviklings- og skrivefase ") is Phase.UDVIKLINGS_OG_SKRIVEFASE
    assert phase_heading("Høring") is None


# -- 3. rows checked exactly ----------------------------------------------------------


def _periods(row: PlanRow) -> tuple[str, ...]:
    return tuple(p.text for p in row.when)


def test_specific_rows(rows: list[PlanRow]) -> None:
    [meeting] = _by_title(rows, "Dialogmøde med faglige organisationer")
    assert meeting.phase is Phase.FORANALYSE
    assert meeting.time_text == "13/12/17"
    assert meeting.when[0].start == meeting.when[0].end == dt.date(2017, 12, 13)
    assert meeting.participants == (
        "SAS holder dialogmøde med repræsentanter fra relevante faglige organisationer"
    )

    [late_april] = [r for r in rows if r.time_text == "Ultimo april"]
    assert late_april.phase is Phase.POLITISK_FASE
    assert late_april.what == "Administrativ workshop"
    assert late_april.details == (
        "Kvalificering af idé- og debatoplæg som input til det politiske kickoff",
    )
    assert _periods(late_april) == ("2018-04-21/2018-04-30",)
    assert late_april.participants == (
        "SSG + supplerende så alle kommuner er repræsenteret (direktørniveau)"
    )

    [consultation] = _by_title(rows, "SSG- og SKU-godkendelse af høringsversion")
    assert consultation.phase is Phase.UDVIKLINGS_OG_SKRIVEFASE
    assert _periods(consultation) == ("2018-11-23", "2018-12-11")
    assert consultation.participants == "SSG og SKU"

    [councils] = _by_title(rows, "Godkendelse af Sundhedsaftalen i byråd og regionsråd")
    assert councils.phase is Phase.GODKENDELSESFASE
    assert _periods(councils) == ("2019-05/2019-06",)
    assert councils.participants is None

    [august] = [r for r in rows if r.time_text == "august"]
    assert (august.what, _periods(august)) == ("Patientinddragelsesudvalget", ("2018-08",))

    [kick_off] = _by_title(rows, "Politisk kick-off")
    assert _periods(kick_off) == ("2018-05-21/2018-06-10",)
    assert kick_off.details == (
        "Politisk drøftelse af dilemmaer ift. det tværsektorielle samarbejde",
        "Politisk drøftelse af visioner og mål",
        "Evt. prioritering af indsatsområder",
    )


def test_a_row_split_over_a_page_is_one_row(rows: list[PlanRow]) -> None:
    [sku] = _by_title(rows, "Sundhedskoordinationsudvalget (SKU)")
    assert sku.details == (
        "Overdragelsesnotat fra formandskabet fra det gl. SKU",
        "Indledende opvarmning til kommende proces for ny sundhedsaftale.",
        "Forberedelse af politisk kick-off.",
    )
    assert _periods(sku) == ("2018-04-04",)
    assert sku.participants == "SKU"
    [after] = [r for r in rows if r.time_text == "Ultimo april"]
    assert rows.index(after) == rows.index(sku) + 1


def test_text_after_a_bullet_point_stays_in_it(rows: list[PlanRow]) -> None:
    [citizens] = _by_title(rows, "Borgerperspektivinddragelse")
    assert citizens.details == (
        "Patientinddragelsesudvalget - supplerende borgerperspektiv med ønsker til ny "
        "sundhedsaftale Hvilke indsigter skal borgerne bringe? Borgerpanel? Brugerkonsulenter?",
    )
    assert citizens.participants == (
        "SAS indgår i dialog med Patientinddragelsesudvalget Forskellige metoder til "
        "borgerinvolvering skitseres (fordele og ulemper)"
    )


def test_read_plan_tells_the_forms_apart() -> None:
    assert read_plan(TABULAR.read_text(encoding="utf-8")) == _tabular()
    assert read_plan(PDF.read_text(encoding="utf-8")) == _pdf()


def test_line_endings_and_page_breaks_do_not_matter() -> None:
    text = TABULAR.read_text(encoding="utf-8")
    assert read_tabular(text.replace("\n", "\r\n")) == _tabular()
    pdf = PDF.read_text(encoding="utf-8").replace(
        "\n\n\n\nsundhedsaftale.", "\n\f\nsundhedsaftale."
    )
    assert read_pdf_text(pdf) == _pdf()


def test_the_header_repeated_on_a_new_page_is_skipped() -> None:
    text = TABULAR.read_text(encoding="utf-8")
    assert read_tabular(
        text.replace("\nPolitisk fase", "\nAktivitet\tTid\tDeltagere\nPolitisk fase")
    ) == (_tabular())
    pdf = PDF.read_text(encoding="utf-8").replace(
        "\n\n\n\nsundhedsaftale.", "\n\nAktivitet Tid Deltagere\nsundhedsaftale."
    )
    assert read_pdf_text(pdf) == _pdf()


# -- a plan that is not the seed: the PDF reader knows the structure, not the content ------

OTHER_PDF = "\n".join(
    [
        "Procesplan for et eksempel",
        "Aktivitet Tid Deltagere",
        "Foranalyse",
        "Workshop om data 2/2/2021 SAS",
        "Besøg i klyngerne",
        "\uf0b7 Randers og Horsens",
        "\uf0b7 Vest og Midt",
        "",
        "Marts-april ",  # a wrapped line ends with a space
        "2021",
        "",
        "Klyngerne og ",
        "SAS",
        "",
        "Politisk fase**",
        "Temamøde i SKU Ultimo maj SKU",
        "Høringsfase",
        "Høring af udkast",
        "",
        "Juni-",
        "august 2021",
        "Alle parter",
        "** Kan blive flyttet.",
    ]
)


def test_a_plan_that_is_not_the_seed() -> None:
    rows = read_pdf_text(OTHER_PDF)
    assert [(r.phase, r.what, r.details, _periods(r), r.participants) for r in rows] == [
        (Phase.FORANALYSE, "Workshop om data", (), ("2021-02-02",), "SAS"),
        (
            Phase.FORANALYSE,
            "Besøg i klyngerne",
            ("Randers og Horsens", "Vest og Midt"),
            ("2021-03/2021-04",),
            "Klyngerne og SAS",
        ),
        (Phase.POLITISK_FASE, "Temamøde i SKU", (), ("2021-05-21/2021-05-31",), "SKU"),
        (Phase.HOERINGSFASE, "Høring af udkast", (), ("2021-06/2021-08",), "Alle parter"),
    ]
    assert rows[1].line == 5


def test_prose_after_the_table_that_starts_with_a_date_ends_it() -> None:
    text = "\n".join(
        [
            "Aktivitet Tid Deltagere",
            "Høringsfase",
            "Høring af udkast Juni 2021 Alle parter",
            "\uf0b7 et punkt mere",
            "",
            "1/1/2022 kom der nyt. Se 3/3.",
        ]
    )
    [last] = read_pdf_text(text)
    assert (last.what, last.details, last.participants) == (
        "Høring af udkast",
        ("et punkt mere",),
        "Alle parter",
    )


# -- 4. the facts in a store ------------------------------------------------------------


def _generation(on: str = "2017-10") -> GenerationInitiated:
    return GenerationInitiated(
        subject=SUBJECT,
        on=on,
        by="SSG",
        title="Sundhedsaftalen 2019-2023",
        number=4,
        period="2019/2023",
    )


def test_the_activities_import_into_a_generation(app: Saftale) -> None:
    rows = _tabular()
    facts = plan_facts(rows, SUBJECT, on="2018-02-23/2018-05-31")
    app.record_many([_generation(), *facts])
    state = app.generation(SUBJECT)
    assert len(state.activities) == 24
    assert list(state.activities) == facts
    first = state.activities[0]
    assert (first.activity, first.by, first.phase) == ("foranalyse-01", "SAS", Phase.FORANALYSE)
    assert first.when_text == "Oktober-december 2017"
    [citizens] = [a for a in state.activities if a.what.startswith("Borgerperspektiv")]
    assert citizens.what.splitlines() == [
        "Borgerperspektivinddragelse",
        "• Patientinddragelsesudvalget - supplerende borgerperspektiv med ønsker til ny "
        "sundhedsaftale Hvilke indsigter skal borgerne bringe? Borgerpanel? Brugerkonsulenter?",
    ]
    assert citizens.note is not None and citizens.note.startswith("Formen for borgerinddragelse")

    # the other extraction, imported on top: only the row whose title the seeds spell
    # differently and the row whose time they spell differently are new
    again = [json.dumps(fact_to_dict(f)) for f in plan_facts(_pdf(), SUBJECT, on=facts[0].on)]
    result = app.import_history(again)
    assert result.ok and result.recorded == 2 and len(result.already_recorded) == 22
    assert len(app.generation(SUBJECT).activities) == 24


def test_activity_keys() -> None:
    assert activity_key(Phase.POLITISK_FASE, 3) == "politisk-fase-03"
    facts: list[Fact] = plan_facts(_pdf(), SUBJECT, by="SSG", on="2018-03", ref="plan")
    assert all(isinstance(f, ActivityPlanned) and f.by == "SSG" for f in facts)
    assert {f.ref for f in facts} == {"plan"}


# -- 5. seed 004 ---------------------------------------------------------------------


def test_kommissorium_seed() -> None:
    doc = read_kommissorium(KOMMISSORIUM.read_text(encoding="utf-8"))
    assert doc.title == (
        "Kommissorium for udarbejdelse af strategi for regionens indsatser i det nære sundhedsvæsen"
    )
    assert doc.date.text == "2015-11-04"
    assert doc.journal_number == "1-30-72-225-15"
    assert doc.background.startswith("Af regionens aftale om budget 2016 fremgår det")
    assert doc.background.endswith("Strategien forelægges regionsrådet senest medio 2016.")
    assert doc.background.count("\n\n") == 1
    assert doc.frame is not None and doc.frame.startswith("Region Midtjylland har allerede")
    assert doc.frame.endswith("drøftelserne på nationalt plan om det nære sundhedsvæsen.")
    assert doc.process is not None and doc.process.startswith("Der nedsættes en mindre")
    assert "Tid" not in doc.process and "Handling" not in doc.process
    levels = (
        "Politiske niveau ({}, Sundhedskoordinationsudvalget) Administrativt niveau "
        "(Administrativt ledelsesforum, Strategisk Sundhedsledelsesforum, Sundhedsstyregruppen)"
    )
    assert [(tuple(p.text for p in r.when), r.time, r.action, r.actors) for r in doc.timetable] == [
        (
            ("2015-11/2015-12",),
            "Nov – december 2015",
            "Orientering om kommissorium samt tidsplan",
            levels.format("regionsråd"),
        ),
        (("2015-12/2016-01",), "December-januar", "Udarbejdelse af debatpapir", None),
        (
            ("2016-02/2016-04",),
            "februar-april",
            "Input til strategi med afsæt i debatpapir.",
            levels.format("rådgivende udvalg"),
        ),
        (("2016-05",), "Maj", "Udarbejdelse af endeligt forslag til strategi", None),
        (("2016-06",), "Juni", "Behandling af endeligt forslag til strategi", "Regionsråd"),
    ]


def test_kommissorium_fact_imports(app: Saftale) -> None:
    subject = "kommissorium-naere-sundhedsvaesen-2015"
    fact = kommissorium_fact(KOMMISSORIUM.read_text(encoding="utf-8"), subject, "regionsraad")
    assert isinstance(fact, KommissoriumRecorded)
    assert (fact.on.text, fact.by, fact.governs) == ("2015-11-04", "regionsraad", None)
    app.record(fact)
    state = app.state(subject)
    assert isinstance(state, KommissoriumState)
    assert state.document == fact
    assert len(state.document.timetable) == 5
    result = app.import_history([json.dumps(fact_to_dict(fact))])
    assert result.ok and result.recorded == 0 and result.already_recorded == (1,)


def test_a_timetable_without_years_takes_the_documents_year() -> None:
    text = (
        "Kommissorium\n\nDato 1.10.2020\n\nBaggrund\n\nTekst.\n\n"
        "Tid\tHandling\tAktører\nNovember\tA\tSSG\nJanuar-marts\tB\t\n"
    )
    doc = read_kommissorium(text)
    assert [r.when[0].text for r in doc.timetable] == ["2020-11", "2021-01/2021-03"]
    assert doc.journal_number is None and doc.frame is None and doc.process is None


# -- 6. what cannot be read is refused, naming the line ---------------------------------

GARBAGE = "Dette er ikke en plan.\nBare tekst, ingen tabel.\n"


@pytest.mark.parametrize("reader", [read_tabular, read_pdf_text, read_plan])
def test_text_without_a_table_is_refused(reader: Any) -> None:
    with pytest.raises(RuleViolation) as info:
        reader(GARBAGE)
    assert info.value.code == "bad-record"
    assert "no process-plan table" in info.value.detail


def test_a_header_without_rows_is_refused() -> None:
    with pytest.raises(RuleViolation, match="no rows"):
        read_tabular("Aktivitet\tTid\tDeltagere\n")
    with pytest.raises(RuleViolation, match="no rows"):
        read_pdf_text("Aktivitet Tid Deltagere\n")


def test_a_tabular_row_whose_time_cannot_be_read_is_refused() -> None:
    text = TABULAR.read_text(encoding="utf-8").replace("\t13/12/17\t", "\t13/13/17\t")
    with pytest.raises(RuleViolation) as info:
        read_tabular(text)
    assert info.value.code == "bad-date"
    assert info.value.detail.startswith("line 12: '13/13/17'")
    assert "month 13 does not exist" in info.value.detail


def test_a_tabular_row_without_a_time_is_refused() -> None:
    text = TABULAR.read_text(encoding="utf-8").replace("\t13/12/17\t", "\t\t")
    with pytest.raises(RuleViolation) as info:
        read_tabular(text)
    assert info.value.code == "bad-date"
    assert info.value.detail.startswith("line 12: the row 'Dialogmøde med faglige organisationer'")


def test_a_pdf_row_whose_time_cannot_be_read_is_refused() -> None:
    text = PDF.read_text(encoding="utf-8").replace(" 13/12/17 ", " 13/13/17 ")
    with pytest.raises(RuleViolation) as info:
        read_pdf_text(text)
    assert info.value.code == "bad-date"
    assert info.value.detail.startswith("line 29: '13/13/17' looks like a row's time")


def test_a_pdf_row_without_a_time_is_refused() -> None:
    text = "Aktivitet Tid Deltagere\nForanalyse\nEt møde uden tid\nHøringsfase\n"
    with pytest.raises(RuleViolation) as info:
        read_pdf_text(text)
    assert info.value.code == "bad-date"
    assert info.value.detail.startswith("line 3: 'Et møde uden tid' is in the table")


def test_a_row_before_any_phase_is_refused() -> None:
    with pytest.raises(RuleViolation, match=r"line 2: a row before the first phase heading"):
        read_tabular("Aktivitet\tTid\tDeltagere\nMøde\t3/4/2018\tSSG\n")
    with pytest.raises(RuleViolation, match=r"line 2: a row before the first phase heading"):
        read_pdf_text("Aktivitet Tid Deltagere\nMøde 3/4/2018 SSG\n")


def test_rows_without_any_year_are_refused() -> None:
    with pytest.raises(RuleViolation) as info:
        read_tabular("Aktivitet\tTid\tDeltagere\nForanalyse\t\t\nMøde\taugust\tSSG\n")
    assert info.value.code == "bad-date"
    assert info.value.detail.startswith("line 3: 'august'")


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("", "bad-record", "empty"),
        ("Kommissorium\n\nBaggrund\n\nTekst.\n", "bad-record", "no date"),
        ("Kommissorium\nDato 31-11-2015\nBaggrund\nTekst.\n", "bad-date", "line 2: the date"),
        ("Kommissorium\nDato 4-11-2015\nRamme\nTekst.\n", "bad-record", "no background"),
        (
            "Kommissorium\nDato 4-11-2015\nBaggrund\nTekst.\nTid\tHandling\tAktører\n"
            "Smarts\tA\tB\n",
            "bad-date",
            "line 6: 'Smarts'",
        ),
    ],
)
def test_a_kommissorium_that_cannot_be_read_is_refused(text: str, code: str, message: str) -> None:
    with pytest.raises(RuleViolation) as info:
        read_kommissorium(text)
    assert info.value.code == code
    assert message in info.value.detail


# -- 7. the example scripts, twice ----------------------------------------------------


def _env() -> dict[str, str]:
    leaks = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VIRTUAL_ENV", "SAFTALE_DB"}
    return {k: v for k, v in os.environ.items() if k not in leaks and k != "PYTHONPATH"}


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("seed", [None, PDF])
def test_the_plan_example_twice_records_once(tmp_path: Path, seed: Path | None) -> None:
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    args = [str(PLAN_SCRIPT), *([str(seed)] if seed else []), "--db", db]
    first = _run(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "25 facts recorded, 0 already there" in first.stdout
    assert f"{SUBJECT}: Sundhedsaftalen 2019-2023, 24 planned activities" in first.stdout
    table = first.stdout.split("participants\n", 1)[1].splitlines()
    assert len(table) == 24
    assert re.match(r"politisk-fase +2018-04-21/2018-04-30 +Administrativ workshop", table[11])
    assert re.match(
        r"udviklings-og-skrivefase +2018-11-23, 2018-12-11 +SSG- og SKU-godkendelse", table[20]
    )
    second = _run(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 facts recorded, 24 already there" in second.stdout
    assert second.stdout.split("\n\n", 1)[1] == first.stdout.split("\n\n", 1)[1]


def test_the_plan_example_refuses_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text(GARBAGE, encoding="utf-8")
    done = _run(tmp_path, str(PLAN_SCRIPT), str(garbage), "--db", f"sqlite:///{tmp_path}/x.db")
    assert done.returncode == 1
    assert "error: garbage.txt: no process-plan table found" in done.stderr
    assert "Traceback" not in done.stderr
    missing = _run(tmp_path, str(PLAN_SCRIPT), str(tmp_path / "nope.txt"))
    assert missing.returncode == 2


def test_the_kommissorium_example_twice_records_once(tmp_path: Path) -> None:
    args = [str(KOMMISSORIUM_SCRIPT), "--db", f"sqlite:///{tmp_path / 'k.db'}"]
    first = _run(tmp_path, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "1 facts recorded, 0 already there" in first.stdout
    assert "dated 2015-11-04, journal number 1-30-72-225-15, by regionsraad" in first.stdout
    for when in ("2015-11/2015-12", "2015-12/2016-01", "2016-02/2016-04", "2016-05", "2016-06"):
        assert re.search(rf"^  {re.escape(when)} ", first.stdout, re.M), when
    second = _run(tmp_path, *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 facts recorded, 1 already there" in second.stdout
    assert second.stdout.split("\n\n", 1)[1] == first.stdout.split("\n\n", 1)[1]


def test_the_kommissorium_example_refuses_garbage(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_text(GARBAGE, encoding="utf-8")
    done = _run(
        tmp_path, str(KOMMISSORIUM_SCRIPT), str(garbage), "--db", f"sqlite:///{tmp_path}/x.db"
    )
    assert done.returncode == 1
    assert "error: garbage.txt:" in done.stderr and "no date" in done.stderr
    assert "Traceback" not in done.stderr


def test_scripts_use_the_in_memory_store_too(tmp_path: Path) -> None:
    done = _run(tmp_path, str(PLAN_SCRIPT), "--db", ":memory:")
    assert done.returncode == 0, done.stderr
    assert "25 facts recorded" in done.stdout
    with Saftale.open(":memory:") as app:
        assert app.subjects() == []
