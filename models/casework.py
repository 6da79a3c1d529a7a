"""The one way in for every change of a case: ``handle`` checks the transition, moves the clocks,
updates the projection (cases, steps, clocks) and appends the ledger event, in the caller's
transaction. GraphQL mutations, department-system reports and the importer all call it."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from esupervision.models.base import utc
from esupervision.models.case import (ALLOWED, BEFORE_ACCEPTANCE, FINAL, Case, CaseStatus, Step,
                                      StepStatus, SuspendKind)
from esupervision.models.catalogue import (ACCEPTANCE_DAYS, Center, Department, Item, ItemStep,
                                           Staff, Window, center_by_code, item_by_code)
from esupervision.models.clock import (Basis, Clock, ClockState, ClockStateError, SubjectType,
                                       WarningRule, extend_clock, finish_clock, pause_clock,
                                       resume_clock, start_clock)
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger import LedgerEvent, row_values
from esupervision.models.report import CaseAction, ReportedEvent
from esupervision.models.transaction import Transaction

# A reporter's clock may run a little ahead of ours; beyond this an event is "in the future".
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    """What became of one reported event."""

    source_event_id: str
    status: str                 # accepted / duplicate / refused
    ledger_id: int | None = None
    late: bool = False
    code: str | None = None
    message: str | None = None


def row_change(row: SQLModel) -> dict[str, Any]:
    """A projection row as the ledger keeps it: table, id and every column value."""
    return {"table": row.__tablename__, "id": str(row.id), "values": row_values(row)}  # type: ignore[attr-defined]


def _refuse(code: ErrorCode, message: str, ev: ReportedEvent) -> DomainError:
    return DomainError(code, message, case=ev.case_number, event=ev.source_event_id)


def find_case(tx: Transaction, number: str, *, lock: bool = False) -> Case | None:
    query = select(Case).where(Case.number == number)
    if lock:
        query = query.with_for_update()
    return tx.session.scalars(query).first()


def find_duplicate(tx: Transaction, source: str, source_event_id: str) -> LedgerEvent | None:
    return tx.session.scalars(select(LedgerEvent).where(
        LedgerEvent.source == source, LedgerEvent.source_event_id == source_event_id)).first()


class _Work:
    """The changes of one event, collected so the ledger keeps exactly what the projection got."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.touched: dict[tuple[str, uuid.UUID], SQLModel] = {}

    def touch(self, *rows: SQLModel) -> None:
        for row in rows:
            self.touched[(row.__tablename__, row.id)] = row  # type: ignore[attr-defined]
            self.tx.session.add(row)

    def changes(self) -> list[dict[str, Any]]:
        order = {"clock": 0, "case": 1, "step": 2}
        rows = sorted(self.touched.values(), key=lambda r: order.get(r.__tablename__, 9))  # type: ignore[attr-defined]
        return [row_change(r) for r in rows]


def handle(tx: Transaction, ev: ReportedEvent, *, source: str) -> Outcome:
    """Apply one reported event, or refuse it with a DomainError that changes nothing.

    A repeat of a ``(source, source_event_id)`` already recorded is a no-op answered
    ``duplicate``. The caller owns the transaction (and a savepoint per event in a batch).
    """
    previous = find_duplicate(tx, source, ev.source_event_id)
    if previous is not None:
        return Outcome(ev.source_event_id, "duplicate", ledger_id=previous.id, late=previous.late)
    occurred = utc(ev.occurred_at)
    if occurred > tx.now + FUTURE_TOLERANCE:
        raise _refuse(ErrorCode.EVENT_IN_FUTURE,
                      f"事件时间 {occurred.isoformat()} 晚于当前时间，不予记录 (event claims to be in the future)", ev)
    case = find_case(tx, ev.case_number, lock=True)
    status = CaseStatus(case.status) if case else None
    if case is not None:
        if occurred < case.first_event_at:
            raise _refuse(ErrorCode.EVENT_BEFORE_CASE,
                          f"事件时间早于办件 {case.number} 的开始时间 (event before the case began)", ev)
        if ev.action is not CaseAction.STEP and occurred < case.last_event_at:
            raise _refuse(ErrorCode.EVENT_OUT_OF_ORDER,
                          f"事件时间早于办件 {case.number} 的上一状态变化，顺序错误 (event out of order)", ev)
    if status not in ALLOWED[ev.action]:
        raise _transition_error(ev, case, status)
    work = _Work(tx)
    if case is None:
        case = _new_case(tx, ev, occurred)
        work.touch(case)
    data = _apply(tx, work, case, ev, occurred)
    if ev.action is not CaseAction.STEP:
        case.last_event_at = max(case.last_event_at, occurred)
    late = (tx.now - occurred) > timedelta(hours=tx.settings.late_report_hours)
    case.reported_late = case.reported_late or late
    work.touch(case)
    event = tx.ledger.append(
        center_id=case.center_id, kind=f"case.{ev.action.value}", subject_type="case",
        subject_id=case.id, occurred_at=occurred, recorded_at=tx.now,
        data={"number": case.number, **data}, changes=work.changes(), actor=tx.actor,
        source=source, source_event_id=ev.source_event_id, late=late)
    tx.session.flush()
    tx.announce("case.event", {"ledger_id": event.id, "number": case.number, "kind": event.kind,
                               "center_id": str(case.center_id), "status": case.status})
    return Outcome(ev.source_event_id, "accepted", ledger_id=event.id, late=late)


def _transition_error(ev: ReportedEvent, case: Case | None, status: CaseStatus | None) -> DomainError:
    if case is None:
        return _refuse(ErrorCode.CASE_NOT_FOUND, f"办件 {ev.case_number} 不存在 (no such case)", ev)
    if status is CaseStatus.SUPPLEMENT and ev.action is CaseAction.REQUEST_SUPPLEMENT \
            or status is CaseStatus.SUSPENDED and ev.action is CaseAction.SUSPEND:
        return _refuse(ErrorCode.CLOCK_ALREADY_PAUSED, f"办件 {case.number} 已在暂停计时中 (clock already paused)", ev)
    if ev.action in (CaseAction.RESUME, CaseAction.SUPPLEMENT_RECEIVED):
        return _refuse(ErrorCode.CLOCK_NOT_PAUSED,
                       f"办件 {case.number} 当前未暂停计时，不能恢复 (clock is not paused; status {case.status})", ev)
    if ev.action in (CaseAction.SUBMIT,) or (ev.action is CaseAction.ACCEPT and status not in BEFORE_ACCEPTANCE):
        if status is not None and status not in FINAL:
            return _refuse(ErrorCode.CASE_EXISTS, f"办件编号 {case.number} 已存在 (case exists)", ev)
    if status in FINAL:
        return _refuse(ErrorCode.CASE_FINISHED, f"办件 {case.number} 已结束（{case.status}），不能再{ev.action.value}", ev)
    if ev.action in (CaseAction.ADVANCE, CaseAction.COMPLETE, CaseAction.SUSPEND):
        return _refuse(ErrorCode.CASE_NOT_RUNNING,
                       f"办件 {case.number} 当前状态 {case.status} 不在办理中 (case not running)", ev)
    return _refuse(ErrorCode.INVALID_TRANSITION,
                   f"办件 {case.number} 当前状态 {case.status} 不允许 {ev.action.value}", ev)


def _new_case(tx: Transaction, ev: ReportedEvent, occurred: datetime) -> Case:
    if not ev.center_code or not ev.item_code:
        raise _refuse(ErrorCode.INVALID_EVENT, "新办件需要中心编码和事项编码 (center_code and item_code required)", ev)
    center = center_by_code(tx, ev.center_code)
    item = item_by_code(tx, center.id, ev.item_code)
    department_id = item.department_id
    if ev.department_code:
        dept = tx.session.scalars(select(Department).where(
            Department.center_id == center.id, Department.code == ev.department_code)).first()
        if dept is None:
            raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, f"部门 {ev.department_code} 不存在",
                              case=ev.case_number, department=ev.department_code)
        department_id = dept.id
    window_id = staff_id = None
    if ev.window_code:
        window = tx.session.scalars(select(Window).where(
            Window.center_id == center.id, Window.code == ev.window_code)).first()
        if window is None:
            raise DomainError(ErrorCode.WINDOW_NOT_FOUND, f"窗口 {ev.window_code} 不存在",
                              case=ev.case_number, window=ev.window_code)
        window_id = window.id
    if ev.staff_code:
        staff = tx.session.scalars(select(Staff).where(
            Staff.center_id == center.id, Staff.code == ev.staff_code)).first()
        staff_id = staff.id if staff else None   # an unknown handler is kept in the event data
        window_id = window_id or (staff.window_id if staff else None)
    attrs = ev.attributes
    return Case(number=ev.case_number, center_id=center.id, department_id=department_id,
                item_id=item.id, window_id=window_id, staff_id=staff_id,
                applicant_name=ev.applicant_name, applicant_id_number=attrs.get("applicant_id_number"),
                applicant_phone=attrs.get("applicant_phone"),
                channel=ev.channel or ("online" if ev.action is CaseAction.SUBMIT else "window"),
                status=CaseStatus.SUBMITTED.value, first_event_at=occurred, last_event_at=occurred)


def _clock_op(ev: ReportedEvent, fn, *args, **kwargs) -> Any:  # noqa: ANN001
    try:
        return fn(*args, **kwargs)
    except ClockStateError as exc:
        code = {"CLOCK_ALREADY_PAUSED": ErrorCode.CLOCK_ALREADY_PAUSED,
                "CLOCK_NOT_PAUSED": ErrorCode.CLOCK_NOT_PAUSED}.get(exc.reason, ErrorCode.INVALID_TRANSITION)
        raise _refuse(code, f"计时状态不允许该操作 ({exc.reason})", ev) from exc


def _open_clocks(tx: Transaction, case: Case) -> list[Clock]:
    """The case's own clock (or its acceptance clock before acceptance) and its running steps'."""
    clocks: list[Clock] = []
    for clock_id in (case.clock_id, case.acceptance_clock_id):
        clock = tx.session.get(Clock, clock_id) if clock_id else None
        if clock is not None and clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            clocks.append(clock)
    for step in _running_steps(tx, case):
        clock = tx.session.get(Clock, step.clock_id) if step.clock_id else None
        if clock is not None and clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            clocks.append(clock)
    return clocks


def _running_steps(tx: Transaction, case: Case) -> list[Step]:
    return list(tx.session.scalars(select(Step).where(
        Step.case_id == case.id, Step.status == StepStatus.RUNNING.value).order_by(Step.seq)))


def _apply(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent, at: datetime) -> dict[str, Any]:
    calendar = tx.calendar(case.center_id)
    action, attrs = ev.action, ev.attributes
    data: dict[str, Any] = {"action": action.value}
    if ev.step_name:
        data["step"] = ev.step_name
    if ev.staff_code:
        data["staff"] = ev.staff_code

    if action is CaseAction.SUBMIT:
        case.submitted_at = at
        clock = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.ACCEPTANCE,
                            subject_id=case.id, started_at=at, limit_days=ACCEPTANCE_DAYS,
                            basis=Basis.WORKING, department_id=case.department_id, window_id=case.window_id)
        case.acceptance_clock_id = clock.id
        work.touch(clock)
    elif action is CaseAction.PREREVIEW_PASS:
        case.status = CaseStatus.PREREVIEWED.value
    elif action is CaseAction.PREREVIEW_FAIL:
        case.status, case.reason = CaseStatus.PREREVIEW_FAILED.value, attrs.get("reason")
        case.completed_at = at
        _finish_all(tx, work, case, ev, at)
        data["reason"] = case.reason
    elif action is CaseAction.ACCEPT:
        data.update(accept_case(tx, work, case, at=at, due_at=attrs.get("due_at"), deemed=False))
    elif action is CaseAction.ADVANCE:
        data.update(_advance(tx, work, case, ev, at))
    elif action is CaseAction.STEP:
        data["activity"] = attrs.get("activity", ev.step_name)
    elif action in (CaseAction.REQUEST_SUPPLEMENT, CaseAction.SUSPEND):
        kind = "supplement"
        if action is CaseAction.SUSPEND:
            kind = str(attrs.get("kind", ""))
            if kind not in {k.value for k in SuspendKind}:
                raise _refuse(ErrorCode.INVALID_SUSPEND_KIND,
                              f"特别程序种类 {kind!r} 不在法定范围内（听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审、公示）", ev)
        for clock in _open_clocks(tx, case):
            _clock_op(ev, pause_clock, clock, at=at, kind=kind)
            work.touch(clock)
        case.status_before_pause = case.status
        case.status = (CaseStatus.SUPPLEMENT if action is CaseAction.REQUEST_SUPPLEMENT
                       else CaseStatus.SUSPENDED).value
        data["kind"] = kind
        if attrs.get("reason"):
            data["reason"] = attrs["reason"]
    elif action in (CaseAction.SUPPLEMENT_RECEIVED, CaseAction.RESUME):
        given_back = 0
        for clock in _open_clocks(tx, case):
            days = _clock_op(ev, resume_clock, clock, calendar, at=at)
            if clock.subject_type in (SubjectType.CASE, SubjectType.ACCEPTANCE):
                given_back = days
            work.touch(clock)
        case.status = case.status_before_pause or CaseStatus.ACCEPTED.value
        case.status_before_pause = None
        data["days_not_counted"] = given_back
    elif action is CaseAction.EXTEND:
        data.update(_extend(tx, work, case, ev))
    elif action is CaseAction.COMPLETE:
        result = str(attrs.get("result", "approved"))
        if result not in ("approved", "denied"):
            raise _refuse(ErrorCode.INVALID_EVENT, f"办结结果 {result!r} 应为 approved 或 denied", ev)
        case.status, case.result, case.completed_at = CaseStatus.COMPLETED.value, result, at
        case.reason = attrs.get("reason")
        _finish_all(tx, work, case, ev, at)
        data["result"] = result
    elif action is CaseAction.REJECT:
        case.status, case.reason, case.completed_at = CaseStatus.REJECTED.value, attrs.get("reason"), at
        _finish_all(tx, work, case, ev, at)
        data["reason"] = case.reason
    elif action is CaseAction.WITHDRAW:
        case.status, case.completed_at = CaseStatus.WITHDRAWN.value, at
        _finish_all(tx, work, case, ev, at, cancelled=True)
    return data


def accept_case(tx: Transaction, work: _Work, case: Case, *, at: datetime,
                due_at: str | datetime | None, deemed: bool) -> dict[str, Any]:
    """受理: start the case clock on the item's committed limit and the first steps."""
    calendar = tx.calendar(case.center_id)
    item = tx.session.get(Item, case.item_id)
    assert item is not None
    if case.acceptance_clock_id:
        acceptance = tx.session.get(Clock, case.acceptance_clock_id)
        if acceptance is not None and acceptance.state in (ClockState.RUNNING, ClockState.PAUSED):
            finish_clock(acceptance, calendar, at=at)
            work.touch(acceptance)
    # art. 32: deemed acceptance counts from the day the submission was received.
    start = case.submitted_at if deemed and case.submitted_at else at
    fixed = datetime.fromisoformat(due_at) if isinstance(due_at, str) else due_at
    clock = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.CASE,
                        subject_id=case.id, started_at=start, limit_days=item.committed_days,
                        basis=Basis(item.basis), rule=item.warning_rule,
                        department_id=case.department_id, window_id=case.window_id, due_at=fixed)
    work.touch(clock)
    case.clock_id, case.accepted_at, case.deemed_accepted = clock.id, start, deemed
    case.status = CaseStatus.ACCEPTED.value
    first_seq = _start_step_group(tx, work, case, item, after_seq=0, at=start)
    return {"due_at": clock.due_at, "provisional": clock.provisional, "deemed": deemed,
            "committed_days": item.committed_days, "steps_from": first_seq}


def _item_steps(tx: Transaction, item: Item) -> list[ItemStep]:
    return list(tx.session.scalars(select(ItemStep).where(ItemStep.item_id == item.id).order_by(ItemStep.seq)))


def _start_step_group(tx: Transaction, work: _Work, case: Case, item: Item, *, after_seq: int,
                      at: datetime) -> int | None:
    """Start every step of the next group after ``after_seq``; returns its seq (None: no more)."""
    steps = _item_steps(tx, item)
    if not steps and after_seq == 0:
        steps = [ItemStep(item_id=item.id, seq=1, name="办理", limit_days=item.committed_days)]
    following = [s for s in steps if s.seq > after_seq]
    if not following:
        return None
    seq = following[0].seq
    calendar = tx.calendar(case.center_id)
    for spec in (s for s in following if s.seq == seq):
        step = Step(case_id=case.id, center_id=case.center_id,
                    department_id=spec.department_id or case.department_id, seq=seq, name=spec.name,
                    limit_days=spec.limit_days, started_at=at)
        clock = start_clock(calendar, center_id=case.center_id, subject_type=SubjectType.STEP,
                            subject_id=step.id, started_at=at, limit_days=spec.limit_days,
                            basis=Basis(item.basis), rule=item.warning_rule,
                            department_id=step.department_id, window_id=case.window_id)
        step.clock_id = clock.id
        work.touch(clock, step)
    return seq


def _advance(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent, at: datetime) -> dict[str, Any]:
    running = _running_steps(tx, case)
    if ev.department_code:
        dept = tx.session.scalars(select(Department).where(
            Department.center_id == case.center_id, Department.code == ev.department_code)).first()
        running = [s for s in running if dept is not None and s.department_id == dept.id]
    if ev.step_name:
        named = [s for s in running if s.name == ev.step_name]
        running = named or running
    if not running:
        raise _refuse(ErrorCode.STEP_NOT_RUNNING, f"办件 {case.number} 没有可办结的在办环节 (no running step)", ev)
    if len(running) > 1:
        raise _refuse(ErrorCode.INVALID_EVENT,
                      f"办件 {case.number} 有 {len(running)} 个并联环节在办，请指明部门 (department_code required)", ev)
    step = running[0]
    calendar = tx.calendar(case.center_id)
    clock = tx.session.get(Clock, step.clock_id) if step.clock_id else None
    if clock is not None:
        finish_clock(clock, calendar, at=at)
        work.touch(clock)
    step.status, step.finished_at = StepStatus.DONE.value, at
    if ev.staff_code:
        staff = tx.session.scalars(select(Staff).where(Staff.center_id == case.center_id,
                                                       Staff.code == ev.staff_code)).first()
        step.staff_id = staff.id if staff else step.staff_id
    work.touch(step)
    tx.session.flush()
    next_seq = None
    if not _running_steps(tx, case):
        item = tx.session.get(Item, case.item_id)
        next_seq = _start_step_group(tx, work, case, item, after_seq=step.seq, at=at)  # type: ignore[arg-type]
    return {"step": step.name, "step_outcome": clock.outcome if clock else None, "next_seq": next_seq}


def _extend(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent) -> dict[str, Any]:
    attrs = ev.attributes
    approved_by = attrs.get("approved_by")
    if not approved_by:
        raise _refuse(ErrorCode.EXTENSION_NOT_APPROVED, "延期须经负责人批准，请注明批准人 (approved_by required)", ev)
    try:
        days = int(attrs.get("days", 0))
    except (TypeError, ValueError):
        days = 0
    if days < 1:
        raise _refuse(ErrorCode.INVALID_DAY_LIMIT, f"延期天数 {attrs.get('days')!r} 不合理", ev)
    if case.extension_days:
        raise _refuse(ErrorCode.EXTENSION_ALREADY_GRANTED,
                      f"办件 {case.number} 已延期 {case.extension_days} 天，法定只可延期一次 (art. 42)", ev)
    item = tx.session.get(Item, case.item_id)
    assert item is not None
    cap = item.legal_days + item.extension_days
    if item.committed_days + days > cap:
        raise _refuse(ErrorCode.EXTENSION_EXCEEDS_LIMIT,
                      f"延期 {days} 天后时限 {item.committed_days + days} 天超过法定时限 {item.legal_days} 天"
                      f"加可延长 {item.extension_days} 天", ev)
    clock = tx.session.get(Clock, case.clock_id) if case.clock_id else None
    if clock is None:
        raise _refuse(ErrorCode.CASE_NOT_RUNNING, f"办件 {case.number} 尚未受理，无法延期", ev)
    _clock_op(ev, extend_clock, clock, tx.calendar(case.center_id), days=days)
    case.extension_days, case.extension_approved_by = days, str(approved_by)
    work.touch(clock)
    return {"days": days, "approved_by": approved_by, "due_at": clock.due_at}


def _finish_all(tx: Transaction, work: _Work, case: Case, ev: ReportedEvent, at: datetime,
                cancelled: bool = False) -> None:
    calendar = tx.calendar(case.center_id)
    for step in _running_steps(tx, case):
        step.status = (StepStatus.CANCELLED if cancelled else StepStatus.DONE).value
        step.finished_at = at
        work.touch(step)
    for clock in _open_clocks(tx, case):
        finish_clock(clock, calendar, at=at, cancelled=cancelled)
        work.touch(clock)


def deem_accepted(tx: Transaction, case: Case) -> LedgerEvent:
    """Art. 32: an online submission unanswered within 5 working days counts as accepted on the
    day it was received; called when its acceptance clock runs out."""
    work = _Work(tx)
    acceptance = tx.session.get(Clock, case.acceptance_clock_id) if case.acceptance_clock_id else None
    at = acceptance.red_at if acceptance and acceptance.red_at else tx.now
    data = accept_case(tx, work, case, at=at, due_at=None, deemed=True)
    case.last_event_at = max(case.last_event_at, at)
    work.touch(case)
    event = tx.ledger.append(center_id=case.center_id, kind="case.deemed_accepted", subject_type="case",
                             subject_id=case.id, occurred_at=at, recorded_at=tx.now,
                             data={"number": case.number, **data}, changes=work.changes(),
                             actor="system:art32")
    tx.session.flush()
    tx.announce("case.event", {"ledger_id": event.id, "number": case.number, "kind": event.kind,
                               "center_id": str(case.center_id), "status": case.status})
    return event


def ingest(tx: Transaction, events: list[ReportedEvent], *, source: str) -> list[Outcome]:
    """A batch from a department system: each event applied or refused on its own (a savepoint
    each), answered per event; what was accepted stays accepted when a later one is refused."""
    outcomes: list[Outcome] = []
    for ev in events:
        savepoint = tx.session.begin_nested()
        try:
            outcome = handle(tx, ev, source=source)
            savepoint.commit()
        except DomainError as exc:
            savepoint.rollback()
            tx.ledger.forget_heads()
            outcome = Outcome(ev.source_event_id, "refused", code=str(exc.code), message=exc.message)
        outcomes.append(outcome)
    return outcomes

