"""The reading half of ``esv import``: log files and mappings to cases of reported events.

Checked against the real logs in ``shared/data`` (beside the repository, or ``ESV_SHARED_DATA``),
each parsed once per module. Without the data these tests skip, except under ``CI=true``.
"""
from __future__ import annotations

import gzip
import os
import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esupervision.importing.convert import ImportedCase, _pair, load_cases, summary
from esupervision.importing.csvlog import CsvColumns, read_csv
from esupervision.importing.mapping import RULE_ACTIONS, builtin_mapping_names, load_mapping
from esupervision.importing.xes import read_xes
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.cases.report import CaseAction

REPO_ROOT = Path(__file__).resolve().parents[2]
IMPORTING = REPO_ROOT / "esupervision" / "importing"
EXAMPLE_CSV = IMPORTING / "examples" / "cases.csv"
BPIC15_COUNTS = {1: (1199, 52_217), 2: (832, 44_354), 3: (1409, 59_681)}
BPIC15_SUPPLEMENT_PAIRS = {1: 283, 2: 157, 3: 275}
PAUSE_CLOSES = {CaseAction.REQUEST_SUPPLEMENT: CaseAction.SUPPLEMENT_RECEIVED, CaseAction.SUSPEND: CaseAction.RESUME}


def shared_data() -> Path:
    """``$ESV_SHARED_DATA``, else ``shared/data`` beside the repository (as CI lays it out)."""
    folder = Path(os.environ["ESV_SHARED_DATA"]) if os.environ.get("ESV_SHARED_DATA") \
        else REPO_ROOT.parent / "shared" / "data"
    return folder


def data_file(name: str) -> Path:
    path = shared_data() / name
    if not path.is_file():
        message = (f"real log {name} not found in {path.parent}: put the logs of shared/data/README.md "
                   f"in ../shared/data beside the repository, or set ESV_SHARED_DATA to their folder")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def receipt_cases() -> list[ImportedCase]:
    return load_cases(data_file("receipt.xes.gz"), "receipt")


@pytest.fixture(scope="module", params=sorted(BPIC15_COUNTS), ids=lambda n: f"BPIC15_{n}")
def bpic15(request: pytest.FixtureRequest) -> tuple[int, list[ImportedCase]]:
    n = request.param
    return n, load_cases(data_file(f"BPIC15_{n}.xes.gz"), "bpic15")


def assert_ingestible(cases: list[ImportedCase]) -> None:
    """Every case is a sequence the core's state machine accepts, in time order."""
    ids: set[str] = set()
    for case in cases:
        events = case.events
        assert events[0].action is CaseAction.ACCEPT, case.number
        accept = events[0]
        assert accept.item_code and accept.center_code and accept.department_code, case.number
        assert accept.item_code == case.catalogue.item_code
        completes = [i for i, e in enumerate(events) if e.action is CaseAction.COMPLETE]
        assert completes == ([len(events) - 1] if case.finished else []), case.number
        if case.finished:
            assert events[-1].attributes["result"] == "approved"
            assert set(events[-1].attributes) <= {"result", "adjustment", "end_given"}
        assert len(events) == case.source_events + 1 + int(case.finished)
        paused: CaseAction | None = None
        extended = False
        for before, after in zip(events, events[1:]):
            assert before.occurred_at <= after.occurred_at, case.number
        for event in events:
            assert event.case_number == case.number
            assert event.occurred_at.tzinfo is not None and event.occurred_at.utcoffset() is not None
            assert event.source_event_id not in ids
            ids.add(event.source_event_id)
            if event.action in PAUSE_CLOSES:
                assert paused is None, f"{case.number}: second pause"
                paused = PAUSE_CLOSES[event.action]
            elif event.action in PAUSE_CLOSES.values():
                assert paused is event.action, f"{case.number}: resume without pause"
                paused = None
            elif event.action is CaseAction.EXTEND:
                assert not extended, f"{case.number}: second extension"
                extended = True
            elif event.action is CaseAction.STEP:
                assert event.attributes["activity"] and event.step_name
        assert paused is None, f"{case.number}: still paused at its end"


# --- the real logs ----------------------------------------------------------------------------

def test_receipt_counts_and_deadlines(receipt_cases: list[ImportedCase]) -> None:
    counts = summary(receipt_cases)
    assert (counts["cases"], counts["source_events"], counts["finished"]) == (1434, 8577, 1329)
    assert counts["events"] == 8577 + 1434 + 1329
    assert all(case.deadline is not None for case in receipt_cases)
    # finished = has `enddate`; end = that instant (COMPLETE's time); late = end > deadline.
    late = [c for c in receipt_cases if c.finished and c.events[-1].occurred_at > c.deadline]
    assert len(late) == 377
    for case in receipt_cases:
        assert case.events[0].attributes == {"due_at": case.deadline.isoformat()}
        assert case.catalogue.basis == "natural"


def test_receipt_complete_is_at_enddate(receipt_cases: list[ImportedCase]) -> None:
    traces = {t.attributes["concept:name"]: t for t in read_xes(data_file("receipt.xes.gz"))}
    for case in receipt_cases:
        trace = traces[case.number]
        assert case.finished is ("enddate" in trace.attributes)
        assert case.events[0].occurred_at == trace.attributes["startdate"]
        if case.finished and not case.adjustments.get("end_raised_to_start"):
            assert case.events[-1].occurred_at == trace.attributes["enddate"]
    assert summary(receipt_cases)["adjustments"] == {"clamped_to_end": 180, "clamped_to_start": 12,
                                                      "end_raised_to_start": 2}


def test_receipt_is_ingestible(receipt_cases: list[ImportedCase]) -> None:
    assert_ingestible(receipt_cases)


@pytest.mark.slow
def test_bpic15_counts(bpic15: tuple[int, list[ImportedCase]]) -> None:
    n, cases = bpic15
    counts = summary(cases)
    assert (counts["cases"], counts["source_events"]) == BPIC15_COUNTS[n]
    assert counts["events"] == counts["source_events"] + counts["cases"] + counts["finished"]
    assert counts["by_action"]["accept"] == counts["cases"]
    assert counts["by_action"]["complete"] == counts["finished"]


@pytest.mark.slow
def test_bpic15_is_ingestible(bpic15: tuple[int, list[ImportedCase]]) -> None:
    assert_ingestible(bpic15[1])


@pytest.mark.slow
def test_bpic15_catalogue_and_supplements(bpic15: tuple[int, list[ImportedCase]]) -> None:
    n, cases = bpic15
    assert {c.catalogue.center_code for c in cases} == {f"BPIC15-M{n}"}
    assert all(c.number.startswith(f"BPIC15-M{n}-") for c in cases)
    items = {c.catalogue.item_code: c.catalogue for c in cases}
    assert set(items) == {"BPIC15-REGULIER", "BPIC15-UITGEBREID"}
    regular, extended = items["BPIC15-REGULIER"], items["BPIC15-UITGEBREID"]
    assert (regular.legal_days, regular.extension_days, regular.basis) == (56, 42, "natural")
    assert (extended.legal_days, extended.basis) == (182, "natural")
    by_action = summary(cases)["by_action"]
    assert by_action["request_supplement"] == by_action["supplement_received"] == BPIC15_SUPPLEMENT_PAIRS[n]
    requested = [e for c in cases for e in c.events if e.action is CaseAction.REQUEST_SUPPLEMENT]
    assert {e.attributes["activity"] for e in requested} == {"08_AWB45_010"}


@pytest.mark.slow
def test_bpic15_events_outside_the_case_are_kept_with_their_logged_time(
        bpic15: tuple[int, list[ImportedCase]]) -> None:
    _, cases = bpic15
    moved = [e for c in cases for e in c.events if "logged_at" in e.attributes]
    adjustments = summary(cases)["adjustments"]
    assert len(moved) == adjustments.get("clamped_to_start", 0) + adjustments.get("clamped_to_end", 0) > 0
    for event in moved:
        assert datetime.fromisoformat(event.attributes["logged_at"]) != event.occurred_at


# --- the XES reader -----------------------------------------------------------------------------

SMALL_XES = """<?xml version="1.0" encoding="UTF-8" ?>
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
  <global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>
  <int key="meta:total" value="2"><int key="nested" value="1"/></int>
  <trace>
    <string key="concept:name" value="A-1"/>
    <date key="startDate" value="2024-01-02T00:00:00"/>
    <int key="size" value="7"/>
    <float key="fee" value="12.5"/>
    <boolean key="requestComplete" value="true"/>
    <string key="with_child" value="x"><string key="child" value="ignored"/></string>
    <event>
      <string key="concept:name" value="register"/>
      <date key="time:timestamp" value="2024-01-02T09:30:00.250+01:00"/>
      <string key="org:resource" value="r1"/>
    </event>
    <event>
      <string key="concept:name" value="decide"/>
      <date key="time:timestamp" value="2024-01-05T10:00:00Z"/>
    </event>
  </trace>
  <trace><string key="concept:name" value="A-2"/><date key="startDate" value="2024-02-01T00:00:00+01:00"/></trace>
</log>
"""


# SMALL_XES with every attribute the bpic15 mapping names carried by some case or event.
BPIC15_LIKE = SMALL_XES.replace(
    '<int key="size" value="7"/>',
    '<int key="size" value="7"/><string key="caseStatus" value="G"/><string key="caseProcedure" value="Regulier"/>'
    '<date key="endDate" value="2024-01-06T00:00:00+01:00"/>',
).replace('<string key="org:resource" value="r1"/>',
          '<string key="org:resource" value="r1"/><string key="activityNameEN" value="register"/>')


def test_read_xes_types_values_and_skips_what_no_mapping_needs(tmp_path: Path) -> None:
    path = tmp_path / "small.xes"
    path.write_text(SMALL_XES, encoding="utf-8")
    first, second = list(read_xes(path))
    assert first.attributes == {
        "concept:name": "A-1", "startDate": datetime(2024, 1, 2, tzinfo=timezone.utc), "size": 7,
        "fee": 12.5, "requestComplete": True, "with_child": "x",
    }
    assert first.events[0] == {
        "concept:name": "register", "org:resource": "r1",
        "time:timestamp": datetime(2024, 1, 2, 9, 30, 0, 250_000, tzinfo=timezone(timedelta(hours=1))),
    }
    assert first.events[1]["time:timestamp"] == datetime(2024, 1, 5, 10, tzinfo=timezone.utc)
    assert second.attributes == {"concept:name": "A-2",
                                 "startDate": datetime(2024, 2, 1, tzinfo=timezone(timedelta(hours=1)))}
    assert second.events == []


def test_gzip_is_detected_by_content_not_by_name(tmp_path: Path) -> None:
    zipped_as_xes = tmp_path / "log.xes"
    zipped_as_xes.write_bytes(gzip.compress(SMALL_XES.encode()))
    plain_as_gz = tmp_path / "log.xes.gz"
    plain_as_gz.write_text(SMALL_XES, encoding="utf-8")
    assert [t.attributes["concept:name"] for t in read_xes(zipped_as_xes)] == ["A-1", "A-2"]
    assert [t.attributes["concept:name"] for t in read_xes(plain_as_gz)] == ["A-1", "A-2"]


def test_truncated_gzip_is_refused_with_file_line_and_last_trace(tmp_path: Path) -> None:
    whole = data_file("receipt.xes.gz").read_bytes()
    cut = tmp_path / "receipt-cut.xes.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DomainError) as caught:
        load_cases(cut, "receipt")
    error = caught.value
    assert error.code is ErrorCode.IMPORT_FILE_INVALID
    assert str(cut) in error.message and error.details["path"] == str(cut)
    assert str(error.details["trace"]).startswith("case-") and error.details["line"] > 1


def test_truncated_xml_is_refused_with_file_line_and_last_trace(tmp_path: Path) -> None:
    with gzip.open(data_file("receipt.xes.gz"), "rb") as stream:
        text = stream.read()
    cut = tmp_path / "receipt-cut.xes"
    cut.write_bytes(text[: int(len(text) * 0.6)])
    with pytest.raises(DomainError) as caught:
        load_cases(cut, "receipt")
    error = caught.value
    assert error.code is ErrorCode.IMPORT_FILE_INVALID
    assert str(cut) in error.message
    assert str(error.details["trace"]).startswith("case-")
    assert str(error.details["trace"]) in error.message and f"第 {error.details['line']} 行" in error.message


def test_malformed_value_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.xes"
    path.write_text(SMALL_XES.replace('value="7"', 'value="seven"'), encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        list(read_xes(path))
    assert caught.value.code is ErrorCode.IMPORT_FILE_INVALID
    assert caught.value.details["line"] == 8 and "size" in caught.value.message


# --- the CSV reader and the example ---------------------------------------------------------------

def test_csv_example_groups_unsorted_rows_into_chinese_cases() -> None:
    cases = {c.number: c for c in load_cases(EXAMPLE_CSV, "csv-example")}
    counts = summary(cases.values())
    assert (counts["cases"], counts["source_events"], counts["finished"]) == (5, 17, 4)
    assert_ingestible(list(cases.values()))
    first = cases["SF2024030001"]
    assert first.catalogue.center_name == "示范市政务服务中心"
    assert (first.catalogue.item_name, first.catalogue.department_name) == ("建设工程规划许可证核发", "示范市自然资源和规划局")
    assert (first.catalogue.committed_days, first.catalogue.legal_days, first.catalogue.basis) == (10, 20, "working")
    accept = first.events[0]
    assert accept.occurred_at == datetime(2024, 3, 4, 9, 15, tzinfo=timezone(timedelta(hours=8)))
    assert (accept.applicant_name, accept.channel, accept.staff_code) == ("示范建筑设计有限公司", "窗口", "张伟")
    assert [e.action for e in first.events] == [
        CaseAction.ACCEPT, CaseAction.STEP, CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUPPLEMENT_RECEIVED,
        CaseAction.STEP, CaseAction.STEP, CaseAction.STEP, CaseAction.COMPLETE]
    assert first.events[-1].occurred_at == datetime(2024, 3, 15, 16, 30, tzinfo=timezone(timedelta(hours=8)))
    assert cases["SF2024030002"].catalogue.item_code == "SPJY-002"
    # an open case's lone request, and a receipt nobody asked for, stay steps, marked
    assert not cases["SF2024030003"].finished
    assert cases["SF2024030003"].events[-1].attributes == {"activity": "补正告知", "unpaired": "request_supplement"}
    assert cases["SF2024030005"].events[1].attributes["unpaired"] == "supplement_received"
    extend = [e for e in cases["SF2024030004"].events if e.action is CaseAction.EXTEND]
    assert [e.attributes for e in extend] == [{"activity": "延期审批", "days": 5, "approved_by": "赵强"}]


def test_csv_missing_mapped_column_names_column_and_file(tmp_path: Path) -> None:
    lines = EXAMPLE_CSV.read_text(encoding="utf-8").splitlines()
    without = tmp_path / "no-staff.csv"
    drop = lines[0].split(",").index("经办人")
    without.write_text("\n".join(",".join(c for i, c in enumerate(l.split(",")) if i != drop) for l in lines),
                       encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        load_cases(without, "csv-example")
    assert caught.value.code is ErrorCode.IMPORT_FILE_INVALID
    assert "经办人" in caught.value.message and str(without) in caught.value.message
    assert caught.value.details["column"] == "经办人"


def test_csv_bad_timestamp_names_the_row(tmp_path: Path) -> None:
    text = EXAMPLE_CSV.read_text(encoding="utf-8").replace("2024-03-06 14:00", "6 March afternoon")
    bad = tmp_path / "bad-time.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        load_cases(bad, "csv-example")
    assert caught.value.code is ErrorCode.IMPORT_FILE_INVALID
    assert caught.value.details["line"] == 8 and "第 8 行" in caught.value.message
    assert "6 March afternoon" in caught.value.message


def test_read_csv_gzipped_and_semicolon_separated(tmp_path: Path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(gzip.compress("case;act;at\nB;two;2024-05-02\nA;one;2024-05-01 08:00\nB;one;2024-05-01\n".encode()))
    traces = list(read_csv(path, CsvColumns(case="case", activity="act", timestamp="at", delimiter=";")))
    assert [t.attributes["case"] for t in traces] == ["B", "A"]
    assert [e["act"] for e in traces[0].events] == ["two", "one"]
    assert traces[1].events[0]["at"] == datetime(2024, 5, 1, 8, tzinfo=timezone.utc)


# --- mappings -----------------------------------------------------------------------------------

def test_builtin_mappings_load() -> None:
    assert {"bpic15", "receipt", "csv-example"} <= set(builtin_mapping_names())
    for name in ("bpic15", "receipt", "csv-example"):
        assert load_mapping(name).name == name


def test_unknown_mapping_name_is_not_found() -> None:
    with pytest.raises(DomainError) as caught:
        load_mapping("bpic16")
    assert caught.value.code is ErrorCode.MAPPING_NOT_FOUND and "bpic16" in caught.value.message


def write_mapping(tmp_path: Path, replace: tuple[str, str]) -> Path:
    text = (IMPORTING / "mappings" / "csv-example.yaml").read_text(encoding="utf-8")
    assert replace[0] in text
    path = tmp_path / "mine.yaml"
    path.write_text(text.replace(*replace), encoding="utf-8")
    return path


@pytest.mark.parametrize(("replace", "key"), [
    (("action: request_supplement", "action: pause_clock"), "rules[0].action"),
    (("action: request_supplement", "action: complete"), "rules[0].action"),
    (("  resource: 经办人", "  resourse: 经办人"), "event.resourse"),
    (("committed_days: 10", "committed_days: 30"), "catalogue.items[0].committed_days"),
    (("basis: working", "basis: lunar"), "catalogue.basis"),
    (('pattern: "延期(审批)?"', 'pattern: "延期(("'), "rules[2].pattern"),
    (("format: csv", "format: xlsx"), "format"),
])
def test_invalid_mapping_names_the_key_and_file(tmp_path: Path, replace: tuple[str, str], key: str) -> None:
    path = write_mapping(tmp_path, replace)
    with pytest.raises(DomainError) as caught:
        load_mapping(path)
    assert caught.value.code is ErrorCode.MAPPING_INVALID
    assert caught.value.details["key"] == key
    assert key in caught.value.message and str(path) in caught.value.message


def test_mapping_that_is_not_yaml_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("format: csv\ncase: [unclosed\n", encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        load_mapping(path)
    assert caught.value.code is ErrorCode.MAPPING_INVALID and str(path) in caught.value.message


def test_municipality_comes_from_the_file_name_or_an_option(tmp_path: Path) -> None:
    renamed = tmp_path / "permits.xes"
    renamed.write_text(BPIC15_LIKE, encoding="utf-8")
    with pytest.raises(DomainError) as caught:
        load_cases(renamed, "bpic15")
    assert caught.value.code is ErrorCode.MAPPING_INVALID and caught.value.details["option"] == "municipality"
    cases = load_cases(renamed, "bpic15", options={"municipality": "7"})
    assert [c.number for c in cases] == ["BPIC15-M7-A-1", "BPIC15-M7-A-2"]
    assert cases[0].catalogue.center_code == "BPIC15-M7"
    named = tmp_path / "BPIC15_4_sample.xes"
    shutil.copy(renamed, named)
    assert load_cases(named, "bpic15")[0].catalogue.center_code == "BPIC15-M4"


def test_case_without_any_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "BPIC15_9.xes"
    path.write_text(BPIC15_LIKE.replace('<date key="startDate" value="2024-01-02T00:00:00"/>', ""), encoding="utf-8")
    cases = load_cases(path, "bpic15")  # A-1 starts at its first event
    assert cases[0].events[0].occurred_at == datetime(2024, 1, 2, 9, 30, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(DomainError) as caught:  # A-2 has neither a start nor events
        load_cases(path, "receipt")
    assert caught.value.code is ErrorCode.IMPORT_FILE_INVALID and caught.value.details["trace"] == "A-2"


# --- pairing --------------------------------------------------------------------------------------

@given(st.lists(st.sampled_from(sorted(RULE_ACTIONS)), max_size=30))
def test_pairing_always_yields_a_sequence_the_state_machine_accepts(actions: list[CaseAction]) -> None:
    paired = _pair(actions)
    assert len(paired) == len(actions)
    paused: CaseAction | None = None
    kept = Counter()
    for original, (action, unpaired) in zip(actions, paired):
        assert action is (CaseAction.STEP if unpaired else original)
        if action in PAUSE_CLOSES:
            assert paused is None
            paused = PAUSE_CLOSES[action]
        elif action in PAUSE_CLOSES.values():
            assert paused is action
            paused = None
        kept[action] += 1
    assert paused is None and kept[CaseAction.EXTEND] <= 1
    # nothing is demoted that could have been kept: a request directly followed by its receipt pairs
    if actions[:2] == [CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUPPLEMENT_RECEIVED]:
        assert [a for a, _ in paired[:2]] == actions[:2]
