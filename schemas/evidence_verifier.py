"""The offline verifier a regulator runs on an evidence bundle alone, with the ledger's public key.

It follows the format specified in schemas.evidence and stops at the first thing that does not add
up, naming the member, the line or event and what was expected against what was found. It streams:
events.ndjson and proofs.ndjson are read line by line side by side, never whole, and what it keeps
is one small entry per subject (and per referenced form), so memory stays flat in the number of events.

The checks are split by what they read: schemas.evidence_zip reads the ZIP (and refuses one not laid
out as the ledger writes it), schemas.evidence_events checks the events one by one (c, with f alongside),
schemas.evidence_manifest reads the manifest's claims and schemas.evidence_members checks the other
members against them (d, g, h). This module checks the signatures (a, b) and runs it all in the
specification's order, to a schemas.evidence_verdict.Verdict.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    checkpoint_message,
    key_id,
    manifest_message,
)
from schemas.evidence_events import Collection, Events, Head
from schemas.evidence_manifest import Manifest, parse_manifest
from schemas.evidence_members import check_chains, check_files, check_forms
from schemas.evidence_verdict import Verdict
from schemas.evidence_zip import Bundle, Problem, get, hex_digest, json_object, open_bundle, shown, signature_bytes

__all__ = ["Verdict", "verify_bundle"]


def verify_bundle(
    path: str | os.PathLike[str],
    public_key: Ed25519PublicKey,
    progress: Callable[[int], None] = lambda n: None,
) -> Verdict:
    """Check the bundle at `path` with the ledger's public key; `progress` hears how many more events were checked."""
    verifier = _Verifier(public_key, progress)
    try:
        with open_bundle(path) as bundle:
            verifier.run(bundle)
    except Problem as problem:
        return verifier.verdict(str(problem))
    return verifier.verdict(None)


@dataclass
class _Verifier:
    """The checks in the specification's order, and what they learn on the way."""

    public_key: Ed25519PublicKey
    progress: Callable[[int], None]
    events: Events | None = None
    summary: tuple[dict[str, Any], dict[str, Any]] | None = None  # scope and checkpoint, once all is checked
    given_key_id: str = field(init=False)  # the id of the public key the bundle is checked with

    def __post_init__(self) -> None:
        self.given_key_id = key_id(self.public_key)

    def verdict(self, problem: str | None) -> Verdict:
        chains = self.events.chains if self.events else {}
        erased = sum(chain.erased for chain in chains.values())
        scope, checkpoint = self.summary if problem is None and self.summary else (None, None)
        checked = self.events.count if self.events else 0
        return Verdict(problem is None, problem, checked, len(chains), erased, scope, checkpoint)

    def run(self, bundle: Bundle) -> None:
        manifest = self.check_manifest(bundle)
        head, checkpoint = self.check_checkpoint(bundle)
        collection = Collection(bundle.lines(COLLECTION))
        self.events = Events(head, manifest.complete, manifest.bounds, collection, self.progress)
        self.events.run(bundle.lines(EVENTS), bundle.lines(PROOFS))
        subjects = check_chains(bundle, self.events.chains)
        if manifest.events != self.events.count:
            raise Problem(f"{MANIFEST}: events is {manifest.events}, but {EVENTS} has {self.events.count} lines")
        if manifest.subjects != subjects:
            raise Problem(f"{MANIFEST}: subjects is {manifest.subjects}, but {CHAINS} has {subjects} lines")
        collection.check_end()
        check_forms(bundle, self.events.forms, manifest.forms_missing)
        check_files(bundle, manifest.files)
        self.summary = (manifest.scope, checkpoint)

    def check_manifest(self, bundle: Bundle) -> Manifest:
        """a. The manifest is of this format and signed by the key given."""
        signed, signature = bundle.read(MANIFEST), bundle.read(MANIFEST_SIGNATURE)
        manifest = json_object(signed, MANIFEST)
        if manifest.get("format") != FORMAT:
            raise Problem(f"{MANIFEST}: format is {shown(manifest, 'format')}, this verifier reads {FORMAT}")
        names = manifest.get("key_id")
        if not _signs(self.public_key, signature_bytes(signature, MANIFEST_SIGNATURE), manifest_message(signed)):
            if names == self.given_key_id:
                raise Problem(
                    f"{MANIFEST_SIGNATURE}: the signature does not verify over {MANIFEST} with the public key given "
                    f"(key id {self.given_key_id}), the key the manifest names: {MANIFEST} or its signature was altered"
                )
            raise Problem(
                f"{MANIFEST_SIGNATURE}: the signature does not verify with the public key given "
                f"(key id {self.given_key_id}); the manifest says it was signed by key id {shown(manifest, 'key_id')}"
            )
        if names != self.given_key_id:
            raise Problem(f"{MANIFEST}: key_id is {shown(manifest, 'key_id')}, expected {self.given_key_id}")
        if manifest.get("log") != LOG_ID:
            raise Problem(f"{MANIFEST}: log is {shown(manifest, 'log')}, expected {LOG_ID}")
        return parse_manifest(manifest)

    def check_checkpoint(self, bundle: Bundle) -> tuple[Head, dict[str, Any]]:
        """b. The checkpoint is a tree head of this log, signed by the key given."""
        checkpoint = json_object(bundle.read(CHECKPOINT), CHECKPOINT)
        signature = get(checkpoint, "signature", str, CHECKPOINT).encode("ascii", "replace")
        if not _signs(self.public_key, signature_bytes(signature, CHECKPOINT), checkpoint_message(checkpoint)):
            raise Problem(
                f"{CHECKPOINT}: the signature does not verify with the public key given (key id {self.given_key_id});"
                f" the checkpoint says it was signed by key id {shown(checkpoint, 'key_id')}"
            )
        if checkpoint.get("key_id") != self.given_key_id:
            raise Problem(f"{CHECKPOINT}: key_id is {shown(checkpoint, 'key_id')}, expected {self.given_key_id}")
        if checkpoint.get("log") != LOG_ID:
            raise Problem(f"{CHECKPOINT}: log is {shown(checkpoint, 'log')}, expected {LOG_ID}")
        head = Head(
            get(checkpoint, "tree_size", int, CHECKPOINT),
            bytes.fromhex(hex_digest(checkpoint, "root", CHECKPOINT)),
            get(checkpoint, "last_position", int, CHECKPOINT),
        )
        timestamp = get(checkpoint, "timestamp", str, CHECKPOINT)
        return head, {"tree_size": head.tree_size, "timestamp": timestamp, "root": head.root.hex()}


def _signs(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
