"""Idempotency keys of mutations: a retry with the same key, by the same principal, of the same
request gets the first answer and changes nothing twice; the same key with another request is
refused.

A key is claimed before its request runs (a row committed on its own), marked ``committed`` inside
every transaction the request commits (the mark commits or rolls back with the change, see
``mark_committed``), and given the answer when the request ends. A request that committed nothing
releases its key instead: running it again is the same as running it the first time, so a failure
before any change (a refusal, a lost database connection) is never replayed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Text, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from esupervision.models.base import UTCDateTime

# How long a key and its answer are kept.
KEPT = timedelta(hours=24)
# A claim with no answer this old belongs to a request that died (no mutation runs this long).
ABANDONED_AFTER = timedelta(minutes=2)
MAX_KEY_LENGTH = 255


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    principal: str = Field(primary_key=True)       # who sent it (Viewer.actor; the public by address)
    key: str = Field(primary_key=True)             # the client's Idempotency-Key
    request_hash: str                              # SHA-256 of the document, variables and operation name
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    committed: bool = False                        # a transaction of the request has committed
    status: int | None = None                      # the first answer's HTTP status, once stored
    answer: str | None = Field(default=None, sa_type=Text)   # and its body


class ClaimState(StrEnum):
    NEW = "new"            # claimed: run the request
    REPLAY = "replay"      # answered before: send that answer
    RUNNING = "running"    # the first request is still running
    REUSED = "reused"      # this key came with another request
    LOST = "lost"          # the first request committed, then died before its answer was stored


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    status: int | None = None
    answer: str | None = None


def claim(session: Session, *, principal: str, key: str, request_hash: str, now: datetime) -> Claim:
    """Claim ``key`` for this request, or say what became of the request that claimed it first.
    Commits (the claim must be seen by a retry while the request runs)."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))  # type: ignore[arg-type]
    session.commit()
    for _ in range(3):   # a released claim may vanish between the insert and the read
        session.add(IdempotencyKey(principal=principal, key=key, request_hash=request_hash, claimed_at=now,
                                   expires_at=now + KEPT))
        try:
            session.commit()
            return Claim(ClaimState.NEW)
        except IntegrityError:
            session.rollback()
        row = session.get(IdempotencyKey, (principal, key))
        if row is None:
            continue
        if row.request_hash != request_hash:
            return Claim(ClaimState.REUSED)
        if row.status is not None:
            return Claim(ClaimState.REPLAY, row.status, row.answer)
        if now - row.claimed_at < ABANDONED_AFTER:
            return Claim(ClaimState.RUNNING)
        if row.committed:
            return Claim(ClaimState.LOST)
        # Its request died before changing anything: this one takes the key over (one taker wins).
        taken = session.execute(update(IdempotencyKey).where(
            IdempotencyKey.principal == principal, IdempotencyKey.key == key,  # type: ignore[arg-type]
            IdempotencyKey.claimed_at == row.claimed_at, IdempotencyKey.committed.is_(False))  # type: ignore[attr-defined]
            .values(claimed_at=now, expires_at=now + KEPT))
        session.commit()
        return Claim(ClaimState.NEW if taken.rowcount == 1 else ClaimState.RUNNING)
    return Claim(ClaimState.RUNNING)


def mark_committed(session: Session, *, principal: str, key: str) -> None:
    """Record, in the caller's transaction, that the request of ``key`` changed something: from
    the commit on, its answer is kept and a retry never runs it again."""
    session.execute(update(IdempotencyKey).where(
        IdempotencyKey.principal == principal, IdempotencyKey.key == key)  # type: ignore[arg-type]
        .values(committed=True))


def finish(session: Session, *, principal: str, key: str, status: int | None, answer: str | None) -> bool:
    """Keep the answer of a request that committed (``True``); release the key of one that
    committed nothing, or that has no answer (``status`` None), so a retry runs afresh (``False``).
    Commits."""
    stored = 0
    if status is not None:
        stored = session.execute(update(IdempotencyKey).where(
            IdempotencyKey.principal == principal, IdempotencyKey.key == key,  # type: ignore[arg-type]
            IdempotencyKey.committed.is_(True)).values(status=status, answer=answer)).rowcount  # type: ignore[attr-defined]
    if not stored:
        session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.principal == principal, IdempotencyKey.key == key,  # type: ignore[arg-type]
            IdempotencyKey.committed.is_(False)))  # type: ignore[attr-defined]
    session.commit()
    return bool(stored)


def read(session: Session, *, principal: str, key: str) -> IdempotencyKey | None:
    """The key's row as committed now (for a retry waiting on the first request)."""
    session.expire_all()
    return session.get(IdempotencyKey, (principal, key))
