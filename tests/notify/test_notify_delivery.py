"""Delivery through the real SDKs against the local provider mocks: routing and fallback,
permanent and transient errors, never twice, limits and quiet hours, receipts."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from esupervision.models.notices.notice import NOTICE, Notice, NoticeDraft, add_notices
from esupervision.models.ledger.transaction import transaction
from esupervision.notify.gateway import Gateway, relay
from esupervision.notify.providers import Outgoing
from esupervision.notify.providers.aliyun import AliyunProvider
from esupervision.workers.status import poll_aliyun
from tests.notify.test_notify_support import (aliyun, notify_settings, public_port, settings, twilio,  # noqa: F401
                                              wait_for, webhooks)

SH = ZoneInfo("Asia/Shanghai")
CN = "+8613800138000"
US = "+14155552671"
RESUMED = {"center": "市行政服务中心", "number": "N1"}


def queue(engine, phone: str = CN, template: str = "case_resumed", params=None, channels=("sms",), key=None) -> uuid.UUID:
    draft = NoticeDraft(key=key or uuid.uuid4().hex, subject_type="case", subject_id=uuid.uuid4(), template=template,
                        params=dict(RESUMED if params is None else params), phone=phone, recipient_kind="applicant",
                        channels=list(channels))
    with transaction(engine) as tx:
        add_notices(tx, [draft])
    with Session(engine) as s:
        return s.scalars(select(Notice.id).where(Notice.idempotency_key.like(f"{draft.key}:%"))).first()


def notice(engine, notice_id: uuid.UUID) -> Notice:
    with Session(engine) as s:
        return s.get(Notice, notice_id)


# ----------------------------------------------------------------------------- routes


def test_mainland_sms_goes_to_aliyun_with_its_sign_and_template_and_is_polled_delivered(engine, settings, aliyun, twilio):
    gateway = Gateway(engine, settings)
    notice_id = queue(engine)
    result = gateway.deliver(notice_id)
    assert result.outcome == "sent" and result.provider == "aliyun"
    [sms] = aliyun.sms()
    assert sms.phone == "13800138000" and sms.sign_name == "清河市政务服务"
    assert sms.template_code == settings.aliyun_sms_templates["case_resumed"]
    assert sms.params == RESUMED and sms.out_id == str(notice_id)
    assert twilio.messages() == []
    row = notice(engine, notice_id)
    assert (row.status, row.provider, row.attempts) == ("sent", "aliyun", 1)
    assert poll_aliyun(engine, AliyunProvider(settings)) == 1
    assert notice(engine, notice_id).status == "delivered"


def test_other_numbers_go_to_twilio_and_signed_callbacks_mark_them_delivered(engine, settings, twilio, aliyun, webhooks,
                                                                            fixed_time):
    # A weekday morning: a call is held outside its hours (tests/notify/test_notify_hours.py)
    fixed_time.set(datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    gateway = Gateway(engine, settings)
    sms_id = queue(engine, US)
    call_id = queue(engine, US, template="overdue", params={"number": "N1", "deadline": "今天"}, channels=("voice",))
    assert gateway.deliver(sms_id).provider == "twilio"
    assert gateway.deliver(call_id).provider == "twilio"
    [message], [call] = twilio.messages(), twilio.messages("voice")
    assert message.to == US and message.from_ == "+15005550006" and "已恢复办理" in message.body
    assert '<Say language="zh-CN">' in call.body and "N1" in call.body
    assert aliyun.sms() == []
    wait_for(lambda: notice(engine, sms_id).status == "delivered")
    wait_for(lambda: notice(engine, call_id).status == "delivered")
    row = notice(engine, sms_id)
    assert row.provider_message_id == message.sid and row.provider_status == "delivered"
    assert all(status == 200 for _, _, status in twilio.callbacks)


def test_routes_are_settings(engine, twilio, aliyun, public_port):
    settings = notify_settings(twilio, aliyun, public_port, sms_routes={"*": ["aliyun"]})
    assert Gateway(engine, settings).deliver(queue(engine)).provider == "aliyun"
    twilio_only = notify_settings(twilio, aliyun, public_port, sms_routes={"+86": ["twilio"], "*": ["twilio"]})
    assert Gateway(engine, twilio_only).deliver(queue(engine)).provider == "twilio"
    nothing = notify_settings(twilio, aliyun, public_port, environment="production", aliyun_access_key_id=None,
                              twilio_account_sid=None)
    result = Gateway(engine, nothing).deliver(queue(engine))
    assert (result.outcome, result.error_code) == ("failed", "NO_PROVIDER")


@pytest.mark.parametrize("fault", ["fault", "garbage"])
def test_an_aliyun_fault_falls_back_to_twilio_once(engine, settings, twilio, aliyun, fault):
    aliyun.behave("13800138000", fault)
    result = Gateway(engine, settings).deliver(queue(engine))
    assert result.provider == "twilio"
    assert len(twilio.messages()) == 1 and aliyun.sms() == []


def test_without_fallback_a_fault_is_retried_later(engine, twilio, aliyun, public_port, fixed_time):
    settings = notify_settings(twilio, aliyun, public_port, notify_fallback=False)
    aliyun.behave("13800138000", "fault")
    notice_id = queue(engine)
    gateway = Gateway(engine, settings)
    assert gateway.deliver(notice_id).outcome == "retry"
    row = notice(engine, notice_id)
    assert (row.status, row.error_code, row.attempts) == ("retrying", "ServiceUnavailable", 1)
    assert row.not_before is not None and row.enqueued_at is None   # the relay brings it back then
    aliyun.behave("13800138000", None)
    assert gateway.deliver(notice_id).outcome == "skipped"          # not before its backoff
    fixed_time.advance(seconds=1)
    assert gateway.deliver(notice_id).provider == "aliyun"
    assert twilio.messages() == [] and len(aliyun.sms()) == 1


# ----------------------------------------------------------------------------- errors


def test_permanent_errors_stop_and_are_recorded(engine, settings, twilio, aliyun):
    aliyun.behave("13800138000", "invalid")
    twilio.behave(US, "invalid")
    gateway = Gateway(engine, settings)
    cn, us = queue(engine), queue(engine, US)
    assert gateway.deliver(cn).error_code == "isv.MOBILE_NUMBER_ILLEGAL"
    assert gateway.deliver(us).error_code == "twilio.21211"
    for notice_id in (cn, us):
        row = notice(engine, notice_id)
        assert row.status == "failed" and row.error_message and row.finished_at
    assert twilio.messages() == [] and aliyun.sms() == []   # no fallback on a bad number
    assert gateway.deliver(cn).outcome == "skipped"


def test_a_template_aliyun_does_not_know_is_refused_and_not_sent_elsewhere(engine, twilio, aliyun, public_port):
    settings = notify_settings(twilio, aliyun, public_port, aliyun_sms_templates={"case_resumed": "SMS_UNKNOWN"})
    result = Gateway(engine, settings).deliver(queue(engine))
    assert (result.outcome, result.error_code) == ("failed", "isv.SMS_TEMPLATE_ILLEGAL")
    assert twilio.messages() == []


def test_aliyun_flow_control_retries_later_on_aliyun(engine, settings, twilio, aliyun):
    aliyun.behave("13800138000", "limit")
    notice_id = queue(engine)
    gateway = Gateway(engine, settings)
    assert gateway.deliver(notice_id).outcome == "retry"
    assert notice(engine, notice_id).error_code == "isv.BUSINESS_LIMIT_CONTROL"
    assert twilio.messages() == []
    aliyun.behave("13800138000", None)
    time.sleep(0.3)
    assert gateway.deliver(notice_id).outcome == "sent"
    assert notice(engine, notice_id).attempts == 2


def test_transient_errors_give_up_after_the_last_attempt(engine, twilio, aliyun, public_port):
    settings = notify_settings(twilio, aliyun, public_port, notify_max_attempts=2)
    twilio.behave(US, "limit")
    notice_id = queue(engine, US)
    gateway = Gateway(engine, settings)
    assert gateway.deliver(notice_id).outcome == "retry"
    time.sleep(0.3)
    assert gateway.deliver(notice_id).outcome == "failed"
    row = notice(engine, notice_id)
    assert row.status == "failed" and "重试 2 次" in row.error_message


@pytest.mark.parametrize("provider", ["aliyun", "twilio"])
def test_a_timeout_after_the_provider_took_it_is_found_not_resent(engine, settings, twilio, aliyun, provider):
    aliyun.state.timeout_s = twilio.state.timeout_s = 2.5   # the client gives up at 2 s; the mock goes on
    phone = CN if provider == "aliyun" else US
    (aliyun if provider == "aliyun" else twilio).behave("13800138000" if provider == "aliyun" else US, "timeout")
    notice_id = queue(engine, phone)
    gateway = Gateway(engine, settings)
    assert gateway.deliver(notice_id).outcome == "retry"   # not known whether it went: not elsewhere, not again yet
    assert notice(engine, notice_id).error_code == "PROVIDER_TIMEOUT"
    wait_for(lambda: len(aliyun.sms()) + len(twilio.messages()) == 1)
    time.sleep(0.3)
    result = gateway.deliver(notice_id)   # the retry asks the provider first
    assert result.outcome == "sent" and result.provider == provider
    time.sleep(0.6)
    assert len(aliyun.sms()) + len(twilio.messages()) == 1


# ----------------------------------------------------------------------------- never twice


def test_delivering_twice_sends_once(engine, settings, aliyun):
    gateway = Gateway(engine, settings)
    notice_id = queue(engine)
    assert gateway.deliver(notice_id).outcome == "sent"
    assert gateway.deliver(notice_id).outcome == "skipped"
    assert len(aliyun.sms()) == 1


def test_a_claim_in_another_workers_hands_is_left_alone_until_its_lease_ends(engine, settings, aliyun, fixed_time):
    gateway = Gateway(engine, settings)
    notice_id = queue(engine)
    with Session(engine) as s, s.begin():   # a worker claimed it and is at the provider now
        s.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(
            status="sending", claimed_at=fixed_time.now(), claim_token="other", attempts=1))
    assert gateway.deliver(notice_id).outcome == "skipped"
    fixed_time.advance(seconds=settings.notify_claim_lease_s + 1)
    assert gateway.deliver(notice_id).outcome == "sent"   # it died before the provider heard of it
    assert len(aliyun.sms()) == 1


@pytest.mark.parametrize("fixed_time", [datetime(2026, 11, 26, 23, 59, 30, tzinfo=ZoneInfo("Asia/Shanghai"))],
                         indirect=True)
def test_a_send_that_reached_aliyun_after_midnight_is_found_and_not_sent_again(engine, settings, aliyun, fixed_time):
    # Aliyun files an SMS under the China day it arrived: claimed at 23:59:30, it arrived on the
    # next day, and the worker died before recording it.
    gateway = Gateway(engine, settings)
    notice_id = queue(engine)
    claimed = fixed_time.now()
    with Session(engine) as s, s.begin():
        s.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(
            status="sending", claimed_at=claimed, claim_token="dead", attempts=1))
    fixed_time.advance(seconds=40)   # 00:00:10, 27 November
    gateway.providers["aliyun"].send(Outgoing(str(notice_id), "sms", CN, "case_resumed", RESUMED,
                                              "【市行政服务中心】您的办件N1已恢复办理，计时继续。", claimed))
    fixed_time.advance(seconds=settings.notify_claim_lease_s + 1)
    result = gateway.deliver(notice_id)
    assert result.outcome == "sent" and result.provider == "aliyun"
    assert len(aliyun.sms()) == 1


@pytest.mark.parametrize("phone", [CN, US])
def test_a_worker_that_died_after_sending_is_not_sent_again(engine, settings, aliyun, twilio, fixed_time, phone):
    gateway = Gateway(engine, settings)
    notice_id = queue(engine, phone)
    claimed = fixed_time.now()
    name = "aliyun" if phone == CN else "twilio"
    # The dead worker's attempt: claimed, handed to the provider, then killed before recording it.
    with Session(engine) as s, s.begin():
        s.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(
            status="sending", claimed_at=claimed, claim_token="dead", attempts=1))
    gateway.providers[name].send(Outgoing(str(notice_id), "sms", phone, "case_resumed", RESUMED,
                                          "【市行政服务中心】您的办件N1已恢复办理，计时继续。", claimed))
    fixed_time.advance(seconds=settings.notify_claim_lease_s + 1)
    with Session(engine) as s:
        assert relay(engine, lambda ids: None, settings) == 1   # the orphaned claim is enqueued again
    result = gateway.deliver(notice_id)
    assert result.outcome == "sent" and result.provider == name
    assert len(aliyun.sms()) + len(twilio.messages()) == 1


# ----------------------------------------------------------------------------- callbacks


def test_forged_unsigned_and_replayed_callbacks_change_nothing(engine, twilio, aliyun, public_port):
    settings = notify_settings(twilio, aliyun, public_port)
    from tests.notify.test_notify_support import WebhookServer
    twilio.send_callbacks = False
    server = WebhookServer(engine, settings, public_port).start()
    try:
        notice_id = queue(engine, US)
        Gateway(engine, settings).deliver(notice_id)
        [sent] = twilio.messages()
        assert twilio.callback(sent, "delivered", signature="forged=") == 403
        assert twilio.callback(sent, "delivered", signature="") == 403
        other = type(twilio)(auth_token="someone-elses-token")
        assert other.post_signed(sent.status_callback, twilio.callback_params(sent, "delivered")) == 403
        assert notice(engine, notice_id).status == "sent"
        assert twilio.callback(sent, "delivered") == 200
        assert notice(engine, notice_id).status == "delivered"
        assert twilio.callback(sent, "sent") == 200            # a late or replayed older report
        assert twilio.callback(sent, "delivered") == 200       # the same report again
        row = notice(engine, notice_id)
        assert row.status == "delivered" and row.provider_status == "delivered"
        sent.sid = "SM" + "f" * 32                              # a report about another message
        twilio.callback(sent, "undelivered")
        assert notice(engine, notice_id).status == "delivered"
    finally:
        server.stop()


def test_an_undelivered_report_is_recorded_with_its_error(engine, settings, twilio, aliyun, webhooks):
    twilio.behave(US, "undelivered")
    aliyun.behave("13800138000", "undelivered")
    gateway = Gateway(engine, settings)
    us, cn = queue(engine, US), queue(engine)
    gateway.deliver(us)
    gateway.deliver(cn)
    wait_for(lambda: notice(engine, us).status == "undelivered")
    assert notice(engine, us).error_code == "twilio.30003"
    poll_aliyun(engine, AliyunProvider(settings))
    row = notice(engine, cn)
    assert (row.status, row.error_code) == ("undelivered", "aliyun.MOBILE_NOT_ON_SERVICE")


# ----------------------------------------------------------------------------- limits


def test_login_codes_are_limited_per_recipient(engine, settings, aliyun, fixed_time):
    gateway = Gateway(engine, settings)
    code = {"code": "123456", "minutes": 5}
    assert gateway.deliver(queue(engine, template="login_code", params=code)).outcome == "sent"
    second = gateway.deliver(queue(engine, template="login_code", params=code))
    assert (second.outcome, second.error_code) == ("failed", "RATE_LIMITED")
    assert gateway.deliver(queue(engine, "+8613900139000", template="login_code", params=code)).outcome == "sent"
    for _ in range(4):
        fixed_time.advance(minutes=1, seconds=1)
        assert gateway.deliver(queue(engine, template="login_code", params=code)).outcome == "sent"
    fixed_time.advance(minutes=2)
    assert gateway.deliver(queue(engine, template="login_code", params=code)).error_code == "RATE_LIMITED"  # 5 an hour
    assert len([s for s in aliyun.sms() if s.phone == "13800138000"]) == 5


def test_other_templates_over_a_limit_are_held_not_dropped(engine, twilio, aliyun, public_port, fixed_time):
    settings = notify_settings(twilio, aliyun, public_port, notify_limits={"case_resumed": [1, 0, 0]})
    gateway = Gateway(engine, settings)
    assert gateway.deliver(queue(engine)).outcome == "sent"
    later = queue(engine)
    assert gateway.deliver(later).outcome == "held"
    assert notice(engine, later).not_before == fixed_time.now() + timedelta(minutes=1)


def test_send_batch_sms_reaches_every_number(settings, aliyun):
    provider = AliyunProvider(settings)
    now = datetime.now(SH)
    messages = [Outgoing(f"b{i}", "sms", f"+86139001390{i:02d}", "case_resumed", RESUMED, "", now) for i in range(3)]
    assert provider.send_batch(messages)
    assert sorted(s.phone for s in aliyun.sms()) == ["13900139000", "13900139001", "13900139002"]
