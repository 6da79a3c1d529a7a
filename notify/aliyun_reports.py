"""Aliyun voice call receipts: ``VoiceCallReport`` while a call goes on and ``VoiceReport`` when it
ends, pushed by Aliyun's HTTP batch push as JSON arrays. Each carries the ``out_id`` we gave
SingleCallByTts (the notice id) and Aliyun's ``call_id``.

Dyvmsapi has no lookup by our own reference (QueryCallDetailByCallId needs the call id, which a
worker killed mid-call never recorded), so these receipts are how we learn that a call was
placed: one recorded on a notice makes it ``sent`` at least, with the call id, and voids any
claim still on it, so no worker places the call again (see ``AliyunProvider.find``).

A receipt is believed only for a call we handed to Aliyun: its ``call_id`` must be the one
recorded on the notice, or, when no attempt could record one (a worker killed mid-call, a
timeout), Aliyun itself must confirm that call to the notice's number after an attempt began
(QueryCallDetailByCallId). Anything else is refused and logged, and changes nothing: knowing the
push secret is not enough to mark a call that was never placed as delivered.

The push secret is the last segment of the path (Aliyun's HTTP push sends no header of ours);
the log redaction (``esupervision.redaction``) masks it in every log line.
"""
from __future__ import annotations

import hmac
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
from esupervision.models.notices.phones import national
from phonenumbers import NumberParseException
from esupervision.notify.providers import ProviderError
from esupervision.settings import Settings

log = logging.getLogger(__name__)
REPORT_PATH = "/webhooks/aliyun/voice-report"
# How long before an attempt's claim Aliyun's record of its call may be dated (clock skew).
SKEW = timedelta(minutes=10)
# QueryCallDetailByCallId: (call id, searched from) -> the call's record, or None if Aliyun has none.
CallLookup = Callable[[str, datetime], dict[str, Any] | None]


def receipt_url(public_url: str, token: str) -> str:
    """The URL to give Aliyun's HTTP batch push: the receipt path with the push secret."""
    return f"{public_url.rstrip('/')}{REPORT_PATH}/{token}"
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


@dataclass
class Recorded:
    """What a batch of receipts did: the notices changed (with their staff id), the receipts
    refused (notice, why), and whether Aliyun could not be asked to confirm one (push again)."""

    changed: dict[uuid.UUID, str | None] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)
    unconfirmed: bool = False


def _needs_confirmation(row: Any) -> bool:
    """Whether only Aliyun can tell if this notice's call was placed: an attempt began (it may
    have reached Aliyun) but recorded no call id."""
    return (row is not None and not row.provider_message_id and row.claimed_at is not None
            and row.provider in (None, "aliyun"))


def _refusal(row: Any, call_id: str, detail: dict[str, Any] | None) -> str | None:
    """Why a receipt for ``call_id`` cannot be about this notice's call (``detail``: Aliyun's
    record of that call, if asked), or None if it is."""
    if row is None:
        return "no such voice notice"
    if row.provider_message_id:
        if row.provider != "aliyun" or row.provider_message_id != call_id:
            return "another call"
        return None
    if not _needs_confirmation(row):
        return "never handed to aliyun"
    callee = str((detail or {}).get("callee") or "")
    try:
        ours = national(row.recipient)
    except NumberParseException:
        return "not a phone number"
    if not callee or not callee.endswith(ours):
        return "unknown to aliyun"
    return None


def record_call_reports(engine: Engine, reports: list[dict[str, Any]], *, now: datetime | None = None,
                        confirm: CallLookup | None = None) -> Recorded:
    """Record receipts on their notices (by ``out_id``), forward only. A receipt whose call is
    not the notice's (see the module docstring; ``confirm`` asks Aliyun about a call no attempt
    recorded) is refused and logged, and changes nothing."""
    now = now or timesource.now()
    done = Recorded()
    for report in reports:
        out_id = str(report.get("out_id") or "")
        call_id, code = str(report.get("call_id") or ""), str(report.get("status_code") or "")
        try:
            notice_id = uuid.UUID(out_id)
        except ValueError:
            notice_id = None
        if notice_id is None or not call_id or not code:
            done.refused.append((out_id, "malformed"))
            log.warning("Aliyun receipt refused (malformed): out_id %r call %r", out_id[:40], call_id[:40])
            continue
        new = report_status(code)
        voice_notice = select(NOTICE).where(NOTICE.c.id == notice_id, NOTICE.c.channel == "voice")
        detail, unreachable = None, None
        with Session(engine) as session:
            row = session.execute(voice_notice).first()
        if _needs_confirmation(row) and confirm is not None:
            try:   # asked before the row is locked: no lock is held over a request to Aliyun
                detail = confirm(call_id, row.claimed_at - SKEW)
            except ProviderError as exc:
                unreachable = f"aliyun unreachable ({exc.code})"
        with Session(engine) as session, session.begin():
            row = session.execute(voice_notice.with_for_update()).first()
            why = _refusal(row, call_id, detail)
            if why is not None and unreachable and _needs_confirmation(row):
                why, done.unconfirmed = unreachable, True
            if why is not None:
                done.refused.append((out_id, why))
                log.warning("Aliyun receipt refused (%s): notice %s call %s status %s", why, notice_id, call_id, code)
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
        done.changed[notice_id] = str(row.staff_id) if row.staff_id else None
    return done


def aliyun_report_routes(engine: Engine, settings: Settings,
                         publish: Callable[[str, dict[str, Any]], None] | None = None) -> list[Route]:
    """The receipt endpoint Aliyun's HTTP batch push is configured with (``receipt_url``: the
    setting ``aliyun_report_token`` as the last path segment): 403 without it, 400 for anything
    but a JSON array; ``{"code": 0}`` as Aliyun expects once the batch is recorded (refused
    receipts included: pushing them again would not help), 503 when Aliyun could not be asked
    to confirm a receipt, so that it pushes the batch again later."""
    confirm: CallLookup | None = None
    if settings.aliyun_access_key_id and settings.aliyun_access_key_secret:
        from esupervision.notify.providers.aliyun import AliyunProvider
        confirm = AliyunProvider(settings).call_detail

    async def voice_report(request: Request) -> JSONResponse:
        token = settings.aliyun_report_token
        if not token or not hmac.compare_digest(request.path_params.get("token", "").encode(), token.encode()):
            return JSONResponse({"code": 403, "msg": "forbidden"}, status_code=403)
        try:
            reports = json.loads(await request.body())
        except ValueError:
            reports = None
        if not isinstance(reports, list) or not all(isinstance(r, dict) for r in reports):
            return JSONResponse({"code": 400, "msg": "expected a JSON array of reports"}, status_code=400)
        done = await run_in_threadpool(lambda: record_call_reports(engine, reports, confirm=confirm))
        told = {staff for staff in done.changed.values() if staff}
        if told and publish is not None:
            publish(NOTICE_TOPIC, {"staff_ids": sorted(told)})
        if done.unconfirmed:
            return JSONResponse({"code": 503, "msg": "暂时无法向阿里云核实，请稍后重推 retry later"}, status_code=503)
        return JSONResponse({"code": 0, "msg": "接收成功", "refused": len(done.refused)})

    async def without_token(_: Request) -> JSONResponse:
        # The secret once travelled as ?token=, and so reached access logs: it is taken in the path only.
        return JSONResponse({"code": 403, "msg": f"forbidden: the push URL is {REPORT_PATH}/<token>"},
                            status_code=403)

    return [Route(REPORT_PATH + "/{token}", voice_report, methods=["POST"]),
            Route(REPORT_PATH, without_token, methods=["POST"])]
