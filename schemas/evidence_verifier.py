"""The offline verifier a regulator runs on an evidence bundle alone, with the ledger's public key.

It follows the format specified in schemas.evidence and stops at the first thing that does not add
up, naming the member, the line or event and what was expected against what was found. It streams:
events.ndjson and proofs.ndjson are read line by line side by side, never whole, and what it keeps
is one small entry per subject (and per referenced form), so memory stays flat in the number of events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count, zip_longest
from typing import Any, TypeVar

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.envelope import event_hash, event_type
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
)
from schemas.merkle import RootBuilder, leaf_hash, verify_inclusion

PROGRESS_EVERY = 1000  # events checked between two calls of `progress`
_CHUNK = 1 << 20  # bytes read from a member at a time
CONSENT_GRANTED = event_type("ConsentGranted")
PERSONAL_DATA_ERASED = event_type("PersonalDataErased")
_HEX = re.compile(r"[0-9a-f]{64}")
_FORM = re.compile(re.escape(FORMS_DIR) + r"([0-9a-f]{64})\.txt")
_KINDS: dict[type[Any], str] = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}
_UNREADABLE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError, ValueError)
T = TypeVar("T")


@dataclass(frozen=True)
class Verdict:
    """What the verifier concluded: verified, or the first thing in the bundle that does not add up."""

    verified: bool
    problem: str | None
    events: int  # events checked (all of them when verified)
    subjects: int
    erased_subjects: int  # subjects with a PersonalDataErased event in the bundle

    def __str__(self) -> str:
        if not self.verified:
            return f"NOT verified: {self.problem}"
        return f"verified: {self.events} events of {self.subjects} subjects, {self.erased_subjects} of them erased"


def verify_bundle(
    path: str | os.PathLike[str],
    public_key: Ed25519PublicKey,
    progress: Callable[[int], None] = lambda n: None,
) -> Verdict:
    """Check the bundle at `path` with the ledger's public key; `progress` hears how many more events were checked."""
    verifier = _Verifier(public_key, progress)
    try:
        with _open_zip(path) as archive:
            verifier.run(_Bundle(archive))
    except _Problem as problem:
        return verifier.verdict(str(problem))
    return verifier.verdict(None)


class _Problem(Exception):
    """The first thing in the bundle that does not add up."""


def _open_zip(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except _UNREADABLE as error:
        raise _Problem(f"{os.fspath(path)}: not a readable zip file ({error})") from error


class _Bundle:
    """The zip's members, read so that any failure becomes a problem naming the member."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        self.names = [info.filename for info in archive.infolist()]
        counts = Counter(self.names)
        if repeated := sorted(name for name, times in counts.items() if times > 1):
            raise _Problem(f"{repeated[0]}: the zip holds {counts[repeated[0]]} members of that name")

    def read(self, name: str) -> bytes:
        """A small member, whole."""
        with self._reading(name):
            return self._archive.read(name)

    def lines(self, name: str) -> Iterator[tuple[int, bytes]]:
        """The member's lines without their newline, numbered from 1."""
        numbers, rest = count(1), b""
        with self._reading(name), self._archive.open(name) as member:
            while chunk := member.read(_CHUNK):  # a chunk at a time: much faster than the member's readline
                *whole, rest = (rest + chunk).split(b"\n")
                for line in whole:
                    yield next(numbers), line
        if rest:
            yield next(numbers), rest

    def documents(self, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """The member's lines as JSON objects, numbered from 1."""
        for number, line in self.lines(name):
            yield number, _json_object(line, f"{name} line {number}")

    def digest(self, name: str) -> tuple[str, int]:
        """SHA-256 (hex) and size of the member's bytes."""
        sha256, size = hashlib.sha256(), 0
        with self._reading(name), self._archive.open(name) as member:
            while chunk := member.read(_CHUNK):
                sha256.update(chunk)
                size += len(chunk)
        return sha256.hexdigest(), size

    @contextmanager
    def _reading(self, name: str) -> Iterator[None]:
        if name not in self.names:
            raise _Problem(f"{name}: not in the zip")
        try:
            yield
        except _UNREADABLE as error:
            raise _Problem(f"{name}: cannot be read from the zip ({error})") from error


@dataclass(frozen=True)
class _Manifest:
    events: int
    subjects: int
    complete: bool
    forms_missing: frozenset[str]
    files: dict[str, tuple[str, int]]  # member -> (sha256, bytes)


@dataclass(frozen=True)
class _Checkpoint:
    tree_size: int
    root: bytes
    last_position: int


@dataclass(slots=True)
class _Chain:
    """What the events showed of one subject: the one entry the verifier keeps per subject."""

    first_version: int
    first_prevhash: str | None
    last_version: int
    last_hash: str
    erased: bool = False


@dataclass
class _Verifier:
    """The checks in the specification's order, and what they learn on the way."""

    public_key: Ed25519PublicKey
    progress: Callable[[int], None]
    events: int = 0
    chains: dict[str, _Chain] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)  # text_sha256 -> first ConsentGranted referencing it

    @property
    def given_key_id(self) -> str:
        """The id of the public key the bundle is checked with."""
        return key_id(self.public_key)

    def verdict(self, problem: str | None) -> Verdict:
        erased = sum(chain.erased for chain in self.chains.values())
        return Verdict(problem is None, problem, self.events, len(self.chains), erased)

    def run(self, bundle: _Bundle) -> None:
        manifest = self.check_manifest(bundle)
        checkpoint = self.check_checkpoint(bundle)
        collection = _Collection(bundle.documents(COLLECTION))
        self.check_events(bundle, _Events(self, manifest.complete, checkpoint, collection))
        subjects = self.check_chains(bundle)
        if manifest.events != self.events:
            raise _Problem(f"{MANIFEST}: events is {manifest.events}, but {EVENTS} has {self.events} lines")
        if manifest.subjects != subjects:
            raise _Problem(f"{MANIFEST}: subjects is {manifest.subjects}, but {CHAINS} has {subjects} lines")
        collection.check_end()
        self.check_forms(bundle, manifest.forms_missing)
        self.check_files(bundle, manifest.files)

    def check_manifest(self, bundle: _Bundle) -> _Manifest:
        """a. The manifest is of this format and signed by the key given."""
        signed, signature = bundle.read(MANIFEST), bundle.read(MANIFEST_SIGNATURE)
        manifest = _json_object(signed, MANIFEST)
        if manifest.get("format") != FORMAT:
            raise _Problem(f"{MANIFEST}: format is {_shown(manifest, 'format')}, this verifier reads {FORMAT}")
        names = manifest.get("key_id")
        if not _signs(self.public_key, _base64(signature, MANIFEST_SIGNATURE), signed):
            if names == self.given_key_id:
                raise _Problem(
                    f"{MANIFEST_SIGNATURE}: the signature does not verify over {MANIFEST} with the public key given "
                    f"(key id {self.given_key_id}), the key the manifest names: {MANIFEST} or its signature was altered"
                )
            raise _Problem(
                f"{MANIFEST_SIGNATURE}: the signature does not verify with the public key given "
                f"(key id {self.given_key_id}); the manifest says it was signed by key id {_shown(manifest, 'key_id')}"
            )
        if names != self.given_key_id:
            raise _Problem(f"{MANIFEST}: key_id is {_shown(manifest, 'key_id')}, expected {self.given_key_id}")
        if manifest.get("log") != LOG_ID:
            raise _Problem(f"{MANIFEST}: log is {_shown(manifest, 'log')}, expected {LOG_ID}")
        return _parse_manifest(manifest)

    def check_checkpoint(self, bundle: _Bundle) -> _Checkpoint:
        """b. The checkpoint is a tree head of this log, signed by the key given."""
        checkpoint = _json_object(bundle.read(CHECKPOINT), CHECKPOINT)
        signature = _base64(_get(checkpoint, "signature", str, CHECKPOINT).encode("ascii", "replace"), CHECKPOINT)
        if not _signs(self.public_key, signature, checkpoint_message(checkpoint)):
            raise _Problem(
                f"{CHECKPOINT}: the signature does not verify with the public key given (key id {self.given_key_id});"
                f" the checkpoint says it was signed by key id {_shown(checkpoint, 'key_id')}"
            )
        if checkpoint.get("key_id") != self.given_key_id:
            raise _Problem(f"{CHECKPOINT}: key_id is {_shown(checkpoint, 'key_id')}, expected {self.given_key_id}")
        if checkpoint.get("log") != LOG_ID:
            raise _Problem(f"{CHECKPOINT}: log is {_shown(checkpoint, 'log')}, expected {LOG_ID}")
        return _Checkpoint(
            _get(checkpoint, "tree_size", int, CHECKPOINT),
            bytes.fromhex(_hex(checkpoint, "root", CHECKPOINT)),
            _get(checkpoint, "last_position", int, CHECKPOINT),
        )

    def check_events(self, bundle: _Bundle, events: _Events) -> None:
        """c. Every event is intact, in order, chained to its subject's previous one and in the checkpoint's tree."""
        lines, proofs = bundle.lines(EVENTS), bundle.lines(PROOFS)
        for line, proof in zip_longest(lines, proofs):
            if line is None or proof is None:
                counted = self.events + 1
                events.hold_proofs(
                    f"{EVENTS} has {counted - (line is None) + sum(1 for _ in lines)} lines, "
                    f"{PROOFS} {counted - (proof is None) + sum(1 for _ in proofs)}: one proof line per event expected"
                )
                break
            number = line[0]
            events.check(number, _json_object(line[1], f"{EVENTS} line {number}"), proof[1])
            self.events += 1
            if self.events % PROGRESS_EVERY == 0:
                self.progress(PROGRESS_EVERY)
        events.check_end()
        if self.events % PROGRESS_EVERY:
            self.progress(self.events % PROGRESS_EVERY)

    def check_chains(self, bundle: _Bundle) -> int:
        """d. chains.ndjson states each subject's chain as the events showed it; it returns its line count."""
        expected, number = iter(sorted(self.chains)), 0
        for number, line in bundle.documents(CHAINS):
            where = f"{CHAINS} line {number}"
            subject, wanted = _get(line, "subject", str, where), next(expected, None)
            if subject not in self.chains:
                raise _Problem(f"{where}: subject {subject} has no events in {EVENTS}")
            if wanted is not None and subject > wanted:
                raise _Problem(f"{CHAINS}: no line for subject {wanted}, which has events in {EVENTS}")
            if subject != wanted:
                raise _Problem(f"{where}: subject {subject} is repeated or out of order (lines are sorted by subject)")
            chain = self.chains[subject]
            shown = {
                "first_version": (chain.first_version, "its first event in the bundle is version"),
                "first_prevhash": (chain.first_prevhash, "its first event in the bundle has prevhash"),
                "last_version": (chain.last_version, "its last event in the bundle is version"),
                "last_hash": (chain.last_hash, "its last event in the bundle has hash"),
            }
            for key, (value, saying) in shown.items():
                if key not in line or not _same(line[key], value):
                    raise _Problem(
                        f"{where}: subject {subject} {key} is {_shown(line, key)}, but {saying} {_text(value)}"
                    )
        missing = next(expected, None)
        if missing is not None:
            raise _Problem(f"{CHAINS}: no line for subject {missing}, which has events in {EVENTS}")
        return number

    def check_forms(self, bundle: _Bundle, forms_missing: frozenset[str]) -> None:
        """g. Each form text is the one its name says, and each referenced form is here or declared missing."""
        present: set[str] = set()
        for name in bundle.names:
            if not name.startswith(FORMS_DIR):
                continue
            match = _FORM.fullmatch(name)
            if match is None:
                raise _Problem(f"{name}: not a form text (expected {form_member('<sha256, lowercase hex>')})")
            digest, named = bundle.digest(name)[0], match[1]
            if digest != named:
                raise _Problem(f"{name}: the text's SHA-256 is {digest}, its name says {named}: the text was altered")
            if named not in self.forms:
                raise _Problem(f"{name}: no ConsentGranted in {EVENTS} references this form")
            if named in forms_missing:
                raise _Problem(f"{MANIFEST}: forms_missing lists {named}, yet {name} is in the bundle")
            present.add(named)
        for digest, event_id in sorted(self.forms.items()):
            if digest not in present and digest not in forms_missing:
                raise _Problem(
                    f"{form_member(digest)}: not in the zip, yet event {event_id} references it and the "
                    f"manifest's forms_missing does not list it"
                )
        if unreferenced := sorted(forms_missing - self.forms.keys()):
            raise _Problem(
                f"{MANIFEST}: forms_missing lists {unreferenced[0]}, which no ConsentGranted in {EVENTS} references"
            )

    def check_files(self, bundle: _Bundle, files: Mapping[str, tuple[str, int]]) -> None:
        """h. Every member is listed in the signed manifest with its exact digest and size, and none is missing."""
        for name in bundle.names:
            if name in (MANIFEST, MANIFEST_SIGNATURE):
                continue
            if name not in files:
                raise _Problem(f"{name}: in the zip but not among the manifest's files")
            digest, size = bundle.digest(name)
            if (digest, size) != files[name]:
                stated = files[name]
                raise _Problem(
                    f"{name}: SHA-256 {digest} and {size} bytes, the manifest says {stated[0]} and {stated[1]} bytes"
                )
        if absent := sorted(files.keys() - set(bundle.names)):
            raise _Problem(f"{absent[0]}: among the manifest's files but not in the zip")


class _Events:
    """Check c, one line of events.ndjson and its line of proofs.ndjson at a time.

    An altered event, events out of order and a broken link are reported at once. A gap in a subject's
    versions, then a proof line that does not fit its event, are held until the events end, as a later
    line may explain them better: a dropped event then shows as its subject's missing version, not as
    the leaf it leaves empty or the proof line left over, and two events swapped as out of order.
    """

    def __init__(self, verifier: _Verifier, complete: bool, checkpoint: _Checkpoint, collection: _Collection) -> None:
        self._verifier, self._complete, self._checkpoint = verifier, complete, checkpoint
        self._collection = collection
        self._root = RootBuilder()
        self._position, self._leaf = 0, -1  # of the previous line
        self._gap: str | None = None  # the first gap in a subject's versions
        self._unproven: str | None = None  # the first event its proof line does not show in the checkpoint's tree

    def check(self, number: int, event: dict[str, Any], proof_line: bytes) -> None:
        """One event line (parsed) and its proof line."""
        where = f"{EVENTS} line {number}"
        where = f"{where} (event {_get(event, 'id', str, where)})"
        for key, kind in (("type", str), ("subject", str), ("subjectversion", int)):
            _get(event, key, kind, where)
        recomputed = event_hash(event)
        if event.get("hash") != recomputed:
            raise _Problem(f"{where}: hash is {_shown(event, 'hash')}, but the event's content hashes to {recomputed}")
        position = _get(event, "position", int, where)
        if position <= self._position:  # the first line's previous is 0: positions start at 1
            raise _Problem(f"{where}: position {position} follows position {self._position}: events are out of order")
        self._check_chain(where, event)
        if event["type"] == PERSONAL_DATA_ERASED:
            self._verifier.chains[event["subject"]].erased = True
        if event["type"] == CONSENT_GRANTED:
            notice = _get(_consent_terms(event, where), "notice", dict, f"{where} data.terms")
            self._verifier.forms.setdefault(_hex(notice, "text_sha256", f"{where} data.terms.notice"), event["id"])
            self._collection.granted(event, _collection_record(event, where))
        self.hold_proofs(self._check_leaf(number, event, _json_object(proof_line, f"{PROOFS} line {number}")))
        self._position = position

    def hold_proofs(self, problem: str | None) -> None:
        """Keep the first problem of the proof lines for the end of the events."""
        self._unproven = self._unproven or problem

    def check_end(self) -> None:
        """What was held, then whether a complete bundle's events make up the checkpoint's whole tree."""
        if self._gap or self._unproven:
            raise _Problem(self._gap or self._unproven)
        size, root = self._checkpoint.tree_size, self._checkpoint.root
        if self._complete and self._root.size != size:
            raise _Problem(
                f"{EVENTS}: {self._root.size} events, but the bundle is complete and the checkpoint's "
                f"tree has {size} leaves"
            )
        if self._complete and self._root.root() != root:
            raise _Problem(
                f"{EVENTS}: the events' Merkle root is {self._root.root().hex()}, the checkpoint's {root.hex()}"
            )

    def _check_chain(self, where: str, event: dict[str, Any]) -> None:
        subject, version, prevhash = event["subject"], event["subjectversion"], event.get("prevhash")
        chain = self._verifier.chains.get(subject)
        if chain is None:
            if version < 1 or (self._complete and version != 1):
                raise _Problem(f"{where}: subject {subject} starts at version {version}, expected version 1")
            if (version == 1) != (prevhash is None):
                expected = "none" if version == 1 else "the hash of its previous version"
                raise _Problem(
                    f"{where}: subject {subject} version {version} has prevhash {_shown(event, 'prevhash')}, "
                    f"expected {expected}"
                )
            self._verifier.chains[subject] = _Chain(version, prevhash, version, event["hash"])
            return
        last = chain.last_version
        if version <= last:
            raise _Problem(f"{where}: subject {subject} version {version} follows version {last}: out of order")
        if version > last + 1:  # its prevhash cannot link to the version we have: nothing more to check
            missing = version - last - 1
            versions = f"version {last + 1}" if missing == 1 else f"versions {last + 1} to {version - 1}"
            gap = f"{missing} event{'s' if missing > 1 else ''} missing ({versions})"
            self._gap = self._gap or f"{where}: subject {subject} version {version} follows version {last}: {gap}"
        elif prevhash != chain.last_hash:
            raise _Problem(
                f"{where}: prevhash is {_shown(event, 'prevhash')}, but subject {subject} version {last} "
                f"has hash {chain.last_hash}"
            )
        chain.last_version, chain.last_hash = version, event["hash"]

    def _check_leaf(self, number: int, event: dict[str, Any], proof: dict[str, Any]) -> str | None:
        """The proof line names the event; what keeps it from showing in the checkpoint's tree, if anything."""
        where = f"{PROOFS} line {number} (event {event['id']})"
        if proof.get("id") != event["id"]:
            return f"{where}: id is {_shown(proof, 'id')}, expected the event's id"
        index, size = _get(proof, "leaf_index", int, where), self._checkpoint.tree_size
        path = [bytes.fromhex(_hex({"proof": node}, "proof", where)) for node in _get(proof, "proof", list, where)]
        previous, self._leaf, leaf = self._leaf, index, leaf_hash(event["hash"])
        if self._complete and path:
            raise _Problem(f"{where}: proof has {len(path)} hashes, expected none in a complete bundle")
        if self._complete:
            self._root.append(leaf)
            if index != number - 1:
                return (
                    f"{where}: leaf_index {index}, expected {number - 1}: a complete bundle holds every leaf, in order"
                )
        if index <= previous:
            return f"{where}: leaf_index {index} follows leaf_index {previous}: leaf indexes must ascend"
        if index >= size:
            return f"{where}: leaf_index {index} is not in the checkpoint's tree of {size} leaves"
        if not self._complete and not verify_inclusion(leaf, index, size, path, self._checkpoint.root):
            return (
                f"{where}: the inclusion proof does not lead from the event's leaf {index} to the "
                f"checkpoint's root {self._checkpoint.root.hex()} (tree of {size} leaves)"
            )
        return self._check_last_leaf(number, event, index)

    def _check_last_leaf(self, number: int, event: dict[str, Any], index: int) -> str | None:
        """Only the checkpoint's last leaf is at its last_position; every other is before it."""
        last, size = self._checkpoint.last_position, self._checkpoint.tree_size
        if (index == size - 1) != (event["position"] == last) or event["position"] > last:
            return (
                f"{EVENTS} line {number} (event {event['id']}): position {event['position']} at leaf {index}, "
                f"but the checkpoint's last leaf {size - 1} is at position {last}"
            )
        return None


class _Collection:
    """Check f as the events go by: collection.ndjson's next line for each ConsentGranted.

    Read alongside the events, so that they are read once; its first problem waits for its turn,
    after chains.ndjson and the manifest's counts.
    """

    def __init__(self, records: Iterator[tuple[int, dict[str, Any]]]) -> None:
        self._records, self._granted = records, 0
        self._problem: str | None = None

    def granted(self, event: dict[str, Any], expected: dict[str, Any]) -> None:
        """The next line must be `expected`, copied from this ConsentGranted."""
        self._granted += 1
        if self._problem is None:
            try:
                self._problem = self._compare(event["id"], expected)
            except _Problem as problem:  # unreadable: its turn comes later too
                self._problem = str(problem)

    def check_end(self) -> None:
        """The first problem, if any; else no line may be left over."""
        if self._problem is not None:
            raise _Problem(self._problem)
        extra = next(self._records, None)
        if extra is not None:
            raise _Problem(
                f"{COLLECTION} line {extra[0]}: there are only {self._granted} ConsentGranted events in {EVENTS}"
            )

    def _compare(self, event_id: str, expected: dict[str, Any]) -> str | None:
        item = next(self._records, None)
        if item is None:
            return (
                f"{COLLECTION}: has {self._granted - 1} lines, but event {event_id} is ConsentGranted number "
                f"{self._granted}: one line per ConsentGranted expected"
            )
        where, record = f"{COLLECTION} line {item[0]} (event {event_id})", item[1]
        if record.keys() != expected.keys():
            return f"{where}: fields are {sorted(record)}, expected {sorted(expected)}"
        for key, value in expected.items():
            if record[key] != value:
                return f"{where}: {key} is {_shown(record, key)}, but the event says {_text(value)}"
        return None


def _parse_manifest(manifest: dict[str, Any]) -> _Manifest:
    files: dict[str, tuple[str, int]] = {}
    for name, entry in _get(manifest, "files", dict, MANIFEST).items():
        where = f"{MANIFEST} files[{name}]"
        if name in (MANIFEST, MANIFEST_SIGNATURE) or not isinstance(entry, dict):
            raise _Problem(f"{where}: expected {{sha256, bytes}} of a member other than {MANIFEST} and its signature")
        files[name] = (_hex(entry, "sha256", where), _get(entry, "bytes", int, where))
    forms_missing = _get(manifest, "forms_missing", list, MANIFEST)
    return _Manifest(
        _get(manifest, "events", int, MANIFEST),
        _get(manifest, "subjects", int, MANIFEST),
        _get(manifest, "complete", bool, MANIFEST),
        frozenset(_hex({"forms_missing": digest}, "forms_missing", MANIFEST) for digest in forms_missing),
        files,
    )


def _consent_terms(event: dict[str, Any], where: str) -> dict[str, Any]:
    return _get(_get(event, "data", dict, where), "terms", dict, f"{where} data")


def _collection_record(event: dict[str, Any], where: str) -> dict[str, Any]:
    """The collection.ndjson line a ConsentGranted calls for."""
    terms = _consent_terms(event, where)
    collection = _get(terms, "collection", dict, f"{where} data.terms")
    return {
        "event_id": event["id"],
        "subject": event["subject"],
        "method": collection.get("method"),
        "proof": collection.get("proof"),
        "consultant_id": collection.get("consultant_id"),
        "store_id": collection.get("store_id"),
        "form": _get(terms, "notice", dict, f"{where} data.terms"),
    }


def _json_object(data: bytes, where: str) -> dict[str, Any]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise _Problem(f"{where}: not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise _Problem(f"{where}: a JSON object expected, found {_text(document)}")
    return document


def _get(document: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    """document[key], which must be a `kind` (a bool is not an int here)."""
    value = document.get(key)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise _Problem(f"{where}: {key} is {_shown(document, key)}, expected a JSON {_KINDS.get(kind, kind.__name__)}")


def _hex(document: Mapping[str, Any], key: str, where: str) -> str:
    value = _get(document, key, str, where)
    if not _HEX.fullmatch(value):
        raise _Problem(f"{where}: {key} is {_text(value)}, expected a SHA-256 in lowercase hex")
    return value


def _base64(data: bytes, where: str) -> bytes:
    try:
        signature = base64.b64decode(data, validate=True)
    except binascii.Error as error:
        raise _Problem(f"{where}: the signature is not base64 ({error})") from error
    if base64.b64encode(signature) != data:  # spare bits set: the same signature written another way
        raise _Problem(f"{where}: the signature is not in canonical base64")
    return signature


def _signs(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _same(found: object, expected: object) -> bool:
    return type(found) is type(expected) and found == expected


def _shown(document: Mapping[str, Any], key: str) -> str:
    return _text(document[key]) if key in document else "missing"


def _text(value: object) -> str:
    """A JSON value as a message shows it (a plain word unquoted), cut short if long."""
    plain = isinstance(value, str) and value and not any(character.isspace() for character in value)
    text = value if plain and isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 120 else f"{text[:117]}..."
