"""电子眼 in Chromium: a real HLS stream (Debian's ffmpeg test pattern, 2 s segments with their
EXT-X-PROGRAM-DATE-TIME) served by esv serve from ESV_VIDEO_DIR is played by hls.js beside a case;
the bookmark of the case's acceptance at the window seeks the player to the offset the playlist
gives for that instant (RFC 8216 §4.3.2.6), and a supervisor marks the moment as evidence."""
from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from esupervision.models.video.recording import parse_playlist
from esupervision.video_demo import ffmpeg_test_stream
from tests.conftest import unreachable
from tests.screens.conftest import CONSOLE_VIEWPORT, shoot, signed_in
from tests.servers import Server, serving

pytestmark = pytest.mark.slow

SEGMENT_S = 2.0


@pytest.fixture(scope="module")
def video_server(pages_built, demo_template, tmp_path_factory) -> Iterator[tuple[Server, Path]]:
    if shutil.which("ffmpeg") is None:
        unreachable("ffmpeg", "not installed (apt-get install ffmpeg)")
    folder = tmp_path_factory.mktemp("video-server")
    database = folder / "demo.db"
    database.write_bytes(demo_template.read_bytes())
    (folder / "video").mkdir()
    with serving(f"sqlite:///{database}", folder, env={"ESV_WEB_BUILD": "false", "ESV_VIDEO_DIR": str(folder / "video")}) as server:
        # 40 s of test pattern stamped from now: the case accepted next is filmed in it.
        playlist = ffmpeg_test_stream(folder / "video" / "w003", seconds=40, size="320x180")
        yield server, playlist


def test_a_bookmark_seeks_the_live_recording_to_the_cases_event_and_a_supervisor_marks_it(browser, video_server):
    server, playlist = video_server
    supervisor = server.login("supervisor")
    server.graphql("""mutation($i: CameraInput!) { createCamera(input: $i) { id } }""",
                   {"i": {"centerCode": "QH", "code": "CAM-T-W003", "name": "教育3号窗口测试摄像头", "windowCode": "W003",
                          "streamUrl": "/video/w003/index.m3u8", "retentionDays": 30}}, token=supervisor)
    number = f"QH-VIDEO-{uuid.uuid4().hex[:6].upper()}"
    server.graphql("""mutation($i: AcceptCaseInput!) { acceptCase(input: $i) { number } }""",
                   {"i": {"number": number, "centerCode": "QH", "itemCode": "JYJ-FW-004", "windowCode": "W003",
                          "applicantName": "钱坤"}}, token=server.login("window"))
    marks = server.graphql("""query($n: String!) { videoBookmarks(caseNumber: $n) { camera { code } at offsetSeconds
        status eventKind } }""", {"n": number}, token=supervisor)["videoBookmarks"]
    accepted = next(m for m in marks if m["eventKind"] == "case.accept" and m["camera"]["code"] == "CAM-T-W003")
    recording = parse_playlist(playlist.read_text(encoding="utf-8"))
    assert accepted["status"] == "RECORDED"
    assert accepted["offsetSeconds"] == recording.offset_at(datetime.fromisoformat(accepted["at"]))
    assert 0 <= accepted["offsetSeconds"] < 40

    context = browser.new_context(viewport=CONSOLE_VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        signed_in(page, server, "supervisor")
        page.goto(f"/console/cases/{number}")
        panel = page.locator("[data-testid=video-panel]")
        panel.scroll_into_view_if_needed()
        # hls.js has the stream: the player has its duration (40 s of segments).
        page.wait_for_function("() => document.querySelector('[data-testid=video-player]')?.duration > 30", timeout=30_000)
        offset = accepted["offsetSeconds"]
        button = page.locator(f"[data-testid=video-bookmarks] button[data-offset='{offset}']").first
        button.click()
        page.wait_for_function(
            "([o, s]) => { const v = document.querySelector('[data-testid=video-player]');"
            " return v.readyState >= 2 && Math.abs(v.currentTime - o) <= s }",
            arg=[offset, SEGMENT_S], timeout=30_000)
        position = page.evaluate("() => document.querySelector('[data-testid=video-player]').currentTime")
        assert abs(position - offset) <= SEGMENT_S
        page.fill("[data-testid=evidence-note]", "受理时未一次性告知所需材料")
        page.click("[data-testid=mark-evidence]")
        page.wait_for_selector("[data-testid=mark-result].ok", timeout=15_000)
        page.wait_for_function("() => document.querySelector('[data-testid=video-evidence]').innerText.includes('一次性告知')")
        evidence = server.graphql("query($n: String!) { videoEvidence(caseNumber: $n) { note offsetSeconds camera { code } } }",
                                  {"n": number}, token=supervisor)["videoEvidence"]
        assert [(e["note"], e["camera"]["code"]) for e in evidence] == [("受理时未一次性告知所需材料", "CAM-T-W003")]
        assert abs(evidence[0]["offsetSeconds"] - position) <= SEGMENT_S
        panel.scroll_into_view_if_needed()
        shoot(page, "console-case-video")
        page.goto(f"/console/video?window=W003&case={number}")
        page.wait_for_selector("[data-testid=video-bookmarks] button")
        page.wait_for_selector(f"[data-testid=video-cases] tr[data-number='{number}']")
        shoot(page, "console-video")
    finally:
        context.close()
    assert errors == [], f"Chromium console errors: {errors}"
