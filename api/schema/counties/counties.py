"""``counties``: each county deployment the city replicates and where its copy stands (LIVE /
STALE / DIVERGED, the last seq copied, the newest signed head, the lag), for the supervision
office. The replicated records themselves are answered by the usual queries (cases, overview,
statistics, tenders), filterable by their center."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from sqlalchemy import select
from sqlmodel import Session
from strawberry.types import Info

from esupervision.api.schema.common import require
from esupervision.models.access.scope import Role
from esupervision.models.clocks import timesource
from esupervision.models.counties.link import CountyChain, CountyLink


@strawberry.enum(description="县区账本复制状态")
class ReplicationStatus(Enum):
    LIVE = "live"
    STALE = "stale"
    DIVERGED = "diverged"


@strawberry.type(description="独立部署的县区及其账本副本")
class County:
    code: str
    name: str
    url: str
    status: ReplicationStatus = strawberry.field(
        description="LIVE 近期已拉取并验证；STALE 县区未应答，以副本作答；DIVERGED 县区账本与已验证的不一致，停止投影")
    last_sequence: int = strawberry.field(description="城市副本中已验证的事件数（各链之和）")
    last_head_at: datetime | None = strawberry.field(description="最新已验证签名树头的签署时间")
    last_pulled_at: datetime | None = strawberry.field(description="最近一次验证通过的拉取时间")
    lag_seconds: float | None = strawberry.field(description="距最近一次验证通过的拉取的秒数")
    center_id: strawberry.ID | None = strawberry.field(description="县区中心在城市的编号（按中心筛选办件、统计）")
    diverged_at: datetime | None
    first_diverged_sequence: int | None = strawberry.field(description="县区账本与城市副本第一处不同的序号")
    diverged_detail: str | None
    last_error: str | None = strawberry.field(description="最近一次拉取失败的原因")


def _counties(session: Session) -> list[County]:
    now = timesource.now()
    sizes: dict[object, int] = {}
    for county_id, size in session.execute(select(CountyChain.county_id, CountyChain.size)).all():
        sizes[county_id] = sizes.get(county_id, 0) + size
    return [County(
        code=link.code, name=link.name, url=link.url, status=ReplicationStatus(link.status(now).value),
        last_sequence=sizes.get(link.id, 0), last_head_at=link.last_head_at, last_pulled_at=link.last_pulled_at,
        lag_seconds=link.lag_seconds(now), center_id=strawberry.ID(str(link.center_id)) if link.center_id else None,
        diverged_at=link.diverged_at, first_diverged_sequence=link.diverged_seq, diverged_detail=link.diverged_detail,
        last_error=link.last_error) for link in session.scalars(select(CountyLink).order_by(CountyLink.code))]


@strawberry.type
class CountiesQuery:
    @strawberry.field(description="本级复制的各县区部署及其副本状态（仅监察人员）")
    async def counties(self, info: Info) -> list[County]:
        require(info, Role.SUPERVISOR)
        return await info.context.run(_counties)
