"""The overview: counts by light and status per center and per department, as of now (public)."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from esupervision.models.clocks.lights_query import overview


@strawberry.type(description="灯色统计")
class LightCounts:
    white: int
    yellow: int
    red: int
    paused: int


@strawberry.type(description="状态统计")
class StatusCount:
    status: str
    count: int


@strawberry.type(description="部门或中心的实时概况")
class OverviewRow:
    name: str
    code: str | None
    center: str
    lights: LightCounts
    statuses: list[StatusCount]
    complaint_lights: LightCounts = strawberry.field(description="待答复的投诉、咨询的灯色")
    order_lights: LightCounts = strawberry.field(description="待反馈的督办单的灯色")
    over_legal_limit: int = strawberry.field(
        description="超法定时限：未办结且已超过法定时限的办件数（行政许可法第四十二条；补正和第四十五条特别程序不计）")


@strawberry.type(description="实时总览")
class Overview:
    as_of: datetime
    centers: list[OverviewRow]
    departments: list[OverviewRow]


def _row(name: str, code: str | None, center: str, body: dict) -> OverviewRow:
    return OverviewRow(name=name, code=code, center=center, lights=LightCounts(**body["lights"]),
                       statuses=[StatusCount(status=k, count=v) for k, v in body["status"].items()],
                       complaint_lights=LightCounts(**body["complaint_lights"]),
                       order_lights=LightCounts(**body["order_lights"]),
                       over_legal_limit=body["over_legal_limit"])


@strawberry.type
class OverviewQuery:
    @strawberry.field(description="各中心、各部门的红黄白灯与状态统计（公开，仅汇总数据）")
    async def overview(self, info: Info) -> Overview:
        now = info.context.now
        body = await info.context.run(lambda s: overview(s, now=now))
        return Overview(
            as_of=now,
            centers=[_row(c["center"], c["center_code"], c["center"], c) for c in body["centers"]],
            departments=[_row(d["department"], d["department_code"], d["center"], d) for d in body["departments"]])
