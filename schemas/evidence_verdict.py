"""What the evidence verifier concludes (schemas.evidence_verifier), and how it says so in one line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
