"""The city's verified copy of a county deployment's ledger (issue 17, items 2–4), in one process:
the county is a second database with its own signing key, the transport the county's own route
functions with the JSON round trip HTTP gives them (the real HTTP is test_deployments.py's).

What users rely on: the city ends with the county's events once each, projected (cases, the
statistics rollup) as the county has them, under the city's center; a pull resumes where the last
stopped; the county's records are read-only at the city; a bad signature, a rewritten or truncated
history is a DIVERGED county with the first differing seq, its copy kept and the supervisors told.
"""
from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.api.replication import events_page
from esupervision.models.access.account import create_account
from esupervision.models.access.scope import Role
from esupervision.models.cases.case import Case
from esupervision.models.cases.report import CaseAction
from esupervision.models.catalogue.catalogue import (Center, CenterLevel, ItemSpec, StepSpec, create_center,
                                                     create_department, create_item, create_staff, create_window)
from esupervision.models.counties.link import CountyChain, CountyHead, CountyLink, ReplicationStatus, replica_center
from esupervision.models.counties.replica import catalogue_document
from esupervision.models.counties.sync import pull, register
from esupervision.models.counties.verify import ReplicaFork, Tip, check_page
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.audit import audit
from esupervision.models.ledger.checkpoint import Signer
from esupervision.models.ledger.ledger import (LedgerEvent, LedgerHead, LedgerTreeHead, LedgerTreeNode, chain_hash,
                                               event_body)
from esupervision.models.ledger.transaction import transaction
from esupervision.models.ledger.tree import sign_heads
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.rollup import StatisticsDay
from tests.builders import apply, event, report

CODE = "QH-DP"
AT = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def _at(days: float) -> datetime:
    return datetime(2026, 11, 16, 1, 30, tzinfo=timezone.utc) + timedelta(days=days)


@pytest.fixture
def county(second_engine: Engine) -> Engine:
    """The county's own deployment: a second database of the same engine (tests/conftest.py)."""
    return second_engine


@pytest.fixture
def signer() -> Signer:
    return Signer.from_seed("esupervision", base64.b64encode(os.urandom(32)).decode())


def build_county(county: Engine) -> None:
    """The county's deployment: its center, a township, a department with a window and an item."""
    with transaction(county, now=_at(0), actor="test") as tx:
        center = create_center(tx, code=CODE, name="东坪县行政服务中心", level=CenterLevel.COUNTY)
        create_center(tx, code=f"{CODE}-T1", name="东坪县东坪镇便民服务中心", level=CenterLevel.TOWNSHIP,
                      parent_code=CODE)
        dept = create_department(tx, center=center, code="SCJ", name="东坪县市场监督管理局")
        window = create_window(tx, center=center, department=dept, code="W01", name="1号窗口")
        create_staff(tx, center=center, code="S01", name="王敏", department=dept, window=window)
        create_item(tx, center=center, spec=ItemSpec(code="SCJ-001", name="食品经营许可", department_code="SCJ",
                                                     legal_days=20, committed_days=5,
                                                     steps=[StepSpec("受理", 1), StepSpec("审查", 4)]))


def report_cases(county: Engine, first: int, count: int, *, complete: bool = True) -> None:
    for n in range(first, first + count):
        number = f"{CODE}-{n:04d}"
        events = [event(number, CaseAction.ACCEPT, _at(1 + n / 100), center_code=CODE, item_code="SCJ-001",
                        window_code="W01", staff_code="S01", applicant_name="李华")]
        if complete and n % 2:
            events.append(event(number, CaseAction.COMPLETE, _at(2 + n / 100), attributes={"result": "approved"}))
        report(county, *events, source="dept:county-test")


def sign(county: Engine, signer: Signer, at: float = 5) -> None:
    with Session(county) as session:
        sign_heads(session, signer, now=_at(at))
        session.commit()


def fetch_from(county: Engine) -> Any:
    """The county's routes as the city reads them: the same documents, through JSON."""
    def fetch(path: str, params: dict[str, Any]) -> Any:
        with Session(county) as session:
            if path == "/replication/catalogue":
                document: Any = catalogue_document(session)
            else:
                document = events_page(session, uuid.UUID(path.split("/")[2]), params["after"], params["limit"])
        return orjson.loads(orjson.dumps(document))
    return fetch


def build_city(engine: Engine, signer: Signer) -> None:
    """The city's center, a supervisor with a phone (who is told of a fork), the county registered."""
    with transaction(engine, now=_at(0), actor="test") as tx:
        city = create_center(tx, code="QH", name="清河市行政服务中心", level=CenterLevel.CITY)
        staff = create_staff(tx, center=city, code="JC01", name="李监察", phone="13900000001")
        tx.session.flush()
        create_account(tx.session, username="sup", password="supervise-1234", role=Role.SUPERVISOR,
                       display_name="监察室", now=_at(0), staff_id=staff.id)
        register(tx, code=CODE, url="http://county.invalid", public_key=signer.verifier().text())


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _statistics(engine: Engine, center_code: str) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        center_id = session.scalar(select(Center.id).where(Center.code == center_code))
        return sorted(session.execute(select(StatisticsDay.day, StatisticsDay.level, StatisticsDay.received,
                                             StatisticsDay.accepted, StatisticsDay.completed)
                                      .where(StatisticsDay.center_id == center_id)).all())


def _link(engine: Engine) -> CountyLink:
    with Session(engine) as session:
        return session.scalars(select(CountyLink).where(CountyLink.code == CODE)).one()


def test_the_city_copies_each_event_once_and_projects_it_as_the_county_has_it(engine, county, signer, fixed_time):
    build_county(county)
    report_cases(county, 1, 12)
    sign(county, signer)
    build_city(engine, signer)
    result = pull(engine, CODE, fetch_from(county), page=7)   # pages of 7: resumed by seq, page after page
    county_events = _count(county, LedgerEvent)
    assert result.status == "live" and result.events == county_events
    assert _count(engine, LedgerEvent, LedgerEvent.center_id.in_(select(CountyChain.center_id))) == county_events
    with Session(county) as c, Session(engine) as city:
        theirs = {r.id: (r.number, r.status, r.center_id) for r in c.scalars(select(Case))}
        ours = {r.id: (r.number, r.status, r.center_id) for r in city.scalars(select(Case))}
        assert ours == theirs
        # The county's center sits under the city's center, marked as the county's.
        county_center = city.scalars(select(Center).where(Center.code == CODE)).one()
        assert county_center.parent_id == city.scalar(select(Center.id).where(Center.code == "QH"))
        assert replica_center(city, county_center.id).code == CODE
    # Statistics grouped by center: the county center's rows at the city are the county's own.
    assert _statistics(engine, CODE) == _statistics(county, CODE) != []
    # Pulled again: nothing new, nothing twice.
    again = pull(engine, CODE, fetch_from(county))
    assert again.events == 0 and _count(engine, LedgerEvent, LedgerEvent.center_id.in_(
        select(CountyChain.center_id))) == county_events
    # More cases at the county: the next pull goes on from the last seq.
    report_cases(county, 13, 5)
    sign(county, signer, at=6)
    assert pull(engine, CODE, fetch_from(county), page=4).events == _count(county, LedgerEvent) - county_events
    assert _statistics(engine, CODE) == _statistics(county, CODE)
    with Session(engine) as session:
        # The city's own ledger check accounts for every replicated row: no breach, no difference.
        checked = audit(session, signer.verifier())
        assert checked.differences == []
        assert [b for b in checked.breaches if b.center_id in set(session.scalars(select(CountyChain.center_id)))] == []
        assert session.scalar(select(func.count()).select_from(CountyHead)) >= 2
    assert _link(engine).status(fixed_time.now()) is ReplicationStatus.LIVE


def test_a_replicated_case_is_read_only_at_the_city(engine, county, signer, fixed_time):
    build_county(county)
    report_cases(county, 1, 2, complete=False)
    sign(county, signer)
    build_city(engine, signer)
    pull(engine, CODE, fetch_from(county))
    with pytest.raises(DomainError) as refused:
        apply(engine, event(f"{CODE}-0001", CaseAction.COMPLETE, _at(3), attributes={"result": "approved"}))
    assert refused.value.code is ErrorCode.COUNTY_READ_ONLY
    with Session(engine) as session:
        assert session.scalars(select(Case).where(Case.number == f"{CODE}-0001")).one().status != "completed"


def test_a_head_signed_with_another_key_is_a_divergence(engine, county, signer, fixed_time):
    build_county(county)
    report_cases(county, 1, 3)
    sign(county, Signer.from_seed("esupervision", base64.b64encode(os.urandom(32)).decode()))
    build_city(engine, signer)
    result = pull(engine, CODE, fetch_from(county))
    assert result.status == "diverged"
    assert _count(engine, Case) == 0   # nothing unverified projected
    assert _link(engine).status(fixed_time.now()) is ReplicationStatus.DIVERGED


def _rewrite(county: Engine, signer: Signer, center_code: str, seq: int, *, cut: bool = False) -> None:
    """What a county's database administrator could do: change event ``seq`` (or cut the chain
    before it), re-hash what follows, rebuild the tree and sign a new head with the county's key."""
    with Session(county) as session:
        center_id = session.scalar(select(Center.id).where(Center.code == center_code))
        if cut:
            session.execute(delete(LedgerEvent).where(LedgerEvent.center_id == center_id, LedgerEvent.seq >= seq))
        rows = list(session.scalars(select(LedgerEvent).where(LedgerEvent.center_id == center_id)
                                    .order_by(LedgerEvent.seq)))
        prev = rows[seq - 2].hash if seq > 1 else "0" * 64
        for row in rows[seq - 1:]:
            if row.seq == seq:
                row.data = {**row.data, "applicant_name": "改写"}
            row.prev_hash, row.hash = prev, chain_hash(prev, event_body(row))
            prev = row.hash
        session.execute(update(LedgerHead).where(LedgerHead.center_id == center_id)
                        .values(seq=len(rows), hash=prev, frontier=""))
        session.execute(delete(LedgerTreeNode).where(LedgerTreeNode.center_id == center_id))
        session.execute(delete(LedgerTreeHead).where(LedgerTreeHead.center_id == center_id))
        session.commit()
    sign(county, signer, at=7)


@pytest.mark.parametrize("cut", [False, True], ids=["rewritten", "truncated"])
def test_a_county_that_rewrites_or_cuts_its_history_is_diverged_at_the_first_differing_seq(
        engine, county, signer, fixed_time, cut):
    build_county(county)
    report_cases(county, 1, 6)
    sign(county, signer)
    build_city(engine, signer)
    pull(engine, CODE, fetch_from(county))
    copied = _count(engine, LedgerEvent, LedgerEvent.center_id.in_(select(CountyChain.center_id)))
    with Session(county) as session:
        size = session.scalar(select(LedgerHead.seq).join(Center, Center.id == LedgerHead.center_id)
                              .where(Center.code == CODE))
    _rewrite(county, signer, CODE, size - 3, cut=cut)
    report_cases(county, 7, 2)   # the county goes on writing after it
    sign(county, signer, at=8)
    result = pull(engine, CODE, fetch_from(county))
    link = _link(engine)
    assert result.status == "diverged" and link.diverged_seq == size - 3
    assert link.status(fixed_time.now()) is ReplicationStatus.DIVERGED
    # The verified copy is kept; nothing after the fork is projected, now or at later pulls.
    assert _count(engine, LedgerEvent, LedgerEvent.center_id.in_(select(CountyChain.center_id))) == copied
    pull(engine, CODE, fetch_from(county))
    assert _count(engine, Case, Case.number == f"{CODE}-0007") == 0
    # The supervisors are told by SMS (the outbox), naming the county and the seq.
    with Session(engine) as session:
        notices = list(session.scalars(select(Notice).where(Notice.template == "ledger_breach")))
    assert len(notices) == 1 and f"第{size - 3}条" in notices[0].params["first"]


def test_a_page_that_repeats_or_skips_an_event_is_refused():
    """check_page: each event must be the next position of the copy (no duplicate, no gap)."""
    from esupervision.models.ledger.checkpoint import TreeHead
    from esupervision.models.ledger.ledger import canonical_json, chain_digest, event_leaf
    from esupervision.models.ledger.merkle import root_of

    center = str(uuid.uuid4())
    events, prev = [], "0" * 64
    for seq in (1, 2):
        body = {"center_id": center, "seq": seq, "kind": "k", "data": {}}
        digest = chain_digest(prev, canonical_json(body)).hex()
        events.append({"seq": seq, "prev_hash": prev, "hash": digest, "body": body})
        prev = digest
    head = TreeHead(f"esupervision/ledger/{center}", 2, root_of([event_leaf(e["hash"]) for e in events]), AT)
    assert check_page(center, Tip(), head, events, []).size == 2
    with pytest.raises(ReplicaFork) as repeated:
        check_page(center, Tip(), head, [events[0], events[0], events[1]], [])
    assert repeated.value.seq == 2
    with pytest.raises(ReplicaFork) as skipped:
        check_page(center, Tip(), head, [events[1]], [])
    assert skipped.value.seq == 1


def test_supervisors_see_each_county_and_its_center_in_city_wide_statistics(engine, county, signer, fixed_time):
    from tests.gql import GraphQLClient

    build_county(county)
    report_cases(county, 1, 8)
    sign(county, signer)
    build_city(engine, signer)
    gql = GraphQLClient(engine)
    gql.login("sup", "supervise-1234")
    query = "{ counties { code name status lastSequence lastHeadAt lagSeconds firstDivergedSequence centerId } }"
    assert gql.data(query)["counties"][0]["status"] == "STALE"   # registered, never pulled yet
    pull(engine, CODE, fetch_from(county))
    county_row = gql.data(query)["counties"][0]
    assert county_row["code"] == CODE and county_row["status"] == "LIVE"
    assert county_row["name"] == "东坪县行政服务中心"
    assert county_row["lastSequence"] == _count(county, LedgerEvent) and county_row["lagSeconds"] == 0
    # Statistics grouped by center (《行政许可法》第四十二条 timeliness counts) include the county's center,
    # with the totals the county's own statistics give.
    statistics = ("query($c: ID) { statistics(from: \"2026-11-01\", to: \"2026-11-30\", groupBy: CENTER, centerId: $c)"
                  " { rows { keyCode received accepted completed } } }")
    city_rows = {r["keyCode"]: r for r in gql.data(statistics)["statistics"]["rows"]}
    county_gql = GraphQLClient(county)
    with Session(county) as session:
        create_account(session, username="county-sup", password="supervise-1234", role=Role.SUPERVISOR,
                       display_name="县监察室", now=fixed_time.now())
        session.commit()
    county_gql.login("county-sup", "supervise-1234")
    own = {r["keyCode"]: r for r in county_gql.data(statistics)["statistics"]["rows"]}
    assert city_rows[CODE] == own[CODE] and own[CODE]["accepted"] == 8
    # Filtered by the county's center at the city: its cases alone.
    by_center = gql.data(statistics, {"c": county_row["centerId"]})["statistics"]["rows"]
    assert {r["keyCode"] for r in by_center} - {None} == {CODE}
    # The cases query at the city, filtered by the county's center: the county's cases, as it has them.
    cases = gql.data("query($c: [ID!]) { cases(filter: {centerIds: $c}) { totalCount edges { node { number } } } }",
                     {"c": [county_row["centerId"]]})["cases"]
    assert cases["totalCount"] == 8 and {e["node"]["number"] for e in cases["edges"]} == {
        f"{CODE}-{n:04d}" for n in range(1, 9)}
    # Only the supervision office sees the counties.
    gql.as_public()
    assert gql.error_codes(query) == ["UNAUTHENTICATED"]


def test_a_county_that_does_not_answer_is_stale_and_caught_up_when_it_returns(engine, county, signer, fixed_time):
    from esupervision.models.counties.sync import CountyUnreachable

    build_county(county)
    report_cases(county, 1, 4)
    sign(county, signer)
    build_city(engine, signer)
    pull(engine, CODE, fetch_from(county))
    copied = _count(engine, Case)

    def down(path: str, params: dict[str, Any]) -> Any:
        raise CountyUnreachable("ConnectError: connection refused")

    report_cases(county, 5, 3)
    sign(county, signer, at=6)
    fixed_time.advance(minutes=1)
    result = pull(engine, CODE, down)
    link = _link(engine)
    assert result.status == "stale" and link.failures == 1 and "refused" in link.last_error
    assert link.status(fixed_time.now()) is ReplicationStatus.STALE and link.lag_seconds(fixed_time.now()) == 60
    assert _count(engine, Case) == copied   # the replica still answers
    assert pull(engine, CODE, fetch_from(county)).status == "live"
    assert _count(engine, Case) == _count(county, Case) == copied + 3
    assert _link(engine).failures == 0


def test_the_county_checked_against_what_the_city_verified_names_the_same_first_seq(engine, county, signer,
                                                                                    fixed_time, tmp_path):
    """Item 4: the county's own ledger check, with the city as its witness, reports the breach."""
    from esupervision.models.counties.replica import witnessed_heads
    from esupervision.models.ledger.ledger import verify_chains
    from esupervision.witness import DirectoryWitness

    build_county(county)
    report_cases(county, 1, 6)
    sign(county, signer)
    build_city(engine, signer)
    pull(engine, CODE, fetch_from(county))
    with Session(county) as session:
        size = session.scalar(select(LedgerHead.seq).join(Center, Center.id == LedgerHead.center_id)
                              .where(Center.code == CODE))
    _rewrite(county, signer, CODE, size - 2)
    pull(engine, CODE, fetch_from(county))
    witness = DirectoryWitness(tmp_path / "city-as-witness")
    with Session(engine) as session:
        for origin, head_size, note, leaves in witnessed_heads(session, _link(engine).id):
            witness.publish(origin, head_size, note, leaves)
    with Session(county) as session:
        breaches = [b for report in verify_chains(session, signer.verifier(), witness=witness)
                    for b in report.breaches]
    assert breaches and min(b.seq for b in breaches) == _link(engine).diverged_seq == size - 2


def test_a_county_light_change_reaches_the_city_live_channel(engine, county, signer, fixed_time):
    """lightChanged at the city includes the counties: a replicated light event is announced with
    the city's ledger id as its cursor."""
    from esupervision.api.schema.subscription import LightChange
    from esupervision.models.ledger import transaction as tx_module
    from esupervision.workers.lights import announce_due

    build_county(county)
    report_cases(county, 1, 2, complete=False)
    with transaction(county, actor="system:lights") as tx:   # at the county: its cases went red by now
        assert announce_due(tx) > 0
    sign(county, signer, at=9.5)
    build_city(engine, signer)
    heard: list[tuple[str, dict[str, Any]]] = []
    tx_module.set_publisher(lambda topic, message: heard.append((topic, message)))
    pull(engine, CODE, fetch_from(county))
    changes = [LightChange.from_message(m, public=False) for topic, m in heard if topic == "light.changed"]
    with Session(engine) as session:
        recorded = set(session.scalars(select(LedgerEvent.id).where(LedgerEvent.kind.like("light.%"))))
    assert changes and {int(c.ledger_id) for c in changes} == recorded
    assert {c.number for c in changes} >= {f"{CODE}-0001", f"{CODE}-0002"}


def test_the_raw_events_route_wants_the_county_s_replication_token(county, signer, fixed_time, monkeypatch):
    """Events carry applicants' names and ID numbers: only the city holding the token reads them."""
    from starlette.testclient import TestClient

    from esupervision.api.app import create_app
    from esupervision.settings import get_settings

    build_county(county)
    report_cases(county, 1, 1)
    sign(county, signer)
    path = f"/ledger/{CODE}/events?after=0&limit=10"
    http = TestClient(create_app(county))
    assert http.get(path).status_code == 404          # ESV_REPLICATION_TOKEN unset: not served
    monkeypatch.setenv("ESV_REPLICATION_TOKEN", "county-secret")
    get_settings.cache_clear()
    assert http.get(path).status_code == 401
    assert http.get(path, headers={"Authorization": "Bearer guess"}).status_code == 401
    assert http.get("/replication/catalogue").status_code == 401
    served = http.get(path, headers={"Authorization": "Bearer county-secret"}).json()
    assert [e["seq"] for e in served["events"]] == list(range(1, served["size"] + 1))[:10]
    assert served["checkpoint"].startswith("esupervision/ledger/")
