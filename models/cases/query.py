"""Reading cases: filtered, scoped, keyset-paginated lists, one case by number, its history."""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from esupervision.models.access.scope import Viewer, case_scope
from esupervision.models.cases.case import Case, CaseRecord, CaseStatus
from esupervision.models.clocks.clock import Clock, ClockState, SubjectType
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.clocks.light import Light
from esupervision.models.clocks.lights_query import light_condition

PAUSED = "paused"


@dataclass
class CaseFilter:
    """Every field narrows the list; None means "any"."""

    center_ids: list[uuid.UUID] | None = None
    department_ids: list[uuid.UUID] | None = None
    window_ids: list[uuid.UUID] | None = None
    staff_ids: list[uuid.UUID] | None = None
    item_ids: list[uuid.UUID] | None = None
    statuses: list[CaseStatus] | None = None
    lights: list[str] | None = None          # white / yellow / red / paused
    channel: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    completed_from: datetime | None = None
    completed_to: datetime | None = None
    reported_late: bool | None = None
    over_legal_limit: bool | None = None     # its legal-limit clock red now (as Case.overLegalLimit)
    text: str | None = None                  # number prefix, or part of the applicant's name
    extra: list[ColumnElement[bool]] = field(default_factory=list)


@dataclass
class CasePage:
    cases: list[Any]                         # CaseRecord: the columns of Case, without the ORM
    total: int | None
    has_next: bool
    has_previous: bool


def encode_id_cursor(kind: str, row_id: uuid.UUID) -> str:
    """An opaque Relay cursor for a keyset page ordered by id: base64 of ``kind:`` and the id's bytes."""
    return base64.urlsafe_b64encode(kind.encode() + b":" + row_id.bytes).decode().rstrip("=")


def decode_id_cursor(kind: str, cursor: str) -> uuid.UUID:
    """The id in a ``kind`` cursor; a cursor we did not issue (or of another kind) is ``BAD_CURSOR``."""
    prefix = kind.encode() + b":"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(prefix) or len(raw) != len(prefix) + 16:
            raise ValueError
        return uuid.UUID(bytes=raw[len(prefix):])
    except (ValueError, TypeError):
        raise DomainError(ErrorCode.BAD_CURSOR, f"无效的分页游标 invalid cursor {cursor!r}") from None


def encode_cursor(case_id: uuid.UUID) -> str:
    return encode_id_cursor("case", case_id)


def decode_cursor(cursor: str) -> uuid.UUID:
    """The case id in a cursor; a cursor we did not issue is ``BAD_CURSOR``."""
    return decode_id_cursor("case", cursor)


def over_legal_limit_clocks(now: datetime) -> Any:
    """Ids of the legal-limit clocks red at ``now`` as ``light_at`` reads them: running past
    ``red_at``; paused after it (补正 stops the clock, 行政许可法 art. 45, with its light); finished
    or cancelled after it (kept as history). The list behind the overview's 超法定时限 count (open
    cases) and the finished ones besides."""
    legal = aliased(Clock)
    return select(legal.id).where(
        legal.subject_type == SubjectType.LEGAL_LIMIT.value, legal.red_at <= now,
        or_(legal.state == ClockState.RUNNING.value,
            and_(legal.state == ClockState.PAUSED.value, legal.red_at <= func.coalesce(legal.paused_at, now)),
            and_(legal.state.in_([ClockState.FINISHED.value, ClockState.CANCELLED.value]),
                 legal.red_at <= func.coalesce(legal.finished_at, now))))


def _conditions(flt: CaseFilter, now: datetime) -> tuple[list[ColumnElement[bool]], bool]:
    """SQL conditions for a filter, and whether they need the case clock joined."""
    conds: list[ColumnElement[bool]] = list(flt.extra)
    need_clock = False
    for column, values in ((Case.center_id, flt.center_ids), (Case.department_id, flt.department_ids),
                           (Case.window_id, flt.window_ids), (Case.staff_id, flt.staff_ids),
                           (Case.item_id, flt.item_ids)):
        if values is not None:
            conds.append(column.in_(values))  # type: ignore[union-attr]
    if flt.statuses is not None:
        conds.append(Case.status.in_([s.value for s in flt.statuses]))  # type: ignore[attr-defined]
    if flt.channel:
        conds.append(Case.channel == flt.channel)
    for column, low, high in ((Case.accepted_at, flt.accepted_from, flt.accepted_to),
                              (Case.completed_at, flt.completed_from, flt.completed_to)):
        if low is not None:
            conds.append(column >= low)  # type: ignore[operator]
        if high is not None:
            conds.append(column < high)  # type: ignore[operator]
    if flt.due_from is not None or flt.due_to is not None:
        need_clock = True
        if flt.due_from is not None:
            conds.append(Clock.due_at >= flt.due_from)  # type: ignore[operator]
        if flt.due_to is not None:
            conds.append(Clock.due_at < flt.due_to)  # type: ignore[operator]
    if flt.reported_late is not None:
        conds.append(Case.reported_late.is_(flt.reported_late))  # type: ignore[attr-defined]
    if flt.over_legal_limit is not None:
        over = Case.legal_clock_id.in_(over_legal_limit_clocks(now))  # type: ignore[union-attr]
        conds.append(over if flt.over_legal_limit else or_(Case.legal_clock_id.is_(None), ~over))  # type: ignore[union-attr]
    if flt.text:
        text = flt.text.strip()
        conds.append(or_(Case.number.startswith(text), Case.applicant_name.contains(text)))  # type: ignore[union-attr]
    if flt.lights:
        need_clock = True
        parts = []
        for light in dict.fromkeys(flt.lights):   # each once: a repeated light adds nothing but SQL
            if light == PAUSED:
                parts.append(Clock.state == ClockState.PAUSED.value)
            else:
                parts.append(and_(Clock.state == ClockState.RUNNING.value, light_condition(Light(light), now)))
        conds.append(or_(*parts))
    return conds, need_clock


@dataclass
class PageStatements:
    """The statements of one page: the rows (``first + 1`` of them, to know whether more follow)
    and the total; a caller may join more tables to ``rows`` (the compiled API path does)."""

    rows: Any
    count: Any
    has_previous: bool


def page_statements(*, viewer: Viewer, flt: CaseFilter, first: int, after: str | None,
                    now: datetime) -> PageStatements:
    """The cases ``viewer`` may see that match ``flt``, newest first, after the cursor ``after``."""
    conds, need_clock = _conditions(flt, now)
    conds.append(case_scope(viewer))
    base = select(Case.__table__)  # type: ignore[attr-defined]
    counter = select(func.count()).select_from(Case)
    if need_clock:
        base = base.join(Clock, Clock.id == Case.clock_id)
        counter = counter.join(Clock, Clock.id == Case.clock_id)
    page = base.where(*conds)
    if after:
        page = page.where(Case.id < decode_cursor(after))
    # The limit is written into the SQL (a page size, an int): with it as a parameter PostgreSQL's
    # generic plan cannot tell 51 rows from a million, and re-plans every prepared execution.
    limit = literal_column(str(int(first) + 1))
    return PageStatements(rows=page.order_by(Case.id.desc()).limit(limit),  # type: ignore[union-attr]
                          count=counter.where(*conds), has_previous=bool(after))


def search_cases(session: Session, *, viewer: Viewer, flt: CaseFilter, first: int, after: str | None,
                 now: datetime, count: bool = True) -> CasePage:
    """One page of the cases ``viewer`` may see that match ``flt``, newest first; with ``count``
    False the total is not counted (None): counting a million cases costs more than the page."""
    statements = page_statements(viewer=viewer, flt=flt, first=first, after=after, now=now)
    result = session.execute(statements.rows)
    keys = list(result.keys())
    rows = [CaseRecord(**dict(zip(keys, row))) for row in result]
    total = (session.scalar(statements.count) or 0) if count else None
    return CasePage(cases=rows[:first], total=total, has_next=len(rows) > first,
                    has_previous=statements.has_previous)


def get_case(session: Session, *, viewer: Viewer, number: str) -> Case | None:
    """The case with this number if ``viewer`` may see it; otherwise None, as if it did not exist."""
    return session.scalars(select(Case).where(Case.number == number, case_scope(viewer))).first()


def case_history(session: Session, case_id: uuid.UUID) -> list[LedgerEvent]:
    """Every ledger event of a case and its steps and clocks, in recorded order."""
    from esupervision.models.cases.case import Step

    # Light announcements are recorded against the case or step their clock belongs to.
    subject_ids = [case_id, *session.scalars(select(Step.id).where(Step.case_id == case_id))]
    return list(session.scalars(select(LedgerEvent).where(LedgerEvent.subject_id.in_(subject_ids))  # type: ignore[attr-defined]
                                .order_by(LedgerEvent.id)))
