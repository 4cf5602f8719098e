"""The evidence verifier's check c, run once per event: events.ndjson and proofs.ndjson side by side.

Part of the offline verifier (schemas.evidence_verifier). This is its hot path, so the common case
runs straight through: an event is parsed once, its fields taken as they are, and only when one is
missing, of the wrong type or does not add up are the messages' `where` built and the fields looked
at one by one, in the order the messages come in. What it keeps is one entry per subject (its last
hash as 32 raw bytes) and one per referenced form, so memory stays flat in the number of events.

An altered event, events out of order, an event outside the manifest's scope and a broken link are
reported at once. A gap in a subject's versions, then a proof line that does not fit its event, are
held until the events end, as a later line may explain them better: a dropped event then shows as
its subject's missing version, not as the leaf it leaves empty or the proof line left over, and two
events swapped as out of order.

The proof lines are checked against the checkpoint's tree by schemas.evidence_leaves, and
collection.ndjson alongside the events (check f) by schemas.evidence_collection; `Head` and
`Collection` stay importable from here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, NoReturn

import orjson

from schemas.envelope import NOT_HASHED, event_hash, event_type
from schemas.evidence import EVENTS, PROOFS, collection_line
from schemas.evidence_collection import Collection
from schemas.evidence_leaves import Head, Leaves
from schemas.evidence_zip import Problem, get, hex_digest, json_object, shown

__all__ = [
    "CONSENT_GRANTED",
    "PERSONAL_DATA_ERASED",
    "PROGRESS_EVERY",
    "UTC_TEXT",
    "Bounds",
    "Chain",
    "Collection",
    "Events",
    "Head",
]

PROGRESS_EVERY = 1000  # events checked between two calls of `progress`
CONSENT_GRANTED = event_type("ConsentGranted")
PERSONAL_DATA_ERASED = event_type("PersonalDataErased")
UTC_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")  # as utc_text writes it
if {"hash", "position"} != NOT_HASHED:  # Events.check takes exactly these out of an event to hash it
    raise ImportError("schemas.envelope leaves other fields out of an event's hash than the verifier expects")


@dataclass(frozen=True)
class Bounds:
    """What the manifest's scope asks of every event."""

    subject: str | None  # every event's subject, when set
    start: str | None  # every event recorded at or after (canonical UTC text), when set
    end: str | None  # and before, when set
    from_version_1: bool  # every subject's chain starts at version 1


@dataclass(slots=True)
class Chain:
    """What the events showed of one subject: the one entry kept per subject."""

    first_version: int
    first_prevhash: Any  # as its first event in the bundle has it (null for version 1)
    last_version: int
    last_hash: bytes  # 32 raw bytes
    erased: bool = False


class Events:
    """Check c, one line of events.ndjson and its line of proofs.ndjson at a time."""

    def __init__(
        self, head: Head, complete: bool, bounds: Bounds, collection: Collection, progress: Callable[[int], None]
    ) -> None:
        self.count = 0  # events checked
        self.chains: dict[str, Chain] = {}
        self.forms: dict[str, str] = {}  # text_sha256 -> the first ConsentGranted referencing it
        self._bounds, self._leaves = bounds, Leaves(head, complete)
        self._check_leaf = self._leaves.check  # bound once: it runs for every event
        self._scoped = bounds.subject is not None or bounds.start is not None or bounds.end is not None
        self._collection, self._progress = collection, progress
        self._position = 0  # of the previous line
        self._gap: str | None = None  # the first gap in a subject's versions
        self._unproven: str | None = None  # the first event its proof line does not show in the checkpoint's tree

    def run(self, lines: Iterator[bytes], proofs: Iterator[bytes]) -> None:
        """c. Every event is intact, in order, in scope, chained to its subject's previous one and in the tree."""
        check, progress, checked = self.check, self._progress, 0
        try:
            for line, proof in zip_longest(lines, proofs):
                if line is None or proof is None:
                    self._hold(
                        f"{EVENTS} has {checked + (line is not None) + sum(1 for _ in lines)} lines, {PROOFS} "
                        f"{checked + (proof is not None) + sum(1 for _ in proofs)}: one proof line per event expected"
                    )
                    break
                check(checked + 1, line, proof)
                checked += 1
                if not checked % PROGRESS_EVERY:
                    progress(PROGRESS_EVERY)
        finally:
            self.count = checked
        self._check_end()
        if self.count % PROGRESS_EVERY:
            self._progress(self.count % PROGRESS_EVERY)

    def check(self, number: int, line: bytes, proof_line: bytes) -> None:
        """One event line and its proof line."""
        try:
            event = orjson.loads(line)
            event_id, kind, subject = event["id"], event["type"], event["subject"]
            version, position, stated = event["subjectversion"], event["position"], event["hash"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self._malformed(number, line)
        if not (type(event_id) is type(kind) is type(subject) is str and type(version) is type(position) is int):
            self._malformed(number, line)
        del event["hash"], event["position"]  # NOT_HASHED: the hash covers the rest
        digest = hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).digest()
        event["hash"], event["position"] = stated, position
        if stated != digest.hex():
            _altered(_where(number, event), event, digest.hex())
        if position <= self._position:  # the first line's previous is 0: positions start at 1
            raise Problem(
                f"{_where(number, event)}: position {position} follows position {self._position}: "
                "events are out of order"
            )
        if self._scoped:
            self._check_scope(number, event)
        chain = self.chains.get(subject)
        if chain is None:
            chain = self._first(number, event, digest)
        elif version == chain.last_version + 1 and event.get("prevhash") == chain.last_hash.hex():
            chain.last_version, chain.last_hash = version, digest
        else:
            self._link(number, event, chain, digest)
        if kind == PERSONAL_DATA_ERASED:
            chain.erased = True
        elif kind == CONSENT_GRANTED:
            self._granted(number, event)
        unproven = self._check_leaf(number, event_id, stated, position, proof_line)
        if unproven is not None:
            self._hold(unproven)
        self._position = position

    def _hold(self, problem: str | None) -> None:
        """Keep the first problem of the proof lines for the end of the events."""
        if self._unproven is None:
            self._unproven = problem

    def _check_end(self) -> None:
        """What was held, then whether a complete bundle's events make up the checkpoint's whole tree."""
        if self._gap or self._unproven:
            raise Problem(self._gap or self._unproven)
        self._leaves.check_end()

    def _malformed(self, number: int, line: bytes) -> NoReturn:
        """The first of the event's fields found missing or of the wrong type, as a problem."""
        event = json_object(line, EVENTS, number)
        where = f"{EVENTS} line {number}"
        where = f"{where} (event {get(event, 'id', str, where)})"
        for key, kind in (("type", str), ("subject", str), ("subjectversion", int)):
            get(event, key, kind, where)
        recomputed = event_hash(event)
        if event.get("hash") != recomputed:
            _altered(where, event, recomputed)
        get(event, "position", int, where)
        raise Problem(f"{where}: not an event as {EVENTS} holds them")  # not reached: the fast path took it

    def _check_scope(self, number: int, event: dict[str, Any]) -> None:
        bounds = self._bounds
        if bounds.subject is not None and event["subject"] != bounds.subject:
            raise Problem(
                f"{_where(number, event)}: subject {event['subject']}, but the bundle's scope is subject "
                f"{bounds.subject}"
            )
        if bounds.start is None and bounds.end is None:
            return
        recorded = event.get("recordedat")
        if not isinstance(recorded, str) or not UTC_TEXT.fullmatch(recorded):
            raise Problem(f"{_where(number, event)}: recordedat is {shown(event, 'recordedat')}, expected UTC text")
        if bounds.start is not None and recorded < bounds.start:
            raise Problem(f"{_where(number, event)}: recordedat {recorded} is before the scope's from {bounds.start}")
        if bounds.end is not None and recorded >= bounds.end:
            raise Problem(f"{_where(number, event)}: recordedat {recorded} is not before the scope's to {bounds.end}")

    def _first(self, number: int, event: dict[str, Any], digest: bytes) -> Chain:
        """The subject's first event in the bundle."""
        subject, version, prevhash = event["subject"], event["subjectversion"], event.get("prevhash")
        if version < 1 or (self._bounds.from_version_1 and version != 1):
            raise Problem(f"{_where(number, event)}: subject {subject} starts at version {version}, expected version 1")
        if (version == 1) != (prevhash is None):
            expected = "none" if version == 1 else "the hash of its previous version"
            raise Problem(
                f"{_where(number, event)}: subject {subject} version {version} has prevhash "
                f"{shown(event, 'prevhash')}, expected {expected}"
            )
        chain = self.chains[subject] = Chain(version, prevhash, version, digest)
        return chain

    def _link(self, number: int, event: dict[str, Any], chain: Chain, digest: bytes) -> None:
        """A later event of the subject, not the next version linking to the last: out of order, a gap or a break."""
        subject, version, last = event["subject"], event["subjectversion"], chain.last_version
        where = _where(number, event)
        if version <= last:
            raise Problem(f"{where}: subject {subject} version {version} follows version {last}: out of order")
        if version > last + 1:  # its prevhash cannot link to the version we have: nothing more to check
            missing = version - last - 1
            versions = f"version {last + 1}" if missing == 1 else f"versions {last + 1} to {version - 1}"
            gap = f"{missing} event{'s' if missing > 1 else ''} missing ({versions})"
            self._gap = self._gap or f"{where}: subject {subject} version {version} follows version {last}: {gap}"
        else:
            raise Problem(
                f"{where}: prevhash is {shown(event, 'prevhash')}, but subject {subject} version {last} "
                f"has hash {chain.last_hash.hex()}"
            )
        chain.last_version, chain.last_hash = version, digest

    def _granted(self, number: int, event: dict[str, Any]) -> None:
        """A ConsentGranted: its form is noted, and its collection.ndjson line checked."""
        try:
            terms = event["data"]["terms"]
            notice, collection, form = terms["notice"], terms["collection"], terms["notice"]["text_sha256"]
        except (KeyError, TypeError):
            self._malformed_consent(number, event)
        if type(collection) is not dict or type(form) is not str:
            self._malformed_consent(number, event)
        if form not in self.forms:
            self.forms[hex_digest(notice, "text_sha256", f"{_where(number, event)} data.terms.notice")] = event["id"]
        self._collection.granted(event["id"], collection_line(event))

    def _malformed_consent(self, number: int, event: dict[str, Any]) -> NoReturn:
        """The first of a ConsentGranted's terms found missing or of the wrong type, as a problem."""
        where = _where(number, event)
        terms = get(get(event, "data", dict, where), "terms", dict, f"{where} data")
        hex_digest(get(terms, "notice", dict, f"{where} data.terms"), "text_sha256", f"{where} data.terms.notice")
        get(terms, "collection", dict, f"{where} data.terms")
        raise Problem(f"{where}: not a ConsentGranted as {EVENTS} holds them")  # not reached


def _where(number: int, event: dict[str, Any]) -> str:
    return f"{EVENTS} line {number} (event {event['id']})"


def _altered(where: str, event: dict[str, Any], recomputed: str) -> NoReturn:
    raise Problem(f"{where}: hash is {shown(event, 'hash')}, but the event's content hashes to {recomputed}")
