"""The start-up warm-up of ``esv serve`` (api/warmup.py): done before the first request, it
leaves the client's case-page document and those listed in ESV_WARM_DOCUMENTS vetted for the
front, writes nothing and changes no answer."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from esupervision.api.app import create_app
from esupervision.api.schema.cases.compiled import _VETTED, vetted_plan
from esupervision.migrate import table_metadata
from esupervision.models.cases.report import CaseAction
from esupervision.settings import get_settings
from esupervision_client.queries import CASES
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
# A screen's own page document, and one without a cursor (its page would hold cases: not read).
SCREEN = """query Screen($after: String) { cases(first: 20, after: $after) {
  edges { cursor node { number status light dueAt item { code name } window { code }
                        runningSteps { seq name clock { light dueAt } } } }
  pageInfo { hasNextPage endCursor } } }"""
NEWEST = "query Newest { cases(first: 5) { edges { node { number applicantName } } } }"


@pytest.fixture
def listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    paths = []
    for name, document in (("screen.graphql", SCREEN), ("newest.graphql", NEWEST)):
        (tmp_path / name).write_text(document, encoding="utf-8")
        paths.append(str(tmp_path / name))
    monkeypatch.setenv("ESV_WARM_DOCUMENTS", json.dumps(paths))
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("ESV_WARM_DOCUMENTS")
    get_settings.cache_clear()


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(table))
                for name, table in table_metadata().tables.items()}


def test_the_warm_up_vets_the_known_pages_and_changes_nothing(engine: Engine, fixed_time, listed) -> None:  # noqa: ANN001
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
    for query, name in ((CASES, "Cases"), (SCREEN, "Screen"), (NEWEST, "Newest")):
        for key in (None, name):   # as if no request had vetted them in this process yet
            _VETTED.pop((id(front.schema), query, key), None)
    with TestClient(app) as http:   # the lifespan's start-up: the warm-up, before any request
        assert vetted_plan(front.schema, CASES, None) is not None
        assert vetted_plan(front.schema, SCREEN, None) is not None
        assert vetted_plan(front.schema, NEWEST, None) is None
        assert front.answered == 0   # warm-up reads are not counted as answered requests
        assert _rows(engine) == before
        asked = [(CASES, {"first": 50}), (CASES, {"first": 1}), (CASES, {"first": 50, "filter": {"lights": ["RED"]}}),
                 (SCREEN, {}), (NEWEST, {})]
        for query, variables in asked:
            warm = http.post("/graphql", json={"query": query, "variables": variables},
                             headers={"Authorization": f"Bearer {token}"})
            assert warm.status_code == 200
            assert warm.json() == stock(query, variables, token=token)
            assert "errors" not in warm.json()
            assert warm.json()["data"]["cases"]["edges"] or "filter" in variables
    assert front.answered == 4   # the known pages, from the front; the newest cases through Strawberry
