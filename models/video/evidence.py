"""A moment of a camera's recording marked as evidence (证据) by supervision: for a fault, or for
a case before any fault is recorded. The row keeps the recording it points into and the offset
there, so it still plays after the camera's settings change; each mark is a ledger event."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import Index, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, local_time, new_id, utc
from esupervision.models.cases.case import Case
from esupervision.models.cases.timeline import TimelineEntry, register_timeline_source
from esupervision.models.catalogue.catalogue import Work
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.supervision.accountability import Fault
from esupervision.models.video.camera import Camera

MAX_NOTE = 500


class VideoEvidence(SQLModel, table=True):
    __tablename__ = "video_evidence"
    __table_args__ = (Index("ix_video_evidence_case", "case_id"), Index("ix_video_evidence_fault", "fault_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")
    camera_id: uuid.UUID = Field(foreign_key="camera.id")
    # Case and fault are projections rebuilt by replay: referenced by id, as faults reference cases.
    case_id: uuid.UUID | None = None
    fault_id: uuid.UUID | None = None
    at: datetime = Field(sa_type=UTCDateTime)
    recording_url: str | None = None
    offset_seconds: float | None = None
    note: str
    marked_by: str | None = None
    marked_at: datetime = Field(sa_type=UTCDateTime)


def mark_video_evidence(tx: Work, *, camera_id: uuid.UUID, at: datetime, note: str,
                        fault_id: uuid.UUID | None = None, case_number: str | None = None,
                        offset_seconds: float | None = None, within_center: uuid.UUID | None = None) -> VideoEvidence:
    """Mark the instant ``at`` of a camera's recording as evidence for a fault or a case.

    The camera must exist (and be of ``within_center`` when given: a center admin's own), the
    instant must be past and still within the camera's retention (older footage is deleted), and
    a fault or case must be named (a fault's case is taken from it). Refusals change nothing."""
    text = (note or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise DomainError(ErrorCode.BAD_INPUT, f"请填写证据说明（不超过 {MAX_NOTE} 字）")
    camera = tx.session.get(Camera, camera_id)
    if camera is None or (within_center is not None and camera.center_id != within_center):
        raise DomainError(ErrorCode.CAMERA_NOT_FOUND, "摄像头不存在", camera=camera_id)
    fault = None
    if fault_id is not None:
        fault = tx.session.get(Fault, fault_id)
        if fault is None or (within_center is not None and fault.center_id != within_center):
            raise DomainError(ErrorCode.FAULT_NOT_FOUND, "差错记录不存在", fault=fault_id)
    case = None
    if case_number is not None:
        case = tx.session.scalars(select(Case).where(Case.number == case_number)).first()
        if case is None or (within_center is not None and case.center_id != within_center):
            raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {case_number} 不存在 (no such case)", case=case_number)
    elif fault is not None and fault.case_id is not None:
        case = tx.session.get(Case, fault.case_id)
    if fault is None and case is None:
        raise DomainError(ErrorCode.BAD_INPUT, "请指明差错或办件 faultId or caseNumber required")
    at = utc(at)
    if at > tx.now:
        raise DomainError(ErrorCode.VIDEO_NOT_RECORDED, f"{local_time(at)} 尚未录像", at=at)
    if at < tx.now - timedelta(days=camera.retention_days):
        raise DomainError(ErrorCode.VIDEO_NOT_RECORDED,
                          f"{local_time(at)} 的录像已超过保留期（{camera.retention_days} 天）", at=at)
    evidence = VideoEvidence(center_id=camera.center_id, camera_id=camera.id, case_id=case.id if case else None,
                             fault_id=fault.id if fault else None, at=at, recording_url=camera.playback_url,
                             offset_seconds=offset_seconds, note=text, marked_by=tx.actor, marked_at=tx.now)
    tx.session.add(evidence)
    tx.session.flush()
    tx.ledger.append(center_id=camera.center_id, kind="video.evidence_marked", subject_type="video_evidence",
                     subject_id=evidence.id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                     data={"camera": camera.code, "at": at.isoformat(), "offset_seconds": offset_seconds,
                           "case": case.number if case else None, "fault": str(fault.id) if fault else None,
                           "note": text})
    return evidence


def evidence_of(session: Session, *, case_id: uuid.UUID | None = None,
                fault_id: uuid.UUID | None = None) -> list[VideoEvidence]:
    """The evidence marked for a case (also through its faults) or for a fault, oldest moment first."""
    query = select(VideoEvidence)
    if case_id is not None:
        query = query.where(VideoEvidence.case_id == case_id)
    if fault_id is not None:
        query = query.where(VideoEvidence.fault_id == fault_id)
    return list(session.scalars(query.order_by(VideoEvidence.at, VideoEvidence.id)))


@register_timeline_source
def evidence_entries(session: Session, case: Case) -> list[TimelineEntry]:
    """A case's story shows each moment marked as video evidence, at the moment filmed."""
    entries = []
    for row in evidence_of(session, case_id=case.id):
        camera = session.get(Camera, row.camera_id)
        entries.append(TimelineEntry(
            at=row.at, kind="video.evidence", actor=row.marked_by,
            title=f"录像取证：{camera.name if camera else '摄像头'}（{row.note}）",
            detail={"camera": camera.code if camera else None, "offset_seconds": row.offset_seconds,
                    "fault": str(row.fault_id) if row.fault_id else None,
                    "marked_at": row.marked_at.isoformat()}))
    return entries
