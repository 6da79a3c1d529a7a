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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.base import local_time
from esupervision.models.catalogue.catalogue import Center, center_ancestors
from esupervision.models.clocks import timesource
from esupervision.models.clocks.calendar import calendar_for
from esupervision.models.notices.notice import NOTICE, NOTICE_TOPIC, NoticeStatus

# Notices that count against a recipient's limits: handed to a provider, or being handed now.
WENT = frozenset({NoticeStatus.SENDING.value, NoticeStatus.SENT.value, NoticeStatus.DELIVERED.value,
                  NoticeStatus.UNDELIVERED.value})
from esupervision.notify import templates
from esupervision.notify.limits import Hold, Pace, notice_hours, rate_hold, send_at
from esupervision.notify.providers import UNCERTAIN_CODE, ErrorKind, Outgoing, Provider, ProviderError
from esupervision.notify.routing import route
from esupervision.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What one delivery did: ``outcome`` is sent, failed, held, retry or skipped."""

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
                 *, now: Callable[[], datetime] = timesource.now,
                 publish: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.providers: dict[str, Provider] = dict(providers if providers is not None else build_providers(settings))
        self.now = now
        # The internal channel: staff following their notices hear of each change it records.
        self.publish = publish
        self.paces = {name: Pace(settings.provider_rate.get(name, 0.0)) for name in self.providers}
        self.hours = notice_hours(settings.notice_hours)

    # ------------------------------------------------------------------------- claiming
    def _claim(self, ids: Sequence[uuid.UUID], now: datetime) -> tuple[str, list[tuple[Any, bool]]]:
        """Take the notices of ``ids`` that are ours to send now, in one transaction: due queued
        or retrying ones, and claims whose worker died (``recovering``); (token, [(row, recovering)])."""
        stale = now - timedelta(seconds=self.settings.notify_claim_lease_s)
        token = secrets.token_hex(8)
        with Session(self.engine) as session, session.begin():
            rows = session.execute(select(NOTICE).where(NOTICE.c.id.in_(list(ids)), or_(
                and_(NOTICE.c.status.in_([NoticeStatus.QUEUED.value, NoticeStatus.RETRYING.value]),
                     or_(NOTICE.c.not_before.is_(None), NOTICE.c.not_before <= now)),
                and_(NOTICE.c.status == NoticeStatus.SENDING.value, NOTICE.c.claimed_at < stale)))
                .with_for_update()).all()   # waits out the relay marking these rows enqueued
            # The rows are locked by this transaction (PostgreSQL) or by its write lock (SQLite).
            # In the order written: notices held until a window opens go out as they were queued.
            claimed = [(row, row.status == NoticeStatus.SENDING.value)
                       for row in sorted(rows, key=lambda r: (r.created_at, r.id))]
            for recovering in (False, True):
                chosen = [row.id for row, again in claimed if again is recovering]
                if chosen:
                    session.execute(update(NOTICE).where(NOTICE.c.id.in_(chosen)).values(
                        status=NoticeStatus.SENDING.value, claimed_at=now, claim_token=token,
                        attempts=NOTICE.c.attempts + (0 if recovering else 1)))
        return token, claimed

    def _record(self, token: str, results: list[tuple[uuid.UUID, dict[str, Any]]]) -> None:
        """Write a batch's results in one transaction, each only while its claim is still ours.
        On PostgreSQL without waiting for the disk: if this commit were lost, the claims would
        look dead after their lease and the provider would be asked before anything is resent."""
        if not results:
            return
        with Session(self.engine) as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit = off"))
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for notice_id, values in results:
                shapes.setdefault(tuple(sorted(values)), []).append({"_id": notice_id, **values})
            for keys, rows in shapes.items():
                assignments: dict[str, Any] = {k: bindparam(k) for k in keys if k != "_sent"}
                if "_sent" in keys:
                    # A receipt may have come first (Twilio calls back fast): never move it backwards,
                    # nor wipe the error code it brought.
                    sending = NOTICE.c.status == NoticeStatus.SENDING.value
                    assignments["status"] = case((sending, NoticeStatus.SENT.value), else_=NOTICE.c.status)
                    assignments["error_code"] = case((sending, None), else_=NOTICE.c.error_code)
                    assignments["error_message"] = case((sending, None), else_=NOTICE.c.error_message)
                    for row in rows:
                        row.pop("_sent")
                session.execute(update(NOTICE).where(NOTICE.c.id == bindparam("_id"), NOTICE.c.claim_token == token)
                                .values(claim_token=None, **assignments), rows)

    # ------------------------------------------------------------------------- limits
    def _working_days(self, center_id: uuid.UUID | None) -> Callable[[date], bool]:
        """Whether a day is a working day at this center (its calendar, overrides included)."""
        with Session(self.engine) as session:
            center = session.get(Center, center_id) if center_id is not None else None
            ancestors = center_ancestors(session, center) if center is not None else []
            return calendar_for(session, center_id, ancestors).is_working

    def _quiet(self, row: Any, now: datetime) -> Hold | None:
        """The hours of the notice's category (``notice_hours``; a call also the voice window)."""
        try:
            category = templates.get(row.template).category
        except templates.TemplateError:
            return None   # rendering fails it next
        calendar: list[Callable[[date], bool]] = []

        def is_working(day: date) -> bool:   # the calendar is read only for a working-days window
            if not calendar:
                calendar.append(self._working_days(row.center_id))
            return calendar[0](day)
        until = send_at(now, category=category, channel=row.channel, policy=self.hours, tz=self.settings.timezone,
                        is_working=is_working)
        if until is None:
            return None
        what = "语音呼叫" if row.channel == "voice" else "短信"
        return Hold(until, "QUIET_HOURS", f"不在{templates.CATEGORY_LABELS[category]}的发送时段，"
                                          f"{what}于{local_time(until, self.settings.timezone)}发出")

    def _hold(self, row: Any, now: datetime) -> Hold | None:
        settings = self.settings
        quiet = self._quiet(row, now)
        if quiet is not None:
            return quiet
        limits = settings.notify_limits.get(row.template)
        if limits:
            went = func.coalesce(NOTICE.c.sent_at, NOTICE.c.claimed_at)
            with Session(self.engine) as session:
                sent = list(session.scalars(select(went).where(
                    NOTICE.c.recipient == row.recipient, NOTICE.c.template == row.template,
                    NOTICE.c.channel == row.channel, NOTICE.c.id != row.id,
                    NOTICE.c.status.in_(list(WENT)), went > now - timedelta(days=1))))
            until = rate_hold(now, sent, limits)
            if until is not None:
                drop = row.template in settings.notify_limit_drop
                return Hold(until, "RATE_LIMITED", f"同一号码发送过于频繁（每分钟/小时/天至多 {limits}）", drop=drop)
        return None

    def backoff(self, attempts: int) -> timedelta:
        """How long a notice waits after its ``attempts``-th transient failure (doubling)."""
        ms = self.settings.notify_min_backoff_ms * 2 ** max(0, attempts - 1)
        return timedelta(milliseconds=min(ms, self.settings.notify_max_backoff_ms))

    # ------------------------------------------------------------------------- delivering
    def deliver(self, notice_id: uuid.UUID) -> Delivery:
        """Deliver one notice (see ``deliver_many``)."""
        return self.deliver_many([notice_id]).get(notice_id) or Delivery(notice_id, "skipped")

    def deliver_many(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Delivery]:
        """Send each of these notices once, if due and not already sent or in another worker's
        hands: one claim transaction, the sends, one transaction recording the results.
        A transient failure leaves the notice ``retrying`` with ``not_before`` after a backoff
        (the relay hands it to the broker again then), until its attempts run out."""
        now = self.now()
        token, claimed = self._claim(ids, now)
        results: list[tuple[uuid.UUID, dict[str, Any]]] = []
        done: dict[uuid.UUID, Delivery] = {}
        try:
            for row, recovering in claimed:
                delivery, values = self._one(row, recovering, now)
                done[row.id] = delivery
                results.append((row.id, _wipe_secrets(row, values)))
        finally:
            self._record(token, results)
            self._announce([row for row, _ in claimed if row.id in done])
        return done

    def _announce(self, rows: list[Any]) -> None:
        staff = sorted({str(row.staff_id) for row in rows if row.staff_id})
        if staff and self.publish is not None:
            try:
                self.publish(NOTICE_TOPIC, {"staff_ids": staff})
            except Exception as exc:   # a channel away never fails a delivery: subscribers resync
                log.warning("notice status not announced: %s", exc)

    def _one(self, row: Any, recovering: bool, now: datetime) -> tuple[Delivery, dict[str, Any]]:
        notice_id = row.id
        hold = None if recovering else self._hold(row, now)
        if hold is not None:
            if hold.drop:
                return Delivery(notice_id, "failed", error_code=hold.code), dict(
                    status=NoticeStatus.FAILED.value, error_code=hold.code, error_message=hold.message,
                    finished_at=now)
            return Delivery(notice_id, "held", error_code=hold.code), dict(
                status=NoticeStatus.QUEUED.value, not_before=hold.until, enqueued_at=None, attempts=row.attempts,
                error_code=hold.code, error_message=hold.message)
        try:
            body = templates.render(row.template, row.params)
        except templates.TemplateError as exc:
            return Delivery(notice_id, "failed", error_code=exc.code), dict(
                status=NoticeStatus.FAILED.value, error_code=exc.code, error_message=exc.message, finished_at=now)
        message = Outgoing(notice_id=str(notice_id), channel=row.channel, to=row.recipient, template=row.template,
                           params=dict(row.params), text=body, claimed_at=row.claimed_at or now)
        names = route(self.settings, row.channel, row.recipient, self.providers)
        if not names:
            return Delivery(notice_id, "failed", error_code="NO_PROVIDER"), dict(
                status=NoticeStatus.FAILED.value, error_code="NO_PROVIDER",
                error_message=f"没有可用的{row.channel}服务商", finished_at=now)
        if recovering or row.error_code in LOOK_UP_FIRST:
            try:
                found = self._look_up(names, message, row)
            except ProviderError as exc:
                return self._wait(row, exc)
            if found is not None:
                return self._sent(notice_id, *found)
        return self._send(row, message, names)

    def _wait(self, row: Any, error: ProviderError) -> tuple[Delivery, dict[str, Any]]:
        """The provider cannot tell yet whether an earlier attempt went: never send now. The
        notice stays ``sending`` under its earlier attempt's claim instant (the horizon counts
        from it) and is enqueued again after ``notify_requeue_after_s`` to be asked again."""
        return Delivery(row.id, "held", error_code=error.code), dict(
            status=NoticeStatus.SENDING.value, claimed_at=row.claimed_at or self.now(), enqueued_at=self.now(),
            error_code=error.code, error_message=error.message)

    def _look_up(self, names: list[str], message: Outgoing, row: Any) -> tuple[str, str] | None:
        """Whether an earlier attempt reached a provider: (provider, message id) or None."""
        for name in [row.provider] if row.provider in names else names:
            try:
                found = self.providers[name].find(message)
            except NotImplementedError:
                found = None
            if found:
                return name, found
        return None

    def _send(self, row: Any, message: Outgoing, names: list[str]) -> tuple[Delivery, dict[str, Any]]:
        last: ProviderError | None = None
        for name in names:
            provider = self.providers[name]
            self.paces[name].wait()
            try:
                return self._sent(row.id, name, provider.send(message))
            except ProviderError as exc:
                last = exc
                log.warning("notice %s via %s: %s", row.id, name, exc)
                if exc.kind is ErrorKind.UNCERTAIN:
                    # It may have gone: never elsewhere now; the next attempt looks it up first.
                    return self._retry(row, exc, provider=name)
                if exc.kind is ErrorKind.PERMANENT:
                    return Delivery(row.id, "failed", name, error_code=exc.code), dict(
                        status=NoticeStatus.FAILED.value, provider=name, error_code=exc.code,
                        error_message=exc.message, finished_at=self.now())
                if exc.kind is ErrorKind.TRANSIENT:
                    break   # the provider said "later", not "elsewhere"
        assert last is not None
        return self._retry(row, last)

    def _retry(self, row: Any, error: ProviderError, provider: str | None = None) -> tuple[Delivery, dict[str, Any]]:
        now = self.now()
        attempts = row.attempts + 1
        if attempts >= self.settings.notify_max_attempts:
            return Delivery(row.id, "failed", error_code=error.code), dict(
                status=NoticeStatus.FAILED.value, error_code=error.code,
                error_message=f"重试 {attempts} 次后放弃: {error.message}", finished_at=now)
        return Delivery(row.id, "retry", provider, error_code=error.code), dict(
            status=NoticeStatus.RETRYING.value, error_code=error.code, error_message=error.message,
            not_before=now + self.backoff(attempts), enqueued_at=None, provider=provider)

    def _sent(self, notice_id: uuid.UUID, provider: str, message_id: str) -> tuple[Delivery, dict[str, Any]]:
        return Delivery(notice_id, "sent", provider, message_id), dict(
            _sent=True, provider=provider, provider_message_id=message_id, sent_at=self.now())


# Error codes after which an attempt may have reached the provider: ask before sending again.
LOOK_UP_FIRST = frozenset({UNCERTAIN_CODE, "ALIYUN_CALL_UNCONFIRMED"})


def _wipe_secrets(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A notice that will never be sent again keeps no secret (a login code) in the outbox."""
    try:
        secret = templates.get(row.template).secret
    except templates.TemplateError:
        return values
    if not secret or not (values.get("_sent") or values.get("status") == NoticeStatus.FAILED.value):
        return values
    return {**values, "params": {k: ("******" if k in secret else v) for k, v in row.params.items()}}


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
    # Each recipient's notices together and in the order written (a batch is delivered in order).
    query = (select(NOTICE.c.id).where(or_(pending, orphaned))
             .order_by(NOTICE.c.recipient, NOTICE.c.created_at, NOTICE.c.id).limit(limit))
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
