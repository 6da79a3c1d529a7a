"""Counts by light for every department, and one department's red cases, over 1,000,000 open
cases on PostgreSQL (core issue: ≤ 50 ms and ≤ 10 ms), with the query plans.

    python bench/lights.py [--cases 1000000]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from bench.seed import seed_cases, seed_catalogue  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.catalogue.catalogue import Department  # noqa: E402
from esupervision.models.clocks.light import Light  # noqa: E402
from esupervision.models.clocks.lights_query import cases_by_light, light_counts, light_counts_by_scan  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")


def timed(fn, runs: int = 30) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


def explain(session: Session, statement) -> list[str]:  # noqa: ANN001
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    rows = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY OFF) {compiled}"))
    return [r[0] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    now = datetime(2026, 11, 26, 15, tzinfo=SH)
    with fresh_postgres() as url:
        engine = make_engine(url)
        create_schema(engine)
        seed_catalogue(engine)
        t0 = time.perf_counter()
        seed_cases(engine, args.cases, now)
        seed_s = time.perf_counter() - t0
        with Session(engine) as s:
            dept = s.scalars(select(Department).where(Department.code == "D07")).one()
            counts = light_counts(s, now=now)
            total = {k: sum(v[k] for v in counts.values()) for k in ("white", "yellow", "red")}
            all_med, all_max = timed(lambda: light_counts(s, now=now))
            page_med, page_max = timed(lambda: cases_by_light(s, light=Light.RED, now=now,
                                                              department_id=dept.id, limit=50))
            from esupervision.models.clocks.clock import Clock, ClockState, SubjectType
            from esupervision.models.clocks.lights_query import light_condition
            from sqlalchemy import func
            from esupervision.models.cases.case import Case
            from esupervision.models.clocks.tally import LightTally
            tally_sum = (select(LightTally.department_id, LightTally.kind, func.sum(LightTally.count))
                         .where(LightTally.subject_type == "case", LightTally.day < now.date())
                         .group_by(LightTally.department_id, LightTally.kind))
            today = (select(Clock.department_id, func.count())
                     .where(Clock.state == ClockState.RUNNING.value, Clock.subject_type == SubjectType.CASE.value,
                            Clock.department_id.in_([dept.id]),
                            Clock.red_at >= now.replace(hour=0), Clock.red_at <= now)
                     .group_by(Clock.department_id))
            page = (select(Case.number, Clock.red_at).select_from(Clock).join(Case, Case.id == Clock.subject_id)
                    .where(Clock.state == ClockState.RUNNING.value, Clock.subject_type == SubjectType.CASE.value,
                           light_condition(Light.RED, now), Clock.department_id == dept.id)
                    .order_by(Clock.red_at, Clock.id).limit(50))
            plan_counts = explain(s, tally_sum) + ["…today's part:"] + explain(s, today)
            plan_page = explain(s, page)
            scan_med, _ = timed(lambda: light_counts_by_scan(s, now=now), runs=5)
        engine.dispose()
    record(f"Lights over {args.cases:,} open cases (PostgreSQL)", command_line(), [
        f"seeded in {seed_s:.0f} s; at {now.isoformat()}: white {total['white']:,}, yellow {total['yellow']:,}, red {total['red']:,}",
        f"counts by light for all 45 departments (`light_counts`, from the light tally): median {all_med:.1f} ms, max {all_max:.1f} ms over 30 runs (target ≤ 50 ms)",
        f"the same counts by index-only scans of the clocks (`light_counts_by_scan`, the baseline): median {scan_med:.1f} ms — ratio {scan_med / all_med:.1f}×",
        f"one department's red cases, first page of 50 (`cases_by_light`): median {page_med:.2f} ms, max {page_max:.2f} ms (target ≤ 10 ms)",
        "plan, counts: " + " / ".join(line.strip() for line in plan_counts[:12]),
        "plan, red page: " + " / ".join(line.strip() for line in plan_page[:8]),
    ])


if __name__ == "__main__":
    main()
