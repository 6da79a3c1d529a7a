"""Cases (办件) and their steps (环节): tables, statuses and the transition rules.

The rules here say which action a case in a given status allows; ``models/cases/casework.py`` applies
them, moves the clocks and writes the ledger, in one transaction.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index
from sqlmodel import Field, SQLModel

from esupervision.models.base import UTCDateTime, new_id, record_class
from esupervision.models.cases.report import CaseAction


def deferred_fk(target: str) -> list[ForeignKey]:
    """A foreign key checked at commit: a case, its steps and clocks are written in one flush,
    in whatever order the unit of work picks."""
    return [ForeignKey(target, deferrable=True, initially="DEFERRED")]


class CaseStatus(StrEnum):
    SUBMITTED = "submitted"                # 已申报（网上），待预审
    PREREVIEWED = "prereviewed"            # 预审通过，待受理
    PREREVIEW_FAILED = "prereview_failed"  # 预审不通过
    ACCEPTED = "accepted"                  # 已受理，办理中
    SUPPLEMENT = "supplement"              # 补正中（计时暂停）
    SUSPENDED = "suspended"                # 特别程序中（计时暂停）
    COMPLETED = "completed"                # 已办结
    REJECTED = "rejected"                  # 退件 / 不予受理
    WITHDRAWN = "withdrawn"                # 已撤回


STATUS_LABELS = {
    CaseStatus.SUBMITTED: "待预审", CaseStatus.PREREVIEWED: "待受理", CaseStatus.PREREVIEW_FAILED: "预审不通过",
    CaseStatus.ACCEPTED: "办理中", CaseStatus.SUPPLEMENT: "补正中", CaseStatus.SUSPENDED: "特别程序中",
    CaseStatus.COMPLETED: "已办结", CaseStatus.REJECTED: "已退件", CaseStatus.WITHDRAWN: "已撤回",
}

FINAL = frozenset({CaseStatus.PREREVIEW_FAILED, CaseStatus.COMPLETED, CaseStatus.REJECTED,
                   CaseStatus.WITHDRAWN})
OPEN = frozenset(set(CaseStatus) - FINAL)
BEFORE_ACCEPTANCE = frozenset({CaseStatus.SUBMITTED, CaseStatus.PREREVIEWED})


class SuspendKind(StrEnum):
    """行政许可法 art. 45: procedures whose time does not count."""

    HEARING = "hearing"              # 听证
    TENDER = "tender"                # 招标
    AUCTION = "auction"              # 拍卖
    INSPECTION = "inspection"        # 检验
    TESTING = "testing"              # 检测
    QUARANTINE = "quarantine"        # 检疫
    APPRAISAL = "appraisal"          # 鉴定
    EXPERT_REVIEW = "expert_review"  # 专家评审
    PUBLICITY = "publicity"          # 公示


SUSPEND_LABELS = {
    SuspendKind.HEARING: "听证", SuspendKind.TENDER: "招标", SuspendKind.AUCTION: "拍卖",
    SuspendKind.INSPECTION: "检验", SuspendKind.TESTING: "检测", SuspendKind.QUARANTINE: "检疫",
    SuspendKind.APPRAISAL: "鉴定", SuspendKind.EXPERT_REVIEW: "专家评审", SuspendKind.PUBLICITY: "公示",
}

# action -> statuses it is allowed from (None: the case must not exist yet).
ALLOWED: dict[CaseAction, frozenset[CaseStatus | None]] = {
    CaseAction.SUBMIT: frozenset({None}),
    CaseAction.PREREVIEW_PASS: frozenset({CaseStatus.SUBMITTED}),
    CaseAction.PREREVIEW_FAIL: frozenset({CaseStatus.SUBMITTED}),
    CaseAction.ACCEPT: frozenset({None, CaseStatus.SUBMITTED, CaseStatus.PREREVIEWED}),
    CaseAction.ADVANCE: frozenset({CaseStatus.ACCEPTED}),
    CaseAction.STEP: frozenset(OPEN),
    CaseAction.REQUEST_SUPPLEMENT: frozenset({CaseStatus.SUBMITTED, CaseStatus.PREREVIEWED,
                                              CaseStatus.ACCEPTED}),
    CaseAction.SUPPLEMENT_RECEIVED: frozenset({CaseStatus.SUPPLEMENT}),
    CaseAction.SUSPEND: frozenset({CaseStatus.ACCEPTED}),
    CaseAction.RESUME: frozenset({CaseStatus.SUSPENDED}),
    CaseAction.EXTEND: frozenset({CaseStatus.ACCEPTED, CaseStatus.SUPPLEMENT, CaseStatus.SUSPENDED}),
    CaseAction.COMPLETE: frozenset({CaseStatus.ACCEPTED}),
    CaseAction.REJECT: frozenset({CaseStatus.SUBMITTED, CaseStatus.PREREVIEWED, CaseStatus.ACCEPTED,
                                  CaseStatus.SUPPLEMENT, CaseStatus.SUSPENDED}),
    CaseAction.WITHDRAW: frozenset(OPEN),
}

ACTION_LABELS = {
    CaseAction.SUBMIT: "网上申报", CaseAction.PREREVIEW_PASS: "预审通过", CaseAction.PREREVIEW_FAIL: "预审不通过",
    CaseAction.ACCEPT: "受理", CaseAction.ADVANCE: "环节办结", CaseAction.STEP: "办理记录",
    CaseAction.REQUEST_SUPPLEMENT: "补正告知", CaseAction.SUPPLEMENT_RECEIVED: "补正材料收到",
    CaseAction.SUSPEND: "特别程序开始", CaseAction.RESUME: "特别程序结束", CaseAction.EXTEND: "延期",
    CaseAction.COMPLETE: "办结", CaseAction.REJECT: "退件", CaseAction.WITHDRAW: "撤回",
}


def allowed(action: CaseAction, status: CaseStatus | None) -> bool:
    """Whether ``action`` may be applied to a case in ``status`` (None: no such case yet)."""
    return status in ALLOWED[action]


class Case(SQLModel, table=True):
    """办件: one application, from submission or acceptance to its end."""

    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_department_status", "department_id", "status"),
        # One department's pages in id order (the cursor) read straight off this index.
        Index("ix_case_department_id", "department_id", "id"),
        Index("ix_case_center_status", "center_id", "status"),
        Index("ix_case_window_status", "window_id", "status"),
        Index("ix_case_item", "item_id"),
        Index("ix_case_accepted_at", "accepted_at"),
        Index("ix_case_completed_at", "completed_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    number: str = Field(unique=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")
    department_id: uuid.UUID = Field(foreign_key="department.id")
    item_id: uuid.UUID = Field(foreign_key="item.id")
    window_id: uuid.UUID | None = Field(default=None, foreign_key="window.id")
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    applicant_name: str | None = Field(default=None, index=True)
    applicant_id_number: str | None = None
    applicant_phone: str | None = None
    channel: str = "window"               # window / online
    status: str
    status_before_pause: str | None = None
    result: str | None = None             # approved / denied
    reason: str | None = None             # stated reason of a rejection or denial
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deemed_accepted: bool = False         # art. 32: accepted by law, not by a person
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clock_id: uuid.UUID | None = Field(default=None, sa_column_args=deferred_fk("clock.id"))
    acceptance_clock_id: uuid.UUID | None = Field(default=None, sa_column_args=deferred_fk("clock.id"))
    # 法定时限: the item's legal limit, counted beside the committed one from acceptance (art. 42)
    legal_clock_id: uuid.UUID | None = Field(default=None, sa_column_args=deferred_fk("clock.id"))
    extension_days: int = 0
    extension_approved_by: str | None = None
    first_event_at: datetime = Field(sa_type=UTCDateTime)
    last_event_at: datetime = Field(sa_type=UTCDateTime)
    reported_late: bool = False


class StepStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class Step(SQLModel, table=True):
    """环节: one department's part of a case; a joint approval runs several at once."""

    __tablename__ = "step"
    __table_args__ = (Index("ix_step_case", "case_id", "seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    case_id: uuid.UUID = Field(sa_column_args=deferred_fk("case.id"))
    center_id: uuid.UUID
    department_id: uuid.UUID = Field(foreign_key="department.id", index=True)
    seq: int
    name: str
    limit_days: int
    status: str = StepStatus.RUNNING.value
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clock_id: uuid.UUID | None = Field(default=None, sa_column_args=deferred_fk("clock.id"))
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")


# Plain records of the same columns, built by the batch working set (``models/cases/casework.py``).
CaseRecord = record_class(Case)
StepRecord = record_class(Step)
