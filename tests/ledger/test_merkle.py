"""RFC 9162 Merkle trees: the compact range, proofs and their verification against the tree
hash written straight from the RFC's definition; signed notes in the checkpoint format."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from esupervision.models.ledger import checkpoint, merkle
from esupervision.models.ledger.checkpoint import CheckpointError, Signer, TreeHead, Verifier, read_verifier


def mth(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1, as written there."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split(len(leaves))
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


LEAVES = [merkle.leaf_hash(n.to_bytes(2, "big")) for n in range(70)]


@pytest.mark.parametrize("size", range(1, 70))
def test_compact_range_root_nodes_and_proofs_agree_with_the_rfc(size: int) -> None:
    leaves = LEAVES[:size]
    compact = merkle.CompactRange()
    for leaf in leaves:
        for level, index, node in compact.append(leaf):
            assert node == mth(leaves[index << level:(index + 1) << level])
    root = compact.root()
    assert root == mth(leaves) == merkle.root_of(leaves)
    assert merkle.CompactRange.loads(size, compact.dumps()).root() == root

    def subtree(lo: int, hi: int) -> bytes:
        return mth(leaves[lo:hi])

    for index in range(size):
        proof = merkle.build_proof(merkle.inclusion_ranges(index, size), subtree)
        merkle.verify_inclusion(leaves[index], index, size, proof, root)
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaves[index], index, size, proof + [root], root)
        if proof:
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(leaves[index], index, size, [root, *proof[1:]], root)
    for old in range(1, size + 1):
        proof = merkle.build_proof(merkle.consistency_ranges(old, size), subtree)
        merkle.verify_consistency(old, size, mth(leaves[:old]), root, proof)
        for lo, hi in merkle.consistency_ranges(old, size):
            assert merkle.fold([subtree(i << lv, (i + 1) << lv) for lv, i in merkle.perfect_pieces(lo, hi)]) == subtree(lo, hi)
        if proof:
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, size, mth(leaves[:old]), root, [*proof[:-1], LEAVES[0]])
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(old, size, bytes(32), root, proof)


def test_signed_heads_verify_with_the_verifier_key_alone() -> None:
    signer = Signer.from_seed("esupervision", "ZXN1cGVydmlzaW9uLWRlbW8tbGVkZ2VyLWtleS0wMDE=")
    head = TreeHead("esupervision/ledger/0192f1c4-0000-7000-8000-000000000000", 4096, bytes(range(32)),
                    datetime(2026, 11, 26, 1, 0, 5, tzinfo=timezone.utc))
    note = signer.sign(head)
    body, signature = note.split("\n\n")
    assert body.split("\n") == [head.origin, "4096", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                                "time 2026-11-26T01:00:05.000000Z"]
    assert signature.startswith("\u2014 esupervision ") and signature.endswith("\n")
    vkey = signer.verifier().text()
    verifier = read_verifier(vkey, "ignored")
    assert verifier.name == "esupervision" and checkpoint.verify(note, verifier) == head
    assert read_verifier(Verifier.parse(vkey).text(), "x").text() == vkey
    with pytest.raises(CheckpointError):
        checkpoint.verify(note.replace("4096", "4097", 1), verifier)
    other = Signer.from_seed("esupervision", "b3RoZXItZGVwbG95bWVudC1sZWRnZXIta2V5LTAwMDA=")
    with pytest.raises(CheckpointError):
        checkpoint.verify(other.sign(head), verifier)
    with pytest.raises(CheckpointError):
        Verifier.parse(vkey[:-4] + "AAA=")
