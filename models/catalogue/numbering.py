"""Document numbers a person can read out: a kind, the center, the local day and a sequence,
``CB-QH-20261208-0001`` (催办单), ``DB-…`` (督办单). One counter row per kind, center and day, taken
with an upsert that holds its row lock until the transaction commits: two writers of the same
center and day get consecutive numbers, never the same one; a transaction that rolls back gives
its number back. The center code keeps numbers unique across centers and deployments."""
from __future__ import annotations

import uuid
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from esupervision.models.catalogue.catalogue import Center


class NumberCounter(SQLModel, table=True):
    """The last number given for one kind of document of one center on one local day."""

    __tablename__ = "number_counter"

    kind: str = Field(primary_key=True)
    center_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True)
    last: int


@cache
def _take(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = NumberCounter.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["kind", "center_id", "day"], set_={"last": table.c.last + 1}
    ).returning(table.c.last)


def next_number(session: Session, *, kind: str, center_id: uuid.UUID, day: date,
                existing: Any = None) -> str:
    """The next number of ``kind`` for the center and local ``day``. ``existing`` (a column of
    numbers already given) seeds a counter that is missing, e.g. after a restore of the rows."""
    code = session.scalar(select(Center.code).where(Center.id == center_id)) or "X"
    prefix = f"{kind}-{code}-{day:%Y%m%d}-"
    start = 1
    if existing is not None and session.get(NumberCounter, (kind, center_id, day)) is None:
        taken = session.scalar(select(func.max(existing)).where(existing.startswith(prefix)))
        start = int(taken[len(prefix):]) + 1 if taken else 1
    last = session.scalar(_take(session.get_bind().dialect.name),
                          {"kind": kind, "center_id": center_id, "day": day, "last": start})
    return f"{prefix}{last:04d}"
