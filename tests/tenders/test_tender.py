"""Tenders through their service functions: the statutory process, its deadlines on clocks of the
core and its floors without one, each breach of a plan refused naming its rule and article with
nothing changed, idempotent reports, every change on the ledger (which replays to the same rows)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.catalogue.catalogue import CenterLevel, create_center, create_department
from esupervision.models.clocks.clock import Clock
from esupervision.models.errors import DomainError
from esupervision.models.ledger.ledger import LedgerEvent, verify_ledger
from esupervision.models.clocks.light import light_at
from esupervision.models.tenders.redflags import TenderRedFlag
from esupervision.models.ledger.replay import replay, snapshot
from esupervision.models.tenders.tender import (Tender, TenderBid, TenderEvent, TenderStageRow, handle_tender_event,
                                                ingest_tender_events, load_tender, unsealed_bids)
from esupervision.models.tenders.rules import TenderAction as A
from esupervision.models.ledger.transaction import transaction
from esupervision.settings import get_settings

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 9, 9, 0, tzinfo=SH)       # published
DEADLINE = datetime(2026, 10, 30, 9, 30, tzinfo=SH)  # 21 days later: opening instant
SOURCE = "tender:test"
_ids = count(1)


def build_tender_center(engine) -> None:
    """A county center with its public resource trading center (the tender center) and an authority."""
    with transaction(engine, actor="test", now=T0 - timedelta(days=30)) as tx:
        city = create_center(tx, code="C01", name="市行政服务中心", level=CenterLevel.CITY)
        zb = create_center(tx, code="C01-ZB", name="东县公共资源交易中心", level=CenterLevel.COUNTY, parent_code="C01")
        create_department(tx, center=zb, code="JYZX", name="交易中心")
        create_department(tx, center=city, code="ZJJ", name="住房和城乡建设局")


def ev(code: str, action: A, at: datetime, **attributes: Any) -> TenderEvent:
    return TenderEvent(source_event_id=attributes.pop("source_event_id", f"zb-{next(_ids)}"), tender_code=code,
                       action=action, occurred_at=at, attributes=attributes)


def publish_attrs(**overrides: Any) -> dict[str, Any]:
    attrs = {"center_code": "C01-ZB", "title": "东县第一中学教学楼施工", "tenderer": "东县教育局",
             "agency": "清河招标代理有限公司", "authority": "住房和城乡建设局", "authority_department_code": "ZJJ",
             "estimate": 10_000_000, "ceiling_price": 9_800_000, "state_funded": True,
             "sale_end": (T0 + timedelta(days=6)).isoformat(), "bid_deadline": DEADLINE.isoformat()}
    attrs.update(overrides)
    return attrs


BIDDERS = [("甲建设有限公司", "91A", 9_100_000), ("乙建工集团", "91B", 9_350_000), ("丙建筑公司", "91C", 9_420_000),
           ("丁工程公司", "91D", 9_610_000)]


def bid(code: str, name: str, bidder_code: str, price: float, at: datetime, **extra: Any) -> TenderEvent:
    attrs = {"bidder": name, "bidder_code": bidder_code, "price": price, "bond_amount": 150_000,
             "bond_account": f"6222{bidder_code}", "machine_code": f"MC-{bidder_code}",
             "project_manager": f"项目经理{bidder_code}", "content": {"工期": "365 日历天"}}
    attrs.update(extra)
    return ev(code, A.SUBMIT_BID, at, **attrs)


COMMITTEE = [{"name": f"专家{i}", "kind": "expert"} for i in range(4)] + [{"name": "招标人代表", "kind": "tenderer"}]


def apply(engine, event: TenderEvent, *, now: datetime | None = None):
    with transaction(engine, actor=SOURCE, now=now or event.occurred_at + timedelta(minutes=1)) as tx:
        return handle_tender_event(tx, event, source=SOURCE)


def run(engine, *events: TenderEvent) -> None:
    for event in events:
        apply(engine, event)


def lifecycle(code: str = "ZB-2026-001", bidders=BIDDERS, **publish: Any) -> list[TenderEvent]:
    """Every event of a lawful tender, in order, to the end."""
    award_at = DEADLINE + timedelta(days=6)
    return [
        ev(code, A.PUBLISH, T0, **publish_attrs(**publish)),
        *[bid(code, n, c, p, T0 + timedelta(days=10, hours=i)) for i, (n, c, p) in enumerate(bidders)],
        ev(code, A.FORM_COMMITTEE, DEADLINE - timedelta(hours=1), members=COMMITTEE),
        ev(code, A.OPEN, DEADLINE),
        ev(code, A.REPORT_EVALUATION, DEADLINE + timedelta(days=1), candidates=["91A", "91B", "91C"]),
        ev(code, A.PUBLISH_CANDIDATES, DEADLINE + timedelta(days=2), publicity_end=(award_at).isoformat()),
        ev(code, A.AWARD, award_at, bidder_code="91A"),
        ev(code, A.SIGN_CONTRACT, award_at + timedelta(days=10), value=9_100_000, performance_bond=910_000),
        ev(code, A.RETURN_BONDS, award_at + timedelta(days=12)),
        ev(code, A.FILE_REPORT, award_at + timedelta(days=13)),
    ]


@pytest.fixture
def center(engine, fixed_time):
    build_tender_center(engine)
    return engine


def _tender(engine, code: str = "ZB-2026-001") -> Tender:
    with Session(engine) as s:
        return s.scalars(select(Tender).where(Tender.code == code)).one()


def _stages(engine, code: str = "ZB-2026-001") -> list[tuple[str, str, str | None]]:
    """(kind, status, outcome) of each stage: a deadline's clock outcome, a floor's own."""
    with Session(engine) as s:
        tender = s.scalars(select(Tender).where(Tender.code == code)).one()
        rows = s.scalars(select(TenderStageRow).where(TenderStageRow.tender_id == tender.id).order_by(TenderStageRow.seq))
        out = []
        for stage in rows:
            clock = s.get(Clock, stage.clock_id) if stage.clock_id else None
            out.append((stage.kind, stage.status, clock.outcome if clock else stage.outcome))
        return out


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_lawful_tender_runs_every_stage_on_clocks(center):
    run(center, *lifecycle())
    tender = _tender(center)
    assert tender.stage == "closed" and tender.closed_at is not None and not tender.suspended
    kinds = [k for k, _, _ in _stages(center)]
    assert kinds == ["sale", "bidding", "evaluation", "publish_candidates", "publicity", "contract", "report",
                     "bond_return"]
    assert all(status == "done" for _, status, _ in _stages(center))
    outcomes = {kind: outcome for kind, _, outcome in _stages(center)}
    assert outcomes == {"sale": "lawful", "bidding": "lawful", "publicity": "lawful", "evaluation": None,
                        "publish_candidates": "early", "contract": "early", "report": "early", "bond_return": "early"}
    with Session(center) as s:
        kinds = [e.kind for e in s.scalars(select(LedgerEvent).where(LedgerEvent.subject_id == tender.id)
                                           .order_by(LedgerEvent.id))]
    assert kinds[0] == "tender.publish" and kinds[-1] == "tender.file_report" and "tender.open" in kinds


def test_deadline_stages_run_on_clocks_with_lights(center, fixed_time):
    # 法 46: the contract within 30 days of the award notice is a deadline: a clock of the core.
    run(center, *lifecycle()[:10])
    with Session(center) as s:
        stage = s.scalars(select(TenderStageRow).where(TenderStageRow.kind == "contract")).one()
        clock = s.get(Clock, stage.clock_id)
    award_at = DEADLINE + timedelta(days=6)
    assert (stage.rule, stage.period_kind, clock.subject_type) == ("CONTRACT_DAYS", "deadline", "tender_stage")
    # The 30th day, Saturday 2026-12-05, is a rest day: the period ends on Monday (民法典 203).
    assert clock.due_at.astimezone(SH).date() == date(2026, 12, 7)
    assert light_at(clock, award_at + timedelta(days=1)).light.value == "white"
    assert light_at(clock, award_at + timedelta(days=27)).light.value == "yellow"
    assert light_at(clock, datetime(2026, 12, 8, 0, 0, 1, tzinfo=SH)).light.value == "red"


@pytest.mark.parametrize("attrs, code, article", [
    ({"sale_end": (T0 + timedelta(days=4)).isoformat()}, "PERIOD_TOO_SHORT", "条例 16"),
    ({"bid_deadline": (T0 + timedelta(days=19)).isoformat()}, "PERIOD_TOO_SHORT", "法 24"),
])
def test_statutory_periods_are_checked_when_published(center, attrs, code, article):
    with pytest.raises(DomainError) as refused:
        apply(center, ev("ZB-1", A.PUBLISH, T0, **publish_attrs(**attrs)))
    assert refused.value.code == code and refused.value.details["article"] == article
    assert article in refused.value.message
    assert _count(center, Tender) == 0 and _count(center, Clock) == 0


def test_breaches_are_refused_naming_the_article_and_nothing_changes(center):
    events = lifecycle()
    run(center, events[0], *events[1:3])
    with Session(center) as s:
        before = s.scalar(select(func.count()).select_from(LedgerEvent))
    cases = [
        (bid("ZB-2026-001", "戊公司", "91E", 9_000_000, DEADLINE + timedelta(seconds=1)), "BID_AFTER_DEADLINE", "法 28"),
        (bid("ZB-2026-001", "戊公司", "91E", 9_000_000, T0 + timedelta(days=11), bond_amount=250_000),
         "BOND_EXCEEDS_LIMIT", "条例 26"),
        (ev("ZB-2026-001", A.OPEN, DEADLINE), "TOO_FEW_BIDS", "法 28、条例 44"),
        (ev("ZB-2026-001", A.FORM_COMMITTEE, T0 + timedelta(days=12), members=COMMITTEE[:4]), "COMMITTEE_INVALID", "法 37"),
        (ev("ZB-2026-001", A.FORM_COMMITTEE, T0 + timedelta(days=12),
            members=[{"name": f"专家{i}", "kind": "expert"} for i in range(3)]
            + [{"name": f"代表{i}", "kind": "tenderer"} for i in range(2)]), "COMMITTEE_INVALID", "法 37"),
        (ev("ZB-2026-001", A.AWARD, T0 + timedelta(days=12), bidder_code="91A"), "TENDER_STAGE_ORDER", "法 第三、四章"),
        (ev("ZB-2026-001", A.OBJECT, DEADLINE - timedelta(days=5), about="documents"), "OBJECTION_TOO_LATE", "条例 22"),
    ]
    for event, code, article in cases:
        with pytest.raises(DomainError) as refused:
            apply(center, event, now=max(event.occurred_at, T0 + timedelta(days=12)) + timedelta(minutes=1))
        assert (refused.value.code, refused.value.details.get("article")) == (code, article), refused.value.message
    with Session(center) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEvent)) == before
        assert s.scalar(select(func.count()).select_from(TenderBid)) == 2


def test_opening_before_the_deadline_and_award_to_a_lower_candidate_are_refused(center):
    events = lifecycle()
    run(center, *events[:6])
    with pytest.raises(DomainError) as early:
        apply(center, ev("ZB-2026-001", A.OPEN, DEADLINE - timedelta(minutes=1)), now=DEADLINE)
    assert early.value.details["article"] == "法 34"
    run(center, *events[6:9])
    with pytest.raises(DomainError) as second:
        apply(center, ev("ZB-2026-001", A.AWARD, DEADLINE + timedelta(days=6), bidder_code="91B"))
    assert second.value.code == "NOT_FIRST_CANDIDATE" and second.value.details["article"] == "条例 55"
    # … unless the first-ranked candidate gave up
    apply(center, ev("ZB-2026-001", A.AWARD, DEADLINE + timedelta(days=6), bidder_code="91B", declined=["91A"]))
    assert _tender(center).stage == "awarded"


def test_performance_bond_and_publicity_limits(center):
    events = lifecycle()
    run(center, *events[:8])
    with pytest.raises(DomainError) as short:
        apply(center, ev("ZB-2026-001", A.PUBLISH_CANDIDATES, DEADLINE + timedelta(days=2),
                         publicity_end=(DEADLINE + timedelta(days=4)).isoformat()))
    assert short.value.details["article"] == "条例 54"
    run(center, *events[8:10])
    with pytest.raises(DomainError) as bond:
        apply(center, ev("ZB-2026-001", A.SIGN_CONTRACT, DEADLINE + timedelta(days=10), value=9_100_000,
                         performance_bond=920_000))
    assert bond.value.code == "BOND_EXCEEDS_LIMIT" and bond.value.details["article"] == "条例 58"


def test_a_late_amendment_pushes_the_deadline_back(center):
    run(center, *lifecycle()[:2])
    apply(center, ev("ZB-2026-001", A.AMEND, DEADLINE - timedelta(days=5), summary="工程量清单修改"))
    tender = _tender(center)
    assert tender.bid_deadline.astimezone(SH) == datetime(2026, 11, 9, 9, 30, tzinfo=SH)
    assert tender.original_deadline.astimezone(SH) == DEADLINE and tender.amendments == 1
    with Session(center) as s:
        bidding = s.scalars(select(TenderStageRow).where(TenderStageRow.kind == "bidding")).one()
    assert bidding.scheduled_end == tender.bid_deadline and bidding.clock_id is None
    with pytest.raises(DomainError) as refused:
        apply(center, ev("ZB-2026-001", A.AMEND, DEADLINE - timedelta(days=4),
                         new_deadline=(DEADLINE + timedelta(days=3)).isoformat()))
    assert refused.value.details["article"] == "法 23、条例 21"


def test_an_objection_suspends_the_process_until_answered(center):
    run(center, *lifecycle()[:5])
    apply(center, ev("ZB-2026-001", A.OBJECT, T0 + timedelta(days=8), about="documents", party="丙建筑公司"))
    tender = _tender(center)
    assert tender.suspended
    kinds = {k: s for k, s, _ in _stages(center)}
    assert kinds == {"sale": "done", "bidding": "paused", "objection": "running"}
    apply(center, ev("ZB-2026-001", A.ANSWER_OBJECTION, T0 + timedelta(days=10), answer="已澄清"))
    tender = _tender(center)
    assert not tender.suspended
    # the two days suspended are given back to the bidders
    assert tender.bid_deadline.astimezone(SH) == DEADLINE + timedelta(days=2)


def test_complaints_run_on_working_days_and_pause_for_experts(center):
    events = lifecycle()
    run(center, *events[:10])
    at = DEADLINE + timedelta(days=3)
    with pytest.raises(DomainError) as late:
        apply(center, ev("ZB-2026-001", A.COMPLAIN, at, knew_at=(at - timedelta(days=11)).isoformat()))
    assert late.value.details["article"] == "条例 60"
    apply(center, ev("ZB-2026-001", A.COMPLAIN, at, knew_at=(at - timedelta(days=2)).isoformat(), party="丁工程公司"))
    apply(center, ev("ZB-2026-001", A.ACCEPT_COMPLAINT, at + timedelta(days=1), accepted=True))
    apply(center, ev("ZB-2026-001", A.PAUSE_COMPLAINT, at + timedelta(days=2), kind="expert_review"))
    apply(center, ev("ZB-2026-001", A.RESUME_COMPLAINT, at + timedelta(days=9)))
    apply(center, ev("ZB-2026-001", A.DECIDE_COMPLAINT, at + timedelta(days=12), decision="驳回"))
    stages = _stages(center)
    assert ("complaint_accept", "done", "early") in stages
    with Session(center) as s:
        decide = s.scalars(select(TenderStageRow).where(TenderStageRow.kind == "complaint_decide")).one()
        clock = s.get(Clock, decide.clock_id)
    assert clock.basis == "working" and clock.paused_days >= 4 and clock.outcome == "early"


def test_reports_are_idempotent_with_a_result_per_event(center):
    events = lifecycle()[:4]
    late_bid = bid("ZB-2026-001", "戊公司", "91E", 1, DEADLINE + timedelta(days=1))
    with transaction(center, actor=SOURCE, now=DEADLINE + timedelta(days=1, minutes=5)) as tx:
        first = ingest_tender_events(tx, [*events, late_bid], source=SOURCE)
    assert [o.status for o in first] == ["accepted"] * 4 + ["refused"]
    assert first[-1].code == "BID_AFTER_DEADLINE" and "法 28" in first[-1].message
    with transaction(center, actor=SOURCE, now=DEADLINE + timedelta(days=1, minutes=6)) as tx:
        again = ingest_tender_events(tx, events, source=SOURCE)
    assert [o.status for o in again] == ["duplicate"] * 4
    assert [o.ledger_id for o in again] == [o.ledger_id for o in first[:4]]
    assert _count(center, TenderBid) == 3


def test_sealed_bids_cannot_be_read_before_the_opening(center):
    events = lifecycle()
    run(center, *events[:5])
    with transaction(center, now=DEADLINE - timedelta(seconds=1)) as tx:
        state = load_tender(tx, "ZB-2026-001", lock=False)
        with pytest.raises(DomainError) as sealed:
            unsealed_bids(state, tx.now)
    assert sealed.value.code == "BID_SEALED"
    with Session(center) as s:   # the readable ledger data never carries a sealed price
        for data in s.scalars(select(LedgerEvent.data).where(LedgerEvent.kind == "tender.submit_bid")):
            assert "price" not in data and "content" not in data
    run(center, events[5], events[6])
    with transaction(center, now=DEADLINE + timedelta(minutes=1)) as tx:
        state = load_tender(tx, "ZB-2026-001", lock=False)
        assert sorted(b.price for b in unsealed_bids(state, tx.now)) == [9_100_000, 9_350_000, 9_420_000, 9_610_000]


def test_the_ledger_verifies_and_replays_to_the_same_rows(center):
    run(center, *lifecycle())
    run(center, *lifecycle("ZB-2026-002")[:6])
    apply(center, ev("ZB-2026-002", A.OBJECT, T0 + timedelta(days=8), about="documents"))
    with Session(center) as s:
        checked, breach = verify_ledger(s, get_settings().ledger_signing_key)
        assert breach is None and checked > 20
        live = snapshot(s)
        replay(s)
        assert snapshot(s) == live
        s.rollback()
    assert {"tender", "tender_bid", "tender_stage", "clock"} <= set(live)


def test_lights_of_tender_stages_are_announced_by_the_scheduler(center, fixed_time):
    from esupervision.workers.lights import announce_due
    run(center, *lifecycle()[:8])    # the evaluation report: the candidates are due in 3 days (条例 54)
    reported = DEADLINE + timedelta(days=1)
    with transaction(center, now=reported + timedelta(days=2, hours=15)) as tx:
        assert announce_due(tx) == 1
    with Session(center) as s:
        kinds = [e.kind for e in s.scalars(select(LedgerEvent).where(LedgerEvent.subject_type == "tender_stage"))]
    assert kinds == ["light.yellow"]


def test_red_flags_are_none_for_a_clean_tender(center):
    run(center, *lifecycle())
    with Session(center) as s:
        flags = s.scalars(select(TenderRedFlag).where(TenderRedFlag.cleared_at.is_(None))).all()
    assert flags == []
