"""The evidence verifier's check f: collection.ndjson holds, in order, each ConsentGranted's collection.

Part of the offline verifier (schemas.evidence_verifier), fed by schemas.evidence_events as the events go by.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from schemas.envelope import canonical_bytes
from schemas.evidence import COLLECTION, EVENTS
from schemas.evidence_zip import Problem, json_document, shown, text


class Collection:
    """Check f as the events go by: collection.ndjson's next line for each ConsentGranted.

    Read alongside the events, so that they are read once; its first problem waits for its turn,
    after chains.ndjson and the manifest's counts. A line that is, byte for byte, the canonical JSON
    of the line expected is that line; any other is parsed and compared field by field.
    """

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines, self._granted = enumerate(lines, 1), 0
        self._problem: str | None = None

    def granted(self, event_id: str, expected: dict[str, Any]) -> None:
        """The next line must be `expected`, copied from this ConsentGranted."""
        self._granted += 1
        if self._problem is None:
            try:
                numbered = next(self._lines, None)
                if numbered is not None and numbered[1] == _canonical(expected):
                    return
                item = None if numbered is None else (numbered[0], json_document(numbered[1], COLLECTION, numbered[0]))
            except Problem as problem:  # unreadable: its turn comes later too
                self._problem = str(problem)
                return
            if item is None or item[1] != expected:
                self._problem = self._compare(event_id, item, expected)

    def check_end(self) -> None:
        """The first problem, if any; else no line may be left over."""
        if self._problem is not None:
            raise Problem(self._problem)
        extra = next(self._lines, None)
        if extra is not None:
            json_document(extra[1], COLLECTION, extra[0])  # an unreadable line is named as such
            raise Problem(
                f"{COLLECTION} line {extra[0]}: there are only {self._granted} ConsentGranted events in {EVENTS}"
            )

    def _compare(self, event_id: str, item: tuple[int, dict[str, Any]] | None, expected: dict[str, Any]) -> str:
        if item is None:
            return (
                f"{COLLECTION}: has {self._granted - 1} lines, but event {event_id} is ConsentGranted number "
                f"{self._granted}: one line per ConsentGranted expected"
            )
        where, record = f"{COLLECTION} line {item[0]} (event {event_id})", item[1]
        if record.keys() != expected.keys():
            return f"{where}: fields are {sorted(record)}, expected {sorted(expected)}"
        key = next(key for key, value in expected.items() if record[key] != value)
        return f"{where}: {key} is {shown(record, key)}, but the event says {text(expected[key])}"


def _canonical(expected: dict[str, Any]) -> bytes | None:
    """The canonical JSON of the line expected; None when it has none (an integer JSON allows, 64 bits do not)."""
    try:
        return canonical_bytes(expected)
    except orjson.JSONEncodeError:
        return None
