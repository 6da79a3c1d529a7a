"""Supervision across deployments (issue 17, item 5), in one process on both engines: a city and a
county deployment, each its own database and its own app; the city replicates the county
(``models/counties``, pulled over the county's real routes) and its supervisors urge and order on
the county's cases through ``superviseCountyCase``, delivered by the relay to the county's API
with the service key the county issued (``city_key``) and the command's own Idempotency-Key.

What users rely on: the command is not applied to the city's read-only copy; the county acts on
it exactly once however often it is sent (a lost answer, a relay that sends again); a county that
is down is retried with back-off; a refused key and an unknown county are clear errors; the
county's staff are told by its own outbox; the urge comes back to the city through the verified
replica (confirmed, then replied); the city's key does nothing at the county but urge and order on
the county's own cases (decision 9).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.access.city_key import CityKey, issue_city_key
from esupervision.models.access.scope import Role
from esupervision.models.access.account import create_account
from esupervision.models.catalogue.catalogue import (Center, CenterLevel, ItemSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff, create_window)
from esupervision.models.cases.report import CaseAction
from esupervision.models.clocks import timesource
from esupervision.models.counties.sync import CountyUnreachable, pull, register
from esupervision.models.ledger.ledger import signer_from_settings
from esupervision.models.ledger.transaction import transaction
from esupervision.models.ledger.tree import sign_heads
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.county_commands import CountyCommand, set_credential
from esupervision.models.supervision.orders import Urge
from esupervision.settings import get_settings
from esupervision.workers.county_commands import CountyCommandRelay
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)     # a Thursday, a working day
TOKEN = "replication-token-for-tests-0123456789"
STAFF_PHONE = "13800000021"
SUPERVISE = """mutation($i: CountyCommandInput!) { superviseCountyCase(input: $i) {
  number countyCode kind caseNumber status outcome attempts countyNumber lastError { code message } } }"""
COMMANDS = """{ countyCommands { edges { node { number status countyNumber confirmedSeq reply attempts
  lastError { code } } } } }"""


@pytest.fixture
def county_engine(second_engine: Engine) -> Engine:
    """The county's own deployment: a second database of the same engine (tests/conftest.py)."""
    return second_engine


def build_county(engine: Engine) -> None:
    """东县 (X2) on its own: its center, a township under it, a department with a window, its
    staff member with a phone, an item, a supervisor and a window account, and one case."""
    with transaction(engine, actor="test") as tx:
        county = create_center(tx, code="X2", name="东县行政服务中心", level=CenterLevel.COUNTY)
        create_center(tx, code="X2-T1", name="东县城关镇便民服务中心", level=CenterLevel.TOWNSHIP, parent_code="X2")
        market = create_department(tx, center=county, code="SCJ", name="东县市场监督管理局")
        window = create_window(tx, center=county, department=market, code="W01", name="1号窗口")
        create_staff(tx, center=county, code="S21", name="李县", department=market, window=window, phone=STAFF_PHONE)
        create_item(tx, center=county, spec=ItemSpec(
            code="X2-SCJ-001", name="食品经营许可", department_code="SCJ", legal_days=20, committed_days=5,
            steps=[StepSpec("受理", 1), StepSpec("决定", 4)]))
    with Session(engine) as s:
        center = s.scalars(select(Center).where(Center.code == "X2")).one()
        from esupervision.models.catalogue.catalogue import Window
        window_row = s.scalars(select(Window).where(Window.code == "W01")).one()
        create_account(s, username="x2-w01", password="demo", role=Role.WINDOW_STAFF, display_name="县1号窗口",
                       now=timesource.now(), center_id=center.id, department_id=window_row.department_id,
                       window_id=window_row.id)
        s.commit()
    report(engine, event("X2-0001", CaseAction.ACCEPT, T0, center_code="X2", item_code="X2-SCJ-001",
                         window_code="W01", applicant_name="周强"))


def sign(engine: Engine) -> None:
    with Session(engine) as s:
        sign_heads(s, signer_from_settings(), now=timesource.now())
        s.commit()


class Deployments:
    """The city (``engine``) and the county (``county_engine``), each with its own app."""

    def __init__(self, city_engine: Engine, county_engine: Engine) -> None:
        self.city_engine, self.county_engine = city_engine, county_engine
        self.city = GraphQLClient(city_engine)
        self.county = GraphQLClient(county_engine)
        self.down = False
        self.lose_answers = 0

    def fetch(self, path: str, params: dict[str, Any]) -> Any:
        if self.down:
            raise CountyUnreachable("county down")
        answer = self.county.http.get(path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
        if answer.status_code != 200:
            raise CountyUnreachable(f"HTTP {answer.status_code}")
        return answer.json()

    def post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        """The relay's transport to the county's app: the URL's path on the county's own app."""
        assert url == "http://x2.example/graphql", url
        if self.down:
            raise httpx.ConnectError("connection refused")
        answer = self.county.http.post("/graphql", json=body, headers=headers)
        if self.lose_answers:   # the county acted; its answer never reached the city
            self.lose_answers -= 1
            raise httpx.ReadError("connection reset")
        return answer.status_code, answer.json()

    def sync(self) -> None:
        sign(self.county_engine)
        result = pull(self.city_engine, "X2", self.fetch)
        assert result.status == "live", result

    def relay(self) -> CountyCommandRelay:
        return CountyCommandRelay(self.city_engine, get_settings(), post=self.post)

    def county_count(self, model: Any, *conditions: Any) -> int:
        with Session(self.county_engine) as s:
            return s.scalar(select(func.count()).select_from(model).where(*conditions))

    def city_commands(self) -> list[dict[str, Any]]:
        return [e["node"] for e in self.city.data(COMMANDS)["countyCommands"]["edges"]]


@pytest.fixture
def both(engine: Engine, county_engine: Engine, fixed_time, monkeypatch) -> Iterator[Deployments]:
    monkeypatch.setenv("ESV_REPLICATION_TOKEN", TOKEN)
    get_settings.cache_clear()
    fixed_time.set(T0 + timedelta(hours=1))
    build_county(county_engine)
    build_city(engine)
    create_accounts(engine)
    sides = Deployments(engine, county_engine)
    with Session(county_engine) as s:
        _, sides.city_key = issue_city_key(s, center_code="X2", name="市监察局", now=timesource.now())
        s.commit()
    with transaction(engine, actor="test") as tx:
        register(tx, code="X2", url="http://x2.example", public_key=signer_from_settings().verifier().text(),
                 token=TOKEN, name="东县")
    sides.sync()
    sides.city.login("supervisor")
    try:
        yield sides
    finally:
        get_settings.cache_clear()


def credential(sides: Deployments, key: str | None = None) -> None:
    with transaction(sides.city_engine, actor="test") as tx:
        set_credential(tx.session, county_code="X2", key=key or sides.city_key, settings=tx.settings, now=tx.now)


def test_an_urge_from_the_city_is_queued_delivered_once_and_confirmed_by_the_replica(both: Deployments,
                                                                                    fixed_time) -> None:
    credential(both)
    answer = both.city.data(SUPERVISE, {"i": {"caseNumber": "X2-0001", "message": "请尽快办理", "replyDays": 1}})
    command = answer["superviseCountyCase"]
    # Queued for the county, not applied to the city's read-only copy (issue 17, item 5).
    assert command["status"] == "QUEUED" and command["countyCode"] == "X2"
    assert "待送达县区 X2" in command["outcome"] and "未在市级副本上执行" in command["outcome"]
    with Session(both.city_engine) as s:
        assert s.scalar(select(func.count()).select_from(Urge)) == 0

    # The county's answer is lost on the first attempt: the relay sends again, with the same key.
    both.lose_answers = 1
    relay = both.relay()
    relay.run_once()
    assert both.city_commands()[0]["status"] == "QUEUED"
    fixed_time.advance(seconds=61)   # past the lease and the first back-off
    relay.run_once()
    [row] = both.city_commands()
    assert row["status"] == "DELIVERED" and row["attempts"] == 2 and row["countyNumber"].startswith("CB-X2-")
    # Acted on once at the county, and its staff told once, by its own outbox.
    assert both.county_count(Urge) == 1
    assert both.county_count(Notice, Notice.template == "urge", Notice.recipient_kind == "staff") == 1
    with Session(both.county_engine) as s:
        urge = s.scalars(select(Urge)).one()
        assert urge.message == "市级监察：请尽快办理" and urge.created_by.startswith("apikey:")

    # The urge comes back through the verified replica: confirmed with its seq in the county's log.
    both.sync()
    relay.run_once()
    [row] = both.city_commands()
    assert row["status"] == "CONFIRMED" and row["confirmedSeq"] > 0

    # The county's window answers it there; the reply reaches the city the same way.
    both.county.login("x2-w01")
    both.county.data('mutation($n: String!) { replyToUrge(input: {urgeNumber: $n, reply: "已加快审查"}) { number } }',
                     {"n": row["countyNumber"]})
    both.sync()
    relay.run_once()
    [row] = both.city_commands()
    assert row["status"] == "REPLIED" and row["reply"] == "已加快审查"
    assert both.county_count(Urge) == 1


def test_a_county_that_is_down_is_retried_with_back_off_and_an_order_lands_once(both: Deployments,
                                                                                fixed_time) -> None:
    credential(both)
    both.city.data(SUPERVISE, {"i": {"caseNumber": "X2-0001", "kind": "ORDER", "message": "限期说明超时原因",
                                     "replyDays": 2}})
    both.down = True
    relay = both.relay()
    relay.run_once()
    [row] = both.city_commands()
    assert row["status"] == "QUEUED" and row["lastError"]["code"] == "UNAVAILABLE"
    with Session(both.city_engine) as s:
        first = s.scalars(select(CountyCommand)).one()
        assert (first.next_attempt_at - timesource.now()).total_seconds() == pytest.approx(2.0)
    relay.run_once()    # not due yet: nothing sent
    assert both.city_commands()[0]["attempts"] == 1
    fixed_time.advance(seconds=3)
    relay.run_once()
    with Session(both.city_engine) as s:
        second = s.scalars(select(CountyCommand)).one()
        assert second.attempts == 2 and (second.next_attempt_at - timesource.now()).total_seconds() == pytest.approx(4.0)
    both.down = False
    fixed_time.advance(seconds=5)
    relay.run_once()
    relay.run_once()
    assert both.city_commands()[0]["status"] == "DELIVERED"
    from esupervision.models.supervision.orders import SupervisionOrder
    assert both.county_count(SupervisionOrder) == 1


def test_clear_errors_unknown_county_missing_or_refused_key(both: Deployments, fixed_time) -> None:
    # A case of the city's own deployment is urged directly, not through a county.
    report(both.city_engine, event("C-1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001",
                                   window_code="W01", applicant_name="李华"))
    assert both.city.error_codes(SUPERVISE, {"i": {"caseNumber": "C-1", "message": "快"}}) == ["COMMAND_COUNTY_UNKNOWN"]
    assert both.city.error_codes(SUPERVISE, {"i": {"caseNumber": "NOPE", "message": "快"}}) == ["CASE_NOT_FOUND"]
    # No key of the county's at the city yet: said at once, nothing queued.
    body = both.city(SUPERVISE, {"i": {"caseNumber": "X2-0001", "message": "快"}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COMMAND_CREDENTIAL_MISSING"]
    assert "esv counties credential X2" in body["errors"][0]["message"]
    # The city's own urge mutation refuses the county's read-only case, naming the way that works.
    body = both.city('mutation { urge(input: {caseNumber: "X2-0001", message: "快"}) { number } }')
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COUNTY_CASE_READ_ONLY"]
    assert "superviseCountyCase" in body["errors"][0]["message"]

    # The county revokes the key: the command is refused with the reason, and goes once a new key is set.
    credential(both)
    with Session(both.county_engine) as s:
        s.execute(update(CityKey).values(revoked_at=timesource.now()))
        s.commit()
    both.city.data(SUPERVISE, {"i": {"caseNumber": "X2-0001", "message": "快"}})
    relay = both.relay()
    relay.run_once()
    [row] = both.city_commands()
    assert row["status"] == "REFUSED" and row["lastError"]["code"] == "COMMAND_CREDENTIAL_REFUSED"
    assert both.county_count(Urge) == 0
    with Session(both.county_engine) as s:
        _, fresh = issue_city_key(s, center_code="X2", name="市监察局（新）", now=timesource.now())
        s.commit()
    credential(both, fresh)
    relay.run_once()
    assert both.city_commands()[0]["status"] == "DELIVERED"
    assert both.county_count(Urge) == 1


def test_the_city_key_urges_and_orders_the_countys_cases_and_does_nothing_else(both: Deployments) -> None:
    # Decision 9: the supervision office never changes what it supervises; at the county its key
    # urges and orders on the county's cases (and its townships'), and reads nothing.
    county = both.county
    key = both.city_key
    made = county.data('mutation { urge(input: {caseNumber: "X2-0001", message: "快"}) { number } }', api_key=key)
    assert made["urge"]["number"].startswith("CB-X2-")
    for call in ('mutation { advanceCase(number: "X2-0001") { status } }',
                 'mutation { completeCase(number: "X2-0001", result: APPROVED) { status } }'):
        assert county.error_codes(call, api_key=key) == ["FORBIDDEN"], call
    assert county.error_codes('{ case(number: "X2-0001") { number } }', api_key=key) == ["FORBIDDEN"]
    # Only cases (and their steps): not a department, even the county's own.
    with Session(both.county_engine) as s:
        from esupervision.models.catalogue.catalogue import Department
        department = s.scalars(select(Department).where(Department.code == "SCJ")).one()
    assert county.error_codes('mutation($d: ID!) { urge(input: {departmentId: $d, message: "快"}) { number } }',
                              {"d": str(department.id)}, api_key=key) == ["FORBIDDEN"]
    assert both.county_count(Urge) == 1
