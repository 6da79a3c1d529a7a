"""The tables of tenders: the project, its lots, bids, timed stages and objections. The rules that
move them live in ``tender.py``; red flags and the OCDS export read them from here."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from esupervision.models.base import UTCDateTime, new_id


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _json_dict() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Tender(SQLModel, table=True):
    """招标项目: one procurement by a tenderer (招标人) through its agency, under an authority."""

    __tablename__ = "tender"
    __table_args__ = (Index("ix_tender_center_stage", "center_id", "stage"),
                      Index("ix_tender_authority", "authority_department_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")
    code: str = Field(unique=True)
    title: str
    tenderer: str                          # 招标人
    tenderer_code: str | None = None       # 招标人统一社会信用代码
    agency: str | None = None              # 招标代理机构
    agency_code: str | None = None         # 招标代理机构统一社会信用代码
    authority: str | None = None           # 行政监督部门
    authority_department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")
    method: str = "open"                   # open 公开招标 / invited 邀请招标
    legally_required: bool = True          # 依法必须进行招标
    state_funded: bool = False             # 国有资金占控股或者主导地位
    prequalification: bool = False         # 资格预审
    award_criteria: str = "comprehensive"  # price_only 经评审的最低投标价法 / comprehensive 综合评估法
    estimate: float                        # 估算价（元）
    ceiling_price: float | None = None     # 最高投标限价（元）
    currency: str = "CNY"
    stage: str
    suspended: bool = False
    invited: list[str] = _json_list()      # 邀请或资格预审合格的投标人（统一社会信用代码）
    committee: list[dict[str, Any]] = _json_list()
    published_at: datetime = Field(sa_type=UTCDateTime)
    sale_start: datetime = Field(sa_type=UTCDateTime)
    sale_end: datetime = Field(sa_type=UTCDateTime)
    prequal_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    documents_issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bid_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    report_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    publicity_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    publicity_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    awarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    contracted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bonds_returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    report_filed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_reason: str | None = None
    bid_count: int = 0
    amendments: int = 0
    last_event_at: datetime = Field(sa_type=UTCDateTime)


class TenderLot(SQLModel, table=True):
    """标段: evaluated, awarded and contracted on its own."""

    __tablename__ = "tender_lot"
    __table_args__ = (UniqueConstraint("tender_id", "code"), Index("ix_tender_lot_bidder_set", "bidder_set"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tender_id: uuid.UUID = Field(foreign_key="tender.id")
    code: str
    name: str
    estimate: float
    ceiling_price: float | None = None
    candidates: list[dict[str, Any]] = _json_list()    # [{rank, bid_id, bidder_code, bidder}]
    winner_bid_id: uuid.UUID | None = None
    winner_code: str | None = None
    award_value: float | None = None
    award_notice_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    contract_value: float | None = None
    contract_signed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    performance_bond: float | None = None
    # The sorted bidder codes of the lot once opened: lots bid by the same group share it (R057).
    bidder_set: str | None = None


class TenderBid(SQLModel, table=True):
    """投标: sealed until the opening instant — its price and content are read through
    ``open_bid_values`` only, never before ``Tender.opened_at``."""

    __tablename__ = "tender_bid"
    __table_args__ = (UniqueConstraint("lot_id", "bidder_code"), Index("ix_tender_bid_tender", "tender_id"),
                      Index("ix_tender_bid_bidder", "bidder_code"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tender_id: uuid.UUID = Field(foreign_key="tender.id")
    lot_id: uuid.UUID = Field(foreign_key="tender_lot.id")
    bidder: str
    bidder_code: str                       # 统一社会信用代码
    price: float                           # 投标报价（元）: sealed
    content: dict[str, Any] = _json_dict()  # 投标文件摘要: sealed
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    late_report: bool = False              # recorded after the deadline it claims to precede
    status: str = "submitted"              # submitted / valid / disqualified / withdrawn
    disqualify_reason: str | None = None
    machine_code: str | None = None        # 投标文件制作机器码
    project_manager: str | None = None     # 项目负责人（项目经理）
    bond_amount: float = 0.0               # 投标保证金
    bond_account: str | None = None        # 保证金转出账户
    bond_returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TenderStageRow(SQLModel, table=True):
    """One timed period of a tender with the rule that governs it. A deadline (and an evaluation
    the trading center committed to a time) runs on a clock of the core; a floor has no clock: its
    ``earliest_end`` is the first lawful instant to end it, ``scheduled_end`` the end the tenderer
    set, and ``outcome`` says whether it ended lawfully (``lawful``) or before its floor
    (``floor_breach``)."""

    __tablename__ = "tender_stage"
    __table_args__ = (Index("ix_tender_stage_tender", "tender_id", "seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tender_id: uuid.UUID = Field(foreign_key="tender.id")
    center_id: uuid.UUID
    seq: int
    kind: str
    name: str
    rule: str
    status: str = "running"                # running / paused / done / cancelled
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clock_id: uuid.UUID | None = None      # none for a floor, or an evaluation without a committed time
    objection_id: uuid.UUID | None = None
    period_kind: str = "deadline"          # floor / deadline / committed / none
    scheduled_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    earliest_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_days: int = 0
    outcome: str | None = None             # a floor's: lawful / floor_breach


class TenderObjection(SQLModel, table=True):
    """异议 to the tenderer (条例 22, 44, 54) or 投诉 to the authority (条例 60–62)."""

    __tablename__ = "tender_objection"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tender_id: uuid.UUID = Field(foreign_key="tender.id")
    number: str
    kind: str                              # objection / complaint
    about: str                             # documents / prequalification / opening / candidates / other
    party: str
    filed_at: datetime = Field(sa_type=UTCDateTime)
    knew_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = "open"                   # open / accepted / refused / answered / decided
    suspends: bool = False
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: str | None = None


