"""Asking by phone and SMS: the Twilio voice line gathers a case number and reads its status to the
applicant's own phone only; an inbound SMS gets the same answer. Unsigned requests are refused."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from esupervision.api.webhooks import twilio_routes
from esupervision.settings import Settings
from tests.builders import accept, build_city

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=SH)
TOKEN = "webhook-test-token"


@pytest.fixture
def line(engine, fixed_time):
    settings = Settings(twilio_auth_token=TOKEN, public_url="http://testserver")
    build_city(engine)
    fixed_time.set(T0 + timedelta(hours=1))
    accept(engine, "QH2026112600001", T0, attributes={"applicant_phone": "13800138000"})
    client = TestClient(Starlette(routes=twilio_routes(engine, settings)))

    def post(path: str, form: dict[str, str], *, sign: bool = True):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(f"http://testserver{path}", form)
        return client.post(path, content=urlencode(form), headers=headers)
    return post


def test_the_voice_line_gathers_the_number_in_chinese(line):
    answer = line("/webhooks/twilio/voice", {"From": "+8613800138000", "CallSid": "CA1"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    assert '<Gather action="/webhooks/twilio/voice/case"' in answer.text
    assert 'language="zh-CN"' in answer.text and "井号键" in answer.text


def test_the_applicant_hears_status_light_and_deadline(line):
    answer = line("/webhooks/twilio/voice/case", {"From": "+8613800138000", "Digits": "2026112600001"})
    assert "QH2026112600001" in answer.text and "正在办理，在承诺期限内" in answer.text
    assert "承诺于2026年12月03日 23:59前办结" in answer.text     # every status's sentence: test_notify_ivr.py


def test_anyone_else_hears_not_found(line):
    for form in ({"From": "+8613900139000", "Digits": "2026112600001"},
                 {"From": "+8613800138000", "Digits": "999"},
                 {"From": "anonymous", "Digits": "2026112600001"}):
        answer = line("/webhooks/twilio/voice/case", form)
        assert "未查到该办件" in answer.text and "QH2026112600001" not in answer.text


def test_an_inbound_sms_gets_the_status_back(line):
    answer = line("/webhooks/twilio/sms", {"From": "+8613800138000", "Body": "查询 QH2026112600001"})
    assert "<Message>" in answer.text and "正在办理" in answer.text
    stranger = line("/webhooks/twilio/sms", {"From": "+14155552671", "Body": "QH2026112600001"})
    assert "未查到该办件" in stranger.text


def test_unsigned_and_forged_requests_are_refused(line):
    form = {"From": "+8613800138000", "Digits": "2026112600001"}
    assert line("/webhooks/twilio/voice/case", form, sign=False).status_code == 403
    forged = dict(form, Digits="1")
    headers_ok = line("/webhooks/twilio/voice/case", form)
    assert headers_ok.status_code == 200
    for path in ("/webhooks/twilio/voice", "/webhooks/twilio/sms", "/webhooks/twilio/status?notice=x"):
        assert line(path, forged, sign=False).status_code == 403
