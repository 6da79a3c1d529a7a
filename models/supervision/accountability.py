"""Faults (差错) and accountability (效能责任追究), with appeals (申诉).

A fault is recorded by a supervisor (conduct, or anything seen outside the system) or derived
from the ledger (``models/supervision/fault_detection.py``); each cites its evidence as ledger event ids.
Accountability rules are data: "N faults of these kinds by one staff member / window /
department in a month / quarter / year → this sanction". Faults that reach a rule's threshold
become a suggestion citing the rule and the evidence; only a person confirms, changes or
dismisses it. A department may appeal a fault or a suggestion; the supervisor revokes it, sends
it back or escalates it, and a revoked fault stops counting (statistics read ``fault.status``).

Every change is a ledger event carrying the rows it wrote, so ``esv ledger replay`` rebuilds
these tables; every refusal is a ``DomainError`` and changes nothing.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, false, func, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import Role, Viewer, unit_scope
from esupervision.db import insert_rows, select_among
from esupervision.models.base import UTCDateTime, new_id, record_class, utc
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window
from esupervision.models.clocks.clock import LOCAL_TZ, local_date
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent, json_value, row_fields

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction


# ----------------------------------------------------------------------------- vocabulary

class FaultCategory(StrEnum):
    TIMELINESS = "timeliness"   # 时效
    PROCESS = "process"         # 程序
    CONDUCT = "conduct"         # 作风


class FaultKind(StrEnum):
    CASE_OVERDUE = "case_overdue"                      # 办件超期
    LEGAL_LIMIT_EXCEEDED = "legal_limit_exceeded"      # 超过法定时限（行政许可法第四十二条）
    STEP_OVERDUE = "step_overdue"                      # 环节超时（办件整体按时也算）
    ORDER_UNANSWERED = "order_unanswered"              # 督办逾期未反馈
    MISSING_STEP = "missing_step"                      # 办结时缺少事项规定的环节
    LATE_REPORT = "late_report"                        # 迟报、倒签（发生与记录时间相差过大）
    REFUSAL_WITHOUT_REASON = "refusal_without_reason"  # 不予受理、不予许可未说明理由
    NOT_THROUGH_SYSTEM = "not_through_system"          # 未经系统办理（办结后补录）
    TENDER_BREACH = "tender_breach"                    # 招投标违反法定期限
    SERVICE_ATTITUDE = "service_attitude"              # 服务态度差（冷硬横推）
    ABSENT_FROM_POST = "absent_from_post"              # 擅离岗位
    CONDUCT = "conduct"                                # 其他作风纪律问题


FAULT_LABELS = {
    FaultKind.CASE_OVERDUE: "办件超期", FaultKind.LEGAL_LIMIT_EXCEEDED: "超过法定时限",
    FaultKind.STEP_OVERDUE: "环节超时",
    FaultKind.ORDER_UNANSWERED: "督办逾期未反馈", FaultKind.MISSING_STEP: "缺少办理环节",
    FaultKind.LATE_REPORT: "迟报、倒签", FaultKind.REFUSAL_WITHOUT_REASON: "不予受理或不予许可未说明理由",
    FaultKind.NOT_THROUGH_SYSTEM: "未经系统办理（事后补录）", FaultKind.TENDER_BREACH: "招投标违反法定期限",
    FaultKind.SERVICE_ATTITUDE: "服务态度差", FaultKind.ABSENT_FROM_POST: "擅离岗位",
    FaultKind.CONDUCT: "其他作风纪律问题",
}

FAULT_CATEGORIES = {
    FaultKind.CASE_OVERDUE: FaultCategory.TIMELINESS, FaultKind.LEGAL_LIMIT_EXCEEDED: FaultCategory.TIMELINESS,
    FaultKind.STEP_OVERDUE: FaultCategory.TIMELINESS,
    FaultKind.ORDER_UNANSWERED: FaultCategory.TIMELINESS, FaultKind.MISSING_STEP: FaultCategory.PROCESS,
    FaultKind.LATE_REPORT: FaultCategory.PROCESS, FaultKind.REFUSAL_WITHOUT_REASON: FaultCategory.PROCESS,
    FaultKind.NOT_THROUGH_SYSTEM: FaultCategory.PROCESS, FaultKind.TENDER_BREACH: FaultCategory.PROCESS,
    FaultKind.SERVICE_ATTITUDE: FaultCategory.CONDUCT, FaultKind.ABSENT_FROM_POST: FaultCategory.CONDUCT,
    FaultKind.CONDUCT: FaultCategory.CONDUCT,
}


class FaultStatus(StrEnum):
    ACTIVE = "active"          # 有效
    APPEALED = "appealed"      # 申诉中（仍计入）
    CONFIRMED = "confirmed"    # 已据以追究责任
    REVOKED = "revoked"        # 申诉后撤销（不再计入）


class SubjectLevel(StrEnum):
    STAFF = "staff"
    WINDOW = "window"
    DEPARTMENT = "department"


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Sanction(StrEnum):
    RECTIFICATION = "rectification"                # 责令整改
    EFFICIENCY_WARNING = "efficiency_warning"      # 效能告诫
    ADMONISHING_TALK = "admonishing_talk"          # 诫勉谈话
    CIRCULATED_CRITICISM = "circulated_criticism"  # 通报批评
    REASSIGNMENT = "reassignment"                  # 调离窗口岗位


# From lightest to heaviest: 问责条例 (2019) 第八条 lists 通报、诫勉、组织调整或者组织处理 in rising
# weight; 责令整改 and 效能告诫 are the center's lighter efficiency measures before them.
SANCTION_ORDER = (Sanction.RECTIFICATION, Sanction.EFFICIENCY_WARNING, Sanction.CIRCULATED_CRITICISM,
                  Sanction.ADMONISHING_TALK, Sanction.REASSIGNMENT)

SANCTION_LABELS = {
    Sanction.RECTIFICATION: "责令整改", Sanction.EFFICIENCY_WARNING: "效能告诫",
    Sanction.ADMONISHING_TALK: "诫勉谈话", Sanction.CIRCULATED_CRITICISM: "通报批评",
    Sanction.REASSIGNMENT: "调离窗口岗位",
}


class SuggestionStatus(StrEnum):
    PENDING = "pending"        # 待处理
    CONFIRMED = "confirmed"    # 确认
    CHANGED = "changed"        # 改变处理（另一处分，附理由）
    DISMISSED = "dismissed"    # 不予追究（附理由）
    WITHDRAWN = "withdrawn"    # 所据差错撤销后不再达到阈值（未经处理即撤回）
    REVOKED = "revoked"        # 申诉后撤销


class SuggestionDecision(StrEnum):
    CONFIRM = "confirm"
    CHANGE = "change"
    DISMISS = "dismiss"


class AppealStatus(StrEnum):
    PENDING = "pending"        # 待处理
    ESCALATED = "escalated"    # 已提请上级（中心领导）处理
    REVOKED = "revoked"        # 撤销差错或处理
    SENT_BACK = "sent_back"    # 退回（维持）


SUGGESTION_STATUS_LABELS = {
    SuggestionStatus.PENDING: "待处理", SuggestionStatus.CONFIRMED: "已确认", SuggestionStatus.CHANGED: "已改变处理",
    SuggestionStatus.DISMISSED: "不予追究", SuggestionStatus.WITHDRAWN: "已撤回", SuggestionStatus.REVOKED: "申诉后撤销",
}
APPEAL_STATUS_LABELS = {
    AppealStatus.PENDING: "待处理", AppealStatus.ESCALATED: "已提请上级处理", AppealStatus.REVOKED: "已撤销",
    AppealStatus.SENT_BACK: "已退回（维持）",
}


class AppealOutcome(StrEnum):
    REVOKE = "revoke"
    SEND_BACK = "send_back"
    ESCALATE = "escalate"


APPEAL_OUTCOME_LABELS = {AppealOutcome.REVOKE: "予以撤销", AppealOutcome.SEND_BACK: "退回，维持原认定",
                         AppealOutcome.ESCALATE: "提请上级处理"}


def fault_kind(value: str) -> FaultKind:
    """The kind named ``value``, or UNKNOWN_FAULT_KIND listing the kinds that exist."""
    try:
        return FaultKind(value)
    except ValueError:
        known = "、".join(k.value for k in FaultKind)
        raise DomainError(ErrorCode.UNKNOWN_FAULT_KIND, f"差错类型 {value!r} 不存在（可用：{known}）",
                          kind=value) from None


# ----------------------------------------------------------------------------- tables

def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Fault(SQLModel, table=True):
    """差错: one fault of a staff member, window or department, with its evidence.

    ``key`` makes derivation idempotent: a derived fault is keyed by its kind and subject (one
    per step over its limit, per case overdue, per order unanswered …)."""

    __tablename__ = "fault"
    __table_args__ = (
        Index("ix_fault_center_occurred", "center_id", "occurred_at"),
        Index("ix_fault_department_occurred", "department_id", "occurred_at"),
        Index("ix_fault_staff_occurred", "staff_id", "occurred_at"),
        Index("ix_fault_window_occurred", "window_id", "occurred_at"),
        Index("ix_fault_case", "case_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    key: str = Field(unique=True)
    center_id: uuid.UUID
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    kind: str
    category: str
    source: str                              # derived / recorded
    subject_type: str                        # case / step / order / tender_stage / staff …
    subject_id: uuid.UUID
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    status: str = FaultStatus.ACTIVE.value
    description: str
    evidence: dict[str, Any] = _json_dict()
    event_ids: list[int] = _json_list()      # the ledger events that show it
    recorded_by: str | None = None


class AccountabilityRule(SQLModel, table=True):
    """效能责任追究规则: ``threshold`` faults of ``fault_kinds`` by one subject of ``subject_level``
    within one ``period`` → ``sanction``. ``center_id`` None: every center."""

    __tablename__ = "accountability_rule"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID | None = None
    name: str
    fault_kinds: list[str] = _json_list()
    subject_level: str
    threshold: int
    period: str
    sanction: str
    show_names: bool = False                 # whether the published handling names the people
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str | None = None


class AccountabilitySuggestion(SQLModel, table=True):
    """A suggestion the rules make; nothing is applied until a person decides it."""

    __tablename__ = "accountability_suggestion"
    __table_args__ = (
        Index("ix_suggestion_center_status", "center_id", "status"),
        Index("ix_suggestion_department", "department_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    key: str = Field(unique=True)            # rule, subject and period: one suggestion each
    center_id: uuid.UUID
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    rule_id: uuid.UUID
    subject_level: str
    subject_id: uuid.UUID
    period: str                              # 2026-11 / 2026-Q4 / 2026
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    suggested_sanction: str
    sanction: str
    status: str = SuggestionStatus.PENDING.value
    show_names: bool = False
    fault_ids: list[str] = _json_list()
    event_ids: list[int] = _json_list()
    fault_count: int
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = None
    reason: str | None = None


class Appeal(SQLModel, table=True):
    """申诉 of a department against a fault or a suggestion (a warning), with its evidence."""

    __tablename__ = "appeal"
    __table_args__ = (Index("ix_appeal_subject", "subject_id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    subject_type: str                        # fault / suggestion
    subject_id: uuid.UUID
    reason: str
    evidence: list[str] = _json_list()       # what the department offers: documents, links, event ids
    status: str = AppealStatus.PENDING.value
    prior_status: str                        # the subject's status before the appeal
    filed_by: str | None = None
    filed_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_reason: str | None = None


TABLES = (Fault, AccountabilityRule, AccountabilitySuggestion, Appeal)
FaultRecord = record_class(Fault)


# ----------------------------------------------------------------------------- ledger helpers

def _new_row(row: SQLModel) -> dict[str, Any]:
    # Values as the row holds them: the ledger's canonical encoding writes them as row_values would.
    return {"table": row.__tablename__, "id": str(row.id), "values": row_fields(row)}  # type: ignore[attr-defined]


def _set(row: SQLModel, **values: Any) -> dict[str, Any] | None:
    """Set columns of ``row``; the ledger's record of what changed (None if nothing did)."""
    changed = {}
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed[key] = json_value(value)
    if not changed:
        return None
    return {"table": row.__tablename__, "id": str(row.id), "set": changed}  # type: ignore[attr-defined]


def _append(tx: "Transaction", *, center_id: uuid.UUID, kind: str, subject_type: str, subject_id: uuid.UUID,
            changes: Iterable[dict[str, Any] | None], data: dict[str, Any], actor: str | None = None,
            occurred_at: datetime | None = None) -> Any:
    return tx.ledger.append(center_id=center_id, kind=kind, subject_type=subject_type, subject_id=subject_id,
                            occurred_at=occurred_at or tx.now, recorded_at=tx.now, actor=actor or tx.actor,
                            data=data, changes=[c for c in changes if c is not None])


def _root_center(tx: "Transaction") -> uuid.UUID:
    """The chain that records rules valid in every center: the first top-level center's."""
    center_id = tx.session.scalar(select(Center.id).where(Center.parent_id.is_(None))
                                  .order_by(Center.created_at, Center.id).limit(1))
    if center_id is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, "尚无服务中心，无法记录规则")
    return center_id


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError(ErrorCode.REASON_REQUIRED, f"{what}须说明理由 a reason is required")
    return text


# ----------------------------------------------------------------------------- faults

@dataclass
class FaultDraft:
    """A fault before it is written: what, whose, when, and the evidence."""

    kind: FaultKind
    subject_type: str
    subject_id: uuid.UUID
    center_id: uuid.UUID
    occurred_at: datetime
    description: str
    event_ids: list[int]
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.subject_id}"


def add_derived_faults(tx: "Transaction", drafts: Sequence[FaultDraft]) -> list[Any]:
    """Write the drafts whose (kind, subject) has no fault yet, each with its ledger event, and
    let the rules suggest on them; returns the faults written (a repeat writes nothing)."""
    wanted: dict[str, FaultDraft] = {}
    for draft in drafts:
        wanted.setdefault(draft.key, draft)
    if not wanted:
        return []
    keys = list(wanted)
    existing: set[str] = set()
    key_column = Fault.__table__.c.key  # type: ignore[attr-defined]
    for start in range(0, len(keys), 5000):   # one array parameter on PostgreSQL, as fault detection reads
        existing.update(key for (key,) in select_among(tx.session, [key_column], key_column,
                                                       keys[start:start + 5000]))
    faults = []
    for key, draft in wanted.items():
        if key in existing:
            continue
        # Plain records written in one statement: an imported history brings thousands at once.
        fault = FaultRecord(id=new_id(), key=key, center_id=draft.center_id, department_id=draft.department_id,
                      window_id=draft.window_id, staff_id=draft.staff_id, case_id=draft.case_id,
                      item_id=draft.item_id, kind=draft.kind.value, category=FAULT_CATEGORIES[draft.kind].value,
                      source="derived", subject_type=draft.subject_type, subject_id=draft.subject_id,
                      occurred_at=utc(draft.occurred_at), recorded_at=tx.now, description=draft.description,
                      evidence=draft.evidence, event_ids=sorted(draft.event_ids), recorded_by="system:faults")
        _append(tx, center_id=fault.center_id, kind="fault.derived", subject_type="fault", subject_id=fault.id,
                changes=[_new_row(fault)], actor="system:faults", occurred_at=fault.occurred_at,
                data={"kind": fault.kind, "subject_type": fault.subject_type, "subject_id": str(fault.subject_id),
                      "event_ids": fault.event_ids})
        faults.append(fault)
    if faults:
        insert_rows(tx.session, Fault.__table__, faults)  # type: ignore[attr-defined]
        suggest(tx, faults)
    return faults


def record_fault(tx: "Transaction", *, kind: str, description: str, center_id: uuid.UUID | None = None,
                 department_id: uuid.UUID | None = None, window_id: uuid.UUID | None = None,
                 staff_id: uuid.UUID | None = None, case_number: str | None = None,
                 occurred_at: datetime | None = None, event_ids: Sequence[int] = (),
                 evidence: dict[str, Any] | None = None) -> Fault:
    """A fault a supervisor records (conduct, or anything seen outside the system): it names a
    staff member, a window or a department (the others follow from it), may name the case and
    cite ledger events; it counts under the rules like a derived one."""
    from esupervision.models.cases.case import Case

    found_kind = fault_kind(kind)
    text = (description or "").strip()
    if not text:
        raise DomainError(ErrorCode.BAD_INPUT, "请填写差错情况 description required")
    case = None
    if case_number:
        case = tx.session.scalars(select(Case).where(Case.number == case_number)).first()
        if case is None:
            raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {case_number} 不存在", case=case_number)
    if staff_id is not None:
        staff = tx.session.get(Staff, staff_id)
        if staff is None:
            raise DomainError(ErrorCode.STAFF_NOT_FOUND, "工作人员不存在", staff=staff_id)
        center_id, window_id = staff.center_id, staff.window_id or window_id
        department_id = staff.department_id or department_id
    if window_id is not None:
        window = tx.session.get(Window, window_id)
        if window is None:
            raise DomainError(ErrorCode.WINDOW_NOT_FOUND, "窗口不存在", window=window_id)
        center_id, department_id = window.center_id, department_id or window.department_id
    if department_id is not None:
        department = tx.session.get(Department, department_id)
        if department is None:
            raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, "部门不存在", department=department_id)
        center_id = department.center_id
    if case is not None:
        center_id = case.center_id
        department_id = department_id or case.department_id
        window_id = window_id or case.window_id
        staff_id = staff_id or case.staff_id
    if center_id is None or department_id is None:
        raise DomainError(ErrorCode.BAD_INPUT, "请指明差错责任人、窗口或部门 staff, window or department required")
    at = aware(occurred_at, "occurredAt") or tx.now
    if at > tx.now:
        raise DomainError(ErrorCode.EVENT_IN_FUTURE, "差错发生时间晚于当前时间")
    cited = sorted(set(int(i) for i in event_ids))
    if cited:
        present = set(tx.session.scalars(select(LedgerEvent.id).where(LedgerEvent.id.in_(cited))))
        missing = [i for i in cited if i not in present]
        if missing:
            raise DomainError(ErrorCode.EVIDENCE_NOT_FOUND, f"账本中没有第 {missing[0]} 号事件", event=missing[0])
    fault_id = new_id()
    subject_type, subject_id = ("staff", staff_id) if staff_id else ("window", window_id) if window_id \
        else ("department", department_id)
    fault = Fault(id=fault_id, key=f"recorded:{fault_id}", center_id=center_id, department_id=department_id,
                  window_id=window_id, staff_id=staff_id, case_id=case.id if case else None,
                  item_id=case.item_id if case else None, kind=found_kind.value,
                  category=FAULT_CATEGORIES[found_kind].value, source="recorded", subject_type=subject_type,
                  subject_id=subject_id, occurred_at=at, recorded_at=tx.now, description=text,
                  evidence=dict(evidence or {}), event_ids=cited, recorded_by=tx.actor)
    tx.session.add(fault)
    _append(tx, center_id=center_id, kind="fault.recorded", subject_type="fault", subject_id=fault.id,
            changes=[_new_row(fault)], occurred_at=at,
            data={"kind": fault.kind, "description": text, "event_ids": cited})
    suggest(tx, [fault])
    return fault


def get_fault(tx: "Transaction", fault_id: uuid.UUID) -> Fault:
    fault = tx.session.get(Fault, fault_id)
    if fault is None:
        raise DomainError(ErrorCode.FAULT_NOT_FOUND, "差错记录不存在", fault=fault_id)
    return fault


# ----------------------------------------------------------------------------- periods

def period_bounds(period: Period, instant: datetime) -> tuple[str, datetime, datetime]:
    """The period (Asia/Shanghai) holding ``instant``: its label and [start, end) in UTC."""
    day = local_date(instant)
    if period is Period.MONTH:
        start, label = date(day.year, day.month, 1), f"{day.year}-{day.month:02d}"
        end = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    elif period is Period.QUARTER:
        q = (day.month - 1) // 3
        start, label = date(day.year, 3 * q + 1, 1), f"{day.year}-Q{q + 1}"
        end = date(day.year + (q == 3), (3 * q + 3) % 12 + 1, 1)
    else:
        start, label, end = date(day.year, 1, 1), str(day.year), date(day.year + 1, 1, 1)
    return label, _local_midnight(start), _local_midnight(end)


def period_words(label: str) -> str:
    """A period label as people read it: 2026-11 → 2026年11月, 2026-Q4 → 2026年第四季度, 2026 → 2026年."""
    year, _, part = label.partition("-")
    if not part:
        return f"{year}年"
    if part.startswith("Q") and part[1:] in ("1", "2", "3", "4"):
        return f"{year}年第{'一二三四'[int(part[1:]) - 1]}季度"
    return f"{year}年{int(part)}月" if part.isdigit() else label


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(timezone.utc)


def parse_period(label: str) -> tuple[datetime, datetime]:
    """'2026', '2026-Q4' or '2026-11' → [start, end) in UTC; anything else is INVALID_PERIOD."""
    text = label.strip().upper()
    try:
        if len(text) == 4:
            period, day = Period.YEAR, date(int(text), 1, 1)
        elif "-Q" in text:
            year, q = text.split("-Q")
            if not 1 <= int(q) <= 4:
                raise ValueError
            period, day = Period.QUARTER, date(int(year), 3 * int(q) - 2, 1)
        else:
            year, month = text.split("-")
            period, day = Period.MONTH, date(int(year), int(month), 1)
        _, start, end = period_bounds(period, _local_midnight(day))
    except (ValueError, OverflowError):
        raise DomainError(ErrorCode.INVALID_PERIOD, f"期间 {label!r} 应为 2026、2026-Q4 或 2026-11",
                          period=label) from None
    return start, end


def aware(value: datetime | None, name: str) -> datetime | None:
    """An instant with its UTC offset, in UTC; a naive one is BAD_INPUT (whose clock would it be?)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise DomainError(ErrorCode.BAD_INPUT, f"{name} 须带时区 needs a UTC offset", field=name)
    return utc(value)


# ----------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class RuleSpec:
    """What a supervisor enters for a rule; ``validated`` refuses what cannot work."""

    name: str
    fault_kinds: list[str]
    subject_level: str
    threshold: int
    period: str
    sanction: str
    show_names: bool = False
    center_id: uuid.UUID | None = None

    def validated(self) -> "RuleSpec":
        if not self.name.strip():
            raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_INVALID, "请填写规则名称 name required")
        if not self.fault_kinds:
            raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_INVALID, "规则至少包含一种差错类型")
        kinds = [fault_kind(k).value for k in self.fault_kinds]
        for name, value, allowed in (("subject_level", self.subject_level, SubjectLevel),
                                     ("period", self.period, Period), ("sanction", self.sanction, Sanction)):
            if value not in {v.value for v in allowed}:
                raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_INVALID, f"{name}={value!r} 不在可选范围内",
                                  field=name)
        if not isinstance(self.threshold, int) or not 1 <= self.threshold <= 1000:
            raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_INVALID, f"次数阈值 {self.threshold} 应为 1–1000",
                              field="threshold")
        return RuleSpec(name=self.name.strip(), fault_kinds=sorted(set(kinds)), subject_level=self.subject_level,
                        threshold=self.threshold, period=self.period, sanction=self.sanction,
                        show_names=self.show_names, center_id=self.center_id)


def _check_escalation(tx: "Transaction", spec: RuleSpec, *, replacing: uuid.UUID | None = None) -> None:
    """A heavier fault never gets a lighter measure: among active rules of the same center, level
    and period sharing a fault kind, a higher threshold may not name a lighter sanction (问责条例
    第八条 orders 通报 < 诫勉 < 组织调整)."""
    weight = SANCTION_ORDER.index(Sanction(spec.sanction))
    rules = tx.session.scalars(select(AccountabilityRule).where(
        AccountabilityRule.active.is_(True), AccountabilityRule.subject_level == spec.subject_level,  # type: ignore[attr-defined]
        AccountabilityRule.period == spec.period))
    for other in rules:
        if other.id == replacing or other.center_id != spec.center_id or not set(other.fault_kinds) & set(spec.fault_kinds):
            continue
        other_weight = SANCTION_ORDER.index(Sanction(other.sanction))
        if (spec.threshold - other.threshold) * (weight - other_weight) < 0:
            raise DomainError(ErrorCode.SANCTION_ORDER,
                              f"规则「{spec.name}」：{spec.threshold} 次处理为{SANCTION_LABELS[Sanction(spec.sanction)]}，"
                              f"而规则「{other.name}」{other.threshold} 次处理为{SANCTION_LABELS[Sanction(other.sanction)]}："
                              f"差错越多处理不得越轻（问责条例第八条：通报、诫勉、组织调整依次加重）",
                              rule=other.name)


def create_rule(tx: "Transaction", spec: RuleSpec) -> AccountabilityRule:
    """A new rule, checked (known fault kinds, level, period, sanction, threshold ≥ 1, no lighter
    measure for more faults than another rule gives); the faults already on record are evaluated
    against it at once."""
    spec = spec.validated()
    _check_escalation(tx, spec)
    if spec.center_id is not None and tx.session.get(Center, spec.center_id) is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, "中心不存在", center=spec.center_id)
    rule = AccountabilityRule(center_id=spec.center_id, name=spec.name, fault_kinds=spec.fault_kinds,
                              subject_level=spec.subject_level, threshold=spec.threshold, period=spec.period,
                              sanction=spec.sanction, show_names=spec.show_names, created_at=tx.now,
                              updated_at=tx.now, created_by=tx.actor)
    tx.session.add(rule)
    _append(tx, center_id=rule.center_id or _root_center(tx), kind="accountability.rule_created",
            subject_type="accountability_rule", subject_id=rule.id, changes=[_new_row(rule)],
            data={"name": rule.name, "fault_kinds": rule.fault_kinds, "threshold": rule.threshold,
                  "period": rule.period, "sanction": rule.sanction})
    evaluate_rule(tx, rule)
    return rule


def get_rule(tx: "Transaction", rule_id: uuid.UUID) -> AccountabilityRule:
    rule = tx.session.get(AccountabilityRule, rule_id)
    if rule is None:
        raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_NOT_FOUND, "责任追究规则不存在", rule=rule_id)
    return rule


def update_rule(tx: "Transaction", rule_id: uuid.UUID, spec: RuleSpec) -> AccountabilityRule:
    """Change a rule (suggestions already made keep the rule as it was when they were made)."""
    rule = get_rule(tx, rule_id)
    spec = spec.validated()
    _check_escalation(tx, spec, replacing=rule.id)
    change = _set(rule, name=spec.name, fault_kinds=spec.fault_kinds, subject_level=spec.subject_level,
                  threshold=spec.threshold, period=spec.period, sanction=spec.sanction,
                  show_names=spec.show_names, updated_at=tx.now)
    _append(tx, center_id=rule.center_id or _root_center(tx), kind="accountability.rule_updated",
            subject_type="accountability_rule", subject_id=rule.id, changes=[change],
            data={"name": rule.name, "fault_kinds": rule.fault_kinds, "threshold": rule.threshold,
                  "period": rule.period, "sanction": rule.sanction})
    if rule.active:
        evaluate_rule(tx, rule)
    return rule


def set_rule_active(tx: "Transaction", rule_id: uuid.UUID, active: bool) -> AccountabilityRule:
    """Retire (or restore) a rule; a retired rule suggests nothing, its suggestions remain."""
    rule = get_rule(tx, rule_id)
    change = _set(rule, active=active, updated_at=tx.now)
    _append(tx, center_id=rule.center_id or _root_center(tx),
            kind="accountability.rule_enabled" if active else "accountability.rule_disabled",
            subject_type="accountability_rule", subject_id=rule.id, changes=[change], data={"name": rule.name})
    if active:
        evaluate_rule(tx, rule)
    return rule


# ----------------------------------------------------------------------------- suggestions

_LEVEL_COLUMN = {SubjectLevel.STAFF: "staff_id", SubjectLevel.WINDOW: "window_id",
                 SubjectLevel.DEPARTMENT: "department_id"}
COUNTED = Fault.status != FaultStatus.REVOKED.value  # type: ignore[arg-type]


def _active_rules(tx: "Transaction") -> list[AccountabilityRule]:
    key = "accountability_rules"
    if key not in tx.cache:
        tx.cache[key] = list(tx.session.scalars(select(AccountabilityRule).where(
            AccountabilityRule.active == true()).order_by(AccountabilityRule.created_at)))
    return tx.cache[key]


def suggest(tx: "Transaction", faults: Sequence[Fault]) -> list[AccountabilitySuggestion]:
    """Evaluate the active rules for the subjects and periods of ``faults``; a group reaching a
    rule's threshold gets a suggestion (or its pending one cites the new faults too)."""
    tx.cache.pop("accountability_rules", None)
    groups: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    for rule in _active_rules(tx):
        kinds = set(rule.fault_kinds)
        column = _LEVEL_COLUMN[SubjectLevel(rule.subject_level)]
        for fault in faults:
            if fault.kind not in kinds or (rule.center_id is not None and rule.center_id != fault.center_id):
                continue
            subject = getattr(fault, column)
            if subject is not None:
                groups.add((rule.id, subject, period_bounds(Period(rule.period), fault.occurred_at)[0]))
    rules = {r.id: r for r in _active_rules(tx)}
    made = []
    for rule_id, subject, label in sorted(groups, key=str):
        suggestion = _evaluate_group(tx, rules[rule_id], subject, label)
        if suggestion is not None:
            made.append(suggestion)
    return made


def evaluate_rule(tx: "Transaction", rule: AccountabilityRule) -> list[AccountabilitySuggestion]:
    """Evaluate one rule over every fault on record (a new rule, or imported history)."""
    tx.session.flush()
    column = getattr(Fault, _LEVEL_COLUMN[SubjectLevel(rule.subject_level)])
    query = select(column, Fault.occurred_at).where(Fault.kind.in_(rule.fault_kinds), COUNTED, column.is_not(None))
    if rule.center_id is not None:
        query = query.where(Fault.center_id == rule.center_id)
    groups = {(subject, period_bounds(Period(rule.period), at)[0]) for subject, at in tx.session.execute(query)}
    made = []
    for subject, label in sorted(groups, key=str):
        suggestion = _evaluate_group(tx, rule, subject, label)
        if suggestion is not None:
            made.append(suggestion)
    return made


def _evaluate_group(tx: "Transaction", rule: AccountabilityRule, subject: uuid.UUID,
                    label: str) -> AccountabilitySuggestion | None:
    tx.session.flush()
    start, end = parse_period(label)
    column = getattr(Fault, _LEVEL_COLUMN[SubjectLevel(rule.subject_level)])
    query = select(Fault).where(Fault.kind.in_(rule.fault_kinds), COUNTED, column == subject,
                                Fault.occurred_at >= start, Fault.occurred_at < end)
    if rule.center_id is not None:
        query = query.where(Fault.center_id == rule.center_id)
    faults = list(tx.session.scalars(query.order_by(Fault.occurred_at, Fault.id)))
    key = f"{rule.id}:{subject}:{label}"
    suggestion = tx.session.scalars(select(AccountabilitySuggestion).where(
        AccountabilitySuggestion.key == key)).first()
    fault_ids = [str(f.id) for f in faults]
    event_ids = sorted({i for f in faults for i in f.event_ids})
    if suggestion is not None:
        if suggestion.status != SuggestionStatus.PENDING.value or suggestion.fault_ids == fault_ids:
            return None
        if len(faults) < rule.threshold:
            status = SuggestionStatus.WITHDRAWN.value
            change = _set(suggestion, fault_ids=fault_ids, event_ids=event_ids, fault_count=len(faults),
                          status=status, decided_at=tx.now, decided_by="system:accountability",
                          reason="所据差错已撤销，不再达到规则阈值")
            kind = "accountability.withdrawn"
        else:
            change = _set(suggestion, fault_ids=fault_ids, event_ids=event_ids, fault_count=len(faults))
            kind = "accountability.evidence_added"
        _append(tx, center_id=suggestion.center_id, kind=kind, subject_type="accountability_suggestion",
                subject_id=suggestion.id, changes=[change], actor="system:accountability",
                data={"rule_id": str(rule.id), "fault_count": len(faults)})
        return suggestion
    if len(faults) < rule.threshold:
        return None
    first = faults[0]
    level = SubjectLevel(rule.subject_level)
    suggestion = AccountabilitySuggestion(
        key=key, center_id=first.center_id, department_id=first.department_id,
        window_id=first.window_id if level is not SubjectLevel.DEPARTMENT else None,
        staff_id=first.staff_id if level is SubjectLevel.STAFF else None, rule_id=rule.id,
        subject_level=rule.subject_level, subject_id=subject, period=label, period_start=start, period_end=end,
        suggested_sanction=rule.sanction, sanction=rule.sanction, show_names=rule.show_names,
        fault_ids=fault_ids, event_ids=event_ids, fault_count=len(faults), created_at=tx.now)
    tx.session.add(suggestion)
    _append(tx, center_id=suggestion.center_id, kind="accountability.suggested",
            subject_type="accountability_suggestion", subject_id=suggestion.id, changes=[_new_row(suggestion)],
            actor="system:accountability",
            data={"rule_id": str(rule.id), "rule": rule.name, "sanction": rule.sanction, "period": label,
                  "subject_level": rule.subject_level, "subject_id": str(subject), "fault_ids": fault_ids,
                  "event_ids": event_ids})
    return suggestion


def get_suggestion(tx: "Transaction", suggestion_id: uuid.UUID) -> AccountabilitySuggestion:
    suggestion = tx.session.get(AccountabilitySuggestion, suggestion_id)
    if suggestion is None:
        raise DomainError(ErrorCode.SUGGESTION_NOT_FOUND, "责任追究建议不存在", suggestion=suggestion_id)
    return suggestion


def decide_suggestion(tx: "Transaction", *, suggestion_id: uuid.UUID, decision: SuggestionDecision,
                      reason: str | None = None, sanction: str | None = None) -> AccountabilitySuggestion:
    """A supervisor's decision on a pending suggestion: confirm it, change it to another sanction
    (with a reason) or dismiss it (with a reason). Confirmed or changed, its faults are marked
    confirmed and the department's leaders are told."""
    suggestion = get_suggestion(tx, suggestion_id)
    if suggestion.status != SuggestionStatus.PENDING.value:
        raise DomainError(ErrorCode.SUGGESTION_DECIDED, f"该建议已处理（{SUGGESTION_STATUS_LABELS[SuggestionStatus(suggestion.status)]}），不能再次处理",
                          suggestion=suggestion_id)
    text = (reason or "").strip() or None
    if decision is SuggestionDecision.CHANGE:
        text = _reason(reason, "改变处理")
        if sanction not in {s.value for s in Sanction}:
            raise DomainError(ErrorCode.ACCOUNTABILITY_RULE_INVALID, f"处理方式 {sanction!r} 不在可选范围内",
                              field="sanction")
        if sanction == suggestion.suggested_sanction:
            raise DomainError(ErrorCode.BAD_INPUT, "改变处理须选择与建议不同的处理方式")
    elif decision is SuggestionDecision.DISMISS:
        text = _reason(reason, "不予追究")
    status = {SuggestionDecision.CONFIRM: SuggestionStatus.CONFIRMED, SuggestionDecision.CHANGE: SuggestionStatus.CHANGED,
              SuggestionDecision.DISMISS: SuggestionStatus.DISMISSED}[decision]
    changes = [_set(suggestion, status=status.value, sanction=sanction if sanction and decision is
                    SuggestionDecision.CHANGE else suggestion.suggested_sanction,
                    decided_at=tx.now, decided_by=tx.actor, reason=text)]
    if decision is not SuggestionDecision.DISMISS:
        ids = [uuid.UUID(i) for i in suggestion.fault_ids]
        for fault in tx.session.scalars(select(Fault).where(Fault.id.in_(ids))):
            if fault.status == FaultStatus.ACTIVE.value:
                changes.append(_set(fault, status=FaultStatus.CONFIRMED.value))
    event = _append(tx, center_id=suggestion.center_id, kind=f"accountability.{status.value}",
                    subject_type="accountability_suggestion", subject_id=suggestion.id, changes=changes,
                    data={"decision": decision.value, "sanction": suggestion.sanction, "reason": text})
    if decision is not SuggestionDecision.DISMISS:
        _tell_leaders(tx, suggestion.department_id, suggestion.center_id, event, "accountability_decided",
                      {"subject": _subject_label(tx, suggestion.subject_level, suggestion.subject_id),
                       "period": period_words(suggestion.period),
                       "sanction": SANCTION_LABELS[Sanction(suggestion.sanction)]},
                      subject_type="accountability_suggestion", subject_id=suggestion.id)
    return suggestion


# ----------------------------------------------------------------------------- appeals

def file_appeal(tx: "Transaction", *, viewer: Viewer, subject_type: str, subject_id: uuid.UUID, reason: str,
                evidence: Sequence[str] = ()) -> Appeal:
    """申诉: a department leader (or the center's admin) appeals one of the department's faults
    or suggestions, with a reason and evidence; one open appeal per subject at a time."""
    text = _reason(reason, "申诉")
    row: Fault | AccountabilitySuggestion
    if subject_type == "fault":
        row = get_fault(tx, subject_id)
        if row.status == FaultStatus.REVOKED.value:
            raise DomainError(ErrorCode.FAULT_REVOKED, "该差错已撤销，无需申诉", fault=subject_id)
    elif subject_type == "suggestion":
        row = get_suggestion(tx, subject_id)
        if row.status not in (SuggestionStatus.PENDING.value, SuggestionStatus.CONFIRMED.value,
                              SuggestionStatus.CHANGED.value):
            raise DomainError(ErrorCode.NOT_APPEALABLE, f"该建议{SUGGESTION_STATUS_LABELS[SuggestionStatus(row.status)]}，不能申诉",
                              suggestion=subject_id)
    else:
        raise DomainError(ErrorCode.BAD_INPUT, f"申诉对象 {subject_type!r} 应为 fault 或 suggestion")
    if not may_appeal(viewer, row):
        # Another department's record is answered as if it did not exist.
        code = ErrorCode.FAULT_NOT_FOUND if subject_type == "fault" else ErrorCode.SUGGESTION_NOT_FOUND
        raise DomainError(code, "记录不存在", subject=subject_id)
    open_appeal = tx.session.scalars(select(Appeal.id).where(
        Appeal.subject_id == subject_id,
        Appeal.status.in_([AppealStatus.PENDING.value, AppealStatus.ESCALATED.value]))).first()
    if open_appeal is not None:
        raise DomainError(ErrorCode.APPEAL_PENDING, "该记录已有申诉在处理中", appeal=open_appeal)
    appeal = Appeal(center_id=row.center_id, department_id=row.department_id, window_id=row.window_id,
                    staff_id=row.staff_id, subject_type=subject_type, subject_id=subject_id, reason=text,
                    evidence=[str(e) for e in evidence if str(e).strip()], prior_status=row.status,
                    filed_by=tx.actor, filed_at=tx.now)
    tx.session.add(appeal)
    changes = [_new_row(appeal)]
    if isinstance(row, Fault):
        changes.append(_set(row, status=FaultStatus.APPEALED.value))
    _append(tx, center_id=appeal.center_id, kind="appeal.filed", subject_type="appeal", subject_id=appeal.id,
            changes=changes, data={"subject_type": subject_type, "subject_id": str(subject_id), "reason": text})
    return appeal


def may_appeal(viewer: Viewer, row: Any) -> bool:
    """Leaders appeal their department's records; a center's admin those of its center."""
    if viewer.role is Role.DEPARTMENT_LEADER:
        return viewer.department_id is not None and row.department_id == viewer.department_id
    if viewer.role is Role.CENTER_ADMIN:
        return viewer.center_id is not None and row.center_id == viewer.center_id
    return False


def get_appeal(tx: "Transaction", appeal_id: uuid.UUID) -> Appeal:
    appeal = tx.session.get(Appeal, appeal_id)
    if appeal is None:
        raise DomainError(ErrorCode.APPEAL_NOT_FOUND, "申诉不存在", appeal=appeal_id)
    return appeal


def decide_appeal(tx: "Transaction", *, appeal_id: uuid.UUID, outcome: AppealOutcome,
                  reason: str | None) -> Appeal:
    """The supervisor's answer: revoke the fault or suggestion (a revoked fault stops counting,
    and pending suggestions resting on it are re-evaluated), send the appeal back (the record
    stands) or escalate it (it stays open for the center's leadership). The department is told."""
    appeal = get_appeal(tx, appeal_id)
    if appeal.status not in (AppealStatus.PENDING.value, AppealStatus.ESCALATED.value):
        raise DomainError(ErrorCode.APPEAL_DECIDED, f"该申诉已处理（{APPEAL_STATUS_LABELS[AppealStatus(appeal.status)]}）", appeal=appeal_id)
    if outcome is AppealOutcome.ESCALATE and appeal.status == AppealStatus.ESCALATED.value:
        raise DomainError(ErrorCode.APPEAL_DECIDED, "该申诉已提请上级处理", appeal=appeal_id)
    text = _reason(reason, "申诉处理")
    status = {AppealOutcome.REVOKE: AppealStatus.REVOKED, AppealOutcome.SEND_BACK: AppealStatus.SENT_BACK,
              AppealOutcome.ESCALATE: AppealStatus.ESCALATED}[outcome]
    changes = [_set(appeal, status=status.value, decided_by=tx.actor, decided_at=tx.now, decision_reason=text)]
    revoked_fault: Fault | None = None
    if appeal.subject_type == "fault":
        fault = get_fault(tx, appeal.subject_id)
        if outcome is AppealOutcome.REVOKE:
            changes.append(_set(fault, status=FaultStatus.REVOKED.value))
            revoked_fault = fault
        elif outcome is AppealOutcome.SEND_BACK:
            changes.append(_set(fault, status=appeal.prior_status))
    elif outcome is AppealOutcome.REVOKE:
        suggestion = get_suggestion(tx, appeal.subject_id)
        changes.append(_set(suggestion, status=SuggestionStatus.REVOKED.value, decided_at=tx.now,
                            decided_by=tx.actor, reason=text))
    event = _append(tx, center_id=appeal.center_id, kind=f"appeal.{status.value}", subject_type="appeal",
                    subject_id=appeal.id, changes=changes,
                    data={"outcome": outcome.value, "reason": text, "subject_type": appeal.subject_type,
                          "subject_id": str(appeal.subject_id)})
    if revoked_fault is not None:
        _reevaluate_pending(tx, revoked_fault)
    _tell_leaders(tx, appeal.department_id, appeal.center_id, event, "appeal_decided",
                  {"subject": "差错认定" if appeal.subject_type == "fault" else "责任追究建议",
                   "outcome": APPEAL_OUTCOME_LABELS[outcome], "reason": text},
                  subject_type="appeal", subject_id=appeal.id)
    return appeal


def _reevaluate_pending(tx: "Transaction", fault: Fault) -> None:
    """Pending suggestions citing a revoked fault: cite the rest, or withdraw if below threshold."""
    tx.session.flush()
    for suggestion in list(tx.session.scalars(select(AccountabilitySuggestion).where(
            AccountabilitySuggestion.status == SuggestionStatus.PENDING.value,
            AccountabilitySuggestion.subject_id.in_([s for s in (fault.staff_id, fault.window_id,
                                                                 fault.department_id) if s])))):
        if str(fault.id) not in suggestion.fault_ids:
            continue
        rule = tx.session.get(AccountabilityRule, suggestion.rule_id)
        if rule is not None:
            _evaluate_group(tx, rule, suggestion.subject_id, suggestion.period)


# ----------------------------------------------------------------------------- notices

def _subject_label(tx: "Transaction", level: str, subject_id: uuid.UUID) -> str:
    model = {"staff": Staff, "window": Window, "department": Department}[level]
    row = tx.session.get(model, subject_id)
    return row.name if row is not None else ""


def _tell_leaders(tx: "Transaction", department_id: uuid.UUID | None, center_id: uuid.UUID, event: Any,
                  template: str, params: dict[str, Any], *, subject_type: str, subject_id: uuid.UUID) -> None:
    """An SMS to each leader of the department with a phone on record (outbox, same transaction)."""
    if department_id is None:
        return
    from esupervision.models.notices.notice import NoticeDraft, add_notices

    tx.flush()   # the event's id, cited by the notice
    leaders = tx.session.execute(select(Staff.id, Staff.phone).where(
        Staff.department_id == department_id, Staff.is_leader == true(), Staff.phone.is_not(None))).all()
    add_notices(tx, [NoticeDraft(key=f"{event.kind}:{subject_id}", subject_type=subject_type, subject_id=subject_id,
                                 template=template, params=params, phone=phone, recipient_kind="staff",
                                 center_id=center_id, ledger_event_id=event.id, staff_id=staff_id,
                                 channels=tx.settings.notice_channels.get(template, ["sms"]))
                     for staff_id, phone in leaders])


# ----------------------------------------------------------------------------- reading

def scope(viewer: Viewer, model: Any) -> ColumnElement[bool]:
    """The rows of ``model`` (faults, suggestions, appeals) ``viewer`` may read: as for cases
    (``access.unit_scope``), except that window staff with an account see their own records
    rather than their window's, and department systems see none."""
    if viewer.role is Role.WINDOW_STAFF and viewer.staff_id:
        return model.staff_id == viewer.staff_id
    if viewer.role is Role.DEPARTMENT_SYSTEM:
        return false()
    return unit_scope(viewer, model)


@dataclass(frozen=True)
class FaultFilter:
    center_ids: list[uuid.UUID] | None = None
    department_ids: list[uuid.UUID] | None = None
    window_ids: list[uuid.UUID] | None = None
    staff_ids: list[uuid.UUID] | None = None
    case_id: uuid.UUID | None = None
    kinds: list[str] | None = None
    categories: list[str] | None = None
    statuses: list[str] | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    @classmethod
    def with_period(cls, period: str | None, occurred_from: datetime | None, occurred_to: datetime | None,
                    **kw: Any) -> "FaultFilter":
        """A filter whose time range is a named period or explicit instants; a range that ends
        before it starts is INVALID_PERIOD."""
        occurred_from, occurred_to = aware(occurred_from, "occurredFrom"), aware(occurred_to, "occurredTo")
        if period:
            occurred_from, occurred_to = parse_period(period)
        if occurred_from and occurred_to and occurred_to < occurred_from:
            raise DomainError(ErrorCode.INVALID_PERIOD, "期间结束早于开始 the period ends before it starts")
        for kind in kw.get("kinds") or []:
            fault_kind(kind)
        return cls(occurred_from=occurred_from, occurred_to=occurred_to, **kw)

    def conditions(self) -> list[Any]:
        out: list[Any] = []
        for column, values in ((Fault.center_id, self.center_ids), (Fault.department_id, self.department_ids),
                               (Fault.window_id, self.window_ids), (Fault.staff_id, self.staff_ids),
                               (Fault.kind, self.kinds), (Fault.category, self.categories),
                               (Fault.status, self.statuses)):
            if values is not None:
                out.append(column.in_(values))  # type: ignore[attr-defined]
        if self.case_id is not None:
            out.append(Fault.case_id == self.case_id)
        if self.occurred_from is not None:
            out.append(Fault.occurred_at >= self.occurred_from)
        if self.occurred_to is not None:
            out.append(Fault.occurred_at < self.occurred_to)
        return out


def search_faults(session: Session, *, viewer: Viewer, flt: FaultFilter, offset: int,
                  limit: int) -> tuple[list[Fault], int]:
    """A page of the faults ``viewer`` may read (newest first) and how many match in all."""
    conditions = [scope(viewer, Fault), *flt.conditions()]
    total = session.scalar(select(func.count()).select_from(Fault).where(*conditions)) or 0
    rows = list(session.scalars(select(Fault).where(*conditions)
                                .order_by(Fault.occurred_at.desc(), Fault.id.desc()).offset(offset).limit(limit)))
    return rows, total


# ----------------------------------------------------------------------------- full-process tracking

def fault_entries(session: Session, case: Any) -> list[Any]:
    """The case's faults on its timeline (全程监督), each with its kind, status and evidence."""
    from esupervision.models.cases.timeline import TimelineEntry

    status_labels = {"active": "", "appealed": "（申诉中）", "confirmed": "（已追究）", "revoked": "（已撤销）"}
    entries = []
    for fault in session.scalars(select(Fault).where(Fault.case_id == case.id).order_by(Fault.occurred_at)):
        label = FAULT_LABELS.get(FaultKind(fault.kind), fault.kind) if fault.kind in set(FaultKind) else fault.kind
        entries.append(TimelineEntry(
            at=fault.occurred_at, kind=f"fault.{fault.kind}",
            title=f"差错：{label}{status_labels.get(fault.status, '')}", actor=fault.recorded_by,
            detail={"fault_id": str(fault.id), "status": fault.status, "description": fault.description,
                    "event_ids": fault.event_ids, **fault.evidence},
            ledger_event_id=fault.event_ids[-1] if fault.event_ids else None))
    return entries


def _register_timeline() -> None:
    from esupervision.models.cases.timeline import register_timeline_source
    register_timeline_source(fault_entries)


_register_timeline()
