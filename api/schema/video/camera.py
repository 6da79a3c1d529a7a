"""Cameras (电子眼) in GraphQL: the catalogue of cameras (center admins manage their center's,
supervisors every one), each case event's place in the recordings (``videoBookmarks``), and
moments marked as evidence (``markVideoEvidence``, ``videoEvidence``)."""
from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from esupervision.api.schema.catalogue.catalogue import Window, window_of
from esupervision.api.schema.common import parse_id, parse_optional_id, require
from esupervision.api.video import load_recording
from esupervision.models.access.scope import Role, Viewer, case_not_found, case_scope
from esupervision.models.base import utc
from esupervision.models.cases.case import Case
from esupervision.models.catalogue import catalogue as cat
from esupervision.models.clocks import timesource
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.transaction import transaction
from esupervision.models.video import bookmarks as bm
from esupervision.models.video import camera as cam
from esupervision.models.video import evidence as ev

# Who watches the footage: supervision, a center's management within its center (decision 11).
WATCHERS = (Role.SUPERVISOR, Role.CENTER_ADMIN)

BookmarkStatus = strawberry.enum(bm.BookmarkStatus, name="VideoBookmarkStatus",
                                 description="录像是否可回看：已录、无该时刻录像、已过保留期、无法读取录像")


@strawberry.type(description="电子眼（窗口或大厅的摄像头）")
class Camera:
    id: strawberry.ID
    code: str
    name: str
    location: str | None = strawberry.field(description="大厅摄像头的位置")
    stream_url: str = strawberry.field(description="实时视频流（HLS .m3u8 或 RTSP）")
    recording_url: str | None = strawberry.field(description="录像播放列表（HLS，含 EXT-X-PROGRAM-DATE-TIME）")
    playback_url: str | None = strawberry.field(description="书签所指的录像（录像地址，或 HLS 实时流本身）")
    retention_days: int = strawberry.field(description="录像保留天数")
    active: bool
    window_id: strawberry.Private[uuid.UUID | None]
    center_code: str

    @classmethod
    def from_row(cls, row: cam.Camera, center_code: str) -> "Camera":
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name, location=row.location,
                   stream_url=row.stream_url, recording_url=row.recording_url, playback_url=row.playback_url,
                   retention_days=row.retention_days, active=row.active, window_id=row.window_id,
                   center_code=center_code)

    @strawberry.field(description="所在窗口（大厅摄像头为空）")
    async def window(self, info: Info) -> Window | None:
        return await window_of(info, self.window_id)


@strawberry.type(description="办件事件在录像中的位置（书签）")
class VideoBookmark:
    camera: Camera
    at: datetime = strawberry.field(description="事件发生的时刻")
    offset_seconds: float | None = strawberry.field(description="在录像中的秒数（播放器 currentTime）")
    status: BookmarkStatus
    event_kind: str = strawberry.field(description="事件类型，如 case.accept、step.started")
    title: str = strawberry.field(description="事件（中文）")
    case_number: str


@strawberry.type(description="录像证据")
class VideoEvidence:
    id: strawberry.ID
    camera: Camera
    at: datetime
    offset_seconds: float | None
    recording_url: str | None
    note: str
    case_number: str | None
    fault_id: strawberry.ID | None
    marked_by: str | None
    marked_at: datetime


@strawberry.input(description="摄像头（新建或修改）")
class CameraInput:
    center_code: str
    code: str
    name: str
    stream_url: str
    window_code: str | None = None
    location: str | None = None
    recording_url: str | None = None
    retention_days: int = cam.DEFAULT_RETENTION_DAYS
    active: bool = True

    def spec(self) -> cam.CameraSpec:
        return cam.CameraSpec(code=self.code, name=self.name, stream_url=self.stream_url,
                              window_code=self.window_code, location=self.location,
                              recording_url=self.recording_url, retention_days=self.retention_days,
                              active=self.active)


@strawberry.input(description="标记录像证据：指明差错或办件")
class VideoEvidenceInput:
    camera_id: strawberry.ID
    at: datetime
    note: str
    fault_id: strawberry.ID | None = None
    case_number: str | None = None


def _within(who: Viewer) -> uuid.UUID | None:
    """The center a viewer's footage is confined to (a center admin's), ``None`` for all."""
    if who.role is Role.CENTER_ADMIN:
        if who.center_id is None:
            raise DomainError(ErrorCode.FORBIDDEN, "账号未指定中心 account has no center")
        return who.center_id
    return None


def _codes(session) -> dict[uuid.UUID, str]:  # noqa: ANN001
    return dict(session.execute(select(cat.Center.id, cat.Center.code)).all())


def _evidence(row: ev.VideoEvidence, camera: cam.Camera, center_code: str, number: str | None) -> VideoEvidence:
    return VideoEvidence(id=strawberry.ID(str(row.id)), camera=Camera.from_row(camera, center_code), at=row.at,
                         offset_seconds=row.offset_seconds, recording_url=row.recording_url, note=row.note,
                         case_number=number, fault_id=strawberry.ID(str(row.fault_id)) if row.fault_id else None,
                         marked_by=row.marked_by, marked_at=row.marked_at)


@strawberry.type
class VideoQuery:
    @strawberry.field(description="摄像头目录（监察人员全部；中心管理员本中心）")
    async def cameras(self, info: Info, center_code: str | None = None, window_code: str | None = None,
                      include_inactive: bool = False) -> list[Camera]:
        who = require(info, *WATCHERS)
        within = _within(who)

        def fetch(s):  # noqa: ANN001, ANN202
            query = select(cam.Camera, cat.Center.code).join(cat.Center, cat.Center.id == cam.Camera.center_id)
            if within is not None:
                query = query.where(cam.Camera.center_id == within)
            if center_code:
                query = query.where(cat.Center.code == center_code)
            if window_code:
                query = query.join(cat.Window, cat.Window.id == cam.Camera.window_id).where(
                    cat.Window.code == window_code)
            if not include_inactive:
                query = query.where(cam.Camera.active.is_(True))  # type: ignore[attr-defined]
            return list(s.execute(query.order_by(cat.Center.code, cam.Camera.code)).all())
        return [Camera.from_row(row, code) for row, code in await info.context.run(fetch)]

    @strawberry.field(description="办件在窗口发生的每个事件在录像中的位置（点击即跳转回看）")
    async def video_bookmarks(self, info: Info, case_number: str) -> list[VideoBookmark]:
        who = require(info, *WATCHERS)

        def fetch(s):  # noqa: ANN001, ANN202
            case = s.scalars(select(Case).where(Case.number == case_number, case_scope(who))).first()
            if case is None:
                raise case_not_found(case_number)
            cameras = cam.cameras_at(s, case.center_id, case.window_id)
            recordings = {c.id: load_recording(c.playback_url) for c in cameras}
            center_code = _codes(s).get(case.center_id, "")
            return center_code, bm.case_bookmarks(s, case, now=timesource.now(), recordings=recordings)
        center_code, marks = await info.context.run(fetch)
        return [VideoBookmark(camera=Camera.from_row(m.camera, center_code), at=m.at, offset_seconds=m.offset_seconds,
                              status=m.status, event_kind=m.kind, title=m.title, case_number=m.case_number)
                for m in marks]

    @strawberry.field(description="录像证据（按办件或差错）")
    async def video_evidence(self, info: Info, case_number: str | None = None,
                             fault_id: strawberry.ID | None = None) -> list[VideoEvidence]:
        who = require(info, *WATCHERS)
        within = _within(who)
        fault = parse_optional_id(fault_id)
        if case_number is None and fault is None:
            raise DomainError(ErrorCode.BAD_INPUT, "请指明办件或差错 caseNumber or faultId required")

        def fetch(s):  # noqa: ANN001, ANN202
            case_id = None
            if case_number is not None:
                case = s.scalars(select(Case).where(Case.number == case_number, case_scope(who))).first()
                if case is None:
                    raise case_not_found(case_number)
                case_id = case.id
            rows = [r for r in ev.evidence_of(s, case_id=case_id, fault_id=fault)
                    if within is None or r.center_id == within]
            codes = _codes(s)
            numbers = dict(s.execute(select(Case.id, Case.number).where(
                Case.id.in_({r.case_id for r in rows if r.case_id}))).all()) if rows else {}
            return [(r, s.get(cam.Camera, r.camera_id), codes.get(r.center_id, ""), numbers.get(r.case_id))
                    for r in rows]
        return [_evidence(*row) for row in await info.context.run(fetch)]


@strawberry.type
class VideoMutation:
    @strawberry.mutation(description="新建摄像头（中心管理员限本中心）")
    async def create_camera(self, info: Info, input: CameraInput) -> Camera:
        who = require(info, *WATCHERS)
        within = _within(who)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                center = cat.center_by_code(tx, input.center_code)
                if within is not None and center.id != within:
                    raise DomainError(ErrorCode.FORBIDDEN, "只能管理本中心 only your own center")
                return cam.create_camera(tx, center=center, spec=input.spec()), center.code
        return Camera.from_row(*await info.context.run(run))

    @strawberry.mutation(description="修改摄像头（含停用）；编码不变")
    async def update_camera(self, info: Info, id: strawberry.ID, input: CameraInput) -> Camera:
        who = require(info, *WATCHERS)
        within = _within(who)
        camera_id = parse_id(id)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                camera = tx.session.get(cam.Camera, camera_id)
                if camera is None or (within is not None and camera.center_id != within):
                    raise DomainError(ErrorCode.CAMERA_NOT_FOUND, "摄像头不存在", camera=id)
                if input.code != camera.code:
                    raise DomainError(ErrorCode.CAMERA_INVALID, "摄像头编码不可修改", camera=camera.code)
                cam.update_camera(tx, camera, spec=input.spec())
                center = tx.session.get(cat.Center, camera.center_id)
                return camera, center.code if center else ""
        return Camera.from_row(*await info.context.run(run))

    @strawberry.mutation(description="把录像中的某一时刻标记为差错或办件的证据")
    async def mark_video_evidence(self, info: Info, input: VideoEvidenceInput) -> VideoEvidence:
        who = require(info, *WATCHERS)
        within = _within(who)
        camera_id, fault_id = parse_id(input.camera_id), parse_optional_id(input.fault_id)

        def run(_s):  # noqa: ANN001, ANN202
            with transaction(info.context.engine, actor=who.actor) as tx:
                camera = tx.session.get(cam.Camera, camera_id)
                recording = load_recording(camera.playback_url) if camera else None
                offset = recording.offset_at(utc(input.at)) if recording else None
                row = ev.mark_video_evidence(tx, camera_id=camera_id, at=input.at, note=input.note,
                                             fault_id=fault_id, case_number=input.case_number,
                                             offset_seconds=offset, within_center=within)
                number = tx.session.get(Case, row.case_id).number if row.case_id else None
                center = tx.session.get(cat.Center, row.center_id)
                return row, tx.session.get(cam.Camera, row.camera_id), center.code if center else "", number
        return _evidence(*await info.context.run(run))
