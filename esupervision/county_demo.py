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
from collections import defaultdict
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.access.account import create_account
from esupervision.models.access.apikey import create_api_key
from esupervision.models.access.scope import Role
from esupervision.models.base import utc
from esupervision.models.cases.casework import ingest
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.catalogue.catalogue import (Center, CenterLevel, Department, ItemSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff, create_window)
from esupervision.models.clocks.clock import LOCAL_TZ
from esupervision.models.ledger.transaction import transaction
from esupervision.workers.lights import announce_due

NAMES = {"QH-DP": ("东坪县", ("东坪镇", "柏树乡")), "QH-FS": ("枫山县", ("枫山镇", "青石乡"))}
DEPARTMENTS = (("SCJ", "市场监督管理局"), ("ZJJ", "住房和城乡建设局"), ("MZJ", "民政局"))
ITEMS = (("SCJ", "食品经营许可", 20, 5), ("SCJ", "个体工商户登记", 15, 3), ("ZJJ", "建筑工程施工许可", 20, 10),
         ("ZJJ", "房屋租赁登记备案", 10, 3), ("MZJ", "社会团体成立登记", 60, 20), ("MZJ", "婚姻登记档案查询", 5, 1))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
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
            create_staff(tx, center=center, code=f"S{n:02d}", name=_person(rng), department=dept, window=window,
                         phone=f"1390000{n:04d}")
            create_staff(tx, center=center, code=f"L{n:02d}", name=_person(rng), department=dept, title="局长",
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


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _cases(engine: Engine, rng: random.Random, code: str, now: datetime, cases: int) -> dict[str, int]:
    """Cases accepted over the last 30 days at the county's windows; about two thirds finished."""
    events: list[tuple[datetime, ReportedEvent]] = []
    for n in range(1, cases + 1):
        item = rng.randrange(len(ITEMS))
        dept_code, _, _, committed = ITEMS[item]
        day = (now - timedelta(days=rng.randint(1, 30))).astimezone(LOCAL_TZ).date()
        accepted = utc(datetime.combine(day, time(9, 0), LOCAL_TZ) + timedelta(minutes=rng.randint(0, 420)))
        if accepted >= now:
            continue
        number = f"{code}-{day:%Y%m%d}-{n:04d}"
        window = f"W{[d for d, _ in DEPARTMENTS].index(dept_code) + 1:02d}"
        events.append((accepted, ReportedEvent(
            source_event_id=f"{number}-accept", case_number=number, action=CaseAction.ACCEPT, occurred_at=accepted,
            item_code=f"{dept_code}-{item + 1:03d}", center_code=code, window_code=window,
            staff_code=window.replace("W", "S"), applicant_name=_person(rng))))
        if rng.random() < 0.65:
            done = accepted + timedelta(days=rng.uniform(0.2, committed * 1.6 + 1))
            if done < now:
                events.append((done, ReportedEvent(
                    source_event_id=f"{number}-complete", case_number=number, action=CaseAction.COMPLETE,
                    occurred_at=done, attributes={"result": "approved"})))
    events.sort(key=lambda e: e[0])
    by_day: dict[object, list[ReportedEvent]] = defaultdict(list)
    for at, event in events:
        by_day[at.astimezone(LOCAL_TZ).date()].append(event)
    accepted = refused = 0
    for day in sorted(by_day):   # type: ignore[type-var]
        batch = by_day[day]
        at = max(e.occurred_at for e in batch) + timedelta(minutes=1)
        with transaction(engine, now=min(at, now), actor="demo") as tx:
            for outcome in ingest(tx, batch, source=f"demo:{code}"):
                if outcome.status == "refused":
                    refused += 1
                else:
                    accepted += 1
        # The light scheduler's pass at the end of that day, as it would have run then.
        end = utc(datetime.combine(day, time(23, 59), LOCAL_TZ))   # type: ignore[arg-type]
        if end < now:
            with transaction(engine, now=end, actor="system:lights") as tx:
                while announce_due(tx, limit=500) == 500:
                    pass
    return {"cases": len({e.case_number for _, e in events}), "events": accepted, "refused": refused}


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
