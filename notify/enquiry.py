"""Applicants asking for their case by phone or SMS: find the case by its number (or the digits
of it, as keyed on a phone pad) and answer only the applicant's own phone with its status."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.case import STATUS_LABELS, Case, CaseStatus
from esupervision.models.clock import Clock
from esupervision.models.light import LIGHT_LABELS, light_at
from esupervision.models.notice import local_time
from esupervision.notify import templates
from esupervision.notify.phones import PhoneError, to_e164

NUMBER = re.compile(r"[A-Za-z0-9-]{4,40}")


def find_case(session: Session, keyed: str) -> Case | None:
    """The case whose number is ``keyed``, or whose digits are ``keyed`` (keypad input)."""
    keyed = keyed.strip()
    if not keyed:
        return None
    case = session.scalars(select(Case).where(Case.number == keyed.upper())).first()
    if case is not None or not keyed.isdigit():
        return case
    for candidate in session.scalars(select(Case).where(Case.number.like(f"%{keyed}"))):
        if re.sub(r"\D", "", candidate.number) == keyed:
            return candidate
    return None


def status_reply(session: Session, keyed: str, caller: str, *, now: datetime, tz: str, region: str = "CN") -> str:
    """What the caller hears or reads: the case's status, light and deadline when ``caller`` is
    the applicant's phone on file; otherwise that no such case was found (the same words whether
    the case does not exist or is someone else's)."""
    not_found = templates.render("case_not_found", {})
    case = find_case(session, keyed)
    if case is None or not case.applicant_phone:
        return not_found
    try:
        if to_e164(caller, region=region) != to_e164(case.applicant_phone, region=region):
            return not_found
    except PhoneError:
        return not_found
    clock = session.get(Clock, case.clock_id) if case.clock_id else None
    if clock is None:
        light, deadline = "尚未计时", "待受理后确定"
    else:
        reading = light_at(clock, now)
        light = "已办结" if reading.finished else ("暂停计时" if reading.paused else LIGHT_LABELS[reading.light])
        deadline = local_time(clock.due_at, tz)
    return templates.render("case_status", {"number": case.number,
                                            "status": STATUS_LABELS[CaseStatus(case.status)],
                                            "light": light, "deadline": deadline})
