"""The nightly check: a breach is recorded at the witness (outside the database) and told to the
supervisors by SMS through the outbox and live (``ledgerBreaches``); deleting the alert from the
database does not hide it."""
from __future__ import annotations

import threading
import time

from sqlalchemy import delete, select, update
from sqlmodel import Session
from starlette.testclient import TestClient

from esupervision.api.app import create_app
from esupervision.models.access.account import create_account
from esupervision.models.access.scope import Role
from esupervision.models.cases.case import Case, CaseStatus
from esupervision.models.catalogue.catalogue import Staff
from esupervision.models.clocks import timesource
from esupervision.models.ledger.transaction import set_publisher
from esupervision.models.notices.notice import Notice
from esupervision.models.supervision.ledger_breach import TOPIC
from esupervision.workers import runtime
from esupervision.workers.ledger import check_and_alert
from tests.gql import GraphQLClient
from tests.ledger.conftest import DemoCopy


def supervisor_with_phone(copy: DemoCopy) -> str:
    with Session(copy.engine) as s:
        staff = s.scalars(select(Staff).where(Staff.phone.is_not(None)).order_by(Staff.code)).first()
        create_account(s, username="night-watch", password="demo", role=Role.SUPERVISOR, display_name="监察员",
                       now=timesource.now(), staff_id=staff.id)
        s.commit()
        return staff.phone


def edit_a_case(copy: DemoCopy) -> str:
    with Session(copy.engine) as s:
        case = s.scalars(select(Case).where(Case.status == CaseStatus.ACCEPTED.value).order_by(Case.number)).first()
        s.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.COMPLETED.value))
        s.commit()
        return str(case.id)


def breach_notices(copy: DemoCopy) -> list[Notice]:
    with Session(copy.engine) as s:
        return list(s.scalars(select(Notice).where(Notice.template == "ledger_breach")))


def test_an_intact_night_tells_nobody(demo_copy: DemoCopy) -> None:
    supervisor_with_phone(demo_copy)
    report = check_and_alert(demo_copy.engine, demo_copy.witness, demo_copy.verifier)
    assert report.intact and demo_copy.witness.breaches() == [] and breach_notices(demo_copy) == []


def test_a_breach_is_recorded_at_the_witness_and_told_by_sms_and_live(demo_copy: DemoCopy) -> None:
    phone = supervisor_with_phone(demo_copy)
    case_id = edit_a_case(demo_copy)
    heard: list[dict] = []
    # Another test may have swapped the publisher out; the product wires the channel in at start.
    set_publisher(runtime.channel().publish)
    unsubscribe = runtime.channel().subscribe(lambda topic, message: heard.append(message) if topic == TOPIC else None)
    try:
        report = check_and_alert(demo_copy.engine, demo_copy.witness, demo_copy.verifier)
        # On Redis the channel relays the message back from the broker on its own thread.
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        unsubscribe()
    assert [(d.table, d.row_id, d.column) for d in report.differences] == [("case", case_id, "status")]
    records = demo_copy.witness.breaches()
    assert len(records) == 1 and f"case {case_id} column status" in records[0]
    notices = breach_notices(demo_copy)
    assert len(notices) == 1 and notices[0].recipient.endswith(phone[-8:]) and notices[0].status == "queued"
    assert notices[0].params["count"] == 1 and "status" in notices[0].params["first"]
    assert len(heard) == 1 and heard[0]["differences"][0]["row_id"] == case_id

    # The same breach the next night: nobody is told twice ...
    check_and_alert(demo_copy.engine, demo_copy.witness, demo_copy.verifier)
    assert len(breach_notices(demo_copy)) == 1 and len(demo_copy.witness.breaches()) == 2
    # ... but deleting the alert from the database does not hide it: it comes back.
    with Session(demo_copy.engine) as s:
        s.execute(delete(Notice).where(Notice.template == "ledger_breach"))
        s.commit()
    check_and_alert(demo_copy.engine, demo_copy.witness, demo_copy.verifier)
    assert len(breach_notices(demo_copy)) == 1 and len(demo_copy.witness.breaches()) == 3


def test_supervisors_hear_breaches_on_the_ledger_breaches_subscription(demo_copy: DemoCopy) -> None:
    supervisor_with_phone(demo_copy)
    token = GraphQLClient(demo_copy.engine).login("night-watch")
    case_id = edit_a_case(demo_copy)
    client = TestClient(create_app(demo_copy.engine))
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": (
            "subscription { ledgerBreaches { witnessRecord breaches { seq kind } "
            "differences { table rowId column seq } } }")}})
        done = threading.Event()

        def alert_until_heard() -> None:
            # The subscription starts listening a moment after it is sent: alert until it is heard.
            while not done.is_set():
                runtime.channel().publish(TOPIC, {
                    "detected_at": timesource.now().isoformat(), "witness_record": "r", "breaches": [],
                    "differences": [{"table": "case", "row_id": case_id, "column": "status", "center_id": None,
                                     "seq": None, "detail": "d"}]})
                time.sleep(0.2)

        threading.Thread(target=alert_until_heard, daemon=True).start()
        try:
            message = ws.receive_json()
        finally:
            done.set()
        assert message["type"] == "next", message
        alert = message["payload"]["data"]["ledgerBreaches"]
        assert alert["differences"] == [{"table": "case", "rowId": case_id, "column": "status", "seq": None}]
        ws.send_json({"id": "1", "type": "complete"})


def test_the_public_cannot_subscribe_to_breaches(demo_copy: DemoCopy) -> None:
    client = TestClient(create_app(demo_copy.engine))
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "subscription { ledgerBreaches { detectedAt } }"}})
        message = ws.receive_json()
        assert message["type"] in ("error", "next") and "errors" in str(message).lower() or message["type"] == "error"
