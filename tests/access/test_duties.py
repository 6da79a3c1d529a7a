"""Separation of duties (DESIGN decision 9) and data scopes on writes (decision 11), through GraphQL.

The matrix is ``models/access/duties.py``; the API enforces it for every mutation
(``api/schema/duties.py``); the README shows it. Every mutation of the schema is walked for every
role: a mutation without a row fails, and each refusal the matrix names is checked with a cheap call
(dummy arguments: the refusal comes before any domain work, so nothing is written).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from graphql import (GraphQLEnumType, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLObjectType,
                     GraphQLScalarType, get_named_type)
from graphql.pyutils import Undefined
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.api.schema import schema
from esupervision.api.tokens import issue_access_token
from esupervision.models.access import duties
from esupervision.models.access.city_key import issue_city_key
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.cases.report import CaseAction
from esupervision.models.clocks import timesource
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
README = Path(__file__).resolve().parents[2] / "README.md"
PERMISSION_REFUSAL = {Role.PUBLIC: "UNAUTHENTICATED"}   # every other role: FORBIDDEN
ACCOUNTS = {Role.SUPERVISOR: "supervisor", Role.CENTER_ADMIN: "admin", Role.DEPARTMENT_LEADER: "scj-leader",
            Role.WINDOW_STAFF: "w01"}
APPLICANT_PHONE = "13912345678"


def mutation_fields() -> dict[str, object]:
    """Every field of the schema's Mutation type, by GraphQL name."""
    return dict(schema._schema.mutation_type.fields)


# ----------------------------------------------------------------------------- the matrix as data

def test_every_mutation_of_the_schema_has_a_row_and_every_row_a_mutation() -> None:
    # Decision 9: one role × operation matrix, tested for every mutation.
    in_schema = set(mutation_fields())
    assert in_schema - set(duties.ROLES) == set(), "mutations with no row in models/access/duties.py"
    assert set(duties.ROLES) - in_schema == set(), "rows of models/access/duties.py naming no mutation"


def test_supervision_never_does_business_work_on_cases_or_tenders() -> None:
    # Decision 9: the supervisor (and the center's management) never changes what it supervises.
    business = {name: roles for group in duties.MATRIX if group.business for name, roles in group.operations.items()}
    for name in ("acceptCase", "advanceCase", "extendCase", "completeCase", "rejectCase", "reportCaseEvents",
                 "submitBid", "openBids", "tenderEvent", "reportTenderEvents"):
        assert name in business, name
    assert {name for name, roles in business.items() if roles & {Role.SUPERVISOR, Role.CENTER_ADMIN}} == set()
    # … and what it does instead: urge, order, record and decide faults and appeals, publish.
    for name in ("urge", "issueSupervisionOrder", "recordFault", "decideSuggestion", "decideAppeal", "publishReport",
                 "createItem", "createApiKey"):
        assert duties.may_call(Role.SUPERVISOR, name), name
    assert not duties.may_call(Role.SUPERVISOR, "replyToOrder")   # it never answers its own orders


def test_the_readme_shows_the_matrix_as_it_is() -> None:
    # The README's table is generated from models/access/duties.py (markdown_table), so they cannot drift.
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- duties:begin -->\n(.*?)<!-- duties:end -->", text, re.S)
    assert found, "README.md lacks the <!-- duties:begin --> … <!-- duties:end --> block"
    assert found.group(1) == duties.markdown_table(), \
        "README's role matrix differs: paste models.access.duties.markdown_table() between the markers"


# ----------------------------------------------------------------------------- enforced for every role

def _literal(type_: object) -> str:
    """A value of ``type_`` GraphQL accepts, for a cheap call: required input fields only."""
    if isinstance(type_, GraphQLNonNull):
        return _literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{_literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        fields = [f"{name}: {_literal(f.type)}" for name, f in type_.fields.items()
                  if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined]
        return "{" + ", ".join(fields) + "}"
    assert isinstance(type_, GraphQLScalarType), type_
    return {"Int": "1", "Float": "1.5", "Boolean": "true", "ID": '"00000000-0000-0000-0000-000000000000"',
            "DateTime": '"2026-11-26T09:00:00+08:00"', "Date": '"2026-11-26"', "JSON": "{}"}.get(
        type_.name, '"x"')


def cheap_call(name: str) -> str:
    """The mutation ``name`` with dummy values for its required arguments."""
    field = mutation_fields()[name]
    args = [f"{arg}: {_literal(a.type)}" for arg, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined]
    selection = " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    return f"mutation {{ {name}{'(' + ', '.join(args) + ')' if args else ''}{selection} }}"


@pytest.fixture
def city(engine, fixed_time):
    build_city(engine)
    keys = create_accounts(engine)
    with Session(engine) as s:   # the key a county deployment issues to the city's supervision office
        _, keys["city"] = issue_city_key(s, center_code="C01", name="市级监察", now=timesource.now())
        s.commit()
    client = GraphQLClient(engine)
    client.keys = keys
    return client


def credentials(city: GraphQLClient, role: Role) -> dict[str, str]:
    if role is Role.DEPARTMENT_SYSTEM:
        return {"api_key": city.keys["apikey"]}
    if role is Role.CITY_SUPERVISION:
        return {"api_key": city.keys["city"]}
    if role is Role.APPLICANT:
        return {"token": issue_access_token(Viewer(role=Role.APPLICANT, applicant_phone=APPLICANT_PHONE),
                                            now=timesource.now())}
    if role is Role.PUBLIC:
        return {}
    return {"token": city.login(ACCOUNTS[role])}


def ledger_size(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_is_refused_every_mutation_the_matrix_does_not_give_it(city, engine, role: Role) -> None:
    # Decision 9: the matrix is enforced by the API for every mutation and every role, before any
    # domain work (nothing reaches the ledger).
    who = credentials(city, role)
    city.token = None
    refused = [name for name in mutation_fields() if not duties.may_call(role, name)]
    before = ledger_size(engine)
    wrong = {}
    for name in refused:
        body = city(cheap_call(name), **who)
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        if codes != [PERMISSION_REFUSAL.get(role, "FORBIDDEN")] or (body.get("data") or {}).get(name) is not None:
            wrong[name] = body
    assert wrong == {}
    assert ledger_size(engine) == before
    # And what the matrix gives the role is not refused by the permission (other errors may follow:
    # the arguments are dummies).
    allowed = [name for name in mutation_fields() if duties.may_call(role, name)]
    for name in allowed:
        body = city(cheap_call(name), **who)
        messages = [e["message"] for e in body.get("errors") or []]
        assert not any("not allowed for your role" in m or "authentication required" in m for m in messages), \
            (name, body)


# ----------------------------------------------------------------------------- data scope of writes

@pytest.fixture
def cases(city, engine, fixed_time):
    """A1 at window W01 (SCJ), ONLINE submitted to SCJ online (no window yet, the applicant's phone
    given), Z1 of ZJJ."""
    fixed_time.set(T0 + timedelta(hours=1))
    report(engine,
           event("A1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", window_code="W01",
                 applicant_name="李华", attributes={"applicant_phone": APPLICANT_PHONE}),
           event("ONLINE", CaseAction.SUBMIT, T0, center_code="C01", item_code="SCJ-001", applicant_name="王芳",
                 channel="online", attributes={"applicant_phone": "13700000000"}),
           event("Z1", CaseAction.ACCEPT, T0, center_code="C01", item_code="ZJJ-JOINT", applicant_name="赵强"))
    return city


def notices(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Notice))


def test_supervision_cannot_do_casework_even_on_a_case_it_reads(cases, engine) -> None:
    # Decision 9: business actions belong to departments; FORBIDDEN, and nothing is written.
    before = ledger_size(engine)
    for login in ("supervisor", "admin"):
        cases.login(login)
        assert cases.data('{ case(number: "A1") { number } }')["case"] == {"number": "A1"}
        for call in ('acceptCase(input: {number: "ONLINE", windowCode: "W01"})', 'advanceCase(number: "A1")',
                     'extendCase(number: "A1", days: 3, approvedBy: "局长")',
                     'completeCase(number: "A1", result: APPROVED)', 'rejectCase(number: "A1")'):
            assert cases.error_codes(f"mutation {{ {call} {{ status }} }}") == ["FORBIDDEN"], (login, call)
    cases.login("supervisor")
    assert cases.error_codes('mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status } }',
                             {"e": [{"sourceEventId": "s1", "caseNumber": "A1", "action": "ADVANCE",
                                     "occurredAt": T0.isoformat()}]}) == ["FORBIDDEN"]
    assert ledger_size(engine) == before


def test_window_cannot_reject_a_case_it_cannot_read_and_nobody_is_told(cases, engine) -> None:
    # Decision 11: window staff act only on their window's cases (case_scope), checked before any
    # change; the online case has no window yet, so the window cannot read it, nor reject it.
    cases.login("w01")
    assert cases.data('{ case(number: "ONLINE") { number } }')["case"] is None
    ledger, sms = ledger_size(engine), notices(engine)
    refused = cases('mutation { rejectCase(number: "ONLINE", reason: "材料不全") { status } }')
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["CASE_NOT_FOUND"]
    assert (ledger_size(engine), notices(engine)) == (ledger, sms)   # nothing committed, no SMS queued
    # Its department's leader reads it and may.
    cases.login("scj-leader")
    assert cases.data('mutation { rejectCase(number: "ONLINE", reason: "材料不全") { status } }')["rejectCase"] == {
        "status": "REJECTED"}


def test_a_refusal_never_tells_whether_the_case_exists(cases) -> None:
    # Decision 11: "not yours" and "not found" are one answer: same code, same text, same details.
    def refusal(number: str) -> dict:
        body = cases(f'mutation {{ advanceCase(number: "{number}") {{ status }} }}')
        (error,) = body["errors"]
        extensions = {k: v for k, v in error["extensions"].items() if k != "requestId"}
        return {"message": error["message"].replace(number, "N"), **extensions, "case": "N"}

    for login, foreign in (("w01", "ONLINE"), ("w01", "Z1"), ("scj-leader", "Z1"), ("zjj-leader", "A1")):
        cases.login(login)
        assert refusal(foreign) == refusal("NO-SUCH-CASE"), (login, foreign)
    keyed = {"api_key": cases.keys["zjj_apikey"]}
    cases.token = None
    batch = 'mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status code message } }'
    results = cases.data(batch, {"e": [{"sourceEventId": f"z-{n}", "caseNumber": n, "action": "ADVANCE",
                                        "occurredAt": (T0 + timedelta(minutes=30)).isoformat()}
                                       for n in ("A1", "NO-SUCH-CASE")]}, **keyed)["reportCaseEvents"]
    assert [r["status"] for r in results] == ["refused", "refused"]
    assert results[0]["code"] == results[1]["code"] == "CASE_NOT_FOUND"
    assert results[0]["message"].replace("A1", "N") == results[1]["message"].replace("NO-SUCH-CASE", "N")


def test_window_accepts_at_its_own_window_only(cases, engine) -> None:
    # Decision 11: what a window creates must be a case it reads: at its own window (the default),
    # never at another one (refused before commit).
    from esupervision.models.catalogue.catalogue import Center, Department, create_window
    from esupervision.models.ledger.transaction import transaction
    with transaction(engine, actor="test") as tx:
        city = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        scj = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        create_window(tx, center=city, department=scj, code="W02", name="2号窗口")
    cases.login("w01")
    accept = ('mutation($n: String!, $w: String) { acceptCase(input: {number: $n, centerCode: "C01", '
              'itemCode: "SCJ-001", applicantName: "李华", windowCode: $w}) { status window { code } } }')
    before = ledger_size(engine)
    assert cases.error_codes(accept, {"n": "W-ELSEWHERE", "w": "W02"}) == ["CASE_NOT_FOUND"]
    assert ledger_size(engine) == before
    assert cases.data(accept, {"n": "W-MINE"})["acceptCase"] == {"status": "ACCEPTED", "window": {"code": "W01"}}
