"""Seed a PostgreSQL database with N open cases for the read and scheduler benchmarks.

The catalogue goes through the service functions; the million cases and clocks are generated
in SQL (``generate_series``), since building them event by event would take the benchmark's
whole budget. Their instants follow the same rules: deadlines at local midnights, yellow one
to four working days before, spread over the weeks around ``now``.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from esupervision.models.catalogue.catalogue import (CenterLevel, ItemSpec, create_center, create_department,
                                                     create_item)
from esupervision.models.ledger.transaction import transaction

DEPARTMENTS = 45


def seed_catalogue(engine: Engine) -> None:
    with transaction(engine, actor="bench") as tx:
        city = create_center(tx, code="C01", name="市行政服务中心", level=CenterLevel.CITY)
        for d in range(DEPARTMENTS):
            create_department(tx, center=city, code=f"D{d:02d}", name=f"部门{d:02d}")
        tx.session.flush()
        for d in range(DEPARTMENTS):
            create_item(tx, center=city, spec=ItemSpec(code=f"I{d:02d}", name=f"事项{d:02d}",
                                                       department_code=f"D{d:02d}", legal_days=20,
                                                       committed_days=10))


def seed_cases(engine: Engine, n: int, now: datetime, spread_days: int = 30) -> None:
    """``n`` running cases with their case clocks, deadlines from ``now - spread`` to
    ``now + spread`` days; a third red, a sixth yellow, the rest white, roughly."""
    with engine.begin() as c:
        c.execute(text("""
            CREATE TEMP TABLE dept AS
            SELECT row_number() OVER (ORDER BY d.code) - 1 AS k, d.id AS department_id,
                   d.center_id, i.id AS item_id
            FROM department d JOIN item i ON i.department_id = d.id
        """))
        c.execute(text("""
            CREATE TEMP TABLE gen AS
            SELECT g::bigint AS n, gen_random_uuid() AS case_id, gen_random_uuid() AS clock_id,
                   (g % :depts) AS k,
                   date_trunc('day', (:now)::timestamptz AT TIME ZONE 'Asia/Shanghai')
                     + ((g::bigint * 7919) % (2 * :spread) - :spread + 1) * interval '1 day' AS red_local
            FROM generate_series(1, :n) AS g
        """), {"n": n, "now": now, "spread": spread_days, "depts": DEPARTMENTS})
        c.execute(text("""
            INSERT INTO clock (id, center_id, subject_type, subject_id, department_id, basis,
                               limit_days, extended_days, paused_days, warn_min_days, warn_fraction,
                               started_at, state, pauses, fixed_due, due_at, yellow_at, red_at,
                               provisional, announced_light, next_announce_at)
            SELECT g.clock_id, d.center_id, 'case', g.case_id, d.department_id, 'working',
                   10, 0, 0, 1, 0.2,
                   (g.red_local - interval '14 days') AT TIME ZONE 'Asia/Shanghai', 'running', '[]', false,
                   (g.red_local - interval '1 second') AT TIME ZONE 'Asia/Shanghai',
                   (g.red_local - (1 + g.n % 4) * interval '1 day') AT TIME ZONE 'Asia/Shanghai',
                   g.red_local AT TIME ZONE 'Asia/Shanghai', false,
                   CASE WHEN g.red_local AT TIME ZONE 'Asia/Shanghai' <= :now THEN 'red'
                        WHEN (g.red_local - (1 + g.n % 4) * interval '1 day') AT TIME ZONE 'Asia/Shanghai' <= :now
                        THEN 'yellow' ELSE 'white' END,
                   CASE WHEN g.red_local AT TIME ZONE 'Asia/Shanghai' <= :now THEN NULL
                        WHEN (g.red_local - (1 + g.n % 4) * interval '1 day') AT TIME ZONE 'Asia/Shanghai' <= :now
                        THEN g.red_local AT TIME ZONE 'Asia/Shanghai'
                        ELSE (g.red_local - (1 + g.n % 4) * interval '1 day') AT TIME ZONE 'Asia/Shanghai' END
            FROM gen g JOIN dept d USING (k)
        """), {"now": now})
        c.execute(text("""
            INSERT INTO "case" (id, number, center_id, department_id, item_id, channel, status,
                                accepted_at, clock_id, extension_days, first_event_at, last_event_at,
                                deemed_accepted, reported_late, applicant_name)
            SELECT g.case_id, 'BN' || lpad(g.n::text, 8, '0'), d.center_id, d.department_id, d.item_id,
                   'window', 'accepted', (g.red_local - interval '14 days') AT TIME ZONE 'Asia/Shanghai',
                   g.clock_id, 0,
                   (g.red_local - interval '14 days') AT TIME ZONE 'Asia/Shanghai',
                   (g.red_local - interval '14 days') AT TIME ZONE 'Asia/Shanghai', false, false,
                   '申请人' || (g.n % 9973)
            FROM gen g JOIN dept d USING (k)
        """))
    from sqlmodel import Session

    from esupervision.models.clocks import tally
    with Session(engine) as session:   # the tally is a projection of the clocks: rebuild it
        tally.rebuild(session)
        session.commit()
    # Index-only scans need the visibility map; statistics for the planner.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text('VACUUM ANALYZE clock'))
        c.execute(text('VACUUM ANALYZE "case"'))
        c.execute(text('VACUUM ANALYZE light_tally'))
