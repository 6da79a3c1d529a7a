"""API keys of department business systems: one department each, stored as a SHA-256 hash
(the key is shown once, at creation), revocable."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

from esupervision.models.access import Role, Viewer
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.catalogue import Department
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


def revoke_api_key(session: Session, key_id: uuid.UUID, *, now: datetime) -> None:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise DomainError(ErrorCode.TOKEN_INVALID, "API 密钥不存在 no such key")
    row.revoked_at = now


def viewer_for_key(session: Session, key: str) -> Viewer:
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == _hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise DomainError(ErrorCode.TOKEN_INVALID, "API 密钥无效或已吊销 invalid or revoked API key")
    return Viewer(role=Role.DEPARTMENT_SYSTEM, username=row.name, api_key_id=row.id,
                  center_id=row.center_id, department_id=row.department_id)
