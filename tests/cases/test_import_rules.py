"""``esv import`` never hides a change: a file that is not what it claims and an attribute the
file never carries are refused, and every adjustment the conversion makes is a counted, named
rule, with the value the log gave kept on the event and in the case's ledger history."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select
from sqlmodel import Session

from esupervision.importing.convert import ADJUSTMENTS, LogConversion, load_cases, summary
from esupervision.importing.run import ImportProgress, import_file
from esupervision.models.cases.case import Case
from esupervision.models.cases.report import CaseAction
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent

SH = ZoneInfo("Asia/Shanghai")

# C-1: an event before its start, a bare end date, then work after it (a publication).
# C-2: closed without an end date. C-3: no start date, an end date before its only event.
LOG = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <trace>
    <string key="concept:name" value="C-1"/>
    <string key="status" value="open"/>
    <date key="startDate" value="2024-03-01T00:00:00+08:00"/>
    <date key="endDate" value="2024-03-05T00:00:00+08:00"/>
    <event><string key="concept:name" value="register"/><string key="org:resource" value="w1"/>
      <date key="time:timestamp" value="2024-02-28T10:00:00+08:00"/></event>
    <event><string key="concept:name" value="review"/>
      <date key="time:timestamp" value="2024-03-02T09:00:00+08:00"/></event>
    <event><string key="concept:name" value="decide"/>
      <date key="time:timestamp" value="2024-03-04T15:00:00+08:00"/></event>
    <event><string key="concept:name" value="publish"/>
      <date key="time:timestamp" value="2024-03-08T10:00:00+08:00"/></event>
  </trace>
  <trace>
    <string key="concept:name" value="C-2"/>
    <string key="status" value="closed"/>
    <date key="startDate" value="2024-03-01T00:00:00+08:00"/>
    <event><string key="concept:name" value="register"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00+08:00"/></event>
    <event><string key="concept:name" value="decide"/>
      <date key="time:timestamp" value="2024-03-03T11:00:00+08:00"/></event>
  </trace>
  <trace>
    <string key="concept:name" value="C-3"/>
    <string key="status" value="open"/>
    <date key="endDate" value="2024-02-01T00:00:00+08:00"/>
    <event><string key="concept:name" value="register"/>
      <date key="time:timestamp" value="2024-03-01T10:00:00+08:00"/></event>
  </trace>
</log>
"""


def mapping_doc(**case: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "rules-test", "format": "xes", "timezone": "Asia/Shanghai",
        "case": {"number": "concept:name", "start": "startDate", "end": "endDate",
                 "finished": {"any": [{"attribute": "status", "in": ["closed"]},
                                      {"attribute": "endDate", "present": True}]}},
        "event": {"activity": "concept:name", "timestamp": "time:timestamp", "resource": "org:resource"},
        "catalogue": {"basis": "natural", "center": {"code": "RULES", "name": "规则测试中心"},
                      "department": {"code": "D", "name": "审批科"},
                      "items": [{"code": "I", "name": "许可", "legal_days": 20}]},
    }
    doc["case"].update(case)  # type: ignore[union-attr]
    return doc


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.xes"
    path.write_text(LOG, encoding="utf-8")
    return path


def write_mapping(tmp_path: Path, doc: dict[str, object]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def convert(tmp_path: Path, log_file: Path, **case: object) -> tuple[dict[str, list], dict]:
    cases = load_cases(log_file, write_mapping(tmp_path, mapping_doc(**case)))
    return {c.number: c.events for c in cases}, summary(cases)


# --- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    '<?xml version="1.0"?><html><body><p>not a log</p></body></html>',
    '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>',
    "办件编号,环节,发生时间\nA,受理,2024-03-01 09:00\n",
])
def test_a_file_that_is_not_xes_is_refused_with_the_reason(tmp_path: Path, text: str) -> None:
    path = tmp_path / "log.xes"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        load_cases(path, write_mapping(tmp_path, mapping_doc()))
    assert caught.value.code is ErrorCode.IMPORT_FILE_INVALID
    assert str(path) in caught.value.message and caught.value.details["line"] == 1


@pytest.mark.parametrize(("case", "key", "attribute"), [
    ({"start": "startDat"}, "case.start", "startDat"),
    ({"finished": {"attribute": "staus", "in": ["closed"]}}, "case.finished.attribute", "staus"),
    ({"finished": {"event": {"attribute": "activity", "in": ["decide"]}}}, "case.finished.event.attribute", "activity"),
])
def test_an_attribute_the_file_never_carries_is_refused_by_name(
        tmp_path: Path, log_file: Path, case: dict, key: str, attribute: str) -> None:
    with pytest.raises(DomainError) as caught:
        convert(tmp_path, log_file, **case)
    assert caught.value.code is ErrorCode.MAPPING_INVALID
    assert (caught.value.details["key"], caught.value.details["attribute"]) == (key, attribute)
    assert attribute in caught.value.message


def test_an_attribute_some_cases_lack_is_counted(tmp_path: Path, log_file: Path) -> None:
    conversion = LogConversion(log_file, write_mapping(tmp_path, mapping_doc()))
    list(conversion)
    conversion.check()
    missing = conversion.summary()["missing_attributes"]
    assert missing["case.start"] == {"attribute": "startDate", "missing": 1, "of": 3, "per": "case"}
    assert missing["case.end"]["missing"] == 1
    assert missing["event.resource"] == {"attribute": "org:resource", "missing": 6, "of": 7, "per": "event"}


# --- counted rules -------------------------------------------------------------------------------

def test_every_adjustment_is_a_named_counted_rule_with_the_logged_value_kept(tmp_path: Path, log_file: Path) -> None:
    events, counts = convert(tmp_path, log_file)
    assert counts["adjustments"] == {"clamped_to_end": 1, "clamped_to_start": 1, "end_missing_used_last_event": 1,
                                     "end_raised_to_start": 1, "start_missing_used_first_event": 1}
    assert set(counts["adjustments"]) <= set(ADJUSTMENTS)
    first = events["C-1"]
    assert first[1].attributes["adjustment"] == "clamped_to_start"
    assert first[1].attributes["logged_at"] == "2024-02-28T10:00:00+08:00"
    assert first[1].occurred_at == datetime(2024, 3, 1, tzinfo=SH)
    # Off by default: a bare end date stays the end; the publication after it is clamped, and said so.
    assert first[-1].action is CaseAction.COMPLETE and first[-1].occurred_at == datetime(2024, 3, 5, tzinfo=SH)
    assert first[-2].attributes["adjustment"] == "clamped_to_end"
    assert first[-2].attributes["logged_at"] == "2024-03-08T10:00:00+08:00"
    assert events["C-2"][-1].attributes == {"result": "approved", "adjustment": "end_missing_used_last_event"}
    assert events["C-3"][0].attributes == {"adjustment": "start_missing_used_first_event"}
    assert events["C-3"][-1].attributes == {"result": "approved", "adjustment": "end_raised_to_start",
                                            "end_given": "2024-02-01T00:00:00+08:00"}


def test_moving_a_bare_end_to_the_last_event_is_an_option(tmp_path: Path, log_file: Path) -> None:
    events, counts = convert(tmp_path, log_file, bare_end_to_last_event=True)
    # C-3's bare end date, before its only event, moves to that event too (so it is not raised).
    assert counts["adjustments"]["end_moved_to_last_event"] == 2
    assert "clamped_to_end" not in counts["adjustments"] and "end_raised_to_start" not in counts["adjustments"]
    complete = events["C-1"][-1]
    assert complete.occurred_at == datetime(2024, 3, 8, 10, tzinfo=SH)
    assert complete.attributes["end_given"] == "2024-03-05T00:00:00+08:00"
    assert complete.attributes["adjustment"] == "end_moved_to_last_event"


def test_finished_and_end_can_be_read_from_events(tmp_path: Path, log_file: Path) -> None:
    decided = {"attribute": "concept:name", "in": ["decide"]}
    events, counts = convert(tmp_path, log_file, finished={"event": decided}, end={"first_event": decided})
    assert sorted(n for n, evs in events.items() if evs[-1].action is CaseAction.COMPLETE) == ["C-1", "C-2"]
    assert events["C-1"][-1].occurred_at == datetime(2024, 3, 4, 15, tzinfo=SH)   # the decision, not endDate
    assert events["C-2"][-1].occurred_at == datetime(2024, 3, 3, 11, tzinfo=SH)
    assert counts["adjustments"]["clamped_to_end"] == 1   # C-1's publication after its decision


def test_an_end_event_a_finished_case_lacks_is_counted(tmp_path: Path, log_file: Path) -> None:
    _, counts = convert(tmp_path, log_file, end={"last_event": {"attribute": "concept:name", "equals": "publish"}})
    assert counts["adjustments"]["end_missing_used_last_event"] == 2   # C-2 and C-3 never publish


def test_an_end_that_is_neither_an_attribute_nor_one_event_point_is_invalid(tmp_path: Path, log_file: Path) -> None:
    with pytest.raises(DomainError) as caught:
        convert(tmp_path, log_file, end={"first_event": {"attribute": "a", "equals": 1}, "last_event": {}})
    assert caught.value.code is ErrorCode.MAPPING_INVALID and caught.value.details["key"] == "case.end"


# --- through the ingest service, on both engines -------------------------------------------------

def test_import_reports_every_rule_and_the_ledger_keeps_what_the_log_said(engine, tmp_path: Path,
                                                                          log_file: Path) -> None:
    seen: list[ImportProgress] = []
    counts = import_file(engine, log_file, str(write_mapping(tmp_path, mapping_doc())), progress=seen.append)
    assert counts["refused"] == 0 and counts["cases"] == 3
    assert counts["adjustments"]["clamped_to_start"] == 1 and counts["adjustments"]["clamped_to_end"] == 1
    assert counts["missing_attributes"]["case.start"]["missing"] == 1
    assert [p.phase for p in seen] == ["check"] * 3 + ["import"] * 3
    assert seen[-1].cases == 3 and seen[-1].bytes_read == seen[-1].bytes_total == log_file.stat().st_size
    with Session(engine) as session:
        case = session.scalars(select(Case).where(Case.number == "C-1")).one()
        data = [e.data for e in session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id == case.id)
                                                .order_by(LedgerEvent.seq))]
    moved = [d for d in data if d.get("adjustment")]
    assert {(d["adjustment"], d["logged_at"]) for d in moved} == {
        ("clamped_to_start", "2024-02-28T10:00:00+08:00"), ("clamped_to_end", "2024-03-08T10:00:00+08:00")}


def test_refused_attribute_writes_nothing(engine, tmp_path: Path, log_file: Path) -> None:
    with pytest.raises(DomainError) as caught:
        import_file(engine, log_file, str(write_mapping(tmp_path, mapping_doc(start="startDat"))))
    assert caught.value.details["attribute"] == "startDat"
    with Session(engine) as session:
        assert session.scalars(select(LedgerEvent)).first() is None


def test_cli_prints_the_adjustments_and_refuses_a_non_xes_file(tmp_path: Path, log_file: Path, monkeypatch) -> None:
    from esupervision import db, settings
    from esupervision.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    mapping = str(write_mapping(tmp_path, mapping_doc()))
    try:
        result = CliRunner().invoke(main, ["import", str(log_file), "--mapping", mapping])
        assert result.exit_code == 0, result.output
        assert "clamped_to_start: 1" in result.output and "end_raised_to_start: 1" in result.output
        assert "case.start (startDate): missing in 1 of 3 cases" in result.output
        result = CliRunner().invoke(main, ["import", str(log_file), "--mapping", mapping, "--json"])
        body = json.loads(result.stdout.strip().splitlines()[-1])
        assert body["duplicates"] == body["reported"] and body["adjustments"]["clamped_to_end"] == 1
        html = tmp_path / "page.xes"
        html.write_text("<html><body/></html>", encoding="utf-8")
        result = CliRunner().invoke(main, ["import", str(html), "--mapping", mapping])
        assert result.exit_code == 2 and "IMPORT_FILE_INVALID" in result.output and "<log>" in result.output
    finally:
        settings.get_settings.cache_clear()
        db.get_engine.cache_clear()


def test_a_natural_day_clock_says_natural_days_in_the_timeline(engine, tmp_path: Path, log_file: Path) -> None:
    from esupervision.models.cases.timeline import _step_limit, case_timeline

    import_file(engine, log_file, str(write_mapping(tmp_path, mapping_doc())))
    with Session(engine) as session:
        case = session.scalars(select(Case).where(Case.number == "C-2")).one()
        titles = [entry.title for entry in case_timeline(session, case)]
    done = [t for t in titles if "用时" in t and "时限 20" in t]
    assert done and all("个自然日" in t for t in done), titles
    assert not any("个工作日" in t for t in titles), titles
    assert _step_limit(3, "natural") == "时限 3 个自然日" and _step_limit(3, "working") == "时限 3 个工作日"
