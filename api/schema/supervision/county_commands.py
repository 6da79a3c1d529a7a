"""Supervision across deployments in GraphQL (issue 17, item 5): ``superviseCountyCase`` records a
city supervisor's urge or order on a county deployment's case for delivery to the county's own
API, and ``countyCommands`` shows where each stands. The rules live in
``models/supervision/county_commands.py``; the delivery in ``workers/county_commands.py``."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from esupervision.api.schema.common import Edge, PageInfo, decode_offset, offset_cursor, page_size, require, viewer
from esupervision.models.access.scope import Role
from esupervision.models.ledger.transaction import transaction
from esupervision.models.supervision import county_commands as domain
from esupervision.models.supervision.county_commands import CommandKind, CommandStatus, CountyCommand

READERS = (Role.SUPERVISOR, Role.CENTER_ADMIN)


@strawberry.enum(name="CountyCommandKind", description="对县区办件的监督指令")
class KindEnum(Enum):
    URGE = "urge"      # 催办
    ORDER = "order"    # 督办


@strawberry.enum(name="CountyCommandStatus", description="送达县区的进度")
class StatusEnum(Enum):
    QUEUED = "queued"          # 待送达（县区暂不可达时按退避重试）
    DELIVERED = "delivered"    # 县区系统已接收
    CONFIRMED = "confirmed"    # 已见于经校验的县区账本副本
    REPLIED = "replied"        # 县区已反馈
    REFUSED = "refused"        # 县区拒绝（见 lastError）


@strawberry.type(name="CommandError", description="县区的拒绝或最近一次送达失败")
class CommandError:
    code: str
    message: str


@strawberry.type(name="CountyCommand", description="市级监察对县区部署办件的催办或督办：不在市级副本上执行，送达县区系统")
class CountyCommandNode:
    id: strawberry.ID
    number: str = strawberry.field(description="市级编号（SJCB 催办 / SJDB 督办）")
    county_code: str
    kind: KindEnum
    case_number: str
    message: str
    reply_days: int
    issued_by: str
    issued_at: datetime
    status: StatusEnum
    status_text: str = strawberry.field(description="中文状态")
    outcome: str = strawberry.field(description="一句话说明发生了什么")
    attempts: int = strawberry.field(description="送达尝试次数")
    next_attempt_at: datetime | None = strawberry.field(description="下次重试时间（待送达时）")
    last_error: CommandError | None
    delivered_at: datetime | None
    county_number: str | None = strawberry.field(description="县区系统中的催办单、督办单编号")
    confirmed_at: datetime | None
    confirmed_seq: int | None = strawberry.field(description="该事件在县区账本中的序号")
    replied_at: datetime | None
    reply: str | None

    @classmethod
    def from_row(cls, row: CountyCommand) -> "CountyCommandNode":
        status = CommandStatus(row.status)
        return cls(id=strawberry.ID(str(row.id)), number=row.number, county_code=row.county_code,
                   kind=KindEnum(row.kind), case_number=row.case_number, message=row.message,
                   reply_days=row.reply_days, issued_by=row.issued_by, issued_at=row.issued_at,
                   status=StatusEnum(row.status), status_text=domain.STATUS_TEXT[status], outcome=_outcome(row),
                   attempts=row.attempts,
                   next_attempt_at=row.next_attempt_at if status is CommandStatus.QUEUED else None,
                   last_error=CommandError(code=row.last_error_code, message=row.last_error or "")
                   if row.last_error_code else None,
                   delivered_at=row.delivered_at, county_number=row.county_number, confirmed_at=row.confirmed_at,
                   confirmed_seq=row.confirmed_seq, replied_at=row.replied_at, reply=row.reply)


def _outcome(row: CountyCommand) -> str:
    what = domain.KIND_TEXT[CommandKind(row.kind)]
    status = CommandStatus(row.status)
    if status is CommandStatus.QUEUED:
        return f"已登记，待送达县区 {row.county_code} 执行{what}（未在市级副本上执行）"
    if status is CommandStatus.DELIVERED:
        return f"县区 {row.county_code} 已接收{what}（编号 {row.county_number or '待账本确认'}）"
    if status is CommandStatus.CONFIRMED:
        return f"县区 {row.county_code} 的{what}单 {row.county_number} 已见于其账本（序号 {row.confirmed_seq}）"
    if status is CommandStatus.REPLIED:
        return f"县区 {row.county_code} 已反馈：{row.reply}"
    return f"县区 {row.county_code} 未执行{what}：{row.last_error}"


@strawberry.input(description="对县区部署办件的催办或督办")
class CountyCommandInput:
    case_number: str
    kind: KindEnum = strawberry.field(default=KindEnum.URGE, description="URGE 催办 / ORDER 督办")
    message: str = strawberry.field(default="", description="催办或督办内容")
    reply_days: int = strawberry.field(default=1, description="反馈期限（工作日）")


@strawberry.type
class CountyCommandConnection:
    edges: list[Edge[CountyCommandNode]]
    page_info: PageInfo


@strawberry.type
class CountyCommandQuery:
    @strawberry.field(description="送往县区部署的催办、督办及其送达进度（监察全部；中心管理本中心），最新在前")
    async def county_commands(self, info: Info, county_code: str | None = None,
                              statuses: list[StatusEnum] | None = None, case_number: str | None = None,
                              first: int | None = None, after: str | None = None) -> CountyCommandConnection:
        who = require(info, *READERS)
        size, offset = page_size(first), decode_offset(after)
        rows, more = await info.context.run(lambda s: domain.visible_commands(
            s, who=who, county_code=county_code, statuses=[v.value for v in statuses] if statuses else None,
            case_number=case_number, limit=size, offset=offset))
        edges = [Edge(cursor=offset_cursor(offset + i), node=CountyCommandNode.from_row(r)) for i, r in enumerate(rows)]
        return CountyCommandConnection(edges=edges, page_info=PageInfo(
            has_next_page=more, has_previous_page=offset > 0, start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None))


@strawberry.type
class CountyCommandMutation:
    @strawberry.mutation(description="催办或督办县区部署的办件：登记后送达县区系统执行（市级副本只读，不在此执行）；"
                                     "县区暂不可达时按退避重试，县区只执行一次")
    async def supervise_county_case(self, info: Info, input: Annotated[
            CountyCommandInput, strawberry.argument(name="input")]) -> CountyCommandNode:
        who = viewer(info)   # its role passed the duty matrix

        def run() -> CountyCommand:
            with transaction(info.context.engine, actor=who.actor) as tx:
                row, _link = domain.queue_command(tx, kind=CommandKind(input.kind.value), case_number=input.case_number,
                                                  message=input.message, reply_days=input.reply_days, by=who)
                return row
        return CountyCommandNode.from_row(await info.context.call(run))
