"""One-time SMS codes with which applicants log in: six digits, stored hashed, short-lived,
single use, and dead after a few wrong tries.

Only the newest code of a phone counts: asking for a new one retires the older ones.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import mask_phone
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.notices.notice import Notice, NoticeDraft, NoticeStatus, add_notices
from esupervision.models.notices.rates import rate_hold
from esupervision.models.notices.phones import to_e164

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction

log = logging.getLogger(__name__)

# Mainland mobile numbers, with or without the +86 / 86 country prefix; spaces and dashes ignored.
_PHONE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[\s\-]")
CODE_DIGITS = 6


class LoginCode(SQLModel, table=True):
    __tablename__ = "login_code"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    phone: str = Field(index=True)
    code_hash: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0                      # wrong tries so far
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired: bool = False                  # replaced by a newer code, or killed by wrong tries


def normalize_phone(raw: str) -> str:
    """The 11-digit mainland mobile number in ``raw`` (``+86 139-1234-5678`` → ``13912345678``),
    or ``INVALID_PHONE``."""
    match = _PHONE.fullmatch(_SEPARATORS.sub("", raw or ""))
    if match is None:
        raise DomainError(ErrorCode.INVALID_PHONE,
                          "手机号格式不正确，应为 11 位大陆手机号 invalid phone: expected a mainland mobile number")
    return match.group(1)


def _code_hash(phone: str, code: str, secret: str) -> str:
    # Keyed with a server secret: a leaked table does not give away a million-guess code space.
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_login_code(session: Session, phone: str, *, now: datetime, minutes: int, secret: str) -> str:
    """A new code for ``phone`` (already normalized), valid ``minutes``; older codes of the phone
    are retired. Returns the code itself, which is stored only as a keyed hash."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    session.execute(update(LoginCode).where(LoginCode.phone == phone, LoginCode.retired.is_(False),  # type: ignore[attr-defined]
                                            LoginCode.used_at.is_(None)).values(retired=True))  # type: ignore[union-attr]
    session.add(LoginCode(phone=phone, code_hash=_code_hash(phone, code, secret), created_at=now,
                          expires_at=now + timedelta(minutes=minutes)))
    session.flush()
    return code


def verify_login_code(session: Session, phone: str, code: str, *, now: datetime, max_attempts: int,
                      secret: str) -> DomainError | None:
    """Check ``code`` against the phone's live code. Right: the code is used up and None is
    returned. Wrong: the try is counted (the last allowed one kills the code) and the refusal is
    returned, so the caller commits the count before raising it."""
    # Issuing retires the older codes, so a phone has at most one live code.
    row = session.scalars(select(LoginCode).where(LoginCode.phone == phone, LoginCode.retired.is_(False),  # type: ignore[attr-defined]
                                                  LoginCode.used_at.is_(None))  # type: ignore[union-attr]
                          .order_by(LoginCode.created_at.desc()).limit(1).with_for_update()).first()  # type: ignore[attr-defined]
    if row is None or row.expires_at <= now:
        return DomainError(ErrorCode.LOGIN_CODE_EXPIRED, "验证码已失效，请重新获取 login code expired or used; request a new one")
    if hmac.compare_digest(row.code_hash, _code_hash(phone, code.strip(), secret)):
        row.used_at = now
        session.flush()
        return None
    row.attempts += 1
    left = max(0, max_attempts - row.attempts)
    if left == 0:
        row.retired = True
    session.flush()
    return DomainError(ErrorCode.LOGIN_CODE_INVALID, f"验证码错误，还可尝试 {left} 次 wrong login code",
                       attemptsLeft=left)


def refuse_over_limit(tx: "Transaction", phone: str) -> None:
    """``RATE_LIMITED`` (with ``retryAfter`` seconds) when one more code SMS to ``phone`` would go
    beyond the per-number limits of the ``login_code`` template (Aliyun's: 1 a minute, 5 an hour,
    10 a day): refused at the request, before a code is made, rather than dropped at the gateway."""
    limits = tx.settings.notify_limits.get("login_code")
    if not limits:
        return
    recipient = to_e164(phone, region=tx.settings.default_region)
    went = func.coalesce(Notice.sent_at, Notice.created_at)
    earlier = list(tx.session.scalars(select(went).where(
        Notice.recipient == recipient, Notice.template == "login_code", Notice.channel == "sms",
        Notice.status != NoticeStatus.FAILED.value, went > tx.now - timedelta(days=1))))
    until = rate_hold(tx.now, earlier, limits)
    if until is not None:
        seconds = max(1, math.ceil((until - tx.now).total_seconds()))
        raise DomainError(ErrorCode.RATE_LIMITED,
                          f"验证码发送过于频繁，请 {seconds} 秒后再试 too many login codes to this number; retry later",
                          retryAfter=seconds)


def send_login_code(tx: "Transaction", phone: str, code: str, *, minutes: int) -> None:
    """Queue ``code`` for ``phone`` as a ``login_code`` notice in ``tx``: the notification gateway
    sends it once the code is committed (the console provider prints it in the embedded default),
    so a code that arrives always works."""
    request = new_id()
    add_notices(tx, [NoticeDraft(key=f"login_code:{request}", subject_type="login_code", subject_id=request,
                                 template="login_code", params={"code": code, "minutes": minutes}, phone=phone,
                                 recipient_kind="applicant")])
    log.info("login code queued for %s", mask_phone(phone))


def request_login_code(tx: "Transaction", phone: str, *, minutes: int, secret: str) -> None:
    """A new code for ``phone`` (normalized), sent by SMS through the outbox, within the limits."""
    refuse_over_limit(tx, phone)
    code = issue_login_code(tx.session, phone, now=tx.now, minutes=minutes, secret=secret)
    send_login_code(tx, phone, code, minutes=minutes)
