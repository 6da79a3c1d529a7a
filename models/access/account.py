"""Accounts: staff log in with a password, applicants with a one-time SMS code.

Passwords are stored as argon2id hashes; a login that fails says only that it failed. An
applicant's account is made at their first code login and has no password at all.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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


# ----------------------------------------------------------------------------- managing accounts

MIN_PASSWORD_LENGTH = 10
# Passwords every guesser tries first (and the demo's): refused whatever their length.
COMMON_PASSWORDS = frozenset({"demo", "password", "password1", "12345678", "123456789", "1234567890",
                              "qwertyuiop", "1qaz2wsx3edc", "abc123456", "admin123456", "a123456789",
                              "woaini1314", "88888888", "11111111", "00000000", "iloveyou"})
# Roles an account may have (department systems use API keys, applicants SMS codes).
STAFF_ACCOUNT_ROLES = (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.DEPARTMENT_LEADER, Role.WINDOW_STAFF)


def check_password(password: str, *, username: str) -> None:
    """Refuse a weak password (``WEAK_PASSWORD``): under 10 characters, one kind of character
    only (letters, digits, others), a common one, or the username itself."""
    kinds = sum(any(test(c) for c in password) for test in (str.isalpha, str.isdigit,
                                                               lambda c: not c.isalnum()))
    if (len(password) < MIN_PASSWORD_LENGTH or kinds < 2 or password.lower() in COMMON_PASSWORDS
            or username.lower() in password.lower()):
        raise DomainError(ErrorCode.WEAK_PASSWORD,
                          f"密码太弱：至少 {MIN_PASSWORD_LENGTH} 个字符，含字母、数字、符号中的两类，不含用户名，"
                          f"不用常见密码 weak password: at least {MIN_PASSWORD_LENGTH} characters of two kinds "
                          "(letters, digits, symbols), not the username, not a common password", username=username)


def may_manage_account(viewer: Viewer | None, *, role: Role, center_id: uuid.UUID | None) -> bool:
    """The supervision office manages every account, a center admin those of their own center
    below supervision (never a supervisor's); ``None`` is the operator at the console (``esv``)."""
    if viewer is None or viewer.role is Role.SUPERVISOR:
        return True
    return (viewer.role is Role.CENTER_ADMIN and role is not Role.SUPERVISOR
            and center_id is not None and center_id == viewer.center_id)


def _audit(tx: Any, account: Account, kind: str, data: dict[str, Any]) -> None:
    """The change on the ledger of the account's center (a supervisor's: the top-level center);
    never a password or its hash."""
    from esupervision.models.catalogue.catalogue import Center
    center_id = account.center_id or tx.session.scalars(
        select(Center.id).where(Center.parent_id.is_(None)).order_by(Center.created_at)).first()
    if center_id is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, "还没有中心：先运行 esv init no center yet: run esv init first")
    tx.ledger.append(center_id=center_id, kind=kind, subject_type="account", subject_id=account.id,
                     occurred_at=tx.now, recorded_at=tx.now, actor=tx.actor,
                     data={"username": account.username, "role": account.role, **data})


def _scope_codes(session: Session, account: Account) -> dict[str, str | None]:
    from esupervision.models.catalogue.catalogue import Center, Department, Window

    def code(model: Any, ident: uuid.UUID | None) -> str | None:
        row = session.get(model, ident) if ident else None
        return row.code if row is not None else None
    return {"center": code(Center, account.center_id), "department": code(Department, account.department_id),
            "window": code(Window, account.window_id)}


def open_account(tx: Any, *, viewer: Viewer | None, username: str, password: str, role: Role,
                 display_name: str | None = None, center_code: str | None = None,
                 department_code: str | None = None, window_code: str | None = None) -> Account:
    """A new staff login with a strong password, scoped by codes: a center admin needs a center,
    a department leader its department, window staff their window (its department follows). The
    viewer must manage accounts of that center; the change is on the ledger."""
    from esupervision.models.catalogue.catalogue import Department, Window, center_by_code, department_by_code

    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username) or username.startswith(
            APPLICANT_PREFIX):
        raise DomainError(ErrorCode.BAD_INPUT, "用户名应为 1–64 个非空白字符 username: 1–64 characters, no spaces",
                          username=username)
    if role not in STAFF_ACCOUNT_ROLES:
        raise DomainError(ErrorCode.BAD_INPUT, "账号角色只能是监察人员、中心管理员、部门领导或窗口工作人员（部门业务系统用 "
                          "API 密钥，申请人用短信验证码） role must be a staff role", role=role.value)
    check_password(password, username=username)
    center = center_by_code(tx, center_code) if center_code else None
    department: Department | None = None
    window: Window | None = None
    if role is not Role.SUPERVISOR and center is None:
        raise DomainError(ErrorCode.BAD_INPUT, "该角色须指定中心 --center this role needs a center", role=role.value)
    if center is not None and window_code:
        window = tx.session.scalars(select(Window).where(Window.center_id == center.id,
                                                         Window.code == window_code)).first()
        if window is None:
            raise DomainError(ErrorCode.WINDOW_NOT_FOUND, f"窗口 {window_code} 不存在", window=window_code)
        department = tx.session.get(Department, window.department_id)
    if center is not None and department_code:
        named = department_by_code(tx, center.id, department_code)
        if department is not None and named.id != department.id:
            raise DomainError(ErrorCode.BAD_INPUT, f"窗口 {window_code} 不属于部门 {department_code}",
                              window=window_code, department=department_code)
        department = named
    if role is Role.DEPARTMENT_LEADER and department is None:
        raise DomainError(ErrorCode.BAD_INPUT, "部门领导须指定部门 --department a leader needs a department")
    if role is Role.WINDOW_STAFF and window is None:
        raise DomainError(ErrorCode.BAD_INPUT, "窗口工作人员须指定窗口 --window window staff need a window")
    if not may_manage_account(viewer, role=role, center_id=center.id if center else None):
        raise DomainError(ErrorCode.FORBIDDEN, "只能管理本中心的账号 you manage only your own center's accounts")
    account = create_account(tx.session, username=username, password=password, role=role,
                             display_name=(display_name or "").strip() or username, now=tx.now,
                             center_id=center.id if center else None,
                             department_id=department.id if department else None,
                             window_id=window.id if window else None)
    _audit(tx, account, "access.account_created",
           {"display_name": account.display_name, **_scope_codes(tx.session, account)})
    return account


def staff_accounts(session: Session, *, viewer: Viewer | None) -> list[Account]:
    """The staff accounts ``viewer`` manages (all for supervision and the console), by username."""
    query = select(Account).where(Account.role != Role.APPLICANT.value).order_by(Account.username)
    if viewer is not None and viewer.role is Role.CENTER_ADMIN:
        query = query.where(Account.center_id == viewer.center_id, Account.role != Role.SUPERVISOR.value)
    elif viewer is not None and viewer.role is not Role.SUPERVISOR:
        return []
    return list(session.scalars(query))


def _managed(tx: Any, viewer: Viewer | None, username: str) -> Account:
    """The staff account ``username``, if ``viewer`` manages it; else ACCOUNT_NOT_FOUND (an account
    of another center answers like one that does not exist)."""
    account = tx.session.scalars(select(Account).where(Account.username == username)
                                 .with_for_update()).first()
    if (account is None or account.role == Role.APPLICANT.value
            or not may_manage_account(viewer, role=Role(account.role), center_id=account.center_id)):
        raise DomainError(ErrorCode.ACCOUNT_NOT_FOUND, f"账号 {username} 不存在 no such account", username=username)
    return account


def _revoke_refresh_tokens(session: Session, account: Account) -> None:
    for row in session.scalars(select(RefreshToken).where(RefreshToken.account_id == account.id,
                                                          RefreshToken.revoked.is_(False))):
        row.revoked = True


def set_account_active(tx: Any, *, viewer: Viewer | None, username: str, active: bool) -> Account:
    """Disable or enable a staff account. Disabled, its access tokens fail on the next request and
    its refresh tokens are revoked; nobody disables their own account (the office would lock
    itself out)."""
    account = _managed(tx, viewer, username)
    if not active and viewer is not None and viewer.account_id == account.id:
        raise DomainError(ErrorCode.BAD_INPUT, "不能停用自己的账号 you cannot disable your own account")
    if account.active != active:
        account.active = active
        if not active:
            _revoke_refresh_tokens(tx.session, account)
        tx.session.flush()
        _audit(tx, account, "access.account_enabled" if active else "access.account_disabled", {})
    return account


def set_password(tx: Any, *, viewer: Viewer | None, username: str, password: str) -> Account:
    """A new strong password for a staff account; its refresh tokens are revoked (everyone signed
    in with the old one logs in again once their access token ends)."""
    account = _managed(tx, viewer, username)
    check_password(password, username=account.username)
    account.password_hash = hash_password(password)
    _revoke_refresh_tokens(tx.session, account)
    tx.session.flush()
    _audit(tx, account, "access.password_changed", {})
    return account


def account_is_active(session: Session, account_id: uuid.UUID) -> bool:
    """Whether the account exists and is active (checked on every request made with its token)."""
    return bool(session.scalar(select(Account.active).where(Account.id == account_id)))
