"""A regulator checks an evidence bundle offline, with nothing but the bundle and the ledger's public key."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from schemas import evidence, evidence_zip
from schemas.envelope import canonical_bytes, event_hash
from schemas.evidence import (
    CHAINS,
    CHECKPOINT,
    COLLECTION,
    EVENTS,
    LOG_ID,
    MANIFEST,
    MANIFEST_SIGNATURE,
    PROOFS,
    b64,
    form_member,
    key_id,
    load_public_key,
)
from schemas.evidence_verifier import Verdict, verify_bundle
from schemas.merkle import Tree, leaf_hash
from tests.schemas.bundle_support import (
    ERASED,
    FORM_SHA256,
    KEPT_ON,
    LOST_FORM,
    NOW,
    bundle_members,
    hand_made_zip,
    ids,
    lines,
    read_zip,
    reseal,
    signing_key,
    streamed_zip,
    synthetic_ledger,
    write_bundle,
    write_zip,
)

LEDGER_KEY = signing_key("synthetic ledger key")
OTHER_KEY = signing_key("somebody else's key")
PUBLIC = LEDGER_KEY.public_key()
ROOT = Tree(b"".join(leaf_hash(envelope["hash"]) for envelope in synthetic_ledger())).root().hex()
HASH = {envelope["id"]: envelope["hash"] for envelope in synthetic_ledger()}
NOT_AS_WRITTEN = "not a bundle as written by the ledger"


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


def refused_members(tmp_path: Path, members: dict[str, bytes]) -> str:
    """The problem the verifier reports for these members, zipped."""
    return refused(write_zip(tmp_path / "members.zip", members))


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

    assert verdict == Verdict(
        verified=True,
        problem=None,
        events=9,
        subjects=3,
        erased_subjects=1,
        scope={"kind": "all", "subject": None, "from": None, "to": None},
        checkpoint={"tree_size": 9, "timestamp": NOW, "root": ROOT},
    )
    assert str(verdict) == (
        f"verified: 9 events of 3 subjects, 1 of them erased; scope the whole ledger; "
        f"checkpoint of 9 events at {NOW}, root {ROOT[:16]}..."
    )
    assert sum(heard) == 9  # progress hears increments, as a progress bar advances


def test_lines_split_across_reads_are_joined(complete: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence_zip, "_CHUNK", 7)  # every line of every member spans several reads

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

    assert (verdict.verified, verdict.events, verdict.subjects, verdict.erased_subjects) == (True, events, 1, erased)
    assert verdict.scope == {"kind": "subject", "subject": subject, "from": None, "to": None}
    assert str(verdict) == (
        f"verified: {events} events of 1 subject, {erased} of them erased; scope subject {subject}; "
        f"checkpoint of 9 events at {NOW}, root {ROOT[:16]}..."
    )


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


@pytest.mark.parametrize("scope", ["complete", "subject"])
def test_lines_written_as_another_json_writer_would_still_verify(tmp_path: Path, scope: str) -> None:
    # The verifier compares proof and collection lines as bytes first: lines of other bytes are parsed and checked.
    written = write_bundle(tmp_path / "complete.zip", LEDGER_KEY) if scope == "complete" else None
    members = read_zip(written or write_bundle(tmp_path / "subject.zip", LEDGER_KEY, KEPT_ON))
    assert members[COLLECTION].strip(), "the bundle has consents, so collection lines"
    for member in (EVENTS, PROOFS, CHAINS, COLLECTION):  # spaces after separators, keys in reverse order
        rows = [json.dumps(dict(reversed(orjson.loads(row).items()))) for row in lines(members[member])]
        members[member] = "".join(row + "\n" for row in rows).encode()

    assert verify_bundle(write_zip(tmp_path / "spaced.zip", reseal(members, LEDGER_KEY)), PUBLIC).verified


# One key signs checkpoints and manifests: each signature covers its own domain prefix, so neither can pass for the
# other, nor for a signature over the bare bytes.


def test_checkpoints_and_manifests_are_signed_under_their_own_domain_prefixes() -> None:
    head = {"log": LOG_ID, "tree_size": 9, "signature": "left out"}
    bare = canonical_bytes({"log": LOG_ID, "tree_size": 9})

    assert evidence.checkpoint_message(head) == b"kz.esperance.consent.checkpoint/1\n" + bare
    assert evidence.manifest_message(bare) == b"kz.esperance.consent.manifest/1\n" + bare


def test_a_manifest_signature_over_its_bare_bytes_is_refused(complete: Path) -> None:
    members = read_zip(complete)
    members[MANIFEST_SIGNATURE] = b64(LEDGER_KEY.sign(members[MANIFEST])).encode()

    problem = refused(write_zip(complete.with_name("bare.zip"), members))

    assert problem.startswith(
        f"{MANIFEST_SIGNATURE}: the signature does not verify over {MANIFEST} with the public key"
    )


def test_a_checkpoint_signature_over_its_bare_json_is_refused(complete: Path) -> None:
    members = read_zip(complete)
    head = {key: value for key, value in orjson.loads(members[CHECKPOINT]).items() if key != "signature"}
    members[CHECKPOINT] = canonical_bytes({**head, "signature": b64(LEDGER_KEY.sign(canonical_bytes(head)))})

    problem = refused(write_zip(complete.with_name("bare.zip"), reseal(members, LEDGER_KEY)))

    assert problem.startswith(f"{CHECKPOINT}: the signature does not verify with the public key given")


def test_a_checkpoint_signature_does_not_verify_as_a_manifest_signature_over_the_same_bytes(complete: Path) -> None:
    checkpoint = orjson.loads(read_zip(complete)[CHECKPOINT])
    signature = base64.b64decode(checkpoint.pop("signature"))
    PUBLIC.verify(signature, evidence.checkpoint_message(checkpoint))

    with pytest.raises(InvalidSignature):
        PUBLIC.verify(signature, evidence.manifest_message(canonical_bytes(checkpoint)))


# The scope the signed manifest claims is what the events are held to.

JUNE_3, JUNE_5, JUNE_8 = (f"2026-06-0{day}T00:00:00.000000Z" for day in (3, 5, 8))


def test_a_range_bundle_verifies_and_says_its_range(tmp_path: Path) -> None:
    verdict = verify_bundle(write_bundle(tmp_path / "range.zip", LEDGER_KEY, start=JUNE_3, end=JUNE_8), PUBLIC)

    assert (verdict.verified, verdict.events, verdict.subjects) == (True, 4, 3), verdict
    assert verdict.scope == {"kind": "range", "subject": None, "from": JUNE_3, "to": JUNE_8}
    assert f"; scope events recorded in [{JUNE_3}, {JUNE_8}); checkpoint of 9 events" in str(verdict)


def test_a_subjects_bundle_from_a_moment_on_may_start_past_version_1(tmp_path: Path) -> None:
    verdict = verify_bundle(write_bundle(tmp_path / "later.zip", LEDGER_KEY, KEPT_ON, start=JUNE_5), PUBLIC)

    assert (verdict.verified, verdict.events) == (True, 2), verdict
    assert f"; scope subject {KEPT_ON} recorded from {JUNE_5} on;" in str(verdict)


def test_a_subjects_bundle_holding_another_subjects_events_is_refused(tmp_path: Path) -> None:
    members = bundle_members(LEDGER_KEY, KEPT_ON)
    scope = {"kind": "subject", "subject": ERASED, "from": None, "to": None}

    problem = refused_members(tmp_path, reseal(members, LEDGER_KEY, scope=scope))

    assert (
        problem
        == f"{EVENTS} line 1 (event {ids(KEPT_ON)[0]}): subject {KEPT_ON}, but the bundle's scope is subject {ERASED}"
    )


def test_a_subjects_bundle_without_its_first_events_is_refused(tmp_path: Path) -> None:
    members = bundle_members(LEDGER_KEY, KEPT_ON, start=JUNE_3)  # versions 2 to 4, rightly so for this scope
    scope = {"kind": "subject", "subject": KEPT_ON, "from": None, "to": None}  # but claimed as the whole history

    problem = refused_members(tmp_path, reseal(members, LEDGER_KEY, scope=scope))

    assert (
        problem
        == f"{EVENTS} line 1 (event {ids(KEPT_ON)[1]}): subject {KEPT_ON} starts at version 2, expected version 1"
    )


@pytest.mark.parametrize(
    ("claimed", "expected"),
    [
        (
            {"from": "2026-06-04T12:00:00.000000Z", "to": JUNE_8},
            f"{EVENTS} line 1 (event {ids(KEPT_ON)[1]}): recordedat 2026-06-04T05:00:01.000000Z is before the scope's "
            "from 2026-06-04T12:00:00.000000Z",
        ),
        (
            {"from": JUNE_3, "to": "2026-06-07T00:00:00.000000Z"},
            f"{EVENTS} line 4 (event {ids(ERASED)[1]}): recordedat 2026-06-07T05:00:01.000000Z is not before the "
            "scope's to 2026-06-07T00:00:00.000000Z",
        ),
    ],
    ids=["an event before from", "an event at or after to"],
)
def test_a_range_bundle_holding_events_outside_its_range_is_refused(
    tmp_path: Path, claimed: dict[str, str], expected: str
) -> None:
    members = bundle_members(LEDGER_KEY, start=JUNE_3, end=JUNE_8)

    problem = refused_members(
        tmp_path, reseal(members, LEDGER_KEY, scope={"kind": "range", "subject": None, **claimed})
    )

    assert problem == expected


@pytest.mark.parametrize(
    ("subject", "changes", "expected"),
    [
        (None, {"complete": False}, f"{MANIFEST}: complete is false, but scope kind is all: "),
        (KEPT_ON, {"complete": True}, f"{MANIFEST}: complete is true, but scope kind is subject: "),
        (
            None,
            {"scope": {"kind": "all", "subject": KEPT_ON, "from": None, "to": None}},
            f"{MANIFEST} scope: kind all, yet subject, from or to is set",
        ),
        (
            None,
            {"scope": {"kind": "everything", "subject": None, "from": None, "to": None}},
            f"{MANIFEST} scope: kind is everything, expected one of subject, range, all",
        ),
        (
            KEPT_ON,
            {"scope": {"kind": "range", "subject": None, "from": None, "to": None}},
            f"{MANIFEST} scope: kind range needs from or to (or both) and no subject",
        ),
        (
            KEPT_ON,
            {"scope": {"kind": "subject", "subject": None, "from": None, "to": None}},
            f"{MANIFEST} scope: kind subject, but subject is null",
        ),
        (
            KEPT_ON,
            {"scope": {"kind": "subject", "subject": KEPT_ON, "from": "2026-06-01", "to": None}},
            f"{MANIFEST} scope: from is 2026-06-01, expected null or UTC text as utc_text writes it",
        ),
    ],
    ids=[
        "all but not complete",
        "complete but one subject's",
        "all with a subject",
        "an unknown kind",
        "a range without bounds",
        "a subject's without its subject",
        "a bound that is not canonical UTC text",
    ],
)
def test_a_scope_the_manifest_cannot_mean_is_refused(
    tmp_path: Path, subject: str | None, changes: dict[str, Any], expected: str
) -> None:
    problem = refused_members(tmp_path, reseal(bundle_members(LEDGER_KEY, subject), LEDGER_KEY, **changes))

    assert problem.startswith(expected), problem


# The ZIP must be laid out as the ledger writes it: zipfile reads from the central directory at the end and skips
# whatever else is in the file, which another reader, going from the start, would show instead.


def test_a_forged_zip_in_front_of_a_genuine_bundle_is_refused(complete: Path, tmp_path: Path) -> None:
    forged = write_bundle(tmp_path / "forged.zip", OTHER_KEY).read_bytes()
    glued = tmp_path / "glued.zip"
    glued.write_bytes(forged + complete.read_bytes())
    with zipfile.ZipFile(glued) as archive:
        assert archive.read(MANIFEST) == read_zip(complete)[MANIFEST]  # zipfile alone sees the genuine bundle

    assert refused(glued) == f"{glued}: {len(forged)} bytes before the first member: {NOT_AS_WRITTEN}"


def test_bytes_before_the_first_member_are_refused_even_with_offsets_that_count_them(complete: Path) -> None:
    glued = complete.with_name("glued.zip")
    forged = b"PK\x03\x04 and so on: the local header of a forged member"
    glued.write_bytes(hand_made_zip(read_zip(complete), gaps={0: forged}))

    assert refused(glued) == f"{glued}: {len(forged)} bytes before the first member: {NOT_AS_WRITTEN}"


def test_bytes_between_members_or_before_the_central_directory_are_refused(complete: Path) -> None:
    members = read_zip(complete)
    names = list(members)
    between, before = complete.with_name("between.zip"), complete.with_name("before.zip")
    between.write_bytes(hand_made_zip(members, gaps={2: b"\0" * 7}))
    before.write_bytes(hand_made_zip(members, gaps={len(members): b"junk"}))

    assert refused(between) == f"{between}: 7 bytes between {names[1]} and {names[2]}: {NOT_AS_WRITTEN}"
    assert refused(before) == f"{before}: 4 bytes between {names[-1]} and the central directory: {NOT_AS_WRITTEN}"


def test_bytes_after_the_end_record_or_a_zip_comment_are_refused(complete: Path) -> None:
    appended, commented = complete.with_name("appended.zip"), complete.with_name("commented.zip")
    appended.write_bytes(complete.read_bytes() + b"appended")
    with zipfile.ZipFile(write_zip(commented, read_zip(complete)), "a") as archive:
        archive.comment = b"a comment"

    after = "after the end of central directory record (a zip comment or appended data)"
    assert refused(appended) == f"{appended}: 8 bytes {after}: {NOT_AS_WRITTEN}"
    assert refused(commented) == f"{commented}: 9 bytes {after}: {NOT_AS_WRITTEN}"


def test_a_data_descriptor_that_disagrees_with_the_central_directory_is_refused(complete: Path) -> None:
    members = read_zip(complete)
    data = bytearray(hand_made_zip(members, descriptor="signed"))
    at = data.index(b"PK\x07\x08")  # the first member's descriptor: signature, then CRC
    data[at + 4] ^= 0xFF
    lying = complete.with_name("lying.zip")
    lying.write_bytes(bytes(data))

    assert refused(lying) == (
        f"{next(iter(members))}: its data descriptor at byte {at} does not match the central directory: "
        f"{NOT_AS_WRITTEN}"
    )


def test_a_bundle_with_zip64_end_records_verifies_and_bytes_in_front_of_it_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(zipfile, "ZIP64_LIMIT", 100)  # zipfile then writes ZIP64 sizes and end records
        bundle = write_bundle(tmp_path / "zip64.zip", LEDGER_KEY)
    glued = tmp_path / "glued.zip"
    glued.write_bytes(b"x" * 50 + bundle.read_bytes())

    assert bundle.read_bytes()[-42:-38] == b"PK\x06\x07"  # the ZIP64 end of central directory locator
    assert verify_bundle(bundle, PUBLIC).verified
    assert refused(glued) == f"{glued}: 50 bytes before the first member: {NOT_AS_WRITTEN}"


@pytest.mark.parametrize(
    "written",
    [
        lambda members: streamed_zip(members, zip64=False),
        lambda members: streamed_zip(members, zip64=True),
        hand_made_zip,
        lambda members: hand_made_zip(members, zip64=True),
        lambda members: hand_made_zip(members, descriptor="signed"),
        lambda members: hand_made_zip(members, descriptor="unsigned"),
        lambda members: hand_made_zip(members, descriptor="unsigned", zip64=True),
    ],
    ids=[
        "zipfile streaming: signed 16-byte descriptors",
        "zipfile streaming with ZIP64: signed 24-byte descriptors",
        "by hand, sizes in the local headers",
        "by hand, ZIP64 sizes in the local headers",
        "by hand, signed 16-byte descriptors",
        "by hand, unsigned 12-byte descriptors",
        "by hand, unsigned 20-byte ZIP64 descriptors",
    ],
)
def test_members_followed_by_data_descriptors_or_not_lie_end_to_end(
    complete: Path, written: Callable[[dict[str, bytes]], bytes]
) -> None:
    rewritten = complete.with_name("rewritten.zip")
    rewritten.write_bytes(written(read_zip(complete)))

    assert verify_bundle(rewritten, PUBLIC).verified


# Every check of the events keeps its message, however fast the common case runs.


K, E = ids(KEPT_ON), ids(ERASED)
AB = "ab" * 32


def edited(
    path: Path, member: str, number: int, change: bytes | Callable[[dict[str, Any]], object], rehash: bool
) -> Path:
    """The bundle with line `number` of `member` replaced, or its JSON changed (and its hash recomputed if asked)."""
    members = read_zip(path)
    rows = lines(members[member])
    if isinstance(change, bytes):
        rows[number - 1] = change + b"\n"
    else:
        document = orjson.loads(rows[number - 1])
        change(document)
        if rehash:
            document["hash"] = event_hash(document)
        rows[number - 1] = canonical_bytes(document) + b"\n"
    members[member] = b"".join(rows)
    return write_zip(path.with_name("edited.zip"), members)


def terms(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = event["data"]["terms"]
    return found


LINE_1, LINE_2 = f"{EVENTS} line 1 (event {K[0]})", f"{PROOFS} line 2 (event {E[0]})"
MALFORMED: dict[str, tuple[str, str, int, Any, bool, str]] = {  # bundle, member, line, change, rehash: problem
    "not JSON": ("all", EVENTS, 1, b"{not json", False, f"{EVENTS} line 1: not valid JSON (unexpected character"),
    "not an object": ("all", EVENTS, 1, b"[1]", False, f"{EVENTS} line 1: a JSON object expected, found [1]"),
    "no id": (
        "all", EVENTS, 1, lambda e: e.pop("id"), False, f"{EVENTS} line 1: id is missing, expected a JSON string"
    ),
    "a boolean version": (
        "all", EVENTS, 1, lambda e: e.update(subjectversion=True), True,
        f"{LINE_1}: subjectversion is true, expected a JSON integer",
    ),
    "a number for type": (
        "all", EVENTS, 1, lambda e: e.update(type=5), True, f"{LINE_1}: type is 5, expected a JSON string"
    ),
    "no subject": (
        "all", EVENTS, 1, lambda e: e.update(subject=None), True, f"{LINE_1}: subject is null, expected a JSON string"
    ),
    "a text position": (
        "all", EVENTS, 1, lambda e: e.update(position="100"), False,
        f"{LINE_1}: position is 100, expected a JSON integer",
    ),
    "no position": (
        "all", EVENTS, 1, lambda e: e.pop("position"), False, f"{LINE_1}: position is missing, expected a JSON integer"
    ),
    "no hash": (
        "all", EVENTS, 1, lambda e: e.pop("hash"), False,
        f"{LINE_1}: hash is missing, but the event's content hashes to {HASH[K[0]]}",
    ),
    "a prevhash to nowhere": (
        "all", EVENTS, 3, lambda e: e.update(prevhash=AB), True,
        f"{EVENTS} line 3 (event {K[1]}): prevhash is {AB}, but subject {KEPT_ON} version 1 has hash {HASH[K[0]]}",
    ),
    "a prevhash on version 1": (
        "all", EVENTS, 1, lambda e: e.update(prevhash=AB), True,
        f"{LINE_1}: subject {KEPT_ON} version 1 has prevhash {AB}, expected none",
    ),
    "no prevhash past version 1": (
        "later", EVENTS, 1, lambda e: e.pop("prevhash"), True,
        f"{EVENTS} line 1 (event {K[1]}): subject {KEPT_ON} version 2 has prevhash missing, expected the hash of its "
        "previous version",
    ),
    "consent without terms": (
        "all", EVENTS, 1, lambda e: e["data"].pop("terms"), True,
        f"{LINE_1} data: terms is missing, expected a JSON object",
    ),
    "a notice that is no object": (
        "all", EVENTS, 1, lambda e: terms(e).update(notice=[]), True,
        f"{LINE_1} data.terms: notice is [], expected a JSON object",
    ),
    "consent without collection": (
        "all", EVENTS, 1, lambda e: terms(e).pop("collection"), True,
        f"{LINE_1} data.terms: collection is missing, expected a JSON object",
    ),
    "a form digest in capitals": (
        "all", EVENTS, 1, lambda e: terms(e)["notice"].update(text_sha256="AB" * 32), True,
        f"{LINE_1} data.terms.notice: text_sha256 is {'AB' * 32}, expected a SHA-256 in lowercase hex",
    ),
    "a proof of another event": (
        "all", PROOFS, 2, lambda p: p.update(id="x"), False, f"{LINE_2}: id is x, expected the event's id"
    ),
    "a proof line not JSON": ("all", PROOFS, 2, b"nope", False, f"{PROOFS} line 2: not valid JSON (invalid literal"),
    "a text leaf index": (
        "all", PROOFS, 2, lambda p: p.update(leaf_index="1"), False,
        f"{LINE_2}: leaf_index is 1, expected a JSON integer",
    ),
    "a leaf out of place": (
        "all", PROOFS, 2, lambda p: p.update(leaf_index=5), False,
        f"{LINE_2}: leaf_index 5, expected 1: a complete bundle holds every leaf, in order",
    ),
    "a proof in a complete bundle": (
        "all", PROOFS, 2, lambda p: p.update(proof=[AB]), False,
        f"{LINE_2}: proof has 1 hashes, expected none in a complete bundle",
    ),
    "a proof that is no array": (
        "subject", PROOFS, 2, lambda p: p.update(proof="ab"), False,
        f"{PROOFS} line 2 (event {K[1]}): proof is ab, expected a JSON array",
    ),
    "a proof hash that is no hash": (
        "subject", PROOFS, 2, lambda p: p["proof"].__setitem__(0, "xy"), False,
        f"{PROOFS} line 2 (event {K[1]}): proof is xy, expected a SHA-256 in lowercase hex",
    ),
    "a leaf beyond the tree": (
        "subject", PROOFS, 4, lambda p: p.update(leaf_index=9), False,
        f"{PROOFS} line 4 (event {K[3]}): leaf_index 9 is not in the checkpoint's tree of 9 leaves",
    ),
    "a boolean first version": (
        "all", CHAINS, 1, lambda c: c.update(first_version=True), False,
        f"{CHAINS} line 1: subject {KEPT_ON} first_version is true, but its first event in the bundle is version 1",
    ),
    "a wrong last hash": (
        "all", CHAINS, 1, lambda c: c.update(last_hash=AB), False,
        f"{CHAINS} line 1: subject {KEPT_ON} last_hash is {AB}, but its last event in the bundle has hash {HASH[K[3]]}",
    ),
    "a first prevhash for version 1": (
        "subject", CHAINS, 1, lambda c: c.update(first_prevhash=AB), False,
        f"{CHAINS} line 1: subject {KEPT_ON} first_prevhash is {AB}, but its first event in the bundle has "
        "prevhash null",
    ),
    "a subject without events": (
        "all", CHAINS, 1, lambda c: c.update(subject="zz"), False,
        f"{CHAINS} line 1: subject zz has no events in {EVENTS}",
    ),
    "a subject's chains line missing": (
        "all", CHAINS, 1, lambda c: c.update(subject=LOST_FORM), False,
        f"{CHAINS}: no line for subject {KEPT_ON}, which has events in {EVENTS}",
    ),
    "a chains line repeated": (
        "all", CHAINS, 2, lambda c: c.update(subject=KEPT_ON), False,
        f"{CHAINS} line 2: subject {KEPT_ON} is repeated or out of order (lines are sorted by subject)",
    ),
    "a collection line with more fields": (
        "all", COLLECTION, 1, lambda c: c.update(extra=1), False,
        f"{COLLECTION} line 1 (event {K[0]}): fields are ['consultant_id', 'event_id', 'extra', 'form', 'method', "
        "'proof', 'store_id', 'subject'], expected ['consultant_id', 'event_id', 'form', 'method', 'proof', "
        "'store_id', 'subject']",
    ),
    "a collection line with another method": (
        "all", COLLECTION, 2, lambda c: c.update(method="x"), False,
        f"{COLLECTION} line 2 (event {E[0]}): method is x, but the event says web_checkbox",
    ),
    "a collection line not JSON": (
        "all", COLLECTION, 2, b"nope", False, f"{COLLECTION} line 2: not valid JSON (invalid literal"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MALFORMED))
def test_each_malformed_line_is_named_as_before(tmp_path: Path, case: str) -> None:
    which, member, number, change, rehash, expected = MALFORMED[case]
    scopes = {"all": (None, None), "subject": (KEPT_ON, None), "later": (KEPT_ON, "2026-06-02T00:00:00.000000Z")}
    bundle = write_bundle(tmp_path / "bundle.zip", LEDGER_KEY, *scopes[which])

    problem = refused(edited(bundle, member, number, change, rehash))

    assert problem.startswith(expected), problem
    assert problem == expected or expected.endswith(("(unexpected character", "(invalid literal"))
