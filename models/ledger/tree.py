"""A center's log as a Merkle tree: its signed tree heads, and the inclusion and consistency proofs
served from it (the stored subtree roots from ``NODE_LEVEL`` up, the leaves below).

Heads are signed outside the transactions that append (``sign_heads``: a worker every few
seconds while events arrive and once a burst of commits ends, ``esv ledger checkpoint`` by hand):
appending never waits for a signature, and a head is only ever made of committed events.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlmodel import Session

from esupervision.models.base import utc
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger import merkle
from esupervision.models.ledger.checkpoint import Signer, TreeHead, origin_for
from esupervision.models.ledger.ledger import (NODE_LEVEL, Ledger, LedgerEvent, LedgerHead, LedgerTreeHead,
                                               LedgerTreeNode, event_leaf)
from esupervision.models.ledger.merkle import CompactRange


# ----------------------------------------------------------------------------- signing

def signed_sizes(session: Session) -> dict[uuid.UUID, int]:
    """The size of each center's newest signed head."""
    return dict(session.execute(select(LedgerTreeHead.center_id, func.max(LedgerTreeHead.size))
                                .group_by(LedgerTreeHead.center_id)).all())


def chain_sizes(session: Session) -> dict[uuid.UUID, int]:
    """The length of each center's chain, as committed."""
    return dict(session.execute(select(LedgerHead.center_id, LedgerHead.seq)).all())


def sign_heads(session: Session, signer: Signer, *, now: datetime,
               centers: Iterable[uuid.UUID] | None = None) -> list[LedgerTreeHead]:
    """Sign the tree head of every chain (or of ``centers``) that grew since its newest signed
    head; the rows are added to ``session`` for the caller to commit, in center order.

    Heads are read as committed, without a lock: appenders go on meanwhile, and the next call
    signs what they add. On PostgreSQL one signer at a time (a transaction-level advisory lock;
    another finds it taken and signs nothing). A chain written before its tree was kept gets its
    tree built first, under its head's lock."""
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
            select(func.pg_try_advisory_xact_lock(0x6C656467))):   # "ledg"
        return []
    wanted = None if centers is None else set(centers)
    signed = signed_sizes(session)
    rows = session.execute(select(LedgerHead.center_id, LedgerHead.seq, LedgerHead.frontier)
                           .order_by(LedgerHead.center_id)).all()
    made = []
    now = utc(now)
    for center_id, size, frontier in rows:
        if size <= signed.get(center_id, 0) or (wanted is not None and center_id not in wanted):
            continue
        if size and not frontier:
            ledger = Ledger(session)
            compact = ledger.compact_range(center_id)
            ledger.flush()
        else:
            compact = CompactRange.loads(size, frontier)
        root = compact.root()
        head = TreeHead(origin_for(signer.name, center_id), compact.size, root, now)
        row = LedgerTreeHead(center_id=center_id, size=compact.size, root=root.hex(), signed_at=now,
                             note=signer.sign(head))
        session.add(row)
        made.append(row)
    session.flush()
    return made


def latest_head(session: Session, center_id: uuid.UUID, size: int | None = None) -> LedgerTreeHead | None:
    """The newest signed head of a center, or its head of exactly ``size``."""
    query = select(LedgerTreeHead).where(LedgerTreeHead.center_id == center_id)
    if size is not None:
        return session.scalars(query.where(LedgerTreeHead.size == size)).first()
    return session.scalars(query.order_by(LedgerTreeHead.size.desc()).limit(1)).first()


def heads_after(session: Session, center_id: uuid.UUID, size: int) -> list[LedgerTreeHead]:
    """The signed heads of a center larger than ``size``, smallest first (to publish)."""
    return list(session.scalars(select(LedgerTreeHead).where(
        LedgerTreeHead.center_id == center_id, LedgerTreeHead.size > size).order_by(LedgerTreeHead.size)))


def chain_hashes(session: Session, center_id: uuid.UUID, first: int, last: int) -> list[tuple[int, str]]:
    """(seq, chain hash) of the events ``first``..``last`` of a center's chain."""
    return list(session.execute(select(LedgerEvent.seq, LedgerEvent.hash).where(
        LedgerEvent.center_id == center_id, LedgerEvent.seq >= first, LedgerEvent.seq <= last)
        .order_by(LedgerEvent.seq)).all())


# ----------------------------------------------------------------------------- proofs

@dataclass(frozen=True)
class InclusionProof:
    """Event ``seq`` (leaf ``seq − 1``) of a center's chain is in its tree of ``size`` leaves."""

    center_id: uuid.UUID
    seq: int
    size: int
    chain_hash: str
    hashes: list[bytes]

    @property
    def leaf(self) -> bytes:
        return event_leaf(self.chain_hash)

    def root(self) -> bytes:
        """The tree head this proof leads to (compare it with a signed head's)."""
        return merkle.root_from_inclusion(self.leaf, self.seq - 1, self.size, self.hashes)


class _Subtrees:
    """Subtree hashes of one center's tree: stored roots from ``NODE_LEVEL`` up, leaves below,
    each read once."""

    def __init__(self, session: Session, center_id: uuid.UUID) -> None:
        self.session, self.center_id = session, center_id
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.leaves: dict[int, bytes] = {}

    def load(self, ranges: list[tuple[int, int]]) -> None:
        """Read every stored root and leaf the subtrees ``ranges`` need, in a few queries."""
        keys, spans = [], []
        for lo, hi in ranges:
            for level, index in merkle.perfect_pieces(lo, hi):
                if level >= NODE_LEVEL:
                    keys.append((level, index))
                else:
                    spans.append((index << level, (index + 1) << level))
        if keys:
            self.nodes.update(((n.level, n.node_index), bytes.fromhex(n.hash)) for n in self.session.scalars(
                select(LedgerTreeNode).where(LedgerTreeNode.center_id == self.center_id,
                                             tuple_(LedgerTreeNode.level, LedgerTreeNode.node_index).in_(keys))))
        # Leaf ranges below NODE_LEVEL lie within one aligned block of 2**NODE_LEVEL leaves each.
        for block in sorted({lo >> NODE_LEVEL for lo, _ in spans}):
            self._read_leaves(block << NODE_LEVEL, (block + 1) << NODE_LEVEL)

    def _read_leaves(self, lo: int, hi: int) -> None:
        for seq, hash_ in chain_hashes(self.session, self.center_id, lo + 1, hi):
            self.leaves[seq - 1] = event_leaf(hash_)

    def perfect(self, level: int, index: int) -> bytes:
        """The root of an aligned perfect subtree; a stored root missing is computed from the
        leaves below it (read in one query)."""
        node = self.nodes.get((level, index)) if level else self.leaves.get(index)
        if node is not None:
            return node
        lo, hi = index << level, (index + 1) << level
        if any(leaf not in self.leaves for leaf in range(lo, hi)):
            self._read_leaves(lo, hi)
        if level == 0:
            try:
                return self.leaves[index]
            except KeyError:
                raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE, f"账本第 {index + 1} 条不存在 no event at seq "
                                  f"{index + 1}", seq=index + 1) from None
        node = merkle.node_hash(self.perfect(level - 1, 2 * index), self.perfect(level - 1, 2 * index + 1))
        self.nodes[(level, index)] = node
        return node

    def hash(self, lo: int, hi: int) -> bytes:
        return merkle.fold([self.perfect(level, index) for level, index in merkle.perfect_pieces(lo, hi)])


def _check_size(session: Session, center_id: uuid.UUID, size: int) -> None:
    length = session.scalar(select(LedgerHead.seq).where(LedgerHead.center_id == center_id)) or 0
    if not 0 < size <= length:
        raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE, f"账本树没有 {size} 条 the log has no tree of size {size} "
                          f"(it has {length} events)", size=size)


def inclusion_proof(session: Session, center_id: uuid.UUID, seq: int, size: int) -> InclusionProof:
    """The audit path of event ``seq`` in the center's tree of ``size`` leaves (RFC 9162)."""
    _check_size(session, center_id, size)
    if not 0 < seq <= size:
        raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE, f"第 {seq} 条不在 {size} 条的树中 seq {seq} is not in a tree of {size}",
                          seq=seq, size=size)
    ranges = merkle.inclusion_ranges(seq - 1, size)
    subtrees = _Subtrees(session, center_id)
    subtrees.load([*ranges, (seq - 1, seq)])
    chain_hash = session.scalar(select(LedgerEvent.hash).where(LedgerEvent.center_id == center_id,
                                                               LedgerEvent.seq == seq))
    if chain_hash is None:
        raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE, f"账本第 {seq} 条不存在 no event at seq {seq}", seq=seq)
    return InclusionProof(center_id, seq, size, chain_hash, [subtrees.hash(lo, hi) for lo, hi in ranges])


def consistency_proof(session: Session, center_id: uuid.UUID, old: int, new: int) -> list[bytes]:
    """The hashes proving the tree of ``old`` leaves is a prefix of the tree of ``new`` (RFC 9162)."""
    _check_size(session, center_id, new)
    if not 0 < old <= new:
        raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE, f"没有从 {old} 到 {new} 的一致性证明 no consistency proof from "
                          f"{old} to {new}", old=old, new=new)
    ranges = merkle.consistency_ranges(old, new)
    subtrees = _Subtrees(session, center_id)
    subtrees.load(ranges)
    return [subtrees.hash(lo, hi) for lo, hi in ranges]


def root_at(session: Session, center_id: uuid.UUID, size: int) -> bytes:
    """The tree head of the center's first ``size`` events, from the stored tree."""
    _check_size(session, center_id, size)
    subtrees = _Subtrees(session, center_id)
    subtrees.load([(0, size)])
    return subtrees.hash(0, size)
