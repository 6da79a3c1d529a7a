"""Efficiency statistics over a year of 2,000,000 closed cases on PostgreSQL (issue 5: all
departments over a year ≤ 1 s, one department over a month ≤ 50 ms), against the same figures
computed by a plain SQL GROUP BY over the raw ledger events; the answers are checked equal.

    python bench/efficiency_statistics.py [--cases 2000000] [--keep]

The catalogue (one city center, 50 departments, 200 windows, 600 staff, 677 items) goes through
the service functions; the cases, their clocks and ~5 million ledger events are generated in
SQL (``generate_series``, server side), in time order. The daily rollup is then rebuilt from the
ledger by ``statistics_rollup.rebuild`` (what ``esv ledger replay`` runs), and timed too.
"""
from __future__ import annotations

import argparse

import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.common import command_line, create_schema, fresh_postgres, record  # noqa: E402
from esupervision.db import make_engine  # noqa: E402
from esupervision.models.supervision import rollup as statistics_rollup  # noqa: E402
from esupervision.models.clocks.calendar import calendar_for  # noqa: E402
from esupervision.models.catalogue.catalogue import (CenterLevel, Department, ItemSpec, create_center,  # noqa: E402
                                                     create_department, create_item, create_staff, create_window)
from esupervision.models.supervision.statistics import GroupBy, compute_statistics  # noqa: E402
from esupervision.models.ledger.transaction import transaction  # noqa: E402

DEPARTMENTS, WINDOWS_PER_DEPT, STAFF_PER_WINDOW, ITEMS = 50, 4, 3, 677
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
MONTH = (date(2025, 6, 1), date(2025, 6, 30))
FIGURES = ("received", "accepted", "handled", "completed", "on_time", "early", "overdue", "returned",
           "supplement_requests", "suspended_days", "average_handling_days", "p90_handling_days")


def seed_catalogue(engine: Any) -> uuid.UUID:
    with transaction(engine, actor="bench") as tx:
        city = create_center(tx, code="C01", name="市行政服务中心", level=CenterLevel.CITY)
        depts = [create_department(tx, center=city, code=f"D{d:02d}", name=f"部门{d:02d}") for d in range(DEPARTMENTS)]
        tx.session.flush()
        for d, dept in enumerate(depts):
            for w in range(WINDOWS_PER_DEPT):
                window = create_window(tx, center=city, department=dept, code=f"W{d:02d}{w}", name=f"{d}-{w}号窗口")
                tx.session.flush()
                for s in range(STAFF_PER_WINDOW):
                    create_staff(tx, center=city, code=f"S{d:02d}{w}{s}", name=f"工作人员{d:02d}{w}{s}",
                                 department=dept, window=window)
        tx.session.flush()
        for i in range(ITEMS):
            committed = 1 + i % 20
            create_item(tx, center=city, spec=ItemSpec(code=f"I{i:03d}", name=f"事项{i:03d}",
                                                       department_code=f"D{i % DEPARTMENTS:02d}",
                                                       legal_days=committed + 10, committed_days=committed))
        return city.id


def seed_calendar(engine: Any, center_id: uuid.UUID) -> None:
    """``bench_calendar(day, prefix)``: working days up to each day, from the center's calendar
    (the baseline needs it to count working days in SQL)."""
    with Session(engine) as s:
        calendar = calendar_for(s, center_id)
    start = date(2024, 12, 1)
    rows, prefix = [], 0
    for i in range(500):
        day = start + timedelta(days=i)
        prefix += calendar.is_working(day)
        rows.append({"day": day, "prefix": prefix, "working": calendar.is_working(day)})
    with engine.begin() as c:
        c.execute(text("CREATE TABLE bench_calendar (day date PRIMARY KEY, prefix int NOT NULL, working bool NOT NULL)"))
        c.execute(text("INSERT INTO bench_calendar VALUES (:day, :prefix, :working)"), rows)


def seed_cases(engine: Any, n: int) -> None:
    with engine.begin() as c:
        c.execute(text("""
            CREATE TEMP TABLE items AS
            SELECT row_number() OVER (ORDER BY i.code) - 1 AS k, i.id AS item_id, i.department_id,
                   i.center_id, i.committed_days,
                   (SELECT w.id FROM "window" w WHERE w.department_id = i.department_id ORDER BY w.code
                    OFFSET ((substr(i.code, 2)::int / 50) % 4) LIMIT 1) AS window_id
            FROM item i"""))
        c.execute(text("""
            CREATE TEMP TABLE staffs AS
            SELECT window_id, row_number() OVER (PARTITION BY window_id ORDER BY code) - 1 AS j, id AS staff_id
            FROM staff"""))
        c.execute(text("""
            CREATE TEMP TABLE gen AS
            SELECT g::bigint AS n, gen_random_uuid() AS case_id, gen_random_uuid() AS clock_id,
                   (g * 2654435761) % :items AS k,
                   g % 10 < 3 AS online,
                   g % 20 < 3 AS supplement,
                   CASE WHEN g % 20 < 3 THEN 1 + g % 3 ELSE 0 END AS paused_days,
                   CASE WHEN g % 50 < 46 THEN 'complete' WHEN g % 50 < 49 THEN 'reject' ELSE 'withdraw' END AS ending,
                   timestamp '2025-01-01 09:00' + ((g * 7919) % 335) * interval '1 day'
                     + (g % 420) * interval '1 minute' AS accept_local,
                   ((g * 31) % 25) AS span
            FROM generate_series(1::bigint, :n) AS g"""), {"n": n, "items": ITEMS})
        c.execute(text("""
            CREATE TEMP TABLE cases AS
            SELECT g.*, i.item_id, i.department_id, i.center_id, i.window_id, s.staff_id, i.committed_days,
                   g.accept_local + (g.span + g.paused_days) * interval '1 day' + interval '5 hours' AS end_local
            FROM gen g JOIN items i USING (k) JOIN staffs s ON s.window_id = i.window_id AND s.j = g.n % 3"""))
        c.execute(text("DROP TABLE gen"))
        c.execute(text("""
            INSERT INTO clock (id, center_id, subject_type, subject_id, department_id, window_id, basis,
                               limit_days, extended_days, paused_days, warn_min_days, warn_fraction, started_at,
                               state, pauses, fixed_due, due_at, yellow_at, red_at, provisional, finished_at,
                               outcome, outcome_days, announced_light)
            SELECT c.clock_id, c.center_id, 'case', c.case_id, c.department_id, c.window_id, 'working',
                   c.committed_days, 0, c.paused_days, 1, 0.2, c.accept_local AT TIME ZONE 'Asia/Shanghai',
                   CASE WHEN c.ending = 'withdraw' THEN 'cancelled' ELSE 'finished' END, '[]', false,
                   (d.day + interval '1 day' - interval '1 second') AT TIME ZONE 'Asia/Shanghai', NULL,
                   (d.day + interval '1 day') AT TIME ZONE 'Asia/Shanghai', false,
                   c.end_local AT TIME ZONE 'Asia/Shanghai',
                   CASE WHEN e.prefix > d.prefix THEN 'overdue'
                        WHEN d.prefix - e.prefix >= 1 THEN 'early' ELSE 'on_time' END,
                   abs(d.prefix - e.prefix), 'white'
            FROM cases c
            JOIN bench_calendar a ON a.day = c.accept_local::date
            JOIN bench_calendar e ON e.day = c.end_local::date
            -- the deadline: the Nth working day after acceptance
            JOIN bench_calendar d ON d.working AND d.prefix = a.prefix + c.committed_days + c.paused_days"""))
        c.execute(text("""
            INSERT INTO "case" (id, number, center_id, department_id, item_id, window_id, staff_id, channel, status,
                                result, submitted_at, accepted_at, completed_at, clock_id, extension_days,
                                first_event_at, last_event_at, deemed_accepted, reported_late, applicant_name)
            SELECT c.case_id, 'BN' || lpad(c.n::text, 8, '0'), c.center_id, c.department_id, c.item_id, c.window_id,
                   c.staff_id, CASE WHEN c.online THEN 'online' ELSE 'window' END,
                   CASE c.ending WHEN 'complete' THEN 'completed' WHEN 'reject' THEN 'rejected' ELSE 'withdrawn' END,
                   CASE WHEN c.ending = 'complete' THEN 'approved' END,
                   CASE WHEN c.online THEN (c.accept_local - interval '1 day') AT TIME ZONE 'Asia/Shanghai' END,
                   c.accept_local AT TIME ZONE 'Asia/Shanghai', c.end_local AT TIME ZONE 'Asia/Shanghai', c.clock_id, 0,
                   (c.accept_local - CASE WHEN c.online THEN interval '1 day' ELSE interval '0' END) AT TIME ZONE 'Asia/Shanghai',
                   c.end_local AT TIME ZONE 'Asia/Shanghai', false, false, '申请人' || (c.n % 9973)
            FROM cases c"""))
        # The raw events, in time order (ledger ids follow the instants, as they do live).
        c.execute(text("""
            INSERT INTO ledger_event (center_id, seq, kind, subject_type, subject_id, actor, source, occurred_at,
                                      recorded_at, late, data, changes, prev_hash, hash)
            SELECT center_id, (SELECT coalesce(max(seq), 0) FROM ledger_event) + row_number() OVER (ORDER BY at, kind), kind, 'case', case_id, 'bench', 'dept:bench',
                   at, at + interval '1 minute', false, '{}'::jsonb, '[]', '', ''
            FROM (
                SELECT center_id, case_id, 'case.submit' AS kind,
                       (accept_local - interval '1 day') AT TIME ZONE 'Asia/Shanghai' AS at FROM cases WHERE online
                UNION ALL
                SELECT center_id, case_id, 'case.accept', accept_local AT TIME ZONE 'Asia/Shanghai' FROM cases
                UNION ALL
                SELECT center_id, case_id, 'case.request_supplement',
                       (accept_local + interval '3 hours') AT TIME ZONE 'Asia/Shanghai' FROM cases WHERE supplement
                UNION ALL
                SELECT center_id, case_id, 'case.supplement_received',
                       (accept_local + interval '3 hours' + paused_days * interval '1 day') AT TIME ZONE 'Asia/Shanghai'
                FROM cases WHERE supplement
                UNION ALL
                SELECT center_id, case_id, 'case.' || ending, end_local AT TIME ZONE 'Asia/Shanghai' FROM cases
            ) AS events ORDER BY at, kind"""))
        c.execute(text("DROP TABLE cases"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in ("clock", '"case"', "ledger_event"):
            c.execute(text(f"VACUUM ANALYZE {table}"))


BASELINE = """
WITH ev AS (
    SELECT c.{group} AS key, e.kind, (e.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
           c.submitted_at, c.accepted_at, k.outcome, k.paused_days,
           CASE WHEN e.kind = 'case.complete' THEN greatest(0, ce.prefix - ca.prefix - k.paused_days) END AS handling
    FROM ledger_event e
    JOIN "case" c ON c.id = e.subject_id
    LEFT JOIN clock k ON k.id = c.clock_id AND e.kind = 'case.complete'
    LEFT JOIN bench_calendar ca ON e.kind = 'case.complete' AND ca.day = (c.accepted_at AT TIME ZONE 'Asia/Shanghai')::date
    LEFT JOIN bench_calendar ce ON e.kind = 'case.complete' AND ce.day = (e.occurred_at AT TIME ZONE 'Asia/Shanghai')::date
    WHERE e.subject_type = 'case' AND e.occurred_at < :end {where}
)
SELECT key,
  count(*) FILTER (WHERE day >= :from AND (kind = 'case.submit' OR (kind = 'case.accept' AND submitted_at IS NULL))),
  count(*) FILTER (WHERE day >= :from AND kind IN ('case.accept', 'case.deemed_accepted')),
  count(*) FILTER (WHERE kind IN ('case.accept', 'case.deemed_accepted'))
    - count(*) FILTER (WHERE day < :from AND kind IN ('case.complete', 'case.reject', 'case.withdraw')
                       AND accepted_at IS NOT NULL),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.complete'),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.complete' AND outcome IS DISTINCT FROM 'overdue'),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.complete' AND outcome = 'early'),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.complete' AND outcome = 'overdue'),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.reject'),
  count(*) FILTER (WHERE day >= :from AND kind = 'case.request_supplement'),
  coalesce(sum(paused_days) FILTER (WHERE day >= :from AND kind = 'case.complete'), 0),
  sum(handling) FILTER (WHERE day >= :from AND kind = 'case.complete'),
  count(handling) FILTER (WHERE day >= :from AND kind = 'case.complete'),
  percentile_disc(0.9) WITHIN GROUP (ORDER BY handling) FILTER (WHERE day >= :from AND kind = 'case.complete')
FROM ev GROUP BY key
"""


def baseline(session: Session, period: tuple[date, date], department_id: uuid.UUID | None = None) -> dict:
    end = period[1] + timedelta(days=1)
    where = "AND c.department_id = :dept" if department_id else ""
    params: dict[str, Any] = {"from": period[0], "end": f"{end.isoformat()} 00:00:00+08:00"}
    if department_id:
        params["dept"] = department_id
    out = {}
    for key, *values in session.execute(text(BASELINE.format(group="department_id", where=where)), params):
        *counts, handling_sum, handling_count, p90 = values
        row = dict(zip(FIGURES[:10], counts, strict=True))
        # The average rounded as ours is (Python's round of the same quotient).
        row["average_handling_days"] = round(int(handling_sum) / handling_count, 2) if handling_count else None
        row["p90_handling_days"] = p90
        if any(v for k, v in row.items()):
            out[str(key)] = row
    return out


def ours(session: Session, period: tuple[date, date], department_id: uuid.UUID | None = None) -> dict:
    table = compute_statistics(session, period_from=period[0], period_to=period[1], group_by=GroupBy.DEPARTMENT,
                               department_id=department_id)
    return {str(r.key_id): {k: getattr(r, k) for k in FIGURES} for r in table.rows}


def timed(fn: Any, runs: int) -> tuple[float, float, Any]:
    result = fn()   # warm
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    middle = len(samples) // 2
    median = samples[middle] if len(samples) % 2 else (samples[middle - 1] + samples[middle]) / 2
    return median, samples[-1], result


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    load_start = load()
    with fresh_postgres(keep=args.keep) as url:
        print("database", url, flush=True)
        engine = make_engine(url)
        create_schema(engine)
        center_id = seed_catalogue(engine)
        seed_calendar(engine, center_id)
        t0 = time.perf_counter()
        seed_cases(engine, args.cases)
        seed_s = time.perf_counter() - t0
        print(f"seeded in {seed_s:.0f} s", flush=True)
        t0 = time.perf_counter()
        with Session(engine) as s:
            day_rows = statistics_rollup.rebuild(s)
            s.commit()
        rebuild_s = time.perf_counter() - t0
        print(f"rollup rebuilt in {rebuild_s:.0f} s", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE statistics_day"))
            c.execute(text("VACUUM ANALYZE statistics_handling"))
            events = c.execute(text("SELECT count(*) FROM ledger_event WHERE subject_type = 'case'")).scalar()
            hist_rows = c.execute(text("SELECT count(*) FROM statistics_handling")).scalar()
            sizes = c.execute(text("SELECT pg_size_pretty(pg_total_relation_size('statistics_day')), "
                                   "pg_size_pretty(pg_total_relation_size('statistics_handling')), "
                                   "pg_size_pretty(pg_total_relation_size('ledger_event'))")).one()
        with Session(engine) as s:
            dept = s.scalars(select(Department).where(Department.code == "D07")).one().id
            year_ms, year_max, year = timed(lambda: ours(s, YEAR), runs=max(5, args.runs // 4))
            month_ms, month_max, month = timed(lambda: ours(s, MONTH, dept), runs=args.runs)
            month_window_ms, _, _ = timed(lambda: compute_statistics(
                s, period_from=MONTH[0], period_to=MONTH[1], group_by=GroupBy.WINDOW, department_id=dept), runs=args.runs)
            print(f"ours: year {year_ms:.0f} ms, month {month_ms:.1f} ms", flush=True)
            base_year_ms, _, base_year = timed(lambda: baseline(s, YEAR), runs=2)
            base_month_ms, _, base_month = timed(lambda: baseline(s, MONTH, dept), runs=3)
        engine.dispose()
    completed = sum(r["completed"] for r in year.values())
    differ_year = sorted(k for k in set(year) | set(base_year) if year.get(k) != base_year.get(k))
    differ_month = sorted(k for k in set(month) | set(base_month) if month.get(k) != base_month.get(k))
    record(f"Efficiency statistics over {args.cases:,} closed cases (PostgreSQL)", command_line(), [
        f"seeded in {seed_s:.0f} s: {args.cases:,} cases accepted over 2025 (92 % completed, 6 % returned, 2 % withdrawn; "
        f"30 % submitted online, 15 % with a supplement), {events:,} case events in the ledger; "
        f"{DEPARTMENTS} departments, {DEPARTMENTS * WINDOWS_PER_DEPT} windows, "
        f"{DEPARTMENTS * WINDOWS_PER_DEPT * STAFF_PER_WINDOW} staff, {ITEMS} items",
        f"daily rollup rebuilt from the ledger (`statistics_rollup.rebuild`) in {rebuild_s:.0f} s: {day_rows:,} day rows "
        f"({sizes[0]}), {hist_rows:,} handling-day histogram rows ({sizes[1]}); ledger {sizes[2]}",
        f"all {len(year)} departments over 2025 ({completed:,} completions; `compute_statistics`, group by department): "
        f"**median {year_ms:.0f} ms**, max {year_max:.0f} ms (target ≤ 1 s)",
        f"one department over June 2025: **median {month_ms:.1f} ms**, max {month_max:.1f} ms over {args.runs} runs "
        f"(target ≤ 50 ms); the same department by window: median {month_window_ms:.1f} ms",
        f"baseline, the same figures by a plain SQL GROUP BY over the raw ledger events (joined to cases, clocks "
        f"and a working-day table; percentile_disc for p90): year {base_year_ms:.0f} ms, month {base_month_ms:.0f} ms — "
        f"**ratio {base_year_ms / year_ms:.0f}× and {base_month_ms / month_ms:.0f}×**",
        f"answers compared figure by figure: year {len(year)} departments, {len(differ_year)} different; "
        f"month {len(month)} row(s), {len(differ_month)} different",
        f"1-min load average {load_start} at start, {load()} at end (2 cores shared with other work)",
    ])


if __name__ == "__main__":
    main()
