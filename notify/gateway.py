"""Delivery of one outbox notice: claim it, check limits and quiet hours, send it along its route,
record what happened. Safe to run twice for the same notice, at once or after a crash.

Never twice: a notice is claimed with a state transition (``queued|retrying -> sending``) before
any provider is called. A claim whose worker died stays ``sending``; after the lease it is
reclaimed and the provider is asked first whether the message already went (``Provider.find``:
Twilio by recipient and text, Aliyun by ``OutId``), and only sent if it did not.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models import timesource
from esupervision.models.notice import NOTICE, NoticeStatus
from esupervision.notify import templates
from esupervision.notify.limits import Hold, Pace, quiet_until, rate_hold
from esupervision.notify.providers import UNCERTAIN_CODE, ErrorKind, Outgoing, Provider, ProviderError
from esupervision.notify.routing import route
from esupervision.settings import Settings

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """A transient failure: the notice is back to ``retrying``; the broker tries again later."""

    def __init__(self, notice_id: uuid.UUID, code: str, message: str) -> None:
        super().__init__(f"{notice_id}: {code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Delivery:
    """What one ``deliver`` call did: ``outcome`` is sent, failed, held, retry or skipped."""

    notice_id: uuid.UUID
    outcome: str
    provider: str | None = None
    provider_message_id: str | None = None
    error_code: str | None = None


def build_providers(settings: Settings) -> dict[str, Provider]:
    """The providers these settings have credentials for; the console outside production."""
    providers: dict[str, Provider] = {}
    if settings.aliyun_access_key_id and settings.aliyun_access_key_secret:
        from esupervision.notify.providers.aliyun import AliyunProvider
        providers["aliyun"] = AliyunProvider(settings)
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from:
        from esupervision.notify.providers.twilio import TwilioProvider
        providers["twilio"] = TwilioProvider(settings)
    if settings.environment != "production":
        from esupervision.notify.providers.console import ConsoleProvider
        providers["console"] = ConsoleProvider()
    return providers


class Gateway:
    """Delivers notices of one database through the configured providers."""

    def __init__(self, engine: Engine, settings: Settings, providers: Mapping[str, Provider] | None = None,
                 *, now: Callable[[], datetime] = timesource.now) -> None:
        self.engine = engine
        self.settings = settings
        self.providers: dict[str, Provider] = dict(providers if providers is not None else build_providers(settings))
        self.now = now
        self.paces = {name: Pace(settings.provider_rate.get(name, 0.0)) for name in self.providers}

    # ------------------------------------------------------------------------- claiming
    def _claim(self, notice_id: uuid.UUID, now: datetime) -> tuple[Any, str, bool] | None:
        """Take the notice for this attempt: (row, claim token, recovering a dead worker's claim),
        or None when it is not ours to send (done, not due, or in another worker's hands)."""
        stale = now - timedelta(seconds=self.settings.notify_claim_lease_s)
        with Session(self.engine) as session, session.begin():
            row = session.execute(select(NOTICE).where(NOTICE.c.id == notice_id).with_for_update()).first()
            if row is None:
                return None
            status = NoticeStatus(row.status)
            due = row.not_before is None or row.not_before <= now
            if status in (NoticeStatus.QUEUED, NoticeStatus.RETRYING) and due:
                recovering = False
            elif status is NoticeStatus.SENDING and row.claimed_at is not None and row.claimed_at < stale:
                recovering = True
            else:
                return None
            token = secrets.token_hex(8)
            done = session.execute(update(NOTICE).where(
                NOTICE.c.id == notice_id, NOTICE.c.status == row.status,
                NOTICE.c.claim_token == row.claim_token if row.claim_token else NOTICE.c.claim_token.is_(None))
                .values(status=NoticeStatus.SENDING.value, claimed_at=now, claim_token=token,
                        attempts=row.attempts + (0 if recovering else 1)))
            if done.rowcount != 1:
                return None
        return row, token, recovering

    def _finish(self, notice_id: uuid.UUID, token: str, **values: Any) -> bool:
        """Write the attempt's result, only while the claim is still ours."""
        with Session(self.engine) as session, session.begin():
            done = session.execute(update(NOTICE).where(NOTICE.c.id == notice_id, NOTICE.c.claim_token == token)
                                   .values(claim_token=None, **values))
            return done.rowcount == 1

    # ------------------------------------------------------------------------- limits
    def _hold(self, row: Any, now: datetime) -> Hold | None:
        settings = self.settings
        if row.channel == "voice" and not row.urgent:
            until = quiet_until(now, tz=settings.timezone, quiet=settings.quiet_hours)
            if until is not None:
                return Hold(until, "QUIET_HOURS", f"夜间免打扰，{until.isoformat()} 后再拨打")
        limits = settings.notify_limits.get(row.template)
        if limits:
            with Session(self.engine) as session:
                sent = list(session.scalars(select(NOTICE.c.sent_at).where(
                    NOTICE.c.recipient == row.recipient, NOTICE.c.template == row.template,
                    NOTICE.c.channel == row.channel, NOTICE.c.id != row.id,
                    NOTICE.c.sent_at > now - timedelta(days=1))))
            until = rate_hold(now, sent, limits)
            if until is not None:
                drop = row.template in settings.notify_limit_drop
                return Hold(until, "RATE_LIMITED", f"同一号码发送过于频繁（每分钟/小时/天至多 {limits}）", drop=drop)
        return None

    # ------------------------------------------------------------------------- delivering
    def deliver(self, notice_id: uuid.UUID) -> Delivery:
        """Send the notice once, if it is due and not already sent; raises ``RetryLater`` after a
        transient failure (the notice is ``retrying`` then, until its attempts run out)."""
        now = self.now()
        claimed = self._claim(notice_id, now)
        if claimed is None:
            return Delivery(notice_id, "skipped")
        row, token, recovering = claimed
        hold = None if recovering else self._hold(row, now)
        if hold is not None:
            if hold.drop:
                self._finish(notice_id, token, status=NoticeStatus.FAILED.value, error_code=hold.code,
                             error_message=hold.message, finished_at=now)
                return Delivery(notice_id, "failed", error_code=hold.code)
            self._finish(notice_id, token, status=NoticeStatus.QUEUED.value, not_before=hold.until,
                         enqueued_at=None, attempts=row.attempts, error_code=hold.code, error_message=hold.message)
            return Delivery(notice_id, "held", error_code=hold.code)
        try:
            text = templates.render(row.template, row.params)
        except templates.TemplateError as exc:
            self._finish(notice_id, token, status=NoticeStatus.FAILED.value, error_code=exc.code,
                         error_message=exc.message, finished_at=now)
            return Delivery(notice_id, "failed", error_code=exc.code)
        message = Outgoing(notice_id=str(notice_id), channel=row.channel, to=row.recipient, template=row.template,
                           params=dict(row.params), text=text,
                           claimed_at=row.claimed_at if recovering else (row.claimed_at or now))
        names = route(self.settings, row.channel, row.recipient, self.providers)
        if not names:
            self._finish(notice_id, token, status=NoticeStatus.FAILED.value, error_code="NO_PROVIDER",
                         error_message=f"没有可用的{row.channel}服务商", finished_at=now)
            return Delivery(notice_id, "failed", error_code="NO_PROVIDER")
        if recovering or row.error_code == UNCERTAIN_CODE:
            found = self._look_up(names, message, row)
            if found is not None:
                return self._sent(notice_id, token, *found)
        return self._send(notice_id, token, row, message, names)

    def _look_up(self, names: list[str], message: Outgoing, row: Any) -> tuple[str, str] | None:
        """Whether a dead worker's attempt reached a provider: (provider, message id) or None."""
        tried = [row.provider] if row.provider in names else names
        for name in tried:
            try:
                found = self.providers[name].find(message)
            except NotImplementedError:
                found = None
            if found:
                return name, found
        return None

    def _send(self, notice_id: uuid.UUID, token: str, row: Any, message: Outgoing, names: list[str]) -> Delivery:
        last: ProviderError | None = None
        for name in names:
            provider = self.providers[name]
            self.paces[name].wait()
            try:
                return self._sent(notice_id, token, name, provider.send(message))
            except ProviderError as exc:
                last = exc
                log.warning("notice %s via %s: %s", notice_id, name, exc)
                if exc.kind is ErrorKind.UNCERTAIN:
                    # It may have gone: never elsewhere now; the next attempt looks it up first.
                    try:
                        found = provider.find(message)
                    except (NotImplementedError, ProviderError):
                        found = None
                    if found:
                        return self._sent(notice_id, token, name, found)
                    return self._retry(notice_id, token, row, exc, provider=name)
                if exc.kind is ErrorKind.PERMANENT:
                    self._finish(notice_id, token, status=NoticeStatus.FAILED.value, provider=name,
                                 error_code=exc.code, error_message=exc.message, finished_at=self.now())
                    return Delivery(notice_id, "failed", name, error_code=exc.code)
                if exc.kind is ErrorKind.TRANSIENT:
                    break   # the provider said "later", not "elsewhere"
        assert last is not None
        return self._retry(notice_id, token, row, last)

    def _retry(self, notice_id: uuid.UUID, token: str, row: Any, error: ProviderError,
               provider: str | None = None) -> Delivery:
        now = self.now()
        if row.attempts + 1 >= self.settings.notify_max_attempts:
            self._finish(notice_id, token, status=NoticeStatus.FAILED.value, error_code=error.code,
                         error_message=f"重试 {row.attempts + 1} 次后放弃: {error.message}", finished_at=now)
            return Delivery(notice_id, "failed", error_code=error.code)
        self._finish(notice_id, token, status=NoticeStatus.RETRYING.value, error_code=error.code,
                     error_message=error.message, enqueued_at=now, provider=provider)
        raise RetryLater(notice_id, error.code, error.message)

    def _sent(self, notice_id: uuid.UUID, token: str, provider: str, message_id: str) -> Delivery:
        now = self.now()
        # A receipt may have come in already (Twilio calls back fast): never move it backwards.
        with Session(self.engine) as session, session.begin():
            session.execute(update(NOTICE).where(NOTICE.c.id == notice_id, NOTICE.c.claim_token == token,
                                                 NOTICE.c.status == NoticeStatus.SENDING.value)
                            .values(status=NoticeStatus.SENT.value))
            session.execute(update(NOTICE).where(NOTICE.c.id == notice_id, NOTICE.c.claim_token == token)
                            .values(claim_token=None, provider=provider, provider_message_id=message_id,
                                    sent_at=now, error_code=None, error_message=None))
        return Delivery(notice_id, "sent", provider, message_id)


def due_for_relay(session: Session, now: datetime, settings: Settings, limit: int = 1000) -> list[uuid.UUID]:
    """Notices the broker should hear of now: queued or retrying and due, never enqueued or
    enqueued so long ago that the message must be lost; and claims whose worker died."""
    requeue = now - timedelta(seconds=settings.notify_requeue_after_s)
    stale = now - timedelta(seconds=settings.notify_claim_lease_s)
    pending = and_(NOTICE.c.status.in_([NoticeStatus.QUEUED.value, NoticeStatus.RETRYING.value]),
                   or_(NOTICE.c.not_before.is_(None), NOTICE.c.not_before <= now),
                   or_(NOTICE.c.enqueued_at.is_(None), NOTICE.c.enqueued_at < requeue))
    orphaned = and_(NOTICE.c.status == NoticeStatus.SENDING.value, NOTICE.c.claimed_at < stale,
                    or_(NOTICE.c.enqueued_at.is_(None), NOTICE.c.enqueued_at < NOTICE.c.claimed_at,
                        NOTICE.c.enqueued_at < requeue))
    query = select(NOTICE.c.id).where(or_(pending, orphaned)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def relay(engine: Engine, enqueue: Callable[[list[uuid.UUID]], None], settings: Settings,
          *, now: datetime | None = None, limit: int = 1000) -> int:
    """Hand due notices to the broker and mark them enqueued, in one transaction: if the broker is
    down nothing is marked and the next pass tries again. Returns how many were enqueued."""
    now = now or timesource.now()
    with Session(engine) as session, session.begin():
        ids = due_for_relay(session, now, settings, limit)
        if not ids:
            return 0
        enqueue(ids)
        for start in range(0, len(ids), 1000):
            session.execute(update(NOTICE).where(NOTICE.c.id.in_(ids[start:start + 1000])).values(enqueued_at=now))
    return len(ids)
