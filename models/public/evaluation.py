"""Evaluations (好差评): after a case completes its applicant rates it 1–5 with a comment, by portal
or by SMS reply; a bad rating opens a follow-up (核实、整改、回访) on a clock of the core
(``SubjectType.FOLLOW_UP``) for the case's department; no rating within the window (7 days, a
setting) counts as 基本满意.

How the window works without scanning cases: a completion (``case.complete`` on the ledger) opens an
``EvaluationRequest`` with a clock of its own (subject type ``evaluation``, natural days, one red
instant) and sends the evaluation_request notice, from a transaction listener. The light scheduler
announces that clock when it runs out, and ``deem_unrated`` (registered with
``models.clocks.transitions.on_transition``) writes the deemed rating in the scheduler's transaction.
"""
from __future__ import annotations

import uuid
from collections import Counter, namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel

from esupervision.db import insert_rows, select_among
from esupervision.models.clocks import tally
from esupervision.models.access.scope import Viewer, unit_scope
from esupervision.models.base import UTCDateTime, new_id, record_class
from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.catalogue.catalogue import Center, Staff
from esupervision.models.clocks.clock import Basis, Clock, SubjectType, WarningRule, start_clock
from esupervision.models.clocks.clockbook import ClockBook
from esupervision.models.public.complaint import changes_of, complainant_phone, same_phone
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.notices.notice import NoticeDraft, add_notices, fresh_events, local_time

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction

MAX_COMMENT = 500
SCORE_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


# Only the red instant matters: the window has no warning to announce.
WINDOW_RULE = WarningRule(min_days=0, fraction=0.0)


class RequestStatus(StrEnum):
    PENDING = "pending"
    RATED = "rated"
    DEEMED = "deemed"


class FollowUpStage(StrEnum):
    VERIFY = "verify"        # 核实
    RECTIFY = "rectify"      # 整改
    REVISIT = "revisit"      # 回访
    CLOSED = "closed"


STAGE_LABELS = {FollowUpStage.VERIFY: "核实", FollowUpStage.RECTIFY: "整改", FollowUpStage.REVISIT: "回访",
                FollowUpStage.CLOSED: "已办结"}
NEXT_STAGE = {FollowUpStage.VERIFY: FollowUpStage.RECTIFY, FollowUpStage.RECTIFY: FollowUpStage.REVISIT,
              FollowUpStage.REVISIT: FollowUpStage.CLOSED}


class EvaluationRequest(SQLModel, table=True):
    """A completed case waiting for its applicant's rating, until its window closes."""

    __tablename__ = "evaluation_request"
    __table_args__ = (Index("ix_evaluation_request_phone", "phone", "status", "requested_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    case_id: uuid.UUID = Field(unique=True)
    center_id: uuid.UUID
    phone: str | None = None            # the applicant's, as complaints store phones (SMS replies find it)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    status: str = RequestStatus.PENDING.value
    clock_id: uuid.UUID


RequestRecord = record_class(EvaluationRequest)


class Evaluation(SQLModel, table=True):
    """好差评: one rating of one completed case (``deemed``: nobody rated in time)."""

    __tablename__ = "evaluation"
    __table_args__ = (Index("ix_evaluation_center_rated", "center_id", "rated_at"),
                      Index("ix_evaluation_department_rated", "department_id", "rated_at"),
                      Index("ix_evaluation_window_rated", "window_id", "rated_at"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    case_id: uuid.UUID = Field(unique=True)
    center_id: uuid.UUID
    department_id: uuid.UUID
    window_id: uuid.UUID | None = None
    staff_id: uuid.UUID | None = None
    item_id: uuid.UUID
    score: int
    comment: str | None = None
    rated_at: datetime = Field(sa_type=UTCDateTime)
    deemed: bool = False
    channel: str = "portal"             # portal / sms / deemed


class FollowUp(SQLModel, table=True):
    """The follow-up of a bad rating: 核实 → 整改 → 回访, each recorded, within its limit."""

    __tablename__ = "follow_up"
    __table_args__ = (Index("ix_follow_up_department_stage", "department_id", "stage"),
                      Index("ix_follow_up_case", "case_id"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    evaluation_id: uuid.UUID = Field(unique=True)
    case_id: uuid.UUID
    center_id: uuid.UUID
    department_id: uuid.UUID
    window_id: uuid.UUID | None = None
    score: int
    opened_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stage: str = FollowUpStage.VERIFY.value     # the stage awaited next; closed when done
    stages: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revisit_satisfied: bool | None = None
    clock_id: uuid.UUID


# ----------------------------------------------------------------------------- requests

def _stored_phone(raw: str | None) -> str | None:
    try:
        return complainant_phone(raw)
    except DomainError:
        return None


# What opening a rating window reads of its case.
_Completed = namedtuple("_Completed", ["id", "number", "center_id", "status", "applicant_phone"])


def request_evaluations(tx: "Transaction", events: list[Any]) -> None:
    """The transaction listener: each completed case gets a rating window and its applicant the
    evaluation_request notice, in the transaction that completed it. A completion older than the
    notice horizon (an imported history, a back-dated report) asks nobody, so it opens no window
    and is never deemed rated."""
    done = list({e.subject_id: e for e in fresh_events(tx, events) if e.kind == "case.complete"}.values())
    if not done:
        return
    # Plain rows and records, written with multi-row statements: a department system's batch
    # may complete thousands of cases in one transaction.
    ids = [e.subject_id for e in done]
    cases: dict[uuid.UUID, Any] = {}
    case_table, request_case = Case.__table__, EvaluationRequest.__table__.c.case_id  # type: ignore[attr-defined]
    columns = [case_table.c[n] for n in _Completed._fields]
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        cases.update((row[0], _Completed._make(row))
                     for row in select_among(tx.session, columns, case_table.c.id, chunk))
        for (case_id,) in select_among(tx.session, [request_case], request_case, chunk):
            cases.pop(case_id, None)
    wanted = [c for c in cases.values() if c.status == CaseStatus.COMPLETED.value]
    if not wanted:
        return
    centers = dict(tx.session.execute(select(Center.id, Center.name).where(
        Center.id.in_({c.center_id for c in wanted}))).all())  # type: ignore[attr-defined]
    clocks, requests, asked, deltas = [], [], [], Counter()
    for case in wanted:
        request = RequestRecord(id=new_id(), case_id=case.id, center_id=case.center_id,
                                phone=_stored_phone(case.applicant_phone), requested_at=tx.now,
                                closes_at=tx.now, status=RequestStatus.PENDING.value, clock_id=None)
        clock = start_clock(tx.calendar(case.center_id), center_id=case.center_id,
                            subject_type=SubjectType.RATING,
                            subject_id=request.id, started_at=tx.now, limit_days=tx.settings.evaluation_deem_days,
                            basis=Basis.NATURAL, rule=WINDOW_RULE)
        request.clock_id, request.closes_at = clock.id, clock.red_at
        tally.add_change(deltas, None, tally.contribution(clock))
        clocks.append(clock)
        requests.append(request)
        event = tx.ledger.append(center_id=case.center_id, kind="evaluation.requested", subject_type="evaluation",
                                 subject_id=case.id, occurred_at=tx.now, recorded_at=tx.now, actor="system:evaluation",
                                 data={"number": case.number, "closes_at": request.closes_at},
                                 changes=changes_of(clock, request))
        if case.applicant_phone:
            asked.append((case, event))
    insert_rows(tx.session, Clock.__table__, clocks)  # type: ignore[attr-defined]
    insert_rows(tx.session, EvaluationRequest.__table__, requests)  # type: ignore[attr-defined]
    tx.count_lights(deltas)
    # The transaction's own flush has written its ledger already: these events go in now.
    tx.ledger.flush()
    add_notices(tx, [NoticeDraft(
        key=f"evaluation.requested:{case.id}", subject_type="case", subject_id=case.id, case_id=case.id,
        center_id=case.center_id, ledger_event_id=event.id, template="evaluation_request",
        params={"center": centers.get(case.center_id, "行政服务中心"), "number": case.number,
                "link": tx.settings.evaluation_link},
        phone=case.applicant_phone, recipient_kind="applicant") for case, event in asked])


# ----------------------------------------------------------------------------- rating

def _check_score(score: Any) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise DomainError(ErrorCode.INVALID_SCORE, f"评分应为 1–5 的整数，收到 {score!r} score must be 1–5", score=score)
    return score


def rate_case(tx: "Transaction", *, number: str, score: int, phone: str | None, comment: str | None = None,
              channel: str = "portal") -> Evaluation:
    """The applicant's rating of their completed case (``phone``: theirs, as logged in or as the
    SMS came). Someone else's case is not found; a second rating, a case not completed, or a
    rating after the window closed is refused; a bad rating opens a follow-up."""
    score = _check_score(score)
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise DomainError(ErrorCode.BAD_INPUT, f"评价内容最多 {MAX_COMMENT} 字 comment too long")
    wanted = (number or "").strip().upper()
    case = tx.session.scalars(select(Case).where(Case.number == wanted).with_for_update()).first()
    if case is None or not same_phone(case.applicant_phone, phone):
        raise DomainError(ErrorCode.CASE_NOT_FOUND, f"办件 {wanted} 不存在", case=wanted)
    if case.status != CaseStatus.COMPLETED.value:
        raise DomainError(ErrorCode.EVALUATION_NOT_OPEN, f"办件 {case.number} 尚未办结，不能评价", case=case.number)
    if tx.session.scalar(select(Evaluation.id).where(Evaluation.case_id == case.id)) is not None:
        raise DomainError(ErrorCode.EVALUATION_EXISTS, f"办件 {case.number} 已评价，不能重复评价", case=case.number)
    request = tx.session.scalars(select(EvaluationRequest).where(EvaluationRequest.case_id == case.id)
                                 .with_for_update()).first()
    if request is not None and tx.now >= request.closes_at:
        raise DomainError(ErrorCode.EVALUATION_CLOSED,
                          f"办件 {case.number} 的评价期已过（{tx.settings.evaluation_deem_days} 日内未评价视为基本满意）",
                          case=case.number)
    return _rate(tx, case, request, score=score, comment=text, channel=channel, at=tx.now)


def _rate(tx: "Transaction", case: Case, request: EvaluationRequest | None, *, score: int, comment: str | None,
          channel: str, at: datetime) -> Evaluation:
    deemed = channel == "deemed"
    book = ClockBook(tx)
    window = book.get(request.clock_id) if request is not None else None
    book.finish(window, at)
    if request is not None:
        request.status = (RequestStatus.DEEMED if deemed else RequestStatus.RATED).value
    evaluation = Evaluation(case_id=case.id, center_id=case.center_id, department_id=case.department_id,
                            window_id=case.window_id, staff_id=case.staff_id, item_id=case.item_id, score=score,
                            comment=comment, rated_at=at, deemed=deemed, channel=channel)
    tx.session.add(evaluation)
    follow_up = clock = None
    if score <= tx.settings.evaluation_bad_max_score:
        follow_up = FollowUp(evaluation_id=evaluation.id, case_id=case.id, center_id=case.center_id,
                             department_id=case.department_id, window_id=case.window_id, score=score,
                             opened_at=tx.now, stages=[], clock_id=uuid.UUID(int=0))
        clock = book.start(center_id=case.center_id, subject_type=SubjectType.FOLLOW_UP, subject_id=follow_up.id,
                           limit_days=tx.settings.follow_up_days, department_id=case.department_id,
                           window_id=case.window_id)
        follow_up.clock_id, follow_up.due_at = clock.id, clock.due_at
        tx.session.add(follow_up)
    book.settle()
    kind = "evaluation.deemed" if deemed else "evaluation.rated"
    event = tx.ledger.append(center_id=case.center_id, kind=kind, subject_type="evaluation", subject_id=case.id,
                             occurred_at=at, recorded_at=tx.now, actor="system:evaluation" if deemed else tx.actor,
                             data={"number": case.number, "score": score, "label": SCORE_LABELS[score],
                                   "channel": channel, "follow_up_id": str(follow_up.id) if follow_up else None},
                             changes=changes_of(window, request, evaluation, clock, follow_up))
    tx.announce("evaluation.event", {"number": case.number, "kind": kind, "score": score,
                                     "center_id": str(case.center_id), "department_id": str(case.department_id)},
                event)
    return evaluation


def deem_unrated(tx: "Transaction", transitions: list[Any]) -> None:
    """A rating window running out: the case counts as rated 基本满意 (a setting), on the ledger.
    Registered with the light scheduler; a window already rated is left alone."""
    for change in transitions:
        if change.light != "red":
            continue
        request = tx.session.scalars(select(EvaluationRequest).where(
            EvaluationRequest.id == change.clock.subject_id).with_for_update()).first()
        if request is None or request.status != RequestStatus.PENDING.value:
            continue
        case = tx.session.get(Case, request.case_id)
        if case is None or tx.session.scalar(select(Evaluation.id).where(Evaluation.case_id == case.id)):
            continue
        _rate(tx, case, request, score=_check_score(tx.settings.evaluation_deemed_score), comment=None,
              channel="deemed", at=request.closes_at)


def pending_request_for(session: Session, phone: str) -> tuple[EvaluationRequest, Case] | None:
    """The newest case waiting for a rating from ``phone`` (an SMS reply rates it)."""
    stored = _stored_phone(phone)
    if stored is None:
        return None
    row = session.execute(select(EvaluationRequest, Case).join(Case, Case.id == EvaluationRequest.case_id)
                          .where(EvaluationRequest.phone == stored,
                                 EvaluationRequest.status == RequestStatus.PENDING.value)
                          .order_by(EvaluationRequest.requested_at.desc()).limit(1)).first()  # type: ignore[attr-defined]
    return (row[0], row[1]) if row else None


# ----------------------------------------------------------------------------- follow-ups

def follow_up_scope(viewer: Viewer) -> ColumnElement[bool]:
    """The follow-ups (and evaluations) ``viewer`` may read: as for cases, by center, department
    or window; applicants see their own rating through their case, not here."""
    return _scope(viewer, FollowUp)


def evaluation_scope(viewer: Viewer) -> ColumnElement[bool]:
    return _scope(viewer, Evaluation)


def _scope(viewer: Viewer, model: Any) -> ColumnElement[bool]:
    return unit_scope(viewer, model)   # staff by their unit; ratings and follow-ups name no applicant here


def record_follow_up(tx: "Transaction", *, viewer: Viewer, number: str, stage: FollowUpStage, note: str,
                     satisfied: bool | None = None) -> FollowUp:
    """Record the next stage of a case's follow-up: 核实, then 整改, then 回访 (with whether the
    applicant is now satisfied), which closes it and stops its clock."""
    text = (note or "").strip()
    if not text or len(text) > MAX_COMMENT:
        raise DomainError(ErrorCode.BAD_INPUT, f"记录内容应为 1–{MAX_COMMENT} 字 note must be 1–{MAX_COMMENT} characters")
    wanted = (number or "").strip().upper()
    row = tx.session.execute(select(FollowUp, Case.number).join(Case, Case.id == FollowUp.case_id).where(
        Case.number == wanted, follow_up_scope(viewer)).with_for_update(of=FollowUp)).first()  # type: ignore[arg-type]
    if row is None:
        raise DomainError(ErrorCode.FOLLOW_UP_NOT_FOUND, f"办件 {wanted} 没有差评回访记录", case=wanted)
    follow_up = row[0]
    expected = FollowUpStage(follow_up.stage)
    if stage is not expected:
        awaited = "已办结" if expected is FollowUpStage.CLOSED else f"应先{STAGE_LABELS[expected]}"
        raise DomainError(ErrorCode.FOLLOW_UP_STAGE_ORDER,
                          f"差评处理按核实、整改、回访依次进行：{awaited}，不能记录{STAGE_LABELS[stage]}",
                          case=wanted, expected=expected.value)
    if stage is FollowUpStage.REVISIT and satisfied is None:
        raise DomainError(ErrorCode.BAD_INPUT, "回访须记录申请人是否满意 satisfied required at the revisit")
    entry = {"stage": stage.value, "label": STAGE_LABELS[stage], "at": tx.now.isoformat(), "actor": viewer.actor,
             "note": text}
    if stage is FollowUpStage.REVISIT:
        entry["satisfied"] = satisfied
    follow_up.stages = [*follow_up.stages, entry]
    follow_up.stage = NEXT_STAGE[stage].value
    book = ClockBook(tx)
    clock = None
    if stage is FollowUpStage.REVISIT:
        clock = book.get(follow_up.clock_id)
        book.finish(clock)
        follow_up.closed_at, follow_up.revisit_satisfied = tx.now, satisfied
    book.settle()
    event = tx.ledger.append(center_id=follow_up.center_id, kind=f"follow_up.{stage.value}", subject_type="follow_up",
                             subject_id=follow_up.case_id, occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                             data={"number": wanted, "stage": stage.value, "note": text, "satisfied": satisfied},
                             changes=changes_of(clock, follow_up))
    tx.announce("evaluation.event", {"number": wanted, "kind": event.kind, "center_id": str(follow_up.center_id),
                                     "department_id": str(follow_up.department_id)}, event)
    return follow_up


def write_follow_up_notices(tx: "Transaction", events: list[Any]) -> None:
    """The transaction listener: a bad rating tells the department's leaders what to do, by when."""
    wanted = [e for e in events if e.kind in ("evaluation.rated", "evaluation.deemed") and e.data.get("follow_up_id")]
    if not wanted:
        return
    follow_ups = {f.id: f for f in tx.session.scalars(select(FollowUp).where(
        FollowUp.id.in_([uuid.UUID(e.data["follow_up_id"]) for e in wanted])))}  # type: ignore[attr-defined]
    drafts = []
    for event in wanted:
        follow_up = follow_ups.get(uuid.UUID(event.data["follow_up_id"]))
        if follow_up is None:
            continue
        leaders = tx.session.execute(select(Staff.id, Staff.phone).where(
            Staff.department_id == follow_up.department_id, Staff.is_leader.is_(True),  # type: ignore[attr-defined]
            Staff.phone.is_not(None))).all()  # type: ignore[union-attr]
        for staff_id, phone in leaders:
            drafts.append(NoticeDraft(
                key=f"follow_up.opened:{follow_up.id}", subject_type="follow_up", subject_id=follow_up.id,
                case_id=follow_up.case_id, center_id=follow_up.center_id, ledger_event_id=event.id,
                template="follow_up_assigned", recipient_kind="staff", staff_id=staff_id, phone=phone,
                params={"number": event.data["number"], "label": event.data["label"],
                        "deadline": local_time(follow_up.due_at, tx.settings.timezone)}))
    if drafts:
        add_notices(tx, drafts)


# ----------------------------------------------------------------------------- reading

def case_evaluation(session: Session, case_id: uuid.UUID) -> tuple[Evaluation | None, FollowUp | None]:
    """A case's rating and the follow-up it opened, if any."""
    evaluation = session.scalars(select(Evaluation).where(Evaluation.case_id == case_id)).first()
    follow_up = session.scalars(select(FollowUp).where(FollowUp.case_id == case_id)).first() if evaluation else None
    return evaluation, follow_up


@dataclass
class BadRating:
    evaluation: Evaluation
    case_number: str
    follow_up: FollowUp | None


@dataclass
class EvaluationSummary:
    """Counts by score for a period and scope, the praise rate, and beside them every bad
    rating with its follow-up record (a high praise rate never hides them)."""

    start: datetime
    end: datetime
    by_score: dict[int, int]
    deemed: int
    praise: int
    bad: int
    follow_ups_open: int
    follow_ups_closed: int
    follow_ups_overdue: int
    revisit_satisfied: int
    bad_ratings: list[BadRating] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_score.values())

    @property
    def praise_rate(self) -> float | None:
        return self.praise / self.total if self.total else None

    @property
    def average(self) -> float | None:
        return sum(s * n for s, n in self.by_score.items()) / self.total if self.total else None


def evaluation_summary(session: Session, *, viewer: Viewer, start: datetime, end: datetime, now: datetime,
                       praise_min: int, bad_max: int, center_id: uuid.UUID | None = None,
                       department_id: uuid.UUID | None = None, window_id: uuid.UUID | None = None,
                       limit: int = 1000) -> EvaluationSummary:
    """Ratings given in [start, end) within the viewer's scope and the filters; ``INVALID_PERIOD``
    for a period that ends before it starts."""
    if end <= start:
        raise DomainError(ErrorCode.INVALID_PERIOD, "统计期间的结束早于开始 period ends before it starts",
                          start=start.isoformat(), end=end.isoformat())
    conds: list[ColumnElement[bool]] = [evaluation_scope(viewer), Evaluation.rated_at >= start,
                                        Evaluation.rated_at < end]
    if center_id is not None:
        conds.append(Evaluation.center_id == center_id)
    if department_id is not None:
        conds.append(Evaluation.department_id == department_id)
    if window_id is not None:
        conds.append(Evaluation.window_id == window_id)
    by_score = {s: 0 for s in range(1, 6)}
    deemed = 0
    for score, is_deemed, n in session.execute(select(Evaluation.score, Evaluation.deemed, func.count())
                                               .where(*conds).group_by(Evaluation.score, Evaluation.deemed)):
        by_score[score] += n
        deemed += n if is_deemed else 0
    rows = session.execute(select(Evaluation, Case.number, FollowUp)
                           .join(Case, Case.id == Evaluation.case_id)
                           .outerjoin(FollowUp, FollowUp.evaluation_id == Evaluation.id)
                           .where(*conds, Evaluation.score <= bad_max)
                           .order_by(Evaluation.rated_at, Evaluation.id).limit(limit)).all()
    bad_ratings = [BadRating(evaluation=e, case_number=n, follow_up=f) for e, n, f in rows]
    follow_ups = [b.follow_up for b in bad_ratings if b.follow_up is not None]
    overdue = sum(1 for f in follow_ups if f.due_at is not None and (f.closed_at or now) > f.due_at)
    return EvaluationSummary(
        start=start, end=end, by_score=by_score, deemed=deemed,
        praise=sum(n for s, n in by_score.items() if s >= praise_min),
        bad=sum(n for s, n in by_score.items() if s <= bad_max),
        follow_ups_open=sum(1 for f in follow_ups if f.closed_at is None),
        follow_ups_closed=sum(1 for f in follow_ups if f.closed_at is not None),
        follow_ups_overdue=overdue, revisit_satisfied=sum(1 for f in follow_ups if f.revisit_satisfied),
        bad_ratings=bad_ratings)


# ----------------------------------------------------------------------------- timeline

def _timeline(session: Session, case: Case) -> list[Any]:
    """The case's evaluation in its full-process story: request, rating, follow-up stages."""
    from esupervision.models.cases.timeline import TimelineEntry

    entries = []
    request = session.scalars(select(EvaluationRequest).where(EvaluationRequest.case_id == case.id)).first()
    if request is not None:
        entries.append(TimelineEntry(at=request.requested_at, kind="evaluation.requested", title="邀请申请人评价",
                                     detail={"closes_at": request.closes_at.isoformat()}))
    evaluation, follow_up = case_evaluation(session, case.id)
    if evaluation is not None:
        title = (f"视为{SCORE_LABELS[evaluation.score]}（逾期未评价）" if evaluation.deemed
                 else f"申请人评价：{SCORE_LABELS[evaluation.score]}（{evaluation.score}分）")
        entries.append(TimelineEntry(at=evaluation.rated_at, kind="evaluation.deemed" if evaluation.deemed
                                     else "evaluation.rated", title=title,
                                     detail={"score": evaluation.score, "comment": evaluation.comment,
                                             "channel": evaluation.channel}))
    if follow_up is not None:
        entries.append(TimelineEntry(at=follow_up.opened_at, kind="follow_up.opened", title="差评转部门核实整改",
                                     detail={"due_at": follow_up.due_at.isoformat() if follow_up.due_at else None}))
        for stage in follow_up.stages:
            entries.append(TimelineEntry(at=datetime.fromisoformat(stage["at"]), kind=f"follow_up.{stage['stage']}",
                                         title=f"差评{stage['label']}", actor=stage.get("actor"),
                                         detail={"note": stage.get("note"), "satisfied": stage.get("satisfied")}))
    return entries


def install() -> None:
    """Rating windows on completion, follow-up notices, the deemed default when a window runs
    out, and the case timeline's evaluation entries (idempotent)."""
    from esupervision.models.cases.timeline import register_timeline_source
    from esupervision.models.ledger.transaction import add_event_listener
    from esupervision.models.clocks.transitions import on_transition

    add_event_listener(request_evaluations)
    add_event_listener(write_follow_up_notices)
    on_transition(SubjectType.RATING, deem_unrated)
    register_timeline_source(_timeline)


install()
