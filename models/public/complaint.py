"""Complaints and consultations (投诉、咨询): filed online or by SMS, each on its own clock of the core
(``SubjectType.COMPLAINT``), assigned to a department and answered in time; the answer reaches the
complainant by SMS.

One service function per change (``file_complaint``, ``assign_complaint``, ``answer_complaint``):
it checks the input, moves the clock (and the light tally), updates the row and appends the ledger
event with the rows it wrote, in the caller's transaction. A ``DomainError`` changes nothing.
Notices are derived from those ledger events by ``write_complaint_notices`` in the same transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Index, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import Role, Viewer, case_scope, unit_scope
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.cases.case import Case
from esupervision.models.cases.casework import row_change
from esupervision.models.catalogue.catalogue import Center, Department, Staff
from esupervision.models.catalogue.numbering import next_number
from esupervision.models.clocks.clock import Clock, ClockState, SubjectType, local_date
from esupervision.models.clocks.clockbook import ClockBook
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import Light
from esupervision.models.clocks.lights_query import light_condition
from esupervision.models.notices.notice import NoticeDraft, add_notices, local_time
from esupervision.models.notices.phones import PhoneError, to_e164

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction

MAX_CONTENT = 1000
MAX_ANSWER = 500


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"          # 投诉
    CONSULTATION = "consultation"    # 咨询


KIND_LABELS = {ComplaintKind.COMPLAINT: "投诉", ComplaintKind.CONSULTATION: "咨询"}


class ComplaintStatus(StrEnum):
    FILED = "filed"          # 待分派: no department yet
    ASSIGNED = "assigned"    # 办理中: a department must answer
    ANSWERED = "answered"    # 已答复


STATUS_LABELS = {ComplaintStatus.FILED: "待分派", ComplaintStatus.ASSIGNED: "办理中",
                 ComplaintStatus.ANSWERED: "已答复"}


class Complaint(SQLModel, table=True):
    """One complaint or consultation, from filing to its answer."""

    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_center_filed", "center_id", "filed_at"),
        Index("ix_complaint_department_status", "department_id", "status"),
        Index("ix_complaint_window", "window_id", "filed_at"),
        Index("ix_complaint_phone", "complainant_phone", "filed_at"),
        Index("ix_complaint_case", "case_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(unique=True)
    kind: str
    channel: str                               # online / sms
    status: str = ComplaintStatus.FILED.value
    center_id: uuid.UUID = Field(foreign_key="center.id")
    department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    case_number_given: str | None = None       # a case number named but not linked (not the filer's)
    complainant_name: str | None = None
    complainant_phone: str                     # 11 digits for a mainland mobile, else E.164
    content: str
    filed_at: datetime = Field(sa_type=UTCDateTime)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assigned_by: str | None = None
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = None
    answered_by: str | None = None
    clock_id: uuid.UUID | None = None


# ----------------------------------------------------------------------------- ledger

def changes_of(*rows: SQLModel | None) -> list[dict[str, Any]]:
    """The ledger's record of rows written whole (replay folds them back)."""
    return [row_change(row) for row in rows if row is not None]


# ----------------------------------------------------------------------------- phones

def complainant_phone(raw: str | None) -> str:
    """A filer's phone as stored: the 11-digit number of a mainland mobile (as applicants log in),
    E.164 for any other; ``INVALID_PHONE`` when it is no phone number at all."""
    from esupervision.models.access.login_code import normalize_phone

    if not raw or not raw.strip():
        raise DomainError(ErrorCode.INVALID_PHONE, "请留下联系电话，答复将以短信发送 phone required")
    try:
        return normalize_phone(raw)
    except DomainError:
        pass
    try:
        return to_e164(raw)
    except PhoneError:
        raise DomainError(ErrorCode.INVALID_PHONE, f"无法识别的电话号码 {raw!r} invalid phone") from None


def same_phone(a: str | None, b: str | None) -> bool:
    """Whether two numbers, however written, are the same phone."""
    if not a or not b:
        return False
    try:
        return to_e164(a) == to_e164(b)
    except PhoneError:
        return False


# ----------------------------------------------------------------------------- filing

def _center_for(tx: "Transaction", code: str | None) -> Center:
    code = code or tx.settings.complaint_default_center_code
    query = select(Center).where(Center.code == code) if code else (
        select(Center).where(Center.parent_id.is_(None)).order_by(Center.code))  # type: ignore[union-attr]
    center = tx.session.scalars(query.limit(1)).first()
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {code or '（默认）'} 不存在", center=code)
    return center


def _next_number(tx: "Transaction", kind: ComplaintKind, center_id: uuid.UUID) -> str:
    # Sequential per center and local day (TS-QH-20261126-0001): read out on the phone and in SMS.
    return next_number(tx.session, kind="TS" if kind is ComplaintKind.COMPLAINT else "ZX", center_id=center_id,
                       day=local_date(tx.now), existing=Complaint.number)


def _linked_case(tx: "Transaction", filer: Viewer, phone: str, case_number: str | None) -> Case | None:
    """The case a filing names, if the filer may tie it to that case.

    An applicant names their own cases only (another's is not found, as everywhere); staff name
    the cases they see; the public and SMS senders get a link only when their phone is the
    applicant's, and otherwise the number stays in the complaint as given.
    """
    if not case_number:
        return None
    number = case_number.strip().upper()
    if filer.role is Role.PUBLIC:
        case = tx.session.scalars(select(Case).where(Case.number == number)).first()
        return case if case is not None and same_phone(case.applicant_phone, phone) else None
    case = tx.session.scalars(select(Case).where(Case.number == number, case_scope(filer))).first()
    if case is None:
        raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {number} 不存在", case=number)
    return case


def file_complaint(tx: "Transaction", *, filer: Viewer, kind: ComplaintKind, content: str,
                   phone: str | None = None, name: str | None = None, case_number: str | None = None,
                   center_code: str | None = None, channel: str = "online") -> Complaint:
    """File a complaint or consultation and start its clock.

    An applicant files with the phone they logged in with; anyone else must give a phone (the
    answer goes there by SMS). Naming a case the filer may tie to it assigns it at once to the
    case's department; otherwise it waits for a supervisor to assign it.
    """
    text = (content or "").strip()
    if not text or len(text) > MAX_CONTENT:
        raise DomainError(ErrorCode.BAD_INPUT, f"内容应为 1–{MAX_CONTENT} 个字 content must be 1–{MAX_CONTENT} characters")
    if name is not None and len(name) > 50:
        raise DomainError(ErrorCode.BAD_INPUT, "姓名过长 name too long")
    stored_phone = complainant_phone(filer.applicant_phone if filer.role is Role.APPLICANT else phone)
    recent = tx.session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.complainant_phone == stored_phone, Complaint.filed_at > tx.now - timedelta(hours=24)))
    if filer.role in (Role.PUBLIC, Role.APPLICANT) and (recent or 0) >= tx.settings.complaint_daily_limit:
        raise DomainError(ErrorCode.RATE_LIMITED, f"同一号码 24 小时内最多提交 {tx.settings.complaint_daily_limit} 件投诉咨询",
                          retryAfter=3600)
    case = _linked_case(tx, filer, stored_phone, case_number)
    center = tx.session.get(Center, case.center_id) if case else _center_for(tx, center_code)
    assert center is not None
    complaint = Complaint(number=_next_number(tx, kind, center.id), kind=kind.value, channel=channel, center_id=center.id,
                          complainant_name=(name or "").strip() or None, complainant_phone=stored_phone,
                          content=text, filed_at=tx.now,
                          case_number_given=case_number.strip().upper() if case_number and case is None else None)
    if case is not None:
        complaint.case_id, complaint.item_id = case.id, case.item_id
        complaint.department_id, complaint.window_id = case.department_id, case.window_id
        complaint.staff_id, complaint.status = case.staff_id, ComplaintStatus.ASSIGNED.value
        complaint.assigned_at, complaint.assigned_by = tx.now, "system:case"
    limit = (tx.settings.complaint_answer_days if kind is ComplaintKind.COMPLAINT
             else tx.settings.consultation_answer_days)
    book = ClockBook(tx)
    clock = book.start(center_id=center.id, subject_type=SubjectType.COMPLAINT, subject_id=complaint.id,
                       limit_days=limit, department_id=complaint.department_id, window_id=complaint.window_id)
    complaint.clock_id, complaint.due_at = clock.id, clock.due_at
    tx.session.add(complaint)
    book.settle()
    _record(tx, complaint, "complaint.filed", {"channel": channel, "case_number": case.number if case else None},
            clock)
    return complaint


# ----------------------------------------------------------------------------- assigning and answering

def complaint_scope(viewer: Viewer) -> ColumnElement[bool]:
    """The complaints ``viewer`` may read: supervision all, a center its own, a department (or its
    system) what it was given, a window what concerns it, a complainant their own."""
    return unit_scope(viewer, Complaint, Complaint.complainant_phone)


def _load(tx: "Transaction", viewer: Viewer, number: str) -> Complaint:
    complaint = tx.session.scalars(select(Complaint).where(Complaint.number == (number or "").strip().upper(),
                                                           complaint_scope(viewer)).with_for_update()).first()
    if complaint is None:
        raise DomainError(ErrorCode.COMPLAINT_NOT_FOUND, f"投诉咨询 {number} 不存在", complaint=number)
    return complaint


def assign_complaint(tx: "Transaction", *, viewer: Viewer, number: str, department_id: uuid.UUID) -> Complaint:
    """Give a complaint to a department (or move it to another) until it is answered; its clock
    keeps running from the filing and now counts against that department."""
    complaint = _load(tx, viewer, number)
    if complaint.status == ComplaintStatus.ANSWERED.value:
        raise DomainError(ErrorCode.COMPLAINT_ANSWERED, f"{complaint.number} 已答复，不能再分派", complaint=complaint.number)
    department = tx.session.get(Department, department_id)
    if department is None or (viewer.role is Role.CENTER_ADMIN and department.center_id != viewer.center_id):
        raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, f"部门 {department_id} 不存在", department=department_id)
    previous = complaint.department_id
    complaint.department_id, complaint.center_id = department.id, department.center_id
    if previous != department.id:   # the case's window answers only for the case's own department
        complaint.window_id = complaint.staff_id = None
    complaint.status, complaint.assigned_at, complaint.assigned_by = ComplaintStatus.ASSIGNED.value, tx.now, viewer.actor
    book = ClockBook(tx)
    clock = book.get(complaint.clock_id)
    if clock is not None:
        clock.department_id, clock.window_id, clock.center_id = department.id, complaint.window_id, department.center_id
    book.settle()
    _record(tx, complaint, "complaint.assigned",
            {"department_id": str(department.id), "previous_department_id": str(previous) if previous else None}, clock)
    return complaint


def answer_complaint(tx: "Transaction", *, viewer: Viewer, number: str, answer: str) -> Complaint:
    """Answer a complaint or consultation: its clock stops (on time or overdue) and the answer
    goes to the complainant by SMS."""
    text = (answer or "").strip()
    if not text or len(text) > MAX_ANSWER:
        raise DomainError(ErrorCode.BAD_INPUT, f"答复应为 1–{MAX_ANSWER} 个字 answer must be 1–{MAX_ANSWER} characters")
    complaint = _load(tx, viewer, number)
    if complaint.status == ComplaintStatus.ANSWERED.value:
        raise DomainError(ErrorCode.COMPLAINT_ANSWERED, f"{complaint.number} 已答复", complaint=complaint.number)
    book = ClockBook(tx)
    clock = book.get(complaint.clock_id)
    book.finish(clock)
    complaint.status, complaint.answered_at = ComplaintStatus.ANSWERED.value, tx.now
    complaint.answer, complaint.answered_by = text, viewer.actor
    book.settle()
    _record(tx, complaint, "complaint.answered", {"outcome": clock.outcome if clock else None}, clock)
    return complaint


def _record(tx: "Transaction", complaint: Complaint, kind: str, data: dict[str, Any], clock: Clock | None) -> None:
    tx.session.flush()
    event = tx.ledger.append(center_id=complaint.center_id, kind=kind, subject_type="complaint",
                             subject_id=complaint.id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                             data={"number": complaint.number, "kind": complaint.kind, "status": complaint.status,
                                   **data},
                             changes=changes_of(clock, complaint))
    tx.announce("complaint.event", {"number": complaint.number, "kind": kind, "status": complaint.status,
                                    "center_id": str(complaint.center_id),
                                    "department_id": str(complaint.department_id) if complaint.department_id else None},
                event)


# ----------------------------------------------------------------------------- notices

def write_complaint_notices(tx: "Transaction", events: list[Any]) -> None:
    """The transaction listener: the complainant hears that the complaint is registered and,
    later, its answer; the department's leaders hear that it was given to them."""
    wanted = [e for e in events if e.kind in ("complaint.filed", "complaint.assigned", "complaint.answered")]
    if not wanted:
        return
    rows = {c.id: c for c in tx.session.scalars(select(Complaint).where(
        Complaint.id.in_([e.subject_id for e in wanted])))}  # type: ignore[attr-defined]
    centers = dict(tx.session.execute(select(Center.id, Center.name).where(
        Center.id.in_({c.center_id for c in rows.values()}))).all())  # type: ignore[attr-defined]
    drafts: list[NoticeDraft] = []
    for event in wanted:
        complaint = rows.get(event.subject_id)
        if complaint is None:
            continue
        kind = ComplaintKind(complaint.kind)
        base = dict(key=f"{event.kind}:{complaint.id}:{event.seq}", subject_type="complaint", subject_id=complaint.id,
                    center_id=complaint.center_id, case_id=complaint.case_id, ledger_event_id=event.id)
        deadline = local_time(complaint.due_at, tx.settings.timezone)
        if event.kind == "complaint.filed":
            drafts.append(NoticeDraft(**base, template="complaint_received", phone=complaint.complainant_phone,  # type: ignore[arg-type]
                                      recipient_kind="applicant",
                                      params={"center": centers.get(complaint.center_id, "行政服务中心"),
                                              "kind": KIND_LABELS[kind], "complaint": complaint.number,
                                              "deadline": deadline}))
        if event.kind in ("complaint.filed", "complaint.assigned") and complaint.department_id:
            leaders = tx.session.execute(select(Staff.id, Staff.phone).where(
                Staff.department_id == complaint.department_id, Staff.is_leader.is_(True),  # type: ignore[attr-defined]
                Staff.phone.is_not(None))).all()  # type: ignore[union-attr]
            for staff_id, phone in leaders:
                drafts.append(NoticeDraft(**base, template="complaint_assigned", phone=phone,  # type: ignore[arg-type]
                                          recipient_kind="staff", staff_id=staff_id,
                                          params={"kind": KIND_LABELS[kind], "complaint": complaint.number,
                                                  "deadline": deadline}))
        if event.kind == "complaint.answered":
            template = "complaint_reply" if kind is ComplaintKind.COMPLAINT else "consultation_reply"
            drafts.append(NoticeDraft(**base, template=template, phone=complaint.complainant_phone,  # type: ignore[arg-type]
                                      recipient_kind="applicant",
                                      params={"center": centers.get(complaint.center_id, "行政服务中心"),
                                              "complaint": complaint.number, "reply": complaint.answer}))
    if drafts:
        add_notices(tx, drafts)


# ----------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class ComplaintFilter:
    kinds: list[str] | None = None
    statuses: list[str] | None = None
    center_ids: list[uuid.UUID] | None = None
    department_ids: list[uuid.UUID] | None = None
    case_id: uuid.UUID | None = None
    lights: list[str] | None = None          # white / yellow / red: of the open ones
    overdue: bool | None = None              # answered late, or still open past the deadline
    filed_from: datetime | None = None
    filed_to: datetime | None = None


def _conditions(flt: ComplaintFilter, now: datetime) -> tuple[list[ColumnElement[bool]], bool]:
    conds: list[ColumnElement[bool]] = []
    if flt.kinds is not None:
        conds.append(Complaint.kind.in_(flt.kinds))  # type: ignore[attr-defined]
    if flt.statuses is not None:
        conds.append(Complaint.status.in_(flt.statuses))  # type: ignore[attr-defined]
    if flt.center_ids is not None:
        conds.append(Complaint.center_id.in_(flt.center_ids))  # type: ignore[attr-defined]
    if flt.department_ids is not None:
        conds.append(Complaint.department_id.in_(flt.department_ids))  # type: ignore[union-attr]
    if flt.case_id is not None:
        conds.append(Complaint.case_id == flt.case_id)
    if flt.filed_from is not None:
        conds.append(Complaint.filed_at >= flt.filed_from)
    if flt.filed_to is not None:
        conds.append(Complaint.filed_at < flt.filed_to)
    late = or_(Complaint.answered_at > Complaint.due_at,  # type: ignore[operator]
               and_(Complaint.answered_at.is_(None), Complaint.due_at < now))  # type: ignore[union-attr,operator]
    if flt.overdue is not None:
        conds.append(late if flt.overdue else ~late)
    need_clock = False
    if flt.lights:
        need_clock = True
        conds.append(and_(Clock.state == ClockState.RUNNING.value,
                          or_(*[light_condition(Light(light), now) for light in dict.fromkeys(flt.lights)])))
    return conds, need_clock


def search_complaints(session: Session, *, viewer: Viewer, flt: ComplaintFilter, now: datetime,
                      first: int, offset: int = 0) -> tuple[list[Complaint], int]:
    """A page of the complaints ``viewer`` may read, newest first, and how many match."""
    conds, need_clock = _conditions(flt, now)
    query = select(Complaint).where(complaint_scope(viewer), *conds)
    count = select(func.count()).select_from(Complaint).where(complaint_scope(viewer), *conds)
    if need_clock:
        query = query.join(Clock, Clock.id == Complaint.clock_id)
        count = count.join(Clock, Clock.id == Complaint.clock_id)
    rows = list(session.scalars(query.order_by(Complaint.filed_at.desc(), Complaint.id.desc())  # type: ignore[attr-defined]
                                .offset(offset).limit(first)))
    return rows, session.scalar(count) or 0


def get_complaint(session: Session, *, viewer: Viewer, number: str) -> Complaint | None:
    """The complaint with this number if ``viewer`` may read it; else None, as if it did not exist."""
    return session.scalars(select(Complaint).where(Complaint.number == (number or "").strip().upper(),
                                                   complaint_scope(viewer))).first()


def case_complaints(session: Session, case_id: uuid.UUID) -> list[Complaint]:
    """The complaints and consultations tied to a case, oldest first."""
    return list(session.scalars(select(Complaint).where(Complaint.case_id == case_id)
                                .order_by(Complaint.filed_at, Complaint.id)))


# ----------------------------------------------------------------------------- timeline

def _timeline(session: Session, case: Case) -> list[Any]:
    """The case's complaints in its full-process story: filed, assigned, answered."""
    from esupervision.models.cases.timeline import TimelineEntry

    entries = []
    for c in case_complaints(session, case.id):
        label = KIND_LABELS[ComplaintKind(c.kind)]
        detail = {"complaint": c.number, "kind": c.kind, "channel": c.channel, "due_at": c.due_at.isoformat()
                  if c.due_at else None}
        entries.append(TimelineEntry(at=c.filed_at, kind="complaint.filed", title=f"收到{label} {c.number}",
                                     detail=detail))
        if c.answered_at is not None:
            late = c.due_at is not None and c.answered_at > c.due_at
            entries.append(TimelineEntry(at=c.answered_at, kind="complaint.answered", actor=c.answered_by,
                                         title=f"{label} {c.number} 已答复{'（超期）' if late else ''}",
                                         detail={**detail, "answer": c.answer, "overdue": late}))
    return entries


def install() -> None:
    """Derive complaint notices from every transaction's ledger events; add complaints to the
    case timeline (idempotent)."""
    from esupervision.models.cases.timeline import register_timeline_source
    from esupervision.models.ledger.transaction import add_event_listener

    add_event_listener(write_complaint_notices)
    register_timeline_source(_timeline)


install()
