"""The offline verifier a regulator runs on an evidence bundle alone, with the ledger's public key.

It follows the format specified in schemas.evidence and stops at the first thing that does not add
up, naming the member, the line or event and what was expected against what was found. It streams:
events.ndjson and proofs.ndjson are read line by line side by side, never whole, and what it keeps
is one small entry per subject (and per referenced form), so memory stays flat in the number of events.

The checks are split by what they read: schemas.evidence_zip reads the ZIP (and refuses one not laid
out as the ledger writes it), schemas.evidence_events checks the events one by one (c, with f alongside),
and this module checks the rest, in the specification's order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.evidence import (
    CHAINS,
    CHECKPOINT,
    COLLECTION,
    EVENTS,
    FORMAT,
    FORMS_DIR,
    LOG_ID,
    MANIFEST,
    MANIFEST_SIGNATURE,
    PROOFS,
    checkpoint_message,
    form_member,
    key_id,
    manifest_message,
)
from schemas.evidence_events import UTC_TEXT, Bounds, Chain, Collection, Events, Head
from schemas.evidence_zip import (
    Bundle,
    Problem,
    get,
    hex_digest,
    json_object,
    open_bundle,
    same,
    shown,
    signature_bytes,
    text,
)

_FORM = re.compile(re.escape(FORMS_DIR) + r"([0-9a-f]{64})\.txt")
_KINDS = ("subject", "range", "all")


@dataclass(frozen=True)
class Verdict:
    """What the verifier concluded: verified, or the first thing in the bundle that does not add up."""

    verified: bool
    problem: str | None
    events: int  # events checked (all of them when verified)
    subjects: int
    erased_subjects: int  # subjects with a PersonalDataErased event in the bundle
    scope: dict[str, Any] | None = None  # the manifest's scope (kind, subject, from, to), when verified
    checkpoint: dict[str, Any] | None = None  # tree_size, timestamp and root (hex) of its checkpoint, when verified

    def __str__(self) -> str:
        if not self.verified:
            return f"NOT verified: {self.problem}"
        subjects = f"{self.subjects} subject{'' if self.subjects == 1 else 's'}"
        said = f"verified: {self.events} events of {subjects}, {self.erased_subjects} of them erased"
        if self.scope is not None:
            said += f"; scope {_scope_text(self.scope)}"
        if self.checkpoint is not None:
            head = self.checkpoint
            said += f"; checkpoint of {head['tree_size']} events at {head['timestamp']}, root {head['root'][:16]}..."
        return said


def _scope_text(scope: Mapping[str, Any]) -> str:
    start, end, recorded = scope["from"], scope["to"], ""
    if start and end:
        recorded = f" recorded in [{start}, {end})"
    elif start or end:
        recorded = f" recorded from {start} on" if start else f" recorded before {end}"
    if scope["kind"] == "subject":
        return f"subject {scope['subject']}{recorded}"
    return f"events{recorded}" if recorded else "the whole ledger"


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


@dataclass(frozen=True)
class _Manifest:
    events: int
    subjects: int
    complete: bool
    scope: dict[str, Any]
    bounds: Bounds
    forms_missing: frozenset[str]
    files: dict[str, tuple[str, int]]  # member -> (sha256, bytes)


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
        collection = Collection(bundle.documents(COLLECTION))
        self.events = Events(head, manifest.complete, manifest.bounds, collection, self.progress)
        self.events.run(bundle.lines(EVENTS), bundle.lines(PROOFS))
        subjects = self.check_chains(bundle, self.events)
        if manifest.events != self.events.count:
            raise Problem(f"{MANIFEST}: events is {manifest.events}, but {EVENTS} has {self.events.count} lines")
        if manifest.subjects != subjects:
            raise Problem(f"{MANIFEST}: subjects is {manifest.subjects}, but {CHAINS} has {subjects} lines")
        collection.check_end()
        self.check_forms(bundle, self.events.forms, manifest.forms_missing)
        self.check_files(bundle, manifest.files)
        self.summary = (manifest.scope, checkpoint)

    def check_manifest(self, bundle: Bundle) -> _Manifest:
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
        return _parse_manifest(manifest)

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

    def check_chains(self, bundle: Bundle, events: Events) -> int:
        """d. chains.ndjson states each subject's chain as the events showed it; it returns its line count."""
        chains, number = events.chains, 0
        expected = iter(sorted(chains))
        for number, line in enumerate(bundle.lines(CHAINS), 1):
            wanted = next(expected, None)
            if wanted is None or line != _chain_line(wanted, chains[wanted]):  # else as the ledger writes it
                _check_chain_line(json_object(line, CHAINS, number), f"{CHAINS} line {number}", wanted, chains)
        missing = next(expected, None)
        if missing is not None:
            raise Problem(f"{CHAINS}: no line for subject {missing}, which has events in {EVENTS}")
        return number

    def check_forms(self, bundle: Bundle, forms: Mapping[str, str], forms_missing: frozenset[str]) -> None:
        """g. Each form text is the one its name says, and each referenced form is here or declared missing."""
        present: set[str] = set()
        for name in bundle.names:
            if not name.startswith(FORMS_DIR):
                continue
            match = _FORM.fullmatch(name)
            if match is None:
                raise Problem(f"{name}: not a form text (expected {form_member('<sha256, lowercase hex>')})")
            digest, named = bundle.digest(name)[0], match[1]
            if digest != named:
                raise Problem(f"{name}: the text's SHA-256 is {digest}, its name says {named}: the text was altered")
            if named not in forms:
                raise Problem(f"{name}: no ConsentGranted in {EVENTS} references this form")
            if named in forms_missing:
                raise Problem(f"{MANIFEST}: forms_missing lists {named}, yet {name} is in the bundle")
            present.add(named)
        for digest, event_id in sorted(forms.items()):
            if digest not in present and digest not in forms_missing:
                raise Problem(
                    f"{form_member(digest)}: not in the zip, yet event {event_id} references it and the "
                    f"manifest's forms_missing does not list it"
                )
        if unreferenced := sorted(forms_missing - forms.keys()):
            raise Problem(
                f"{MANIFEST}: forms_missing lists {unreferenced[0]}, which no ConsentGranted in {EVENTS} references"
            )

    def check_files(self, bundle: Bundle, files: Mapping[str, tuple[str, int]]) -> None:
        """h. Every member is listed in the signed manifest with its exact digest and size, and none is missing."""
        for name in bundle.names:
            if name in (MANIFEST, MANIFEST_SIGNATURE):
                continue
            if name not in files:
                raise Problem(f"{name}: in the zip but not among the manifest's files")
            digest, size = bundle.digest(name)
            if (digest, size) != files[name]:
                stated = files[name]
                raise Problem(
                    f"{name}: SHA-256 {digest} and {size} bytes, the manifest says {stated[0]} and {stated[1]} bytes"
                )
        if absent := sorted(files.keys() - set(bundle.names)):
            raise Problem(f"{absent[0]}: among the manifest's files but not in the zip")


def _chain_line(subject: str, chain: Chain) -> bytes:
    """The chains.ndjson line of this chain, in canonical JSON (keys in order)."""
    return orjson.dumps(
        {
            "first_prevhash": chain.first_prevhash,
            "first_version": chain.first_version,
            "last_hash": chain.last_hash.hex(),
            "last_version": chain.last_version,
            "subject": subject,
        }
    )


def _check_chain_line(line: dict[str, Any], where: str, wanted: str | None, chains: Mapping[str, Chain]) -> None:
    """A chains.ndjson line that is not the canonical JSON expected: the same, written another way, or a problem."""
    subject = get(line, "subject", str, where)
    chain = chains.get(subject)
    if chain is None:
        raise Problem(f"{where}: subject {subject} has no events in {EVENTS}")
    if wanted is not None and subject > wanted:
        raise Problem(f"{CHAINS}: no line for subject {wanted}, which has events in {EVENTS}")
    if subject != wanted:
        raise Problem(f"{where}: subject {subject} is repeated or out of order (lines are sorted by subject)")
    stated = {
        "first_version": (chain.first_version, "its first event in the bundle is version"),
        "first_prevhash": (chain.first_prevhash, "its first event in the bundle has prevhash"),
        "last_version": (chain.last_version, "its last event in the bundle is version"),
        "last_hash": (chain.last_hash.hex(), "its last event in the bundle has hash"),
    }
    for key, (value, saying) in stated.items():
        if key not in line or not same(line[key], value):
            raise Problem(f"{where}: subject {subject} {key} is {shown(line, key)}, but {saying} {text(value)}")


def _parse_manifest(manifest: dict[str, Any]) -> _Manifest:
    files: dict[str, tuple[str, int]] = {}
    for name, entry in get(manifest, "files", dict, MANIFEST).items():
        where = f"{MANIFEST} files[{name}]"
        if name in (MANIFEST, MANIFEST_SIGNATURE) or not isinstance(entry, dict):
            raise Problem(f"{where}: expected {{sha256, bytes}} of a member other than {MANIFEST} and its signature")
        files[name] = (hex_digest(entry, "sha256", where), get(entry, "bytes", int, where))
    forms_missing = get(manifest, "forms_missing", list, MANIFEST)
    complete = get(manifest, "complete", bool, MANIFEST)
    scope, bounds = _parse_scope(get(manifest, "scope", dict, MANIFEST), complete)
    return _Manifest(
        get(manifest, "events", int, MANIFEST),
        get(manifest, "subjects", int, MANIFEST),
        complete,
        scope,
        bounds,
        frozenset(hex_digest({"forms_missing": digest}, "forms_missing", MANIFEST) for digest in forms_missing),
        files,
    )


def _parse_scope(scope: dict[str, Any], complete: bool) -> tuple[dict[str, Any], Bounds]:
    """The scope the manifest claims, which every event will be held to."""
    where = f"{MANIFEST} scope"
    kind = scope.get("kind")
    if kind not in _KINDS:
        raise Problem(f"{where}: kind is {shown(scope, 'kind')}, expected one of {', '.join(_KINDS)}")
    subject = None if scope.get("subject") is None else get(scope, "subject", str, where)
    start, end = (_bound(scope, key, where) for key in ("from", "to"))
    if kind == "all" and (subject, start, end) != (None, None, None):
        raise Problem(f"{where}: kind all, yet subject, from or to is set: the whole ledger has no bounds")
    if kind == "subject" and subject is None:
        raise Problem(f"{where}: kind subject, but subject is {shown(scope, 'subject')}")
    if kind == "range" and (subject is not None or (start, end) == (None, None)):
        raise Problem(f"{where}: kind range needs from or to (or both) and no subject")
    if complete != (kind == "all"):
        raise Problem(
            f"{MANIFEST}: complete is {text(complete)}, but scope kind is {kind}: "
            "a bundle holds every leaf of its checkpoint exactly when its scope is all"
        )
    claimed = {"kind": kind, "subject": subject, "from": start, "to": end}
    return claimed, Bounds(subject, start, end, from_version_1=kind == "all" or (kind == "subject" and start is None))


def _bound(scope: Mapping[str, Any], key: str, where: str) -> str | None:
    value = scope.get(key)
    if value is not None and not (isinstance(value, str) and UTC_TEXT.fullmatch(value)):
        raise Problem(f"{where}: {key} is {shown(scope, key)}, expected null or UTC text as utc_text writes it")
    return value


def _signs(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
