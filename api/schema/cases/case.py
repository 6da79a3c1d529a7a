"""Cases in GraphQL: the case, its steps, clocks, lights and history; the list with filters; every
transition as a mutation; and ``reportCaseEvents`` for department business systems."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from esupervision.api.privacy import reveal
from esupervision.api.schema.catalogue.catalogue import Center, Department, Item, Staff, Window, department_of, window_of
from esupervision.api.schema.cases.notice import Notice, case_notices
from esupervision.api.schema.clocks import ClockInfo
from esupervision.api.schema.public.complaint import ComplaintNode, case_complaints
from esupervision.api.schema.public.evaluation import EvaluationNode, case_evaluation
from esupervision.api.schema.common import (CaseStatus, Edge, Light, PageInfo, built_from_coerced_values,
                                            enum_value, page_size, parse_id, require, viewer)
from esupervision.models.cases import case as domain
from esupervision.models.access.scope import Role, case_not_found, may_change_case
from esupervision.models.cases.query import CaseFilter as DomainFilter
from esupervision.models.cases.query import case_history, encode_cursor, get_case, search_cases
from esupervision.models.cases.casework import handle, ingest
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import Light as DomainLight
from esupervision.models.clocks.light import light_at
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.cases.report_scope import refuse_outside_department
from esupervision.models.catalogue.catalogue import Window as WindowRow
from esupervision.models.ledger.transaction import transaction

SuspendKind = strawberry.enum(domain.SuspendKind, name="SuspendKind",
                              description="不计时的特别程序（行政许可法第四十五条）")
ActionEnum = strawberry.enum(CaseAction, name="CaseAction", description="办件事件")


@strawberry.enum(description="办结结果：准予 / 不予")
class CaseResult(Enum):
    APPROVED = "approved"
    DENIED = "denied"


@strawberry.enum(description="筛选用的灯色，PAUSED 为暂停计时中")
class LightFilter(Enum):
    WHITE = "white"
    YELLOW = "yellow"
    RED = "red"
    PAUSED = "paused"


@strawberry.type(description="办理环节")
class Step:
    seq: int
    name: str
    status: str
    limit_days: int
    started_at: datetime
    finished_at: datetime | None
    row: strawberry.Private[domain.Step]

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.row.department_id)

    @strawberry.field
    async def clock(self, info: Info) -> ClockInfo | None:
        clock = await info.context.loaders.clock.load(self.row.clock_id) if self.row.clock_id else None
        return ClockInfo.from_row(clock, info.context.now) if clock else None

    @strawberry.field
    async def staff(self, info: Info) -> Staff | None:
        staff = await info.context.loaders.staff.load(self.row.staff_id) if self.row.staff_id else None
        return Staff.from_row(staff) if staff else None


@strawberry.type(description="账本中的一条事件")
class LedgerEntry:
    id: int
    seq: int
    kind: str
    occurred_at: datetime = strawberry.field(description="报送方声称的发生时间")
    recorded_at: datetime = strawberry.field(description="系统记录时间")
    lag_seconds: float = strawberry.field(description="记录时间与发生时间之差（秒）；大者为迟报、补录")
    late: bool
    actor: str | None
    source: str | None
    data: JSON


@strawberry.federation.type(name="Case", keys=["id", "number"], description="办件")
class CaseNode:
    id: strawberry.ID
    number: str
    status: CaseStatus
    status_label: str
    result: str | None
    reason: str | None
    channel: str
    applicant_name: str | None
    submitted_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    deemed_accepted: bool = strawberry.field(description="网上申报五日内未答复，依法视为受理")
    reported_late: bool
    extension_days: int
    extension_approved_by: str | None
    row: strawberry.Private[domain.Case]

    @classmethod
    def from_row(cls, row: domain.Case) -> "CaseNode":
        status = domain.CaseStatus(row.status)
        return cls(id=strawberry.ID(str(row.id)), number=row.number, status=status,
                   status_label=domain.STATUS_LABELS[status], result=row.result, reason=row.reason,
                   channel=row.channel, applicant_name=row.applicant_name, submitted_at=row.submitted_at,
                   accepted_at=row.accepted_at, completed_at=row.completed_at,
                   deemed_accepted=row.deemed_accepted, reported_late=row.reported_late,
                   extension_days=row.extension_days, extension_approved_by=row.extension_approved_by, row=row)

    @strawberry.field(description="申请人手机号（按角色脱敏）")
    def applicant_phone(self, info: Info) -> str | None:
        return reveal(info, subject_type="case", subject_id=self.row.id, field="applicant_phone",
                      value=self.row.applicant_phone, owner_phone=self.row.applicant_phone)

    @strawberry.field(description="申请人证件号（按角色脱敏）")
    def applicant_id_number(self, info: Info) -> str | None:
        return reveal(info, subject_type="case", subject_id=self.row.id, field="applicant_id_number",
                      value=self.row.applicant_id_number, owner_phone=self.row.applicant_phone)

    @strawberry.field
    async def center(self, info: Info) -> Center:
        return Center.from_row(await info.context.loaders.center.load(self.row.center_id))

    @strawberry.field
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.row.department_id)

    @strawberry.field
    async def window(self, info: Info) -> Window | None:
        return await window_of(info, self.row.window_id)

    @strawberry.field
    async def staff(self, info: Info) -> Staff | None:
        row = await info.context.loaders.staff.load(self.row.staff_id) if self.row.staff_id else None
        return Staff.from_row(row) if row else None

    @strawberry.field
    async def item(self, info: Info) -> Item:
        return Item.from_row(await info.context.loaders.item.load(self.row.item_id))

    async def _clock(self, info: Info) -> Clock | None:
        clock_id = self.row.clock_id or self.row.acceptance_clock_id
        return await info.context.loaders.clock.load(clock_id) if clock_id else None

    @strawberry.field(description="办件计时（受理前为网上申报的受理期限）")
    async def clock(self, info: Info) -> ClockInfo | None:
        clock = await self._clock(info)
        return ClockInfo.from_row(clock, info.context.now) if clock else None

    @strawberry.field(description="关于本办件发出的短信和语音通知（号码脱敏）")
    async def notices(self, info: Info) -> list[Notice]:
        return await case_notices(info, self.row.id)

    @strawberry.field(description="催办记录（工作人员可见）")
    async def urges(self, info: Info) -> list[Annotated["UrgeNode", strawberry.lazy("esupervision.api.schema.supervision.orders")]]:
        from esupervision.api.schema.supervision.orders import case_urges
        return await case_urges(info, self.row.id)

    @strawberry.field(description="督办记录：反馈、升级层级、灯色、期限（工作人员可见）")
    async def orders(self, info: Info) -> list[Annotated["OrderNode", strawberry.lazy("esupervision.api.schema.supervision.orders")]]:
        from esupervision.api.schema.supervision.orders import case_orders
        return await case_orders(info, self.row.id)

    @strawberry.field(description="全程监督：按时间排列的环节、暂停、催办、督办、反馈、通知等（工作人员可见）")
    async def timeline(self, info: Info) -> list[Annotated["TimelineEntryNode", strawberry.lazy("esupervision.api.schema.supervision.orders")]]:
        from esupervision.api.schema.supervision.orders import case_timeline_entries
        return await case_timeline_entries(info, self.row)

    @strawberry.field(description="好差评（办结后申请人的评价）")
    async def evaluation(self, info: Info) -> EvaluationNode | None:
        return await case_evaluation(info, self.row.id)

    @strawberry.field(description="关于本办件的投诉和咨询")
    async def complaints(self, info: Info) -> list[ComplaintNode]:
        return await case_complaints(info, self.row.id)

    @strawberry.field(description="本办件的差错（按角色限定范围；窗口人员仅见本人的）")
    async def faults(self, info: Info) -> list[Annotated["FaultNode", strawberry.lazy("esupervision.api.schema.supervision.accountability")]]:
        from esupervision.api.schema.supervision.accountability import case_faults
        return await case_faults(info, self.row.id)

    @strawberry.field(description="当前灯色")
    async def light(self, info: Info) -> Light | None:
        clock = await self._clock(info)
        return Light(light_at(clock, info.context.now).light.value) if clock else None

    @strawberry.field(description="办结期限")
    async def due_at(self, info: Info) -> datetime | None:
        clock = await self._clock(info)
        return clock.due_at if clock else None

    async def _legal_clock(self, info: Info) -> Clock | None:
        clock_id = self.row.legal_clock_id
        return await info.context.loaders.clock.load(clock_id) if clock_id else None

    @strawberry.field(description="法定时限计时（受理起按事项法定时限计，补正、特别程序暂停，批准延期顺延；受理前为空）")
    async def legal_clock(self, info: Info) -> ClockInfo | None:
        clock = await self._legal_clock(info)
        return ClockInfo.from_row(clock, info.context.now) if clock else None

    @strawberry.field(description="法定期限（行政许可法第四十二条，含批准的延期）")
    async def legal_due_at(self, info: Info) -> datetime | None:
        clock = await self._legal_clock(info)
        return clock.due_at if clock else None

    @strawberry.field(description="已超过法定时限（办结的按办结时，暂停的按暂停时）")
    async def over_legal_limit(self, info: Info) -> bool:
        clock = await self._legal_clock(info)
        return clock is not None and light_at(clock, info.context.now).light is DomainLight.RED

    @strawberry.field(description="全部环节")
    async def steps(self, info: Info) -> list[Step]:
        return [_step(s) for s in await info.context.loaders.steps.load(self.row.id)]

    @strawberry.field(description="在办环节")
    async def running_steps(self, info: Info) -> list[Step]:
        return [_step(s) for s in await info.context.loaders.running_steps.load(self.row.id)]

    @strawberry.field(description="账本中的全过程记录")
    async def history(self, info: Info) -> list[LedgerEntry]:
        events = await info.context.run(lambda s: case_history(s, self.row.id))
        return [LedgerEntry(id=e.id, seq=e.seq, kind=e.kind, occurred_at=e.occurred_at, recorded_at=e.recorded_at,
                            lag_seconds=(e.recorded_at - e.occurred_at).total_seconds(), late=e.late,
                            actor=e.actor, source=e.source, data=e.data) for e in events]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID | None = None,
                                number: str | None = None) -> "CaseNode | None":
        who = viewer(info)

        def fetch(s):  # noqa: ANN001, ANN202
            from sqlalchemy import select

            from esupervision.models.access.scope import case_scope
            query = select(domain.Case).where(case_scope(who))
            query = query.where(domain.Case.number == number) if number else query.where(
                domain.Case.id == parse_id(id))
            return s.scalars(query).first()
        row = await info.context.run(fetch)
        return cls.from_row(row) if row else None


def _selects(info: Info, name: str) -> bool:
    """Whether the query asks this field's result for ``name`` (through fragments too)."""
    def search(selections: list[Any]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif search(selection.selections):   # a fragment spread or inline fragment
                return True
        return False
    return any(search(field.selections) for field in info.selected_fields)


def _step(row: domain.Step) -> Step:
    return Step(seq=row.seq, name=row.name, status=row.status, limit_days=row.limit_days,
                started_at=row.started_at, finished_at=row.finished_at, row=row)



@strawberry.type
class CaseConnection:
    total_count: int
    edges: list[Edge[CaseNode]]
    page_info: PageInfo

    @classmethod
    def of(cls, edges: list[Any], *, total: int, has_next: bool, has_previous: bool) -> "CaseConnection":
        return cls(total_count=total, edges=edges, page_info=PageInfo(
            has_next_page=has_next, has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))


@strawberry.input(description="办件筛选")
class CaseFilter:
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    window_ids: list[strawberry.ID] | None = None
    staff_ids: list[strawberry.ID] | None = None
    item_ids: list[strawberry.ID] | None = None
    statuses: list[CaseStatus] | None = None
    lights: list[LightFilter] | None = None
    channel: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    completed_from: datetime | None = None
    completed_to: datetime | None = None
    reported_late: bool | None = None
    over_legal_limit: bool | None = strawberry.field(
        default=None, description="已超过法定时限（同 Case.overLegalLimit；总览的“超法定时限”为其中在办的）")
    text: str | None = strawberry.field(default=None, description="办件编号前缀或申请人姓名")

    def to_domain(self) -> DomainFilter:
        def ids(values: list[strawberry.ID] | None) -> list[uuid.UUID] | None:
            return None if values is None else [parse_id(v) for v in values]
        return DomainFilter(
            center_ids=ids(self.center_ids), department_ids=ids(self.department_ids),
            window_ids=ids(self.window_ids), staff_ids=ids(self.staff_ids), item_ids=ids(self.item_ids),
            statuses=[domain.CaseStatus(enum_value(s)) for s in self.statuses] if self.statuses is not None else None,
            lights=[enum_value(light) for light in self.lights] if self.lights is not None else None,
            channel=self.channel, accepted_from=self.accepted_from, accepted_to=self.accepted_to,
            due_from=self.due_from, due_to=self.due_to, completed_from=self.completed_from,
            completed_to=self.completed_to, reported_late=self.reported_late,
            over_legal_limit=self.over_legal_limit, text=self.text)


READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF,
           Role.DEPARTMENT_SYSTEM, Role.APPLICANT)


@strawberry.type
class CaseQuery:
    @strawberry.field(description="办件列表（按角色限定范围，最新在前）")
    async def cases(self, info: Info, filter: CaseFilter | None = None, first: int | None = None,
                    after: str | None = None) -> CaseConnection:
        who = require(info, *READERS)
        size = page_size(first)
        flt = (filter or CaseFilter()).to_domain()
        count = _selects(info, "totalCount")
        page = await info.context.run(lambda s: search_cases(s, viewer=who, flt=flt, first=size, after=after,
                                                             now=info.context.now, count=count))
        edges = [Edge(cursor=encode_cursor(c.id), node=CaseNode.from_row(c)) for c in page.cases]
        # A total nobody asked for is not counted, and never sent.
        return CaseConnection.of(edges, total=page.total or 0, has_next=page.has_next,
                                 has_previous=page.has_previous)

    @strawberry.field(description="按办件编号查询；无权查看的与不存在的同样返回空")
    async def case(self, info: Info, number: str) -> CaseNode | None:
        who = require(info, *READERS)
        row = await info.context.run(lambda s: get_case(s, viewer=who, number=number))
        return CaseNode.from_row(row) if row else None


# ----------------------------------------------------------------------------- mutations

# Events that make a new case when its number is not taken yet.
CREATES = frozenset({CaseAction.SUBMIT, CaseAction.ACCEPT})


async def _transition(info: Info, number: str, action: CaseAction, *, attributes: dict[str, Any] | None = None,
                      occurred_at: datetime | None = None, client_event_id: str | None = None,
                      **fields: Any) -> CaseNode:
    """One transition by a person (or a system) through ``handle``; answers the case after it."""
    who = viewer(info)   # its role passed the duty matrix (api/schema/duties.py)
    now = info.context.now
    event = ReportedEvent(source_event_id=client_event_id or f"api:{uuid.uuid4()}", case_number=number,
                          action=action, occurred_at=occurred_at or now, attributes=attributes or {}, **fields)

    def run() -> domain.Case | None:
        with transaction(info.context.engine, actor=who.actor) as tx:
            # Staff change only the cases they read (decisions 9 and 11): one scope, case_scope,
            # checked before the change and on its result, inside this transaction; every refusal
            # is the same "no such case", so none tells whether the case exists.
            if not may_change_case(tx.session, who, number, creates=action in CREATES):
                raise case_not_found(number)
            handle(tx, _at_own_window(tx.session, who, event), source=f"api:{who.actor}")
            tx.flush()
            if not may_change_case(tx.session, who, number):
                raise case_not_found(number)   # e.g. a new case placed at another window: rolled back
        with transaction(info.context.engine) as tx:
            return get_case(tx.session, viewer=who, number=number)
    row = await info.context.call(run)
    if row is None:   # committed, then moved out of this viewer's scope by someone else meanwhile
        raise case_not_found(number)
    return CaseNode.from_row(row)


def _at_own_window(session: Any, who: Any, event: ReportedEvent) -> ReportedEvent:
    """Window staff accept at their own window unless the event names one."""
    if who.role is not Role.WINDOW_STAFF or event.action is not CaseAction.ACCEPT or event.window_code \
            or who.window_id is None:
        return event
    code = session.scalar(select(WindowRow.code).where(WindowRow.id == who.window_id))
    return dataclasses.replace(event, window_code=code) if code else event


@strawberry.input(description="受理（窗口受理新办件，或受理网上申报）")
class AcceptCaseInput:
    number: str
    center_code: str | None = None
    item_code: str | None = None
    window_code: str | None = None
    staff_code: str | None = None
    applicant_name: str | None = None
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    occurred_at: datetime | None = None
    client_event_id: str | None = strawberry.field(default=None, description="幂等键：重复提交不会重复受理")


@strawberry.input(description="网上申报")
class SubmitCaseInput:
    number: str
    center_code: str
    item_code: str
    applicant_name: str
    applicant_phone: str | None = None
    applicant_id_number: str | None = None
    occurred_at: datetime | None = None
    client_event_id: str | None = None


@strawberry.type
class CaseMutation:
    @strawberry.mutation(description="网上申报（开始五个工作日的受理期限）")
    async def submit_case(self, info: Info, input: Annotated[SubmitCaseInput, strawberry.argument(name="input")]) -> CaseNode:
        return await _transition(info, input.number, CaseAction.SUBMIT, center_code=input.center_code,
                                 item_code=input.item_code, applicant_name=input.applicant_name,
                                 channel="online", occurred_at=input.occurred_at,
                                 client_event_id=input.client_event_id,
                                 attributes={"applicant_phone": input.applicant_phone,
                                             "applicant_id_number": input.applicant_id_number})

    @strawberry.mutation(description="预审")
    async def prereview_case(self, info: Info, number: str, passed: bool, reason: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.PREREVIEW_PASS if passed else CaseAction.PREREVIEW_FAIL,
                                 attributes={"reason": reason})

    @strawberry.mutation(description="受理（开始办件计时）")
    async def accept_case(self, info: Info, input: Annotated[AcceptCaseInput, strawberry.argument(name="input")]) -> CaseNode:
        return await _transition(info, input.number, CaseAction.ACCEPT, center_code=input.center_code,
                                 item_code=input.item_code, window_code=input.window_code,
                                 staff_code=input.staff_code, applicant_name=input.applicant_name,
                                 occurred_at=input.occurred_at, client_event_id=input.client_event_id,
                                 attributes={"applicant_phone": input.applicant_phone,
                                             "applicant_id_number": input.applicant_id_number})

    @strawberry.mutation(description="办结一个在办环节，进入下一环节")
    async def advance_case(self, info: Info, number: str, department_code: str | None = None,
                           step_name: str | None = None, staff_code: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.ADVANCE, department_code=department_code,
                                 step_name=step_name, staff_code=staff_code)

    @strawberry.mutation(description="补正告知（暂停计时）：须一次性列明需要补正的全部材料和原因（行政许可法第三十二条），"
                                     "缺一则拒绝（SUPPLEMENT_INCOMPLETE）")
    async def request_supplement(
            self, info: Info, number: str, reason: str | None = None,
            missing_materials: Annotated[list[str] | None, strawberry.argument(
                description="需要补正的全部材料：事项目录中的材料名称，或自由文字")] = None) -> CaseNode:
        return await _transition(info, number, CaseAction.REQUEST_SUPPLEMENT,
                                 attributes={"reason": reason, "missing_materials": missing_materials})

    @strawberry.mutation(description="补正材料收到（恢复计时）")
    async def receive_supplement(self, info: Info, number: str) -> CaseNode:
        return await _transition(info, number, CaseAction.SUPPLEMENT_RECEIVED)

    @strawberry.mutation(description="进入特别程序（暂停计时）")
    async def suspend_case(self, info: Info, number: str, kind: SuspendKind, reason: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.SUSPEND,
                                 attributes={"kind": enum_value(kind), "reason": reason})

    @strawberry.mutation(description="特别程序结束（恢复计时）")
    async def resume_case(self, info: Info, number: str) -> CaseNode:
        return await _transition(info, number, CaseAction.RESUME)

    @strawberry.mutation(description="延期（须负责人批准，法定只可一次）")
    async def extend_case(self, info: Info, number: str, days: int, approved_by: str,
                          reason: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.EXTEND,
                                 attributes={"days": days, "approved_by": approved_by, "reason": reason})

    @strawberry.mutation(description="办结（准予或不予）")
    async def complete_case(self, info: Info, number: str, result: CaseResult,
                            reason: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.COMPLETE,
                                 attributes={"result": enum_value(result), "reason": reason})

    @strawberry.mutation(description="退件 / 不予受理")
    async def reject_case(self, info: Info, number: str, reason: str | None = None) -> CaseNode:
        return await _transition(info, number, CaseAction.REJECT, attributes={"reason": reason})

    @strawberry.mutation(description="撤回")
    async def withdraw_case(self, info: Info, number: str) -> CaseNode:
        return await _transition(info, number, CaseAction.WITHDRAW)

    @strawberry.mutation(description="部门业务系统报送办件事件（API 密钥）；按事件逐条返回结果，按来源事件编号幂等")
    async def report_case_events(self, info: Info, events: list["ReportedEventInput"]) -> list["EventResult"]:
        who = viewer(info)   # a department system (the duty matrix, api/schema/duties.py)
        if len(events) > 1000:
            raise DomainError(ErrorCode.BAD_INPUT, "每批最多 1000 条事件 at most 1000 events a batch")
        reported = [e.to_domain() for e in events]
        source = f"dept:{who.department_id}"

        def run() -> list[EventResult]:
            with transaction(info.context.engine, actor=who.actor) as tx:
                refusals = refuse_outside_department(tx.session, who, reported)
                allowed = [ev for ev, refusal in zip(reported, refusals) if refusal is None]
                outcomes = ingest(tx, allowed, source=source)
            return event_results(reported, refusals, outcomes)
        return await info.context.call(run)


@built_from_coerced_values   # a batch holds up to 1,000
@strawberry.input(description="报送的一条办件事件")
class ReportedEventInput:
    source_event_id: str = strawberry.field(description="报送系统自己的事件编号（幂等键）")
    case_number: str
    action: ActionEnum
    occurred_at: datetime
    item_code: str | None = None
    center_code: str | None = None
    department_code: str | None = None
    window_code: str | None = None
    staff_code: str | None = None
    applicant_name: str | None = None
    channel: str | None = None
    step_name: str | None = None
    attributes: JSON | None = None

    def to_domain(self) -> ReportedEvent:
        if self.occurred_at.tzinfo is None:
            raise DomainError(ErrorCode.BAD_INPUT, "发生时间须带时区 occurredAt needs a UTC offset",
                              event=self.source_event_id)
        return ReportedEvent(source_event_id=self.source_event_id, case_number=self.case_number,
                             action=CaseAction(enum_value(self.action)), occurred_at=self.occurred_at,
                             item_code=self.item_code, center_code=self.center_code,
                             department_code=self.department_code, window_code=self.window_code,
                             staff_code=self.staff_code, applicant_name=self.applicant_name,
                             channel=self.channel, step_name=self.step_name,
                             attributes=dict(self.attributes or {}))


@strawberry.type(description="一条报送事件的结果")
class EventResult:
    source_event_id: str
    status: str = strawberry.field(description="accepted 已接收 / duplicate 重复（未重复应用）/ refused 拒收")
    ledger_id: int | None = None
    late: bool = False
    code: str | None = None
    message: str | None = None


def event_results(reported: list[Any], refusals: list[DomainError | None], outcomes: list[Any]) -> list[EventResult]:
    """One result per reported event, in the order reported: its refusal if it was refused before
    ingesting, else what ingesting did (``outcomes`` are those of the events not refused, in order)."""
    done = iter(outcomes)
    results = []
    for ev, refusal in zip(reported, refusals, strict=True):
        if refusal is not None:
            results.append(EventResult(source_event_id=ev.source_event_id, status="refused",
                                       code=str(refusal.code), message=refusal.message))
        else:
            o = next(done)
            results.append(EventResult(source_event_id=o.source_event_id, status=o.status,
                                       ledger_id=o.ledger_id, late=o.late, code=o.code, message=o.message))
    return results
