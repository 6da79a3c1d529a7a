"""Urges (催办) and supervision orders (督办): who is told, the order's reply clock, replies,
escalation, and the automatic rules that urge and order by themselves.

Every change goes through one service function here, in the caller's transaction: it checks the
request, writes the projection rows (``urge``, ``supervision_order``, their clocks), appends the
ledger event with the rows it wrote (so ``esv ledger replay`` rebuilds them) and announces it on
the ``supervision.event`` topic. Notices are derived from those ledger events by the listener at
the bottom (outbox rows in the same transaction, like the core's case notices).

Escalation ladder of an order left unanswered at its deadline: level 0 the addressee, level 1 the
department leader (a new reply clock), level 2 the center's leadership (center admins, another
clock). Each step is an ``order.escalated`` event.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, and_, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.cases.case import FINAL, STATUS_LABELS, Case, CaseStatus, Step, StepStatus
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window
from esupervision.models.catalogue.numbering import next_number
from esupervision.models.clocks.clock import Basis, Clock, ClockState, SubjectType, WarningRule, compute_deadline, local_date
from esupervision.models.clocks.clockbook import ClockBook
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent, row_values
from esupervision.models.clocks.light import light_at
from esupervision.models.supervision.rules import (WATCH_SUBJECT, Action, RuleSpec, RuleSubject,
                                                   SupervisionRule, Trigger, describe, rule_applies)
from esupervision.models.ledger.transaction import Transaction, add_event_listener

log = logging.getLogger(__name__)

TOPIC = "supervision.event"
RULES_ACTOR = "system:rules"
ESCALATION_ACTOR = "system:escalation"
DEFAULT_URGE_REPLY_DAYS = 1
DEFAULT_ORDER_REPLY_DAYS = 3
ESCALATION_REPLY_DAYS = 2          # each escalation level gets this many working days to answer
TOP_LEVEL = 2                      # 0 addressee, 1 department leader, 2 center leadership
MAX_REPLY_DAYS = 30
MAX_TEXT = 2000
LEVEL_LABELS = {0: "承办人", 1: "部门领导", 2: "中心领导"}
TARGET_LABELS = {"case": "办件", "step": "环节", "window": "窗口", "department": "部门", "tender_stage": "招投标阶段"}


class OrderStatus:
    OPEN = "open"           # waiting for a reply
    REPLIED = "replied"     # answered (on time or late: see ``replied_on_time``)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Urge(SQLModel, table=True):
    """催办: a supervisor (or a rule) presses whoever handles a case, step, window, department or
    tender stage; a reply is welcome, not enforced by a clock."""

    __tablename__ = "urge"
    __table_args__ = (Index("ix_urge_case", "case_id", "created_at"),
                      Index("ix_urge_department", "department_id", "created_at"),
                      Index("ix_urge_center", "center_id", "created_at"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(unique=True)
    center_id: uuid.UUID
    department_id: uuid.UUID
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None          # the first addressee (statistics count per staff)
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    tender_stage_id: uuid.UUID | None = None
    target_kind: str                           # case / step / window / department / tender_stage
    target_label: str
    message: str
    addressee_ids: list[str] = _json_list()    # every staff member told
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str | None = None
    rule_id: uuid.UUID | None = None           # set when a rule urged, not a person
    reply_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied_by: str | None = None
    reply: str | None = None
    finish_by: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SupervisionOrder(SQLModel, table=True):
    """督办单: an order to act and reply within working days, on a clock of its own."""

    __tablename__ = "supervision_order"
    __table_args__ = (Index("ix_order_case", "case_id", "issued_at"),
                      Index("ix_order_department_status", "department_id", "status"),
                      Index("ix_order_center_status", "center_id", "status"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(unique=True)
    center_id: uuid.UUID
    department_id: uuid.UUID
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    tender_stage_id: uuid.UUID | None = None
    target_kind: str
    target_label: str
    message: str
    addressee_ids: list[str] = _json_list()    # staff told at level 0 and 1
    leadership_ids: list[str] = _json_list()   # accounts (center admins) told at level 2
    issued_at: datetime = Field(sa_type=UTCDateTime)
    issued_by: str | None = None
    rule_id: uuid.UUID | None = None
    reply_days: int
    first_due_at: datetime = Field(sa_type=UTCDateTime)   # the deadline as first issued
    due_at: datetime = Field(sa_type=UTCDateTime)         # the deadline of the current level
    clock_id: uuid.UUID
    status: str = OrderStatus.OPEN
    escalation_level: int = 0
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    replied_by: str | None = None
    replied_on_time: bool | None = None        # before the first deadline, with no escalation
    reply: str | None = None
    finish_by: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ----------------------------------------------------------------------------- targets

@dataclass(frozen=True)
class Target:
    """What is urged or ordered: exactly one of these."""

    case_number: str | None = None
    step_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    tender_stage_id: uuid.UUID | None = None


@dataclass
class Resolved:
    kind: str
    label: str
    center_id: uuid.UUID
    department_id: uuid.UUID
    addressees: list[Staff]
    window_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    step_id: uuid.UUID | None = None
    tender_stage_id: uuid.UUID | None = None
    case_number: str | None = None


def _staff(session: Session, *conditions: Any) -> list[Staff]:
    return list(session.scalars(select(Staff).where(*conditions).order_by(Staff.code)))


def _leaders(session: Session, department_id: uuid.UUID) -> list[Staff]:
    return _staff(session, Staff.department_id == department_id, Staff.is_leader)


def _window_staff(session: Session, window_id: uuid.UUID | None) -> list[Staff]:
    return _staff(session, Staff.window_id == window_id) if window_id else []


def _case_addressees(session: Session, case: Case, running: list[Step]) -> list[Staff]:
    """Whoever handles the current step; else the case's handler, its window, its leaders."""
    handlers = [s.staff_id for s in running if s.staff_id] or ([case.staff_id] if case.staff_id else [])
    if handlers:
        found = _staff(session, Staff.id.in_(handlers))  # type: ignore[attr-defined]
        if found:
            return found
    window = _window_staff(session, case.window_id)
    if window:
        return window
    departments = list(dict.fromkeys([s.department_id for s in running] or [case.department_id]))
    return [s for d in departments for s in _leaders(session, d)]


def resolve_target(session: Session, target: Target) -> Resolved:
    """The urged or ordered thing, its places and its addressees; refuses a finished one."""
    given = [k for k, v in vars(target).items() if v is not None]
    if len(given) != 1:
        raise DomainError(ErrorCode.BAD_INPUT, "请指定且只指定一个催办/督办对象：办件、环节、窗口、部门或招投标阶段",
                          given=",".join(given) or "none")
    if target.case_number is not None:
        case = session.scalars(select(Case).where(Case.number == target.case_number)).first()
        if case is None:
            raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {target.case_number} 不存在", case=target.case_number)
        if case.status in FINAL:
            raise DomainError(ErrorCode.CASE_NOT_RUNNING, f"办件 {case.number} 已结束（{STATUS_LABELS[CaseStatus(case.status)]}），不能催办或督办",
                              case=case.number, status=case.status)
        running = list(session.scalars(select(Step).where(Step.case_id == case.id,
                                                          Step.status == StepStatus.RUNNING.value)))
        return Resolved("case", f"办件{case.number}", case.center_id, case.department_id,
                        _case_addressees(session, case, running), window_id=case.window_id, case_id=case.id,
                        item_id=case.item_id, case_number=case.number)
    if target.step_id is not None:
        step = session.get(Step, target.step_id)
        case = session.get(Case, step.case_id) if step else None
        if step is None or case is None:
            raise DomainError(ErrorCode.STEP_NOT_RUNNING, "环节不存在", step=target.step_id)
        if step.status != StepStatus.RUNNING.value or case.status in FINAL:
            raise DomainError(ErrorCode.URGE_TARGET_FINISHED, f"办件 {case.number} 的环节「{step.name}」已结束，不能催办或督办",
                              case=case.number, step=step.name)
        people = _staff(session, Staff.id == step.staff_id) if step.staff_id else []
        if not people and step.department_id == case.department_id:
            people = _window_staff(session, case.window_id)
        people = people or _leaders(session, step.department_id)
        return Resolved("step", f"办件{case.number}「{step.name}」环节", case.center_id, step.department_id, people,
                        window_id=case.window_id if step.department_id == case.department_id else None,
                        case_id=case.id, item_id=case.item_id, step_id=step.id, case_number=case.number)
    if target.window_id is not None:
        window = session.get(Window, target.window_id)
        if window is None:
            raise DomainError(ErrorCode.WINDOW_NOT_FOUND, "窗口不存在", window=target.window_id)
        people = _window_staff(session, window.id) or _leaders(session, window.department_id)
        return Resolved("window", window.name, window.center_id, window.department_id, people, window_id=window.id)
    if target.department_id is not None:
        department = session.get(Department, target.department_id)
        if department is None:
            raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, "部门不存在", department=target.department_id)
        return Resolved("department", department.name, department.center_id, department.id,
                        _leaders(session, department.id))
    from esupervision.models.tenders.tender import Tender, TenderStageRow
    stage = session.get(TenderStageRow, target.tender_stage_id)
    tender = session.get(Tender, stage.tender_id) if stage else None
    if stage is None or tender is None:
        raise DomainError(ErrorCode.TENDER_NOT_FOUND, "招投标阶段不存在", stage=target.tender_stage_id)
    if stage.status not in ("running", "paused"):
        raise DomainError(ErrorCode.URGE_TARGET_FINISHED, f"招标项目 {tender.code} 的「{stage.name}」阶段已结束",
                          tender=tender.code, stage=stage.name)
    if tender.authority_department_id is None:
        raise DomainError(ErrorCode.NO_ADDRESSEE, f"招标项目 {tender.code} 没有登记行政监督部门，无人可催办",
                          tender=tender.code)
    return Resolved("tender_stage", f"招标项目{tender.code}「{stage.name}」", tender.center_id,
                    tender.authority_department_id, _leaders(session, tender.authority_department_id),
                    tender_stage_id=stage.id)


def _check_issuer(session: Session, by: Viewer | None, resolved: Resolved) -> None:
    """Supervisors anywhere; a center admin within their center; rules (``by`` None) anywhere; the
    city's supervision office (its service key at a county's deployment) on that county's cases.
    A replicated county's case is urged at the county, not here (``county_commands``)."""
    from esupervision.models.supervision.county_commands import refuse_local_write
    refuse_local_write(session, resolved.center_id, resolved.label)
    if by is None or by.role is Role.SUPERVISOR:
        return
    if by.role is Role.CENTER_ADMIN and by.center_id == resolved.center_id:
        return
    if by.role is Role.CITY_SUPERVISION:
        from esupervision.models.access.city_key import within_county
        if resolved.kind in ("case", "step") and within_county(session, by.center_id, resolved.center_id):
            return
        raise DomainError(ErrorCode.FORBIDDEN, "市级监察的服务密钥只能催办、督办本县区的办件")
    raise DomainError(ErrorCode.FORBIDDEN, "只有监察人员（或本中心管理员）可以催办、督办")


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_TEXT:
        raise DomainError(ErrorCode.BAD_INPUT, f"{what}不能为空，且不超过 {MAX_TEXT} 字")
    return value


def _reply_days(days: int) -> int:
    if not 1 <= days <= MAX_REPLY_DAYS:
        raise DomainError(ErrorCode.BAD_INPUT, f"反馈期限应为 1–{MAX_REPLY_DAYS} 个工作日", reply_days=days)
    return days


def _number(tx: Transaction, prefix: str, center_id: uuid.UUID, existing: Any) -> str:
    # Sequential per center and local day, read out on the phone and in SMS (CB-QH-20261208-0001).
    return next_number(tx.session, kind=prefix, center_id=center_id, day=local_date(tx.now), existing=existing)


def _change(row: SQLModel) -> dict[str, Any]:
    return {"table": row.__tablename__, "id": str(row.id), "values": row_values(row)}  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- clocks

def reply_due(tx: Transaction, center_id: uuid.UUID, days: int) -> datetime:
    """The end of the ``days``-th working day after today, in the center's calendar."""
    return compute_deadline(tx.calendar(center_id), started_at=tx.now, limit_days=days,
                            basis=Basis.WORKING).due_at


# ----------------------------------------------------------------------------- urges

def _places(resolved: Resolved) -> dict[str, Any]:
    return dict(center_id=resolved.center_id, department_id=resolved.department_id, window_id=resolved.window_id,
                staff_id=resolved.addressees[0].id if resolved.addressees else None, case_id=resolved.case_id,
                item_id=resolved.item_id, step_id=resolved.step_id, tender_stage_id=resolved.tender_stage_id,
                target_kind=resolved.kind, target_label=resolved.label,
                addressee_ids=[str(s.id) for s in resolved.addressees])


def _message(tx: Transaction, kind: str, row: Any, resolved: Resolved | None, event: Any,
             **extra: Any) -> None:
    """Announce a supervision change after commit (the live ``supervisionEvents``)."""
    message = {"kind": kind, "id": str(row.id), "number": row.number, "case_id": str(row.case_id) if row.case_id else None,
               "case_number": resolved.case_number if resolved else extra.pop("case_number", None),
               "center_id": str(row.center_id), "department_id": str(row.department_id),
               "window_id": str(row.window_id) if row.window_id else None,
               "staff_ids": list(row.addressee_ids), "target": row.target_label, "message": row.message, **extra}
    tx.announce(TOPIC, message, event)


def create_urge(tx: Transaction, *, target: Target, message: str, by: Viewer | None,
                reply_days: int = DEFAULT_URGE_REPLY_DAYS, rule: SupervisionRule | None = None) -> Urge:
    """催办: resolve the target and its addressees, write the urge, tell them (SMS and live).

    Refuses a finished case, step or stage (CASE_NOT_RUNNING / URGE_TARGET_FINISHED), a target
    nobody can be told about (NO_ADDRESSEE), and anyone but a supervisor or the center's admin."""
    message = _text(message, "催办内容")
    reply_days = _reply_days(reply_days)
    resolved = resolve_target(tx.session, target)
    _check_issuer(tx.session, by, resolved)
    if not resolved.addressees:
        raise DomainError(ErrorCode.NO_ADDRESSEE, f"{resolved.label} 没有登记承办人、窗口人员或部门领导，无人可催办",
                          target=resolved.label)
    urge_id = new_id()
    actor = by.actor if by else RULES_ACTOR
    urge = Urge(id=urge_id, number=_number(tx, "CB", resolved.center_id, Urge.number), message=message, created_at=tx.now,
                created_by=actor, rule_id=rule.id if rule else None,
                reply_due_at=reply_due(tx, resolved.center_id, reply_days), **_places(resolved))
    tx.session.add(urge)
    data = {"number": urge.number, "target": resolved.label, "target_kind": resolved.kind,
            "case_number": resolved.case_number, "message": message, "reply_due_at": urge.reply_due_at,
            "staff_ids": urge.addressee_ids}
    if rule is not None:
        data["rule"] = {"id": str(rule.id), "name": rule.name, "text": describe(rule)}
    event = tx.ledger.append(center_id=urge.center_id, kind="urge.created", subject_type="urge", subject_id=urge.id,
                             occurred_at=tx.now, recorded_at=tx.now, data=data, changes=[_change(urge)], actor=actor)
    _message(tx, "urge.created", urge, resolved, event)
    return urge


def may_reply(by: Viewer, row: Urge | SupervisionOrder) -> bool:
    """The addressee (their account, or their window's when the account names no person), their
    department's leader, and — once an order reached the center's leadership — its center admins."""
    if by.staff_id is not None and str(by.staff_id) in row.addressee_ids:
        return True
    if by.role is Role.WINDOW_STAFF and by.staff_id is None and row.window_id and by.window_id == row.window_id:
        return True
    if by.role is Role.DEPARTMENT_LEADER and by.department_id == row.department_id:
        return True
    if isinstance(row, SupervisionOrder) and row.escalation_level >= TOP_LEVEL:
        return by.role is Role.CENTER_ADMIN and by.center_id == row.center_id
    return False


def _reply_fields(reply: str, finish_by: datetime | None) -> tuple[str, datetime | None]:
    reply = _text(reply, "反馈内容")
    if finish_by is not None and finish_by.tzinfo is None:
        raise DomainError(ErrorCode.BAD_INPUT, "预计办结时间须带时区")
    return reply, finish_by


def reply_to_urge(tx: Transaction, *, urge_id: uuid.UUID, reply: str, by: Viewer,
                  finish_by: datetime | None = None) -> Urge:
    """反馈 to an urge: what was done and when it will finish; only its addressee answers."""
    urge = tx.session.scalars(select(Urge).where(Urge.id == urge_id).with_for_update()).first()
    if urge is None:
        raise DomainError(ErrorCode.URGE_NOT_FOUND, "催办单不存在", urge=urge_id)
    if not may_reply(by, urge):
        raise DomainError(ErrorCode.ORDER_NOT_ADDRESSEE, f"催办单 {urge.number} 不是发给您的，不能反馈", urge=urge.number)
    if urge.replied_at is not None:
        raise DomainError(ErrorCode.ORDER_ALREADY_REPLIED, f"催办单 {urge.number} 已反馈", urge=urge.number)
    urge.reply, urge.finish_by = _reply_fields(reply, finish_by)
    urge.replied_at, urge.replied_by = tx.now, by.actor
    event = tx.ledger.append(center_id=urge.center_id, kind="urge.replied", subject_type="urge", subject_id=urge.id,
                             occurred_at=tx.now, recorded_at=tx.now, actor=by.actor,
                             data={"number": urge.number, "reply": urge.reply, "finish_by": urge.finish_by,
                                   "on_time": urge.reply_due_at is None or tx.now <= urge.reply_due_at},
                             changes=[_change(urge)])
    _message(tx, "urge.replied", urge, None, event, case_number=_case_number(tx.session, urge.case_id))
    return urge


def _case_number(session: Session, case_id: uuid.UUID | None) -> str | None:
    return session.scalar(select(Case.number).where(Case.id == case_id)) if case_id else None


# ----------------------------------------------------------------------------- orders

def issue_order(tx: Transaction, *, target: Target, message: str, by: Viewer | None,
                reply_days: int = DEFAULT_ORDER_REPLY_DAYS, rule: SupervisionRule | None = None) -> SupervisionOrder:
    """督办: an order with a reply deadline in working days, on its own clock (so it has a light);
    the addressees are told by SMS and voice. Refuses as ``create_urge`` does."""
    message = _text(message, "督办内容")
    reply_days = _reply_days(reply_days)
    resolved = resolve_target(tx.session, target)
    _check_issuer(tx.session, by, resolved)
    if not resolved.addressees:
        raise DomainError(ErrorCode.NO_ADDRESSEE, f"{resolved.label} 没有登记承办人、窗口人员或部门领导，无人可督办",
                          target=resolved.label)
    order_id = new_id()
    clocks = ClockBook(tx)
    clock = clocks.start(center_id=resolved.center_id, subject_type=SubjectType.ORDER, subject_id=order_id,
                         limit_days=reply_days, department_id=resolved.department_id, window_id=resolved.window_id)
    actor = by.actor if by else RULES_ACTOR
    order = SupervisionOrder(id=order_id, number=_number(tx, "DB", resolved.center_id, SupervisionOrder.number), message=message,
                             issued_at=tx.now, issued_by=actor, rule_id=rule.id if rule else None,
                             reply_days=reply_days, first_due_at=clock.due_at, due_at=clock.due_at,
                             clock_id=clock.id, **_places(resolved))
    tx.session.add(order)
    clocks.settle()
    data = {"number": order.number, "target": resolved.label, "target_kind": resolved.kind,
            "case_number": resolved.case_number, "message": message, "reply_days": reply_days,
            "due_at": order.due_at, "staff_ids": order.addressee_ids, "level": 0}
    if rule is not None:
        data["rule"] = {"id": str(rule.id), "name": rule.name, "text": describe(rule)}
    event = tx.ledger.append(center_id=order.center_id, kind="order.issued", subject_type="order",
                             subject_id=order.id, occurred_at=tx.now, recorded_at=tx.now, data=data,
                             changes=[_change(clock), _change(order)], actor=actor)
    _message(tx, "order.issued", order, resolved, event, level=0, due_at=order.due_at.isoformat())
    return order


def _locked_order(tx: Transaction, order_id: uuid.UUID) -> SupervisionOrder | None:
    return tx.session.scalars(select(SupervisionOrder).where(SupervisionOrder.id == order_id).with_for_update()).first()


def reply_to_order(tx: Transaction, *, order_id: uuid.UUID, reply: str, by: Viewer,
                   finish_by: datetime | None = None) -> SupervisionOrder:
    """反馈 to an order: only its addressee (or their department leader; the center admins once
    it reached them). The reply finishes the order's clock, on time or late; someone else gets
    ORDER_NOT_ADDRESSEE and nothing changes."""
    order = _locked_order(tx, order_id)
    if order is None:
        raise DomainError(ErrorCode.ORDER_NOT_FOUND, "督办单不存在", order=order_id)
    if not may_reply(by, order):
        raise DomainError(ErrorCode.ORDER_NOT_ADDRESSEE, f"督办单 {order.number} 不是发给您的，不能反馈",
                          order=order.number)
    if order.status != OrderStatus.OPEN:
        raise DomainError(ErrorCode.ORDER_ALREADY_REPLIED, f"督办单 {order.number} 已反馈", order=order.number)
    order.reply, order.finish_by = _reply_fields(reply, finish_by)
    clocks = ClockBook(tx)
    clock = tx.session.get(Clock, order.clock_id)
    clocks.finish(clock)
    order.status, order.replied_at, order.replied_by = OrderStatus.REPLIED, tx.now, by.actor
    order.replied_on_time = order.escalation_level == 0 and tx.now <= order.first_due_at
    clocks.settle()
    changes = ([_change(clock)] if clock is not None else []) + [_change(order)]
    event = tx.ledger.append(center_id=order.center_id, kind="order.replied", subject_type="order",
                             subject_id=order.id, occurred_at=tx.now, recorded_at=tx.now, actor=by.actor,
                             data={"number": order.number, "reply": order.reply, "finish_by": order.finish_by,
                                   "on_time": order.replied_on_time, "level": order.escalation_level},
                             changes=changes)
    _message(tx, "order.replied", order, None, event, case_number=_case_number(tx.session, order.case_id),
             level=order.escalation_level)
    return order


def _center_leadership(session: Session, center_id: uuid.UUID) -> tuple[list[Any], list[Staff]]:
    """The center's admins (accounts) and the staff their accounts name, if any."""
    from esupervision.models.access.account import Account
    admins = list(session.scalars(select(Account).where(Account.role == Role.CENTER_ADMIN.value,
                                                        Account.center_id == center_id, Account.active)
                                  .order_by(Account.username)))
    staff_ids = [a.staff_id for a in admins if a.staff_id]
    people = _staff(session, Staff.id.in_(staff_ids)) if staff_ids else []  # type: ignore[attr-defined]
    return admins, people


def escalate_order(tx: Transaction, *, order_id: uuid.UUID, clock_id: uuid.UUID) -> SupervisionOrder | None:
    """The order's clock ``clock_id`` ran out unanswered: move it one level up (department leader,
    then the center's leadership) with a new reply clock; None when there is nothing to do (answered
    meanwhile, a stale clock, or already at the top)."""
    order = _locked_order(tx, order_id)
    if order is None or order.status != OrderStatus.OPEN or order.clock_id != clock_id:
        return None
    if order.escalation_level >= TOP_LEVEL:
        return None
    clocks = ClockBook(tx)
    old = tx.session.get(Clock, order.clock_id)
    clocks.finish(old)
    level = order.escalation_level + 1
    told_staff: list[Staff] = []
    admins: list[Any] = []
    if level == 1:
        told_staff = _leaders(tx.session, order.department_id)
        order.addressee_ids = list(dict.fromkeys([*order.addressee_ids, *(str(s.id) for s in told_staff)]))
    else:
        admins, told_staff = _center_leadership(tx.session, order.center_id)
        order.leadership_ids = [str(a.id) for a in admins]
    clock = clocks.start(center_id=order.center_id, subject_type=SubjectType.ORDER, subject_id=order.id,
                         limit_days=ESCALATION_REPLY_DAYS, department_id=order.department_id, window_id=order.window_id)
    order.clock_id, order.due_at = clock.id, clock.due_at
    order.escalation_level, order.escalated_at = level, tx.now
    clocks.settle()
    changes = ([_change(old)] if old is not None else []) + [_change(clock), _change(order)]
    data = {"number": order.number, "target": order.target_label, "level": level,
            "level_label": LEVEL_LABELS[level], "due_at": order.due_at,
            "staff_ids": [str(s.id) for s in told_staff], "account_ids": [str(a.id) for a in admins],
            "previous_clock_id": str(clock_id)}
    event = tx.ledger.append(center_id=order.center_id, kind="order.escalated", subject_type="order",
                             subject_id=order.id, occurred_at=tx.now, recorded_at=tx.now, data=data,
                             changes=changes, actor=ESCALATION_ACTOR)
    _message(tx, "order.escalated", order, None, event, case_number=_case_number(tx.session, order.case_id),
             level=level, due_at=order.due_at.isoformat(), account_ids=data["account_ids"],
             escalated_to=[str(s.id) for s in told_staff])
    return order


# ----------------------------------------------------------------------------- rules

def create_rule(tx: Transaction, *, spec: RuleSpec, by: Viewer) -> SupervisionRule:
    """A new automatic rule; refused when it names an unknown trigger or action."""
    _check_rule_editor(by, spec.center_id)
    spec = spec.validate()
    rule = SupervisionRule(name=spec.name.strip(), center_id=spec.center_id, trigger=spec.trigger,
                           subject=spec.subject, days=spec.days, action=spec.action, reply_days=spec.reply_days,
                           message=spec.message.strip(), enabled=True, created_at=tx.now, created_by=by.actor,
                           updated_at=tx.now)
    tx.session.add(rule)
    _rule_event(tx, "rule.created", rule, by)
    return rule


def update_rule(tx: Transaction, *, rule_id: uuid.UUID, spec: RuleSpec, by: Viewer,
                enabled: bool | None = None) -> SupervisionRule:
    """Change a rule's words (validated as on creation) and, optionally, switch it on or off."""
    rule = _rule(tx, rule_id)
    _check_rule_editor(by, rule.center_id)
    _check_rule_editor(by, spec.center_id)
    spec = spec.validate()
    rule.name, rule.center_id, rule.trigger, rule.subject = spec.name.strip(), spec.center_id, spec.trigger, spec.subject
    rule.days, rule.action, rule.reply_days, rule.message = spec.days, spec.action, spec.reply_days, spec.message.strip()
    if enabled is not None:
        rule.enabled = enabled
    rule.updated_at = tx.now
    _rule_event(tx, "rule.updated", rule, by)
    return rule


def disable_rule(tx: Transaction, *, rule_id: uuid.UUID, by: Viewer) -> SupervisionRule:
    """Switch a rule off: it fires no more (timers already running check it when they fire)."""
    rule = _rule(tx, rule_id)
    _check_rule_editor(by, rule.center_id)
    rule.enabled, rule.updated_at = False, tx.now
    _rule_event(tx, "rule.disabled", rule, by)
    return rule


def _rule(tx: Transaction, rule_id: uuid.UUID) -> SupervisionRule:
    rule = tx.session.scalars(select(SupervisionRule).where(SupervisionRule.id == rule_id).with_for_update()).first()
    if rule is None:
        raise DomainError(ErrorCode.RULE_NOT_FOUND, "规则不存在", rule=rule_id)
    return rule


def _check_rule_editor(by: Viewer, center_id: uuid.UUID | None) -> None:
    if by.role is Role.SUPERVISOR or (by.role is Role.CENTER_ADMIN and center_id is not None
                                      and by.center_id == center_id):
        return
    raise DomainError(ErrorCode.FORBIDDEN, "只有监察人员（或本中心管理员对本中心规则）可以编辑自动规则")


def _rule_event(tx: Transaction, kind: str, rule: SupervisionRule, by: Viewer) -> None:
    tx.session.flush()
    # Rules for every center are chained on the editor's center, or the first center's chain.
    center_id = rule.center_id or by.center_id or tx.session.scalar(select(Center.id).order_by(Center.created_at))
    if center_id is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, "尚无任何中心，规则无处登记")
    tx.ledger.append(center_id=center_id, kind=kind, subject_type="supervision_rule", subject_id=rule.id,
                     occurred_at=tx.now, recorded_at=tx.now, actor=by.actor,
                     data={"name": rule.name, "text": describe(rule), "enabled": rule.enabled},
                     changes=[_change(rule)])


def _enabled_rules(tx: Transaction) -> list[SupervisionRule]:
    key = ("supervision_rules",)
    if key not in tx.cache:
        tx.cache[key] = list(tx.session.scalars(select(SupervisionRule).where(SupervisionRule.enabled)
                                                .order_by(SupervisionRule.created_at)))
    return tx.cache[key]


def _act(tx: Transaction, rule: SupervisionRule, target: Target) -> Urge | SupervisionOrder | None:
    """Carry out a rule's action; a target that cannot be urged any more is skipped, not fatal
    (the scheduler's pass must go on)."""
    try:
        if rule.action == Action.URGE:
            return create_urge(tx, target=target, message=rule.message, by=None, reply_days=rule.reply_days, rule=rule)
        return issue_order(tx, target=target, message=rule.message, by=None, reply_days=rule.reply_days, rule=rule)
    except DomainError as exc:   # checked before anything is written: nothing to undo
        log.info("rule %s skipped on %s: %s", rule.id, target, exc.code)
        return None


def apply_light_rules(tx: Transaction, transitions: Iterable[Any]) -> int:
    """Act on the rules whose trigger these light transitions of case or step clocks meet;
    returns how many actions were taken. A case turning red also starts the timers of the
    "red for N working days" rules."""
    rules = _enabled_rules(tx)
    if not rules:
        return 0
    taken = 0
    for change in transitions:
        clock = change.clock
        subject = str(clock.subject_type)
        if subject not in (RuleSubject.CASE.value, RuleSubject.STEP.value) or change.light not in ("yellow", "red"):
            continue
        trigger = Trigger.LIGHT_YELLOW if change.light == "yellow" else Trigger.LIGHT_RED
        target = (Target(case_number=change.number) if subject == RuleSubject.CASE.value
                  else Target(step_id=clock.subject_id))
        for rule in rules:
            if rule_applies(rule, trigger=trigger, subject=subject, center_id=clock.center_id):
                taken += _act(tx, rule, target) is not None
            if (change.light == "red" and subject == RuleSubject.CASE.value
                    and rule_applies(rule, trigger=Trigger.RED_FOR_DAYS, subject=subject, center_id=clock.center_id)):
                _start_watch(tx, rule, clock, change.number)
    return taken


def _start_watch(tx: Transaction, rule: SupervisionRule, case_clock: Any, number: str | None) -> None:
    """A clock of the core that turns red when the case has been red for ``rule.days`` working
    days: started on the deadline's own day, so the first red day counts as day one."""
    if number is None or case_clock.due_at is None:
        return
    clocks = ClockBook(tx)
    watch_id = new_id()
    # Never yellow: the only transition worth announcing is the end of the wait.
    clock = clocks.start(center_id=case_clock.center_id, subject_type=WATCH_SUBJECT, subject_id=watch_id,
                         limit_days=rule.days or 1, department_id=case_clock.department_id,
                         window_id=case_clock.window_id, rule=WarningRule(min_days=0, fraction=0.0),
                         started_at=case_clock.due_at)
    clocks.settle()
    tx.ledger.append(center_id=case_clock.center_id, kind="rule.watch_started", subject_type=WATCH_SUBJECT.value,
                     subject_id=watch_id, occurred_at=tx.now, recorded_at=tx.now, actor=RULES_ACTOR,
                     data={"rule_id": str(rule.id), "rule": describe(rule), "case_number": number,
                           "case_clock_id": str(case_clock.id), "clock_id": str(clock.id), "fires_at": clock.red_at},
                     changes=[_change(clock)])


def fire_watches(tx: Transaction, transitions: Iterable[Any]) -> int:
    """The timers of "red for N working days" rules that ran out: order (or urge) on each case
    still open and still red, citing the rule; returns how many actions were taken."""
    taken = 0
    for change in transitions:
        if change.light != "red":
            continue
        started = tx.session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id == change.clock.subject_id,
                                                               LedgerEvent.kind == "rule.watch_started")).first()
        clock = tx.session.get(Clock, change.clock.id)
        if started is None or clock is None:
            continue
        clocks = ClockBook(tx)
        clocks.finish(clock)
        clocks.settle()
        rule = tx.session.get(SupervisionRule, uuid.UUID(started.data["rule_id"]))
        number = started.data["case_number"]
        case_clock = tx.session.get(Clock, uuid.UUID(started.data["case_clock_id"]))
        still_red = (case_clock is not None and case_clock.state == ClockState.RUNNING.value
                     and light_at(case_clock, tx.now).light.value == "red")
        acted = None
        if rule is not None and rule.enabled and still_red:
            acted = _act(tx, rule, Target(case_number=number))
        tx.ledger.append(center_id=clock.center_id, kind="rule.watch_ended", subject_type=WATCH_SUBJECT.value,
                         subject_id=clock.subject_id, occurred_at=tx.now, recorded_at=tx.now, actor=RULES_ACTOR,
                         data={"rule_id": started.data["rule_id"], "case_number": number,
                               "acted": acted.number if acted else None,
                               "reason": None if acted else ("rule_disabled" if rule is None or not rule.enabled
                                                             else "case_not_red" if not still_red else "skipped")},
                         changes=[_change(clock)])
        taken += acted is not None
    return taken


# ----------------------------------------------------------------------------- reading

@dataclass(frozen=True)
class SupervisionFilter:
    center_ids: list[uuid.UUID] | None = None
    department_ids: list[uuid.UUID] | None = None
    statuses: list[str] | None = None         # orders: open / replied; urges: open / replied
    lights: list[str] | None = None           # orders only: white / yellow / red
    case_id: uuid.UUID | None = None


def scope_condition(model: type[Urge] | type[SupervisionOrder], who: Viewer) -> ColumnElement[bool]:
    """Supervisors see all; a center its own; a department leader (or system) their department;
    window staff what their window or they themselves were sent."""
    if who.role is Role.SUPERVISOR:
        return true()
    if who.role is Role.CENTER_ADMIN and who.center_id:
        return model.center_id == who.center_id
    if who.role in (Role.DEPARTMENT_LEADER, Role.DEPARTMENT_SYSTEM) and who.department_id:
        return model.department_id == who.department_id
    if who.role is Role.WINDOW_STAFF:
        mine = [model.window_id == who.window_id] if who.window_id else []
        if who.staff_id:
            mine.append(model.staff_id == who.staff_id)
        return or_(*mine) if mine else false()
    return false()


def order_light(clock: Clock | None, now: datetime) -> str | None:
    """The order's light now (answered ones keep the light they were answered with)."""
    return light_at(clock, now).light.value if clock is not None else None


def list_orders(session: Session, *, who: Viewer, flt: SupervisionFilter, now: datetime,
                limit: int, offset: int = 0) -> tuple[list[SupervisionOrder], dict[uuid.UUID, Clock], bool]:
    """Orders in ``who``'s scope matching ``flt``, newest first; with their clocks and whether more follow."""
    query = select(SupervisionOrder, Clock).join(Clock, Clock.id == SupervisionOrder.clock_id, isouter=True).where(
        scope_condition(SupervisionOrder, who), *_conditions(SupervisionOrder, flt))
    query = query.order_by(SupervisionOrder.issued_at.desc(), SupervisionOrder.id.desc())
    if flt.lights:
        query = query.where(_light_condition(flt.lights, now))
    rows = session.execute(query.offset(offset).limit(limit + 1)).all()
    return [r[0] for r in rows[:limit]], {r[1].id: r[1] for r in rows[:limit] if r[1] is not None}, len(rows) > limit


def _light_condition(lights: list[str], now: datetime) -> ColumnElement[bool]:
    # The instants of the clock in force; answered orders read as of their reply.
    at = Clock.finished_at
    running = Clock.state == ClockState.RUNNING.value
    ended = Clock.state.in_([ClockState.FINISHED.value, ClockState.CANCELLED.value])
    parts = []
    if "red" in lights:
        parts += [and_(running, Clock.red_at <= now), and_(ended, Clock.red_at <= at)]
    if "yellow" in lights:
        parts += [and_(running, Clock.yellow_at <= now, Clock.red_at > now),
                  and_(ended, Clock.yellow_at <= at, Clock.red_at > at)]
    if "white" in lights:
        parts += [and_(running, Clock.yellow_at > now), and_(ended, Clock.yellow_at > at)]
    return or_(*parts) if parts else false()


def list_urges(session: Session, *, who: Viewer, flt: SupervisionFilter, limit: int,
               offset: int = 0) -> tuple[list[Urge], bool]:
    """Urges in ``who``'s scope matching ``flt``, newest first, and whether more follow."""
    query = select(Urge).where(scope_condition(Urge, who), *_conditions(Urge, flt)).order_by(
        Urge.created_at.desc(), Urge.id.desc())
    rows = list(session.scalars(query.offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def _conditions(model: Any, flt: SupervisionFilter) -> list[Any]:
    conditions = []
    if flt.center_ids is not None:
        conditions.append(model.center_id.in_(flt.center_ids))
    if flt.department_ids is not None:
        conditions.append(model.department_id.in_(flt.department_ids))
    if flt.case_id is not None:
        conditions.append(model.case_id == flt.case_id)
    if flt.statuses is not None:
        if model is SupervisionOrder:
            conditions.append(model.status.in_(flt.statuses))
        else:
            wanted = set(flt.statuses)
            if wanted == {"open"}:
                conditions.append(model.replied_at.is_(None))
            elif wanted == {"replied"}:
                conditions.append(model.replied_at.is_not(None))
            elif not wanted & {"open", "replied"}:
                conditions.append(false())
    return conditions


def case_urges(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Urge]]:
    """The urges of each case, oldest first (one query for a page of cases)."""
    found: dict[uuid.UUID, list[Urge]] = {i: [] for i in case_ids}
    for urge in session.scalars(select(Urge).where(Urge.case_id.in_(case_ids)).order_by(Urge.created_at)):  # type: ignore[union-attr]
        found[urge.case_id].append(urge)  # type: ignore[index]
    return found


def case_orders(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[SupervisionOrder]]:
    """The orders of each case, oldest first (one query for a page of cases)."""
    found: dict[uuid.UUID, list[SupervisionOrder]] = {i: [] for i in case_ids}
    for order in session.scalars(select(SupervisionOrder).where(SupervisionOrder.case_id.in_(case_ids))  # type: ignore[union-attr]
                                 .order_by(SupervisionOrder.issued_at)):
        found[order.case_id].append(order)  # type: ignore[index]
    return found


# ----------------------------------------------------------------------------- notices

_NOTICE_KINDS = frozenset({"urge.created", "order.issued", "order.escalated"})


def _notice_drafts(tx: Transaction, events: list[Any]) -> list[Any]:
    from esupervision.models.access.account import Account
    from esupervision.models.notices.notice import NoticeDraft, local_time

    wanted = [e for e in events if e.kind in _NOTICE_KINDS]
    if not wanted:
        return []
    staff_ids = {uuid.UUID(i) for e in wanted for i in e.data.get("staff_ids", [])}
    account_ids = {uuid.UUID(i) for e in wanted for i in e.data.get("account_ids", [])}
    phones: dict[str, str] = {}
    if staff_ids:
        phones.update((str(i), p) for i, p in tx.session.execute(
            select(Staff.id, Staff.phone).where(Staff.id.in_(staff_ids), Staff.phone.is_not(None))))  # type: ignore[attr-defined]
    if account_ids:
        phones.update((str(i), p) for i, p in tx.session.execute(
            select(Account.id, Account.phone).where(Account.id.in_(account_ids), Account.phone.is_not(None))))  # type: ignore[attr-defined]
    case_ids = {e.subject_id: None for e in wanted}
    model_of = {"urge": Urge, "order": SupervisionOrder}
    for kind, model in model_of.items():
        ids = [e.subject_id for e in wanted if e.subject_type == kind]
        if ids:
            case_ids.update(tx.session.execute(select(model.id, model.case_id).where(model.id.in_(ids))).all())  # type: ignore[attr-defined]
    tz = tx.settings.timezone
    drafts = []
    for event in wanted:
        data = event.data
        due = local_time(data.get("reply_due_at") or data.get("due_at"), tz)
        if event.kind == "urge.created":
            template = "urge" if data.get("case_number") else "urge_unit"
            params = {"message": data["message"], "reply_by": due}
        elif event.kind == "order.issued":
            template = "supervision_order" if data.get("case_number") else "supervision_order_unit"
            params = {"message": data["message"], "reply_by": due}
        else:
            template, params = "order_overdue", {"order": data["number"]}
        if template in ("urge", "supervision_order"):
            params["number"] = data["case_number"]
        elif template != "order_overdue":
            params["target"] = data["target"]
        channels = ["sms"] if event.subject_type == "urge" else ["sms", "voice"]
        channels = tx.settings.notice_channels.get(template, channels)
        for person in [*data.get("staff_ids", []), *data.get("account_ids", [])]:
            phone = phones.get(person)
            if not phone:
                continue
            is_staff = person in data.get("staff_ids", [])
            drafts.append(NoticeDraft(
                key=f"{event.kind}:{event.subject_id}:{data.get('level', 0)}:{person}", subject_type=event.subject_type,
                subject_id=event.subject_id, template=template, params=params, phone=phone, recipient_kind="staff",
                center_id=event.center_id, case_id=case_ids.get(event.subject_id), ledger_event_id=event.id,
                staff_id=uuid.UUID(person) if is_staff else None, channels=channels))
    return drafts


def write_supervision_notices(tx: Transaction, events: list[Any]) -> None:
    """The transaction listener: outbox rows for the urges, orders and escalations this flush wrote."""
    from esupervision.models.notices.notice import add_notices
    drafts = _notice_drafts(tx, events)
    if drafts:
        add_notices(tx, drafts)


add_event_listener(write_supervision_notices)


# ----------------------------------------------------------------------------- timeline

_TIMELINE_TITLES = {"urge.created": "催办", "urge.replied": "催办反馈", "order.issued": "督办",
                    "order.replied": "督办反馈", "order.escalated": "督办升级"}


def supervision_entries(session: Session, case: Case) -> list[Any]:
    """The case's urges and orders as the timeline shows them: issued, replied, escalated."""
    from esupervision.models.cases.timeline import TimelineEntry

    subjects = [*session.scalars(select(Urge.id).where(Urge.case_id == case.id)),
                *session.scalars(select(SupervisionOrder.id).where(SupervisionOrder.case_id == case.id))]
    if not subjects:
        return []
    entries = []
    for event in session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id.in_(subjects),  # type: ignore[attr-defined]
                                                           LedgerEvent.kind.in_(list(_TIMELINE_TITLES)))
                                 .order_by(LedgerEvent.id)):
        data = event.data
        label = _TIMELINE_TITLES[event.kind]
        if event.kind in ("urge.created", "order.issued"):
            automatic = f"（自动规则：{data['rule']['name']}）" if data.get("rule") else ""
            title = f"{label}{data['number']}{automatic}：{data['message']}"
        elif event.kind == "order.escalated":
            title = f"{label}：督办单{data['number']}逾期未反馈，升级至{data['level_label']}"
        else:
            late = "" if data.get("on_time") else "（逾期）"
            title = f"{label}{late}：{data['reply']}"
        entries.append(TimelineEntry(at=event.occurred_at, kind=event.kind, title=title, actor=event.actor,
                                     detail=dict(data), ledger_event_id=event.id))
    return entries


def _register_timeline() -> None:
    from esupervision.models.cases.timeline import register_timeline_source
    register_timeline_source(supervision_entries)


_register_timeline()
