"""Evidence bundles for a regulator: one subject, a time range or the whole ledger, signed and provable.

The format is the public contract in schemas/evidence.py; `schemas/evidence_verifier.py` checks a bundle
with the public key alone. One pass over the event store writes the events (the exact bytes of
their Kafka records) straight into the ZIP while it builds the Merkle root and notes each exported
subject's chain ends; the proofs, chains, collection proofs, form texts, the signed checkpoint and
the signed manifest follow. Memory never holds whole events: it grows by 44 bytes per exported
event (its id and leaf index) and a few hundred per exported subject (its chain ends, held as
text); a partial bundle, which carries inclusion proofs, also keeps the tree: about 64 bytes per
event of the whole ledger. A page of events (PAGE) is the rest.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from schemas import evidence as spec
from schemas.envelope import canonical_bytes, utc_text
from schemas.merkle import RootBuilder, Tree, leaf_hash
from services.ledger.adapters.forms import FormTexts
from services.ledger.adapters.signing import SigningKey
from services.ledger.application.ledger import Ledger
from services.ledger.application.outbox import stored_envelopes

Progress = Callable[[int], None]
PAGE = 5000
WRITE = 1 << 16  # bytes per write into a ZIP member: a write per line costs more than its deflate
COMPRESSION = 1  # deflate level: hashes hardly compress, the JSON around them does at any level
_GRANTED = "kz.esperance.consent.v1.ConsentGranted"


@dataclass(frozen=True)
class Scope:
    """Which events a bundle holds: one subject's, those recorded in [start, end), or all."""

    subject: UUID | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("the start of the range must come before its end")
        self.bounds  # noqa: B018 - fails here, not mid-bundle, for a moment UTC cannot hold (year 9999 and beyond)

    @cached_property
    def bounds(self) -> tuple[str | None, str | None]:
        """The range's ends as canonical UTC text (None: open)."""
        try:
            return (utc_text(self.start) if self.start else None, utc_text(self.end) if self.end else None)
        except OverflowError:
            raise ValueError("a bound of the range is beyond what UTC time can hold") from None

    @property
    def kind(self) -> str:
        """subject, range or all."""
        if self.subject is not None:
            return "subject"
        return "range" if self.start or self.end else "all"

    def describe(self) -> dict[str, Any]:
        """The scope as the manifest states it."""
        start, end = self.bounds
        return {"kind": self.kind, "subject": str(self.subject) if self.subject else None, "from": start, "to": end}

    def includes(self, envelope: dict[str, Any]) -> bool:
        """Whether the event belongs in the bundle."""
        if self.subject is not None and envelope["subject"] != str(self.subject):
            return False
        start, end = self.bounds
        recorded = envelope["recordedat"]  # canonical UTC text: compares as the moment it names
        return (start is None or recorded >= start) and (end is None or recorded < end)


@dataclass(frozen=True)
class BundleSummary:
    """What a bundle holds."""

    path: Path
    events: int
    subjects: int
    tree_size: int
    bytes: int
    key_id: str


class _Digesting:
    """Writes to a ZIP member while counting its bytes and their SHA-256."""

    def __init__(self, member: IO[bytes]) -> None:
        self.member, self.sha256, self.size = member, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.member.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def entry(self) -> dict[str, Any]:
        return {"sha256": self.sha256.hexdigest(), "bytes": self.size}


@dataclass(slots=True)
class _Chain:
    first_version: int
    last_version: int
    first_prevhash: str | None
    last_hash: str


class _Collected:
    """What the pass over the ledger gathers besides the events it writes."""

    def __init__(self, complete: bool) -> None:
        self.leaves: bytearray | None = None if complete else bytearray()  # every leaf, for the proofs
        self.root = RootBuilder()
        self.last_position = 0
        self.exported = array("q")  # leaf index of each exported event
        self.exported_ids = bytearray()  # and its event id, as 36 ASCII characters
        self.chains: dict[str, _Chain] = {}
        self.forms: set[str] = set()
        self.collection: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by write_bundle

    def leaf(self, envelope: dict[str, Any]) -> int:
        leaf = leaf_hash(envelope["hash"])
        if self.leaves is not None:
            self.leaves += leaf
        self.root.append(leaf)
        self.last_position = envelope["position"]
        return self.root.size - 1

    def export(self, envelope: dict[str, Any], index: int) -> None:
        self.exported.append(index)
        self.exported_ids += envelope["id"].encode("ascii")
        subject, version = envelope["subject"], envelope["subjectversion"]
        chain = self.chains.get(subject)
        if chain is None:
            self.chains[subject] = _Chain(version, version, envelope.get("prevhash"), envelope["hash"])
        else:
            chain.last_version, chain.last_hash = version, envelope["hash"]
        if envelope["type"] == _GRANTED:
            terms = envelope["data"]["terms"]
            self.forms.add(terms["notice"]["text_sha256"])
            self.collection.write(canonical_bytes(spec.collection_line(envelope)) + b"\n")


def ledger_pages(ledger: Ledger, progress: Progress) -> Iterator[list[dict[str, Any]]]:
    """Every stored event in ledger order, as the envelopes published on Kafka, a page at a time."""
    position = 0
    while page := stored_envelopes(ledger, position, PAGE):
        yield page
        position = page[-1]["position"]
        progress(len(page))


def write_bundle(
    ledger: Ledger,
    forms: FormTexts,
    key: SigningKey,
    *,
    scope: Scope,
    path: Path,
    now: datetime,
    progress: Progress = lambda n: None,
) -> BundleSummary:
    """Write the evidence bundle of `scope` to `path` (replaced if it exists) and say what it holds."""
    complete = scope.kind == "all"
    collected = _Collected(complete)
    files: dict[str, dict[str, Any]] = {}
    partial = path.with_name(path.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=COMPRESSION) as bundle:
            files[spec.EVENTS] = _write_events(bundle, ledger, scope, collected, progress)
            checkpoint = key.checkpoint(collected.root.size, collected.root.root(), collected.last_position, now)
            files[spec.PROOFS] = _write(bundle, spec.PROOFS, _proof_lines(collected))
            files[spec.CHAINS] = _write(bundle, spec.CHAINS, _chain_lines(collected))
            collected.collection.seek(0)
            files[spec.COLLECTION] = _write(bundle, spec.COLLECTION, iter(collected.collection))
            texts = forms.texts(collected.forms)
            for digest, text in texts.items():
                member_name = spec.form_member(digest)
                files[member_name] = _write(bundle, member_name, iter([text.encode()]))
            files[spec.CHECKPOINT] = _write(bundle, spec.CHECKPOINT, iter([canonical_bytes(checkpoint)]))
            manifest = canonical_bytes(
                {
                    "format": spec.FORMAT,
                    "log": spec.LOG_ID,
                    "created_at": utc_text(now),
                    "scope": scope.describe(),
                    "events": len(collected.exported),
                    "subjects": len(collected.chains),
                    "complete": complete,
                    "forms_missing": sorted(collected.forms - texts.keys()),
                    "key_id": key.key_id,
                    "files": files,
                }
            )
            bundle.writestr(spec.MANIFEST, manifest)
            bundle.writestr(spec.MANIFEST_SIGNATURE, key.sign(spec.manifest_message(manifest)))
        partial.replace(path)
    finally:
        collected.collection.close()
        partial.unlink(missing_ok=True)
    return BundleSummary(
        path, len(collected.exported), len(collected.chains), collected.root.size, path.stat().st_size, key.key_id
    )


def _write_events(
    bundle: zipfile.ZipFile, ledger: Ledger, scope: Scope, collected: _Collected, progress: Progress
) -> dict[str, Any]:
    """Every stored event into the tree, the events of `scope` into the bundle; the member's entry."""
    with bundle.open(spec.EVENTS, "w", force_zip64=True) as member:
        events = _Digesting(member)
        for page in ledger_pages(ledger, progress):
            lines = []
            for envelope in page:
                index = collected.leaf(envelope)
                if scope.includes(envelope):
                    lines.append(canonical_bytes(envelope))
                    collected.export(envelope, index)
            if lines:
                events.write(b"\n".join(lines) + b"\n")
        return events.entry()


def _write(bundle: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> dict[str, Any]:
    """Write the chunks (lines, mostly) into the member, joined into writes of about WRITE bytes; its entry."""
    with bundle.open(name, "w", force_zip64=True) as member:
        out, pending, size = _Digesting(member), [], 0
        for chunk in chunks:
            pending.append(chunk)
            size += len(chunk)
            if size >= WRITE:
                out.write(b"".join(pending))
                pending, size = [], 0
        out.write(b"".join(pending))
        return out.entry()


def _proof_lines(collected: _Collected) -> Iterator[bytes]:
    if collected.leaves is None:  # a complete bundle needs no proofs: the canonical line spelled out
        ids = collected.exported_ids  # 36 ASCII characters of a UUID each: nothing to escape
        for number, index in enumerate(collected.exported):
            yield b'{"id":"%s","leaf_index":%d,"proof":[]}\n' % (ids[number * 36 : number * 36 + 36], index)
        return
    tree = Tree(collected.leaves)
    for number, index in enumerate(collected.exported):
        event_id = collected.exported_ids[number * 36 : number * 36 + 36].decode("ascii")
        proof = [node.hex() for node in tree.proof(index)]
        yield canonical_bytes({"id": event_id, "leaf_index": index, "proof": proof}) + b"\n"


def _chain_lines(collected: _Collected) -> Iterator[bytes]:
    for subject in sorted(collected.chains):
        chain = collected.chains[subject]
        yield (
            canonical_bytes(
                {
                    "subject": subject,
                    "first_version": chain.first_version,
                    "last_version": chain.last_version,
                    "first_prevhash": chain.first_prevhash,
                    "last_hash": chain.last_hash,
                }
            )
            + b"\n"
        )
