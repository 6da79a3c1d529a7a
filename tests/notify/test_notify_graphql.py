"""Case.notices in GraphQL: channel, masked recipient, template, status, provider and its message
id, times; a page of cases costs one notice query."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from esupervision.models.cases.report import CaseAction
from esupervision.notify.gateway import Gateway
from esupervision.notify.providers.console import ConsoleProvider
from esupervision.settings import Settings
from tests.builders import build_city, event, report
from tests.gql import GraphQLClient, create_accounts

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
FIELDS = "notices { channel recipient recipientKind template status provider providerMessageId errorCode createdAt sentAt }"


def test_a_case_shows_its_notices_with_the_recipient_masked(engine, fixed_time):
    build_city(engine)
    create_accounts(engine)
    fixed_time.set(T0 + timedelta(hours=1))
    report(engine, event("G1", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001", window_code="W01",
                         attributes={"applicant_phone": "13912345678"}),
           event("G2", CaseAction.ACCEPT, T0, center_code="C01", item_code="SCJ-001",
                 attributes={"applicant_phone": "bad number"}))
    api = GraphQLClient(engine)
    api.login("supervisor")
    [notice] = api.data(f'query {{ case(number: "G1") {{ {FIELDS} }} }}')["case"]["notices"]
    assert notice["channel"] == "sms" and notice["recipient"] == "+86 139****5678"
    assert (notice["template"], notice["status"], notice["provider"]) == ("case_accepted", "QUEUED", None)
    gateway = Gateway(engine, Settings(environment="test"), {"console": ConsoleProvider()})
    from sqlmodel import Session, select

    from esupervision.models.notices.notice import Notice
    with Session(engine) as s:
        ids = list(s.scalars(select(Notice.id)))
    for notice_id in ids:
        gateway.deliver(notice_id)
    [sent] = api.data(f'query {{ case(number: "G1") {{ {FIELDS} }} }}')["case"]["notices"]
    assert sent["status"] == "SENT" and sent["provider"] == "console" and sent["providerMessageId"].startswith("console-")
    [failed] = api.data(f'query {{ case(number: "G2") {{ {FIELDS} }} }}')["case"]["notices"]
    assert failed["status"] == "FAILED" and failed["errorCode"] == "INVALID_PHONE"
