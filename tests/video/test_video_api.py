"""电子眼 through GraphQL: cameras as catalogue data kept by a center's management, every case
event at a window bookmarked in the recording of the window's camera (the offset read from the
playlist's EXT-X-PROGRAM-DATE-TIME, RFC 8216 §4.3.2.6), and moments marked as evidence by
supervision only (decision 9), on the case's story and the ledger."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.cases.report import CaseAction
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.video.recording import parse_playlist
from esupervision.settings import get_settings
from tests.builders import accept, apply, build_city, event
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)   # the fixed_time fixture's default instant


def playlist(*runs: tuple[datetime, int], segment: float = 2.0) -> str:
    """A VOD playlist as ffmpeg writes it with -hls_flags program_date_time: runs of segments,
    each run after a recorder restart (a discontinuity) starting at its own instant."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(segment)}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD"]
    n = 0
    for index, (start, count) in enumerate(runs):
        if index:
            lines.append("#EXT-X-DISCONTINUITY")
        for i in range(count):
            at = start + timedelta(seconds=i * segment)
            lines += [f"#EXT-X-PROGRAM-DATE-TIME:{at.strftime('%Y-%m-%dT%H:%M:%S.000%z')}",
                      f"#EXTINF:{segment:.6f},", f"index{n}.ts"]
            n += 1
    return "\n".join(lines + ["#EXT-X-ENDLIST", ""])


# 60 s from 08:59:50, the recorder down, then 10 s from 09:10:00.
RECORDING = playlist((T0 - timedelta(seconds=10), 30), (T0 + timedelta(minutes=10), 5))


def test_an_instant_maps_to_its_offset_by_the_segment_holding_it():
    recording = parse_playlist(RECORDING)
    assert recording.offset_at(T0) == 10.0
    assert recording.offset_at(T0 + timedelta(seconds=49.5)) == 59.5
    assert recording.offset_at(T0 + timedelta(minutes=5)) is None            # the gap
    assert recording.offset_at(T0 + timedelta(minutes=10, seconds=3)) == 63.0  # after the restart
    assert recording.offset_at(T0 - timedelta(seconds=11)) is None
    # Segments with no date of their own follow the one before; "Z" and "+08:00" are read too.
    bare = ("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-26T01:00:00Z\n#EXTINF:4,\na.ts\n#EXTINF:4,\nb.ts\n"
            "#EXT-X-PROGRAM-DATE-TIME:2026-11-26T09:00:30+08:00\n#EXTINF:4,\nc.ts\n")
    assert [parse_playlist(bare).offset_at(T0 + timedelta(seconds=s)) for s in (5, 31)] == [5.0, 9.0]
    with pytest.raises(ValueError):
        parse_playlist("<html>")


@pytest.fixture
def api(engine, fixed_time, tmp_path, monkeypatch):
    (tmp_path / "w01").mkdir()
    (tmp_path / "w01" / "index.m3u8").write_text(RECORDING, encoding="utf-8")
    monkeypatch.setenv("ESV_VIDEO_DIR", str(tmp_path))
    get_settings.cache_clear()
    build_city(engine)
    create_accounts(engine)
    yield GraphQLClient(engine)
    get_settings.cache_clear()


CREATE = """mutation($input: CameraInput!) { createCamera(input: $input) {
  id code name streamUrl playbackUrl retentionDays active window { code } } }"""
BOOKMARKS = """query($n: String!) { videoBookmarks(caseNumber: $n) {
  camera { code } at offsetSeconds status eventKind title caseNumber } }"""
MARK = """mutation($input: VideoEvidenceInput!) { markVideoEvidence(input: $input) {
  id camera { code } at offsetSeconds note caseNumber faultId markedBy } }"""


def camera_input(**kw):
    return {"centerCode": "C01", "code": "CAM-W01", "name": "1号窗口摄像头", "windowCode": "W01",
            "streamUrl": "/video/w01/index.m3u8", **kw}


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent)) or 0


def test_center_admins_keep_the_camera_catalogue_and_supervisors_read_it(api, engine):
    api.login("scj-leader")
    assert api.error_codes(CREATE, {"input": camera_input()}) == ["FORBIDDEN"]
    api.login("admin")
    before = ledger_size(engine)
    assert api.error_codes(CREATE, {"input": camera_input(streamUrl="ftp://x/y.mp4")}) == ["CAMERA_INVALID"]
    assert api.error_codes(CREATE, {"input": camera_input(retentionDays=0)}) == ["CAMERA_INVALID"]
    assert api.error_codes(CREATE, {"input": camera_input(windowCode="W99")}) == ["WINDOW_NOT_FOUND"]
    assert ledger_size(engine) == before
    camera = api.data(CREATE, {"input": camera_input()})["createCamera"]
    assert camera["window"] == {"code": "W01"} and camera["playbackUrl"] == "/video/w01/index.m3u8"
    assert camera["retentionDays"] == 90 and ledger_size(engine) == before + 1
    hall = api.data(CREATE, {"input": camera_input(code="CAM-HALL", name="一楼大厅", windowCode=None,
                                                   location="一楼大厅", streamUrl="rtsp://10.0.0.9/hall")})
    assert hall["createCamera"]["window"] is None and hall["createCamera"]["playbackUrl"] is None
    changed = api.data("""mutation($id: ID!, $input: CameraInput!) { updateCamera(id: $id, input: $input) {
        active retentionDays } }""", {"id": camera["id"], "input": camera_input(retentionDays=30, active=False)})
    assert changed["updateCamera"] == {"active": False, "retentionDays": 30}
    api.login("supervisor")
    assert [c["code"] for c in api.data("{ cameras { code } }")["cameras"]] == ["CAM-HALL"]
    assert [c["code"] for c in api.data("{ cameras(includeInactive: true) { code } }")["cameras"]] == [
        "CAM-HALL", "CAM-W01"]
    api.login("w01")
    assert api.error_codes("{ cameras { code } }") == ["FORBIDDEN"]


def test_each_case_event_at_the_window_is_bookmarked_at_its_offset_and_supervision_marks_evidence(
        api, engine, fixed_time):
    api.login("admin")
    camera = api.data(CREATE, {"input": camera_input()})["createCamera"]
    accept(engine, "N1", T0)
    fixed_time.advance(minutes=10, seconds=3)
    apply(engine, event("N1", CaseAction.ADVANCE, T0 + timedelta(minutes=10, seconds=3)))
    fixed_time.advance(minutes=2)
    accepted_late = T0 + timedelta(minutes=5)    # a second case, accepted while the recorder was down
    apply(engine, event("N2", CaseAction.ACCEPT, accepted_late, center_code="C01", item_code="SCJ-001",
                        window_code="W01", staff_code="S01", applicant_name="王芳"))

    api.login("supervisor")
    marks = api.data(BOOKMARKS, {"n": "N1"})["videoBookmarks"]
    by_kind = {(m["eventKind"], m["offsetSeconds"]) for m in marks}
    assert ("case.accept", 10.0) in by_kind and ("case.advance", 63.0) in by_kind
    assert {m["status"] for m in marks} == {"RECORDED"} and {m["camera"]["code"] for m in marks} == {"CAM-W01"}
    accept_mark = next(m for m in marks if m["eventKind"] == "case.accept")
    assert datetime.fromisoformat(accept_mark["at"]) == T0 and accept_mark["title"] == "受理"
    gap = api.data(BOOKMARKS, {"n": "N2"})["videoBookmarks"]
    assert {(m["eventKind"], m["status"], m["offsetSeconds"]) for m in gap} >= {("case.accept", "NOT_RECORDED", None)}

    # Window staff see their cases but never mark evidence (decision 9); the mark is refused unchanged.
    moment = {"cameraId": camera["id"], "at": (T0 + timedelta(seconds=20)).isoformat(), "caseNumber": "N1",
              "note": "窗口人员离岗，申请人等候"}
    api.login("w01")
    before = ledger_size(engine)
    assert api.error_codes(MARK, {"input": moment}) == ["FORBIDDEN"]
    assert api.error_codes(BOOKMARKS, {"n": "N1"}) == ["FORBIDDEN"]
    assert ledger_size(engine) == before
    api.login("supervisor")
    future = {**moment, "at": (T0 + timedelta(hours=1)).isoformat()}
    assert api.error_codes(MARK, {"input": future}) == ["VIDEO_NOT_RECORDED"]
    expired = {**moment, "at": (T0 - timedelta(days=91)).isoformat()}
    assert api.error_codes(MARK, {"input": expired}) == ["VIDEO_NOT_RECORDED"]
    marked = api.data(MARK, {"input": moment})["markVideoEvidence"]
    assert (marked["offsetSeconds"], marked["caseNumber"], marked["markedBy"]) == (30.0, "N1", "supervisor:supervisor")
    assert ledger_size(engine) == before + 1
    listed = api.data("""query { videoEvidence(caseNumber: "N1") { note offsetSeconds camera { code } } }""")
    assert listed["videoEvidence"] == [{"note": "窗口人员离岗，申请人等候", "offsetSeconds": 30.0,
                                        "camera": {"code": "CAM-W01"}}]
    story = api.data('{ case(number: "N1") { timeline { kind title } } }')["case"]["timeline"]
    assert {"kind": "video.evidence", "title": "录像取证：1号窗口摄像头（窗口人员离岗，申请人等候）"} in story
    # A recorded fault carries its evidence too.
    fault = api.data("""mutation($input: RecordFaultInput!) { recordFault(input: $input) { id } }""",
                     {"input": {"kind": "conduct", "description": "窗口人员离岗", "caseNumber": "N1"}})
    fault_id = fault["recordFault"]["id"]
    api.data(MARK, {"input": {**moment, "caseNumber": None, "faultId": fault_id, "note": "离岗 20 秒"}})
    by_fault = api.data("query($f: ID!) { videoEvidence(faultId: $f) { note caseNumber faultId } }", {"f": fault_id})
    assert by_fault["videoEvidence"] == [{"note": "离岗 20 秒", "caseNumber": "N1", "faultId": fault_id}]
