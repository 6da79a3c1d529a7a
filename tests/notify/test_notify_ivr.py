"""The phone status line says one sentence per status, through the Twilio voice webhook (and the
same words to a mainland line's CTI gateway): never "已办结，已办结", never a deadline read for a
finished case; a refusal states its reason and the remedies (行政许可法 第三十八条 第二款), a 补正
the materials awaited (第三十二条), a special procedure its name (第四十五条)."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from esupervision.api.webhooks import twilio_routes
from esupervision.models.cases.report import CaseAction
from esupervision.models.catalogue.catalogue import Center, ItemSpec, create_item
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.cti import CTI_PATH, cti_routes
from esupervision.settings import Settings
from tests.builders import accept, apply, build_city, event

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
TOKEN = "webhook-test-token"
CTI_TOKEN = "cti-gateway-secret-0123456789abcdefghij"
PHONE = "+8613800138000"
REMEDIES = "如不服，可自知道该决定之日起60日内依法申请行政复议，或者6个月内依法向人民法院提起行政诉讼。"
ITEM = "食品经营许可"


def story(engine) -> None:
    """One case in every status, each the applicant's (PHONE)."""
    mine = {"applicant_phone": PHONE}
    online = dict(center_code="C01", item_code="SCJ-001", applicant_name="李华", channel="online")
    apply(engine, event("QH2026112600001", CaseAction.SUBMIT, T0, attributes=mine, **online))
    apply(engine, event("QH2026112600002", CaseAction.SUBMIT, T0, attributes=mine, **online))
    apply(engine, event("QH2026112600002", CaseAction.PREREVIEW_PASS, T0 + timedelta(hours=1)))
    apply(engine, event("QH2026112600003", CaseAction.SUBMIT, T0, attributes=mine, **online))
    apply(engine, event("QH2026112600003", CaseAction.PREREVIEW_FAIL, T0 + timedelta(hours=1),
                        attributes={"reason": "申请表未签字"}))
    for n in range(4, 12):
        accept(engine, f"QH20261126000{n:02d}", T0, attributes=mine)
    accept(engine, "QH2026112600012", T0, item="SCJ-NOW", attributes=mine)
    accept(engine, "QH2026110200013", T0 - timedelta(days=24), attributes=mine)      # long past its deadline
    later = T0 + timedelta(hours=2)
    apply(engine, event("QH2026112600005", CaseAction.REQUEST_SUPPLEMENT, later, attributes={
        "missing_materials": ["营业执照副本", "场所使用证明"], "reason": "营业执照已过有效期"}))
    apply(engine, event("QH2026112600006", CaseAction.SUSPEND, later, attributes={"kind": "expert_review"}))
    apply(engine, event("QH2026112600007", CaseAction.COMPLETE, later, attributes={"result": "approved"}))
    apply(engine, event("QH2026112600008", CaseAction.COMPLETE, later,
                        attributes={"result": "denied", "reason": "经营场所不符合要求"}))
    apply(engine, event("QH2026112600009", CaseAction.REJECT, later, attributes={"reason": "不属于本机关职权范围"}))
    apply(engine, event("QH2026112600010", CaseAction.WITHDRAW, later))


@pytest.fixture
def line(engine, fixed_time):
    build_city(engine)
    with transaction(engine, actor="test") as tx:
        center = tx.session.scalars(select(Center).where(Center.code == "C01")).one()
        create_item(tx, center=center, spec=ItemSpec(code="SCJ-NOW", name="食品经营许可证补办", department_code="SCJ",
                                                     legal_days=5, committed_days=0))
    fixed_time.set(T0 + timedelta(hours=3))
    story(engine)
    settings = Settings(twilio_auth_token=TOKEN, public_url="http://testserver", cti_token=CTI_TOKEN)
    client = TestClient(Starlette(routes=[*twilio_routes(engine, settings), *cti_routes(engine, settings)]))

    def say(digits: str, caller: str = PHONE) -> str:
        form = {"From": caller, "Digits": digits, "CallSid": "CA1"}
        url = "http://testserver/webhooks/twilio/voice/case"
        answer = client.post("/webhooks/twilio/voice/case", content=urlencode(form), headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, form)})
        assert answer.status_code == 200 and '<Say language="zh-CN">' in answer.text
        return answer.text.split('<Say language="zh-CN">', 1)[1].split("</Say>", 1)[0]
    say.client = client
    return say


@pytest.mark.parametrize("number, sentence", [
    ("QH2026112600001", f"办件QH2026112600001（{ITEM}）的网上申报已于2026年11月26日 09:00收到，正在审查，"
                        "将于2026年12月03日 23:59前决定是否受理。"),
    ("QH2026112600002", f"办件QH2026112600002（{ITEM}）已通过预审，等待受理，将于2026年12月03日 23:59前决定是否受理。"),
    ("QH2026112600003", f"办件QH2026112600003（{ITEM}）预审未通过，原因：申请表未签字。"),
    ("QH2026112600004", f"办件QH2026112600004（{ITEM}）正在办理，在承诺期限内，承诺于2026年12月03日 23:59前办结。"),
    ("QH2026110200013", f"办件QH2026110200013（{ITEM}）正在办理，已超过承诺期限，承诺于2026年11月09日 23:59前办结。"),
    ("QH2026112600012", "办件QH2026112600012（食品经营许可证补办）已受理，即办件，当日办结。"),
    ("QH2026112600005", f"办件QH2026112600005（{ITEM}）等待您补正材料：营业执照副本、场所使用证明。"
                        "补正期间暂停计时，补齐后继续办理。"),
    ("QH2026112600006", f"办件QH2026112600006（{ITEM}）正在进行专家评审程序，该期间不计入办理时限，结束后继续办理。"),
    ("QH2026112600007", f"办件QH2026112600007（{ITEM}）已办结（2026年11月26日 11:00），结果：准予许可。"),
    ("QH2026112600008", f"办件QH2026112600008（{ITEM}）已办结（2026年11月26日 11:00），结果：不予许可，"
                        f"理由：经营场所不符合要求。{REMEDIES}"),
    ("QH2026112600009", f"办件QH2026112600009（{ITEM}）已于2026年11月26日 11:00决定不予受理（退件），"
                        f"理由：不属于本机关职权范围。{REMEDIES}"),
    ("QH2026112600010", f"办件QH2026112600010（{ITEM}）已撤回申请（2026年11月26日 11:00），不再办理。"),
])
def test_each_status_has_its_own_sentence_on_the_voice_line(line, number, sentence):
    heard = line(number.removeprefix("QH"))                     # keyed on the phone pad: digits only
    assert heard == sentence
    assert "已办结，已办结" not in heard and heard.count("已办结") <= 1


def test_a_finished_case_reads_no_deadline(line):
    for number in ("QH2026112600007", "QH2026112600008", "QH2026112600009", "QH2026112600010"):
        heard = line(number[2:])
        assert "期限" not in heard and "承诺于" not in heard and "灯" not in heard


def test_only_the_applicants_phone_hears_the_status(line):
    assert line("2026112600004", caller="+8613900139000") == "未查到该办件，请核对办件编号，或使用申请时登记的手机查询。"


def test_a_cti_gateway_asks_for_the_same_words(line):
    """A mainland line: the center's CTI gateway collects the digits and asks what to say."""
    client = line.client
    asked = {"caller": "13800138000", "digits": "2026112600007#"}
    answer = client.post(f"{CTI_PATH}/{CTI_TOKEN}", json=asked)
    assert answer.status_code == 200
    assert answer.json() == {"code": 0, "text": line("2026112600007")}
    assert client.post(f"{CTI_PATH}/forged", json=asked).status_code == 403
    assert client.post(f"{CTI_PATH}/{CTI_TOKEN}", content=b"[1]").status_code == 400
    assert client.post(f"{CTI_PATH}/{CTI_TOKEN}", json={**asked, "caller": "13900139000"}).json()["text"].startswith(
        "未查到该办件")
    assert cti_routes(None, Settings(cti_token=None)) == []      # unset: not served at all
