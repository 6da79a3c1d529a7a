"""Who may see what, and the limits, through GraphQL: applicants' SMS-code login, tokens, API
keys, rate limits, query cost and size, introspection in production, masked personal data."""
from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.api.limits import MemoryWindows, RedisWindows, Window
from esupervision.demo import build_demo
from esupervision.demo_accounts import DEMO_API_KEY, DEMO_APPLICANT_PHONE, create_demo_accounts
from esupervision.models.access import login_code
from esupervision.models.access.audit import PersonalDataRead
from esupervision.models.catalogue.catalogue import Center, Department, create_department
from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.notices.notice import Notice
from esupervision.models.cases.report import CaseAction
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.gateway import Gateway
from esupervision.notify.providers.console import ConsoleProvider
from esupervision.settings import get_settings
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
PHONE = "13912345678"
OTHER_PHONE = "13700000000"

REQUEST_CODE = "mutation($p: String!) { requestLoginCode(phone: $p) { sentTo expiresIn } }"
LOGIN_WITH_CODE = """mutation($p: String!, $c: String!) { loginWithCode(phone: $p, code: $c) {
    accessToken refreshToken expiresIn role displayName } }"""
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
CREATE_KEY = "mutation($d: ID!, $n: String!) { createApiKey(departmentId: $d, name: $n) { key apiKey { id name revokedAt department { code } } } }"
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"


class OutboxCodes(Mapping[str, list[str]]):
    """The login codes waiting in the outbox, by 11-digit phone (latest last): what the gateway
    will send, read from the notices ``requestLoginCode`` wrote."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def _codes(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        with Session(self.engine) as s:
            for row in s.scalars(select(Notice).where(Notice.template == "login_code")
                                 .order_by(Notice.created_at, Notice.id)):
                found.setdefault(row.recipient[-11:], []).append(row.params["code"])
        return found

    def __getitem__(self, phone: str) -> list[str]:
        return self._codes()[phone]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes())

    def __len__(self) -> int:
        return len(self._codes())


@pytest.fixture
def sms(engine):
    """The codes sent by SMS, by phone (latest last)."""
    return OutboxCodes(engine)


@pytest.fixture
def api(engine, fixed_time):
    build_city(engine)
    keys = create_accounts(engine)
    fixed_time.set(T0 + timedelta(days=1))
    report(engine,
           event("A1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", window_code="W01",
                 applicant_name="李华", attributes={"applicant_phone": PHONE}),
           event("A2", CaseAction.ACCEPT, T0 + timedelta(minutes=5), center_code="C01", item_code="ZJJ-JOINT",
                 applicant_name="王强", attributes={"applicant_phone": OTHER_PHONE}),
           event("A3", CaseAction.ACCEPT, T0 - timedelta(days=20), center_code="C01", item_code="SCJ-001",
                 window_code="W01", applicant_name="李华", attributes={"applicant_phone": PHONE}))
    client = GraphQLClient(engine)
    client.keys = keys
    return client


def error(body: dict) -> dict:
    assert body.get("errors") and len(body["errors"]) == 1, body
    return body["errors"][0]


def applicant_token(api: GraphQLClient, sms: dict[str, list[str]], phone: str = PHONE) -> str:
    api.data(REQUEST_CODE, {"p": phone})
    return api.data(LOGIN_WITH_CODE, {"p": phone, "c": sms[phone][-1]})["loginWithCode"]["accessToken"]


def keyed(api: GraphQLClient, key: str) -> GraphQLClient:
    """The same app, asked by a department system with ``key``."""
    client = copy.copy(api)
    client.token, client.api_key = None, key
    return client


def ledger_rows(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(LedgerEvent))


def department_id(engine, code: str) -> str:
    with Session(engine) as s:
        return str(s.scalars(select(Department.id).where(Department.code == code)).one())


# ----------------------------------------------------------------------------- applicants


def test_applicant_logs_in_with_a_code_and_sees_only_their_own_cases(api, sms):
    sent = api.data(REQUEST_CODE, {"p": "+86 139-1234-5678"})["requestLoginCode"]
    assert sent == {"sentTo": "139****5678", "expiresIn": 300}
    code = sms[PHONE][-1]
    assert len(code) == 6 and code.isdigit()
    login = api.data(LOGIN_WITH_CODE, {"p": PHONE, "c": code})["loginWithCode"]
    assert login["role"] == "APPLICANT" and login["displayName"] == "申请人 139****5678"
    api.token = login["accessToken"]

    assert api.data("{ me { role username phone } }")["me"] == {"role": "APPLICANT", "username": None, "phone": PHONE}
    cases = api.data("{ cases { totalCount edges { node { number applicantPhone } } } }")["cases"]
    assert cases["totalCount"] == 2
    assert {e["node"]["number"]: e["node"]["applicantPhone"] for e in cases["edges"]} == {"A1": PHONE, "A3": PHONE}
    # Someone else's case answers exactly like a case that does not exist.
    assert api(' { case(number: "A2") { number applicantName } }') == api('{ case(number: "NOPE") { number applicantName } }')
    assert api.data('{ case(number: "A2") { number } }') == {"case": None}
    assert api.error_codes('mutation { withdrawCase(number: "A2") { status } }') == \
        api.error_codes('mutation { withdrawCase(number: "NOPE") { status } }')

    # Single use; the refresh token keeps the applicant logged in.
    assert api.error_codes(LOGIN_WITH_CODE, {"p": PHONE, "c": code}) == ["LOGIN_CODE_EXPIRED"]
    renewed = api.data("mutation($t: String!) { refresh(refreshToken: $t) { accessToken role } }",
                       {"t": login["refreshToken"]})["refresh"]
    assert renewed["role"] == "APPLICANT"
    assert api.data("{ cases { totalCount } }", token=renewed["accessToken"])["cases"]["totalCount"] == 2


def test_applicant_account_cannot_log_in_by_password(api, sms):
    applicant_token(api, sms)
    assert api.error_codes(LOGIN, {"u": f"applicant:{PHONE}", "p": "!"}) == ["INVALID_CREDENTIALS"]
    assert api.error_codes(LOGIN, {"u": f"applicant:{PHONE}", "p": "esupervision-no-such-user"}) == \
        ["INVALID_CREDENTIALS"]


def test_wrong_code_five_times_kills_the_code(api, sms, monkeypatch, fixed_time):
    monkeypatch.setattr(get_settings(), "rate_limit_per_minute", 100)   # the code's own limit, not the rate limit
    api.data(REQUEST_CODE, {"p": PHONE})
    right = sms[PHONE][-1]
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    left = []
    for _ in range(5):
        failure = error(api(LOGIN_WITH_CODE, {"p": PHONE, "c": wrong}))
        assert failure["extensions"]["code"] == "LOGIN_CODE_INVALID"
        left.append(failure["extensions"]["attemptsLeft"])
    assert left == [4, 3, 2, 1, 0]
    assert api.error_codes(LOGIN_WITH_CODE, {"p": PHONE, "c": right}) == ["LOGIN_CODE_EXPIRED"]
    # A new code works again (a minute later: one code SMS a minute).
    fixed_time.advance(seconds=61)
    api.data(REQUEST_CODE, {"p": PHONE})
    assert api.data(LOGIN_WITH_CODE, {"p": PHONE, "c": sms[PHONE][-1]})["loginWithCode"]["role"] == "APPLICANT"


def test_codes_expire_and_only_the_newest_counts(api, sms, fixed_time):
    api.data(REQUEST_CODE, {"p": PHONE})
    fixed_time.advance(minutes=5, seconds=1)
    assert api.error_codes(LOGIN_WITH_CODE, {"p": PHONE, "c": sms[PHONE][-1]}) == ["LOGIN_CODE_EXPIRED"]
    api.data(REQUEST_CODE, {"p": PHONE})
    fixed_time.advance(seconds=61)
    api.data(REQUEST_CODE, {"p": PHONE})
    older, newest = sms[PHONE][-2:]
    if older != newest:
        assert api.error_codes(LOGIN_WITH_CODE, {"p": PHONE, "c": older}) == ["LOGIN_CODE_INVALID"]
    assert api.data(LOGIN_WITH_CODE, {"p": PHONE, "c": newest})["loginWithCode"]["role"] == "APPLICANT"


@pytest.mark.parametrize("phone", ["12912345678", "1391234567", "+1 415 555 0100", "139123456789", "电话", ""])
def test_phone_must_be_a_mainland_mobile(api, sms, phone):
    assert api.error_codes(REQUEST_CODE, {"p": phone}) == ["INVALID_PHONE"]
    assert api.error_codes(LOGIN_WITH_CODE, {"p": phone, "c": "123456"}) == ["INVALID_PHONE"]
    assert sms == {}


def test_the_code_goes_out_through_the_gateway_and_leaves_no_trace(api, sms, engine):
    api.data(REQUEST_CODE, {"p": "+86 139-1234-5678"})
    with Session(engine) as s:
        [notice] = s.scalars(select(Notice).where(Notice.template == "login_code")).all()
    assert (notice.recipient, notice.channel, notice.status, notice.recipient_kind) == (
        "+8613912345678", "sms", "queued", "applicant")
    code = sms[PHONE][-1]
    console = ConsoleProvider()
    gateway = Gateway(engine, get_settings(), {"console": console})
    assert gateway.deliver(notice.id).outcome == "sent"
    [message] = console.sent
    assert message.to == "+8613912345678" and f"验证码为{code}，5分钟内有效" in message.text
    with Session(engine) as s:
        done = s.get(Notice, notice.id)
    assert done.status == "sent" and done.params == {"code": "******", "minutes": 5}   # the code is not kept
    assert api.data(LOGIN_WITH_CODE, {"p": PHONE, "c": code})["loginWithCode"]["role"] == "APPLICANT"


def test_code_sms_limits_per_number_one_a_minute_five_an_hour_ten_a_day(api, sms, engine, fixed_time, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit_per_hour", 1000)   # the SMS limits, not the attempts'
    api.data(REQUEST_CODE, {"p": PHONE})
    first = sms[PHONE][-1]

    def refused() -> dict:
        with Session(engine) as s:
            before = s.scalar(select(func.count()).select_from(login_code.LoginCode))
        failure = error(api(REQUEST_CODE, {"p": PHONE}))
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(login_code.LoginCode)) == before   # nothing changed
        assert failure["extensions"]["code"] == "RATE_LIMITED"
        return failure

    fixed_time.advance(seconds=20)
    assert refused()["extensions"]["retryAfter"] == 40                     # a number: seconds to wait
    assert sms[PHONE] == [first]
    assert api.data(LOGIN_WITH_CODE, {"p": PHONE, "c": first})["loginWithCode"]["role"] == "APPLICANT"
    for _ in range(4):
        fixed_time.advance(seconds=61)
        api.data(REQUEST_CODE, {"p": PHONE})
    fixed_time.advance(seconds=61)
    assert 0 < refused()["extensions"]["retryAfter"] <= 3600 - 5 * 61      # 5 an hour
    for _ in range(5):
        fixed_time.advance(minutes=61)
        api.data(REQUEST_CODE, {"p": PHONE})
    fixed_time.advance(minutes=61)
    assert refused()["extensions"]["retryAfter"] > 3600                     # 10 a day
    assert len(sms[PHONE]) == 10
    api.data(REQUEST_CODE, {"p": OTHER_PHONE})                              # per number


# ----------------------------------------------------------------------------- rate limits


def test_login_is_rate_limited_per_user_with_retry_after(api, fixed_time):
    for _ in range(5):
        assert api.error_codes(LOGIN, {"u": "supervisor", "p": "wrong"}) == ["INVALID_CREDENTIALS"]
    limited = api.http.post("/graphql", json={"query": LOGIN, "variables": {"u": "supervisor", "p": "demo"}})
    failure = error(limited.json())
    assert failure["extensions"]["code"] == "RATE_LIMITED" and failure["extensions"]["retryAfter"] == 60
    assert limited.headers["retry-after"] == "60"
    # Another user is not held back by it; and the window slides.
    api.login("scj-leader")
    fixed_time.advance(seconds=60)
    api.login("supervisor")


def test_code_requests_are_rate_limited_per_phone_and_per_ip(api, sms, monkeypatch):
    monkeypatch.setattr(get_settings(), "notify_limits", {})   # the attempts' limit, not the SMS limit
    for written in (PHONE, "+8613912345678", "139 1234 5678", "86-139-1234-5678", PHONE):
        api.data(REQUEST_CODE, {"p": written})
    assert api.error_codes(REQUEST_CODE, {"p": "+86 139 1234 5678"}) == ["RATE_LIMITED"]   # one number, however written
    assert len(sms[PHONE]) == 5
    # 30 a minute from one address, whoever the attempts are for (5 so far: refusals do not count).
    for i in range(25):
        api.data(REQUEST_CODE, {"p": f"1380000{i:04d}"})
    assert api.error_codes(REQUEST_CODE, {"p": "13800009999"}) == ["RATE_LIMITED"]
    assert api.error_codes(LOGIN, {"u": "admin", "p": "demo"}) == ["RATE_LIMITED"]


def test_hourly_limit(api, sms, fixed_time, monkeypatch):
    monkeypatch.setattr(get_settings(), "rate_limit_per_minute", 100)
    monkeypatch.setattr(get_settings(), "notify_limits", {})   # the attempts' limit, not the SMS limit
    for _ in range(20):
        api.data(REQUEST_CODE, {"p": PHONE})
        fixed_time.advance(seconds=61)   # also keeps the per-IP window empty
    assert api.error_codes(REQUEST_CODE, {"p": PHONE}) == ["RATE_LIMITED"]
    fixed_time.advance(minutes=40)       # the first of the 20 has left the hour
    api.data(REQUEST_CODE, {"p": PHONE})


def test_processes_share_the_limit_through_redis(api, redis_url, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "broker", "redis")
    monkeypatch.setattr(settings, "redis_url", redis_url)
    monkeypatch.setattr(settings, "rate_limit_ip_per_minute", 10_000)   # other test runs share the server
    first, second = GraphQLClient(api.engine), GraphQLClient(api.engine)   # two `esv serve` processes
    username = f"nobody-{uuid.uuid4().hex}"
    for client in (first, second, first, second, first):
        assert client.error_codes(LOGIN, {"u": username, "p": "x"}) == ["INVALID_CREDENTIALS"]
    assert second.error_codes(LOGIN, {"u": username, "p": "x"}) == ["RATE_LIMITED"]


@pytest.mark.parametrize("make", [MemoryWindows, "redis"])
def test_sliding_window_counts_only_what_it_lets_through(make, request):
    windows = (RedisWindows(request.getfixturevalue("redis_url"), prefix=f"esv:test:{uuid.uuid4().hex}:")
               if make == "redis" else make())
    rule = [Window("k", 3, 10)]
    assert [windows.hit(rule, t) for t in (0.0, 1.0, 2.0)] == [0, 0, 0]
    assert windows.hit(rule, 5.0) == pytest.approx(5.0)     # the hit at 0 leaves the window at 10
    assert windows.hit(rule, 9.5) == pytest.approx(0.5)     # refusals did not count
    assert windows.hit(rule, 10.0) == 0
    assert windows.hit(rule, 10.5) == pytest.approx(0.5)
    # Two windows at once: refused by either, counted in both or neither.
    both = [Window("a", 1, 60), Window("b", 5, 60)]
    assert windows.hit(both, 100.0) == 0
    assert windows.hit(both, 101.0) == pytest.approx(59.0)
    assert windows.hit([Window("b", 2, 60)], 102.0) == 0   # "b" holds one hit, not two


# ----------------------------------------------------------------------------- tokens and keys


def test_expired_access_token_is_refused(api, fixed_time):
    api.login("supervisor")
    assert api.data("{ cases { totalCount } }")["cases"]["totalCount"] == 3
    fixed_time.advance(minutes=15)
    assert api.error_codes("{ cases { totalCount } }") == ["TOKEN_EXPIRED"]


def test_forged_tokens_are_refused(api):
    now = int((T0 + timedelta(days=1)).timestamp())
    claims = {"iss": "esupervision", "sub": "supervisor", "role": "supervisor", "iat": now, "exp": now + 600}
    forged = jwt.encode(claims, "not-our-secret-though-just-as-long-as-one", algorithm="HS256")
    assert api.error_codes("{ cases { totalCount } }", token=forged) == ["TOKEN_INVALID"]
    # A real window staff token with its payload swapped for a supervisor's.
    real = api.login("w01")
    header, _, signature = real.split(".")
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert api.error_codes("{ cases { totalCount } }", token=f"{header}.{payload}.{signature}") == ["TOKEN_INVALID"]
    none_alg = jwt.encode(claims, None, algorithm="none")
    assert api.error_codes("{ cases { totalCount } }", token=none_alg) == ["TOKEN_INVALID"]


def test_api_keys_are_created_once_and_revoked(api, engine):
    scj = department_id(engine, "SCJ")
    api.login("supervisor")
    created = api.data(CREATE_KEY, {"d": scj, "n": "新审批系统"})["createApiKey"]
    key, key_id = created["key"], created["apiKey"]["id"]
    assert key.startswith("esv_") and created["apiKey"]["department"] == {"code": "SCJ"}
    listed = api.data("query($d: ID) { apiKeys(departmentId: $d) { id name revokedAt } }", {"d": scj})["apiKeys"]
    assert {"id": key_id, "name": "新审批系统", "revokedAt": None} in listed
    assert "key" not in listed[0]

    assert keyed(api, key).data("{ cases { totalCount } }")["cases"]["totalCount"] == 2
    revoked = api.data(REVOKE_KEY, {"id": key_id})["revokeApiKey"]
    assert revoked["revokedAt"] is not None
    assert keyed(api, key).error_codes("{ cases { totalCount } }") == ["TOKEN_INVALID"]
    # The other keys of the department still work; revoking twice keeps the first instant.
    assert keyed(api, api.keys["apikey"]).data("{ cases { totalCount } }")["cases"]["totalCount"] == 2
    assert api.data(REVOKE_KEY, {"id": key_id})["revokeApiKey"] == revoked


def test_who_may_manage_api_keys(api, engine):
    scj = department_id(engine, "SCJ")
    with transaction(engine, actor="test") as tx:
        county = tx.session.scalars(select(Center).where(Center.code == "C01-X1")).one()
        county_dept = str(create_department(tx, center=county, code="X-SCJ", name="东县市场监督管理局").id)
    api.login("admin")   # the city center's admin
    assert api.data(CREATE_KEY, {"d": scj, "n": "中心代建"})["createApiKey"]["key"]
    assert api.error_codes(CREATE_KEY, {"d": county_dept, "n": "越权"}) == ["FORBIDDEN"]
    assert api.error_codes(CREATE_KEY, {"d": str(uuid.uuid4()), "n": "x"}) == ["DEPARTMENT_NOT_FOUND"]
    assert api.error_codes(CREATE_KEY, {"d": "not-an-id", "n": "x"}) == ["DEPARTMENT_NOT_FOUND"]
    assert api.error_codes(CREATE_KEY, {"d": scj, "n": "  "}) == ["BAD_INPUT"]
    api.login("supervisor")
    county_key = api.data(CREATE_KEY, {"d": county_dept, "n": "县系统"})["createApiKey"]["apiKey"]["id"]
    api.login("admin")
    assert api.error_codes(REVOKE_KEY, {"id": county_key}) == ["API_KEY_NOT_FOUND"]   # not theirs to see
    assert county_key not in {k["id"] for k in api.data("{ apiKeys { id } }")["apiKeys"]}
    for staff in ("scj-leader", "w01"):
        api.login(staff)
        assert api.error_codes(CREATE_KEY, {"d": scj, "n": "x"}) == ["FORBIDDEN"]
        assert api.error_codes(REVOKE_KEY, {"id": county_key}) == ["FORBIDDEN"]
    assert keyed(api, api.keys["apikey"]).error_codes(CREATE_KEY, {"d": scj, "n": "x"}) == ["FORBIDDEN"]
    api.as_public()
    assert api.error_codes(CREATE_KEY, {"d": scj, "n": "x"}) == ["UNAUTHENTICATED"]


def test_department_key_cannot_touch_another_departments_case(api, engine):
    scj = keyed(api, api.keys["apikey"])
    before = ledger_rows(engine)
    assert scj.error_codes('mutation { withdrawCase(number: "A2") { status } }') == ["CASE_NOT_FOUND"]
    assert scj.data('{ case(number: "A2") { number } }') == {"case": None}
    results = scj.data("""mutation($e: [ReportedEventInput!]!) { reportCaseEvents(events: $e) { status code } }""",
                       {"e": [{"sourceEventId": "x-1", "caseNumber": "A2", "action": "COMPLETE",
                               "occurredAt": (T0 + timedelta(hours=30)).isoformat(),
                               "attributes": {"result": "approved"}}]})["reportCaseEvents"]
    assert results == [{"status": "refused", "code": "CASE_NOT_FOUND"}]
    assert ledger_rows(engine) == before
    api.login("supervisor")
    assert api.data('{ case(number: "A2") { status } }')["case"]["status"] == "ACCEPTED"


def test_department_system_sees_phones_masked_and_unrecorded(api, engine):
    case = keyed(api, api.keys["apikey"]).data('{ case(number: "A1") { applicantPhone } }')["case"]
    assert case == {"applicantPhone": "139****5678"}
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(PersonalDataRead)) == 0


# ----------------------------------------------------------------------------- request limits


INTROSPECTION = "{ __schema { queryType { name } } }"


def test_introspection_is_off_for_the_public_in_production(api, sms, monkeypatch):
    assert api.data(INTROSPECTION)["__schema"]["queryType"]["name"] == "Query"   # development: on for all
    applicant = applicant_token(api, sms)
    monkeypatch.setattr(get_settings(), "environment", "production")
    assert api.error_codes(INTROSPECTION) == ["INTROSPECTION_DISABLED"]
    assert api.error_codes('{ __type(name: "Case") { name } }') == ["INTROSPECTION_DISABLED"]
    assert api.error_codes("{ _service { sdl } }") == ["INTROSPECTION_DISABLED"]
    assert api.error_codes(INTROSPECTION, token=applicant) == ["INTROSPECTION_DISABLED"]
    assert api.error_codes(INTROSPECTION, token="forged") == ["INTROSPECTION_DISABLED"]
    # Answers are still given, __typename included.
    assert api.data("{ __typename overview { centers { code } } }")["__typename"] == "Query"
    api.login("supervisor")
    assert api.data(INTROSPECTION)["__schema"]["queryType"]["name"] == "Query"
    assert "type Case" in api.data("{ _service { sdl } }")["_service"]["sdl"]
    assert keyed(api, api.keys["apikey"]).data(INTROSPECTION)["__schema"]


NODE = "number status light dueAt item { code name } department { code } clock { dueAt light } steps { seq name }"


def test_expensive_queries_are_refused_before_running(api):
    api.login("supervisor")
    wide = "{ " + " ".join(f"a{i}: cases(first: 100) {{ edges {{ node {{ {NODE} }} }} }}" for i in range(12)) + " }"
    failure = error(api(wide))
    assert failure["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert failure["extensions"]["cost"] > failure["extensions"]["maxCost"] == 20_000
    # The page size comes from the variables too; small pages of the same shape pass.
    by_variable = "query($n: Int) { " + " ".join(
        f"a{i}: cases(first: $n) {{ edges {{ node {{ {NODE} }} }} }}" for i in range(12)) + " }"
    assert api.error_codes(by_variable, {"n": 100}) == ["QUERY_TOO_COMPLEX"]
    assert len(api.data(by_variable, {"n": 2})["a0"]["edges"]) == 2
    # Fragments are priced where they are spread.
    fragment = ("fragment F on Case { " + NODE + " } { " +
                " ".join(f"a{i}: cases {{ edges {{ node {{ ...F }} }} }}" for i in range(12)) + " }")
    assert api.error_codes(fragment) == ["QUERY_TOO_COMPLEX"]
    assert api.error_codes("{ cases(first: 5000) { totalCount } }") == ["PAGE_TOO_LARGE"]


def test_huge_documents_are_refused_before_parsing(api):
    failure = error(api("{ " + "__typename " * 20_000 + "}"))
    assert failure["extensions"]["code"] == "QUERY_TOO_LARGE" and "Syntax" not in failure["message"]
    assert api.error_codes("{ " + "a: __typename " * 16 + "}") == ["GRAPHQL_VALIDATION_FAILED"]   # aliases


# ----------------------------------------------------------------------------- the demo


@pytest.mark.slow
def test_demo_has_one_login_per_role(engine, fixed_time, sms):
    build_demo(engine, now=fixed_time.now(), cases=40, seed=7)
    listing = create_demo_accounts(engine)
    assert create_demo_accounts(engine) == listing   # idempotent
    assert [row["role"] for row in listing] == ["supervisor", "center_admin", "department_leader", "window_staff",
                                                "applicant", "department_system"]
    api = GraphQLClient(engine)
    for row in listing[:4]:
        api.login(row["username"], "demo")
        assert api.data("{ me { role } }")["me"]["role"] == row["role"].upper()
    assert keyed(api, DEMO_API_KEY).data("{ me { role } }")["me"]["role"] == "DEPARTMENT_SYSTEM"
    api.token = applicant_token(api, sms, DEMO_APPLICANT_PHONE)
    cases = api.data("{ cases { edges { node { number status } } } }")["cases"]["edges"]
    assert sorted((e["node"]["number"], e["node"]["status"]) for e in cases) == [
        ("QH-DEMO-0001", "ACCEPTED"), ("QH-DEMO-0002", "SUBMITTED")]
