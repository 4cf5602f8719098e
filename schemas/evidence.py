"""Evidence bundles: what the ledger hands a regulator, and what the regulator checks it with.

A bundle is one ZIP file (deflated members, ZIP64 allowed) laid out plainly: the first member's
local header at byte 0, the members end to end (each followed by its data descriptor if its flags
say so), then the central directory and its end record, which ends the file (no comment). Nothing
else may hide before, between or after them. It holds:

- `manifest.json`: canonical JSON (see `schemas.envelope.canonical_bytes`)::

      {"format": "kz.esperance.consent.evidence/1", "log": "<LOG_ID>", "created_at": "<utc text>",
       "scope": {"kind": "subject" | "range" | "all", "subject": "<uuid>" | null,
                 "from": "<utc text>" | null, "to": "<utc text>" | null},
       "events": <lines of events.ndjson>, "subjects": <lines of chains.ndjson>,
       "complete": <true when events.ndjson holds every leaf of the checkpoint, 0 .. tree_size-1>,
       "forms_missing": ["<sha256 of a form text referenced but unknown to the ledger>", ...],
       "key_id": "<key_id() of the signing key>",
       "files": {"<member name>": {"sha256": "<hex of the member's bytes>", "bytes": <size>}, ...}}

  `files` lists every member except manifest.json and manifest.sig.
  `scope` says which events the bundle holds, and the verifier holds the events to it:
  - "all": every event of the ledger up to the checkpoint; `complete` is true (and only here), the
    other fields null;
  - "subject": the events of `subject` (recorded in [from, to) when either is set); the subject's
    chain starts at version 1 unless `from` is set;
  - "range": the events recorded in [from, to), `subject` null, at least one bound set.
  A null bound is open. `recordedat`, `from` and `to` are canonical UTC text (`utc_text`), which
  compares as the moments it names.
- `manifest.sig`: the Ed25519 signature of `manifest_message(<manifest.json's exact bytes>)`, base64
  (ASCII, no newline).
- `checkpoint.json`: a signed tree head, canonical JSON::

      {"log": "<LOG_ID>", "tree_size": n, "root": "<hex>", "last_position": <ledger position of leaf n-1>,
       "timestamp": "<utc text>", "key_id": "<hex>", "signature": "<base64>"}

  The tree is schemas.merkle's over the first n events of the ledger in position order: leaf i is
  `leaf_hash(hash of the event at rank i)`. Positions may have gaps; leaf indexes do not.
  `signature` is Ed25519 over `checkpoint_message(checkpoint)`: CHECKPOINT_DOMAIN then the canonical
  JSON without `signature`. The ledger's one key signs checkpoints and manifests; the domain prefixes
  keep a signature made for one from ever passing for the other (or for anything else the key signs).
- `events.ndjson`: one envelope per line, the exact bytes of its consent.events.v1 record value
  (canonical JSON, with `position`), in ascending position order.
- `proofs.ndjson`: one line per line of events.ndjson, same order:
  `{"id": "<event id>", "leaf_index": i, "proof": ["<hex>", ...]}`; `proof` is the inclusion proof
  (bottom up) of leaf i in the checkpoint's tree, and empty when the bundle is `complete` (the root
  is then recomputed from all the events instead).
- `chains.ndjson`: one line per subject with events in the bundle, sorted by subject:
  `{"subject": "<uuid>", "first_version": v, "last_version": w, "first_prevhash": "<hex>" | null,
  "last_hash": "<hex>"}`. The subject's events in the bundle are exactly versions v..w, each linking
  to the one before by `prevhash`, the first to `first_prevhash` (null when v is 1).
- `collection.ndjson`: one line per ConsentGranted in the bundle, in events order:
  `{"event_id", "subject", "method", "proof", "consultant_id", "store_id", "form"}`, copied from the
  event's `data.terms.collection` and `data.terms.notice` (`form`).
- `forms/<sha256>.txt`: the UTF-8 text of each consent form referenced (`notice.text_sha256`) by a
  ConsentGranted in the bundle and known to the ledger; the SHA-256 of its bytes is its name.

An erased subject's events are in the bundle like any other: their `pii` is ciphertext whose key
no longer exists, and every hash, link and proof still verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from schemas.envelope import canonical_bytes

FORMAT = "kz.esperance.consent.evidence/1"
LOG_ID = "urn:kz.esperance:consent-ledger"
MANIFEST = "manifest.json"
MANIFEST_SIGNATURE = "manifest.sig"
CHECKPOINT = "checkpoint.json"
EVENTS = "events.ndjson"
PROOFS = "proofs.ndjson"
CHAINS = "chains.ndjson"
COLLECTION = "collection.ndjson"
FORMS_DIR = "forms/"
CHECKPOINT_DOMAIN = b"kz.esperance.consent.checkpoint/1\n"  # what a checkpoint's signed message starts with
MANIFEST_DOMAIN = b"kz.esperance.consent.manifest/1\n"  # what manifest.sig's signed message starts with


def key_id(public_key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key: names the key in manifests and checkpoints."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def checkpoint_message(checkpoint: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's signature covers: CHECKPOINT_DOMAIN, then its canonical JSON without `signature`."""
    return CHECKPOINT_DOMAIN + canonical_bytes({key: value for key, value in checkpoint.items() if key != "signature"})


def manifest_message(manifest: bytes) -> bytes:
    """The bytes manifest.sig covers: MANIFEST_DOMAIN, then manifest.json's exact bytes."""
    return MANIFEST_DOMAIN + manifest


def form_member(text_sha256: str) -> str:
    """The bundle member holding the form text with this SHA-256."""
    return f"{FORMS_DIR}{text_sha256}.txt"


def b64(signature: bytes) -> str:
    """A signature as bundles carry it."""
    return base64.b64encode(signature).decode("ascii")


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """The ledger's Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of its raw 32 bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as error:
            raise ValueError(f"not a readable PEM public key: {error}") from error
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"the PEM key is {type(key).__name__}, not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(b"".join(data.split()), validate=True)
    except binascii.Error as error:
        raise ValueError(f"neither PEM nor base64 of a raw Ed25519 public key: {error}") from error
    if len(raw) != 32:
        raise ValueError(f"a raw Ed25519 public key is 32 bytes, the base64 given decodes to {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def collection_line(event: Mapping[str, Any]) -> dict[str, Any]:
    """A ConsentGranted's line of collection.ndjson: how consent was collected, and on which form."""
    terms = event["data"]["terms"]
    collection = terms["collection"]
    return {
        "event_id": event["id"],
        "subject": event["subject"],
        "method": collection.get("method"),
        "proof": collection.get("proof"),
        "consultant_id": collection.get("consultant_id"),
        "store_id": collection.get("store_id"),
        "form": terms["notice"],
    }
