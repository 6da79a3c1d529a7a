"""Red flags for 100,000 tenders with 1,000,000 bids on PostgreSQL (tender issue: ≤ 60 s in
bulk, ≤ 50 ms incrementally for one new bid or stage event), with the ratio against a plain SQL
formulation of the same indicators.

    python bench/redflags.py [--tenders 100000] [--bids 1000000]

The population is written straight into the tables (COPY) — a seed, not a replay of events; the
incremental part goes through the service (``handle_tender_event``) as the platform's reports do.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from esupervision.db import insert_rows, make_engine  # noqa: E402
from esupervision.models.base import new_id, record_class  # noqa: E402
from esupervision.models.catalogue.catalogue import CenterLevel, create_center, create_department  # noqa: E402
from esupervision.models.tenders.redflags import compute_all, get_redflag_settings, refresh_all  # noqa: E402
from esupervision.models.tenders.tender import Tender, TenderBid, TenderEvent, TenderLot, handle_tender_event  # noqa: E402
from esupervision.models.tenders.rules import TenderAction as A  # noqa: E402
from esupervision.models.ledger.transaction import transaction  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 15, tzinfo=SH)
TenderRow, LotRow, BidRow = record_class(Tender), record_class(TenderLot), record_class(TenderBid)


def seed(engine, tenders: int, bids: int, rng: random.Random) -> tuple[uuid.UUID, float]:
    """``tenders`` tenders of one lot each, ``bids`` bids spread over them; 80 % awarded, 60 %
    contracted; a few per thousand with each irregular pattern."""
    with transaction(engine, actor="bench", now=NOW - timedelta(days=400)) as tx:
        city = create_center(tx, code="B01", name="基准市", level=CenterLevel.CITY)
        zb = create_center(tx, code="B01-ZB", name="基准交易中心", level=CenterLevel.COUNTY, parent_code="B01")
        create_department(tx, center=zb, code="JYZX", name="交易中心")
        center_id = zb.id
    del city
    firms = [(f"基准建设{i:04d}有限公司", f"91B{i:015d}") for i in range(5000)]
    t0 = time.perf_counter()
    per = [bids // tenders + (1 if i < bids % tenders else 0) for i in range(tenders)]
    t_rows, l_rows, b_rows = [], [], []
    for i in range(tenders):
        published = NOW - timedelta(days=rng.randint(40, 360), minutes=rng.randint(0, 600))
        deadline = published + timedelta(days=rng.choice((21, 21, 25, 30)) if rng.random() > 0.003 else 12)
        estimate = float(rng.randrange(100, 5000) * 10_000)
        awarded, contracted = rng.random() < 0.8, rng.random() < 0.6
        tender = TenderRow(center_id=center_id, code=f"BZ-{i:06d}", title="基准工程", tenderer="基准招标人",
                           estimate=estimate, ceiling_price=round(estimate * 0.97, -3),
                           stage="contracted" if awarded and contracted else ("awarded" if awarded else "evaluation"),
                           published_at=published, sale_start=published, sale_end=published + timedelta(days=6),
                           documents_issued_at=published, bid_deadline=deadline, original_deadline=deadline,
                           opened_at=deadline, last_event_at=deadline, bid_count=per[i],
                           award_criteria="price_only" if rng.random() < 0.3 else "comprehensive", invited=[],
                           committee=[])
        lot = LotRow(tender_id=tender.id, code="01", name="基准工程", estimate=estimate,
                     ceiling_price=tender.ceiling_price, candidates=[])
        chosen = rng.sample(firms, per[i])
        base = estimate * rng.uniform(0.85, 0.96)
        prices = sorted(round(base * (1 + 0.03 * k + rng.uniform(0, 0.02)), -2) for k in range(per[i]))
        pattern = rng.random()
        if pattern < 0.002 and len(prices) > 2:
            prices[2] = prices[1]                                    # R028
        if 0.010 <= pattern < 0.012 and len(prices) > 1:
            prices[1] = round(prices[0] * 1.0005, -1)                # R024
        if 0.012 <= pattern < 0.014 and len(prices) > 1:
            prices[0] = round(prices[1] * 0.7, -2)                   # R058
        lot.bidder_set = "|".join(sorted(c for _, c in chosen))
        rows = []
        for k, ((name, code), price) in enumerate(zip(chosen, prices)):
            bid = BidRow(tender_id=tender.id, lot_id=lot.id, bidder=name, bidder_code=code, price=price, content={},
                         submitted_at=deadline - timedelta(days=1, minutes=k), recorded_at=deadline - timedelta(days=1),
                         status="valid" if awarded else "submitted", machine_code=f"M{code[-8:]}",
                         project_manager=f"PM{code[-6:]}", bond_amount=1000.0, bond_account=f"A{code[-8:]}")
            rows.append(bid)
        if 0.002 <= pattern < 0.004 and len(rows) > 1:
            rows[1].machine_code = rows[0].machine_code               # 条例 40
        if awarded and rows:
            winner = rows[0]
            if 0.004 <= pattern < 0.006 and len(rows) > 1:
                rows[0].status = "disqualified"                       # R036 where price-only
                winner = rows[1]
            lot.winner_bid_id, lot.winner_code, lot.award_value = winner.id, winner.bidder_code, winner.price
            lot.award_notice_at = deadline + timedelta(days=8)
            lot.candidates = [{"rank": 1, "bid_id": str(winner.id), "bidder_code": winner.bidder_code,
                               "bidder": winner.bidder}]
            if contracted:
                late = 0.006 <= pattern < 0.008
                lot.contract_signed_at = lot.award_notice_at + timedelta(days=40 if late else 12)
                lot.contract_value = winner.price + (5000.0 if 0.008 <= pattern < 0.010 else 0.0)
        t_rows.append(tender)
        l_rows.append(lot)
        b_rows.extend(rows)
    with Session(engine) as s:
        insert_rows(s, Tender.__table__, t_rows)  # type: ignore[attr-defined]
        insert_rows(s, TenderLot.__table__, l_rows)  # type: ignore[attr-defined]
        for start in range(0, len(b_rows), 200_000):
            insert_rows(s, TenderBid.__table__, b_rows[start:start + 200_000])  # type: ignore[attr-defined]
        s.commit()
        s.execute(text("ANALYZE"))
        s.commit()
    return center_id, time.perf_counter() - t0


# The same indicators as plain SQL, one statement each (counts of flagged lots / tenders).
PLAIN_SQL = {
    "R003": "SELECT count(*) FROM tender WHERE documents_issued_at IS NOT NULL AND "
            "(date(bid_deadline AT TIME ZONE 'Asia/Shanghai') - date(documents_issued_at AT TIME ZONE 'Asia/Shanghai')) < :r003",
    "R019": "SELECT count(*) FROM (SELECT b.lot_id FROM tender_bid b JOIN tender t ON t.id = b.tender_id "
            "WHERE t.opened_at IS NOT NULL AND b.status <> 'withdrawn' GROUP BY b.lot_id HAVING count(*) < :r019) x",
    "R028": "SELECT count(*) FROM (SELECT b.lot_id, round(b.price::numeric, 2) FROM tender_bid b JOIN tender t ON t.id = b.tender_id "
            "WHERE t.opened_at IS NOT NULL AND b.status <> 'withdrawn' GROUP BY 1, 2 HAVING count(DISTINCT b.bidder_code) > 1) x",
    "R023": "SELECT count(DISTINCT lot_id) FROM (SELECT lot_id, d, lag(d) OVER w2 AS pd FROM (SELECT lot_id, price, "
            "price - lag(price) OVER (PARTITION BY lot_id ORDER BY price) AS d FROM tender_bid WHERE status <> 'withdrawn') a "
            "WINDOW w2 AS (PARTITION BY lot_id ORDER BY price)) b WHERE d > 0 AND abs(d - pd) <= 0.0005 * d",
    "R018": "SELECT count(*) FROM (SELECT lot_id FROM tender_bid WHERE status IN ('valid', 'disqualified') "
            "GROUP BY lot_id HAVING count(*) FILTER (WHERE status = 'valid') = 1) x",
    "R036": "SELECT count(*) FROM (SELECT DISTINCT ON (b.lot_id) b.lot_id, b.status FROM tender_bid b JOIN tender t "
            "ON t.id = b.tender_id WHERE t.award_criteria = 'price_only' AND b.status IN ('valid', 'disqualified') "
            "ORDER BY b.lot_id, b.price, b.bidder_code) x WHERE status = 'disqualified'",
    "R035": "SELECT count(*) FROM (SELECT l.id FROM tender_lot l JOIN tender_bid b ON b.lot_id = l.id AND b.id <> l.winner_bid_id "
            "AND b.status <> 'withdrawn' WHERE l.winner_bid_id IS NOT NULL GROUP BY l.id "
            "HAVING bool_and(b.status = 'disqualified')) x",
    "R031": "SELECT count(*) FROM tender_lot WHERE winner_bid_id IS NOT NULL AND ceiling_price > 0 "
            "AND award_value >= :r031 * ceiling_price",
    "R030": "SELECT count(*) FROM tender_lot l JOIN tender_bid b ON b.id = l.winner_bid_id WHERE b.late_report",
    "R060": "SELECT count(*) FROM tender_lot WHERE contract_signed_at IS NOT NULL AND "
            "(date(contract_signed_at AT TIME ZONE 'Asia/Shanghai') - date(award_notice_at AT TIME ZONE 'Asia/Shanghai')) > :r060",
    "R059": "SELECT count(*) FROM tender_lot WHERE contract_signed_at IS NOT NULL AND abs(contract_value - award_value) > 0.005",
    "R024/R058": "WITH r AS (SELECT lot_id, id, price, row_number() OVER (PARTITION BY lot_id ORDER BY price, bidder_code) AS r "
                 "FROM tender_bid WHERE status = 'valid'), p AS (SELECT lot_id, max(id::text) FILTER (WHERE r = 1) AS first_id, "
                 "max(price) FILTER (WHERE r = 1) AS p1, max(price) FILTER (WHERE r = 2) AS p2 FROM r WHERE r <= 2 GROUP BY lot_id), "
                 "g AS (SELECT (p2 - p1) / p1 AS gap FROM p JOIN tender_lot l ON l.id = p.lot_id "
                 "AND l.winner_bid_id::text = p.first_id WHERE p2 IS NOT NULL AND p1 > 0), "
                 "f AS (SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY gap) q1, "
                 "percentile_cont(0.75) WITHIN GROUP (ORDER BY gap) q3 FROM g) "
                 "SELECT count(*) FROM g, f WHERE gap <= q1 - 1.5 * (q3 - q1) OR gap >= q3 + 1.5 * (q3 - q1)",
    "R057": "SELECT count(*) FROM (SELECT bidder_set FROM tender_lot WHERE winner_code IS NOT NULL AND bidder_set LIKE '%|%|%' "
            "GROUP BY bidder_set HAVING count(*) >= 3 AND count(DISTINCT winner_code) >= 3) x",
    "C40": "SELECT count(*) FROM (SELECT lot_id, machine_code FROM tender_bid WHERE machine_code IS NOT NULL AND status <> 'withdrawn' "
           "GROUP BY 1, 2 HAVING count(DISTINCT bidder_code) > 1 UNION ALL SELECT lot_id, bond_account FROM tender_bid "
           "WHERE bond_account IS NOT NULL AND status <> 'withdrawn' GROUP BY 1, 2 HAVING count(DISTINCT bidder_code) > 1 "
           "UNION ALL SELECT lot_id, project_manager FROM tender_bid WHERE project_manager IS NOT NULL AND status <> 'withdrawn' "
           "GROUP BY 1, 2 HAVING count(DISTINCT bidder_code) > 1) x",
}


def plain_sql(engine) -> tuple[float, dict[str, int]]:
    settings = get_redflag_settings()
    params = {"r003": settings.r003_min_days, "r019": settings.r019_min_bids, "r031": settings.r031_ratio,
              "r060": settings.r060_days}
    counts = {}
    t0 = time.perf_counter()
    with Session(engine) as s:
        for code, sql in PLAIN_SQL.items():
            counts[code] = s.execute(text(sql), {k: v for k, v in params.items() if f":{k}" in sql}).scalar_one()
    return time.perf_counter() - t0, counts


def incremental(engine, rng: random.Random) -> tuple[list[float], list[float]]:
    """Milliseconds per new bid and per award, through the service with the flags refreshed."""
    source = "bench"
    published = NOW - timedelta(days=30)
    deadline = NOW + timedelta(days=1)

    def apply(ev: TenderEvent, now: datetime) -> float:
        t0 = time.perf_counter()
        with transaction(engine, actor=source, now=now) as tx:
            handle_tender_event(tx, ev, source=source)
        return (time.perf_counter() - t0) * 1000

    attrs = {"center_code": "B01-ZB", "title": "增量工程", "tenderer": "基准招标人", "estimate": 10_000_000,
             "sale_end": (published + timedelta(days=6)).isoformat(), "bid_deadline": deadline.isoformat()}
    apply(TenderEvent("inc-p", "INC-1", A.PUBLISH, published, attrs), published + timedelta(minutes=1))
    bid_ms = []
    for k in range(40):
        at = published + timedelta(days=7, minutes=k)
        ev = TenderEvent(f"inc-b{k}", "INC-1", A.SUBMIT_BID, at, {
            "bidder": f"增量{k}", "bidder_code": f"91B{k:015d}", "price": 9_000_000 + 1000 * k * k,
            "bond_amount": 1000, "machine_code": f"MI{k}", "project_manager": f"PMI{k}", "bond_account": f"AI{k}"})
        bid_ms.append(apply(ev, at + timedelta(minutes=1)))
    award_ms = []
    committee = [{"name": f"专家{i}", "kind": "expert"} for i in range(5)]
    for n in range(20):
        code = f"INC-A{n}"
        p = NOW - timedelta(days=40)
        dl = p + timedelta(days=21)
        apply(TenderEvent(f"{code}-p", code, A.PUBLISH, p, {**attrs, "bid_deadline": dl.isoformat()}), p)
        for k in range(8):
            apply(TenderEvent(f"{code}-b{k}", code, A.SUBMIT_BID, p + timedelta(days=8, minutes=k), {
                "bidder": f"基准建设{k:04d}有限公司", "bidder_code": f"91B{k:015d}", "price": 9_000_000 + 37_000 * k + n,
                "bond_amount": 1000}), p + timedelta(days=8, minutes=k + 1))
        apply(TenderEvent(f"{code}-c", code, A.FORM_COMMITTEE, dl - timedelta(hours=1), {"members": committee}), dl)
        apply(TenderEvent(f"{code}-o", code, A.OPEN, dl, {}), dl + timedelta(minutes=1))
        apply(TenderEvent(f"{code}-r", code, A.REPORT_EVALUATION, dl + timedelta(days=1),
                          {"candidates": ["91B000000000000000", "91B000000000000001"]}), dl + timedelta(days=1))
        end = dl + timedelta(days=5)
        apply(TenderEvent(f"{code}-pc", code, A.PUBLISH_CANDIDATES, dl + timedelta(days=2),
                          {"publicity_end": end.isoformat()}), dl + timedelta(days=2))
        award_ms.append(apply(TenderEvent(f"{code}-a", code, A.AWARD, end, {"bidder_code": "91B000000000000000"}),
                              end + timedelta(minutes=1)))
    return bid_ms, award_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--bids", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(20261126)
    with fresh_postgres() as url:
        engine = make_engine(url)
        create_schema(engine)
        _, seed_s = seed(engine, args.tenders, args.bids, rng)
        print(f"seeded {args.tenders:,} tenders, {args.bids:,} bids in {seed_s:.1f} s", flush=True)
        t0 = time.perf_counter()
        with Session(engine) as s:
            results, fences = compute_all(s, at=NOW)
        compute_s = time.perf_counter() - t0
        ours = Counter(f.code for _, found in results.values() for f in found)
        t0 = time.perf_counter()
        with transaction(engine, actor="bench", now=NOW) as tx:
            standing = refresh_all(tx)
        bulk_s = time.perf_counter() - t0
        sql_s, sql_counts = plain_sql(engine)
        bid_ms, award_ms = incremental(engine, rng)
        engine.dispose()
    c40 = sum(v for k, v in ours.items() if k.startswith("C40"))
    lines = [
        f"population: {args.tenders:,} tenders (one lot each), {args.bids:,} bids, seeded by COPY in {seed_s:.1f} s",
        f"bulk, all indicators and the R024/R058 fences (`compute_all`: three reads, evaluation in Python): "
        f"{compute_s:.1f} s; with the flags written and each raised flag on the ledger (`refresh_all`): "
        f"{bulk_s:.1f} s (target ≤ 60 s)",
        f"flags standing: {dict(sorted(standing.items()))}",
        f"fences: R024 lower {fences['R024'].lower:.4f}, R058 upper {fences['R058'].upper:.4f} "
        f"(Q1 {fences['R024'].q1:.4f}, Q3 {fences['R024'].q3:.4f}, {fences['R024'].population:,} awarded lots)"
        if fences else "fences: none",
        f"plain SQL formulation (one statement per indicator, counts only, no evidence, no write): {sql_s:.1f} s; "
        f"counts {sql_counts} (ours: C40 {c40}) — ratio plain SQL / ours (compute) = {sql_s / compute_s:.2f}×",
        f"incremental, one new bid through `handle_tender_event` (load, checks, flags, ledger, commit): "
        f"median {statistics.median(bid_ms):.1f} ms, max {max(bid_ms):.1f} ms over {len(bid_ms)} (target ≤ 50 ms)",
        f"incremental, one award (adds the R057 rotation lookup over {args.tenders:,} lots by bidder group): "
        f"median {statistics.median(award_ms):.1f} ms, max {max(award_ms):.1f} ms over {len(award_ms)}",
    ]
    record("Red flags over 100,000 tenders and 1,000,000 bids (PostgreSQL)", command_line(), lines)


if __name__ == "__main__":
    main()
