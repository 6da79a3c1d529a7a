"""Service keys a county's deployment issues to the city's supervision office (issue 17, item 5):
with one, the city's relay urges (催办) and orders (督办) on this county's cases through the
county's own GraphQL API, and does nothing else (role ``city_supervision``: the duty matrix admits
it to ``urge`` and ``issueSupervisionOrder`` only, and it reads nothing). Stored as a SHA-256 hash,
shown once, revocable, like a department system's key; told apart from those by its prefix."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from esupervision.models.access.scope import Role, Viewer
from esupervision.models.base import UTCDateTime, new_id
from esupervision.models.catalogue.catalogue import Center
from esupervision.models.errors import DomainError, ErrorCode
from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

PREFIX = "esvc_"


class CityKey(SQLModel, table=True):
    __tablename__ = "city_key"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str
    key_hash: str = Field(unique=True)
    center_id: uuid.UUID = Field(foreign_key="center.id")   # the county center whose cases it may urge
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_city_key(key: str) -> bool:
    """Whether ``key`` has the form of a city supervision key (not a department system's)."""
    return key.startswith(PREFIX)


def issue_city_key(session: Session, *, center_code: str, name: str, now: datetime) -> tuple[CityKey, str]:
    """A new key for the city's supervision office over the center ``center_code`` (the county's
    own) and the townships under it; returns the row and the key, shown only now."""
    center = session.scalars(select(Center).where(Center.code == center_code)).first()
    if center is None:
        raise DomainError(ErrorCode.CENTER_NOT_FOUND, f"中心 {center_code} 不存在", center=center_code)
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError(ErrorCode.BAD_INPUT, "密钥名称应为 1–100 个字符 key name must be 1–100 characters")
    key = PREFIX + secrets.token_urlsafe(32)
    row = CityKey(name=name, key_hash=_hash(key), center_id=center.id, created_at=now)
    session.add(row)
    session.flush()
    return row, key


def revoke_city_key(session: Session, key_id: uuid.UUID, *, now: datetime) -> CityKey:
    """Revoke a key; the relay's next delivery with it is refused (TOKEN_INVALID)."""
    row = session.get(CityKey, key_id)
    if row is None:
        raise DomainError(ErrorCode.API_KEY_NOT_FOUND, "密钥不存在 no such key", key=key_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return row


def viewer_for_city_key(session: Session, key: str) -> Viewer:
    """The city's supervision office as this deployment sees it; unknown and revoked keys are
    TOKEN_INVALID, as a department system's are."""
    row = session.scalars(select(CityKey).where(CityKey.key_hash == _hash(key))).first()
    if row is None or row.revoked_at is not None:
        raise DomainError(ErrorCode.TOKEN_INVALID, "API 密钥无效或已吊销 invalid or revoked API key")
    return Viewer(role=Role.CITY_SUPERVISION, username=row.name, api_key_id=row.id, center_id=row.center_id)


def within_county(session: Session, county_center_id: uuid.UUID | None, center_id: uuid.UUID) -> bool:
    """Whether ``center_id`` is the county's center or one of its townships (any depth)."""
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = center_id
    while current is not None and current not in seen:
        if current == county_center_id:
            return True
        seen.add(current)
        current = session.scalar(select(Center.parent_id).where(Center.id == current))
    return False
