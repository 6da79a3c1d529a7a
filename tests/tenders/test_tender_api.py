"""The GraphQL contract for tenders: sealed bids for every role, reads recorded after the opening,
the tender with its stages, lights and legal basis, filters and pagination, stage mutations and
``reportTenderEvents``."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.api.tokens import issue_access_token
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role, Viewer
from esupervision.models.access.apikey import create_api_key
from esupervision.models.access.audit import PersonalDataRead
from esupervision.models.catalogue.catalogue import Center, Department
from tests.gql import GraphQLClient
from tests.tenders.test_tender import BIDDERS, COMMITTEE, DEADLINE, T0, build_tender_center, lifecycle, run

CODE = "ZB-2026-001"
PRICES = [str(int(p)) for _, _, p in BIDDERS] + [f"{p:.1f}" for _, _, p in BIDDERS]


@pytest.fixture
def api(engine, fixed_time):
    build_tender_center(engine)
    fixed_time.set(T0 + timedelta(days=12))
    run(engine, *lifecycle()[:6])        # published, four bids, a committee
    client = GraphQLClient(engine)
    now = fixed_time.now()
    with Session(engine) as s:
        zb = s.scalars(select(Center).where(Center.code == "C01-ZB")).one()
        jyzx = s.scalars(select(Department).where(Department.code == "JYZX")).one()
        zjj = s.scalars(select(Department).where(Department.code == "ZJJ")).one()
        zb_id, jyzx_id, zjj_id, zjj_center = zb.id, jyzx.id, zjj.id, zjj.center_id
        _, key = create_api_key(s, department=jyzx, name="交易平台", now=now)
        s.commit()
    viewers = {
        "supervisor": Viewer(role=Role.SUPERVISOR, username="sup"),
        "center_admin": Viewer(role=Role.CENTER_ADMIN, username="zb-admin", center_id=zb_id),
        "department_leader": Viewer(role=Role.DEPARTMENT_LEADER, username="zjj", department_id=zjj_id,
                                    center_id=zjj_center),
        "window_staff": Viewer(role=Role.WINDOW_STAFF, username="w", department_id=jyzx_id, center_id=zb_id),
        "applicant": Viewer(role=Role.APPLICANT, applicant_phone="13900001111"),
    }
    client.viewers = viewers
    client.key = key
    client.engine = engine
    return client


def as_role(api: GraphQLClient, role: str) -> dict:
    if role == "department_system":
        return {"api_key": api.key, "token": ""}
    if role == "public":
        return {"token": "", "api_key": ""}
    return {"token": issue_access_token(api.viewers[role], now=timesource.now())}


ROLES = ["supervisor", "center_admin", "department_leader", "department_system", "window_staff", "applicant", "public"]
SEALED_QUERIES = [
    f'{{ tender(code: "{CODE}") {{ bids {{ bidder price content }} }} }}',
    "{ tenders { edges { node { code bids { price } } } } }",
    f'{{ tender(code: "{CODE}") {{ history {{ kind data }} redFlags {{ code evidence }} }} }}',
]


@pytest.mark.parametrize("role", ROLES)
def test_nobody_reads_a_sealed_bid_before_the_opening(api, role):
    for query in SEALED_QUERIES:
        body = api(query, **as_role(api, role))
        text = json.dumps(body, ensure_ascii=False)
        assert not any(price in text for price in PRICES), (role, query, text)
        if "bids" in query:
            codes = {e["extensions"]["code"] for e in body.get("errors", [])}
            if role in ("supervisor", "center_admin", "department_leader", "department_system"):
                # Sealed bids read as an empty list, supervisors included (法 34: opened in public).
                assert not codes and "bids" in text and '"price"' not in text, (role, body)
            else:
                assert codes and codes <= {"FORBIDDEN", "UNAUTHENTICATED"}, (role, body)


def test_after_the_opening_bids_are_read_and_every_read_recorded(api, fixed_time):
    fixed_time.set(DEADLINE + timedelta(minutes=5))
    # The trading center's system opens the bids (DESIGN decision 9: supervision never does).
    opened = api.data(f'mutation {{ openBids(code: "{CODE}", occurredAt: "{DEADLINE.isoformat()}") {{ stage openedAt }} }}',
                      **as_role(api, "department_system"))["openBids"]
    assert opened["stage"] == "EVALUATION"
    bids = api.data(f'{{ tender(code: "{CODE}") {{ bids {{ bidderCode price content }} }} }}',
                    **as_role(api, "supervisor"))["tender"]["bids"]
    assert sorted(b["price"] for b in bids) == sorted(p for _, _, p in BIDDERS)
    with Session(api.engine) as s:
        reads = s.scalars(select(PersonalDataRead).where(PersonalDataRead.subject_type == "tender_bid")).all()
    assert len(reads) == 8 and {r.field for r in reads} == {"price", "content"}
    assert {r.actor for r in reads} == {"supervisor:sup"}
    # roles without a need still cannot
    assert api.error_codes(f'{{ tender(code: "{CODE}") {{ bids {{ price }} }} }}', **as_role(api, "window_staff")) == ["FORBIDDEN"]


def test_one_tender_with_stages_lights_and_legal_basis(api, fixed_time):
    # Two days before the deadline the bidding period is a floor (法 24): no countdown, no light,
    # its earliest lawful end shown; and nothing tells how many have bid (法 22).
    fixed_time.set(DEADLINE - timedelta(days=2))
    tender = api.data(f'''{{ tender(code: "{CODE}") {{ code title stage light bidCount bidsSealed
        stages {{ name kind periodKind dueAt scheduledEnd earliestEnd light legalBasis article }}
        redFlags {{ code evidence }} history {{ kind }} }} }}''',
                      **as_role(api, "supervisor"))["tender"]
    assert tender["stage"] == "BIDDING" and tender["light"] is None and tender["bidCount"] is None
    assert tender["bidsSealed"] is True
    stage = next(s for s in tender["stages"] if s["kind"] == "bidding")
    assert stage["periodKind"] == "FLOOR" and stage["light"] is None and stage["dueAt"] is None
    assert stage["article"] == "法 24" and "二十日" in stage["legalBasis"]
    assert stage["scheduledEnd"].startswith("2026-10-30T01:30:00")
    assert stage["earliestEnd"].startswith("2026-10-28T16:00:00")   # 2026-10-29 00:00 in Shanghai
    assert [h["kind"] for h in tender["history"]] == ["tender.publish", "tender.form_committee"]
    assert tender["redFlags"] == []


def test_list_filters_and_pagination(api, fixed_time):
    fixed_time.set(DEADLINE + timedelta(days=40))
    run(api.engine, *lifecycle()[6:])
    run(api.engine, *lifecycle("ZB-2026-002", method="invited", estimate=8_000_000, ceiling_price=None,
                               invited=["91A", "91B", "91C", "91D"])[:8])
    query = """query($f: TenderFilter, $after: String) { tenders(filter: $f, first: 1, after: $after) {
        totalCount edges { cursor node { code stage light } } pageInfo { hasNextPage endCursor } } }"""
    sup = as_role(api, "supervisor")
    first = api.data(query, **sup)["tenders"]
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"]
    second = api.data(query, {"after": first["pageInfo"]["endCursor"]}, **sup)["tenders"]
    assert {first["edges"][0]["node"]["code"], second["edges"][0]["node"]["code"]} == {CODE, "ZB-2026-002"}

    def codes(flt: dict) -> list[str]:
        return [e["node"]["code"] for e in api.data(query.replace("first: 1", "first: 10"), {"f": flt}, **sup)["tenders"]["edges"]]
    assert codes({"stages": ["CLOSED"]}) == [CODE]
    assert codes({"lights": ["RED"]}) == ["ZB-2026-002"]          # candidates not published in 3 days (条例 54)
    assert codes({"methods": ["invited"]}) == ["ZB-2026-002"]
    assert codes({"valueFrom": 9_000_000}) == [CODE]
    assert codes({"redFlags": ["R019"]}) == []
    # the authority's leader sees the tenders it supervises; another center's admin sees nothing
    assert api.data("{ tenders { totalCount } }", **as_role(api, "department_leader"))["tenders"]["totalCount"] == 2


def test_mutations_refuse_breaches_naming_the_article(api, fixed_time):
    fixed_time.set(DEADLINE + timedelta(minutes=5))
    body = api(f'''mutation {{ submitBid(input: {{code: "{CODE}", bidder: "戊", bidderCode: "91E", price: 1,
               occurredAt: "{(DEADLINE + timedelta(minutes=1)).isoformat()}"}}) {{ bidCount }} }}''',
               **as_role(api, "department_system"))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BID_AFTER_DEADLINE" and error["extensions"]["article"] == "法 28"
    assert "法 28" in error["message"]
    members = json.dumps(COMMITTEE[:4], ensure_ascii=False).replace('"name"', "name").replace('"kind"', "kind")
    assert api.error_codes(f'mutation {{ formCommittee(code: "{CODE}", members: {members}) {{ code }} }}',
                           **as_role(api, "department_system")) == ["COMMITTEE_INVALID"]
    # Supervision, the center's management and the authority's leader never open bids (decision 9).
    for role in ("supervisor", "center_admin", "department_leader"):
        assert api.error_codes(f'mutation {{ openBids(code: "{CODE}") {{ code }} }}', **as_role(api, role)) \
            == ["FORBIDDEN"], role


def test_report_tender_events_idempotent_per_event(api, fixed_time):
    fixed_time.set(DEADLINE + timedelta(days=2))
    mutation = """mutation($events: [TenderEventInput!]!) { reportTenderEvents(events: $events) {
        sourceEventId status code message ledgerId } }"""
    events = [
        {"sourceEventId": "jy-1", "tenderCode": CODE, "action": "OPEN", "occurredAt": DEADLINE.isoformat()},
        {"sourceEventId": "jy-2", "tenderCode": CODE, "action": "AWARD",
         "occurredAt": (DEADLINE + timedelta(days=1)).isoformat(), "attributes": {"bidder_code": "91A"}},
        {"sourceEventId": "jy-3", "tenderCode": CODE, "action": "REPORT_EVALUATION",
         "occurredAt": (DEADLINE + timedelta(days=1)).isoformat(), "attributes": {"candidates": ["91A", "91B"]}},
    ]
    results = api.data(mutation, {"events": events}, **as_role(api, "department_system"))["reportTenderEvents"]
    assert [(r["status"], r["code"]) for r in results] == [("accepted", None), ("refused", "TENDER_STAGE_ORDER"),
                                                            ("accepted", None)]
    assert "法" in results[1]["message"]
    again = api.data(mutation, {"events": events[:1]}, **as_role(api, "department_system"))["reportTenderEvents"]
    assert again[0]["status"] == "duplicate" and again[0]["ledgerId"] == results[0]["ledgerId"]


def test_stage_changes_and_red_flags_arrive_live_by_scope(api, fixed_time):
    import time

    from esupervision.models.ledger import transaction as transactions
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime
    from tests.tenders.test_tender import apply, bid, ev
    from esupervision.models.tenders.rules import TenderAction

    channel = runtime.channel()
    previous = transactions._publisher
    set_publisher(channel.publish)
    try:
        token = issue_access_token(api.viewers["supervisor"], now=timesource.now())
        with api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": f'subscription {{ tenderStageChanged(code: "{CODE}") {{ code stage previousStage ledgerId }} }}'}})
            ws.send_json({"id": "2", "type": "subscribe", "payload": {
                "query": "subscription { tenderRedFlags { code flag evidence foundAt } }"}})
            time.sleep(0.5)   # both subscriptions listening
            # A bid from the same machine as 91A's: the flag is found now but names bidders, so it
            # is told nobody before the opening (法 22) …
            found = T0 + timedelta(days=11)
            apply(api.engine, bid(CODE, "戊建设", "91E", 9_500_000, found, machine_code="MC-91A"))
            apply(api.engine, ev(CODE, TenderAction.OPEN, DEADLINE))
            changed = ws.receive_json()   # … the opening's stage change comes first
            assert changed["id"] == "1", changed
            assert changed["payload"]["data"]["tenderStageChanged"]["stage"] == "EVALUATION"
            assert changed["payload"]["data"]["tenderStageChanged"]["previousStage"] == "BIDDING"
            flag = ws.receive_json()      # … then the flag, with the time it was found
            assert flag["id"] == "2" and flag["payload"]["data"]["tenderRedFlags"]["flag"] == "C40_MACHINE"
            assert "9500000" not in json.dumps(flag)
            found_at = flag["payload"]["data"]["tenderRedFlags"]["foundAt"]
            assert datetime.fromisoformat(found_at) == found
            ws.send_json({"id": "1", "type": "complete"})
            ws.send_json({"id": "2", "type": "complete"})
    finally:
        set_publisher(previous)


def test_tender_subscriptions_resume_from_their_cursor(api, fixed_time):
    """With ``after``, a subscriber first gets what the ledger recorded after that cursor (in
    order, by scope), then live changes: reconnecting with its last cursor misses nothing and
    gets nothing twice."""
    import time

    from esupervision.models.ledger import transaction as transactions
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime
    from tests.tenders.test_tender import apply, bid, lifecycle

    stages = f'subscription($a: String) {{ tenderStageChanged(code: "{CODE}", after: $a) {{ stage previousStage ledgerId cursor }} }}'
    flags = "subscription($a: String) { tenderRedFlags(after: $a) { code flag ledgerId cursor } }"
    later = lifecycle()

    def subscribe(role: str, query: str, after: str | None):
        ws = api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
        ws.__enter__()
        token = issue_access_token(api.viewers[role], now=timesource.now())
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"a": after}}})
        return ws

    def take(ws) -> dict:
        message = ws.receive_json()
        assert message["type"] == "next", message
        return next(iter(message["payload"]["data"].values()))

    channel = runtime.channel()
    previous = transactions._publisher
    set_publisher(channel.publish)
    try:
        # A flag raised while nobody listened (a bid from the same machine as 91A's).
        apply(api.engine, bid(CODE, "戊建设", "91E", 9_500_000, T0 + timedelta(days=11), machine_code="MC-91A"))
        ws = subscribe("supervisor", stages, "0")
        replayed = [take(ws)]
        assert replayed[0]["previousStage"] is None   # from the very first stage
        time.sleep(0.3)
        apply(api.engine, later[6])                   # the opening, live
        while replayed[-1]["stage"] != "EVALUATION":
            replayed.append(take(ws))
        ids = [int(m["ledgerId"]) for m in replayed]
        assert ids == sorted(set(ids)) and [m["cursor"] for m in replayed] == [str(i) for i in ids]
        assert replayed[-1]["previousStage"] == "BIDDING"
        assert all(a["stage"] == b["previousStage"] for a, b in zip(replayed, replayed[1:]))
        cursor = replayed[-1]["cursor"]
        ws.__exit__(None, None, None)

        apply(api.engine, later[7])                   # while away: the evaluation report
        ws = subscribe("supervisor", stages, cursor)
        missed = take(ws)
        assert missed["previousStage"] == "EVALUATION" and int(missed["ledgerId"]) > int(cursor)
        time.sleep(0.3)
        apply(api.engine, later[8])                   # and live again: once
        live = take(ws)
        assert live["previousStage"] == missed["stage"] and live["ledgerId"] > missed["ledgerId"]
        ws.__exit__(None, None, None)

        fixed_time.set(DEADLINE + timedelta(days=3))   # the flag found before the opening is told from it on
        for role, expected in (("supervisor", ["C40_MACHINE"]), ("department_leader", ["C40_MACHINE"])):
            ws = subscribe(role, flags, "0")
            assert [take(ws)["flag"] for _ in expected] == expected
            ws.__exit__(None, None, None)
        ws = subscribe("supervisor", flags, "not-a-cursor")
        answer = ws.receive_json()["payload"]
        errors = answer if isinstance(answer, list) else answer["errors"]
        assert errors[0]["extensions"]["code"] == "BAD_CURSOR"
        ws.__exit__(None, None, None)
    finally:
        set_publisher(previous)


def test_tender_work_only_within_what_the_viewer_reads(api, fixed_time):
    # DESIGN decision 11: the authority's leader acts on the tenders it supervises (tender_scope), and
    # a tender outside that is answered exactly as one that does not exist.
    fixed_time.set(DEADLINE + timedelta(minutes=5))
    stranger = Viewer(role=Role.DEPARTMENT_LEADER, username="other", department_id=api.viewers["window_staff"].department_id,
                      center_id=api.viewers["center_admin"].center_id)
    token = issue_access_token(stranger, now=timesource.now())

    def refusal(code: str) -> dict:
        (error,) = api(f'mutation {{ acceptComplaint(code: "{code}", accepted: true) {{ code }} }}', token=token)["errors"]
        return {"message": error["message"].replace(code, "T"), "code": error["extensions"]["code"],
                "tender": error["extensions"].get("tender", "").replace(code, "T")}
    assert refusal(CODE) == refusal("ZB-NO-SUCH") == {"message": "招标项目 T 不存在", "code": "TENDER_NOT_FOUND",
                                                      "tender": "T"}
