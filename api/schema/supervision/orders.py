"""Supervision in GraphQL: urges (催办), supervision orders (督办) and their replies, automatic rules,
the lists supervisors filter, ``Case.urges`` / ``Case.orders`` / ``Case.timeline``, and the live
``supervisionEvents`` of the signed-in staff. Resolvers parse, check the role and call
``models/supervision/orders.py``; the rules (addressees, who may reply, escalation) live there."""
from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from esupervision.api.schema.clocks import ClockInfo
from esupervision.api.schema.catalogue.catalogue import Department, Staff, Window, department_of, window_of
from esupervision.api.schema.common import (Edge, Light, PageInfo, decode_offset, offset_cursor, page_size, parse_id,
                                            require, viewer)
from esupervision.models.supervision import orders as domain
from esupervision.models.access.scope import Role, Viewer, scope_unit
from esupervision.models.cases.case import Case
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import light_at
from esupervision.models.supervision.rules import RuleSpec, describe
from esupervision.models.supervision.rules import SupervisionRule as RuleRow
from esupervision.models.cases.timeline import case_timeline
from esupervision.models.ledger.transaction import transaction

ISSUERS = (Role.SUPERVISOR, Role.CENTER_ADMIN)
STAFF = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF)
SUPERVISION_READERS = (*STAFF, Role.DEPARTMENT_SYSTEM)


@strawberry.enum(description="督办单状态")
class OrderStatus(Enum):
    OPEN = "open"          # 待反馈
    REPLIED = "replied"    # 已反馈


@strawberry.enum(description="催办单状态")
class UrgeStatus(Enum):
    OPEN = "open"
    REPLIED = "replied"


async def _staff_list(info: Info, ids: list[str]) -> list[Staff]:
    rows = await info.context.loaders.staff.load_many([uuid.UUID(i) for i in ids])
    return [Staff.from_row(r) for r in rows if r is not None]


async def _case_number(info: Info, case_id: uuid.UUID | None) -> str | None:
    if case_id is None:
        return None
    loader = getattr(info.context, "case_number_loader", None)
    if loader is None:
        async def load(ids: Sequence[uuid.UUID]) -> list[str | None]:
            found = await info.context.run(lambda s: dict(s.execute(
                select(Case.id, Case.number).where(Case.id.in_(list(ids)))).all()))
            return [found.get(i) for i in ids]
        loader = info.context.case_number_loader = DataLoader(load_fn=load)
    return await loader.load(case_id)


@strawberry.type(name="Urge", description="催办单")
class UrgeNode:
    id: strawberry.ID
    number: str
    target_kind: str = strawberry.field(description="case 办件 / step 环节 / window 窗口 / department 部门 / tender_stage 招投标阶段")
    target: str = strawberry.field(description="催办对象")
    message: str
    created_at: datetime
    created_by: str | None
    automatic: bool = strawberry.field(description="由自动规则发出")
    rule_id: strawberry.ID | None
    reply_due_at: datetime | None
    replied_at: datetime | None
    replied_by: str | None
    reply: str | None = strawberry.field(description="反馈：采取的措施")
    finish_by: datetime | None = strawberry.field(description="反馈：预计办结时间")
    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> "UrgeNode":
        return cls(id=strawberry.ID(str(row.id)), number=row.number, target_kind=row.target_kind,
                   target=row.target_label, message=row.message, created_at=row.created_at,
                   created_by=row.created_by, automatic=row.rule_id is not None,
                   rule_id=strawberry.ID(str(row.rule_id)) if row.rule_id else None,
                   reply_due_at=row.reply_due_at, replied_at=row.replied_at, replied_by=row.replied_by,
                   reply=row.reply, finish_by=row.finish_by, row=row)

    @strawberry.field
    def status(self) -> UrgeStatus:
        return UrgeStatus.REPLIED if self.row.replied_at else UrgeStatus.OPEN

    @strawberry.field(description="所属办件编号")
    async def case_number(self, info: Info) -> str | None:
        return await _case_number(info, self.row.case_id)

    @strawberry.field(description="被催办人")
    async def addressees(self, info: Info) -> list[Staff]:
        return await _staff_list(info, self.row.addressee_ids)

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.row.department_id)

    @strawberry.field
    async def window(self, info: Info) -> Window | None:
        return await window_of(info, self.row.window_id)


@strawberry.type(name="SupervisionOrder", description="督办单：有反馈期限（工作日）和自己的计时、灯色")
class OrderNode:
    id: strawberry.ID
    number: str
    target_kind: str
    target: str
    message: str
    issued_at: datetime
    issued_by: str | None
    automatic: bool
    rule_id: strawberry.ID | None
    reply_days: int
    first_due_at: datetime = strawberry.field(description="首次反馈期限")
    due_at: datetime = strawberry.field(description="当前层级的反馈期限")
    status: OrderStatus
    escalation_level: int = strawberry.field(description="0 承办人、1 部门领导、2 中心领导")
    escalation_label: str
    escalated_at: datetime | None
    replied_at: datetime | None
    replied_by: str | None
    replied_on_time: bool | None = strawberry.field(description="在首次期限内、未经升级即反馈")
    reply: str | None
    finish_by: datetime | None
    row: strawberry.Private[Any]

    @classmethod
    def from_row(cls, row: Any) -> "OrderNode":
        return cls(id=strawberry.ID(str(row.id)), number=row.number, target_kind=row.target_kind,
                   target=row.target_label, message=row.message, issued_at=row.issued_at, issued_by=row.issued_by,
                   automatic=row.rule_id is not None, rule_id=strawberry.ID(str(row.rule_id)) if row.rule_id else None,
                   reply_days=row.reply_days, first_due_at=row.first_due_at, due_at=row.due_at,
                   status=OrderStatus(row.status), escalation_level=row.escalation_level,
                   escalation_label=domain.LEVEL_LABELS[row.escalation_level], escalated_at=row.escalated_at,
                   replied_at=row.replied_at, replied_by=row.replied_by, replied_on_time=row.replied_on_time,
                   reply=row.reply, finish_by=row.finish_by, row=row)

    @strawberry.field(description="当前反馈计时的灯色")
    async def light(self, info: Info) -> Light | None:
        clock = await info.context.loaders.clock.load(self.row.clock_id)
        return Light(light_at(clock, info.context.now).light.value) if clock else None

    @strawberry.field(description="当前反馈计时")
    async def clock(self, info: Info) -> ClockInfo | None:
        clock = await info.context.loaders.clock.load(self.row.clock_id)
        return ClockInfo.from_row(clock, info.context.now) if clock else None

    @strawberry.field(description="所属办件编号")
    async def case_number(self, info: Info) -> str | None:
        return await _case_number(info, self.row.case_id)

    @strawberry.field(description="被督办人（含升级后的部门领导）")
    async def addressees(self, info: Info) -> list[Staff]:
        return await _staff_list(info, self.row.addressee_ids)

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.row.department_id)

    @strawberry.field
    async def window(self, info: Info) -> Window | None:
        return await window_of(info, self.row.window_id)


@strawberry.type(name="SupervisionRule", description="自动催办、督办规则")
class RuleNode:
    id: strawberry.ID
    name: str
    center_id: strawberry.ID | None = strawberry.field(description="空：适用于全部中心")
    trigger: str = strawberry.field(description="light_yellow 亮黄灯 / light_red 亮红灯 / red_for_days 红灯持续 N 个工作日")
    subject: str = strawberry.field(description="case 办件计时 / step 环节计时")
    days: int | None
    action: str = strawberry.field(description="urge 催办 / order 督办")
    reply_days: int
    message: str
    enabled: bool
    description: str = strawberry.field(description="规则的中文表述")
    created_at: datetime
    created_by: str | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RuleRow) -> "RuleNode":
        return cls(id=strawberry.ID(str(row.id)), name=row.name,
                   center_id=strawberry.ID(str(row.center_id)) if row.center_id else None, trigger=row.trigger,
                   subject=row.subject, days=row.days, action=row.action, reply_days=row.reply_days,
                   message=row.message, enabled=row.enabled, description=describe(row), created_at=row.created_at,
                   created_by=row.created_by, updated_at=row.updated_at)


@strawberry.type(name="TimelineEntry", description="全程监督：办件经历中的一件事")
class TimelineEntryNode:
    at: datetime
    kind: str = strawberry.field(description="case.accept、step.done、light.red、urge.created、order.escalated、notice …")
    title: str
    actor: str | None
    detail: JSON
    ledger_event_id: int | None


# ----------------------------------------------------------------------------- Case fields

def _grouped_loader(context: Any, attribute: str, fetch: Any) -> DataLoader[uuid.UUID, list[Any]]:
    loader = getattr(context, attribute, None)
    if loader is None:
        async def load(ids: Sequence[uuid.UUID]) -> list[list[Any]]:
            found = await context.run(lambda s: fetch(s, list(ids)))
            return [found.get(i, []) for i in ids]
        loader = DataLoader(load_fn=load)
        setattr(context, attribute, loader)
    return loader


def _may_see_supervision(info: Info) -> bool:
    return viewer(info).role in SUPERVISION_READERS


async def case_urges(info: Info, case_id: uuid.UUID) -> list[UrgeNode]:
    """The urges of a case for staff (applicants see none); one query per page of cases."""
    if not _may_see_supervision(info):
        return []
    rows = await _grouped_loader(info.context, "urge_loader", domain.case_urges).load(case_id)
    return [UrgeNode.from_row(r) for r in rows]


async def case_orders(info: Info, case_id: uuid.UUID) -> list[OrderNode]:
    """The orders of a case for staff (applicants see none); one query per page of cases."""
    if not _may_see_supervision(info):
        return []
    rows = await _grouped_loader(info.context, "order_loader", domain.case_orders).load(case_id)
    return [OrderNode.from_row(r) for r in rows]


async def case_timeline_entries(info: Info, case: Case) -> list[TimelineEntryNode]:
    """The whole story of a case in time order (staff only)."""
    require(info, *SUPERVISION_READERS)
    entries = await info.context.run(lambda s: case_timeline(s, case))
    return [TimelineEntryNode(at=e.at, kind=e.kind, title=e.title, actor=e.actor, detail=e.detail,
                              ledger_event_id=e.ledger_event_id) for e in entries]


# ----------------------------------------------------------------------------- inputs

@strawberry.input(description="催办或督办的对象：指定且只指定一个")
class SupervisionTargetFields:
    case_number: str | None = None
    step_id: strawberry.ID | None = strawberry.field(default=None, description="办件的一个在办环节")
    window_id: strawberry.ID | None = None
    department_id: strawberry.ID | None = None
    tender_stage_id: strawberry.ID | None = strawberry.field(default=None, description="招投标项目的一个计时阶段")


def _target(value: Any) -> domain.Target:
    def maybe(v: Any) -> uuid.UUID | None:
        return None if v is None else parse_id(v)
    return domain.Target(case_number=value.case_number, step_id=maybe(value.step_id), window_id=maybe(value.window_id),
                         department_id=maybe(value.department_id), tender_stage_id=maybe(value.tender_stage_id))


@strawberry.input(description="催办")
class UrgeInput(SupervisionTargetFields):
    message: str = strawberry.field(default="", description="催办内容")
    reply_days: int = strawberry.field(default=domain.DEFAULT_URGE_REPLY_DAYS, description="反馈期限（工作日）")


@strawberry.input(description="督办")
class SupervisionOrderInput(SupervisionTargetFields):
    message: str = strawberry.field(default="", description="督办内容")
    reply_days: int = strawberry.field(default=domain.DEFAULT_ORDER_REPLY_DAYS, description="反馈期限（工作日）")


@strawberry.input(description="反馈：采取了什么措施，预计何时办结")
class OrderReplyInput:
    order_id: strawberry.ID | None = None
    order_number: str | None = None
    reply: str = ""
    finish_by: datetime | None = None


@strawberry.input(description="催办反馈")
class UrgeReplyInput:
    urge_id: strawberry.ID | None = None
    urge_number: str | None = None
    reply: str = ""
    finish_by: datetime | None = None


@strawberry.input(description="自动规则：触发条件 + 处置动作（未知的触发条件或动作将被拒绝）")
class SupervisionRuleInput:
    name: str
    trigger: str = strawberry.field(description="light_yellow / light_red / red_for_days")
    action: str = strawberry.field(description="urge / order")
    message: str
    subject: str = strawberry.field(default="case", description="case / step")
    days: int | None = strawberry.field(default=None, description="red_for_days：红灯持续的工作日数")
    reply_days: int = 1
    center_id: strawberry.ID | None = strawberry.field(default=None, description="空：全部中心")

    def to_spec(self) -> RuleSpec:
        return RuleSpec(name=self.name, trigger=self.trigger, action=self.action, message=self.message,
                        subject=self.subject, days=self.days, reply_days=self.reply_days,
                        center_id=parse_id(self.center_id) if self.center_id else None)


@strawberry.input(description="催办、督办列表的筛选")
class SupervisionFilterInput:
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    statuses: list[OrderStatus] | None = strawberry.field(default=None, description="OPEN 待反馈 / REPLIED 已反馈")
    lights: list[Light] | None = strawberry.field(default=None, description="督办单计时的灯色（催办单忽略）")
    case_number: str | None = None


def _filter(session: Any, flt: SupervisionFilterInput | None) -> domain.SupervisionFilter:
    flt = flt or SupervisionFilterInput()
    case_id = None
    if flt.case_number is not None:
        case_id = session.scalar(select(Case.id).where(Case.number == flt.case_number)) or uuid.UUID(int=0)
    return domain.SupervisionFilter(
        center_ids=[parse_id(v) for v in flt.center_ids] if flt.center_ids is not None else None,
        department_ids=[parse_id(v) for v in flt.department_ids] if flt.department_ids is not None else None,
        statuses=[s.value for s in flt.statuses] if flt.statuses is not None else None,
        lights=[light.value for light in flt.lights] if flt.lights is not None else None, case_id=case_id)


def _by_number(session: Any, model: Any, row_id: Any, number: str | None) -> uuid.UUID:
    if (row_id is None) == (number is None):
        raise DomainError(ErrorCode.BAD_INPUT, "请指定编号或 id 之一")
    if row_id is not None:
        return parse_id(row_id)
    found = session.scalar(select(model.id).where(model.number == number))
    return found or uuid.UUID(int=0)   # the service answers NOT_FOUND


@strawberry.type
class UrgeConnection:
    edges: list[Edge[UrgeNode]]
    page_info: PageInfo


@strawberry.type
class SupervisionOrderConnection:
    edges: list[Edge[OrderNode]]
    page_info: PageInfo


def _page_info(edges: list[Any], offset: int, more: bool) -> PageInfo:
    return PageInfo(has_next_page=more, has_previous_page=offset > 0,
                    start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None)


# ----------------------------------------------------------------------------- root fields

@strawberry.type
class SupervisionQuery:
    @strawberry.field(description="督办单列表（监察全部；中心管理本中心；部门本部门；窗口本窗口），最新在前")
    async def supervision_orders(self, info: Info, filter: SupervisionFilterInput | None = None,
                                 first: int | None = None, after: str | None = None) -> SupervisionOrderConnection:
        who = require(info, *SUPERVISION_READERS)
        size, offset = page_size(first), decode_offset(after)
        now = info.context.now

        def fetch(s):  # noqa: ANN001, ANN202
            return domain.list_orders(s, who=who, flt=_filter(s, filter), now=now, limit=size, offset=offset)
        rows, _clocks, more = await info.context.run(fetch)
        edges = [Edge(cursor=offset_cursor(offset + i), node=OrderNode.from_row(r)) for i, r in enumerate(rows)]
        return SupervisionOrderConnection(edges=edges, page_info=_page_info(edges, offset, more))

    @strawberry.field(description="催办单列表（范围同督办单），最新在前")
    async def urges(self, info: Info, filter: SupervisionFilterInput | None = None, first: int | None = None,
                    after: str | None = None) -> UrgeConnection:
        who = require(info, *SUPERVISION_READERS)
        size, offset = page_size(first), decode_offset(after)

        def fetch(s):  # noqa: ANN001, ANN202
            return domain.list_urges(s, who=who, flt=_filter(s, filter), limit=size, offset=offset)
        rows, more = await info.context.run(fetch)
        edges = [Edge(cursor=offset_cursor(offset + i), node=UrgeNode.from_row(r)) for i, r in enumerate(rows)]
        return UrgeConnection(edges=edges, page_info=_page_info(edges, offset, more))

    @strawberry.field(description="按编号查询督办单；范围外的与不存在的同样返回空")
    async def supervision_order(self, info: Info, number: str) -> OrderNode | None:
        who = require(info, *SUPERVISION_READERS)

        def fetch(s):  # noqa: ANN001, ANN202
            return s.scalars(select(domain.SupervisionOrder).where(
                domain.SupervisionOrder.number == number,
                domain.scope_condition(domain.SupervisionOrder, who))).first()
        row = await info.context.run(fetch)
        return OrderNode.from_row(row) if row else None

    @strawberry.field(description="自动规则（监察人员、中心管理员）")
    async def supervision_rules(self, info: Info, include_disabled: bool = False) -> list[RuleNode]:
        who = require(info, *ISSUERS)

        def fetch(s):  # noqa: ANN001, ANN202
            query = select(RuleRow).order_by(RuleRow.created_at)
            if not include_disabled:
                query = query.where(RuleRow.enabled)
            if who.role is Role.CENTER_ADMIN:
                query = query.where((RuleRow.center_id == who.center_id) | RuleRow.center_id.is_(None))
            return list(s.scalars(query))
        return [RuleNode.from_row(r) for r in await info.context.run(fetch)]


async def _write(info: Info, change: Any) -> Any:
    """Run ``change(tx, who)`` in one transaction as the signed-in viewer."""
    who = viewer(info)   # its role passed the duty matrix (api/schema/duties.py)

    def run() -> Any:
        with transaction(info.context.engine, actor=who.actor) as tx:
            return change(tx, who)
    return await info.context.call(run)


@strawberry.type
class SupervisionMutation:
    @strawberry.mutation(description="催办（办件、环节、窗口、部门或招投标阶段）；已结束的办件不能催办")
    async def urge(self, info: Info, input: Annotated[UrgeInput, strawberry.argument(name="input")]) -> UrgeNode:
        row = await _write(info, lambda tx, who: domain.create_urge(
            tx, target=_target(input), message=input.message, by=who, reply_days=input.reply_days))
        return UrgeNode.from_row(row)

    @strawberry.mutation(description="催办反馈（被催办人或其部门领导）")
    async def reply_to_urge(self, info: Info,
                            input: Annotated[UrgeReplyInput, strawberry.argument(name="input")]) -> UrgeNode:
        row = await _write(info, lambda tx, who: domain.reply_to_urge(
            tx, urge_id=_by_number(tx.session, domain.Urge, input.urge_id, input.urge_number), reply=input.reply,
            by=who, finish_by=input.finish_by))
        return UrgeNode.from_row(row)

    @strawberry.mutation(description="督办：限期反馈（工作日），短信并语音通知；逾期未反馈逐级升级")
    async def issue_supervision_order(self, info: Info, input: Annotated[
            SupervisionOrderInput, strawberry.argument(name="input")]) -> OrderNode:
        row = await _write(info, lambda tx, who: domain.issue_order(
            tx, target=_target(input), message=input.message, by=who, reply_days=input.reply_days))
        return OrderNode.from_row(row)

    @strawberry.mutation(description="督办反馈：只限被督办人（或其部门领导；升级到中心后为中心管理员）")
    async def reply_to_order(self, info: Info,
                             input: Annotated[OrderReplyInput, strawberry.argument(name="input")]) -> OrderNode:
        row = await _write(info, lambda tx, who: domain.reply_to_order(
            tx, order_id=_by_number(tx.session, domain.SupervisionOrder, input.order_id, input.order_number),
            reply=input.reply, by=who, finish_by=input.finish_by))
        return OrderNode.from_row(row)

    @strawberry.mutation(description="新建自动规则")
    async def create_supervision_rule(self, info: Info, input: Annotated[
            SupervisionRuleInput, strawberry.argument(name="input")]) -> RuleNode:
        row = await _write(info, lambda tx, who: domain.create_rule(tx, spec=input.to_spec(), by=who))
        return RuleNode.from_row(row)

    @strawberry.mutation(description="修改自动规则（enabled 可启用或停用）")
    async def update_supervision_rule(self, info: Info, id: strawberry.ID, input: Annotated[
            SupervisionRuleInput, strawberry.argument(name="input")], enabled: bool | None = None) -> RuleNode:
        row = await _write(info, lambda tx, who: domain.update_rule(
            tx, rule_id=parse_id(id), spec=input.to_spec(), by=who, enabled=enabled))
        return RuleNode.from_row(row)

    @strawberry.mutation(description="停用自动规则")
    async def disable_supervision_rule(self, info: Info, id: strawberry.ID) -> RuleNode:
        row = await _write(info, lambda tx, who: domain.disable_rule(tx, rule_id=parse_id(id), by=who))
        return RuleNode.from_row(row)


# ----------------------------------------------------------------------------- live

@strawberry.type(description="催办、督办的实时消息")
class SupervisionEvent:
    ledger_id: int
    cursor: str
    kind: str = strawberry.field(description="urge.created / urge.replied / order.issued / order.replied / order.escalated")
    number: str = strawberry.field(description="催办单或督办单编号")
    case_number: str | None
    target: str
    message: str
    level: int | None
    due_at: datetime | None
    center_id: strawberry.ID
    department_id: strawberry.ID
    window_id: strawberry.ID | None


def may_hear(who: Viewer, message: dict[str, Any]) -> bool:
    """Who hears a supervision message: supervisors all; a center admin their center; a department
    (leader or system) theirs; window staff what was sent to them or their window."""
    if who.role is Role.SUPERVISOR:
        return True
    if who.role is Role.WINDOW_STAFF and who.staff_id is not None and str(who.staff_id) in message.get("staff_ids", []):
        return True
    unit = scope_unit(who)   # the same units as the SQL scopes (access.unit_scope)
    return unit is not None and unit[1] is not None and message.get(unit[0]) == str(unit[1])


def _event(message: dict[str, Any]) -> SupervisionEvent:
    due = message.get("due_at")
    return SupervisionEvent(
        ledger_id=int(message["ledger_id"]), cursor=str(message["ledger_id"]), kind=message["kind"],
        number=message["number"], case_number=message.get("case_number"), target=message.get("target") or "",
        message=message.get("message") or "", level=message.get("level"),
        due_at=datetime.fromisoformat(due) if isinstance(due, str) else due,
        center_id=strawberry.ID(message["center_id"]), department_id=strawberry.ID(message["department_id"]),
        window_id=strawberry.ID(message["window_id"]) if message.get("window_id") else None)


_LIVE_KINDS = ("urge.created", "urge.replied", "order.issued", "order.replied", "order.escalated")


def replay_messages(session: Any, after: int, limit: int = 500) -> list[dict[str, Any]]:
    """The supervision messages recorded after ledger id ``after``, as the channel carried them."""
    from esupervision.models.ledger.ledger import LedgerEvent
    events = list(session.scalars(select(LedgerEvent).where(LedgerEvent.id > after, LedgerEvent.kind.in_(_LIVE_KINDS))
                                  .order_by(LedgerEvent.id).limit(limit)))
    rows: dict[uuid.UUID, Any] = {}
    for model in (domain.Urge, domain.SupervisionOrder):
        ids = [e.subject_id for e in events if e.subject_type == ("urge" if model is domain.Urge else "order")]
        if ids:
            rows.update((r.id, r) for r in session.scalars(select(model).where(model.id.in_(ids))))
    messages = []
    for event in events:
        row = rows.get(event.subject_id)
        if row is None:
            continue
        data = event.data
        due = data.get("due_at") or data.get("reply_due_at")
        messages.append({"kind": event.kind, "id": str(row.id), "number": row.number, "ledger_id": event.id,
                         "case_number": data.get("case_number"), "center_id": str(row.center_id),
                         "department_id": str(row.department_id),
                         "window_id": str(row.window_id) if row.window_id else None,
                         "staff_ids": list(row.addressee_ids), "target": row.target_label, "message": row.message,
                         "level": data.get("level"), "due_at": due})
    return messages


@strawberry.type
class SupervisionSubscription:
    @strawberry.subscription(description="催办、督办、反馈和升级的实时消息（after：先补发该账本编号之后的记录），"
                                         "按角色限定：窗口人员只收到发给本人或本窗口的")
    async def supervision_events(self, info: Info, after: str | None = None) -> AsyncGenerator[SupervisionEvent, None]:
        from esupervision.api.schema.feeds import Delivered, parse_cursor
        from esupervision.workers import runtime
        who = require(info, *SUPERVISION_READERS)
        after_id = parse_cursor(after)
        sent = Delivered()
        with runtime.fanout().listen({domain.TOPIC}) as feed:
            last = after_id
            while last is not None:
                page = await info.context.run(lambda s: replay_messages(s, last))
                if not page:
                    break
                for message in page:
                    if may_hear(who, message):
                        sent.add(message["ledger_id"])
                        yield _event(message)
                last = page[-1]["ledger_id"]
            while True:
                batch, _lost = await feed.next_batch()
                for _, message in batch:
                    ledger_id = message.get("ledger_id")
                    if ledger_id is None or ledger_id in sent or (after_id is not None and ledger_id <= after_id):
                        continue
                    if may_hear(who, message):
                        sent.add(ledger_id)
                        yield _event(message)
