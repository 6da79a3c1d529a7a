"""Cameras (电子眼) as catalogue data: one watches a window (``window_id``) or a hall (no window,
``location`` says where). The live stream is HLS or RTSP; the recording, which bookmarks address,
is an HLS playlist with program date times (``recording.py``). Changes go through the functions
below, each a ledger event of the camera's center."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import Index, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.catalogue.catalogue import Center, Window, Work
from esupervision.models.errors import DomainError, ErrorCode

# Recordings are kept this many days unless the camera says otherwise; a bookmark older than its
# camera's retention points at footage the recorder has deleted.
DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650


class Camera(SQLModel, table=True):
    __tablename__ = "camera"
    __table_args__ = (UniqueConstraint("center_id", "code"), Index("ix_camera_window", "window_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id", index=True)
    window_id: uuid.UUID | None = Field(default=None, foreign_key="window.id")
    code: str
    name: str
    location: str | None = None          # 大厅、叫号区 … for a hall camera
    stream_url: str                      # live: HLS (.m3u8) or RTSP
    recording_url: str | None = None     # HLS playlist with EXT-X-PROGRAM-DATE-TIME; None: the stream's
    retention_days: int = DEFAULT_RETENTION_DAYS
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def playback_url(self) -> str | None:
        """The HLS playlist bookmarks are offsets into (an RTSP stream has none)."""
        if self.recording_url:
            return self.recording_url
        return self.stream_url if is_hls(self.stream_url) else None


def is_hls(url: str) -> bool:
    return urlparse(url).path.endswith(".m3u8")


@dataclass(frozen=True)
class CameraSpec:
    """What a center admin enters for one camera; ``validate`` names the problem in Chinese."""

    code: str
    name: str
    stream_url: str
    window_code: str | None = None
    location: str | None = None
    recording_url: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    active: bool = True

    def validate(self) -> None:
        def bad(message: str) -> DomainError:
            return DomainError(ErrorCode.CAMERA_INVALID, message, camera=self.code)

        if not self.code.strip() or not self.name.strip():
            raise bad("请填写摄像头编码和名称")
        scheme = urlparse(self.stream_url).scheme
        if scheme in ("rtsp", "rtsps"):
            pass
        elif scheme in ("http", "https", "") and is_hls(self.stream_url):
            if scheme == "" and not self.stream_url.startswith("/"):
                raise bad(f"摄像头 {self.code} 的视频流地址应为 rtsp://、http(s)://…m3u8 或 /video/…m3u8")
        else:
            raise bad(f"摄像头 {self.code} 的视频流地址应为 RTSP 或 HLS（.m3u8）")
        if self.recording_url is not None and not is_hls(self.recording_url):
            raise bad(f"摄像头 {self.code} 的录像地址应为 HLS 播放列表（.m3u8，含 EXT-X-PROGRAM-DATE-TIME）")
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise bad(f"摄像头 {self.code} 的录像保留天数 {self.retention_days} 不合理：应为 1–{MAX_RETENTION_DAYS}")


def camera_by_id(tx: Work, camera_id: uuid.UUID) -> Camera:
    camera = tx.session.get(Camera, camera_id)
    if camera is None:
        raise DomainError(ErrorCode.CAMERA_NOT_FOUND, "摄像头不存在", camera=camera_id)
    return camera


def _window(tx: Work, center: Center, code: str | None) -> Window | None:
    if code is None:
        return None
    window = tx.session.scalars(select(Window).where(Window.center_id == center.id, Window.code == code)).first()
    if window is None:
        raise DomainError(ErrorCode.WINDOW_NOT_FOUND, f"窗口 {code} 不存在", window=code)
    return window


def _data(spec: CameraSpec) -> dict[str, object]:
    return {"code": spec.code, "name": spec.name, "window": spec.window_code, "location": spec.location,
            "stream_url": spec.stream_url, "recording_url": spec.recording_url,
            "retention_days": spec.retention_days, "active": spec.active}


def create_camera(tx: Work, *, center: Center, spec: CameraSpec) -> Camera:
    """A new camera of ``center`` at a window of it (or a hall), validated, on the center's ledger."""
    spec.validate()
    if tx.session.scalars(select(Camera).where(Camera.center_id == center.id, Camera.code == spec.code)).first():
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"摄像头编码 {spec.code} 已存在", camera=spec.code)
    window = _window(tx, center, spec.window_code)
    camera = Camera(center_id=center.id, window_id=window.id if window else None, code=spec.code, name=spec.name,
                    location=spec.location, stream_url=spec.stream_url, recording_url=spec.recording_url,
                    retention_days=spec.retention_days, active=spec.active, created_at=tx.now)
    tx.session.add(camera)
    tx.session.flush()
    tx.ledger.append(center_id=center.id, kind="video.camera_created", subject_type="camera", subject_id=camera.id,
                     occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor, data=_data(spec))
    return camera


def update_camera(tx: Work, camera: Camera, *, spec: CameraSpec) -> bool:
    """The camera as ``spec`` says (its code stays); a ledger event naming what changed. Whether
    anything changed."""
    spec.validate()
    center = tx.session.get(Center, camera.center_id)
    assert center is not None
    window = _window(tx, center, spec.window_code)
    values = {"name": spec.name, "window_id": window.id if window else None, "location": spec.location,
              "stream_url": spec.stream_url, "recording_url": spec.recording_url,
              "retention_days": spec.retention_days, "active": spec.active}
    changed = {name: [str(getattr(camera, name)) if isinstance(getattr(camera, name), uuid.UUID)
                      else getattr(camera, name), str(value) if isinstance(value, uuid.UUID) else value]
               for name, value in values.items() if getattr(camera, name) != value}
    if not changed:
        return False
    for name, value in values.items():
        setattr(camera, name, value)
    tx.session.flush()
    tx.ledger.append(center_id=camera.center_id, kind="video.camera_changed", subject_type="camera",
                     subject_id=camera.id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                     data={"code": camera.code, "changed": changed})
    return True


def cameras_at(session: Session, center_id: uuid.UUID, window_id: uuid.UUID | None) -> list[Camera]:
    """The active cameras that filmed what happens at ``window_id``: the window's own, or, when it
    has none, its center's hall cameras."""
    if window_id is None:
        return []
    own = list(session.scalars(select(Camera).where(Camera.window_id == window_id, Camera.active.is_(True))
                               .order_by(Camera.code)))
    if own:
        return own
    return list(session.scalars(select(Camera).where(Camera.center_id == center_id,
                                                     Camera.window_id.is_(None), Camera.active.is_(True))
                                .order_by(Camera.code)))
