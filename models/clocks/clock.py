"""One clock mechanism for every subject with a time limit: cases, steps, acceptance, and later
orders, complaints, follow-ups and tender stages.

A clock stores instants (``due_at``, ``yellow_at``, ``red_at``); the light at any time is derived
from them (see ``models/clocks/light.py``). The arithmetic here is pure: it takes a ``WorkCalendar`` and
plain values and returns new values, so the same rules serve the service functions, the
calendar reload and the tests.

Convention: the deadline is the end of the Nth working (or natural) day after the day the clock
starts (the start day never counts; Asia/Shanghai dates). ``red_at`` is the first instant past
the deadline (midnight after the last day) and ``due_at`` the last second before it. A pause from
instant p to instant r gives back the working days d with date(p) < d <= date(r).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from esupervision.models.base import UTCDateTime, new_id, record_class, utc
from esupervision.models.clocks.calendar import WorkCalendar

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_LIMIT_DAYS = 730


class Basis(StrEnum):
    WORKING = "working"
    NATURAL = "natural"


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    EARLY = "early"        # 提前办结: at least one working day to spare
    ON_TIME = "on_time"    # 按时办结
    OVERDUE = "overdue"    # 超期办结


class SubjectType(StrEnum):
    CASE = "case"
    LEGAL_LIMIT = "legal_limit"  # 法定时限: a case's legal limit beside its committed one (subject: the case)
    STEP = "step"
    ACCEPTANCE = "acceptance"   # art. 32: an online submission unanswered in 5 working days
    ORDER = "order"
    COMPLAINT = "complaint"
    FOLLOW_UP = "follow_up"
    TENDER_STAGE = "tender_stage"
    RULE_WATCH = "rule_watch"    # an automatic rule's own timer ("red for N working days")
    RATING = "evaluation"        # the window in which an applicant may rate a completed case


@dataclass(frozen=True)
class WarningRule:
    """Yellow when the working days left are at most max(min_days, fraction × limit)."""

    min_days: int = 1
    fraction: float = 0.2

    def days(self, limit_days: int) -> int:
        return max(self.min_days, int(self.fraction * limit_days))


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    yellow_at: datetime
    red_at: datetime
    provisional: bool


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai date of an instant (refuses naive datetimes, as ``utc``)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: instants must be timezone-aware")
    # Straight from the instant's own offset: going through UTC first gives the same date.
    return instant.astimezone(LOCAL_TZ).date()


def end_of_day(day: date) -> datetime:
    """Midnight after ``day`` in Asia/Shanghai, as a UTC instant."""
    return datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ).astimezone(timezone.utc)


def add_days(calendar: WorkCalendar, start: date, n: int, basis: Basis) -> date:
    """The last day of a period of ``n`` days after ``start``: working days, or natural days whose
    end moves off a rest day (``WorkCalendar.natural_period_end``)."""
    if basis is Basis.NATURAL:
        return calendar.natural_period_end(start, n)
    return calendar.add_working_days(start, n)


def days_between(calendar: WorkCalendar, a: date, b: date, basis: Basis) -> int:
    """Days d with a < d <= b that the basis counts (0 when b <= a)."""
    if basis is Basis.NATURAL:
        return max(0, (b - a).days)
    return calendar.working_days_between(a, b)


def compute_deadline(
    calendar: WorkCalendar,
    *,
    started_at: datetime,
    limit_days: int,
    basis: Basis,
    extended_days: int = 0,
    paused_days: int = 0,
    rule: WarningRule = WarningRule(),
) -> Deadline:
    """Deadline, yellow and red instants of a clock; O(1) in the calendar.

    The warning threshold is taken on the limit in force (limit plus extension); days given back
    by pauses move both instants by the same number of days.
    """
    if limit_days < 0 or extended_days < 0 or paused_days < 0:
        raise ValueError("day counts must not be negative")
    due_at, yellow_at, red_at, provisional = _deadline(
        calendar, utc(started_at), limit_days + extended_days, paused_days, Basis(basis).value,
        rule.min_days, rule.fraction)
    return Deadline(due_at=due_at, yellow_at=yellow_at, red_at=red_at, provisional=provisional)


# Deadlines kept per calendar (``WorkCalendar.derived``); past this many, the memo starts over.
_DEADLINE_MEMO_SIZE = 50_000


def _deadline(calendar: WorkCalendar, started_at: datetime, limit: int, paused_days: int, basis: str,
              min_days: int, fraction: float) -> tuple[datetime, datetime, datetime, bool]:
    """(due_at, yellow_at, red_at, provisional) of a clock started at the UTC instant
    ``started_at`` with ``limit`` days in force. Everything but a yellow held to half the time depends on the
    start's local date alone, so a batch's clocks (a few start days, a few limits) share a memo
    kept on the calendar."""
    start = started_at.astimezone(LOCAL_TZ).date()
    key = ("deadline", start, limit, paused_days, basis, min_days, fraction)
    memo = calendar.derived
    found = memo.get(key)
    if found is None:
        natural = basis == Basis.NATURAL.value
        add = calendar.natural_period_end if natural else calendar.add_working_days
        due_day = add(start, limit + paused_days)
        red_at = end_of_day(due_day)
        warn = max(min_days, int(fraction * limit))
        yellow_at = None if warn >= limit else min(end_of_day(add(start, limit - warn + paused_days)), red_at)
        # A natural period's end moves off rest days, which a missing year's notice decides too.
        provisional = calendar.is_provisional(start, due_day)
        if len(memo) >= _DEADLINE_MEMO_SIZE:
            memo.clear()
        found = memo[key] = (red_at - timedelta(seconds=1), yellow_at, red_at, provisional)
    due_at, yellow_at, red_at, provisional = found
    # Never yellow before half the clock's time has passed: a step of 1 working day (whose warning
    # is its whole limit) would otherwise be yellow from its first second and warn of nothing.
    half = started_at + (red_at - started_at) / 2
    return due_at, half if yellow_at is None or yellow_at < half else yellow_at, red_at, provisional


def fixed_deadline(started_at: datetime, due_at: datetime, *, limit_days: int,
                   rule: WarningRule) -> Deadline:
    """A deadline the source fixes itself (e.g. a log whose cases carry their own).

    Its warning threshold is taken in natural days before the deadline: the source told us
    the instant, not the calendar it counted on.
    """
    due_at = utc(due_at)
    red_at = due_at + timedelta(microseconds=1)
    yellow_at = max(utc(started_at), red_at - timedelta(days=rule.days(limit_days)))
    return Deadline(due_at=due_at, yellow_at=min(yellow_at, red_at), red_at=red_at, provisional=False)


def finish_outcome(calendar: WorkCalendar, *, finished_at: datetime, due_at: datetime,
                   red_at: datetime, basis: Basis) -> tuple[Outcome, int]:
    """How a clock finished and by how many days (early: days to spare; overdue: days late)."""
    finish_day, due_day = local_date(finished_at), local_date(due_at)
    if utc(finished_at) >= red_at:
        return Outcome.OVERDUE, days_between(calendar, due_day, finish_day, basis)
    spare = days_between(calendar, finish_day, due_day, basis)
    return (Outcome.EARLY if spare >= 1 else Outcome.ON_TIME), spare


class Clock(SQLModel, table=True):
    """A running, paused or finished time limit of one subject."""

    __tablename__ = "clock"
    __table_args__ = (
        # Lights are read from these instants: partial indexes over running clocks only.
        # (id last: pages ordered by instant then id read straight off the index)
        Index("ix_clock_running_red", "subject_type", "department_id", "red_at", "id",
              postgresql_where=text("state = 'running'"), sqlite_where=text("state = 'running'")),
        Index("ix_clock_running_yellow", "subject_type", "department_id", "yellow_at", "id",
              postgresql_where=text("state = 'running'"), sqlite_where=text("state = 'running'")),
        Index("ix_clock_paused", "subject_type", "department_id",
              postgresql_where=text("state = 'paused'"), sqlite_where=text("state = 'paused'")),
        Index("ix_clock_next_announce", "next_announce_at",
              postgresql_where=text("next_announce_at IS NOT NULL"),
              sqlite_where=text("next_announce_at IS NOT NULL")),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    center_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    department_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    basis: str = Basis.WORKING.value
    limit_days: int
    extended_days: int = 0
    paused_days: int = 0
    warn_min_days: int = 1
    warn_fraction: float = 0.2
    started_at: datetime = Field(sa_type=UTCDateTime)
    state: str = ClockState.RUNNING.value
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pause_kind: str | None = None
    pauses: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fixed_due: bool = False
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    yellow_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    red_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provisional: bool = False
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = None
    outcome_days: int | None = None
    # What the scheduler last announced, and when the next announcement falls due.
    announced_light: str = "white"
    next_announce_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def rule(self) -> WarningRule:
        return WarningRule(self.warn_min_days, self.warn_fraction)


# The working set of a batch builds clocks as plain records (see ``record_class``); every
# function below takes either, reading and writing the same attribute names.
ClockRecord = record_class(Clock)


def next_announcement(clock: Clock) -> datetime | None:
    """The instant the scheduler must next announce this clock's light, or None."""
    if clock.state != ClockState.RUNNING or clock.red_at is None:
        return None
    if clock.announced_light == "white":
        return clock.yellow_at if clock.yellow_at and clock.yellow_at < clock.red_at else clock.red_at
    if clock.announced_light == "yellow":
        return clock.red_at
    return None


def _reschedule(clock: Clock, calendar: WorkCalendar) -> None:
    if clock.fixed_due:
        return
    if clock.limit_days < 0 or clock.extended_days < 0 or clock.paused_days < 0:
        raise ValueError("day counts must not be negative")
    clock.due_at, clock.yellow_at, clock.red_at, clock.provisional = _deadline(
        calendar, utc(clock.started_at), clock.limit_days + clock.extended_days, clock.paused_days,
        Basis(clock.basis).value, clock.warn_min_days, clock.warn_fraction)


def start_clock(calendar: WorkCalendar, *, center_id: uuid.UUID, subject_type: SubjectType,
                subject_id: uuid.UUID, started_at: datetime, limit_days: int, basis: Basis,
                rule: WarningRule = WarningRule(), department_id: uuid.UUID | None = None,
                window_id: uuid.UUID | None = None, due_at: datetime | None = None) -> Clock:
    """A new running clock; ``due_at`` fixes the deadline instead of computing it."""
    if not 0 <= limit_days <= MAX_LIMIT_DAYS:
        raise ValueError(f"limit_days {limit_days} out of range")
    clock = ClockRecord(center_id=center_id, subject_type=subject_type.value, subject_id=subject_id,
                  department_id=department_id, window_id=window_id, basis=basis.value,
                  limit_days=limit_days, warn_min_days=rule.min_days, warn_fraction=rule.fraction,
                  started_at=utc(started_at), fixed_due=due_at is not None, pauses=[])
    if due_at is not None:
        d = fixed_deadline(started_at, due_at, limit_days=limit_days, rule=rule)
        clock.due_at, clock.yellow_at, clock.red_at = d.due_at, d.yellow_at, d.red_at
    else:
        _reschedule(clock, calendar)
    # A clock born yellow (a limit no longer than its warning) has no transition to announce.
    clock.announced_light = light_name_at(clock, clock.started_at)
    clock.next_announce_at = next_announcement(clock)
    return clock


def pause_clock(clock: Clock, *, at: datetime, kind: str) -> None:
    """Stop the clock; the days until it resumes will not count."""
    if clock.state == ClockState.PAUSED:
        raise ClockStateError("CLOCK_ALREADY_PAUSED")
    if clock.state != ClockState.RUNNING:
        raise ClockStateError("CLOCK_NOT_RUNNING")
    clock.state, clock.paused_at, clock.pause_kind = ClockState.PAUSED.value, utc(at), kind
    clock.next_announce_at = None


def resume_clock(clock: Clock, calendar: WorkCalendar, *, at: datetime) -> int:
    """Restart a paused clock and push its deadline by the days paused; returns those days."""
    if clock.state != ClockState.PAUSED or clock.paused_at is None:
        raise ClockStateError("CLOCK_NOT_PAUSED")
    at = utc(at)
    if at < clock.paused_at:
        raise ClockStateError("RESUME_BEFORE_PAUSE")
    given_back = days_between(calendar, local_date(clock.paused_at), local_date(at), Basis(clock.basis))
    clock.pauses = [*clock.pauses, {"from": clock.paused_at.isoformat(), "to": at.isoformat(),
                                    "kind": clock.pause_kind, "days": given_back}]
    clock.paused_days += given_back
    if clock.fixed_due and given_back and clock.due_at is not None:
        shift = timedelta(days=(at - clock.paused_at).days)
        clock.due_at, clock.red_at = clock.due_at + shift, clock.red_at + shift  # type: ignore[operator]
        clock.yellow_at = clock.yellow_at + shift if clock.yellow_at else None
    clock.state, clock.paused_at, clock.pause_kind = ClockState.RUNNING.value, None, None
    _reschedule(clock, calendar)
    clock.announced_light = light_name_at(clock, at)
    clock.next_announce_at = next_announcement(clock)
    return given_back


def extend_clock(clock: Clock, calendar: WorkCalendar, *, days: int) -> None:
    """Add approved days to the limit in force."""
    if clock.state not in (ClockState.RUNNING, ClockState.PAUSED):
        raise ClockStateError("CLOCK_NOT_RUNNING")
    clock.extended_days += days
    if clock.fixed_due and clock.due_at is not None:
        due_day = add_days(calendar, local_date(clock.due_at), days, Basis(clock.basis))
        clock.red_at = end_of_day(due_day)
        clock.due_at = clock.red_at - timedelta(seconds=1)
    else:
        _reschedule(clock, calendar)
    if clock.state == ClockState.RUNNING:
        clock.announced_light = "white"
        clock.next_announce_at = next_announcement(clock)


def finish_clock(clock: Clock, calendar: WorkCalendar, *, at: datetime,
                 cancelled: bool = False) -> None:
    """Stop the clock for good and keep how it finished."""
    if clock.state in (ClockState.FINISHED, ClockState.CANCELLED):
        raise ClockStateError("CLOCK_FINISHED")
    at = utc(at)
    if clock.state == ClockState.PAUSED and clock.paused_at is not None:
        resume_clock(clock, calendar, at=at)
    clock.finished_at, clock.next_announce_at = at, None
    if cancelled:
        clock.state = ClockState.CANCELLED.value
        return
    clock.state = ClockState.FINISHED.value
    outcome, days = finish_outcome(calendar, finished_at=at, due_at=clock.due_at,  # type: ignore[arg-type]
                                   red_at=clock.red_at, basis=Basis(clock.basis))  # type: ignore[arg-type]
    clock.outcome, clock.outcome_days = outcome.value, days


def recompute_clock(clock: Clock, calendar: WorkCalendar, *, now: datetime) -> bool:
    """Recompute an open clock's instants on a changed calendar; True when anything moved.

    The pauses already closed are recounted on the new calendar too.
    """
    if clock.state not in (ClockState.RUNNING, ClockState.PAUSED) or clock.fixed_due:
        return False
    before = (clock.due_at, clock.yellow_at, clock.red_at, clock.provisional, clock.paused_days)
    basis = Basis(clock.basis)
    clock.paused_days = sum(
        days_between(calendar, local_date(datetime.fromisoformat(p["from"])),
                     local_date(datetime.fromisoformat(p["to"])), basis)
        for p in clock.pauses
    )
    _reschedule(clock, calendar)
    if clock.state == ClockState.RUNNING:
        clock.announced_light = light_name_at(clock, now)
        clock.next_announce_at = next_announcement(clock)
    return before != (clock.due_at, clock.yellow_at, clock.red_at, clock.provisional, clock.paused_days)


def light_name_at(clock: Clock, at: datetime) -> str:
    """white / yellow / red of a running clock at ``at`` (no pause or finish handling)."""
    if clock.red_at is not None and at >= clock.red_at:
        return "red"
    if clock.yellow_at is not None and at >= clock.yellow_at:
        return "yellow"
    return "white"


class ClockStateError(Exception):
    """A clock operation that its state does not allow; services turn it into a DomainError."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
