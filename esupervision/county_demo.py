"""``esv demo --county CODE``: one county's standalone deployment, smaller than the city's demo.

Its own county center (the code given), two townships, three departments with windows and staff,
items, a few hundred cases over the last weeks reported as a department system reports them
(some finished, some running into yellow and red), its public resource trading center
(``CODE-ZB``) with the tender demo's tenders, the logins of its supervision office and center and
a department API key. The city's demo keeps its three counties (QH-LC, QH-YX, QH-BS)
inside; the standalone ones use codes the city does not have (QH-DP 东坪县, QH-FS 枫山县 by
default names), since the city refuses to replicate a county under a code it uses itself.
Every record goes through the service functions and lands in the county's own ledger.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.demo_local import Counter, person, report_cases
from esupervision.models.access.account import create_account
from esupervision.models.access.apikey import create_api_key
from esupervision.models.access.scope import Role
from esupervision.models.base import utc
from esupervision.models.catalogue.catalogue import (Center, CenterLevel, Department, ItemSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff, create_window)
from esupervision.models.ledger.transaction import transaction
from esupervision.workers.lights import announce_due

NAMES = {"QH-DP": ("东坪县", ("东坪镇", "柏树乡")), "QH-FS": ("枫山县", ("枫山镇", "青石乡"))}
DEPARTMENTS = (("SCJ", "市场监督管理局"), ("ZJJ", "住房和城乡建设局"), ("MZJ", "民政局"))
ITEMS = (("SCJ", "食品经营许可", 20, 5), ("SCJ", "个体工商户登记", 15, 3), ("ZJJ", "建筑工程施工许可", 20, 10),
         ("ZJJ", "房屋租赁登记备案", 10, 3), ("MZJ", "社会团体成立登记", 60, 20), ("MZJ", "婚姻登记档案查询", 5, 1))
DEMO_PASSWORD = "demo"


class CountyDemoNotEmpty(ValueError):
    """The county demo is built only in an empty database."""


def build_county_demo(engine: Engine, *, code: str, now: datetime, cases: int = 300, seed: int = 7) -> dict[str, object]:
    """Build county ``code``'s deployment into an empty database; returns counts and the
    department API key (printed by the CLI)."""
    now = utc(now)
    rng = random.Random(f"{seed}:{code}")
    county, townships = NAMES.get(code, (f"{code}县", ("城关镇",)))
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(Center)):
            raise CountyDemoNotEmpty("数据库中已有服务中心，县区演示只能建在空数据库中 the database is not empty")
    opened = now - timedelta(days=45)
    with transaction(engine, now=opened, actor="demo") as tx:
        center = create_center(tx, code=code, name=f"{county}行政服务中心", level=CenterLevel.COUNTY)
        for n, township in enumerate(townships, 1):
            create_center(tx, code=f"{code}-T{n}", name=f"{county}{township}便民服务中心",
                          level=CenterLevel.TOWNSHIP, parent_code=code)
        for n, (dept_code, dept_name) in enumerate(DEPARTMENTS, 1):
            dept = create_department(tx, center=center, code=dept_code, name=f"{county}{dept_name}")
            window = create_window(tx, center=center, department=dept, code=f"W{n:02d}", name=f"{n}号窗口")
            create_staff(tx, center=center, code=f"S{n:02d}", name=person(rng), department=dept, window=window,
                         phone=f"1390000{n:04d}")
            create_staff(tx, center=center, code=f"L{n:02d}", name=person(rng), department=dept, title="局长",
                         phone=f"1390001{n:04d}", is_leader=True)
        for n, (dept_code, name, legal, committed) in enumerate(ITEMS, 1):
            create_item(tx, center=center, spec=ItemSpec(
                code=f"{dept_code}-{n:03d}", name=name, department_code=dept_code, legal_days=legal,
                committed_days=committed, steps=[StepSpec("受理", 1), StepSpec("审查", max(1, committed - 1))]))
    counts = _cases(engine, rng, code, now, cases)
    with transaction(engine, now=now, actor="system:lights") as tx:
        while announce_due(tx, limit=500) == 500:
            pass
    from esupervision.tender_demo import build_tender_demo
    made = build_tender_demo(engine, now=now, seed=seed)   # its trading center (CODE-ZB) and its tenders
    key = _accounts(engine, code, now)
    return {"centers": 2 + len(townships), "departments": len(DEPARTMENTS), "items": len(ITEMS), **counts,
            "tenders": made.get("tenders", 0), "api_key": key}


def _cases(engine: Engine, rng: random.Random, code: str, now: datetime, cases: int) -> dict[str, int]:
    """Cases accepted over the last 30 days at the county's windows; about two thirds finished."""
    windows = {dept: f"W{n:02d}" for n, (dept, _) in enumerate(DEPARTMENTS, 1)}
    counters = [Counter(code, f"{dept}-{n:03d}", windows[dept], windows[dept].replace("W", "S"), committed)
                for n, (dept, _, _, committed) in enumerate(ITEMS, 1)]
    return report_cases(engine, rng, counters, now, cases, source=f"demo:{code}")


def _accounts(engine: Engine, code: str, now: datetime) -> str:
    """The county's supervision office, its center's admin, and its market department's system key."""
    with Session(engine) as session:
        center = session.scalars(select(Center).where(Center.code == code)).one()
        dept = session.scalars(select(Department).where(Department.center_id == center.id,
                                                        Department.code == "SCJ")).one()
        create_account(session, username="supervisor", password=DEMO_PASSWORD, role=Role.SUPERVISOR,
                       display_name=f"{center.name} 监察室", now=now)
        create_account(session, username="center", password=DEMO_PASSWORD, role=Role.CENTER_ADMIN,
                       display_name=f"{center.name} 管理员", now=now, center_id=center.id)
        _, key = create_api_key(session, department=dept, name=f"{dept.name} 业务系统", now=now)
        session.commit()
    return key
