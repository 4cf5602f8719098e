"""A test-only writer of evidence bundles exactly as schemas.evidence specifies, from synthetic envelopes.

Three synthetic subjects (no real person's data): one who consented on the tablet and kept going, one
who consented on a form the ledger no longer holds, and one who withdrew and was erased, whose `pii`
is ciphertext nobody can read any more. Bundles are complete (every leaf), or one subject's and/or
a range's with inclusion proofs, and can be taken apart and rewritten the way an attacker would; the
ZIP itself can be written by zipfile (seeking or streaming) or byte by byte, gaps included.
"""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.envelope import canonical_bytes, data_schema, event_hash, event_type
from schemas.evidence import (
    CHAINS,
    CHECKPOINT,
    COLLECTION,
    EVENTS,
    FORMAT,
    LOG_ID,
    MANIFEST,
    MANIFEST_SIGNATURE,
    PROOFS,
    b64,
    checkpoint_message,
    form_member,
    key_id,
    manifest_message,
)
from schemas.merkle import Tree, leaf_hash

KEPT_ON = "00000000-0000-4000-8000-0000000000a1"  # four events: granted, opted out, card linked, opted in
LOST_FORM = "00000000-0000-4000-8000-0000000000b2"  # consented on a form text the ledger does not hold
ERASED = "00000000-0000-4000-8000-0000000000e3"  # granted, withdrew, erased
FORM_TEXT = b"Synthetic consent form 3 (test text only): I agree to the loyalty programme's processing.\n"
FORM_SHA256 = hashlib.sha256(FORM_TEXT).hexdigest()
LOST_FORM_SHA256 = hashlib.sha256(b"a synthetic form text the ledger never kept").hexdigest()
NOW = "2026-06-30T12:00:00.000000Z"


def signing_key(name: str) -> Ed25519PrivateKey:
    """A deterministic test key (never a real one)."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


def _granted(form_sha256: str, consultant: str | None) -> dict[str, Any]:
    """ConsentGranted's data: on a consultant's tablet with SMS proof, or (no consultant) by a web checkbox."""
    method, proof = (
        ("tablet_sms", {"sms_verification_id": f"sms-{consultant}"})
        if consultant
        else ("web_checkbox", {"checkbox_form_version": "3"})
    )
    terms = {
        "controller": {"name": "ESPERANCE-RK LLP", "bin": "220240037922"},
        "notice": {"form_id": "loyalty-consent", "form_version": "3", "text_sha256": form_sha256, "language": "kk"},
        "purposes": ["loyalty"],
        "categories": ["contacts", "name"],
        "collection": {"method": method, "proof": proof, "consultant_id": consultant, "store_id": "store-test-01"},
        "marketing_channels": [],
        "third_party_transfer": False,
        "recipients": [],
        "cross_border_countries": [],
        "valid_until": None,
        "representative": None,
        "jurisdiction": "KZ",
        "law": "synthetic test law",
        "extra": {},
    }
    return {"terms": terms}


def _event_id(position: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic-event-{position}"))


_WITHDRAWN = {"consent_id": _event_id(101), "withdrawal_request_id": _event_id(102), "effective_on": "2026-06-08"}
_HISTORY: tuple[tuple[int, str, str, dict[str, Any]], ...] = (  # position, subject, event, data: ledger order
    (100, KEPT_ON, "ConsentGranted", _granted(FORM_SHA256, "c-017")),
    (101, ERASED, "ConsentGranted", _granted(FORM_SHA256, None)),
    (103, KEPT_ON, "MarketingOptedOut", {"channels": ["sms"]}),  # positions may have gaps
    (104, LOST_FORM, "ConsentGranted", _granted(LOST_FORM_SHA256, "c-018")),
    (105, KEPT_ON, "LoyaltyCardLinked", {"card_ref": "card-test-1"}),
    (106, ERASED, "ConsentWithdrawn", _WITHDRAWN),
    (107, ERASED, "PersonalDataErased", {"ground": "consent_withdrawn", "requested_by": "subject"}),
    (109, KEPT_ON, "MarketingOptedIn", {"channels": ["sms"]}),
    (110, LOST_FORM, "MarketingOptedOut", {"channels": ["email"]}),
)


@cache
def synthetic_ledger() -> tuple[dict[str, Any], ...]:
    """The ledger's envelopes in position order, each chained to its subject's previous one."""
    last: dict[str, tuple[int, str]] = {}
    envelopes = []
    for position, subject, name, data in _HISTORY:
        version, prevhash = last.get(subject, (0, None))
        envelope: dict[str, Any] = {
            "specversion": "1.0",
            "id": _event_id(position),
            "source": LOG_ID,
            "type": event_type(name),
            "subject": subject,
            "time": f"2026-06-{position - 99:02d}T05:00:00.000000Z",
            "datacontenttype": "application/json",
            "dataschema": data_schema(name),
            "data": data,
            "subjectversion": version + 1,
            "recordedat": f"2026-06-{position - 99:02d}T05:00:01.000000Z",
            "actor": "system:test",
            "commandid": f"cmd-{position}",
        }
        if subject == ERASED and name != "PersonalDataErased":
            envelope["pii"] = "pii.v1." + b64(hashlib.sha512(f"ciphertext-{position}".encode()).digest())
        if prevhash is not None:
            envelope["prevhash"] = prevhash
        envelope["hash"] = event_hash(envelope)
        envelope["position"] = position
        last[subject] = (version + 1, envelope["hash"])
        envelopes.append(envelope)
    return tuple(envelopes)


def ids(subject: str) -> list[str]:
    """The subject's event ids, in version order."""
    return [envelope["id"] for envelope in synthetic_ledger() if envelope["subject"] == subject]


@dataclass(frozen=True)
class _Exported:
    envelope: dict[str, Any]
    leaf_index: int


def bundle_members(
    key: Ed25519PrivateKey, subject: str | None = None, start: str | None = None, end: str | None = None
) -> dict[str, bytes]:
    """Every member of the bundle of `subject` and/or of the events recorded in [start, end), as the spec lays
    them out (all events, complete, when all are None)."""
    ledger = synthetic_ledger()
    tree = Tree(b"".join(leaf_hash(envelope["hash"]) for envelope in ledger))
    exported = [_Exported(e, i) for i, e in enumerate(ledger) if _in_scope(e, subject, start, end)]
    complete = (subject, start, end) == (None, None, None)
    kind = "all" if complete else "subject" if subject else "range"
    granted = [x.envelope for x in exported if x.envelope["type"] == event_type("ConsentGranted")]
    referenced = {e["data"]["terms"]["notice"]["text_sha256"] for e in granted}
    members = {
        EVENTS: _ndjson(x.envelope for x in exported),
        PROOFS: _ndjson(
            {"id": x.envelope["id"], "leaf_index": x.leaf_index, "proof": [] if complete else _hex(tree, x)}
            for x in exported
        ),
        CHAINS: _ndjson(_chains(x.envelope for x in exported)),
        COLLECTION: _ndjson(_collection(e) for e in granted),
        CHECKPOINT: canonical_bytes(_checkpoint(key, tree, ledger[-1]["position"])),
    }
    if FORM_SHA256 in referenced:
        members[form_member(FORM_SHA256)] = FORM_TEXT
    manifest = {
        "format": FORMAT,
        "log": LOG_ID,
        "created_at": NOW,
        "scope": {"kind": kind, "subject": subject, "from": start, "to": end},
        "complete": complete,
        "forms_missing": sorted(referenced - {FORM_SHA256}),
        "key_id": key_id(key.public_key()),
    }
    return seal(members, manifest, key)


def seal(members: Mapping[str, bytes], manifest: Mapping[str, Any], key: Ed25519PrivateKey | None) -> dict[str, bytes]:
    """`members` with a manifest stating their counts and digests, signed by `key` (None: keep the old signature)."""
    files = {name: data for name, data in members.items() if name not in (MANIFEST, MANIFEST_SIGNATURE)}
    stated = canonical_bytes(
        {
            **manifest,
            "events": files[EVENTS].count(b"\n"),
            "subjects": files[CHAINS].count(b"\n"),
            "files": {
                name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files.items()
            },
        }
    )
    signature = b64(key.sign(manifest_message(stated))).encode() if key else members[MANIFEST_SIGNATURE]
    return {MANIFEST: stated, MANIFEST_SIGNATURE: signature, **files}


def reseal(members: Mapping[str, bytes], key: Ed25519PrivateKey | None = None, **changes: Any) -> dict[str, bytes]:
    """The manifest rewritten to fit the (altered) members, with `changes` to its fields: re-signed by `key`, or
    keeping its old signature."""
    return seal(members, {**orjson.loads(members[MANIFEST]), **changes}, key)


def write_bundle(
    path: Path, key: Ed25519PrivateKey, subject: str | None = None, start: str | None = None, end: str | None = None
) -> Path:
    """A valid bundle of `subject` and/or [start, end) (or complete) at `path`, signed by `key`."""
    return write_zip(path, bundle_members(key, subject, start, end))


def write_zip(path: Path, members: Mapping[str, bytes]) -> Path:
    """The members as a deflated ZIP at `path`."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def streamed_zip(members: Mapping[str, bytes], zip64: bool) -> bytes:
    """The members as zipfile writes them to a stream it cannot seek back in: each followed by a data descriptor
    (signature, CRC and sizes, 16 bytes or 24 with ZIP64), as the ledger's writer would on such a stream."""
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            with archive.open(name, "w", force_zip64=zip64) as member:
                member.write(data)
    return bytes(stream.data)


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.data += data
        return len(data)


def hand_made_zip(
    members: Mapping[str, bytes],
    *,
    descriptor: str | None = None,
    zip64: bool = False,
    gaps: Mapping[int, bytes] | None = None,
) -> bytes:
    """The members as a deflated ZIP written byte by byte: `descriptor` "signed" or "unsigned" follows each member
    with a data descriptor (with or without its optional signature), `zip64` gives local headers ZIP64 sizes
    (and descriptors 8-byte ones), and `gaps[i]` is slipped in before member i (len(members): before the central
    directory), every offset recorded where things end up."""
    out, central, gaps = bytearray(), bytearray(), gaps or {}
    flags = 0x800 | (0x08 if descriptor else 0)  # UTF-8 names; CRC and sizes in a data descriptor
    for number, (name, data) in enumerate(members.items()):
        out += gaps.get(number, b"")
        deflate = zlib.compressobj(wbits=-15)
        packed, crc, raw = deflate.compress(data) + deflate.flush(), zlib.crc32(data), name.encode()
        local = (0, 0, 0) if descriptor else (crc, len(packed), len(data))
        extra = struct.pack("<2H2Q", 1, 16, local[2], local[1]) if zip64 else b""
        if zip64:
            local = (local[0], 0xFFFFFFFF, 0xFFFFFFFF)
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, flags, 8, 0, 0x21, *local, len(raw), len(extra))
        out += raw + extra + packed
        if descriptor:
            signature = b"PK\x07\x08" if descriptor == "signed" else b""
            out += signature + struct.pack("<LQQ" if zip64 else "<3L", crc, len(packed), len(data))
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 45, 45, flags, 8, 0, 0x21, crc, len(packed), len(data), len(raw),
            0, 0, 0, 0, 0, offset,
        ) + raw  # fmt: skip
    out += gaps.get(len(members), b"")
    count, start = len(members), len(out)
    return bytes(out + central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0))


def read_zip(path: Path) -> dict[str, bytes]:
    """Every member of a (small, test) bundle."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def lines(member: bytes) -> list[bytes]:
    """An ndjson member's lines, each with its newline."""
    return member.splitlines(keepends=True)


def _in_scope(envelope: dict[str, Any], subject: str | None, start: str | None, end: str | None) -> bool:
    recorded = envelope["recordedat"]
    return (
        subject in (None, envelope["subject"])
        and (start is None or recorded >= start)
        and (end is None or recorded < end)
    )


def _ndjson(documents: Any) -> bytes:
    return b"".join(canonical_bytes(document) + b"\n" for document in documents)


def _hex(tree: Tree, exported: _Exported) -> list[str]:
    return [node.hex() for node in tree.proof(exported.leaf_index)]


def _chains(envelopes: Any) -> list[dict[str, Any]]:
    chains: dict[str, dict[str, Any]] = {}
    for e in envelopes:
        first = chains.setdefault(
            e["subject"],
            {"subject": e["subject"], "first_version": e["subjectversion"], "first_prevhash": e.get("prevhash")},
        )
        first.update(last_version=e["subjectversion"], last_hash=e["hash"])
    return [chains[subject] for subject in sorted(chains)]


def _collection(granted: dict[str, Any]) -> dict[str, Any]:
    terms = granted["data"]["terms"]
    collection = terms["collection"]
    return {
        "event_id": granted["id"],
        "subject": granted["subject"],
        "method": collection["method"],
        "proof": collection["proof"],
        "consultant_id": collection["consultant_id"],
        "store_id": collection["store_id"],
        "form": terms["notice"],
    }


def _checkpoint(key: Ed25519PrivateKey, tree: Tree, last_position: int) -> dict[str, Any]:
    head = {
        "log": LOG_ID,
        "tree_size": tree.size,
        "root": tree.root().hex(),
        "last_position": last_position,
        "timestamp": NOW,
        "key_id": key_id(key.public_key()),
    }
    return {**head, "signature": b64(key.sign(checkpoint_message(head)))}
