"""Efficiency statistics (效能统计) for any period, grouped by center, department, window, staff or item.

Case figures come from the daily rollup (``models/supervision/rollup.py``, kept with every case
event and rebuilt from the ledger); figures of the other supervision subjects (urges, orders,
complaints, evaluations, faults) are counted from their own tables. Days are Asia/Shanghai dates
and a period includes both ends. Definitions:

- received (接件): cases whose first event (online submission, or acceptance at the window) falls in the period
- accepted: cases accepted (by a person or deemed by law) in the period
- handled (办件): cases in hand at some time in the period (accepted by its end, not ended before its start)
- completed (结件): cases completed (approved or denied) in the period; on_time includes early ones
- overdue: completed past their deadline; early: completed with at least one working day to spare
- over_legal_limit (超法定时限): completed past their legal limit (法定时限, 行政许可法 art. 42, with
  an approved extension; 补正 and art. 45's procedures not counted), whatever their committed limit
- returned (退件): cases rejected in the period
- supplement_requests: 补正 requests in the period
- suspended_days: working days the clocks of the completed cases stood still (补正, 特别程序)
- average / p90 handling days: working days from acceptance to completion, less suspended days
  (p90: nearest rank)
- urges / orders: issued in the period; answered on time: an urge replied by its reply deadline
  (any reply when it has none), an order replied before its first deadline without escalation
- complaints: complaints (not consultations) filed in the period; evaluations and their mean
  score: ratings given in the period, deemed ones (基本满意) included
- errors (出错): faults that occurred in the period and are not revoked (one under appeal counts)

Grouping by staff and by item at once (or one with a filter on the other) is refused: the rollup
keeps staff and item rows apart.
"""
from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.base import day_text
from esupervision.models.catalogue.catalogue import Center, Department, Item, Staff, Window
from esupervision.models.clocks.clock import LOCAL_TZ
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.supervision.rollup import NONE_ID, Level, StatisticsDay, StatisticsHandling


class GroupBy(StrEnum):
    CENTER = "center"
    DEPARTMENT = "department"
    WINDOW = "window"
    STAFF = "staff"
    ITEM = "item"


GROUP_LABELS = {GroupBy.CENTER: "中心", GroupBy.DEPARTMENT: "部门", GroupBy.WINDOW: "窗口",
                GroupBy.STAFF: "工作人员", GroupBy.ITEM: "事项"}
UNASSIGNED = "（未指定）"


@dataclass
class StatisticsRow:
    """The figures of one group (or of all groups: the totals row, whose key_id is None)."""

    key_id: uuid.UUID | None
    key_name: str
    key_code: str | None = None
    received: int = 0
    accepted: int = 0
    handled: int = 0
    completed: int = 0
    on_time: int = 0
    early: int = 0
    overdue: int = 0
    over_legal_limit: int = 0
    errors: int = 0
    returned: int = 0
    supplement_requests: int = 0
    suspended_days: int = 0
    average_handling_days: float | None = None
    p90_handling_days: int | None = None
    on_time_rate: float | None = None
    early_rate: float | None = None
    urges: int = 0
    urges_answered_on_time: int = 0
    orders: int = 0
    orders_answered_on_time: int = 0
    complaints: int = 0
    evaluations: int = 0
    evaluation_score: float | None = None
    # Running sums behind the averages (not shown).
    handling_histogram: Counter = field(default_factory=Counter, repr=False)
    score_sum: int = field(default=0, repr=False)


# Metrics added up row by row for the totals.
SUMMED = ("received", "accepted", "handled", "completed", "on_time", "early", "overdue", "over_legal_limit",
          "errors", "returned", "supplement_requests", "suspended_days", "urges", "urges_answered_on_time",
          "orders", "orders_answered_on_time", "complaints", "evaluations", "score_sum")


@dataclass
class StatisticsTable:
    period_from: date
    period_to: date
    group_by: GroupBy
    rows: list[StatisticsRow]
    totals: StatisticsRow


def period_instants(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of a period of local days, both ends included."""
    start = datetime.combine(period_from, time(0), LOCAL_TZ)
    end = datetime.combine(period_to + timedelta(days=1), time(0), LOCAL_TZ)
    return start, end


EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)   # the calendar's span


def check_period(period_from: date, period_to: date) -> None:
    """Refuse a period that ends before it starts, or lies outside the calendar's years."""
    if not (EARLIEST <= period_from <= LATEST and EARLIEST <= period_to <= LATEST):
        raise DomainError(ErrorCode.INVALID_PERIOD,
                          f"统计期间应在 {day_text(EARLIEST)} 至 {day_text(LATEST)} 之间",
                          period_from=period_from.isoformat(), period_to=period_to.isoformat())
    if period_to < period_from:
        raise DomainError(ErrorCode.INVALID_PERIOD,
                          f"统计期间的结束日期 {day_text(period_to)} 早于开始日期 {day_text(period_from)}",
                          period_from=period_from.isoformat(), period_to=period_to.isoformat())


def p90(histogram: Counter) -> int | None:
    """The nearest-rank 90th percentile of a histogram {value: count} (None when empty)."""
    n = sum(histogram.values())
    if n <= 0:
        return None
    rank = math.ceil(0.9 * n)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


def _finish(row: StatisticsRow) -> StatisticsRow:
    counted = sum(row.handling_histogram.values())
    if counted:
        total = sum(v * n for v, n in row.handling_histogram.items())
        row.average_handling_days = round(total / counted, 2)
        row.p90_handling_days = p90(row.handling_histogram)
    if row.completed:
        row.on_time_rate = round(row.on_time / row.completed, 4)
        row.early_rate = round(row.early / row.completed, 4)
    if row.evaluations:
        row.evaluation_score = round(row.score_sum / row.evaluations, 2)
    return row


def _source_level(group_by: GroupBy, window_id: Any, staff_id: Any, item_id: Any) -> Level:
    staff = group_by is GroupBy.STAFF or staff_id is not None
    item = group_by is GroupBy.ITEM or item_id is not None
    if staff and item:
        raise DomainError(ErrorCode.STATISTICS_FILTER_UNSUPPORTED,
                          "不支持同时按工作人员和事项统计或筛选", group_by=group_by.value)
    if staff:
        return Level.STAFF
    if item:
        return Level.ITEM
    if group_by is GroupBy.WINDOW or window_id is not None:
        return Level.WINDOW
    return Level.DEPARTMENT


def _names(session: Session, group_by: GroupBy, ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str | None, str]]:
    model: Any = {GroupBy.CENTER: Center, GroupBy.DEPARTMENT: Department, GroupBy.WINDOW: Window,
                  GroupBy.STAFF: Staff, GroupBy.ITEM: Item}[group_by]
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {i: (code, name) for i, code, name in
            session.execute(select(model.id, model.code, model.name).where(model.id.in_(wanted)))}


def compute_statistics(session: Session, *, period_from: date, period_to: date, group_by: GroupBy,
                       center_id: uuid.UUID | None = None, department_id: uuid.UUID | None = None,
                       window_id: uuid.UUID | None = None, staff_id: uuid.UUID | None = None,
                       item_id: uuid.UUID | None = None) -> StatisticsTable:
    """Efficiency statistics of ``period_from`` .. ``period_to`` (local days, both included), one row
    per group with any activity, and a totals row. Raises INVALID_PERIOD when the period ends
    before it starts, STATISTICS_FILTER_UNSUPPORTED for staff and item together."""
    group_by = GroupBy(group_by)
    check_period(period_from, period_to)
    level = _source_level(group_by, window_id, staff_id, item_id)
    filters = {"center_id": center_id, "department_id": department_id, "window_id": window_id,
               "staff_id": staff_id, "item_id": item_id}
    rows: dict[uuid.UUID | None, StatisticsRow] = {}

    def row(key: uuid.UUID | None) -> StatisticsRow:
        key = None if key == NONE_ID else key
        found = rows.get(key)
        if found is None:
            found = rows[key] = StatisticsRow(key_id=key, key_name=UNASSIGNED)
        return found

    _case_figures(session, level, group_by, filters, period_from, period_to, row)
    for counter in SUBJECT_COUNTERS:
        counter(session, group_by, filters, period_from, period_to, row)

    names = _names(session, group_by, {k for k in rows if k is not None})
    for key, found in rows.items():
        if key in names:
            found.key_code, found.key_name = names[key]
    ordered = sorted(rows.values(), key=lambda r: (r.key_id is None, r.key_code or "", r.key_name))
    totals = StatisticsRow(key_id=None, key_name="合计")
    for found in ordered:
        for name in SUMMED:
            setattr(totals, name, getattr(totals, name) + getattr(found, name))
        totals.handling_histogram.update(found.handling_histogram)
        _finish(found)
    return StatisticsTable(period_from, period_to, group_by, ordered, _finish(totals))


def _case_figures(session: Session, level: Level, group_by: GroupBy, filters: dict[str, Any],
                  period_from: date, period_to: date, row: Any) -> None:
    days = StatisticsDay.__table__  # type: ignore[attr-defined]
    group = days.c[f"{group_by.value}_id"]
    in_period = days.c.day >= period_from
    conditions = [days.c.level == level.value, days.c.day <= period_to]
    conditions += [days.c[name] == value for name, value in filters.items() if value is not None]
    period_metrics = ("received", "accepted", "completed", "on_time", "early", "overdue", "over_legal_limit",
                      "returned", "supplement_requests", "suspended_days")
    # Cases in hand: accepted up to the end, less those ended before the start (whole history).
    query = select(group, *(func.sum(days.c[m]).filter(in_period) for m in period_metrics),
                   func.sum(days.c.accepted) - func.coalesce(func.sum(days.c.closed).filter(~in_period), 0)
                   ).where(*conditions).group_by(group)
    for key, *values in session.execute(query):
        *sums, handled = values
        if not any(sums) and not handled:
            continue
        found = row(key)
        for name, value in zip(period_metrics, sums, strict=True):
            setattr(found, name, int(value or 0))
        found.handled = int(handled or 0)
    hist = StatisticsHandling.__table__  # type: ignore[attr-defined]
    conditions = [hist.c.level == level.value, hist.c.day >= period_from, hist.c.day <= period_to]
    conditions += [hist.c[name] == value for name, value in filters.items() if value is not None]
    group = hist.c[f"{group_by.value}_id"]
    query = (select(group, hist.c.handling_days, func.sum(hist.c.count)).where(*conditions)
             .group_by(group, hist.c.handling_days))
    for key, handling, count in session.execute(query):
        if count:
            row(key).handling_histogram[int(handling)] += int(count)


def count_subject(session: Session, model: Any, instant: Any, group_by: GroupBy, filters: dict[str, Any],
                  period_from: date, period_to: date, figures: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows of another subject's table whose ``instant`` falls in the period, grouped like the
    statistics: (group key, *one count per condition of ``figures``). A plain GROUP BY (these
    tables are small next to the cases)."""
    start, end = period_instants(period_from, period_to)
    group = getattr(model, f"{group_by.value}_id")
    conditions = [instant >= start, instant < end]
    conditions += [getattr(model, name) == value for name, value in filters.items() if value is not None]
    counts = [func.count() if cond is True else func.count().filter(cond) for cond in figures.values()]
    return list(session.execute(select(group, *counts).where(*conditions).group_by(group)))


def _urges(session: Session, group_by: GroupBy, filters: dict[str, Any], period_from: date, period_to: date,
           row: Any) -> None:
    from esupervision.models.supervision.orders import Urge

    # An urge without a reply deadline is answered on time by any reply.
    answered = Urge.replied_at.is_not(None) & (Urge.reply_due_at.is_(None)  # type: ignore[union-attr]
                                               | (Urge.replied_at <= Urge.reply_due_at))  # type: ignore[operator]
    for key, urges, on_time in count_subject(session, Urge, Urge.created_at, group_by, filters, period_from,
                                             period_to, {"urges": True, "urges_answered_on_time": answered}):
        found = row(key)
        found.urges += urges
        found.urges_answered_on_time += on_time


def _orders(session: Session, group_by: GroupBy, filters: dict[str, Any], period_from: date, period_to: date,
            row: Any) -> None:
    from esupervision.models.supervision.orders import SupervisionOrder as Order

    for key, orders, on_time in count_subject(session, Order, Order.issued_at, group_by, filters, period_from,
                                              period_to, {"orders": True,
                                                          "orders_answered_on_time": Order.replied_on_time.is_(True)}):  # type: ignore[attr-defined]
        found = row(key)
        found.orders += orders
        found.orders_answered_on_time += on_time


def _complaints(session: Session, group_by: GroupBy, filters: dict[str, Any], period_from: date,
                period_to: date, row: Any) -> None:
    from esupervision.models.public.complaint import Complaint

    # Consultations (咨询) are questions, not complaints: not counted here.
    for key, complaints in count_subject(session, Complaint, Complaint.filed_at, group_by, filters, period_from,
                                         period_to, {"complaints": Complaint.kind == "complaint"}):
        row(key).complaints += complaints


def _evaluations(session: Session, group_by: GroupBy, filters: dict[str, Any], period_from: date,
                 period_to: date, row: Any) -> None:
    from esupervision.models.public.evaluation import Evaluation

    start, end = period_instants(period_from, period_to)
    group = getattr(Evaluation, f"{group_by.value}_id")
    conditions = [Evaluation.rated_at >= start, Evaluation.rated_at < end]
    conditions += [getattr(Evaluation, name) == value for name, value in filters.items() if value is not None]
    # Deemed ratings (nobody rated in time: 基本满意) count, as the rating rules say.
    for key, n, score in session.execute(select(group, func.count(), func.sum(Evaluation.score))
                                         .where(*conditions).group_by(group)):
        found = row(key)
        found.evaluations += n
        found.score_sum += int(score or 0)


def _errors(session: Session, group_by: GroupBy, filters: dict[str, Any], period_from: date, period_to: date,
            row: Any) -> None:
    from esupervision.models.supervision.accountability import Fault, FaultStatus

    # A revoked fault no longer counts; one under appeal still does until it is decided.
    for key, errors in count_subject(session, Fault, Fault.occurred_at, group_by, filters, period_from, period_to,
                                     {"errors": Fault.status != FaultStatus.REVOKED.value}):
        row(key).errors += errors


# Counters of the other subjects: f(session, group_by, filters, period_from, period_to, row),
# each adding its figures to ``row(key)``, on the day each was issued, filed, rated or occurred.
SUBJECT_COUNTERS: list[Any] = [_urges, _orders, _complaints, _evaluations, _errors]


def statistics_columns() -> list[tuple[str, str]]:
    """(attribute, Chinese header) of every figure, in the order reports show them."""
    return [("received", "接件"), ("accepted", "受理"), ("handled", "办件"), ("completed", "结件"),
            ("on_time", "按时办结"), ("early", "提前办结"), ("overdue", "超期办结"),
            ("over_legal_limit", "超法定时限"), ("on_time_rate", "按时办结率"),
            ("early_rate", "提前办结率"), ("average_handling_days", "平均办理工作日"),
            ("p90_handling_days", "90%办理工作日"), ("returned", "退件"), ("supplement_requests", "补正告知"),
            ("suspended_days", "暂停计时工作日"), ("errors", "出错"), ("urges", "催办"),
            ("urges_answered_on_time", "催办按时反馈"), ("orders", "督办"), ("orders_answered_on_time", "督办按时反馈"),
            ("complaints", "投诉"), ("evaluations", "评价数"), ("evaluation_score", "评价平均分")]


def row_values(row: StatisticsRow) -> dict[str, Any]:
    """The shown figures of a row as a plain dict."""
    hidden = {"handling_histogram", "score_sum"}
    return {f.name: getattr(row, f.name) for f in fields(row) if f.name not in hidden}


# ----------------------------------------------------------------------------- who sees what

def scoped_filters(viewer: Any, group_by: GroupBy, filters: dict[str, uuid.UUID | None]) -> dict[str, uuid.UUID | None]:
    """The filters narrowed to what ``viewer`` may see (decision 9): supervision all, a center
    admin its center, a department leader or system its department, window staff their window;
    anyone else aggregates only (no staff rows or staff filter). Raises FORBIDDEN when a filter
    names something outside the scope."""
    from esupervision.models.access.scope import Role, scope_unit

    scoped = dict(filters)
    if viewer.role is Role.SUPERVISOR:
        return scoped
    forced = scope_unit(viewer)
    if forced is not None:
        name, value = forced
        if value is None or (scoped.get(name) is not None and scoped[name] != value):
            raise DomainError(ErrorCode.FORBIDDEN, "无权查看该范围的统计 statistics outside your scope")
        scoped[name] = value
        return scoped
    # The public and applicants: aggregates of centers, departments, windows and items only.
    if group_by is GroupBy.STAFF or scoped.get("staff_id") is not None:
        raise DomainError(ErrorCode.FORBIDDEN, "公众只能查看汇总统计，不能按工作人员统计 no staff figures for the public")
    return scoped


# ----------------------------------------------------------------------------- coverage

@dataclass
class CenterCoverage:
    """How much of a center's catalogue is handled in the center and under electronic supervision."""

    center_id: uuid.UUID
    center_code: str
    center_name: str
    items: int
    in_center: int
    supervised: int


def center_coverage(session: Session, *, center_id: uuid.UUID | None = None) -> list[CenterCoverage]:
    """Per center: items in its catalogue, items handled in the center (进驻), items under
    electronic supervision (纳入电子监察)."""
    query = (select(Center.id, Center.code, Center.name, func.count(Item.id),
                    func.count(Item.id).filter(Item.in_center), func.count(Item.id).filter(Item.supervised))
             .join(Item, Item.center_id == Center.id, isouter=True)
             .group_by(Center.id, Center.code, Center.name).order_by(Center.code))
    if center_id is not None:
        query = query.where(Center.id == center_id)
    return [CenterCoverage(*row) for row in session.execute(query)]


@dataclass
class StepReporting:
    """One step of an item: how many of its completions (环节办结) were reported as they happened."""

    name: str
    events: int = 0
    realtime_events: int = 0

    @property
    def realtime(self) -> bool:
        return self.events > 0 and self.realtime_events == self.events


@dataclass
class ItemReporting:
    """An item's steps and how they were reported in a period."""

    item_id: uuid.UUID
    item_code: str
    item_name: str
    center_id: uuid.UUID
    department_id: uuid.UUID
    steps: list[StepReporting]
    events: int = 0             # every case event of the item's cases
    realtime_events: int = 0    # of those, recorded within the threshold of when they happened

    @property
    def realtime_steps(self) -> int:
        return sum(1 for s in self.steps if s.realtime)


def reporting_coverage(session: Session, *, period_from: date, period_to: date, realtime_minutes: float,
                       center_id: uuid.UUID | None = None, department_id: uuid.UUID | None = None,
                       item_id: uuid.UUID | None = None) -> list[ItemReporting]:
    """Per item: how many of its steps are reported electronically as they happen rather than
    entered afterwards. An event is "as it happens" when the ledger recorded it at most
    ``realtime_minutes`` after the instant it claims (``recorded_at - occurred_at``); a step counts
    when every completion of it in the period was (``case.advance`` names the step; ``case.complete``
    ends the item's last step). Events are those that occurred in the period."""
    from esupervision.models.cases.case import Case
    from esupervision.models.catalogue.catalogue import ItemStep
    from esupervision.models.ledger.ledger import LedgerEvent

    check_period(period_from, period_to)
    start, end = period_instants(period_from, period_to)
    items_query = select(Item).order_by(Item.code)
    for column, value in ((Item.center_id, center_id), (Item.department_id, department_id), (Item.id, item_id)):
        if value is not None:
            items_query = items_query.where(column == value)
    items = list(session.scalars(items_query))
    if not items:
        return []
    ids = [i.id for i in items]
    step_names: dict[uuid.UUID, list[str]] = {}
    for iid, name in session.execute(select(ItemStep.item_id, ItemStep.name).where(ItemStep.item_id.in_(ids))
                                     .order_by(ItemStep.item_id, ItemStep.seq, ItemStep.name)):
        if name not in step_names.setdefault(iid, []):
            step_names[iid].append(name)
    out = {i.id: ItemReporting(i.id, i.code, i.name, i.center_id, i.department_id,
                               [StepReporting(n) for n in step_names.get(i.id, ["办理"])]) for i in items}
    cutoff = timedelta(minutes=realtime_minutes)
    events = (select(Case.item_id, LedgerEvent.kind, LedgerEvent.data["step"].as_string(),
                     LedgerEvent.occurred_at, LedgerEvent.recorded_at)
              .join(Case, Case.id == LedgerEvent.subject_id)
              .where(LedgerEvent.subject_type == "case", LedgerEvent.occurred_at >= start,
                     LedgerEvent.occurred_at < end, Case.item_id.in_(ids)))
    for iid, kind, step, occurred, recorded in session.execute(events):
        item = out[iid]
        live = recorded - occurred <= cutoff
        item.events += 1
        item.realtime_events += live
        if kind == "case.complete" and item.steps:
            step = item.steps[len(step_names.get(iid, ["办理"])) - 1].name   # completion ends the last step
        if kind in ("case.advance", "case.complete"):
            found = next((s for s in item.steps if s.name == step), None)
            if found is None:
                found = StepReporting(step or "办理")
                item.steps.append(found)
            found.events += 1
            found.realtime_events += live
    return list(out.values())
