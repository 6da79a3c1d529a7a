"""Complaints and consultations in GraphQL: filing (applicants and the public), assignment by the
supervision office or a center, the department's answer, and the list with filters and lights,
scoped by role. ``Case.complaints`` lists a case's own."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from esupervision.api.privacy import reveal
from esupervision.api.schema.catalogue.catalogue import Center, Department, department_of
from esupervision.api.schema.common import (Edge, Light, Outcome, PageInfo, decode_offset, enum_value, offset_cursor,
                                            page_size, parse_id, require, viewer)
from esupervision.models.public import complaint as domain
from esupervision.models.access.scope import Role
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import light_at
from esupervision.models.ledger.transaction import transaction

ComplaintKind = strawberry.enum(domain.ComplaintKind, name="ComplaintKind", description="投诉 / 咨询")
ComplaintStatus = strawberry.enum(domain.ComplaintStatus, name="ComplaintStatus",
                                  description="待分派 / 办理中 / 已答复")

READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF,
           Role.DEPARTMENT_SYSTEM, Role.APPLICANT)


@strawberry.enum(description="投诉咨询的灯色（未答复的）")
class ComplaintLight(Enum):
    WHITE = "white"
    YELLOW = "yellow"
    RED = "red"


@strawberry.type(name="Complaint", description="投诉或咨询")
class ComplaintNode:
    id: strawberry.ID
    number: str
    kind: ComplaintKind
    kind_label: str
    channel: str = strawberry.field(description="online 网上 / sms 短信")
    status: ComplaintStatus
    status_label: str
    content: str
    complainant_name: str | None
    case_number_given: str | None = strawberry.field(description="提及但未关联的办件编号（非本人办件）")
    filed_at: datetime
    assigned_at: datetime | None
    due_at: datetime | None = strawberry.field(description="答复期限")
    answered_at: datetime | None
    answer: str | None
    row: strawberry.Private[domain.Complaint]

    @classmethod
    def from_row(cls, row: domain.Complaint) -> "ComplaintNode":
        kind, status = domain.ComplaintKind(row.kind), domain.ComplaintStatus(row.status)
        return cls(id=strawberry.ID(str(row.id)), number=row.number, kind=kind, kind_label=domain.KIND_LABELS[kind],
                   channel=row.channel, status=status, status_label=domain.STATUS_LABELS[status],
                   content=row.content, complainant_name=row.complainant_name,
                   case_number_given=row.case_number_given, filed_at=row.filed_at, assigned_at=row.assigned_at,
                   due_at=row.due_at, answered_at=row.answered_at, answer=row.answer, row=row)

    @strawberry.field(description="投诉人电话（按角色脱敏）")
    def complainant_phone(self, info: Info) -> str | None:
        return reveal(info, subject_type="complaint", subject_id=self.row.id, field="complainant_phone",
                      value=self.row.complainant_phone, owner_phone=self.row.complainant_phone)

    async def _clock(self, info: Info) -> Clock | None:
        return await info.context.loaders.clock.load(self.row.clock_id) if self.row.clock_id else None

    @strawberry.field(description="当前灯色（已答复的为答复时的灯色）")
    async def light(self, info: Info) -> Light | None:
        clock = await self._clock(info)
        return Light(light_at(clock, info.context.now).light.value) if clock else None

    @strawberry.field(description="答复情况：按时 / 超期（未答复为空）")
    async def outcome(self, info: Info) -> Outcome | None:
        clock = await self._clock(info)
        return Outcome(clock.outcome) if clock and clock.outcome else None

    @strawberry.field
    async def center(self, info: Info) -> Center:
        return Center.from_row(await info.context.loaders.center.load(self.row.center_id))

    @strawberry.field(description="承办部门")
    async def department(self, info: Info) -> Department | None:
        if self.row.department_id is None:
            return None
        return await department_of(info, self.row.department_id)

    @strawberry.field(description="关联办件（无权查看的为空）")
    async def case_number(self, info: Info) -> str | None:
        if self.row.case_id is None:
            return None
        context = info.context
        loader = getattr(context, "complaint_case_numbers", None)
        if loader is None:
            loader = context.complaint_case_numbers = _case_numbers(context, viewer(info))
        return await loader.load(self.row.case_id)


def _case_numbers(context: Any, who: Any) -> DataLoader[uuid.UUID, str | None]:
    """Numbers of the cases a page of complaints names, those the viewer may read (one query)."""
    from esupervision.models.access.scope import case_scope
    from esupervision.models.cases.case import Case

    async def load(ids: Sequence[uuid.UUID]) -> list[str | None]:
        found = dict(await context.run(lambda s: s.execute(select(Case.id, Case.number).where(
            Case.id.in_(list(ids)), case_scope(who))).all()))  # type: ignore[attr-defined]
        return [found.get(i) for i in ids]
    return DataLoader(load_fn=load)


@strawberry.type
class ComplaintConnection:
    total_count: int
    edges: list[Edge[ComplaintNode]]
    page_info: PageInfo


@strawberry.input(description="投诉咨询筛选")
class ComplaintFilter:
    kinds: list[ComplaintKind] | None = None
    statuses: list[ComplaintStatus] | None = None
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    case_number: str | None = None
    lights: list[ComplaintLight] | None = strawberry.field(default=None, description="未答复的按灯色")
    overdue: bool | None = strawberry.field(default=None, description="超期答复或逾期未答复")
    filed_from: datetime | None = None
    filed_to: datetime | None = None



def _filter(flt: ComplaintFilter, case_id: uuid.UUID | None) -> domain.ComplaintFilter:
    def ids(values: list[strawberry.ID] | None) -> list[uuid.UUID] | None:
        return None if values is None else [parse_id(v) for v in values]
    for instant in (flt.filed_from, flt.filed_to):
        if instant is not None and instant.tzinfo is None:
            raise DomainError(ErrorCode.BAD_INPUT, "时间须带时区 instants need a UTC offset")
    if flt.filed_from and flt.filed_to and flt.filed_to <= flt.filed_from:
        raise DomainError(ErrorCode.INVALID_PERIOD, "筛选期间的结束早于开始 period ends before it starts")
    return domain.ComplaintFilter(
        kinds=[enum_value(k) for k in flt.kinds] if flt.kinds is not None else None,
        statuses=[enum_value(s) for s in flt.statuses] if flt.statuses is not None else None,
        center_ids=ids(flt.center_ids), department_ids=ids(flt.department_ids), case_id=case_id,
        lights=[enum_value(light) for light in flt.lights] if flt.lights else None, overdue=flt.overdue,
        filed_from=flt.filed_from, filed_to=flt.filed_to)


@strawberry.type
class ComplaintQuery:
    @strawberry.field(description="投诉咨询列表（按角色限定范围：监察全部、中心本中心、部门本部门、投诉人本人；最新在前）")
    async def complaints(self, info: Info, filter: ComplaintFilter | None = None, first: int | None = None,
                         after: str | None = None) -> ComplaintConnection:
        who = require(info, *READERS)
        size, offset = page_size(first), decode_offset(after)
        flt = filter or ComplaintFilter()
        now = info.context.now

        def fetch(session: Any) -> tuple[list[domain.Complaint], int]:
            case_id = None
            if flt.case_number:
                from esupervision.models.cases.case import Case
                case_id = session.scalar(select(Case.id).where(Case.number == flt.case_number.strip().upper())) \
                    or uuid.UUID(int=0)
            return domain.search_complaints(session, viewer=who, flt=_filter(flt, case_id), now=now,
                                            first=size + 1, offset=offset)
        rows, total = await info.context.run(fetch)
        edges = [Edge(cursor=offset_cursor(offset + i), node=ComplaintNode.from_row(r))
                 for i, r in enumerate(rows[:size])]
        return ComplaintConnection(total_count=total, edges=edges, page_info=PageInfo(
            has_next_page=len(rows) > size, has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="按编号查询投诉咨询；无权查看的与不存在的同样返回空")
    async def complaint(self, info: Info, number: str) -> ComplaintNode | None:
        who = require(info, *READERS)
        row = await info.context.run(lambda s: domain.get_complaint(s, viewer=who, number=number))
        return ComplaintNode.from_row(row) if row else None


@strawberry.input(description="投诉或咨询：申请人登录后提交（答复发至登录手机），公众须留电话")
class SubmitComplaintInput:
    kind: ComplaintKind
    content: str
    phone: str | None = strawberry.field(default=None, description="联系电话（公众必填，申请人用登录手机）")
    name: str | None = None
    case_number: str | None = strawberry.field(default=None, description="所涉办件编号（本人办件自动转该部门）")
    center_code: str | None = strawberry.field(default=None, description="受理中心（不填为默认中心）")


async def _change(info: Info, change: Any) -> ComplaintNode:
    who = viewer(info)   # its role passed the duty matrix (api/schema/duties.py)

    def run() -> domain.Complaint:
        with transaction(info.context.engine, actor=who.actor) as tx:
            return change(tx, who)
    return ComplaintNode.from_row(await info.context.call(run))


@strawberry.type
class ComplaintMutation:
    @strawberry.mutation(description="提交投诉或咨询（开始答复计时；答复以短信发送）")
    async def submit_complaint(self, info: Info,
                               input: Annotated[SubmitComplaintInput, strawberry.argument(name="input")]) -> ComplaintNode:
        return await _change(info, lambda tx, who: domain.file_complaint(
            tx, filer=who, kind=domain.ComplaintKind(enum_value(input.kind)), content=input.content,
            phone=input.phone, name=input.name, case_number=input.case_number,
            center_code=input.center_code, channel="online"))

    @strawberry.mutation(description="分派投诉咨询到部门（监察、中心管理）")
    async def assign_complaint(self, info: Info, number: str, department_id: strawberry.ID) -> ComplaintNode:
        department = parse_id(department_id)
        return await _change(info, lambda tx, who: domain.assign_complaint(
            tx, viewer=who, number=number, department_id=department))

    @strawberry.mutation(description="答复投诉咨询（停止计时，答复以短信发给投诉人）")
    async def answer_complaint(self, info: Info, number: str, answer: str) -> ComplaintNode:
        return await _change(info, lambda tx, who: domain.answer_complaint(
            tx, viewer=who, number=number, answer=answer))


# ----------------------------------------------------------------------------- Case.complaints

def _case_loader(context: Any) -> DataLoader[uuid.UUID, list[domain.Complaint]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[domain.Complaint]]:
        def fetch(session: Any) -> dict[uuid.UUID, list[domain.Complaint]]:
            groups: dict[uuid.UUID, list[domain.Complaint]] = defaultdict(list)
            for row in session.scalars(select(domain.Complaint).where(domain.Complaint.case_id.in_(list(ids)))  # type: ignore[union-attr]
                                       .order_by(domain.Complaint.filed_at, domain.Complaint.id)):
                groups[row.case_id].append(row)
            return groups
        found = await context.run(fetch)
        return [found.get(i, []) for i in ids]
    return DataLoader(load_fn=load)


async def case_complaints(info: Info, case_id: uuid.UUID) -> list[ComplaintNode]:
    """The complaints tied to a case the viewer can read; one query for every case of a page."""
    context = info.context
    loader = getattr(context, "complaint_loader", None)
    if loader is None:
        loader = context.complaint_loader = _case_loader(context)
    return [ComplaintNode.from_row(row) for row in await loader.load(case_id)]

