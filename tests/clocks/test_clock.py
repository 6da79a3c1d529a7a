"""Clock rules as properties (Hypothesis), through ``models/`` alone: no server, no database."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from esupervision.models.clocks.calendar import WorkCalendar, default_calendar
from esupervision.models.clocks.clock import (Basis, SubjectType, WarningRule, compute_deadline, extend_clock,
                                              finish_clock, local_date, pause_clock, resume_clock, start_clock)
from esupervision.models.clocks.light import Light, light_at

SH = ZoneInfo("Asia/Shanghai")
CAL = default_calendar()
ORDER = {Light.WHITE: 0, Light.YELLOW: 1, Light.RED: 2}

instants = st.builds(lambda d, m: datetime.combine(d, time(0), SH) + timedelta(minutes=m),
                     st.dates(date(2015, 1, 1), date(2026, 6, 30)), st.integers(0, 24 * 60 - 1))
limits = st.integers(0, 60)
bases = st.sampled_from([Basis.WORKING, Basis.NATURAL])


def new_clock(started: datetime, limit: int, basis: Basis = Basis.WORKING, rule: WarningRule = WarningRule()):
    return start_clock(CAL, center_id=uuid.uuid4(), subject_type=SubjectType.CASE, subject_id=uuid.uuid4(),
                       started_at=started, limit_days=limit, basis=basis, rule=rule)


@settings(max_examples=300, deadline=None)
@given(started=instants, limit=st.integers(1, 60))
def test_working_day_deadline_never_lands_on_a_day_off(started, limit):
    clock = new_clock(started, limit)
    due_day = local_date(clock.due_at)
    assert CAL.is_working(due_day)
    assert CAL.working_days_between(local_date(started), due_day) == limit
    assert clock.due_at < clock.red_at and clock.yellow_at <= clock.red_at


@settings(max_examples=200, deadline=None)
@given(started=instants, limit=limits, basis=bases, pause_after=st.integers(0, 20 * 24 * 60),
       pause_for=st.integers(0, 30 * 24 * 60))
def test_pausing_and_resuming_never_shortens_a_deadline(started, limit, basis, pause_after, pause_for):
    clock = new_clock(started, limit, basis)
    due_before = clock.due_at
    paused = started + timedelta(minutes=pause_after)
    pause_clock(clock, at=paused, kind="supplement")
    resume_clock(clock, CAL, at=paused + timedelta(minutes=pause_for))
    assert clock.due_at >= due_before
    assert light_at(clock, paused + timedelta(minutes=pause_for)).paused is False


@settings(max_examples=200, deadline=None)
@given(started=instants, limit=limits, basis=bases, steps=st.lists(st.integers(1, 3 * 24 * 60), min_size=1, max_size=40),
       min_days=st.integers(0, 5), fraction=st.floats(0, 1))
def test_lights_only_move_white_yellow_red_while_running(started, limit, basis, steps, min_days, fraction):
    clock = new_clock(started, limit, basis, WarningRule(min_days, fraction))
    at, last = started, Light.WHITE
    for minutes in steps:
        at += timedelta(minutes=minutes)
        light = light_at(clock, at).light
        assert ORDER[light] >= ORDER[last]
        last = light


@settings(max_examples=200, deadline=None)
@given(started=instants, limit=st.integers(1, 40), days=st.integers(1, 15), finish_after=st.integers(0, 80))
def test_extension_moves_the_deadline_and_outcome_follows_it(started, limit, days, finish_after):
    clock = new_clock(started, limit)
    extend_clock(clock, CAL, days=days)
    expected_due = CAL.add_working_days(local_date(started), limit + days)
    assert local_date(clock.due_at) == expected_due
    finished = datetime.combine(local_date(started) + timedelta(days=finish_after), time(12), SH)
    if finished < started:
        return
    finish_clock(clock, CAL, at=finished)
    assert (clock.outcome == "overdue") == (local_date(finished) > expected_due)


def test_2027_deadlines_are_provisional_until_loaded():
    deadline = compute_deadline(CAL, started_at=datetime(2026, 12, 24, 10, tzinfo=SH), limit_days=20,
                                basis=Basis.WORKING)
    assert deadline.provisional
    natural = compute_deadline(CAL, started_at=datetime(2026, 12, 24, 10, tzinfo=SH), limit_days=20,
                               basis=Basis.NATURAL)
    # A natural period's last day moves off a rest day (民法典 203), which 2027's notice decides.
    assert natural.provisional
    assert local_date(natural.due_at) == date(2027, 1, 13)


def test_a_natural_period_ending_on_a_rest_day_ends_on_the_next_working_day():
    """民法典 第二百零三条 (民事诉讼法 第八十五条 likewise): 期间的最后一日是法定休假日的，以法定休假日
    结束的次日为期间的最后一日. 2026-09-29 + 5 days is 10-04, inside the National Day holiday."""
    national_day = compute_deadline(CAL, started_at=datetime(2026, 9, 29, 10, tzinfo=SH), limit_days=5,
                                    basis=Basis.NATURAL)
    assert national_day.due_at == datetime(2026, 10, 8, 23, 59, 59, tzinfo=SH)
    # A plain weekend likewise: Wednesday 2026-11-25 + 3 days is Saturday 11-28 → Monday 11-30.
    weekend = compute_deadline(CAL, started_at=datetime(2026, 11, 25, 10, tzinfo=SH), limit_days=3,
                               basis=Basis.NATURAL)
    assert local_date(weekend.due_at) == date(2026, 11, 30)
    # A working last day stays where it is.
    weekday = compute_deadline(CAL, started_at=datetime(2026, 11, 25, 10, tzinfo=SH), limit_days=5,
                               basis=Basis.NATURAL)
    assert local_date(weekday.due_at) == date(2026, 11, 30)


@settings(max_examples=300, deadline=None)
@given(started=instants, limit=st.integers(1, 60))
def test_natural_day_deadline_never_lands_on_a_rest_day(started, limit):
    clock = new_clock(started, limit, Basis.NATURAL)
    due_day = local_date(clock.due_at)
    assert CAL.is_working(due_day)
    first = local_date(started) + timedelta(days=limit)
    assert due_day >= first and all(not CAL.is_working(first + timedelta(days=k))
                                    for k in range((due_day - first).days))


def test_a_one_day_step_is_not_yellow_from_its_first_second():
    """Yellow warns of a deadline near (README "How time limits are counted": at most from half the
    clock's time): a step of 1 working day started Monday 10:00 is white until half its time."""
    started = datetime(2026, 11, 23, 10, tzinfo=SH)
    clock = new_clock(started, 1)
    assert clock.red_at == datetime(2026, 11, 25, 0, 0, tzinfo=SH)
    assert clock.yellow_at == started + (clock.red_at - started) / 2 == datetime(2026, 11, 24, 5, 0, tzinfo=SH)
    assert light_at(clock, started + timedelta(hours=1)).light is Light.WHITE
    assert light_at(clock, datetime(2026, 11, 24, 6, 0, tzinfo=SH)).light is Light.YELLOW
    # A same-day limit (当日办结) too: yellow at half the day that is left.
    same_day = new_clock(started, 0)
    assert same_day.yellow_at == datetime(2026, 11, 23, 17, 0, tzinfo=SH)
    # A longer limit keeps its rule: 10 working days (due Monday 12-07) are yellow from the
    # midnight starting the last 2 working days (Friday 12-04).
    ten = new_clock(started, 10)
    assert ten.yellow_at == datetime(2026, 12, 4, 0, 0, tzinfo=SH)


@settings(max_examples=300, deadline=None)
@given(started=instants, limit=limits, basis=bases)
def test_yellow_never_comes_before_half_the_time(started, limit, basis):
    clock = new_clock(started, limit, basis)
    assert started + (clock.red_at - started) / 2 <= clock.yellow_at <= clock.red_at


def test_national_day_week_is_skipped():
    # Accepted Sunday 2024-09-29 (a 调休 working day): 3 working days are 9-30, 10-08, 10-09.
    deadline = compute_deadline(CAL, started_at=datetime(2024, 9, 29, 10, tzinfo=SH), limit_days=3,
                                basis=Basis.WORKING)
    assert local_date(deadline.due_at) == date(2024, 10, 9)
    assert deadline.due_at == datetime(2024, 10, 9, 23, 59, 59, tzinfo=SH)


@settings(max_examples=300, deadline=None)
@given(started=instants, later=st.integers(0, 24 * 60 - 1), limit=limits, basis=bases,
       extended=st.integers(0, 10), paused=st.integers(0, 10), min_days=st.integers(0, 5),
       fraction=st.sampled_from([0.0, 0.2, 0.5, 1.0]))
def test_a_remembered_deadline_is_the_one_computed_afresh(started, later, limit, basis, extended, paused,
                                                          min_days, fraction):
    # The calendar keeps deadlines per start day: a second clock started later the same day gets
    # what a calendar that never saw the first computes, its own instant when yellow from the start.
    rule = WarningRule(min_days, fraction)
    second = datetime.combine(local_date(started), time(0), SH) + timedelta(minutes=later)
    args = dict(limit_days=limit, basis=basis, extended_days=extended, paused_days=paused, rule=rule)
    compute_deadline(CAL, started_at=started, **args)
    fresh = WorkCalendar.build()
    assert compute_deadline(CAL, started_at=second, **args) == compute_deadline(fresh, started_at=second, **args)


def test_a_clock_finished_in_time_is_white_and_one_finished_late_stays_red():
    """A finished case is never yellow afterwards: a warning means nothing once the work is done in
    time; finished late, it keeps its red as history (the supervision office's record)."""
    started = datetime(2026, 11, 23, 10, tzinfo=SH)
    in_time = new_clock(started, 5)
    finish_clock(in_time, CAL, at=in_time.yellow_at + timedelta(hours=2))   # done while yellow
    assert light_at(in_time, in_time.red_at + timedelta(days=3)).light is Light.WHITE
    assert in_time.outcome in ("on_time", "early")
    late = new_clock(started, 5)
    finish_clock(late, CAL, at=late.red_at + timedelta(days=1))
    assert light_at(late, late.red_at + timedelta(days=30)).light is Light.RED and late.outcome == "overdue"
