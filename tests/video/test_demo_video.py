"""The demo's 电子眼: a camera at every window of the city center and two in its halls, on a test
stream ffmpeg makes with a program date time on every segment (what bookmarks are computed from)
and a recording of today's opening hours repeating it, or a console line in Chinese saying
ffmpeg is missing."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from esupervision import demo_names, video_demo
from esupervision.models.catalogue.catalogue import Window
from esupervision.models.video.camera import Camera
from esupervision.models.video.recording import parse_playlist
from tests.builders import build_city
from tests.conftest import unreachable

SH = ZoneInfo("Asia/Shanghai")


def test_the_demo_gives_every_window_a_camera_and_the_halls_two_once(engine, fixed_time, monkeypatch):
    build_city(engine)
    monkeypatch.setattr(demo_names, "CITY_CODE", "C01")   # tests.builders' city stands for the demo's
    assert video_demo.build_video_demo(engine) == {"cameras": 1 + len(video_demo.HALLS)}
    assert video_demo.build_video_demo(engine) == {"cameras": 0}   # idempotent: esv serve --demo at every start
    with Session(engine) as s:
        cameras = s.scalars(select(Camera).order_by(Camera.code)).all()
        window = s.scalars(select(Window).where(Window.code == "W01")).one()
    assert [(c.code, c.window_id, c.location) for c in cameras] == [
        ("CAM-W01", window.id, None), ("HALL-1F", None, "一楼大厅"), ("HALL-2F", None, "二楼大厅")]
    assert {(c.stream_url, c.recording_url) for c in cameras} == {(video_demo.STREAM_URL, video_demo.RECORDING_URL)}


def test_without_ffmpeg_the_demo_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "未安装 ffmpeg" in video_demo.prepare_demo_video(tmp_path)
    assert not (tmp_path / video_demo.STREAM).exists()


def test_the_test_stream_is_stamped_from_the_moment_it_is_made(tmp_path):
    if shutil.which("ffmpeg") is None:
        unreachable("ffmpeg", "not installed (apt-get install ffmpeg)")
    made = datetime.now(timezone.utc)
    line = video_demo.prepare_demo_video(tmp_path)
    assert "已生成" in line
    recording = parse_playlist((tmp_path / video_demo.STREAM / "index.m3u8").read_text(encoding="utf-8"))
    assert len(recording.segments) == 30 and {s.duration for s in recording.segments} == {2.0}
    assert abs(recording.starts_at - made) < timedelta(seconds=30)
    assert recording.offset_at(recording.starts_at + timedelta(seconds=31)) == 31.0
    assert "电子眼演示视频流" in video_demo.prepare_demo_video(tmp_path)   # made once, kept
    # Today's opening hours repeat the clip, each pass stamped: 10:00:31 local is 31 s into a pass.
    today = parse_playlist((tmp_path / video_demo.STREAM / "today.m3u8").read_text(encoding="utf-8"))
    ten = datetime.now(SH).replace(hour=10, minute=0, second=31, microsecond=0)
    assert today.offset_at(ten) == 2 * 3600 + 31.0
    assert today.offset_at(ten.replace(hour=7)) is None and today.offset_at(ten.replace(hour=21)) is None
