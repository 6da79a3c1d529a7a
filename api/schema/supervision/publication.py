"""Published efficiency reports (效能公开) in GraphQL: public aggregates by department and window,
the on-time trend, lights by department and the handling of accountability; ``publishReport`` for
supervisors; and the PDF download route the SMS links point to."""
from __future__ import annotations

import hmac
import time as wall
import uuid
from datetime import date, datetime
from typing import Any

import strawberry
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from strawberry.types import Info

from esupervision.api.schema.common import require, viewer
from esupervision.api.schema.supervision.statistics import LINK_SECONDS   # the console's links last as long
from esupervision.models.supervision import publication as domain
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings

@strawberry.type(description="效能统计（汇总数据，不含个人信息）：部门、窗口或全中心合计")
class ReportFigures:
    id: strawberry.ID | None
    name: str
    rank: int | None = strawberry.field(description="部门按时办结率名次（仅部门行）")
    department_id: strawberry.ID | None = strawberry.field(description="所属部门（仅窗口行）")
    department_name: str | None
    received: int
    accepted: int
    handled: int
    completed: int
    on_time: int
    early: int
    overdue: int
    over_legal_limit: int = strawberry.field(description="超法定时限办结（行政许可法第四十二条）")
    errors: int
    returned: int
    supplement_requests: int
    suspended_days: int
    average_handling_days: float | None
    p90_handling_days: float | None
    on_time_rate: float | None = strawberry.field(description="按时办结率（0–1）")
    early_rate: float | None
    urges: int
    urges_answered_on_time: int
    orders: int
    orders_answered_on_time: int
    complaints: int
    evaluations: int
    evaluation_score: float | None

    @classmethod
    def from_snapshot(cls, row: dict[str, Any], name: str | None = None) -> "ReportFigures":
        ids = {k: strawberry.ID(row[k]) if row.get(k) else None for k in ("id", "department_id")}
        return cls(name=name or row.get("name") or "", rank=row.get("rank"),
                   department_name=row.get("department_name"), **ids,
                   **{f: row.get(f) if row.get(f) is not None or f in _NULLABLE else 0 for f in domain.FIGURES})


_NULLABLE = frozenset({"average_handling_days", "p90_handling_days", "on_time_rate", "early_rate", "evaluation_score"})


@strawberry.type(description="按月按时办结率")
class OnTimeTrendPoint:
    month: str = strawberry.field(description="YYYY-MM")
    completed: int
    on_time: int
    on_time_rate: float | None


@strawberry.type(description="部门在办件灯色（发布时）")
class DepartmentLights:
    department_id: strawberry.ID
    name: str
    white: int
    yellow: int
    red: int
    paused: int


@strawberry.type(description="问责建议处理情况计数：按处理种类或按部门")
class AccountabilityCount:
    key: str | None = strawberry.field(description="处理种类代码，或部门编号")
    label: str = strawberry.field(description="处理种类或部门名称")
    total: int
    pending: int
    confirmed: int
    changed: int
    dismissed: int
    withdrawn: int
    revoked: int


@strawberry.type(description="效能责任追究处理情况：本期提出的问责建议及其处理状态（公开部分不含姓名）")
class AccountabilityHandling:
    total: int
    pending: int
    confirmed: int
    changed: int
    dismissed: int
    withdrawn: int
    revoked: int
    by_sanction: list[AccountabilityCount]
    by_department: list[AccountabilityCount]


@strawberry.type(description="报告所属中心")
class ReportCenter:
    id: strawberry.ID
    code: str
    name: str


@strawberry.type(description="已发布的效能报告（快照：发布后不再变化）")
class PublishedReport:
    id: strawberry.ID
    title: str
    center: ReportCenter
    period_from: date
    period_to: date
    published_at: datetime
    lights_as_of: datetime
    totals: ReportFigures
    departments: list[ReportFigures]
    windows: list[ReportFigures]
    on_time_trend: list[OnTimeTrendPoint] = strawberry.field(description="近12个月按时办结率走势")
    lights: list[DepartmentLights]
    accountability: AccountabilityHandling
    pdf_url: str | None = strawberry.field(
        description="PDF 下载链接：领导和中心管理为全文，窗口工作人员为本窗口报告；公众为空")

    @classmethod
    def from_row(cls, row: domain.PublishedReport, who: Viewer) -> "PublishedReport":
        snap = domain.public_snapshot(row.snapshot)
        acc = snap.get("accountability") or {}

        def counts(item: dict[str, Any]) -> AccountabilityCount:
            return AccountabilityCount(key=item.get("key"), label=item.get("label") or "", total=item.get("total", 0),
                                       **{s: item.get(s, 0) for s in domain.SUGGESTION_STATUSES})

        return cls(
            id=strawberry.ID(str(row.id)), title=row.title,
            center=ReportCenter(id=strawberry.ID(snap["center"]["id"]), code=snap["center"]["code"],
                                name=snap["center"]["name"]),
            period_from=row.period_from, period_to=row.period_to, published_at=row.published_at,
            lights_as_of=datetime.fromisoformat(snap["lights_as_of"].replace("Z", "+00:00")),
            totals=ReportFigures.from_snapshot(snap["totals"], name="合计"),
            departments=[ReportFigures.from_snapshot(d) for d in snap["departments"]],
            windows=[ReportFigures.from_snapshot(w) for w in snap["windows"]],
            on_time_trend=[OnTimeTrendPoint(month=p["month"], completed=p.get("completed") or 0,
                                            on_time=p.get("on_time") or 0, on_time_rate=p.get("on_time_rate"))
                           for p in snap["trend"]],
            lights=[DepartmentLights(department_id=strawberry.ID(li["id"]), name=li["name"], white=li["white"],
                                     yellow=li["yellow"], red=li["red"], paused=li["paused"])
                    for li in snap["lights"]],
            accountability=AccountabilityHandling(
                total=acc.get("total", 0), **{s: acc.get(s, 0) for s in domain.SUGGESTION_STATUSES},
                by_sanction=[counts(k) for k in acc.get("by_sanction", [])],
                by_department=[counts(k) for k in acc.get("by_department", [])]),
            pdf_url=_pdf_url(row, who))


def _pdf_url(row: domain.PublishedReport, who: Viewer) -> str | None:
    """The leaders' copy for the supervision office and the center's own management and leaders;
    a window's staff get their window's copy; nobody else a link."""
    settings = get_settings()
    base, expires = settings.public_url.rstrip("/"), int(wall.time()) + LINK_SECONDS
    own_center = who.center_id == row.center_id
    if who.role is Role.SUPERVISOR or (who.role in (Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER) and own_center):
        return base + domain.pdf_path(settings.jwt_secret, row.id, expires=expires)
    if who.role is Role.WINDOW_STAFF and who.window_id and any(
            w.get("id") == str(who.window_id) for w in row.snapshot.get("windows", [])):
        return base + domain.pdf_path(settings.jwt_secret, row.id, who.window_id, expires=expires)
    return None


def _id(value: strawberry.ID | None, what: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(ErrorCode.BAD_INPUT, f"无效的{what}编号 invalid id {value!r}") from None


@strawberry.type(description="发布结果：重复发布同一期间不会再发布，返回已有报告")
class PublishReportResult:
    report: PublishedReport
    created: bool
    notices: int = strawberry.field(description="本次写入的短信通知条数")


@strawberry.type
class PublicationQuery:
    @strawberry.field(description="已发布的效能报告（公开，仅汇总数据）；按中心、报告期筛选，新的在前")
    async def published_reports(self, info: Info, center_id: strawberry.ID | None = None,
                                period_from: date | None = None, period_to: date | None = None) -> list[PublishedReport]:
        who = viewer(info)
        center = _id(center_id, "中心")
        rows = await info.context.run(lambda s: domain.published_reports(
            s, center_id=center, period_from=period_from, period_to=period_to))
        return [PublishedReport.from_row(r, who) for r in rows]

    @strawberry.field(description="一份已发布的效能报告（公开，仅汇总数据）")
    async def published_report(self, info: Info, id: strawberry.ID) -> PublishedReport | None:
        who = viewer(info)
        report_id = _id(id, "报告")
        row = await info.context.run(lambda s: s.get(domain.PublishedReport, report_id))
        return PublishedReport.from_row(row, who) if row else None


@strawberry.type
class PublicationMutation:
    @strawberry.mutation(description="发布效能报告（监察部门；中心管理限本中心）：公开汇总数据，向领导和各窗口发送短信；同一期间重复发布无效果")
    async def publish_report(self, info: Info, center_id: strawberry.ID, period_from: date,
                             period_to: date) -> PublishReportResult:
        who = viewer(info)
        center = _id(center_id, "中心")
        assert center is not None
        if who.role is Role.CENTER_ADMIN and who.center_id != center:
            raise DomainError(ErrorCode.FORBIDDEN, "只能发布本中心的报告 only your own center's reports")

        def run() -> domain.Publication:
            with transaction(info.context.engine, actor=who.actor) as tx:
                return domain.publish_report(tx, center_id=center, period_from=period_from, period_to=period_to)
        done = await info.context.call(run)
        return PublishReportResult(report=PublishedReport.from_row(done.report, who), created=done.created,
                                   notices=done.notices)


# ----------------------------------------------------------------------------- PDF download

def report_pdf_route(engine: Any) -> Route:
    """GET /reports/{id}.pdf?exp=…&sig=… (the leaders' copy) or ?window=…&exp=…&sig=… (one
    window's copy): the link of the SMS or of ``pdfUrl``, signed, so it opens on a phone without
    logging in, until it expires (``report_link_days`` for an SMS, ten minutes for ``pdfUrl``)."""
    from esupervision import report_pdf

    def download(request: Request) -> Response:
        try:
            report_id = uuid.UUID(request.path_params["report_id"])
        except ValueError:
            return PlainTextResponse("报告不存在 report not found", 404)
        window, expires = request.query_params.get("window"), request.query_params.get("exp", "")
        expected = domain.link_signature(get_settings().jwt_secret, report_id, window, expires=expires)
        if not expires.isdigit() or not hmac.compare_digest(expected, request.query_params.get("sig", "")):
            return PlainTextResponse("链接无效 invalid link", 403)
        if domain.link_expired(int(expires)):
            return PlainTextResponse("链接已过期，请在系统中重新打开报告 link expired", 403)
        with Session(engine) as session:
            row = session.get(domain.PublishedReport, report_id)
        if row is None:
            return PlainTextResponse("报告不存在 report not found", 404)
        try:
            body = report_pdf.window_pdf(row.snapshot, window) if window else report_pdf.leaders_pdf(row.snapshot)
        except KeyError:
            return PlainTextResponse("该窗口不在报告中 window not in report", 404)
        name = f"report-{row.period_from}-{row.period_to}{'-window' if window else ''}.pdf"
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"'})

    return Route("/reports/{report_id}.pdf", download)
