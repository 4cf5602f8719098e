"""Merkle trees over ledger positions: a regulator proves an exported event is in a signed checkpoint."""

from __future__ import annotations

import hashlib

import pytest

from schemas.merkle import RootBuilder, Tree, inclusion_proof, leaf_hash, root, verify_inclusion


def hashes(n: int) -> list[str]:
    return [hashlib.sha256(f"event-{i}".encode()).hexdigest() for i in range(n)]


def test_the_root_follows_rfc_6962_for_small_trees() -> None:
    a, b, c = (leaf_hash(h) for h in hashes(3))
    node = lambda left, right: hashlib.sha256(b"\x01" + left + right).digest()  # noqa: E731

    assert root([]) == hashlib.sha256(b"").digest()
    assert root([a]) == a
    assert root([a, b]) == node(a, b)
    assert root([a, b, c]) == node(node(a, b), c)  # the left subtree is the largest power of two


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 100])
def test_every_event_of_a_checkpoint_has_a_proof_that_verifies(size: int) -> None:
    leaves = [leaf_hash(h) for h in hashes(size)]
    head = root(leaves)

    for index, leaf in enumerate(leaves):
        assert verify_inclusion(leaf, index, size, inclusion_proof(leaves, index), head), index


def test_a_proof_fails_for_an_altered_event_a_wrong_position_or_another_checkpoint() -> None:
    leaves = [leaf_hash(h) for h in hashes(13)]
    head, proof = root(leaves), inclusion_proof(leaves, 6)
    altered = leaf_hash(hashlib.sha256(b"altered").hexdigest())

    assert verify_inclusion(leaves[6], 6, 13, proof, head)
    assert not verify_inclusion(altered, 6, 13, proof, head)
    assert not verify_inclusion(leaves[6], 7, 13, proof, head)
    assert not verify_inclusion(leaves[6], 6, 13, proof, root(leaves[:12]))
    assert not verify_inclusion(leaves[6], 6, 13, proof[:-1], head)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 7, 8, 13, 64, 100, 1025])
def test_the_flat_tree_and_the_streaming_builder_agree_with_the_recursive_definition(size: int) -> None:
    leaves = [leaf_hash(h) for h in hashes(size)]
    tree, builder = Tree(b"".join(leaves)), RootBuilder()
    for leaf in leaves:
        builder.append(leaf)

    assert tree.root() == builder.root() == root(leaves)
    for index in sorted({0, size // 2, size - 1}) if size else []:
        assert tree.proof(index) == inclusion_proof(leaves, index)
        assert verify_inclusion(leaves[index], index, size, tree.proof(index), tree.root())
