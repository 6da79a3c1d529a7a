"""Publication of efficiency reports (效能公开).

A supervisor (or the monthly job) publishes a center's report for a period: the statistics per
department and per window (``models/supervision/statistics.py``), the on-time rate of each of the last 12
months, the lights by department as of publication, and the handling of accountability
(效能责任追究处理情况). The report keeps those aggregates as a snapshot, so what was published
stays what it was whatever happens to the cases later; it is a ledger event, and the leaders and
each window unit are told by SMS with a link to their PDF, in the same transaction.

Publishing a period already published for the center changes nothing and returns that report.
"""
from __future__ import annotations

import calendar as month_calendar
import dataclasses
import hashlib
import hmac
import time as wall
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Date, Index, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, day_text, new_id
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window
from esupervision.models.clocks.clock import LOCAL_TZ, local_date
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import jsonable

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction

SNAPSHOT_VERSION = 1
TREND_MONTHS = 12
# No center kept electronic records before this; also keeps every date arithmetic in range.
EARLIEST = date(2000, 1, 1)
# The figures of a statistics row a report publishes (all aggregates; no row is about a person).
FIGURES = ("received", "accepted", "handled", "completed", "on_time", "early", "overdue", "over_legal_limit",
           "errors", "returned", "supplement_requests", "suspended_days", "average_handling_days",
           "p90_handling_days", "on_time_rate", "early_rate", "urges", "urges_answered_on_time",
           "orders", "orders_answered_on_time", "complaints", "evaluations", "evaluation_score")
SUGGESTION_STATUSES = ("pending", "confirmed", "changed", "dismissed", "withdrawn", "revoked")


class PublishedReport(SQLModel, table=True):
    """One published report of a center for a period (dates inclusive, Asia/Shanghai)."""

    __tablename__ = "published_report"
    __table_args__ = (UniqueConstraint("center_id", "period_from", "period_to", name="uq_published_report_period"),
                      Index("ix_published_report_period", "period_to", "period_from"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")
    period_from: date = Field(sa_type=Date)
    period_to: date = Field(sa_type=Date)
    title: str
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by: str | None = None
    # The aggregates as published (see ``build_snapshot``); never recomputed.
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True)
class Publication:
    """What ``publish_report`` did: the report, and whether this call published it."""

    report: PublishedReport
    created: bool
    notices: int = 0


# ----------------------------------------------------------------------------- periods

def period_label(period_from: date, period_to: date) -> str:
    """「2026年11月」 for a calendar month, else 「2026年11月01日至2026年11月25日」."""
    last = month_calendar.monthrange(period_from.year, period_from.month)[1]
    if period_from.day == 1 and period_to == period_from.replace(day=last):
        return f"{period_from.year}年{period_from.month}月"
    return f"{period_from:%Y年%m月%d日}至{period_to:%Y年%m月%d日}"


def previous_month(today: date) -> tuple[date, date]:
    """The first and last day of the calendar month before ``today``'s."""
    first_this = today.replace(day=1)
    year, month = (first_this.year - 1, 12) if first_this.month == 1 else (first_this.year, first_this.month - 1)
    return date(year, month, 1), date(year, month, month_calendar.monthrange(year, month)[1])


def trend_months(period_to: date, months: int = TREND_MONTHS) -> list[tuple[date, date]]:
    """The ``months`` calendar months ending with ``period_to``'s, the last cut at ``period_to``."""
    out = []
    year, month = period_to.year, period_to.month
    for _ in range(months):
        last = date(year, month, month_calendar.monthrange(year, month)[1])
        out.append((date(year, month, 1), min(last, period_to)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(out))


def check_period(period_from: date, period_to: date, *, today: date) -> None:
    """A report covers a period that has ended: EARLIEST ≤ from ≤ to < today. Else REPORT_PERIOD_INVALID."""
    if period_to < period_from:
        raise DomainError(ErrorCode.REPORT_PERIOD_INVALID,
                          f"报告期结束日 {day_text(period_to)} 早于开始日 {day_text(period_from)}",
                          period_from=period_from.isoformat(), period_to=period_to.isoformat())
    if period_from < EARLIEST:
        raise DomainError(ErrorCode.REPORT_PERIOD_INVALID, f"报告期不能早于 {day_text(EARLIEST)}",
                          period_from=period_from.isoformat(), period_to=period_to.isoformat())
    if period_to >= today:
        # A period still running would publish figures that are not final (and idempotency
        # would then keep the partial figures for good).
        raise DomainError(ErrorCode.REPORT_PERIOD_INVALID,
                          f"报告期尚未结束：结束日 {day_text(period_to)} 须早于今天 {day_text(today)}",
                          period_from=period_from.isoformat(), period_to=period_to.isoformat())


# ----------------------------------------------------------------------------- snapshot

def _figures(row: Any) -> dict[str, Any]:
    values = dataclasses.asdict(row) if dataclasses.is_dataclass(row) else dict(row)
    return jsonable({name: values.get(name) for name in FIGURES})


def _row(row: Any, **extra: Any) -> dict[str, Any]:
    key = getattr(row, "key_id", None)
    return {"id": str(key) if key is not None else None, "name": getattr(row, "key_name", None),
            **extra, **_figures(row)}


def _rank_key(row: dict[str, Any]) -> tuple:
    rate = row.get("on_time_rate")
    return (-(rate if rate is not None else -1.0), -(row.get("completed") or 0), row.get("name") or "")


def build_snapshot(tx: "Transaction", center: Center, period_from: date, period_to: date) -> dict[str, Any]:
    """The aggregates a report publishes, as JSON-ready values."""
    from esupervision.models.clocks.lights_query import light_counts
    from esupervision.models.supervision.statistics import GroupBy, compute_statistics

    session = tx.session
    departments = {d.id: d for d in session.scalars(select(Department).where(Department.center_id == center.id))}
    windows = {w.id: w for w in session.scalars(select(Window).where(Window.center_id == center.id))}

    by_department = compute_statistics(session, period_from=period_from, period_to=period_to,
                                       group_by=GroupBy.DEPARTMENT, center_id=center.id)
    department_rows = [_row(r) for r in by_department.rows]
    listed = {row["id"] for row in department_rows}
    department_rows += [{"id": str(d.id), "name": d.name, **{name: 0 for name in FIGURES}}
                        for d in departments.values() if str(d.id) not in listed]
    # A department with no case in the period is listed as 无办件, not ranked last: there is
    # nothing to compare (its rates would read as 0 %).
    for row in department_rows:
        row["no_cases"] = not (row.get("received") or row.get("handled") or row.get("completed"))
        if row["no_cases"]:
            row.update({name: None for name in FIGURES if name.endswith(("_rate", "_days", "_score"))})
    department_rows.sort(key=lambda row: (row["no_cases"], *_rank_key(row)))
    for rank, row in enumerate((r for r in department_rows if not r["no_cases"]), start=1):
        row["rank"] = rank
    for row in department_rows:
        row.setdefault("rank", None)
        row["rank_label"] = "无办件" if row["no_cases"] else str(row["rank"])

    by_window = compute_statistics(session, period_from=period_from, period_to=period_to,
                                   group_by=GroupBy.WINDOW, center_id=center.id)
    window_rows = []
    for r in by_window.rows:
        window = windows.get(_uuid(r.key_id))
        dept = departments.get(window.department_id) if window else None
        window_rows.append(_row(r, department_id=str(dept.id) if dept else None,
                                department_name=dept.name if dept else None))
    window_rows.sort(key=lambda w: (w["department_name"] or "", w["name"] or ""))

    trend = []
    for start, end in trend_months(period_to):
        month = compute_statistics(session, period_from=start, period_to=end, group_by=GroupBy.CENTER,
                                   center_id=center.id).totals
        trend.append({"month": f"{start:%Y-%m}", "completed": month.completed, "on_time": month.on_time,
                      "on_time_rate": month.on_time_rate})

    lights = []
    for dept_id, counts in light_counts(session, now=tx.now).items():
        dept = departments.get(dept_id) if dept_id is not None else None
        if dept is None:
            continue
        lights.append({"id": str(dept.id), "name": dept.name, **{k: counts.get(k, 0)
                                                                  for k in ("white", "yellow", "red", "paused")}})
    lights.sort(key=lambda r: (-r["red"], -r["yellow"], r["name"]))

    return {
        "version": SNAPSHOT_VERSION,
        "title": f"{center.name}{period_label(period_from, period_to)}效能报告",
        "center": {"id": str(center.id), "code": center.code, "name": center.name},
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat(),
                   "label": period_label(period_from, period_to)},
        "published_at": jsonable(tx.now),
        "lights_as_of": jsonable(tx.now),
        "totals": _figures(by_department.totals),
        "departments": department_rows,
        "windows": window_rows,
        "trend": trend,
        "lights": lights,
        "accountability": accountability_summary(session, center_id=center.id, period_from=period_from,
                                                 period_to=period_to, departments=departments,
                                                 windows=windows),
    }


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def accountability_summary(session: Session, *, center_id: uuid.UUID, period_from: date, period_to: date,
                           departments: dict[uuid.UUID, Department],
                           windows: dict[uuid.UUID, Window]) -> dict[str, Any]:
    """效能责任追究处理情况: the suggestions made in the period, by their status at publication, by
    sanction and by department; ``named`` lists the confirmed or changed ones whose rule lets the
    names be shown (the leaders' copy only: the public reads counts)."""
    from esupervision.models.supervision.accountability import SANCTION_LABELS, AccountabilitySuggestion, Sanction

    def label(code: str) -> str:
        return SANCTION_LABELS.get(Sanction(code), code) if code in set(Sanction) else code

    start, end = _instants(period_from, period_to)
    rows = session.scalars(select(AccountabilitySuggestion).where(
        AccountabilitySuggestion.center_id == center_id, AccountabilitySuggestion.created_at >= start,
        AccountabilitySuggestion.created_at < end)).all()
    staff_ids = {r.staff_id for r in rows if r.staff_id and r.show_names}
    staff_names = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))).all()) \
        if staff_ids else {}
    summary: dict[str, Any] = {"total": 0, **{s: 0 for s in SUGGESTION_STATUSES}}
    by_sanction: dict[str, dict[str, Any]] = {}
    by_department: dict[str, dict[str, Any]] = {}
    named = []
    for row in rows:
        status = row.status if row.status in SUGGESTION_STATUSES else "pending"
        dept = departments.get(row.department_id) if row.department_id else None
        groups = (by_sanction.setdefault(row.sanction, {"key": row.sanction, "label": label(row.sanction)}),
                  by_department.setdefault(str(dept.id) if dept else "", {
                      "key": str(dept.id) if dept else None, "label": dept.name if dept else "未定部门"}))
        for counter in (summary, *groups):
            counter["total"] = counter.get("total", 0) + 1
            counter[status] = counter.get(status, 0) + 1
        if status in ("confirmed", "changed") and row.show_names:
            window = windows.get(row.window_id) if row.window_id else None
            named.append({"department": dept.name if dept else "", "window": window.name if window else None,
                          "staff": staff_names.get(row.staff_id) if row.staff_id else None,
                          "sanction": label(row.sanction), "status": status})
    fill = {s: 0 for s in SUGGESTION_STATUSES}
    summary["by_sanction"] = sorted(({**fill, **g} for g in by_sanction.values()),
                                    key=lambda g: (-g["total"], g["key"]))
    summary["by_department"] = sorted(({**fill, **g} for g in by_department.values()),
                                      key=lambda g: (-g["total"], g["label"]))
    summary["named"] = sorted(named, key=lambda n: (n["department"], n["window"] or "", n["staff"] or ""))
    return summary


def _instants(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """[start, end) of a period of local days, both ends included."""
    start = datetime.combine(period_from, time(0), LOCAL_TZ)
    return start, datetime.combine(period_to + timedelta(days=1), time(0), LOCAL_TZ)


def public_snapshot(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as the public reads it: aggregates only, no person's name anywhere."""
    accountability = {k: v for k, v in snapshot.get("accountability", {}).items() if k != "named"}
    return {**snapshot, "accountability": accountability}


# ----------------------------------------------------------------------------- links

def link_signature(secret: str, report_id: uuid.UUID | str, window_id: uuid.UUID | str | None = None, *,
                   expires: int | str) -> str:
    """The signature that lets a link download one report's PDF (the center's, or one window's)
    without logging in, until ``expires`` (seconds since the epoch, on the wall clock)."""
    scope = f"{report_id}:{window_id or 'center'}:{expires}"
    return hmac.new(secret.encode(), scope.encode(), hashlib.sha256).hexdigest()[:24]


def pdf_path(secret: str, report_id: uuid.UUID, window_id: uuid.UUID | None = None, *, expires: int) -> str:
    """``/reports/{id}.pdf?…`` signed for one report (and window) until ``expires``."""
    window = f"window={window_id}&" if window_id else ""
    sig = link_signature(secret, report_id, window_id, expires=expires)
    return f"/reports/{report_id}.pdf?{window}exp={expires}&sig={sig}"


def link_expired(expires: int) -> bool:
    """Whether a link signed until ``expires`` has expired (the wall clock, as it was signed by)."""
    return expires < wall.time()


def report_link(tx: "Transaction", report_id: uuid.UUID, window_id: uuid.UUID | None = None) -> str:
    """The download link sent by SMS: valid ``report_link_days`` from now."""
    expires = int(wall.time() + tx.settings.report_link_days * 86400)
    return tx.settings.public_url.rstrip("/") + pdf_path(tx.settings.jwt_secret, report_id, window_id, expires=expires)


# ----------------------------------------------------------------------------- publishing

def publish_report(tx: "Transaction", *, center_id: uuid.UUID, period_from: date,
                   period_to: date) -> Publication:
    """Publish ``center_id``'s efficiency report for ``period_from``..``period_to`` (inclusive).

    Refused with REPORT_PERIOD_INVALID for a period that ends before it starts or has not ended,
    CENTER_NOT_FOUND for an unknown center; either way nothing changes. A period already
    published returns that report (``created=False``) and changes nothing. Otherwise the report
    row, its ``report.published`` ledger event and the SMS notices to the center's leaders and
    to each window unit are written together in ``tx``.
    """
    check_period(period_from, period_to, today=local_date(tx.now))
    center = tx.session.get(Center, center_id)
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, "中心不存在", center=center_id)
    existing = find_report(tx.session, center_id=center_id, period_from=period_from, period_to=period_to)
    if existing is not None:
        return Publication(existing, created=False)
    snapshot = build_snapshot(tx, center, period_from, period_to)
    report = PublishedReport(center_id=center.id, period_from=period_from, period_to=period_to,
                             title=snapshot["title"], published_at=tx.now, published_by=tx.actor,
                             snapshot=snapshot)
    report.snapshot["id"] = str(report.id)
    tx.session.add(report)
    tx.session.flush()
    from esupervision.models.cases.casework import row_change
    event = tx.ledger.append(
        center_id=center.id, kind="report.published", subject_type="report", subject_id=report.id,
        occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor, changes=[row_change(report)],
        data={"title": report.title, "period_from": period_from.isoformat(), "period_to": period_to.isoformat(),
              "departments": len(snapshot["departments"]), "windows": len(snapshot["windows"])})
    tx.flush()   # the event's id, for the notices below
    notices = _notify(tx, report, center, event.id)
    tx.announce("report.published", {"report_id": str(report.id), "center_id": str(center.id),
                                     "period_from": period_from.isoformat(), "period_to": period_to.isoformat()},
                event)
    return Publication(report, created=True, notices=notices)


def _notify(tx: "Transaction", report: PublishedReport, center: Center, event_id: int | None) -> int:
    """SMS to the center's leaders (the whole report) and to each reported window's staff (their
    window's copy)."""
    from esupervision.models.access.account import Account
    from esupervision.models.notices.notice import NoticeDraft, add_notices

    session = tx.session
    period = report.snapshot["period"]["label"]
    leaders = list(session.execute(select(Staff.id, Staff.phone).where(
        Staff.center_id == center.id, Staff.is_leader, Staff.phone.is_not(None))).all())
    leaders += session.execute(select(Staff.id, Staff.phone).join(Account, Account.staff_id == Staff.id).where(
        Account.role == "center_admin", Account.center_id == center.id, Account.active,
        Staff.phone.is_not(None))).all()
    drafts = []
    center_link = report_link(tx, report.id)
    for staff_id, phone in {s.id: s for s in leaders}.values():
        drafts.append(NoticeDraft(
            key=f"report:{report.id}:center", subject_type="report", subject_id=report.id,
            center_id=center.id, ledger_event_id=event_id, template="report_published",
            params={"period": period, "subject": center.name, "link": center_link},
            phone=phone, recipient_kind="staff", staff_id=staff_id))
    window_ids = [uuid.UUID(w["id"]) for w in report.snapshot["windows"] if w.get("id")]
    if window_ids:
        names = {w["id"]: w["name"] for w in report.snapshot["windows"]}
        staff = session.execute(select(Staff.id, Staff.phone, Staff.window_id).where(
            Staff.window_id.in_(window_ids), Staff.phone.is_not(None))).all()
        for staff_id, phone, window_id in staff:
            drafts.append(NoticeDraft(
                key=f"report:{report.id}:window:{window_id}", subject_type="report", subject_id=report.id,
                center_id=center.id, ledger_event_id=event_id, template="report_published",
                params={"period": period, "subject": names[str(window_id)],
                        "link": report_link(tx, report.id, window_id)},
                phone=phone, recipient_kind="staff", staff_id=staff_id))
    return add_notices(tx, drafts)


# ----------------------------------------------------------------------------- reading

def find_report(session: Session, *, center_id: uuid.UUID, period_from: date,
                period_to: date) -> PublishedReport | None:
    """The report published for exactly this center and period, if any."""
    return session.scalars(select(PublishedReport).where(
        PublishedReport.center_id == center_id, PublishedReport.period_from == period_from,
        PublishedReport.period_to == period_to)).first()


def published_reports(session: Session, *, center_id: uuid.UUID | None = None, period_from: date | None = None,
                      period_to: date | None = None, limit: int = 100) -> list[PublishedReport]:
    """Published reports, newest period first; with a period, those lying within it."""
    if period_from is not None and period_to is not None and period_to < period_from:
        raise DomainError(ErrorCode.REPORT_PERIOD_INVALID,
                          f"报告期结束日 {day_text(period_to)} 早于开始日 {day_text(period_from)}")
    query = select(PublishedReport).order_by(PublishedReport.period_to.desc(), PublishedReport.period_from,
                                             PublishedReport.id).limit(limit)
    if center_id is not None:
        query = query.where(PublishedReport.center_id == center_id)
    if period_from is not None:
        query = query.where(PublishedReport.period_from >= period_from)
    if period_to is not None:
        query = query.where(PublishedReport.period_to <= period_to)
    return list(session.scalars(query))


def get_report(session: Session, report_id: uuid.UUID) -> PublishedReport:
    """The report ``report_id``; REPORT_NOT_FOUND if there is none."""
    report = session.get(PublishedReport, report_id)
    if report is None:
        raise DomainError(ErrorCode.REPORT_NOT_FOUND, "报告不存在", report=report_id)
    return report
