"""Faults and accountability through the service functions: faults derived from real event
sequences in the events' own transaction (and the same ones over the whole ledger), rules as data
turning faults into suggestions, decisions by a person, appeals changing what counts, bad input
leaving nothing changed, and replay rebuilding every table."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import Session

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.supervision.accountability import (AccountabilityRule, AccountabilitySuggestion, Appeal,
                                                            AppealOutcome, Fault, RuleSpec, SuggestionDecision,
                                                            create_rule, decide_appeal, decide_suggestion, file_appeal,
                                                            period_bounds, Period, record_fault)
from esupervision.models.cases.case import Case, Step
from esupervision.models.catalogue.catalogue import Center, Department, Staff, create_staff
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.supervision.fault_detection import derive_all
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.cases.report import CaseAction
from esupervision.models.ledger.transaction import transaction
from esupervision.workers.lights import announce_due
from tests.builders import accept, apply, build_city, event, report

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)   # Thursday; SCJ-001: 5 working days, steps 1 + 2 + 2


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    return engine


def faults(engine, **where: Any) -> list[Fault]:
    with Session(engine) as s:
        query = select(Fault).order_by(Fault.occurred_at, Fault.kind, Fault.id)
        for key, value in where.items():
            query = query.where(getattr(Fault, key) == value)
        return list(s.scalars(query))


def kinds(engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return sorted(s.execute(select(Fault.kind, Fault.subject_type)).all())


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def advance(engine, number: str, at: datetime, fixed_time) -> None:
    fixed_time.set(at)
    apply(engine, event(number, CaseAction.ADVANCE, at))


def complete(engine, number: str, at: datetime, fixed_time, **attributes: Any) -> None:
    fixed_time.set(at)
    apply(engine, event(number, CaseAction.COMPLETE, at, attributes=attributes))


def on_time_case_with_a_late_step(engine, fixed_time, number: str = "N1") -> None:
    """受理 (1 day) handled four working days late, the case still completed on time."""
    accept(engine, number, T0)
    advance(engine, number, datetime(2026, 11, 30, 10, 0, tzinfo=SH), fixed_time)   # 受理 due Fri 11-27
    advance(engine, number, datetime(2026, 12, 1, 10, 0, tzinfo=SH), fixed_time)
    complete(engine, number, datetime(2026, 12, 2, 10, 0, tzinfo=SH), fixed_time)   # case due Thu 12-03


def staff_id(engine, code: str = "S01"):
    with Session(engine) as s:
        return s.scalars(select(Staff.id).where(Staff.code == code)).one()


def department_id(engine, code: str = "SCJ"):
    with Session(engine) as s:
        return s.scalars(select(Department.id).where(Department.code == code)).one()


def leader(engine, code: str = "SCJ") -> Viewer:
    return Viewer(role=Role.DEPARTMENT_LEADER, username=f"{code}-leader", department_id=department_id(engine, code))


# ----------------------------------------------------------------------------- derivation

def test_a_step_over_its_own_limit_is_a_fault_even_when_the_case_is_on_time(city, fixed_time):
    on_time_case_with_a_late_step(city, fixed_time)
    found = faults(city)
    assert [(f.kind, f.subject_type, f.status) for f in found] == [("step_overdue", "step", "active")]
    fault = found[0]
    with Session(city) as s:
        case = s.scalars(select(Case).where(Case.number == "N1")).one()
        step = s.scalars(select(Step).where(Step.case_id == case.id, Step.seq == 1)).one()
        evidence = s.get(LedgerEvent, fault.event_ids[0])
    assert case.status == "completed" and fault.subject_id == step.id and fault.case_id == case.id
    assert fault.staff_id == staff_id(city) and fault.department_id == case.department_id
    assert evidence.kind == "case.advance" and evidence.data["step_outcome"] == "overdue"
    assert fault.evidence["days_late"] == 1


def test_a_red_case_is_overdue_and_each_red_step_too_once_each(city, fixed_time):
    accept(city, "N2", T0)
    fixed_time.set(datetime(2026, 12, 4, 0, 0, 1, tzinfo=SH))     # the case clock turns red
    with transaction(city) as tx:
        announce_due(tx)
    with transaction(city) as tx:
        announce_due(tx)                                          # nothing new: nothing twice
    complete(city, "N2", datetime(2026, 12, 4, 10, 0, tzinfo=SH), fixed_time)
    assert kinds(city) == [("case_overdue", "case"), ("missing_step", "case"), ("step_overdue", "step")]
    red = faults(city, kind="case_overdue")[0]
    with Session(city) as s:
        assert s.get(LedgerEvent, red.event_ids[0]).kind == "light.red"


def test_refusal_without_reason_and_a_case_completed_without_its_steps(city, fixed_time):
    for number in ("N3", "N4", "N5", "N6"):
        accept(city, number, T0)
    fixed_time.set(T0 + timedelta(hours=1))
    apply(city, event("N3", CaseAction.REJECT, T0 + timedelta(hours=1)))
    apply(city, event("N4", CaseAction.REJECT, T0 + timedelta(hours=1), attributes={"reason": "材料不齐"}))
    complete(city, "N5", T0 + timedelta(hours=2), fixed_time)
    complete(city, "N6", T0 + timedelta(hours=2), fixed_time, result="denied")
    by_case = {f.evidence["number"]: f.kind for f in faults(city) if f.kind == "refusal_without_reason"}
    assert by_case == {"N3": "refusal_without_reason", "N6": "refusal_without_reason"}
    missing = faults(city, kind="missing_step")
    assert {f.evidence["number"] for f in missing} == {"N5", "N6"}
    assert missing[0].evidence["missing"] == ["审查", "决定"]


def test_a_case_entered_only_after_it_was_finished_is_late_and_not_through_the_system(city, fixed_time):
    report(city, event("N7", CaseAction.ACCEPT, T0 - timedelta(days=6), center_code="C01", item_code="SCJ-001",
                       window_code="W01", staff_code="S01"),
           event("N7", CaseAction.ADVANCE, T0 - timedelta(days=5)),
           event("N7", CaseAction.ADVANCE, T0 - timedelta(days=4)),
           event("N7", CaseAction.COMPLETE, T0 - timedelta(days=3)))
    assert kinds(city) == [("late_report", "case"), ("not_through_system", "case")]
    late = faults(city, kind="late_report")[0]
    assert late.occurred_at == fixed_time.now() and late.evidence["hours"] == 144.0
    entered = faults(city, kind="not_through_system")[0]
    with Session(city) as s:
        cited = [s.get(LedgerEvent, i).kind for i in entered.event_ids]
    assert cited == ["case.accept", "case.complete"]


def test_history_brought_in_by_an_import_is_not_a_late_report(city, fixed_time):
    """The same finished case as above, moved over from an older system by ``esv import``: the
    migration is not a department's late report, but an overdue step still is a fault."""
    report(city, event("N8", CaseAction.ACCEPT, T0 - timedelta(days=60), center_code="C01", item_code="SCJ-001",
                       window_code="W01", staff_code="S01"),
           event("N8", CaseAction.ADVANCE, T0 - timedelta(days=59)),
           event("N8", CaseAction.ADVANCE, T0 - timedelta(days=58)),
           event("N8", CaseAction.COMPLETE, T0 - timedelta(days=57)), source="import:receipt")
    assert count(city, Case) == 1
    assert [k for k, _ in kinds(city)] == []
    report(city, event("N9", CaseAction.ACCEPT, T0 - timedelta(days=60), center_code="C01", item_code="SCJ-001",
                       window_code="W01", staff_code="S01"),
           event("N9", CaseAction.COMPLETE, T0 - timedelta(days=2)), source="import:receipt")
    assert ("case_overdue", "case") in kinds(city)


def test_a_tender_period_run_past_its_statutory_limit_is_a_fault_citing_the_article(engine, fixed_time):
    from tests.tenders.test_tender import A, apply as tender_apply, build_tender_center, ev, lifecycle
    build_tender_center(engine)
    events = lifecycle()
    award = events[-4]
    for e in events[:-3]:
        tender_apply(engine, e)
    tender_apply(engine, ev("ZB-2026-001", A.SIGN_CONTRACT, award.occurred_at + timedelta(days=40),
                            value=9_100_000, performance_bond=910_000))
    found = faults(engine)
    assert [(f.kind, f.subject_type) for f in found] == [("tender_breach", "tender_stage")]
    assert found[0].evidence["article"] == "法 46" and "三十日内" in found[0].evidence["text"]


def test_an_unanswered_supervision_order_is_a_fault_once_though_it_escalates_twice(city, fixed_time):
    from esupervision.models.supervision.orders import Target, issue_order
    accept(city, "O1", T0)
    with transaction(city) as tx:
        order = issue_order(tx, target=Target(case_number="O1"), message="请说明进度",
                            by=Viewer(role=Role.SUPERVISOR, username="s"), reply_days=1)
    for instant in (datetime(2026, 11, 28, 0, 5, tzinfo=SH), datetime(2026, 12, 2, 0, 5, tzinfo=SH)):
        fixed_time.set(instant)
        while True:
            with transaction(city, actor="system:lights") as tx:
                if announce_due(tx) == 0:
                    break
    found = faults(city, kind="order_unanswered")
    assert [(f.subject_type, f.subject_id) for f in found] == [("order", order.id)]
    with Session(city) as s:
        cited = s.get(LedgerEvent, found[0].event_ids[0])
    assert cited.kind == "order.escalated" and cited.data["level"] == 1
    assert found[0].department_id == department_id(city) and found[0].case_id == order.case_id


def test_deriving_over_the_whole_ledger_gives_the_same_faults(city, fixed_time):
    on_time_case_with_a_late_step(city, fixed_time)
    apply(city, event("N8", CaseAction.ACCEPT, T0 - timedelta(days=3), center_code="C01", item_code="SCJ-001",
                      window_code="W01", staff_code="S01"))
    apply(city, event("N8", CaseAction.REJECT, T0 - timedelta(days=2)))

    def shape(rows: list[Fault]) -> set[tuple[Any, ...]]:
        return {(f.kind, f.subject_type, f.subject_id, f.occurred_at, tuple(f.event_ids), f.staff_id,
                 f.department_id, f.case_id, f.description) for f in rows}
    live = shape(faults(city))
    assert sorted(k for k, *_ in live) == ["late_report", "not_through_system", "refusal_without_reason",
                                           "step_overdue"]
    with transaction(city) as tx:
        assert derive_all(tx) == 0                     # idempotent: nothing new
    with Session(city) as s:                           # as if the history had been imported
        s.execute(delete(Fault))
        s.commit()
    with transaction(city) as tx:
        assert derive_all(tx) == 4
    assert shape(faults(city)) == live


# ----------------------------------------------------------------------------- rules and suggestions

def quarterly(**overrides: Any) -> RuleSpec:
    spec = {"name": "季度内两次环节或办件超期：诫勉谈话", "fault_kinds": ["step_overdue", "case_overdue"],
            "subject_level": "staff", "threshold": 2, "period": "quarter", "sanction": "admonishing_talk"}
    spec.update(overrides)
    return RuleSpec(**spec)


def test_faults_reaching_a_rule_become_a_suggestion_citing_the_rule_and_evidence(city, fixed_time):
    with transaction(city, actor="supervisor:test") as tx:
        rule = create_rule(tx, quarterly())
    on_time_case_with_a_late_step(city, fixed_time, "N1")
    assert count(city, AccountabilitySuggestion) == 0          # one fault: below the threshold
    fixed_time.set(T0)
    on_time_case_with_a_late_step(city, fixed_time, "N2")
    with Session(city) as s:
        suggestion = s.scalars(select(AccountabilitySuggestion)).one()
        cited = s.scalars(select(Fault).where(Fault.id.in_([uuid.UUID(i) for i in suggestion.fault_ids]))).all()
    assert suggestion.rule_id == rule.id and suggestion.status == "pending"
    assert suggestion.sanction == "admonishing_talk" and suggestion.staff_id == staff_id(city)
    assert suggestion.period == "2026-Q4" and suggestion.fault_count == 2
    assert {f.kind for f in cited} == {"step_overdue"}
    assert suggestion.event_ids == sorted(i for f in cited for i in f.event_ids)


def test_a_rule_made_after_the_faults_evaluates_them_and_a_third_rule_tier_stacks(city, fixed_time):
    for number in ("N1", "N2", "N3"):
        fixed_time.set(T0)
        on_time_case_with_a_late_step(city, fixed_time, number)
    with transaction(city, actor="supervisor:test") as tx:
        create_rule(tx, quarterly(name="季度内两次：通报批评", sanction="circulated_criticism", show_names=True))
        create_rule(tx, quarterly(name="季度内三次：诫勉谈话", threshold=3))
        create_rule(tx, quarterly(name="部门月度五次：效能告诫", subject_level="department", threshold=5,
                                  period="month", sanction="efficiency_warning"))
    with Session(city) as s:
        rows = s.execute(select(AccountabilitySuggestion.sanction, AccountabilitySuggestion.fault_count,
                                AccountabilitySuggestion.show_names)).all()
    assert sorted(rows) == [("admonishing_talk", 3, False), ("circulated_criticism", 3, True)]


def test_more_faults_never_get_a_lighter_measure(city):
    """问责条例 (2019) 第八条 orders the measures 通报、诫勉、组织调整 by weight: a rule giving three
    overdue cases 通报批评 while another gives two 诫勉谈话 is refused, naming the other rule."""
    with transaction(city, actor="supervisor:test") as tx:
        create_rule(tx, quarterly())                     # two → 诫勉谈话
    before = count(city, LedgerEvent)
    with pytest.raises(DomainError) as refused:
        with transaction(city, actor="supervisor:test") as tx:
            create_rule(tx, quarterly(name="季度内三次：通报批评", threshold=3, sanction="circulated_criticism"))
    assert refused.value.code is ErrorCode.SANCTION_ORDER
    assert "季度内两次环节或办件超期：诫勉谈话" in refused.value.message and "问责条例第八条" in refused.value.message
    assert count(city, LedgerEvent) == before
    with transaction(city, actor="supervisor:test") as tx:   # heavier for more: accepted
        create_rule(tx, quarterly(name="季度内三次：调离窗口岗位", threshold=3, sanction="reassignment"))
        # another level or period is another scale
        create_rule(tx, quarterly(name="部门季度三次：通报批评", subject_level="department", threshold=3,
                                  sanction="circulated_criticism"))


def test_a_rule_naming_an_unknown_fault_kind_is_refused_and_nothing_changes(city):
    before = count(city, LedgerEvent)
    for bad, code in ((quarterly(fault_kinds=["overdue", "step_overdue"]), ErrorCode.UNKNOWN_FAULT_KIND),
                      (quarterly(threshold=0), ErrorCode.ACCOUNTABILITY_RULE_INVALID),
                      (quarterly(period="week"), ErrorCode.ACCOUNTABILITY_RULE_INVALID),
                      (quarterly(sanction="fine"), ErrorCode.ACCOUNTABILITY_RULE_INVALID)):
        with pytest.raises(DomainError) as refused:
            with transaction(city) as tx:
                create_rule(tx, bad)
        assert refused.value.code is code
    assert count(city, AccountabilityRule) == 0 and count(city, LedgerEvent) == before


def test_conduct_and_process_rules_count_recorded_and_derived_faults(city, fixed_time):
    s01 = staff_id(city)
    with transaction(city, actor="supervisor:test") as tx:
        create_rule(tx, quarterly(name="月内两次作风问题：通报批评", fault_kinds=["service_attitude", "absent_from_post",
                                                                    "conduct"], period="month",
                                  sanction="circulated_criticism", show_names=True))
        create_rule(tx, quarterly(name="窗口不说明理由退件：效能告诫", fault_kinds=["refusal_without_reason"],
                                  subject_level="window", threshold=1, sanction="efficiency_warning"))
        record_fault(tx, kind="service_attitude", description="态度生硬", staff_id=s01)
    assert count(city, AccountabilitySuggestion) == 0
    with transaction(city, actor="supervisor:test") as tx:
        record_fault(tx, kind="absent_from_post", description="上班时间擅离窗口 40 分钟", staff_id=s01)
    accept(city, "R1", T0)
    apply(city, event("R1", CaseAction.REJECT, T0))
    with Session(city) as s:
        made = sorted(s.execute(select(AccountabilitySuggestion.subject_level, AccountabilitySuggestion.sanction,
                                       AccountabilitySuggestion.fault_count, AccountabilitySuggestion.period)).all())
    assert made == [("staff", "circulated_criticism", 2, "2026-11"), ("window", "efficiency_warning", 1, "2026-Q4")]


def test_decisions_are_taken_by_a_person_once_with_reasons(city, fixed_time):
    with transaction(city) as tx:
        create_rule(tx, quarterly(threshold=1))
    on_time_case_with_a_late_step(city, fixed_time)
    with Session(city) as s:
        suggestion_id = s.scalars(select(AccountabilitySuggestion.id)).one()
    before = count(city, LedgerEvent)
    for kw, code in (({"decision": SuggestionDecision.DISMISS, "reason": " "}, ErrorCode.REASON_REQUIRED),
                     ({"decision": SuggestionDecision.CHANGE, "reason": "情节较轻"}, ErrorCode.ACCOUNTABILITY_RULE_INVALID),
                     ({"decision": SuggestionDecision.CHANGE, "reason": "同上", "sanction": "admonishing_talk"},
                      ErrorCode.BAD_INPUT)):
        with pytest.raises(DomainError) as refused:
            with transaction(city) as tx:
                decide_suggestion(tx, suggestion_id=suggestion_id, **kw)
        assert refused.value.code is code
    assert count(city, LedgerEvent) == before
    with transaction(city, actor="supervisor:王") as tx:
        decided = decide_suggestion(tx, suggestion_id=suggestion_id, decision=SuggestionDecision.CHANGE,
                                    reason="首次超时且已整改", sanction="rectification")
    assert (decided.status, decided.sanction, decided.suggested_sanction) == ("changed", "rectification",
                                                                              "admonishing_talk")
    assert decided.decided_by == "supervisor:王" and decided.decided_at == fixed_time.now()
    assert [f.status for f in faults(city)] == ["confirmed"]
    with pytest.raises(DomainError) as again:
        with transaction(city) as tx:
            decide_suggestion(tx, suggestion_id=suggestion_id, decision=SuggestionDecision.CONFIRM)
    assert again.value.code is ErrorCode.SUGGESTION_DECIDED


# ----------------------------------------------------------------------------- recorded faults, appeals

def test_a_supervisor_records_a_conduct_fault_with_evidence(city, fixed_time):
    accept(city, "N1", T0)
    with Session(city) as s:
        accepted = s.scalars(select(LedgerEvent.id).where(LedgerEvent.kind == "case.accept")).one()
    with transaction(city, actor="supervisor:test") as tx:
        fault = record_fault(tx, kind="service_attitude", description="群众反映窗口人员态度生硬",
                             staff_id=staff_id(city), case_number="N1", event_ids=[accepted],
                             evidence={"video": "camera-3 09:12"})
    assert (fault.category, fault.source, fault.window_id is not None) == ("conduct", "recorded", True)
    before = count(city, LedgerEvent)
    for kw, code in (({"kind": "rudeness"}, ErrorCode.UNKNOWN_FAULT_KIND),
                     ({"event_ids": [10**9]}, ErrorCode.EVIDENCE_NOT_FOUND),
                     ({"description": ""}, ErrorCode.BAD_INPUT),
                     ({"case_number": "NOPE"}, ErrorCode.CASE_NOT_FOUND)):
        args = {"kind": "conduct", "description": "擅自离岗", "staff_id": staff_id(city), **kw}
        with pytest.raises(DomainError) as refused:
            with transaction(city) as tx:
                record_fault(tx, **args)
        assert refused.value.code is code
    assert count(city, LedgerEvent) == before and count(city, Fault) == 1


def test_an_appeal_upheld_revokes_the_fault_which_stops_counting(city, fixed_time):
    with transaction(city) as tx:
        create_rule(tx, quarterly())
    for number in ("N1", "N2"):
        fixed_time.set(T0)
        on_time_case_with_a_late_step(city, fixed_time, number)
    first = faults(city)[0]
    with transaction(city, actor="department_leader:scj") as tx:
        appeal = file_appeal(tx, viewer=leader(city), subject_type="fault", subject_id=first.id,
                             reason="系统故障导致环节未及时流转", evidence=["运维记录 2026-11-27"])
    assert faults(city, id=first.id)[0].status == "appealed"
    before = count(city, LedgerEvent)
    for viewer_, subject, code in ((leader(city, "ZJJ"), first.id, ErrorCode.FAULT_NOT_FOUND),
                                   (leader(city), first.id, ErrorCode.APPEAL_PENDING)):
        with pytest.raises(DomainError) as refused:
            with transaction(city) as tx:
                file_appeal(tx, viewer=viewer_, subject_type="fault", subject_id=subject, reason="不服")
        assert refused.value.code is code
    assert count(city, LedgerEvent) == before
    with transaction(city, actor="supervisor:test") as tx:
        decide_appeal(tx, appeal_id=appeal.id, outcome=AppealOutcome.REVOKE, reason="经核实属系统故障")
    assert faults(city, id=first.id)[0].status == "revoked"
    with Session(city) as s:
        counted = s.scalar(select(func.count()).select_from(Fault).where(Fault.status != "revoked"))
        suggestion = s.scalars(select(AccountabilitySuggestion)).one()
    assert counted == 1
    assert suggestion.status == "withdrawn" and suggestion.fault_count == 1   # below the threshold now
    with pytest.raises(DomainError) as again:
        with transaction(city) as tx:
            decide_appeal(tx, appeal_id=appeal.id, outcome=AppealOutcome.SEND_BACK, reason="x")
    assert again.value.code is ErrorCode.APPEAL_DECIDED


def test_an_appeal_sent_back_or_escalated_leaves_the_fault_counting_and_leaders_are_told(city, fixed_time):
    with transaction(city) as tx:
        scj = tx.session.get(Department, department_id(city))
        create_staff(tx, center=tx.session.get(Center, scj.center_id), code="L01", name="李局", department=scj,
                     phone="13900000001", is_leader=True)
        create_rule(tx, quarterly(threshold=1))
    on_time_case_with_a_late_step(city, fixed_time)
    with Session(city) as s:
        suggestion_id = s.scalars(select(AccountabilitySuggestion.id)).one()
    with transaction(city) as tx:
        decide_suggestion(tx, suggestion_id=suggestion_id, decision=SuggestionDecision.CONFIRM)
    with transaction(city) as tx:
        appeal = file_appeal(tx, viewer=leader(city), subject_type="suggestion", subject_id=suggestion_id,
                             reason="处理过重")
    with transaction(city) as tx:
        decide_appeal(tx, appeal_id=appeal.id, outcome=AppealOutcome.ESCALATE, reason="提请中心领导研究")
    with transaction(city) as tx:
        decided = decide_appeal(tx, appeal_id=appeal.id, outcome=AppealOutcome.SEND_BACK, reason="维持原处理")
    assert decided.status == "sent_back"
    with Session(city) as s:
        assert s.get(AccountabilitySuggestion, suggestion_id).status == "confirmed"
        templates = sorted(s.scalars(select(Notice.template).where(Notice.recipient_kind == "staff",
                                                                    Notice.template.in_(["accountability_decided",
                                                                                         "appeal_decided"]))))
    assert templates == ["accountability_decided", "appeal_decided", "appeal_decided"]
    assert [f.status for f in faults(city)] == ["confirmed"]


def test_periods_are_local_months_quarters_and_years():
    at = datetime(2026, 12, 31, 23, 30, tzinfo=SH)
    assert period_bounds(Period.QUARTER, at)[0] == "2026-Q4"
    label, start, end = period_bounds(Period.MONTH, datetime(2026, 12, 31, 16, 30, tzinfo=ZoneInfo("UTC")))
    assert label == "2027-01" and start == datetime(2027, 1, 1, tzinfo=SH) and end == datetime(2027, 2, 1, tzinfo=SH)


def test_replay_rebuilds_faults_rules_suggestions_and_appeals(city, fixed_time):
    with transaction(city) as tx:
        create_rule(tx, quarterly(threshold=1))
    on_time_case_with_a_late_step(city, fixed_time)
    first = faults(city)[0]
    with transaction(city) as tx:
        appeal = file_appeal(tx, viewer=leader(city), subject_type="fault", subject_id=first.id, reason="不服")
    with transaction(city) as tx:
        decide_appeal(tx, appeal_id=appeal.id, outcome=AppealOutcome.REVOKE, reason="属实")
    with Session(city) as s:
        live = snapshot(s)
        assert all(live[t] for t in ("fault", "accountability_rule", "accountability_suggestion", "appeal"))
        replay(s)
        assert snapshot(s) == live
        s.rollback()
    assert count(city, Appeal) == 1
