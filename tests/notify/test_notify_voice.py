"""Aliyun voice calls are never placed twice: Dyvmsapi cannot be asked by our own reference
whether a call went, so the call's receipts (VoiceCallReport, VoiceReport: HTTP batch push with
the ``out_id`` we gave SingleCallByTts) are recorded on the notice, and a worker that finds a
dead or timed-out attempt without a receipt waits out the push horizon before calling again.

The mock Aliyun pushes the receipts to our receipt endpoint served by uvicorn on loopback."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlmodel import Session

from esupervision.models.notices.notice import NOTICE
from esupervision.notify.aliyun_reports import REPORT_PATH, aliyun_report_routes
from esupervision.notify.gateway import Gateway, relay
from esupervision.notify.providers import Outgoing
from tests.notify.test_notify_delivery import CN, notice, queue
from tests.notify.test_notify_support import (WebhookServer, aliyun, free_port, notify_settings, twilio,  # noqa: F401
                                              wait_for)

TOKEN = "push-secret"
OVERDUE = {"number": "N1", "deadline": "今天"}
TEXT = "【电子监察】办件N1已超期（红灯），期限今天，请立即办理并说明原因。"


@pytest.fixture
def voice(engine, twilio, aliyun) -> Iterator[tuple]:  # noqa: F811
    port = free_port()
    settings = notify_settings(twilio, aliyun, port, aliyun_report_token=TOKEN)
    server = WebhookServer(engine, settings, port, aliyun_report_routes(engine, settings)).start()
    receiver = f"http://127.0.0.1:{port}{REPORT_PATH}"
    aliyun.report_url = f"{receiver}?token={TOKEN}"
    yield settings, receiver
    server.stop()


def dead_attempt(engine, notice_id, claimed) -> None:  # noqa: ANN001
    """A worker claimed the notice and was killed before recording anything."""
    with Session(engine) as s, s.begin():
        s.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(
            status="sending", claimed_at=claimed, claim_token="dead", attempts=1))


def queue_call(engine):  # noqa: ANN001
    return queue(engine, CN, template="overdue", params=OVERDUE, channels=("voice",))


def test_a_call_placed_by_a_killed_worker_is_known_by_its_receipt(engine, aliyun, voice, fixed_time):  # noqa: F811
    settings, _ = voice
    gateway = Gateway(engine, settings)
    notice_id = queue_call(engine)
    claimed = fixed_time.now()
    dead_attempt(engine, notice_id, claimed)
    gateway.providers["aliyun"].send(Outgoing(str(notice_id), "voice", CN, "overdue", OVERDUE, TEXT, claimed))
    row = wait_for(lambda: (r := notice(engine, notice_id)).status == "delivered" and r)
    [call] = aliyun.calls()
    assert (row.provider, row.provider_message_id, row.provider_status) == ("aliyun", call.call_id, "200000")
    assert row.claim_token is None and row.sent_at is not None
    fixed_time.advance(seconds=settings.notify_claim_lease_s + 1)
    assert relay(engine, lambda ids: None, settings) == 0      # nothing orphaned: the receipt said it went
    assert gateway.deliver(notice_id).outcome == "skipped"
    assert len(aliyun.calls()) == 1


def test_without_a_receipt_the_call_waits_out_the_push_horizon(engine, aliyun, voice, fixed_time):  # noqa: F811
    settings, _ = voice
    gateway = Gateway(engine, settings)
    notice_id = queue_call(engine)
    dead_attempt(engine, notice_id, fixed_time.now())          # killed before Aliyun heard of it
    fixed_time.advance(seconds=settings.notify_claim_lease_s + 1)
    assert relay(engine, lambda ids: None, settings) == 1
    held = gateway.deliver(notice_id)
    assert (held.outcome, held.error_code) == ("held", "ALIYUN_CALL_UNCONFIRMED")
    row = notice(engine, notice_id)
    assert row.status == "sending" and aliyun.calls() == []
    fixed_time.advance(seconds=settings.notify_requeue_after_s + 1)
    assert relay(engine, lambda ids: None, settings) == 1      # asked again later
    assert gateway.deliver(notice_id).outcome == "held"
    fixed_time.advance(seconds=settings.aliyun_call_report_wait_s)
    relay(engine, lambda ids: None, settings)
    assert gateway.deliver(notice_id).outcome == "sent"        # no receipt in the horizon: never placed
    assert wait_for(lambda: notice(engine, notice_id).status == "delivered")
    assert len(aliyun.calls()) == 1


@pytest.mark.slow
def test_a_call_that_timed_out_but_went_is_not_placed_again(engine, aliyun, voice, fixed_time):  # noqa: F811
    settings, _ = voice
    gateway = Gateway(engine, settings)
    aliyun.behave(CN[3:], "timeout")                          # answers after our 2 s timeout, places the call
    aliyun.state.timeout_s = 2.5
    notice_id = queue_call(engine)
    first = gateway.deliver(notice_id)
    assert (first.outcome, first.error_code) == ("retry", "PROVIDER_TIMEOUT")
    wait_for(lambda: notice(engine, notice_id).status == "delivered")
    fixed_time.advance(seconds=60)
    assert relay(engine, lambda ids: None, settings) == 0
    assert gateway.deliver(notice_id).outcome == "skipped"
    assert len(aliyun.calls()) == 1


def test_receipts_need_the_token_and_only_move_forward(engine, aliyun, voice, fixed_time):  # noqa: F811
    settings, receiver = voice
    aliyun.report_url = None                                   # this test pushes the receipts itself
    notice_id = queue_call(engine)
    Gateway(engine, settings).deliver(notice_id)
    [call] = aliyun.calls()

    def push(reports, token: str | None = TOKEN) -> int:  # noqa: ANN001
        url = receiver + (f"?token={token}" if token is not None else "")
        request = urllib.request.Request(url, data=json.dumps(reports).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=5) as answer:
                assert json.loads(answer.read())["code"] == 0
                return answer.status
        except urllib.error.HTTPError as refused:
            return refused.code

    unanswered = {"call_id": call.call_id, "status_code": "200003", "out_id": str(notice_id),
                  "status_msg": "用户收到呼叫但未接听"}
    assert push([unanswered], token=None) == 403 and push([unanswered], token="forged") == 403
    assert push({"not": "an array"}) == 400
    assert notice(engine, notice_id).status == "sent"
    assert push([{**unanswered, "call_id": "another^call"}, {**unanswered, "out_id": "not-ours"}]) == 200
    assert notice(engine, notice_id).status == "sent"         # another call's, nobody's: ignored
    assert push([unanswered]) == 200
    row = notice(engine, notice_id)
    assert (row.status, row.error_code, row.provider_status) == ("undelivered", "aliyun.200003", "200003")
    assert push([{**unanswered, "status_code": "200101"}, {**unanswered, "status_code": "200000"}]) == 200
    assert notice(engine, notice_id).status == "undelivered"  # a late or replayed receipt: forward only


def test_a_call_whose_receipt_was_lost_gets_its_result_by_call_detail(engine, aliyun, voice, fixed_time):  # noqa: F811
    from esupervision.notify.providers.aliyun import AliyunProvider
    from esupervision.workers.status import poll_aliyun

    settings, _ = voice
    aliyun.report_url = None                                   # Aliyun's pushes never arrived
    answered, unanswered = queue_call(engine), queue(engine, "+8613900139000", template="overdue",
                                                     params=OVERDUE, channels=("voice",))
    aliyun.behave("13900139000", "undelivered")
    gateway = Gateway(engine, settings)
    for notice_id in (answered, unanswered):
        assert gateway.deliver(notice_id).outcome == "sent"
    provider = AliyunProvider(settings)
    assert poll_aliyun(engine, provider) == 0                  # a call takes time: not asked yet
    fixed_time.advance(minutes=3)
    assert poll_aliyun(engine, provider) == 2
    heard, missed = notice(engine, answered), notice(engine, unanswered)
    assert (heard.status, heard.provider_status) == ("delivered", "200000")
    assert (missed.status, missed.error_code) == ("undelivered", "aliyun.200003")
    assert poll_aliyun(engine, provider) == 0                  # asked once per result
    assert len(aliyun.calls()) == 2
