"""statistics, coverage and reportingCoverage through GraphQL, scoped by role; the Excel export
through its signed link holds the same numbers."""
from __future__ import annotations

import io
import uuid
import re
import zipfile
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import Center, Department, Item, Window
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.supervision.statistics import GroupBy, compute_statistics, row_values
from tests.gql import GraphQLClient, create_accounts
from tests.supervision.test_statistics import build_history

FIGURES = ("keyId keyCode keyName received accepted handled completed onTime early overdue overLegalLimit errors "
           "returned supplementRequests suspendedDays averageHandlingDays p90HandlingDays onTimeRate earlyRate urges "
           "urgesAnsweredOnTime orders ordersAnsweredOnTime complaints evaluations evaluationScore")
QUERY = f"""query($from: Date!, $to: Date!, $groupBy: StatisticsGroupBy!, $departmentId: ID, $staffId: ID) {{
  statistics(from: $from, to: $to, groupBy: $groupBy, departmentId: $departmentId, staffId: $staffId) {{
    from to groupBy excelUrl rows {{ {FIGURES} }} totals {{ {FIGURES} }} }} }}"""
PERIOD = {"from": "2026-09-01", "to": "2026-12-31"}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def expected_rows(engine, group: GroupBy, **filters) -> tuple[list[dict], dict]:  # noqa: ANN001
    with Session(engine) as s:
        table = compute_statistics(s, period_from=date(2026, 9, 1), period_to=date(2026, 12, 31),
                                   group_by=group, **filters)

    def shaped(row) -> dict:  # noqa: ANN001
        values = {camel(k): v for k, v in row_values(row).items()}
        values["keyId"] = str(values["keyId"]) if values["keyId"] else None
        return values

    return [shaped(r) for r in table.rows], shaped(table.totals)


@pytest.fixture
def api(engine):
    build_history(engine, cases=40, seed=11)
    create_accounts(engine)
    return GraphQLClient(engine)


def read_xlsx(body: bytes) -> tuple[list[str], list[list[str]]]:
    """Sheet names and the first sheet's cells as text, row by row (no spreadsheet library)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        strings = [si.findtext("m:t", namespaces=ns) or "" for si in
                   ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        names = [s.get("name") for s in ElementTree.fromstring(book.read("xl/workbook.xml")).iter(
            "{%s}sheet" % ns["m"])]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter("{%s}row" % ns["m"]):
        while len(rows) < int(row.get("r")) - 1:
            rows.append([])
        cells = []
        for c in row.findall("m:c", ns):
            col = re.match(r"[A-Z]+", c.get("r")).group(0)
            index = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(col))) - 1
            while len(cells) < index:
                cells.append("")
            value = c.findtext("m:v", namespaces=ns) or ""
            cells.append(strings[int(value)] if c.get("t") == "s" else value)
        rows.append(cells)
    return names, rows


def test_supervision_sees_every_group_and_the_excel_holds_the_same_numbers(api, engine):
    api.login("supervisor")
    for group in GroupBy:
        data = api.data(QUERY, {**PERIOD, "groupBy": group.name})["statistics"]
        rows, totals = expected_rows(engine, group)
        assert data["rows"] == rows and data["totals"] == totals
        assert data["groupBy"] == group.name and data["from"] == PERIOD["from"]
    assert totals["received"] == 40 and totals["completed"] > 10
    data = api.data(QUERY, {**PERIOD, "groupBy": "DEPARTMENT"})["statistics"]
    response = api.http.get(data["excelUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    names, cells = read_xlsx(response.content)
    assert names == ["效能统计", "图表"]
    header = cells[3]
    assert header[:6] == ["部门", "编码", "接件", "受理", "办件", "结件"] and "按时办结率" in header
    body = cells[4:]
    assert [r[0] for r in body] == [r["keyName"] for r in data["rows"]] + ["合计"]
    for shown, row in zip(body, [*data["rows"], data["totals"]], strict=True):
        for label, name in (("接件", "received"), ("结件", "completed"), ("超期办结", "overdue"),
                            ("超法定时限", "overLegalLimit"),
                            ("按时办结", "onTime"), ("90%办理工作日", "p90HandlingDays")):
            value = shown[header.index(label)]
            assert (float(value) if value else None) == row[name], (label, row["keyName"])
        rate = shown[header.index("按时办结率")]
        assert (float(rate) if rate else None) == row["onTimeRate"]
    # A link whose filters were changed, or expired, opens nothing.
    parts = urlsplit(data["excelUrl"])
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert api.http.get(f"{parts.path}?{urlencode({**params, 'groupBy': 'staff'})}").status_code == 403
    assert api.http.get(f"{parts.path}?{urlencode({**params, 'exp': '1'})}").status_code == 403


def test_each_role_sees_its_own_scope(api, engine):
    with Session(engine) as s:
        depts = {d.code: str(d.id) for d in s.scalars(select(Department))}
        w01 = str(s.scalars(select(Window).where(Window.code == "W01")).one().id)
    api.login("scj-leader")
    data = api.data(QUERY, {**PERIOD, "groupBy": "DEPARTMENT"})["statistics"]
    assert [r["keyCode"] for r in data["rows"]] == ["SCJ"]
    assert data["totals"] == expected_rows(engine, GroupBy.DEPARTMENT, department_id=uuid.UUID(depts["SCJ"]))[1]
    assert api.error_codes(QUERY, {**PERIOD, "groupBy": "ITEM", "departmentId": depts["ZJJ"]}) == ["FORBIDDEN"]
    api.login("w01")
    data = api.data(QUERY, {**PERIOD, "groupBy": "WINDOW"})["statistics"]
    assert [r["keyId"] for r in data["rows"]] == [w01]
    api.login("admin")
    assert {r["keyCode"] for r in api.data(QUERY, {**PERIOD, "groupBy": "DEPARTMENT"})["statistics"]["rows"]} \
        == {"SCJ", "ZJJ"}
    # The public: aggregates of departments yes, staff no (by grouping or by filter).
    api.as_public()
    public = api.data(QUERY, {**PERIOD, "groupBy": "DEPARTMENT"})["statistics"]
    assert public["rows"] == expected_rows(engine, GroupBy.DEPARTMENT)[0]
    assert api.error_codes(QUERY, {**PERIOD, "groupBy": "STAFF"}) == ["FORBIDDEN"]


def test_a_period_that_ends_before_it_starts_is_a_clear_error(api):
    api.login("supervisor")
    body = api(QUERY, {"from": "2026-10-31", "to": "2026-10-01", "groupBy": "CENTER"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_PERIOD"]
    assert body["data"] is None


def test_coverage_counts_items_in_the_center_and_supervised(api, engine):
    with Session(engine) as s:
        items = list(s.scalars(select(Item)))
        city = s.scalars(select(Center).where(Center.code == "C01")).one()
    data = api.as_public().data("{ coverage { centerCode items inCenter supervised } }")["coverage"]
    mine = next(c for c in data if c["centerCode"] == "C01")
    assert mine == {"centerCode": "C01", "items": sum(i.center_id == city.id for i in items),
                    "inCenter": sum(i.center_id == city.id and i.in_center for i in items),
                    "supervised": sum(i.center_id == city.id and i.supervised for i in items)}


def test_reporting_coverage_tells_steps_reported_as_they_happen_from_those_entered_afterwards(api, engine):
    api.login("supervisor")
    data = api.data("""query { reportingCoverage(from: "2026-09-01", to: "2026-12-31") {
        itemCode events realtimeEvents realtimeSteps steps { name events realtimeEvents realtime } } }""")
    by_code = {r["itemCode"]: r for r in data["reportingCoverage"]}
    with Session(engine) as s:
        codes = {i.id: i.code for i in s.scalars(select(Item))}
        item_of = {c.id: codes[c.item_id] for c in s.scalars(select(Case))}
        expected: dict[str, list[int]] = {}
        for ev in s.scalars(select(LedgerEvent).where(LedgerEvent.subject_type == "case")):
            counts = expected.setdefault(item_of[ev.subject_id], [0, 0])
            counts[0] += 1
            counts[1] += (ev.recorded_at - ev.occurred_at) <= timedelta(minutes=10)
    for code, (events, live) in expected.items():
        assert (by_code[code]["events"], by_code[code]["realtimeEvents"]) == (events, live), code
    # Both ways of reporting occur in this history, so no item is all-or-nothing by construction.
    assert 0 < sum(r["realtimeEvents"] for r in by_code.values()) < sum(r["events"] for r in by_code.values())
    for row in by_code.values():
        assert row["realtimeSteps"] == sum(st["realtime"] for st in row["steps"])
        for step in row["steps"]:
            assert step["realtime"] == (step["events"] > 0 and step["realtimeEvents"] == step["events"])


def test_the_demo_city_covers_564_and_502_of_677_items(engine, fixed_time):
    from esupervision.demo import build_demo

    build_demo(engine, now=fixed_time.now(), cases=0)
    with Session(engine) as s:
        city = s.scalars(select(Center).where(Center.parent_id.is_(None))).one()
    data = GraphQLClient(engine).data("query($c: ID) { coverage(centerId: $c) { centerName items inCenter supervised } }",
                                      {"c": str(city.id)})["coverage"]
    assert [(r["items"], r["inCenter"], r["supervised"]) for r in data] == [(677, 564, 502)]
