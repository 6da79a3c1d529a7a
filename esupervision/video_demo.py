"""电子眼 for the demo: a camera at every window of the demo city's center and two in its halls,
all pointing at one HLS test stream that `esv serve --demo` serves from ESV_VIDEO_DIR, made with
ffmpeg's test pattern when ffmpeg is installed (said on the console when it is not), and a
recording of today's opening hours that repeats it, so today's cases have footage to bookmark."""
from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esupervision import demo_names as names
from esupervision.models.catalogue.catalogue import Center, Window
from esupervision.models.ledger.transaction import transaction
from esupervision.models.video.camera import Camera, CameraSpec, create_camera
from esupervision.settings import get_settings

STREAM = "demo"                                  # /video/demo/index.m3u8
STREAM_URL = f"/video/{STREAM}/index.m3u8"
# The demo's recorder "ran" over today's opening hours (local): the test pattern repeated, each
# repetition a recorder restart with its own program date time, so today's cases have footage.
RECORDING_URL = f"/video/{STREAM}/today.m3u8"
OPENING = (8, 20)
HALLS = (("HALL-1F", "一楼大厅全景", "一楼大厅"), ("HALL-2F", "二楼大厅全景", "二楼大厅"))


def ffmpeg_test_stream(folder: Path, *, seconds: int = 60, size: str = "640x360") -> Path:
    """A VOD HLS stream of ffmpeg's test pattern (2 s segments, each with its
    EXT-X-PROGRAM-DATE-TIME from the moment it is made) in ``folder``; its playlist's path.
    Raises ``FileNotFoundError`` without ffmpeg, ``subprocess.CalledProcessError`` if it fails."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise FileNotFoundError("ffmpeg")
    folder.mkdir(parents=True, exist_ok=True)
    playlist = folder / "index.m3u8"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=25",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
                    "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_flags", "program_date_time",
                    "-hls_segment_filename", str(folder / "seg%03d.ts"), str(playlist)],
                   check=True, capture_output=True, timeout=300)
    return playlist


def looped_recording(clip: str, *, start: datetime, end: datetime) -> str:
    """A VOD playlist that plays ``clip``'s segments again and again from ``start`` to ``end``,
    each pass stamped with its own EXT-X-PROGRAM-DATE-TIME after a discontinuity."""
    segments: list[tuple[float, str]] = []
    duration = 0.0
    for line in (line.strip() for line in clip.splitlines()):
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#"):
            segments.append((duration, line))
    length = sum(duration for duration, _ in segments)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(max(d for d, _ in segments) + 0.999)}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    at = start
    while at < end:
        if at > start:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{at.isoformat(timespec='milliseconds')}")
        for duration, name in segments:
            lines += [f"#EXTINF:{duration:.6f},", name]
        at += timedelta(seconds=length)
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def prepare_demo_video(folder: Path) -> str:
    """Make the demo's test stream in ``folder`` unless it is there; a line for the console."""
    playlist = folder / STREAM / "index.m3u8"
    if playlist.exists():
        _write_recording(playlist)
        return f"电子眼演示视频流：{playlist}（/video/{STREAM}/index.m3u8）"
    try:
        ffmpeg_test_stream(folder / STREAM)
        _write_recording(playlist)
    except FileNotFoundError:
        return "电子眼：未安装 ffmpeg，演示摄像头没有视频流（apt-get install ffmpeg 后重启即生成测试画面）"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return f"电子眼：ffmpeg 生成测试视频失败（{error}），演示摄像头没有视频流"
    return (f"电子眼演示视频流已生成：{playlist}（ffmpeg 测试画面 60 秒，/video/{STREAM}/index.m3u8；"
            f"今日 {OPENING[0]:02d}:00–{OPENING[1]:02d}:00 的演示录像循环播放该画面）")


def _write_recording(playlist: Path) -> None:
    zone = ZoneInfo(get_settings().timezone)
    today = datetime.now(zone).replace(minute=0, second=0, microsecond=0)
    start, end = today.replace(hour=OPENING[0]), today.replace(hour=OPENING[1])
    (playlist.parent / "today.m3u8").write_text(
        looped_recording(playlist.read_text(encoding="utf-8"), start=start, end=end), encoding="utf-8")


def build_video_demo(engine: Engine) -> dict[str, int]:
    """Cameras of the demo city's center: one per window, two in its halls (idempotent)."""
    with transaction(engine, actor="demo") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == names.CITY_CODE)).first()
        if center is None or tx.session.scalars(select(Camera.id).where(Camera.center_id == center.id)).first():
            return {"cameras": 0}
        windows = list(tx.session.scalars(select(Window).where(Window.center_id == center.id).order_by(Window.code)))
        for window in windows:
            create_camera(tx, center=center, spec=CameraSpec(code=f"CAM-{window.code}", name=f"{window.name}摄像头",
                                                             window_code=window.code, stream_url=STREAM_URL,
                                                             recording_url=RECORDING_URL))
        for code, name, location in HALLS:
            create_camera(tx, center=center, spec=CameraSpec(code=code, name=name, location=location,
                                                             stream_url=STREAM_URL, recording_url=RECORDING_URL))
        return {"cameras": len(windows) + len(HALLS)}
