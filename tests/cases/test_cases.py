"""Cases through the one service function: transitions, clocks, lights, refusals — on both engines."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.cases.case import Case, CaseStatus, Step
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.clocks.light import Light, light_at
from esupervision.models.cases.report import CaseAction
from tests.builders import accept, apply, build_city, event, report

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)  # a Thursday


def case_and_clock(engine, number: str) -> tuple[Case, Clock]:
    with Session(engine) as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        return case, s.get(Clock, case.clock_id)


def ledger_count(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    # Events below are reported "now" = the end of December unless a test moves time.
    fixed_time.set(datetime(2026, 12, 31, 12, tzinfo=SH))
    return engine


def test_accept_starts_clock_with_working_day_deadline(city):
    accept(city, "N1", T0)
    case, clock = case_and_clock(city, "N1")
    assert case.status == CaseStatus.ACCEPTED
    # 5 working days after Thu 11-26: 27, 30, 12-01, 12-02, 12-03 -> end of Thu 12-03.
    assert clock.due_at.astimezone(SH) == datetime(2026, 12, 3, 23, 59, 59, tzinfo=SH)
    assert clock.red_at.astimezone(SH) == datetime(2026, 12, 4, tzinfo=SH)
    # 1 working day left from the start of 12-03.
    assert clock.yellow_at.astimezone(SH) == datetime(2026, 12, 3, tzinfo=SH)
    assert not clock.provisional
    assert light_at(clock, T0).light is Light.WHITE
    assert light_at(clock, datetime(2026, 12, 3, 10, tzinfo=SH)).light is Light.YELLOW
    assert light_at(clock, datetime(2026, 12, 4, 0, 0, 1, tzinfo=SH)).light is Light.RED


def test_steps_advance_in_order_and_complete_early(city, fixed_time):
    accept(city, "N2", T0)
    apply(city, event("N2", CaseAction.ADVANCE, T0 + timedelta(hours=1)))
    apply(city, event("N2", CaseAction.ADVANCE, T0 + timedelta(hours=2)))
    with Session(city) as s:
        steps = s.scalars(select(Step).join(Case).where(Case.number == "N2").order_by(Step.seq)).all()
        assert [(st.name, st.status) for st in steps] == [("受理", "done"), ("审查", "done"), ("决定", "running")]
    apply(city, event("N2", CaseAction.COMPLETE, T0 + timedelta(hours=3), attributes={"result": "approved"}))
    case, clock = case_and_clock(city, "N2")
    assert case.status == CaseStatus.COMPLETED and case.result == "approved"
    assert clock.outcome == "early" and clock.outcome_days == 5
    reading = light_at(clock, T0 + timedelta(days=30))
    assert reading.finished and reading.light is Light.WHITE


def test_overdue_completion_keeps_how_late(city):
    accept(city, "N3", T0)
    apply(city, event("N3", CaseAction.COMPLETE, datetime(2026, 12, 8, 10, tzinfo=SH), attributes={"result": "denied"}))
    _, clock = case_and_clock(city, "N3")
    # due Thu 12-03; finished Tue 12-08: 12-04, 12-07, 12-08 are three working days late.
    assert clock.outcome == "overdue" and clock.outcome_days == 3
    assert light_at(clock, datetime(2026, 12, 9, tzinfo=SH)).light is Light.RED


def test_supplement_pauses_and_gives_back_days(city):
    accept(city, "N4", T0)
    apply(city, event("N4", CaseAction.REQUEST_SUPPLEMENT, datetime(2026, 11, 27, 10, tzinfo=SH)))
    case, clock = case_and_clock(city, "N4")
    assert case.status == CaseStatus.SUPPLEMENT and clock.state == "paused"
    assert light_at(clock, datetime(2026, 12, 20, tzinfo=SH)).paused
    apply(city, event("N4", CaseAction.SUPPLEMENT_RECEIVED, datetime(2026, 12, 2, 15, tzinfo=SH)))
    case, clock = case_and_clock(city, "N4")
    assert case.status == CaseStatus.ACCEPTED and clock.state == "running"
    # Paused Fri 11-27 to Wed 12-02: 11-30, 12-01, 12-02 do not count -> due moves 3 working days.
    assert clock.due_at.astimezone(SH).date() == datetime(2026, 12, 8).date()
    assert clock.paused_days == 3


def test_resume_twice_is_refused_and_changes_nothing(city):
    accept(city, "N5", T0)
    apply(city, event("N5", CaseAction.SUSPEND, T0 + timedelta(hours=1), attributes={"kind": "expert_review"}))
    apply(city, event("N5", CaseAction.RESUME, T0 + timedelta(days=2)))
    before = ledger_count(city)
    with pytest.raises(DomainError) as err:
        apply(city, event("N5", CaseAction.RESUME, T0 + timedelta(days=3)))
    assert err.value.code is ErrorCode.CLOCK_NOT_PAUSED
    assert ledger_count(city) == before


def test_suspend_kind_must_be_a_legal_one(city):
    accept(city, "N6", T0)
    with pytest.raises(DomainError) as err:
        apply(city, event("N6", CaseAction.SUSPEND, T0, attributes={"kind": "lunch"}))
    assert err.value.code is ErrorCode.INVALID_SUSPEND_KIND


def test_extension_needs_approval_once_and_within_the_law(city):
    accept(city, "N7", T0)
    with pytest.raises(DomainError) as err:
        apply(city, event("N7", CaseAction.EXTEND, T0, attributes={"days": 5}))
    assert err.value.code is ErrorCode.EXTENSION_NOT_APPROVED
    with pytest.raises(DomainError) as err:
        apply(city, event("N7", CaseAction.EXTEND, T0, attributes={"days": 26, "approved_by": "王局长"}))
    assert err.value.code is ErrorCode.EXTENSION_EXCEEDS_LIMIT   # 5 + 26 > 20 + 10
    apply(city, event("N7", CaseAction.EXTEND, T0, attributes={"days": 10, "approved_by": "王局长"}))
    _, clock = case_and_clock(city, "N7")
    assert clock.due_at.astimezone(SH).date() == datetime(2026, 12, 17).date()
    with pytest.raises(DomainError) as err:
        apply(city, event("N7", CaseAction.EXTEND, T0, attributes={"days": 1, "approved_by": "王局长"}))
    assert err.value.code is ErrorCode.EXTENSION_ALREADY_GRANTED


@pytest.mark.parametrize("action,code", [
    (CaseAction.COMPLETE, ErrorCode.CASE_NOT_FOUND),
    (CaseAction.RESUME, ErrorCode.CASE_NOT_FOUND),
])
def test_unknown_case_is_refused(city, action, code):
    with pytest.raises(DomainError) as err:
        apply(city, event("NOPE", action, T0))
    assert err.value.code is code


def test_unknown_item_and_finished_case_are_refused(city):
    with pytest.raises(DomainError) as err:
        accept(city, "N8", T0, item="NO-SUCH")
    assert err.value.code is ErrorCode.ITEM_NOT_FOUND
    accept(city, "N8", T0)
    apply(city, event("N8", CaseAction.COMPLETE, T0 + timedelta(hours=1)))
    with pytest.raises(DomainError) as err:
        apply(city, event("N8", CaseAction.SUSPEND, T0 + timedelta(hours=2), attributes={"kind": "hearing"}))
    assert err.value.code is ErrorCode.CASE_FINISHED


def test_batch_reports_per_event_and_repeats_are_no_ops(city):
    a = event("B1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", source_event_id="oa-1")
    bad = event("B1", CaseAction.RESUME, T0 + timedelta(hours=1), source_event_id="oa-2")
    good = event("B1", CaseAction.ADVANCE, T0 + timedelta(hours=2), source_event_id="oa-3")
    outcomes = report(city, a, bad, good)
    assert [o.status for o in outcomes] == ["accepted", "refused", "accepted"]
    assert outcomes[1].code == "CLOCK_NOT_PAUSED"
    count = ledger_count(city)
    again = report(city, a, good)
    assert [o.status for o in again] == ["duplicate", "duplicate"]
    assert again[0].ledger_id == outcomes[0].ledger_id
    assert ledger_count(city) == count


def test_event_times_are_checked(city, fixed_time):
    accept(city, "T1", T0)
    with pytest.raises(DomainError) as err:
        apply(city, event("T1", CaseAction.STEP, T0 - timedelta(days=1)))
    assert err.value.code is ErrorCode.EVENT_BEFORE_CASE
    with pytest.raises(DomainError) as err:
        apply(city, event("T1", CaseAction.ADVANCE, fixed_time.now() + timedelta(hours=2)))
    assert err.value.code is ErrorCode.EVENT_IN_FUTURE


def test_late_reports_are_kept_and_flagged(city, fixed_time):
    fixed_time.set(T0 + timedelta(minutes=5))
    assert not accept(city, "L0", T0).late
    outcome = accept(city, "L1", T0 - timedelta(days=3))
    assert outcome.status == "accepted" and outcome.late
    assert case_and_clock(city, "L1")[0].reported_late
    assert not case_and_clock(city, "L0")[0].reported_late


def test_joint_approval_runs_one_step_per_department(city):
    accept(city, "J1", T0, item="ZJJ-JOINT")
    apply(city, event("J1", CaseAction.ADVANCE, T0 + timedelta(hours=1)))
    with Session(city) as s:
        running = s.scalars(select(Step).join(Case).where(Case.number == "J1", Step.status == "running")).all()
        assert len(running) == 2
    with pytest.raises(DomainError) as err:
        apply(city, event("J1", CaseAction.ADVANCE, T0 + timedelta(hours=2)))
    assert err.value.code is ErrorCode.INVALID_EVENT
    apply(city, event("J1", CaseAction.ADVANCE, T0 + timedelta(hours=2), department_code="SCJ"))
    apply(city, event("J1", CaseAction.ADVANCE, T0 + timedelta(hours=3), department_code="ZJJ"))
    with Session(city) as s:
        running = s.scalars(select(Step).join(Case).where(Case.number == "J1", Step.status == "running")).all()
        assert [st.name for st in running] == ["决定"]


def test_online_submission_unanswered_is_deemed_accepted(city, fixed_time):
    from esupervision.models.ledger.transaction import transaction
    from esupervision.workers.lights import announce_due as announce

    submitted = datetime(2026, 11, 26, 10, tzinfo=SH)
    apply(city, event("W1", CaseAction.SUBMIT, submitted, center_code="C01", item_code="SCJ-001"))
    fixed_time.set(datetime(2026, 12, 4, 0, 0, 1, tzinfo=SH))   # 5 working days later
    with transaction(city) as tx:
        announce(tx)
    case, clock = case_and_clock(city, "W1")
    assert case.status == CaseStatus.ACCEPTED and case.deemed_accepted
    assert case.accepted_at == submitted
    assert clock.started_at == submitted


def test_calendar_load_recomputes_provisional_deadlines(city, fixed_time):
    from pathlib import Path

    from esupervision.models.clocks.calendar import parse_calendar_file
    from esupervision.models.clocks.recalendar import load_year
    from esupervision.models.ledger.transaction import transaction

    # Accepted 2026-12-24 with 20 working days: the deadline falls in 2027, which has no data yet.
    fixed_time.set(datetime(2026, 12, 24, 10, tzinfo=SH))
    accept(city, "Y1", datetime(2026, 12, 24, 9, tzinfo=SH), item="ZJJ-JOINT")
    _, provisional = case_and_clock(city, "Y1")
    assert provisional.provisional
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "calendar-2027.yaml"
    with transaction(city) as tx:
        moved = load_year(tx, parse_calendar_file(example))
    assert moved >= 1
    _, clock = case_and_clock(city, "Y1")
    assert not clock.provisional
    assert clock.due_at > provisional.due_at    # 元旦 and 春节 days off push it later
    with Session(city) as s:
        kinds = s.scalars(select(LedgerEvent.kind).where(LedgerEvent.subject_id == clock.subject_id)).all()
    assert "clock.recomputed" in kinds
