"""Efficiency statistics (效能统计), coverage, and their Excel export.

``statistics`` answers the figures of a period grouped by center, department, window, staff or
item, narrowed to the viewer's scope; ``Statistics.excelUrl`` is a signed link (valid a few
minutes, carrying the already-scoped filters) to GET /exports/statistics.xlsx, so a browser can
download the workbook without sending its token again.
"""
from __future__ import annotations

import hashlib
import hmac
import time as wall
import uuid
from datetime import date
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlencode

import strawberry
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from strawberry.types import Info

from esupervision.exports import statistics_xlsx
from esupervision.api.schema.common import parse_optional_id, viewer
from esupervision.models.supervision import statistics as domain
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.settings import get_settings

EXPORT_PATH = "/exports/statistics.xlsx"
LINK_SECONDS = 600
_FILTERS = ("center_id", "department_id", "window_id", "staff_id", "item_id")


@strawberry.enum(name="StatisticsGroupBy", description="统计分组：中心、部门、窗口、工作人员、事项")
class StatisticsGroupBy(Enum):
    CENTER = "center"
    DEPARTMENT = "department"
    WINDOW = "window"
    STAFF = "staff"
    ITEM = "item"


@strawberry.type(description="一个分组（或合计）的效能统计；天数均为工作日，日期按北京时间")
class StatisticsRow:
    key_id: strawberry.ID | None = strawberry.field(description="分组对象编号；合计行与未指定窗口/人员为空")
    key_code: str | None = strawberry.field(description="分组对象编码")
    key_name: str = strawberry.field(description="分组对象名称（合计行为“合计”）")
    received: int = strawberry.field(description="接件：首个事件（网上申报或窗口受理）在期间内的办件数")
    accepted: int = strawberry.field(description="受理：期间内受理（含依法视为受理）的办件数")
    handled: int = strawberry.field(description="办件：期间内曾在办的办件数（期末前已受理、期初前未结束）")
    completed: int = strawberry.field(description="结件：期间内办结（准予或不予许可）的办件数")
    on_time: int = strawberry.field(description="按时办结（含提前办结）")
    early: int = strawberry.field(description="提前办结：至少提前一个工作日")
    overdue: int = strawberry.field(description="超期办结")
    over_legal_limit: int = strawberry.field(
        description="超法定时限：期间内办结且超过法定时限的办件数（行政许可法第四十二条，含批准的延期；补正和第四十五条特别程序不计）")
    errors: int = strawberry.field(description="出错：期间内发生且有效或已确认的差错数（撤销的不计）")
    returned: int = strawberry.field(description="退件")
    supplement_requests: int = strawberry.field(description="补正告知次数")
    suspended_days: int = strawberry.field(description="期间内办结办件暂停计时（补正、特别程序）的工作日合计")
    average_handling_days: float | None = strawberry.field(description="平均办理工作日（受理至办结，扣除暂停）")
    p90_handling_days: int | None = strawberry.field(description="90% 办件在此工作日数内办结")
    on_time_rate: float | None = strawberry.field(description="按时办结率 = 按时办结 / 结件")
    early_rate: float | None = strawberry.field(description="提前办结率 = 提前办结 / 结件")
    urges: int = strawberry.field(description="期间内收到的催办")
    urges_answered_on_time: int = strawberry.field(description="按时反馈的催办")
    orders: int = strawberry.field(description="期间内下达的督办")
    orders_answered_on_time: int = strawberry.field(description="按时反馈的督办")
    complaints: int = strawberry.field(description="期间内受理的投诉（不含咨询）")
    evaluations: int = strawberry.field(description="期间内的评价数（含逾期视为基本满意）")
    evaluation_score: float | None = strawberry.field(description="评价平均分（1–5）")

    @classmethod
    def from_row(cls, row: domain.StatisticsRow) -> "StatisticsRow":
        values = domain.row_values(row)
        key = values.pop("key_id")
        return cls(key_id=strawberry.ID(str(key)) if key else None, **values)


@strawberry.type(description="效能统计表")
class Statistics:
    period_from: date = strawberry.field(name="from")
    period_to: date = strawberry.field(name="to")
    group_by: StatisticsGroupBy
    rows: list[StatisticsRow]
    totals: StatisticsRow = strawberry.field(description="合计行")
    excel_url: str = strawberry.field(description=f"Excel 下载链接（签名，{LINK_SECONDS // 60} 分钟内有效，"
                                                  "数字与本查询相同）")


@strawberry.type(description="中心事项覆盖：进驻中心办理、纳入电子监察的事项数")
class CenterCoverage:
    center_id: strawberry.ID
    center_code: str
    center_name: str
    items: int = strawberry.field(description="事项总数")
    in_center: int = strawberry.field(description="进驻中心办理的事项数")
    supervised: int = strawberry.field(description="纳入电子监察的事项数")


@strawberry.type(description="一个环节的实时报送情况")
class StepReporting:
    name: str
    events: int = strawberry.field(description="期间内该环节办结的事件数")
    realtime_events: int = strawberry.field(description="其中实时报送的事件数")
    realtime: bool = strawberry.field(description="期间内该环节的办结全部实时报送")


@strawberry.type(description="事项环节的实时报送覆盖")
class ItemReporting:
    item_id: strawberry.ID
    item_code: str
    item_name: str
    steps: list[StepReporting]
    realtime_steps: int = strawberry.field(description="全部实时报送的环节数")
    events: int = strawberry.field(description="期间内该事项办件的全部事件数")
    realtime_events: int = strawberry.field(description="其中实时报送的事件数")



def link_signature(secret: str, params: dict[str, str]) -> str:
    """HMAC of an export link's parameters (everything but ``sig``), in a fixed order."""
    body = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig")
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def export_link(period_from: date, period_to: date, group_by: domain.GroupBy,
                filters: dict[str, uuid.UUID | None], *, expires: int) -> str:
    params = {"from": period_from.isoformat(), "to": period_to.isoformat(), "groupBy": group_by.value,
              "exp": str(expires)}
    params.update({k: str(v) for k, v in filters.items() if v is not None})
    params["sig"] = link_signature(get_settings().jwt_secret, params)
    return f"{EXPORT_PATH}?{urlencode(params)}"


def export_title(group_by: domain.GroupBy) -> str:
    return f"效能统计（按{domain.GROUP_LABELS[group_by]}）"


@strawberry.type
class StatisticsQuery:
    @strawberry.field(description="效能统计：任意期间（含首尾两日，北京时间），按中心、部门、窗口、工作人员或事项分组，"
                                  "附合计行；范围按角色收窄（公众仅汇总，不含工作人员）。期间结束早于开始：INVALID_PERIOD")
    async def statistics(self, info: Info, period_from: Annotated[date, strawberry.argument(name="from")],
                         period_to: Annotated[date, strawberry.argument(name="to")],
                         group_by: StatisticsGroupBy,
                         center_id: strawberry.ID | None = None, department_id: strawberry.ID | None = None,
                         window_id: strawberry.ID | None = None, staff_id: strawberry.ID | None = None,
                         item_id: strawberry.ID | None = None) -> Statistics:
        who = viewer(info)
        group = domain.GroupBy(group_by.value)
        domain.check_period(period_from, period_to)
        filters = domain.scoped_filters(who, group, {
            "center_id": parse_optional_id(center_id), "department_id": parse_optional_id(department_id), "window_id": parse_optional_id(window_id),
            "staff_id": parse_optional_id(staff_id), "item_id": parse_optional_id(item_id)})
        table = await info.context.run(lambda s: domain.compute_statistics(
            s, period_from=period_from, period_to=period_to, group_by=group, **filters))
        link = export_link(period_from, period_to, group, filters, expires=int(wall.time()) + LINK_SECONDS)
        return Statistics(period_from=period_from, period_to=period_to, group_by=group_by,
                          rows=[StatisticsRow.from_row(r) for r in table.rows],
                          totals=StatisticsRow.from_row(table.totals), excel_url=link)

    @strawberry.field(description="各中心事项覆盖：事项总数、进驻中心办理数、纳入电子监察数（公开汇总）")
    async def coverage(self, info: Info, center_id: strawberry.ID | None = None) -> list[CenterCoverage]:
        viewer(info)
        rows = await info.context.run(lambda s: domain.center_coverage(s, center_id=parse_optional_id(center_id)))
        return [CenterCoverage(center_id=strawberry.ID(str(r.center_id)), center_code=r.center_code,
                               center_name=r.center_name, items=r.items, in_center=r.in_center,
                               supervised=r.supervised) for r in rows]

    @strawberry.field(description="各事项环节的实时报送覆盖：事件在发生后不超过 realtime_report_minutes（设置，"
                                  "默认 10 分钟）记入台账即为实时报送，否则为事后补录；某环节期间内的办结全部实时报送，"
                                  "该环节计为实时报送环节")
    async def reporting_coverage(self, info: Info, period_from: Annotated[date, strawberry.argument(name="from")],
                                 period_to: Annotated[date, strawberry.argument(name="to")],
                                 center_id: strawberry.ID | None = None, department_id: strawberry.ID | None = None,
                                 item_id: strawberry.ID | None = None) -> list[ItemReporting]:
        who = viewer(info)
        filters = domain.scoped_filters(who, domain.GroupBy.ITEM, {
            "center_id": parse_optional_id(center_id), "department_id": parse_optional_id(department_id), "item_id": parse_optional_id(item_id)})
        if filters.pop("window_id", None) is not None:
            # Reporting is per item: window staff read the items of their department.
            if who.department_id is None:
                raise DomainError(ErrorCode.FORBIDDEN, "无权查看该范围的统计 statistics outside your scope")
            filters["department_id"] = who.department_id
        minutes = get_settings().realtime_report_minutes
        rows = await info.context.run(lambda s: domain.reporting_coverage(
            s, period_from=period_from, period_to=period_to, realtime_minutes=minutes,
            **{k: v for k, v in filters.items() if k in ("center_id", "department_id", "item_id")}))
        return [ItemReporting(item_id=strawberry.ID(str(r.item_id)), item_code=r.item_code, item_name=r.item_name,
                              steps=[StepReporting(name=s.name, events=s.events, realtime_events=s.realtime_events,
                                                   realtime=s.realtime) for s in r.steps],
                              realtime_steps=r.realtime_steps, events=r.events, realtime_events=r.realtime_events)
                for r in rows]


# ----------------------------------------------------------------------------- Excel download

def statistics_export_route(engine: Any) -> Route:
    """GET /exports/statistics.xlsx?…&exp=…&sig=…: the workbook of a ``statistics`` answer, from
    the signed link of ``Statistics.excelUrl`` (the same figures, recomputed at download)."""

    def download(request: Request) -> Response:
        params = dict(request.query_params)
        expected = link_signature(get_settings().jwt_secret, params)
        if not hmac.compare_digest(expected, params.get("sig", "")):
            return PlainTextResponse("链接无效 invalid link", 403)
        try:
            if int(params["exp"]) < wall.time():
                return PlainTextResponse("链接已过期 link expired", 403)
            group = domain.GroupBy(params["groupBy"])
            period_from, period_to = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
            filters = {k: parse_optional_id(params.get(k)) for k in _FILTERS}
        except (KeyError, ValueError, DomainError):
            return PlainTextResponse("链接无效 invalid link", 400)
        with Session(engine) as session:
            table = domain.compute_statistics(session, period_from=period_from, period_to=period_to,
                                              group_by=group, **filters)
        body = statistics_xlsx(table, title=export_title(group))
        name = f"statistics-{group.value}-{period_from}-{period_to}.xlsx"
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return Route(EXPORT_PATH, download)
