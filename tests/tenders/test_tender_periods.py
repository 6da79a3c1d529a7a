"""Floors are not deadlines (DESIGN decision 10). The law's minimum periods — the sale of documents
(条例 16), the bidding period (法 24), the publicity of the candidates (条例 54), the pre-qualification
application time (条例 17) — are breached by ending early: such a stage has no clock and no light,
shows its earliest lawful end, and ending before it is a fault citing the article. The law's
deadlines — answering an objection (条例 22), the contract (法 46), the written report (法 47), the
return of bonds (条例 57) — keep their clocks and lights, and running past them is the fault. The
evaluation has no statutory length (条例 48): no light and no legal basis unless the trading
center commits to a time."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.clocks.clock import Clock
from esupervision.models.clocks.light import light_at
from esupervision.models.errors import DomainError
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.supervision.accountability import Fault
from esupervision.models.tenders.rules import RULES, PeriodKind, TenderAction as A, floors
from esupervision.models.tenders.tender import Tender, TenderStageRow
from tests.tenders.test_tender import (DEADLINE, SH, T0, apply, ev, lifecycle, publish_attrs, run)


@pytest.fixture
def center(engine, fixed_time):
    from tests.tenders.test_tender import build_tender_center
    build_tender_center(engine)
    return engine


def stage(engine, kind: str, code: str = "ZB-2026-001") -> TenderStageRow:
    with Session(engine) as s:
        tender = s.scalars(select(Tender).where(Tender.code == code)).one()
        return s.scalars(select(TenderStageRow).where(TenderStageRow.tender_id == tender.id,
                                                      TenderStageRow.kind == kind)).one()


def faults(engine) -> list[Fault]:
    with Session(engine) as s:
        return list(s.scalars(select(Fault).where(Fault.kind == "tender_breach")))


def local_midnight(day: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SH)


def test_each_statutory_period_is_data_with_its_article_and_kind():
    expected = {
        "SALE_MIN_DAYS": ("条例 16", 5, PeriodKind.FLOOR), "PREQUAL_MIN_DAYS": ("条例 17", 5, PeriodKind.FLOOR),
        "BID_MIN_DAYS": ("法 24", 20, PeriodKind.FLOOR), "PUBLICITY_MIN_DAYS": ("条例 54", 3, PeriodKind.FLOOR),
        "OBJECTION_ANSWER_DAYS": ("条例 22、54", 3, PeriodKind.DEADLINE),
        "OPENING_OBJECTION": ("条例 44", 0, PeriodKind.DEADLINE),
        "PUBLISH_CANDIDATES_DAYS": ("条例 54", 3, PeriodKind.DEADLINE),
        "CONTRACT_DAYS": ("法 46", 30, PeriodKind.DEADLINE), "REPORT_DAYS": ("法 47", 15, PeriodKind.DEADLINE),
        "BOND_RETURN_DAYS": ("条例 57", 5, PeriodKind.DEADLINE),
        "EVALUATION_TIME": ("条例 48", None, None),
    }
    assert {code: (RULES[code].article, RULES[code].days, RULES[code].kind) for code in expected} == expected
    # The words are the articles' own: 不得少于 for a floor, ……日内 for a deadline.
    assert all("不得少于" in r.text for r in floors() if r.code.endswith("MIN_DAYS") and "AMEND" not in r.code)
    assert "二十日" in RULES["BID_MIN_DAYS"].text and "三十日内" in RULES["CONTRACT_DAYS"].text
    assert "十五日内" in RULES["REPORT_DAYS"].text and "合理确定评标时间" in RULES["EVALUATION_TIME"].text


def test_floors_have_no_clock_no_light_only_their_earliest_lawful_end(center):
    # 条例 16: the sale lasts at least 5 days; 法 24: at least 20 days from the documents to the deadline.
    apply(center, ev("ZB-2026-001", A.PUBLISH, T0, **publish_attrs()))
    sale, bidding = stage(center, "sale"), stage(center, "bidding")
    assert (sale.period_kind, sale.clock_id, sale.rule) == ("floor", None, "SALE_MIN_DAYS")
    assert (bidding.period_kind, bidding.clock_id, bidding.rule) == ("floor", None, "BID_MIN_DAYS")
    assert sale.earliest_end == local_midnight(T0 + timedelta(days=5))
    assert bidding.earliest_end == local_midnight(T0 + timedelta(days=20))
    assert bidding.scheduled_end == DEADLINE
    with Session(center) as s:
        assert s.scalar(select(func.count()).select_from(Clock)) == 0


def test_a_floor_lasting_longer_is_not_overdue(center, fixed_time):
    # 法 24 sets no maximum: a bidding period of 60 days has no yellow, no red and no fault.
    from esupervision.workers.lights import announce_due
    late = T0 + timedelta(days=60)
    events = lifecycle(bid_deadline=late.isoformat())
    run(center, *events[:6])
    for at in (T0 + timedelta(days=19), T0 + timedelta(days=40), late - timedelta(hours=1)):
        from esupervision.models.ledger.transaction import transaction
        with transaction(center, now=at) as tx:
            assert announce_due(tx) == 0
    apply(center, ev("ZB-2026-001", A.OPEN, late))
    bidding = stage(center, "bidding")
    assert (bidding.status, bidding.outcome) == ("done", "lawful")
    assert faults(center) == []


def test_a_floor_ended_before_its_earliest_lawful_end_is_a_fault_citing_its_article(center):
    # 条例 54: the candidates are publicized at least 3 days. An award two days in still happened —
    # it is recorded, not refused — and the publicity's early end is the breach.
    events = lifecycle()
    run(center, *events[:9])
    published = DEADLINE + timedelta(days=2)
    assert stage(center, "publicity").earliest_end == local_midnight(published + timedelta(days=3))
    apply(center, ev("ZB-2026-001", A.AWARD, published + timedelta(days=2), bidder_code="91A"))
    publicity = stage(center, "publicity")
    assert (publicity.status, publicity.outcome) == ("done", "floor_breach")
    (fault,) = faults(center)
    assert fault.subject_id == publicity.id and fault.evidence["article"] == "条例 54"
    assert fault.evidence["kind"] == "floor" and "条例 54" in fault.description
    assert fault.evidence["earliest_end"] == publicity.earliest_end.isoformat()


def test_pre_qualification_ended_before_its_floor_is_a_fault(center):
    # 条例 17: applications may be made at least 5 days after the sale of the pre-qualification
    # documents ends; qualifying earlier ends the period early.
    sale_end = T0 + timedelta(days=6)
    apply(center, ev("ZB-P", A.PUBLISH, T0, **publish_attrs(
        prequalification=True, bid_deadline=None, prequal_deadline=(sale_end + timedelta(days=8)).isoformat())))
    prequal = stage(center, "prequalification", "ZB-P")
    assert prequal.earliest_end == local_midnight(sale_end + timedelta(days=5))
    at = sale_end + timedelta(days=2)
    apply(center, ev("ZB-P", A.PREQUALIFY, at, qualified=["91A", "91B", "91C"],
                     bid_deadline=(at + timedelta(days=25)).isoformat()))
    assert stage(center, "prequalification", "ZB-P").outcome == "floor_breach"
    (fault,) = faults(center)
    assert fault.evidence["article"] == "条例 17" and fault.evidence["rule"] == "PREQUAL_MIN_DAYS"


def test_a_floor_whose_last_day_is_a_rest_day_ends_on_the_next_working_day(center):
    # 民法典 203: the 20th day after Monday 2026-11-02 is Sunday 2026-11-22, so the earliest lawful
    # deadline is Monday 2026-11-23. A deadline on the Sunday ends the period early: refused as a
    # plan (法 24), naming the earliest lawful end; the Monday is lawful.
    published = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    sunday = datetime(2026, 11, 22, 9, 30, tzinfo=SH)
    # (The sale too: its 5th day is Saturday 11-07, so it must run to Monday 11-09, 条例 16.)
    attrs = publish_attrs(sale_end=(published + timedelta(days=7)).isoformat(), bid_deadline=sunday.isoformat())
    with pytest.raises(DomainError) as refused:
        apply(center, ev("ZB-SUN", A.PUBLISH, published, **attrs))
    assert refused.value.code == "PERIOD_TOO_SHORT" and refused.value.details["article"] == "法 24"
    assert "2026年11月23日" in refused.value.message      # a day as people read it, not 2026-11-23
    attrs["bid_deadline"] = (sunday + timedelta(days=1)).isoformat()
    apply(center, ev("ZB-SUN", A.PUBLISH, published, **attrs))
    assert stage(center, "bidding", "ZB-SUN").earliest_end == datetime(2026, 11, 23, tzinfo=SH)


def test_a_suspension_moves_the_floor_and_the_deadline_by_the_days_suspended(center):
    # 条例 22: the process is suspended until the objection is answered; those days do not count.
    run(center, *lifecycle()[:5])
    apply(center, ev("ZB-2026-001", A.OBJECT, T0 + timedelta(days=8), about="documents", party="丙建筑公司"))
    assert stage(center, "bidding").status == "paused"
    apply(center, ev("ZB-2026-001", A.ANSWER_OBJECTION, T0 + timedelta(days=10), answer="已澄清"))
    bidding = stage(center, "bidding")
    assert bidding.paused_days == 2 and bidding.status == "running"
    # 20 + 2 days from 2026-10-09 is Saturday 10-31: the floor ends on Monday 11-02 (民法典 203).
    assert bidding.earliest_end == datetime(2026, 11, 2, tzinfo=SH)
    assert bidding.scheduled_end == DEADLINE + timedelta(days=2)


@pytest.mark.parametrize("kind, rule_code, article, days, upto", [
    ("contract", "CONTRACT_DAYS", "法 46", 30, 10),
    ("report", "REPORT_DAYS", "法 47", 15, 10),
    ("bond_return", "BOND_RETURN_DAYS", "条例 57", 5, 11),
])
def test_deadlines_keep_their_clocks_lights_and_faults(center, kind, rule_code, article, days, upto):
    run(center, *lifecycle()[:upto])
    row = stage(center, kind)
    with Session(center) as s:
        clock = s.get(Clock, row.clock_id)
    assert (row.period_kind, row.rule, clock.limit_days, clock.basis) == ("deadline", rule_code, days, "natural")
    assert light_at(clock, clock.started_at + timedelta(hours=1)).light.value == "white"
    assert light_at(clock, clock.red_at).light.value == "red"


def test_a_deadline_run_past_is_a_fault_citing_its_article(center):
    # 条例 57: the bonds are returned at the latest 5 days after the contract; 8 days is the breach.
    events = lifecycle()
    run(center, *events[:11])
    signed = DEADLINE + timedelta(days=16)
    apply(center, ev("ZB-2026-001", A.RETURN_BONDS, signed + timedelta(days=8)))
    (fault,) = faults(center)
    assert fault.evidence["article"] == "条例 57" and fault.evidence["kind"] == "deadline"
    assert "超过法定期限" in fault.description


def test_an_objection_at_the_opening_is_answered_on_the_spot(center):
    # 条例 44: answered at the opening itself (当场), a deadline of the same day.
    run(center, *lifecycle()[:7])
    apply(center, ev("ZB-2026-001", A.OBJECT, DEADLINE + timedelta(minutes=10), about="opening", party="丁工程公司"))
    row = stage(center, "objection")
    with Session(center) as s:
        clock = s.get(Clock, row.clock_id)
    assert row.rule == "OPENING_OBJECTION" and clock.due_at.astimezone(SH).date() == DEADLINE.date()


def test_the_evaluation_has_no_light_unless_the_center_commits_to_a_time(center, fixed_time):
    # 条例 48: a reasonable time the tenderer fixes, no statutory length: no clock, no light, no fault.
    run(center, *lifecycle()[:7])
    evaluation = stage(center, "evaluation")
    assert (evaluation.period_kind, evaluation.clock_id, evaluation.rule) == ("none", None, "EVALUATION_TIME")
    apply(center, ev("ZB-2026-001", A.REPORT_EVALUATION, DEADLINE + timedelta(days=40), candidates=["91A", "91B"]))
    assert faults(center) == [] and stage(center, "evaluation").outcome is None
    # With a committed time (here 2 days) it has a clock and lights, but running past it is no
    # breach of law: no fault.
    run(center, *lifecycle("ZB-2026-002")[:6])
    apply(center, ev("ZB-2026-002", A.OPEN, DEADLINE, evaluation_days=2))
    committed = stage(center, "evaluation", "ZB-2026-002")
    with Session(center) as s:
        clock = s.get(Clock, committed.clock_id)
    assert committed.period_kind == "committed"
    assert light_at(clock, DEADLINE + timedelta(days=3)).light.value == "red"
    apply(center, ev("ZB-2026-002", A.REPORT_EVALUATION, DEADLINE + timedelta(days=5), candidates=["91A", "91B"]))
    assert faults(center) == []


def test_stages_in_graphql_show_floors_without_lights(center, fixed_time):
    from esupervision.api.tokens import issue_access_token
    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.clocks import timesource
    from tests.gql import GraphQLClient
    run(center, *lifecycle()[:10])
    fixed_time.set(DEADLINE + timedelta(days=8))
    token = issue_access_token(Viewer(role=Role.SUPERVISOR, username="sup"), now=timesource.now())
    stages = GraphQLClient(center).data('''{ tender(code: "ZB-2026-001") { light stages {
        kind periodKind light dueAt earliestEnd scheduledEnd outcome article legalBasis limitDays } } }''',
                                        token=token)["tender"]
    by_kind = {s["kind"]: s for s in stages["stages"]}
    for floor in ("sale", "bidding", "publicity"):
        assert by_kind[floor]["periodKind"] == "FLOOR" and by_kind[floor]["light"] is None
        assert by_kind[floor]["dueAt"] is None and by_kind[floor]["earliestEnd"] and by_kind[floor]["outcome"] == "lawful"
    assert by_kind["contract"]["periodKind"] == "DEADLINE" and by_kind["contract"]["light"] == "WHITE"
    assert by_kind["contract"]["article"] == "法 46" and by_kind["contract"]["limitDays"] == 30
    assert by_kind["evaluation"]["periodKind"] == "NONE" and by_kind["evaluation"]["light"] is None
    assert by_kind["evaluation"]["legalBasis"] is None and by_kind["evaluation"]["limitDays"] is None
    assert stages["light"] == "WHITE"
