"""A department's key reports only its own department's cases; anything else is refused per
event, as if the case did not exist for it (decisions 9 and 11)."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import Session

from esupervision.db import among
from esupervision.models.access.scope import Viewer, case_not_found, case_scope, scope_unit
from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import Center, Item
from esupervision.models.errors import DomainError
from esupervision.models.cases.report import ReportedEvent


def refuse_outside_department(session: Session, viewer: Viewer,
                              events: list[ReportedEvent]) -> list[DomainError | None]:
    """Per event: None when ``viewer`` may report it, else the refusal to answer with.

    A case that exists is reported on only when ``case_scope`` (what the viewer reads) holds it;
    a new case only when the unit its item places it in is the viewer's (``scope_unit``)."""
    numbers = sorted({ev.case_number for ev in events})
    readable: dict[str, bool] = {
        number: bool(mine) for number, mine in session.execute(
            select(Case.number, case_scope(viewer).label("mine")).where(among(session, Case.number, numbers)))
    }
    # A batch's new cases name a few items between them: each looked up once.
    items: dict[tuple[str, str], bool | None] = {}
    refusals: list[DomainError | None] = []
    for ev in events:
        allowed = readable.get(ev.case_number)
        if allowed is None and ev.item_code and ev.center_code:
            key = (ev.center_code, ev.item_code)
            if key not in items:
                found = session.execute(select(Item.center_id, Item.department_id).join(
                    Center, Center.id == Item.center_id).where(
                    Center.code == ev.center_code, Item.code == ev.item_code)).first()
                items[key] = _in_unit(viewer, found[0], found[1]) if found else None
            allowed = items[key]
            if allowed is not None:
                readable[ev.case_number] = allowed   # later events of the same new case
        if allowed is None or allowed:
            refusals.append(None)   # unknown cases and items get the core's own refusal
        else:
            refusals.append(case_not_found(ev.case_number, event=ev.source_event_id))
    return refusals


def _in_unit(viewer: Viewer, center_id: uuid.UUID, department_id: uuid.UUID) -> bool:
    """Whether a new case of this center and department falls in the viewer's unit (window staff:
    never, as the item names no window)."""
    unit = scope_unit(viewer)
    if unit is None:
        return False
    name, value = unit
    return value is not None and {"center_id": center_id, "department_id": department_id}.get(name) == value
