"""A department's key reports only its own department's cases; anything else is refused per
event, as if the case did not exist for it."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import Session

from esupervision.db import among
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import Center, Item
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.cases.report import ReportedEvent


def refuse_outside_department(session: Session, viewer: Viewer,
                              events: list[ReportedEvent]) -> list[DomainError | None]:
    """Per event: None when ``viewer`` may report it, else the refusal to answer with."""
    if viewer.role is Role.SUPERVISOR:
        return [None] * len(events)
    numbers = sorted({ev.case_number for ev in events})
    owner: dict[str, tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]] = {
        number: (center_id, dept_id, window_id)
        for number, center_id, dept_id, window_id in session.execute(
            select(Case.number, Case.center_id, Case.department_id, Case.window_id)
            .where(among(session, Case.number, numbers)))
    }
    # A batch's new cases name a few items between them: each looked up once.
    items: dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID, None] | None] = {}
    refusals: list[DomainError | None] = []
    for ev in events:
        scope = owner.get(ev.case_number)
        if scope is None and ev.item_code and ev.center_code:
            key = (ev.center_code, ev.item_code)
            if key not in items:
                found = session.execute(select(Item.center_id, Item.department_id).join(
                    Center, Center.id == Item.center_id).where(
                    Center.code == ev.center_code, Item.code == ev.item_code)).first()
                items[key] = (found[0], found[1], None) if found else None
            scope = items[key]
            if scope is not None:
                owner[ev.case_number] = scope   # later events of the same new case
        if scope is None or _allowed(viewer, scope):
            refusals.append(None)   # unknown cases and items get the core's own refusal
        else:
            refusals.append(DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {ev.case_number} 不存在 (no such case)",
                                        case=ev.case_number, event=ev.source_event_id))
    return refusals


def _allowed(viewer: Viewer, scope: tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]) -> bool:
    center_id, department_id, window_id = scope
    if viewer.role is Role.CENTER_ADMIN:
        return viewer.center_id == center_id
    if viewer.role in (Role.DEPARTMENT_SYSTEM, Role.DEPARTMENT_LEADER):
        return viewer.department_id == department_id
    if viewer.role is Role.WINDOW_STAFF:
        return viewer.department_id == department_id and (window_id is None or viewer.window_id == window_id)
    return False
