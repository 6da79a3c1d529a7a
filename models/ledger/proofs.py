"""Proofs as documents: what the API serves (``/ledger/...``) and ``esv ledger verify-proof``
checks with the verifier key alone.

- inclusion: event ``seq`` of a center is leaf ``seq − 1`` of the tree a signed head commits to;
- consistency: the tree of one signed head is a prefix of the tree of a later one;
- a case's history: each of its events, with its hashed body, and its inclusion under the newest
  signed head of its center (events newer than that head are listed as not yet covered).

Tree hashes are base64 (as the checkpoint's root), chain hashes hex (as the ledger's).
"""
from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlmodel import Session

from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger import checkpoint, merkle
from esupervision.models.ledger.checkpoint import CheckpointError, Verifier
from esupervision.models.ledger.ledger import (LedgerEvent, Witnessed, canonical_json, chain_digest,
                                               event_body, event_leaf)
from esupervision.models.ledger.tree import consistency_proof, inclusion_proof, latest_head


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _head(session: Session, center_id: uuid.UUID, size: int | None) -> Any:
    head = latest_head(session, center_id, size)
    if head is None:
        raise DomainError(ErrorCode.LEDGER_PROOF_UNAVAILABLE,
                          f"没有该签名树头 no signed head{'' if size is None else f' of size {size}'}",
                          center_id=str(center_id), size=size)
    return head


def inclusion_document(session: Session, center_id: uuid.UUID, seq: int, size: int | None = None) -> dict[str, Any]:
    """Event ``seq``'s inclusion in the signed head of ``size`` (default: the newest)."""
    head = _head(session, center_id, size)
    proof = inclusion_proof(session, center_id, seq, head.size)
    return {"type": "inclusion", "center_id": str(center_id), "seq": seq, "size": head.size,
            "chain_hash": proof.chain_hash, "leaf_hash": _b64(proof.leaf),
            "hashes": [_b64(h) for h in proof.hashes], "checkpoint": head.note}


def consistency_document(session: Session, center_id: uuid.UUID, old: int, new: int | None = None) -> dict[str, Any]:
    """The signed head of ``old`` leaves is a prefix of the one of ``new`` (default: the newest)."""
    later = _head(session, center_id, new)
    earlier = _head(session, center_id, old)
    hashes = consistency_proof(session, center_id, earlier.size, later.size)
    return {"type": "consistency", "center_id": str(center_id), "from": earlier.size, "to": later.size,
            "hashes": [_b64(h) for h in hashes], "checkpoints": [earlier.note, later.note]}


def history_document(session: Session, number: str, events: list[LedgerEvent]) -> dict[str, Any]:
    """A case's events, each with its body and prev hash (to recompute its chain hash) and its
    inclusion under the newest signed head of its center."""
    heads: dict[uuid.UUID, Any] = {}
    entries = []
    for event in events:
        if event.center_id not in heads:
            heads[event.center_id] = latest_head(session, event.center_id)
        head = heads[event.center_id]
        entry: dict[str, Any] = {"id": event.id, "center_id": str(event.center_id), "seq": event.seq,
                                 "kind": event.kind, "body": event_body(event), "prev_hash": event.prev_hash,
                                 "chain_hash": event.hash}
        if head is not None and event.seq <= head.size:
            proof = inclusion_proof(session, event.center_id, event.seq, head.size)
            entry.update(size=head.size, hashes=[_b64(h) for h in proof.hashes])
        entries.append(entry)
    return {"type": "history", "case_number": number, "events": entries,
            "checkpoints": {str(c): h.note for c, h in heads.items() if h is not None}}


def check_document(document: dict[str, Any], verifier: Verifier) -> str:
    """Check a proof document with the verifier key alone; returns what it proved, raises
    ``merkle.ProofError`` or ``CheckpointError`` when it proves nothing."""
    kind = document.get("type")
    if kind == "inclusion":
        head = _signed(document["checkpoint"], verifier, document["center_id"], document["size"])
        leaf = event_leaf(document["chain_hash"])
        merkle.verify_inclusion(leaf, document["seq"] - 1, head.size, [_bytes(h) for h in document["hashes"]],
                                head.root)
        return f"第 {document['seq']} 条在 {head.size} 条的签名树头中 seq {document['seq']} is in the signed head of size {head.size}"
    if kind == "consistency":
        old = _signed(document["checkpoints"][0], verifier, document["center_id"], document["from"])
        new = _signed(document["checkpoints"][1], verifier, document["center_id"], document["to"])
        merkle.verify_consistency(old.size, new.size, old.root, new.root, [_bytes(h) for h in document["hashes"]])
        return f"{old.size} 条的树是 {new.size} 条的树的前缀 the head of size {old.size} is a prefix of the head of size {new.size}"
    if kind == "history":
        covered = 0
        for entry in document["events"]:
            body = entry["body"]
            if (body["seq"], body["center_id"]) != (entry["seq"], entry["center_id"]):
                raise merkle.ProofError(f"event {entry['id']}: its body names another position")
            if chain_digest(entry["prev_hash"], canonical_json(body)).hex() != entry["chain_hash"]:
                raise merkle.ProofError(f"event {entry['id']} (seq {entry['seq']}): its body does not hash to its chain hash")
            if "hashes" not in entry:
                continue
            head = _signed(document["checkpoints"][entry["center_id"]], verifier, entry["center_id"], entry["size"])
            merkle.verify_inclusion(event_leaf(entry["chain_hash"]), entry["seq"] - 1, head.size,
                                    [_bytes(h) for h in entry["hashes"]], head.root)
            covered += 1
        return (f"办件 {document['case_number']} 的 {covered} 条记录在已签名的树头中"
                f"（{len(document['events']) - covered} 条尚待签名） {covered} of {len(document['events'])} events "
                f"of case {document['case_number']} are in signed heads")
    raise merkle.ProofError(f"unknown proof type {kind!r}")


def _signed(note: str, verifier: Verifier, center_id: str, size: int) -> checkpoint.TreeHead:
    head = checkpoint.verify(note, verifier)
    if head.origin != checkpoint.origin_for(verifier.name, center_id) or head.size != size:
        raise CheckpointError(f"the checkpoint is of {head.origin} size {head.size}, "
                              f"not of center {center_id} size {size}")
    return head


def _bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise merkle.ProofError("a proof hash is not base64") from None


def witnessed_as_served(document: dict[str, Any], verifier: Verifier, witness: Witnessed) -> None:
    """Raise CheckpointError unless every checkpoint of ``document`` is the head the witness holds
    for its log and size (a head the witness never saw proves nothing outside the database)."""
    notes = document.get("checkpoints") or [document["checkpoint"]]
    for note in notes.values() if isinstance(notes, dict) else notes:
        head = checkpoint.verify(note, verifier)
        held = {h.size: h.root for h in (checkpoint.parse(n) for n in witness.checkpoints(head.origin))}
        if held.get(head.size) != head.root:
            raise CheckpointError(f"the witness holds no head of size {head.size} with this root for {head.origin}")


def check_served(session: Session, center_id: uuid.UUID, verifier: Verifier, sizes: list[int]) -> str | None:
    """Serve and check the proofs of a log between its signed heads of ``sizes`` (ascending): the
    consistency of the first with the last, and the inclusion of the first and the last event
    under the last. Returns what failed, or None."""
    if not sizes:
        return None
    try:
        if len(sizes) > 1:
            check_document(consistency_document(session, center_id, sizes[0], sizes[-1]), verifier)
        for seq in sorted({1, sizes[-1]}):
            check_document(inclusion_document(session, center_id, seq, sizes[-1]), verifier)
    except (merkle.ProofError, CheckpointError, DomainError) as exc:
        return str(exc)
    return None
