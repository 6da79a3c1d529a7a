"""电子眼 for the demo: a camera at every window of the demo city's center and two in its halls,
all pointing at one HLS test stream that `esv serve --demo` serves from ESV_VIDEO_DIR, made with
ffmpeg's test pattern when ffmpeg is installed (said on the console when it is not)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esupervision import demo_names as names
from esupervision.models.catalogue.catalogue import Center, Window
from esupervision.models.ledger.transaction import transaction
from esupervision.models.video.camera import Camera, CameraSpec, create_camera

STREAM = "demo"                                  # /video/demo/index.m3u8
STREAM_URL = f"/video/{STREAM}/index.m3u8"
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


def prepare_demo_video(folder: Path) -> str:
    """Make the demo's test stream in ``folder`` unless it is there; a line for the console."""
    playlist = folder / STREAM / "index.m3u8"
    if playlist.exists():
        return f"电子眼演示视频流：{playlist}（/video/{STREAM}/index.m3u8）"
    try:
        ffmpeg_test_stream(folder / STREAM)
    except FileNotFoundError:
        return "电子眼：未安装 ffmpeg，演示摄像头没有视频流（apt-get install ffmpeg 后重启即生成测试画面）"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        return f"电子眼：ffmpeg 生成测试视频失败（{error}），演示摄像头没有视频流"
    return f"电子眼演示视频流已生成：{playlist}（ffmpeg 测试画面 60 秒，/video/{STREAM}/index.m3u8）"


def build_video_demo(engine: Engine) -> dict[str, int]:
    """Cameras of the demo city's center: one per window, two in its halls (idempotent)."""
    with transaction(engine, actor="demo") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == names.CITY_CODE)).first()
        if center is None or tx.session.scalars(select(Camera.id).where(Camera.center_id == center.id)).first():
            return {"cameras": 0}
        windows = list(tx.session.scalars(select(Window).where(Window.center_id == center.id).order_by(Window.code)))
        for window in windows:
            create_camera(tx, center=center, spec=CameraSpec(code=f"CAM-{window.code}", name=f"{window.name}摄像头",
                                                             window_code=window.code, stream_url=STREAM_URL))
        for code, name, location in HALLS:
            create_camera(tx, center=center, spec=CameraSpec(code=code, name=name, location=location,
                                                             stream_url=STREAM_URL))
        return {"cameras": len(windows) + len(HALLS)}
