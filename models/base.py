"""Shared column types and identifiers for every table, and instants as people read them (in
Chinese, in the center's local time: every SMS, voice call and error message says it this way)."""
from __future__ import annotations

import os
import time
import uuid
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def new_id() -> uuid.UUID:
    """A UUIDv7: unique across centers and time-ordered, so B-tree inserts stay local."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware instants stored as UTC on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utc(value: datetime) -> datetime:
    """The same instant in UTC; refuses naive datetimes."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
    return value.astimezone(timezone.utc)


def local_time(value: datetime | str | None, tz: str | None = None) -> str:
    """An instant as people read it in the center: ``2026年12月08日 17:00`` in ``tz`` (the
    setting ``timezone`` by default), never a UTC ISO string; ``未定`` for none."""
    if value is None:
        return "未定"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
    return value.astimezone(_zone(tz)).strftime("%Y年%m月%d日 %H:%M")


def day_text(value: date | datetime | str, tz: str | None = None) -> str:
    """A day as people read it: ``2026年12月08日`` (an instant is taken on its local day)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(_zone(tz)).date()
    return value.strftime("%Y年%m月%d日")


def _zone(tz: str | None) -> ZoneInfo:
    if tz is None:
        from esupervision.settings import get_settings
        tz = get_settings().timezone
    return ZoneInfo(tz)


def record_class(model: type) -> type:
    """A plain mutable dataclass with the columns of a SQLModel table, for hot paths.

    SQLModel table instances cost ~150 µs to build (validation, instrumentation); a batch of
    thousands of events builds its rows as these records instead and writes them with Core.
    Defaults and default factories are the model's own.
    """
    import dataclasses

    from pydantic_core import PydanticUndefined

    specs = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        if info.default_factory is not None:
            specs.append((name, object, dataclasses.field(default_factory=info.default_factory)))
        elif info.default is PydanticUndefined:
            specs.append((name, object, dataclasses.field()))
        else:
            specs.append((name, object, dataclasses.field(default=info.default)))
    record = dataclasses.make_dataclass(f"{model.__name__}Record", specs, kw_only=True, slots=True)
    record.__tablename__ = model.__tablename__  # type: ignore[attr-defined]
    record.__table__ = model.__table__  # type: ignore[attr-defined]
    for name in dir(model):   # properties such as Clock.rule
        if isinstance(getattr(model, name, None), property):
            setattr(record, name, getattr(model, name))
    return record
