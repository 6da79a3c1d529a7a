"""One login per role on the demo city, all with password ``demo`` (listed in the README)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models import timesource
from esupervision.models.access import Role
from esupervision.models.account import Account, create_account
from esupervision.models.apikey import create_api_key
from esupervision.models.case import Case
from esupervision.models.catalogue import Center, Department, Window

DEMO_PASSWORD = "demo"
# A fixed key, so the README can show a department system reporting events in the demo.
DEMO_API_KEY = "esv_demo_department_system_key"


def create_demo_accounts(engine: Engine) -> list[dict[str, str]]:
    """Create the demo logins (idempotent); returns what the CLI shows: username, role, scope."""
    with Session(engine) as s:
        if s.scalars(select(Account).where(Account.username == "supervisor")).first():
            return _listing(s)
        city = s.scalars(select(Center).where(Center.parent_id.is_(None), Center.level == "city")  # type: ignore[union-attr]
                         .order_by(Center.code)).first()
        if city is None:
            return []
        # The department and window with the most cases, so every login has something to see.
        busiest = s.execute(select(Case.department_id, Case.window_id, func.count()).where(Case.window_id.is_not(None))  # type: ignore[union-attr]
                            .group_by(Case.department_id, Case.window_id).order_by(func.count().desc())).first()
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
        s.commit()
        return _listing(s)


def _listing(s: Session) -> list[dict[str, str]]:
    rows = []
    for account in s.scalars(select(Account).order_by(Account.created_at)):
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
