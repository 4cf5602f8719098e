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


def _node(left: bytes | bytearray, right: bytes | bytearray) -> bytes:
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


class RootBuilder:
    """The root of a tree whose leaves arrive one by one, in O(log n) memory (for very long logs).

    It keeps the roots of the perfect subtrees the leaves so far decompose into; RFC 6962's tree
    is exactly those subtrees joined from the right.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (size, root) of each perfect subtree, largest first
        self.size = 0

    def append(self, leaf: bytes) -> None:
        """Add the next leaf."""
        size, node = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left = self._stack.pop()[1]
            size, node = size * 2, _node(left, node)
        self._stack.append((size, node))
        self.size += 1

    def root(self) -> bytes:
        """The root of the leaves appended so far."""
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = _node(left, node)
        return node


class Tree:
    """Every level of a tree, 32 bytes a node in flat byte arrays (about 64 bytes per leaf in all).

    Built once over a whole log, it gives the root and any leaf's inclusion proof in O(log n): a lone
    last node of a level is carried up unchanged, which yields RFC 6962's tree.
    """

    def __init__(self, leaves: bytes | bytearray) -> None:
        if len(leaves) % 32:
            raise ValueError("leaves are 32-byte hashes laid end to end")
        self.size = len(leaves) // 32
        self._levels: list[bytes | bytearray] = [leaves]  # kept, not copied: the caller hands it over
        while len(self._levels[-1]) > 32:
            below, above = self._levels[-1], bytearray()
            for start in range(0, len(below) - 32, 64):
                above += _node(below[start : start + 32], below[start + 32 : start + 64])
            if (len(below) // 32) % 2:
                above += below[-32:]
            self._levels.append(above)

    def root(self) -> bytes:
        """The tree's root (SHA-256 of nothing for an empty tree)."""
        return bytes(self._levels[-1]) if self.size else hashlib.sha256(b"").digest()

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf `index`, bottom up, as verify_inclusion takes it."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is not in a tree of {self.size}")
        path = []
        for level in self._levels[:-1]:
            sibling = index ^ 1
            if sibling * 32 < len(level):
                path.append(bytes(level[sibling * 32 : sibling * 32 + 32]))
            index >>= 1
        return path
