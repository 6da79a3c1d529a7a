"""Twilio's webhooks: message and call status callbacks, the voice line that reads a case's status
(``<Gather>`` the case number by keypad) and inbound SMS asking for a case.

Every request must carry a valid ``X-Twilio-Signature`` over the URL Twilio called (our public
URL) and its form: unsigned or forged requests get 403 and change nothing. A replayed callback is
harmless: receipts only move a notice forward, so the same one twice changes nothing.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from esupervision.models.clocks import timesource
from esupervision.models.notices.notice import NOTICE, NOTICE_TOPIC, RECEIPT_RANK, NoticeStatus
from esupervision.notify.enquiry import sms_reply, status_reply
from esupervision.notify.providers.twilio import CALL_STATUS, SMS_STATUS
from esupervision.settings import Settings, get_settings

log = logging.getLogger(__name__)
TWIML = "application/xml"
FINAL = {NoticeStatus.DELIVERED, NoticeStatus.UNDELIVERED, NoticeStatus.FAILED}


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio called: our public base, the path and the query as received."""
    query = request.url.query
    return f"{settings.public_url.rstrip('/')}{request.url.path}" + (f"?{query}" if query else "")


async def signed_form(request: Request, settings: Settings) -> dict[str, str] | None:
    """The request's form if Twilio signed it, else None."""
    # Twilio posts application/x-www-form-urlencoded; parsed here without a multipart dependency.
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    signature = request.headers.get("x-twilio-signature")
    if not signature or not settings.twilio_auth_token:
        return None
    if not RequestValidator(settings.twilio_auth_token).validate(public_url(settings, request), form, signature):
        return None
    return form


def apply_receipt(engine: Engine, notice_id: uuid.UUID, *, sid: str, status: str, provider_status: str,
                  error_code: str | None,
                  publish: Callable[[str, dict[str, Any]], None] | None = None) -> str:
    """Record a delivery report on a notice, forward only; returns what happened. A recorded
    status is published (``notice.status``) so the staff member it was sent to sees it live."""
    now = timesource.now()
    with Session(engine) as session, session.begin():
        row = session.execute(select(NOTICE).where(NOTICE.c.id == notice_id).with_for_update()).first()
        if row is None:
            return "unknown notice"
        if row.provider_message_id and row.provider_message_id != sid:
            return "another message"
        current, new = NoticeStatus(row.status), NoticeStatus(status)
        if current not in RECEIPT_RANK or (row.status == NoticeStatus.FAILED and not row.provider_message_id):
            return "not sent"
        if RECEIPT_RANK[new] <= RECEIPT_RANK[current]:
            return "not forward"
        values: dict[str, Any] = {"status": new.value, "provider_status": provider_status,
                                  "provider": row.provider or "twilio", "provider_message_id": sid}
        if new in FINAL:
            values["finished_at"] = now
        if error_code:
            values["error_code"], values["error_message"] = f"twilio.{error_code}", f"Twilio 回执错误 {error_code}"
        session.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(**values))
    if publish is not None and row.staff_id is not None:
        publish(NOTICE_TOPIC, {"staff_ids": [str(row.staff_id)]})
    return "recorded"


def twilio_routes(engine: Engine, settings: Settings | None = None,
                  publish: Callable[[str, dict[str, Any]], None] | None = None) -> list[Route]:
    settings = settings or get_settings()

    async def status(request: Request) -> Response:
        form = await signed_form(request, settings)
        if form is None:
            return Response("forged or unsigned", status_code=403)
        try:
            notice_id = uuid.UUID(request.query_params.get("notice", ""))
        except ValueError:
            return Response("no notice", status_code=400)
        if "MessageStatus" in form:
            sid, word, mapping = form.get("MessageSid", ""), form["MessageStatus"], SMS_STATUS
        else:
            sid, word, mapping = form.get("CallSid", ""), form.get("CallStatus", ""), CALL_STATUS
        if not sid or word not in mapping:
            return Response("unknown status", status_code=400)
        outcome = await run_in_threadpool(apply_receipt, engine, notice_id, sid=sid, status=mapping[word],
                                          provider_status=word, error_code=form.get("ErrorCode"),
                                          publish=publish)
        return Response(outcome, status_code=200)

    async def voice(request: Request) -> Response:
        if await signed_form(request, settings) is None:
            return Response("forged or unsigned", status_code=403)
        reply = VoiceResponse()
        gather = reply.gather(input="dtmf", finish_on_key="#", timeout=10, action="/webhooks/twilio/voice/case",
                              method="POST")
        gather.say("您好，这里是行政服务中心办件查询。请输入办件编号中的数字，以井号键结束。", language="zh-CN")
        reply.say("没有收到输入，再见。", language="zh-CN")
        return Response(str(reply), media_type=TWIML)

    async def voice_case(request: Request) -> Response:
        form = await signed_form(request, settings)
        if form is None:
            return Response("forged or unsigned", status_code=403)
        text = await run_in_threadpool(_reply, form.get("Digits", ""), form.get("From", ""))
        reply = VoiceResponse()
        reply.say(text, language="zh-CN")
        reply.hangup()
        return Response(str(reply), media_type=TWIML)

    async def sms(request: Request) -> Response:
        form = await signed_form(request, settings)
        if form is None:
            return Response("forged or unsigned", status_code=403)
        # A complaint, a rating or a status question: notify.enquiry routes the whole text.
        text = await run_in_threadpool(sms_reply, engine, form.get("Body", ""), form.get("From", ""),
                                       now=timesource.now(), tz=settings.timezone, region=settings.default_region)
        reply = MessagingResponse()
        reply.message(text)
        return Response(str(reply), media_type=TWIML)

    def _reply(keyed: str, caller: str) -> str:
        words = keyed.strip().split()
        with Session(engine) as session:
            return status_reply(session, words[-1] if words else "", caller, now=timesource.now(),
                                tz=settings.timezone, region=settings.default_region)

    return [
        Route("/webhooks/twilio/status", status, methods=["POST"]),
        Route("/webhooks/twilio/voice", voice, methods=["POST"]),
        Route("/webhooks/twilio/voice/case", voice_case, methods=["POST"]),
        Route("/webhooks/twilio/sms", sms, methods=["POST"]),
    ]
