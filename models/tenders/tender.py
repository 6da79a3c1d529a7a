"""Tenders (招投标项目): lots (标段), bids, the evaluation committee, candidates, the award, the
contract, bonds, objections (异议) and complaints (投诉), with every statutory period on a clock of
the core (``models/clocks/clock.py``) citing its article (``models/tenders/rules.py``).

One service function per stage event (``publish``, ``submit_bid``, ``open_bids`` …), all reached
through ``handle_tender_event``: it checks the stage order and the law, moves the clocks, updates
the rows, recomputes the tender's red flags and appends the ledger event, in the caller's
transaction. A breach is refused with a ``DomainError`` naming the rule and its article, and
nothing changes. ``ingest_tender_events`` takes a batch from the tender center's system,
idempotent by the system's own event id, with a result per event.
"""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from esupervision.models.clocks import tally
from esupervision.models.base import day_text, local_time, utc
from esupervision.models.cases.casework import Outcome, row_change
from esupervision.models.catalogue.catalogue import Center, Department
from esupervision.models.clocks.clock import (LOCAL_TZ, Clock, ClockState, ClockStateError, SubjectType, WarningRule,
                                              end_of_day, fixed_deadline, finish_clock, light_name_at,
                                              local_date, next_announcement, pause_clock, resume_clock,
                                              start_clock)
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.tenders.records import Tender, TenderBid, TenderLot, TenderObjection, TenderStageRow
from esupervision.models.tenders.rules import (ACTION_LABELS, ALLOWED, CLOCKS,
                                               STAGE_LABELS, ClockKind, Rule, StagePeriod, TenderAction,
                                               TenderStage, clock_rule, committee_problem, rule)
from esupervision.models.ledger.transaction import Transaction

FUTURE_TOLERANCE = timedelta(minutes=5)
OPEN_CLOCK = (ClockState.RUNNING.value, ClockState.PAUSED.value)
# Main-line clocks an objection or an ordered suspension stops (条例 22, 44, 54, 62).
MAIN_LINE = frozenset({ClockKind.PREQUALIFICATION, ClockKind.BIDDING, ClockKind.EVALUATION,
                       ClockKind.PUBLISH_CANDIDATES, ClockKind.PUBLICITY})
# While suspended these actions wait for the answer (条例 22: 暂停招标投标活动).
HELD_WHILE_SUSPENDED = frozenset({TenderAction.PREQUALIFY, TenderAction.OPEN, TenderAction.REPORT_EVALUATION,
                                  TenderAction.PUBLISH_CANDIDATES, TenderAction.AWARD,
                                  TenderAction.SIGN_CONTRACT})
WARNING = WarningRule(min_days=1, fraction=0.2)
# Events about bids: before the opening nobody learns of them, not even their number (法 22).
BID_ACTIONS = frozenset({TenderAction.SUBMIT_BID, TenderAction.WITHDRAW_BID})


# ----------------------------------------------------------------------------- events

@dataclass(frozen=True)
class TenderEvent:
    """One stage event as the tender center's system (or a person, through a mutation) reports it.

    ``attributes`` holds the action's own arguments, e.g. for ``publish``: center_code, title,
    tenderer, estimate, sale_end, bid_deadline, lots …; for ``submit_bid``: bidder, bidder_code,
    price, lot, bond_amount, bond_account, machine_code, project_manager, content.
    """

    source_event_id: str
    tender_code: str
    action: TenderAction
    occurred_at: datetime
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class TenderState:
    """A tender with its lots, bids, stages and objections, loaded (and locked) for one event."""

    tender: Tender
    lots: list[TenderLot]
    bids: list[TenderBid]
    stages: list[TenderStageRow]
    objections: list[TenderObjection]

    def lot(self, code: str | None) -> TenderLot:
        if code is None:
            if len(self.lots) == 1:
                return self.lots[0]
            raise DomainError(ErrorCode.LOT_NOT_FOUND, f"项目 {self.tender.code} 有 {len(self.lots)} 个标段，请指明标段 (lot required)",
                              tender=self.tender.code)
        for lot in self.lots:
            if lot.code == str(code):
                return lot
        raise DomainError(ErrorCode.LOT_NOT_FOUND, f"标段 {code} 不存在", tender=self.tender.code, lot=code)

    def lot_bids(self, lot: TenderLot, *, live: bool = True) -> list[TenderBid]:
        return [b for b in self.bids if b.lot_id == lot.id and (not live or b.status != "withdrawn")]

    def open_stages(self, *kinds: ClockKind) -> list[TenderStageRow]:
        wanted = {k.value for k in kinds} if kinds else None
        return [s for s in self.stages if s.status in ("running", "paused")
                and (wanted is None or s.kind in wanted)]


def load_tender(tx: Transaction, code: str, *, lock: bool = True) -> TenderState | None:
    """The tender with this code and everything belonging to it; None when there is none."""
    session = tx.session
    query = select(Tender).where(Tender.code == code)
    tender = session.scalars(query.with_for_update() if lock else query).first()
    if tender is None:
        return None
    lots = list(session.scalars(select(TenderLot).where(TenderLot.tender_id == tender.id).order_by(TenderLot.code)))
    bids = list(session.scalars(select(TenderBid).where(TenderBid.tender_id == tender.id)
                                .order_by(TenderBid.submitted_at, TenderBid.bidder_code)))
    stages = list(session.scalars(select(TenderStageRow).where(TenderStageRow.tender_id == tender.id)
                                  .order_by(TenderStageRow.seq)))
    objections = list(session.scalars(select(TenderObjection).where(TenderObjection.tender_id == tender.id)
                                      .order_by(TenderObjection.number)))
    return TenderState(tender, lots, bids, stages, objections)


class _Work:
    """One event's rows: what it touched (for the ledger) and the clocks' tally contributions."""

    def __init__(self, tx: Transaction, state: TenderState | None) -> None:
        self.tx = tx
        self.state = state
        self.touched: dict[tuple[str, uuid.UUID], SQLModel] = {}
        self.counted: dict[uuid.UUID, Any] = {}
        self.clocks: dict[uuid.UUID, Clock] = {}
        self.stage_changed = False

    def touch(self, *rows: SQLModel) -> None:
        for row in rows:
            self.touched[(row.__tablename__, row.id)] = row  # type: ignore[attr-defined]

    def clock(self, stage: TenderStageRow) -> Clock:
        clock = self.clocks.get(stage.clock_id)
        if clock is None:
            clock = self.tx.session.get(Clock, stage.clock_id)
            if clock is None:
                raise DomainError(ErrorCode.INVALID_EVENT, f"阶段 {stage.name} 的计时不存在")
            self.clocks[clock.id] = clock
            self.counted.setdefault(clock.id, tally.contribution(clock))
        return clock

    def changes(self) -> list[dict[str, Any]]:
        """Queue the light tally's deltas and return the ledger's record of every touched row."""
        deltas: Counter = Counter()
        for clock_id, before in self.counted.items():
            tally.add_change(deltas, before, tally.contribution(self.clocks[clock_id]))
        self.tx.count_lights(deltas)
        self.counted = {cid: tally.contribution(c) for cid, c in self.clocks.items()}
        order = {"clock": 0, "tender": 1, "tender_lot": 2, "tender_bid": 3, "tender_stage": 4,
                 "tender_objection": 5, "tender_red_flag": 6}
        rows = sorted(self.touched.values(), key=lambda r: order.get(r.__tablename__, 9))  # type: ignore[attr-defined]
        self.touched = {}
        return [row_change(r) for r in rows]


# ----------------------------------------------------------------------------- refusals

def breach(code: ErrorCode, rule_code: str, detail: str, **details: Any) -> DomainError:
    """A refusal citing the rule it enforces: 「detail（article：rule text）」."""
    r: Rule = rule(rule_code)
    return DomainError(code, f"{detail}（{r.article}：{r.text}）", rule=rule_code, article=r.article, **details)


def _attr(ev: TenderEvent, name: str, *, required: bool = False, default: Any = None) -> Any:
    value = ev.attributes.get(name, default)
    if required and value in (None, ""):
        raise DomainError(ErrorCode.INVALID_EVENT, f"{ACTION_LABELS[ev.action]} 需要 {name} ({name} required)",
                          tender=ev.tender_code, event=ev.source_event_id)
    return value


def _instant(ev: TenderEvent, name: str, *, required: bool = False, default: datetime | None = None) -> datetime | None:
    value = _attr(ev, name, required=required)
    if value in (None, ""):
        return default
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        return utc(instant)
    except (TypeError, ValueError):
        raise DomainError(ErrorCode.INVALID_EVENT, f"{name}={value!r} 不是带时区的时间 (aware ISO instant required)",
                          tender=ev.tender_code, event=ev.source_event_id) from None


def _amount(ev: TenderEvent, name: str, *, required: bool = False, default: float | None = None) -> float | None:
    value = _attr(ev, name, required=required)
    if value in (None, ""):
        return default
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise DomainError(ErrorCode.INVALID_EVENT, f"{name}={value!r} 不是金额", tender=ev.tender_code,
                          event=ev.source_event_id) from None
    if amount < 0 or amount != amount:
        raise DomainError(ErrorCode.INVALID_EVENT, f"{name}={value!r} 不能为负", tender=ev.tender_code,
                          event=ev.source_event_id)
    return amount


def natural_days(a: datetime, b: datetime) -> int:
    """Days from a to b counted as the law counts them: the first day does not count."""
    return (local_date(b) - local_date(a)).days


# ----------------------------------------------------------------------------- clocks

def earliest_end(calendar: Any, started_at: datetime, days: int, paused_days: int = 0) -> datetime:
    """The first lawful instant to end a floor of ``days`` natural days started at ``started_at``:
    the start of its last day, the start day not counted (民法典 201), a last day that is a rest
    day moved to the next working day (民法典 203; it only makes the floor later), and the days
    the period was suspended added."""
    last = calendar.natural_period_end(local_date(started_at), days + paused_days)
    return utc(datetime.combine(last, datetime.min.time(), LOCAL_TZ))


def check_floor(calendar: Any, rule_code: str, start: datetime, end: datetime, code: str, what: str) -> None:
    """Refuse a period the tenderer sets shorter than its floor (a plan, before anything happens)."""
    r = rule(rule_code)
    first = earliest_end(calendar, start, r.days or 0)
    if utc(end) < first:
        raise breach(ErrorCode.PERIOD_TOO_SHORT, rule_code,
                     f"{what} {natural_days(start, end)} 日，最早应于 {day_text(first)} 届满",
                     tender=code, earliest_end=first.isoformat())


def _new_stage(work: _Work, kind: ClockKind, at: datetime, rule_code: str, period: StagePeriod,
               objection: TenderObjection | None = None) -> TenderStageRow:
    state = work.state
    assert state is not None
    tender = state.tender
    stage = TenderStageRow(tender_id=tender.id, center_id=tender.center_id,
                           seq=max((s.seq for s in state.stages), default=0) + 1, kind=kind.value,
                           name=CLOCKS[kind][0], rule=rule_code, started_at=at, clock_id=None,
                           objection_id=objection.id if objection else None, period_kind=period.value)
    work.tx.session.add(stage)
    state.stages.append(stage)
    work.touch(stage)
    return stage


def _start(work: _Work, kind: ClockKind, at: datetime, *, due_at: datetime | None = None,
           objection: TenderObjection | None = None, rule_code: str | None = None,
           committed: bool = False) -> TenderStageRow:
    """Open a deadline: a stage row and its clock of the core, due after the rule's days (or at
    ``due_at``, a time the trading center committed to when ``committed``)."""
    state = work.state
    assert state is not None
    tender = state.tender
    rule_code = rule_code or CLOCKS[kind][1]
    r = rule(rule_code)
    stage = _new_stage(work, kind, at, rule_code, StagePeriod.COMMITTED if committed else StagePeriod.DEADLINE, objection)
    limit = r.days or 0
    if due_at is not None:
        limit = max(1, natural_days(at, due_at))
        stage.scheduled_end = due_at
    record = start_clock(work.tx.calendar(tender.center_id), center_id=tender.center_id,
                         subject_type=SubjectType.TENDER_STAGE, subject_id=stage.id, started_at=at,
                         limit_days=min(limit, 730), basis=r.basis, rule=WARNING,
                         department_id=tender.authority_department_id, due_at=due_at)
    clock = Clock(**{c.key: getattr(record, c.key) for c in Clock.__table__.columns})  # type: ignore[attr-defined]
    work.tx.session.add(clock)
    work.clocks[clock.id] = clock
    work.counted[clock.id] = None
    stage.clock_id = clock.id
    work.touch(clock, stage)
    return stage


def _start_floor(work: _Work, kind: ClockKind, at: datetime, *, scheduled_end: datetime | None,
                 applies: bool = True) -> TenderStageRow:
    """Open a period the law gives a floor: no clock and no light, only its earliest lawful end
    (and the end the tenderer set). Where the floor does not apply (a tender not legally required
    to be tendered) the period is only the tenderer's schedule."""
    state = work.state
    assert state is not None
    r = clock_rule(kind)
    stage = _new_stage(work, kind, at, r.code, StagePeriod.FLOOR if applies else StagePeriod.NONE)
    stage.scheduled_end = scheduled_end
    if applies:
        stage.earliest_end = earliest_end(work.tx.calendar(state.tender.center_id), at, r.days or 0)
    return stage


def _start_untimed(work: _Work, kind: ClockKind, at: datetime) -> TenderStageRow:
    """Open a period with no statutory length and no committed time (评标, 条例 48): no light."""
    return _new_stage(work, kind, at, CLOCKS[kind][1], StagePeriod.NONE)


def _finish(work: _Work, stage: TenderStageRow, at: datetime, *, cancelled: bool = False) -> None:
    """End a period. A floor ended before its earliest lawful end is a ``floor_breach``: it is
    recorded (it happened) and becomes a fault citing its article (fault_detection)."""
    if stage.clock_id is not None:
        clock = work.clock(stage)
        if clock.state in OPEN_CLOCK:
            finish_clock(clock, work.tx.calendar(stage.center_id), at=max(at, clock.started_at), cancelled=cancelled)
        work.touch(clock)
    elif stage.status == "paused":
        _resume(work, stage, at)
    stage.status = "cancelled" if cancelled else "done"
    stage.finished_at = at
    if stage.period_kind == StagePeriod.FLOOR.value and not cancelled and stage.earliest_end is not None \
            and stage.outcome != "floor_breach":
        stage.outcome = "lawful" if utc(at) >= stage.earliest_end else "floor_breach"
    work.touch(stage)


def _pause(work: _Work, stage: TenderStageRow, at: datetime, kind: str) -> None:
    if stage.clock_id is None:
        if stage.status == "running":
            stage.status, stage.paused_at = "paused", at
            work.touch(stage)
        return
    clock = work.clock(stage)
    if clock.state == ClockState.RUNNING.value:
        pause_clock(clock, at=max(at, clock.started_at), kind=kind)
        stage.status = "paused"
        work.touch(clock, stage)


def _resume(work: _Work, stage: TenderStageRow, at: datetime) -> None:
    if stage.clock_id is None:
        if stage.status == "paused" and stage.paused_at is not None:
            # The days suspended (d with date(pause) < d <= date(resume)) do not count: the
            # tenderer's end and the floor move by as many days.
            days = max(0, (local_date(at) - local_date(stage.paused_at)).days)
            stage.paused_days += days
            if stage.scheduled_end is not None:
                stage.scheduled_end = stage.scheduled_end + timedelta(days=days)
            if stage.earliest_end is not None:
                stage.earliest_end = earliest_end(work.tx.calendar(stage.center_id), stage.started_at,
                                                  rule(stage.rule).days or 0, stage.paused_days)
            stage.status, stage.paused_at = "running", None
            work.touch(stage)
        return
    clock = work.clock(stage)
    if clock.state == ClockState.PAUSED.value:
        resume_clock(clock, work.tx.calendar(stage.center_id), at=max(at, clock.paused_at or at))
        stage.status = "running"
        work.touch(clock, stage)


def _end_of(work: _Work, stage: TenderStageRow) -> datetime | None:
    """The end a period runs to now: the tenderer's (a floor) or its clock's deadline."""
    if stage.clock_id is None:
        return stage.scheduled_end
    return work.clock(stage).due_at


def _move_due(work: _Work, stage: TenderStageRow, due_at: datetime, at: datetime) -> None:
    """A period the tenderer set moves (an amendment pushing the deadline back)."""
    stage.scheduled_end = due_at
    work.touch(stage)
    if stage.clock_id is None:
        return
    clock = work.clock(stage)
    limit = max(1, natural_days(clock.started_at, due_at))
    deadline = fixed_deadline(clock.started_at, due_at, limit_days=limit, rule=WARNING)
    clock.limit_days = min(limit, 730)
    clock.due_at, clock.yellow_at, clock.red_at = deadline.due_at, deadline.yellow_at, deadline.red_at
    if clock.state == ClockState.RUNNING.value:
        clock.announced_light = light_name_at(clock, at)
        clock.next_announce_at = next_announcement(clock)
    work.touch(clock)


def _close_elapsed_sales(work: _Work, at: datetime) -> None:
    """The sale of documents ends by time alone, at the end the tenderer set."""
    state = work.state
    assert state is not None
    for stage in state.open_stages(ClockKind.SALE):
        if stage.scheduled_end is not None and stage.scheduled_end <= at:
            _finish(work, stage, stage.scheduled_end)


# ----------------------------------------------------------------------------- entry points

def ingest_tender_events(tx: Transaction, events: list[TenderEvent], *, source: str) -> list[Outcome]:
    """A batch from the tender center's system: each event applied or refused on its own (a
    refusal changes nothing), answered per event; a repeat of ``(source, source_event_id)`` is a
    no-op answered ``duplicate`` with the ledger id it had."""
    seen = _recorded(tx, [ev.source_event_id for ev in events], source)
    outcomes: list[Outcome] = []
    for ev in events:
        try:
            outcome = _apply_one(tx, ev, source, seen)
        except DomainError as exc:
            outcomes.append(Outcome(ev.source_event_id, "refused", code=str(exc.code), message=exc.message))
            continue
        outcomes.append(outcome)
    if any(o.event is not None for o in outcomes):
        tx.flush()
    return [o.resolved() for o in outcomes]


def handle_tender_event(tx: Transaction, ev: TenderEvent, *, source: str) -> Outcome:
    """Apply one stage event, or raise the DomainError that refuses it (changing nothing)."""
    # One event: a refusal rolls the caller's whole transaction back, so no savepoint is needed.
    outcome = _apply_one(tx, ev, source, _recorded(tx, [ev.source_event_id], source), savepoint=False)
    if outcome.event is not None:
        tx.flush()
    return outcome.resolved()


def _recorded(tx: Transaction, ids: list[str], source: str) -> dict[str, Outcome]:
    seen: dict[str, Outcome] = {}
    for start in range(0, len(ids), 1000):
        for event_id, ledger_id, late in tx.session.execute(
                select(LedgerEvent.source_event_id, LedgerEvent.id, LedgerEvent.late).where(
                    LedgerEvent.source == source, LedgerEvent.source_event_id.in_(ids[start:start + 1000]))):  # type: ignore[union-attr]
            seen[event_id] = Outcome(event_id, "duplicate", ledger_id=ledger_id, late=late)
    return seen


def _apply_one(tx: Transaction, ev: TenderEvent, source: str, seen: dict[str, Outcome], *,
               savepoint: bool = True) -> Outcome:
    previous = seen.get(ev.source_event_id)
    if previous is not None:
        return Outcome(ev.source_event_id, "duplicate", previous.ledger_id, previous.late, event=previous.event)
    nested = tx.session.begin_nested() if savepoint else None
    try:
        outcome = _handle(tx, ev, source)
    except ClockStateError as exc:
        if nested is not None:
            nested.rollback()
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"计时状态不允许该操作 ({exc.reason})",
                          tender=ev.tender_code) from exc
    except BaseException:
        if nested is not None:
            nested.rollback()
        raise
    if nested is not None:
        nested.commit()
    seen[ev.source_event_id] = outcome
    return outcome


def _handle(tx: Transaction, ev: TenderEvent, source: str) -> Outcome:
    at = utc(ev.occurred_at)
    if at > tx.now + FUTURE_TOLERANCE:
        raise DomainError(ErrorCode.EVENT_IN_FUTURE, f"事件时间 {local_time(at)} 晚于当前时间，不予记录",
                          tender=ev.tender_code, event=ev.source_event_id)
    state = load_tender(tx, ev.tender_code)
    stage = TenderStage(state.tender.stage) if state else None
    if state is None and ev.action is not TenderAction.PUBLISH:
        raise DomainError(ErrorCode.TENDER_NOT_FOUND, f"招标项目 {ev.tender_code} 不存在", tender=ev.tender_code)
    if stage not in ALLOWED[ev.action]:
        if state is not None and ev.action is TenderAction.PUBLISH:
            raise DomainError(ErrorCode.TENDER_EXISTS, f"招标项目编号 {ev.tender_code} 已存在", tender=ev.tender_code)
        allowed = "、".join(STAGE_LABELS[s] for s in ALLOWED[ev.action] if s is not None)
        raise breach(ErrorCode.TENDER_STAGE_ORDER, "STAGE_ORDER",
                     f"项目 {ev.tender_code} 当前处于「{STAGE_LABELS[stage] if stage else '未发布'}」阶段，"
                     f"不能{ACTION_LABELS[ev.action]}（应在：{allowed}）", tender=ev.tender_code, stage=stage)
    if state is not None and at < state.tender.published_at:
        raise DomainError(ErrorCode.EVENT_BEFORE_CASE, f"事件时间早于项目发布时间 {local_time(state.tender.published_at)}",
                          tender=ev.tender_code)
    if state is not None and state.tender.suspended and ev.action in HELD_WHILE_SUSPENDED:
        raise breach(ErrorCode.TENDER_SUSPENDED, "OBJECTION_ANSWER_DAYS",
                     f"项目 {ev.tender_code} 因异议或投诉暂停中，不能{ACTION_LABELS[ev.action]}", tender=ev.tender_code)
    work = _Work(tx, state)
    if state is not None:
        _close_elapsed_sales(work, at)
    data = _HANDLERS[ev.action](work, ev, at)
    state = work.state
    assert state is not None
    tender = state.tender
    before_stage = stage
    tender.last_event_at = max(tender.last_event_at, at)
    work.touch(tender)
    from esupervision.models.tenders import redflags
    raised = redflags.refresh(work, at)
    changes = work.changes()
    late = (tx.now - at) > timedelta(hours=tx.settings.late_report_hours)
    event = tx.ledger.append(center_id=tender.center_id, kind=f"tender.{ev.action.value}", subject_type="tender",
                             subject_id=tender.id, occurred_at=at, recorded_at=tx.now,
                             data={"code": tender.code, "stage": tender.stage, **data}, changes=changes,
                             actor=tx.actor, source=source, source_event_id=ev.source_event_id, late=late)
    message = {"code": tender.code, "kind": event.kind, "center_id": str(tender.center_id),
               "authority_department_id": str(tender.authority_department_id) if tender.authority_department_id else None,
               "stage": tender.stage, "previous_stage": before_stage.value if before_stage else None}
    if ev.action not in BID_ACTIONS:   # a bid is nobody's news before the opening (法 22)
        tx.announce("tender.event", message, event)
    if before_stage is None or before_stage.value != tender.stage:
        tx.announce("tender.stage_changed", message, event)
    redflags.record_raised(work, tender, raised, at)
    if ev.action is TenderAction.OPEN:   # flags about the bids, found while they were sealed
        redflags.record_unsealed(work, tender, at)
    return Outcome(ev.source_event_id, "accepted", late=late, event=event)


# ----------------------------------------------------------------------------- handlers

def _publish(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """发布招标公告并发售文件: the sale (条例 16), pre-qualification (条例 17) and bidding (法 24)
    periods are checked before anything is written."""
    tx = work.tx
    center_code = _attr(ev, "center_code", required=True)
    center = tx.session.scalars(select(Center).where(Center.code == center_code)).first()
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {center_code} 不存在", center=center_code)
    authority_id = None
    if _attr(ev, "authority_department_code"):
        # The authority is a department of the tender center's own government (its parent center).
        dept = tx.session.scalars(select(Department).where(
            Department.code == _attr(ev, "authority_department_code"),
            Department.center_id.in_([c for c in (center.parent_id, center.id) if c]))  # type: ignore[attr-defined]
            .order_by(Department.center_id == center.id)).first()
        if dept is None:
            raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, f"部门 {_attr(ev, 'authority_department_code')} 不存在")
        authority_id = dept.id
    method = str(_attr(ev, "method", default="open"))
    if method not in ("open", "invited"):
        raise DomainError(ErrorCode.INVALID_EVENT, f"招标方式 {method!r} 应为 open 或 invited")
    criteria = str(_attr(ev, "award_criteria", default="comprehensive"))
    if criteria not in ("price_only", "comprehensive"):
        raise DomainError(ErrorCode.INVALID_EVENT, f"评标办法 {criteria!r} 应为 price_only 或 comprehensive")
    estimate = _amount(ev, "estimate", required=True)
    ceiling = _amount(ev, "ceiling_price")
    legally_required = bool(_attr(ev, "legally_required", default=True))
    prequal = bool(_attr(ev, "prequalification", default=False))
    sale_start = _instant(ev, "sale_start", default=at)
    sale_end = _instant(ev, "sale_end", required=True)
    assert sale_start is not None and sale_end is not None
    calendar = tx.calendar(center.id)
    check_floor(calendar, "SALE_MIN_DAYS", sale_start, sale_end, ev.tender_code, "发售期")
    prequal_deadline = bid_deadline = None
    if prequal:
        prequal_deadline = _instant(ev, "prequal_deadline", required=True)
        assert prequal_deadline is not None
        if legally_required:
            check_floor(calendar, "PREQUAL_MIN_DAYS", sale_end, prequal_deadline, ev.tender_code,
                        "资格预审申请截止距发售结束")
    else:
        bid_deadline = _instant(ev, "bid_deadline", required=True)
        assert bid_deadline is not None
        _check_bid_period(calendar, legally_required, sale_start, bid_deadline, ev.tender_code)
        if bid_deadline < sale_end:
            raise breach(ErrorCode.PERIOD_TOO_SHORT, "SALE_MIN_DAYS", "投标截止时间早于文件发售结束", tender=ev.tender_code)
    lots_spec = _attr(ev, "lots") or [{"code": "01", "name": _attr(ev, "title", required=True),
                                       "estimate": estimate, "ceiling_price": ceiling}]
    tender = Tender(center_id=center.id, code=ev.tender_code, title=_attr(ev, "title", required=True),
                    tenderer=_attr(ev, "tenderer", required=True), agency=_attr(ev, "agency"),
                    tenderer_code=_attr(ev, "tenderer_code"), agency_code=_attr(ev, "agency_code"),
                    authority=_attr(ev, "authority"), authority_department_id=authority_id, method=method,
                    legally_required=legally_required, state_funded=bool(_attr(ev, "state_funded", default=False)),
                    prequalification=prequal, award_criteria=criteria, estimate=estimate, ceiling_price=ceiling,
                    currency=str(_attr(ev, "currency", default="CNY")),
                    stage=(TenderStage.PREQUALIFICATION if prequal else TenderStage.BIDDING).value,
                    invited=[str(c) for c in _attr(ev, "invited", default=[]) or []],
                    published_at=at, sale_start=sale_start, sale_end=sale_end, prequal_deadline=prequal_deadline,
                    documents_issued_at=None if prequal else sale_start, bid_deadline=bid_deadline,
                    original_deadline=bid_deadline, last_event_at=at)
    lots = []
    for spec in lots_spec:
        lot_estimate = float(spec.get("estimate") or estimate)
        lots.append(TenderLot(tender_id=tender.id, code=str(spec.get("code") or f"{len(lots) + 1:02d}"),
                              name=str(spec.get("name") or tender.title), estimate=lot_estimate,
                              ceiling_price=float(spec["ceiling_price"]) if spec.get("ceiling_price") is not None else ceiling))
    if len({lot.code for lot in lots}) != len(lots):
        raise DomainError(ErrorCode.INVALID_EVENT, "标段编号重复 duplicate lot codes", tender=ev.tender_code)
    tx.session.add(tender)
    tx.session.flush()
    for lot in lots:
        tx.session.add(lot)
    tx.session.flush()
    work.state = TenderState(tender, lots, [], [], [])
    work.touch(tender, *lots)
    _start_floor(work, ClockKind.SALE, sale_start, scheduled_end=sale_end)
    if prequal:
        # 条例 17 counts the application time from the end of the sale.
        _start_floor(work, ClockKind.PREQUALIFICATION, sale_end, scheduled_end=prequal_deadline,
                     applies=legally_required)
    else:
        _start_floor(work, ClockKind.BIDDING, sale_start, scheduled_end=bid_deadline, applies=legally_required)
    return {"title": tender.title, "method": method, "legally_required": legally_required,
            "state_funded": tender.state_funded, "estimate": estimate, "ceiling_price": ceiling,
            "sale_start": sale_start, "sale_end": sale_end, "prequal_deadline": prequal_deadline,
            "bid_deadline": bid_deadline, "lots": [lot.code for lot in lots]}


def _check_bid_period(calendar: Any, legally_required: bool, issued: datetime, deadline: datetime, code: str) -> None:
    if legally_required:
        check_floor(calendar, "BID_MIN_DAYS", issued, deadline, code, "招标文件发出至投标截止")


def _prequalify(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """资格预审完成: the qualified applicants are invited; documents issued now, deadline ≥ 20 days."""
    state = work.state
    assert state is not None
    tender = state.tender
    qualified = [str(c) for c in _attr(ev, "qualified", required=True)]
    deadline = _instant(ev, "bid_deadline", required=True)
    assert deadline is not None
    _check_bid_period(work.tx.calendar(tender.center_id), tender.legally_required, at, deadline, tender.code)
    # Ended before its floor (条例 17) it still happened: recorded, and a fault.
    for stage in state.open_stages(ClockKind.PREQUALIFICATION):
        _finish(work, stage, at)
    tender.invited = sorted(set(tender.invited) | set(qualified)) if tender.method == "invited" else qualified
    tender.documents_issued_at, tender.bid_deadline, tender.original_deadline = at, deadline, deadline
    tender.stage = TenderStage.BIDDING.value
    _start_floor(work, ClockKind.BIDDING, at, scheduled_end=deadline, applies=tender.legally_required)
    return {"qualified": qualified, "bid_deadline": deadline}


def _amend(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """澄清或者修改 (法 23, 条例 21): with fewer than 15 days (3 for pre-qualification) left, the
    deadline moves back so that the days are there; an explicit new deadline must give them."""
    state = work.state
    assert state is not None
    tender = state.tender
    prequal = tender.stage == TenderStage.PREQUALIFICATION.value
    rule_code = "AMEND_PREQUAL_MIN_DAYS" if prequal else "AMEND_MIN_DAYS"
    min_days = rule(rule_code).days or 0
    current = tender.prequal_deadline if prequal else tender.bid_deadline
    assert current is not None
    wanted = _instant(ev, "new_deadline")
    affects = bool(_attr(ev, "affects_preparation", default=True))
    new = wanted or current
    if affects and natural_days(at, new) < min_days:
        if wanted is not None and wanted != current:
            raise breach(ErrorCode.PERIOD_TOO_SHORT, rule_code,
                         f"修改后截止时间距通知仅 {natural_days(at, wanted)} 日", tender=tender.code)
        # Moved back to the same time of day, ``min_days`` days after the notice.
        new = datetime.combine(local_date(at) + timedelta(days=min_days),
                               utc(current).astimezone(LOCAL_TZ).time(), LOCAL_TZ).astimezone(current.tzinfo)
    if new < current:
        raise breach(ErrorCode.PERIOD_TOO_SHORT, rule_code, "截止时间只能顺延，不能提前", tender=tender.code)
    if new != current:
        kind = ClockKind.PREQUALIFICATION if prequal else ClockKind.BIDDING
        for stage in state.open_stages(kind):
            _move_due(work, stage, new, at)
        if prequal:
            tender.prequal_deadline = new
        else:
            tender.bid_deadline = new
    tender.amendments += 1
    return {"summary": _attr(ev, "summary"), "deadline_before": current, "deadline": new,
            "pushed_back": new != current, "rule": rule_code}


def _object(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """异议: to the documents ≥ 10 days before the deadline (2 for pre-qualification documents),
    to the opening at the opening, to the candidates during publicity; answered in 3 days with
    the process suspended meanwhile (条例 22, 44, 54)."""
    state = work.state
    assert state is not None
    tender = state.tender
    about = str(_attr(ev, "about", default="documents"))
    if about == "documents":
        if tender.bid_deadline is None or natural_days(at, tender.bid_deadline) < 10:
            raise breach(ErrorCode.OBJECTION_TOO_LATE, "OBJECTION_DOCS_DAYS", "异议提出时距投标截止不足 10 日",
                         tender=tender.code)
    elif about == "prequalification":
        if tender.prequal_deadline is None or natural_days(at, tender.prequal_deadline) < 2:
            raise breach(ErrorCode.OBJECTION_TOO_LATE, "OBJECTION_PREQUAL_DAYS",
                         "异议提出时距资格预审申请截止不足 2 日", tender=tender.code)
    elif about == "candidates":
        if tender.stage != TenderStage.PUBLICITY.value:
            raise breach(ErrorCode.OBJECTION_TOO_LATE, "PUBLICITY_MIN_DAYS", "对评标结果的异议应当在公示期间提出",
                         tender=tender.code)
    elif about != "opening":
        raise DomainError(ErrorCode.INVALID_EVENT, f"异议事项 {about!r} 应为 documents / prequalification / opening / candidates")
    objection = TenderObjection(tender_id=tender.id, number=_next_number(state, "Y"), kind="objection",
                                about=about, party=str(_attr(ev, "party", default="投标人")), filed_at=at,
                                suspends=True)
    work.tx.session.add(objection)
    state.objections.append(objection)
    _suspend(work, at, "objection")
    _start(work, ClockKind.OBJECTION, at, objection=objection,
           rule_code="OPENING_OBJECTION" if about == "opening" else None)
    work.touch(objection)
    return {"number": objection.number, "about": about, "party": objection.party}


def _next_number(state: TenderState, letter: str) -> str:
    n = sum(1 for o in state.objections if o.number.startswith(f"{state.tender.code}-{letter}")) + 1
    return f"{state.tender.code}-{letter}{n}"


def _suspend(work: _Work, at: datetime, kind: str) -> None:
    state = work.state
    assert state is not None
    state.tender.suspended = True
    for stage in state.open_stages(*MAIN_LINE):
        _pause(work, stage, at, kind)


def _lift_suspension(work: _Work, at: datetime) -> None:
    """Resume the main line once no suspending objection or complaint is open."""
    state = work.state
    assert state is not None
    if any(o.suspends and o.status in ("open", "accepted") for o in state.objections):
        return
    state.tender.suspended = False
    for stage in state.open_stages(*MAIN_LINE):
        _resume(work, stage, at)
        if stage.kind == ClockKind.BIDDING.value:
            state.tender.bid_deadline = _end_of(work, stage)
        elif stage.kind == ClockKind.PREQUALIFICATION.value:
            state.tender.prequal_deadline = _end_of(work, stage)
        elif stage.kind == ClockKind.PUBLICITY.value:
            state.tender.publicity_end = _end_of(work, stage)


def _objection(state: TenderState, ev: TenderEvent, kind: str) -> TenderObjection:
    number = _attr(ev, "number")
    open_ones = [o for o in state.objections if o.kind == kind and o.status in ("open", "accepted")]
    if number:
        found = [o for o in state.objections if o.number == number and o.kind == kind]
    else:
        found = open_ones if len(open_ones) == 1 else []
    if not found:
        label = "异议" if kind == "objection" else "投诉"
        raise DomainError(ErrorCode.OBJECTION_NOT_FOUND,
                          f"项目 {state.tender.code} 没有{'编号为 ' + number + ' 的' if number else '唯一未结的'}{label}",
                          tender=state.tender.code)
    return found[0]


def _answer_objection(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    objection = _objection(state, ev, "objection")
    if objection.status != "open":
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"异议 {objection.number} 已答复")
    for stage in [s for s in state.open_stages(ClockKind.OBJECTION) if s.objection_id == objection.id]:
        _finish(work, stage, at)
    objection.status, objection.closed_at = "answered", at
    objection.result = _attr(ev, "answer")
    work.touch(objection)
    _lift_suspension(work, at)
    return {"number": objection.number, "answer": objection.result}


def _submit_bid(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """递交投标文件: refused after the deadline (法 28) or with a bond above 2 % of the estimate
    (条例 26); a resubmission before the deadline replaces the bidder's earlier bid (法 29)."""
    state = work.state
    assert state is not None
    tender = state.tender
    assert tender.bid_deadline is not None
    if at > tender.bid_deadline:
        raise breach(ErrorCode.BID_AFTER_DEADLINE, "LATE_BID",
                     f"投标文件于 {local_time(at)} 送达，晚于截止时间 {local_time(tender.bid_deadline)}",
                     tender=tender.code)
    lot = state.lot(_attr(ev, "lot"))
    bidder_code = str(_attr(ev, "bidder_code", required=True))
    if tender.invited and bidder_code not in tender.invited:
        raise DomainError(ErrorCode.BIDDER_NOT_INVITED,
                          f"投标人 {bidder_code} 不在受邀或资格预审合格名单中", tender=tender.code)
    price = _amount(ev, "price", required=True)
    bond = _amount(ev, "bond_amount", default=0.0) or 0.0
    limit = lot.estimate * (rule("BID_BOND_PERCENT").percent or 0) / 100
    if bond > limit + 0.005:
        raise breach(ErrorCode.BOND_EXCEEDS_LIMIT, "BID_BOND_PERCENT",
                     f"投标保证金 {bond:,.2f} 元超过标段估算价 {lot.estimate:,.2f} 元的 2%（{limit:,.2f} 元）",
                     tender=tender.code)
    content = _attr(ev, "content", default={}) or {}
    if not isinstance(content, dict):
        content = {"summary": str(content)}
    bid = next((b for b in state.bids if b.lot_id == lot.id and b.bidder_code == bidder_code), None)
    replaced = bid is not None and bid.status != "withdrawn"
    if bid is None:
        bid = TenderBid(tender_id=tender.id, lot_id=lot.id, bidder=str(_attr(ev, "bidder", required=True)),
                        bidder_code=bidder_code, price=price or 0.0, submitted_at=at, recorded_at=work.tx.now)
        work.tx.session.add(bid)
        state.bids.append(bid)
    bid.bidder = str(_attr(ev, "bidder", default=bid.bidder))
    bid.price, bid.content, bid.submitted_at, bid.recorded_at = price or 0.0, content, at, work.tx.now
    bid.status = "submitted"
    # Recorded after the deadline while claiming to precede it: visible to supervision (R030).
    bid.late_report = work.tx.now > tender.bid_deadline
    bid.machine_code = _attr(ev, "machine_code")
    bid.project_manager = _attr(ev, "project_manager")
    bid.bond_amount, bid.bond_account = bond, _attr(ev, "bond_account")
    tender.bid_count = sum(1 for b in state.bids if b.status != "withdrawn")
    work.touch(bid)
    # The ledger's readable data names the bidder, never the sealed price or content.
    return {"lot": lot.code, "bidder": bid.bidder, "bidder_code": bidder_code, "replaced": replaced,
            "late_report": bid.late_report, "bond_amount": bond}


def _withdraw_bid(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    tender = state.tender
    assert tender.bid_deadline is not None
    if at > tender.bid_deadline:
        raise breach(ErrorCode.BID_AFTER_DEADLINE, "LATE_BID", "投标截止后不能撤回投标文件", tender=tender.code)
    lot = state.lot(_attr(ev, "lot"))
    code = str(_attr(ev, "bidder_code", required=True))
    bid = next((b for b in state.lot_bids(lot) if b.bidder_code == code), None)
    if bid is None:
        raise DomainError(ErrorCode.BID_NOT_FOUND, f"投标人 {code} 在标段 {lot.code} 没有投标", tender=tender.code)
    bid.status = "withdrawn"
    tender.bid_count = sum(1 for b in state.bids if b.status != "withdrawn")
    work.touch(bid)
    return {"lot": lot.code, "bidder_code": code}


def _form_committee(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """组建评标委员会: 5 or more, odd, experts at least two thirds (法 37)."""
    state = work.state
    assert state is not None
    members = _attr(ev, "members", required=True)
    if not isinstance(members, list) or not all(isinstance(m, dict) and m.get("name") for m in members):
        raise DomainError(ErrorCode.INVALID_EVENT, "members 应为 [{name, kind: expert|tenderer}] 列表")
    problem = committee_problem(members)
    if problem:
        raise breach(ErrorCode.COMMITTEE_INVALID, "COMMITTEE", problem, tender=state.tender.code)
    state.tender.committee = [{"name": str(m["name"]), "kind": str(m.get("kind", "expert")),
                               "specialty": m.get("specialty")} for m in members]
    experts = sum(1 for m in members if m.get("kind", "expert") == "expert")
    return {"size": len(members), "experts": experts}


def _open(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """开标: at the deadline instant, never before it (法 34), never with fewer than 3 bids in a
    lot (法 28, 条例 44). The evaluation that follows has no statutory length (条例 48): it gets a
    clock and a light only when the trading center commits to a time (``evaluation_due``, or
    ``evaluation_days`` natural days)."""
    state = work.state
    assert state is not None
    tender = state.tender
    assert tender.bid_deadline is not None
    if at < tender.bid_deadline:
        raise breach(ErrorCode.OPENING_BEFORE_DEADLINE, "OPEN_AT_DEADLINE",
                     f"开标时间 {local_time(at)} 早于投标截止时间 {local_time(tender.bid_deadline)}", tender=tender.code)
    for lot in state.lots:
        count = len(state.lot_bids(lot))
        if count < 3:
            raise breach(ErrorCode.TOO_FEW_BIDS, "MIN_BIDDERS", f"标段 {lot.code} 仅有 {count} 个投标人",
                         tender=tender.code, lot=lot.code)
    committed = _instant(ev, "evaluation_due")
    days = _attr(ev, "evaluation_days")
    if committed is None and days not in (None, ""):
        try:
            committed = end_of_day(local_date(at) + timedelta(days=int(days))) - timedelta(seconds=1)
        except (TypeError, ValueError):
            raise DomainError(ErrorCode.INVALID_EVENT, f"evaluation_days={days!r} 不是天数", tender=tender.code) from None
    if committed is not None and committed <= at:
        raise DomainError(ErrorCode.INVALID_EVENT, "承诺的评标完成时间应晚于开标时间", tender=tender.code)
    for stage in state.open_stages(ClockKind.BIDDING, ClockKind.SALE):
        _finish(work, stage, at)
    tender.opened_at = at
    tender.stage = TenderStage.EVALUATION.value
    for lot in state.lots:
        lot.bidder_set = bidder_set(b.bidder_code for b in state.lot_bids(lot))
        work.touch(lot)
    if committed is not None:
        _start(work, ClockKind.EVALUATION, at, due_at=committed, committed=True)
    else:
        _start_untimed(work, ClockKind.EVALUATION, at)
    return {"bids": {lot.code: len(state.lot_bids(lot)) for lot in state.lots},
            "evaluation_due": committed}


def bidder_set(codes: Any) -> str:
    """The key of a group of bidders: their sorted codes (lots bid by the same group share it)."""
    return "|".join(sorted(set(codes)))


def _fail(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    for stage in state.open_stages():
        _finish(work, stage, at, cancelled=True)
    state.tender.stage = TenderStage.FAILED.value
    state.tender.failed_reason = str(_attr(ev, "reason", default="流标"))
    state.tender.closed_at = at
    return {"reason": state.tender.failed_reason}


def _report_evaluation(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """评标报告: ranked candidates (at most 3) and the bids rejected with their reasons."""
    state = work.state
    assert state is not None
    tender = state.tender
    if not tender.committee:
        raise breach(ErrorCode.COMMITTEE_INVALID, "COMMITTEE", "尚未依法组建评标委员会", tender=tender.code)
    per_lot = _attr(ev, "lots") or [{"lot": None, "candidates": _attr(ev, "candidates", required=True),
                                     "disqualified": _attr(ev, "disqualified", default=[])}]
    plans = []
    for spec in per_lot:
        lot = state.lot(spec.get("lot"))
        bids = {b.bidder_code: b for b in state.lot_bids(lot)}
        disqualified = {str(d["bidder_code"]): str(d.get("reason", "")) for d in spec.get("disqualified") or []}
        candidates = [str(c) for c in spec.get("candidates") or []]
        unknown = [c for c in [*candidates, *disqualified] if c not in bids]
        if unknown:
            raise DomainError(ErrorCode.BID_NOT_FOUND, f"标段 {lot.code} 没有投标人 {', '.join(unknown)} 的投标",
                              tender=tender.code)
        if not candidates or len(candidates) > 3 or set(candidates) & set(disqualified):
            raise DomainError(ErrorCode.INVALID_EVENT,
                              f"标段 {lot.code} 应推荐 1–3 名未被否决的中标候选人并排序（条例 53）", tender=tender.code)
        plans.append((lot, bids, candidates, disqualified))
    for lot, bids, candidates, disqualified in plans:
        for code, bid in bids.items():
            bid.status = "disqualified" if code in disqualified else "valid"
            bid.disqualify_reason = disqualified.get(code)
            work.touch(bid)
        lot.candidates = [{"rank": i + 1, "bid_id": str(bids[c].id), "bidder_code": c, "bidder": bids[c].bidder}
                          for i, c in enumerate(candidates)]
        work.touch(lot)
    for stage in state.open_stages(ClockKind.EVALUATION):
        _finish(work, stage, at)
    tender.report_at = at
    tender.stage = TenderStage.REPORTED.value
    if tender.legally_required:   # 条例 54 binds the tenders the law requires
        _start(work, ClockKind.PUBLISH_CANDIDATES, at)
    return {"lots": {lot.code: {"candidates": c, "disqualified": sorted(d)} for lot, _, c, d in plans}}


def _publish_candidates(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    tender = state.tender
    end = _instant(ev, "publicity_end", required=True)
    assert end is not None
    if tender.legally_required:
        check_floor(work.tx.calendar(tender.center_id), "PUBLICITY_MIN_DAYS", at, end, tender.code, "公示期")
    elif end <= at:
        raise DomainError(ErrorCode.INVALID_EVENT, "公示结束时间应晚于公示开始时间", tender=tender.code)
    for stage in state.open_stages(ClockKind.PUBLISH_CANDIDATES):
        _finish(work, stage, at)
    tender.publicity_start, tender.publicity_end = at, end
    tender.stage = TenderStage.PUBLICITY.value
    _start_floor(work, ClockKind.PUBLICITY, at, scheduled_end=end, applies=tender.legally_required)
    return {"publicity_end": end}


def _award(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """确定中标人: among the candidates; the first-ranked one for state-funded legally required
    tenders unless those above gave up (条例 55). It ends the publicity: ended before its floor
    (条例 54) the award still happened, so it is recorded and the publicity's breach is a fault."""
    state = work.state
    assert state is not None
    tender = state.tender
    per_lot = _attr(ev, "lots") or [{"lot": None, "bidder_code": _attr(ev, "bidder_code", required=True),
                                     "declined": _attr(ev, "declined", default=[])}]
    plans = []
    for spec in per_lot:
        lot = state.lot(spec.get("lot"))
        code = str(spec.get("bidder_code"))
        ranks = {c["bidder_code"]: c["rank"] for c in lot.candidates}
        if code not in ranks:
            raise breach(ErrorCode.NOT_FIRST_CANDIDATE, "FIRST_CANDIDATE",
                         f"投标人 {code} 不是标段 {lot.code} 的中标候选人", tender=tender.code)
        declined = {str(c) for c in spec.get("declined") or []}
        first = next((c["bidder_code"] for c in sorted(lot.candidates, key=lambda c: c["rank"])
                      if c["bidder_code"] not in declined), None)
        if tender.state_funded and tender.legally_required and code != first:
            raise breach(ErrorCode.NOT_FIRST_CANDIDATE, "FIRST_CANDIDATE",
                         f"标段 {lot.code} 排名第一的中标候选人为 {first}，不能确定 {code} 为中标人", tender=tender.code)
        bid = next(b for b in state.lot_bids(lot) if b.bidder_code == code)
        plans.append((lot, bid, declined))
    for lot, bid, _ in plans:
        lot.winner_bid_id, lot.winner_code = bid.id, bid.bidder_code
        lot.award_value, lot.award_notice_at = bid.price, at
        work.touch(lot)
    for stage in state.open_stages(ClockKind.PUBLICITY):   # any award ends what it publicized
        if stage.earliest_end is not None and utc(at) < stage.earliest_end:
            stage.outcome = "floor_breach"
            work.touch(stage)
    if any(lot.winner_bid_id is None for lot in state.lots):
        return {"lots": {lot.code: bid.bidder_code for lot, bid, _ in plans}, "complete": False}
    for stage in state.open_stages(ClockKind.PUBLICITY):
        _finish(work, stage, at)
    tender.awarded_at = at
    tender.stage = TenderStage.AWARDED.value
    _start(work, ClockKind.CONTRACT, at)
    if tender.legally_required:
        _start(work, ClockKind.REPORT, at)
    return {"lots": {lot.code: {"bidder_code": bid.bidder_code, "bidder": bid.bidder, "value": bid.price,
                                "declined": sorted(d)} for lot, bid, d in plans}}


def _sign_contract(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """订立合同: performance bond at most 10 % of the contract value (条例 58); once every lot
    is signed the bid bonds are due back within 5 days (条例 57)."""
    state = work.state
    assert state is not None
    tender = state.tender
    lot = state.lot(_attr(ev, "lot"))
    if lot.winner_bid_id is None:
        raise breach(ErrorCode.TENDER_STAGE_ORDER, "STAGE_ORDER", f"标段 {lot.code} 尚未确定中标人", tender=tender.code)
    if lot.contract_signed_at is not None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"标段 {lot.code} 合同已订立", tender=tender.code)
    value = _amount(ev, "value", default=lot.award_value)
    assert value is not None
    bond = _amount(ev, "performance_bond", default=0.0) or 0.0
    if bond > value * (rule("PERFORMANCE_BOND_PERCENT").percent or 0) / 100 + 0.005:
        raise breach(ErrorCode.BOND_EXCEEDS_LIMIT, "PERFORMANCE_BOND_PERCENT",
                     f"履约保证金 {bond:,.2f} 元超过合同金额 {value:,.2f} 元的 10%", tender=tender.code)
    lot.contract_value, lot.contract_signed_at, lot.performance_bond = value, at, bond
    work.touch(lot)
    data = {"lot": lot.code, "value": value, "performance_bond": bond,
            "days_after_award": natural_days(lot.award_notice_at, at) if lot.award_notice_at else None}
    if all(lt.contract_signed_at is not None for lt in state.lots):
        for stage in state.open_stages(ClockKind.CONTRACT):
            _finish(work, stage, at)
        tender.contracted_at = at
        tender.stage = TenderStage.CONTRACTED.value
        _start(work, ClockKind.BOND_RETURN, at)
    return data


def _return_bonds(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    for bid in state.bids:
        if bid.bond_returned_at is None and bid.bond_amount:
            bid.bond_returned_at = at
            work.touch(bid)
    for stage in state.open_stages(ClockKind.BOND_RETURN):
        _finish(work, stage, at)
    state.tender.bonds_returned_at = at
    _maybe_close(state, at)
    return {"bonds": sum(1 for b in state.bids if b.bond_amount)}


def _file_report(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    if state.tender.report_filed_at is not None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "书面报告已提交", tender=state.tender.code)
    for stage in state.open_stages(ClockKind.REPORT):
        _finish(work, stage, at)
    state.tender.report_filed_at = at
    _maybe_close(state, at)
    return {"days_after_award": natural_days(state.tender.awarded_at, at) if state.tender.awarded_at else None}


def _maybe_close(state: TenderState, at: datetime) -> None:
    tender = state.tender
    if tender.stage == TenderStage.CONTRACTED.value and tender.bonds_returned_at is not None and (
            tender.report_filed_at is not None or not tender.legally_required):
        tender.stage = TenderStage.CLOSED.value
        tender.closed_at = at


def _complain(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    """投诉 within 10 days of knowing (条例 60); the authority decides in 3 working days whether
    to accept it (条例 61)."""
    state = work.state
    assert state is not None
    knew = _instant(ev, "knew_at", default=at)
    assert knew is not None
    if natural_days(knew, at) > 10:
        raise breach(ErrorCode.COMPLAINT_TOO_LATE, "COMPLAINT_FILE_DAYS",
                     f"投诉距知道之日已 {natural_days(knew, at)} 日", tender=state.tender.code)
    complaint = TenderObjection(tender_id=state.tender.id, number=_next_number(state, "T"), kind="complaint",
                                about=str(_attr(ev, "about", default="other")),
                                party=str(_attr(ev, "party", default="投标人")), filed_at=at, knew_at=knew)
    work.tx.session.add(complaint)
    state.objections.append(complaint)
    work.touch(complaint)
    _start(work, ClockKind.COMPLAINT_ACCEPT, at, objection=complaint)
    return {"number": complaint.number, "about": complaint.about, "party": complaint.party}


def _complaint_stages(state: TenderState, complaint: TenderObjection, kind: ClockKind) -> list[TenderStageRow]:
    return [s for s in state.open_stages(kind) if s.objection_id == complaint.id]


def _accept_complaint(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    complaint = _objection(state, ev, "complaint")
    if complaint.status != "open":
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"投诉 {complaint.number} 已作出受理决定")
    accepted = bool(_attr(ev, "accepted", default=True))
    for stage in _complaint_stages(state, complaint, ClockKind.COMPLAINT_ACCEPT):
        _finish(work, stage, at)
    complaint.accepted_at = at
    if accepted:
        complaint.status = "accepted"
        complaint.suspends = bool(_attr(ev, "suspend", default=False))
        _start(work, ClockKind.COMPLAINT_DECIDE, at, objection=complaint)
        if complaint.suspends:
            _suspend(work, at, "complaint")
    else:
        complaint.status, complaint.closed_at = "refused", at
        complaint.result = _attr(ev, "reason")
    work.touch(complaint)
    return {"number": complaint.number, "accepted": accepted, "suspend": complaint.suspends}


def _pause_complaint(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    complaint = _objection(state, ev, "complaint")
    kind = str(_attr(ev, "kind", default="expert_review"))
    stages = _complaint_stages(state, complaint, ClockKind.COMPLAINT_DECIDE)
    if not stages or work.clock(stages[0]).state != ClockState.RUNNING.value:
        raise DomainError(ErrorCode.CLOCK_ALREADY_PAUSED if stages else ErrorCode.INVALID_TRANSITION,
                          f"投诉 {complaint.number} 的处理期限不在计时中")
    _pause(work, stages[0], at, kind)
    return {"number": complaint.number, "kind": kind}


def _resume_complaint(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    complaint = _objection(state, ev, "complaint")
    stages = _complaint_stages(state, complaint, ClockKind.COMPLAINT_DECIDE)
    if not stages or work.clock(stages[0]).state != ClockState.PAUSED.value:
        raise DomainError(ErrorCode.CLOCK_NOT_PAUSED, f"投诉 {complaint.number} 的处理期限未暂停")
    _resume(work, stages[0], at)
    return {"number": complaint.number}


def _decide_complaint(work: _Work, ev: TenderEvent, at: datetime) -> dict[str, Any]:
    state = work.state
    assert state is not None
    complaint = _objection(state, ev, "complaint")
    if complaint.status != "accepted":
        raise DomainError(ErrorCode.INVALID_TRANSITION, f"投诉 {complaint.number} 未受理或已处理")
    for stage in _complaint_stages(state, complaint, ClockKind.COMPLAINT_DECIDE):
        _finish(work, stage, at)
    complaint.status, complaint.closed_at = "decided", at
    complaint.result = _attr(ev, "decision")
    work.touch(complaint)
    _lift_suspension(work, at)
    return {"number": complaint.number, "decision": complaint.result}


_HANDLERS = {
    TenderAction.PUBLISH: _publish, TenderAction.PREQUALIFY: _prequalify, TenderAction.AMEND: _amend,
    TenderAction.OBJECT: _object, TenderAction.ANSWER_OBJECTION: _answer_objection,
    TenderAction.SUBMIT_BID: _submit_bid, TenderAction.WITHDRAW_BID: _withdraw_bid,
    TenderAction.FORM_COMMITTEE: _form_committee, TenderAction.OPEN: _open, TenderAction.FAIL: _fail,
    TenderAction.REPORT_EVALUATION: _report_evaluation, TenderAction.PUBLISH_CANDIDATES: _publish_candidates,
    TenderAction.AWARD: _award, TenderAction.SIGN_CONTRACT: _sign_contract,
    TenderAction.RETURN_BONDS: _return_bonds, TenderAction.FILE_REPORT: _file_report,
    TenderAction.COMPLAIN: _complain, TenderAction.ACCEPT_COMPLAINT: _accept_complaint,
    TenderAction.PAUSE_COMPLAINT: _pause_complaint, TenderAction.RESUME_COMPLAINT: _resume_complaint,
    TenderAction.DECIDE_COMPLAINT: _decide_complaint,
}


# ----------------------------------------------------------------------------- sealed bids

def is_sealed(tender: Tender, at: datetime) -> bool:
    """Whether the bids of ``tender`` are still sealed at ``at`` (before the opening instant)."""
    return tender.opened_at is None or utc(at) < tender.opened_at


def unsealed_bids(state: TenderState, at: datetime) -> list[TenderBid]:
    """The bids with their price and content, once opened; before that a ``BID_SEALED`` refusal
    for everybody, supervisors included (法 34, 36: bids are opened in public at the deadline)."""
    if is_sealed(state.tender, at):
        raise breach(ErrorCode.BID_SEALED, "OPEN_AT_DEADLINE",
                     f"项目 {state.tender.code} 尚未开标，投标文件密封，任何人不得查看", tender=state.tender.code)
    return [b for b in state.bids if b.status != "withdrawn"]


def bid_count(tender: Tender, at: datetime) -> int | None:
    """How many bids the tender has: unknown (None) to everybody before the opening, supervisors
    included — 法 22 forbids telling anyone the names or the number of those who took the
    documents, so no role reads it until the bids are opened in public (法 34)."""
    return None if is_sealed(tender, at) else tender.bid_count


# Event data that names those who took the documents (法 22): removed while the bids are sealed.
_NAMING_FIELDS = {"tender.prequalify": ("qualified",), "tender.object": ("party",), "tender.complain": ("party",)}


def readable_history(tender: Tender, events: list[LedgerEvent], at: datetime) -> list[tuple[LedgerEvent, dict[str, Any]]]:
    """A tender's ledger events with the data a viewer may read at ``at``. Before the opening
    nothing tells who took the documents or bid, nor how many (法 22): bid events are left out,
    as are the flags about bids (they are shown from the opening on, with the time they were
    found), and names of objecting parties and qualified applicants are removed."""
    from esupervision.models.tenders.redflags import ABOUT_BIDS
    if not is_sealed(tender, at):
        return [(e, e.data) for e in events]
    out = []
    for event in events:
        data = event.data
        if event.kind in ("tender.submit_bid", "tender.withdraw_bid"):
            continue
        if event.kind == "tender.red_flag" and data.get("flag") in ABOUT_BIDS:
            continue
        if event.kind == "tender.red_flags_refreshed":
            data = {**data, "raised": [c for c in data.get("raised", []) if c not in ABOUT_BIDS]}
        for name in _NAMING_FIELDS.get(event.kind, ()):
            data = {k: v for k, v in data.items() if k != name}
        out.append((event, data))
    return out


def objection_party(tender: Tender, objection: TenderObjection, at: datetime) -> str | None:
    """Who objected or complained: withheld while the bids are sealed, since before the opening
    an objector is one of those who took the documents (法 22)."""
    return None if is_sealed(tender, at) else objection.party


def stage_light(clock: Clock, at: datetime) -> str:
    from esupervision.models.clocks.light import light_at
    return light_at(clock, at).light.value


# ----------------------------------------------------------------------------- reading

TENDER_READERS = frozenset({"supervisor", "center_admin", "department_leader", "department_system"})
# Who reads the opened bids and the red flags (every bid read is recorded).
BID_READERS = TENDER_READERS
FLAG_READERS = frozenset({"supervisor", "center_admin", "department_leader"})


def tender_scope(viewer: Any) -> Any:
    """The tenders ``viewer`` may read, as a condition on the tender table: supervision all, a
    center (or its system) its own, an authority's leader the tenders it supervises."""
    from sqlalchemy import false, true
    role = viewer.role.value
    if role == "supervisor":
        return true()
    if role in ("center_admin", "department_system") and viewer.center_id:
        return Tender.center_id == viewer.center_id
    if role == "department_leader" and viewer.department_id:
        return Tender.authority_department_id == viewer.department_id
    return false()


@dataclass
class TenderFilter:
    """Every field narrows the list; None means "any"."""

    center_ids: list[uuid.UUID] | None = None
    stages: list[str] | None = None
    lights: list[str] | None = None            # white / yellow / red / paused (of an open stage clock)
    red_flags: list[str] | None = None         # indicator codes standing now
    authority_department_ids: list[uuid.UUID] | None = None
    authority: str | None = None
    methods: list[str] | None = None
    value_from: float | None = None
    value_to: float | None = None
    text: str | None = None                    # code prefix or part of the title / tenderer


@dataclass
class TenderPage:
    tenders: list[Tender]
    total: int
    has_next: bool
    has_previous: bool


def encode_tender_cursor(tender_id: uuid.UUID) -> str:
    from esupervision.models.cases.query import encode_id_cursor
    return encode_id_cursor("tender", tender_id)


def decode_tender_cursor(cursor: str) -> uuid.UUID:
    """The tender id in a cursor; a cursor we did not issue is ``BAD_CURSOR``."""
    from esupervision.models.cases.query import decode_id_cursor
    return decode_id_cursor("tender", cursor)


def _tender_conditions(flt: TenderFilter, now: datetime) -> list[Any]:
    from sqlalchemy import and_, exists, or_

    from esupervision.models.clocks.light import Light
    from esupervision.models.clocks.lights_query import light_condition
    from esupervision.models.tenders.redflags import TenderRedFlag
    conds: list[Any] = []
    if flt.center_ids is not None:
        conds.append(Tender.center_id.in_(flt.center_ids))  # type: ignore[attr-defined]
    if flt.stages is not None:
        conds.append(Tender.stage.in_(flt.stages))  # type: ignore[attr-defined]
    if flt.authority_department_ids is not None:
        conds.append(Tender.authority_department_id.in_(flt.authority_department_ids))  # type: ignore[union-attr]
    if flt.authority:
        conds.append(Tender.authority.contains(flt.authority))  # type: ignore[union-attr]
    if flt.methods is not None:
        conds.append(Tender.method.in_(flt.methods))  # type: ignore[attr-defined]
    if flt.value_from is not None:
        conds.append(Tender.estimate >= flt.value_from)
    if flt.value_to is not None:
        conds.append(Tender.estimate <= flt.value_to)
    if flt.text:
        text = flt.text.strip()
        conds.append(or_(Tender.code.startswith(text), Tender.title.contains(text),  # type: ignore[attr-defined]
                         Tender.tenderer.contains(text)))  # type: ignore[attr-defined]
    if flt.red_flags:
        from esupervision.models.tenders.redflags import visible_flag
        conds.append(exists().where(TenderRedFlag.tender_id == Tender.id, TenderRedFlag.code.in_(flt.red_flags),  # type: ignore[attr-defined]
                                    TenderRedFlag.cleared_at.is_(None), visible_flag(now)))  # type: ignore[union-attr]
    if flt.lights:
        parts = []
        for light in dict.fromkeys(flt.lights):   # each once: a repeated light adds nothing but SQL
            if light == "paused":
                parts.append(Clock.state == ClockState.PAUSED.value)
            else:
                parts.append(and_(Clock.state == ClockState.RUNNING.value, light_condition(Light(light), now)))
        conds.append(exists().where(TenderStageRow.tender_id == Tender.id, Clock.id == TenderStageRow.clock_id,
                                    or_(*parts)))
    return conds


def search_tenders(session: Any, *, viewer: Any, flt: TenderFilter, first: int, after: str | None,
                   now: datetime) -> TenderPage:
    """One page of the tenders ``viewer`` may see that match ``flt``, newest first."""
    from sqlalchemy import func
    conds = [*_tender_conditions(flt, now), tender_scope(viewer)]
    page = select(Tender).where(*conds)
    if after:
        page = page.where(Tender.id < decode_tender_cursor(after))
    rows = list(session.scalars(page.order_by(Tender.id.desc()).limit(first + 1)))  # type: ignore[attr-defined]
    total = session.scalar(select(func.count()).select_from(Tender).where(*conds)) or 0
    return TenderPage(rows[:first], total, len(rows) > first, after is not None)


def get_tender(session: Any, *, viewer: Any, code: str) -> Tender | None:
    """The tender with this code if ``viewer`` may see it; otherwise None, as if it did not exist."""
    return session.scalars(select(Tender).where(Tender.code == code, tender_scope(viewer))).first()


def tender_history(session: Any, tender_id: uuid.UUID) -> list[LedgerEvent]:
    """Every ledger event of a tender and of its stage clocks (light announcements), in order."""
    ids = [tender_id, *session.scalars(select(TenderStageRow.id).where(TenderStageRow.tender_id == tender_id))]
    return list(session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id.in_(ids))  # type: ignore[attr-defined]
                                .order_by(LedgerEvent.id)))


def worst_light(lights: list[str]) -> str | None:
    """The tender's light: the worst of its open stage clocks (red over yellow over white)."""
    for light in ("red", "yellow", "white"):
        if light in lights:
            return light
    return None
