"""Accounts: staff log in with a password, applicants with a one-time SMS code.

Passwords are stored as argon2id hashes; a login that fails says only that it failed. An
applicant's account is made at their first code login and has no password at all.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import Role, Viewer, mask_phone
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.errors import DomainError, ErrorCode

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("esupervision-no-such-user")
# Not an argon2 hash, so no password ever verifies against it (applicants log in by code).
NO_PASSWORD = "!"
APPLICANT_PREFIX = "applicant:"


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(unique=True)
    password_hash: str
    role: str
    display_name: str
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    center_id: uuid.UUID | None = Field(default=None, foreign_key="center.id")
    department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")
    window_id: uuid.UUID | None = Field(default=None, foreign_key="window.id")
    # An applicant's mobile number (their login and the scope of what they see).
    phone: str | None = Field(default=None, unique=True)
    active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)

    def viewer(self) -> Viewer:
        if self.role == Role.APPLICANT:
            return Viewer(role=Role.APPLICANT, account_id=self.id, applicant_phone=self.phone)
        return Viewer(role=Role(self.role), username=self.username, account_id=self.id,
                      staff_id=self.staff_id, center_id=self.center_id,
                      department_id=self.department_id, window_id=self.window_id)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_account(session: Session, *, username: str, password: str, role: Role, display_name: str,
                   now: datetime, staff_id: uuid.UUID | None = None, center_id: uuid.UUID | None = None,
                   department_id: uuid.UUID | None = None, window_id: uuid.UUID | None = None) -> Account:
    """A new login; the scope columns say what the role sees (center, department, window)."""
    if role is Role.APPLICANT:
        raise DomainError(ErrorCode.BAD_INPUT, "申请人以短信验证码登录，不设密码 applicants log in by SMS code")
    if len(password) < 4:
        raise DomainError(ErrorCode.INVALID_EVENT, "密码太短 password too short", username=username)
    if session.scalars(select(Account).where(Account.username == username)).first():
        raise DomainError(ErrorCode.DUPLICATE_CODE, f"用户名 {username} 已存在", username=username)
    account = Account(username=username, password_hash=hash_password(password), role=role.value,
                      display_name=display_name, staff_id=staff_id, center_id=center_id,
                      department_id=department_id, window_id=window_id, created_at=now)
    session.add(account)
    session.flush()
    return account


def authenticate(session: Session, username: str, password: str) -> Account:
    """The active account with this username and password, or ``INVALID_CREDENTIALS``."""
    account = session.scalars(select(Account).where(Account.username == username)).first()
    if account is not None and account.password_hash == NO_PASSWORD:
        account = None   # an applicant: never by password, and as slow as a wrong one
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        account = None
    if account is None or not account.active:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "用户名或密码错误 invalid username or password")
    return account


def applicant_account(session: Session, phone: str, *, now: datetime) -> Account:
    """The account of the applicant with this (normalized) phone, made on their first login."""
    account = session.scalars(select(Account).where(Account.phone == phone)).first()
    if account is not None:
        if account.role != Role.APPLICANT or not account.active:
            raise DomainError(ErrorCode.INVALID_CREDENTIALS, "该手机号不能以验证码登录 this phone cannot log in by code")
        return account
    account = Account(username=APPLICANT_PREFIX + phone, password_hash=NO_PASSWORD, role=Role.APPLICANT.value,
                      display_name=f"申请人 {mask_phone(phone)}", phone=phone, created_at=now)
    session.add(account)
    session.flush()
    return account


class RefreshToken(SQLModel, table=True):
    """A rotating refresh token: each use replaces it; a reused one revokes its whole family."""

    __tablename__ = "refresh_token"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="account.id", index=True)
    family_id: uuid.UUID = Field(index=True)
    token_hash: str = Field(unique=True)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = False


def _token_hash(token: str) -> str:
    import hashlib
    return hashlib.sha256(token.encode()).hexdigest()


def issue_refresh_token(session: Session, account: Account, *, now: datetime, days: int,
                        family_id: uuid.UUID | None = None) -> str:
    """A new refresh token for ``account`` (stored hashed); returns the token itself."""
    import secrets
    from datetime import timedelta

    token = secrets.token_urlsafe(32)
    session.add(RefreshToken(account_id=account.id, family_id=family_id or new_id(), token_hash=_token_hash(token),
                             issued_at=now, expires_at=now + timedelta(days=days)))
    session.flush()
    return token


def rotate_refresh_token(session: Session, token: str, *, now: datetime, days: int) -> tuple[Account, str]:
    """Exchange a refresh token for a new one. A token used twice means it was stolen: its whole
    family is revoked and both holders must log in again."""
    row = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == _token_hash(token))
                          .with_for_update()).first()
    if row is None or row.revoked:
        raise DomainError(ErrorCode.TOKEN_INVALID, "刷新令牌无效 invalid refresh token")
    if row.used_at is not None:
        for sibling in session.scalars(select(RefreshToken).where(RefreshToken.family_id == row.family_id)):
            sibling.revoked = True
        session.flush()
        raise DomainError(ErrorCode.TOKEN_INVALID, "刷新令牌已被使用，已全部吊销，请重新登录 refresh token reused; revoked")
    if row.expires_at <= now:
        raise DomainError(ErrorCode.TOKEN_EXPIRED, "刷新令牌已过期，请重新登录 refresh token expired")
    account = session.get(Account, row.account_id)
    if account is None or not account.active:
        raise DomainError(ErrorCode.TOKEN_INVALID, "账号已停用 account disabled")
    row.used_at = now
    return account, issue_refresh_token(session, account, now=now, days=days, family_id=row.family_id)
