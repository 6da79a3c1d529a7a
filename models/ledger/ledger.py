"""The tamper-evident ledger: every change is an append-only event, hash-chained per center.

hash = SHA-256(prev_hash ‖ canonical JSON of the event body). Signed checkpoints (Ed25519) pin the
chain at regular positions, so even a rewrite of the whole tail is caught up to the last checkpoint.
"""
from __future__ import annotations

import base64
import hashlib
import operator
import uuid
from collections import namedtuple
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from psycopg.types.json import Json, Jsonb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, Session, SQLModel

from esupervision.db import insert_rows
from esupervision.models.base import UTCDateTime, utc

GENESIS = "0" * 64
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


class LedgerEvent(SQLModel, table=True):
    """One recorded change. ``occurred_at`` is what the reporter claims; ``recorded_at`` is ours."""

    __tablename__ = "ledger_event"
    __table_args__ = (
        UniqueConstraint("center_id", "seq", name="uq_ledger_center_seq"),
        UniqueConstraint("source", "source_event_id", name="uq_ledger_source_event"),
        Index("ix_ledger_subject", "subject_id", "id"),
    )

    # BIGINT on PostgreSQL; SQLite autoincrements only a plain INTEGER primary key.
    id: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True))
    center_id: uuid.UUID
    seq: int
    kind: str
    subject_type: str
    subject_id: uuid.UUID
    actor: str | None = None
    source: str | None = None
    source_event_id: str | None = None
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    late: bool = False
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON_TYPE, nullable=False))
    # Plain JSON (text) on PostgreSQL: written on every event, read back only by replay.
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    prev_hash: str
    hash: str


# A ledger row as COPY writes it (the fields in the table's column order).
_StoredRow = namedtuple("_StoredRow", ["id", "center_id", "seq", "kind", "subject_type", "subject_id", "actor",
                                       "source", "source_event_id", "occurred_at", "recorded_at", "late", "data",
                                       "changes", "prev_hash", "hash"])
assert _StoredRow._fields == tuple(c.key for c in LedgerEvent.__table__.columns)  # type: ignore[attr-defined]


class AppendedEvent:
    """What ``Ledger.append`` returns: a ledger event of this transaction, with ``LedgerEvent``'s
    columns as attributes (``id`` and its place on the chain set at flush). Its two documents
    are kept as their canonical bytes: hashed, decoded only when read (most are only written)
    and written as they are, without being encoded again."""

    __slots__ = ("id", "center_id", "seq", "kind", "subject_type", "subject_id", "actor", "source",
                 "source_event_id", "occurred_at", "recorded_at", "late", "prev_hash", "hash",
                 "data_json", "changes_json", "_data", "_changes")
    __tablename__ = LedgerEvent.__tablename__
    __table__ = LedgerEvent.__table__  # type: ignore[attr-defined]

    def __init__(self, center_id: uuid.UUID, seq: int | None, kind: str, subject_type: str, subject_id: uuid.UUID,
                 actor: str | None, source: str | None, source_event_id: str | None, occurred_at: datetime,
                 recorded_at: datetime, late: bool, data_json: bytes, changes_json: bytes,
                 prev_hash: str | None, hash_: str | None) -> None:
        self.id: int | None = None
        self.center_id, self.seq, self.kind = center_id, seq, kind
        self.subject_type, self.subject_id = subject_type, subject_id
        self.actor, self.source, self.source_event_id = actor, source, source_event_id
        self.occurred_at, self.recorded_at, self.late = occurred_at, recorded_at, late
        self.data_json, self.changes_json = data_json, changes_json
        self.prev_hash, self.hash = prev_hash, hash_
        self._data: Any = None
        self._changes: Any = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = orjson.loads(self.data_json)
        return self._data

    @property
    def changes(self) -> list[dict[str, Any]]:
        if self._changes is None:
            self._changes = orjson.loads(self.changes_json)
        return self._changes

    def __repr__(self) -> str:
        return (f"AppendedEvent(id={self.id}, center_id={self.center_id}, seq={self.seq}, "
                f"kind={self.kind!r}, subject_id={self.subject_id})")


class LedgerHead(SQLModel, table=True):
    """The end of a center's chain; appends lock this row, so one chain has one writer at a time."""

    __tablename__ = "ledger_head"

    center_id: uuid.UUID = Field(primary_key=True)
    seq: int = 0
    hash: str = GENESIS


class LedgerCheckpoint(SQLModel, table=True):
    """A signature over (center, seq, hash): the chain up to seq is vouched for by the key holder."""

    __tablename__ = "ledger_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    center_id: uuid.UUID = Field(index=True)
    seq: int
    hash: str
    signed_at: datetime = Field(sa_type=UTCDateTime)
    public_key: str
    signature: str


# ----------------------------------------------------------------------------- canonical form

def _canonical_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not canonicalisable: {type(value).__name__}")


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def json_value(value: Any) -> Any:
    """A scalar column value in canonical JSON form (instants in UTC with 'Z', ids as text)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return jsonable(value)


# Equal instants have one text, whatever their zone; a batch repeats a few (its own instant,
# the day's deadlines) in thousands of rows.
@lru_cache(maxsize=4096)
def format_instant(value: datetime) -> str:
    """Instants in canonical form: UTC, microseconds, 'Z'."""
    value = utc(value)
    if value.year < 1000:   # strftime's %Y does not pad such years; isoformat would
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, for a third of the time: "+00:00" becomes "Z".
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 unescaped (orjson's encoding): the same value always
    gives the same bytes. Instants are UTC with microseconds and 'Z'; ids are text."""
    return orjson.dumps(value, option=_ORJSON_OPTIONS, default=_canonical_default)


def jsonable(value: Any) -> Any:
    """A value as it will read back from a JSON column (instants and ids as strings)."""
    return orjson.loads(canonical_json(value))


# Values that are their own canonical JSON form (``json_value`` returns them unchanged).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_ROW_COLUMNS: dict[Any, tuple[tuple[str, ...], Any]] = {}


def _row_columns(table: Any) -> tuple[tuple[str, ...], Any]:
    """A table's column keys and a function reading them off a row as one tuple."""
    columns = _ROW_COLUMNS.get(table)
    if columns is None:
        keys = tuple(c.key for c in table.columns)
        # attrgetter of one name returns the value, not a 1-tuple.
        columns = _ROW_COLUMNS[table] = (keys, operator.attrgetter(*keys) if len(keys) > 1
                                         else (lambda r, k=keys[0]: (getattr(r, k),)))
    return columns


def row_values(row: Any) -> dict[str, Any]:
    """Every column of a row (a table model or a record) in canonical JSON form."""
    keys, values_of = _row_columns(row.__table__)
    plain = _PLAIN
    return {key: value if value.__class__ in plain else json_value(value)
            for key, value in zip(keys, values_of(row))}


def row_fields(row: Any) -> dict[str, Any]:
    """Every column of a row as it holds it, for a ledger document: ``canonical_json`` writes
    it exactly as it writes ``row_values(row)`` (ids and instants as text, JSON columns
    canonical), without converting each value in Python first."""
    keys, values_of = _row_columns(row.__table__)
    return dict(zip(keys, values_of(row)))


def event_body(event: LedgerEvent) -> dict[str, Any]:
    return {
        "center_id": str(event.center_id), "seq": event.seq, "kind": event.kind,
        "subject_type": event.subject_type, "subject_id": str(event.subject_id),
        "actor": event.actor, "source": event.source, "source_event_id": event.source_event_id,
        "occurred_at": format_instant(event.occurred_at),
        "recorded_at": format_instant(event.recorded_at),
        "late": event.late, "data": event.data, "changes": event.changes,
    }


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical body."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


# ----------------------------------------------------------------------------- signing

def signing_key(seed_b64: str) -> Ed25519PrivateKey:
    seed = base64.b64decode(seed_b64)
    if len(seed) != 32:
        raise ValueError("ledger signing key must be 32 bytes, base64")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def checkpoint_message(center_id: uuid.UUID, seq: int, hash_: str) -> bytes:
    return canonical_json({"center_id": str(center_id), "seq": seq, "hash": hash_})


# ----------------------------------------------------------------------------- appending

class Ledger:
    """Appends events to the chains of one transaction's session.

    Appended events are buffered; ``flush`` puts them on their chains and writes them in one COPY
    (one executemany on SQLite), so a batch of events costs one lock and one round trip, not one
    each. Heads are locked at a transaction's first flush that reaches their center (``FOR
    UPDATE`` on PostgreSQL) and kept in memory after that.
    """

    def __init__(self, session: Session, *, key_seed_b64: str, checkpoint_every: int) -> None:
        self.session = session
        self._key = signing_key(key_seed_b64)
        self._public = public_key_b64(self._key)
        self._every = checkpoint_every
        self._heads: dict[uuid.UUID, LedgerHead] = {}
        # Each chain's end as appended (seq, hash), copied onto its head row at ``flush``: setting
        # a table model's attribute (validation, instrumentation) costs microseconds a time.
        self._tips: dict[uuid.UUID, tuple[int, str]] = {}
        self._moved: set[uuid.UUID] = set()
        self._pending: list[AppendedEvent] = []
        # Appended but not yet on their chains (see ``_place``).
        self._unplaced: list[AppendedEvent] = []
        self._texts: dict[Any, str] = {}
        self._last_recorded: datetime | None = None
        self._last_recorded_utc: datetime | None = None

    def _head(self, center_id: uuid.UUID) -> LedgerHead:
        head = self._heads.get(center_id)
        if head is None:
            head = self.session.scalars(
                select(LedgerHead).where(LedgerHead.center_id == center_id).with_for_update()
            ).first()
            if head is None:
                head = LedgerHead(center_id=center_id, seq=0, hash=GENESIS)
                self.session.add(head)
            self._heads[center_id] = head
            self._tips[center_id] = (head.seq, head.hash)
        return head

    def _sync_heads(self) -> None:
        for center_id in self._moved:
            head = self._heads[center_id]
            head.seq, head.hash = self._tips[center_id]
        self._moved.clear()

    def append(self, *, center_id: uuid.UUID, kind: str, subject_type: str,
               subject_id: uuid.UUID, occurred_at: datetime, recorded_at: datetime,
               data: dict[str, Any] | None = None, changes: list[dict[str, Any]] | None = None,
               actor: str | None = None, source: str | None = None,
               source_event_id: str | None = None, late: bool = False) -> Any:
        """Append one event to its center's chain. Its place on the chain (``seq``, ``prev_hash``,
        ``hash``) and its ``id`` are set by the next ``flush``, which locks the chain's head: the
        work of building a batch's events does not hold up other writers of the same center."""
        # Each document is encoded once: hashed, kept and written as those same bytes.
        data_json, changes_json = canonical_json(data or {}), canonical_json(changes or [])
        event = AppendedEvent(center_id, None, kind, subject_type, subject_id, actor, source, source_event_id,
                              utc(occurred_at), self._utc(recorded_at), late, data_json, changes_json, None, None)
        self._pending.append(event)
        self._unplaced.append(event)
        return event

    def _place(self) -> None:
        """Put the events appended since the last call at the ends of their chains: heads locked
        (in center order, so two writers never wait on each other in a cycle), seq and hashes set,
        checkpoints signed."""
        events, self._unplaced = self._unplaced, []
        if not events:
            return
        for center_id in sorted({e.center_id for e in events} - self._tips.keys(), key=str):
            self._head(center_id)
        tips, text = self._tips, self._text
        for event in events:
            center_id = event.center_id
            seq, prev_hash = tips[center_id]
            seq += 1
            # ``event_body`` with each instant and chain id formatted once per transaction: a batch
            # repeats its recorded_at (the transaction's instant) and a few centers in every event.
            body = {
                "center_id": text(center_id), "seq": seq, "kind": event.kind,
                "subject_type": event.subject_type, "subject_id": str(event.subject_id), "actor": event.actor,
                "source": event.source, "source_event_id": event.source_event_id,
                "occurred_at": text(event.occurred_at), "recorded_at": text(event.recorded_at),
                "late": event.late, "data": orjson.Fragment(event.data_json),
                "changes": orjson.Fragment(event.changes_json),
            }
            event.seq, event.prev_hash = seq, prev_hash
            event.hash = chain_hash(prev_hash, body)
            tips[center_id] = (seq, event.hash)
            self._moved.add(center_id)
            if self._every and seq % self._every == 0:
                self._checkpoint(center_id, seq, event.hash, event.recorded_at)

    def _utc(self, value: datetime) -> datetime:
        """``utc(value)``, cached: every event of a transaction is recorded at its one instant."""
        if value is self._last_recorded:
            return self._last_recorded_utc
        self._last_recorded, self._last_recorded_utc = value, utc(value)
        return self._last_recorded_utc

    def _text(self, value: Any) -> str:
        """An instant (``format_instant``) or an id (``str``) as the event body holds it, cached."""
        text = self._texts.get(value)
        if text is None:
            text = self._texts[value] = format_instant(value) if isinstance(value, datetime) else str(value)
        return text

    def pending(self) -> list[Any]:
        """The events appended since the last flush (they get their ids at the next flush)."""
        return list(self._pending)

    def flush(self) -> None:
        """Write the buffered events in append order; ids follow that order.

        Ids are taken from the sequence first (PostgreSQL) or after the current maximum under
        SQLite's write lock, so the rows go in with one COPY (one executemany on SQLite).
        """
        self._place()
        self._sync_heads()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        for event, event_id in zip(pending, self._allocate_ids(len(pending)), strict=True):
            event.id = event_id
        rows: list[Any] = pending
        if self.session.get_bind().dialect.name == "postgresql":
            # The documents go in as the bytes already hashed (psycopg's JSON dumpers take a
            # wrapper with its own dumps function: ``bytes`` passes them through).
            rows = [_StoredRow(e.id, e.center_id, e.seq, e.kind, e.subject_type, e.subject_id, e.actor, e.source,
                               e.source_event_id, e.occurred_at, e.recorded_at, e.late,
                               Jsonb(e.data_json, bytes), Json(e.changes_json, bytes), e.prev_hash, e.hash)
                    for e in pending]
        insert_rows(self.session, LedgerEvent.__table__, rows)  # type: ignore[attr-defined]

    def _allocate_ids(self, count: int) -> list[int]:
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            # One row holding them all (an array, read in binary), not a row per id; ascending,
            # as appended.
            dbapi = self.session.connection().connection.driver_connection
            with dbapi.cursor(binary=True) as cursor:
                cursor.execute("SELECT array_agg(nextval(pg_get_serial_sequence('ledger_event', 'id'))) "
                               "FROM generate_series(1, %s)", [count])
                return sorted(cursor.fetchone()[0])
        first = (self.session.scalar(select(func.max(LedgerEvent.id))) or 0) + 1
        return list(range(first, first + count))

    def _checkpoint(self, center_id: uuid.UUID, seq: int, hash_: str, at: datetime) -> None:
        signature = self._key.sign(checkpoint_message(center_id, seq, hash_))
        self.session.add(LedgerCheckpoint(center_id=center_id, seq=seq, hash=hash_, signed_at=utc(at),
                                          public_key=self._public,
                                          signature=base64.b64encode(signature).decode()))

    def checkpoint_all(self, at: datetime) -> int:
        """Sign the current head of every chain; returns how many were signed."""
        self._place()
        self._sync_heads()
        heads = self.session.scalars(select(LedgerHead).with_for_update()).all()
        signed = 0
        for head in heads:
            if head.seq and not self.session.scalars(select(LedgerCheckpoint).where(
                    LedgerCheckpoint.center_id == head.center_id,
                    LedgerCheckpoint.seq == head.seq)).first():
                self._checkpoint(head.center_id, head.seq, head.hash, at)
                signed += 1
        return signed


# ----------------------------------------------------------------------------- verifying

class Tamper(StrEnum):
    ALTERED = "altered"      # content changed: the stored hash no longer matches
    DELETED = "deleted"      # a position of the chain is missing
    REORDERED = "reordered"  # events swapped: the chain links do not follow
    INSERTED = "inserted"    # an event that the chain never held
    CHECKPOINT = "checkpoint"  # a signed checkpoint disagrees with the chain or its signature


@dataclass(frozen=True)
class Breach:
    center_id: uuid.UUID
    seq: int
    event_id: int | None
    kind: Tamper
    detail: str

    def describe(self) -> str:
        return (f"账本被篡改 ledger tampered: center {self.center_id} seq {self.seq} "
                f"(event id {self.event_id}): {self.kind.value} — {self.detail}")


def _events(session: Session, center_id: uuid.UUID, chunk: int = 5000) -> Iterator[LedgerEvent]:
    last = 0
    while True:
        rows = session.scalars(select(LedgerEvent).where(
            LedgerEvent.center_id == center_id, LedgerEvent.seq > last
        ).order_by(LedgerEvent.seq).limit(chunk)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session, center_id: uuid.UUID, public_key: Ed25519PublicKey) -> Breach | None:
    """The first breach of one center's chain, or None when it is intact."""
    checkpoints = {c.seq: c for c in session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.center_id == center_id))}
    for cp in checkpoints.values():
        try:
            public_key.verify(base64.b64decode(cp.signature), checkpoint_message(center_id, cp.seq, cp.hash))
        except (InvalidSignature, ValueError):
            return Breach(center_id, cp.seq, None, Tamper.CHECKPOINT, "检查点签名无效 bad checkpoint signature")
    expected_seq, prev, prev_id = 1, GENESIS, 0
    for event in _events(session, center_id):
        if event.seq != expected_seq:
            return Breach(center_id, expected_seq, event.id, Tamper.DELETED,
                          f"缺少第 {expected_seq} 条 missing seq {expected_seq}; next found is {event.seq}")
        recomputed = chain_hash(event.prev_hash, event_body(event))
        if recomputed != event.hash:
            return Breach(center_id, event.seq, event.id, Tamper.ALTERED,
                          "内容与哈希不符 content does not match its hash")
        if event.prev_hash != prev:
            # Our hashes are self-consistent but do not link: moved from elsewhere or forged.
            kind = Tamper.REORDERED if (event.id or 0) < prev_id else Tamper.INSERTED
            return Breach(center_id, event.seq, event.id, kind,
                          "与前一条的哈希链接断开 does not link to the previous event")
        if (event.id or 0) <= prev_id:
            return Breach(center_id, event.seq, event.id, Tamper.REORDERED,
                          "记录顺序与链顺序不符 recorded order disagrees with chain order")
        cp = checkpoints.pop(event.seq, None)
        if cp is not None and cp.hash != event.hash:
            return Breach(center_id, event.seq, event.id, Tamper.CHECKPOINT,
                          "与已签名检查点不符 differs from the signed checkpoint")
        prev, prev_id, expected_seq = event.hash, event.id or 0, expected_seq + 1
    if checkpoints:
        seq = min(checkpoints)
        return Breach(center_id, seq, None, Tamper.DELETED,
                      f"已签名检查点第 {seq} 条不在链上 signed checkpoint at seq {seq} is past the chain's end")
    head = session.get(LedgerHead, center_id)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return Breach(center_id, expected_seq, None, Tamper.DELETED,
                      f"链尾与记录的链头不符 chain ends at {expected_seq - 1}, head says {head.seq}")
    return None


def verify_ledger(session: Session, key_seed_b64: str) -> tuple[int, Breach | None]:
    """Verify every center's chain; returns (events checked, first breach or None)."""
    public = signing_key(key_seed_b64).public_key()
    centers = sorted(set(session.scalars(select(LedgerEvent.center_id).distinct()))
                     | set(session.scalars(select(LedgerHead.center_id))), key=str)
    total = 0
    for center_id in centers:
        breach = verify_chain(session, center_id, public)
        if breach is not None:
            return total, breach
        head = session.get(LedgerHead, center_id)
        total += head.seq if head else 0
    return total, None
