"""The GraphQL contract for cases: login, lists with filters and pagination, one case with its
steps, clocks and history, transitions, department reports, and who may see what."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import strawberry

from esupervision.models.cases.report import CaseAction
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)

CASE_FIELDS = """
  number status statusLabel light dueAt acceptedAt channel applicantName applicantPhone
  item { code name committedDays } department { code name } window { code }
  clock { dueAt yellowAt redAt light paused finished outcome provisional }
  steps { seq name status limitDays clock { light dueAt } }
  history { kind occurredAt recordedAt lagSeconds late }
"""


@pytest.fixture
def api(engine, fixed_time):
    build_city(engine)
    keys = create_accounts(engine)
    fixed_time.set(T0 + timedelta(days=1))
    report(engine,
           event("A1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", window_code="W01",
                 applicant_name="李华", attributes={"applicant_phone": "13912345678"}),
           event("A2", CaseAction.ACCEPT, T0 + timedelta(minutes=5), center_code="C01", item_code="ZJJ-JOINT",
                 applicant_name="王强"),
           event("A3", CaseAction.ACCEPT, T0 - timedelta(days=20), center_code="C01", item_code="SCJ-001",
                 window_code="W01", applicant_name="赵敏"))
    client = GraphQLClient(engine)
    client.keys = keys
    return client


def test_supervisor_reads_a_case_end_to_end(api):
    api.login("supervisor")
    case = api.data(f"query {{ case(number: \"A1\") {{ {CASE_FIELDS} }} }}")["case"]
    assert case["status"] == "ACCEPTED" and case["statusLabel"] == "办理中"
    assert case["light"] == "WHITE" and case["dueAt"].startswith("2026-12-03T15:59:59")
    assert case["item"]["code"] == "SCJ-001" and case["window"]["code"] == "W01"
    assert case["applicantPhone"] == "13912345678"          # the supervisor sees it in full …
    assert [s["name"] for s in case["steps"]] == ["受理"]
    assert case["history"][0]["kind"] == "case.accept" and case["history"][0]["lagSeconds"] > 0


def test_every_unmasked_read_is_recorded(api, engine):
    from sqlalchemy import func, select
    from sqlmodel import Session

    from esupervision.models.access.audit import PersonalDataRead
    api.login("supervisor")
    api.data('query { case(number: "A1") { applicantPhone } }')
    with Session(engine) as s:
        reads = s.scalars(select(PersonalDataRead)).all()
    assert [(r.actor, r.field) for r in reads] == [("supervisor:supervisor", "applicant_phone")]


def test_cases_list_filters_and_paginates(api):
    api.login("supervisor")
    query = """query($f: CaseFilter, $after: String) { cases(filter: $f, first: 2, after: $after) {
        totalCount edges { cursor node { number light } } pageInfo { hasNextPage endCursor } } }"""
    first = api.data(query)["cases"]
    assert first["totalCount"] == 3 and len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    second = api.data(query, {"after": first["pageInfo"]["endCursor"]})["cases"]
    assert len(second["edges"]) == 1 and not second["pageInfo"]["hasNextPage"]
    numbers = {e["node"]["number"] for e in first["edges"] + second["edges"]}
    assert numbers == {"A1", "A2", "A3"}
    red = api.data(query, {"f": {"lights": ["RED"]}})["cases"]
    assert [e["node"]["number"] for e in red["edges"]] == ["A3"]
    by_name = api.data(query, {"f": {"text": "王"}})["cases"]
    assert [e["node"]["number"] for e in by_name["edges"]] == ["A2"]
    assert api.error_codes(query, {"after": "not-a-cursor"}) == ["BAD_CURSOR"]


def test_window_staff_sees_only_their_window(api):
    api.login("w01")
    numbers = {e["node"]["number"] for e in api.data("{ cases { edges { node { number applicantPhone } } } }")["cases"]["edges"]}
    assert numbers == {"A1", "A3"}
    # Another window's case answers exactly like a case that does not exist.
    assert api.data('{ case(number: "A2") { number } }') == {"case": None}
    assert api.data('{ case(number: "NOPE") { number } }') == {"case": None}


def test_public_sees_aggregates_only(api):
    api.as_public()
    assert api.error_codes('{ cases { totalCount } }') == ["UNAUTHENTICATED"]
    overview = api.data("{ overview { centers { code lights { white yellow red } } } }")["overview"]
    city = next(c for c in overview["centers"] if c["code"] == "C01")
    assert sum(city["lights"].values()) == 3


def test_transitions_through_mutations(api):
    api.login("scj-leader")
    case = api.data('mutation { requestSupplement(number: "A1", reason: "营业执照已过有效期", '
                    'missingMaterials: ["营业执照副本"]) { status clock { paused } } }')
    assert case["requestSupplement"] == {"status": "SUPPLEMENT", "clock": {"paused": True}}
    assert api.error_codes('mutation { resumeCase(number: "A1") { status } }') == ["CLOCK_NOT_PAUSED"]
    assert api.data('mutation { receiveSupplement(number: "A1") { status } }')["receiveSupplement"]["status"] == "ACCEPTED"
    assert api.error_codes('mutation { extendCase(number: "A1", days: 40, approvedBy: "局长") { status } }') == \
        ["EXTENSION_EXCEEDS_LIMIT"]
    done = api.data('mutation { completeCase(number: "A1", result: APPROVED) { status clock { outcome finished } } }')
    assert done["completeCase"] == {"status": "COMPLETED", "clock": {"outcome": "EARLY", "finished": True}}
    # Another department's leader cannot touch it, and is told it does not exist.
    api.login("zjj-leader")
    assert api.error_codes('mutation { withdrawCase(number: "A3") { status } }') == ["CASE_NOT_FOUND"]


def test_department_system_reports_idempotently_within_its_department(api):
    mutation = """mutation($events: [ReportedEventInput!]!) { reportCaseEvents(events: $events) {
        sourceEventId status code ledgerId late } }"""
    events = [
        {"sourceEventId": "oa-1", "caseNumber": "K1", "action": "ACCEPT", "occurredAt": (T0 + timedelta(hours=20)).isoformat(),
         "centerCode": "C01", "itemCode": "SCJ-001"},
        {"sourceEventId": "oa-2", "caseNumber": "K1", "action": "RESUME", "occurredAt": (T0 + timedelta(hours=21)).isoformat()},
        {"sourceEventId": "oa-3", "caseNumber": "A2", "action": "ADVANCE", "occurredAt": (T0 + timedelta(hours=21)).isoformat()},
        # a new case of another department's item is not this key's to open, nor to go on with
        {"sourceEventId": "oa-4", "caseNumber": "Z9", "action": "ACCEPT", "occurredAt": (T0 + timedelta(hours=21)).isoformat(),
         "centerCode": "C01", "itemCode": "ZJJ-JOINT"},
        {"sourceEventId": "oa-5", "caseNumber": "K2", "action": "ACCEPT", "occurredAt": (T0 + timedelta(hours=22)).isoformat(),
         "centerCode": "C01", "itemCode": "SCJ-001"},
        {"sourceEventId": "oa-6", "caseNumber": "Z9", "action": "ADVANCE", "occurredAt": (T0 + timedelta(hours=22)).isoformat()},
    ]
    results = api.data(mutation, {"events": events}, api_key=api.keys["apikey"])["reportCaseEvents"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("accepted", None), ("refused", "CLOCK_NOT_PAUSED"), ("refused", "CASE_NOT_FOUND"),
        ("refused", "CASE_NOT_FOUND"), ("accepted", None), ("refused", "CASE_NOT_FOUND")]
    again = api.data(mutation, {"events": events[:1]}, api_key=api.keys["apikey"])["reportCaseEvents"]
    assert again[0]["status"] == "duplicate" and again[0]["ledgerId"] == results[0]["ledgerId"]



def test_reported_events_arrive_whole_in_the_document_or_as_variables(api):
    """Every field of a reported event reaches the case, however the event is written: in the
    document itself or as variables (graphql-core's coerced values build the input directly)."""
    accepted_at = (T0 + timedelta(hours=20)).isoformat()
    literal = f"""mutation {{ reportCaseEvents(events: [
        {{ sourceEventId: "lit-1", caseNumber: "L1", action: ACCEPT, occurredAt: "{accepted_at}",
           centerCode: "C01", itemCode: "SCJ-001", windowCode: "W01", staffCode: "S01", applicantName: "赵六",
           channel: "window", attributes: {{ applicant_phone: "13900001111" }} }}
    ]) {{ status code }} }}"""
    assert api.data(literal, api_key=api.keys["apikey"])["reportCaseEvents"] == [{"status": "accepted", "code": None}]
    variables = """mutation($events: [ReportedEventInput!]!) { reportCaseEvents(events: $events) { status code } }"""
    done = [{"sourceEventId": "lit-2", "caseNumber": "L1", "action": "COMPLETE",
             "occurredAt": (T0 + timedelta(hours=21)).isoformat(),
             "attributes": {"result": "denied", "reason": "申请材料不齐全"}}]
    # An instant without its UTC offset refuses the whole batch, and nothing of it is applied.
    unzoned = {"sourceEventId": "lit-3", "caseNumber": "L2", "action": "ACCEPT", "occurredAt": "2026-11-26T10:00:00",
               "centerCode": "C01", "itemCode": "SCJ-001"}
    assert api.error_codes(variables, {"events": [*done, unzoned]}, api_key=api.keys["apikey"]) == ["BAD_INPUT"]
    assert api.data(variables, {"events": done}, api_key=api.keys["apikey"])["reportCaseEvents"] == [
        {"status": "accepted", "code": None}]
    api.login("supervisor")
    case = api.data('{ case(number: "L1") { status result reason applicantName applicantPhone channel '
                    'window { code } staff { code } acceptedAt } }')["case"]
    assert case["status"] == "COMPLETED" and case["result"] == "denied" and case["reason"] == "申请材料不齐全"
    assert case["applicantName"] == "赵六" and case["channel"] == "window"
    assert case["window"] == {"code": "W01"} and case["staff"] == {"code": "S01"}
    assert case["applicantPhone"] is not None and case["applicantPhone"].endswith("1111")
    assert datetime.fromisoformat(case["acceptedAt"]) == T0 + timedelta(hours=20)


@strawberry.input
class _Inner:
    code: str


def test_only_flat_input_types_are_built_from_coerced_values():
    from esupervision.api.schema.common import built_from_coerced_values

    with pytest.raises(TypeError, match="only scalar and enum fields"):
        @built_from_coerced_values
        @strawberry.input
        class Nested:
            inner: _Inner
    with pytest.raises(TypeError, match="only scalar and enum fields"):
        @built_from_coerced_values
        @strawberry.input
        class Listed:
            codes: list[str]


def test_tokens_are_checked(api):
    assert api.error_codes("{ cases { totalCount } }", token="forged.token.here") == ["TOKEN_INVALID"]
    assert api.error_codes("{ cases { totalCount } }", api_key="esv_wrong") == ["TOKEN_INVALID"]
    assert api.error_codes('mutation { login(username: "supervisor", password: "nope") { accessToken } }') == \
        ["INVALID_CREDENTIALS"]


def test_refresh_rotates_and_reuse_revokes(api):
    login = api.data('mutation { login(username: "supervisor", password: "demo") { refreshToken } }')["login"]
    first = login["refreshToken"]
    rotated = api.data("mutation($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }",
                       {"t": first})["refresh"]
    assert rotated["refreshToken"] != first
    assert api.error_codes("mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }", {"t": first}) == \
        ["TOKEN_INVALID"]
    # the thief's reuse revoked the family: the rotated token is dead too
    assert api.error_codes("mutation($t: String!) { refresh(refreshToken: $t) { accessToken } }",
                           {"t": rotated["refreshToken"]}) == ["TOKEN_INVALID"]


def test_bad_queries_get_codes_not_internals(api):
    assert api.error_codes("{ cases { nope } }") == ["GRAPHQL_VALIDATION_FAILED"]
    assert api.error_codes("{ cases { ") == ["GRAPHQL_PARSE_FAILED"]
    api.login("supervisor")
    assert api.error_codes("{ cases(first: 5000) { totalCount } }") == ["PAGE_TOO_LARGE"]


def test_graphql_answers_at_its_own_path_without_a_redirect(api):
    response = api.http.post("/graphql", json={"query": "{ __typename }"}, follow_redirects=False)
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
