"""A page of cases costs a constant number of SQL statements, whatever its size: the DataLoaders
batch every item, department, window, clock and running step of the page into one query each."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from esupervision.models.report import CaseAction
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
GROUPS = 12     # of five cases each, so a page of 5 holds one of every kind and a page of 50 ten

PAGE = """query($first: Int) { cases(first: $first) {
  totalCount
  edges { cursor node {
    number status light dueAt acceptedAt
    item { code name committedDays } department { code name } window { code name }
    runningSteps { seq name status department { code } clock { light dueAt yellowAt redAt paused } }
  } }
  pageInfo { hasNextPage endCursor }
} }"""


def _group(g: int, at: datetime) -> list:
    """Five cases: at a window, a joint approval with two running steps, a public service,
    one paused for supplement, one completed (no running step, finished clock)."""
    n = f"G{g:02d}"
    events = [event(f"{n}-W", CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001",
                    window_code="W01", staff_code="S01", applicant_name="李华"),
              event(f"{n}-J", CaseAction.ACCEPT, at, center_code="C01", item_code="ZJJ-JOINT", applicant_name="王强"),
              event(f"{n}-J", CaseAction.ADVANCE, at + timedelta(hours=1)),
              event(f"{n}-S", CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-SVC", applicant_name="赵敏"),
              event(f"{n}-P", CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001", window_code="W01",
                    applicant_name="钱进"),
              event(f"{n}-P", CaseAction.REQUEST_SUPPLEMENT, at + timedelta(hours=2)),
              event(f"{n}-C", CaseAction.ACCEPT, at, center_code="C01", item_code="SCJ-001", applicant_name="孙丽"),
              event(f"{n}-C", CaseAction.COMPLETE, at + timedelta(hours=3), attributes={"result": "approved"})]
    return events


@pytest.fixture
def api(engine: Engine, fixed_time) -> GraphQLClient:  # noqa: ANN001
    build_city(engine)
    create_accounts(engine)
    fixed_time.set(T0 + timedelta(days=16))
    for g in range(GROUPS):
        # one group a day, so the page shows white, yellow and red lights
        report(engine, *_group(g, T0 + timedelta(days=g)))
    client = GraphQLClient(engine)
    client.login("supervisor")
    return client


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


def test_a_page_costs_the_same_statements_for_5_or_50_cases(api: GraphQLClient, engine: Engine) -> None:
    pages = {}
    for first in (5, 50):
        with counting(engine) as statements:
            page = api.data(PAGE, {"first": first})["cases"]
        pages[first] = (page, statements)
        assert len(page["edges"]) == first and page["totalCount"] == 5 * GROUPS

    small, large = pages[5][1], pages[50][1]
    assert len(small) == len(large), (small, large)
    # SQLite adds a BEGIN per session (each loader batch has its own); the queries themselves are
    # the page, its count, items, departments, windows, case clocks, running steps, step clocks.
    queries = [s for s in large if not s.startswith("BEGIN")]
    assert len(queries) <= 8, queries

    nodes = [e["node"] for e in pages[50][0]["edges"]]
    # The page really holds what the statements were counted for.
    assert {n["light"] for n in nodes} >= {"WHITE", "YELLOW", "RED"}
    assert any(n["window"] for n in nodes) and any(n["window"] is None for n in nodes)
    joint = [n for n in nodes if n["number"].endswith("-J")]
    assert joint and all(len(n["runningSteps"]) == 2 for n in joint)
    assert {s["department"]["code"] for s in joint[0]["runningSteps"]} == {"SCJ", "ZJJ"}
    assert all(s["clock"]["dueAt"] for n in nodes for s in n["runningSteps"])
    assert all(n["runningSteps"] == [] for n in nodes if n["number"].endswith("-C"))


def test_the_total_is_counted_only_when_asked_for(api: GraphQLClient, engine: Engine) -> None:
    without_total = PAGE.replace("  totalCount\n", "")
    with counting(engine) as counted:
        full = api.data(PAGE, {"first": 50})["cases"]
    with counting(engine) as uncounted:
        lean = api.data(without_total, {"first": 50})["cases"]
    assert lean == {k: v for k, v in full.items() if k != "totalCount"}
    assert [s for s in counted if "count(" in s] and not [s for s in uncounted if "count(" in s]
    assert len(uncounted) == len(counted) - 1
    # through a fragment, the total is still seen as asked for
    fragment = "fragment Total on CaseConnection { totalCount }\n" + PAGE.replace("  totalCount\n", "  ...Total\n")
    assert api.data(fragment, {"first": 50})["cases"]["totalCount"] == 5 * GROUPS
