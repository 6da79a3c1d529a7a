"""A page of cases costs a constant number of SQL statements, whatever its size: the DataLoaders
batch every item, department, window, clock and running step of the page into one query each."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from esupervision.models.cases.report import CaseAction
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


# ----------------------------------------------------------------------------- the compiled path

LEAVES = ["id", "number", "status", "statusLabel", "result", "reason", "channel", "applicantName", "submittedAt",
          "acceptedAt", "completedAt", "deemedAccepted", "reportedLate", "extensionDays", "extensionApprovedBy",
          "light", "dueAt", "overLegalLimit", "legalDueAt", "__typename"]
CLOCK = ("startedAt limitDays extendedDays pausedDays basis dueAt yellowAt redAt provisional light paused finished "
         "outcome outcomeDays finishedAt").split()
STEP = ["seq", "name", "status", "limitDays", "startedAt", "finishedAt", "department { id code name }",
        "clock { light dueAt paused }", "staff { code name }", "__typename"]
RELATIONS = {
    "item": "id code name kind legalDays committedDays extensionDays basis joint inCenter supervised warnMinDays "
            "warnFraction fee legalBasis".split(),
    "department": ["id", "code", "name"], "window": ["id", "code", "name"], "center": ["id", "code", "name", "level"],
    "staff": ["id", "code", "name", "title", "isLeader"], "clock": CLOCK, "legalClock": CLOCK,
    "runningSteps": STEP, "steps": STEP,
}


def _schemas():  # noqa: ANN202
    """The stock executor, and the same schema with the compiled path."""
    import copy

    from esupervision.api.schema import schema
    from esupervision.api.schema.cases.compiled import CompiledCasePages
    stock, compiled = copy.copy(schema), copy.copy(schema)
    stock.extensions = tuple(e for e in schema.extensions if e is not CompiledCasePages)
    compiled.extensions = (*stock.extensions, CompiledCasePages)
    return stock, compiled


class Answers:
    """Runs one query through both executors and says whether the compiled path answered."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        import esupervision.api.schema.cases.compiled as case_schema
        self.engine = engine
        self.stock, self.compiled = _schemas()
        self.compiled_answers = 0
        run = case_schema._run_compiled

        async def counted(*args):  # noqa: ANN002, ANN202
            data = await run(*args)
            self.compiled_answers += 1
            return data
        monkeypatch.setattr(case_schema, "_run_compiled", counted)

    def both(self, query: str, variables: dict | None = None, viewer=None, auth_error=None):  # noqa: ANN001, ANN201
        import asyncio

        from esupervision.api.context import Context
        from esupervision.models.access.scope import PUBLIC

        async def run(schema):  # noqa: ANN001, ANN202
            context = Context(engine=self.engine, viewer=viewer or PUBLIC, request_id="r1", auth_error=auth_error)
            result = await schema.execute(query, variable_values=variables, context_value=context)
            return result.data, [e.formatted for e in result.errors or []]
        before = self.compiled_answers
        stock, compiled = asyncio.run(run(self.stock)), asyncio.run(run(self.compiled))
        return stock, compiled, self.compiled_answers > before


@pytest.fixture
def viewers(api: GraphQLClient) -> dict:
    from esupervision.api.tokens import viewer_from_token
    from esupervision.models.clocks import timesource
    return {name: viewer_from_token(api.login(name), now=timesource.now())
            for name in ("supervisor", "w01", "zjj-leader", "scj-leader")}


def _node(fields: list[str]) -> str:
    return " ".join(fields)


@pytest.mark.parametrize("variables", [
    {"first": 5}, {"first": 50}, {"first": 0}, {"first": 7, "after": "AFTER"},
    {"filter": {"lights": ["RED", "PAUSED"]}}, {"filter": {"statuses": ["SUPPLEMENT", "COMPLETED"]}},
    {"filter": {"text": "G03"}}, {"filter": {"departmentIds": ["ZJJ"]}, "first": 3},
])
def test_the_compiled_path_answers_as_the_stock_executor(
        api, engine, viewers, monkeypatch, variables) -> None:  # noqa: ANN001
    answers = Answers(engine, monkeypatch)
    fields = " ".join(LEAVES) + " " + " ".join(f"{k} {{ {' '.join(v)} }}" for k, v in RELATIONS.items())
    query = f"""query($first: Int, $after: String, $filter: CaseFilter) {{
      cases(first: $first, after: $after, filter: $filter) {{
        __typename totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {fields} }} }} }} }}"""
    if variables.get("after") == "AFTER":
        first_page = api.data("{ cases(first: 10) { edges { cursor } } }", token=api.login("supervisor"))
        variables = {**variables, "after": first_page["cases"]["edges"][6]["cursor"]}
    if "filter" in variables and "departmentIds" in variables["filter"]:
        departments = api.data("{ departments { id code } }")["departments"]
        variables = {**variables, "filter": {"departmentIds": [d["id"] for d in departments if d["code"] == "ZJJ"]}}
    for name, viewer in viewers.items():
        stock, compiled, used = answers.both(query, variables, viewer)
        assert compiled == stock, name
        assert used and not stock[1], (name, stock[1])
        if name == "supervisor":
            assert stock[0]["cases"]["edges"] or variables.get("first") == 0


def test_the_compiled_path_takes_fragments_aliases_and_declines_what_it_does_not_know(
        api, engine, viewers, monkeypatch) -> None:  # noqa: ANN001
    answers = Answers(engine, monkeypatch)
    supervisor = viewers["supervisor"]
    with_fragments = """
      fragment Where on Case { department { code } d2: department { name } window { ...W } }
      fragment W on Window { code name }
      query Page { list: cases(first: 6) { edges { node { n: number ...Where ... on Case { light dueAt }
                                                          runningSteps { s: seq ... { name } } } } } }"""
    stock, compiled, used = answers.both(with_fragments, viewer=supervisor)
    assert compiled == stock and used and not stock[1]
    assert list(stock[0]["list"]["edges"][0]["node"]) == ["n", "department", "d2", "window", "light", "dueAt",
                                                          "runningSteps"]
    declined = [
        ("{ cases(first: 3) { edges { node { number history { kind } } } } }", {}, supervisor, None),
        ("{ cases(first: 3) { edges { node { number applicantPhone } } } }", {}, supervisor, None),
        ("{ cases(first: 3) { edges { node { department { center { code } } } } } }", {}, supervisor, None),
        ("{ cases(first: 3) { totalCount } overview { asOf } }", {}, supervisor, None),
        ("{ cases(first: 3) { edges { node { number @include(if: true) } } } }", {}, supervisor, None),
        ("{ cases(first: 5000) { totalCount } }", {}, supervisor, None),
        ('{ cases(after: "nope") { totalCount } }', {}, supervisor, None),
        ("{ cases { totalCount } }", {}, None, None),
        ("query($f: Int) { cases(first: $f) { totalCount } }", {"f": "x"}, supervisor, None),
    ]
    for query, variables, viewer, auth_error in declined:
        stock, compiled, used = answers.both(query, variables, viewer, auth_error)
        assert compiled == stock and not used, query
    from esupervision.models.errors import DomainError, ErrorCode
    expired = DomainError(ErrorCode.TOKEN_EXPIRED, "expired")
    stock, compiled, used = answers.both("{ cases { totalCount } }", {}, supervisor, expired)
    assert compiled == stock and not used and stock[1][0]["extensions"]["code"] == "TOKEN_EXPIRED"


def test_a_compiled_document_is_judged_by_its_variables_on_every_request(
        api, engine, viewers, monkeypatch) -> None:  # noqa: ANN001
    # GraphQL's own rules judge a known page document once; cost, NUL, depth and alias rules
    # still judge each request, and a document that fails validation is reported as ever.
    answers = Answers(engine, monkeypatch)
    supervisor = viewers["supervisor"]
    query = """query($first: Int, $filter: CaseFilter) {
      cases(first: $first, filter: $filter) { totalCount edges { node { number item { code } } } } }"""
    for variables, refused in [({"first": 5}, None), ({"first": 5000}, "PAGE_TOO_LARGE"),
                               ({"first": 5, "filter": {"text": "G\x000"}}, "BAD_INPUT"), ({"first": 3}, None)]:
        stock, compiled, used = answers.both(query, variables, supervisor)
        assert compiled == stock, variables
        if refused is None:
            assert used and not stock[1] and stock[0]["cases"]["edges"], variables
        else:
            assert not used and [e["extensions"]["code"] for e in stock[1]] == [refused], (variables, stock[1])
    # 14 aliased step lists of ~18 fields: about 250 a case, so $first decides the cost (≤ 20,000).
    costly = "query($first: Int) { cases(first: $first) { edges { node { " + " ".join(
        f"s{i}: steps {{ clock {{ light dueAt yellowAt redAt startedAt limitDays paused finished }} "
        f"department {{ id code name }} staff {{ id code name }} }}" for i in range(14)) + " } } } }"
    for first, refused in ((1, None), (100, "QUERY_TOO_COMPLEX"), (2, None)):
        stock, compiled, used = answers.both(costly, {"first": first}, supervisor)
        assert compiled == stock, first
        assert [e["extensions"]["code"] for e in stock[1]] == ([refused] if refused else []), (first, stock[1])
        assert used == (refused is None), first
    for invalid in ["{ cases(first: 3) { edges { node { number nope } } } }",
                    "query { cases(first: 2) { ...A } } fragment A on CaseConnection { totalCount ...A }",
                    "query($n: Int) { cases(first: 3) { totalCount } }"]:
        for _ in range(2):
            stock, compiled, used = answers.both(invalid, {}, supervisor)
            assert compiled == stock and stock[1] and not used, invalid


def test_the_compiled_path_costs_the_same_statements_for_5_or_50(api, engine, monkeypatch) -> None:  # noqa: ANN001
    import asyncio

    from esupervision.api.context import Context
    from esupervision.models.access.scope import Role, Viewer
    answers = Answers(engine, monkeypatch)
    counts = {}
    for first in (5, 50):
        with counting(engine) as statements:
            result = asyncio.run(answers.compiled.execute(
                PAGE, variable_values={"first": first},
                context_value=Context(engine=engine, viewer=Viewer(role=Role.SUPERVISOR, username="s"))))
        assert not result.errors and len(result.data["cases"]["edges"]) == first
        counts[first] = len([s for s in statements if not s.startswith("BEGIN")])
    # the page joined to its relations, the total, the steps joined to theirs
    assert counts[5] == counts[50] <= 3 and answers.compiled_answers == 2


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_selection_the_compiled_path_takes_answers_as_the_stock_executor(
        api, engine, viewers, monkeypatch, data) -> None:  # noqa: ANN001
    answers = getattr(api, "_answers", None) or Answers(engine, monkeypatch)
    api._answers = answers
    leaves = data.draw(st.lists(st.sampled_from(LEAVES), unique=True, max_size=6))
    relations = data.draw(st.lists(st.sampled_from(sorted(RELATIONS)), unique=True, max_size=4))
    parts = list(leaves)
    for relation in relations:
        chosen = data.draw(st.lists(st.sampled_from(RELATIONS[relation]), unique=True, min_size=1, max_size=5))
        alias = data.draw(st.sampled_from(["", f"my_{relation}: "]))
        parts.append(f"{alias}{relation} {{ {' '.join(chosen)} }}")
    if not parts:
        parts = ["number"]
    connection = data.draw(st.lists(st.sampled_from(["totalCount", "pageInfo { hasNextPage endCursor }",
                                                     "__typename"]), unique=True))
    first = data.draw(st.integers(min_value=0, max_value=60))
    viewer = data.draw(st.sampled_from(sorted(viewers)))
    query = (f"query($first: Int) {{ cases(first: $first) {{ {' '.join(connection)} "
             f"edges {{ cursor node {{ {' '.join(parts)} }} }} }} }}")
    stock, compiled, used = answers.both(query, {"first": first}, viewers[viewer])
    assert compiled == stock, query
    assert used and not stock[1], (query, stock[1])


# ----------------------------------------------------------------------------- the front (api.fastpath)

def _front(api: GraphQLClient):  # noqa: ANN202
    return api.http.app.state.compiled_pages


def test_known_pages_are_answered_before_strawberry_as_the_stock_executor_answers(
        api, engine, viewers, monkeypatch) -> None:  # noqa: ANN001
    # Once a document has been accepted in full by the stock pipeline, the front answers it over
    # HTTP without Strawberry; every answer must still be the stock executor's, for every role.
    answers = Answers(engine, monkeypatch)
    front = _front(api)
    fields = " ".join(LEAVES) + " " + " ".join(f"{k} {{ {' '.join(v)} }}" for k, v in RELATIONS.items())
    query = f"""query Screen($first: Int, $after: String, $filter: CaseFilter) {{
      cases(first: $first, after: $after, filter: $filter) {{
        __typename totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {fields} }} again: node {{ number light }} }} }} }}"""
    after = api.data("{ cases(first: 10) { edges { cursor } } }")["cases"]["edges"][4]["cursor"]
    callers = {name: ({"token": api.login(name)}, viewer) for name, viewer in viewers.items()}
    callers["admin"] = ({"token": api.login("admin")}, None)
    callers["system"] = _department_system(engine)
    callers["applicant"] = _applicant(engine, "李华")
    requests = 0
    for name, (credentials, viewer) in callers.items():
        viewer = viewer or _viewer_of(credentials["token"])
        for variables in ({"first": 5}, {"first": 50}, {"first": 7, "after": after},
                          {"filter": {"lights": ["RED", "PAUSED"]}}, {"first": 3, "filter": {"text": "G03"}}):
            api.as_public()                # only these credentials
            body = api(query, variables, **credentials)
            requests += 1
            (data, errors), _, _ = answers.both(query, variables, viewer)
            assert not errors and body == {"data": data}, (name, variables)
            if name == "applicant" and variables == {"first": 50}:
                assert data["cases"]["totalCount"] == GROUPS    # their own cases, no one else's
    assert front.answered >= requests - 1          # all but the first, which vetted the document
    api.login("supervisor")


def _viewer_of(token: str):  # noqa: ANN202
    from esupervision.api.tokens import viewer_from_token
    from esupervision.models.clocks import timesource
    return viewer_from_token(token, now=timesource.now())


def _department_system(engine: Engine):  # noqa: ANN202
    """A department system's key (SCJ) and the viewer it is."""
    import asyncio

    from sqlalchemy import select
    from sqlmodel import Session

    from esupervision.api.keys import viewer_for_api_key
    from esupervision.models.clocks import timesource
    from esupervision.models.access.apikey import create_api_key
    from esupervision.models.catalogue.catalogue import Department
    with Session(engine) as s:
        scj = s.scalars(select(Department).where(Department.code == "SCJ")).one()
        _, key = create_api_key(s, department=scj, name="前端测试系统", now=timesource.now())
        s.commit()
    return {"api_key": key}, asyncio.run(viewer_for_api_key(engine, key))


def _applicant(engine: Engine, name: str):  # noqa: ANN202
    """An applicant's token: the phone of the cases filed in ``name`` (given one here)."""
    from sqlalchemy import update
    from sqlmodel import Session

    from esupervision.api.tokens import issue_access_token
    from esupervision.models.clocks import timesource
    from esupervision.models.access.scope import Role, Viewer
    from esupervision.models.cases.case import Case
    phone = "13800001111"
    with Session(engine) as s:
        s.execute(update(Case).where(Case.applicant_name == name).values(applicant_phone=phone))
        s.commit()
    viewer = Viewer(role=Role.APPLICANT, applicant_phone=phone)
    return {"token": issue_access_token(viewer, now=timesource.now())}, viewer


def test_the_front_leaves_every_refusal_to_strawberry(api: GraphQLClient) -> None:
    front = _front(api)
    query = """query($first: Int, $filter: CaseFilter) {
      cases(first: $first, filter: $filter) { totalCount edges { node { number item { code } } } } }"""
    token = api.login("supervisor")
    first = api.data(query, {"first": 3})
    answered = front.answered
    assert api.data(query, {"first": 3}) == first and front.answered == answered + 1
    refused = [({"first": 5000}, token, "PAGE_TOO_LARGE"),
               ({"first": 3, "filter": {"text": "G\x000"}}, token, "BAD_INPUT"),
               ({"first": 3}, token[:-4] + "AAAA", "TOKEN_INVALID"),
               ({"first": 3}, None, "UNAUTHENTICATED")]
    for variables, bearer, code in refused:
        answered = front.answered
        body = api.as_public()(query, variables, token=bearer) if bearer is None else api(query, variables, token=bearer)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], (variables, body)
        assert front.answered == answered, variables
    api.login("supervisor")
    answered = front.answered
    assert "errors" in api(query, {"first": "x"})
    # a batch, a GET and a document with a second operation are Strawberry's too
    assert api.http.get("/graphql", params={"query": "{ cases(first: 1) { totalCount } }"},
                        headers={"Authorization": f"Bearer {api.token}"}).status_code in (200, 400, 405)
    both = query + " query Other { overview { asOf } }"
    assert "errors" in api(both, {"first": 3})
    assert front.answered == answered
    # a costly document at a cost the rule allows, then refused for its variables
    costly = "query($first: Int) { cases(first: $first) { edges { node { " + " ".join(
        f"s{i}: steps {{ clock {{ light dueAt yellowAt redAt startedAt limitDays paused finished }} "
        f"department {{ id code name }} staff {{ id code name }} }}" for i in range(14)) + " } } } }"
    api.data(costly, {"first": 1})
    api.data(costly, {"first": 1})
    answered = front.answered
    assert api.error_codes(costly, {"first": 100}) == ["QUERY_TOO_COMPLEX"] and front.answered == answered


@pytest.mark.postgres_only
def test_postgresql_writes_instants_as_the_schema_serializes_them(engine: Engine) -> None:
    # The SQL writer's instants must be datetime.isoformat() of the UTC value, microseconds
    # only when there are any, whatever the offset they were stored with.
    from datetime import timezone

    from sqlalchemy import literal, select

    from esupervision.api.schema.cases.compiled_sql import iso
    from esupervision.models.base import UTCDateTime
    instants = [datetime(2026, 11, 26, 9, 0, tzinfo=SH), datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=SH),
                datetime(2027, 1, 1, 0, 0, 0, 1, tzinfo=timezone.utc), datetime(1999, 3, 4, 5, 6, 7, 120000, tzinfo=SH)]
    with engine.connect() as connection:
        for instant in instants:
            values = select(literal(instant, UTCDateTime()).label("at")).subquery("v")
            written = connection.scalar(select(iso(values.c.at)))
            assert written == instant.astimezone(timezone.utc).isoformat(), instant
