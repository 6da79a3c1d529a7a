"""Aliyun upstream SMS (SmsUp): what an applicant texts back to our Aliyun numbers is heard. The
mock Aliyun pushes it as Aliyun's HTTP batch push does (a JSON array of ``phone_number, content,
send_time, dest_code, sequence_id, sign_name``, pushed again while not answered HTTP 200) to our
receiver served by uvicorn; it is routed as Twilio's inbound SMS (rating, 投诉 / 咨询, status), each
message once by its ``sequence_id``, and answered by SMS through the outbox and Aliyun."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from esupervision.models.cases.report import CaseAction
from esupervision.models.notices.inbound import InboundSms
from esupervision.models.notices.notice import Notice
from esupervision.models.public.complaint import Complaint
from esupervision.models.public.evaluation import Evaluation
from esupervision.notify import aliyun_sms_up, templates
from esupervision.notify.aliyun_sms_up import aliyun_sms_up_routes, upstream_url
from esupervision.notify.gateway import Gateway
from tests.builders import accept, apply, build_city, event
from tests.notify.test_notify_support import (WebhookServer, aliyun, free_port, notify_settings, twilio,  # noqa: F401
                                              wait_for)

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
TOKEN = "push-secret-of-the-aliyun-pushes-0123456789"
APPLICANT, STRANGER = "13800138000", "13900139000"


@pytest.fixture
def up(engine, fixed_time, twilio, aliyun) -> Iterator:  # noqa: F811
    build_city(engine)
    fixed_time.set(T0 + timedelta(hours=3))
    accept(engine, "QH2026112600001", T0, attributes={"applicant_phone": APPLICANT})
    accept(engine, "QH2026112600002", T0, attributes={"applicant_phone": APPLICANT})
    apply(engine, event("QH2026112600001", CaseAction.COMPLETE, T0 + timedelta(hours=2),
                        attributes={"result": "approved"}))
    port = free_port()
    settings = notify_settings(twilio, aliyun, port, aliyun_report_token=TOKEN)
    server = WebhookServer(engine, settings, port, aliyun_sms_up_routes(engine, settings)).start()
    aliyun.upstream_url = upstream_url(settings.public_url, TOKEN)
    aliyun.report_retry_s = 0.05
    yield settings
    server.stop()


def replies(engine, phone: str) -> list[Notice]:
    with Session(engine) as s:
        return list(s.scalars(select(Notice).where(Notice.recipient == f"+86{phone}", Notice.subject_type == "inbound_sms")
                              .order_by(Notice.created_at, Notice.id)))


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def post(url: str, document) -> int:  # noqa: ANN001
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_an_applicant_rates_the_case_by_answering_the_aliyun_sms(engine, up, aliyun):  # noqa: F811
    gateway = Gateway(engine, up)
    with Session(engine) as s:
        asked = s.scalars(select(Notice.id).where(Notice.template == "evaluation_request")).one()
    assert gateway.deliver(asked).provider == "aliyun"         # the rating SMS went through Aliyun
    pushed = aliyun.text_back(APPLICANT, "５ 办事很快")           # a full-width digit, as phones type it
    assert aliyun.upstream_answers[-1][0] == 200
    assert aliyun.upstream_answers[-1][1]["code"] == 0 and aliyun.upstream_answers[-1][1]["msg"] == "接收成功"
    with Session(engine) as s:
        rated = s.scalars(select(Evaluation)).one()
        inbound = s.scalars(select(InboundSms)).one()
    assert (rated.score, rated.comment, rated.channel) == (5, "办事很快", "sms")
    assert (inbound.provider, inbound.message_id, inbound.sender, inbound.reply) == (
        "aliyun", str(pushed["sequence_id"]), "+8613800138000", "evaluation_received")
    assert inbound.sent_at is not None and inbound.dest_code == "1234"
    [reply] = replies(engine, APPLICANT)
    assert templates.render(reply.template, reply.params) == "已收到您对办件QH2026112600001的评价：非常满意。感谢您的监督。"
    assert gateway.deliver(reply.id).provider == "aliyun"     # answered by SMS, any hour (a reply)
    sent = aliyun.sms()[-1]
    assert (sent.phone, sent.template_code) == (APPLICANT, up.aliyun_sms_templates["evaluation_received"])


def test_complaints_consultations_and_status_questions_from_mainland_numbers(engine, up, aliyun):  # noqa: F811
    aliyun.text_back(STRANGER, "投诉：3号窗口中午无人值守")
    aliyun.text_back(APPLICANT, "咨询 QH2026112600002 什么时候可以领证")
    aliyun.text_back(APPLICANT, "查询 QH2026112600002")
    aliyun.text_back(STRANGER, "5")
    aliyun.text_back(STRANGER, "投诉 " + "很" * 1001)            # longer than a complaint may be
    with Session(engine) as s:
        filed = list(s.scalars(select(Complaint).order_by(Complaint.kind)))
    assert [(c.kind, c.channel, c.complainant_phone) for c in filed] == [   # a mainland mobile: 11 digits
        ("complaint", "sms", STRANGER), ("consultation", "sms", APPLICANT)]
    assert filed[1].case_id is not None                         # naming the applicant's own case
    with Session(engine) as s:
        received = list(s.scalars(select(Notice.recipient).where(Notice.template == "complaint_received")))
    assert sorted(received) == ["+8613800138000", "+8613900139000"]   # the domain's receipt, not twice
    mine = [templates.render(n.template, n.params) for n in replies(engine, APPLICANT)]
    assert mine == ["办件QH2026112600002（食品经营许可）正在办理，在承诺期限内，承诺于2026年12月03日 23:59前办结。"]
    theirs = [(n.template, templates.render(n.template, n.params)) for n in replies(engine, STRANGER)]
    assert [t for t, _ in theirs] == ["evaluation_not_pending", "sms_refused"]
    assert theirs[1][1].startswith("您的短信未能办理：") and "1000" in theirs[1][1]
    assert count(engine, InboundSms) == 5


def test_a_message_pushed_again_or_twice_at_once_is_taken_once(engine, up, aliyun):  # noqa: F811
    message = aliyun.upstream_message(STRANGER, "投诉 窗口办理拖延")
    assert aliyun.push_upstream([message]) == 200
    assert aliyun.push_upstream([message, aliyun.upstream_message(STRANGER, "咨询 营业时间")]) == 200
    assert aliyun.upstream_answers[-1][1] | {"msg": ""} == {"code": 0, "msg": "", "taken": 1, "repeated": 1,
                                                            "refused": 0}
    twice = aliyun.upstream_message(STRANGER, "投诉 大厅空调不制冷")
    pushes = [threading.Thread(target=aliyun.push_upstream, args=([twice],)) for _ in range(2)]
    for push in pushes:
        push.start()
    for push in pushes:
        push.join(30)
    with Session(engine) as s:
        assert sorted(s.scalars(select(Complaint.content))) == ["大厅空调不制冷", "窗口办理拖延", "营业时间"]
    assert count(engine, InboundSms) == 3
    assert all(status == 200 for status, _ in aliyun.upstream_answers)


def test_a_message_we_could_not_take_is_pushed_again_and_taken_then(engine, up, aliyun, monkeypatch):  # noqa: F811
    real, calls = aliyun_sms_up.answer_sms, []

    def database_away_once(*args, **kwargs):  # noqa: ANN002, ANN003
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("connection to the database lost")
        return real(*args, **kwargs)
    monkeypatch.setattr(aliyun_sms_up, "answer_sms", database_away_once)
    aliyun.text_back(STRANGER, "投诉 窗口办理拖延")
    assert [status for status, _ in aliyun.upstream_answers] == [500, 200]   # Aliyun pushed it again
    assert count(engine, Complaint) == 1 and count(engine, InboundSms) == 1


def test_the_receiver_needs_its_secret_and_a_json_array(engine, up, aliyun, caplog):  # noqa: F811
    good = aliyun.upstream_message(STRANGER, "投诉 窗口办理拖延")
    base = up.public_url + aliyun_sms_up.UP_PATH
    assert post(f"{base}/forged", [good]) == 403
    assert post(f"{base}?token={TOKEN}", [good]) == 403               # never in the query string
    assert post(f"{base}/{TOKEN}", {"not": "an array"}) == 400
    assert post(f"{base}/{TOKEN}", [1, 2]) == 400
    assert count(engine, Complaint) == 0
    malformed = [{**good, "sequence_id": ""}, {**good, "phone_number": "call me"}]
    with caplog.at_level("INFO", logger="esupervision.notify.aliyun_sms_up"):
        assert post(f"{base}/{TOKEN}", malformed) == 200              # pushing them again would not help
        assert post(f"{base}/{TOKEN}", [good]) == 200
    assert count(engine, Complaint) == 1 and count(engine, InboundSms) == 1
    logged = caplog.text
    assert "+86 139****9000" in logged and "13900139000" not in logged and "窗口办理拖延" not in logged
