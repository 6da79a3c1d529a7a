"""Build real data through the same service functions users call (no hand-written rows)."""
from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlalchemy.engine import Engine

from esupervision.models.catalogue.catalogue import (CenterLevel, ItemKind, ItemSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff,
                                                     create_window)
from esupervision.models.cases.casework import Outcome, handle, ingest
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.ledger.transaction import transaction

_ids = count(1)


def build_city(engine: Engine) -> None:
    """One city center with two departments, a window, staff and three items."""
    with transaction(engine, actor="test") as tx:
        city = create_center(tx, code="C01", name="市行政服务中心", level=CenterLevel.CITY)
        create_center(tx, code="C01-X1", name="东县行政服务中心", level=CenterLevel.COUNTY, parent_code="C01")
        market = create_department(tx, center=city, code="SCJ", name="市场监督管理局")
        build = create_department(tx, center=city, code="ZJJ", name="住房和城乡建设局")
        window = create_window(tx, center=city, department=market, code="W01", name="1号窗口")
        create_staff(tx, center=city, code="S01", name="张敏", department=market, window=window)
        create_item(tx, center=city, spec=ItemSpec(
            code="SCJ-001", name="食品经营许可", department_code="SCJ", legal_days=20,
            committed_days=5, steps=[StepSpec("受理", 1), StepSpec("审查", 2), StepSpec("决定", 2)]))
        create_item(tx, center=city, spec=ItemSpec(
            code="ZJJ-JOINT", name="建设工程施工许可（并联）", department_code="ZJJ", legal_days=45,
            committed_days=15, joint=True, co_department_codes=["SCJ"],
            steps=[StepSpec("受理", 1), StepSpec("会审", 10, seq=2, department_code="ZJJ"),
                   StepSpec("会审", 10, seq=2, department_code="SCJ"), StepSpec("决定", 4, seq=3)]))
        create_item(tx, center=city, spec=ItemSpec(
            code="SCJ-SVC", name="企业信息查询", department_code="SCJ", legal_days=3,
            committed_days=1, kind=ItemKind.PUBLIC_SERVICE))


# A 补正 names every missing material and why (行政许可法 第三十二条): what a department sends
# unless a test says otherwise (an empty list or reason says so).
SUPPLEMENT = {"missing_materials": ["营业执照副本", "场所使用证明"], "reason": "申请材料不齐全"}


def event(number: str, action: CaseAction, at: datetime, **kw) -> ReportedEvent:
    attributes = kw.pop("attributes", {})
    if action is CaseAction.REQUEST_SUPPLEMENT:
        attributes = {**SUPPLEMENT, **attributes}
    return ReportedEvent(source_event_id=kw.pop("source_event_id", f"ev-{next(_ids)}"),
                         case_number=number, action=action, occurred_at=at, attributes=attributes, **kw)


def report(engine: Engine, *events: ReportedEvent, source: str = "dept:test") -> list[Outcome]:
    with transaction(engine, actor=source) as tx:
        return ingest(tx, list(events), source=source)


def apply(engine: Engine, ev: ReportedEvent, source: str = "dept:test") -> Outcome:
    """One event through ``handle``; a refusal raises DomainError and commits nothing."""
    with transaction(engine, actor=source) as tx:
        return handle(tx, ev, source=source)


def accept(engine: Engine, number: str, at: datetime, item: str = "SCJ-001", **kw) -> Outcome:
    return apply(engine, event(number, CaseAction.ACCEPT, at, center_code="C01", item_code=item,
                               window_code="W01", staff_code="S01", applicant_name="李华", **kw))
