"""Faults (差错), accountability rules and suggestions (效能责任追究) and appeals (申诉) in GraphQL.

Reads are scoped by role: supervisors see everything, a center admin their center, a department
leader their department, window staff their own faults. Supervisors record faults, edit rules
and decide suggestions and appeals; department leaders (and a center's admin) appeal.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from esupervision.api.loaders import rows_by_id, rows_grouped
from esupervision.api.schema.catalogue.catalogue import Department, Staff, Window, window_of
from esupervision.api.schema.common import (Edge, PageInfo, decode_offset, offset_cursor, page_size, parse_id, require,
                                            viewer)
from esupervision.models.supervision import accountability as domain
from esupervision.models.access.scope import Role
from esupervision.models.cases.case import Case
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.ledger.transaction import transaction

FaultStatusEnum = strawberry.enum(domain.FaultStatus, name="FaultStatus", description="差错状态（撤销的不再计入统计）")
FaultCategoryEnum = strawberry.enum(domain.FaultCategory, name="FaultCategory", description="差错类别：时效、程序、作风")
SubjectLevelEnum = strawberry.enum(domain.SubjectLevel, name="AccountabilityLevel", description="追究对象层级")
PeriodEnum = strawberry.enum(domain.Period, name="AccountabilityPeriod", description="统计周期")
SanctionEnum = strawberry.enum(domain.Sanction, name="Sanction", description="处理方式")
SuggestionStatusEnum = strawberry.enum(domain.SuggestionStatus, name="SuggestionStatus", description="建议状态")
SuggestionDecisionEnum = strawberry.enum(domain.SuggestionDecision, name="SuggestionDecision",
                                         description="确认、改变（另选处理方式并说明理由）或不予追究（说明理由）")
AppealStatusEnum = strawberry.enum(domain.AppealStatus, name="AppealStatus", description="申诉状态")
AppealOutcomeEnum = strawberry.enum(domain.AppealOutcome, name="AppealOutcome", description="撤销、退回或提请上级")

READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF)



def _ids(values: Sequence[Any] | None) -> list[uuid.UUID] | None:
    return None if values is None else [parse_id(v) for v in values]


class _Loaders:
    """Per-request loaders: a page of faults or suggestions costs a constant number of queries."""

    def __init__(self, context: Any) -> None:
        async def case_numbers(ids: Sequence[uuid.UUID]) -> list[str | None]:
            found = await context.run(lambda s: dict(s.execute(select(Case.id, Case.number).where(
                Case.id.in_(list(ids)))).all()))
            return [found.get(i) for i in ids]

        async def events(ids: Sequence[int]) -> list[Any]:
            found = await context.run(lambda s: {e.id: e for e in s.scalars(select(LedgerEvent).where(
                LedgerEvent.id.in_(list(ids))))})
            return [found.get(i) for i in ids]

        async def faults(ids: Sequence[uuid.UUID]) -> list[Any]:
            found = await context.run(lambda s: rows_by_id(s, domain.Fault, ids))
            return [found.get(i) for i in ids]

        async def rules(ids: Sequence[uuid.UUID]) -> list[Any]:
            found = await context.run(lambda s: rows_by_id(s, domain.AccountabilityRule, ids))
            return [found.get(i) for i in ids]

        async def case_faults(ids: Sequence[uuid.UUID]) -> list[list[Any]]:
            who = context.viewer
            found = await context.run(lambda s: rows_grouped(s, domain.Fault, "case_id", ids,
                                                             order_by=domain.Fault.occurred_at,
                                                             where=domain.scope(who, domain.Fault)))
            return [found.get(i, []) for i in ids]

        self.case_number: DataLoader[uuid.UUID, str | None] = DataLoader(load_fn=case_numbers)
        self.event: DataLoader[int, Any] = DataLoader(load_fn=events)
        self.fault: DataLoader[uuid.UUID, Any] = DataLoader(load_fn=faults)
        self.rule: DataLoader[uuid.UUID, Any] = DataLoader(load_fn=rules)
        self.case_faults: DataLoader[uuid.UUID, list[Any]] = DataLoader(load_fn=case_faults)


def _loaders(info: Info) -> _Loaders:
    context = info.context
    loaders = getattr(context, "_accountability_loaders", None)
    if loaders is None:
        loaders = context._accountability_loaders = _Loaders(context)
    return loaders


@strawberry.type(description="证据：账本中的一条事件")
class EvidenceEvent:
    id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    actor: str | None
    data: JSON


async def _events(info: Info, ids: Sequence[int]) -> list[EvidenceEvent]:
    rows = await _loaders(info).event.load_many(list(ids))
    return [EvidenceEvent(id=e.id, kind=e.kind, occurred_at=e.occurred_at, recorded_at=e.recorded_at,
                          actor=e.actor, data=e.data) for e in rows if e is not None]


@strawberry.type(name="AccountableUnit", description="责任单位：部门、窗口、工作人员")
class _Owned:
    """Department, window and staff of a row, through the request's catalogue loaders."""

    row: strawberry.Private[Any]

    @strawberry.field
    async def department(self, info: Info) -> Department | None:
        row = await info.context.loaders.department.load(self.row.department_id) if self.row.department_id else None
        return Department.from_row(row) if row else None

    @strawberry.field
    async def window(self, info: Info) -> Window | None:
        return await window_of(info, self.row.window_id)

    @strawberry.field
    async def staff(self, info: Info) -> Staff | None:
        row = await info.context.loaders.staff.load(self.row.staff_id) if self.row.staff_id else None
        return Staff.from_row(row) if row else None


@strawberry.type(name="Fault", description="差错：时效、程序或作风问题，附账本证据")
class FaultNode(_Owned):
    id: strawberry.ID
    kind: str = strawberry.field(description="差错类型代码，见 faultKinds")
    kind_label: str
    category: FaultCategoryEnum  # type: ignore[valid-type]
    source: str = strawberry.field(description="derived 由账本推导 / recorded 监察人员录入")
    status: FaultStatusEnum  # type: ignore[valid-type]
    subject_type: str
    subject_id: strawberry.ID
    description: str
    evidence: JSON = strawberry.field(description="证据摘要，如超期天数、法律条款")
    event_ids: list[int] = strawberry.field(description="证明该差错的账本事件编号")
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str | None
    center_id: strawberry.ID

    @classmethod
    def from_row(cls, row: Any) -> "FaultNode":
        kind = row.kind
        label = domain.FAULT_LABELS.get(domain.FaultKind(kind), kind) if kind in set(domain.FaultKind) else kind
        return cls(id=strawberry.ID(str(row.id)), kind=kind, kind_label=label,
                   category=domain.FaultCategory(row.category), source=row.source,
                   status=domain.FaultStatus(row.status), subject_type=row.subject_type,
                   subject_id=strawberry.ID(str(row.subject_id)), description=row.description,
                   evidence=row.evidence, event_ids=list(row.event_ids), occurred_at=row.occurred_at,
                   recorded_at=row.recorded_at, recorded_by=row.recorded_by,
                   center_id=strawberry.ID(str(row.center_id)), row=row)

    @strawberry.field(description="所涉办件编号")
    async def case_number(self, info: Info) -> str | None:
        return await _loaders(info).case_number.load(self.row.case_id) if self.row.case_id else None

    @strawberry.field(description="证据事件（账本原文）")
    async def evidence_events(self, info: Info) -> list[EvidenceEvent]:
        return await _events(info, self.row.event_ids)


@strawberry.type(name="FaultKindInfo", description="差错类型")
class FaultKindInfo:
    code: str
    label: str
    category: FaultCategoryEnum  # type: ignore[valid-type]


@strawberry.type(name="AccountabilityRule", description="效能责任追究规则：某层级对象在一个周期内某类差错达到次数 → 处理方式")
class RuleNode:
    id: strawberry.ID
    center_id: strawberry.ID | None = strawberry.field(description="空：适用于所有中心")
    name: str
    fault_kinds: list[str]
    subject_level: SubjectLevelEnum  # type: ignore[valid-type]
    threshold: int
    period: PeriodEnum  # type: ignore[valid-type]
    sanction: SanctionEnum  # type: ignore[valid-type]
    sanction_label: str
    show_names: bool = strawberry.field(description="公开处理情况时是否显示姓名")
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> "RuleNode":
        return cls(id=strawberry.ID(str(row.id)), center_id=strawberry.ID(str(row.center_id)) if row.center_id else None,
                   name=row.name, fault_kinds=list(row.fault_kinds), subject_level=domain.SubjectLevel(row.subject_level),
                   threshold=row.threshold, period=domain.Period(row.period), sanction=domain.Sanction(row.sanction),
                   sanction_label=domain.SANCTION_LABELS[domain.Sanction(row.sanction)], show_names=row.show_names,
                   active=row.active, created_at=row.created_at, updated_at=row.updated_at)


@strawberry.type(name="AccountabilitySuggestion", description="责任追究建议：引用规则与证据，须经人工确认、改变或不予追究")
class SuggestionNode(_Owned):
    id: strawberry.ID
    subject_level: SubjectLevelEnum  # type: ignore[valid-type]
    subject_id: strawberry.ID
    period: str
    period_start: datetime
    period_end: datetime
    suggested_sanction: SanctionEnum  # type: ignore[valid-type]
    sanction: SanctionEnum  # type: ignore[valid-type]
    sanction_label: str
    status: SuggestionStatusEnum  # type: ignore[valid-type]
    show_names: bool
    fault_count: int
    event_ids: list[int]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None

    @classmethod
    def from_row(cls, row: Any) -> "SuggestionNode":
        return cls(id=strawberry.ID(str(row.id)), subject_level=domain.SubjectLevel(row.subject_level),
                   subject_id=strawberry.ID(str(row.subject_id)), period=row.period, period_start=row.period_start,
                   period_end=row.period_end, suggested_sanction=domain.Sanction(row.suggested_sanction),
                   sanction=domain.Sanction(row.sanction), sanction_label=domain.SANCTION_LABELS[domain.Sanction(row.sanction)],
                   status=domain.SuggestionStatus(row.status), show_names=row.show_names, fault_count=row.fault_count,
                   event_ids=list(row.event_ids), created_at=row.created_at, decided_at=row.decided_at,
                   decided_by=row.decided_by, reason=row.reason, row=row)

    @strawberry.field(description="所依据的规则")
    async def rule(self, info: Info) -> RuleNode | None:
        row = await _loaders(info).rule.load(self.row.rule_id)
        return RuleNode.from_row(row) if row else None

    @strawberry.field(description="所依据的差错")
    async def faults(self, info: Info) -> list[FaultNode]:
        rows = await _loaders(info).fault.load_many([uuid.UUID(i) for i in self.row.fault_ids])
        return [FaultNode.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="证据事件（账本原文）")
    async def evidence_events(self, info: Info) -> list[EvidenceEvent]:
        return await _events(info, self.row.event_ids)


@strawberry.type(name="Appeal", description="申诉：部门对差错认定或责任追究提出异议")
class AppealNode(_Owned):
    id: strawberry.ID
    subject_type: str = strawberry.field(description="fault 差错 / suggestion 责任追究建议")
    subject_id: strawberry.ID
    reason: str
    evidence: list[str]
    status: AppealStatusEnum  # type: ignore[valid-type]
    filed_by: str | None
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def from_row(cls, row: Any) -> "AppealNode":
        return cls(id=strawberry.ID(str(row.id)), subject_type=row.subject_type, subject_id=strawberry.ID(str(row.subject_id)),
                   reason=row.reason, evidence=list(row.evidence), status=domain.AppealStatus(row.status),
                   filed_by=row.filed_by, filed_at=row.filed_at, decided_by=row.decided_by, decided_at=row.decided_at,
                   decision_reason=row.decision_reason, row=row)


@strawberry.type
class FaultConnection:
    total_count: int
    edges: list[Edge[FaultNode]]
    page_info: PageInfo


@strawberry.input(description="差错筛选；period 为 2026、2026-Q4 或 2026-11，或以 occurredFrom / occurredTo 指定")
class FaultFilter:
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    window_ids: list[strawberry.ID] | None = None
    staff_ids: list[strawberry.ID] | None = None
    kinds: list[str] | None = None
    categories: list[FaultCategoryEnum] | None = None  # type: ignore[valid-type]
    statuses: list[FaultStatusEnum] | None = None  # type: ignore[valid-type]
    period: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None

    def to_domain(self) -> domain.FaultFilter:
        return domain.FaultFilter.with_period(
            self.period, self.occurred_from, self.occurred_to, center_ids=_ids(self.center_ids),
            department_ids=_ids(self.department_ids), window_ids=_ids(self.window_ids), staff_ids=_ids(self.staff_ids),
            kinds=self.kinds, categories=[c.value for c in self.categories] if self.categories is not None else None,
            statuses=[s.value for s in self.statuses] if self.statuses is not None else None)


@strawberry.input(description="责任追究建议与申诉的筛选")
class SuggestionFilter:
    center_ids: list[strawberry.ID] | None = None
    department_ids: list[strawberry.ID] | None = None
    statuses: list[SuggestionStatusEnum] | None = None  # type: ignore[valid-type]
    period: str | None = strawberry.field(default=None, description="2026、2026-Q4 或 2026-11")


def _suggestions(session: Any, who: Any, flt: SuggestionFilter) -> list[Any]:
    model = domain.AccountabilitySuggestion
    query = select(model).where(domain.scope(who, model))
    if flt.center_ids is not None:
        query = query.where(model.center_id.in_(_ids(flt.center_ids)))
    if flt.department_ids is not None:
        query = query.where(model.department_id.in_(_ids(flt.department_ids)))
    if flt.statuses is not None:
        query = query.where(model.status.in_([s.value for s in flt.statuses]))
    if flt.period:
        start, end = domain.parse_period(flt.period)
        query = query.where(model.period_start < end, model.period_end > start)
    return list(session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(500)))


@strawberry.type
class AccountabilityQuery:
    @strawberry.field(description="差错列表（按角色限定范围，最新在前）")
    async def faults(self, info: Info, filter: FaultFilter | None = None, first: int | None = None,
                     after: str | None = None) -> FaultConnection:
        who = require(info, *READERS)
        size = page_size(first)
        offset = decode_offset(after)
        flt = (filter or FaultFilter()).to_domain()
        rows, total = await info.context.run(lambda s: domain.search_faults(s, viewer=who, flt=flt, offset=offset,
                                                                           limit=size + 1))
        edges = [Edge(cursor=offset_cursor(offset + i), node=FaultNode.from_row(r)) for i, r in enumerate(rows[:size])]
        return FaultConnection(total_count=total, edges=edges, page_info=PageInfo(
            has_next_page=len(rows) > size, has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="差错类型及其类别（时效、程序、作风）")
    def fault_kinds(self) -> list[FaultKindInfo]:
        return [FaultKindInfo(code=k.value, label=domain.FAULT_LABELS[k], category=domain.FAULT_CATEGORIES[k])
                for k in domain.FaultKind]

    @strawberry.field(description="效能责任追究规则")
    async def accountability_rules(self, info: Info, include_inactive: bool = False) -> list[RuleNode]:
        who = require(info, *READERS)
        model = domain.AccountabilityRule

        def fetch(session: Any) -> list[Any]:
            query = select(model).order_by(model.created_at, model.id)
            if not include_inactive:
                query = query.where(model.active.is_(True))
            if who.role is not Role.SUPERVISOR and who.center_id is not None:
                query = query.where((model.center_id.is_(None)) | (model.center_id == who.center_id))
            return list(session.scalars(query))
        return [RuleNode.from_row(r) for r in await info.context.run(fetch)]

    @strawberry.field(description="责任追究建议（按角色限定范围，最新在前，至多 500 条）")
    async def accountability_suggestions(self, info: Info,
                                         filter: SuggestionFilter | None = None) -> list[SuggestionNode]:
        who = require(info, *READERS)
        flt = filter or SuggestionFilter()
        return [SuggestionNode.from_row(r) for r in await info.context.run(lambda s: _suggestions(s, who, flt))]

    @strawberry.field(description="申诉（按角色限定范围，最新在前）")
    async def appeals(self, info: Info, statuses: list[AppealStatusEnum] | None = None) -> list[AppealNode]:  # type: ignore[valid-type]
        who = require(info, *READERS)

        def fetch(session: Any) -> list[Any]:
            query = select(domain.Appeal).where(domain.scope(who, domain.Appeal))
            if statuses is not None:
                query = query.where(domain.Appeal.status.in_([s.value for s in statuses]))
            return list(session.scalars(query.order_by(domain.Appeal.filed_at.desc()).limit(500)))
        return [AppealNode.from_row(r) for r in await info.context.run(fetch)]


async def case_faults(info: Info, case_id: uuid.UUID) -> list[FaultNode]:
    """The faults of one case the viewer may read (``Case.faults``)."""
    who = viewer(info)
    if who.role not in READERS:
        return []
    return [FaultNode.from_row(r) for r in await _loaders(info).case_faults.load(case_id)]


# ----------------------------------------------------------------------------- mutations

@strawberry.input(description="录入差错（作风问题等）：指明工作人员、窗口或部门之一，可关联办件与账本事件")
class RecordFaultInput:
    kind: str = strawberry.field(description="差错类型代码，见 faultKinds")
    description: str
    staff_id: strawberry.ID | None = None
    window_id: strawberry.ID | None = None
    department_id: strawberry.ID | None = None
    case_number: str | None = None
    occurred_at: datetime | None = None
    event_ids: list[int] = strawberry.field(default_factory=list, description="作为证据的账本事件编号")
    evidence: JSON | None = strawberry.field(default=None, description="其他证据，如视频片段、群众反映记录")


@strawberry.input(description="效能责任追究规则")
class AccountabilityRuleInput:
    name: str
    fault_kinds: list[str] = strawberry.field(description="差错类型代码；不存在的类型将被拒绝")
    subject_level: SubjectLevelEnum  # type: ignore[valid-type]
    threshold: int
    period: PeriodEnum  # type: ignore[valid-type]
    sanction: SanctionEnum  # type: ignore[valid-type]
    show_names: bool = False
    center_id: strawberry.ID | None = strawberry.field(default=None, description="空：适用于所有中心")

    def to_domain(self) -> domain.RuleSpec:
        return domain.RuleSpec(name=self.name, fault_kinds=list(self.fault_kinds),
                               subject_level=self.subject_level.value, threshold=self.threshold,
                               period=self.period.value, sanction=self.sanction.value, show_names=self.show_names,
                               center_id=parse_id(self.center_id) if self.center_id else None)


@strawberry.input(description="申诉")
class AppealInput:
    subject_type: str = strawberry.field(description="fault 差错 / suggestion 责任追究建议")
    subject_id: strawberry.ID
    reason: str
    evidence: list[str] = strawberry.field(default_factory=list, description="证据：文件、链接、账本事件编号等")


async def _write(info: Info, fn: Any) -> Any:
    """Run ``fn(tx, who)`` in one transaction as the viewer; the row it returns, read afterwards."""
    who = viewer(info)   # its role passed the duty matrix (api/schema/duties.py)

    def run() -> Any:
        with transaction(info.context.engine, actor=who.actor) as tx:
            return fn(tx, who)
    return await info.context.call(run)


def _center_check(who: Any, center_id: uuid.UUID | None) -> None:
    """A center's admin acts only within its own center."""
    if who.role is Role.CENTER_ADMIN and center_id != who.center_id:
        raise DomainError(ErrorCode.FORBIDDEN, "只能处理本中心的记录 not your center")


@strawberry.type
class AccountabilityMutation:
    @strawberry.mutation(description="录入差错（监察人员）")
    async def record_fault(self, info: Info, input: RecordFaultInput) -> FaultNode:
        def act(tx: Any, who: Any) -> Any:
            fault = domain.record_fault(
                tx, kind=input.kind, description=input.description, staff_id=parse_id(input.staff_id) if input.staff_id else None,
                window_id=parse_id(input.window_id) if input.window_id else None,
                department_id=parse_id(input.department_id) if input.department_id else None,
                case_number=input.case_number, occurred_at=input.occurred_at, event_ids=input.event_ids,
                evidence=input.evidence if isinstance(input.evidence, dict) else (
                    {"note": input.evidence} if input.evidence is not None else None))
            _center_check(who, fault.center_id)
            return fault
        return FaultNode.from_row(await _write(info, act))

    @strawberry.mutation(description="新建效能责任追究规则（监察人员）；引用不存在的差错类型将被拒绝")
    async def create_accountability_rule(self, info: Info, input: AccountabilityRuleInput) -> RuleNode:
        spec = input.to_domain()
        return RuleNode.from_row(await _write(info, lambda tx, who: domain.create_rule(tx, spec)))

    @strawberry.mutation(description="修改效能责任追究规则（已产生的建议不变）")
    async def update_accountability_rule(self, info: Info, id: strawberry.ID, input: AccountabilityRuleInput) -> RuleNode:
        spec, rule_id = input.to_domain(), parse_id(id)
        return RuleNode.from_row(await _write(info, lambda tx, who: domain.update_rule(tx, rule_id, spec)))

    @strawberry.mutation(description="停用（或重新启用）规则；停用的规则不再产生建议，已有建议保留")
    async def set_accountability_rule_active(self, info: Info, id: strawberry.ID, active: bool) -> RuleNode:
        rule_id = parse_id(id)
        return RuleNode.from_row(await _write(info, lambda tx, who: domain.set_rule_active(tx, rule_id, active)))

    @strawberry.mutation(description="处理责任追究建议：确认、改变（另选处理方式并说明理由）或不予追究（说明理由）")
    async def decide_suggestion(self, info: Info, id: strawberry.ID, decision: SuggestionDecisionEnum,  # type: ignore[valid-type]
                                reason: str | None = None, sanction: SanctionEnum | None = None) -> SuggestionNode:  # type: ignore[valid-type]
        suggestion_id = parse_id(id)
        row = await _write(info, lambda tx, who: domain.decide_suggestion(
            tx, suggestion_id=suggestion_id, decision=domain.SuggestionDecision(decision.value), reason=reason,
            sanction=sanction.value if sanction is not None else None))
        return SuggestionNode.from_row(row)

    @strawberry.mutation(description="申诉（部门领导）：对本部门的差错认定或责任追究提出异议并附证据")
    async def appeal(self, info: Info, input: AppealInput) -> AppealNode:
        subject_id = parse_id(input.subject_id)
        row = await _write(info, lambda tx, who: domain.file_appeal(
            tx, viewer=who, subject_type=input.subject_type, subject_id=subject_id, reason=input.reason,
            evidence=input.evidence))
        return AppealNode.from_row(row)

    @strawberry.mutation(description="处理申诉（监察人员）：撤销、退回或提请上级；撤销的差错不再计入统计")
    async def decide_appeal(self, info: Info, id: strawberry.ID, outcome: AppealOutcomeEnum,  # type: ignore[valid-type]
                            reason: str) -> AppealNode:
        appeal_id = parse_id(id)
        row = await _write(info, lambda tx, who: domain.decide_appeal(
            tx, appeal_id=appeal_id, outcome=domain.AppealOutcome(outcome.value), reason=reason))
        return AppealNode.from_row(row)

    @strawberry.mutation(description="对全部账本重新推导差错（导入历史后使用）；已有差错不重复；返回新增条数")
    async def derive_faults(self, info: Info) -> int:
        from esupervision.models.supervision.fault_detection import derive_all
        return await _write(info, lambda tx, who: derive_all(tx))
