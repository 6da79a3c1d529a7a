"""Tenders in GraphQL: the list with filters and Relay pagination, one tender with its stages
(a deadline's clock and light, a floor's earliest lawful end, the legal basis), lots, bids (sealed
until the opening instant, every read after it recorded), red flags, objections and full history —
nothing of them telling who bid or how many before the opening (法 22); a mutation per stage
event; and ``reportTenderEvents`` for the tender center's system."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from sqlalchemy import and_, select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from esupervision.api.loaders import _by_id, _grouped
from esupervision.api.schema.cases.case import EventResult, LedgerEntry, event_results
from esupervision.api.schema.catalogue.catalogue import Center
from esupervision.api.schema.common import (Edge, Light, PageInfo, built_from_coerced_values, enum_value, page_size,
                                            parse_id, require, viewer)
from esupervision.models.tenders import tender as domain
from esupervision.models.access.scope import Role
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import light_at
from esupervision.models.tenders.redflags import TenderRedFlag, flag_sealed
from esupervision.models.tenders.rules import STAGE_LABELS, TenderAction
from esupervision.models.tenders.rules import StagePeriod as PeriodKindName
from esupervision.models.tenders.rules import rule as tender_rule
from esupervision.models.tenders.rules import TenderStage as DomainStage
from esupervision.models.ledger.transaction import transaction

TenderStageEnum = strawberry.enum(DomainStage, name="TenderStage", description="招投标阶段")
TenderActionEnum = strawberry.enum(TenderAction, name="TenderAction", description="招投标阶段事件")

READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.DEPARTMENT_SYSTEM)
FLAG_READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER)


@strawberry.enum(description="筛选用的灯色，PAUSED 为因异议、投诉暂停计时")
class TenderLightFilter(Enum):
    WHITE = "white"
    YELLOW = "yellow"
    RED = "red"
    PAUSED = "paused"


class TenderLoaders:
    """Per-request loaders of tender rows: a page of tenders costs a constant number of queries."""

    def __init__(self, context: Any) -> None:
        self.stages = _grouped(context, domain.TenderStageRow, "tender_id", order_by=domain.TenderStageRow.seq)
        self.lots = _grouped(context, domain.TenderLot, "tender_id", order_by=domain.TenderLot.code)
        self.bids = _grouped(context, domain.TenderBid, "tender_id", order_by=domain.TenderBid.bidder_code)
        self.objections = _grouped(context, domain.TenderObjection, "tender_id", order_by=domain.TenderObjection.number)
        self.flags = _grouped(context, TenderRedFlag, "tender_id", order_by=TenderRedFlag.code,
                              where=TenderRedFlag.cleared_at.is_(None))  # type: ignore[union-attr]
        self.clock: DataLoader[uuid.UUID, Any] = _by_id(context, Clock)


def _loaders(info: Info) -> TenderLoaders:
    context = info.context
    loaders = getattr(context, "_tender_loaders", None)
    if loaders is None:
        loaders = context._tender_loaders = TenderLoaders(context)
    return loaders


TenderPeriodKindEnum = strawberry.enum(PeriodKindName, name="TenderPeriodKind",
                                       description="期限性质：FLOOR 法定最短期限（提前结束为违法，无倒计时灯）、"
                                                   "DEADLINE 法定期限（逾期为违法，有灯）、COMMITTED 交易中心承诺时间（有灯）、"
                                                   "NONE 无法定时长（如评标，条例 48）")


@strawberry.type(description="招投标阶段：法定期限（计时、灯色）或法定最短期限（最早可结束时间）及其法律依据")
class TenderStageInfo:
    name: str
    kind: str
    period_kind: TenderPeriodKindEnum  # type: ignore[valid-type]
    status: str
    started_at: datetime
    finished_at: datetime | None
    due_at: datetime | None = strawberry.field(description="期限届满时刻（法定期限或承诺时间；最短期限无此项）")
    scheduled_end: datetime | None = strawberry.field(description="招标人确定的结束时间（如投标截止、公示结束）")
    earliest_end: datetime | None = strawberry.field(description="法定最短期限：最早可依法结束的时刻（最后一日遇休息日顺延，民法典 203）")
    light: Light | None = strawberry.field(description="灯色：仅法定期限与承诺时间有；最短期限与无时长的阶段为空")
    paused: bool
    outcome: str | None = strawberry.field(description="early / on_time / overdue（期限）；lawful / floor_breach（最短期限）")
    rule: str
    article: str | None
    legal_basis: str | None = strawberry.field(description="法律依据：条款与原文；无法定时长的阶段（评标）为空")
    limit_days: int | None
    basis: str | None


@strawberry.type(description="投标（开标前密封：任何人不得查看报价与内容）")
class TenderBidNode:
    id: strawberry.ID
    lot: str
    bidder: str
    bidder_code: str
    submitted_at: datetime
    recorded_at: datetime
    late_report: bool = strawberry.field(description="记录时间晚于投标截止（补录、倒签）")
    status: str
    disqualify_reason: str | None
    bond_amount: float
    bond_account: str | None
    machine_code: str | None = strawberry.field(description="投标文件制作机器码")
    project_manager: str | None
    row: strawberry.Private[domain.TenderBid]

    @strawberry.field(description="投标报价（元）；每次读取均被记录")
    def price(self, info: Info) -> float:
        _record_read(info, self.row, "price")
        return self.row.price

    @strawberry.field(description="投标文件内容摘要；每次读取均被记录")
    def content(self, info: Info) -> JSON:
        _record_read(info, self.row, "content")
        return self.row.content


def _record_read(info: Info, bid: domain.TenderBid, field: str) -> None:
    info.context.personal_read(subject_type="tender_bid", subject_id=bid.id, field=field)


@strawberry.type(description="标段")
class TenderLotNode:
    code: str
    name: str
    estimate: float
    ceiling_price: float | None
    candidates: JSON
    winner_code: str | None
    award_value: float | None
    award_notice_at: datetime | None
    contract_value: float | None
    contract_signed_at: datetime | None
    performance_bond: float | None


@strawberry.type(description="红旗预警及其证据")
class RedFlag:
    code: str
    title: str
    lot: str | None
    evidence: JSON
    raised_at: datetime


@strawberry.type(description="异议或投诉")
class TenderObjectionNode:
    number: str
    kind: str
    about: str
    party: str | None = strawberry.field(description="异议人、投诉人：开标前不公开（法 22）")
    filed_at: datetime
    status: str
    result: str | None


@strawberry.federation.type(name="Tender", keys=["code"], description="招标项目")
class TenderNode:
    id: strawberry.ID
    code: str
    title: str
    stage: TenderStageEnum  # type: ignore[valid-type]
    stage_label: str
    tenderer: str
    agency: str | None
    authority: str | None
    method: str
    legally_required: bool
    state_funded: bool
    award_criteria: str
    estimate: float
    ceiling_price: float | None
    currency: str
    suspended: bool
    published_at: datetime
    bid_deadline: datetime | None
    opened_at: datetime | None
    committee: JSON
    row: strawberry.Private[domain.Tender]

    @classmethod
    def from_row(cls, row: domain.Tender) -> "TenderNode":
        stage = DomainStage(row.stage)
        return cls(id=strawberry.ID(str(row.id)), code=row.code, title=row.title, stage=stage,
                   stage_label=STAGE_LABELS[stage], tenderer=row.tenderer, agency=row.agency,
                   authority=row.authority, method=row.method, legally_required=row.legally_required,
                   state_funded=row.state_funded, award_criteria=row.award_criteria, estimate=row.estimate,
                   ceiling_price=row.ceiling_price, currency=row.currency, suspended=row.suspended,
                   published_at=row.published_at, bid_deadline=row.bid_deadline, opened_at=row.opened_at,
                   committee=row.committee, row=row)

    @strawberry.field(description="投标人数：开标前对任何角色（含监察）均为空（法 22 不得透露潜在投标人的名称、数量）")
    def bid_count(self, info: Info) -> int | None:
        return domain.bid_count(self.row, info.context.now)

    @strawberry.field(description="投标是否仍密封（开标前为 true：bids 为空列表，其余字段照常可读）")
    def bids_sealed(self, info: Info) -> bool:
        return domain.is_sealed(self.row, info.context.now)

    @strawberry.field
    async def center(self, info: Info) -> Center:
        return Center.from_row(await info.context.loaders.center.load(self.row.center_id))

    @strawberry.field(description="各阶段：法定期限的计时与灯色，法定最短期限的最早可结束时间，及法律依据")
    async def stages(self, info: Info) -> list[TenderStageInfo]:
        rows = await _loaders(info).stages.load(self.row.id)
        clocks = dict(zip([s.clock_id for s in rows if s.clock_id],
                          await _loaders(info).clock.load_many([s.clock_id for s in rows if s.clock_id]), strict=True))
        now = info.context.now
        out = []
        for stage in rows:
            rule = tender_rule(stage.rule)
            clock = clocks.get(stage.clock_id) if stage.clock_id else None
            reading = light_at(clock, now) if clock is not None else None
            statutory = rule.kind is not None   # the evaluation's reasonable time (条例 48) has no length to cite
            out.append(TenderStageInfo(
                name=stage.name, kind=stage.kind, period_kind=PeriodKindName(stage.period_kind), status=stage.status,
                started_at=stage.started_at, finished_at=stage.finished_at,
                due_at=clock.due_at if clock else None, scheduled_end=stage.scheduled_end,
                earliest_end=stage.earliest_end,
                light=Light(reading.light.value) if reading else None,
                paused=reading.paused if reading else stage.status == "paused",
                outcome=clock.outcome if clock else stage.outcome, rule=rule.code,
                article=rule.article if statutory else None, legal_basis=rule.legal_basis if statutory else None,
                limit_days=(clock.limit_days if clock else rule.days) if statutory or clock else None,
                basis=(clock.basis if clock else rule.basis.value) if statutory or clock else None))
        return out

    @strawberry.field(description="当前灯色：未结的法定期限（及承诺时间）中最严重者；最短期限没有灯")
    async def light(self, info: Info) -> Light | None:
        rows = [s for s in await _loaders(info).stages.load(self.row.id)
                if s.status in ("running", "paused") and s.clock_id is not None]
        clocks = await _loaders(info).clock.load_many([s.clock_id for s in rows])
        light = domain.worst_light([light_at(c, info.context.now).light.value for c in clocks])
        return Light(light) if light else None

    @strawberry.field(description="标段")
    async def lots(self, info: Info) -> list[TenderLotNode]:
        return [TenderLotNode(code=lot.code, name=lot.name, estimate=lot.estimate, ceiling_price=lot.ceiling_price,
                              candidates=lot.candidates, winner_code=lot.winner_code, award_value=lot.award_value,
                              award_notice_at=lot.award_notice_at, contract_value=lot.contract_value,
                              contract_signed_at=lot.contract_signed_at, performance_bond=lot.performance_bond)
                for lot in await _loaders(info).lots.load(self.row.id)]

    @strawberry.field(description="投标：开标前密封，任何角色（含监察）均读到空列表（见 bidsSealed）；"
                                  "开标后每次读取报价均被记录")
    async def bids(self, info: Info) -> list[TenderBidNode]:
        require(info, *READERS)
        if domain.is_sealed(self.row, info.context.now):
            # Empty, not an error: one sealed tender must not blank a whole list of tenders.
            return []
        lots = {lot.id: lot.code for lot in await _loaders(info).lots.load(self.row.id)}
        return [TenderBidNode(id=strawberry.ID(str(b.id)), lot=lots.get(b.lot_id, ""), bidder=b.bidder,
                              bidder_code=b.bidder_code, submitted_at=b.submitted_at, recorded_at=b.recorded_at,
                              late_report=b.late_report, status=b.status, disqualify_reason=b.disqualify_reason,
                              bond_amount=b.bond_amount, bond_account=b.bond_account, machine_code=b.machine_code,
                              project_manager=b.project_manager, row=b)
                for b in await _loaders(info).bids.load(self.row.id) if b.status != "withdrawn"]

    @strawberry.field(description="红旗预警（OCP 指标与条例 40 串标迹象），含证据；涉及投标的预警开标后方可查看"
                                  "（raisedAt 为发现时间）")
    async def red_flags(self, info: Info) -> list[RedFlag]:
        require(info, *FLAG_READERS)
        now = info.context.now
        return [RedFlag(code=f.code, title=f.title, lot=f.lot_code, evidence=f.evidence, raised_at=f.raised_at)
                for f in await _loaders(info).flags.load(self.row.id) if not flag_sealed(f.code, self.row, now)]

    @strawberry.field(description="异议与投诉（开标前不显示异议人、投诉人）")
    async def objections(self, info: Info) -> list[TenderObjectionNode]:
        now = info.context.now
        return [TenderObjectionNode(number=o.number, kind=o.kind, about=o.about,
                                    party=domain.objection_party(self.row, o, now), filed_at=o.filed_at,
                                    status=o.status, result=o.result)
                for o in await _loaders(info).objections.load(self.row.id)]

    @strawberry.field(description="账本中的全过程记录；开标前不含投标事件与涉及投标人的内容（法 22）")
    async def history(self, info: Info) -> list[LedgerEntry]:
        now = info.context.now
        events = await info.context.run(lambda s: domain.tender_history(s, self.row.id))
        return [LedgerEntry(id=e.id, seq=e.seq, kind=e.kind, occurred_at=e.occurred_at, recorded_at=e.recorded_at,
                            lag_seconds=(e.recorded_at - e.occurred_at).total_seconds(), late=e.late,
                            actor=e.actor, source=e.source, data=data)
                for e, data in domain.readable_history(self.row, events, now)]

    @strawberry.field(description="OCDS 发布包：每个阶段事件一个发布（含投标扩展 bids.details；开标前不含投标及投标人），已按模式校验")
    async def ocds(self, info: Info) -> JSON:
        from esupervision.models.tenders.ocds import export_tenders
        return await self._ocds(info, export_tenders)

    @strawberry.field(description="OCDS 记录包：本项目的全部发布与按 OCDS 合并规则编译的记录（compiledRelease）")
    async def ocds_record(self, info: Info) -> JSON:
        from esupervision.models.tenders.ocds import export_records
        return await self._ocds(info, export_records)

    async def _ocds(self, info: Info, export: Any) -> Any:
        from esupervision.models.tenders.ocds import released_bid_ids

        def build() -> Any:
            with transaction(info.context.engine, now=info.context.now) as tx:
                return export(tx, [self.row.code])
        package = await info.context.call(build)
        # Opened bids leave through this field too: each one is a recorded read.
        for bid_id in released_bid_ids(package):
            info.context.personal_read(subject_type="tender_bid", subject_id=uuid.UUID(bid_id), field="ocds")
        return package

    @classmethod
    async def resolve_reference(cls, info: Info, code: str) -> "TenderNode | None":
        who = viewer(info)
        row = await info.context.run(lambda s: domain.get_tender(s, viewer=who, code=code))
        return cls.from_row(row) if row else None


@strawberry.type
class TenderConnection:
    total_count: int
    edges: list[Edge[TenderNode]]
    page_info: PageInfo



@strawberry.input(description="招标项目筛选")
class TenderFilter:
    center_ids: list[strawberry.ID] | None = None
    stages: list[TenderStageEnum] | None = None  # type: ignore[valid-type]
    lights: list[TenderLightFilter] | None = None
    red_flags: list[str] | None = strawberry.field(default=None, description="指标代码，如 R024、C40_MACHINE")
    authority_department_ids: list[strawberry.ID] | None = None
    authority: str | None = None
    methods: list[str] | None = strawberry.field(default=None, description="open 公开招标 / invited 邀请招标")
    value_from: float | None = None
    value_to: float | None = None
    text: str | None = strawberry.field(default=None, description="项目编号前缀、名称或招标人")

    def to_domain(self) -> domain.TenderFilter:
        def ids(values: list[strawberry.ID] | None) -> list[uuid.UUID] | None:
            return None if values is None else [parse_id(v) for v in values]
        return domain.TenderFilter(
            center_ids=ids(self.center_ids),
            stages=[enum_value(s) for s in self.stages] if self.stages is not None else None,
            lights=[enum_value(x) for x in self.lights] if self.lights is not None else None,
            red_flags=self.red_flags, authority_department_ids=ids(self.authority_department_ids),
            authority=self.authority, methods=self.methods, value_from=self.value_from, value_to=self.value_to,
            text=self.text)


@strawberry.type
class TenderQuery:
    @strawberry.field(description="招标项目列表（按角色限定范围，最新在前）")
    async def tenders(self, info: Info, filter: TenderFilter | None = None, first: int | None = None,
                      after: str | None = None) -> TenderConnection:
        who = require(info, *READERS)
        size = page_size(first)
        flt = (filter or TenderFilter()).to_domain()
        if flt.red_flags:
            require(info, *FLAG_READERS)
        page = await info.context.run(lambda s: domain.search_tenders(s, viewer=who, flt=flt, first=size, after=after,
                                                                      now=info.context.now))
        edges = [Edge(cursor=domain.encode_tender_cursor(t.id), node=TenderNode.from_row(t)) for t in page.tenders]
        return TenderConnection(total_count=page.total, edges=edges, page_info=PageInfo(
            has_next_page=page.has_next, has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="按项目编号查询；无权查看的与不存在的同样返回空")
    async def tender(self, info: Info, code: str) -> TenderNode | None:
        who = require(info, *READERS)
        row = await info.context.run(lambda s: domain.get_tender(s, viewer=who, code=code))
        return TenderNode.from_row(row) if row else None


# ----------------------------------------------------------------------------- mutations

def _tender_not_found(code: str) -> DomainError:
    """The one answer for a tender that does not exist and for one the viewer may not act on (the
    core's own words)."""
    return DomainError(ErrorCode.TENDER_NOT_FOUND, f"招标项目 {code} 不存在", tender=code)


def _refusal_outside_scope(session: Any, who: Any, events: list[domain.TenderEvent]) -> list[DomainError | None]:
    """Per event, None when ``who`` may act on its tender, else the refusal (decisions 9 and 11): a
    tender that exists only within ``tender_scope`` (what the viewer reads), a new one (publish)
    only in the viewer's own center. Every refusal reads as "no such tender"."""
    from esupervision.models.catalogue.catalogue import Center as CenterRow
    codes = sorted({e.tender_code for e in events})
    readable: dict[str, bool] = {
        code: bool(mine) for code, mine in session.execute(
            select(domain.Tender.code, domain.tender_scope(who).label("mine"))
            .where(domain.Tender.code.in_(codes)))}  # type: ignore[attr-defined]
    out: list[DomainError | None] = []
    for ev in events:
        allowed = readable.get(ev.tender_code)
        if allowed is None and ev.action is TenderAction.PUBLISH:
            code = ev.attributes.get("center_code")
            center_id = session.scalar(select(CenterRow.id).where(CenterRow.code == code)) if code else None
            if center_id is not None:
                allowed = readable[ev.tender_code] = who.role is Role.SUPERVISOR or (
                    who.role in (Role.CENTER_ADMIN, Role.DEPARTMENT_SYSTEM) and center_id == who.center_id)
        out.append(None if allowed is None or allowed else _tender_not_found(ev.tender_code))
    return out


def _source(who: Any) -> str:
    return f"center:{who.center_id}" if who.role is Role.DEPARTMENT_SYSTEM else f"api:{who.actor}"


async def _act(info: Info, code: str, action: TenderAction, attributes: dict[str, Any], *,
               occurred_at: datetime | None = None, client_event_id: str | None = None) -> TenderNode:
    who = viewer(info)   # its role passed the duty matrix (api/schema/duties.py)
    now = info.context.now
    at = occurred_at or now
    if at.tzinfo is None:
        raise DomainError(ErrorCode.BAD_INPUT, "发生时间须带时区 occurredAt needs a UTC offset")
    event = domain.TenderEvent(source_event_id=client_event_id or f"api:{uuid.uuid4()}", tender_code=code,
                               action=action, occurred_at=at,
                               attributes={k: v for k, v in attributes.items() if v is not None})

    def run() -> domain.Tender | None:
        with transaction(info.context.engine, actor=who.actor) as tx:
            # The scope the viewer reads is the scope it acts in: checked before the change and on
            # its result, inside this transaction.
            refusal = _refusal_outside_scope(tx.session, who, [event])[0]
            if refusal is not None:
                raise refusal
            domain.handle_tender_event(tx, event, source=_source(who))
            tx.flush()
            if domain.get_tender(tx.session, viewer=who, code=code) is None:
                raise _tender_not_found(code)
        with transaction(info.context.engine) as tx:
            return domain.get_tender(tx.session, viewer=who, code=code)
    row = await info.context.call(run)
    if row is None:   # committed, then moved out of this viewer's scope by someone else meanwhile
        raise _tender_not_found(code)
    return TenderNode.from_row(row)


@strawberry.input(description="标段")
class LotInput:
    code: str
    name: str
    estimate: float
    ceiling_price: float | None = None


@strawberry.input(description="发布招标公告（或资格预审公告）并发售文件")
class PublishTenderInput:
    code: str
    center_code: str
    title: str
    tenderer: str
    estimate: float
    sale_end: datetime
    bid_deadline: datetime | None = None
    prequal_deadline: datetime | None = None
    sale_start: datetime | None = None
    agency: str | None = None
    authority: str | None = None
    authority_department_code: str | None = None
    method: str = "open"
    legally_required: bool = True
    state_funded: bool = False
    prequalification: bool = False
    award_criteria: str = "comprehensive"
    ceiling_price: float | None = None
    currency: str = "CNY"
    invited: list[str] | None = None
    lots: list[LotInput] | None = None
    occurred_at: datetime | None = None
    client_event_id: str | None = None

    def attributes(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in (
            "center_code", "title", "tenderer", "estimate", "agency", "authority", "authority_department_code",
            "method", "legally_required", "state_funded", "prequalification", "award_criteria", "ceiling_price",
            "currency", "invited")}
        for name in ("sale_end", "bid_deadline", "prequal_deadline", "sale_start"):
            value = getattr(self, name)
            out[name] = value.isoformat() if value else None
        if self.lots:
            out["lots"] = [{"code": lot.code, "name": lot.name, "estimate": lot.estimate,
                            "ceiling_price": lot.ceiling_price} for lot in self.lots]
        return out


@strawberry.input(description="递交投标文件（开标前密封）")
class SubmitBidInput:
    code: str
    bidder: str
    bidder_code: str
    price: float
    lot: str | None = None
    bond_amount: float = 0.0
    bond_account: str | None = None
    machine_code: str | None = None
    project_manager: str | None = None
    content: JSON | None = None
    occurred_at: datetime | None = None
    client_event_id: str | None = None


@strawberry.input(description="评标委员会成员")
class CommitteeMemberInput:
    name: str
    kind: str = strawberry.field(default="expert", description="expert 专家 / tenderer 招标人代表")
    specialty: str | None = None


@strawberry.type
class TenderMutation:
    @strawberry.mutation(description="发布招标公告并发售文件（条例 16、17，法 24）")
    async def publish_tender(self, info: Info, input: PublishTenderInput) -> TenderNode:
        return await _act(info, input.code, TenderAction.PUBLISH, input.attributes(),
                          occurred_at=input.occurred_at, client_event_id=input.client_event_id)

    @strawberry.mutation(description="资格预审完成，向合格申请人发出投标邀请")
    async def prequalify_tender(self, info: Info, code: str, qualified: list[str], bid_deadline: datetime,
                                occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.PREQUALIFY,
                          {"qualified": qualified, "bid_deadline": bid_deadline.isoformat()}, occurred_at=occurred_at)

    @strawberry.mutation(description="澄清或者修改招标文件；不足 15 日的顺延投标截止（法 23、条例 21）")
    async def amend_tender(self, info: Info, code: str, summary: str, new_deadline: datetime | None = None,
                           affects_preparation: bool = True, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.AMEND,
                          {"summary": summary, "new_deadline": new_deadline.isoformat() if new_deadline else None,
                           "affects_preparation": affects_preparation}, occurred_at=occurred_at)

    @strawberry.mutation(description="提出异议（暂停招标投标活动，条例 22、44、54）")
    async def object_to_tender(self, info: Info, code: str, about: str, party: str,
                               occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.OBJECT, {"about": about, "party": party}, occurred_at=occurred_at)

    @strawberry.mutation(description="答复异议（3 日内）")
    async def answer_objection(self, info: Info, code: str, answer: str, number: str | None = None,
                               occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.ANSWER_OBJECTION, {"answer": answer, "number": number},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="递交投标文件（截止后拒收，法 28；保证金不超过估算价 2%，条例 26）")
    async def submit_bid(self, info: Info, input: SubmitBidInput) -> TenderNode:
        attrs = {k: getattr(input, k) for k in ("bidder", "bidder_code", "price", "lot", "bond_amount", "bond_account",
                                                "machine_code", "project_manager", "content")}
        return await _act(info, input.code, TenderAction.SUBMIT_BID, attrs, occurred_at=input.occurred_at,
                          client_event_id=input.client_event_id)

    @strawberry.mutation(description="撤回投标文件（截止前）")
    async def withdraw_bid(self, info: Info, code: str, bidder_code: str, lot: str | None = None,
                           occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.WITHDRAW_BID, {"bidder_code": bidder_code, "lot": lot},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="组建评标委员会（5 人以上单数，专家不少于三分之二，法 37）")
    async def form_committee(self, info: Info, code: str, members: list[CommitteeMemberInput],
                             occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.FORM_COMMITTEE,
                          {"members": [{"name": m.name, "kind": m.kind, "specialty": m.specialty} for m in members]},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="开标（投标截止时刻，不少于 3 个投标人，法 34、条例 44）")
    async def open_bids(self, info: Info, code: str, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.OPEN, {}, occurred_at=occurred_at)

    @strawberry.mutation(description="流标或终止招标")
    async def fail_tender(self, info: Info, code: str, reason: str, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.FAIL, {"reason": reason}, occurred_at=occurred_at)

    @strawberry.mutation(description="提交评标报告：排序的中标候选人（至多 3 名）与被否决的投标")
    async def report_evaluation(self, info: Info, code: str, candidates: list[str], disqualified: JSON | None = None,
                                lot: str | None = None, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.REPORT_EVALUATION,
                          {"lots": [{"lot": lot, "candidates": candidates, "disqualified": disqualified or []}]},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="公示中标候选人（3 日内公示，公示期不少于 3 日，条例 54）")
    async def publish_candidates(self, info: Info, code: str, publicity_end: datetime,
                                 occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.PUBLISH_CANDIDATES, {"publicity_end": publicity_end.isoformat()},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="确定中标人并发出中标通知书（国有资金控股的为排名第一者，条例 55）")
    async def award_tender(self, info: Info, code: str, bidder_code: str, lot: str | None = None,
                           declined: list[str] | None = None, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.AWARD,
                          {"lots": [{"lot": lot, "bidder_code": bidder_code, "declined": declined or []}]},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="订立合同（30 日内，法 46；履约保证金不超过 10%，条例 58）")
    async def sign_contract(self, info: Info, code: str, value: float, performance_bond: float = 0.0,
                            lot: str | None = None, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.SIGN_CONTRACT,
                          {"value": value, "performance_bond": performance_bond, "lot": lot}, occurred_at=occurred_at)

    @strawberry.mutation(description="退还投标保证金（合同签订后 5 日内，条例 57）")
    async def return_bonds(self, info: Info, code: str, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.RETURN_BONDS, {}, occurred_at=occurred_at)

    @strawberry.mutation(description="向行政监督部门提交书面报告（15 日内，法 47）")
    async def file_tender_report(self, info: Info, code: str, occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.FILE_REPORT, {}, occurred_at=occurred_at)

    @strawberry.mutation(description="投诉（知道之日起 10 日内，条例 60）")
    async def file_complaint(self, info: Info, code: str, party: str, knew_at: datetime, about: str = "other",
                             occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.COMPLAIN,
                          {"party": party, "knew_at": knew_at.isoformat(), "about": about}, occurred_at=occurred_at)

    @strawberry.mutation(description="受理或不予受理投诉（3 个工作日内，条例 61）；可责令暂停")
    async def accept_complaint(self, info: Info, code: str, accepted: bool, suspend: bool = False,
                               reason: str | None = None, number: str | None = None,
                               occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.ACCEPT_COMPLAINT,
                          {"accepted": accepted, "suspend": suspend, "reason": reason, "number": number},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="作出投诉处理决定（30 个工作日内，条例 61）")
    async def decide_complaint(self, info: Info, code: str, decision: str, number: str | None = None,
                               occurred_at: datetime | None = None) -> TenderNode:
        return await _act(info, code, TenderAction.DECIDE_COMPLAINT, {"decision": decision, "number": number},
                          occurred_at=occurred_at)

    @strawberry.mutation(description="任一阶段事件（属性同 reportTenderEvents）")
    async def tender_event(self, info: Info, code: str, action: TenderActionEnum,  # type: ignore[valid-type]
                           attributes: JSON | None = None, occurred_at: datetime | None = None,
                           client_event_id: str | None = None) -> TenderNode:
        return await _act(info, code, TenderAction(enum_value(action)), dict(attributes or {}),
                          occurred_at=occurred_at, client_event_id=client_event_id)

    @strawberry.mutation(description="交易中心系统报送招投标事件（API 密钥）；按事件逐条返回结果，按来源事件编号幂等")
    async def report_tender_events(self, info: Info, events: list["TenderEventInput"]) -> list[EventResult]:
        who = viewer(info)   # a trading center's system (the duty matrix, api/schema/duties.py)
        if len(events) > 1000:
            raise DomainError(ErrorCode.BAD_INPUT, "每批最多 1000 条事件 at most 1000 events a batch")
        reported = [e.to_domain() for e in events]

        def run() -> list[EventResult]:
            with transaction(info.context.engine, actor=who.actor) as tx:
                refusals = _refusal_outside_scope(tx.session, who, reported)
                allowed = [ev for ev, refusal in zip(reported, refusals) if refusal is None]
                outcomes = domain.ingest_tender_events(tx, allowed, source=_source(who))
            return event_results(reported, refusals, outcomes)
        return await info.context.call(run)


@built_from_coerced_values   # a trading center's batch holds many
@strawberry.input(description="报送的一条招投标事件")
class TenderEventInput:
    source_event_id: str = strawberry.field(description="交易中心系统自己的事件编号（幂等键）")
    tender_code: str
    action: TenderActionEnum  # type: ignore[valid-type]
    occurred_at: datetime
    attributes: JSON | None = None

    def to_domain(self) -> domain.TenderEvent:
        if self.occurred_at.tzinfo is None:
            raise DomainError(ErrorCode.BAD_INPUT, "发生时间须带时区 occurredAt needs a UTC offset",
                              event=self.source_event_id)
        return domain.TenderEvent(source_event_id=self.source_event_id, tender_code=self.tender_code,
                                  action=TenderAction(enum_value(self.action)), occurred_at=self.occurred_at,
                                  attributes=dict(self.attributes or {}))


# ----------------------------------------------------------------------------- subscriptions

STAGE_TOPIC = "tender.stage_changed"
FLAG_TOPIC = "tender.red_flag"
REPLAY_PAGE = 500


def may_follow(who: Any, message: dict[str, Any]) -> bool:
    """Whether ``who`` may be told of this tender's changes: the same scope as ``tenders``."""
    if who.role is Role.SUPERVISOR:
        return True
    if who.role in (Role.CENTER_ADMIN, Role.DEPARTMENT_SYSTEM):
        return message.get("center_id") == str(who.center_id)
    if who.role is Role.DEPARTMENT_LEADER:
        return message.get("authority_department_id") == str(who.department_id)
    return False


FLAG_KINDS = ("tender.red_flag", "tender.red_flags_refreshed")


@strawberry.type(description="招投标阶段变化（实时）")
class TenderStageChange:
    code: str
    kind: str
    stage: TenderStageEnum  # type: ignore[valid-type]
    previous_stage: TenderStageEnum | None  # type: ignore[valid-type]
    ledger_id: int | None
    cursor: str | None = strawberry.field(description="续订游标：断线后以 after 传回，不漏不重")


@strawberry.type(description="新的红旗预警（实时）")
class TenderRedFlagRaised:
    code: str
    flag: str
    title: str
    lot: str | None
    evidence: JSON
    found_at: datetime | None = strawberry.field(description="发现时间（开标前发现的涉及投标的预警，开标时才推送）")
    ledger_id: int | None
    cursor: str | None = strawberry.field(description="续订游标：断线后以 after 传回，不漏不重")


def _stage_messages(session: Any, after: int, tender_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """One page of stage changes recorded after ``after``, as the channel carried them: the
    tender events whose stage differs from the tender's stage before them."""
    from esupervision.models.ledger.ledger import LedgerEvent
    events = LedgerEvent.__table__.c  # type: ignore[attr-defined]
    stage_events = and_(events.subject_type == "tender", events.kind.like("tender.%"), events.kind.not_in(FLAG_KINDS))
    query = select(events.id, events.kind, events.subject_id, events.center_id, events.data).where(
        events.id > after, stage_events)
    if tender_id is not None:
        query = query.where(events.subject_id == tender_id)
    rows = session.execute(query.order_by(events.id).limit(REPLAY_PAGE)).all()
    if not rows:
        return []
    tenders = {r.subject_id for r in rows}
    authority = dict(session.execute(select(domain.Tender.id, domain.Tender.authority_department_id)
                                     .where(domain.Tender.id.in_(tenders))).all())  # type: ignore[attr-defined]
    stage: dict[uuid.UUID, str | None] = {}
    for tid in tenders:   # each tender's stage before the page
        before = session.execute(select(events.data).where(events.subject_id == tid, events.id < rows[0].id,
                                                           stage_events).order_by(events.id.desc()).limit(1)).first()
        stage[tid] = before.data.get("stage") if before else None
    messages = []
    for r in rows:
        previous, now_stage = stage.get(r.subject_id), r.data.get("stage")
        stage[r.subject_id] = now_stage or previous
        if now_stage is None or now_stage == previous:
            continue
        department = authority.get(r.subject_id)
        messages.append({"code": r.data.get("code"), "kind": r.kind, "center_id": str(r.center_id),
                         "authority_department_id": str(department) if department else None,
                         "stage": now_stage, "previous_stage": previous, "ledger_id": r.id})
    # The page's end, so the next page starts after it even when its last events changed no stage.
    return [*messages, {"ledger_id": rows[-1].id, "_page_end": True}]


def _flag_messages(session: Any, after: int, tender_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """One page of raised red flags recorded after ``after``, as the channel carried them; a flag
    about the bids of a tender still sealed is skipped (法 22: such flags go on the record at the
    opening; this keeps any written before that rule sealed too)."""
    from esupervision.models.clocks import timesource
    from esupervision.models.ledger.ledger import LedgerEvent
    events = LedgerEvent.__table__.c  # type: ignore[attr-defined]
    query = select(events.id, events.subject_id, events.center_id, events.data).where(
        events.id > after, events.kind == "tender.red_flag")
    if tender_id is not None:
        query = query.where(events.subject_id == tender_id)
    rows = session.execute(query.order_by(events.id).limit(REPLAY_PAGE)).all()
    tenders = {t.id: t for t in session.scalars(select(domain.Tender).where(
        domain.Tender.id.in_({r.subject_id for r in rows})))} if rows else {}  # type: ignore[attr-defined]
    now = timesource.now()
    messages = []
    for r in rows:
        tender = tenders.get(r.subject_id)
        if tender is None or flag_sealed(r.data.get("flag", ""), tender, now):
            messages.append({"ledger_id": r.id, "_page_end": True})   # skipped, the page still moves on
            continue
        authority = tender.authority_department_id
        messages.append({**r.data, "center_id": str(r.center_id), "ledger_id": r.id,
                         "authority_department_id": str(authority) if authority else None})
    return messages


async def _tender_messages(info: Info, topic: str, roles: tuple[Role, ...], code: str | None, after: str | None,
                           page: Any) -> AsyncGenerator[dict[str, Any], None]:
    """The channel's ``topic`` messages this viewer may follow (of one tender with ``code``);
    with ``after`` (a ledger id), first what the ledger recorded after it: nothing missed,
    nothing twice (the channel is listened to before the ledger is read)."""
    from esupervision.api.schema.feeds import Delivered, latest_ledger_id, parse_cursor
    from esupervision.workers import runtime
    who = require(info, *roles)
    after_id = parse_cursor(after)
    context = info.context
    sent = Delivered()
    tender_id = None
    if code is not None:
        tender_id = await context.run(lambda s: s.scalar(select(domain.Tender.id).where(domain.Tender.code == code)))

    def admit(messages: list[dict[str, Any]], floor: int | None) -> list[dict[str, Any]]:
        admitted = []
        for m in messages:
            ledger_id = m.get("ledger_id")
            if m.get("_page_end") or ledger_id is None or ledger_id in sent or (floor is not None and ledger_id <= floor):
                continue
            if (code is None or m.get("code") == code) and may_follow(who, m):
                sent.add(ledger_id)
                admitted.append(m)
        return admitted

    async def replay(start: int) -> AsyncGenerator[dict[str, Any], None]:
        while True:
            batch = await context.run(lambda s: page(s, start, tender_id))
            if not batch:
                return
            for m in admit(batch, start):
                yield m
            start = int(batch[-1]["ledger_id"])

    with runtime.fanout().listen({topic}) as feed:
        start = after_id if after_id is not None else await latest_ledger_id(context)
        if after_id is not None and (code is None or tender_id is not None):
            async for m in replay(after_id):
                yield m
        while True:
            batch, lost = await feed.next_batch()
            if lost:
                async for m in replay(sent.floor(start)):
                    yield m
            for m in admit([m for _, m in batch], after_id):
                yield m


def _cursor(message: dict[str, Any]) -> dict[str, Any]:
    """A message's ledger id and the cursor naming it."""
    ledger_id = message.get("ledger_id")
    return {"ledger_id": ledger_id, "cursor": str(ledger_id) if ledger_id is not None else None}


@strawberry.type
class TenderSubscription:
    @strawberry.subscription(description="招投标阶段变化：按角色限定为可查看的项目；code 只看一个项目；"
                                         "after 传回上次的游标，先补发其后的变化，再实时推送")
    async def tender_stage_changed(self, info: Info, code: str | None = None,
                                   after: str | None = None) -> AsyncGenerator[TenderStageChange, None]:
        async for m in _tender_messages(info, STAGE_TOPIC, READERS, code, after, _stage_messages):
            previous = m.get("previous_stage")
            yield TenderStageChange(code=m["code"], kind=m["kind"], stage=DomainStage(m["stage"]),
                                    previous_stage=DomainStage(previous) if previous else None, **_cursor(m))

    @strawberry.subscription(description="新的红旗预警及其证据：监察、中心管理、行政监督部门；涉及投标的预警开标时推送"
                                         "（foundAt 为发现时间）；after 传回上次的游标，先补发其后的预警，再实时推送")
    async def tender_red_flags(self, info: Info, code: str | None = None,
                               after: str | None = None) -> AsyncGenerator[TenderRedFlagRaised, None]:
        async for m in _tender_messages(info, FLAG_TOPIC, FLAG_READERS, code, after, _flag_messages):
            found = m.get("found_at")
            yield TenderRedFlagRaised(code=m["code"], flag=m["flag"], title=m["title"], lot=m.get("lot"),
                                      evidence=m.get("evidence") or {},
                                      found_at=datetime.fromisoformat(found) if found else None, **_cursor(m))
