"""What an evidence bundle's manifest claims, read for the verifier (schemas.evidence_verifier) once check a
(its format and signature) has passed.

The manifest's counts, scope, forms declared missing and member digests, each of the type the
format gives it; the scope also becomes the `Bounds` every event is held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.evidence import MANIFEST, MANIFEST_SIGNATURE
from schemas.evidence_events import UTC_TEXT, Bounds
from schemas.evidence_zip import Problem, get, hex_digest, shown, text

KINDS = ("subject", "range", "all")  # the scopes a bundle may have


@dataclass(frozen=True)
class Manifest:
    """The manifest's claims, which the rest of the bundle is checked against."""

    events: int
    subjects: int
    complete: bool
    scope: dict[str, Any]
    bounds: Bounds
    forms_missing: frozenset[str]
    files: dict[str, tuple[str, int]]  # member -> (sha256, bytes)


def parse_manifest(manifest: dict[str, Any]) -> Manifest:
    """The claims of a manifest already known to be signed by the key given; a Problem if one is malformed."""
    files: dict[str, tuple[str, int]] = {}
    for name, entry in get(manifest, "files", dict, MANIFEST).items():
        where = f"{MANIFEST} files[{name}]"
        if name in (MANIFEST, MANIFEST_SIGNATURE) or not isinstance(entry, dict):
            raise Problem(f"{where}: expected {{sha256, bytes}} of a member other than {MANIFEST} and its signature")
        files[name] = (hex_digest(entry, "sha256", where), get(entry, "bytes", int, where))
    forms_missing = get(manifest, "forms_missing", list, MANIFEST)
    complete = get(manifest, "complete", bool, MANIFEST)
    scope, bounds = _parse_scope(get(manifest, "scope", dict, MANIFEST), complete)
    return Manifest(
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
    if kind not in KINDS:
        raise Problem(f"{where}: kind is {shown(scope, 'kind')}, expected one of {', '.join(KINDS)}")
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
