"""The counties' and districts' own business in the city's demo, and the reporting both demos share.

The city's demo keeps its counties (临川县, 云溪县, 白石县) and districts inside its deployment: they
have their departments, windows and staff, and here also items of their own and cases at their
windows over the last weeks, so the city-wide screens and statistics show every center, not the
city center alone. ``esv demo --county`` reports its standalone county's cases with the same
``report_cases``.

Cases are reported as a department system reports them, one batch per day, each day's batch
recorded at the end of its last event (never late), and the light scheduler's pass run at each
day's end as it would have run then.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.base import utc
from esupervision.models.cases.casework import ingest
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.catalogue.catalogue import (Center, CenterLevel, Department, ItemSpec, Staff, StepSpec,
                                                     Window, create_item)
from esupervision.models.clocks.clock import LOCAL_TZ
from esupervision.models.ledger.transaction import transaction
from esupervision.workers.lights import announce_due

# What a county or district department handles: (name, legal working days, committed working days).
LOCAL_ITEMS = {
    "SCJ": (("食品经营许可", 20, 5), ("个体工商户设立登记", 15, 3)),
    "ZRJ": (("乡村建设规划许可", 20, 10), ("建设用地规划许可", 20, 7)),
    "ZJJ": (("建筑工程施工许可", 15, 7), ("商品房预售许可", 20, 10)),
    "RSJ": (("劳务派遣经营许可", 20, 10), ("人力资源服务许可", 20, 8)),
    "MZJ": (("社会团体成立登记", 60, 20), ("民办非企业单位成立登记", 60, 20)),
    "SWU": (("增值税专用发票最高开票限额审批", 20, 5), ("发票领用核定", 5, 1)),
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
DONE_SHARE = 0.65          # about two thirds of the cases are finished


@dataclass(frozen=True)
class Counter:
    """An item as a window takes it: where a case of it is accepted, and by whom."""

    center_code: str
    item_code: str
    window_code: str
    staff_code: str
    committed_days: int


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def report_cases(engine: Engine, rng: random.Random, counters: Sequence[Counter], now: datetime, cases: int,
                 *, source: str) -> dict[str, int]:
    """``cases`` cases accepted over the last 30 days at ``counters``, about two thirds finished
    (some late); numbered ``<center>-<day>-<n>``. Returns cases, events accepted and refused."""
    events: list[tuple[datetime, ReportedEvent]] = []
    for n in range(1, cases + 1):
        counter = counters[rng.randrange(len(counters))]
        day = (now - timedelta(days=rng.randint(1, 30))).astimezone(LOCAL_TZ).date()
        accepted = utc(datetime.combine(day, time(9, 0), LOCAL_TZ) + timedelta(minutes=rng.randint(0, 420)))
        if accepted >= now:
            continue
        number = f"{counter.center_code}-{day:%Y%m%d}-{n:04d}"
        events.append((accepted, ReportedEvent(
            source_event_id=f"{number}-accept", case_number=number, action=CaseAction.ACCEPT, occurred_at=accepted,
            item_code=counter.item_code, center_code=counter.center_code, window_code=counter.window_code,
            staff_code=counter.staff_code, applicant_name=person(rng))))
        if rng.random() < DONE_SHARE:
            done = accepted + timedelta(days=rng.uniform(0.2, counter.committed_days * 1.6 + 1))
            if done < now:
                events.append((done, ReportedEvent(
                    source_event_id=f"{number}-complete", case_number=number, action=CaseAction.COMPLETE,
                    occurred_at=done, attributes={"result": "approved"})))
    events.sort(key=lambda e: e[0])
    by_day: dict[date, list[ReportedEvent]] = defaultdict(list)
    for at, event in events:
        by_day[at.astimezone(LOCAL_TZ).date()].append(event)
    accepted_events = refused = 0
    for day in sorted(by_day):
        batch = by_day[day]
        at = max(e.occurred_at for e in batch) + timedelta(minutes=1)
        with transaction(engine, now=min(at, now), actor="demo") as tx:
            for outcome in ingest(tx, batch, source=source):
                if outcome.status == "refused":
                    refused += 1
                else:
                    accepted_events += 1
        end = utc(datetime.combine(day, time(23, 59), LOCAL_TZ))
        if end < now:
            with transaction(engine, now=end, actor="system:lights") as tx:
                while announce_due(tx, limit=500) == 500:
                    pass
    return {"cases": len({e.case_number for _, e in events}), "events": accepted_events, "refused": refused}


def build_local_business(engine: Engine, *, opened_at: datetime, now: datetime, cases_per_center: int,
                         seed: int) -> dict[str, int]:
    """Items for every county and district department of the city's demo (created at
    ``opened_at``) and ``cases_per_center`` cases at each such center's windows."""
    rng = random.Random(f"{seed}:local")
    counters: dict[str, list[Counter]] = defaultdict(list)
    items = 0
    with transaction(engine, now=opened_at, actor="demo") as tx:
        centers = tx.session.scalars(select(Center).where(
            Center.level.in_([CenterLevel.COUNTY.value, CenterLevel.DISTRICT.value])).order_by(Center.code)).all()
        for center in centers:
            departments = tx.session.scalars(select(Department).where(Department.center_id == center.id)
                                             .order_by(Department.code)).all()
            for dept in departments:
                desk = _desk(tx.session, dept)
                if desk is None:
                    continue
                window_code, staff_code = desk
                for n, (name, legal, committed) in enumerate(LOCAL_ITEMS.get(dept.code, ()), 1):
                    code = f"{dept.code}-{n:03d}"
                    create_item(tx, center=center, spec=ItemSpec(
                        code=code, name=name, department_code=dept.code, legal_days=legal,
                        committed_days=committed,
                        steps=[StepSpec("受理", 1), StepSpec("审查", max(1, committed - 1))]))
                    items += 1
                    counters[center.code].append(Counter(center.code, code, window_code, staff_code, committed))
    made = defaultdict(int, {"local_items": items})
    for code, at_center in counters.items():
        done = report_cases(engine, rng, at_center, now, cases_per_center, source=f"demo:{code}")
        made["local_cases"] += done["cases"]
        made["local_events"] += done["events"]
        made["local_refused"] += done["refused"]
    with transaction(engine, now=now, actor="system:lights") as tx:   # what is due now, as the city's
        while announce_due(tx, limit=500) == 500:
            pass
    return dict(made)


def _desk(session: Session, dept: Department) -> tuple[str, str] | None:
    """The department's first window and the first person at it."""
    row = session.execute(
        select(Window.code, Staff.code).join(Staff, Staff.window_id == Window.id)
        .where(Window.department_id == dept.id).order_by(Window.code, Staff.code)).first()
    return (row[0], row[1]) if row else None
