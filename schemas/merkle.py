"""Merkle trees over ledger positions, as Certificate Transparency builds them (RFC 6962, section 2.1).

The leaf for the event at position p is the SHA-256 of 0x00 || its hash (hex text as ASCII); an
inner node is the SHA-256 of 0x01 || left || right. A signed checkpoint commits to the root of the
first n events; an inclusion proof shows one event is among them. Anyone can check both with this
module alone (it is part of the public contract and imports nothing else of the project).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(event_hash: str) -> bytes:
    """The tree's leaf for one event (its envelope `hash`)."""
    return hashlib.sha256(b"\x00" + event_hash.encode("ascii")).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of the leaves (SHA-256 of nothing for an empty tree)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `leaves` (RFC 6962 PATH)."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """True if `proof` shows `leaf` at `index` in the tree of `size` leaves whose root is `expected_root`."""
    if not 0 <= index < size:
        return False
    node, fn, sn = leaf, index, size - 1
    for sibling in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            node = _node(sibling, node)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = _node(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and node == expected_root
