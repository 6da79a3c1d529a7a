"""Loading a newly announced year: store it, then recompute every open clock it touches.

Deadlines computed before the year's notice were provisional (weekends only); each clock whose
instants move gets a ``clock.recomputed`` ledger event with its new row, lights included.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select

from esupervision.models.clocks import tally
from esupervision.models.clocks.calendar import YearCalendar, store_year
from esupervision.models.cases.casework import row_change
from esupervision.models.clocks.clock import LOCAL_TZ, Clock, ClockState, recompute_clock
from esupervision.models.ledger.transaction import Transaction


def _window_start(year: int) -> datetime:
    # The notice for a year reaches back to late December of the year before.
    return datetime.combine(date(year - 1, 12, 25), time(0), LOCAL_TZ)


def load_year(tx: Transaction, year_calendar: YearCalendar) -> int:
    """Store ``year_calendar`` and recompute the open clocks whose span reaches into it;
    returns how many clocks moved."""
    store_year(tx.session, year_calendar)
    tx.ledger.append(center_id=_ledger_center(tx), kind="calendar.year_loaded", subject_type="calendar",
                     subject_id=_calendar_subject(year_calendar.year), occurred_at=tx.now,
                     recorded_at=tx.now, actor=tx.actor,
                     data={"year": year_calendar.year, "source": year_calendar.source,
                           "holidays": [[d.date, d.name] for d in year_calendar.holidays],
                           "workdays": [[d.date, d.name] for d in year_calendar.workdays]})
    start = _window_start(year_calendar.year)
    end = datetime.combine(date(year_calendar.year, 12, 25), time(0), LOCAL_TZ)
    moved = 0
    last_id = None
    while True:
        query = (select(Clock).where(
            Clock.state.in_([ClockState.RUNNING.value, ClockState.PAUSED.value]),  # type: ignore[attr-defined]
            Clock.fixed_due.is_(False),  # type: ignore[attr-defined]
            Clock.started_at < end,
            or_(Clock.due_at >= start - timedelta(days=1), Clock.state == ClockState.PAUSED.value),
        ).order_by(Clock.id).limit(1000))
        if last_id is not None:
            query = query.where(Clock.id > last_id)
        clocks = tx.session.scalars(query).all()
        if not clocks:
            return moved
        deltas: Counter = Counter()
        for clock in clocks:
            before, counted = clock.due_at, tally.contribution(clock)
            if recompute_clock(clock, tx.calendar(clock.center_id), now=tx.now):
                tally.add_change(deltas, counted, tally.contribution(clock))
                moved += 1
                tx.ledger.append(center_id=clock.center_id, kind="clock.recomputed",
                                 subject_type=clock.subject_type, subject_id=clock.subject_id,
                                 occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                                 data={"year": year_calendar.year, "due_before": before,
                                       "due_after": clock.due_at, "provisional": clock.provisional},
                                 changes=[row_change(clock)])
                tx.announce("clock.recomputed", {"clock_id": str(clock.id),
                                                 "subject_type": clock.subject_type,
                                                 "subject_id": str(clock.subject_id)})
        last_id = clocks[-1].id
        tx.count_lights(deltas)
        tx.session.flush()


def _calendar_subject(year: int):
    import uuid
    return uuid.uuid5(uuid.NAMESPACE_URL, f"esupervision:calendar:{year}")


def _ledger_center(tx: Transaction):
    """Calendar loads go on the chain of the root (city) center, or a national chain if none."""
    from esupervision.models.catalogue.catalogue import Center
    root = tx.session.scalars(select(Center).where(Center.parent_id.is_(None)).order_by(Center.code)).first()  # type: ignore[union-attr]
    return root.id if root else _calendar_subject(0)
