"""A GraphQL test client over the real Starlette app (httpx in-process transport)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from esupervision.api.app import create_app
from esupervision.models.access.scope import Role
from esupervision.models.access.account import create_account
from esupervision.models.access.apikey import create_api_key
from esupervision.models.catalogue.catalogue import Center, Department, Window
from esupervision.models.clocks import timesource
from sqlalchemy import select


class GraphQLClient:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.http = TestClient(create_app(engine))
        self.token: str | None = None
        self.api_key: str | None = None

    def __call__(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
                 api_key: str | None = None) -> dict[str, Any]:
        headers = {}
        token = token or self.token
        api_key = api_key or self.api_key
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif api_key:
            headers["Authorization"] = f"ApiKey {api_key}"
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        body = self(query, variables, **kw)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def error_codes(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> list[str]:
        body = self(query, variables, **kw)
        assert body.get("errors"), body
        return [e["extensions"]["code"] for e in body["errors"]]

    def login(self, username: str, password: str = "demo") -> str:
        data = self.data("mutation($u: String!, $p: String!) { login(username: $u, password: $p) "
                         "{ accessToken refreshToken role } }", {"u": username, "p": password}, token="")
        self.token = data["login"]["accessToken"]
        return self.token

    def as_public(self) -> "GraphQLClient":
        self.token = self.api_key = None
        return self


def create_accounts(engine: Engine) -> dict[str, str]:
    """One account per staff role on tests.builders' city, all with password ``demo``, and an
    API key for the market department (SCJ); returns {"apikey": key}."""
    with Session(engine) as s:
        city = s.scalars(select(Center).where(Center.code == "C01")).one()
        scj = s.scalars(select(Department).where(Department.code == "SCJ")).one()
        zjj = s.scalars(select(Department).where(Department.code == "ZJJ")).one()
        window = s.scalars(select(Window).where(Window.code == "W01")).one()
        now = timesource.now()
        create_account(s, username="supervisor", password="demo", role=Role.SUPERVISOR, display_name="监察员", now=now)
        create_account(s, username="admin", password="demo", role=Role.CENTER_ADMIN, display_name="中心管理员",
                       now=now, center_id=city.id)
        create_account(s, username="scj-leader", password="demo", role=Role.DEPARTMENT_LEADER,
                       display_name="市场监管局长", now=now, center_id=city.id, department_id=scj.id)
        create_account(s, username="zjj-leader", password="demo", role=Role.DEPARTMENT_LEADER,
                       display_name="住建局长", now=now, center_id=city.id, department_id=zjj.id)
        create_account(s, username="w01", password="demo", role=Role.WINDOW_STAFF, display_name="1号窗口",
                       now=now, center_id=city.id, department_id=scj.id, window_id=window.id)
        _, key = create_api_key(s, department=scj, name="市场监管审批系统", now=now)
        _, zkey = create_api_key(s, department=zjj, name="住建审批系统", now=now)
        s.commit()
    return {"apikey": key, "zjj_apikey": zkey}
