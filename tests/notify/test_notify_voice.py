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
from esupervision.notify.aliyun_reports import aliyun_report_routes, receipt_url
from esupervision.notify.gateway import Gateway, relay
from esupervision.notify.providers import Outgoing
from tests.notify.test_notify_delivery import CN, notice, queue
from tests.notify.test_notify_support import (WebhookServer, aliyun, free_port, notify_settings, twilio,  # noqa: F401
                                              wait_for)

TOKEN = "push-secret-of-the-aliyun-receipts-0123456789"
OVERDUE = {"number": "N1", "deadline": "今天"}
TEXT = "【电子监察】办件N1已超期（红灯），期限今天，请立即办理并说明原因。"


@pytest.fixture
def voice(engine, twilio, aliyun) -> Iterator[tuple]:  # noqa: F811
    port = free_port()
    settings = notify_settings(twilio, aliyun, port, aliyun_report_token=TOKEN)
    server = WebhookServer(engine, settings, port, aliyun_report_routes(engine, settings)).start()
    aliyun.report_url = receipt_url(settings.public_url, TOKEN)
    yield settings, settings.public_url
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


def push_to(url: str, reports) -> int:  # noqa: ANN001
    """POST receipts as Aliyun's HTTP batch push does; the HTTP status of the answer."""
    request = urllib.request.Request(url, data=json.dumps(reports).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as answer:
            assert json.loads(answer.read())["code"] == 0
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_receipts_need_the_token_and_only_move_forward(engine, aliyun, voice, fixed_time):  # noqa: F811
    settings, base = voice
    aliyun.report_url = None                                   # this test pushes the receipts itself
    notice_id = queue_call(engine)
    Gateway(engine, settings).deliver(notice_id)
    [call] = aliyun.calls()

    def push(reports, token: str = TOKEN) -> int:  # noqa: ANN001
        return push_to(receipt_url(base, token), reports)

    unanswered = {"call_id": call.call_id, "status_code": "200003", "out_id": str(notice_id),
                  "status_msg": "用户收到呼叫但未接听"}
    assert push([unanswered], token="forged") == 403
    # the secret is taken in the path only: never in the query string, which access logs keep
    assert push_to(receipt_url(base, "").rstrip("/") + f"?token={TOKEN}", [unanswered]) == 403
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


def test_a_receipt_for_a_call_never_placed_is_refused_and_the_call_still_goes(engine, aliyun, voice, fixed_time,  # noqa: F811
                                                                               caplog):
    """Whoever holds the push secret cannot mark a queued call delivered: it was never handed to
    Aliyun, so the receipt is refused and logged, nothing changes, and the call is placed."""
    settings, base = voice
    notice_id = queue_call(engine)
    forged = {"call_id": "116012354148^102125811006", "status_code": "200000", "out_id": str(notice_id),
              "status_msg": "用户听完语音"}
    with caplog.at_level("WARNING", logger="esupervision.notify.aliyun_reports"):
        assert push_to(receipt_url(base, TOKEN), [forged, {**forged, "status_code": "200101"}]) == 200
    row = notice(engine, notice_id)
    assert (row.status, row.provider_message_id, row.provider_status) == ("queued", None, None)
    assert "refused (never handed to aliyun)" in caplog.text and str(notice_id) in caplog.text
    assert Gateway(engine, settings).deliver(notice_id).outcome == "sent"
    assert wait_for(lambda: notice(engine, notice_id).status == "delivered")
    [call] = aliyun.calls()
    assert notice(engine, notice_id).provider_message_id == call.call_id


def test_a_receipt_aliyun_does_not_confirm_is_refused_for_a_call_whose_worker_died(engine, aliyun, voice,  # noqa: F811
                                                                                    fixed_time):
    """A claimed call without a recorded call id is believed only when Aliyun knows that call to
    that number; while Aliyun cannot be asked, the push is answered 503 so that it comes again."""
    settings, base = voice
    aliyun.report_url = None
    notice_id, other = queue_call(engine), queue(engine, "+8613900139000", template="overdue", params=OVERDUE,
                                                 channels=("voice",))
    dead_attempt(engine, notice_id, fixed_time.now())
    unknown = {"call_id": "116012354148^102125811006", "status_code": "200000", "out_id": str(notice_id)}
    assert push_to(receipt_url(base, TOKEN), [unknown]) == 200
    # a real call, but to another number (another notice's): not this notice's call
    gateway = Gateway(engine, settings)
    assert gateway.deliver(other).outcome == "sent"
    [call] = aliyun.calls()
    assert push_to(receipt_url(base, TOKEN), [{**unknown, "call_id": call.call_id}]) == 200
    row = notice(engine, notice_id)
    assert (row.status, row.provider_message_id, row.claim_token) == ("sending", None, "dead")
    # the call the dead worker placed: Aliyun is down when its receipt comes, so it comes again
    gateway.providers["aliyun"].send(Outgoing(str(notice_id), "voice", CN, "overdue", OVERDUE, TEXT,
                                              fixed_time.now()))
    placed = aliyun.calls()[-1]
    receipt = {"call_id": placed.call_id, "status_code": "200000", "out_id": str(notice_id)}
    aliyun.state.down = True
    assert push_to(receipt_url(base, TOKEN), [receipt]) == 503
    assert notice(engine, notice_id).status == "sending"
    aliyun.state.down = False
    assert push_to(receipt_url(base, TOKEN), [receipt]) == 200
    row = notice(engine, notice_id)
    assert (row.status, row.provider_message_id, row.claim_token) == ("delivered", placed.call_id, None)
