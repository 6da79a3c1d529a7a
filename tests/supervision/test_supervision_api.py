"""Urges, orders, rules and the case timeline through GraphQL (both engines): the contract names
``urge``, ``issueSupervisionOrder``, ``replyToOrder``, ``Case.urges``, ``Case.orders``."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.ledger.ledger import LedgerEvent
from esupervision.models.cases.report import CaseAction
from esupervision.models.supervision.orders import SupervisionOrder, Urge
from esupervision.models.supervision.rules import SupervisionRule
from esupervision.models.ledger.transaction import transaction
from esupervision.workers.lights import announce_due
from tests.builders import accept, apply, build_city, event
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")

URGE = """mutation($input: UrgeInput!) { urge(input: $input) {
  number status targetKind target message automatic replyDueAt caseNumber addressees { code } department { code } } }"""
ORDER = """mutation($input: SupervisionOrderInput!) { issueSupervisionOrder(input: $input) {
  id number status escalationLevel light dueAt replyDays caseNumber clock { limitDays } } }"""
REPLY = """mutation($input: OrderReplyInput!) { replyToOrder(input: $input) {
  number status repliedOnTime reply finishBy light escalationLevel } }"""
CASE = """query($n: String!) { case(number: $n) {
  urges { number message automatic status reply }
  orders { number status escalationLevel escalationLabel light dueAt firstDueAt reply repliedOnTime }
  timeline { at kind title actor ledgerEventId } } }"""
ORDERS = """query($f: SupervisionFilterInput) { supervisionOrders(filter: $f) {
  edges { node { number status escalationLevel light caseNumber } } pageInfo { hasNextPage } } }"""
URGES = """query($f: SupervisionFilterInput) { urges(filter: $f) { edges { node { number caseNumber } } } }"""
RULE = """mutation($input: SupervisionRuleInput!) { createSupervisionRule(input: $input) {
  id name trigger action subject days replyDays enabled description } }"""


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def api(engine, fixed_time):
    build_city(engine)
    create_accounts(engine)
    return GraphQLClient(engine)


def counts(engine) -> tuple[int, ...]:
    with Session(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(m))
                     for m in (Urge, SupervisionOrder, SupervisionRule, LedgerEvent))


def scheduler_pass(engine) -> None:
    while True:
        with transaction(engine, actor="system:lights") as tx:
            if announce_due(tx) == 0:
                return


def test_urge_a_case_and_read_it_on_the_case_and_in_the_lists(engine, fixed_time, api):
    accept(engine, "GU-1", fixed_time.now())
    api.login("supervisor")
    urge = api.data(URGE, {"input": {"caseNumber": "GU-1", "message": "请加快办理"}})["urge"]
    assert urge["status"] == "OPEN" and urge["targetKind"] == "case" and urge["caseNumber"] == "GU-1"
    assert urge["addressees"] == [{"code": "S01"}] and urge["department"] == {"code": "SCJ"}
    assert urge["automatic"] is False and urge["replyDueAt"]
    case = api.data(CASE, {"n": "GU-1"})["case"]
    assert [u["number"] for u in case["urges"]] == [urge["number"]]
    assert any(e["kind"] == "urge.created" and "请加快办理" in e["title"] for e in case["timeline"])
    api.login("w01")
    assert [e["node"]["number"] for e in api.data(URGES)["urges"]["edges"]] == [urge["number"]]
    api.login("zjj-leader")
    assert api.data(URGES)["urges"]["edges"] == []


def test_bad_urges_are_refused_with_a_code_and_change_nothing(engine, fixed_time, api):
    accept(engine, "GU-2", fixed_time.now())
    apply(engine, event("GU-2", CaseAction.WITHDRAW, fixed_time.now()))
    before = counts(engine)
    api.login("supervisor")
    assert api.error_codes(URGE, {"input": {"caseNumber": "GU-2", "message": "请加快"}}) == ["CASE_NOT_RUNNING"]
    assert api.error_codes(ORDER, {"input": {"caseNumber": "GU-2", "message": "请说明"}}) == ["CASE_NOT_RUNNING"]
    assert api.error_codes(URGE, {"input": {"message": "请加快"}}) == ["BAD_INPUT"]
    api.login("w01")
    accept(engine, "GU-3", fixed_time.now())
    before = counts(engine)
    assert api.error_codes(URGE, {"input": {"caseNumber": "GU-3", "message": "请加快"}}) == ["FORBIDDEN"]
    api.as_public()
    assert api.error_codes(URGE, {"input": {"caseNumber": "GU-3", "message": "请加快"}}) == ["UNAUTHENTICATED"]
    assert counts(engine) == before


def test_order_reply_only_by_the_addressee(engine, fixed_time, api):
    accept(engine, "GO-1", fixed_time.now())
    api.login("supervisor")
    order = api.data(ORDER, {"input": {"caseNumber": "GO-1", "message": "请说明进度", "replyDays": 2}})[
        "issueSupervisionOrder"]
    assert (order["status"], order["escalationLevel"], order["light"], order["replyDays"]) == ("OPEN", 0, "WHITE", 2)
    assert order["clock"] == {"limitDays": 2} and order["dueAt"].startswith("2026-11-30T15:59:59")
    before = counts(engine)
    reply = {"input": {"orderNumber": order["number"], "reply": "已办理"}}
    api.login("zjj-leader")
    assert api.error_codes(REPLY, reply) == ["ORDER_NOT_ADDRESSEE"]
    api.login("supervisor")   # it never answers its own orders (DESIGN decision 9, models/access/duties.py)
    assert api.error_codes(REPLY, reply) == ["FORBIDDEN"]
    api.login("w01")
    assert api.error_codes(REPLY, {"input": {"orderNumber": "DB-NOPE", "reply": "x"}}) == ["ORDER_NOT_FOUND"]
    assert api.error_codes(REPLY, {"input": {"orderNumber": order["number"], "reply": " "}}) == ["BAD_INPUT"]
    assert counts(engine) == before
    answered = api.data(REPLY, {"input": {"orderNumber": order["number"], "reply": "已完成审查",
                                          "finishBy": "2026-11-27T17:00:00+08:00"}})["replyToOrder"]
    assert (answered["status"], answered["repliedOnTime"], answered["reply"]) == ("REPLIED", True, "已完成审查")
    api.login("scj-leader")
    case = api.data(CASE, {"n": "GO-1"})["case"]
    assert [(o["status"], o["reply"]) for o in case["orders"]] == [("REPLIED", "已完成审查")]
    kinds = [e["kind"] for e in case["timeline"]]
    assert kinds.index("order.issued") < kinds.index("order.replied")


def test_an_unanswered_order_escalates_and_the_lists_filter_by_light(engine, fixed_time, api):
    accept(engine, "GO-2", fixed_time.now())
    api.login("supervisor")
    order = api.data(ORDER, {"input": {"caseNumber": "GO-2", "message": "请说明进度", "replyDays": 1}})[
        "issueSupervisionOrder"]
    fixed_time.set(local(2026, 11, 27, 12, 0))        # the last day of the reply: yellow
    api.login("supervisor")                            # (a token lives minutes; time jumps days)
    assert [e["node"]["number"] for e in api.data(ORDERS, {"f": {"lights": ["YELLOW"]}})[
        "supervisionOrders"]["edges"]] == [order["number"]]
    assert api.data(ORDERS, {"f": {"lights": ["RED"]}})["supervisionOrders"]["edges"] == []
    fixed_time.set(local(2026, 11, 28, 0, 5))
    scheduler_pass(engine)
    api.login("supervisor")
    rows = api.data(ORDERS, {"f": {"statuses": ["OPEN"]}})["supervisionOrders"]["edges"]
    assert [(r["node"]["number"], r["node"]["escalationLevel"], r["node"]["light"]) for r in rows] == [
        (order["number"], 1, "WHITE")]
    case = api.data(CASE, {"n": "GO-2"})["case"]
    assert case["orders"][0]["escalationLabel"] == "部门领导"
    assert case["orders"][0]["dueAt"] > case["orders"][0]["firstDueAt"]
    escalation = [e for e in case["timeline"] if e["kind"] == "order.escalated"]
    assert len(escalation) == 1 and escalation[0]["actor"] == "system:escalation" and escalation[0]["ledgerEventId"]
    api.login("scj-leader")                             # the department leader answers, late
    answered = api.data(REPLY, {"input": {"orderNumber": order["number"], "reply": "已督促窗口办结"}})["replyToOrder"]
    assert (answered["status"], answered["repliedOnTime"], answered["escalationLevel"]) == ("REPLIED", False, 1)


def test_rules_are_data_a_supervisor_edits_and_they_fire(engine, fixed_time, api):
    api.login("supervisor")
    before = counts(engine)
    bad = {"name": "坏规则", "trigger": "light_purple", "action": "urge", "message": "请抓紧"}
    assert api.error_codes(RULE, {"input": bad}) == ["RULE_UNKNOWN_TRIGGER"]
    assert api.error_codes(RULE, {"input": {**bad, "trigger": "light_yellow", "action": "fine"}}) == [
        "RULE_UNKNOWN_ACTION"]
    assert counts(engine) == before
    rule = api.data(RULE, {"input": {"name": "黄灯催办", "trigger": "light_yellow", "action": "urge",
                                     "message": "办件即将到期，请抓紧"}})["createSupervisionRule"]
    assert rule["enabled"] and "黄灯" in rule["description"]
    updated = api.data("""mutation($id: ID!, $input: SupervisionRuleInput!) { updateSupervisionRule(id: $id, input: $input) {
        replyDays message } }""", {"id": rule["id"], "input": {"name": "黄灯催办", "trigger": "light_yellow",
                                                            "action": "urge", "message": "请今日办结", "replyDays": 2}})
    assert updated["updateSupervisionRule"] == {"replyDays": 2, "message": "请今日办结"}
    listed = api.data("{ supervisionRules { name enabled } }")["supervisionRules"]
    assert listed == [{"name": "黄灯催办", "enabled": True}]
    api.login("w01")
    assert api.error_codes(RULE, {"input": {**bad, "trigger": "light_yellow"}}) == ["FORBIDDEN"]
    accept(engine, "GR-1", fixed_time.now())           # due Thursday 3 December; yellow that day
    fixed_time.set(local(2026, 12, 3, 0, 5))
    scheduler_pass(engine)
    api.login("supervisor")
    case = api.data(CASE, {"n": "GR-1"})["case"]
    assert [(u["message"], u["automatic"]) for u in case["urges"]] == [("请今日办结", True)]
    entry = next(e for e in case["timeline"] if e["kind"] == "urge.created")
    assert entry["actor"] == "system:rules" and "黄灯催办" in entry["title"]
    disabled = api.data("mutation($id: ID!) { disableSupervisionRule(id: $id) { enabled } }", {"id": rule["id"]})
    assert disabled["disableSupervisionRule"] == {"enabled": False}
    assert api.data("{ supervisionRules { name } }")["supervisionRules"] == []


def test_the_addressee_hears_urges_live(engine, fixed_time, api):
    from esupervision.models.ledger import transaction as tx_module
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime

    accept(engine, "GS-1", fixed_time.now())
    sup = api.login("supervisor")
    window_token = api.login("w01")
    zjj_token = api.login("zjj-leader")
    api.token = sup
    channel = runtime.channel()
    previous = tx_module._publisher
    set_publisher(channel.publish)
    query = "subscription($after: String) { supervisionEvents(after: $after) { kind number caseNumber target ledgerId } }"
    try:
        first = api.data(URGE, {"input": {"caseNumber": "GS-1", "message": "请加快"}})["urge"]
        with api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws, \
                api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as other:
            for socket, token in ((ws, window_token), (other, zjj_token)):
                socket.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
                assert socket.receive_json()["type"] == "connection_ack"
                socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"after": "0"}}})
            replayed = ws.receive_json()["payload"]["data"]["supervisionEvents"]
            assert (replayed["kind"], replayed["number"], replayed["caseNumber"]) == ("urge.created", first["number"], "GS-1")
            order = api.data(ORDER, {"input": {"caseNumber": "GS-1", "message": "请说明"}})["issueSupervisionOrder"]
            live = ws.receive_json()["payload"]["data"]["supervisionEvents"]
            assert (live["kind"], live["number"]) == ("order.issued", order["number"])
            assert live["ledgerId"] > replayed["ledgerId"]
            ws.send_json({"id": "1", "type": "complete"})
            other.send_json({"id": "1", "type": "complete"})
    finally:
        set_publisher(previous)


def test_who_hears_a_supervision_message():
    import uuid

    from esupervision.api.schema.supervision.orders import may_hear
    from esupervision.models.access.scope import Role, Viewer

    center, dept, window, staff = (uuid.uuid4() for _ in range(4))
    message = {"center_id": str(center), "department_id": str(dept), "window_id": str(window),
               "staff_ids": [str(staff)]}
    assert may_hear(Viewer(role=Role.SUPERVISOR), message)
    assert may_hear(Viewer(role=Role.CENTER_ADMIN, center_id=center), message)
    assert not may_hear(Viewer(role=Role.CENTER_ADMIN, center_id=uuid.uuid4()), message)
    assert may_hear(Viewer(role=Role.DEPARTMENT_LEADER, department_id=dept), message)
    assert not may_hear(Viewer(role=Role.DEPARTMENT_LEADER, department_id=uuid.uuid4()), message)
    assert may_hear(Viewer(role=Role.WINDOW_STAFF, staff_id=staff), message)
    assert may_hear(Viewer(role=Role.WINDOW_STAFF, window_id=window), message)
    assert not may_hear(Viewer(role=Role.WINDOW_STAFF, window_id=uuid.uuid4(), staff_id=uuid.uuid4()), message)
    assert not may_hear(Viewer(role=Role.APPLICANT, applicant_phone="13800138000"), message)
