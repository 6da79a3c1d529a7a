"""Notices on the person: a staff member sees their own notices (``me { notices }``), supervisors,
center admins and department leaders see those of the staff in their scope (``staffNotices``),
and a staff member follows their own notices live (``myNoticeChanged``: queued → sent →
delivered) through the internal channel."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from esupervision.api.schema.cases import notice as notice_schema
from esupervision.api.webhooks import apply_receipt
from esupervision.models.clocks import timesource
from esupervision.models.access.scope import Role
from esupervision.models.access.account import create_account
from esupervision.models.catalogue.catalogue import Center, Department, Staff, Window, create_staff
from esupervision.models.notices.notice import Notice, NoticeDraft, add_notices
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.gateway import Gateway
from esupervision.notify.providers.console import ConsoleProvider
from esupervision.settings import Settings
from tests.builders import build_city
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
FIELDS = "template status channel recipient recipientKind provider providerMessageId createdAt sentAt finishedAt"


@pytest.fixture
def city(engine, fixed_time):
    """tests.builders' city with a window clerk who has a phone and a login (``clerk``), and the
    department leader (another staff member with a phone)."""
    build_city(engine)
    create_accounts(engine)
    fixed_time.set(T0)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        market = tx.session.scalars(select(Department).where(Department.code == "SCJ")).one()
        window = tx.session.scalars(select(Window).where(Window.code == "W01")).one()
        clerk = create_staff(tx, center=center, code="S02", name="王芳", department=market, window=window,
                             phone="13900139000")
        create_staff(tx, center=center, code="L01", name="赵局", department=market, phone="13700137000",
                     is_leader=True)
    with Session(engine) as s:
        clerk = s.scalars(select(Staff).where(Staff.code == "S02")).one()
        create_account(s, username="clerk", password="demo", role=Role.WINDOW_STAFF, display_name="王芳",
                       now=timesource.now(), staff_id=clerk.id, center_id=clerk.center_id,
                       department_id=clerk.department_id, window_id=clerk.window_id)
        s.commit()
    return engine


def staff_id(engine, code: str):
    with Session(engine) as s:
        return s.scalars(select(Staff.id).where(Staff.code == code)).one()


def urge(engine, code: str, key: str) -> None:
    """An urge to staff member ``code`` through the outbox."""
    with Session(engine) as s:
        person = s.scalars(select(Staff).where(Staff.code == code)).one()
    with transaction(engine, actor="test") as tx:
        add_notices(tx, [NoticeDraft(key=key, subject_type="case", subject_id=person.id, template="urge",
                                     params={"number": "N1", "message": "请加快办理", "reply_by": "明天"},
                                     phone=person.phone, recipient_kind="staff", staff_id=person.id)])


def notice_ids(engine, code: str) -> list:
    with Session(engine) as s:
        return list(s.scalars(select(Notice.id).where(Notice.staff_id == staff_id(engine, code))
                              .order_by(Notice.created_at, Notice.id)))


def test_staff_see_their_own_notices_and_those_in_scope_see_theirs(city, fixed_time):
    urge(city, "S02", "urge:1")
    urge(city, "L01", "urge:2")
    fixed_time.advance(minutes=1)
    gateway = Gateway(city, Settings(environment="test"), {"console": ConsoleProvider()})
    [first] = notice_ids(city, "S02")
    assert gateway.deliver(first).outcome == "sent"
    fixed_time.advance(minutes=1)
    urge(city, "S02", "urge:3")

    api = GraphQLClient(city)
    api.login("clerk")
    mine = api.data(f"{{ me {{ notices {{ {FIELDS} }} }} }}")["me"]["notices"]
    assert [(n["template"], n["status"], n["recipient"]) for n in mine] == [
        ("urge", "QUEUED", "+86 139****9000"), ("urge", "SENT", "+86 139****9000")]   # newest first
    assert mine[1]["provider"] == "console" and mine[1]["providerMessageId"] == f"console-{first}"
    assert mine[1]["sentAt"] and mine[1]["recipientKind"] == "staff"
    assert len(api.data("{ me { notices(first: 1) { template } } }")["me"]["notices"]) == 1

    clerk = str(staff_id(city, "S02"))
    query = "query($s: ID!) { staffNotices(staffId: $s) { template status } }"
    for reader in ("supervisor", "admin", "scj-leader"):
        api.login(reader)
        assert [n["status"] for n in api.data(query, {"s": clerk})["staffNotices"]] == ["QUEUED", "SENT"]
        assert api.data("{ me { notices { template } } }")["me"]["notices"] == []   # no staff member behind it
    api.login("zjj-leader")   # another department: as if there were no such person
    assert api.error_codes(query, {"s": clerk}) == ["STAFF_NOT_FOUND"]
    api.login("w01")
    assert api.error_codes(query, {"s": clerk}) == ["FORBIDDEN"]
    api.login("supervisor")
    assert api.error_codes(query, {"s": "not-an-id"}) == ["STAFF_NOT_FOUND"]


def test_a_staff_member_follows_their_notices_live(city, fixed_time, monkeypatch):
    from esupervision.models.ledger import transaction as transactions
    from esupervision.models.ledger.transaction import set_publisher
    from esupervision.workers import runtime

    urge(city, "S02", "urge:before")        # written before the subscription: followed too
    channel = runtime.channel()
    previous = transactions._publisher
    set_publisher(channel.publish)
    gateway = Gateway(city, Settings(environment="test"), {"console": ConsoleProvider()}, publish=channel.publish)
    api = GraphQLClient(city)
    token = api.login("clerk")
    try:
        with api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert ws.receive_json()["type"] == "connection_ack"
            ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": f"subscription {{ myNoticeChanged {{ id {FIELDS} }} }}"}})
            time.sleep(0.5)   # listening

            def change() -> dict:
                message = ws.receive_json()
                assert message["type"] == "next", message
                return message["payload"]["data"]["myNoticeChanged"]

            urge(city, "L01", "urge:leader")   # someone else's: never told to the clerk
            [before] = notice_ids(city, "S02")
            gateway.deliver(before)
            sent = change()
            assert (sent["id"], sent["status"], sent["provider"]) == (str(before), "SENT", "console")
            urge(city, "S02", "urge:live")
            queued = change()
            assert queued["status"] == "QUEUED" and queued["recipient"] == "+86 139****9000"
            gateway.deliver(notice_ids(city, "S02")[-1])
            assert (change()["id"], "SENT") == (queued["id"], "SENT")
            # A receipt the Twilio webhook records is published: heard at once.
            apply_receipt(city, uuid.UUID(queued["id"]), sid=f"console-{queued['id']}", status="delivered",
                          provider_status="delivered", error_code=None, publish=channel.publish)
            heard = change()
            assert (heard["id"], heard["status"]) == (queued["id"], "DELIVERED")
            # A receipt recorded where nothing publishes (the Twilio webhook) arrives on the resync.
            monkeypatch.setattr(notice_schema, "RESYNC_S", 0.2)
            channel.resync()   # wakes the subscriber, which waits the short resync from now on
            apply_receipt(city, before, sid=f"console-{before}", status="delivered", provider_status="delivered",
                          error_code=None)
            delivered = change()
            assert (delivered["id"], delivered["status"]) == (str(before), "DELIVERED")
            ws.send_json({"id": "1", "type": "complete"})
    finally:
        set_publisher(previous)


def test_only_staff_members_follow_notices(city):
    api = GraphQLClient(city)
    token = api.login("supervisor")   # an account with no staff member behind it
    with api.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "subscription { myNoticeChanged { id } }"}})
        answer = ws.receive_json()["payload"]
        errors = answer if isinstance(answer, list) else answer["errors"]
        assert errors[0]["extensions"]["code"] == "STAFF_NOT_FOUND"
