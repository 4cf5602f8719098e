"""The evidence verifier's part of check c that reads proofs.ndjson: each event's leaf in the checkpoint's tree.

Part of the offline verifier (schemas.evidence_verifier), run by schemas.evidence_events once per
event. In a complete bundle the leaves are every leaf of the tree, in order, and their Merkle root
must be the checkpoint's; in a scoped one each proof line carries the inclusion proof of its leaf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from schemas.evidence import EVENTS, PROOFS
from schemas.evidence_zip import Problem, get, hex_digest, json_object, shown
from schemas.merkle import RootBuilder, leaf_hash, verify_inclusion


@dataclass(frozen=True)
class Head:
    """The signed checkpoint, as the events are checked against it."""

    tree_size: int
    root: bytes
    last_position: int


class Leaves:
    """The proof lines, one per event, against the checkpoint's tree; in a complete bundle, its whole tree."""

    def __init__(self, head: Head, complete: bool) -> None:
        self._head, self._complete = head, complete
        self._root = RootBuilder()
        self._leaf = -1  # of the previous line

    def check(self, number: int, event_id: str, stated: str, position: int, line: bytes) -> str | None:
        """The proof line names the event; what keeps it from showing in the checkpoint's tree, if anything.

        In a complete bundle a line that is, byte for byte, the canonical JSON of the line expected (the
        event's id, the next leaf index, no proof) says exactly that, so it is not parsed again; any other
        line is parsed and looked at field by field.
        """
        if self._complete and line == orjson.dumps({"id": event_id, "leaf_index": number - 1, "proof": []}):
            at, previous, self._leaf = number - 1, self._leaf, number - 1  # the keys above are in canonical order
            return self._placed(number, event_id, position, at, leaf=leaf_hash(stated), previous=previous, path=[])
        try:
            proof = orjson.loads(line)
            index, path = proof["leaf_index"], proof["proof"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            proof, index, path = json_object(line, PROOFS, number), None, None
        if proof.get("id") != event_id:
            return f"{PROOFS} line {number} (event {event_id}): id is {shown(proof, 'id')}, expected the event's id"
        if type(index) is not int or type(path) is not list:
            where = f"{PROOFS} line {number} (event {event_id})"
            index, path = get(proof, "leaf_index", int, where), get(proof, "proof", list, where)
        if path:
            where = f"{PROOFS} line {number} (event {event_id})"
            path = [bytes.fromhex(hex_digest({"proof": node}, "proof", where)) for node in path]
        previous, self._leaf = self._leaf, index
        return self._placed(number, event_id, position, index, leaf=leaf_hash(stated), previous=previous, path=path)

    def check_end(self) -> None:
        """In a complete bundle, the leaves seen must make up the checkpoint's whole tree."""
        size, root = self._head.tree_size, self._head.root
        if self._complete and self._root.size != size:
            raise Problem(
                f"{EVENTS}: {self._root.size} events, but the bundle is complete and the checkpoint's "
                f"tree has {size} leaves"
            )
        if self._complete and self._root.root() != root:
            raise Problem(
                f"{EVENTS}: the events' Merkle root is {self._root.root().hex()}, the checkpoint's {root.hex()}"
            )

    def _placed(
        self, number: int, event_id: str, position: int, index: int, *, leaf: bytes, previous: int, path: list[Any]
    ) -> str | None:
        """The leaf at `index` is where the bundle and the checkpoint put it; what keeps it from there, if anything."""
        size = self._head.tree_size
        if self._complete:
            if path:
                raise Problem(
                    f"{PROOFS} line {number} (event {event_id}): proof has {len(path)} hashes, expected none in a "
                    "complete bundle"
                )
            self._root.append(leaf)
            if index != number - 1:
                return (
                    f"{PROOFS} line {number} (event {event_id}): leaf_index {index}, expected {number - 1}: "
                    "a complete bundle holds every leaf, in order"
                )
        if index <= previous or index >= size:
            return _misplaced_leaf(f"{PROOFS} line {number} (event {event_id})", index, previous, size)
        if not self._complete and not verify_inclusion(leaf, index, size, path, self._head.root):
            return (
                f"{PROOFS} line {number} (event {event_id}): the inclusion proof does not lead from the event's "
                f"leaf {index} to the checkpoint's root {self._head.root.hex()} (tree of {size} leaves)"
            )
        last = self._head.last_position
        if (index == size - 1) != (position == last) or position > last:
            return (
                f"{EVENTS} line {number} (event {event_id}): position {position} at leaf {index}, "
                f"but the checkpoint's last leaf {size - 1} is at position {last}"
            )
        return None


def _misplaced_leaf(where: str, index: int, previous: int, size: int) -> str:
    if index <= previous:
        return f"{where}: leaf_index {index} follows leaf_index {previous}: leaf indexes must ascend"
    return f"{where}: leaf_index {index} is not in the checkpoint's tree of {size} leaves"
