"""A regulator checks an evidence bundle offline, with nothing but the bundle and the ledger's public key."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from schemas import evidence_verifier
from schemas.evidence import CHECKPOINT, COLLECTION, EVENTS, MANIFEST, PROOFS, form_member, key_id, load_public_key
from schemas.evidence_verifier import Verdict, verify_bundle
from tests.schemas.bundle_support import (
    ERASED,
    FORM_SHA256,
    KEPT_ON,
    bundle_members,
    ids,
    lines,
    read_zip,
    reseal,
    signing_key,
    write_bundle,
    write_zip,
)

LEDGER_KEY = signing_key("synthetic ledger key")
OTHER_KEY = signing_key("somebody else's key")
PUBLIC = LEDGER_KEY.public_key()


@pytest.fixture
def complete(tmp_path: Path) -> Path:
    """The ledger's complete bundle: every event of the checkpoint, 9 events of 3 subjects."""
    return write_bundle(tmp_path / "complete.zip", LEDGER_KEY)


def tampered(path: Path, member: str, old: bytes, new: bytes) -> Path:
    """The bundle with `old` replaced by `new` in one member, the signed manifest left as it was."""
    members = read_zip(path)
    assert old in members[member]
    members[member] = members[member].replace(old, new, 1)
    return write_zip(path.with_name("tampered.zip"), members)


def refused(path: Path) -> str:
    """The problem the verifier reports for a bundle it must refuse."""
    verdict = verify_bundle(path, PUBLIC)
    assert not verdict.verified
    assert verdict.problem is not None
    assert str(verdict) == f"NOT verified: {verdict.problem}"
    return verdict.problem


def test_the_complete_bundle_verifies_with_the_ledgers_public_key(complete: Path) -> None:
    heard: list[int] = []

    verdict = verify_bundle(complete, PUBLIC, progress=heard.append)

    assert verdict == Verdict(verified=True, problem=None, events=9, subjects=3, erased_subjects=1)
    assert str(verdict) == "verified: 9 events of 3 subjects, 1 of them erased"
    assert sum(heard) == 9  # progress hears increments, as a progress bar advances


def test_lines_split_across_reads_are_joined(complete: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_verifier, "_CHUNK", 7)  # every line of every member spans several reads

    assert verify_bundle(complete, PUBLIC).verified


@pytest.mark.parametrize(
    ("subject", "events", "erased"),
    [(KEPT_ON, 4, 0), (ERASED, 3, 1)],
    ids=["a subject who kept their consent", "an erased subject, whose pii nobody can read"],
)
def test_one_subjects_bundle_verifies_by_inclusion_proofs(
    tmp_path: Path, subject: str, events: int, erased: int
) -> None:
    verdict = verify_bundle(write_bundle(tmp_path / "subject.zip", LEDGER_KEY, subject), PUBLIC)

    assert verdict == Verdict(verified=True, problem=None, events=events, subjects=1, erased_subjects=erased)


def test_one_altered_character_in_an_event_is_found_by_its_hash(complete: Path) -> None:
    problem = refused(tampered(complete, EVENTS, b'"consultant_id":"c-017"', b'"consultant_id":"c-019"'))

    assert problem.startswith(f"{EVENTS} line 1 (event {ids(KEPT_ON)[0]}): hash is ")
    assert "but the event's content hashes to" in problem


def without_kept_on_version_3(path: Path) -> dict[str, bytes]:
    members = read_zip(path)
    dropped = ids(KEPT_ON)[2].encode()
    for member in (EVENTS, PROOFS):
        members[member] = b"".join(line for line in lines(members[member]) if dropped not in line)
    return members


def test_a_dropped_event_is_named_by_its_subject_and_version(complete: Path) -> None:
    problem = refused(write_zip(complete.with_name("dropped.zip"), without_kept_on_version_3(complete)))

    assert problem == (
        f"{EVENTS} line 7 (event {ids(KEPT_ON)[3]}): subject {KEPT_ON} version 4 follows version 2: "
        "1 event missing (version 3)"
    )


def test_a_dropped_event_with_a_rewritten_manifest_fails_its_signature(complete: Path) -> None:
    members = reseal(without_kept_on_version_3(complete))  # the attacker cannot sign with the ledger's key

    problem = refused(write_zip(complete.with_name("dropped.zip"), members))

    assert problem.startswith(f"manifest.sig: the signature does not verify over {MANIFEST} with the public key given")
    assert key_id(PUBLIC) in problem


def test_two_events_swapped_are_out_of_order(complete: Path) -> None:
    members = read_zip(complete)
    for member in (EVENTS, PROOFS):
        rows = lines(members[member])
        rows[5], rows[6] = rows[6], rows[5]  # the erased subject's withdrawal and erasure
        members[member] = b"".join(rows)

    problem = refused(write_zip(complete.with_name("swapped.zip"), members))

    assert problem == (
        f"{EVENTS} line 7 (event {ids(ERASED)[1]}): position 106 follows position 107: events are out of order"
    )


def test_another_public_key_does_not_verify_the_ledgers_bundle(complete: Path) -> None:
    other = OTHER_KEY.public_key()

    verdict = verify_bundle(complete, other)

    assert verdict.problem == (
        f"manifest.sig: the signature does not verify with the public key given (key id {key_id(other)}); "
        f"the manifest says it was signed by key id {key_id(PUBLIC)}"
    )


def test_a_bundle_signed_throughout_by_another_key_does_not_pass_for_the_ledgers(tmp_path: Path) -> None:
    forged = write_bundle(tmp_path / "forged.zip", OTHER_KEY)

    assert refused(forged) == (
        f"manifest.sig: the signature does not verify with the public key given (key id {key_id(PUBLIC)}); "
        f"the manifest says it was signed by key id {key_id(OTHER_KEY.public_key())}"
    )


def test_a_wrong_inclusion_proof_does_not_reach_the_signed_root(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "subject.zip", LEDGER_KEY, KEPT_ON)
    members = read_zip(bundle)
    rows = lines(members[PROOFS])
    sibling = rows[1].split(b'"proof":["')[1][:64]
    forged = tampered(bundle, PROOFS, sibling, hashlib.sha256(b"forged").hexdigest().encode())

    problem = refused(forged)

    assert problem.startswith(f"{PROOFS} line 2 (event {ids(KEPT_ON)[1]}): the inclusion proof does not lead")
    assert "checkpoint's root" in problem


def test_an_altered_form_text_no_longer_matches_its_name(complete: Path) -> None:
    problem = refused(tampered(complete, form_member(FORM_SHA256), b"I agree", b"I agreed"))

    assert problem.startswith(f"{form_member(FORM_SHA256)}: the text's SHA-256 is ")
    assert f"its name says {FORM_SHA256}: the text was altered" in problem


def test_a_collection_line_that_differs_from_its_consent_is_named(complete: Path) -> None:
    problem = refused(tampered(complete, COLLECTION, b'"store_id":"store-test-01"', b'"store_id":"store-test-99"'))

    assert problem == (
        f"{COLLECTION} line 1 (event {ids(KEPT_ON)[0]}): store_id is store-test-99, but the event says store-test-01"
    )


def test_a_member_slipped_into_the_zip_is_not_in_the_signed_manifest(complete: Path) -> None:
    members = {**read_zip(complete), "notes.txt": b"trust me"}

    problem = refused(write_zip(complete.with_name("added.zip"), members))

    assert problem == "notes.txt: in the zip but not among the manifest's files"


def test_a_truncated_zip_is_a_verdict_not_a_crash(complete: Path) -> None:
    truncated = complete.with_name("truncated.zip")
    truncated.write_bytes(complete.read_bytes()[: complete.stat().st_size // 2])

    assert "not a readable zip file" in refused(truncated)


def test_a_corrupt_member_is_a_verdict_naming_it(complete: Path) -> None:
    with zipfile.ZipFile(complete) as archive:
        info = archive.getinfo(EVENTS)
    data = bytearray(complete.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # the local header's size
    data[start + info.compress_size // 2] ^= 0xFF
    corrupt = complete.with_name("corrupt.zip")
    corrupt.write_bytes(bytes(data))

    assert refused(corrupt).startswith(EVENTS)  # unreadable, or garbled past parsing before its CRC is checked


def test_a_checkpoint_signed_by_another_key_is_refused(complete: Path) -> None:
    members = read_zip(complete)
    members[CHECKPOINT] = bundle_members(OTHER_KEY)[CHECKPOINT]

    problem = refused(write_zip(complete.with_name("checkpoint.zip"), reseal(members, LEDGER_KEY)))

    assert problem == (
        f"{CHECKPOINT}: the signature does not verify with the public key given (key id {key_id(PUBLIC)}); "
        f"the checkpoint says it was signed by key id {key_id(OTHER_KEY.public_key())}"
    )


def test_the_public_key_is_read_from_pem_or_base64_of_its_raw_bytes() -> None:
    pem = PUBLIC.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    raw = base64.b64encode(PUBLIC.public_bytes(Encoding.Raw, PublicFormat.Raw))

    assert key_id(load_public_key(pem)) == key_id(PUBLIC)
    assert key_id(load_public_key(b"  " + raw[:20] + b"\n" + raw[20:] + b"\n")) == key_id(PUBLIC)
    with pytest.raises(ValueError, match="32 bytes"):
        load_public_key(base64.b64encode(b"too short"))
    with pytest.raises(ValueError, match="neither PEM nor base64"):
        load_public_key(b"not a key!")
