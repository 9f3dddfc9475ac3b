"""History files: checked whole, recorded all or nothing, idempotent, exportable."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from saftale_core import Saftale, fact_to_dict
from saftale_core.facts import Fact
from tests.support import agreement_path


def lines_of(facts: list[Fact]) -> list[str]:
    return [json.dumps(fact_to_dict(f), ensure_ascii=False) for f in facts]


def write(tmp_path: Path, lines: list[str], name: str = "h.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_valid_file_is_recorded_whole(app: Saftale, tmp_path: Path) -> None:
    facts = agreement_path("a") + agreement_path("b", delivery="working_group")
    result = app.import_history(write(tmp_path, lines_of(facts)))
    assert result.ok and result.recorded == len(facts) == result.checked
    assert [h.fact for h in app.history("b")] == facts[len(agreement_path("a")) :]


def test_a_bad_last_line_of_a_long_file_records_nothing(app: Saftale, tmp_path: Path) -> None:
    facts = [f for i in range(20) for f in agreement_path(f"s{i}")]
    bad = json.dumps({"type": "ApprovedBySKU", "subject": "s0", "on": "2030-01-01", "by": "SKU"})
    path = write(tmp_path, [*lines_of(facts), bad])
    result = app.import_history(path)
    assert [(n, e.code) for n, e in result.refusals] == [(len(facts) + 1, "date-in-future")]
    assert result.recorded == 0
    assert app.subjects() == []


def test_every_refusal_is_reported_with_its_line_number(app: Saftale, tmp_path: Path) -> None:
    good = lines_of(agreement_path("a"))
    lines = [
        good[0],
        "",
        "{not json",
        "[1, 2]",
        json.dumps(
            {
                "type": "KommissoriumApproved",
                "subject": "a",
                "on": "2019-02-01",
                "by": "SKU",
                "delivery": "cluster",
            }
        ),
        json.dumps({"type": "Nope", "subject": "a", "on": "2019", "by": "SSG"}),
        json.dumps(
            {"type": "ClusterOffered", "subject": "zz", "on": "2019-02", "by": "klynge:midt"}
        ),
        json.dumps(
            {"type": "ClusterOffered", "subject": "a", "on": "2019-02-30", "by": "klynge:midt"}
        ),
    ]
    result = app.import_history(write(tmp_path, lines))
    assert [(n, e.code) for n, e in result.refusals] == [
        (3, "bad-record"),
        (4, "bad-record"),
        (5, "not-authorised"),
        (6, "bad-record"),
        (7, "unknown-subject"),
        (8, "bad-date"),
    ]
    assert result.recorded == 0


def test_importing_the_same_file_twice_records_each_fact_once(app: Saftale, tmp_path: Path) -> None:
    facts = agreement_path("a")
    path = write(tmp_path, lines_of(facts))
    first = app.import_history(path)
    second = app.import_history(path)
    assert first.recorded == len(facts)
    assert second.ok and second.recorded == 0
    assert len(second.already_recorded) == len(facts)
    assert len(app.history("a")) == len(facts)


def test_a_repeat_written_with_an_alias_is_still_a_repeat(app: Saftale, tmp_path: Path) -> None:
    facts = agreement_path("a", implement_in=("klynge:aarhus",))
    app.import_history(write(tmp_path, lines_of(facts)))
    council = next(f for f in facts if f.TYPE == "ApprovedByCouncil" and f.by == "byraad:aarhus")
    line = fact_to_dict(council) | {"by": "byraad:Århus"}
    result = app.import_history(write(tmp_path, [json.dumps(line)], "again.jsonl"))
    assert result.ok and result.recorded == 0 and result.already_recorded == (1,)


def test_dry_run_checks_without_recording(app: Saftale, tmp_path: Path) -> None:
    result = app.import_history(write(tmp_path, lines_of(agreement_path("a"))), dry_run=True)
    assert result.ok and result.recorded == 0
    assert app.subjects() == []


def test_warnings_do_not_block(app: Saftale, tmp_path: Path) -> None:
    facts = agreement_path("a")
    lines = lines_of(facts)
    draft = next(i for i, f in enumerate(facts) if f.TYPE == "DraftSubmitted")
    lines[draft] = json.dumps(fact_to_dict(facts[draft]) | {"triple_aim": False})
    result = app.import_history(write(tmp_path, lines))
    assert result.ok and result.recorded == len(facts)
    assert [(n, w.code) for n, w in result.warnings] == [(draft + 1, "triple-aim-missing")]


def test_recorded_by_on_a_line_is_kept(app: Saftale, tmp_path: Path) -> None:
    line = fact_to_dict(agreement_path("a")[0]) | {"recorded_by": "karen"}
    app.import_history(write(tmp_path, [json.dumps(line)]), recorded_by="importer")
    assert app.history("a")[0].recorded_by == "karen"


def test_an_export_imported_into_an_empty_store_gives_the_same_history(
    app: Saftale, tmp_path: Path
) -> None:
    facts = agreement_path("a") + agreement_path("b", delivery="working_group")
    app.import_history(write(tmp_path, lines_of(facts)), recorded_by="first")
    exported = list(app.export_history())
    other = Saftale.open(":memory:", recorded_by="second")
    result = other.import_history(exported)
    assert result.ok and result.recorded == len(facts)
    for subject in ("a", "b"):
        assert [(h.fact, h.recorded_by) for h in other.history(subject)] == [
            (h.fact, h.recorded_by) for h in app.history(subject)
        ]
        assert other.agreement(subject).state == app.agreement(subject).state


def test_an_export_keeps_when_each_fact_was_recorded(tmp_path: Path) -> None:
    times = iter(dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=i) for i in range(1000))
    with Saftale.open(":memory:", recorded_by="anna", clock=lambda: next(times)) as first:
        for fact in agreement_path("a"):
            first.record(fact)
        exported = list(first.export_history())
        original = [(h.recorded_by, h.recorded_at) for h in first.history("a")]
    assert all('"recorded_at"' in line for line in exported)
    with Saftale.open(":memory:", recorded_by="bo") as second:
        result = second.import_history(exported)
        assert result.ok and result.recorded == len(original)
        assert [(h.recorded_by, h.recorded_at) for h in second.history("a")] == original
        assert list(second.export_history()) == exported
        again = second.import_history(exported)
        assert again.recorded == 0 and len(again.already_recorded) == len(exported)


def test_rules_are_checked_as_of_the_recorded_at_of_a_line(app: Saftale, tmp_path: Path) -> None:
    first = fact_to_dict(agreement_path("a")[0])  # on 2019-01-07
    early = {**first, "recorded_at": "2019-01-06T12:00:00+00:00"}
    result = app.import_history([json.dumps(early)])
    assert [(n, e.code) for n, e in result.refusals] == [(1, "date-in-future")]
    on_time = {**first, "recorded_at": "2019-01-07T12:00:00+01:00"}
    result = app.import_history([json.dumps(on_time)])
    assert result.ok and result.recorded == 1
    assert app.history("a")[0].recorded_at == dt.datetime(2019, 1, 7, 11, tzinfo=dt.UTC)


def test_a_recorded_at_in_the_future_or_without_a_zone_is_refused(app: Saftale) -> None:
    first = fact_to_dict(agreement_path("a")[0])
    lines = [
        json.dumps({**first, "recorded_at": "2999-01-01T00:00:00+00:00"}),
        json.dumps({**first, "recorded_at": "2019-05-01T10:00:00"}),
        json.dumps({**first, "recorded_at": 20190501}),
    ]
    result = app.import_history(lines)
    assert [(n, e.code) for n, e in result.refusals] == [
        (1, "bad-record"),
        (2, "bad-record"),
        (3, "bad-record"),
    ]
    assert "future" in result.refusals[0][1].detail
    assert "zone" in result.refusals[1][1].detail
    assert app.subjects() == []


def test_a_recorded_at_before_the_subjects_latest_fact_is_refused(app: Saftale) -> None:
    path = agreement_path("a")
    first, second, third = (fact_to_dict(f) for f in path[:3])
    lines = [
        json.dumps({**first, "recorded_at": "2019-02-01T00:00:00+00:00"}),
        json.dumps({**second, "recorded_at": "2019-03-01T00:00:00+00:00"}),
        json.dumps({**third, "recorded_at": "2019-02-15T00:00:00+00:00"}),  # goes back
    ]
    result = app.import_history(lines)
    assert [(n, e.code) for n, e in result.refusals] == [(3, "bad-record")]
    assert "before the subject's latest fact" in result.refusals[0][1].detail
    assert app.subjects() == []
    # A line without recorded_at is recorded now: an older one after it goes back too.
    now_then_older = [
        json.dumps(first),
        json.dumps({**second, "recorded_at": "2019-03-01T00:00:00+00:00"}),
    ]
    result = app.import_history(now_then_older)
    assert [(n, e.code) for n, e in result.refusals] == [(2, "bad-record")]
    # In order, it is accepted.
    result = app.import_history(lines[:2])
    assert result.ok and result.recorded == 2


def test_an_overlong_line_is_refused_without_reading_it_whole(app: Saftale, tmp_path: Path) -> None:
    from saftale_core.history import MAX_LINE

    path = tmp_path / "long.jsonl"
    good = lines_of(agreement_path("a")[:2])
    with path.open("w", encoding="utf-8") as fh:
        fh.write(good[0] + "\n")
        fh.write('{"note": "' + "x" * (3 * MAX_LINE) + '"}\n')
        fh.write(good[1] + "\n")
        fh.write("y" * (2 * MAX_LINE))  # and no line break at the end
    result = app.import_history(path)
    assert [(n, e.code) for n, e in result.refusals] == [(2, "bad-record"), (4, "bad-record")]
    assert "longer than" in result.refusals[0][1].detail
    assert result.checked == 4 and result.recorded == 0


def test_no_room_for_the_checked_facts_is_a_store_error(
    app: Saftale, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from saftale_core import StoreError, _importer

    # The temporary file lives in the temporary folder; it is full after 20 pages.
    connect = sqlite3.connect

    def small_disk(path: str, **kwargs: Any) -> sqlite3.Connection:
        db: sqlite3.Connection = connect(path, **kwargs)
        db.execute("PRAGMA max_page_count = 20")
        return db

    monkeypatch.setattr(sqlite3, "connect", small_disk)
    monkeypatch.setattr(_importer, "_FLUSH", 10)
    history = [f for i in range(40) for f in agreement_path(f"a{i}")]
    with pytest.raises(StoreError, match="database or disk is full; nothing was recorded"):
        app.import_history(lines_of(history))
    monkeypatch.undo()
    assert app.subjects() == []


def test_subjects_dropped_from_memory_are_checked_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import keeps a bounded number of subjects in memory and loads a dropped one
    again (from the store and the checked lines) when a later line needs it: with room
    for one subject, a file that moves six at once is checked exactly as with room for
    all, repeats, corrections and refusals included."""
    from saftale_core import FactCorrected, _importer

    paths = [agreement_path(f"s{i}") for i in range(6)]
    moving = [p[k] for k in range(max(map(len, paths))) for p in paths if k < len(p)]
    last_day = max(f.on.end for f in moving) + dt.timedelta(days=7)
    retract = FactCorrected(
        subject="s1",
        on=last_day.isoformat(),
        by="SAS",
        corrects=len(paths[1]),
        reason="recorded by mistake",
    )
    good = [
        *lines_of(moving),
        *lines_of([paths[0][2]]),  # a repeat of an early line
        *lines_of([retract]),
        *lines_of([paths[3][5]]),  # another repeat, after s3 was dropped
    ]
    sku = next(f for f in paths[4] if f.TYPE == "ApprovedBySKU")
    bad = json.dumps(fact_to_dict(sku) | {"on": last_day.isoformat()})  # approved twice

    def run(kept: int, lines: list[str]) -> tuple[Any, Saftale]:
        monkeypatch.setattr(_importer, "SUBJECTS_KEPT", kept)
        monkeypatch.setattr(_importer, "HISTORIES_KEPT", kept)
        app = Saftale.open(":memory:", recorded_by="import")
        result = app.import_history(lines)
        summary = (
            [(n, e.code, e.detail) for n, e in result.refusals],
            [(n, w.code) for n, w in result.warnings],
            result.already_recorded,
            result.recorded,
        )
        return summary, app

    refused_small, _ = run(1, [*good, bad])
    refused_large, _ = run(1000, [*good, bad])
    assert refused_small == refused_large
    assert [(n, code) for n, code, _ in refused_small[0]] == [(len(good) + 1, "out-of-order")]

    small_result, small = run(1, good)
    large_result, large = run(1000, good)
    assert small_result == large_result
    assert small_result[2] == (len(moving) + 1, len(moving) + 3)
    assert small_result[3] == len(moving) + 1
    for i in range(6):
        assert [h.fact for h in small.history(f"s{i}")] == [h.fact for h in large.history(f"s{i}")]
    assert small.history("s1")[-2].in_force is False
    again, _ = run(1, good)
    assert again[0] == [] and again[3] == len(moving) + 1  # a new store: all recorded
    monkeypatch.setattr(_importer, "SUBJECTS_KEPT", 1)
    repeat = small.import_history(good)
    assert repeat.ok and repeat.recorded == 0
    assert repeat.already_recorded == tuple(range(1, len(good) + 1))


def test_a_whole_number_beyond_64_bits_is_refused_not_rounded(app: Saftale) -> None:
    """JSON parsers turn such a number into an approximate float: the line would keep a
    different number than it says.  Digits inside text are no numbers."""
    first = fact_to_dict(agreement_path("a")[0]) | {"title": "Plan 12345678901234567890123"}
    measured = {
        "type": "IndicatorMeasured",
        "subject": "sundhedsaftale-2019",
        "on": "2020-01-01",
        "by": "SSG",
        "indicator": "x",
        "period": "2019",
        "value": 99999999999999999999,
    }
    lines = [
        json.dumps(first),
        json.dumps(measured),
        json.dumps(measured | {"value": -9223372036854775809}),
    ]
    result = app.import_history(lines, dry_run=True)
    assert [(n, e.code) for n, e in result.refusals] == [(2, "bad-record"), (3, "bad-record")]
    assert "99999999999999999999 is too large" in result.refusals[0][1].detail
    assert "-9223372036854775809 is too large" in result.refusals[1][1].detail
    assert result.checked == 3
    assert app.import_history(lines[:1]).recorded == 1
    assert getattr(app.history("a")[0].fact, "title", None) == "Plan 12345678901234567890123"


# -- several sources: one history, all or nothing ---------------------------------------------


def test_several_sources_are_one_history_checked_in_order(app: Saftale, tmp_path: Path) -> None:
    """The second file goes on with the first file's subject: checked on its own it would
    be refused (unknown-subject); checked after the first, it is accepted."""
    facts = agreement_path("a")
    first = write(tmp_path, lines_of(facts[:4]), "first.jsonl")
    rest = write(tmp_path, lines_of(facts[4:]), "rest.jsonl")
    dry = app.import_history(first, rest, dry_run=True)
    assert dry.ok and dry.recorded == 0, dry.refusals
    assert [s.new for s in dry.sources] == [4, len(facts) - 4]
    assert app.subjects() == []
    result = app.import_history(first, rest)
    assert result.ok and result.recorded == len(facts) == result.checked
    assert [h.fact for h in app.history("a")] == facts


def test_a_refused_line_in_any_source_records_nothing_of_any(app: Saftale, tmp_path: Path) -> None:
    a, b = agreement_path("a"), agreement_path("b")
    bad = json.dumps({"type": "Nope", "subject": "b", "on": "2019", "by": "SSG"})
    reports: list[tuple[int, int, str]] = []
    result = app.import_history(
        write(tmp_path, lines_of(a), "a.jsonl"),
        write(tmp_path, [*lines_of(b[:3]), bad, *lines_of(b[3:])], "b.jsonl"),
        on_report=lambda r: reports.append((r.source, r.line, r.refusal.code if r.refusal else "")),
    )
    assert reports == [(1, 4, "bad-record")]
    assert [(s.ok, s.checked, s.refusal_count) for s in result.sources] == [
        (True, len(a), 0),
        (False, len(b) + 1, 1),
    ]
    assert not result.ok and result.recorded == 0
    assert app.subjects() == []


def test_refused_lines_keep_their_source_and_line_number(app: Saftale, tmp_path: Path) -> None:
    a = agreement_path("a")
    wrong_body = fact_to_dict(a[1]) | {"by": "SKU"}  # only SSG approves a kommissorium
    later = json.dumps({"type": "ClusterOffered", "subject": "a", "on": "2019-02-30", "by": "SSG"})
    reports: list[Any] = []
    result = app.import_history(
        [lines_of(a)[0], "", json.dumps(wrong_body)],
        ["", "", later],
        on_report=reports.append,
    )
    assert [(r.source, r.line, r.refusal.code) for r in reports] == [
        (0, 3, "not-authorised"),
        (1, 3, "bad-date"),
    ]
    assert [s.refusals[0][0] for s in result.sources] == [3, 3]
    assert result.refusal_count == 2


def test_importing_several_sources_again_records_nothing(app: Saftale, tmp_path: Path) -> None:
    facts = agreement_path("a")
    sources = [lines_of(facts[:5]), lines_of(facts[5:])]
    assert app.import_history(*sources).recorded == len(facts)
    again = app.import_history(*sources)
    assert again.ok and again.recorded == 0
    assert [s.already_recorded for s in again.sources] == [
        tuple(range(1, 6)),
        tuple(range(1, len(facts) - 4)),
    ]


# -- what is found, as it is found, in bounded memory ------------------------------------------


def test_each_refusal_is_reported_as_soon_as_its_line_is_checked(app: Saftale) -> None:
    """``on_report`` sees a refused line before the next line is read: a file of a million
    refused lines can be printed as it goes."""
    read = 0

    def lines() -> Iterator[str]:
        nonlocal read
        for number in range(1, 301):
            read = number
            yield "{not json" if number % 3 else lines_of(agreement_path(f"s{number}")[:1])[0]

    seen: list[tuple[int, int]] = []
    app.import_history(lines(), on_report=lambda r: seen.append((r.line, read)))
    assert seen == [(n, n) for n in range(1, 301) if n % 3]


def test_a_result_keeps_the_first_reports_and_counts_them_all(
    app: Saftale, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saftale_core import history

    monkeypatch.setattr(history, "REPORTS_KEPT", 5)
    facts = agreement_path("a")
    app.import_history(lines_of(facts))
    draft = next(i for i, f in enumerate(facts) if f.TYPE == "DraftSubmitted")
    warned = json.dumps(fact_to_dict(facts[draft]) | {"subject": "b", "triple_aim": False})
    lines = [*lines_of(facts), *["[]"] * 12, *lines_of(agreement_path("b")[:draft]), warned]
    reports: list[Any] = []
    result = app.import_history(lines, ["[]"] * 3, on_report=reports.append)
    first, second = result.sources
    assert [n for n, _ in first.refusals] == list(range(len(facts) + 1, len(facts) + 6))
    assert (first.refusal_count, first.already_recorded_count, first.warning_count) == (
        12,
        len(facts),
        1,
    )
    assert first.already_recorded == (1, 2, 3, 4, 5)
    assert len(second.refusals) == second.refusal_count == 3
    # over all sources: the first five, and every one counted
    assert [n for n, _ in result.refusals] == [n for n, _ in first.refusals]
    assert result.refusal_count == 15 and result.already_recorded_count == len(facts)
    assert len(reports) == 15 + len(facts) + 1


def test_an_error_of_on_report_stops_the_import_unchanged(app: Saftale) -> None:
    """A reader that went away (``BrokenPipeError``, an ``OSError``) is not taken for a
    failure to read the file: it comes out as it is, with nothing recorded."""

    def gone(_: Any) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    facts = agreement_path("a")
    with pytest.raises(BrokenPipeError):
        app.import_history([*lines_of(facts), "{not json"], on_report=gone)
    assert app.subjects() == []
