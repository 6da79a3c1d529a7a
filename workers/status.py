"""Aliyun delivery receipts by polling ``QuerySendDetails``: for each number with SMS sent and
not yet reported, ask once per (number, China day) and record the receipts by ``OutId``."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.clocks import timesource
from esupervision.models.notices.notice import NOTICE, NOTICE_TOPIC, NoticeStatus
from esupervision.notify.providers import ProviderError

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")


def poll_aliyun(engine: Engine, provider, *, now: datetime | None = None, window: timedelta = timedelta(days=2),  # noqa: ANN001
                publish: Callable[[str, dict[str, Any]], None] | None = None) -> int:
    """Update Aliyun SMS notices still ``sent`` with their receipts (and voice calls with their
    call details); returns how many changed.
    With ``publish``, staff whose notices changed are told on the internal channel."""
    now = now or timesource.now()
    with Session(engine) as session:
        rows = session.execute(select(NOTICE.c.id, NOTICE.c.recipient, NOTICE.c.sent_at, NOTICE.c.staff_id).where(
            NOTICE.c.provider == "aliyun", NOTICE.c.channel == "sms",
            NOTICE.c.status == NoticeStatus.SENT.value, NOTICE.c.sent_at > now - window)).all()
    days: dict[tuple[str, str], datetime] = {}
    for row in rows:
        days.setdefault((row.recipient, row.sent_at.astimezone(CHINA).strftime("%Y%m%d")), row.sent_at)
    waiting = {str(row.id) for row in rows}
    staff_of = {str(row.id): str(row.staff_id) for row in rows if row.staff_id}
    told: set[str] = set()
    changed = 0
    for (recipient, _), sent_at in days.items():
        try:
            receipts = provider.receipts(recipient, sent_at)
        except ProviderError as exc:
            log.warning("QuerySendDetails for %s failed: %s", recipient[-4:], exc)
            continue
        for out_id, receipt in receipts.items():
            if out_id not in waiting or receipt.status == "sent":
                continue
            failed = receipt.status != "delivered"
            with Session(engine) as session, session.begin():
                done = session.execute(update(NOTICE).where(
                    NOTICE.c.id == uuid.UUID(out_id), NOTICE.c.status == NoticeStatus.SENT.value).values(
                    status=receipt.status, provider_status=receipt.error_code, finished_at=now,
                    error_code=f"aliyun.{receipt.error_code}" if failed and receipt.error_code else None))
                changed += done.rowcount
            if done.rowcount and out_id in staff_of:
                told.add(staff_of[out_id])
    calls, called = poll_aliyun_calls(engine, provider, now=now, window=window)
    told |= called
    if told and publish is not None:
        publish(NOTICE_TOPIC, {"staff_ids": sorted(told)})
    return changed + calls


def poll_aliyun_calls(engine: Engine, provider, *, now: datetime, window: timedelta,  # noqa: ANN001
                      settle: timedelta = timedelta(minutes=2)) -> tuple[int, set[str]]:
    """Aliyun voice notices ``sent`` whose result never came by push (a receipt lost after
    Aliyun's three tries): their result by QueryCallDetailByCallId, recorded as a receipt would
    be. Returns (how many changed, staff ids whose notices changed)."""
    from esupervision.notify.aliyun_reports import IN_PROGRESS, record_call_reports

    with Session(engine) as session:
        rows = session.execute(select(NOTICE.c.id, NOTICE.c.provider_message_id, NOTICE.c.sent_at).where(
            NOTICE.c.provider == "aliyun", NOTICE.c.channel == "voice", NOTICE.c.status == NoticeStatus.SENT.value,
            NOTICE.c.provider_message_id.is_not(None), NOTICE.c.sent_at > now - window,
            NOTICE.c.sent_at < now - settle)).all()
    reports = []
    for row in rows:
        try:
            detail = provider.call_detail(row.provider_message_id, row.sent_at)
        except ProviderError as exc:
            log.warning("QueryCallDetailByCallId for notice %s failed: %s", row.id, exc)
            continue
        state = str((detail or {}).get("state") or "")
        if state and state not in IN_PROGRESS:
            reports.append({"out_id": str(row.id), "call_id": row.provider_message_id, "status_code": state,
                            "status_msg": (detail or {}).get("stateDesc")})
    changed = record_call_reports(engine, reports, now=now).changed if reports else {}
    return len(changed), {staff for staff in changed.values() if staff}


class StatusPoller:
    """Polls Aliyun receipts every ``interval`` seconds on a thread, until stopped."""

    def __init__(self, engine: Engine, provider, interval: float,  # noqa: ANN001
                 publish: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        from esupervision.workers.runtime import channel

        self.engine, self.provider, self.interval = engine, provider, interval
        self.publish = publish if publish is not None else channel().publish
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                poll_aliyun(self.engine, self.provider, publish=self.publish)
            except Exception:
                log.exception("receipt polling failed")

    def stop(self) -> None:
        self._stop.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="receipt-poller", daemon=True)
        thread.start()
        return thread
