"""Bookmarks: every event of a case at a window, as a place in the recording of each camera that
watches that window (the window's own cameras, else its hall's), so supervision can see what
happened at the counter at that instant."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from esupervision.models.base import utc
from esupervision.models.cases.case import Case
from esupervision.models.cases.timeline import ledger_entries, step_entries
from esupervision.models.video.camera import Camera, cameras_at
from esupervision.models.video.recording import Recording

# Events an online applicant causes happen at no counter.
_ONLINE_KINDS = frozenset({"case.submit", "case.prereview", "case.deemed_accepted"})


class BookmarkStatus(StrEnum):
    RECORDED = "recorded"          # the recording holds the instant: ``offset_seconds`` plays it
    NOT_RECORDED = "not_recorded"  # the recording has no segment then (not yet, a gap, before it)
    EXPIRED = "expired"            # older than the camera's retention: deleted by the recorder
    NO_RECORDING = "no_recording"  # the camera's recording cannot be read (RTSP only, unreachable)


@dataclass(frozen=True)
class Bookmark:
    camera: Camera
    at: datetime
    kind: str          # the case event: case.accept, step.started …
    title: str         # as the case's timeline says it
    case_number: str
    status: BookmarkStatus
    offset_seconds: float | None = None


def case_events_at_window(session: Session, case: Case) -> list[tuple[datetime, str, str]]:
    """(instant, kind, title) of each of the case's own events and step changes that happened at
    its window, oldest first (lights are the clock's, not something done at the counter)."""
    if case.window_id is None:
        return []
    entries = [e for e in [*ledger_entries(session, case), *step_entries(session, case)]
               if (e.kind.startswith("case.") or e.kind.startswith("step."))
               and not (case.channel == "online" and e.kind in _ONLINE_KINDS)]
    return sorted(((utc(e.at), e.kind, e.title) for e in entries), key=lambda t: t[0])


def bookmark_status(camera: Camera, recording: Recording | None, at: datetime,
                    now: datetime) -> tuple[BookmarkStatus, float | None]:
    """Where ``at`` is in ``camera``'s recording, and whether it can be played."""
    if at < now - timedelta(days=camera.retention_days):
        return BookmarkStatus.EXPIRED, None
    if recording is None:
        return BookmarkStatus.NO_RECORDING, None
    offset = recording.offset_at(at)
    return (BookmarkStatus.RECORDED, offset) if offset is not None else (BookmarkStatus.NOT_RECORDED, None)


def case_bookmarks(session: Session, case: Case, *, now: datetime,
                   recordings: Mapping[uuid.UUID, Recording | None]) -> list[Bookmark]:
    """One bookmark per event of ``case`` at its window and per camera watching it, in time
    order; ``recordings`` holds each camera's parsed recording (``None``: unreadable)."""
    cameras = cameras_at(session, case.center_id, case.window_id)
    return [Bookmark(camera=camera, at=at, kind=kind, title=title, case_number=case.number,
                     status=status, offset_seconds=offset)
            for at, kind, title in case_events_at_window(session, case)
            for camera in cameras
            for status, offset in [bookmark_status(camera, recordings.get(camera.id), at, utc(now))]]
