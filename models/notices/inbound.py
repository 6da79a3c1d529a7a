"""Inbound SMS taken from a provider's push (Aliyun's SmsUp): one row per message, by the
provider's own id, written in the transaction that acts on the message. A push repeated (a
provider retries whatever it did not hear 200 for) finds its row and changes nothing.

The text itself is not kept here: what it filed (a complaint, a rating) keeps what it must."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id


class InboundSms(SQLModel, table=True):
    """One SMS a person sent us, as the provider named it."""

    __tablename__ = "inbound_sms"
    __table_args__ = (UniqueConstraint("provider", "message_id", name="uq_inbound_sms_message"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    provider: str                          # aliyun
    message_id: str                        # Aliyun's sequence_id
    sender: str                            # E.164, or the raw text when it is not a number
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)   # the operator's time
    dest_code: str | None = None           # Aliyun's extension code of the number it was sent to
    received_at: datetime = Field(sa_type=UTCDateTime)
    reply: str | None = None               # the template answered


INBOUND_SMS = InboundSms.__table__  # type: ignore[attr-defined]


def claim_inbound(session: Session, row: dict[str, object]) -> bool:
    """Record an inbound message (``row``: the table's columns) unless its
    (provider, message_id) is recorded already; whether it is new. Concurrent pushes of one
    message: the second waits for the first's transaction and finds it (PostgreSQL), or waits
    for the database's write lock (SQLite)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(INBOUND_SMS).values(**row).on_conflict_do_nothing(
        index_elements=["provider", "message_id"]).returning(INBOUND_SMS.c.id)
    return session.execute(statement).first() is not None
