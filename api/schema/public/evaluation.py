"""Evaluations (好差评) in GraphQL: the applicant's ``rateCase``, the department's ``recordFollowUp``
(核实、整改、回访) of a bad rating, ``evaluationSummary`` for a period and scope (counts by score and
the praise rate beside every bad rating's follow-up), and ``Case.evaluation``."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from esupervision.api.schema.catalogue.catalogue import Department, department_of
from esupervision.api.schema.common import Light, Outcome, enum_value, parse_optional_id, require, viewer
from esupervision.models.public import evaluation as domain
from esupervision.models.access.scope import Role
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.clocks.light import light_at
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings

FollowUpStage = strawberry.enum(domain.FollowUpStage, name="FollowUpStage",
                                description="差评处理环节：核实 / 整改 / 回访 / 已办结")
STAFF = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF, Role.DEPARTMENT_SYSTEM)


@strawberry.type(description="差评处理的一条记录")
class FollowUpRecord:
    stage: FollowUpStage
    label: str
    at: datetime
    actor: str | None
    note: str
    satisfied: bool | None = strawberry.field(description="回访时申请人是否满意")


@strawberry.type(name="FollowUp", description="差评的核实、整改、回访")
class FollowUpNode:
    stage: FollowUpStage = strawberry.field(description="下一步应做的环节；已办结为 CLOSED")
    stage_label: str
    score: int
    opened_at: datetime
    due_at: datetime | None = strawberry.field(description="办理期限")
    closed_at: datetime | None
    revisit_satisfied: bool | None
    records: list[FollowUpRecord]
    row: strawberry.Private[domain.FollowUp]

    @classmethod
    def from_row(cls, row: domain.FollowUp) -> "FollowUpNode":
        stage = domain.FollowUpStage(row.stage)
        return cls(stage=stage, stage_label=domain.STAGE_LABELS[stage], score=row.score, opened_at=row.opened_at,
                   due_at=row.due_at, closed_at=row.closed_at, revisit_satisfied=row.revisit_satisfied,
                   records=[FollowUpRecord(stage=domain.FollowUpStage(r["stage"]), label=r["label"],
                                           at=datetime.fromisoformat(r["at"]), actor=r.get("actor"),
                                           note=r["note"], satisfied=r.get("satisfied")) for r in row.stages],
                   row=row)

    @strawberry.field(description="当前灯色（已办结的为办结时的灯色）")
    async def light(self, info: Info) -> Light | None:
        clock = await info.context.loaders.clock.load(self.row.clock_id)
        return Light(light_at(clock, info.context.now).light.value) if clock else None

    @strawberry.field(description="办结情况：提前 / 按时 / 超期（未办结为空）")
    async def outcome(self, info: Info) -> Outcome | None:
        clock = await info.context.loaders.clock.load(self.row.clock_id)
        return Outcome(clock.outcome) if clock and clock.outcome else None

    @strawberry.field(description="超期：办结晚于期限，或逾期未办结")
    def overdue(self, info: Info) -> bool:
        return self.row.due_at is not None and (self.row.closed_at or info.context.now) > self.row.due_at

    @strawberry.field(description="承办部门")
    async def department(self, info: Info) -> Department:
        return await department_of(info, self.row.department_id)


@strawberry.type(name="Evaluation", description="好差评：申请人对办结办件的评价")
class EvaluationNode:
    score: int = strawberry.field(description="1 非常不满意 … 5 非常满意")
    score_label: str
    comment: str | None
    rated_at: datetime
    deemed: bool = strawberry.field(description="评价期内未评价，视为基本满意")
    channel: str = strawberry.field(description="portal 网上 / sms 短信 / deemed 默认")
    follow_up_row: strawberry.Private[domain.FollowUp | None]

    @classmethod
    def from_row(cls, row: domain.Evaluation, follow_up: domain.FollowUp | None) -> "EvaluationNode":
        return cls(score=row.score, score_label=domain.SCORE_LABELS[row.score], comment=row.comment,
                   rated_at=row.rated_at, deemed=row.deemed, channel=row.channel, follow_up_row=follow_up)

    @strawberry.field(description="差评的处理记录（工作人员可见）")
    def follow_up(self, info: Info) -> FollowUpNode | None:
        if self.follow_up_row is None or viewer(info).role not in STAFF:
            return None
        return FollowUpNode.from_row(self.follow_up_row)


@strawberry.type(description="某一评分的数量")
class ScoreCount:
    score: int
    label: str
    count: int


@strawberry.type(description="一条差评及其处理记录")
class BadRating:
    case_number: str
    score: int
    score_label: str
    comment: str | None
    rated_at: datetime
    deemed: bool
    follow_up: FollowUpNode | None


@strawberry.type(description="好差评汇总：各评分数量、好评率，并列出每条差评及其核实整改回访记录")
class EvaluationSummary:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    total: int
    by_score: list[ScoreCount]
    deemed: int = strawberry.field(description="逾期未评、视为基本满意的数量")
    praise: int = strawberry.field(description="好评（基本满意及以上）")
    praise_rate: float | None = strawberry.field(description="好评率；须与差评处理记录一并看")
    bad: int = strawberry.field(description="差评（不满意、非常不满意）")
    average: float | None
    follow_ups_open: int
    follow_ups_closed: int
    follow_ups_overdue: int
    revisit_satisfied: int = strawberry.field(description="回访后满意的差评数")
    bad_ratings: list[BadRating]



@strawberry.type
class EvaluationQuery:
    @strawberry.field(description="好差评汇总（期间 [from, to)，按角色限定范围）")
    async def evaluation_summary(self, info: Info, from_: Annotated[datetime, strawberry.argument(name="from")],
                                 to: datetime, center_id: strawberry.ID | None = None,
                                 department_id: strawberry.ID | None = None,
                                 window_id: strawberry.ID | None = None) -> EvaluationSummary:
        who = require(info, *STAFF)
        if from_.tzinfo is None or to.tzinfo is None:
            raise DomainError(ErrorCode.BAD_INPUT, "统计期间须带时区 from and to need a UTC offset")
        cfg = get_settings()
        center, department, window = parse_optional_id(center_id), parse_optional_id(department_id), parse_optional_id(window_id)
        summary = await info.context.run(lambda s: domain.evaluation_summary(
            s, viewer=who, start=from_, end=to, now=info.context.now, praise_min=cfg.evaluation_praise_min_score,
            bad_max=cfg.evaluation_bad_max_score, center_id=center, department_id=department, window_id=window))
        return EvaluationSummary(
            from_=summary.start, to=summary.end, total=summary.total,
            by_score=[ScoreCount(score=s, label=domain.SCORE_LABELS[s], count=n)
                      for s, n in sorted(summary.by_score.items(), reverse=True)],
            deemed=summary.deemed, praise=summary.praise, praise_rate=summary.praise_rate, bad=summary.bad,
            average=summary.average, follow_ups_open=summary.follow_ups_open,
            follow_ups_closed=summary.follow_ups_closed, follow_ups_overdue=summary.follow_ups_overdue,
            revisit_satisfied=summary.revisit_satisfied,
            bad_ratings=[BadRating(case_number=b.case_number, score=b.evaluation.score,
                                   score_label=domain.SCORE_LABELS[b.evaluation.score], comment=b.evaluation.comment,
                                   rated_at=b.evaluation.rated_at, deemed=b.evaluation.deemed,
                                   follow_up=FollowUpNode.from_row(b.follow_up) if b.follow_up else None)
                         for b in summary.bad_ratings])


@strawberry.type
class EvaluationMutation:
    @strawberry.mutation(description="申请人评价本人已办结的办件（1–5 分，可附意见；每件一次）")
    async def rate_case(self, info: Info, number: str, score: int, comment: str | None = None) -> EvaluationNode:
        who = viewer(info)

        def run() -> tuple[domain.Evaluation, domain.FollowUp | None]:
            with transaction(info.context.engine, actor=who.actor) as tx:
                evaluation = domain.rate_case(tx, number=number, score=score, comment=comment,
                                              phone=who.applicant_phone, channel="portal")
            with transaction(info.context.engine) as tx:
                return domain.case_evaluation(tx.session, evaluation.case_id)  # type: ignore[return-value]
        evaluation, follow_up = await info.context.call(run)
        return EvaluationNode.from_row(evaluation, follow_up)

    @strawberry.mutation(description="记录差评处理：核实、整改、回访（依次，回访须记录是否满意）")
    async def record_follow_up(self, info: Info, number: str, stage: FollowUpStage, note: str,
                               satisfied: bool | None = None) -> FollowUpNode:
        who = viewer(info)

        def run() -> domain.FollowUp:
            with transaction(info.context.engine, actor=who.actor) as tx:
                return domain.record_follow_up(tx, viewer=who, number=number,
                                               stage=domain.FollowUpStage(enum_value(stage)), note=note,
                                               satisfied=satisfied)
        return FollowUpNode.from_row(await info.context.call(run))


# ----------------------------------------------------------------------------- Case.evaluation

def _case_loader(context: Any) -> DataLoader[uuid.UUID, tuple[Any, Any]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[tuple[Any, Any]]:
        def fetch(session: Any) -> dict[uuid.UUID, tuple[Any, Any]]:
            rows = session.execute(select(domain.Evaluation, domain.FollowUp)
                                   .outerjoin(domain.FollowUp, domain.FollowUp.evaluation_id == domain.Evaluation.id)
                                   .where(domain.Evaluation.case_id.in_(list(ids)))).all()  # type: ignore[attr-defined]
            return {e.case_id: (e, f) for e, f in rows}
        found = await context.run(fetch)
        return [found.get(i, (None, None)) for i in ids]
    return DataLoader(load_fn=load)


async def case_evaluation(info: Info, case_id: uuid.UUID) -> EvaluationNode | None:
    """A case's rating (and its follow-up for staff); one query for every case of a page."""
    context = info.context
    loader = getattr(context, "evaluation_loader", None)
    if loader is None:
        loader = context.evaluation_loader = _case_loader(context)
    evaluation, follow_up = await loader.load(case_id)
    return EvaluationNode.from_row(evaluation, follow_up) if evaluation else None
