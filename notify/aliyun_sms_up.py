"""Aliyun upstream SMS (SmsUp): what people text back to the numbers our Aliyun SMS come from,
pushed by Aliyun's HTTP batch push as a JSON array of ``{phone_number, content, send_time,
dest_code, sequence_id, sign_name}``. Each message is routed as Twilio's inbound SMS is
(``notify/enquiry.py``: 投诉 / 咨询 files a complaint or consultation, a digit 1–5 rates the
applicant's completed case, a case number asks for its status), and its answer is queued in the
outbox as an SMS to the sender (Aliyun has no reply in the push's answer, and sends registered
templates only).

Aliyun pushes again, after 1, 5 and 10 minutes, whatever was not answered HTTP 200: a message is
acted on once, by its ``sequence_id`` (``models/notices/inbound.py``), in the transaction that
acts on it, so a push repeated, or two at once, changes nothing twice. A message we could not
take (our fault: the database away) fails the push with 500, so Aliyun pushes it again.

The push secret is the last segment of the path (as for the voice receipts,
``notify/aliyun_reports.py``: the setting ``aliyun_report_token``); the log redaction masks it and
the senders' numbers, and the texts are never logged.
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from esupervision.models.base import new_id
from esupervision.models.errors import DomainError
from esupervision.models.ledger.transaction import Transaction, transaction
from esupervision.models.notices.inbound import INBOUND_SMS, claim_inbound
from esupervision.models.notices.notice import NoticeDraft, add_notices
from esupervision.models.notices.phones import PhoneError, mask, to_e164
from esupervision.notify.enquiry import Reply, answer_sms, refusal
from esupervision.settings import Settings

log = logging.getLogger(__name__)
UP_PATH = "/webhooks/aliyun/sms-up"
# Aliyun writes send_time in China's local time, without an offset.
ALIYUN_TIME = ZoneInfo("Asia/Shanghai")
# Answers the domain sends by itself already (the complaint's own receipt): not queued twice.
SENT_BY_THE_DOMAIN = frozenset({"complaint_received"})


def upstream_url(public_url: str, token: str) -> str:
    """The URL to configure at Aliyun for upstream messages (上行消息 HTTP 批量推送)."""
    return f"{public_url.rstrip('/')}{UP_PATH}/{token}"


@dataclass
class Taken:
    """What a push did: messages acted on, repeats ignored, and refused ones (sequence id, why)."""

    new: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _sent_at(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=ALIYUN_TIME)
    except ValueError:
        return None


def take_upstream(engine: Engine, messages: list[dict[str, Any]], settings: Settings, *,
                  now: datetime | None = None) -> Taken:
    """Act on each message once (by ``sequence_id``) and queue its answer to the sender; a
    refusal of the domain (a daily limit, a case rated already) is answered in words, as on
    Twilio. Raises what is not the message's fault (the database away): nothing of that
    message is kept, so Aliyun's next push brings it again."""
    taken = Taken()
    for message in messages:
        sequence = str(message.get("sequence_id") or "").strip()
        try:
            sender = to_e164(str(message.get("phone_number") or ""), region=settings.default_region)
        except PhoneError:
            sender = ""
        if not sequence or not sender:
            taken.refused.append((sequence[:40], "malformed"))
            log.warning("Aliyun upstream SMS refused (malformed): sequence_id %r", sequence[:40])
            continue
        row = {"provider": "aliyun", "message_id": sequence, "sender": sender,
               "sent_at": _sent_at(message.get("send_time")), "dest_code": str(message.get("dest_code") or "") or None}
        body = str(message.get("content") or "")
        try:
            with transaction(engine, now=now, actor="sms:aliyun") as tx:
                fresh = _answer(tx, row, lambda t: answer_sms(t, body, sender, tz=settings.timezone,
                                                              region=settings.default_region))
        except DomainError as exc:
            with transaction(engine, now=now, actor="sms:aliyun") as tx:
                fresh = _answer(tx, row, lambda _: refusal(exc.message))
        (taken.new if fresh else taken.repeated).append(sequence)
        log.info("Aliyun upstream SMS %s from %s: %s", sequence, mask(sender), "taken" if fresh else "repeated")
    return taken


def _answer(tx: Transaction, row: dict[str, Any], act: Any) -> bool:
    """Claim the message and act on it in ``tx``, queueing the answer; False if it was taken before."""
    inbound_id = new_id()
    if not claim_inbound(tx.session, {"id": inbound_id, "received_at": tx.now, **row}):
        return False
    reply: Reply = act(tx)
    tx.session.execute(update(INBOUND_SMS).where(INBOUND_SMS.c.id == inbound_id).values(reply=reply.template))
    if reply.template not in SENT_BY_THE_DOMAIN:
        add_notices(tx, [NoticeDraft(key=f"sms_up:{row['provider']}:{row['message_id']}", subject_type="inbound_sms",
                                     subject_id=inbound_id, template=reply.template, params=dict(reply.params),
                                     phone=row["sender"], recipient_kind="applicant")])
    return True


def aliyun_sms_up_routes(engine: Engine, settings: Settings) -> list[Route]:
    """The endpoint Aliyun's upstream push is configured with (``upstream_url``): 403 without the
    secret, 400 for anything but a JSON array of objects, ``{"code": 0, "msg": "接收成功"}`` once
    every message is taken (malformed ones included: pushing them again would not help), 500
    when a message could not be taken, so that Aliyun pushes the batch again."""

    async def sms_up(request: Request) -> JSONResponse:
        token = settings.aliyun_report_token
        if not token or not hmac.compare_digest(request.path_params.get("token", "").encode(), token.encode()):
            return JSONResponse({"code": 403, "msg": "forbidden"}, status_code=403)
        try:
            messages = json.loads(await request.body())
        except ValueError:
            messages = None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return JSONResponse({"code": 400, "msg": "expected a JSON array of messages"}, status_code=400)
        try:
            taken = await run_in_threadpool(take_upstream, engine, messages, settings)
        except Exception:   # ours, not the message's: Aliyun pushes again
            log.exception("Aliyun upstream SMS not taken; Aliyun will push again")
            return JSONResponse({"code": 500, "msg": "暂时无法接收，请稍后重推 retry later"}, status_code=500)
        return JSONResponse({"code": 0, "msg": "接收成功", "taken": len(taken.new), "repeated": len(taken.repeated),
                             "refused": len(taken.refused)})

    async def without_token(_: Request) -> JSONResponse:
        return JSONResponse({"code": 403, "msg": f"forbidden: the push URL is {UP_PATH}/<token>"}, status_code=403)

    return [Route(UP_PATH + "/{token}", sms_up, methods=["POST"]),
            Route(UP_PATH, without_token, methods=["POST"])]

