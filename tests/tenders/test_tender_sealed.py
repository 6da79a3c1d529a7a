"""Nothing about the bidders before the opening (法 22: 招标人不得向他人透露已获取招标文件的潜在投标人
的名称、数量): no role, supervisors included, reads the number of bids, their names, the flags that
name them, the bid events of the history, the objecting parties or the OCDS bids before the opening
instant; flags found meanwhile are kept with the time they were found and shown from the opening on.
And one sealed tender must not blank a list: its bids read as an empty list beside ``bidsSealed``."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from esupervision.models.tenders.rules import TenderAction
from tests.tenders.test_tender import BIDDERS, DEADLINE, T0, apply, bid, ev, lifecycle, run
from tests.tenders.test_tender_api import CODE, api, as_role  # noqa: F401  (the fixture)

READERS = ["supervisor", "center_admin", "department_leader", "department_system"]
NAMES = [name for name, _, _ in BIDDERS] + ["戊建设"]
BIDDER_CODES = ['"91A"', '"91B"', '"91C"', '"91D"', '"91E"']
DOCUMENT = f'''{{ tender(code: "{CODE}") {{ bidCount bidsSealed bids {{ bidder bidderCode }}
    redFlags {{ code evidence raisedAt }} history {{ kind data }} objections {{ party }} lots {{ candidates }} }} }}'''
FOUND = T0 + timedelta(days=11)


@pytest.fixture
def sealed(api, fixed_time):
    """Four bids in, a fifth from the machine that made 91A's (C40_MACHINE found), an objection by
    a potential bidder answered; the deadline not yet reached."""
    apply(api.engine, bid(CODE, "戊建设", "91E", 9_500_000, FOUND, machine_code="MC-91A"))
    apply(api.engine, ev(CODE, TenderAction.OBJECT, FOUND + timedelta(hours=2), about="documents", party="丙建筑公司"))
    apply(api.engine, ev(CODE, TenderAction.ANSWER_OBJECTION, FOUND + timedelta(hours=3), answer="已澄清"))
    fixed_time.set(FOUND + timedelta(days=1))
    return api


@pytest.mark.parametrize("role", READERS)
def test_nobody_learns_who_bid_or_how_many_before_the_opening(sealed, role):
    document = DOCUMENT
    if role == "department_system":   # the trading system does not read red flags at all
        document = document.replace("redFlags { code evidence raisedAt }", "")
    body = sealed(document, **as_role(sealed, role))
    text = json.dumps(body, ensure_ascii=False)
    assert "errors" not in body, body
    tender = body["data"]["tender"]
    assert tender["bidCount"] is None and tender["bidsSealed"] is True and tender["bids"] == []
    assert not any(name in text for name in NAMES), text
    assert not any(code in text for code in BIDDER_CODES), text
    assert "submit_bid" not in text and "C40" not in text
    assert [o["party"] for o in tender["objections"]] == [None]


def test_after_the_opening_the_bidders_and_the_flags_found_before_are_shown(sealed, fixed_time):
    run(sealed.engine, *lifecycle()[5:7])   # the committee, then the opening at the deadline
    fixed_time.set(DEADLINE + timedelta(minutes=5))
    tender = sealed.data(DOCUMENT, **as_role(sealed, "supervisor"))["tender"]
    assert tender["bidCount"] == 5 and tender["bidsSealed"] is False
    assert sorted(b["bidder"] for b in tender["bids"]) == sorted(NAMES)
    (flag,) = tender["redFlags"]
    assert flag["code"] == "C40_MACHINE"
    assert datetime.fromisoformat(flag["raisedAt"]) == FOUND   # kept with the time it was found
    kinds = [h["kind"] for h in tender["history"]]
    assert kinds.count("tender.submit_bid") == 5 and "tender.red_flag" in kinds
    assert kinds.index("tender.red_flag") > kinds.index("tender.open")   # on the record from the opening
    assert [o["party"] for o in tender["objections"]] == ["丙建筑公司"]


def test_the_red_flag_filter_tells_nothing_before_the_opening(sealed, fixed_time):
    query = '{ tenders(filter: {redFlags: ["C40_MACHINE"]}) { totalCount } }'
    assert sealed.data(query, **as_role(sealed, "supervisor"))["tenders"]["totalCount"] == 0
    run(sealed.engine, *lifecycle()[5:7])
    fixed_time.set(DEADLINE + timedelta(minutes=5))
    assert sealed.data(query, **as_role(sealed, "supervisor"))["tenders"]["totalCount"] == 1


def test_one_sealed_tender_does_not_blank_the_list(api, fixed_time):
    # Item 9: an opened tender and a sealed one in the same list; the list still reads.
    fixed_time.set(DEADLINE + timedelta(days=3))
    run(api.engine, *lifecycle()[6:7])                         # ZB-2026-001 opened
    # ZB-2026-003: bids in, its deadline still ahead.
    run(api.engine, *lifecycle("ZB-2026-003", bid_deadline=(DEADLINE + timedelta(days=10)).isoformat())[:5])
    for role in READERS:
        body = api("{ tenders { edges { node { code bidsSealed bidCount bids { bidder } } } } }", **as_role(api, role))
        assert "errors" not in body, (role, body)
        nodes = {e["node"]["code"]: e["node"] for e in body["data"]["tenders"]["edges"]}
        assert nodes[CODE]["bidsSealed"] is False and len(nodes[CODE]["bids"]) == 4 and nodes[CODE]["bidCount"] == 4
        assert nodes["ZB-2026-003"] == {"code": "ZB-2026-003", "bidsSealed": True, "bidCount": None, "bids": []}


def test_the_stage_subscription_tells_nothing_of_bids(api, fixed_time):
    """tenderStageChanged replays and streams stage changes only: no bid event, no bidder."""
    import time

    from esupervision.api.tokens import issue_access_token
    from esupervision.models.clocks import timesource
    from esupervision.models.ledger import transaction as transactions
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime
    channel = runtime.channel()
    previous = transactions._publisher
    set_publisher(channel.publish)
    try:
        token = issue_access_token(api.viewers["supervisor"], now=timesource.now())
        with api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": f'subscription {{ tenderStageChanged(code: "{CODE}", after: "0") {{ kind stage ledgerId }} }}'}})
            first = ws.receive_json()
            assert first["payload"]["data"]["tenderStageChanged"]["kind"] == "tender.publish"
            time.sleep(0.3)
            apply(api.engine, bid(CODE, "戊建设", "91E", 9_500_000, T0 + timedelta(days=11)))
            apply(api.engine, ev(CODE, TenderAction.OPEN, DEADLINE))
            message = ws.receive_json()
            assert message["payload"]["data"]["tenderStageChanged"]["kind"] == "tender.open", message
            assert "戊建设" not in json.dumps(message, ensure_ascii=False)
            ws.send_json({"id": "1", "type": "complete"})
    finally:
        set_publisher(previous)
