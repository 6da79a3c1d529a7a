"""The tamper-evident ledger: every change is an append-only event, and each center's events are a
transparency log.

Each event is chained, ``hash = SHA-256(prev_hash ‖ canonical JSON of the event body)``, and its
chain hash is the leaf of the center's Merkle tree (RFC 9162: ``leaf = SHA-256(0x00 ‖ hash)``).
Appending keeps the tree as its compact range on the chain's head (O(log n), a hash per event on
average) and stores the roots of its perfect subtrees from ``NODE_LEVEL`` up, from which
inclusion and consistency proofs are served (``tree.py``). Signed tree heads (``checkpoint.py``)
are made outside the appending transactions (``tree.sign_heads``) and published to witnesses;
``verify_ledger`` checks chains, trees and heads with the public key alone.
"""
from __future__ import annotations

import hashlib
import operator
import uuid
from collections import namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

import orjson
from psycopg.types.json import Json, Jsonb
from sqlalchemy import (JSON, BigInteger, Column, Index, Integer, Text, UniqueConstraint, Uuid, cast, column, func,
                        select, table)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, Session, SQLModel

from esupervision.db import insert_rows
from esupervision.models.base import UTCDateTime, utc
from esupervision.models.ledger import checkpoint
from esupervision.models.ledger.checkpoint import CheckpointError, Signer, Verifier, origin_for
from esupervision.models.ledger.merkle import CompactRange, leaf_hash
from esupervision.settings import get_settings

GENESIS = "0" * 64
# Subtree roots from this level up (16 leaves) are stored, a row every 8 events on average; below
# it a proof hashes at most 2 × 16 leaves.
NODE_LEVEL = 4
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
    """The end of a center's chain and its Merkle tree's compact range (``frontier``: the roots of
    the perfect subtrees of the tree of ``seq`` leaves, as hex); appends lock this row, so one
    chain has one writer at a time."""

    __tablename__ = "ledger_head"

    center_id: uuid.UUID = Field(primary_key=True)
    seq: int = 0
    hash: str = GENESIS
    frontier: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class LedgerTreeNode(SQLModel, table=True):
    """The root of a perfect subtree of a center's tree (leaves ``node_index·2^level`` to
    ``(node_index+1)·2^level − 1``, 0-based), stored from ``NODE_LEVEL`` up so proofs read a few rows."""

    __tablename__ = "ledger_tree_node"

    center_id: uuid.UUID = Field(primary_key=True)
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    node_index: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str


class LedgerTreeHead(SQLModel, table=True):
    """A signed tree head of a center's log, as published: ``note`` is the checkpoint text."""

    __tablename__ = "ledger_tree_head"
    __table_args__ = (UniqueConstraint("center_id", "size", name="uq_ledger_tree_head_size"),)

    id: int | None = Field(default=None, primary_key=True)
    center_id: uuid.UUID
    size: int
    root: str
    signed_at: datetime = Field(sa_type=UTCDateTime)
    note: str = Field(sa_column=Column(Text, nullable=False))


_NodeRow = namedtuple("_NodeRow", ["center_id", "level", "node_index", "hash"])


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


def event_body(event: Any) -> dict[str, Any]:
    """The hashed body of a ledger row (a ``LedgerEvent`` or a row with its columns)."""
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


def chain_digest(prev_hash: str, body_json: bytes) -> bytes:
    """The chain hash as bytes, over the previous hash and the body's canonical JSON."""
    return hashlib.sha256(prev_hash.encode("ascii") + body_json).digest()


def event_leaf(hash_: str) -> bytes:
    """The Merkle leaf hash of an event: its chain hash is the leaf's data."""
    return leaf_hash(bytes.fromhex(hash_))


# ----------------------------------------------------------------------------- keys

def signer_from_settings() -> Signer:
    """The deployment's signing key (``ESV_LEDGER_SIGNING_KEY``) under the log's name."""
    settings = get_settings()
    return Signer.from_seed(settings.ledger_log_name, settings.ledger_signing_key)


def verifier_of(key: Verifier | str) -> Verifier:
    """A verifier from a ``Verifier``, or (for callers that hold it anyway: tests, benches, the
    signing worker) from the signing seed itself, base64."""
    if isinstance(key, Verifier):
        return key
    return Signer.from_seed(get_settings().ledger_log_name, key).verifier()


# ----------------------------------------------------------------------------- appending

# The chains the city replicates from county deployments (models/counties), by name: the
# counties package imports this module.
_COUNTY_CHAIN = table("county_chain", column("center_id", Uuid()), column("code", Text()))


def _refuse_replica(session: Session, center_id: uuid.UUID) -> None:
    """A chain with no head here is new, or a county's that the city only replicates: its events
    come from the county's own deployment, and one appended here would fork it."""
    code = session.scalar(select(_COUNTY_CHAIN.c.code).where(_COUNTY_CHAIN.c.center_id == center_id))
    if code is not None:
        from esupervision.models.errors import DomainError, ErrorCode
        raise DomainError(ErrorCode.COUNTY_READ_ONLY,
                          f"中心 {code} 属于独立部署的县区，本级只保存其副本：请在该县区的系统中办理 "
                          f"center {code} belongs to a county deployment the city replicates read-only",
                          center=code)


class Ledger:
    """Appends events to the chains of one transaction's session.

    Appended events are buffered; ``flush`` puts them on their chains and writes them in one COPY
    (one executemany on SQLite), so a batch of events costs one lock and one round trip, not one
    each. Heads are locked at a transaction's first flush that reaches their center (``FOR
    UPDATE`` on PostgreSQL) and kept in memory after that. Each placed event is also a leaf of
    its center's Merkle tree: the compact range on the head is extended (a hash per event on
    average) and completed subtree roots from ``NODE_LEVEL`` up are written beside the events.
    No head is signed here: signing is ``tree.sign_heads``'s, outside the writers' transactions.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._heads: dict[uuid.UUID, LedgerHead] = {}
        # Each chain's end as appended (seq, hash) and its tree's compact range, copied onto its
        # head row at ``flush``: setting a table model's attribute (validation, instrumentation)
        # costs microseconds a time.
        self._tips: dict[uuid.UUID, tuple[int, str]] = {}
        self._ranges: dict[uuid.UUID, CompactRange] = {}
        self._moved: set[uuid.UUID] = set()
        self._pending: list[AppendedEvent] = []
        # Appended but not yet on their chains (see ``_place``).
        self._unplaced: list[AppendedEvent] = []
        self._nodes: list[_NodeRow] = []
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
                _refuse_replica(self.session, center_id)
                head = LedgerHead(center_id=center_id, seq=0, hash=GENESIS, frontier="")
                self.session.add(head)
            self._heads[center_id] = head
            self._tips[center_id] = (head.seq, head.hash)
            if head.seq and not head.frontier:
                # A chain written before its tree was kept: build the tree once, from the chain.
                self._ranges[center_id] = self._rebuild_tree(center_id, head.seq)
                self._moved.add(center_id)
            else:
                self._ranges[center_id] = CompactRange.loads(head.seq, head.frontier)
        return head

    def compact_range(self, center_id: uuid.UUID) -> CompactRange:
        """The center's tree as this transaction has it (its head locked; the tree of a chain
        written before trees were kept is built first, and written at the next ``flush``)."""
        self._head(center_id)
        return self._ranges[center_id]

    def _rebuild_tree(self, center_id: uuid.UUID, size: int) -> CompactRange:
        compact = CompactRange()
        hashes = self.session.scalars(select(LedgerEvent.hash).where(
            LedgerEvent.center_id == center_id, LedgerEvent.seq >= 1, LedgerEvent.seq <= size)
            .order_by(LedgerEvent.seq))
        for hash_ in hashes:
            self._keep_nodes(center_id, compact.append(event_leaf(hash_)))
        self.session.execute(LedgerTreeNode.__table__.delete().where(  # type: ignore[attr-defined]
            LedgerTreeNode.__table__.c.center_id == center_id))  # type: ignore[attr-defined]
        return compact

    def _keep_nodes(self, center_id: uuid.UUID, completed: list[tuple[int, int, bytes]]) -> None:
        for level, index, node in completed:
            if level >= NODE_LEVEL:
                self._nodes.append(_NodeRow(center_id, level, index, node.hex()))

    def _sync_heads(self) -> None:
        for center_id in self._moved:
            head = self._heads[center_id]
            head.seq, head.hash = self._tips[center_id]
            head.frontier = self._ranges[center_id].dumps()
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
        """Put the events appended since the last call at the ends of their chains and the leaves
        of their trees: heads locked (in center order, so two writers never wait on each other in
        a cycle), seq and hashes set, completed subtree roots kept for writing."""
        events, self._unplaced = self._unplaced, []
        if not events:
            return
        for center_id in sorted({e.center_id for e in events} - self._tips.keys(), key=str):
            self._head(center_id)
        tips, ranges, text, sha256 = self._tips, self._ranges, self._text, hashlib.sha256
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
            digest = chain_digest(prev_hash, canonical_json(body))
            event.seq, event.prev_hash, event.hash = seq, prev_hash, digest.hex()
            tips[center_id] = (seq, event.hash)
            completed = ranges[center_id].append(sha256(b"\x00" + digest).digest())
            if completed and completed[-1][0] >= NODE_LEVEL:
                self._keep_nodes(center_id, completed)
            self._moved.add(center_id)

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
        """Write the buffered events in append order (ids follow that order), then the subtree
        roots they completed.

        Ids are taken from the sequence first (PostgreSQL) or after the current maximum under
        SQLite's write lock, so the rows go in with one COPY (one executemany on SQLite).
        """
        self._place()
        self._sync_heads()
        if self._pending:
            pending, self._pending = self._pending, []
            for event, event_id in zip(pending, self._allocate_ids(len(pending)), strict=True):
                event.id = event_id
            rows: list[Any] = pending
            if self.session.get_bind().dialect.name == "postgresql":
                # The documents go in as the bytes already hashed (psycopg's JSON dumpers take a
                # wrapper with its own dumps function: ``bytes`` passes them through).
                rows = [_StoredRow(e.id, e.center_id, e.seq, e.kind, e.subject_type, e.subject_id, e.actor,
                                   e.source, e.source_event_id, e.occurred_at, e.recorded_at, e.late,
                                   Jsonb(e.data_json, bytes), Json(e.changes_json, bytes), e.prev_hash, e.hash)
                        for e in pending]
            insert_rows(self.session, LedgerEvent.__table__, rows)  # type: ignore[attr-defined]
        if self._nodes:
            nodes, self._nodes = self._nodes, []
            insert_rows(self.session, LedgerTreeNode.__table__, nodes)  # type: ignore[attr-defined]

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


# ----------------------------------------------------------------------------- verifying

class Tamper(StrEnum):
    ALTERED = "altered"        # content changed: the stored hash no longer matches
    DELETED = "deleted"        # a position of the chain is missing (a gap, or a tail cut off)
    REORDERED = "reordered"    # events swapped: the chain links do not follow
    INSERTED = "inserted"      # a row that is no position of the chain (seq 0, a duplicate, a forged link)
    REWRITTEN = "rewritten"    # re-hashed history: it differs from what a witnessed head vouched for
    CHECKPOINT = "checkpoint"  # a signed head that is forged, altered, or removed from the database
    TREE = "tree"              # the stored tree (compact range, subtree roots) differs from the chain


@dataclass(frozen=True)
class Breach:
    """What is wrong with one center's log, named by the first sequence number affected."""

    center_id: uuid.UUID
    seq: int
    event_id: int | None
    kind: Tamper
    detail: str

    def describe(self) -> str:
        return (f"账本被篡改 ledger tampered: center {self.center_id} seq {self.seq} "
                f"(event id {self.event_id}): {self.kind.value} — {self.detail}")


class Witnessed(Protocol):
    """What a witness holds of the logs (``esupervision.witness`` implements it on a directory)."""

    def origins(self) -> list[str]:
        """The origins of the logs the witness holds heads of."""
        ...

    def checkpoints(self, origin: str) -> list[str]:
        """The checkpoint texts it holds for ``origin``."""
        ...

    def leaves(self, origin: str) -> Iterable[tuple[int, str]]:
        """(seq, chain hash) of the events it was given with the heads, ascending by seq."""
        ...


@dataclass
class ChainReport:
    """The verification of one center's log."""

    center_id: uuid.UUID
    events: int = 0
    heads_checked: int = 0
    witnessed_size: int = 0
    breaches: list[Breach] = field(default_factory=list)
    # The witness holds a log of this center, the database no trace of it (not verified).
    foreign: bool = False

    @property
    def uncovered(self) -> int:
        """Events after the newest witnessed head: covered by no signature outside the database yet."""
        return max(0, self.events - self.witnessed_size)


_EVENT_COLUMNS = [*(LedgerEvent.__table__.c[k] for k in (  # type: ignore[attr-defined]
    "id", "center_id", "seq", "kind", "subject_type", "subject_id", "actor", "source", "source_event_id",
    "occurred_at", "recorded_at", "late", "data", "prev_hash", "hash")),
    # The change document as stored: written as the very bytes that were hashed, so it is hashed
    # as it is, without being parsed and encoded again (most of a verification's work otherwise).
    cast(LedgerEvent.__table__.c.changes, Text).label("changes_text")]  # type: ignore[attr-defined]


def _hashes_as_stored(row: Any) -> bool:
    """Whether a ledger row's content hashes to its stored hash: its change document as stored
    first, then (stored in another but equivalent form) as its canonical JSON."""
    body = {
        "center_id": str(row.center_id), "seq": row.seq, "kind": row.kind,
        "subject_type": row.subject_type, "subject_id": str(row.subject_id), "actor": row.actor,
        "source": row.source, "source_event_id": row.source_event_id,
        "occurred_at": format_instant(row.occurred_at), "recorded_at": format_instant(row.recorded_at),
        "late": row.late, "data": row.data, "changes": orjson.Fragment(row.changes_text),
    }
    if chain_digest(row.prev_hash, canonical_json(body)).hex() == row.hash:
        return True
    try:
        body["changes"] = orjson.loads(row.changes_text)
    except orjson.JSONDecodeError:
        return False
    return chain_digest(row.prev_hash, canonical_json(body)).hex() == row.hash


def _rows(session: Session, center_id: uuid.UUID, window: int = 2000) -> Iterator[Any]:
    """Every ledger row of a center, the ones at no position of the chain (seq < 1) first, then
    by seq and id, read in windows of ``window`` positions: each a bounded range of the
    (center, seq) index whatever the planner knows, and a sort that fits in memory."""
    table = LedgerEvent.__table__  # type: ignore[attr-defined]
    seq, id_ = table.c.seq, table.c.id
    rows = select(*_EVENT_COLUMNS).where(table.c.center_id == center_id)
    yield from session.execute(rows.where(seq < 1).order_by(seq, id_)).all()
    low = 1
    while True:
        page = session.execute(rows.where(seq >= low, seq < low + window).order_by(seq, id_)).all()
        if page:
            yield from page
            low += window
            continue
        # A gap as wide as the window (or the end): go on from the next seq there is, if any.
        following = session.scalar(select(func.min(seq)).where(table.c.center_id == center_id, seq >= low))
        if following is None:
            return
        low = following


class _Expected:
    """The signed heads a chain must prove, by size: from the database and from the witness."""

    def __init__(self) -> None:
        self.roots: dict[int, list[tuple[str, bytes]]] = {}

    def add(self, size: int, source: str, root: bytes) -> None:
        self.roots.setdefault(size, []).append((source, root))


def verify_chain(session: Session, center_id: uuid.UUID, key: Verifier | str, *,
                 witness: Witnessed | None = None) -> ChainReport:
    """Verify one center's log: its rows are positions 1, 2, … of one chain (no seq 0, gap or
    duplicate), every hash recomputes and links, the tree kept on the head and its stored
    subtree roots are the chain's, every signed head in the database verifies with ``key`` and is
    proven by the chain, and every head ``witness`` holds is too (with the hashes it was given),
    none of them removed from the database. Each breach names the first seq affected; the walk
    of the chain stops at the first breach on it."""
    verifier = verifier_of(key)
    origin = origin_for(verifier.name, center_id)
    report = ChainReport(center_id)
    breaches = report.breaches
    expected = _Expected()
    in_database: set[int] = set()
    for row in session.scalars(select(LedgerTreeHead).where(LedgerTreeHead.center_id == center_id)):
        try:
            head = checkpoint.verify(row.note, verifier)
        except CheckpointError as exc:
            breaches.append(Breach(center_id, row.size, None, Tamper.CHECKPOINT,
                                   f"数据库中的签名树头无效 signed head of size {row.size} does not verify: {exc}"))
            continue
        if head.origin != origin or head.size != row.size or head.root.hex() != row.root:
            breaches.append(Breach(center_id, row.size, None, Tamper.CHECKPOINT,
                                   f"签名树头与其记录不符 signed head of size {row.size} differs from its row"))
            continue
        in_database.add(head.size)
        expected.add(head.size, "database", head.root)
    witnessed_leaves: Iterator[tuple[int, str]] = iter(())
    if witness is not None:
        for note in witness.checkpoints(origin):
            try:
                head = checkpoint.verify(note, verifier)
            except CheckpointError as exc:
                breaches.append(Breach(center_id, 0, None, Tamper.CHECKPOINT,
                                       f"见证者处的树头无效 a head at the witness does not verify: {exc}"))
                continue
            if head.origin != origin:
                continue
            expected.add(head.size, "witness", head.root)
            report.witnessed_size = max(report.witnessed_size, head.size)
            if head.size not in in_database:
                breaches.append(Breach(center_id, head.size, None, Tamper.CHECKPOINT,
                                       f"见证者持有的第 {head.size} 条签名树头已从数据库删除 "
                                       f"the signed head of size {head.size} the witness holds was removed "
                                       "from the database"))
        witnessed_leaves = iter(witness.leaves(origin))
    report.heads_checked = sum(len(v) for v in expected.roots.values())
    stored_nodes = {(n.level, n.node_index): n.hash for n in session.scalars(
        select(LedgerTreeNode).where(LedgerTreeNode.center_id == center_id))}

    compact, prev, prev_id, proven = CompactRange(), GENESIS, 0, 0
    witnessed = next(witnessed_leaves, None)
    broken: Breach | None = None
    for row in _rows(session, center_id):
        seq = row.seq
        if seq < 1:
            breaches.append(Breach(center_id, seq, row.id, Tamper.INSERTED,
                                   f"序号 {seq} 不是链上的位置 seq {seq} is no position of the chain "
                                   f"(kind {row.kind}, subject {row.subject_id})"))
            continue
        expected_seq = compact.size + 1
        if seq < expected_seq:
            broken = Breach(center_id, seq, row.id, Tamper.INSERTED,
                            f"第 {seq} 条重复 a second row at seq {seq}")
        elif seq > expected_seq:
            broken = Breach(center_id, expected_seq, row.id, Tamper.DELETED,
                            f"缺少第 {expected_seq} 条 missing seq {expected_seq}; next found is {seq}")
        elif not _hashes_as_stored(row):
            broken = Breach(center_id, seq, row.id, Tamper.ALTERED, "内容与哈希不符 content does not match its hash")
        elif row.prev_hash != prev:
            # Our hashes are self-consistent but do not link: moved from elsewhere or forged.
            kind = Tamper.REORDERED if row.id < prev_id else Tamper.INSERTED
            broken = Breach(center_id, seq, row.id, kind, "与前一条的哈希链接断开 does not link to the previous event")
        elif row.id <= prev_id:
            broken = Breach(center_id, seq, row.id, Tamper.REORDERED,
                            "记录顺序与链顺序不符 recorded order disagrees with chain order")
        else:
            while witnessed is not None and witnessed[0] < seq:
                witnessed = next(witnessed_leaves, None)
            if witnessed is not None and witnessed[0] == seq and witnessed[1] != row.hash:
                broken = Breach(center_id, seq, row.id, Tamper.REWRITTEN,
                                "与见证者所存的哈希不符（历史被改写并重新计算哈希） differs from the hash the witness "
                                "was given: history rewritten and re-hashed")
        if broken is not None:
            break
        for level, index, node in compact.append(event_leaf(row.hash)):
            # A root missing costs proofs time only (they hash what is below it); one that differs
            # would serve proofs of another tree.
            stored = stored_nodes.pop((level, index), None) if level >= NODE_LEVEL else None
            if stored is not None and stored != node.hex():
                broken = Breach(center_id, (index << level) + 1, None, Tamper.TREE,
                                f"存储的子树根与链不符 stored subtree root (level {level}, index {index}) differs "
                                "from the chain")
        if broken is not None:
            break
        prev, prev_id = row.hash, row.id
        roots = expected.roots.get(compact.size)
        if roots:
            root = compact.root()
            wrong = [source for source, signed in roots if signed != root]
            if wrong:
                broken = Breach(center_id, proven + 1, None,
                                Tamper.REWRITTEN if "witness" in wrong else Tamper.CHECKPOINT,
                                f"第 {compact.size} 条的签名树头（{'、'.join(wrong)}）不能由链证明：第 {proven + 1} 至 "
                                f"{compact.size} 条之间被改写 the signed head of size {compact.size} ({', '.join(wrong)}) "
                                f"is not proven by the chain: rewritten between seq {proven + 1} and {compact.size}")
                break
            proven = compact.size
    report.events = compact.size
    if broken is not None:
        breaches.append(broken)
        breaches.sort(key=lambda b: b.seq)
        return report
    size = compact.size
    beyond = sorted(s for s in expected.roots if s > size)
    if beyond:
        sources = sorted({source for source, _ in expected.roots[beyond[-1]]})
        breaches.append(Breach(center_id, size + 1, None, Tamper.DELETED,
                               f"链止于第 {size} 条，但已签名的树头覆盖到第 {beyond[-1]} 条（{'、'.join(sources)}）"
                               f"the chain ends at seq {size}, a signed head ({', '.join(sources)}) covers "
                               f"up to seq {beyond[-1]}: its tail was cut off"))
    if stored_nodes:
        level, index = min(stored_nodes, key=lambda k: k[1] << k[0])
        breaches.append(Breach(center_id, size + 1, None, Tamper.DELETED,
                               f"存储的子树根覆盖第 {(index << level) + 1} 至 {(index + 1) << level} 条，链止于第 {size} 条 "
                               f"a stored subtree root covers seq {(index << level) + 1}–{(index + 1) << level}, "
                               f"the chain ends at {size}"))
    head = session.get(LedgerHead, center_id)
    if head is not None and (head.seq, head.hash) != (size, prev):
        breaches.append(Breach(center_id, min(head.seq, size) + 1, None, Tamper.DELETED,
                               f"链尾与记录的链头不符 chain ends at {size}, head says {head.seq}"))
    elif head is not None and head.frontier and head.frontier != compact.dumps():
        breaches.append(Breach(center_id, size, None, Tamper.TREE,
                               "链头保存的默克尔树状态与链不符 the tree state kept on the head differs from the chain"))
    breaches.sort(key=lambda b: b.seq)
    return report


# The center table, by name (the catalogue's models import this module).
_CENTER = table("center", column("id", Uuid()))


def centers_of(session: Session, witness: Witnessed | None = None,
               log_name: str | None = None) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The centers with a log that this database knows (a center row, events, a head or signed
    heads), and those only the witness holds a log of: another database's (a demo built again,
    another deployment sharing the witness), or a center deleted whole."""
    known = (set(session.scalars(select(LedgerEvent.center_id).distinct()))
             | set(session.scalars(select(LedgerHead.center_id)))
             | set(session.scalars(select(LedgerTreeHead.center_id).distinct())))
    foreign: set[uuid.UUID] = set()
    if witness is not None:
        prefix = origin_for(log_name or get_settings().ledger_log_name, "")
        for origin in witness.origins():
            if origin.startswith(prefix):
                try:
                    foreign.add(uuid.UUID(origin[len(prefix):]))
                except ValueError:
                    continue
        centers = set(session.scalars(select(_CENTER.c.id).where(_CENTER.c.id.in_(sorted(foreign - known)))))
        known |= centers
        foreign -= known
    return sorted(known, key=str), sorted(foreign, key=str)


def verify_chains(session: Session, key: Verifier | str, *, witness: Witnessed | None = None) -> list[ChainReport]:
    """``verify_chain`` for every center this database knows (a log the witness holds of a center
    it has no trace of is listed as ``foreign``, not verified)."""
    verifier = verifier_of(key)
    known, foreign = centers_of(session, witness, verifier.name)
    return [*(verify_chain(session, center_id, verifier, witness=witness) for center_id in known),
            *(ChainReport(center_id, foreign=True) for center_id in foreign)]


def verify_ledger(session: Session, key: Verifier | str, *,
                  witness: Witnessed | None = None) -> tuple[int, Breach | None]:
    """Verify every center's log; returns (events checked, first breach or None). ``key`` is the
    verifier key, or the signing seed for callers that hold it."""
    reports = verify_chains(session, key, witness=witness)
    breaches = [b for r in reports for b in r.breaches]
    return sum(r.events for r in reports), (breaches[0] if breaches else None)
