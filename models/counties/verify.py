"""The check of what a county serves, with its public key alone (as a Certificate Transparency
monitor checks a log): a signed head verifies and names the chain; a page of events links to the
city's copy, each event's body hashes to its chain hash, and the copy extended by the page is a
prefix of the signed head (its root equal at the head's size, else a consistency proof from the
page's end). Pure functions over values; a failure is a ``ReplicaFork`` naming the seq at fault.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from esupervision.models.ledger import checkpoint, merkle
from esupervision.models.ledger.checkpoint import CheckpointError, TreeHead, Verifier
from esupervision.models.ledger.ledger import GENESIS, canonical_json, chain_digest, event_leaf
from esupervision.models.ledger.merkle import CompactRange, ProofError


class ReplicaFork(Exception):
    """What the county served is not the log the city verified (or not signed by the county):
    ``seq`` is the first position at fault as far as this check can tell."""

    def __init__(self, seq: int, detail: str) -> None:
        super().__init__(f"seq {seq}: {detail}")
        self.seq, self.detail = seq, detail


@dataclass
class Tip:
    """The end of the city's copy of a chain: ``size`` events, the last one's hash, its tree."""

    size: int = 0
    last_hash: str = GENESIS
    frontier: str = ""

    def compact(self) -> CompactRange:
        return CompactRange.loads(self.size, self.frontier)


def check_head(note: str, verifier: Verifier, center_id: uuid.UUID | str, tip: Tip,
               verified: tuple[int, str | None] = (0, None)) -> TreeHead:
    """The head of ``note`` if the county's key signed it for this chain and it does not go back
    on what the city verified: no smaller than the copy (``tip``) or than the last verified head,
    the same root at the same size. Raises ``ReplicaFork``."""
    try:
        head = checkpoint.verify(note, verifier)
    except CheckpointError as exc:
        raise ReplicaFork(tip.size + 1, f"签名树头无效 the signed head does not verify: {exc}") from None
    if head.origin != checkpoint.origin_for(verifier.name, center_id):
        raise ReplicaFork(tip.size + 1, f"签名树头属于另一条链 the head is of {head.origin}")
    verified_size, verified_root = verified
    if head.size < max(tip.size, verified_size):
        raise ReplicaFork(head.size + 1, f"账本被截短：已验证 {max(tip.size, verified_size)} 条，现签名树头只有 {head.size} 条 "
                                         f"the log was truncated: {max(tip.size, verified_size)} verified, "
                                         f"the new head has {head.size}")
    if head.size == verified_size and verified_root is not None and head.root.hex() != verified_root:
        raise ReplicaFork(1, f"同样 {head.size} 条的签名树头根哈希不同 a head of the same size {head.size} "
                             "with another root: history rewritten")
    if head.size == tip.size and tip.size and head.root != tip.compact().root():
        raise ReplicaFork(1, f"第 {head.size} 条的签名树头与城市所存副本不符 the head of size {head.size} "
                             "differs from the city's verified copy: history rewritten")
    return head


def check_page(center_id: uuid.UUID | str, tip: Tip, head: TreeHead, events: list[dict[str, Any]],
               proof: list[str]) -> Tip:
    """The tip of the copy extended by ``events`` (each ``{seq, prev_hash, hash, body}``) once
    they link to ``tip``, hash as served, and the extended copy is a prefix of ``head``
    (``proof``: the consistency hashes, base64, from the page's end to the head's size).
    Raises ``ReplicaFork``; nothing is changed."""
    compact, last = tip.compact(), tip.last_hash
    center = str(center_id)
    for event in events:
        seq = compact.size + 1
        body = event.get("body") or {}
        if event.get("seq") != seq or body.get("seq") != seq or body.get("center_id") != center:
            raise ReplicaFork(seq, f"期望第 {seq} 条，收到第 {event.get('seq')} 条 expected seq {seq}, "
                                   f"got {event.get('seq')} (duplicate, gap or another chain)")
        if event.get("prev_hash") != last:
            raise ReplicaFork(seq, "与城市所存的前一条哈希链接断开 does not link to the city's copy: history rewritten")
        if chain_digest(last, canonical_json(body)).hex() != event.get("hash"):
            raise ReplicaFork(seq, "内容与哈希不符 content does not match its hash")
        compact.append(event_leaf(event["hash"]))
        last = event["hash"]
    end = compact.size
    if end > head.size:
        raise ReplicaFork(head.size + 1, f"收到的事件超出签名树头 events beyond the signed head of size {head.size}")
    if end == head.size:
        if end and compact.root() != head.root:
            raise ReplicaFork(tip.size + 1 if events else 1,
                              f"副本的根哈希与第 {end} 条的签名树头不符 the copy's root differs from the signed head")
    elif end:
        try:
            merkle.verify_consistency(end, head.size, compact.root(), head.root,
                                      [base64.b64decode(h, validate=True) for h in proof])
        except (ProofError, ValueError) as exc:
            raise ReplicaFork(tip.size + 1 if events else 1,
                              f"副本不是签名树头的前缀 the copy is not a prefix of the head of size {head.size}: {exc}") \
                from None
    return Tip(end, last, compact.dumps())


def first_difference(ours: list[tuple[int, str]], theirs: list[tuple[int, str]]) -> int | None:
    """The first seq where two runs of (seq, chain hash) from the same start differ, or where
    one ends before the other; None when they agree as far as both go and end together."""
    for (seq, mine), (_, served) in zip(ours, theirs):
        if mine != served:
            return seq
    if len(ours) > len(theirs):
        return ours[len(theirs)][0]
    return None
