"""Aliyun delivery receipts by polling ``QuerySendDetails``: for each number with SMS sent and
not yet reported, ask once per (number, China day) and record the receipts by ``OutId``."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models import timesource
from esupervision.models.notice import NOTICE, NoticeStatus
from esupervision.notify.providers import ProviderError

log = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")


def poll_aliyun(engine: Engine, provider, *, now: datetime | None = None, window: timedelta = timedelta(days=2)) -> int:  # noqa: ANN001
    """Update Aliyun SMS notices still ``sent`` with their receipts; returns how many changed."""
    now = now or timesource.now()
    with Session(engine) as session:
        rows = session.execute(select(NOTICE.c.id, NOTICE.c.recipient, NOTICE.c.sent_at).where(
            NOTICE.c.provider == "aliyun", NOTICE.c.channel == "sms",
            NOTICE.c.status == NoticeStatus.SENT.value, NOTICE.c.sent_at > now - window)).all()
    days: dict[tuple[str, str], datetime] = {}
    for row in rows:
        days.setdefault((row.recipient, row.sent_at.astimezone(CHINA).strftime("%Y%m%d")), row.sent_at)
    waiting = {str(row.id) for row in rows}
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
    return changed


class StatusPoller:
    """Polls Aliyun receipts every ``interval`` seconds on a thread, until stopped."""

    def __init__(self, engine: Engine, provider, interval: float) -> None:  # noqa: ANN001
        self.engine, self.provider, self.interval = engine, provider, interval
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                poll_aliyun(self.engine, self.provider)
            except Exception:
                log.exception("receipt polling failed")

    def stop(self) -> None:
        self._stop.set()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="receipt-poller", daemon=True)
        thread.start()
        return thread
