"""Full-process tracking: one time-ordered story per case, with entries from every module."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.cases.case import Case
from esupervision.models.cases.report import CaseAction
from esupervision.models.cases.timeline import (TimelineEntry, _sources, case_timeline,
                                                register_timeline_source)
from tests.builders import accept, apply, build_city, event


def _case(engine, number):
    with Session(engine) as s:
        return s, s.scalars(select(Case).where(Case.number == number)).one()


def test_timeline_tells_steps_pauses_and_notices_in_order(engine, fixed_time):
    build_city(engine)
    start = fixed_time.now()
    accept(engine, "T-1", start - timedelta(days=1), attributes={"applicant_phone": "13800138000"})
    apply(engine, event("T-1", CaseAction.ADVANCE, start - timedelta(hours=20), staff_code="S01"))
    apply(engine, event("T-1", CaseAction.REQUEST_SUPPLEMENT, start - timedelta(hours=19),
                        attributes={"reason": "缺少营业执照复印件"}))
    apply(engine, event("T-1", CaseAction.SUPPLEMENT_RECEIVED, start - timedelta(hours=2)))
    with Session(engine) as s:
        case = s.scalars(select(Case).where(Case.number == "T-1")).one()
        entries = case_timeline(s, case)
    kinds = [e.kind for e in entries]
    assert kinds.index("case.accept") < kinds.index("case.advance") < kinds.index("case.request_supplement") \
        < kinds.index("case.supplement_received")
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    done = [e for e in entries if e.kind == "step.done"]
    assert done and done[0].detail["step"] == "受理" and done[0].detail["limit_days"] == 1
    assert "张敏" == done[0].actor
    supplement = next(e for e in entries if e.kind == "case.request_supplement")
    assert "缺少营业执照复印件" in supplement.title
    assert all(e.ledger_event_id for e in entries if e.kind.startswith("case."))
    assert done[0].detail["used_days"] == 0 and done[0].title == "环节「受理」提前办结（用时 0 / 时限 1 个工作日）"
    notices = [e for e in entries if e.kind == "notice"]
    assert notices and all(e.detail["status"] == "queued" for e in notices)
    assert {e.detail["template"] for e in notices} >= {"case_accepted", "case_supplement", "case_resumed"}
    # read by people: the notice by its Chinese name, not its template code
    accepted = next(e for e in notices if e.detail["template"] == "case_accepted")
    assert accepted.title == "短信通知申请人（受理通知）：待发送"
    assert next(e for e in entries if e.kind == "case.advance").title == "环节办结：受理"
    started = [e.title for e in entries if e.kind == "step.started"]
    assert started[0] == "环节「受理」开始（时限 1 个工作日）"


def test_other_modules_contribute_entries(engine, fixed_time):
    build_city(engine)
    accept(engine, "T-2", fixed_time.now() - timedelta(hours=1))

    def complaints(session, case):
        return [TimelineEntry(at=fixed_time.now(), kind="complaint.filed", title="申请人投诉", detail={})]

    register_timeline_source(complaints)
    try:
        register_timeline_source(complaints)   # twice: still one source
        with Session(engine) as s:
            case = s.scalars(select(Case).where(Case.number == "T-2")).one()
            entries = case_timeline(s, case)
        assert [e.kind for e in entries].count("complaint.filed") == 1
        assert entries[-1].kind == "complaint.filed"
    finally:
        _sources.remove(complaints)


def test_a_completed_case_reads_its_days_against_the_limit(engine, fixed_time):
    build_city(engine)
    start = fixed_time.now() - timedelta(days=8)           # Wednesday 18 November
    accept(engine, "T-3", start)
    for _ in range(3):
        apply(engine, event("T-3", CaseAction.ADVANCE, start + timedelta(days=1)))
    apply(engine, event("T-3", CaseAction.COMPLETE, fixed_time.now() - timedelta(hours=1),
                        attributes={"result": "approved"}))
    with Session(engine) as s:
        case = s.scalars(select(Case).where(Case.number == "T-3")).one()
        entries = case_timeline(s, case)
    complete = next(e for e in entries if e.kind == "case.complete")
    # Five working days from the 18th end on the 25th; completed on the 26th: one day late.
    assert complete.detail["outcome"] == "overdue" and complete.detail["used_days"] == 6
    assert complete.title.endswith("超期办结（用时 6 / 时限 5 个工作日）")


def test_a_step_due_the_day_it_starts_reads_as_such():
    from esupervision.models.cases.timeline import _step_limit

    assert _step_limit(0) == "时限：当日办结" and _step_limit(3) == "时限 3 个工作日"
