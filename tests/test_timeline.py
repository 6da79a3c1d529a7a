"""Full-process tracking: one time-ordered story per case, with entries from every module."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.case import Case
from esupervision.models.report import CaseAction
from esupervision.models.timeline import (TimelineEntry, _sources, case_timeline,
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
    assert done[0].detail["used_days"] == 0 and "用时 0 / 时限 1" in done[0].title
    notices = [e for e in entries if e.kind == "notice"]
    assert notices and all(e.detail["status"] == "queued" for e in notices)
    assert {e.detail["template"] for e in notices} >= {"case_accepted", "case_supplement", "case_resumed"}


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
