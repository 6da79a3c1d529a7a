"""Merkle trees as RFC 9162 (Certificate Transparency v2) defines them: the hashing, the compact
range that extends a tree one leaf at a time, and the inclusion and consistency proofs with their
verification. Pure functions over bytes; where the hashes come from is the caller's business.

- leaf hash ``SHA-256(0x00 ‖ leaf)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``;
- the tree of n leaves splits at the largest power of two below n (RFC 9162 §2.1.1);
- an inclusion proof is the audit path of §2.1.3, a consistency proof the one of §2.1.4, each
  checked by the algorithm the RFC gives (§2.1.3.2, §2.1.4.2).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32


class ProofError(ValueError):
    """A proof that does not check out (wrong length, wrong hashes, wrong sizes)."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 leaf hash of ``leaf``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node over two subtree hashes."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n ≥ 2): where the tree of n leaves splits."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """The tree head of ``leaves`` (their leaf hashes), computed in one pass."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


class CompactRange:
    """The roots of the perfect subtrees that make up the tree of ``size`` leaves (one per set bit
    of ``size``, largest first): enough to append a leaf and to compute the root, in O(log n)
    space. A leaf costs one hash on average; ``append`` names the nodes it completed."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        hashes = list(hashes or [])
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a compact range of {size} leaves has {bin(size).count('1')} hashes, not {len(hashes)}")
        self.size, self.hashes = size, hashes

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the interior nodes it completed as (level, index, hash)."""
        completed = []
        node, level, index = leaf, 0, self.size
        while index & 1:
            node = node_hash(self.hashes.pop(), node)
            level, index = level + 1, index >> 1
            completed.append((level, index, node))
        self.hashes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """The tree head: the subtree roots folded right to left."""
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for node in reversed(self.hashes[:-1]):
            root = node_hash(node, root)
        return root

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)

    def dumps(self) -> str:
        """The hashes as one hex string (the size is the chain's length, stored beside it)."""
        return b"".join(self.hashes).hex()

    @classmethod
    def loads(cls, size: int, text: str) -> CompactRange:
        raw = bytes.fromhex(text)
        return cls(size, [raw[i:i + HASH_SIZE] for i in range(0, len(raw), HASH_SIZE)])


# ----------------------------------------------------------------------------- which subtrees a proof holds

def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [a, b) whose subtree hashes make the audit path of leaf ``index`` in the
    tree of ``size`` leaves (RFC 9162 §2.1.3.1), bottom up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    path: list[tuple[int, int]] = []

    def walk(m: int, lo: int, hi: int) -> None:
        if hi - lo == 1:
            return
        k = split(hi - lo)
        if m < k:
            walk(m, lo, lo + k)
            path.append((lo + k, hi))
        else:
            walk(m - k, lo + k, hi)
            path.append((lo, lo + k))

    walk(index, 0, size)
    return path


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose subtree hashes prove the tree of ``old`` leaves is a prefix of the
    tree of ``new`` (RFC 9162 §2.1.4.1); empty when the sizes are equal or ``old`` is 0."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []
    path: list[tuple[int, int]] = []

    def walk(m: int, lo: int, hi: int, whole: bool) -> None:
        if m == hi - lo:
            if not whole:
                path.append((lo, hi))
            return
        k = split(hi - lo)
        if m <= k:
            walk(m, lo, lo + k, whole)
            path.append((lo + k, hi))
        else:
            walk(m - k, lo + k, hi, False)
            path.append((lo, lo + k))

    walk(old, 0, new, True)
    return path


def perfect_pieces(lo: int, hi: int) -> list[tuple[int, int]]:
    """The aligned perfect subtrees (level, index) that make up the subtree [lo, hi) of an RFC 9162
    tree, left to right: its hash is theirs folded right to left."""
    pieces = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo % (1 << level):
            level -= 1
        pieces.append((level, lo >> level))
        lo += 1 << level
    return pieces


def fold(hashes: Sequence[bytes]) -> bytes:
    """Perfect subtree roots, left to right, folded into the hash of the range they cover."""
    root = hashes[-1]
    for node in reversed(hashes[:-1]):
        root = node_hash(node, root)
    return root


def build_proof(ranges: Sequence[tuple[int, int]], subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """The proof's hashes: ``subtree(a, b)`` for each range."""
    return [subtree(a, b) for a, b in ranges]


# ----------------------------------------------------------------------------- verification (RFC 9162)

def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that the audit path ``proof`` of the leaf hash ``leaf`` at ``index`` leads to
    (RFC 9162 §2.1.3.2); raises ProofError when the path cannot belong to a tree of ``size``."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if len(sibling) != HASH_SIZE:
            raise ProofError("a proof hash is not 32 bytes")
        if sn == 0:
            raise ProofError("the proof is too long for the tree")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is too short for the tree")
    return node


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of
    ``size`` leaves whose head is ``root``."""
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(f"the inclusion proof of leaf {index} does not lead to the tree head of size {size}")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Raise ProofError unless ``proof`` shows the tree of ``old`` leaves (head ``old_root``) is a
    prefix of the tree of ``new`` leaves (head ``new_root``) (RFC 9162 §2.1.4.2)."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from {old} to {new}")
    if old == new:
        if proof or old_root != new_root:
            raise ProofError("equal sizes need an empty proof and equal heads")
        return
    if old == 0:
        if proof:
            raise ProofError("the empty tree needs an empty proof")
        return
    if not proof or any(len(h) != HASH_SIZE for h in proof):
        raise ProofError("the consistency proof is empty or malformed")
    path = list(proof)
    if old & (old - 1) == 0:          # a power of two: the old head is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(node, fr), node_hash(node, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError(f"the tree of size {old} is not a prefix of the tree of size {new} by this proof")
