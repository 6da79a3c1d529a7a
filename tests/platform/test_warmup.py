"""The start-up warm-up of ``esv serve`` (api/warmup.py): done before the first request, it
leaves the client's case-page document vetted for the front, writes nothing and changes no answer."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from esupervision.api.app import create_app
from esupervision.api.schema.cases.compiled import _VETTED, vetted_plan
from esupervision.migrate import table_metadata
from esupervision.models.cases.report import CaseAction
from esupervision_client.queries import CASES
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(table))
                for name, table in table_metadata().tables.items()}


def test_the_warm_up_vets_the_clients_page_and_changes_nothing(engine: Engine, fixed_time) -> None:  # noqa: ANN001
    build_city(engine)
    create_accounts(engine)
    fixed_time.set(T0 + timedelta(days=3))
    report(engine,
           event("W-1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", window_code="W01",
                 applicant_name="李华"),
           event("W-2", CaseAction.ACCEPT, T0, center_code="C01", item_code="ZJJ-JOINT", applicant_name="王强"),
           event("W-2", CaseAction.ADVANCE, T0 + timedelta(hours=1)))
    stock = GraphQLClient(engine)
    token = stock.login("supervisor")
    before = _rows(engine)

    app = create_app(engine, warm_up=True)
    front = app.state.compiled_pages
    for name in (None, "Cases"):   # as if no request had vetted it in this process yet
        _VETTED.pop((id(front.schema), CASES, name), None)
    with TestClient(app) as http:   # the lifespan's start-up: the warm-up, before any request
        assert vetted_plan(front.schema, CASES, None) is not None
        assert front.answered == 0   # warm-up reads are not counted as answered requests
        assert _rows(engine) == before
        for variables in ({"first": 50}, {"first": 1}, {"first": 50, "filter": {"lights": ["RED"]}}):
            warm = http.post("/graphql", json={"query": CASES, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"})
            assert warm.status_code == 200
            assert warm.json() == stock(CASES, variables, token=token)
            assert "errors" not in warm.json()
    assert front.answered == 3
