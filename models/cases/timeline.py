"""Full-process tracking (全程监督): one time-ordered story of a case.

Each module contributes the entries it knows about through ``register_timeline_source``: the
core gives the case's ledger events (steps, pauses, extensions, lights), the notices sent and
their delivery status; supervision gives urges, orders, replies and escalations; faults,
complaints and evaluations add theirs. ``case_timeline`` merges them in time order.

A source is ``fn(session, case) -> list[TimelineEntry]``. It reads, never writes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.base import utc
from esupervision.models.cases.case import ACTION_LABELS, SUSPEND_LABELS, Case, Step, SuspendKind
from esupervision.models.clocks.clock import Clock
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.cases.report import CaseAction


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a case, as the timeline shows it."""

    at: datetime
    kind: str                       # e.g. case.accept, step.done, light.red, urge.created, notice
    title: str                      # what a person reads (中文)
    actor: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    ledger_event_id: int | None = None


TimelineSource = Callable[[Session, Case], list[TimelineEntry]]
_sources: list[TimelineSource] = []


def register_timeline_source(fn: TimelineSource) -> TimelineSource:
    """Add ``fn`` to the sources every timeline merges (idempotent; usable as a decorator)."""
    if fn not in _sources:
        _sources.append(fn)
    return fn


def case_timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """Every entry of every registered source for ``case``, oldest first.

    Entries at the same instant keep ledger order (then source order), so a step that ends and
    the next that starts in one event read in the order they were recorded.
    """
    entries: list[TimelineEntry] = []
    for source in list(_sources):
        entries.extend(source(session, case))
    return sorted(entries, key=lambda e: (utc(e.at), e.ledger_event_id or 0))


# ----------------------------------------------------------------------------- the core's sources

_LIGHT_TITLES = {"yellow": "亮黄灯（即将到期）", "red": "亮红灯（已超期）"}
_SUBJECT_LABELS = {"case": "办件", "step": "环节", "acceptance": "受理时限"}
# A case's legal-limit clock (法定时限) speaks in the words of the law, not of the committed limit.
_LEGAL_TITLES = {"yellow": "法定时限即将届满（法定时限黄灯）", "red": "超过法定时限（行政许可法第四十二条）"}


def _day_word(basis: str | None) -> str:
    """How a limit's days are said: 自然日 on a natural-day clock, else 工作日."""
    return "自然日" if basis == "natural" else "工作日"


def _case_event_title(event: LedgerEvent, basis: str | None = None) -> str:
    action = event.kind.split(".", 1)[1]
    if event.kind == "case.deemed_accepted":
        return "视为受理（网上申报逾期未答复，行政许可法第32条）"
    try:
        label = ACTION_LABELS[CaseAction(action)]
    except ValueError:
        label = action
    if action == "suspend":
        kind = event.data.get("kind")
        procedure = SUSPEND_LABELS.get(SuspendKind(kind)) if kind in set(SuspendKind) else kind
        return f"{label}：{procedure}" if procedure else label
    if action in ("reject", "withdraw", "request_supplement") and event.data.get("reason"):
        return f"{label}：{event.data['reason']}"
    if action == "extend" and event.data.get("days"):
        return f"{label} {event.data['days']} 个{_day_word(basis)}"
    if action == "advance" and event.data.get("step"):
        return f"{label}：{event.data['step']}"   # which one: a joint approval runs several
    return label


def _against_limit(clock: Clock | None) -> tuple[str, dict[str, Any]]:
    """"（用时 X / 时限 Y 个工作日）" (自然日 on a natural-day clock) of a finished clock, and the same as detail."""
    if clock is None or clock.outcome is None:
        return "", {}
    limit = clock.limit_days + clock.extended_days
    used = limit + (clock.outcome_days or 0) * (1 if clock.outcome == "overdue" else -1)
    label = {"early": "提前办结", "on_time": "按时办结", "overdue": "超期办结"}.get(clock.outcome, clock.outcome)
    return (f"，{label}（用时 {used} / 时限 {limit} 个{_day_word(clock.basis)}）",
            {"outcome": clock.outcome, "used_days": used, "limit_days": limit, "paused_days": clock.paused_days})


def ledger_entries(session: Session, case: Case) -> list[TimelineEntry]:
    """The case's own ledger events (actions and lights) and its steps' lights; the completion
    says how long the case took against its limit."""
    step_ids = list(session.scalars(select(Step.id).where(Step.case_id == case.id)))
    subjects = [case.id, *step_ids]
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id.in_(subjects))
                             .order_by(LedgerEvent.id)).all()
    entries = []
    case_clock = session.get(Clock, case.clock_id) if case.clock_id is not None else None
    for event in events:
        if event.kind.startswith("case."):
            title = _case_event_title(event, case_clock.basis if case_clock else None)
        elif event.kind.startswith("light."):
            light = event.kind.split(".", 1)[1]
            subject = _SUBJECT_LABELS.get(event.subject_type, event.subject_type)
            title = (_LEGAL_TITLES.get(light, light) if event.subject_type == "legal_limit"
                     else f"{subject}{_LIGHT_TITLES.get(light, light)}")
        else:
            continue   # other modules' events on the case are theirs to show
        detail = {k: v for k, v in event.data.items() if k not in ("number",)}
        if event.kind == "case.complete" and case.clock_id is not None:
            suffix, summary = _against_limit(session.get(Clock, case.clock_id))
            title, detail = title + suffix, {**detail, **summary}
        if event.late:
            detail["late"] = True
            detail["recorded_at"] = event.recorded_at.isoformat()
        entries.append(TimelineEntry(at=event.occurred_at, kind=event.kind, title=title, actor=event.actor,
                                     detail=detail, ledger_event_id=event.id))
    return entries


def _step_limit(days: int, basis: str | None = None) -> str:
    """A step's limit as staff say it: a limit of 0 days is the day the step starts."""
    return "时限：当日办结" if days == 0 else f"时限 {days} 个{_day_word(basis)}"


def step_entries(session: Session, case: Case) -> list[TimelineEntry]:
    """Each finished step: who handled it, and how long it took against its own limit."""
    from esupervision.models.catalogue.catalogue import Department, Staff

    rows = session.execute(
        select(Step, Clock, Department.name, Staff.name).join(Clock, Clock.id == Step.clock_id, isouter=True)
        .join(Department, Department.id == Step.department_id, isouter=True)
        .join(Staff, Staff.id == Step.staff_id, isouter=True)
        .where(Step.case_id == case.id).order_by(Step.seq)).all()
    entries = []
    for step, clock, department, staff in rows:
        detail: dict[str, Any] = {"step": step.name, "seq": step.seq, "limit_days": step.limit_days,
                                  "department": department, "staff": staff, "status": step.status,
                                  "started_at": step.started_at.isoformat()}
        if clock is not None:
            detail.update(due_at=clock.due_at.isoformat() if clock.due_at else None,
                          paused_days=clock.paused_days, outcome=clock.outcome,
                          outcome_days=clock.outcome_days,
                          pauses=clock.pauses)
        entries.append(TimelineEntry(at=step.started_at, kind="step.started",
                                     title=f"环节「{step.name}」开始（{_step_limit(step.limit_days, clock.basis if clock else None)}）",
                                     actor=staff, detail=detail))
        if step.finished_at is not None:
            outcome = {"early": "提前办结", "on_time": "按时办结", "overdue": "超期办结"}.get(
                clock.outcome if clock else None, "结束")
            # Days used against the limit in force: spare days back off it, late days on top.
            suffix, summary = _against_limit(clock)
            title = f"环节「{step.name}」{suffix.lstrip('，')}" if suffix else f"环节「{step.name}」{outcome}"
            entries.append(TimelineEntry(at=step.finished_at, kind=f"step.{step.status}", title=title,
                                         actor=staff, detail={**detail, **summary}))
    return entries


def notice_entries(session: Session, case: Case) -> list[TimelineEntry]:
    """Every notice written for the case (to the applicant or to staff) and its delivery status."""
    from esupervision.models.notices.notice import Notice
    from esupervision.models.notices import templates

    channel_labels = {"sms": "短信", "voice": "语音电话"}
    status_labels = {"queued": "待发送", "sending": "发送中", "retrying": "重试中", "sent": "已发送",
                     "delivered": "已送达", "undelivered": "未送达", "failed": "发送失败"}
    entries = []
    for notice in session.scalars(select(Notice).where(Notice.case_id == case.id).order_by(Notice.created_at)):
        audience = "申请人" if notice.recipient_kind == "applicant" else "工作人员"
        entries.append(TimelineEntry(
            at=notice.created_at, kind="notice",
            title=f"{channel_labels.get(notice.channel, notice.channel)}通知{audience}（{templates.label(notice.template)}）："
                  f"{status_labels.get(notice.status, notice.status)}",
            actor=None,
            detail={"channel": notice.channel, "template": notice.template, "status": notice.status,
                    "recipient_kind": notice.recipient_kind, "provider": notice.provider,
                    "sent_at": notice.sent_at.isoformat() if notice.sent_at else None,
                    "finished_at": notice.finished_at.isoformat() if notice.finished_at else None,
                    "error_code": notice.error_code},
            ledger_event_id=notice.ledger_event_id))
    return entries


register_timeline_source(ledger_entries)
register_timeline_source(step_entries)
register_timeline_source(notice_entries)
