"""Applicants asking for their case by phone or SMS: find the case by its number (or the digits
of it, as keyed on a phone pad) and answer only the applicant's own phone with its status, in a
sentence of its own for each status (no "已办结，已办结", no deadline read for a finished case).

An inbound SMS may also file a complaint or consultation (text starting 投诉 / 咨询, from any
number) or rate a completed case (a digit 1–5, optionally with a comment, from the applicant's
phone): ``answer_sms`` routes it and answers with a template and its parameters (a ``Reply``),
which the Twilio webhook renders into its TwiML and the Aliyun upstream receiver queues as an
SMS (Aliyun sends registered templates only)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.base import local_time
from esupervision.models.cases.case import SUSPEND_LABELS, Case, CaseStatus, SuspendKind
from esupervision.models.catalogue.catalogue import Item
from esupervision.models.clocks.clock import Clock
from esupervision.models.clocks.light import Light, light_at
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.phones import PhoneError, to_e164
from esupervision.notify import templates

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction

NUMBER = re.compile(r"[A-Za-z0-9-]{4,40}")
# What an applicant is told of the committed clock's light (white, yellow, red are the office's words).
LIGHT_WORDS = {Light.WHITE: "在承诺期限内", Light.YELLOW: "即将到期", Light.RED: "已超过承诺期限"}


@dataclass(frozen=True)
class Reply:
    """An answer as a template and its parameters; ``text`` is what is said or sent."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return templates.render(self.template, self.params)


NOT_FOUND = Reply("case_not_found")


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


def status_answer(session: Session, keyed: str, caller: str, *, now: datetime, tz: str,
                  region: str = "CN") -> Reply:
    """The case's status when ``caller`` is the applicant's phone on file, one sentence per
    status; otherwise that no such case was found (the same words whether the case does not
    exist or is someone else's)."""
    case = find_case(session, keyed)
    if case is None or not case.applicant_phone:
        return NOT_FOUND
    try:
        if to_e164(caller, region=region) != to_e164(case.applicant_phone, region=region):
            return NOT_FOUND
    except PhoneError:
        return NOT_FOUND
    return case_status(session, case, now=now, tz=tz)


def case_status(session: Session, case: Case, *, now: datetime, tz: str) -> Reply:
    """What the applicant is told of ``case`` as it stands at ``now``."""
    item = session.get(Item, case.item_id)
    base: dict[str, Any] = {"number": case.number, "item": item.name if item else "申请事项"}
    status = CaseStatus(case.status)
    finished = local_time(case.completed_at or case.last_event_at, tz)
    if status in (CaseStatus.SUBMITTED, CaseStatus.PREREVIEWED):
        clock = session.get(Clock, case.acceptance_clock_id) if case.acceptance_clock_id else None
        deadline = local_time(clock.due_at if clock else None, tz)
        if status is CaseStatus.PREREVIEWED:
            return Reply("status_prereviewed", {**base, "deadline": deadline})
        return Reply("status_submitted", {**base, "deadline": deadline,
                                          "submitted": local_time(case.submitted_at or case.first_event_at, tz)})
    if status is CaseStatus.PREREVIEW_FAILED:
        return Reply("status_prereview_failed", {**base, "reason": case.reason or "详见预审意见"})
    if status is CaseStatus.ACCEPTED:
        if item is not None and not item.committed_days:
            return Reply("status_accepted_at_once", base)
        clock = session.get(Clock, case.clock_id) if case.clock_id else None
        if clock is None:   # accepted by a history that fixed no clock: say what is known
            return Reply("status_accepted", {**base, "light": "正在办理", "deadline": "未定"})
        light = LIGHT_WORDS[light_at(clock, now).light]
        return Reply("status_accepted", {**base, "light": light, "deadline": local_time(clock.due_at, tz)})
    if status is CaseStatus.SUPPLEMENT:
        data = _last_event(session, case, "case.request_supplement")
        materials = "、".join(data.get("missing_materials") or []) or "详见补正告知书"
        return Reply("status_supplement", {**base, "materials": materials})
    if status is CaseStatus.SUSPENDED:
        kind = _last_event(session, case, "case.suspend").get("kind")
        procedure = SUSPEND_LABELS[SuspendKind(kind)] if kind in set(SuspendKind) else "特别"
        return Reply("status_suspended", {**base, "procedure": procedure})
    if status is CaseStatus.COMPLETED:
        if case.result == "denied":
            return Reply("status_denied", {**base, "finished": finished,
                                           "reason": case.reason or "详见不予许可决定书"})
        if case.result == "approved":
            return Reply("status_approved", {**base, "finished": finished})
        return Reply("status_completed", {**base, "finished": finished})
    if status is CaseStatus.REJECTED:
        return Reply("status_rejected", {**base, "finished": finished, "reason": case.reason or "详见不予受理决定书"})
    return Reply("status_withdrawn", {**base, "finished": finished})


def _last_event(session: Session, case: Case, kind: str) -> dict[str, Any]:
    """The data of the case's latest ledger event of ``kind`` (empty if none)."""
    data = session.scalar(select(LedgerEvent.data).where(LedgerEvent.subject_type == "case",
                                                         LedgerEvent.subject_id == case.id, LedgerEvent.kind == kind)
                          .order_by(LedgerEvent.occurred_at.desc(), LedgerEvent.id.desc()).limit(1))
    return data or {}


def status_reply(session: Session, keyed: str, caller: str, *, now: datetime, tz: str, region: str = "CN") -> str:
    """``status_answer`` as the words said on the phone line or sent back."""
    return status_answer(session, keyed, caller, now=now, tz=tz, region=region).text


COMPLAINT_PREFIXES = {"投诉": "complaint", "咨询": "consultation"}
RATING = re.compile(r"([1-5])(?:\s*分)?(?:[\s,，.。:：;；!！-]+(.*))?", re.S)
CASE_TOKEN = re.compile(r"[A-Za-z]{1,8}[A-Za-z0-9-]{5,40}")


def answer_sms(tx: "Transaction", body: str, caller: str, *, tz: str, region: str = "CN") -> Reply:
    """What an inbound SMS does, in ``tx``: file a complaint (its number answered), rate a case
    (a receipt), or answer the status of the case it names. A refusal raises ``DomainError``
    (the caller answers it with ``refusal``); nothing is left half done."""
    text = unicodedata.normalize("NFKC", body or "").strip()
    for prefix, kind in COMPLAINT_PREFIXES.items():
        if text.startswith(prefix):
            return _file_by_sms(tx, kind, text[len(prefix):], caller, tz=tz)
    rating = RATING.fullmatch(text)
    if rating:
        return _rate_by_sms(tx, int(rating.group(1)), rating.group(2), caller)
    words = text.split()
    return status_answer(tx.session, words[-1] if words else "", caller, now=tx.now, tz=tz, region=region)


def refusal(message: str) -> Reply:
    """The answer to an SMS the domain refused (its message says why)."""
    return Reply("sms_refused", {"reason": message})


def sms_reply(engine: Engine, body: str, caller: str, *, now: datetime, tz: str, region: str = "CN") -> str:
    """What an inbound SMS gets back (Twilio answers it in its TwiML): ``answer_sms`` in a
    transaction of its own; a refusal is answered in words and changes nothing."""
    from esupervision.models.errors import DomainError
    from esupervision.models.ledger.transaction import transaction

    try:
        with transaction(engine, now=now, actor="sms:inbound") as tx:
            return answer_sms(tx, body, caller, tz=tz, region=region).text
    except DomainError as exc:
        return refusal(exc.message).text


def _file_by_sms(tx: "Transaction", kind: str, rest: str, caller: str, *, tz: str) -> Reply:
    from esupervision.models.access.scope import PUBLIC
    from esupervision.models.catalogue.catalogue import Center
    from esupervision.models.public.complaint import KIND_LABELS, ComplaintKind, file_complaint

    content = rest.strip(" \t\r\n:：,，.。;；-")
    if not content:
        return Reply("complaint_empty")
    named = None
    for token in CASE_TOKEN.findall(content):
        if any(ch.isdigit() for ch in token) and tx.session.scalar(
                select(Case.id).where(Case.number == token.upper())) is not None:
            named = token
            break
    complaint = file_complaint(tx, filer=PUBLIC, kind=ComplaintKind(kind), content=content, phone=caller,
                               case_number=named, channel="sms")
    center = tx.session.get(Center, complaint.center_id)
    return Reply("complaint_received", {
        "center": center.name if center else "行政服务中心", "kind": KIND_LABELS[ComplaintKind(kind)],
        "complaint": complaint.number, "deadline": local_time(complaint.due_at, tz)})


def _rate_by_sms(tx: "Transaction", score: int, comment: str | None, caller: str) -> Reply:
    from esupervision.models.public.evaluation import SCORE_LABELS, pending_request_for, rate_case

    pending = pending_request_for(tx.session, caller)
    if pending is None:
        return Reply("evaluation_not_pending")
    _, case = pending
    rate_case(tx, number=case.number, score=score, comment=comment, phone=caller, channel="sms")
    return Reply("evaluation_received", {"number": case.number, "label": SCORE_LABELS[score]})
