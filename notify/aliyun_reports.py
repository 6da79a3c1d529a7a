"""Aliyun voice call receipts: ``VoiceCallReport`` while a call goes on and ``VoiceReport`` when it
ends, pushed by Aliyun's HTTP batch push as JSON arrays. Each carries the ``out_id`` we gave
SingleCallByTts (the notice id) and Aliyun's ``call_id``.

Dyvmsapi has no lookup by our own reference (QueryCallDetailByCallId needs the call id, which a
worker killed mid-call never recorded), so these receipts are how we learn that a call was
placed: one recorded on a notice makes it ``sent`` at least, with the call id, and voids any
claim still on it, so no worker places the call again (see ``AliyunProvider.find``).
"""
from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from esupervision.models.clocks import timesource
from esupervision.models.notices.notice import NOTICE, NOTICE_TOPIC, RECEIPT_RANK, NoticeStatus
from esupervision.settings import Settings

log = logging.getLogger(__name__)
REPORT_PATH = "/webhooks/aliyun/voice-report"
# Single-call progress (VoiceCallReport): the call is placed, its result still to come.
IN_PROGRESS = frozenset({"200101", "200201", "200102", "200100"})
# Call results the person heard (all of the message, or hung up part way).
HEARD = frozenset({"200000", "200001"})
FINAL = frozenset({NoticeStatus.DELIVERED, NoticeStatus.UNDELIVERED})


def report_status(status_code: str) -> NoticeStatus:
    """What a receipt's ``status_code`` says of the call: placed, heard, or not reached."""
    if status_code in IN_PROGRESS:
        return NoticeStatus.SENT
    return NoticeStatus.DELIVERED if status_code in HEARD else NoticeStatus.UNDELIVERED


def _rank(row: Any) -> int:
    # Before any receipt or provider answer the notice is nowhere yet, whatever the worker wrote.
    if row.status == NoticeStatus.FAILED.value and not row.provider_message_id:
        return 0
    return RECEIPT_RANK.get(NoticeStatus(row.status), 0)


def record_call_reports(engine: Engine, reports: list[dict[str, Any]], *,
                        now: datetime | None = None) -> dict[uuid.UUID, str | None]:
    """Record receipts on their notices (by ``out_id``), forward only; an unknown ``out_id`` or a
    receipt of another call is ignored. Returns the notices changed, each with its staff id."""
    now = now or timesource.now()
    changed: dict[uuid.UUID, str | None] = {}
    for report in reports:
        try:
            notice_id = uuid.UUID(str(report.get("out_id")))
        except ValueError:
            continue
        call_id, code = str(report.get("call_id") or ""), str(report.get("status_code") or "")
        if not call_id or not code:
            continue
        new = report_status(code)
        with Session(engine) as session, session.begin():
            row = session.execute(select(NOTICE).where(NOTICE.c.id == notice_id, NOTICE.c.channel == "voice")
                                  .with_for_update()).first()
            if row is None or (row.provider_message_id and row.provider_message_id != call_id):
                continue
            current = _rank(row)
            if RECEIPT_RANK[new] <= current:
                continue
            # Forward; and a claim still on it is void: no worker may place this call again.
            values: dict[str, Any] = {"provider": "aliyun", "provider_message_id": call_id, "status": new.value,
                                      "provider_status": code, "claim_token": None, "not_before": None}
            if current == 0:   # placed although no worker recorded it
                values.update(sent_at=row.sent_at or now, error_code=None, error_message=None)
            if new in FINAL:
                values["finished_at"] = now
            if new is NoticeStatus.UNDELIVERED:
                values.update(error_code=f"aliyun.{code}", error_message=str(report.get("status_msg") or code))
            session.execute(update(NOTICE).where(NOTICE.c.id == notice_id).values(**values))
        changed[notice_id] = str(row.staff_id) if row.staff_id else None
    return changed


def aliyun_report_routes(engine: Engine, settings: Settings,
                         publish: Callable[[str, dict[str, Any]], None] | None = None) -> list[Route]:
    """The receipt endpoint Aliyun's HTTP batch push is configured with (``?token=`` the setting
    ``aliyun_report_token``): 403 without the token, 400 for anything but a JSON array; answers
    ``{"code": 0}`` as Aliyun expects, so it does not push again."""

    async def voice_report(request: Request) -> JSONResponse:
        token = settings.aliyun_report_token
        if not token or not hmac.compare_digest(request.query_params.get("token", ""), token):
            return JSONResponse({"code": 403, "msg": "forbidden"}, status_code=403)
        try:
            reports = json.loads(await request.body())
        except ValueError:
            reports = None
        if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
            return JSONResponse({"code": 400, "msg": "expected a JSON array of reports"}, status_code=400)
        changed = await run_in_threadpool(record_call_reports, engine, reports)
        told = {staff for staff in changed.values() if staff}
        if told and publish is not None:
            publish(NOTICE_TOPIC, {"staff_ids": sorted(told)})
        return JSONResponse({"code": 0, "msg": "接收成功"})

    return [Route(REPORT_PATH, voice_report, methods=["POST"])]
