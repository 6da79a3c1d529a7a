"""Reads of personal data by staff are themselves recorded (decision 9): who, what, when."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, insert
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime, new_id


class PersonalDataRead(SQLModel, table=True):
    __tablename__ = "personal_data_read"
    __table_args__ = (Index("ix_personal_read_subject", "subject_id", "at"),
                      Index("ix_personal_read_actor", "actor", "at"))

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str
    role: str
    subject_type: str         # case, applicant …
    subject_id: uuid.UUID
    field: str                # applicant_phone, applicant_id_number …
    request_id: str | None = None


def record_reads(session: Session, reads: list[dict]) -> None:
    """Write a request's unmasked reads in one statement (the caller commits)."""
    if reads:
        rows = [{"id": new_id(), **read} for read in reads]
        session.execute(insert(PersonalDataRead.__table__), rows)  # type: ignore[attr-defined]
