"""Red flags: each OCP indicator and each 条例 40 collusion sign raised with its evidence by the
stage event that shows it, announced once, never reading a sealed price; the bulk computation
agrees with the incremental one."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.tenders import redflags
from esupervision.models.tenders.redflags import TenderRedFlag, compute_all, refresh_all
from esupervision.models.tenders.tender import Tender
from esupervision.models.tenders.rules import TenderAction as A
from esupervision.models.ledger.transaction import set_publisher, transaction
from esupervision.settings import get_settings
from tests.tenders.test_tender import COMMITTEE, DEADLINE, T0, apply, bid, build_tender_center, ev, publish_attrs, run

AWARD_AT = DEADLINE + timedelta(days=6)


def tender_events(code: str, bidders: list[tuple[str, str, float, dict]], *, publish: dict | None = None,
                  candidates: list[str] | None = None, disqualified: list[dict] | None = None,
                  winner: str | None = None, declined: list[str] | None = None,
                  contract_at=None, contract_value: float | None = None, until: str = "contract") -> list:
    events = [ev(code, A.PUBLISH, T0, **publish_attrs(**(publish or {})))]
    events += [bid(code, name, bcode, price, T0 + timedelta(days=10, hours=i), **extra)
               for i, (name, bcode, price, extra) in enumerate(bidders)]
    events.append(ev(code, A.FORM_COMMITTEE, DEADLINE - timedelta(hours=1), members=COMMITTEE))
    if until == "bids":
        return events
    events.append(ev(code, A.OPEN, DEADLINE))
    if until == "open":
        return events
    ranked = candidates or [b[1] for b in sorted(bidders, key=lambda b: b[2]) if b[1] not in
                            {d["bidder_code"] for d in disqualified or []}][:3]
    events += [ev(code, A.REPORT_EVALUATION, DEADLINE + timedelta(days=1), candidates=ranked,
                  disqualified=disqualified or []),
               ev(code, A.PUBLISH_CANDIDATES, DEADLINE + timedelta(days=2), publicity_end=AWARD_AT.isoformat()),
               ev(code, A.AWARD, AWARD_AT, bidder_code=winner or ranked[0], declined=declined or [])]
    if until == "award":
        return events
    signed = contract_at or AWARD_AT + timedelta(days=10)
    price = next(b[2] for b in bidders if b[1] == (winner or ranked[0]))
    events.append(ev(code, A.SIGN_CONTRACT, signed, value=contract_value or price))
    return events


def B(name: str, code: str, price: float, **extra: Any) -> tuple[str, str, float, dict]:
    return (name, code, price, extra)


FAIR = [B("甲", "91A", 9_100_000), B("乙", "91B", 9_350_000), B("丙", "91C", 9_420_000), B("丁", "91D", 9_610_000)]


def flags(engine, code: str) -> dict[str, dict]:
    with Session(engine) as s:
        tender = s.scalars(select(Tender).where(Tender.code == code)).one()
        rows = s.scalars(select(TenderRedFlag).where(TenderRedFlag.tender_id == tender.id,
                                                     TenderRedFlag.cleared_at.is_(None)))
        return {f.code: f.evidence for f in rows}


@pytest.fixture
def center(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(DEADLINE + timedelta(days=60))
    redflags.get_redflag_settings.cache_clear()
    yield engine
    redflags.get_redflag_settings.cache_clear()


@pytest.fixture
def announced():
    messages: list[tuple[str, dict]] = []
    set_publisher(lambda topic, message: messages.append((topic, message)))
    yield messages
    set_publisher(None)


def test_a_fair_tender_raises_nothing(center):
    run(center, *tender_events("ZB-OK", FAIR))
    assert flags(center, "ZB-OK") == {}


def test_collusion_signs_are_found_on_the_bid_and_told_at_the_opening(center, announced):
    # 条例 40 signs are found as the bids come in, but they name bidders: kept sealed with the time
    # they were found, and told (ledger, subscribers) only from the opening on (法 22).
    bidders = [B("甲", "91A", 9_100_000, machine_code="MC-1", bond_account="6222-1", project_manager="王工"),
               B("乙", "91B", 9_350_000, machine_code="MC-1"), B("丙", "91C", 9_420_000, bond_account="6222-1"),
               B("丁", "91D", 9_610_000, project_manager="王工")]
    events = tender_events("ZB-C40", bidders, until="open")
    run(center, *events[:-1])
    found = flags(center, "ZB-C40")
    assert set(found) == {"C40_MACHINE", "C40_ACCOUNT", "C40_MANAGER"}
    assert found["C40_MACHINE"]["bidders"] == ["乙", "甲"] and found["C40_MACHINE"]["machine_code"] == "MC-1"
    assert [m for topic, m in announced if topic == "tender.red_flag"] == []
    with Session(center) as s:
        assert not s.scalars(select(LedgerEvent).where(LedgerEvent.kind == "tender.red_flag")).all()
    run(center, events[-1])   # the opening
    red = [m for topic, m in announced if topic == "tender.red_flag"]
    assert sorted(m["flag"] for m in red) == ["C40_ACCOUNT", "C40_MACHINE", "C40_MANAGER"]
    assert all("9100000" not in str(m) and "9350000" not in str(m) for m in red)
    machine = next(m for m in red if m["flag"] == "C40_MACHINE")
    assert datetime.fromisoformat(machine["found_at"]) == T0 + timedelta(days=10, hours=1)   # 乙's bid


@pytest.mark.parametrize("name, events, code, evidence", [
    ("short period", tender_events("ZB-R003", FAIR, publish={
        "legally_required": False, "bid_deadline": (T0 + timedelta(days=12)).isoformat()}, until="bids"),
     "R003", {"days": 12}),
    ("three bidders", tender_events("ZB-R019", FAIR[:3], until="open"), "R019", {"bids": 3}),
    ("identical prices", tender_events("ZB-R028", [*FAIR[:3], B("戊", "91E", 9_350_000)], until="open"),
     "R028", {"price": 9_350_000.0}),
    ("regular spacing", tender_events("ZB-R023", [B("甲", "91A", 9_000_000), B("乙", "91B", 9_150_000),
                                                 B("丙", "91C", 9_300_000), B("丁", "91D", 9_450_000)], until="open"),
     "R023", {"spacing": "difference", "step": 150_000.0}),
    ("single valid bid", tender_events("ZB-R018", FAIR, candidates=["91A"], disqualified=[
        {"bidder_code": c, "reason": "资质不符"} for c in ("91B", "91C", "91D")], until="award"), "R018", {"valid_bids": 1}),
    ("all but the winner disqualified", tender_events("ZB-R035", FAIR, candidates=["91A"], disqualified=[
        {"bidder_code": c, "reason": "资质不符"} for c in ("91B", "91C", "91D")], until="award"), "R035", {"disqualified": 3}),
    ("lowest disqualified under price only", tender_events("ZB-R036", FAIR, publish={"award_criteria": "price_only"},
                                                           disqualified=[{"bidder_code": "91A", "reason": "报价说明不全"}],
                                                           until="award"), "R036", {"bidder": "甲"}),
    ("winner at the ceiling", tender_events("ZB-R031", FAIR, publish={"ceiling_price": 9_100_000}, until="award"),
     "R031", {"ratio": 1.0}),
    ("contract late", tender_events("ZB-R060", FAIR, contract_at=AWARD_AT + timedelta(days=35)), "R060", {"days": 35}),
    ("contract differs", tender_events("ZB-R059", FAIR, contract_value=9_300_000), "R059", {"difference": 200_000.0}),
])
def test_each_indicator_with_its_evidence(center, name, events, code, evidence):
    run(center, *events)
    found = flags(center, events[0].tender_code)
    assert code in found, (name, found)
    assert evidence.items() <= found[code].items(), found[code]


def test_a_late_reported_bid_that_wins(center):
    events = tender_events("ZB-R030", FAIR, until="award")
    # the platform reports 甲's bid two hours after the deadline, claiming it came in before
    late = events[1]
    run(center, events[0], *events[2:5])
    apply(center, late, now=DEADLINE + timedelta(hours=2))
    run(center, *events[5:])
    found = flags(center, "ZB-R030")
    assert found["R030"]["winner"] == "甲"


def test_gap_outliers_use_the_configured_fences(center, monkeypatch):
    monkeypatch.setenv("ESV_REDFLAG_R024_THRESHOLD", "0.01")
    monkeypatch.setenv("ESV_REDFLAG_R058_THRESHOLD", "0.10")
    redflags.get_redflag_settings.cache_clear()
    run(center, *tender_events("ZB-R024", [B("甲", "91A", 9_000_000), B("乙", "91B", 9_040_000),
                                           B("丙", "91C", 9_420_000), B("丁", "91D", 9_610_000)], until="award"))
    run(center, *tender_events("ZB-R058", [B("甲", "91A", 7_000_000), B("乙", "91B", 9_040_000),
                                           B("丙", "91C", 9_420_000), B("丁", "91D", 9_610_000)], until="award"))
    assert flags(center, "ZB-R024")["R024"]["difference"] == pytest.approx(0.04 / 9, abs=1e-6)
    assert flags(center, "ZB-R058")["R058"]["upper_fence"] == 0.1


def test_bid_rotation_within_one_group(center):
    group = [B("甲", "91A", 9_100_000), B("乙", "91B", 9_200_000), B("丙", "91C", 9_300_000)]
    for i, winner in enumerate(["91A", "91B", "91C"]):
        prices = {c: 9_000_000 + 100_000 * ((j - i) % 3) for j, (_, c, _, _) in enumerate(group)}
        bidders = [B(n, c, prices[c]) for n, c, _, _ in group]
        run(center, *tender_events(f"ZB-ROT{i}", bidders, until="award"))
    found = flags(center, "ZB-ROT2")
    assert found["R057"]["group"] == ["91A", "91B", "91C"]
    assert [a["winner"] for a in found["R057"]["awards"]] == ["91A", "91B", "91C"]
    assert "R057" not in flags(center, "ZB-ROT0")     # raised on the award that completes the rotation


def test_bulk_agrees_with_incremental_and_fences_come_from_the_population(center):
    run(center, *tender_events("ZB-A", FAIR, contract_value=9_000_000))
    run(center, *tender_events("ZB-B", [*FAIR[:3], B("戊", "91E", 9_350_000)], until="award"))
    run(center, *tender_events("ZB-C", FAIR[:3], until="open"))
    with Session(center) as s:
        results, _ = compute_all(s, at=DEADLINE + timedelta(days=60))
        bulk = {t.code: {f.code for f in found} for t, found in results.values()}
    assert bulk == {code: set(flags(center, code)) for code in ("ZB-A", "ZB-B", "ZB-C")}
    with transaction(center) as tx:
        counts = refresh_all(tx)
    assert counts["R059"] == 1 and counts["R028"] == 1
    assert {code: set(flags(center, code)) for code in bulk} == bulk


# ----------------------------------------------------------------------------- told by SMS

def supervisors_with_phones(engine) -> None:
    """Two supervisors with a phone, one without; a center admin of the tender center with one."""
    from esupervision.models.clocks import timesource
    from esupervision.models.access.scope import Role
    from esupervision.models.access.account import create_account
    from esupervision.models.catalogue.catalogue import Center, create_staff

    with transaction(engine, actor="test") as tx:
        city = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        zb = tx.session.scalars(select(Center).where(Center.code == "C01-ZB")).one()
        people = [create_staff(tx, center=city, code="JC1", name="监察甲", phone="13911110001"),
                  create_staff(tx, center=city, code="JC2", name="监察乙", phone="13911110002"),
                  create_staff(tx, center=city, code="JC3", name="监察丙"),
                  create_staff(tx, center=zb, code="ZB1", name="中心管理", phone="13911110004")]
        tx.session.flush()
        ids = [(p.id, p.code, p.center_id) for p in people]
    with Session(engine) as s:
        for staff_id, code, center_id in ids:
            role = Role.CENTER_ADMIN if code == "ZB1" else Role.SUPERVISOR
            create_account(s, username=code.lower(), password="demo", role=role, display_name=code,
                           now=timesource.now(), staff_id=staff_id, center_id=center_id)
        s.commit()


def flag_notices(engine) -> list:
    from esupervision.models.notices.notice import Notice
    with Session(engine) as s:
        return list(s.scalars(select(Notice).where(Notice.template.like("tender_red_flags%"))
                              .order_by(Notice.created_at, Notice.recipient)))


COLLUDING = [B("甲", "91A", 9_100_000, machine_code="MC-1", bond_account="6222-1"),
             B("乙", "91B", 9_350_000, machine_code="MC-1"), B("丙", "91C", 9_420_000, bond_account="6222-1"),
             B("丁", "91D", 9_610_000)]


def test_new_flags_reach_the_supervisors_by_sms_one_per_tender_and_pass(center, monkeypatch):
    supervisors_with_phones(center)
    events = tender_events("ZB-SMS", COLLUDING, until="open")
    run(center, *events[:-1])
    # The second bid raised the machine code, the third the bond account, but they name bidders:
    # nobody is told before the opening (法 22) …
    assert flag_notices(center) == []
    run(center, events[-1])
    sent = flag_notices(center)
    # … and at the opening both at once: one SMS each.
    both = "C40_ACCOUNT 投标保证金从同一账户转出（条例 40(5)）；C40_MACHINE 投标文件由同一台机器制作（条例 40(1)）"
    assert sorted((n.recipient, n.params["flags"]) for n in sent) == [("+8613911110001", both),
                                                                      ("+8613911110002", both)]
    assert all(n.params["tender"] == "ZB-SMS" and n.params["count"] == 2 and n.recipient_kind == "staff"
               and n.staff_id and n.status == "queued" and n.channel == "sms" for n in sent)
    assert "9100000" not in str([n.params for n in sent])   # sealed: no price in any message

    # The center admin is told too once the setting says so (their center's tenders only).
    monkeypatch.setattr(get_settings(), "redflag_notice_roles", ["supervisor", "center_admin"])
    run(center, *tender_events("ZB-SMS2", COLLUDING, until="open"))
    assert sorted({n.recipient for n in flag_notices(center) if n.params["tender"] == "ZB-SMS2"}) == [
        "+8613911110001", "+8613911110002", "+8613911110004"]


def test_a_bulk_recompute_merges_per_tender_or_sends_one_summary(center, monkeypatch):
    from sqlalchemy import delete

    from esupervision.models.notices.notice import Notice
    run(center, *tender_events("ZB-M1", COLLUDING, until="open"))
    run(center, *tender_events("ZB-M2", COLLUDING, until="open"))
    supervisors_with_phones(center)

    def recompute() -> list:
        with transaction(center) as tx:   # as if thresholds changed: every flag is new again
            tx.session.execute(delete(TenderRedFlag))
            tx.session.execute(delete(Notice))
        with transaction(center) as tx:
            refresh_all(tx)
        return flag_notices(center)

    per_tender = recompute()
    assert sorted((n.recipient, n.params["tender"], n.params["count"]) for n in per_tender) == [
        ("+8613911110001", "ZB-M1", 2), ("+8613911110001", "ZB-M2", 2),
        ("+8613911110002", "ZB-M1", 2), ("+8613911110002", "ZB-M2", 2)]
    monkeypatch.setattr(get_settings(), "redflag_notice_max_tenders", 1)
    summary = recompute()
    assert sorted((n.recipient, n.template, n.params["count"], n.params["tenders"]) for n in summary) == [
        ("+8613911110001", "tender_red_flags_summary", 4, 2), ("+8613911110002", "tender_red_flags_summary", 4, 2)]
