"""Ledger ingest through the service function on PostgreSQL, against a plain bulk insert.

Target (core issue): ≥ 5,000 events/s through ``casework.ingest``. Baseline: the same number of
ledger rows written with one executemany, no hashing, no checks, no projection.

    python bench/ingest.py [--cases 2500] [--batch 500]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.base import new_id  # noqa: E402
from esupervision.models.casework import ingest  # noqa: E402
from esupervision.models.ledger import LedgerEvent  # noqa: E402
from esupervision.models.report import CaseAction, ReportedEvent  # noqa: E402
from esupervision.models.transaction import transaction  # noqa: E402
from tests.builders import build_city  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


def events_for(cases: int, start: datetime) -> list[ReportedEvent]:
    out: list[ReportedEvent] = []
    for n in range(cases):
        number, t = f"B{n:07d}", start + timedelta(seconds=n)
        out.append(ReportedEvent(f"{number}:0", number, CaseAction.ACCEPT, t, item_code="SCJ-001",
                                 center_code="C01", window_code="W01", applicant_name="王芳"))
        out.append(ReportedEvent(f"{number}:1", number, CaseAction.ADVANCE, t + timedelta(hours=1)))
        out.append(ReportedEvent(f"{number}:2", number, CaseAction.ADVANCE, t + timedelta(hours=2)))
        out.append(ReportedEvent(f"{number}:3", number, CaseAction.COMPLETE, t + timedelta(hours=3),
                                 attributes={"result": "approved"}))
    # Department systems report as things happen: interleave cases, keep each case in order.
    out.sort(key=lambda e: (e.occurred_at, e.source_event_id))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    start = datetime(2026, 11, 2, 9, tzinfo=SH)
    now = datetime(2026, 11, 26, 9, tzinfo=SH)
    events = events_for(args.cases, start)
    with fresh_postgres() as url:
        engine = make_engine(url)
        create_schema(engine)
        build_city(engine)
        t0 = time.perf_counter()
        refused = 0
        for i in range(0, len(events), args.batch):
            with transaction(engine, now=now, actor="bench") as tx:
                refused += sum(o.status != "accepted" for o in
                               ingest(tx, events[i:i + args.batch], source="dept:bench"))
        service_s = time.perf_counter() - t0
        rows = [{"center_id": new_id(), "seq": i + 1, "kind": "case.accept", "subject_type": "case",
                 "subject_id": new_id(), "occurred_at": e.occurred_at, "recorded_at": now,
                 "late": False, "data": {"number": e.case_number}, "changes": [], "prev_hash": "0",
                 "hash": str(i), "source": "plain", "source_event_id": e.source_event_id}
                for i, e in enumerate(events)]
        t0 = time.perf_counter()
        with engine.begin() as c:
            for i in range(0, len(rows), args.batch):
                c.execute(insert(LedgerEvent), rows[i:i + args.batch])
        plain_s = time.perf_counter() - t0
        engine.dispose()
    n = len(events)
    record("Ledger ingest through the service function (PostgreSQL)", command_line(), [
        f"{n} events ({args.cases} cases × accept, 2 advances, complete), batches of {args.batch}, refused {refused}",
        f"service function: {service_s:.2f} s = {n / service_s:,.0f} events/s (target ≥ 5,000)",
        f"plain bulk insert of the same ledger rows: {plain_s:.2f} s = {n / plain_s:,.0f} rows/s",
        f"ratio service / plain: {service_s / plain_s:.1f}× slower",
    ])


if __name__ == "__main__":
    main()
