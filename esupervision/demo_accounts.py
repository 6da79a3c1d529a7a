"""One login per role on the demo city (listed in the README): staff with password ``demo``, a
department system with a fixed API key, and an applicant who logs in with an SMS code (printed on
the server console until the notification gateway sends it)."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role
from esupervision.models.access.account import Account, applicant_account, create_account
from esupervision.models.access.apikey import create_api_key
from esupervision.models.cases.case import Case
from esupervision.models.cases.casework import ingest
from esupervision.models.catalogue.catalogue import Center, Department, Item, Window
from esupervision.models.cases.report import CaseAction, ReportedEvent
from esupervision.models.ledger.transaction import transaction

DEMO_PASSWORD = "demo"
# The staff logins the demo makes (all with DEMO_PASSWORD); production refuses to start while any
# of them still opens with it.
DEMO_LOGINS = ("supervisor", "center", "leader", "window")
# A fixed key, so the README can show a department system reporting events in the demo.
DEMO_API_KEY = "esv_demo_department_system_key"
# A fixed applicant (the demo's random applicants change with the build date), with two cases.
DEMO_APPLICANT_PHONE = "13800138000"
DEMO_APPLICANT_CASES = ("QH-DEMO-0001", "QH-DEMO-0002")
_ROLE_ORDER = [Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF, Role.APPLICANT]


def create_demo_accounts(engine: Engine) -> list[dict[str, str]]:
    """Create the demo logins (idempotent); returns what the CLI shows: username, role, scope."""
    with Session(engine) as s:
        if s.scalars(select(Account).where(Account.username == "supervisor")).first():
            return _listing(s)
        city = s.scalars(select(Center).where(Center.parent_id.is_(None), Center.level == "city")  # type: ignore[union-attr]
                         .order_by(Center.code)).first()
        if city is None:
            return []
        busiest = _busiest(s)
        dept = s.get(Department, busiest[0]) if busiest else s.scalars(
            select(Department).where(Department.center_id == city.id).order_by(Department.code)).first()
        window = s.get(Window, busiest[1]) if busiest else s.scalars(
            select(Window).where(Window.department_id == dept.id)).first()
        now = timesource.now()
        create_account(s, username="supervisor", password=DEMO_PASSWORD, role=Role.SUPERVISOR,
                       display_name="监察室 李监察", now=now)
        create_account(s, username="center", password=DEMO_PASSWORD, role=Role.CENTER_ADMIN,
                       display_name=f"{city.name} 管理员", now=now, center_id=city.id)
        create_account(s, username="leader", password=DEMO_PASSWORD, role=Role.DEPARTMENT_LEADER,
                       display_name=f"{dept.name} 局长", now=now, center_id=city.id, department_id=dept.id)
        if window is not None:
            create_account(s, username="window", password=DEMO_PASSWORD, role=Role.WINDOW_STAFF,
                           display_name=window.name, now=now, center_id=city.id, department_id=dept.id,
                           window_id=window.id)
        create_api_key(s, department=dept, name=f"{dept.name} 业务系统", now=now, key=DEMO_API_KEY)
        applicant_account(s, DEMO_APPLICANT_PHONE, now=now)
        item = s.scalars(select(Item).where(Item.department_id == dept.id).order_by(Item.code)).first()
        where = (city.code, item.code if item else None, window.code if window else None)
        s.commit()
    _applicant_cases(engine, *where)
    with Session(engine) as s:
        return _listing(s)


def _busiest(s: Session) -> tuple[uuid.UUID, uuid.UUID] | None:
    # The department and window with the most cases, so every login has something to see (ties
    # broken by id, so the demo's supervision story and the logins agree).
    row = s.execute(select(Case.department_id, Case.window_id).where(Case.window_id.is_not(None))  # type: ignore[union-attr]
                    .group_by(Case.department_id, Case.window_id)
                    .order_by(func.count().desc(), Case.department_id, Case.window_id)).first()
    return (row[0], row[1]) if row else None


def busiest_desk(engine: Engine) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The (department, window) the ``leader`` and ``window`` logins get: the busiest window."""
    with Session(engine) as s:
        return _busiest(s)


def _applicant_cases(engine: Engine, center_code: str, item_code: str | None, window_code: str | None) -> None:
    """The demo applicant's cases, through the same service as every report: one accepted at
    the window, one submitted online and not yet accepted."""
    if item_code is None:
        return
    opener = {"center_code": center_code, "item_code": item_code, "applicant_name": "陈晓明",
              "attributes": {"applicant_phone": DEMO_APPLICANT_PHONE}}
    at_window = {"window_code": window_code} if window_code else {}
    with transaction(engine, actor="demo") as tx:
        ingest(tx, [
            ReportedEvent(source_event_id="demo-applicant-1", case_number=DEMO_APPLICANT_CASES[0],
                          action=CaseAction.ACCEPT, occurred_at=tx.now, **opener, **at_window),
            ReportedEvent(source_event_id="demo-applicant-2", case_number=DEMO_APPLICANT_CASES[1],
                          action=CaseAction.SUBMIT, occurred_at=tx.now, channel="online", **opener),
        ], source="demo")


def _listing(s: Session) -> list[dict[str, str]]:
    rows = []
    accounts = s.scalars(select(Account).where(Account.role != Role.APPLICANT.value)).all()
    demo_applicant = s.scalars(select(Account).where(Account.phone == DEMO_APPLICANT_PHONE)).first()
    for account in sorted([*accounts, *([demo_applicant] if demo_applicant else [])],
                          key=lambda a: (_ROLE_ORDER.index(Role(a.role)), a.username)):
        if account.role == Role.APPLICANT:
            own = s.scalar(select(func.count()).select_from(Case).where(Case.applicant_phone == account.phone))
            rows.append({"username": account.phone or "", "role": account.role,
                         "scope": f"本人办件 {own} 件；短信验证码登录，验证码打印在服务器控制台 SMS code on the console"})
            continue
        scope = "全部 all"
        if account.window_id:
            scope = s.get(Window, account.window_id).name
        elif account.department_id:
            scope = s.get(Department, account.department_id).name
        elif account.center_id:
            scope = s.get(Center, account.center_id).name
        rows.append({"username": account.username, "role": account.role, "scope": scope})
    rows.append({"username": f"ApiKey {DEMO_API_KEY}", "role": Role.DEPARTMENT_SYSTEM.value,
                 "scope": "部门业务系统 department system"})
    return rows
