"""Applicants asking for their case by phone or SMS: find the case by its number (or the digits
of it, as keyed on a phone pad) and answer only the applicant's own phone with its status.

An inbound SMS may also file a complaint or consultation (text starting 投诉 / 咨询, from any
number) or rate a completed case (a digit 1–5, optionally with a comment, from the applicant's
phone): ``sms_reply`` routes it and answers in words."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.cases.case import STATUS_LABELS, Case, CaseStatus
from esupervision.models.clocks.clock import Clock
from esupervision.models.clocks.light import LIGHT_LABELS, light_at
from esupervision.models.notices.notice import local_time
from esupervision.notify import templates
from esupervision.models.notices.phones import PhoneError, to_e164

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


COMPLAINT_PREFIXES = {"投诉": "complaint", "咨询": "consultation"}
RATING = re.compile(r"([1-5])(?:\s*分)?(?:[\s,，.。:：;；!！-]+(.*))?", re.S)
CASE_TOKEN = re.compile(r"[A-Za-z]{1,8}[A-Za-z0-9-]{5,40}")


def sms_reply(engine: Engine, body: str, caller: str, *, now: datetime, tz: str, region: str = "CN") -> str:
    """What an inbound SMS gets back: a complaint's number, a rating's receipt, or (as before) the
    status of the case it names. Filing and rating each commit in their own transaction; a
    refusal is answered in words and changes nothing."""
    from esupervision.models.errors import DomainError

    text = unicodedata.normalize("NFKC", body or "").strip()
    try:
        for prefix, kind in COMPLAINT_PREFIXES.items():
            if text.startswith(prefix):
                return _file_by_sms(engine, kind, text[len(prefix):], caller, now=now, tz=tz)
        rating = RATING.fullmatch(text)
        if rating:
            return _rate_by_sms(engine, int(rating.group(1)), rating.group(2), caller, now=now)
    except DomainError as exc:
        return exc.message
    words = text.split()
    with Session(engine) as session:
        return status_reply(session, words[-1] if words else "", caller, now=now, tz=tz, region=region)


def _file_by_sms(engine: Engine, kind: str, rest: str, caller: str, *, now: datetime, tz: str) -> str:
    from esupervision.models.access.scope import PUBLIC
    from esupervision.models.catalogue.catalogue import Center
    from esupervision.models.public.complaint import KIND_LABELS, ComplaintKind, file_complaint
    from esupervision.models.ledger.transaction import transaction

    content = rest.strip(" \t\r\n:：,，.。;；-")
    if not content:
        return templates.render("complaint_empty", {})
    with transaction(engine, now=now, actor="sms:inbound") as tx:
        named = None
        for token in CASE_TOKEN.findall(content):
            if any(ch.isdigit() for ch in token) and tx.session.scalar(
                    select(Case.id).where(Case.number == token.upper())) is not None:
                named = token
                break
        complaint = file_complaint(tx, filer=PUBLIC, kind=ComplaintKind(kind), content=content, phone=caller,
                                   case_number=named, channel="sms")
        center = tx.session.get(Center, complaint.center_id)
        return templates.render("complaint_received", {
            "center": center.name if center else "行政服务中心", "kind": KIND_LABELS[ComplaintKind(kind)],
            "complaint": complaint.number, "deadline": local_time(complaint.due_at, tz)})


def _rate_by_sms(engine: Engine, score: int, comment: str | None, caller: str, *, now: datetime) -> str:
    from esupervision.models.public.evaluation import SCORE_LABELS, pending_request_for, rate_case
    from esupervision.models.ledger.transaction import transaction

    with transaction(engine, now=now, actor="sms:inbound") as tx:
        pending = pending_request_for(tx.session, caller)
        if pending is None:
            return templates.render("evaluation_not_pending", {})
        _, case = pending
        rate_case(tx, number=case.number, score=score, comment=comment, phone=caller, channel="sms")
        return templates.render("evaluation_received", {"number": case.number, "label": SCORE_LABELS[score]})
