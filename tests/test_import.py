"""History files: checked whole, recorded all or nothing, idempotent, exportable."""

from __future__ import annotations

import datetime as dt
import io
import json
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
    import errno
    import tempfile

    from saftale_core import StoreError

    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **_: Full())
    with pytest.raises(StoreError, match="No space left on device; nothing was recorded"):
        app.import_history(lines_of(agreement_path("a")))
    monkeypatch.undo()
    assert app.subjects() == []
