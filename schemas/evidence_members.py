"""The evidence verifier's checks of what the members hold against the events and the manifest: d, g and h.

Part of the offline verifier (schemas.evidence_verifier): chains.ndjson against the chains the
events showed (d), the form texts against their names and the events that reference them (g), and
every member against its digest and size in the signed manifest (h).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from schemas.evidence import CHAINS, EVENTS, FORMS_DIR, MANIFEST, MANIFEST_SIGNATURE, form_member
from schemas.evidence_events import Chain
from schemas.evidence_zip import Bundle, Problem, get, json_object, same, shown, text

_FORM = re.compile(re.escape(FORMS_DIR) + r"([0-9a-f]{64})\.txt")


def check_chains(bundle: Bundle, chains: Mapping[str, Chain]) -> int:
    """d. chains.ndjson states each subject's chain as the events showed it; it returns its line count."""
    number = 0
    expected = iter(sorted(chains))
    for number, line in enumerate(bundle.lines(CHAINS), 1):
        wanted = next(expected, None)
        if wanted is None or line != _chain_line(wanted, chains[wanted]):  # else as the ledger writes it
            _check_chain_line(json_object(line, CHAINS, number), f"{CHAINS} line {number}", wanted, chains)
    missing = next(expected, None)
    if missing is not None:
        raise Problem(f"{CHAINS}: no line for subject {missing}, which has events in {EVENTS}")
    return number


def check_forms(bundle: Bundle, forms: Mapping[str, str], forms_missing: frozenset[str]) -> None:
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


def check_files(bundle: Bundle, files: Mapping[str, tuple[str, int]]) -> None:
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
