"""API keys of department business systems: one department each, stored as a SHA-256 hash
(the key is shown once, at creation), revocable."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.catalogue.catalogue import Department
from esupervision.models.errors import DomainError, ErrorCode

PREFIX = "esv_"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str
    key_hash: str = Field(unique=True)
    department_id: uuid.UUID = Field(foreign_key="department.id", index=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, *, department: Department, name: str, now: datetime,
                   key: str | None = None) -> tuple[ApiKey, str]:
    """A new key for a department's system; returns the row and the key (shown only now)."""
    key = key or PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=_hash(key), department_id=department.id, center_id=department.center_id,
                 created_at=now)
    session.add(row)
    session.flush()
    return row, key


def may_manage_keys(viewer: Viewer, department: Department) -> bool:
    """Keys are handed out by the supervision office, or by the admin of the department's center."""
    if viewer.role is Role.SUPERVISOR:
        return True
    return viewer.role is Role.CENTER_ADMIN and viewer.center_id == department.center_id


def issue_api_key(session: Session, *, viewer: Viewer, department_id: uuid.UUID, name: str,
                  now: datetime) -> tuple[ApiKey, str]:
    """A new key for a department, if ``viewer`` may manage that department's keys."""
    department = session.get(Department, department_id)
    if department is None:
        raise DomainError(ErrorCode.DEPARTMENT_NOT_FOUND, "部门不存在 no such department", department=department_id)
    if not may_manage_keys(viewer, department):
        raise DomainError(ErrorCode.FORBIDDEN, "只有监察部门或本中心管理员可以管理 API 密钥 not allowed")
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError(ErrorCode.BAD_INPUT, "密钥名称应为 1–100 个字符 key name must be 1–100 characters")
    return create_api_key(session, department=department, name=name, now=now)


def visible_api_keys(session: Session, *, viewer: Viewer, department_id: uuid.UUID | None = None) -> list[ApiKey]:
    """The keys ``viewer`` manages (never the keys themselves, which are not stored), newest first."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc())  # type: ignore[attr-defined]
    if viewer.role is Role.CENTER_ADMIN:
        query = query.where(ApiKey.center_id == viewer.center_id)
    elif viewer.role is not Role.SUPERVISOR:
        return []
    if department_id is not None:
        query = query.where(ApiKey.department_id == department_id)
    return list(session.scalars(query))


def revoke_api_key(session: Session, key_id: uuid.UUID, *, now: datetime, viewer: Viewer | None = None) -> ApiKey:
    """Revoke a key; the next request made with it is refused. Revoking twice keeps the first
    instant. A key ``viewer`` may not manage answers like one that does not exist."""
    row = session.get(ApiKey, key_id)
    department = session.get(Department, row.department_id) if row is not None else None
    if row is None or department is None or (viewer is not None and not may_manage_keys(viewer, department)):
        raise DomainError(ErrorCode.API_KEY_NOT_FOUND, "API 密钥不存在 no such key", key=key_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return row


def viewer_for_key(session: Session, key: str) -> Viewer:
    """The department system a key speaks for; unknown and revoked keys are TOKEN_INVALID. A
    city supervision key (``city_key``) speaks for the city's supervision office instead."""
    from esupervision.models.access.city_key import is_city_key, viewer_for_city_key
    if is_city_key(key):
        return viewer_for_city_key(session, key)
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == _hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise DomainError(ErrorCode.TOKEN_INVALID, "API 密钥无效或已吊销 invalid or revoked API key")
    return Viewer(role=Role.DEPARTMENT_SYSTEM, username=row.name, api_key_id=row.id,
                  center_id=row.center_id, department_id=row.department_id)
